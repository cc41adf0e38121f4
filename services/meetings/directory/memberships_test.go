package directory

import (
	"context"
	"errors"
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
)

func TestMemberships(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	top := w.org(t, "", "Đảng bộ Khối", bloc)
	a := w.cell(t, top, "Chi bộ A")
	an := w.person(t, "Nguyễn Văn An", "")
	admin := testenv.As(adminOf(a))

	add := func(req *meetingsv1.AddMembershipRequest) (*meetingsv1.Membership, error) {
		r, err := w.dir.AddMembership(admin, req)
		return r.GetMembership(), err
	}
	m, err := add(&meetingsv1.AddMembershipRequest{PersonId: an, OrganizationId: a, Body: allMembers, Role: secretary,
		Standing: official, Excused: true, StartDate: "2019-03-02"})
	if err != nil {
		t.Fatalf("AddMembership: %v", err)
	}
	want := &meetingsv1.Membership{Id: m.GetId(), PersonId: an, OrganizationId: a, Body: allMembers, Role: secretary,
		Standing: official, Excused: true, StartDate: "2019-03-02", PersonFullName: "Nguyễn Văn An"}
	if diff := cmp.Diff(want, m, protocmpTransform()); diff != "" {
		t.Errorf("membership (-want +got):\n%s", diff)
	}

	// One current membership per person, organisation and body.
	_, err = add(&meetingsv1.AddMembershipRequest{PersonId: an, OrganizationId: a, Body: allMembers, Role: plain, Standing: official})
	testenv.Code(t, err, codes.AlreadyExists)
	// Another body of the same organisation is fine; start defaults to today.
	bch, err := add(&meetingsv1.AddMembershipRequest{PersonId: an, OrganizationId: a, Body: executive, Role: secretary, Standing: official})
	if err != nil || bch.GetStartDate() != today().Format(dateLayout) {
		t.Fatalf("second body = %v, %v", bch, err)
	}

	// Ending: not before the start, not in the future, only once; then the
	// person may join that body again.
	end := func(req *meetingsv1.EndMembershipRequest) (*meetingsv1.Membership, error) {
		r, err := w.dir.EndMembership(admin, req)
		return r.GetMembership(), err
	}
	_, err = end(&meetingsv1.EndMembershipRequest{MembershipId: m.GetId(), EndDate: "2019-03-01"})
	wantViolations(t, err, map[string]string{"end_date": "OUT_OF_ORDER"})
	_, err = end(&meetingsv1.EndMembershipRequest{MembershipId: m.GetId(), EndDate: "2999-01-01"})
	wantViolations(t, err, map[string]string{"end_date": "OUT_OF_RANGE"})
	_, err = end(&meetingsv1.EndMembershipRequest{MembershipId: m.GetId(), EndDate: "02/03/2020"})
	wantViolations(t, err, map[string]string{"end_date": "INVALID_FORMAT"})
	ended, err := end(&meetingsv1.EndMembershipRequest{MembershipId: m.GetId(), EndDate: "2024-06-30"})
	if err != nil || ended.GetEndDate() != "2024-06-30" {
		t.Fatalf("EndMembership = %v, %v", ended, err)
	}
	_, err = end(&meetingsv1.EndMembershipRequest{MembershipId: m.GetId()})
	testenv.Code(t, err, codes.FailedPrecondition)
	if _, err := add(&meetingsv1.AddMembershipRequest{PersonId: an, OrganizationId: a, Body: allMembers, Role: plain,
		Standing: probationary, StartDate: "2024-07-01"}); err != nil {
		t.Errorf("rejoining after the end: %v", err)
	}
	_, err = end(&meetingsv1.EndMembershipRequest{MembershipId: uuid.NewString()})
	testenv.Code(t, err, codes.NotFound)

	// Validation names every field; unknown references are NotFound.
	_, err = add(&meetingsv1.AddMembershipRequest{OrganizationId: a, Role: 42, StartDate: "2999-01-01"})
	wantViolations(t, err, map[string]string{"person_id": "REQUIRED", "body": "REQUIRED", "role": "UNKNOWN_VALUE",
		"standing": "REQUIRED", "start_date": "OUT_OF_RANGE"})
	_, err = add(&meetingsv1.AddMembershipRequest{PersonId: uuid.NewString(), OrganizationId: a, Body: allMembers, Role: plain, Standing: official})
	testenv.Code(t, err, codes.NotFound)
	ghost := uuid.NewString()
	_, err = w.dir.AddMembership(testenv.As(sysAdmin()), &meetingsv1.AddMembershipRequest{PersonId: an, OrganizationId: ghost, Body: allMembers, Role: plain, Standing: official})
	testenv.Code(t, err, codes.NotFound)
	// Without admin rights: refused whether or not the organisation exists.
	for _, org := range []string{a, ghost} {
		_, err = w.dir.AddMembership(testenv.As(memberOf(a)), &meetingsv1.AddMembershipRequest{PersonId: an, OrganizationId: org, Body: allMembers, Role: plain, Standing: official})
		testenv.Code(t, err, codes.PermissionDenied)
	}
}

func TestListMembers(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	top := w.org(t, "", "Đảng bộ Khối", bloc)
	a := w.cell(t, top, "Chi bộ A")
	b := w.cell(t, top, "Chi bộ B")
	binh := w.person(t, "Nguyễn Thị Bình", "")
	an := w.person(t, "Nguyễn Văn An", "")
	cuong := w.person(t, "Trần Văn Cường", "")
	w.join(t, binh, a, allMembers, plain, probationary)
	w.join(t, an, a, allMembers, secretary, official)
	w.join(t, cuong, a, allMembers, deputy, official)
	w.join(t, an, a, executive, secretary, official)
	gone := w.join(t, w.person(t, "Lê Văn Đã Chuyển", ""), a, allMembers, plain, official)
	if _, err := w.dir.EndMembership(testenv.As(adminOf(a)), &meetingsv1.EndMembershipRequest{MembershipId: gone.GetId()}); err != nil {
		t.Fatal(err)
	}

	list := func(body meetingsv1.BodyKind) []string {
		t.Helper()
		r, err := w.dir.ListMembers(testenv.As(memberOf(a)), &meetingsv1.ListMembersRequest{OrganizationId: a, Body: body})
		if err != nil {
			t.Fatalf("ListMembers: %v", err)
		}
		var out []string
		for _, m := range r.GetMemberships() {
			out = append(out, m.GetPersonFullName()+"/"+m.GetBody().String())
		}
		return out
	}
	// Bodies from the top, then seniority, then name; former members gone.
	if diff := cmp.Diff([]string{
		"Nguyễn Văn An/BODY_KIND_EXECUTIVE_COMMITTEE",
		"Nguyễn Văn An/BODY_KIND_ALL_MEMBERS",
		"Trần Văn Cường/BODY_KIND_ALL_MEMBERS",
		"Nguyễn Thị Bình/BODY_KIND_ALL_MEMBERS",
	}, list(meetingsv1.BodyKind_BODY_KIND_UNSPECIFIED)); diff != "" {
		t.Errorf("all memberships (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Nguyễn Văn An/BODY_KIND_EXECUTIVE_COMMITTEE"}, list(executive)); diff != "" {
		t.Errorf("executive committee (-want +got):\n%s", diff)
	}

	_, err := w.dir.ListMembers(testenv.As(memberOf(b)), &meetingsv1.ListMembersRequest{OrganizationId: a})
	testenv.Code(t, err, codes.NotFound)
	if _, err := w.dir.ListMembers(testenv.As(adminOf(top, a)), &meetingsv1.ListMembersRequest{OrganizationId: a}); err != nil {
		t.Errorf("admin listing: %v", err)
	}
	_, err = w.dir.ListMembers(testenv.As(sysAdmin()), &meetingsv1.ListMembersRequest{OrganizationId: uuid.NewString()})
	testenv.Code(t, err, codes.NotFound)
	_, err = w.dir.ListMembers(testenv.As(sysAdmin()), &meetingsv1.ListMembersRequest{OrganizationId: a, Body: 77})
	wantViolations(t, err, map[string]string{"body": "UNKNOWN_VALUE"})
}

func TestGoAPIMembersAndPerson(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	top := w.org(t, "", "Đảng bộ Khối", bloc)
	a := w.cell(t, top, "Chi bộ A")
	an := w.person(t, "Nguyễn Văn An", "")
	binh := w.person(t, "Nguyễn Thị Bình", "")
	outsider := w.person(t, "Hoàng Văn Ngoài", "")
	w.join(t, an, a, executive, secretary, official)
	w.join(t, an, a, allMembers, secretary, official)
	w.join(t, binh, a, allMembers, plain, probationary)
	if _, err := w.pool.Exec(ctx, `UPDATE memberships SET excused = true WHERE person_id = $1`, binh); err != nil {
		t.Fatal(err)
	}

	ms, err := w.d.Members(ctx, a, allMembers)
	if err != nil {
		t.Fatalf("Members: %v", err)
	}
	want := []Member{
		{PersonID: an, FullName: "Nguyễn Văn An", Role: secretary, Standing: official},
		{PersonID: binh, FullName: "Nguyễn Thị Bình", Role: plain, Standing: probationary, Excused: true},
	}
	if diff := cmp.Diff(want, ms); diff != "" {
		t.Errorf("Members (-want +got):\n%s", diff)
	}
	ms, err = w.d.Members(ctx, a, executive)
	if err != nil || len(ms) != 1 || ms[0].PersonID != an {
		t.Errorf("executive Members = %v, %v", ms, err)
	}
	if ms, err := w.d.Members(ctx, a, standingC); err != nil || len(ms) != 0 {
		t.Errorf("empty body = %v, %v", ms, err)
	}
	if _, err := w.d.Members(ctx, uuid.NewString(), allMembers); !errors.Is(err, ErrNotFound) {
		t.Errorf("Members of unknown organisation: %v", err)
	}
	if _, err := w.d.Members(ctx, a, meetingsv1.BodyKind_BODY_KIND_UNSPECIFIED); err == nil {
		t.Error("Members without a body: no error")
	}

	for _, tc := range []struct {
		person, org string
		want        Member
	}{
		{binh, a, Member{PersonID: binh, FullName: "Nguyễn Thị Bình", Role: plain, Standing: probationary, Excused: true}},
		{an, a, Member{PersonID: an, FullName: "Nguyễn Văn An", Role: secretary, Standing: official}},
		{outsider, a, Member{PersonID: outsider, FullName: "Hoàng Văn Ngoài"}},
		{an, "", Member{PersonID: an, FullName: "Nguyễn Văn An"}},
		{an, "org-a", Member{PersonID: an, FullName: "Nguyễn Văn An"}},
	} {
		got, err := w.d.Person(ctx, tc.person, tc.org)
		if err != nil {
			t.Errorf("Person(%s, %q): %v", tc.want.FullName, tc.org, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Person(%s, %q) (-want +got):\n%s", tc.want.FullName, tc.org, diff)
		}
	}
	for _, id := range []string{uuid.NewString(), "person-x"} {
		if _, err := w.d.Person(ctx, id, a); !errors.Is(err, ErrNotFound) {
			t.Errorf("Person(%q) error = %v, want ErrNotFound", id, err)
		}
	}
}
