package meetings

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

// The speakers RPCs join the authorisation matrix of authz_test.go.
// queue renders a speakers list as "name:STATE:position" in list order.
func queue(m *meetingsv1.Meeting) []string {
	var out []string
	for _, s := range m.GetSpeakers() {
		out = append(out, fmt.Sprintf("%s:%s:%d", s.GetFullName(),
			strings.TrimPrefix(s.GetState().String(), "SPEAKER_STATE_"), s.GetPosition()))
	}
	return out
}

func speakerOf(t *testing.T, m *meetingsv1.Meeting, person string, state meetingsv1.SpeakerState) *meetingsv1.Speaker {
	t.Helper()
	for _, s := range m.GetSpeakers() {
		if s.GetPersonId() == person && s.GetState() == state {
			return s
		}
	}
	t.Fatalf("no %v speaker for %s in %v", state, person, queue(m))
	return nil
}

func TestSpeakersList(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.started(t, c)
	id := m.GetId()
	taker := c.as(c.taker)
	item := m.GetAgenda()[1].GetId()

	ask := func(person, note, item string) *meetingsv1.Meeting {
		t.Helper()
		r, err := w.client.RequestToSpeak(c.as(person), &meetingsv1.RequestToSpeakRequest{MeetingId: id, Note: note, AgendaItemId: item})
		if err != nil {
			t.Fatalf("RequestToSpeak: %v", err)
		}
		return r.GetMeeting()
	}
	update := func(speaker string, state meetingsv1.SpeakerState, pos int32) *meetingsv1.Meeting {
		t.Helper()
		r, err := w.client.UpdateSpeaker(taker, &meetingsv1.UpdateSpeakerRequest{MeetingId: id, SpeakerId: speaker, State: state, Position: pos})
		if err != nil {
			t.Fatalf("UpdateSpeaker(%v, %d): %v", state, pos, err)
		}
		return r.GetMeeting()
	}

	got := ask(c.m1, "  Về phương hướng tháng 12  ", item)
	s1 := speakerOf(t, got, c.m1, speakerWaiting)
	if s1.GetNote() != "Về phương hướng tháng 12" || s1.GetAgendaItemId() != item || s1.GetRequestTime() == nil {
		t.Errorf("request = %v", s1)
	}
	ask(c.m2, "", "")
	got = ask(c.guest, "", "")
	want := []string{"Lê Văn Cường:WAITING:1", "Phạm Thị Dung:WAITING:2", "Ngô Thị Nga:WAITING:3"}
	if diff := cmp.Diff(want, queue(got)); diff != "" {
		t.Fatalf("queue (-want +got):\n%s", diff)
	}

	// One open request per person.
	_, err := w.client.RequestToSpeak(c.as(c.m1), &meetingsv1.RequestToSpeakRequest{MeetingId: id})
	testenv.Code(t, err, codes.AlreadyExists)

	// Reorder: the guest to the front.
	s3 := speakerOf(t, got, c.guest, speakerWaiting)
	got = update(s3.GetId(), 0, 1)
	want = []string{"Ngô Thị Nga:WAITING:1", "Lê Văn Cường:WAITING:2", "Phạm Thị Dung:WAITING:3"}
	if diff := cmp.Diff(want, queue(got)); diff != "" {
		t.Fatalf("queue after move (-want +got):\n%s", diff)
	}

	// The floor: one speaker at a time; the next one ends the previous turn.
	update(s3.GetId(), speakerSpeaking, 0)
	got = update(s1.GetId(), speakerSpeaking, 0)
	want = []string{"Lê Văn Cường:SPEAKING:0", "Phạm Thị Dung:WAITING:1", "Ngô Thị Nga:DONE:0"}
	if diff := cmp.Diff(want, queue(got)); diff != "" {
		t.Fatalf("queue after two turns (-want +got):\n%s", diff)
	}
	// Still open while speaking.
	_, err = w.client.RequestToSpeak(c.as(c.m1), &meetingsv1.RequestToSpeakRequest{MeetingId: id})
	testenv.Code(t, err, codes.AlreadyExists)
	got = update(s1.GetId(), speakerDone, 0)
	if got.GetSpeakers()[0].GetState() != speakerWaiting {
		t.Errorf("after done: %v", queue(got))
	}
	// Done again changes nothing: no new version.
	if again := update(s1.GetId(), speakerDone, 0); again.GetVersion() != got.GetVersion() {
		t.Errorf("repeated done bumped the version %d -> %d", got.GetVersion(), again.GetVersion())
	}
	// A finished turn cannot be given the floor again; ask anew.
	_, err = w.client.UpdateSpeaker(taker, &meetingsv1.UpdateSpeakerRequest{MeetingId: id, SpeakerId: s1.GetId(), State: speakerSpeaking})
	testenv.Code(t, err, codes.FailedPrecondition)
	ask(c.m1, "", "")

	// Withdraw one's own waiting request.
	r, err := w.client.WithdrawSpeakRequest(c.as(c.m2), &meetingsv1.WithdrawSpeakRequestRequest{MeetingId: id})
	if err != nil {
		t.Fatalf("WithdrawSpeakRequest: %v", err)
	}
	want = []string{"Lê Văn Cường:WAITING:1", "Lê Văn Cường:DONE:0", "Phạm Thị Dung:WITHDRAWN:0", "Ngô Thị Nga:DONE:0"}
	if diff := cmp.Diff(want, queue(r.GetMeeting())); diff != "" {
		t.Fatalf("queue after withdrawal (-want +got):\n%s", diff)
	}
	_, err = w.client.WithdrawSpeakRequest(c.as(c.m2), &meetingsv1.WithdrawSpeakRequestRequest{MeetingId: id})
	testenv.Code(t, err, codes.FailedPrecondition)

	// GetMeeting shows the same list to every reader.
	if diff := cmp.Diff(want, queue(w.get(t, c.as(c.m3), id))); diff != "" {
		t.Errorf("GetMeeting speakers (-want +got):\n%s", diff)
	}

	// Each change is one event to the participants and one audit record.
	cons := testenv.Consumer(t, w.js, w.stream)
	var evs []*meetingsv1.SpeakersChanged
	for len(evs) < 9 {
		msg := testenv.Next(t, cons)
		if !strings.HasSuffix(msg.Subject(), ".speakers_changed") {
			continue
		}
		if want := w.prefix + eventSubject(id, "speakers_changed"); msg.Subject() != want {
			t.Fatalf("subject %q, want %q", msg.Subject(), want)
		}
		ev := &meetingsv1.SpeakersChanged{}
		if err := proto.Unmarshal(msg.Data(), ev); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	first := evs[0]
	if len(first.GetMeeting().GetSpeakers()) != 1 || !slices.Contains(first.GetMeta().GetAudience(), c.guest) {
		t.Errorf("first event: speakers %v audience %v", queue(first.GetMeeting()), first.GetMeta().GetAudience())
	}
	var actions []string
	for _, rec := range w.audit(t, id) {
		if strings.HasPrefix(rec.Action, "speakers.") {
			actions = append(actions, rec.Action)
		}
	}
	wantActions := []string{"speakers.requested", "speakers.requested", "speakers.requested", "speakers.moved",
		"speakers.speaking", "speakers.speaking", "speakers.done", "speakers.requested", "speakers.withdrawn"}
	if diff := cmp.Diff(wantActions, actions); diff != "" {
		t.Errorf("audit actions (-want +got):\n%s", diff)
	}
}

func TestSpeakersRefusals(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	sched := w.scheduled(t, c)

	// Only while the meeting sits.
	_, err := w.client.RequestToSpeak(c.as(c.m1), &meetingsv1.RequestToSpeakRequest{MeetingId: sched.GetId()})
	wantIllegal(t, err, "only open while the meeting is in progress")

	m := w.started(t, c)
	id := m.GetId()
	// Not a participant: a member of the organisation sees the meeting but
	// may not ask; an outsider does not see it at all.
	_, err = w.client.RequestToSpeak(testenv.As(memberClaims(c.org)), &meetingsv1.RequestToSpeakRequest{MeetingId: id})
	testenv.Code(t, err, codes.PermissionDenied)
	_, err = w.client.RequestToSpeak(c.as(c.outsider), &meetingsv1.RequestToSpeakRequest{MeetingId: id})
	testenv.Code(t, err, codes.NotFound)

	// Validation.
	_, err = w.client.RequestToSpeak(c.as(c.m1), &meetingsv1.RequestToSpeakRequest{MeetingId: id, Note: strings.Repeat("ý", 201)})
	testenv.Code(t, err, codes.InvalidArgument)
	_, err = w.client.RequestToSpeak(c.as(c.m1), &meetingsv1.RequestToSpeakRequest{MeetingId: id, AgendaItemId: uuid.NewString()})
	testenv.Code(t, err, codes.InvalidArgument)

	r, err := w.client.RequestToSpeak(c.as(c.m1), &meetingsv1.RequestToSpeakRequest{MeetingId: id, Note: strings.Repeat("ý", 200)})
	if err != nil {
		t.Fatalf("RequestToSpeak: %v", err)
	}
	sp := r.GetMeeting().GetSpeakers()[0].GetId()

	// Giving the floor is the chair's and minute-taker's.
	_, err = w.client.UpdateSpeaker(c.as(c.m2), &meetingsv1.UpdateSpeakerRequest{MeetingId: id, SpeakerId: sp, State: speakerSpeaking})
	testenv.Code(t, err, codes.PermissionDenied)
	for _, bad := range []*meetingsv1.UpdateSpeakerRequest{
		{MeetingId: id, SpeakerId: sp, State: speakerWithdrawn},
		{MeetingId: id, SpeakerId: sp},                                  // neither state nor position
		{MeetingId: id, SpeakerId: sp, Position: 2},                     // past the queue's end
		{MeetingId: id, SpeakerId: sp, State: speakerDone, Position: 1}, // both
	} {
		_, err = w.client.UpdateSpeaker(c.as(c.chair), bad)
		testenv.Code(t, err, codes.InvalidArgument)
	}
	_, err = w.client.UpdateSpeaker(c.as(c.chair), &meetingsv1.UpdateSpeakerRequest{MeetingId: id, SpeakerId: uuid.NewString(), State: speakerDone})
	testenv.Code(t, err, codes.NotFound)
	// Another meeting's speaker is not found either.
	_, err = w.client.UpdateSpeaker(c.as(c.chair), &meetingsv1.UpdateSpeakerRequest{MeetingId: sched.GetId(), SpeakerId: sp, State: speakerDone})
	testenv.Code(t, err, codes.NotFound)
}

func TestEndingTheMeetingClosesTheFloor(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	id := w.started(t, c).GetId()
	taker := c.as(c.taker)
	r, err := w.client.RequestToSpeak(c.as(c.m1), &meetingsv1.RequestToSpeakRequest{MeetingId: id})
	if err != nil {
		t.Fatal(err)
	}
	s := speakerOf(t, r.GetMeeting(), c.m1, speakerWaiting)
	if _, err := w.client.UpdateSpeaker(taker, &meetingsv1.UpdateSpeakerRequest{MeetingId: id, SpeakerId: s.GetId(), State: speakerSpeaking}); err != nil {
		t.Fatal(err)
	}
	ended, err := w.client.EndMeeting(taker, &meetingsv1.EndMeetingRequest{MeetingId: id})
	if err != nil {
		t.Fatalf("EndMeeting: %v", err)
	}
	if diff := cmp.Diff([]string{"Lê Văn Cường:DONE:0"}, queue(ended.GetMeeting())); diff != "" {
		t.Errorf("speakers after the meeting ended (-want +got):\n%s", diff)
	}
}
