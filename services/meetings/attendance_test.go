package meetings

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// tokenRefusal checks an InvalidArgument on field token with reason.
func tokenRefusal(t *testing.T, err error, reason string) {
	t.Helper()
	st := testenv.Code(t, err, codes.InvalidArgument)
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == "token" && v.GetReason() == reason && v.GetDescription() != "" {
					return
				}
			}
		}
	}
	t.Errorf("error %v does not refuse field token with %s", err, reason)
}

func (w *world) secret(t *testing.T) []byte {
	t.Helper()
	var k []byte
	if err := w.pool.QueryRow(context.Background(), `SELECT secret FROM checkin_secret`).Scan(&k); err != nil {
		t.Fatalf("check-in secret: %v", err)
	}
	return k
}

func TestCheckIn(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.started(t, c)
	other := w.started(t, c)

	_, err := w.client.IssueCheckInToken(c.as(c.m1), &meetingsv1.IssueCheckInTokenRequest{MeetingId: m.GetId()})
	testenv.Code(t, err, codes.PermissionDenied)
	before := time.Now()
	issued, err := w.client.IssueCheckInToken(c.as(c.taker), &meetingsv1.IssueCheckInTokenRequest{MeetingId: m.GetId()})
	if err != nil {
		t.Fatalf("IssueCheckInToken: %v", err)
	}
	tok := issued.GetToken()
	if exp := issued.GetExpireTime().AsTime(); exp.Before(before.Add(domain.CheckInTokenTTL-time.Second)) || exp.After(time.Now().Add(domain.CheckInTokenTTL)) {
		t.Errorf("expires %v, want about %v from now", exp, domain.CheckInTokenTTL)
	}
	if want := "/checkin?meeting=" + m.GetId() + "&token=" + tok; issued.GetCheckInPath() != want {
		t.Errorf("check_in_path %q, want %q", issued.GetCheckInPath(), want)
	}
	otherTok, err := w.client.IssueCheckInToken(c.adminCtx(), &meetingsv1.IssueCheckInTokenRequest{MeetingId: other.GetId()})
	if err != nil {
		t.Fatal(err)
	}

	secret := w.secret(t)
	expired, _ := domain.SignCheckIn(secret, m.GetId(), time.Now().Add(-24*time.Hour).Truncate(time.Second))
	forgeKey := make([]byte, 32)
	rand.Read(forgeKey)
	forged, _ := domain.SignCheckIn(forgeKey, m.GetId(), time.Now().Add(time.Hour))
	// Another character inside the signed payload (not the last one of a
	// base64 group, whose spare bits may not count).
	swap := map[bool]string{true: "B", false: "A"}[tok[3] == 'A']
	tampered := tok[:3] + swap + tok[4:]
	ctx := c.as(c.m1)
	for name, tc := range map[string]struct{ token, reason string }{
		"yesterday's screenshot":  {expired, domain.ReasonTokenExpired},
		"forged":                  {forged, domain.ReasonTokenInvalid},
		"tampered":                {tampered, domain.ReasonTokenInvalid},
		"garbage":                 {"<script>", domain.ReasonTokenInvalid},
		"another meeting's token": {otherTok.GetToken(), domain.ReasonTokenWrongMeet},
		"none":                    {"", domain.ReasonRequired},
	} {
		_, err := w.client.CheckIn(ctx, &meetingsv1.CheckInRequest{MeetingId: m.GetId(), Token: tc.token})
		tokenRefusal(t, err, tc.reason)
		if t.Failed() {
			t.Logf("case %s", name)
		}
	}
	if p := participantByID(w.get(t, ctx, m.GetId()), c.m1); p.GetAttendance() != meetingsv1.Attendance_ATTENDANCE_NOT_PRESENT {
		t.Fatalf("refused check-ins marked %v", p.GetAttendance())
	}

	// Not a participant: refused whatever the token.
	_, err = w.client.CheckIn(testenv.As(memberClaims(c.org)), &meetingsv1.CheckInRequest{MeetingId: m.GetId(), Token: tok})
	testenv.Code(t, err, codes.PermissionDenied)
	_, err = w.client.CheckIn(c.as(c.outsider), &meetingsv1.CheckInRequest{MeetingId: m.GetId(), Token: tok})
	testenv.Code(t, err, codes.NotFound)

	cons := testenv.Consumer(t, w.js, w.stream)
	r, err := w.client.CheckIn(ctx, &meetingsv1.CheckInRequest{MeetingId: m.GetId(), Token: tok})
	if err != nil {
		t.Fatalf("CheckIn: %v", err)
	}
	p := participantByID(r.GetMeeting(), c.m1)
	if p.GetAttendance() != meetingsv1.Attendance_ATTENDANCE_PRESENT || p.GetCheckInTime() == nil {
		t.Errorf("after check-in: %v", p)
	}
	if q := r.GetMeeting().GetQuorum(); q.GetPresent() != 1 {
		t.Errorf("quorum after one check-in: %v", q)
	}
	// Scanning twice changes nothing.
	again, err := w.client.CheckIn(ctx, &meetingsv1.CheckInRequest{MeetingId: m.GetId(), Token: tok})
	if err != nil || again.GetMeeting().GetVersion() != r.GetMeeting().GetVersion() ||
		!proto.Equal(participantByID(again.GetMeeting(), c.m1).GetCheckInTime(), p.GetCheckInTime()) {
		t.Errorf("second check-in: %v", err)
	}
	// The guest from outside checks in with the same code.
	if _, err := w.client.CheckIn(c.as(c.guest), &meetingsv1.CheckInRequest{MeetingId: m.GetId(), Token: tok}); err != nil {
		t.Errorf("guest check-in: %v", err)
	}
	for _, who := range []string{c.m1, c.guest} {
		msg := testenv.Next(t, cons)
		for !strings.HasSuffix(msg.Subject(), m.GetId()+".attendance_changed") {
			msg = testenv.Next(t, cons)
		}
		var ev meetingsv1.AttendanceChanged
		if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.GetPersonId() != who || ev.GetAttendance() != meetingsv1.Attendance_ATTENDANCE_PRESENT || ev.GetMeta().GetActorId() != who {
			t.Errorf("attendance event %v, want %s present", &ev, who)
		}
	}
}

func TestCheckInOnlyOnTheDay(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	later := w.scheduled(t, c) // two days from now
	tok, err := w.client.IssueCheckInToken(c.adminCtx(), &meetingsv1.IssueCheckInTokenRequest{MeetingId: later.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.client.CheckIn(c.as(c.m1), &meetingsv1.CheckInRequest{MeetingId: later.GetId(), Token: tok.GetToken()})
	wantIllegal(t, err, "check-in opens on the day of the meeting")

	// Scheduled for today: people check in before the chair opens it.
	today, _ := domain.DayBounds(time.Now())
	req := newMeetingReq(c.org)
	req.StartsAt, req.EndsAt = timestamppb.New(today.Add(time.Minute)), nil
	m := w.prepare(t, c, w.draftWith(t, c, req))
	if _, err := w.client.ScheduleMeeting(c.adminCtx(), &meetingsv1.ScheduleMeetingRequest{MeetingId: m.GetId()}); err != nil {
		t.Fatal(err)
	}
	tok, err = w.client.IssueCheckInToken(c.as(c.chair), &meetingsv1.IssueCheckInTokenRequest{MeetingId: m.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.client.CheckIn(c.as(c.m1), &meetingsv1.CheckInRequest{MeetingId: m.GetId(), Token: tok.GetToken()}); err != nil {
		t.Errorf("check-in on the day: %v", err)
	}
	// A draft has no code to scan.
	d := w.draft(t, c)
	_, err = w.client.IssueCheckInToken(c.adminCtx(), &meetingsv1.IssueCheckInTokenRequest{MeetingId: d.GetId()})
	wantIllegal(t, err, "meeting is a draft; check-in codes can be issued only while")
}

func TestMarkAttendanceAndQuorum(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.started(t, c)
	ctx := c.as(c.taker)
	mark := func(person string, a meetingsv1.Attendance, reason string) *meetingsv1.Meeting {
		t.Helper()
		r, err := w.client.MarkAttendance(ctx, &meetingsv1.MarkAttendanceRequest{MeetingId: m.GetId(), PersonId: person, Attendance: a, AbsenceReason: reason})
		if err != nil {
			t.Fatalf("MarkAttendance(%s, %v): %v", person, a, err)
		}
		return r.GetMeeting()
	}
	quorum := func(got *meetingsv1.Meeting, base, present, required int32, reached bool) {
		t.Helper()
		want := &meetingsv1.Quorum{Base: base, Present: present, Required: required, Reached: reached, Rule: "2/3"}
		if !proto.Equal(want, got.GetQuorum()) {
			t.Errorf("quorum = %v, want %v", got.GetQuorum(), want)
		}
	}
	// Voters: chair, taker, m1, m2, m3, excused (left out while absent).
	quorum(m, 5, 0, 4, false)
	mark(c.chair, meetingsv1.Attendance_ATTENDANCE_PRESENT, "")
	mark(c.taker, meetingsv1.Attendance_ATTENDANCE_PRESENT, "")
	got := mark(c.m1, meetingsv1.Attendance_ATTENDANCE_PRESENT_ONLINE, "")
	quorum(got, 5, 3, 4, false)
	// Present non-voters do not count.
	mark(c.probationary, meetingsv1.Attendance_ATTENDANCE_PRESENT, "")
	got = mark(c.observer, meetingsv1.Attendance_ATTENDANCE_PRESENT, "")
	quorum(got, 5, 3, 4, false)
	// The excused member comes after all: in the base, and present.
	got = mark(c.excused, meetingsv1.Attendance_ATTENDANCE_PRESENT, "")
	quorum(got, 6, 4, 4, true)
	// An excuse for this meeting keeps m2 in the base.
	got = mark(c.m2, meetingsv1.Attendance_ATTENDANCE_ABSENT_EXCUSED, "Ốm")
	quorum(got, 6, 4, 4, true)
	if p := participantByID(got, c.m2); p.GetAbsenceReason() != "Ốm" || p.GetCheckInTime() != nil {
		t.Errorf("m2 = %v", p)
	}
	got = mark(c.chair, meetingsv1.Attendance_ATTENDANCE_NOT_PRESENT, "")
	quorum(got, 6, 3, 4, false)
	if p := participantByID(got, c.chair); p.GetCheckInTime() != nil {
		t.Errorf("not present keeps a check-in time: %v", p)
	}
	// Marking the same again is no change.
	if again := mark(c.chair, meetingsv1.Attendance_ATTENDANCE_NOT_PRESENT, ""); again.GetVersion() != got.GetVersion() {
		t.Errorf("repeated mark bumped version %d -> %d", got.GetVersion(), again.GetVersion())
	}

	for name, tc := range map[string]struct {
		req  *meetingsv1.MarkAttendanceRequest
		want []string
	}{
		"excused without reason": {&meetingsv1.MarkAttendanceRequest{MeetingId: m.GetId(), PersonId: c.m3, Attendance: meetingsv1.Attendance_ATTENDANCE_ABSENT_EXCUSED}, []string{"absence_reason"}},
		"nothing":                {&meetingsv1.MarkAttendanceRequest{MeetingId: m.GetId()}, []string{"person_id", "attendance"}},
		"not a participant":      {&meetingsv1.MarkAttendanceRequest{MeetingId: m.GetId(), PersonId: c.outsider, Attendance: meetingsv1.Attendance_ATTENDANCE_PRESENT}, []string{"person_id"}},
	} {
		_, err := w.client.MarkAttendance(ctx, tc.req)
		if diff := cmp.Diff(tc.want, testenv.ViolatedFields(t, err)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	// A plain member cannot mark anybody, themself included.
	_, err := w.client.MarkAttendance(c.as(c.m3), &meetingsv1.MarkAttendanceRequest{MeetingId: m.GetId(), PersonId: c.m3, Attendance: meetingsv1.Attendance_ATTENDANCE_PRESENT})
	testenv.Code(t, err, codes.PermissionDenied)

	// After the end, corrections for the minutes are still possible.
	if _, err := w.client.EndMeeting(ctx, &meetingsv1.EndMeetingRequest{MeetingId: m.GetId()}); err != nil {
		t.Fatal(err)
	}
	mark(c.m3, meetingsv1.Attendance_ATTENDANCE_ABSENT_EXCUSED, "Đi học")
	var actions []string
	for _, r := range w.audit(t, m.GetId()) {
		if strings.HasPrefix(r.Action, "attendance.") {
			actions = append(actions, r.Action+" "+r.Reason)
		}
	}
	if len(actions) != 9 || actions[6] != "attendance.marked Ốm" {
		t.Errorf("attendance audit = %q", actions)
	}
}
