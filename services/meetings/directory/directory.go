// Package directory is the directory half of the meetings service: the
// organisation tree, the people in it and their memberships, member import
// from spreadsheets, and the accounts and sessions people sign in with. It
// serves DirectoryService and AccountsService, and gives the meeting side
// (the root package) a small Go API to read members without going through
// gRPC.
package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// service starts every status message, as in the rest of the meetings
// service: the directory is part of it, not a service of its own.
const service = "meetings"

// ErrNotFound is returned by the Go API for an unknown organisation or
// person (including ids that are not UUIDs at all).
var ErrNotFound = errors.New("directory: not found")

// Deps is what the directory needs from the meetings service.
type Deps struct {
	Log  *slog.Logger
	Pool *pgxpool.Pool // search_path set to the service's schema
	// Ready reports whether the schema is migrated; until it is, every RPC
	// answers Unavailable instead of leaking "relation does not exist".
	// Nil means always ready (the tables exist before the first call).
	Ready func() bool
}

// Directory serves DirectoryService and AccountsService and the Go API
// below.
type Directory struct {
	log    *slog.Logger
	pool   *pgxpool.Pool
	ready  func() bool
	hasher *hasher
}

// New returns a directory; nothing touches the network until a call.
func New(d Deps) *Directory {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ready := d.Ready
	if ready == nil {
		ready = func() bool { return true }
	}
	return &Directory{log: log.With("service", service, "part", "directory"), pool: d.Pool, ready: ready,
		hasher: newHasher(defaultParams)}
}

// Register adds DirectoryService and AccountsService to gs.
func (d *Directory) Register(gs *grpc.Server) { d.RegisterOn(gs) }

// RegisterOn is Register for any registrar (a grpcserver.Local too).
func (d *Directory) RegisterOn(r grpc.ServiceRegistrar) {
	meetingsv1.RegisterDirectoryServiceServer(r, &directoryServer{d: d})
	meetingsv1.RegisterAccountsServiceServer(r, &accountsServer{d: d})
}

// Member is one person's place in an organisation, as the meeting side
// needs it for participants and the quorum base.
type Member struct {
	PersonID, FullName string
	Role               meetingsv1.PartyRole
	Standing           meetingsv1.Standing
	Excused            bool
}

// Members returns the current members of an organisation's body
// (BODY_KIND_ALL_MEMBERS: of the organisation itself), most senior role
// first, then by name. An unknown organisation is ErrNotFound; an
// unspecified body is an error, as the caller must say which body meets.
func (d *Directory) Members(ctx context.Context, orgID string, body meetingsv1.BodyKind) ([]Member, error) {
	if !validBody(body) {
		return nil, fmt.Errorf("directory: members of %s: body %v is not a body", orgID, body)
	}
	if _, err := d.Organization(ctx, orgID); err != nil {
		return nil, err
	}
	rows, err := d.pool.Query(ctx, `
		SELECT p.id, p.full_name, m.role, m.standing, m.excused
		FROM memberships m JOIN people p ON p.id = m.person_id
		WHERE m.organization_id = $1 AND m.body = $2 AND m.end_date IS NULL
		ORDER BY `+roleRankSQL+`, p.name_folded, p.id`, orgID, body.String())
	if err != nil {
		return nil, fmt.Errorf("directory: members of %s: %w", orgID, err)
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Member, error) {
		var m Member
		var role, standing string
		err := r.Scan(&m.PersonID, &m.FullName, &role, &standing, &m.Excused)
		m.Role, m.Standing = parseRole(role), parseStanding(standing)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("directory: members of %s: %w", orgID, err)
	}
	return ms, nil
}

// Person returns a person's name and, if they are a current member of
// orgID (in any body), their most senior role there, standing and excused
// flag (taken from the membership of the whole organisation when there is
// one, as standing belongs to the party member, not to a body). For a
// non-member the role and standing are UNSPECIFIED. An unknown person is
// ErrNotFound.
func (d *Directory) Person(ctx context.Context, personID, orgID string) (Member, error) {
	if !isUUID(personID) {
		return Member{}, ErrNotFound
	}
	var org *string
	if isUUID(orgID) {
		org = &orgID
	}
	rows, err := d.pool.Query(ctx, `
		SELECT p.full_name, m.body, m.role, m.standing, m.excused
		FROM people p
		LEFT JOIN memberships m ON m.person_id = p.id AND m.organization_id = $2 AND m.end_date IS NULL
		WHERE p.id = $1
		ORDER BY `+roleRankSQL, personID, org)
	if err != nil {
		return Member{}, fmt.Errorf("directory: person %s: %w", personID, err)
	}
	defer rows.Close()
	m := Member{PersonID: personID}
	found, seen, fromAll := false, false, false
	for rows.Next() {
		var body, role, standing *string
		var excused *bool
		if err := rows.Scan(&m.FullName, &body, &role, &standing, &excused); err != nil {
			return Member{}, fmt.Errorf("directory: person %s: %w", personID, err)
		}
		found = true
		if role == nil {
			continue // no current membership in orgID
		}
		isAll := *body == meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS.String()
		if !seen {
			m.Role = parseRole(*role) // rows come most senior first
		}
		if !seen || (isAll && !fromAll) {
			m.Standing, m.Excused, fromAll = parseStanding(*standing), *excused, isAll
		}
		seen = true
	}
	if err := rows.Err(); err != nil {
		return Member{}, fmt.Errorf("directory: person %s: %w", personID, err)
	}
	if !found {
		return Member{}, ErrNotFound
	}
	return m, nil
}

// Organization returns an organisation, or ErrNotFound.
func (d *Directory) Organization(ctx context.Context, orgID string) (*meetingsv1.Organization, error) {
	if !isUUID(orgID) {
		return nil, ErrNotFound
	}
	o, err := scanOrganization(d.pool.QueryRow(ctx, `SELECT `+orgColumns+` FROM organizations WHERE id = $1`, orgID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("directory: organisation %s: %w", orgID, err)
	}
	return o, nil
}

// signedIn returns the caller of a directory or account RPC: a person
// signed in through the gateway, once the schema is ready. The gateway's
// own identity is refused here: it may only sign people in.
func (d *Directory) signedIn(ctx context.Context) (identity.Claims, error) {
	c, err := rpcerr.Caller(ctx, service)
	if err != nil {
		return c, err
	}
	if c.HasRole(identity.RoleGateway) {
		return c, status.Errorf(codes.PermissionDenied, "%s: the gateway's own identity may only sign people in, not act for them", service)
	}
	if err := rpcerr.CheckReady(service, d.ready()); err != nil {
		return c, err
	}
	return c, nil
}

// gatewayOnly admits the gateway acting for a person who is not signed in
// yet (Login, ResolveSession, Logout), and nobody else.
func (d *Directory) gatewayOnly(ctx context.Context) error {
	c, err := rpcerr.Caller(ctx, service)
	if err != nil {
		return err
	}
	if !c.HasRole(identity.RoleGateway) {
		return status.Errorf(codes.PermissionDenied, "%s: only the gateway may call this", service)
	}
	return rpcerr.CheckReady(service, d.ready())
}

// storeErr is rpcerr.FromStore with this package's logger.
func (d *Directory) storeErr(ctx context.Context, op string, err error) error {
	return rpcerr.FromStore(ctx, d.log, service, op, err)
}

func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new id: %w", err)
	}
	return id.String(), nil
}

// parseID checks a required id field of a request.
func parseID(field, s string) (string, []rpcerr.Violation) {
	s = normalize(s)
	switch {
	case s == "":
		return "", []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonRequired, Description: "must not be empty"}}
	case !isUUID(s):
		return "", []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonInvalidFormat, Description: "must be a UUID"}}
	}
	return s, nil
}

// vietnam is the time zone of the product's users; "today" for dates of
// membership is their today, not the server's. A fixed offset (Vietnam has
// no daylight saving time) spares the binary a tzdata dependency.
var vietnam = time.FixedZone("ICT", 7*60*60)

const dateLayout = "2006-01-02"

func today() time.Time {
	y, m, dd := time.Now().In(vietnam).Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
}

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }
