package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"github.com/ecabinet/ecabinet/services/platform/unaccent"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	defaultSearchPageSize = 20
	maxSearchPageSize     = 100
)

// personFields is a person's validated, normalised details.
type personFields struct {
	FullName, Email, Phone, Card string
}

// validatePerson checks a person's details; field names are those of
// CreatePersonRequest.
func validatePerson(p personFields) (personFields, []rpcerr.Violation) {
	p = personFields{FullName: normalizeName(p.FullName), Email: normalize(p.Email),
		Phone: normalize(p.Phone), Card: normalizeCard(p.Card)}
	var vs []rpcerr.Violation
	vs = append(vs, checkText("full_name", p.FullName, maxNameLen, true)...)
	vs = append(vs, checkEmail("email", p.Email)...)
	vs = append(vs, checkPhone("phone", p.Phone)...)
	vs = append(vs, checkCard("party_card_number", p.Card)...)
	return p, vs
}

func (s *directoryServer) CreatePerson(ctx context.Context, req *meetingsv1.CreatePersonRequest) (*meetingsv1.CreatePersonResponse, error) {
	c, err := s.d.signedIn(ctx)
	if err != nil {
		return nil, err
	}
	if !administersAny(c) {
		return nil, status.Errorf(codes.PermissionDenied, "%s: adding people to the directory needs administrator rights in an organisation", service)
	}
	p, vs := validatePerson(personFields{FullName: req.GetFullName(), Email: req.GetEmail(), Phone: req.GetPhone(), Card: req.GetPartyCardNumber()})
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	id, err := newID()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%s: %v", service, err)
	}
	person, err := insertPerson(ctx, s.d.pool, id, p)
	if isUniqueViolation(err, "people_party_card") {
		return nil, status.Errorf(codes.AlreadyExists, "%s: a person with party card number %s is already in the directory", service, p.Card)
	}
	if err != nil {
		return nil, s.d.storeErr(ctx, "CreatePerson", err)
	}
	return &meetingsv1.CreatePersonResponse{Person: person}, nil
}

func (s *directoryServer) GetPerson(ctx context.Context, req *meetingsv1.GetPersonRequest) (*meetingsv1.GetPersonResponse, error) {
	c, err := s.d.signedIn(ctx)
	if err != nil {
		return nil, err
	}
	id, vs := parseID("person_id", req.GetPersonId())
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	// Visible: oneself; anyone to a system administrator; current members
	// of the caller's organisations; current and former members of the
	// organisations the caller administers. Everyone else does not exist.
	var self *string
	if isUUID(c.Subject) {
		self = &c.Subject
	}
	p, err := scanPerson(s.d.pool.QueryRow(ctx, `
		SELECT `+personColumns+` FROM people p
		WHERE p.id = $1 AND ($2 OR p.id = $3 OR EXISTS (
			SELECT 1 FROM memberships m WHERE m.person_id = p.id AND (
				(m.end_date IS NULL AND m.organization_id = ANY($4::uuid[])) OR m.organization_id = ANY($5::uuid[]))))`,
		id, isSystemAdmin(c), self, uuids(c.Orgs), uuids(c.AdminOrgs)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, status.Errorf(codes.NotFound, "%s: person %s not found", service, id)
	}
	if err != nil {
		return nil, s.d.storeErr(ctx, "GetPerson", err)
	}
	return &meetingsv1.GetPersonResponse{Person: p}, nil
}

func (s *directoryServer) SearchPeople(ctx context.Context, req *meetingsv1.SearchPeopleRequest) (*meetingsv1.SearchPeopleResponse, error) {
	c, err := s.d.signedIn(ctx)
	if err != nil {
		return nil, err
	}
	var vs []rpcerr.Violation
	q := normalize(req.GetQuery())
	vs = append(vs, checkText("query", q, maxQueryLen, false)...)
	var org string
	if o := normalize(req.GetOrganizationId()); o != "" {
		if !isUUID(o) {
			vs = append(vs, rpcerr.Violation{Field: "organization_id", Reason: rpcerr.ReasonInvalidFormat, Description: "must be a UUID"})
		} else if !canRead(c, o) {
			return nil, orgNotFound(o)
		}
		org = o
	}
	size := req.GetPageSize()
	switch {
	case size < 0:
		vs = append(vs, rpcerr.Violation{Field: "page_size", Reason: reasonOutOfRange, Description: "must not be negative"})
	case size == 0:
		size = defaultSearchPageSize
	case size > maxSearchPageSize:
		size = maxSearchPageSize
	}
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	people, err := s.d.searchPeople(ctx, c, q, org, int(size))
	if err != nil {
		return nil, s.d.storeErr(ctx, "SearchPeople", err)
	}
	return &meetingsv1.SearchPeopleResponse{People: people}, nil
}

// searchPeople finds people whose folded name contains every word of the
// folded query (in any order, as parts of words: "ng an" finds "Nguyễn Văn
// An"), or whose party card number is the query, among those the caller may
// see. Whole-word matches of the query come first.
//
// The LIKE '%…%' scan is fine for a bloc's few thousand people; a national
// deployment wants a trigram index on name_folded (pg_trgm).
func (d *Directory) searchPeople(ctx context.Context, c identity.Claims, q, org string, limit int) ([]*meetingsv1.Person, error) {
	folded := unaccent.Fold(q)
	args := []any{folded, normalizeCard(q)}
	// $1 and $2 are always referenced, so the argument count matches
	// however many words the query has.
	match := []string{`$1 = ''`, `p.party_card_number = $2`}
	var words []string
	for _, w := range strings.Fields(folded) {
		args = append(args, "%"+escapeLike(w)+"%")
		words = append(words, fmt.Sprintf(`p.name_folded LIKE $%d`, len(args)))
	}
	if len(words) > 0 {
		match = append(match, "("+strings.Join(words, " AND ")+")")
	}
	where := []string{"(" + strings.Join(match, " OR ") + ")"}
	ids, all := visibleOrgs(c)
	switch {
	case org != "":
		args = append(args, []string{org})
		where = append(where, fmt.Sprintf(`EXISTS (SELECT 1 FROM memberships m WHERE m.person_id = p.id AND m.end_date IS NULL AND m.organization_id = ANY($%d::uuid[]))`, len(args)))
	case !all:
		args = append(args, ids)
		where = append(where, fmt.Sprintf(`EXISTS (SELECT 1 FROM memberships m WHERE m.person_id = p.id AND m.end_date IS NULL AND m.organization_id = ANY($%d::uuid[]))`, len(args)))
	}
	sql := `SELECT ` + personColumns + ` FROM people p WHERE ` + strings.Join(where, " AND ")
	args = append(args, limit)
	sql += fmt.Sprintf(` ORDER BY ($1 <> '' AND position(' ' || $1 || ' ' IN ' ' || p.name_folded || ' ') > 0) DESC, p.name_folded, p.id LIMIT $%d`, len(args))
	rows, err := d.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*meetingsv1.Person, error) { return scanPerson(r) })
}

// escapeLike makes a search word match literally in LIKE (default escape
// character backslash).
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// querier is what both a pool and a transaction offer.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func insertPerson(ctx context.Context, q querier, id string, p personFields) (*meetingsv1.Person, error) {
	var card *string
	if p.Card != "" {
		card = &p.Card
	}
	return scanPerson(q.QueryRow(ctx, `
		INSERT INTO people AS p (id, full_name, name_folded, email, phone, party_card_number)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+personColumns,
		id, p.FullName, unaccent.Fold(p.FullName), p.Email, p.Phone, card))
}

const personColumns = `p.id, p.full_name, p.email, p.phone, p.party_card_number, p.create_time`

func scanPerson(row pgx.Row) (*meetingsv1.Person, error) {
	var p meetingsv1.Person
	var card *string
	var created time.Time
	if err := row.Scan(&p.Id, &p.FullName, &p.Email, &p.Phone, &card, &created); err != nil {
		return nil, err
	}
	if card != nil {
		p.PartyCardNumber = *card
	}
	p.CreateTime = ts(created)
	return &p, nil
}

// isUniqueViolation reports whether err is PostgreSQL refusing a duplicate
// in the named unique constraint or index.
func isUniqueViolation(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == constraint
}

// isForeignKeyViolation reports whether err is PostgreSQL refusing a
// reference to a missing row through the named constraint.
func isForeignKeyViolation(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503" && pe.ConstraintName == constraint
}
