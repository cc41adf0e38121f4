package meetings

import (
	"context"
	"fmt"
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/platform/natsjs"
	"github.com/ecabinet/ecabinet/services/platform/outbox"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
)

// publishRaw puts data on the world's prefixed subject of svc's stream with
// the headers the outbox relay sets, making sure the stream exists first
// (with the producer's own declaration, as the consumers do).
func (w *world) publishRaw(t *testing.T, svc, meetingID, event, msgID, typ string, data []byte) *jetstream.PubAck {
	t.Helper()
	ctx := context.Background()
	if err := natsjs.EnsureStream(ctx, w.js, natsjs.ServiceStream(w.prefix, svc)); err != nil {
		t.Fatalf("ensure %s stream: %v", svc, err)
	}
	msg := nats.NewMsg(w.prefix + "ecabinet." + svc + ".v1." + meetingID + "." + event)
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, msgID)
	msg.Header.Set("Ecabinet-Type", typ)
	ack, err := w.js.PublishMsg(ctx, msg)
	if err != nil {
		t.Fatalf("publish %s: %v", msg.Subject, err)
	}
	return ack
}

// publishEvent publishes ev like the outbox does: Nats-Msg-Id is msgID
// (normally the event id).
func (w *world) publishEvent(t *testing.T, svc, meetingID, event, msgID string, ev proto.Message) *jetstream.PubAck {
	t.Helper()
	data, err := proto.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return w.publishRaw(t, svc, meetingID, event, msgID, string(proto.MessageName(ev)), data)
}

func (w *world) joined(t *testing.T, m *meetingsv1.Meeting, person string) *videov1.ParticipantJoined {
	t.Helper()
	ev := &videov1.ParticipantJoined{Meta: outbox.NewMeta("video", m.GetId(), m.GetOrganizationId(), 1),
		MeetingId: m.GetId(), PersonId: person}
	w.publishEvent(t, "video", m.GetId(), "participant_joined", ev.GetMeta().GetEventId(), ev)
	return ev
}

// consumerSettled waits until the durable has no message outstanding: none
// waiting for an ack or a redelivery (a poison message must be terminated,
// not retried).
func (w *world) consumerSettled(t *testing.T, svc, durable string) {
	t.Helper()
	testenv.Eventually(t, waitLimit, func() error {
		c, err := w.js.Consumer(context.Background(), natsjs.ServiceStream(w.prefix, svc).Name, durable)
		if err != nil {
			return err
		}
		info, err := c.Info(context.Background())
		if err != nil {
			return err
		}
		if info.NumAckPending != 0 || info.NumPending != 0 || info.NumRedelivered != 0 {
			return fmt.Errorf("consumer %s: %d waiting for ack, %d pending, %d redelivered",
				durable, info.NumAckPending, info.NumPending, info.NumRedelivered)
		}
		return nil
	})
}

func (w *world) waitAttendance(t *testing.T, c *cell, m *meetingsv1.Meeting, person string, want meetingsv1.Attendance) *meetingsv1.Meeting {
	t.Helper()
	var got *meetingsv1.Meeting
	testenv.Eventually(t, waitLimit, func() error {
		got = w.get(t, c.adminCtx(), m.GetId())
		if a := participantByID(got, person).GetAttendance(); a != want {
			return fmt.Errorf("attendance of %s is %v, want %v", person, a, want)
		}
		return nil
	})
	return got
}

func (w *world) auditCount(t *testing.T, meetingID, action string) int {
	t.Helper()
	var n int
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE subject = $1 AND action = $2`,
		auditSubject(meetingID), action).Scan(&n); err != nil {
		t.Fatalf("count audit records: %v", err)
	}
	return n
}

func TestVideoPresence(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.started(t, c)
	before := m.GetQuorum().GetPresent()

	first := w.joined(t, m, c.m1)
	got := w.waitAttendance(t, c, m, c.m1, meetingsv1.Attendance_ATTENDANCE_PRESENT_ONLINE)
	if q := got.GetQuorum().GetPresent(); q != before+1 {
		t.Errorf("quorum counts %d present, want %d", q, before+1)
	}
	if got.GetVersion() != m.GetVersion()+1 {
		t.Errorf("version %d, want %d", got.GetVersion(), m.GetVersion()+1)
	}
	if n := w.auditCount(t, m.GetId(), "attendance.joined_online"); n != 1 {
		t.Errorf("%d audit records of joining online, want 1", n)
	}

	// The same event again. Under its own id JetStream drops it within
	// the dedupe window; under another message id (re-stamped) it reaches
	// the consumer, which knows the event id and skips it.
	if ack := w.publishEvent(t, "video", m.GetId(), "participant_joined", first.GetMeta().GetEventId(), first); !ack.Duplicate {
		t.Errorf("republishing under the event id was not a duplicate for the stream")
	}
	w.publishEvent(t, "video", m.GetId(), "participant_joined", uuid.NewString(), first)
	// Leaving keeps the attendance; strangers and unknown meetings are
	// skipped; garbage is terminated.
	left := &videov1.ParticipantLeft{Meta: outbox.NewMeta("video", m.GetId(), m.GetOrganizationId(), 2),
		MeetingId: m.GetId(), PersonId: c.m1}
	w.publishEvent(t, "video", m.GetId(), "participant_left", left.GetMeta().GetEventId(), left)
	w.joined(t, m, uuid.NewString())
	w.joined(t, m, c.outsider)
	other := &meetingsv1.Meeting{Id: uuid.NewString(), OrganizationId: c.org}
	w.joined(t, other, c.m2)
	w.publishRaw(t, "video", m.GetId(), "participant_joined", uuid.NewString(), "ecabinet.video.v1.ParticipantJoined", []byte{0xff, 0xff, 0xff})
	// Messages are handled in stream order: once the last is applied,
	// all before it were handled.
	w.joined(t, m, c.m2)
	after := w.waitAttendance(t, c, m, c.m2, meetingsv1.Attendance_ATTENDANCE_PRESENT_ONLINE)
	w.consumerSettled(t, "video", presenceDurable)

	if a := participantByID(after, c.m1).GetAttendance(); a != meetingsv1.Attendance_ATTENDANCE_PRESENT_ONLINE {
		t.Errorf("after leaving, %s attends %v, want still present online", c.m1, a)
	}
	if participantByID(after, c.outsider) != nil {
		t.Errorf("a non-participant who joined the video became a participant")
	}
	if after.GetVersion() != got.GetVersion()+1 {
		t.Errorf("version %d, want %d: only the second person's joining changes the meeting", after.GetVersion(), got.GetVersion()+1)
	}
	if q := after.GetQuorum().GetPresent(); q != before+2 {
		t.Errorf("quorum counts %d present, want %d", q, before+2)
	}
	if n := w.auditCount(t, m.GetId(), "attendance.joined_online"); n != 2 {
		t.Errorf("%d audit records of joining online, want 2", n)
	}
	var actor string
	if err := w.pool.QueryRow(context.Background(), `SELECT actor_id FROM audit_log WHERE subject = $1 AND action = 'attendance.joined_online' LIMIT 1`,
		auditSubject(m.GetId())).Scan(&actor); err != nil || actor != systemActor {
		t.Errorf("audit actor %q (%v), want %q", actor, err, systemActor)
	}
}

func TestVideoPresenceOnlyWhileInProgress(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	scheduled := w.scheduled(t, c)
	running := w.started(t, c)

	// Someone checked in in the room stays present in the room.
	w.exec(t, `UPDATE participants SET attendance = 'ATTENDANCE_PRESENT' WHERE meeting_id = $1 AND person_id = $2`, running.GetId(), c.m1)
	w.joined(t, scheduled, c.m2)
	w.joined(t, running, c.m1)
	w.joined(t, running, c.m3)
	got := w.waitAttendance(t, c, running, c.m3, meetingsv1.Attendance_ATTENDANCE_PRESENT_ONLINE)

	if a := participantByID(got, c.m1).GetAttendance(); a != meetingsv1.Attendance_ATTENDANCE_PRESENT {
		t.Errorf("checked-in member attends %v after joining the video, want present", a)
	}
	s := w.get(t, c.adminCtx(), scheduled.GetId())
	if a := participantByID(s, c.m2).GetAttendance(); a == meetingsv1.Attendance_ATTENDANCE_PRESENT_ONLINE {
		t.Errorf("joining the video of a meeting not in progress marked attendance")
	}
	if s.GetVersion() != scheduled.GetVersion() {
		t.Errorf("scheduled meeting changed: version %d, want %d", s.GetVersion(), scheduled.GetVersion())
	}
}

func pollPublished(m *meetingsv1.Meeting, itemID, title, summary string) *votingv1.PollPublished {
	return &votingv1.PollPublished{
		Meta: outbox.NewMeta("voting", uuid.NewString(), m.GetOrganizationId(), 3),
		Poll: &votingv1.Poll{Id: uuid.NewString(), MeetingId: m.GetId(), OrganizationId: m.GetOrganizationId(),
			AgendaItemId: itemID, Title: title, Kind: votingv1.PollKind_POLL_KIND_MOTION,
			State: votingv1.PollState_POLL_STATE_PUBLISHED},
		Counts: []*votingv1.ChoiceCount{
			{ChoiceId: "agree", Label: "Tán thành", Count: 5},
			{ChoiceId: "disagree", Label: "Không tán thành", Count: 0},
		},
		BallotsCast: 5, Entitled: 5, Passed: true, Rule: "quá nửa số đảng viên chính thức",
		Summary: summary,
	}
}

func (w *world) publishPoll(t *testing.T, ev *votingv1.PollPublished) {
	t.Helper()
	w.publishEvent(t, "voting", ev.GetPoll().GetMeetingId(), "poll_published", ev.GetMeta().GetEventId(), ev)
}

// votesByItem is the vote results the latest minutes show, by agenda item.
func (w *world) votesByItem(t *testing.T, c *cell, meetingID string) map[string][]*meetingsv1.VoteResult {
	t.Helper()
	r, err := w.minutesClient().GetMinutes(c.as(c.taker), &meetingsv1.GetMinutesRequest{MeetingId: meetingID})
	if err != nil {
		t.Fatalf("GetMinutes: %v", err)
	}
	out := map[string][]*meetingsv1.VoteResult{}
	for _, it := range r.GetMinutes().GetItems() {
		out[it.GetAgendaItemId()] = it.GetVotes()
	}
	return out
}

func TestVoteResultsReachTheMinutes(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.started(t, c)
	item1, item2 := m.GetAgenda()[0].GetId(), m.GetAgenda()[1].GetId()

	first := pollPublished(m, item1, "Thông qua nghị quyết tháng 12", "Tán thành 5/5 (100%) — thông qua")
	w.publishPoll(t, first)
	want := &meetingsv1.VoteResult{PollId: first.GetPoll().GetId(), Title: first.GetPoll().GetTitle(), Summary: first.GetSummary()}
	testenv.Eventually(t, waitLimit, func() error {
		if v := w.votesByItem(t, c, m.GetId())[item1]; len(v) != 1 || !proto.Equal(v[0], want) {
			return fmt.Errorf("item 1 shows votes %v, want [%v]", v, want)
		}
		return nil
	})
	recorded := w.auditCount(t, m.GetId(), "minutes_vote_recorded")

	// The same event re-stamped, garbage, a poll without an agenda item,
	// one for an unknown item: none changes the minutes, and the next
	// result still arrives.
	w.publishEvent(t, "voting", m.GetId(), "poll_published", uuid.NewString(), first)
	w.publishRaw(t, "voting", m.GetId(), "poll_published", uuid.NewString(), "ecabinet.voting.v1.PollPublished", []byte{0xff, 0xff, 0xff})
	w.publishPoll(t, pollPublished(m, "", "Biểu quyết không gắn nội dung", "Tán thành 5/5"))
	w.publishPoll(t, pollPublished(m, uuid.NewString(), "Nội dung lạ", "Tán thành 5/5"))
	second := pollPublished(m, item2, "Phương hướng tháng 12", "Tán thành 4/5 (80%) — thông qua")
	w.publishPoll(t, second)
	testenv.Eventually(t, waitLimit, func() error {
		if v := w.votesByItem(t, c, m.GetId())[item2]; len(v) != 1 || v[0].GetPollId() != second.GetPoll().GetId() {
			return fmt.Errorf("item 2 shows votes %v, want poll %s", v, second.GetPoll().GetId())
		}
		return nil
	})
	w.consumerSettled(t, "voting", voteResultsDurable)

	votes := w.votesByItem(t, c, m.GetId())
	if v := votes[item1]; len(v) != 1 || !proto.Equal(v[0], want) {
		t.Errorf("item 1 shows votes %v, want only [%v]", v, want)
	}
	if n := w.auditCount(t, m.GetId(), "minutes_vote_recorded"); recorded == 0 || n != recorded+1 {
		t.Errorf("%d vote records audited, want %d (one more than %d after the first)", n, recorded+1, recorded)
	}
}
