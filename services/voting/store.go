package voting

import (
	"context"
	"errors"
	"fmt"
	"time"

	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/platform/outbox"
	"github.com/ecabinet/ecabinet/services/voting/domain"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var errNotFound = errors.New("not found")

// pollSelect reads polls with their choices (in order) in one query.
const pollSelect = `
	SELECT p.id, p.meeting_id, p.organization_id, coalesce(p.agenda_item_id::text, ''), p.title,
	       p.kind, p.secret, p.state, p.version, p.create_time,
	       coalesce((SELECT json_agg(json_build_object('id', c.choice_id, 'label', c.label) ORDER BY c.position)
	                 FROM poll_choices c WHERE c.poll_id = p.id), '[]')
	FROM polls p`

// eventSubject is the subject of a poll's event without the deployment
// prefix (the relay adds that): ecabinet.voting.v1.<meeting_id>.<event>.
func eventSubject(meetingID, event string) string {
	return "ecabinet." + Name + ".v1." + meetingID + "." + event
}

// createPoll stores a new draft poll, its choices and its PollCreated event
// in one transaction.
func (s *Service) createPoll(ctx context.Context, actor, id string, d domain.Draft) (*votingv1.Poll, error) {
	var agendaItem *string
	if d.AgendaItemID != "" {
		agendaItem = &d.AgendaItemID
	}
	ids := make([]string, len(d.Choices))
	labels := make([]string, len(d.Choices))
	for i, c := range d.Choices {
		ids[i], labels[i] = c.ID, c.Label
	}
	var p *votingv1.Poll
	err := pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO polls (id, meeting_id, organization_id, agenda_item_id, title, kind, secret, state, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)`,
			id, d.MeetingID, d.OrganizationID, agendaItem, d.Title, d.Kind.String(), d.Secret,
			votingv1.PollState_POLL_STATE_DRAFT.String()); err != nil {
			return fmt.Errorf("insert poll: %w", err)
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO poll_choices (poll_id, position, choice_id, label)
			SELECT $1, u.position, u.choice_id, u.label
			FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS u(choice_id, label, position)`,
			id, ids, labels); err != nil {
			return fmt.Errorf("insert choices: %w", err)
		}
		var err error
		// Read back what was stored (create time, canonical ids) so the
		// response and the event say exactly what GetPoll will.
		if p, err = scanPoll(tx.QueryRow(ctx, pollSelect+` WHERE p.id = $1`, id)); err != nil {
			return fmt.Errorf("read back poll: %w", err)
		}
		ev := &votingv1.PollCreated{
			Meta: outbox.NewMeta(actor, p.GetId(), p.GetOrganizationId(), p.GetVersion()),
			Poll: p,
		}
		if err := outbox.Enqueue(ctx, tx, eventSubject(p.GetMeetingId(), "poll_created"), ev); err != nil {
			return fmt.Errorf("enqueue PollCreated: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Service) getPoll(ctx context.Context, id string) (*votingv1.Poll, error) {
	p, err := scanPoll(s.d.Pool.QueryRow(ctx, pollSelect+` WHERE p.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNotFound
	}
	return p, err
}

// listPolls returns the meeting's polls of orgs (nil: every organisation)
// in the order they were created.
func (s *Service) listPolls(ctx context.Context, meetingID string, orgs []string) ([]*votingv1.Poll, error) {
	rows, err := s.d.Pool.Query(ctx, pollSelect+`
		WHERE p.meeting_id = $1 AND ($2::text[] IS NULL OR p.organization_id = ANY($2))
		ORDER BY p.create_time, p.id`, meetingID, orgs)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*votingv1.Poll, error) { return scanPoll(r) })
}

func scanPoll(row pgx.Row) (*votingv1.Poll, error) {
	p := &votingv1.Poll{}
	var kind, state string
	var created time.Time
	var choices []struct {
		ID    string `json:"id"`
		Label string `json:"label"`
	}
	if err := row.Scan(&p.Id, &p.MeetingId, &p.OrganizationId, &p.AgendaItemId, &p.Title,
		&kind, &p.Secret, &state, &p.Version, &created, &choices); err != nil {
		return nil, err
	}
	p.Kind = votingv1.PollKind(votingv1.PollKind_value[kind])
	p.State = votingv1.PollState(votingv1.PollState_value[state])
	p.CreateTime = timestamppb.New(created)
	for _, c := range choices {
		p.Choices = append(p.Choices, &votingv1.Choice{Id: c.ID, Label: c.Label})
	}
	return p, nil
}
