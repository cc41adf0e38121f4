package meetings

import (
	"context"
	"errors"
	"fmt"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	platformv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/platform/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/ecabinet/ecabinet/services/platform/audit"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/outbox"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// need is what a caller must be allowed to do for a change.
type need int

const (
	// needRun: chair, minute-taker or organisation administrator.
	needRun need = iota + 1
	// needParticipant: the caller acts for themself as a participant.
	needParticipant
	// needTrusted: another part of the service makes the change and has
	// checked the caller's rights itself (the chair approving the minutes
	// closes the meeting); no access check here.
	needTrusted
)

// edit is one change to a meeting, as its apply function describes it.
type edit struct {
	// noop: nothing changed (e.g. checking in twice); no version, event or
	// audit record.
	noop bool
	// event is the subject's last token ("state_changed"); build makes the
	// event from its meta and the meeting after the change.
	event string
	build func(meta *platformv1.EventMeta, m *meetingsv1.Meeting) proto.Message
	// action, reason and detail go to the audit record.
	action, reason, detail string
	// alsoTell are people besides the participants who must get the event
	// (someone just removed from the meeting).
	alsoTell []string
}

// txState is what an apply function gets: the transaction, the locked
// meeting row and the caller's access.
type txState struct {
	tx     pgx.Tx
	row    meetingRow
	access access
	caller identity.Claims
}

// change runs apply on the meeting inside one transaction holding the
// meeting's row lock, after checking that the caller may see the meeting
// (else NotFound, as if it did not exist) and may make this change (else
// PermissionDenied). A real change then bumps the version and writes, in
// the same transaction, the event for the outbox and the audit record. It
// returns the meeting after the change as the caller sees it. Errors from
// apply that are gRPC statuses reach the client as they are.
func (s *Service) change(ctx context.Context, c identity.Claims, op, meetingID string, n need,
	apply func(ctx context.Context, st *txState) (edit, error)) (*meetingsv1.Meeting, error) {
	var out *meetingsv1.Meeting
	err := pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		var err error
		out, err = s.changeIn(ctx, tx, c, meetingID, n, apply)
		return err
	})
	if err != nil {
		return nil, s.rpcError(ctx, op, err)
	}
	return out, nil
}

// changeIn is change inside the caller's transaction tx, which must be
// READ COMMITTED (the audit trail needs it). It is the one path every
// change of a meeting takes, whether a client asked for it through the
// meeting API or another part of the service made it (the minutes' approval
// closing the meeting).
//
// Lock order: the meeting's row lock first, the audit trail's append lock
// last (audit.Append is the last statement here), so a transaction that
// holds the audit lock never waits for a meeting row. A caller that already
// holds the audit lock must not call changeIn.
func (s *Service) changeIn(ctx context.Context, tx pgx.Tx, c identity.Claims, meetingID string, n need,
	apply func(ctx context.Context, st *txState) (edit, error)) (*meetingsv1.Meeting, error) {
	row, err := readMeeting(ctx, tx, meetingID, true)
	if errors.Is(err, errNotFound) {
		return nil, meetingNotFound(meetingID)
	}
	if err != nil {
		return nil, err
	}
	role, isPart, err := participantRole(ctx, tx, meetingID, c.Subject)
	if err != nil {
		return nil, err
	}
	acc := accessOf(c, row.m.GetOrganizationId(), role, isPart)
	if n != needTrusted {
		if !acc.read {
			return nil, meetingNotFound(meetingID)
		}
		switch {
		case n == needRun && !acc.run:
			return nil, permissionDenied()
		case n == needParticipant && !acc.participant:
			return nil, status.Errorf(codes.PermissionDenied, "%s: only participants of the meeting may do this", Name)
		}
	}

	st := &txState{tx: tx, row: row, access: acc, caller: c}
	e, err := apply(ctx, st)
	if err != nil {
		return nil, err
	}
	if !e.noop {
		version := row.m.GetVersion() + 1
		if _, err := tx.Exec(ctx, `UPDATE meetings SET version = $2 WHERE id = $1`, meetingID, version); err != nil {
			return nil, err
		}
	}
	// Re-read the row: apply may have changed any column.
	if row, err = readMeeting(ctx, tx, meetingID, false); err != nil {
		return nil, err
	}
	m, err := loadMeeting(ctx, tx, row)
	if err != nil {
		return nil, err
	}
	// The caller's role may have changed (UpdateParticipant on oneself).
	role, isPart, err = participantRole(ctx, tx, meetingID, c.Subject)
	if err != nil {
		return nil, err
	}
	if !e.noop {
		if err := s.record(ctx, tx, c.Subject, m, e); err != nil {
			return nil, err
		}
	}
	// Set after the event is built: my_role is the caller's, not the
	// audience's.
	m.MyRole = accessOf(c, row.m.GetOrganizationId(), role, isPart).myRole()
	return m, nil
}

// record writes a change's event and audit record in tx. The event's
// audience is the participants (plus alsoTell), so invited people from
// outside the organisation follow the meeting live too. The audit record
// goes to the service's one hash-chained trail (package audit), under the
// subject the minutes use for the same meeting, so one meeting's whole
// history verifies as one. It is appended last: the append lock is held
// until commit and serialises every audited change of the schema.
func (s *Service) record(ctx context.Context, tx pgx.Tx, actor string, m *meetingsv1.Meeting, e edit) error {
	meta := outbox.NewMeta(actor, m.GetId(), m.GetOrganizationId(), m.GetVersion())
	meta.Audience = append(participantIDs(m), e.alsoTell...)
	ev := e.build(meta, m)
	if err := outbox.Enqueue(ctx, tx, eventSubject(m.GetId(), e.event), ev); err != nil {
		return err
	}
	payload := map[string]any{"version": m.GetVersion(), "state": m.GetState().String()}
	if e.detail != "" {
		payload["detail"] = e.detail
	}
	if err := audit.Append(ctx, tx, audit.Record{
		Subject: auditSubject(m.GetId()), Action: e.action, ActorID: actor, Reason: e.reason, Payload: payload,
	}); err != nil {
		return fmt.Errorf("audit %s of meeting %s: %w", e.action, m.GetId(), err)
	}
	return nil
}

// auditSubject is a meeting's subject in the audit trail; the minutes use
// the same one for their records of the meeting.
func auditSubject(meetingID string) string { return "meeting/" + meetingID }

// rpcError passes gRPC statuses through and turns anything else into the
// platform's store error (Unavailable, Internal, …) without leaking SQL.
func (s *Service) rpcError(ctx context.Context, op string, err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	return rpcerr.FromStore(ctx, s.log, Name, op, err)
}

// meetingNotFound is the answer for a meeting that does not exist and for
// one the caller may not see: the same, so ids cannot be probed.
func meetingNotFound(id string) error {
	return status.Errorf(codes.NotFound, "%s: meeting %s not found", Name, id)
}

// illegal reports a change the meeting's state does not allow.
func illegal(err error) error {
	var ie *domain.IllegalError
	if errors.As(err, &ie) {
		return status.Errorf(codes.FailedPrecondition, "%s: %s", Name, err.Error())
	}
	return err
}

// checkVersion refuses a change based on an outdated read of the meeting;
// expected 0 means the caller did not ask for the check.
func checkVersion(row meetingRow, expected int64) error {
	if expected != 0 && expected != row.m.GetVersion() {
		return status.Errorf(codes.Aborted,
			"%s: meeting has changed: it is at version %d, the request was based on version %d; reload and retry",
			Name, row.m.GetVersion(), expected)
	}
	return nil
}

// eventSubject is the subject of a meeting's event without the deployment
// prefix (the relay adds that): ecabinet.meetings.v1.<meeting_id>.<event>.
func eventSubject(meetingID, event string) string {
	return "ecabinet." + Name + ".v1." + meetingID + "." + event
}
