package directory

import (
	"context"
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
)

// UpdateOrganization: vote delegation is off until an administrator turns
// it on; the change is versioned and audited.
func TestUpdateOrganizationDelegationSetting(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	top := w.org(t, "", "Đảng bộ Khối", bloc)
	cell := w.cell(t, top, "Chi bộ VNPT Văn Yên")
	other := w.cell(t, top, "Chi bộ Bưu điện")

	got, err := w.dir.GetOrganization(testenv.As(memberOf(cell)), &meetingsv1.GetOrganizationRequest{OrganizationId: cell})
	if err != nil {
		t.Fatal(err)
	}
	if o := got.GetOrganization(); o.GetAllowVoteDelegation() || o.GetVersion() != 1 {
		t.Fatalf("new organisation: delegation %v, version %d; want off, 1", o.GetAllowVoteDelegation(), o.GetVersion())
	}

	turnOn := &meetingsv1.UpdateOrganizationRequest{OrganizationId: cell, ExpectedVersion: 1,
		Name: "Chi bộ VNPT Văn Yên", AllowVoteDelegation: true}
	// A member may not; someone of another organisation does not see it.
	_, err = w.dir.UpdateOrganization(testenv.As(memberOf(cell)), turnOn)
	testenv.Code(t, err, codes.PermissionDenied)
	_, err = w.dir.UpdateOrganization(testenv.As(adminOf(other)), turnOn)
	testenv.Code(t, err, codes.NotFound)

	admin := testenv.As(adminOf(cell))
	resp, err := w.dir.UpdateOrganization(admin, turnOn)
	if err != nil {
		t.Fatalf("UpdateOrganization: %v", err)
	}
	o := resp.GetOrganization()
	if !o.GetAllowVoteDelegation() || o.GetVersion() != 2 || o.GetQuorumNumerator() != 2 || o.GetQuorumDenominator() != 3 {
		t.Errorf("after turning on: %v", o)
	}
	// Based on the old version: refused.
	_, err = w.dir.UpdateOrganization(admin, turnOn)
	testenv.Code(t, err, codes.Aborted)
	// The same values again change nothing.
	same := &meetingsv1.UpdateOrganizationRequest{OrganizationId: cell, Name: "Chi bộ VNPT Văn Yên", AllowVoteDelegation: true}
	if r, err := w.dir.UpdateOrganization(admin, same); err != nil || r.GetOrganization().GetVersion() != 2 {
		t.Errorf("unchanged update: %v, version %d", err, r.GetOrganization().GetVersion())
	}

	// Bad input names the fields.
	_, err = w.dir.UpdateOrganization(admin, &meetingsv1.UpdateOrganizationRequest{OrganizationId: cell, QuorumNumerator: 3, QuorumDenominator: 2})
	wantViolations(t, err, map[string]string{"name": "REQUIRED", "quorum_numerator": "OUT_OF_RANGE"})
	_, err = w.dir.UpdateOrganization(admin, &meetingsv1.UpdateOrganizationRequest{OrganizationId: "cell", Name: "x"})
	wantViolations(t, err, map[string]string{"organization_id": "INVALID_FORMAT"})
	_, err = w.dir.UpdateOrganization(testenv.As(sysAdmin()), &meetingsv1.UpdateOrganizationRequest{OrganizationId: uuid.NewString(), Name: "x"})
	testenv.Code(t, err, codes.NotFound)

	// An administrator above it may too: rename, new quorum, delegation off
	// (a replace: leaving the flag out turns it off).
	resp, err = w.dir.UpdateOrganization(testenv.As(adminOf(top, cell, other)), &meetingsv1.UpdateOrganizationRequest{
		OrganizationId: cell, Name: "  Chi bộ  VNPT ", QuorumNumerator: 1, QuorumDenominator: 2})
	if err != nil {
		t.Fatalf("UpdateOrganization by the parent's administrator: %v", err)
	}
	o = resp.GetOrganization()
	if o.GetAllowVoteDelegation() || o.GetName() != "Chi bộ VNPT" || o.GetQuorumNumerator() != 1 || o.GetVersion() != 3 {
		t.Errorf("after the second change: %v", o)
	}

	// Both changes are on the audit trail, with who made them.
	var n, on int
	if err := w.pool.QueryRow(context.Background(), `
		SELECT count(*), count(*) FILTER (WHERE (payload->>'allow_vote_delegation')::boolean)
		FROM audit_log WHERE subject = $1 AND action = 'organization.updated' AND actor_id <> ''`,
		"organization/"+cell).Scan(&n, &on); err != nil {
		t.Fatal(err)
	}
	if n != 2 || on != 1 {
		t.Errorf("audit records: %d (%d turning delegation on), want 2 (1)", n, on)
	}
}
