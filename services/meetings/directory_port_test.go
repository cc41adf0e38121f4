package meetings

import (
	"context"
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/google/go-cmp/cmp"
)

// fakeDirectory is an in-memory directory for unit tests.
type fakeDirectory struct {
	body   []member          // members of the body asked for
	people map[string]member // everyone, by id
}

func (f fakeDirectory) Members(context.Context, string, meetingsv1.BodyKind) ([]member, error) {
	return f.body, nil
}

func (f fakeDirectory) Person(_ context.Context, id, _ string) (member, error) {
	if p, ok := f.people[id]; ok {
		return p, nil
	}
	return member{}, errUnknown
}

func (f fakeDirectory) Organization(context.Context, string) (*meetingsv1.Organization, error) {
	return nil, errUnknown
}

func TestResolveParticipants(t *testing.T) {
	a := member{PersonID: "a", FullName: "An", Standing: official}
	b := member{PersonID: "b", FullName: "Bình", Standing: probationary, Excused: true}
	g := member{PersonID: "g", FullName: "Giang"} // from elsewhere
	dir := fakeDirectory{body: []member{a, b}, people: map[string]member{"a": a, "b": b, "g": g}}

	type np struct {
		ID    string
		Role  domain.Role
		Body  bool
		Index int
	}
	flat := func(ps []newParticipant) []np {
		var out []np
		for _, p := range ps {
			out = append(out, np{p.PersonID, p.role, p.bodyMember, p.index})
		}
		return out
	}
	got, vs, err := resolveParticipants(context.Background(), dir, "org", allMembers, true,
		[]participantInput{{0, "b", domain.RoleChair}, {1, "g", domain.RoleGuest}, {2, "x", domain.RoleGuest}})
	if err != nil {
		t.Fatal(err)
	}
	want := []np{{"a", domain.RoleMember, true, -1}, {"b", domain.RoleChair, true, 0}, {"g", domain.RoleGuest, false, 1}}
	if diff := cmp.Diff(want, flat(got)); diff != "" {
		t.Errorf("resolved (-want +got):\n%s", diff)
	}
	if len(vs) != 1 || vs[0].Field != "participants[2].person_id" || vs[0].Reason != domain.ReasonNotFound {
		t.Errorf("violations = %v", vs)
	}
	// Without from_body only the named people come, body members keep
	// their membership (and so their vote).
	got, _, _ = resolveParticipants(context.Background(), dir, "org", allMembers, false, []participantInput{{0, "a", domain.RoleMinuteTaker}})
	if diff := cmp.Diff([]np{{"a", domain.RoleMinuteTaker, true, 0}}, flat(got)); diff != "" {
		t.Errorf("named only (-want +got):\n%s", diff)
	}
}
