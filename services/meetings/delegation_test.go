package meetings

import (
	"context"
	"slices"
	"strings"
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
)

// delegates maps each participant who delegates to their delegate.
func delegates(m *meetingsv1.Meeting) map[string]string {
	out := map[string]string{}
	for _, p := range m.GetParticipants() {
		if d := p.GetDelegatePersonId(); d != "" {
			out[p.GetPersonId()] = d
		}
	}
	return out
}

// Delegation is off until the organisation's administrators turn it on;
// then each voting member records their own delegate (the chair, the
// minute-taker and administrators may only clear one), and the rules
// (voting rights, no chains, one delegation per delegate) hold.
func TestSetDelegateRules(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.scheduled(t, c)
	id := m.GetId()
	chair := c.as(c.chair)
	// set is the member appointing (or clearing) their own delegate.
	set := func(person, delegate string) (*meetingsv1.Meeting, error) {
		r, err := w.client.SetDelegate(c.as(person), &meetingsv1.SetDelegateRequest{MeetingId: id, PersonId: person, DelegatePersonId: delegate})
		return r.GetMeeting(), err
	}

	// Off by default.
	if m.GetAllowVoteDelegation() {
		t.Fatal("a new organisation allows delegation")
	}
	_, err := set(c.m1, c.m2)
	if st := testenv.Code(t, err, codes.FailedPrecondition); !strings.Contains(st.Message(), "delegation is not allowed") {
		t.Errorf("delegation off: %q", st.Message())
	}

	// The organisation's administrator turns it on; the meeting shows it.
	dir := meetingsv1.NewDirectoryServiceClient(w.conn)
	org, err := dir.GetOrganization(c.adminCtx(), &meetingsv1.GetOrganizationRequest{OrganizationId: c.org})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dir.UpdateOrganization(c.adminCtx(), &meetingsv1.UpdateOrganizationRequest{OrganizationId: c.org,
		ExpectedVersion: org.GetOrganization().GetVersion(), Name: org.GetOrganization().GetName(), AllowVoteDelegation: true}); err != nil {
		t.Fatalf("UpdateOrganization: %v", err)
	}
	if !w.get(t, chair, id).GetAllowVoteDelegation() {
		t.Fatal("the meeting does not show the organisation's setting")
	}

	// Only the member appoints their delegate: not another member, and not
	// the chair, the minute-taker or an administrator, whether naming
	// themself or someone else.
	for _, tc := range []struct {
		name   string
		as     context.Context
		person string
		to     string
	}{
		{"another member", c.as(c.m3), c.m1, c.m2},
		{"the chair naming themself", chair, c.m1, c.chair},
		{"the chair naming an ally", chair, c.m1, c.m2},
		{"the minute-taker naming themself", c.as(c.taker), c.m1, c.taker},
		{"an administrator", c.adminCtx(), c.m1, c.m2},
	} {
		_, err = w.client.SetDelegate(tc.as, &meetingsv1.SetDelegateRequest{MeetingId: id, PersonId: tc.person, DelegatePersonId: tc.to})
		testenv.Code(t, err, codes.PermissionDenied)
	}
	if d := delegates(w.get(t, chair, id)); len(d) != 0 {
		t.Fatalf("refused appointments recorded %v", d)
	}
	_, err = set(c.outsider, c.m2)
	testenv.Code(t, err, codes.NotFound)

	bad := []struct {
		name, person, delegate string
		want                   map[string]string
	}{
		{"to oneself", c.m1, c.m1, map[string]string{"delegate_person_id": "SELF"}},
		{"a probationary member has no vote", c.probationary, c.m2, map[string]string{"person_id": "NO_VOTING_RIGHT"}},
		{"a guest is no delegate", c.m1, c.guest, map[string]string{"delegate_person_id": "NO_VOTING_RIGHT"}},
		{"an observer is no delegate", c.m1, c.observer, map[string]string{"delegate_person_id": "NO_VOTING_RIGHT"}},
		{"not a participant", c.m1, c.outsider, map[string]string{"delegate_person_id": "NOT_PARTICIPANT"}},
		{"not a UUID", c.m1, "m2", map[string]string{"delegate_person_id": "INVALID_FORMAT"}},
	}
	for _, tc := range bad {
		_, err := set(tc.person, tc.delegate)
		got := testenv.ViolationReasons(t, err)
		for f, r := range tc.want {
			if got[f] != r {
				t.Errorf("%s: violations %v, want %s %s", tc.name, got, f, r)
			}
		}
	}

	// m1 delegates to m2.
	before := w.get(t, chair, id).GetVersion()
	m, err = set(c.m1, c.m2)
	if err != nil {
		t.Fatalf("SetDelegate: %v", err)
	}
	if d := delegates(m); len(d) != 1 || d[c.m1] != c.m2 || m.GetVersion() != before+1 {
		t.Errorf("delegates %v at version %d (was %d)", d, m.GetVersion(), before)
	}
	// Again: nothing changes.
	if again, err := set(c.m1, c.m2); err != nil || again.GetVersion() != m.GetVersion() {
		t.Errorf("same delegation again: %v, version %d", err, again.GetVersion())
	}
	// One delegation per delegate, and no chains either way.
	_, err = set(c.m3, c.m2)
	if got := testenv.ViolationReasons(t, err); got["delegate_person_id"] != "ALREADY_DELEGATE" {
		t.Errorf("second delegation to m2: %v", got)
	}
	_, err = set(c.m2, c.m3)
	if got := testenv.ViolationReasons(t, err); got["person_id"] != "IS_DELEGATE" {
		t.Errorf("the delegate delegating: %v", got)
	}
	_, err = set(c.m3, c.m1)
	if got := testenv.ViolationReasons(t, err); got["delegate_person_id"] != "DELEGATING" {
		t.Errorf("delegating to someone who delegates: %v", got)
	}
	// Changing the delegate frees the old one.
	if m, err = set(c.m1, c.m3); err != nil || delegates(m)[c.m1] != c.m3 {
		t.Fatalf("change delegate: %v, %v", err, delegates(m))
	}
	if m, err = set(c.taker, c.m2); err != nil || len(delegates(m)) != 2 {
		t.Fatalf("m2 free again: %v, %v", err, delegates(m))
	}

	// Losing the vote (m3 becomes a guest) ends their delegation; leaving
	// the meeting (m2 removed) ends theirs.
	if _, err := w.client.UpdateParticipant(chair, &meetingsv1.UpdateParticipantRequest{MeetingId: id, PersonId: c.m3, Role: domain.RoleGuest}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.client.RemoveParticipant(chair, &meetingsv1.RemoveParticipantRequest{MeetingId: id, PersonId: c.m2}); err != nil {
		t.Fatalf("RemoveParticipant of a delegate: %v", err)
	}
	if d := delegates(w.get(t, chair, id)); len(d) != 0 {
		t.Errorf("delegations left: %v", d)
	}
	// The member delegating leaves: the delegate is free.
	if _, err := set(c.excused, c.m1); err != nil {
		t.Fatal(err)
	}
	if _, err := w.client.RemoveParticipant(chair, &meetingsv1.RemoveParticipantRequest{MeetingId: id, PersonId: c.excused}); err != nil {
		t.Fatalf("RemoveParticipant of a member delegating: %v", err)
	}
	if _, err := set(c.taker, c.m1); err != nil {
		t.Errorf("m1 after the member delegating to them left: %v", err)
	}

	// The organisation turns it off: no new delegation; clearing still works.
	org, _ = dir.GetOrganization(c.adminCtx(), &meetingsv1.GetOrganizationRequest{OrganizationId: c.org})
	if _, err := dir.UpdateOrganization(c.adminCtx(), &meetingsv1.UpdateOrganizationRequest{OrganizationId: c.org,
		Name: org.GetOrganization().GetName()}); err != nil {
		t.Fatal(err)
	}
	_, err = set(c.chair, c.m1)
	testenv.Code(t, err, codes.FailedPrecondition)
	// The chair clears the minute-taker's delegation (officers may clear).
	r, err := w.client.SetDelegate(chair, &meetingsv1.SetDelegateRequest{MeetingId: id, PersonId: c.taker})
	if m = r.GetMeeting(); err != nil || len(delegates(m)) != 0 || m.GetAllowVoteDelegation() {
		t.Errorf("clearing: %v, delegates %v, allowed %v", err, delegates(m), m.GetAllowVoteDelegation())
	}
	if again, err := set(c.taker, ""); err != nil || again.GetVersion() != m.GetVersion() {
		t.Errorf("clearing twice: %v", err)
	}
	_, err = w.client.SetDelegate(chair, &meetingsv1.SetDelegateRequest{MeetingId: uuid.NewString(), PersonId: c.m1})
	testenv.Code(t, err, codes.NotFound)

	// Every delegation change is on the meeting's audit trail.
	var actions []string
	for _, e := range w.audit(t, id) {
		if strings.Contains(e.Action, "delegate") || strings.Contains(e.Detail, "delegations cleared") {
			actions = append(actions, e.Action+" "+e.Detail)
		}
	}
	want := []string{
		"participant.delegate_set " + c.m1 + " -> " + c.m2,
		"participant.delegate_set " + c.m1 + " -> " + c.m3,
		"participant.delegate_set " + c.taker + " -> " + c.m2,
		"participant.role_changed " + c.m3 + ": PARTICIPANT_ROLE_MEMBER -> PARTICIPANT_ROLE_GUEST; delegations cleared: " + c.m1 + " -> " + c.m3,
		"participant.removed " + c.m2 + "; delegations cleared: " + c.taker + " -> " + c.m2,
		"participant.delegate_set " + c.excused + " -> " + c.m1,
		"participant.removed " + c.excused + "; delegations cleared: " + c.excused + " -> " + c.m1,
		"participant.delegate_set " + c.taker + " -> " + c.m1,
		"participant.delegate_cleared " + c.taker,
	}
	if !slices.Equal(want, actions) {
		t.Errorf("audit records:\n got %q\nwant %q", actions, want)
	}
}
