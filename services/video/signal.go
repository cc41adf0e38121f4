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
	first, err := a.recvFirst(stream)
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

	if rid := strings.TrimSpace(join.GetResumeParticipantId()); rid != "" {
		p := a.s.rooms.find(meetingID, rid)
		if p == nil || p.person != c.Subject || p.ctx.Err() != nil {
			return refusal(codes.NotFound, ReasonResumeUnknown,
				"no seat %s to take back in this room (it was given up); join afresh", rid)
		}
		p.log.Info("video: resumed")
		return a.s.attach(p, stream, true)
	}

	p, err := a.s.newPeer(e, tok)
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
	present, displaced, err := a.s.rooms.admit(meetingID, room.GetOrganizationId(), p)
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
	// abandon undoes admit for a join that does not go through.
	abandon := func() {
		a.s.rooms.remove(p)
		_ = p.pc.Close()
		close(p.gone)
	}
	// One person, one seat: a join (not a resume) from a second tab or
	// device ends the seat the person already holds, so a join token
	// cannot seat several bridge points, and attendance sees one person
	// once. The old seat's departure is recorded before this join is.
	// FAILED_PRECONDITION, not ABORTED: clients retry what is not final,
	// and two tabs retrying would take the seat from each other for ever.
	for _, d := range displaced {
		d.end(refusal(codes.FailedPrecondition, ReasonJoinedElsewhere,
			"you joined this meeting's video again from another session; this one is closed"))
	}
	for _, d := range displaced {
		select {
		case <-d.gone:
		case <-ctx.Done():
			abandon()
			return status.FromContextError(ctx.Err()).Err()
		}
	}
	if err := a.s.recordJoin(ctx, p, meetingID); err != nil {
		abandon()
		return err
	}
	// Joined goes first: notices others queue for p (someone leaving,
	// speaking, muting) are sent by p's actor, which starts below.
	p.send(&videov1.SignalResponse{Message: &videov1.SignalResponse_Joined{Joined: &videov1.Joined{
		ParticipantId: p.id, Permissions: tok.perms, Peers: present, Recording: a.s.recordingStatus(meetingID)}}})
	// The seat lives until p ends (leave, a refusal, its media lost, or
	// its signaling gone past the grace period), not with this stream.
	a.s.m.participants.Inc()
	go p.run()
	go p.chooseLayersEvery()
	a.s.live.Add(1)
	go func() {
		defer a.s.live.Done()
		<-p.ctx.Done()
		a.s.leave(p)
		a.s.m.participants.Dec()
		close(p.gone)
	}()

	for _, o := range p.room.others(p) {
		o.do(func() {
			o.send(&videov1.SignalResponse{Message: &videov1.SignalResponse_PeerJoined{PeerJoined: &videov1.PeerJoined{Peer: p.room.describe(p)}}})
		})
	}
	return a.s.attach(p, stream, false)
}

// recvFirst waits for the session's first message, at most JoinTimeout:
// a client that opens a session and says nothing would otherwise hold the
// stream (and, through the gateway, a WebSocket) for as long as it likes.
func (a *api) recvFirst(stream videov1.VideoService_SignalServer) (*videov1.SignalRequest, error) {
	type received struct {
		m   *videov1.SignalRequest
		err error
	}
	got := make(chan received, 1)
	// On time-out this goroutine's Recv ends when the handler returns and
	// gRPC cancels the stream.
	go func() {
		m, err := stream.Recv()
		got <- received{m, err}
	}()
	timeout := a.s.cfg.JoinTimeout
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-got:
		return r.m, r.err
	case <-timer.C:
		return nil, refusal(codes.DeadlineExceeded, ReasonJoinTimeout, "no join within %s of opening the session", timeout)
	}
}

// errReplaced ends a signaling stream whose seat another stream took back.
var errReplaced = errors.New("another signaling session took this seat")

// attach carries p's signaling over stream until p ends (its status is
// returned) or the stream does. A stream that breaks without leave
// detaches: p keeps its seat, media and tracks for the grace period, in
// which a new stream may resume it; after that it leaves. resumed: the
// client is told where things stand (Joined, and the service's offer if
// one is waiting for an answer).
func (s *Service) attach(p *peer, stream videov1.VideoService_SignalServer, resumed bool) error {
	sctx, detach := context.WithCancelCause(stream.Context())
	defer detach(nil)
	gen := p.takeSession(detach)
	if resumed {
		// What queued up while detached is dropped: Joined tells the
		// current state (and any offer still waiting is sent again), and
		// it must come first. Built on the actor, which alone sends.
		first := make(chan []*videov1.SignalResponse, 1)
		// Read before the actor: it asks the database, which must not hold
		// up the peer's signaling.
		recording := s.recordingStatus(p.room.meetingID)
		p.do(func() {
			for len(p.out) > 0 {
				<-p.out
			}
			r := p.room
			r.mu.Lock()
			perms := p.perms
			r.mu.Unlock()
			var present []*videov1.Peer
			for _, o := range r.others(p) {
				present = append(present, r.describe(o))
			}
			msgs := []*videov1.SignalResponse{{Message: &videov1.SignalResponse_Joined{Joined: &videov1.Joined{
				ParticipantId: p.id, Permissions: perms, Peers: present, Recording: recording}}}}
			if d := p.pc.LocalDescription(); p.awaitingAnswer && d != nil {
				msgs = append(msgs, &videov1.SignalResponse{Message: &videov1.SignalResponse_Description{Description: &videov1.SessionDescription{
					Type: videov1.SdpType_SDP_TYPE_OFFER, Sdp: d.SDP}}})
			}
			first <- msgs
		})
		select {
		case msgs := <-first:
			for _, m := range msgs {
				if err := stream.Send(m); err != nil {
					detach(errStreamEnded)
				}
			}
		case <-p.ctx.Done():
		case <-sctx.Done():
		}
	}

	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-p.ctx.Done():
				return
			case <-sctx.Done():
				return
			case m := <-p.out:
				if err := stream.Send(m); err != nil {
					detach(errStreamEnded)
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
					detach(errStreamEnded)
				} else {
					detach(fmt.Errorf("%w: %v", errStreamEnded, err))
				}
				return
			}
			// A leave still counts when the stream is already going: a
			// client (the gateway bridging a browser) sends leave and closes
			// at once, which cancels the stream before this reads it.
			if sctx.Err() != nil && m.GetLeave() == nil {
				return
			}
			if m.GetLeave() != nil {
				p.do(func() { p.handle(m) })
				continue
			}
			// At most maxInbound messages wait for the actor; past that
			// the stream is not read, and gRPC's flow control holds the
			// client back, so a client sending faster than its messages
			// are handled holds no more memory than that.
			select {
			case p.inbound <- struct{}{}:
			case <-p.ctx.Done():
				return
			case <-sctx.Done():
				return
			}
			p.do(func() {
				<-p.inbound
				p.handle(m)
			})
		}
	}()
	select {
	case <-p.ctx.Done():
		wg.Wait()
		cause := context.Cause(p.ctx)
		if _, ok := status.FromError(cause); ok && status.Code(cause) != codes.Unknown {
			return cause
		}
		return nil
	case <-sctx.Done():
		wg.Wait()
		if errors.Is(context.Cause(sctx), errReplaced) {
			return refusal(codes.Aborted, ReasonSessionReplaced, "this seat was taken back by a newer signaling session")
		}
		// Gone without leave: keep the seat for the grace period.
		grace := s.cfg.ResumeGrace
		p.log.Debug("video: signaling lost; keeping the seat", "grace", grace)
		time.AfterFunc(grace, func() {
			if p.sessionGen() == gen {
				p.end(errStreamEnded)
			}
		})
		return nil
	}
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

// ReasonStopping: the service is shutting down; reconnect (to another node).
const ReasonStopping = "SERVICE_STOPPING"

// endAll ends every participant's session (the service is stopping) and
// waits until their departures are recorded.
func (s *Service) endAll() {
	s.rooms.mu.Lock()
	var all []*peer
	for _, r := range s.rooms.byMeeting {
		r.mu.Lock()
		for _, p := range r.peers {
			all = append(all, p)
		}
		r.mu.Unlock()
	}
	s.rooms.mu.Unlock()
	for _, p := range all {
		p.end(refusal(codes.Unavailable, ReasonStopping, "the video service is stopping; join again"))
	}
	s.live.Wait()
}
