package meetings

import (
	"strings"
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
)

func TestAddParticipantsFromBody(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.prepare(t, c, w.draft(t, c))

	type row struct {
		Role     meetingsv1.ParticipantRole
		Voting   bool
		Standing meetingsv1.Standing
		Excused  bool
	}
	want := map[string]row{
		c.chair:        {domain.RoleChair, true, official, false},
		c.taker:        {domain.RoleMinuteTaker, true, official, false},
		c.m1:           {domain.RoleMember, true, official, false},
		c.m2:           {domain.RoleMember, true, official, false},
		c.m3:           {domain.RoleMember, true, official, false},
		c.probationary: {domain.RoleMember, false, probationary, false}, // attends, never votes
		c.excused:      {domain.RoleMember, true, official, true},
		c.observer:     {domain.RoleObserver, false, 0, false}, // not a member of the cell
		c.guest:        {domain.RoleGuest, false, 0, false},
	}
	got := map[string]row{}
	var order []meetingsv1.ParticipantRole
	for _, p := range m.GetParticipants() {
		got[p.GetPersonId()] = row{p.GetRole(), p.GetVotingRight(), p.GetStanding(), p.GetExcused()}
		order = append(order, p.GetRole())
		if p.GetFullName() == "" || p.GetAttendance() != meetingsv1.Attendance_ATTENDANCE_NOT_PRESENT {
			t.Errorf("participant %v", p)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("participants (-want +got):\n%s", diff)
	}
	// Listed as minutes list them: chair, minute-taker, members, guests, observers.
	if !slicesSorted(order) {
		t.Errorf("participants in order %v", order)
	}
	// Quorum base: 6 voters, the excused one left out while absent.
	if q := m.GetQuorum(); q.GetBase() != 5 || q.GetPresent() != 0 || q.GetRequired() != 4 || q.GetReached() {
		t.Errorf("quorum = %v", q)
	}

	// Adding the body again adds nobody and changes nothing.
	r, err := w.client.AddParticipants(c.adminCtx(), &meetingsv1.AddParticipantsRequest{MeetingId: m.GetId(), FromBody: true})
	if err != nil || r.GetMeeting().GetVersion() != m.GetVersion() {
		t.Errorf("adding the body twice: %v, version %d -> %d", err, m.GetVersion(), r.GetMeeting().GetVersion())
	}
	// A member of the body can be named as a guest: no vote then.
	d := w.draft(t, c)
	r, err = w.client.AddParticipants(c.adminCtx(), &meetingsv1.AddParticipantsRequest{MeetingId: d.GetId(),
		Participants: []*meetingsv1.ParticipantInput{{PersonId: c.m1, Role: domain.RoleGuest}, {PersonId: c.outsider, Role: domain.RoleMember}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.GetMeeting().GetParticipants() {
		if p.GetVotingRight() {
			t.Errorf("%s (%v) may vote", p.GetFullName(), p.GetRole())
		}
	}
}

func TestAddParticipantsValidation(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.prepare(t, c, w.draft(t, c))
	for name, tc := range map[string]struct {
		req  *meetingsv1.AddParticipantsRequest
		want []string
	}{
		"nobody": {&meetingsv1.AddParticipantsRequest{MeetingId: m.GetId()}, []string{"participants"}},
		"bad entries": {&meetingsv1.AddParticipantsRequest{MeetingId: m.GetId(), Participants: []*meetingsv1.ParticipantInput{
			{PersonId: "x", Role: domain.RoleGuest}, {PersonId: c.guest}, {PersonId: c.guest, Role: 42},
		}}, []string{"participants[0].person_id", "participants[1].role", "participants[2].role", "participants[2].person_id"}},
		"unknown person": {&meetingsv1.AddParticipantsRequest{MeetingId: m.GetId(), Participants: []*meetingsv1.ParticipantInput{
			{PersonId: uuid.NewString(), Role: domain.RoleGuest}}}, []string{"participants[0].person_id"}},
		"already there": {&meetingsv1.AddParticipantsRequest{MeetingId: m.GetId(), FromBody: true, Participants: []*meetingsv1.ParticipantInput{
			{PersonId: c.outsider, Role: domain.RoleGuest}, {PersonId: c.observer, Role: domain.RoleGuest}}}, []string{"participants[1].person_id"}},
	} {
		_, err := w.client.AddParticipants(c.adminCtx(), tc.req)
		if diff := cmp.Diff(tc.want, testenv.ViolatedFields(t, err)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	// Nothing of the refused requests was written (the outsider of
	// "already there" included).
	if got := w.get(t, c.adminCtx(), m.GetId()); len(got.GetParticipants()) != 9 || got.GetVersion() != m.GetVersion() {
		t.Errorf("refused adds changed the meeting: %d participants, version %d", len(got.GetParticipants()), got.GetVersion())
	}
}

func TestUpdateAndRemoveParticipant(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.scheduled(t, c)
	ctx := c.as(c.taker)
	cons := testenv.Consumer(t, w.js, w.stream)

	r, err := w.client.UpdateParticipant(ctx, &meetingsv1.UpdateParticipantRequest{MeetingId: m.GetId(), PersonId: c.m1, Role: domain.RoleChair})
	if err != nil || participantByID(r.GetMeeting(), c.m1).GetRole() != domain.RoleChair {
		t.Fatalf("UpdateParticipant: %v", err)
	}
	// Now the original chair may step down: m1 chairs.
	if _, err := w.client.UpdateParticipant(ctx, &meetingsv1.UpdateParticipantRequest{MeetingId: m.GetId(), PersonId: c.chair, Role: domain.RoleMember}); err != nil {
		t.Fatalf("second chair steps down: %v", err)
	}
	// But the meeting cannot lose its last chair or minute-taker.
	_, err = w.client.UpdateParticipant(ctx, &meetingsv1.UpdateParticipantRequest{MeetingId: m.GetId(), PersonId: c.m1, Role: domain.RoleMember})
	wantIllegal(t, err, "meeting is scheduled and needs a participant who chairs it")
	_, err = w.client.RemoveParticipant(ctx, &meetingsv1.RemoveParticipantRequest{MeetingId: m.GetId(), PersonId: c.taker})
	wantIllegal(t, err, "needs a participant who takes the minutes")
	// An observer may be made a guest: still no vote.
	r, err = w.client.UpdateParticipant(ctx, &meetingsv1.UpdateParticipantRequest{MeetingId: m.GetId(), PersonId: c.observer, Role: domain.RoleMember})
	if err != nil || participantByID(r.GetMeeting(), c.observer).GetVotingRight() {
		t.Errorf("observer made member: %v, voting %v", err, participantByID(r.GetMeeting(), c.observer).GetVotingRight())
	}

	// Remove the guest, who presents an item: the item stays, unpresented.
	if _, err := w.client.UpdateAgendaItem(ctx, &meetingsv1.UpdateAgendaItemRequest{MeetingId: m.GetId(), AgendaItemId: m.GetAgenda()[0].GetId(),
		Title: "Báo cáo của khách mời", PresenterId: c.guest}); err != nil {
		t.Fatal(err)
	}
	r2, err := w.client.RemoveParticipant(ctx, &meetingsv1.RemoveParticipantRequest{MeetingId: m.GetId(), PersonId: c.guest})
	if err != nil {
		t.Fatalf("RemoveParticipant: %v", err)
	}
	if participantByID(r2.GetMeeting(), c.guest) != nil || r2.GetMeeting().GetAgenda()[0].GetPresenterId() != "" {
		t.Errorf("after removal: %v", r2.GetMeeting())
	}
	// The removed guest no longer sees the meeting, but got the event.
	_, err = w.client.GetMeeting(c.as(c.guest), &meetingsv1.GetMeetingRequest{MeetingId: m.GetId()})
	testenv.Code(t, err, codes.NotFound)
	var last *meetingsv1.ParticipantsChanged
	for range 5 { // role x3, agenda, removal
		msg := testenv.Next(t, cons)
		if strings.HasSuffix(msg.Subject(), ".participants_changed") {
			last = &meetingsv1.ParticipantsChanged{}
			if err := unmarshalProto(msg.Data(), last); err != nil {
				t.Fatal(err)
			}
		}
	}
	if last == nil || !contains(last.GetMeta().GetAudience(), c.guest) {
		t.Errorf("removal event audience %v lacks the removed guest", last.GetMeta().GetAudience())
	}

	for _, tc := range []struct {
		err  error
		code codes.Code
	}{
		{call2(w.client.UpdateParticipant(ctx, &meetingsv1.UpdateParticipantRequest{MeetingId: m.GetId(), PersonId: c.outsider, Role: domain.RoleGuest})), codes.NotFound},
		{call2(w.client.RemoveParticipant(ctx, &meetingsv1.RemoveParticipantRequest{MeetingId: m.GetId(), PersonId: c.outsider})), codes.NotFound},
	} {
		testenv.Code(t, tc.err, tc.code)
	}
	_, err = w.client.UpdateParticipant(ctx, &meetingsv1.UpdateParticipantRequest{MeetingId: m.GetId(), PersonId: "x"})
	if diff := cmp.Diff([]string{"person_id", "role"}, testenv.ViolatedFields(t, err)); diff != "" {
		t.Errorf("UpdateParticipant validation (-want +got):\n%s", diff)
	}
}

func TestRespondToInvitation(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	d := w.prepare(t, c, w.draft(t, c))
	_, err := w.client.RespondToInvitation(c.as(c.m1), &meetingsv1.RespondToInvitationRequest{MeetingId: d.GetId(), Rsvp: meetingsv1.Rsvp_RSVP_IN_PERSON})
	wantIllegal(t, err, "meeting is a draft; invitations can be answered only while the meeting is scheduled or in progress")

	m := w.scheduled(t, c)
	_, err = w.client.RespondToInvitation(c.as(c.m2), &meetingsv1.RespondToInvitationRequest{MeetingId: m.GetId(), Rsvp: meetingsv1.Rsvp_RSVP_ABSENT})
	if diff := cmp.Diff([]string{"absence_reason"}, testenv.ViolatedFields(t, err)); diff != "" {
		t.Errorf("absent without reason (-want +got):\n%s", diff)
	}
	_, err = w.client.RespondToInvitation(c.as(c.m2), &meetingsv1.RespondToInvitationRequest{MeetingId: m.GetId()})
	if diff := cmp.Diff([]string{"rsvp"}, testenv.ViolatedFields(t, err)); diff != "" {
		t.Errorf("no answer (-want +got):\n%s", diff)
	}
	r, err := w.client.RespondToInvitation(c.as(c.m2), &meetingsv1.RespondToInvitationRequest{MeetingId: m.GetId(),
		Rsvp: meetingsv1.Rsvp_RSVP_ABSENT, AbsenceReason: "Đi công tác Hà Nội"})
	if err != nil {
		t.Fatal(err)
	}
	if p := participantByID(r.GetMeeting(), c.m2); p.GetRsvp() != meetingsv1.Rsvp_RSVP_ABSENT || p.GetAbsenceReason() != "Đi công tác Hà Nội" {
		t.Errorf("answer = %v", p)
	}
	if r.GetMeeting().GetMyRole() != domain.RoleMember {
		t.Errorf("my_role = %v", r.GetMeeting().GetMyRole())
	}
	// Changing one's mind clears the reason.
	r, err = w.client.RespondToInvitation(c.as(c.m2), &meetingsv1.RespondToInvitationRequest{MeetingId: m.GetId(), Rsvp: meetingsv1.Rsvp_RSVP_ONLINE, AbsenceReason: "ignored"})
	if p := participantByID(r.GetMeeting(), c.m2); err != nil || p.GetRsvp() != meetingsv1.Rsvp_RSVP_ONLINE || p.GetAbsenceReason() != "" {
		t.Errorf("second answer: %v %v", err, p)
	}
	// The observer from above answers too; a member of the organisation
	// who was not invited cannot.
	if _, err := w.client.RespondToInvitation(c.as(c.observer), &meetingsv1.RespondToInvitationRequest{MeetingId: m.GetId(), Rsvp: meetingsv1.Rsvp_RSVP_IN_PERSON}); err != nil {
		t.Errorf("observer answers: %v", err)
	}
	_, err = w.client.RespondToInvitation(testenv.As(memberClaims(c.org)), &meetingsv1.RespondToInvitationRequest{MeetingId: m.GetId(), Rsvp: meetingsv1.Rsvp_RSVP_IN_PERSON})
	testenv.Code(t, err, codes.PermissionDenied)
	trail := w.audit(t, m.GetId())
	if last := trail[len(trail)-1]; last.Action != "invitation.answered" {
		t.Errorf("last audit action %q", last.Action)
	}
}

func TestInvitationCalendar(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	req := newMeetingReq(c.org)
	req.Title = "Họp chi bộ: tổng kết, khen thưởng; năm 2026"
	m := w.draftWith(t, c, req)
	m = w.prepare(t, c, m)
	r, err := w.client.GetInvitationCalendar(c.as(c.observer), &meetingsv1.GetInvitationCalendarRequest{MeetingId: m.GetId()})
	if err != nil {
		t.Fatalf("GetInvitationCalendar: %v", err)
	}
	if r.GetFileName() != "hop-chi-bo-tong-ket-khen-thuong-nam-2026.ics" {
		t.Errorf("file name %q", r.GetFileName())
	}
	ics := strings.ReplaceAll(r.GetIcs(), "\r\n ", "")
	for _, want := range []string{
		"BEGIN:VCALENDAR", "UID:" + m.GetId() + "@ecabinet",
		"DTSTART:" + m.GetStartsAt().AsTime().UTC().Format("20060102T150405Z"),
		"DTEND:" + m.GetEndsAt().AsTime().UTC().Format("20060102T150405Z"),
		`SUMMARY:Họp chi bộ: tổng kết\, khen thưởng\; năm 2026`,
		"LOCATION:Phòng họp số 2",
		`1. Đánh giá kết quả thực hiện nhiệm vụ tháng 11 (30 phút)\n2. Phương hướng`,
		"SEQUENCE:4",
	} {
		if !strings.Contains(ics, want) {
			t.Errorf("calendar lacks %q:\n%s", want, ics)
		}
	}
	_, err = w.client.GetInvitationCalendar(c.as(c.outsider), &meetingsv1.GetInvitationCalendarRequest{MeetingId: m.GetId()})
	testenv.Code(t, err, codes.NotFound)
}

func slicesSorted(rs []meetingsv1.ParticipantRole) bool {
	rank := map[meetingsv1.ParticipantRole]int{domain.RoleChair: 1, domain.RoleMinuteTaker: 2, domain.RoleMember: 3, domain.RoleGuest: 4, domain.RoleObserver: 5}
	for i := 1; i < len(rs); i++ {
		if rank[rs[i-1]] > rank[rs[i]] {
			return false
		}
	}
	return true
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// call2 keeps only the error of a call.
func call2[T any](_ T, err error) error { return err }
