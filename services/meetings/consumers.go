package meetings

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	platformv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/platform/v1"
	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/ecabinet/ecabinet/services/meetings/minutes"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/inbox"
	"github.com/ecabinet/ecabinet/services/platform/natsjs"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// The meeting side follows two other services through durable consumers
// with the platform's inbox: the video service tells who joined the
// meeting's room remotely, the voting service publishes poll results for
// the minutes.
const (
	presenceDurable    = "meetings-video-presence"
	voteResultsDurable = "meetings-vote-results"
	// systemActor is the actor of changes nobody made by hand.
	systemActor = "system"
)

// runConsumers starts both consumers and blocks until ctx is done and they
// have stopped. Each first makes sure its producer's stream exists (with
// the declaration the producer itself makes), so the meetings service may
// start before video or voting.
func (s *Service) runConsumers(ctx context.Context) {
	p := s.d.SubjectPrefix
	consumers := []struct {
		svc     string
		cfg     inbox.Config
		handler inbox.Handler
	}{
		// One filter for all the video service's events: servers before
		// 2.10 refuse several, and the handler skips the events it does
		// not follow (room_opened, …).
		{"video", inbox.Config{Durable: presenceDurable, FilterSubjects: []string{
			p + "ecabinet.video.v1.>",
		}}, s.handlePresence},
		{"voting", inbox.Config{Durable: voteResultsDurable, FilterSubjects: []string{
			p + "ecabinet.voting.v1.*.poll_published",
		}}, s.handleVoteResult},
	}
	var wg sync.WaitGroup
	for _, c := range consumers {
		wg.Go(func() {
			stream := natsjs.ServiceStream(p, c.svc)
			if err := natsjs.EnsureStream(ctx, s.d.JS, stream); err != nil {
				if ctx.Err() == nil {
					s.log.Error("consumer not started: ensure stream", "durable", c.cfg.Durable, "stream", stream.Name, "err", err)
				}
				return
			}
			c.cfg.Stream = stream.Name
			// Consume retries outages itself; an error is a configuration
			// the server refuses, which only a code change fixes.
			if err := inbox.Consume(ctx, s.d.Pool, s.d.JS, c.cfg, c.handler, s.log); err != nil {
				s.log.Error("consumer stopped", "durable", c.cfg.Durable, "err", err)
			}
		})
	}
	wg.Wait()
}

// lastToken is the event name of a subject (…v1.<meeting_id>.<event>).
func lastToken(subject string) string {
	return subject[strings.LastIndexByte(subject, '.')+1:]
}

// decode unmarshals the message into ev, whose field 1 is the event's meta,
// and claims the event for durable in tx. fresh is false for an event the
// consumer applied before.
func decode(ctx context.Context, tx pgx.Tx, durable string, msg jetstream.Msg, ev interface {
	proto.Message
	GetMeta() *platformv1.EventMeta
}) (fresh bool, err error) {
	if err := proto.Unmarshal(msg.Data(), ev); err != nil {
		return false, inbox.Poison(fmt.Errorf("decode %s: %w", proto.MessageName(ev), err))
	}
	return claimEvent(ctx, tx, durable, msg, ev.GetMeta())
}

// claimEvent makes "the same event" mean the same EventMeta.event_id, not
// merely the same Nats-Msg-Id. Producers send the event id as Nats-Msg-Id
// (ADR 0001), so the inbox has already claimed it; a copy of an event
// re-stamped with another message id (republished by hand, through a
// bridge) would slip past the inbox, so the event id is then claimed too,
// in the same inbox table and transaction. A later copy under either id
// conflicts with one of the two rows and is skipped.
func claimEvent(ctx context.Context, tx pgx.Tx, durable string, msg jetstream.Msg, meta *platformv1.EventMeta) (bool, error) {
	id := meta.GetEventId()
	if id == "" {
		return false, inbox.Poison(errors.New("event without meta.event_id"))
	}
	if msg.Headers().Get(jetstream.MsgIDHeader) == id {
		return true, nil
	}
	tag, err := tx.Exec(ctx, `INSERT INTO inbox (consumer, msg_id, subject) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, durable, id, msg.Subject())
	if err != nil {
		return false, fmt.Errorf("claim event %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// handlePresence applies the video service's ParticipantJoined: a
// participant of a meeting in progress who joins its video room attends
// online. ParticipantLeft changes nothing on purpose: attendance records
// that someone took part, and leaving early (or a dropped connection) does
// not undo that; the minute-taker can still correct it by hand.
func (s *Service) handlePresence(ctx context.Context, tx pgx.Tx, msg jetstream.Msg) error {
	switch ev := lastToken(msg.Subject()); ev {
	case "participant_left":
		var left videov1.ParticipantLeft
		_, err := decode(ctx, tx, presenceDurable, msg, &left)
		return err
	case "participant_joined":
	default:
		return nil // an event of the video service this consumer does not follow
	}
	var joined videov1.ParticipantJoined
	fresh, err := decode(ctx, tx, presenceDurable, msg, &joined)
	if err != nil || !fresh {
		return err
	}
	meetingID, vs := domain.ParseID("meeting_id", joined.GetMeetingId())
	personID, pvs := domain.ParseID("person_id", joined.GetPersonId())
	if vs = append(vs, pvs...); len(vs) > 0 {
		return inbox.Poison(fmt.Errorf("participant_joined: %s %s", vs[0].Field, vs[0].Description))
	}
	log := s.log.With("meeting_id", meetingID, "person_id", personID, "event_id", joined.GetMeta().GetEventId())
	skip := ""
	_, err = s.changeIn(ctx, tx, identity.Claims{Subject: systemActor}, meetingID, needTrusted,
		func(ctx context.Context, st *txState) (edit, error) {
			if st.row.m.GetState() != meetingsv1.MeetingState_MEETING_STATE_IN_PROGRESS {
				skip = "meeting is " + st.row.m.GetState().String()
				return edit{noop: true}, nil
			}
			// Someone already present (in the room, or online before a
			// reconnect) stays as they are.
			tag, err := st.tx.Exec(ctx, `
				UPDATE participants SET attendance = 'ATTENDANCE_PRESENT_ONLINE',
					check_in_time = coalesce(check_in_time, now()), absence_reason = ''
				WHERE meeting_id = $1 AND person_id = $2
				  AND attendance NOT IN ('ATTENDANCE_PRESENT', 'ATTENDANCE_PRESENT_ONLINE')`, meetingID, personID)
			if err != nil {
				return edit{}, fmt.Errorf("mark present online: %w", err)
			}
			if tag.RowsAffected() == 0 {
				if _, ok, err := participantRole(ctx, st.tx, meetingID, personID); err != nil {
					return edit{}, err
				} else if !ok {
					skip = "not a participant"
				}
				return edit{noop: true}, nil
			}
			return attendanceChanged(personID, meetingsv1.Attendance_ATTENDANCE_PRESENT_ONLINE, "attendance.joined_online", ""), nil
		})
	if status.Code(err) == codes.NotFound {
		skip = "unknown meeting"
		err = nil
	}
	if err != nil {
		return fmt.Errorf("participant_joined: %w", err)
	}
	if skip != "" {
		log.Debug("video presence ignored", "why", skip)
	}
	return nil
}

// handleVoteResult records the voting service's PollPublished in the
// minutes of the poll's agenda item, in the inbox transaction. A poll
// without an agenda item, or for an item or meeting we do not know, has no
// place in the minutes and is skipped.
func (s *Service) handleVoteResult(ctx context.Context, tx pgx.Tx, msg jetstream.Msg) error {
	var ev votingv1.PollPublished
	fresh, err := decode(ctx, tx, voteResultsDurable, msg, &ev)
	if err != nil || !fresh {
		return err
	}
	poll := ev.GetPoll()
	log := s.log.With("poll_id", poll.GetId(), "event_id", ev.GetMeta().GetEventId())
	if poll.GetAgendaItemId() == "" {
		log.Debug("vote result ignored: poll has no agenda item")
		return nil
	}
	meetingID, vs := domain.ParseID("meeting_id", poll.GetMeetingId())
	itemID, ivs := domain.ParseID("agenda_item_id", poll.GetAgendaItemId())
	if vs = append(vs, ivs...); len(vs) > 0 {
		return inbox.Poison(fmt.Errorf("poll_published: poll.%s %s", vs[0].Field, vs[0].Description))
	}
	var known bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM agenda_items WHERE id = $1 AND meeting_id = $2)`,
		itemID, meetingID).Scan(&known); err != nil {
		return fmt.Errorf("poll_published: look up agenda item %s: %w", itemID, err)
	}
	if !known {
		log.Debug("vote result ignored: unknown meeting or agenda item", "meeting_id", meetingID, "agenda_item_id", itemID)
		return nil
	}
	err = s.minutes.RecordVoteResult(ctx, tx, meetingID, itemID, &meetingsv1.VoteResult{
		PollId: poll.GetId(), Title: poll.GetTitle(), Summary: ev.GetSummary(),
	})
	switch {
	case errors.Is(err, minutes.ErrInvalidVote):
		return inbox.Poison(err)
	case errors.Is(err, minutes.ErrNotFound):
		log.Debug("vote result ignored: unknown meeting", "meeting_id", meetingID)
		return nil
	case err != nil:
		return fmt.Errorf("poll_published: %w", err)
	}
	return nil
}
