package meetings

import (
	"context"
	"fmt"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	platformv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/platform/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"google.golang.org/protobuf/proto"
)

// Lifecycle RPCs: each is one domain.Action. expected_version is optional
// here (0: not checked) because the state machine already refuses a
// transition made twice; a non-zero stale one is refused with Aborted.

func (a *api) ScheduleMeeting(ctx context.Context, req *meetingsv1.ScheduleMeetingRequest) (*meetingsv1.ScheduleMeetingResponse, error) {
	m, err := a.transition(ctx, "ScheduleMeeting", req.GetMeetingId(), req.GetExpectedVersion(), domain.Schedule, nil)
	if err != nil {
		return nil, err
	}
	return &meetingsv1.ScheduleMeetingResponse{Meeting: m}, nil
}

func (a *api) StartMeeting(ctx context.Context, req *meetingsv1.StartMeetingRequest) (*meetingsv1.StartMeetingResponse, error) {
	m, err := a.transition(ctx, "StartMeeting", req.GetMeetingId(), req.GetExpectedVersion(), domain.Start, nil)
	if err != nil {
		return nil, err
	}
	return &meetingsv1.StartMeetingResponse{Meeting: m}, nil
}

func (a *api) EndMeeting(ctx context.Context, req *meetingsv1.EndMeetingRequest) (*meetingsv1.EndMeetingResponse, error) {
	m, err := a.transition(ctx, "EndMeeting", req.GetMeetingId(), req.GetExpectedVersion(), domain.End, nil)
	if err != nil {
		return nil, err
	}
	return &meetingsv1.EndMeetingResponse{Meeting: m}, nil
}

func (a *api) CancelMeeting(ctx context.Context, req *meetingsv1.CancelMeetingRequest) (*meetingsv1.CancelMeetingResponse, error) {
	reason, vs := domain.ValidateReason("reason", req.GetReason(), true)
	m, err := a.transition(ctx, "CancelMeeting", req.GetMeetingId(), req.GetExpectedVersion(), domain.Cancel, &transitionInput{
		reason: reason, violations: vs,
	})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.CancelMeetingResponse{Meeting: m}, nil
}

func (a *api) RescheduleMeeting(ctx context.Context, req *meetingsv1.RescheduleMeetingRequest) (*meetingsv1.RescheduleMeetingResponse, error) {
	starts, ends, vs := domain.ValidateTimes(req.GetStartsAt(), req.GetEndsAt())
	reason, rv := domain.ValidateReason("reason", req.GetReason(), true)
	m, err := a.transition(ctx, "RescheduleMeeting", req.GetMeetingId(), req.GetExpectedVersion(), domain.Reschedule, &transitionInput{
		reason: reason, violations: append(vs, rv...), startsAt: starts, endsAt: ends,
	})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.RescheduleMeetingResponse{Meeting: m}, nil
}

// transitionInput is what cancel and reschedule add to a transition.
type transitionInput struct {
	reason     string
	violations []domain.Violation
	// Reschedule's new times (EndsAt zero: no planned end).
	startsAt, endsAt time.Time
}

func (a *api) transition(ctx context.Context, op, rawID string, expected int64, act domain.Action, in *transitionInput) (*meetingsv1.Meeting, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(rawID)
	if err != nil {
		return nil, err
	}
	if in == nil {
		in = &transitionInput{}
	}
	in.violations = append(in.violations, domain.CheckExpectedVersion(expected, false)...)
	return a.s.change(ctx, c, op, id, needRun, func(ctx context.Context, st *txState) (edit, error) {
		return applyTransition(ctx, st, id, expected, act, in)
	})
}

func applyTransition(ctx context.Context, st *txState, id string, expected int64, act domain.Action, in *transitionInput) (edit, error) {
	if len(in.violations) > 0 {
		return edit{}, invalid(in.violations)
	}
	if err := checkVersion(st.row, expected); err != nil {
		return edit{}, err
	}
	from := st.row.m.GetState()
	to, err := domain.Transition(from, act)
	if err != nil {
		return edit{}, illegal(err)
	}
	// Invitations go out on entering scheduled (from a draft, or a
	// cancelled meeting brought back): they promise an agenda, a chair and
	// a minute-taker.
	if to == domain.StateScheduled && from != domain.StateScheduled {
		r, err := readiness(ctx, st.tx, id)
		if err != nil {
			return edit{}, err
		}
		if err := domain.CheckReady(from, r); err != nil {
			return edit{}, illegal(fmt.Errorf("cannot be %s: %w", act.Past(), err))
		}
	}
	detail := ""
	if act == domain.Reschedule {
		if _, err := st.tx.Exec(ctx, `UPDATE meetings SET starts_at = $2, ends_at = $3 WHERE id = $1`,
			id, in.startsAt, optTime(in.endsAt)); err != nil {
			return edit{}, fmt.Errorf("reschedule: %w", err)
		}
		detail = "starts " + in.startsAt.UTC().Format(time.RFC3339)
		if !in.endsAt.IsZero() {
			detail += ", ends " + in.endsAt.UTC().Format(time.RFC3339)
		}
	}
	// The floor closes with the meeting: whoever was speaking is done.
	if to == domain.StateEnded {
		if _, err := st.tx.Exec(ctx, `UPDATE speakers SET state = 'SPEAKER_STATE_DONE'
			WHERE meeting_id = $1 AND state = 'SPEAKER_STATE_SPEAKING'`, id); err != nil {
			return edit{}, fmt.Errorf("close the floor: %w", err)
		}
	}
	// state_reason says why a meeting was cancelled or last rescheduled; it
	// stays through later transitions.
	setReason := act == domain.Cancel || act == domain.Reschedule
	if _, err := st.tx.Exec(ctx, `
		UPDATE meetings SET state = $2, state_reason = CASE WHEN $3 THEN $4 ELSE state_reason END WHERE id = $1`,
		id, to.String(), setReason, in.reason); err != nil {
		return edit{}, fmt.Errorf("change state: %w", err)
	}
	return edit{
		event: "state_changed",
		build: func(meta *platformv1.EventMeta, m *meetingsv1.Meeting) proto.Message {
			return &meetingsv1.MeetingStateChanged{Meta: meta, Meeting: m, From: from, To: to, Reason: in.reason}
		},
		action: "meeting." + act.Past(),
		reason: in.reason,
		detail: detail,
	}, nil
}

// readiness counts what scheduling needs.
func readiness(ctx context.Context, q querier, id string) (domain.Readiness, error) {
	var r domain.Readiness
	err := q.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM agenda_items WHERE meeting_id = $1),
		       count(*) FILTER (WHERE role = 'PARTICIPANT_ROLE_CHAIR'),
		       count(*) FILTER (WHERE role = 'PARTICIPANT_ROLE_MINUTE_TAKER')
		FROM participants WHERE meeting_id = $1`, id).Scan(&r.AgendaItems, &r.Chairs, &r.MinuteTakers)
	if err != nil {
		return r, fmt.Errorf("count agenda and roles: %w", err)
	}
	return r, nil
}

// keepReady refuses an edit that leaves a scheduled or running meeting
// without an agenda, chair or minute-taker.
func keepReady(ctx context.Context, st *txState, id string) error {
	s := st.row.m.GetState()
	if !domain.MustStayReady(s) {
		return nil
	}
	r, err := readiness(ctx, st.tx, id)
	if err != nil {
		return err
	}
	if err := domain.CheckReady(s, r); err != nil {
		return illegal(fmt.Errorf("this change is refused: %w", err))
	}
	return nil
}
