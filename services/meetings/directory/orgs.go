package directory

import (
	"context"
	"errors"
	"fmt"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The quorum rule: present * denominator >= members * numerator. Two thirds
// unless the organisation's statute says otherwise.
const (
	defaultQuorumNumerator   = 2
	defaultQuorumDenominator = 3
	maxQuorumDenominator     = 100
)

// directoryServer implements meetingsv1.DirectoryServiceServer. Every
// handler checks, in order: identity, readiness, permission (as soon as the
// organisation is known, so a caller without rights learns nothing more),
// request validity, then touches the database.
type directoryServer struct {
	meetingsv1.UnimplementedDirectoryServiceServer
	d *Directory
}

func (s *directoryServer) CreateOrganization(ctx context.Context, req *meetingsv1.CreateOrganizationRequest) (*meetingsv1.CreateOrganizationResponse, error) {
	c, err := s.d.signedIn(ctx)
	if err != nil {
		return nil, err
	}
	var vs []rpcerr.Violation
	parent := normalize(req.GetParentId())
	switch {
	case parent == "":
		if !isSystemAdmin(c) {
			return nil, status.Errorf(codes.PermissionDenied, "%s: creating a top-level organisation needs system administrator rights", service)
		}
	case !isUUID(parent):
		vs = append(vs, rpcerr.Violation{Field: "parent_id", Reason: rpcerr.ReasonInvalidFormat, Description: "must be a UUID"})
	case !c.IsOrgAdmin(parent):
		return nil, status.Errorf(codes.PermissionDenied, "%s: creating an organisation under %s needs administrator rights there", service, parent)
	}
	name := normalizeName(req.GetName())
	vs = append(vs, checkText("name", name, maxOrgNameLen, true)...)
	switch k := req.GetKind(); {
	case k == meetingsv1.OrganizationKind_ORGANIZATION_KIND_UNSPECIFIED:
		vs = append(vs, rpcerr.Violation{Field: "kind", Reason: rpcerr.ReasonRequired, Description: "must be specified"})
	case !validKind(k):
		vs = append(vs, rpcerr.Violation{Field: "kind", Reason: rpcerr.ReasonUnknownValue, Description: fmt.Sprintf("unknown organisation kind %d", k)})
	}
	num, den := req.GetQuorumNumerator(), req.GetQuorumDenominator()
	if num == 0 && den == 0 {
		num, den = defaultQuorumNumerator, defaultQuorumDenominator
	}
	vs = append(vs, checkQuorum(num, den, "the default 2/3")...)
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}

	id, err := newID()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%s: %v", service, err)
	}
	var o *meetingsv1.Organization
	err = pgx.BeginFunc(ctx, s.d.pool, func(tx pgx.Tx) error {
		var parentArg *string
		if parent != "" {
			// FOR KEY SHARE keeps the parent from disappearing before the
			// insert commits, without blocking other readers.
			var one int
			err := tx.QueryRow(ctx, `SELECT 1 FROM organizations WHERE id = $1 FOR KEY SHARE`, parent).Scan(&one)
			if err != nil {
				return fmt.Errorf("parent: %w", err)
			}
			parentArg = &parent
		}
		var err error
		o, err = scanOrganization(tx.QueryRow(ctx, `
			INSERT INTO organizations (id, parent_id, name, kind, quorum_numerator, quorum_denominator)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+orgColumns,
			id, parentArg, name, req.GetKind().String(), num, den))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, status.Errorf(codes.NotFound, "%s: parent organisation %s not found", service, parent)
	}
	if err != nil {
		return nil, s.d.storeErr(ctx, "CreateOrganization", err)
	}
	return &meetingsv1.CreateOrganizationResponse{Organization: o}, nil
}

// checkQuorum validates a quorum rule; zero says what both fields 0 mean.
func checkQuorum(num, den int32, zero string) []rpcerr.Violation {
	var vs []rpcerr.Violation
	if den < 1 || den > maxQuorumDenominator {
		vs = append(vs, rpcerr.Violation{Field: "quorum_denominator", Reason: reasonOutOfRange,
			Description: fmt.Sprintf("must be between 1 and %d (or both quorum fields 0 for %s)", maxQuorumDenominator, zero)})
	}
	if num < 1 || num > den {
		vs = append(vs, rpcerr.Violation{Field: "quorum_numerator", Reason: reasonOutOfRange,
			Description: fmt.Sprintf("must be at least 1 and at most quorum_denominator (or both quorum fields 0 for %s)", zero)})
	}
	return vs
}

func (s *directoryServer) GetOrganization(ctx context.Context, req *meetingsv1.GetOrganizationRequest) (*meetingsv1.GetOrganizationResponse, error) {
	c, err := s.d.signedIn(ctx)
	if err != nil {
		return nil, err
	}
	id, vs := parseID("organization_id", req.GetOrganizationId())
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	if !canRead(c, id) {
		return nil, orgNotFound(id)
	}
	o, err := s.d.Organization(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, orgNotFound(id)
	}
	if err != nil {
		return nil, s.d.storeErr(ctx, "GetOrganization", err)
	}
	return &meetingsv1.GetOrganizationResponse{Organization: o}, nil
}

func (s *directoryServer) ListOrganizations(ctx context.Context, req *meetingsv1.ListOrganizationsRequest) (*meetingsv1.ListOrganizationsResponse, error) {
	c, err := s.d.signedIn(ctx)
	if err != nil {
		return nil, err
	}
	var parent *string
	if p := normalize(req.GetParentId()); p != "" {
		if !isUUID(p) {
			return nil, rpcerr.Invalid(service, []rpcerr.Violation{{Field: "parent_id", Reason: rpcerr.ReasonInvalidFormat, Description: "must be a UUID"}})
		}
		parent = &p
	}
	ids, all := visibleOrgs(c)
	rows, err := s.d.pool.Query(ctx, `
		SELECT `+orgColumns+` FROM organizations
		WHERE ($1 OR id = ANY($2::uuid[])) AND ($3::uuid IS NULL OR parent_id = $3)
		ORDER BY name, id`, all, ids, parent)
	if err != nil {
		return nil, s.d.storeErr(ctx, "ListOrganizations", err)
	}
	orgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*meetingsv1.Organization, error) { return scanOrganization(r) })
	if err != nil {
		return nil, s.d.storeErr(ctx, "ListOrganizations", err)
	}
	return &meetingsv1.ListOrganizationsResponse{Organizations: orgs}, nil
}

func orgNotFound(id string) error {
	return status.Errorf(codes.NotFound, "%s: organisation %s not found", service, id)
}

const orgColumns = `id, parent_id, name, kind, quorum_numerator, quorum_denominator, create_time, allow_vote_delegation, version`

func scanOrganization(row pgx.Row) (*meetingsv1.Organization, error) {
	var o meetingsv1.Organization
	var parent *string
	var kind string
	var created time.Time
	if err := row.Scan(&o.Id, &parent, &o.Name, &kind, &o.QuorumNumerator, &o.QuorumDenominator, &created,
		&o.AllowVoteDelegation, &o.Version); err != nil {
		return nil, err
	}
	if parent != nil {
		o.ParentId = *parent
	}
	o.Kind = parseKind(kind)
	o.CreateTime = ts(created)
	return &o, nil
}
