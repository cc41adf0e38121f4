package meetings

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// participation asks GetMyParticipation as ctx's caller.
func (w *world) participation(ctx context.Context, meetingID string) (*meetingsv1.GetMyParticipationResponse, error) {
	return w.client.GetMyParticipation(ctx, &meetingsv1.GetMyParticipationRequest{MeetingId: meetingID})
}

// agreesWithGetMeeting checks GetMyParticipation, for every person of the
// fixture, against the participant list GetMeeting gives (read by the
// organisation's administrator): a participant gets their role there and
// the meeting's organisation, anyone else NotFound.
func (w *world) agreesWithGetMeeting(t *testing.T, c *cell, id string) {
	t.Helper()
	m := w.get(t, c.adminCtx(), id)
	for _, person := range []string{c.chair, c.taker, c.m1, c.m2, c.m3, c.probationary, c.excused, c.observer, c.guest, c.outsider} {
		got, err := w.participation(c.as(person), id)
		p := participantByID(m, person)
		if p == nil {
			if status.Code(err) != codes.NotFound {
				t.Errorf("%s, not among GetMeeting's participants: %v, %v; want NotFound", person, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s, a %v in GetMeeting: %v", person, p.GetRole(), err)
			continue
		}
		if got.GetRole() != p.GetRole() || got.GetOrganizationId() != m.GetOrganizationId() {
			t.Errorf("%s: role %v in organisation %q, want %v in %q (GetMeeting)", person,
				got.GetRole(), got.GetOrganizationId(), p.GetRole(), m.GetOrganizationId())
		}
	}
}

func TestGetMyParticipation(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.scheduled(t, c)
	id := m.GetId()

	// Each participant gets their own role and the meeting's organisation,
	// whatever organisation they come from (the observer is of the bloc
	// committee, the guest of none).
	for person, want := range map[string]meetingsv1.ParticipantRole{
		c.chair:    meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR,
		c.taker:    meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER,
		c.m1:       meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MEMBER,
		c.observer: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_OBSERVER,
		c.guest:    meetingsv1.ParticipantRole_PARTICIPANT_ROLE_GUEST,
	} {
		got, err := w.participation(c.as(person), id)
		if err != nil {
			t.Errorf("%v %s: %v", want, person, err)
			continue
		}
		if got.GetRole() != want || got.GetOrganizationId() != c.org {
			t.Errorf("%s: role %v in %q, want %v in %q", person, got.GetRole(), got.GetOrganizationId(), want, c.org)
		}
	}
	w.agreesWithGetMeeting(t, c, id)

	// Not taking part: NotFound, even for those who may see the whole
	// meeting through GetMeeting (a member not invited, the organisation's
	// administrators, a system administrator), and worded exactly as for a
	// meeting that does not exist.
	hidden := testenv.Code(t, call2(w.participation(c.as(c.outsider), id)), codes.NotFound)
	if want := status.Convert(meetingNotFound(id)).Message(); hidden.Message() != want {
		t.Errorf("outsider told %q, want the unknown-meeting answer %q", hidden.Message(), want)
	}
	for name, ctx := range map[string]context.Context{
		"member of the organisation, not invited": testenv.As(memberClaims(c.org)),
		"administrator of the organisation":       c.adminCtx(),
		"administrator of the bloc committee":     testenv.As(c.parentAdmin),
		"system administrator":                    testenv.As(systemAdmin()),
	} {
		w.get(t, ctx, id) // they see the meeting
		if err := call2(w.participation(ctx, id)); status.Code(err) != codes.NotFound {
			t.Errorf("%s (sees the meeting, takes no part): %v, want NotFound", name, err)
		}
	}
	unknown := uuid.NewString()
	st := testenv.Code(t, call2(w.participation(c.as(c.chair), unknown)), codes.NotFound)
	if want := status.Convert(meetingNotFound(unknown)).Message(); st.Message() != want {
		t.Errorf("unknown meeting: %q, want %q", st.Message(), want)
	}

	// A removed participant is refused at once: the next call reads the
	// participants table again.
	if _, err := w.client.RemoveParticipant(c.adminCtx(), &meetingsv1.RemoveParticipantRequest{MeetingId: id, PersonId: c.guest}); err != nil {
		t.Fatalf("RemoveParticipant: %v", err)
	}
	testenv.Code(t, call2(w.participation(c.as(c.guest), id)), codes.NotFound)
	if got, err := w.participation(c.as(c.m1), id); err != nil || got.GetRole() != meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MEMBER {
		t.Errorf("another participant after the removal: %v, %v", got, err)
	}
	w.agreesWithGetMeeting(t, c, id)

	// A role changed is the role answered.
	if _, err := w.client.UpdateParticipant(c.adminCtx(), &meetingsv1.UpdateParticipantRequest{MeetingId: id, PersonId: c.m2,
		Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_GUEST}); err != nil {
		t.Fatalf("UpdateParticipant: %v", err)
	}
	w.agreesWithGetMeeting(t, c, id)
}

// The meeting's state plays no part, as in GetMeeting: the participants of
// a cancelled meeting still see it (and its papers), so they still get
// their role.
func TestGetMyParticipationOfACancelledMeeting(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.scheduled(t, c)
	if _, err := w.client.CancelMeeting(c.adminCtx(), &meetingsv1.CancelMeetingRequest{MeetingId: m.GetId(), Reason: "Bão"}); err != nil {
		t.Fatalf("CancelMeeting: %v", err)
	}
	if got := w.get(t, c.as(c.m1), m.GetId()); participantByID(got, c.m1) == nil || got.GetState() != meetingsv1.MeetingState_MEETING_STATE_CANCELLED {
		t.Fatalf("GetMeeting of the cancelled meeting, as a participant: %v, %v", got.GetState(), got.GetParticipants())
	}
	got, err := w.participation(c.as(c.m1), m.GetId())
	if err != nil || got.GetRole() != meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MEMBER {
		t.Errorf("participant of the cancelled meeting: %v, %v; want MEMBER", got, err)
	}
	w.agreesWithGetMeeting(t, c, m.GetId())
}

func TestGetMyParticipationRefusals(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.scheduled(t, c)

	for _, bad := range []string{"", "  ", "not-a-meeting", m.GetId()[:35]} {
		err := call2(w.participation(c.as(c.chair), bad))
		testenv.Code(t, err, codes.InvalidArgument)
		if diff := cmp.Diff([]string{"meeting_id"}, testenv.ViolatedFields(t, err)); diff != "" {
			t.Errorf("meeting_id %q: violated fields (-want +got):\n%s", bad, diff)
		}
	}
	// No identity: refused by the server's interceptor, and by the handler
	// itself should the interceptor be missing.
	testenv.Code(t, call2(w.participation(context.Background(), m.GetId())), codes.Unauthenticated)
	a := &api{s: w.svc}
	_, err := a.GetMyParticipation(context.Background(), &meetingsv1.GetMyParticipationRequest{MeetingId: m.GetId()})
	testenv.Code(t, err, codes.Unauthenticated)
	// A caller that is not a person (a service account's subject is not a
	// UUID) takes part in nothing.
	testenv.Code(t, call2(w.participation(testenv.As(adminOf(c.org)), m.GetId())), codes.NotFound)
}
