package meetings

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	defaultPageSize = 50
	maxPageSize     = 200
)

// api implements meetingsv1.MeetingsServiceServer. Every handler checks, in
// order: identity, readiness, organisation-level permission (as soon as the
// organisation is known, so a caller without rights learns nothing more),
// request validity, then touches the database.
type api struct {
	meetingsv1.UnimplementedMeetingsServiceServer
	s *Service
}

func (a *api) CreateMeeting(ctx context.Context, req *meetingsv1.CreateMeetingRequest) (*meetingsv1.CreateMeetingResponse, error) {
	c, err := rpcerr.Caller(ctx, Name)
	if err != nil {
		return nil, err
	}
	if err := rpcerr.CheckReady(Name, a.s.ready.Load()); err != nil {
		return nil, err
	}
	d, vs := domain.ValidateCreate(req)
	if !hasField(vs, "organization_id") && !mayCreateIn(c, d.OrganizationID) {
		return nil, status.Errorf(codes.PermissionDenied,
			"%s: creating a meeting in organisation %q needs administrator rights there", Name, d.OrganizationID)
	}
	if len(vs) > 0 {
		return nil, invalid(vs)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%s: new id: %v", Name, err)
	}
	m, err := a.s.createMeeting(ctx, c.Subject, id.String(), d)
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "CreateMeeting", err)
	}
	return &meetingsv1.CreateMeetingResponse{Meeting: m}, nil
}

func (a *api) GetMeeting(ctx context.Context, req *meetingsv1.GetMeetingRequest) (*meetingsv1.GetMeetingResponse, error) {
	c, err := rpcerr.Caller(ctx, Name)
	if err != nil {
		return nil, err
	}
	if err := rpcerr.CheckReady(Name, a.s.ready.Load()); err != nil {
		return nil, err
	}
	id, vs := parseID("meeting_id", req.GetMeetingId())
	if len(vs) > 0 {
		return nil, invalid(vs)
	}
	m, err := a.s.getMeeting(ctx, id)
	// A meeting of another organisation is reported exactly like a missing
	// one, so ids cannot be probed across organisations.
	if errors.Is(err, errNotFound) || (err == nil && !c.InOrg(m.GetOrganizationId())) {
		return nil, status.Errorf(codes.NotFound, "%s: meeting %s not found", Name, id)
	}
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "GetMeeting", err)
	}
	return &meetingsv1.GetMeetingResponse{Meeting: m}, nil
}

// ListMeetings lists the meetings the caller may see, newest (latest start)
// first. An organisation filter the caller does not belong to yields an
// empty page, the same as an organisation without meetings.
func (a *api) ListMeetings(ctx context.Context, req *meetingsv1.ListMeetingsRequest) (*meetingsv1.ListMeetingsResponse, error) {
	c, err := rpcerr.Caller(ctx, Name)
	if err != nil {
		return nil, err
	}
	if err := rpcerr.CheckReady(Name, a.s.ready.Load()); err != nil {
		return nil, err
	}
	org := domain.NormalizeText(req.GetOrganizationId())
	var vs []domain.Violation
	size, ok := pageSize(req.GetPageSize())
	if !ok {
		vs = append(vs, domain.Violation{Field: "page_size", Reason: domain.ReasonOutOfRange, Description: "must not be negative"})
	}
	var after *cursor
	if req.GetPageToken() != "" {
		tok, err := decodePageToken(req.GetPageToken())
		switch {
		case err != nil:
			vs = append(vs, domain.Violation{Field: "page_token", Reason: domain.ReasonInvalidFormat, Description: "is not a token returned by ListMeetings"})
		case tok.Org != org:
			vs = append(vs, domain.Violation{Field: "page_token", Reason: domain.ReasonMismatch, Description: "was issued for a different organization_id"})
		default:
			after = &cursor{StartsAt: tok.StartsAt, ID: tok.ID}
		}
	}
	if len(vs) > 0 {
		return nil, invalid(vs)
	}

	var orgs []string // nil: no organisation filter
	switch {
	case org != "" && !c.InOrg(org):
		return &meetingsv1.ListMeetingsResponse{}, nil
	case org != "":
		orgs = []string{org}
	case c.HasRole(identity.RoleSystemAdmin):
	case len(c.Orgs) == 0:
		return &meetingsv1.ListMeetingsResponse{}, nil
	default:
		orgs = c.Orgs
	}

	// One extra row tells whether another page follows.
	ms, err := a.s.listMeetings(ctx, orgs, after, size+1)
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "ListMeetings", err)
	}
	resp := &meetingsv1.ListMeetingsResponse{Meetings: ms}
	if len(ms) > size {
		resp.Meetings = ms[:size]
		last := resp.Meetings[size-1]
		resp.NextPageToken = encodePageToken(pageToken{Org: org, StartsAt: last.GetStartsAt().AsTime(), ID: last.GetId()})
	}
	return resp, nil
}

// pageSize applies the defaults of AIP-158: 0 means the default, larger
// than the maximum is clamped, negative is an error.
func pageSize(n int32) (int, bool) {
	switch {
	case n < 0:
		return 0, false
	case n == 0:
		return defaultPageSize, true
	case n > maxPageSize:
		return maxPageSize, true
	default:
		return int(n), true
	}
}

// pageToken is opaque to clients: base64url JSON of the last row's sort key
// and the filter it was issued for (a token cannot switch organisation).
type pageToken struct {
	Org      string    `json:"o"`
	StartsAt time.Time `json:"s"`
	ID       string    `json:"i"`
}

func encodePageToken(t pageToken) string {
	b, err := json.Marshal(t)
	if err != nil {
		panic(fmt.Sprintf("marshal page token: %v", err)) // plain struct: cannot fail
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(s string) (pageToken, error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return t, fmt.Errorf("decode page token: %w", err)
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("decode page token: %w", err)
	}
	if _, err := uuid.Parse(t.ID); err != nil || t.StartsAt.IsZero() {
		return t, errors.New("decode page token: incomplete")
	}
	return t, nil
}

// parseID checks that s is a UUID and returns its canonical form.
func parseID(field, s string) (string, []domain.Violation) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", []domain.Violation{{Field: field, Reason: domain.ReasonRequired, Description: "must not be empty"}}
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return "", []domain.Violation{{Field: field, Reason: domain.ReasonInvalidFormat, Description: "must be a UUID"}}
	}
	return id.String(), nil
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

// mayCreateIn reports whether c may create meetings for org. Roles are not
// yet scoped per organisation, so org_admin counts in every organisation
// the caller belongs to.
func mayCreateIn(c identity.Claims, org string) bool {
	return c.IsOrgAdmin(org)
}
