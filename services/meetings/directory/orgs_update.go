package directory

import (
	"context"
	"errors"
	"fmt"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/audit"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// UpdateOrganization replaces an organisation's name, quorum rule (both
// fields 0 keep it) and its vote delegation setting, like UpdateMeeting
// replaces a meeting's details. Its administrators may (which includes
// those of the organisations above it), and a system administrator. Every
// change is appended to the service's audit trail under
// "organization/<id>": whether members may vote by delegation is a rule of
// the organisation, and who turned it on must be on record.
func (s *directoryServer) UpdateOrganization(ctx context.Context, req *meetingsv1.UpdateOrganizationRequest) (*meetingsv1.UpdateOrganizationResponse, error) {
	c, err := s.d.signedIn(ctx)
	if err != nil {
		return nil, err
	}
	id, vs := parseID("organization_id", req.GetOrganizationId())
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	if !c.IsOrgAdmin(id) && !isSystemAdmin(c) {
		if !canRead(c, id) {
			return nil, orgNotFound(id)
		}
		return nil, status.Errorf(codes.PermissionDenied, "%s: changing organisation %s needs administrator rights there", service, id)
	}
	name := normalizeName(req.GetName())
	vs = checkText("name", name, maxOrgNameLen, true)
	num, den := req.GetQuorumNumerator(), req.GetQuorumDenominator()
	keepQuorum := num == 0 && den == 0
	if !keepQuorum {
		vs = append(vs, checkQuorum(num, den, "the current rule")...)
	}
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}

	var o *meetingsv1.Organization
	err = pgx.BeginFunc(ctx, s.d.pool, func(tx pgx.Tx) error {
		cur, err := scanOrganization(tx.QueryRow(ctx, `SELECT `+orgColumns+` FROM organizations WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return orgNotFound(id)
		}
		if err != nil {
			return err
		}
		if v := req.GetExpectedVersion(); v != 0 && v != cur.GetVersion() {
			return status.Errorf(codes.Aborted,
				"%s: organisation has changed: it is at version %d, the request was based on version %d; reload and retry",
				service, cur.GetVersion(), v)
		}
		if keepQuorum {
			num, den = cur.GetQuorumNumerator(), cur.GetQuorumDenominator()
		}
		deleg := req.GetAllowVoteDelegation()
		if name == cur.GetName() && num == cur.GetQuorumNumerator() && den == cur.GetQuorumDenominator() &&
			deleg == cur.GetAllowVoteDelegation() {
			o = cur
			return nil
		}
		// Meetings copy the quorum rule when they are created; the
		// delegation setting they read live (Meeting.allow_vote_delegation),
		// so turning it off stops delegated ballots at once.
		if o, err = scanOrganization(tx.QueryRow(ctx, `
			UPDATE organizations SET name = $2, quorum_numerator = $3, quorum_denominator = $4,
				allow_vote_delegation = $5, version = version + 1
			WHERE id = $1 RETURNING `+orgColumns, id, name, num, den, deleg)); err != nil {
			return err
		}
		// Last: the audit trail's append lock is held until commit.
		return audit.Append(ctx, tx, audit.Record{Subject: "organization/" + id, Action: "organization.updated", ActorID: c.Subject,
			Payload: map[string]any{
				"version":               o.GetVersion(),
				"name":                  o.GetName(),
				"quorum":                fmt.Sprintf("%d/%d", num, den),
				"allow_vote_delegation": deleg,
			}})
	})
	if err != nil {
		if _, ok := status.FromError(err); ok {
			return nil, err
		}
		return nil, s.d.storeErr(ctx, "UpdateOrganization", err)
	}
	return &meetingsv1.UpdateOrganizationResponse{Organization: o}, nil
}
