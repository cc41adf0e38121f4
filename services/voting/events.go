package voting

import (
	"context"
	"fmt"
	"strings"
	"time"

	platformv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/platform/v1"
	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/platform/audit"
	"github.com/ecabinet/ecabinet/services/platform/outbox"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
)

// meta is an event's metadata: the organisation header is the poll's
// organisation, the audience the people on its roll (observers and guests
// from outside the organisation may follow the meeting's polls).
func (s *Service) meta(actor string, r *pollRow, audience []string) *platformv1.EventMeta {
	m := outbox.NewMeta(actor, r.p.GetId(), r.p.GetOrganizationId(), r.p.GetVersion())
	m.Audience = audience
	return m
}

// eventPoll is the poll as an event shows it to everyone: without the
// standing of whoever made the change.
func eventPoll(p *votingv1.Poll) *votingv1.Poll {
	c := proto.Clone(p).(*votingv1.Poll)
	c.MyStatus = nil
	return c
}

func enqueue(ctx context.Context, tx pgx.Tx, subject string, ev proto.Message) error {
	if err := outbox.Enqueue(ctx, tx, subject, ev); err != nil {
		return fmt.Errorf("enqueue %s: %w", ev.ProtoReflect().Descriptor().Name(), err)
	}
	return nil
}

// rollAudience lists the person ids on a poll's roll.
func rollAudience(ctx context.Context, tx pgx.Tx, pollID string) ([]string, error) {
	var ids []string
	err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(person_id ORDER BY person_id), '{}') FROM roll WHERE poll_id = $1`, pollID).Scan(&ids)
	return ids, err
}

// audit appends a lifecycle change to the hash-chained audit log: never a
// ballot, never who voted.
func (s *Service) audit(ctx context.Context, tx pgx.Tx, r *pollRow, action, actor string, payload any) error {
	if err := audit.Append(ctx, tx, audit.Record{Subject: "poll/" + r.p.GetId(), Action: action, ActorID: actor, Payload: payload}); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// noteProgress marks a poll as having new ballots; publishProgress sends
// one VoteProgress for it at its next tick.
func (s *Service) noteProgress(r *pollRow) {
	s.progressMu.Lock()
	s.progress[r.p.GetId()] = progressTarget{subject: r.subject("vote_progress"), org: r.p.GetOrganizationId()}
	s.progressMu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// publishProgress publishes VoteProgress events, at most one per poll per
// ProgressInterval, straight to JetStream rather than through the outbox:
//   - an outbox row written by the casting transaction would carry that
//     transaction's xmin and a creation time, a timestamped trace of each
//     ballot next to the voters row it committed with;
//   - one row per ballot would make the outbox the hot spot of a vote storm;
//   - nothing is lost by losing one: the next one, PollClosed and
//     PollPublished carry the counts (the final count is in the result).
func (s *Service) publishProgress(ctx context.Context) {
	tick := time.NewTicker(s.d.ProgressInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		s.progressMu.Lock()
		batch := s.progress
		s.progress = map[string]progressTarget{}
		s.progressMu.Unlock()
		for id, t := range batch {
			s.sendProgress(ctx, id, t)
		}
		// Coalesce: ballots arriving before the next tick wait for it.
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (s *Service) sendProgress(ctx context.Context, pollID string, t progressTarget) {
	var cast, entitled int32
	var audience []string
	if err := s.d.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM voters WHERE poll_id = $1),
			(SELECT count(*) FROM roll WHERE poll_id = $1 AND reason = ''),
			(SELECT coalesce(array_agg(person_id ORDER BY person_id), '{}') FROM roll WHERE poll_id = $1)`,
		pollID).Scan(&cast, &entitled, &audience); err != nil {
		if ctx.Err() == nil {
			s.log.WarnContext(ctx, "vote progress: count", "poll_id", pollID, "err", err)
		}
		return
	}
	s.defs.counted(pollID, cast)
	meta := outbox.NewMeta("system", pollID, t.org, 0)
	meta.Audience = audience
	ev := &votingv1.VoteProgress{Meta: meta, PollId: pollID, BallotsCast: cast, Entitled: entitled}
	payload, err := proto.Marshal(ev)
	if err != nil {
		s.log.ErrorContext(ctx, "vote progress: marshal", "err", err)
		return
	}
	msg := &nats.Msg{Subject: s.d.SubjectPrefix + t.subject, Data: payload, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, meta.GetEventId())
	msg.Header.Set(outbox.HeaderType, string(ev.ProtoReflect().Descriptor().FullName()))
	if t.org != "" {
		msg.Header.Set(outbox.HeaderOrg, t.org)
	}
	// Observers and guests from outside the organisation follow the
	// progress too, as they see the poll's other events.
	if len(audience) > 0 {
		msg.Header.Set(outbox.HeaderAudience, strings.Join(audience, ","))
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := s.d.JS.PublishMsg(pctx, msg); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "vote progress not published (the next one or the result carries the count)", "poll_id", pollID, "err", err)
	}
}

// newID is a fresh UUIDv7 for a poll.
func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	return id.String(), nil
}
