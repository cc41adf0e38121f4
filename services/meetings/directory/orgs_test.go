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
	"google.golang.org/protobuf/testing/protocmp"
)

func TestOrganizationTree(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := testenv.As(sysAdmin())
	top, err := w.dir.CreateOrganization(ctx, &meetingsv1.CreateOrganizationRequest{
		Name: "  Đảng bo\u0323̂ Khối   các cơ quan và doanh nghiệp tỉnh ", Kind: bloc})
	if err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	o := top.GetOrganization()
	want := &meetingsv1.Organization{Id: o.GetId(), Name: "Đảng bộ Khối các cơ quan và doanh nghiệp tỉnh", Kind: bloc,
		QuorumNumerator: 2, QuorumDenominator: 3, CreateTime: o.GetCreateTime(), Version: 1} // delegation off by default
	if diff := cmp.Diff(want, o, protocmp.Transform()); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	if o.GetCreateTime() == nil {
		t.Error("create_time not set")
	}

	// Any depth: a chain of six organisations, each under the previous.
	chain := []string{o.GetId()}
	for i := range 5 {
		r, err := w.dir.CreateOrganization(ctx, &meetingsv1.CreateOrganizationRequest{
			ParentId: chain[len(chain)-1], Name: "Tầng " + string(rune('1'+i)), Kind: meetingsv1.OrganizationKind_ORGANIZATION_KIND_CELL,
			QuorumNumerator: 1, QuorumDenominator: 2})
		if err != nil {
			t.Fatalf("level %d: %v", i+1, err)
		}
		if got := r.GetOrganization(); got.GetParentId() != chain[len(chain)-1] || got.GetQuorumNumerator() != 1 || got.GetQuorumDenominator() != 2 {
			t.Errorf("level %d = %v", i+1, got)
		}
		chain = append(chain, r.GetOrganization().GetId())
	}
	got, err := w.dir.GetOrganization(ctx, &meetingsv1.GetOrganizationRequest{OrganizationId: chain[5]})
	if err != nil || got.GetOrganization().GetParentId() != chain[4] {
		t.Fatalf("GetOrganization deepest = %v, %v", got, err)
	}
	kids, err := w.dir.ListOrganizations(ctx, &meetingsv1.ListOrganizationsRequest{ParentId: chain[2]})
	if err != nil || len(kids.GetOrganizations()) != 1 || kids.GetOrganizations()[0].GetId() != chain[3] {
		t.Fatalf("children of level 2 = %v, %v", kids, err)
	}
	all, err := w.dir.ListOrganizations(ctx, &meetingsv1.ListOrganizationsRequest{})
	if err != nil || len(all.GetOrganizations()) != 6 {
		t.Fatalf("all organisations = %d, %v; want 6", len(all.GetOrganizations()), err)
	}

	// The parent must exist.
	_, err = w.dir.CreateOrganization(ctx, &meetingsv1.CreateOrganizationRequest{ParentId: uuid.NewString(), Name: "Mồ côi", Kind: grass})
	testenv.Code(t, err, codes.NotFound)

	// An administrator of a level (whose rights cover the levels below)
	// may add below it; a member may not; nobody but a system admin adds a
	// top-level organisation.
	if _, err := w.dir.CreateOrganization(testenv.As(adminOf(chain[3:]...)), &meetingsv1.CreateOrganizationRequest{
		ParentId: chain[5], Name: "Chi bộ mới", Kind: meetingsv1.OrganizationKind_ORGANIZATION_KIND_CELL}); err != nil {
		t.Errorf("admin creating below their organisation: %v", err)
	}
	_, err = w.dir.CreateOrganization(testenv.As(adminOf(chain[3:]...)), &meetingsv1.CreateOrganizationRequest{
		ParentId: chain[1], Name: "Chi bộ", Kind: meetingsv1.OrganizationKind_ORGANIZATION_KIND_CELL})
	testenv.Code(t, err, codes.PermissionDenied)
	_, err = w.dir.CreateOrganization(testenv.As(memberOf(chain[5])), &meetingsv1.CreateOrganizationRequest{
		ParentId: chain[5], Name: "Chi bộ", Kind: meetingsv1.OrganizationKind_ORGANIZATION_KIND_CELL})
	testenv.Code(t, err, codes.PermissionDenied)
	_, err = w.dir.CreateOrganization(testenv.As(adminOf(chain...)), &meetingsv1.CreateOrganizationRequest{Name: "Khối khác", Kind: bloc})
	testenv.Code(t, err, codes.PermissionDenied)
}

func TestOrganizationValidation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := testenv.As(sysAdmin())
	long := make([]rune, maxOrgNameLen+1)
	for i := range long {
		long[i] = 'ộ'
	}
	for _, tc := range []struct {
		name string
		req  *meetingsv1.CreateOrganizationRequest
		want map[string]string
	}{
		{"empty", &meetingsv1.CreateOrganizationRequest{},
			map[string]string{"name": "REQUIRED", "kind": "REQUIRED"}},
		{"bad parent, long name, unknown kind", &meetingsv1.CreateOrganizationRequest{ParentId: "không-phải-uuid", Name: string(long), Kind: 99},
			map[string]string{"parent_id": "INVALID_FORMAT", "name": "TOO_LONG", "kind": "UNKNOWN_VALUE"}},
		{"control character in name", &meetingsv1.CreateOrganizationRequest{Name: "Chi bộ\aA", Kind: bloc},
			map[string]string{"name": "INVALID_CHARACTER"}},
		{"quorum above one", &meetingsv1.CreateOrganizationRequest{Name: "A", Kind: bloc, QuorumNumerator: 4, QuorumDenominator: 3},
			map[string]string{"quorum_numerator": "OUT_OF_RANGE"}},
		{"quorum numerator only", &meetingsv1.CreateOrganizationRequest{Name: "A", Kind: bloc, QuorumNumerator: 1},
			map[string]string{"quorum_numerator": "OUT_OF_RANGE", "quorum_denominator": "OUT_OF_RANGE"}},
		{"quorum negative", &meetingsv1.CreateOrganizationRequest{Name: "A", Kind: bloc, QuorumNumerator: -1, QuorumDenominator: 2},
			map[string]string{"quorum_numerator": "OUT_OF_RANGE"}},
		{"quorum denominator too big", &meetingsv1.CreateOrganizationRequest{Name: "A", Kind: bloc, QuorumNumerator: 1, QuorumDenominator: 1000},
			map[string]string{"quorum_denominator": "OUT_OF_RANGE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.dir.CreateOrganization(ctx, tc.req)
			wantViolations(t, err, tc.want)
		})
	}
	if n := w.count(t, "organizations"); n != 0 {
		t.Errorf("%d organisations written by invalid requests", n)
	}
}

func TestOrganizationVisibility(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	top := w.org(t, "", "Đảng bộ Khối", bloc)
	a := w.cell(t, top, "Chi bộ A")
	b := w.cell(t, top, "Chi bộ B")

	// A member sees their organisation only; another organisation does
	// not exist for them.
	if _, err := w.dir.GetOrganization(testenv.As(memberOf(a)), &meetingsv1.GetOrganizationRequest{OrganizationId: a}); err != nil {
		t.Errorf("member reading own organisation: %v", err)
	}
	_, err := w.dir.GetOrganization(testenv.As(memberOf(a)), &meetingsv1.GetOrganizationRequest{OrganizationId: b})
	testenv.Code(t, err, codes.NotFound)
	_, err = w.dir.GetOrganization(testenv.As(memberOf(a)), &meetingsv1.GetOrganizationRequest{OrganizationId: uuid.NewString()})
	testenv.Code(t, err, codes.NotFound)

	list, err := w.dir.ListOrganizations(testenv.As(memberOf(a)), &meetingsv1.ListOrganizationsRequest{})
	if err != nil || len(list.GetOrganizations()) != 1 || list.GetOrganizations()[0].GetId() != a {
		t.Errorf("member's organisations = %v, %v", list, err)
	}
	list, err = w.dir.ListOrganizations(testenv.As(adminOf(top, a, b)), &meetingsv1.ListOrganizationsRequest{ParentId: top})
	if err != nil || len(list.GetOrganizations()) != 2 {
		t.Errorf("admin's children of top = %v, %v", list, err)
	}
	// Ids from hand-minted tokens that are not UUIDs are ignored, not an
	// error.
	if _, err := w.dir.ListOrganizations(testenv.As(memberOf("org-a", a)), &meetingsv1.ListOrganizationsRequest{}); err != nil {
		t.Errorf("claims with a non-UUID organisation: %v", err)
	}
}

func TestGoAPIOrganization(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	top := w.org(t, "", "Đảng bộ Khối", bloc)
	o, err := w.d.Organization(context.Background(), top)
	if err != nil || o.GetName() != "Đảng bộ Khối" || o.GetQuorumNumerator() != 2 || o.GetQuorumDenominator() != 3 {
		t.Fatalf("Organization = %v, %v", o, err)
	}
	for _, id := range []string{uuid.NewString(), "org-a", ""} {
		if _, err := w.d.Organization(context.Background(), id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Organization(%q) error = %v, want ErrNotFound", id, err)
		}
	}
}
