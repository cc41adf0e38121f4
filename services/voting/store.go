package voting

import (
	"context"
	"errors"
	"fmt"
	"time"

	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/voting/domain"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var errNotFound = errors.New("not found")

// pollColumns reads a poll with its choices (in order), its live counts
// and the caller's standing ($1 is the caller's person id) in one query.
// ballots_cast and entitled are counted, never stored per ballot; entitled
// includes the absent members whose ballot is in (cast by their delegate,
// or before they left), as the result does (rollCounts).
const pollColumns = `
	SELECT p.id, coalesce(p.meeting_id::text, ''), p.organization_id, coalesce(p.agenda_item_id::text, ''), p.title,
	       p.kind, p.secret, p.state, p.version, p.create_time, p.created_by,
	       p.quorum_numerator, p.quorum_denominator, p.majority, p.majority_base,
	       p.min_choices, p.max_choices, p.seats, p.deadline, p.body, p.allow_delegation,
	       p.open_time, p.close_time, p.result,
	       coalesce((SELECT json_agg(json_build_object('id', c.choice_id, 'label', c.label) ORDER BY c.position)
	                 FROM poll_choices c WHERE c.poll_id = p.id), '[]'),
	       (SELECT count(*) FROM voters v WHERE v.poll_id = p.id),
	       (SELECT count(*) FROM roll r WHERE r.poll_id = p.id AND (r.reason = ''
	           OR (r.reason = 'NOT_CHECKED_IN'
	               AND EXISTS (SELECT 1 FROM voters v WHERE v.poll_id = p.id AND v.person_id = r.person_id)))),
	       (SELECT r.reason FROM roll r WHERE r.poll_id = p.id AND r.person_id = $1),
	       (SELECT r.role FROM roll r WHERE r.poll_id = p.id AND r.person_id = $1),
	       EXISTS (SELECT 1 FROM voters v WHERE v.poll_id = p.id AND v.person_id = $1)
	FROM polls p`

// pollRow is a stored poll with what the service needs beyond the proto.
type pollRow struct {
	p         *votingv1.Poll
	createdBy string
	rules     domain.Rules
	choices   []domain.Choice
	result    *votingv1.Result // nil until closed
	deadline  time.Time        // zero: none
	// The caller's roll entry: onRoll, reason (empty: entitled) and role.
	onRoll  bool
	role    string
	myVoted bool
}

func (r *pollRow) spec() domain.Poll {
	return domain.Poll{Kind: r.p.GetKind(), Choices: r.choices, Min: int(r.p.GetMinChoices()),
		Max: int(r.p.GetMaxChoices()), Seats: int(r.p.GetSeats()), Rules: r.rules}
}

func (r *pollRow) written() bool { return r.p.GetKind() == votingv1.PollKind_POLL_KIND_WRITTEN_OPINION }

// subject is the subject of one of the poll's events, without the
// deployment prefix (the relay adds it): ecabinet.voting.v1.<meeting>.<event>,
// the poll's own id standing in for a written opinion poll's meeting.
func (r *pollRow) subject(event string) string {
	return eventSubject(r.p.GetMeetingId(), r.p.GetId(), event)
}

func eventSubject(meetingID, pollID, event string) string {
	if meetingID == "" {
		meetingID = pollID
	}
	return "ecabinet." + Name + ".v1." + meetingID + "." + event
}

type queryer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (s *Service) loadPoll(ctx context.Context, q queryer, id, person string) (*pollRow, error) {
	r, err := scanPoll(q.QueryRow(ctx, pollColumns+` WHERE p.id = $2`, person, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNotFound
	}
	return r, err
}

func scanPoll(row pgx.Row) (*pollRow, error) {
	p := &votingv1.Poll{}
	r := &pollRow{p: p}
	var kind, state, majority, base string
	var created time.Time
	var deadline, opened, closed *time.Time
	var result []byte
	var choices []struct {
		ID    string `json:"id"`
		Label string `json:"label"`
	}
	var qn, qd, minC, maxC, seats int32
	var cast, entitled int64
	var reason, role *string
	if err := row.Scan(&p.Id, &p.MeetingId, &p.OrganizationId, &p.AgendaItemId, &p.Title,
		&kind, &p.Secret, &state, &p.Version, &created, &r.createdBy,
		&qn, &qd, &majority, &base, &minC, &maxC, &seats, &deadline, &p.Body, &p.AllowDelegation,
		&opened, &closed, &result, &choices, &cast, &entitled, &reason, &role, &r.myVoted); err != nil {
		return nil, err
	}
	p.Kind = votingv1.PollKind(votingv1.PollKind_value[kind])
	p.State = votingv1.PollState(votingv1.PollState_value[state])
	p.CreateTime = timestamppb.New(created)
	r.rules = domain.Rules{QuorumNum: int(qn), QuorumDen: int(qd),
		Majority: votingv1.Majority(votingv1.Majority_value[majority]), Base: votingv1.MajorityBase(votingv1.MajorityBase_value[base])}
	p.Rules = r.rules.Proto()
	p.MinChoices, p.MaxChoices, p.Seats = minC, maxC, seats
	if deadline != nil {
		r.deadline = *deadline
		p.Deadline = timestamppb.New(*deadline)
	}
	if opened != nil {
		p.OpenTime = timestamppb.New(*opened)
	}
	if closed != nil {
		p.CloseTime = timestamppb.New(*closed)
	}
	for _, c := range choices {
		p.Choices = append(p.Choices, &votingv1.Choice{Id: c.ID, Label: c.Label})
		r.choices = append(r.choices, domain.Choice{ID: c.ID, Label: c.Label})
	}
	p.BallotsCast, p.Entitled = int32(cast), int32(entitled)
	if result != nil {
		r.result = &votingv1.Result{}
		// Unknown fields (a result stored by a newer version) are skipped.
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(result, r.result); err != nil {
			return nil, fmt.Errorf("poll %s: stored result: %w", p.Id, err)
		}
		// After close the result's figures are the poll's: a show of hands
		// has no voters rows, and the roll may be refreshed no more.
		p.BallotsCast, p.Entitled = r.result.GetBallotsCast(), r.result.GetEntitled()
	}
	if reason != nil {
		r.onRoll, r.role = true, *role
	}
	status := &votingv1.VoterStatus{Voted: r.myVoted}
	switch {
	case reason != nil && *reason == "":
		status.Entitled = true
	case reason != nil:
		status.Reason = *reason
	case p.State != votingv1.PollState_POLL_STATE_DRAFT:
		status.Reason = reasonNotParticipant
		if p.Kind == votingv1.PollKind_POLL_KIND_WRITTEN_OPINION {
			status.Reason = reasonNotMember
		}
	}
	p.MyStatus = status
	return r, nil
}

// createPoll stores a new draft poll, its choices and its PollCreated event
// in one transaction.
func (s *Service) createPoll(ctx context.Context, actor, id string, d domain.Draft, audience []string) (*votingv1.Poll, error) {
	var agendaItem, meeting *string
	if d.AgendaItemID != "" {
		agendaItem = &d.AgendaItemID
	}
	if d.MeetingID != "" {
		meeting = &d.MeetingID
	}
	var deadline *time.Time
	if !d.Deadline.IsZero() {
		deadline = &d.Deadline
	}
	ids := make([]string, len(d.Choices))
	labels := make([]string, len(d.Choices))
	for i, c := range d.Choices {
		ids[i], labels[i] = c.ID, c.Label
	}
	var p *votingv1.Poll
	err := pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO polls (id, meeting_id, organization_id, agenda_item_id, title, kind, secret, state, version, created_by,
				quorum_numerator, quorum_denominator, majority, majority_base, min_choices, max_choices, seats,
				deadline, body, allow_delegation)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
			id, meeting, d.OrganizationID, agendaItem, d.Title, d.Kind.String(), d.Secret,
			votingv1.PollState_POLL_STATE_DRAFT.String(), actor,
			d.Rules.QuorumNum, d.Rules.QuorumDen, d.Rules.Majority.String(), d.Rules.Base.String(),
			d.MinChoices, d.MaxChoices, d.Seats, deadline, d.Body, d.AllowDelegation); err != nil {
			return fmt.Errorf("insert poll: %w", err)
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO poll_choices (poll_id, position, choice_id, label)
			SELECT $1, u.position, u.choice_id, u.label
			FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS u(choice_id, label, position)`,
			id, ids, labels); err != nil {
			return fmt.Errorf("insert choices: %w", err)
		}
		// Read back what was stored (create time, canonical ids) so the
		// response and the event say exactly what GetPoll will.
		r, err := s.loadPoll(ctx, tx, id, actor)
		if err != nil {
			return fmt.Errorf("read back poll: %w", err)
		}
		p = r.p
		ev := &votingv1.PollCreated{Meta: s.meta(actor, r, audience), Poll: eventPoll(p)}
		if err := enqueue(ctx, tx, r.subject("poll_created"), ev); err != nil {
			return err
		}
		return s.audit(ctx, tx, r, "poll_created", actor, map[string]any{"title": d.Title, "kind": d.Kind.String(), "secret": d.Secret})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// listPolls returns the meeting's polls visible to the caller (of orgs, nil
// meaning every organisation, or on the poll's roll) in the order they were
// created.
func (s *Service) listPolls(ctx context.Context, person, meetingID string, orgs []string, all bool) ([]*votingv1.Poll, error) {
	rows, err := s.d.Pool.Query(ctx, pollColumns+`
		WHERE p.meeting_id = $2 AND ($3 OR p.organization_id = ANY($4)
			OR EXISTS (SELECT 1 FROM roll r WHERE r.poll_id = p.id AND r.person_id = $1))
		ORDER BY p.create_time, p.id`, person, meetingID, all, orgs)
	if err != nil {
		return nil, err
	}
	return collectPolls(rows)
}

// listMyPolls: open polls the caller is entitled to answer, and written
// opinion polls sent to them (whatever their state, so the inbox shows
// their results too).
func (s *Service) listMyPolls(ctx context.Context, person string) ([]*votingv1.Poll, error) {
	rows, err := s.d.Pool.Query(ctx, pollColumns+`
		JOIN roll me ON me.poll_id = p.id AND me.person_id = $1
		WHERE (p.state = 'POLL_STATE_OPEN' AND me.reason = '') OR p.kind = 'POLL_KIND_WRITTEN_OPINION'
		ORDER BY p.open_time DESC NULLS LAST, p.id`, person)
	if err != nil {
		return nil, err
	}
	return collectPolls(rows)
}

func collectPolls(rows pgx.Rows) ([]*votingv1.Poll, error) {
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*pollRow, error) { return scanPoll(r) })
	if err != nil {
		return nil, err
	}
	out := make([]*votingv1.Poll, len(rs))
	for i, r := range rs {
		out[i] = r.p
	}
	return out, nil
}

// replaceRoll takes an open poll's roll again. It holds the poll's lock
// shared (as a ballot does), so a close either waits for it or is seen by
// it, and writes nothing unless the poll is still open: a refresh that
// was slow to arrive never rewrites a closed poll's roll, on which the
// result was decided. Not open is reported as notOpen.
func (s *Service) replaceRoll(ctx context.Context, pollID string, roll []rollEntry) error {
	return pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		// A statement of its own: the next one's snapshot then sees a
		// close that committed while this waited.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared(`+pollLock+`)`, pollID); err != nil {
			return fmt.Errorf("lock poll: %w", err)
		}
		var state string
		if err := tx.QueryRow(ctx, `SELECT state FROM polls WHERE id = $1`, pollID).Scan(&state); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return errNotFound
			}
			return err
		}
		if state != votingv1.PollState_POLL_STATE_OPEN.String() {
			return notOpen(pollID, state)
		}
		return writeRoll(ctx, tx, pollID, roll)
	})
}
