package video

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/outbox"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
)

// leaveTimeout bounds recording a departure, which runs after the
// session's own context has ended.
const leaveTimeout = 10 * time.Second

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Signal is one participant's session: join, then signaling until leave,
// the stream ending, or the service ending it (with the reason as status).
func (a *api) Signal(stream videov1.VideoService_SignalServer) error {
	ctx := stream.Context()
	c, err := rpcerr.Caller(ctx, Name)
	if err != nil {
		return err
	}
	if err := rpcerr.CheckReady(Name, a.s.core.Ready()); err != nil {
		return err
	}
	e := a.s.engine.Load()
	if e == nil {
		return status.Error(codes.Unavailable, Name+": starting up: the media engine is not ready; retry shortly")
	}
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	join := first.GetJoin()
	if join == nil {
		return refusal(codes.FailedPrecondition, ReasonJoinFirst, "the first message of a session must be join")
	}
	meetingID, vs := parseID("join.meeting_id", join.GetMeetingId())
	if strings.TrimSpace(join.GetToken()) == "" {
		vs = append(vs, rpcerr.Violation{Field: "join.token", Reason: rpcerr.ReasonRequired,
			Description: "must not be empty: get one from IssueJoinToken"})
	}
	if len(vs) > 0 {
		return rpcerr.Invalid(Name, vs)
	}
	tok, expired, err := a.s.lookupToken(ctx, strings.TrimSpace(join.GetToken()))
	switch {
	case errors.Is(err, errTokenUnknown):
		return refusal(codes.PermissionDenied, ReasonTokenInvalid, "the join token is not valid")
	case err != nil:
		return rpcerr.FromStore(ctx, a.s.log, Name, "Signal", err)
	case tok.personID != c.Subject:
		return refusal(codes.PermissionDenied, ReasonTokenNotYours, "the join token was issued to someone else")
	case tok.meetingID != meetingID:
		return refusal(codes.PermissionDenied, ReasonTokenWrongMeeting, "the join token is for another meeting")
	case expired:
		return refusal(codes.PermissionDenied, ReasonTokenExpired, "the join token expired at %s; get a new one", tok.expires.UTC().Format(time.RFC3339))
	}

	p, err := a.s.newPeer(ctx, e, tok)
	if err != nil {
		a.s.log.ErrorContext(ctx, "video: cannot make a peer connection", "err", err)
		return status.Error(codes.Internal, Name+": cannot make a peer connection")
	}
	room, err := a.s.getRoom(ctx, meetingID)
	if err != nil && !errors.Is(err, errNotFound) {
		_ = p.pc.Close()
		return rpcerr.FromStore(ctx, a.s.log, Name, "Signal", err)
	}
	if errors.Is(err, errNotFound) || room.GetState() != videov1.RoomState_ROOM_STATE_OPEN {
		_ = p.pc.Close()
		return refusal(codes.FailedPrecondition, ReasonRoomNotOpen, "the video room of meeting %s is not open", meetingID)
	}
	present, err := a.s.rooms.admit(meetingID, room.GetOrganizationId(), p)
	switch {
	case errors.Is(err, errTooManyRooms):
		_ = p.pc.Close()
		return refusal(codes.ResourceExhausted, ReasonTooManyRooms,
			"this video server already hosts its limit of %d rooms; try again later", a.s.cfg.MaxRooms)
	case errors.Is(err, errRoomFull):
		_ = p.pc.Close()
		return refusal(codes.ResourceExhausted, ReasonRoomFull,
			"the video room already has its limit of %d participants", a.s.cfg.MaxParticipants)
	}
	if err := a.s.recordJoin(ctx, p, meetingID); err != nil {
		a.s.rooms.remove(p)
		_ = p.pc.Close()
		return err
	}
	a.s.m.participants.Inc()
	defer a.s.m.participants.Dec()
	defer a.s.leave(p)

	p.send(&videov1.SignalResponse{Message: &videov1.SignalResponse_Joined{Joined: &videov1.Joined{
		ParticipantId: p.id, Permissions: tok.perms, Peers: present}}})
	for _, o := range p.room.others(p) {
		o.do(func() {
			o.send(&videov1.SignalResponse{Message: &videov1.SignalResponse_PeerJoined{PeerJoined: &videov1.PeerJoined{Peer: p.room.describe(p)}}})
		})
	}

	var wg sync.WaitGroup
	wg.Go(p.run)
	wg.Go(func() {
		for {
			select {
			case <-p.ctx.Done():
				return
			case m := <-p.out:
				if err := stream.Send(m); err != nil {
					p.end(errStreamEnded)
					return
				}
			}
		}
	})
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				if errors.Is(err, io.EOF) {
					p.end(errStreamEnded)
				} else {
					p.end(fmt.Errorf("%w: %v", errStreamEnded, err))
				}
				return
			}
			p.do(func() { p.handle(m) })
		}
	}()
	<-p.ctx.Done()
	wg.Wait()
	cause := context.Cause(p.ctx)
	if _, ok := status.FromError(cause); ok && status.Code(cause) != codes.Unknown {
		return cause
	}
	return nil
}

// leave frees everything p held and tells the others.
func (s *Service) leave(p *peer) {
	p.end(errLeft) // no-op when it already ended
	others, owned := s.rooms.remove(p)
	for _, t := range owned {
		for _, o := range others {
			o.do(func() { o.unsubscribe(t) })
		}
	}
	reason := leaveReason(context.Cause(p.ctx))
	for _, o := range others {
		o.do(func() {
			o.send(&videov1.SignalResponse{Message: &videov1.SignalResponse_PeerLeft{PeerLeft: &videov1.PeerLeft{
				ParticipantId: p.id, PersonId: p.person, Reason: reason}}})
		})
	}
	_ = p.pc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	if err := s.recordLeave(ctx, p.room.meetingID, p.id, p.person); err != nil {
		s.log.Error("video: cannot record a departure", "participant_id", p.id, "err", err)
	}
	p.log.Info("video: left", "reason", reason)
}

func leaveReason(cause error) string {
	switch {
	case errors.Is(cause, errLeft):
		return "left"
	case errors.Is(cause, errStreamEnded):
		return "gone"
	}
	if st, ok := status.FromError(cause); ok {
		for _, d := range st.Details() {
			if r, ok := reasonOf(d); ok {
				return strings.ToLower(r)
			}
		}
	}
	return "gone"
}

// recordJoin writes the participant row and its ParticipantJoined event in
// one transaction (the meetings service marks the person present online).
func (s *Service) recordJoin(ctx context.Context, p *peer, meetingID string) error {
	err := pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		var version int64
		var org string
		err := tx.QueryRow(ctx, `UPDATE rooms SET version = version + 1 WHERE meeting_id = $1 AND state = $2
			RETURNING version, organization_id`, meetingID, videov1.RoomState_ROOM_STATE_OPEN.String()).Scan(&version, &org)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNotFound
		}
		if err != nil {
			return fmt.Errorf("room version: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO room_participants (participant_id, meeting_id, person_id, join_time)
			VALUES ($1, $2, $3, now())`, p.id, meetingID, p.person); err != nil {
			return fmt.Errorf("insert participant: %w", err)
		}
		ev := &videov1.ParticipantJoined{Meta: outbox.NewMeta(p.person, meetingID, org, version), MeetingId: meetingID, PersonId: p.person}
		return outbox.Enqueue(ctx, tx, eventSubject(meetingID, "participant_joined"), ev)
	})
	if errors.Is(err, errNotFound) {
		return refusal(codes.FailedPrecondition, ReasonRoomNotOpen, "the video room of meeting %s is not open", meetingID)
	}
	if err != nil {
		return rpcerr.FromStore(ctx, s.log, Name, "Signal", err)
	}
	return nil
}

// recordLeave deletes the participant row with its ParticipantLeft event;
// a row already gone publishes nothing.
func (s *Service) recordLeave(ctx context.Context, meetingID, participantID, person string) error {
	return pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM room_participants WHERE participant_id = $1`, participantID)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		var version int64
		var org string
		if err := tx.QueryRow(ctx, `UPDATE rooms SET version = version + 1 WHERE meeting_id = $1
			RETURNING version, organization_id`, meetingID).Scan(&version, &org); err != nil {
			return fmt.Errorf("room version: %w", err)
		}
		ev := &videov1.ParticipantLeft{Meta: outbox.NewMeta(person, meetingID, org, version), MeetingId: meetingID, PersonId: person}
		return outbox.Enqueue(ctx, tx, eventSubject(meetingID, "participant_left"), ev)
	})
}

// sweepParticipants records the departure of everyone a previous run of
// the service left in a room: their connections died with it. This
// assumes one video node per database (ADR 0004).
func (s *Service) sweepParticipants(ctx context.Context) error {
	rows, err := s.d.Pool.Query(ctx, `SELECT meeting_id, participant_id, person_id FROM room_participants`)
	if err != nil {
		return err
	}
	type row struct{ meeting, id, person string }
	var stale []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.meeting, &r.id, &r.person); err != nil {
			rows.Close()
			return err
		}
		stale = append(stale, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range stale {
		if err := s.recordLeave(ctx, r.meeting, r.id, r.person); err != nil {
			return err
		}
	}
	if len(stale) > 0 {
		s.log.Info("video: recorded departures left by a previous run", "count", len(stale))
	}
	return nil
}

// setPermissions applies a promotion or demotion to the live room: what
// the participant may no longer send stops reaching the others, what it
// may send again comes back, and everyone (the participant too) is told.
func (s *Service) setPermissions(meetingID, participantID string, perms *videov1.JoinPermissions) (*videov1.Peer, bool) {
	r := s.rooms.room(meetingID)
	if r == nil {
		return nil, false
	}
	ch, ok := r.setPermissions(participantID, perms)
	if !ok {
		return nil, false
	}
	for _, o := range ch.everyone {
		if o == ch.peer {
			continue
		}
		o.do(func() {
			for _, t := range ch.removed {
				o.unsubscribe(t)
			}
		})
	}
	for _, o := range ch.subs {
		o.do(func() {
			for _, t := range ch.added {
				o.subscribe(t)
			}
		})
	}
	for _, o := range ch.everyone {
		o.do(func() {
			o.send(&videov1.SignalResponse{Message: &videov1.SignalResponse_PeerPermissions{PeerPermissions: &videov1.PeerPermissions{
				ParticipantId: participantID, Permissions: perms}}})
		})
	}
	s.log.Info("video: permissions changed", "meeting_id", meetingID, "participant_id", participantID,
		"audio", perms.GetPublishAudio(), "video", perms.GetPublishVideo(), "screen", perms.GetPublishScreen())
	return r.describe(ch.peer), true
}
