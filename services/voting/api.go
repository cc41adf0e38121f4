package voting

import (
	"context"
	"errors"

	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"github.com/ecabinet/ecabinet/services/voting/domain"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// api implements votingv1.VotingServiceServer. Every handler checks, in
// order: identity, readiness, organisation-level permission (as soon as the
// organisation is known, so a caller without rights learns nothing more),
// request validity, then touches the database.
type api struct {
	votingv1.UnimplementedVotingServiceServer
	s *Service
}

func (a *api) CreatePoll(ctx context.Context, req *votingv1.CreatePollRequest) (*votingv1.CreatePollResponse, error) {
	c, err := rpcerr.Caller(ctx, Name)
	if err != nil {
		return nil, err
	}
	if err := rpcerr.CheckReady(Name, a.s.core.Ready()); err != nil {
		return nil, err
	}
	d, vs := domain.ValidateCreate(req)
	if !hasField(vs, "organization_id") && !mayCreateIn(c, d.OrganizationID) {
		return nil, status.Errorf(codes.PermissionDenied,
			"%s: creating a poll in organisation %q needs administrator rights there", Name, d.OrganizationID)
	}
	if len(vs) > 0 {
		return nil, invalid(vs)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%s: new id: %v", Name, err)
	}
	p, err := a.s.createPoll(ctx, c.Subject, id.String(), d)
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "CreatePoll", err)
	}
	return &votingv1.CreatePollResponse{Poll: p}, nil
}

func (a *api) GetPoll(ctx context.Context, req *votingv1.GetPollRequest) (*votingv1.GetPollResponse, error) {
	c, err := rpcerr.Caller(ctx, Name)
	if err != nil {
		return nil, err
	}
	if err := rpcerr.CheckReady(Name, a.s.core.Ready()); err != nil {
		return nil, err
	}
	id, vs := domain.ParseID("poll_id", req.GetPollId(), true)
	if len(vs) > 0 {
		return nil, invalid(vs)
	}
	p, err := a.s.getPoll(ctx, id)
	// A poll of another organisation is reported exactly like a missing one,
	// so ids cannot be probed across organisations.
	if errors.Is(err, errNotFound) || (err == nil && !c.InOrg(p.GetOrganizationId())) {
		return nil, status.Errorf(codes.NotFound, "%s: poll %s not found", Name, id)
	}
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "GetPoll", err)
	}
	return &votingv1.GetPollResponse{Poll: p}, nil
}

// ListPolls lists the meeting's polls that belong to the caller's
// organisations; a meeting of another organisation looks empty.
func (a *api) ListPolls(ctx context.Context, req *votingv1.ListPollsRequest) (*votingv1.ListPollsResponse, error) {
	c, err := rpcerr.Caller(ctx, Name)
	if err != nil {
		return nil, err
	}
	if err := rpcerr.CheckReady(Name, a.s.core.Ready()); err != nil {
		return nil, err
	}
	meetingID, vs := domain.ParseID("meeting_id", req.GetMeetingId(), true)
	if len(vs) > 0 {
		return nil, invalid(vs)
	}
	var orgs []string // nil: no organisation filter
	if !c.HasRole(identity.RoleSystemAdmin) {
		if len(c.Orgs) == 0 {
			return &votingv1.ListPollsResponse{}, nil
		}
		orgs = c.Orgs
	}
	ps, err := a.s.listPolls(ctx, meetingID, orgs)
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "ListPolls", err)
	}
	return &votingv1.ListPollsResponse{Polls: ps}, nil
}

func hasField(vs []domain.Violation, field string) bool {
	for _, v := range vs {
		if v.Field == field {
			return true
		}
	}
	return false
}

// invalid reports the domain's violations as InvalidArgument. The domain
// keeps its own Violation type so it does not depend on gRPC; the two have
// the same fields, so converting is a plain copy.
func invalid(vs []domain.Violation) error {
	out := make([]rpcerr.Violation, len(vs))
	for i, v := range vs {
		out[i] = rpcerr.Violation(v)
	}
	return rpcerr.Invalid(Name, out)
}

// mayCreateIn reports whether c may create polls for org. Roles are not
// yet scoped per organisation, so org_admin counts in every organisation
// the caller belongs to.
func mayCreateIn(c identity.Claims, org string) bool {
	return c.IsOrgAdmin(org)
}
