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

// membershipFields is a validated new membership.
type membershipFields struct {
	PersonID, OrgID string
	Body            meetingsv1.BodyKind
	Role            meetingsv1.PartyRole
	Standing        meetingsv1.Standing
	Excused         bool
	Start           time.Time
}

func (s *directoryServer) AddMembership(ctx context.Context, req *meetingsv1.AddMembershipRequest) (*meetingsv1.AddMembershipResponse, error) {
	c, err := s.d.signedIn(ctx)
	if err != nil {
		return nil, err
	}
	org, vs := parseID("organization_id", req.GetOrganizationId())
	// Refused whether or not the organisation exists, so the answer says
	// nothing about it.
	if len(vs) == 0 && !c.IsOrgAdmin(org) {
		return nil, status.Errorf(codes.PermissionDenied, "%s: adding members to organisation %s needs administrator rights there", service, org)
	}
	person, pvs := parseID("person_id", req.GetPersonId())
	vs = append(vs, pvs...)
	vs = append(vs, checkEnum("body", int32(req.GetBody()), meetingsv1.BodyKind_name)...)
	vs = append(vs, checkEnum("role", int32(req.GetRole()), meetingsv1.PartyRole_name)...)
	vs = append(vs, checkEnum("standing", int32(req.GetStanding()), meetingsv1.Standing_name)...)
	start, dvs := parseDate("start_date", req.GetStartDate())
	vs = append(vs, dvs...)
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	f := membershipFields{PersonID: person, OrgID: org, Body: req.GetBody(), Role: req.GetRole(),
		Standing: req.GetStanding(), Excused: req.GetExcused(), Start: start}
	var m *meetingsv1.Membership
	err = pgx.BeginFunc(ctx, s.d.pool, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM organizations WHERE id = $1 FOR KEY SHARE`, org).Scan(&one); err != nil {
			return errNotFoundFrom(err, orgNotFound(org))
		}
		if err := tx.QueryRow(ctx, `SELECT 1 FROM people WHERE id = $1 FOR KEY SHARE`, person).Scan(&one); err != nil {
			return errNotFoundFrom(err, status.Errorf(codes.NotFound, "%s: person %s not found", service, person))
		}
		var err error
		m, err = insertMembership(ctx, tx, f)
		return err
	})
	if isStatus(err) {
		return nil, err
	}
	if isUniqueViolation(err, "memberships_current") {
		return nil, status.Errorf(codes.AlreadyExists, "%s: person %s already is a current member of %s in organisation %s",
			service, person, f.Body, org)
	}
	if err != nil {
		return nil, s.d.storeErr(ctx, "AddMembership", err)
	}
	return &meetingsv1.AddMembershipResponse{Membership: m}, nil
}

func (s *directoryServer) EndMembership(ctx context.Context, req *meetingsv1.EndMembershipRequest) (*meetingsv1.EndMembershipResponse, error) {
	c, err := s.d.signedIn(ctx)
	if err != nil {
		return nil, err
	}
	id, vs := parseID("membership_id", req.GetMembershipId())
	end, dvs := parseDate("end_date", req.GetEndDate())
	vs = append(vs, dvs...)
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	notFound := status.Errorf(codes.NotFound, "%s: membership %s not found", service, id)
	var m *meetingsv1.Membership
	err = pgx.BeginFunc(ctx, s.d.pool, func(tx pgx.Tx) error {
		cur, err := scanMembership(tx.QueryRow(ctx, `
			SELECT `+membershipColumns+` FROM memberships m JOIN people p ON p.id = m.person_id
			WHERE m.id = $1 FOR UPDATE OF m`, id))
		if err != nil {
			return errNotFoundFrom(err, notFound)
		}
		switch org := cur.GetOrganizationId(); {
		case !canRead(c, org):
			return notFound
		case !c.IsOrgAdmin(org):
			return status.Errorf(codes.PermissionDenied, "%s: ending a membership in organisation %s needs administrator rights there", service, org)
		case cur.GetEndDate() != "":
			return status.Errorf(codes.FailedPrecondition, "%s: membership %s already ended on %s", service, id, cur.GetEndDate())
		case end.Format(dateLayout) < cur.GetStartDate():
			return rpcerr.Invalid(service, []rpcerr.Violation{{Field: "end_date", Reason: reasonOutOfOrder,
				Description: "must not be before the membership's start_date " + cur.GetStartDate()}})
		}
		m, err = scanMembership(tx.QueryRow(ctx, `
			UPDATE memberships m SET end_date = $2 FROM people p
			WHERE m.id = $1 AND p.id = m.person_id RETURNING `+membershipColumns, id, end))
		return err
	})
	if isStatus(err) {
		return nil, err
	}
	if err != nil {
		return nil, s.d.storeErr(ctx, "EndMembership", err)
	}
	return &meetingsv1.EndMembershipResponse{Membership: m}, nil
}

func (s *directoryServer) ListMembers(ctx context.Context, req *meetingsv1.ListMembersRequest) (*meetingsv1.ListMembersResponse, error) {
	c, err := s.d.signedIn(ctx)
	if err != nil {
		return nil, err
	}
	org, vs := parseID("organization_id", req.GetOrganizationId())
	if len(vs) == 0 && !canRead(c, org) {
		return nil, orgNotFound(org)
	}
	var body *string
	if b := req.GetBody(); b != meetingsv1.BodyKind_BODY_KIND_UNSPECIFIED {
		if !validBody(b) {
			vs = append(vs, rpcerr.Violation{Field: "body", Reason: rpcerr.ReasonUnknownValue, Description: fmt.Sprintf("unknown body %d", b)})
		}
		name := b.String()
		body = &name
	}
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	if _, err := s.d.Organization(ctx, org); errors.Is(err, ErrNotFound) {
		return nil, orgNotFound(org)
	} else if err != nil {
		return nil, s.d.storeErr(ctx, "ListMembers", err)
	}
	rows, err := s.d.pool.Query(ctx, `
		SELECT `+membershipColumns+` FROM memberships m JOIN people p ON p.id = m.person_id
		WHERE m.organization_id = $1 AND m.end_date IS NULL AND ($2::text IS NULL OR m.body = $2)
		ORDER BY CASE m.body
			WHEN 'BODY_KIND_STANDING_MEMBERS' THEN 1 WHEN 'BODY_KIND_STANDING_COMMITTEE' THEN 2
			WHEN 'BODY_KIND_EXECUTIVE_COMMITTEE' THEN 3 ELSE 4 END,
			`+roleRankSQL+`, p.name_folded, p.id`, org, body)
	if err != nil {
		return nil, s.d.storeErr(ctx, "ListMembers", err)
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*meetingsv1.Membership, error) { return scanMembership(r) })
	if err != nil {
		return nil, s.d.storeErr(ctx, "ListMembers", err)
	}
	return &meetingsv1.ListMembersResponse{Memberships: ms}, nil
}

func insertMembership(ctx context.Context, q querier, f membershipFields) (*meetingsv1.Membership, error) {
	id, err := newID()
	if err != nil {
		return nil, err
	}
	return scanMembership(q.QueryRow(ctx, `
		WITH m AS (
			INSERT INTO memberships (id, person_id, organization_id, body, role, standing, excused, start_date)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *)
		SELECT `+membershipColumns+` FROM m JOIN people p ON p.id = m.person_id`,
		id, f.PersonID, f.OrgID, f.Body.String(), f.Role.String(), f.Standing.String(), f.Excused, f.Start))
}

const membershipColumns = `m.id, m.person_id, m.organization_id, m.body, m.role, m.standing, m.excused, m.start_date, m.end_date, p.full_name`

func scanMembership(row pgx.Row) (*meetingsv1.Membership, error) {
	var m meetingsv1.Membership
	var body, role, standing string
	var start time.Time
	var end *time.Time
	if err := row.Scan(&m.Id, &m.PersonId, &m.OrganizationId, &body, &role, &standing, &m.Excused, &start, &end, &m.PersonFullName); err != nil {
		return nil, err
	}
	m.Body, m.Role, m.Standing = parseBody(body), parseRole(role), parseStanding(standing)
	m.StartDate = start.Format(dateLayout)
	if end != nil {
		m.EndDate = end.Format(dateLayout)
	}
	return &m, nil
}

// checkEnum requires a known, specified enum value.
func checkEnum(field string, v int32, names map[int32]string) []rpcerr.Violation {
	if v == 0 {
		return []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonRequired, Description: "must be specified"}}
	}
	if _, ok := names[v]; !ok {
		return []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonUnknownValue, Description: fmt.Sprintf("unknown value %d", v)}}
	}
	return nil
}

// parseDate reads an optional YYYY-MM-DD date, today (in Vietnam) when
// empty. Dates after today are refused: a membership is current from its
// start until its end, so one that starts or ends in the future would be
// counted at the wrong time.
func parseDate(field, s string) (time.Time, []rpcerr.Violation) {
	s = normalize(s)
	if s == "" {
		return today(), nil
	}
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonInvalidFormat, Description: "must be a date as YYYY-MM-DD"}}
	}
	if d.After(today()) {
		return time.Time{}, []rpcerr.Violation{{Field: field, Reason: reasonOutOfRange, Description: "must not be in the future"}}
	}
	return d, nil
}

// errNotFoundFrom turns "no such row" into the given NotFound status and
// passes other errors through.
func errNotFoundFrom(err, notFound error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound
	}
	return err
}

// isStatus reports whether err is a gRPC status returned as is from inside
// a transaction (a decision such as NotFound), as opposed to a database
// failure that still needs rpcerr.FromStore.
func isStatus(err error) bool {
	_, ok := err.(interface{ GRPCStatus() *status.Status })
	return ok
}
