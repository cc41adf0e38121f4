package meetings

import (
	"context"
	"errors"
	"fmt"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/ecabinet/ecabinet/services/platform/outbox"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var errNotFound = errors.New("not found")

const meetingColumns = `id, organization_id, title, kind, place, online, starts_at, ends_at, state, version, create_time`

// eventSubject is the subject of a meeting's event without the deployment
// prefix (the relay adds that): ecabinet.meetings.v1.<meeting_id>.<event>.
func eventSubject(meetingID, event string) string {
	return "ecabinet." + Name + ".v1." + meetingID + "." + event
}

// createMeeting stores a new draft meeting and its MeetingCreated event in
// one transaction, so the event exists if and only if the meeting does.
func (s *Service) createMeeting(ctx context.Context, actor, id string, d domain.Draft) (*meetingsv1.Meeting, error) {
	var ends *time.Time
	if !d.EndsAt.IsZero() {
		ends = &d.EndsAt
	}
	var m *meetingsv1.Meeting
	err := pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		row := tx.QueryRow(ctx, `
			INSERT INTO meetings (id, organization_id, title, kind, place, online, starts_at, ends_at, state, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)
			RETURNING `+meetingColumns,
			id, d.OrganizationID, d.Title, d.Kind.String(), d.Place, d.Online, d.StartsAt, ends,
			meetingsv1.MeetingState_MEETING_STATE_DRAFT.String())
		var err error
		if m, err = scanMeeting(row); err != nil {
			return fmt.Errorf("insert meeting: %w", err)
		}
		ev := &meetingsv1.MeetingCreated{
			Meta:    outbox.NewMeta(actor, m.GetId(), m.GetOrganizationId(), m.GetVersion()),
			Meeting: m,
		}
		if err := outbox.Enqueue(ctx, tx, eventSubject(m.GetId(), "created"), ev); err != nil {
			return fmt.Errorf("enqueue MeetingCreated: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (s *Service) getMeeting(ctx context.Context, id string) (*meetingsv1.Meeting, error) {
	m, err := scanMeeting(s.d.Pool.QueryRow(ctx, `SELECT `+meetingColumns+` FROM meetings WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNotFound
	}
	return m, err
}

// cursor is the position after which a page starts, in list order.
type cursor struct {
	StartsAt time.Time
	ID       string
}

// listMeetings returns up to limit meetings of orgs (nil: every
// organisation) after c (nil: from the start), newest first.
func (s *Service) listMeetings(ctx context.Context, orgs []string, c *cursor, limit int) ([]*meetingsv1.Meeting, error) {
	var afterStarts *time.Time
	var afterID *string
	if c != nil {
		afterStarts, afterID = &c.StartsAt, &c.ID
	}
	rows, err := s.d.Pool.Query(ctx, `
		SELECT `+meetingColumns+` FROM meetings
		WHERE ($1::text[] IS NULL OR organization_id = ANY($1))
		  AND ($2::timestamptz IS NULL OR (starts_at, id) < ($2, $3::uuid))
		ORDER BY starts_at DESC, id DESC
		LIMIT $4`, orgs, afterStarts, afterID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*meetingsv1.Meeting, error) { return scanMeeting(r) })
}

func scanMeeting(row pgx.Row) (*meetingsv1.Meeting, error) {
	m := &meetingsv1.Meeting{}
	var kind, state string
	var starts, created time.Time
	var ends *time.Time
	if err := row.Scan(&m.Id, &m.OrganizationId, &m.Title, &kind, &m.Place, &m.Online,
		&starts, &ends, &state, &m.Version, &created); err != nil {
		return nil, err
	}
	m.Kind = meetingsv1.MeetingKind(meetingsv1.MeetingKind_value[kind])
	m.State = meetingsv1.MeetingState(meetingsv1.MeetingState_value[state])
	m.StartsAt = timestamppb.New(starts)
	if ends != nil {
		m.EndsAt = timestamppb.New(*ends)
	}
	m.CreateTime = timestamppb.New(created)
	return m, nil
}
