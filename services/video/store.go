package video

import (
	"context"
	"errors"
	"fmt"
	"time"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/outbox"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var (
	errNotFound = errors.New("not found")
	// errRaced: another transaction inserted the room between our lookup
	// and our insert; trying again finds it.
	errRaced = errors.New("room inserted concurrently")
)

const roomColumns = `meeting_id, organization_id, mode, state, version, open_time`

// eventSubject is the subject of a room's event without the deployment
// prefix (the relay adds that): ecabinet.video.v1.<meeting_id>.<event>.
func eventSubject(meetingID, event string) string {
	return "ecabinet." + Name + ".v1." + meetingID + "." + event
}

// openRoom opens the meeting's room: it creates it, or reopens a closed
// one, with a RoomOpened event in the same transaction; an open room is
// returned as it is, without an event. A room of another organisation is
// errNotFound.
func (s *Service) openRoom(ctx context.Context, actor, meetingID, org string, mode videov1.RoomMode) (*videov1.Room, error) {
	room, err := s.tryOpenRoom(ctx, actor, meetingID, org, mode)
	if errors.Is(err, errRaced) {
		room, err = s.tryOpenRoom(ctx, actor, meetingID, org, mode)
	}
	return room, err
}

func (s *Service) tryOpenRoom(ctx context.Context, actor, meetingID, org string, mode videov1.RoomMode) (*videov1.Room, error) {
	var room *videov1.Room
	err := pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		existing, _, err := scanRoom(tx.QueryRow(ctx,
			`SELECT `+roomColumns+` FROM rooms WHERE meeting_id = $1 FOR UPDATE`, meetingID))
		var version int64
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			room, version, err = scanRoom(tx.QueryRow(ctx, `
				INSERT INTO rooms (meeting_id, organization_id, mode, state, version, open_time)
				VALUES ($1, $2, $3, $4, 1, now())
				ON CONFLICT (meeting_id) DO NOTHING
				RETURNING `+roomColumns,
				meetingID, org, mode.String(), videov1.RoomState_ROOM_STATE_OPEN.String()))
			if errors.Is(err, pgx.ErrNoRows) {
				return errRaced
			}
			if err != nil {
				return fmt.Errorf("insert room: %w", err)
			}
		case err != nil:
			return fmt.Errorf("find room: %w", err)
		case existing.GetOrganizationId() != org:
			return errNotFound
		case existing.GetState() == videov1.RoomState_ROOM_STATE_OPEN:
			room = existing
			return nil
		default:
			room, version, err = scanRoom(tx.QueryRow(ctx, `
				UPDATE rooms SET state = $2, mode = $3, version = version + 1, open_time = now()
				WHERE meeting_id = $1
				RETURNING `+roomColumns,
				meetingID, videov1.RoomState_ROOM_STATE_OPEN.String(), mode.String()))
			if err != nil {
				return fmt.Errorf("reopen room: %w", err)
			}
		}
		ev := &videov1.RoomOpened{
			Meta: outbox.NewMeta(actor, room.GetMeetingId(), room.GetOrganizationId(), version),
			Room: room,
		}
		if err := outbox.Enqueue(ctx, tx, eventSubject(room.GetMeetingId(), "room_opened"), ev); err != nil {
			return fmt.Errorf("enqueue RoomOpened: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return room, nil
}

func (s *Service) getRoom(ctx context.Context, meetingID string) (*videov1.Room, error) {
	room, _, err := scanRoom(s.d.Pool.QueryRow(ctx, `SELECT `+roomColumns+` FROM rooms WHERE meeting_id = $1`, meetingID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNotFound
	}
	return room, err
}

// scanRoom reads a room and its version (not part of the API message, but
// the version of its events). participant_count stays 0 until the SFU
// lands; it will be live state, not a column.
func scanRoom(row pgx.Row) (*videov1.Room, int64, error) {
	r := &videov1.Room{}
	var mode, state string
	var version int64
	var opened time.Time
	if err := row.Scan(&r.MeetingId, &r.OrganizationId, &mode, &state, &version, &opened); err != nil {
		return nil, 0, err
	}
	r.Mode = videov1.RoomMode(videov1.RoomMode_value[mode])
	r.State = videov1.RoomState(videov1.RoomState_value[state])
	r.OpenTime = timestamppb.New(opened)
	return r, version, nil
}
