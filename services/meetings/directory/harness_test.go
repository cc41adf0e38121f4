package directory

import (
	"context"
	"os"
	"slices"
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/testing/protocmp"
)

// world is one isolated directory: its own schema with the meetings
// service's migrations, served over a loopback gRPC listener with real
// identity tokens, as the gateway would call it.
type world struct {
	d      *Directory
	pool   *pgxpool.Pool
	schema string
	dir    meetingsv1.DirectoryServiceClient
	acc    meetingsv1.AccountsServiceClient
}

func newWorld(t *testing.T) *world {
	t.Helper()
	schema := testenv.Schema(t, "meetings")
	pool := testenv.Pool(t, schema, os.DirFS("../migrations"))
	d := New(Deps{Log: testenv.Logger(t), Pool: pool})

	conn := testenv.Serve(t, testenv.Signer(t), d.Register)
	return &world{d: d, pool: pool, schema: schema,
		dir: meetingsv1.NewDirectoryServiceClient(conn), acc: meetingsv1.NewAccountsServiceClient(conn)}
}

func sysAdmin() identity.Claims {
	return identity.Claims{Subject: uuid.NewString(), Name: "Quản trị hệ thống", Roles: []string{identity.RoleSystemAdmin}}
}

func adminOf(orgs ...string) identity.Claims {
	return identity.Claims{Subject: uuid.NewString(), Name: "Quản trị", AdminOrgs: orgs}
}

func memberOf(orgs ...string) identity.Claims {
	return identity.Claims{Subject: uuid.NewString(), Name: "Đảng viên", Orgs: orgs}
}

func gateway() identity.Claims {
	return identity.Claims{Subject: "gateway", Name: "gateway", Roles: []string{identity.RoleGateway}}
}

func (w *world) org(t *testing.T, parent, name string, kind meetingsv1.OrganizationKind) string {
	t.Helper()
	r, err := w.dir.CreateOrganization(testenv.As(sysAdmin()), &meetingsv1.CreateOrganizationRequest{ParentId: parent, Name: name, Kind: kind})
	if err != nil {
		t.Fatalf("CreateOrganization %q: %v", name, err)
	}
	return r.GetOrganization().GetId()
}

func (w *world) cell(t *testing.T, parent, name string) string {
	t.Helper()
	return w.org(t, parent, name, meetingsv1.OrganizationKind_ORGANIZATION_KIND_CELL)
}

func (w *world) person(t *testing.T, name, card string) string {
	t.Helper()
	r, err := w.dir.CreatePerson(testenv.As(sysAdmin()), &meetingsv1.CreatePersonRequest{FullName: name, PartyCardNumber: card})
	if err != nil {
		t.Fatalf("CreatePerson %q: %v", name, err)
	}
	return r.GetPerson().GetId()
}

func (w *world) join(t *testing.T, person, org string, body meetingsv1.BodyKind, role meetingsv1.PartyRole, standing meetingsv1.Standing) *meetingsv1.Membership {
	t.Helper()
	r, err := w.dir.AddMembership(testenv.As(sysAdmin()), &meetingsv1.AddMembershipRequest{PersonId: person, OrganizationId: org,
		Body: body, Role: role, Standing: standing, StartDate: "2020-01-15"})
	if err != nil {
		t.Fatalf("AddMembership: %v", err)
	}
	return r.GetMembership()
}

// member adds person to the whole of org as an official member.
func (w *world) member(t *testing.T, person, org string) {
	t.Helper()
	w.join(t, person, org, meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS, meetingsv1.PartyRole_PARTY_ROLE_MEMBER, meetingsv1.Standing_STANDING_OFFICIAL)
}

func (w *world) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

const (
	bloc  = meetingsv1.OrganizationKind_ORGANIZATION_KIND_BLOC_COMMITTEE
	grass = meetingsv1.OrganizationKind_ORGANIZATION_KIND_GRASSROOTS_COMMITTEE

	allMembers = meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS
	executive  = meetingsv1.BodyKind_BODY_KIND_EXECUTIVE_COMMITTEE
	standingC  = meetingsv1.BodyKind_BODY_KIND_STANDING_COMMITTEE

	secretary = meetingsv1.PartyRole_PARTY_ROLE_SECRETARY
	deputy    = meetingsv1.PartyRole_PARTY_ROLE_DEPUTY_SECRETARY
	committee = meetingsv1.PartyRole_PARTY_ROLE_COMMITTEE_MEMBER
	plain     = meetingsv1.PartyRole_PARTY_ROLE_MEMBER

	official     = meetingsv1.Standing_STANDING_OFFICIAL
	probationary = meetingsv1.Standing_STANDING_PROBATIONARY
)

func wantViolations(t *testing.T, err error, want map[string]string) {
	t.Helper()
	got := testenv.ViolationReasons(t, err)
	for f, r := range want {
		if got[f] != r {
			t.Errorf("violation of %s = %q, want %q (all: %v)", f, got[f], r, got)
		}
	}
	for f := range got {
		if _, ok := want[f]; !ok {
			t.Errorf("unexpected violation of %s: %s", f, got[f])
		}
	}
}

func names(people []*meetingsv1.Person) []string {
	var out []string
	for _, p := range people {
		out = append(out, p.GetFullName())
	}
	return out
}

func sorted(ss []string) []string {
	ss = slices.Clone(ss)
	slices.Sort(ss)
	return ss
}

func protocmpTransform() cmp.Option { return protocmp.Transform() }
