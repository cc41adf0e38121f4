package directory

import (
	"context"
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestAuthorization runs every RPC of both services as every kind of
// caller. Reads: members and admins of the organisation; writes: its
// admins; the gateway's own identity: only Login, ResolveSession, Logout;
// what a caller may not read does not exist for them.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	top := w.org(t, "", "Đảng bộ Khối", bloc)
	a := w.cell(t, top, "Chi bộ A")
	b := w.cell(t, top, "Chi bộ B")
	an := w.person(t, "Nguyễn Văn An", "")
	w.member(t, an, a)
	w.account(t, an, "an.nguyen", goodPassword, nil, nil)
	token := w.mustLogin(t, "an.nguyen", goodPassword).GetSessionToken()
	csv := []byte("Họ và tên,Loại đảng viên\nNgười Nhập,Chính thức\n")

	// freshMembership gives each allowed EndMembership its own target.
	freshMembership := func() string {
		p := w.person(t, "Tạm", "")
		return w.join(t, p, a, allMembers, plain, official).GetId()
	}
	rpcs := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"CreateOrganization", func(ctx context.Context) error {
			_, err := w.dir.CreateOrganization(ctx, &meetingsv1.CreateOrganizationRequest{ParentId: a, Name: "Tổ", Kind: meetingsv1.OrganizationKind_ORGANIZATION_KIND_CELL})
			return err
		}},
		{"GetOrganization", func(ctx context.Context) error {
			_, err := w.dir.GetOrganization(ctx, &meetingsv1.GetOrganizationRequest{OrganizationId: a})
			return err
		}},
		{"ListOrganizations", func(ctx context.Context) error {
			_, err := w.dir.ListOrganizations(ctx, &meetingsv1.ListOrganizationsRequest{})
			return err
		}},
		{"CreatePerson", func(ctx context.Context) error {
			_, err := w.dir.CreatePerson(ctx, &meetingsv1.CreatePersonRequest{FullName: "Người Mới"})
			return err
		}},
		{"GetPerson", func(ctx context.Context) error {
			_, err := w.dir.GetPerson(ctx, &meetingsv1.GetPersonRequest{PersonId: an})
			return err
		}},
		{"SearchPeople", func(ctx context.Context) error {
			_, err := w.dir.SearchPeople(ctx, &meetingsv1.SearchPeopleRequest{Query: "an", OrganizationId: a})
			return err
		}},
		{"AddMembership", func(ctx context.Context) error {
			_, err := w.dir.AddMembership(ctx, &meetingsv1.AddMembershipRequest{PersonId: w.person(t, "Tạm", ""), OrganizationId: a,
				Body: allMembers, Role: plain, Standing: official})
			return err
		}},
		{"EndMembership", func(ctx context.Context) error {
			_, err := w.dir.EndMembership(ctx, &meetingsv1.EndMembershipRequest{MembershipId: freshMembership()})
			return err
		}},
		{"ListMembers", func(ctx context.Context) error {
			_, err := w.dir.ListMembers(ctx, &meetingsv1.ListMembersRequest{OrganizationId: a})
			return err
		}},
		{"ImportMembers", func(ctx context.Context) error {
			_, err := w.dir.ImportMembers(ctx, &meetingsv1.ImportMembersRequest{OrganizationId: a, Content: csv, FileName: "a.csv", DryRun: true})
			return err
		}},
		{"Login", func(ctx context.Context) error {
			_, err := w.acc.Login(ctx, &meetingsv1.LoginRequest{Username: "an.nguyen", Password: goodPassword, ClientAddress: "192.0.2.1"})
			return err
		}},
		{"ResolveSession", func(ctx context.Context) error {
			_, err := w.acc.ResolveSession(ctx, &meetingsv1.ResolveSessionRequest{SessionToken: token})
			return err
		}},
		{"Logout", func(ctx context.Context) error {
			// A token that is no session: allowed callers succeed
			// without ending the one the other calls use.
			_, err := w.acc.Logout(ctx, &meetingsv1.LogoutRequest{SessionToken: "khong-phai-phien"})
			return err
		}},
		{"GetMe", func(ctx context.Context) error {
			_, err := w.acc.GetMe(ctx, &meetingsv1.GetMeRequest{})
			return err
		}},
		{"CreateAccount", func(ctx context.Context) error {
			p := w.person(t, "Tạm", "")
			w.member(t, p, a)
			_, err := w.acc.CreateAccount(ctx, &meetingsv1.CreateAccountRequest{PersonId: p, Username: "u" + p[len(p)-12:], Password: "mật khẩu ban đầu"})
			return err
		}},
	}

	OK, NF, PD := codes.OK, codes.NotFound, codes.PermissionDenied
	self := identity.Claims{Subject: an, Name: "Nguyễn Văn An", Orgs: []string{a}}
	callers := []struct {
		name   string
		claims *identity.Claims
		want   map[string]codes.Code
	}{
		{name: "member of another cell", claims: ptr(memberOf(b)), want: map[string]codes.Code{
			"CreateOrganization": PD, "GetOrganization": NF, "ListOrganizations": OK, "CreatePerson": PD, "GetPerson": NF,
			"SearchPeople": NF, "AddMembership": PD, "EndMembership": NF, "ListMembers": NF, "ImportMembers": PD,
			"Login": PD, "ResolveSession": PD, "Logout": PD, "GetMe": NF, "CreateAccount": PD}},
		{name: "member", claims: &self, want: map[string]codes.Code{
			"CreateOrganization": PD, "GetOrganization": OK, "ListOrganizations": OK, "CreatePerson": PD, "GetPerson": OK,
			"SearchPeople": OK, "AddMembership": PD, "EndMembership": PD, "ListMembers": OK, "ImportMembers": PD,
			"Login": PD, "ResolveSession": PD, "Logout": PD, "GetMe": OK, "CreateAccount": PD}},
		{name: "admin of another cell", claims: ptr(adminOf(b)), want: map[string]codes.Code{
			"CreateOrganization": PD, "GetOrganization": NF, "ListOrganizations": OK, "CreatePerson": OK, "GetPerson": NF,
			"SearchPeople": NF, "AddMembership": PD, "EndMembership": NF, "ListMembers": NF, "ImportMembers": PD,
			"Login": PD, "ResolveSession": PD, "Logout": PD, "GetMe": NF, "CreateAccount": PD}},
		{name: "admin", claims: ptr(adminOf(a)), want: map[string]codes.Code{
			"CreateOrganization": OK, "GetOrganization": OK, "ListOrganizations": OK, "CreatePerson": OK, "GetPerson": OK,
			"SearchPeople": OK, "AddMembership": OK, "EndMembership": OK, "ListMembers": OK, "ImportMembers": OK,
			"Login": PD, "ResolveSession": PD, "Logout": PD, "GetMe": NF, "CreateAccount": OK}},
		{name: "system admin", claims: ptr(sysAdmin()), want: map[string]codes.Code{
			"CreateOrganization": OK, "GetOrganization": OK, "ListOrganizations": OK, "CreatePerson": OK, "GetPerson": OK,
			"SearchPeople": OK, "AddMembership": OK, "EndMembership": OK, "ListMembers": OK, "ImportMembers": OK,
			"Login": PD, "ResolveSession": PD, "Logout": PD, "GetMe": NF, "CreateAccount": OK}},
		{name: "gateway", claims: ptr(gateway()), want: map[string]codes.Code{
			"CreateOrganization": PD, "GetOrganization": PD, "ListOrganizations": PD, "CreatePerson": PD, "GetPerson": PD,
			"SearchPeople": PD, "AddMembership": PD, "EndMembership": PD, "ListMembers": PD, "ImportMembers": PD,
			"Login": OK, "ResolveSession": OK, "Logout": OK, "GetMe": PD, "CreateAccount": PD}},
		{name: "no identity", want: nil},
	}
	for _, c := range callers {
		ctx := context.Background()
		if c.claims != nil {
			ctx = testenv.As(*c.claims)
		}
		for _, rpc := range rpcs {
			want, ok := c.want[rpc.name]
			if c.want == nil {
				want, ok = codes.Unauthenticated, true
			}
			if !ok {
				t.Errorf("%s: no expectation for %s", c.name, rpc.name)
				continue
			}
			if got := status.Code(rpc.call(ctx)); got != want {
				t.Errorf("%s calling %s: %v, want %v", c.name, rpc.name, got, want)
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }
