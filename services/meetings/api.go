package meetings

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	platformv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/platform/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const (
	defaultPageSize = 50
	maxPageSize     = 200
)

// api implements meetingsv1.MeetingsServiceServer. Every handler checks, in
// order: identity, readiness, the shape of the ids it needs to find the
// meeting, whether the caller may see the meeting (NotFound otherwise, the
// same as for a missing one) and may do this (PermissionDenied), the rest
// of the request (InvalidArgument naming every bad field), the meeting's
// state (FailedPrecondition with the reason) — so a caller without rights
// learns nothing about the meeting from the answer.
type api struct {
	meetingsv1.UnimplementedMeetingsServiceServer
	s *Service
}

// caller returns the verified identity, once the service is ready.
func (a *api) caller(ctx context.Context) (identity.Claims, error) {
	c, err := rpcerr.Caller(ctx, Name)
	if err != nil {
		return c, err
	}
	return c, rpcerr.CheckReady(Name, a.s.core.Ready())
}

// meetingID validates a request's meeting_id.
func meetingID(s string) (string, error) {
	id, vs := domain.ParseID("meeting_id", s)
	if len(vs) > 0 {
		return "", invalid(vs)
	}
	return id, nil
}

func (a *api) CreateMeeting(ctx context.Context, req *meetingsv1.CreateMeetingRequest) (*meetingsv1.CreateMeetingResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
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
	org, err := a.s.dir.Organization(ctx, d.OrganizationID)
	if errors.Is(err, errUnknown) {
		return nil, invalid([]domain.Violation{{Field: "organization_id", Reason: domain.ReasonNotFound,
			Description: "is not an organisation in the directory"}})
	}
	if err != nil {
		return nil, a.s.rpcError(ctx, "CreateMeeting", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%s: new id: %v", Name, err)
	}
	rule := domain.Rule{Numerator: int(org.GetQuorumNumerator()), Denominator: int(org.GetQuorumDenominator())}
	m, err := a.s.createMeeting(ctx, c.Subject, id.String(), d, rule)
	if err != nil {
		return nil, a.s.rpcError(ctx, "CreateMeeting", err)
	}
	m.MyRole = accessOf(c, m.GetOrganizationId(), 0, false).myRole()
	return &meetingsv1.CreateMeetingResponse{Meeting: m}, nil
}

// createMeeting stores a new draft meeting with its MeetingCreated event
// and first audit record in one transaction, so the event exists if and
// only if the meeting does.
func (s *Service) createMeeting(ctx context.Context, actor, id string, d domain.Draft, rule domain.Rule) (*meetingsv1.Meeting, error) {
	if rule.Numerator <= 0 || rule.Denominator < rule.Numerator {
		rule = domain.DefaultRule
	}
	var m *meetingsv1.Meeting
	err := pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		row, err := scanMeeting(tx.QueryRow(ctx, `
			INSERT INTO meetings (id, organization_id, title, kind, body, place, online, starts_at, ends_at, state, version,
			                      quorum_numerator, quorum_denominator)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12)
			RETURNING `+meetingColumns(""),
			id, d.OrganizationID, d.Title, d.Kind.String(), d.Body.String(), d.Place, d.Online, d.StartsAt, optTime(d.EndsAt),
			domain.StateDraft.String(), rule.Numerator, rule.Denominator))
		if err != nil {
			return fmt.Errorf("insert meeting: %w", err)
		}
		if m, err = loadMeeting(ctx, tx, row); err != nil {
			return err
		}
		return s.record(ctx, tx, actor, m, edit{
			event: "created",
			build: func(meta *platformv1.EventMeta, m *meetingsv1.Meeting) proto.Message {
				return &meetingsv1.MeetingCreated{Meta: meta, Meeting: m}
			},
			action: "meeting.created",
			detail: d.Title,
		})
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// optTime is nil for the zero time (no value), else t.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (a *api) GetMeeting(ctx context.Context, req *meetingsv1.GetMeetingRequest) (*meetingsv1.GetMeetingResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	m, _, err := a.s.view(ctx, c, "GetMeeting", id)
	if err != nil {
		return nil, err
	}
	return &meetingsv1.GetMeetingResponse{Meeting: m}, nil
}

// view reads the whole meeting as the caller may see it, in one consistent
// snapshot, or NotFound.
func (s *Service) view(ctx context.Context, c identity.Claims, op, id string) (*meetingsv1.Meeting, access, error) {
	var m *meetingsv1.Meeting
	var acc access
	err := pgx.BeginTxFunc(ctx, s.d.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		var row meetingRow
		if row, acc, err = peek(ctx, tx, c, id); err != nil {
			return err
		}
		if m, err = loadMeeting(ctx, tx, row); err != nil {
			return err
		}
		m.MyRole = acc.myRole()
		return nil
	})
	if err != nil {
		return nil, acc, s.rpcError(ctx, op, err)
	}
	return m, acc, nil
}

// peek reads the meeting row and the caller's access, or NotFound when the
// caller may not see it.
func peek(ctx context.Context, q querier, c identity.Claims, id string) (meetingRow, access, error) {
	row, err := readMeeting(ctx, q, id, false)
	if errors.Is(err, errNotFound) {
		return row, access{}, meetingNotFound(id)
	}
	if err != nil {
		return row, access{}, err
	}
	role, isPart, err := participantRole(ctx, q, id, c.Subject)
	if err != nil {
		return row, access{}, err
	}
	acc := accessOf(c, row.m.GetOrganizationId(), role, isPart)
	if !acc.read {
		return row, acc, meetingNotFound(id)
	}
	return row, acc, nil
}

// ListMeetings lists the meetings the caller may see (those of the
// organisations they belong to or administer, and those they take part
// in), newest (latest start) first. Listed meetings carry their own fields
// only: no agenda, participants or quorum (GetMeeting has them).
func (a *api) ListMeetings(ctx context.Context, req *meetingsv1.ListMeetingsRequest) (*meetingsv1.ListMeetingsResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	org := domain.NormalizeText(req.GetOrganizationId())
	size, after, vs := pageRequest(req.GetPageSize(), req.GetPageToken(), org, "ListMeetings", "organization_id")
	if len(vs) > 0 {
		return nil, invalid(vs)
	}
	v := visibleFilter{all: c.HasRole(identity.RoleSystemAdmin), orgs: slices.Concat(c.Orgs, c.AdminOrgs)}
	if _, bad := domain.ParseID("", c.Subject); bad == nil {
		v.person = &c.Subject
	}
	// One extra row tells whether another page follows.
	ms, err := a.s.listMeetings(ctx, v, org, after, size+1)
	if err != nil {
		return nil, a.s.rpcError(ctx, "ListMeetings", err)
	}
	resp := &meetingsv1.ListMeetingsResponse{Meetings: ms}
	resp.Meetings, resp.NextPageToken = page(ms, size, org)
	return resp, nil
}

// ListMyMeetings lists the meetings the caller takes part in that start
// today (the Vietnamese calendar day), on a later day, or on an earlier
// one: today's and upcoming ones soonest first, past ones latest first.
func (a *api) ListMyMeetings(ctx context.Context, req *meetingsv1.ListMyMeetingsRequest) (*meetingsv1.ListMyMeetingsResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	p := req.GetPeriod()
	from, to, perr := domain.PeriodBounds(p, time.Now())
	var vs []domain.Violation
	switch {
	case p == meetingsv1.Period_PERIOD_UNSPECIFIED:
		vs = append(vs, domain.Violation{Field: "period", Reason: domain.ReasonRequired, Description: "must be today, upcoming or past"})
	case perr != nil:
		vs = append(vs, domain.Violation{Field: "period", Reason: domain.ReasonUnknownValue, Description: perr.Error()})
	}
	size, after, pvs := pageRequest(req.GetPageSize(), req.GetPageToken(), p.String(), "ListMyMeetings", "period")
	if vs = append(vs, pvs...); len(vs) > 0 {
		return nil, invalid(vs)
	}
	if _, bad := domain.ParseID("", c.Subject); bad != nil {
		return &meetingsv1.ListMyMeetingsResponse{}, nil // not a person: takes part in nothing
	}
	ms, err := a.s.listMyMeetings(ctx, c.Subject, from, to, p == meetingsv1.Period_PERIOD_PAST, after, size+1)
	if err != nil {
		return nil, a.s.rpcError(ctx, "ListMyMeetings", err)
	}
	resp := &meetingsv1.ListMyMeetingsResponse{}
	resp.Meetings, resp.NextPageToken = page(ms, size, p.String())
	return resp, nil
}

// pageRequest validates page_size and page_token; a token is bound to the
// filter it was issued for (named filterField in the error).
func pageRequest(sizeIn int32, token, filter, rpc, filterField string) (int, *cursor, []domain.Violation) {
	var vs []domain.Violation
	size, ok := pageSize(sizeIn)
	if !ok {
		vs = append(vs, domain.Violation{Field: "page_size", Reason: domain.ReasonOutOfRange, Description: "must not be negative"})
	}
	var after *cursor
	if token != "" {
		tok, err := decodePageToken(token)
		switch {
		case err != nil:
			vs = append(vs, domain.Violation{Field: "page_token", Reason: domain.ReasonInvalidFormat, Description: "is not a token returned by " + rpc})
		case tok.Filter != filter:
			vs = append(vs, domain.Violation{Field: "page_token", Reason: domain.ReasonMismatch, Description: "was issued for a different " + filterField})
		default:
			after = &cursor{StartsAt: tok.StartsAt, ID: tok.ID}
		}
	}
	return size, after, vs
}

// page cuts the extra row fetched to detect a next page and returns the
// token for it.
func page(ms []*meetingsv1.Meeting, size int, filter string) ([]*meetingsv1.Meeting, string) {
	if len(ms) <= size {
		return ms, ""
	}
	ms = ms[:size]
	last := ms[size-1]
	return ms, encodePageToken(pageToken{Filter: filter, StartsAt: last.GetStartsAt().AsTime(), ID: last.GetId()})
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
// and the filter it was issued for (a token cannot switch filters).
type pageToken struct {
	Filter   string    `json:"o"`
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

// UpdateMeeting replaces a draft or scheduled meeting's title, place,
// online flag, times and (unless unspecified) body. A scheduled meeting's
// times change only through RescheduleMeeting, which records why.
func (a *api) UpdateMeeting(ctx context.Context, req *meetingsv1.UpdateMeetingRequest) (*meetingsv1.UpdateMeetingResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	d, vs := domain.ValidateUpdate(req)
	m, err := a.s.change(ctx, c, "UpdateMeeting", id, needRun, func(ctx context.Context, st *txState) (edit, error) {
		if len(vs) > 0 {
			return edit{}, invalid(vs)
		}
		cur := st.row.m
		if err := checkVersion(st.row, req.GetExpectedVersion()); err != nil {
			return edit{}, err
		}
		if err := domain.Allowed(cur.GetState(), domain.EditDetails); err != nil {
			return edit{}, illegal(err)
		}
		body := d.Body
		if body == meetingsv1.BodyKind_BODY_KIND_UNSPECIFIED {
			body = cur.GetBody()
		}
		sameTimes := sameTime(d.StartsAt, cur.GetStartsAt().AsTime()) && sameTime(d.EndsAt, endsAt(cur))
		if cur.GetState() == domain.StateScheduled && !sameTimes {
			return edit{}, status.Errorf(codes.FailedPrecondition,
				"%s: meeting is scheduled; its times change only by rescheduling it, with a reason for the invitees", Name)
		}
		if sameTimes && d.Title == cur.GetTitle() && d.Place == cur.GetPlace() && d.Online == cur.GetOnline() && body == cur.GetBody() {
			return edit{noop: true}, nil
		}
		if _, err := st.tx.Exec(ctx, `
			UPDATE meetings SET title = $2, place = $3, online = $4, starts_at = $5, ends_at = $6, body = $7 WHERE id = $1`,
			id, d.Title, d.Place, d.Online, d.StartsAt, optTime(d.EndsAt), body.String()); err != nil {
			return edit{}, fmt.Errorf("update meeting: %w", err)
		}
		return edit{
			event: "updated",
			build: func(meta *platformv1.EventMeta, m *meetingsv1.Meeting) proto.Message {
				return &meetingsv1.MeetingUpdated{Meta: meta, Meeting: m}
			},
			action: "meeting.updated",
			detail: d.Title,
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.UpdateMeetingResponse{Meeting: m}, nil
}

// endsAt is the meeting's planned end, zero when it has none.
func endsAt(m *meetingsv1.Meeting) time.Time {
	if m.GetEndsAt() == nil {
		return time.Time{}
	}
	return m.GetEndsAt().AsTime()
}

// sameTime compares at the database's precision (microseconds).
func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
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
