package meetings

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// wantIllegal checks a FailedPrecondition whose message gives the reason.
func wantIllegal(t *testing.T, err error, reason string) {
	t.Helper()
	st := testenv.Code(t, err, codes.FailedPrecondition)
	if !strings.Contains(st.Message(), reason) {
		t.Errorf("message %q does not say %q", st.Message(), reason)
	}
}

// event reads the next event and checks it is about m, of the given kind.
func event[E proto.Message](t *testing.T, w *world, c jetstream.Consumer, meetingID, name string, ev E) E {
	t.Helper()
	msg := testenv.Next(t, c)
	if want := w.prefix + eventSubject(meetingID, name); msg.Subject() != want {
		t.Fatalf("event subject %q, want %q", msg.Subject(), want)
	}
	if err := proto.Unmarshal(msg.Data(), ev); err != nil {
		t.Fatalf("payload of %s: %v", msg.Subject(), err)
	}
	return ev
}

func TestLifecycleHappyPath(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	ctx := c.as(c.taker)

	m := w.draft(t, c)
	_, err := w.client.ScheduleMeeting(c.adminCtx(), &meetingsv1.ScheduleMeetingRequest{MeetingId: m.GetId()})
	wantIllegal(t, err, "meeting is a draft and needs at least one agenda item, a participant who chairs it, a participant who takes the minutes")

	m = w.prepare(t, c, m)
	if m.GetVersion() != 4 { // created, participants added, two items
		t.Fatalf("version after preparing = %d, want 4", m.GetVersion())
	}
	sched, err := w.client.ScheduleMeeting(ctx, &meetingsv1.ScheduleMeetingRequest{MeetingId: m.GetId(), ExpectedVersion: 4})
	if err != nil {
		t.Fatalf("ScheduleMeeting: %v", err)
	}
	if s := sched.GetMeeting(); s.GetState() != domain.StateScheduled || s.GetVersion() != 5 || s.GetMyRole() != domain.RoleMinuteTaker {
		t.Fatalf("scheduled = state %v version %d role %v", s.GetState(), s.GetVersion(), s.GetMyRole())
	}
	started, err := w.client.StartMeeting(c.as(c.chair), &meetingsv1.StartMeetingRequest{MeetingId: m.GetId()})
	if err != nil || started.GetMeeting().GetState() != domain.StateInProgress {
		t.Fatalf("StartMeeting: %v %v", err, started.GetMeeting().GetState())
	}
	ended, err := w.client.EndMeeting(ctx, &meetingsv1.EndMeetingRequest{MeetingId: m.GetId(), ExpectedVersion: 6})
	if err != nil || ended.GetMeeting().GetState() != domain.StateEnded || ended.GetMeeting().GetVersion() != 7 {
		t.Fatalf("EndMeeting: %v %v", err, ended.GetMeeting())
	}

	// One event per change, in order, each carrying the meeting after it
	// and the participants as audience.
	cons := testenv.Consumer(t, w.js, w.stream)
	event(t, w, cons, m.GetId(), "created", &meetingsv1.MeetingCreated{})
	pc := event(t, w, cons, m.GetId(), "participants_changed", &meetingsv1.ParticipantsChanged{})
	if len(pc.GetMeeting().GetParticipants()) != 9 {
		t.Errorf("participants_changed carries %d participants, want 9", len(pc.GetMeeting().GetParticipants()))
	}
	event(t, w, cons, m.GetId(), "agenda_changed", &meetingsv1.AgendaChanged{})
	event(t, w, cons, m.GetId(), "agenda_changed", &meetingsv1.AgendaChanged{})
	for i, want := range [][2]meetingsv1.MeetingState{{domain.StateDraft, domain.StateScheduled}, {domain.StateScheduled, domain.StateInProgress}, {domain.StateInProgress, domain.StateEnded}} {
		ev := event(t, w, cons, m.GetId(), "state_changed", &meetingsv1.MeetingStateChanged{})
		if ev.GetFrom() != want[0] || ev.GetTo() != want[1] || ev.GetMeeting().GetState() != want[1] {
			t.Errorf("state event %d: %v -> %v (meeting %v), want %v", i, ev.GetFrom(), ev.GetTo(), ev.GetMeeting().GetState(), want)
		}
		meta := ev.GetMeta()
		if meta.GetAggregateVersion() != int64(5+i) || meta.GetOrganizationId() != c.org {
			t.Errorf("state event %d meta = %v", i, meta)
		}
		audience := slices.Sorted(slices.Values(meta.GetAudience()))
		want := slices.Sorted(slices.Values([]string{c.chair, c.taker, c.m1, c.m2, c.m3, c.probationary, c.excused, c.observer, c.guest}))
		if diff := cmp.Diff(want, audience); diff != "" {
			t.Errorf("audience (-want +got):\n%s", diff)
		}
	}

	var actions []string
	for _, r := range w.audit(t, m.GetId()) {
		actions = append(actions, fmt.Sprintf("%d:%s", r.Version, r.Action))
	}
	want := []string{"1:meeting.created", "2:participants.added", "3:agenda.item_added", "4:agenda.item_added",
		"5:meeting.scheduled", "6:meeting.started", "7:meeting.ended"}
	if diff := cmp.Diff(want, actions); diff != "" {
		t.Errorf("audit trail (-want +got):\n%s", diff)
	}
}

// Each lifecycle RPC in each state it is not allowed in is refused with
// the reason, and changes nothing.
func TestIllegalTransitions(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	ctx := c.adminCtx()
	later := time.Now().Add(72 * time.Hour).Truncate(time.Minute)

	inState := map[meetingsv1.MeetingState]func() *meetingsv1.Meeting{
		domain.StateDraft:      func() *meetingsv1.Meeting { return w.prepare(t, c, w.draft(t, c)) },
		domain.StateScheduled:  func() *meetingsv1.Meeting { return w.scheduled(t, c) },
		domain.StateInProgress: func() *meetingsv1.Meeting { return w.started(t, c) },
		domain.StateEnded: func() *meetingsv1.Meeting {
			m := w.started(t, c)
			r, err := w.client.EndMeeting(ctx, &meetingsv1.EndMeetingRequest{MeetingId: m.GetId()})
			if err != nil {
				t.Fatal(err)
			}
			return r.GetMeeting()
		},
		domain.StateCancelled: func() *meetingsv1.Meeting {
			m := w.scheduled(t, c)
			r, err := w.client.CancelMeeting(ctx, &meetingsv1.CancelMeetingRequest{MeetingId: m.GetId(), Reason: "Bão"})
			if err != nil {
				t.Fatal(err)
			}
			return r.GetMeeting()
		},
	}
	actions := map[domain.Action]func(id string) error{
		domain.Schedule: func(id string) error {
			_, err := w.client.ScheduleMeeting(ctx, &meetingsv1.ScheduleMeetingRequest{MeetingId: id})
			return err
		},
		domain.Start: func(id string) error {
			_, err := w.client.StartMeeting(ctx, &meetingsv1.StartMeetingRequest{MeetingId: id})
			return err
		},
		domain.End: func(id string) error {
			_, err := w.client.EndMeeting(ctx, &meetingsv1.EndMeetingRequest{MeetingId: id})
			return err
		},
		domain.Cancel: func(id string) error {
			_, err := w.client.CancelMeeting(ctx, &meetingsv1.CancelMeetingRequest{MeetingId: id, Reason: "Trùng lịch"})
			return err
		},
		domain.Reschedule: func(id string) error {
			_, err := w.client.RescheduleMeeting(ctx, &meetingsv1.RescheduleMeetingRequest{MeetingId: id, Reason: "Trùng lịch",
				StartsAt: timestamppb.New(later), EndsAt: timestamppb.New(later.Add(time.Hour))})
			return err
		},
	}
	for state, reach := range inState {
		for act, call := range actions {
			if _, err := domain.Transition(state, act); err == nil {
				continue // allowed: covered elsewhere
			}
			t.Run(fmt.Sprintf("%v/%v", state, act), func(t *testing.T) {
				m := reach()
				_, wantErr := domain.Transition(state, act)
				wantIllegal(t, call(m.GetId()), wantErr.Error())
				if after := w.get(t, ctx, m.GetId()); after.GetVersion() != m.GetVersion() || after.GetState() != state {
					t.Errorf("refused %v changed the meeting: version %d -> %d, state %v", act, m.GetVersion(), after.GetVersion(), after.GetState())
				}
			})
		}
	}
}

func TestStaleVersionIsAborted(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.scheduled(t, c) // version 5
	_, err := w.client.StartMeeting(c.adminCtx(), &meetingsv1.StartMeetingRequest{MeetingId: m.GetId(), ExpectedVersion: 4})
	st := testenv.Code(t, err, codes.Aborted)
	if !strings.Contains(st.Message(), "version 5") {
		t.Errorf("message %q does not give the current version", st.Message())
	}
	upd := &meetingsv1.UpdateMeetingRequest{MeetingId: m.GetId(), ExpectedVersion: 3, Title: "Khác", StartsAt: m.GetStartsAt(), EndsAt: m.GetEndsAt()}
	_, err = w.client.UpdateMeeting(c.adminCtx(), upd)
	st = testenv.Code(t, err, codes.Aborted)
	if !strings.Contains(st.Message(), "version 5") {
		t.Errorf("message %q does not give the current version", st.Message())
	}
	upd.ExpectedVersion = 5
	if _, err := w.client.UpdateMeeting(c.adminCtx(), upd); err != nil {
		t.Fatalf("update at the current version: %v", err)
	}
	// The second of two editors who both read version 5 loses.
	_, err = w.client.UpdateMeeting(c.adminCtx(), upd)
	testenv.Code(t, err, codes.Aborted)
	if _, err := w.client.StartMeeting(c.adminCtx(), &meetingsv1.StartMeetingRequest{MeetingId: m.GetId(), ExpectedVersion: 6}); err != nil {
		t.Fatalf("start at the current version: %v", err)
	}
}

func TestUpdateMeeting(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.draft(t, c)
	later := time.Now().Add(96 * time.Hour).Truncate(time.Minute)
	upd := &meetingsv1.UpdateMeetingRequest{
		MeetingId: m.GetId(), ExpectedVersion: 1, Title: "<b>Họp</b> chuyên đề", Place: "", Online: true,
		StartsAt: timestamppb.New(later), Body: meetingsv1.BodyKind_BODY_KIND_EXECUTIVE_COMMITTEE,
	}
	resp, err := w.client.UpdateMeeting(c.as(c.guest), upd)
	testenv.Code(t, err, codes.NotFound) // not yet invited: cannot see a draft of another organisation
	resp, err = w.client.UpdateMeeting(c.adminCtx(), upd)
	if err != nil {
		t.Fatalf("UpdateMeeting: %v", err)
	}
	got := resp.GetMeeting()
	// HTML is stored as typed; the app renders it as text.
	if got.GetTitle() != "<b>Họp</b> chuyên đề" || got.GetPlace() != "" || !got.GetOnline() || got.GetEndsAt() != nil ||
		!got.GetStartsAt().AsTime().Equal(later) || got.GetBody() != meetingsv1.BodyKind_BODY_KIND_EXECUTIVE_COMMITTEE || got.GetVersion() != 2 {
		t.Errorf("updated meeting = %v", got)
	}
	// The same values again change nothing.
	upd.ExpectedVersion, upd.Body = 2, 0 // unspecified body keeps the current one
	if resp, err := w.client.UpdateMeeting(c.adminCtx(), upd); err != nil || resp.GetMeeting().GetVersion() != 2 {
		t.Errorf("no-op update: %v, version %d", err, resp.GetMeeting().GetVersion())
	}

	for name, tc := range map[string]struct {
		mutate func(*meetingsv1.UpdateMeetingRequest)
		want   []string
	}{
		"no version":     {func(r *meetingsv1.UpdateMeetingRequest) { r.ExpectedVersion = 0 }, []string{"expected_version"}},
		"no title":       {func(r *meetingsv1.UpdateMeetingRequest) { r.Title = " " }, []string{"title"}},
		"long place":     {func(r *meetingsv1.UpdateMeetingRequest) { r.Place = strings.Repeat("p", 301) }, []string{"place"}},
		"ends first":     {func(r *meetingsv1.UpdateMeetingRequest) { r.EndsAt = timestamppb.New(later.Add(-time.Minute)) }, []string{"ends_at"}},
		"no start":       {func(r *meetingsv1.UpdateMeetingRequest) { r.StartsAt = nil }, []string{"starts_at"}},
		"unknown body":   {func(r *meetingsv1.UpdateMeetingRequest) { r.Body = 77 }, []string{"body"}},
		"meeting id bad": {func(r *meetingsv1.UpdateMeetingRequest) { r.MeetingId = "x" }, []string{"meeting_id"}},
	} {
		t.Run(name, func(t *testing.T) {
			req := proto.CloneOf(upd)
			tc.mutate(req)
			_, err := w.client.UpdateMeeting(c.adminCtx(), req)
			if diff := cmp.Diff(tc.want, testenv.ViolatedFields(t, err)); diff != "" {
				t.Errorf("violated fields (-want +got):\n%s", diff)
			}
		})
	}

	// Scheduled: details may change, times only by rescheduling.
	s := w.scheduled(t, c)
	upd = &meetingsv1.UpdateMeetingRequest{MeetingId: s.GetId(), ExpectedVersion: s.GetVersion(), Title: s.GetTitle(),
		Place: "Hội trường lớn", StartsAt: s.GetStartsAt(), EndsAt: s.GetEndsAt()}
	if _, err := w.client.UpdateMeeting(c.as(c.taker), upd); err != nil {
		t.Fatalf("new place for a scheduled meeting: %v", err)
	}
	upd.ExpectedVersion++
	upd.StartsAt = timestamppb.New(later)
	upd.EndsAt = nil
	_, err = w.client.UpdateMeeting(c.as(c.taker), upd)
	wantIllegal(t, err, "times change only by rescheduling")

	// In progress: nothing.
	p := w.started(t, c)
	_, err = w.client.UpdateMeeting(c.adminCtx(), &meetingsv1.UpdateMeetingRequest{MeetingId: p.GetId(), ExpectedVersion: p.GetVersion(),
		Title: "x", StartsAt: p.GetStartsAt()})
	wantIllegal(t, err, "meeting is in progress; the meeting's details can be changed only while the meeting is a draft or scheduled")
}

func TestCancelAndReschedule(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	ctx := c.as(c.taker)
	m := w.scheduled(t, c)
	_, err := w.client.CancelMeeting(ctx, &meetingsv1.CancelMeetingRequest{MeetingId: m.GetId(), Reason: "  "})
	if diff := cmp.Diff([]string{"reason"}, testenv.ViolatedFields(t, err)); diff != "" {
		t.Errorf("cancel without reason (-want +got):\n%s", diff)
	}
	resp, err := w.client.CancelMeeting(ctx, &meetingsv1.CancelMeetingRequest{MeetingId: m.GetId(), Reason: "Bão số 3\nđổ bộ"})
	if err != nil || resp.GetMeeting().GetState() != domain.StateCancelled || resp.GetMeeting().GetStateReason() != "Bão số 3\nđổ bộ" {
		t.Fatalf("CancelMeeting: %v %v", err, resp.GetMeeting())
	}

	later := time.Now().Add(7 * 24 * time.Hour).Truncate(time.Minute)
	bad := []struct {
		req  *meetingsv1.RescheduleMeetingRequest
		want []string
	}{
		{&meetingsv1.RescheduleMeetingRequest{MeetingId: m.GetId(), Reason: "Sau bão", StartsAt: timestamppb.New(later), EndsAt: timestamppb.New(later.Add(-time.Hour))}, []string{"ends_at"}},
		{&meetingsv1.RescheduleMeetingRequest{MeetingId: m.GetId(), StartsAt: timestamppb.New(later)}, []string{"reason"}},
		{&meetingsv1.RescheduleMeetingRequest{MeetingId: m.GetId(), Reason: "x", ExpectedVersion: -2}, []string{"starts_at", "expected_version"}},
	}
	for _, b := range bad {
		_, err := w.client.RescheduleMeeting(ctx, b.req)
		if diff := cmp.Diff(b.want, testenv.ViolatedFields(t, err)); diff != "" {
			t.Errorf("RescheduleMeeting(%v) (-want +got):\n%s", b.req, diff)
		}
	}
	// A cancelled meeting comes back, scheduled, at the new time.
	r, err := w.client.RescheduleMeeting(ctx, &meetingsv1.RescheduleMeetingRequest{MeetingId: m.GetId(), Reason: "Sau bão",
		StartsAt: timestamppb.New(later), EndsAt: timestamppb.New(later.Add(2 * time.Hour))})
	if err != nil {
		t.Fatalf("RescheduleMeeting: %v", err)
	}
	got := r.GetMeeting()
	if got.GetState() != domain.StateScheduled || got.GetStateReason() != "Sau bão" || !got.GetStartsAt().AsTime().Equal(later) ||
		!got.GetEndsAt().AsTime().Equal(later.Add(2*time.Hour)) {
		t.Errorf("rescheduled = %v", got)
	}
	// And can be moved again while scheduled.
	r, err = w.client.RescheduleMeeting(ctx, &meetingsv1.RescheduleMeetingRequest{MeetingId: m.GetId(), Reason: "Đồng chí Bí thư đi công tác",
		StartsAt: timestamppb.New(later.Add(24 * time.Hour))})
	if err != nil || r.GetMeeting().GetEndsAt() != nil || r.GetMeeting().GetStateReason() != "Đồng chí Bí thư đi công tác" {
		t.Fatalf("second reschedule: %v %v", err, r.GetMeeting())
	}
	trail := w.audit(t, m.GetId())
	last := trail[len(trail)-1]
	if last.Action != "meeting.rescheduled" || last.Reason != "Đồng chí Bí thư đi công tác" {
		t.Errorf("last audit record = %+v", last)
	}

	// A draft cancelled before it was ready cannot be rescheduled into a
	// scheduled meeting without an agenda, chair or minute-taker.
	d := w.draft(t, c)
	if _, err := w.client.CancelMeeting(ctx, &meetingsv1.CancelMeetingRequest{MeetingId: d.GetId(), Reason: "Không cần"}); err != nil {
		// The taker is not a participant of d: only the administrator may.
		testenv.Code(t, err, codes.PermissionDenied)
		if _, err := w.client.CancelMeeting(c.adminCtx(), &meetingsv1.CancelMeetingRequest{MeetingId: d.GetId(), Reason: "Không cần"}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = w.client.RescheduleMeeting(c.adminCtx(), &meetingsv1.RescheduleMeetingRequest{MeetingId: d.GetId(), Reason: "Cần họp",
		StartsAt: timestamppb.New(later)})
	wantIllegal(t, err, "needs at least one agenda item")
}
