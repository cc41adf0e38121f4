package directory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"github.com/jackc/pgx/v5"
	"golang.org/x/text/unicode/norm"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Sessions: a session ends 12 hours after it was last used (a tablet left
// signed in overnight in a meeting room is signed out by morning) and in
// any case 7 days after sign-in (so a stolen cookie does not live forever).
// The expire_time the API returns is the absolute end; the idle limit is
// enforced here on every ResolveSession.
const (
	sessionIdleTimeout = 12 * time.Hour
	sessionLifetime    = 7 * 24 * time.Hour
	// touchInterval bounds how often ResolveSession writes last_seen: the
	// gateway resolves the session on every request, and a write per
	// request would be all the database does on a meeting day.
	touchInterval = time.Minute
)

// Login rate limits, counted from the login_attempts table over
// loginWindow: failures for one username since its last successful login,
// and failures from one client address. Both apply to usernames that do
// not exist exactly as to those that do, so the limit reveals nothing.
const (
	loginWindow        = 15 * time.Minute
	maxFailuresPerUser = 5
	maxFailuresPerAddr = 20
	// Attempts are kept a day (far longer than the window, for looking
	// into an attack) and pruned a few at a time as failures are
	// recorded, so the table stays small without a background job.
	loginAttemptsKeep  = 24 * time.Hour
	loginAttemptsPrune = 100
	// maxAttemptUsername bounds what a stranger can make us store.
	maxAttemptUsername = 64
)

const (
	minPasswordLen    = 10
	maxPasswordBytes  = 1024
	sessionTokenBytes = 32
)

// SessionMetadataKey is the gRPC metadata key in which the gateway passes
// the caller's session token to ChangePassword, so that session stays
// signed in while every other session of the person is revoked. Without
// it, all of the person's sessions are revoked.
const SessionMetadataKey = "x-ecabinet-session"

var usernamePattern = regexp.MustCompile(`^[a-z0-9._-]{3,64}$`)

// knownRoles are the system-wide roles an account may hold. Organisation
// administration is not a role but a list of organisations.
var knownRoles = []string{identity.RoleSystemAdmin}

// errBadCredentials is the one answer to a failed login, whether the
// username exists or not.
var errBadCredentials = localized(codes.Unauthenticated,
	"wrong username or password", "Tên đăng nhập hoặc mật khẩu không đúng")

var errNoSession = localized(codes.Unauthenticated,
	"the session has ended or does not exist; sign in again",
	"Phiên đăng nhập đã hết hạn hoặc không tồn tại; vui lòng đăng nhập lại")

// localized is a status whose English message is the status message and
// whose Vietnamese and English texts ride along as LocalizedMessage
// details, for the gateway to show in the user's language.
func localized(code codes.Code, en, vi string) error {
	st := status.New(code, service+": "+en)
	if d, err := st.WithDetails(
		&errdetails.LocalizedMessage{Locale: "vi-VN", Message: vi},
		&errdetails.LocalizedMessage{Locale: "en-US", Message: en}); err == nil {
		st = d
	}
	return st.Err()
}

// accountsServer implements meetingsv1.AccountsServiceServer.
type accountsServer struct {
	meetingsv1.UnimplementedAccountsServiceServer
	d *Directory
}

func (s *accountsServer) Login(ctx context.Context, req *meetingsv1.LoginRequest) (*meetingsv1.LoginResponse, error) {
	if err := s.d.gatewayOnly(ctx); err != nil {
		return nil, err
	}
	username := strings.ToLower(normalize(req.GetUsername()))
	password := normalizePassword(req.GetPassword())
	var vs []rpcerr.Violation
	if username == "" {
		vs = append(vs, rpcerr.Violation{Field: "username", Reason: rpcerr.ReasonRequired, Description: "must not be empty"})
	}
	if password == "" {
		vs = append(vs, rpcerr.Violation{Field: "password", Reason: rpcerr.ReasonRequired, Description: "must not be empty"})
	}
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	// Attempts are counted under at most 64 characters of the name (no
	// real username is longer), so junk cannot bloat the table.
	attempt := truncateRunes(username, maxAttemptUsername)
	addr := clientAddress(req.GetClientAddress())
	userAgent := truncateRunes(normalize(req.GetUserAgent()), maxUserAgentLen)

	if err := s.d.checkLoginRate(ctx, attempt, addr); err != nil {
		return nil, err
	}
	var personID, phc string
	err := s.d.pool.QueryRow(ctx, `SELECT person_id, password_hash FROM accounts WHERE username = $1`, username).Scan(&personID, &phc)
	if errors.Is(err, pgx.ErrNoRows) {
		// The same work as for a real account, then the same answer.
		if err := s.d.hasher.verifyDummy(ctx, password); err != nil {
			return nil, status.Errorf(codes.Internal, "%s: %v", service, err)
		}
		return nil, s.d.loginFailed(ctx, attempt, addr)
	}
	if err != nil {
		return nil, s.d.storeErr(ctx, "Login", err)
	}
	ok, stale, err := s.d.hasher.verify(ctx, password, phc)
	if err != nil {
		if ctx.Err() != nil {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		// A corrupted hash must not tell the caller the account exists.
		s.d.log.ErrorContext(ctx, "stored password hash unusable", "person_id", personID, "err", err)
	}
	if !ok {
		return nil, s.d.loginFailed(ctx, attempt, addr)
	}
	var newHash string
	if stale {
		if newHash, err = s.d.hasher.hash(ctx, password); err != nil {
			return nil, status.Errorf(codes.Internal, "%s: %v", service, err)
		}
	}
	token, tokenHash, err := newSessionToken()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%s: %v", service, err)
	}
	var expires time.Time
	err = pgx.BeginFunc(ctx, s.d.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `
			INSERT INTO sessions (token_hash, person_id, expire_time, client_address, user_agent)
			VALUES ($1, $2, now() + make_interval(secs => $3), $4, $5) RETURNING expire_time`,
			tokenHash, personID, sessionLifetime.Seconds(), addr, userAgent).Scan(&expires); err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO login_attempts (username, client_address, succeeded) VALUES ($1, $2, true)`,
			attempt, addr); err != nil {
			return fmt.Errorf("record login: %w", err)
		}
		// Housekeeping while we are here: this person's dead sessions.
		if _, err := tx.Exec(ctx, `
			DELETE FROM sessions WHERE person_id = $1
			AND (expire_time <= now() OR last_seen <= now() - make_interval(secs => $2))`,
			personID, sessionIdleTimeout.Seconds()); err != nil {
			return fmt.Errorf("delete expired sessions: %w", err)
		}
		if newHash != "" {
			if _, err := tx.Exec(ctx, `UPDATE accounts SET password_hash = $2 WHERE person_id = $1`, personID, newHash); err != nil {
				return fmt.Errorf("rehash password: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.d.storeErr(ctx, "Login", err)
	}
	p, err := s.d.principal(ctx, personID)
	if err != nil {
		return nil, s.d.storeErr(ctx, "Login", err)
	}
	return &meetingsv1.LoginResponse{SessionToken: token, ExpireTime: timestamppb.New(expires), Principal: p}, nil
}

func (s *accountsServer) ResolveSession(ctx context.Context, req *meetingsv1.ResolveSessionRequest) (*meetingsv1.ResolveSessionResponse, error) {
	if err := s.d.gatewayOnly(ctx); err != nil {
		return nil, err
	}
	tokenHash, ok := hashSessionToken(req.GetSessionToken())
	if !ok {
		return nil, errNoSession
	}
	var personID string
	var expires time.Time
	var stale bool
	err := s.d.pool.QueryRow(ctx, `
		SELECT person_id, expire_time, last_seen < now() - make_interval(secs => $3)
		FROM sessions
		WHERE token_hash = $1 AND expire_time > now() AND last_seen > now() - make_interval(secs => $2)`,
		tokenHash, sessionIdleTimeout.Seconds(), touchInterval.Seconds()).Scan(&personID, &expires, &stale)
	if errors.Is(err, pgx.ErrNoRows) {
		// An ended session is useless; remove it if it is there at all.
		if _, err := s.d.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash); err != nil {
			s.d.log.WarnContext(ctx, "delete ended session", "err", err)
		}
		return nil, errNoSession
	}
	if err != nil {
		return nil, s.d.storeErr(ctx, "ResolveSession", err)
	}
	if stale {
		if _, err := s.d.pool.Exec(ctx, `UPDATE sessions SET last_seen = now() WHERE token_hash = $1`, tokenHash); err != nil {
			return nil, s.d.storeErr(ctx, "ResolveSession", err)
		}
	}
	p, err := s.d.principal(ctx, personID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, s.d.storeErr(ctx, "ResolveSession", err)
	}
	return &meetingsv1.ResolveSessionResponse{Principal: p, ExpireTime: timestamppb.New(expires)}, nil
}

func (s *accountsServer) Logout(ctx context.Context, req *meetingsv1.LogoutRequest) (*meetingsv1.LogoutResponse, error) {
	if err := s.d.gatewayOnly(ctx); err != nil {
		return nil, err
	}
	// Logging out of a session that does not exist (already ended, or
	// never did) succeeds: the outcome the caller wants holds.
	if tokenHash, ok := hashSessionToken(req.GetSessionToken()); ok {
		if _, err := s.d.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash); err != nil {
			return nil, s.d.storeErr(ctx, "Logout", err)
		}
	}
	return &meetingsv1.LogoutResponse{}, nil
}

func (s *accountsServer) GetMe(ctx context.Context, _ *meetingsv1.GetMeRequest) (*meetingsv1.GetMeResponse, error) {
	c, err := s.d.signedIn(ctx)
	if err != nil {
		return nil, err
	}
	if !isUUID(c.Subject) {
		return nil, noAccount()
	}
	p, err := s.d.principal(ctx, c.Subject)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, noAccount()
	}
	if err != nil {
		return nil, s.d.storeErr(ctx, "GetMe", err)
	}
	return &meetingsv1.GetMeResponse{Principal: p}, nil
}

func noAccount() error {
	return status.Errorf(codes.NotFound, "%s: the caller has no account", service)
}

func (s *accountsServer) ChangePassword(ctx context.Context, req *meetingsv1.ChangePasswordRequest) (*meetingsv1.ChangePasswordResponse, error) {
	c, err := s.d.signedIn(ctx)
	if err != nil {
		return nil, err
	}
	if !isUUID(c.Subject) {
		return nil, noAccount()
	}
	var username, phc string
	err = s.d.pool.QueryRow(ctx, `SELECT username, password_hash FROM accounts WHERE person_id = $1`, c.Subject).Scan(&username, &phc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, noAccount()
	}
	if err != nil {
		return nil, s.d.storeErr(ctx, "ChangePassword", err)
	}
	current, next := normalizePassword(req.GetCurrentPassword()), normalizePassword(req.GetNewPassword())
	var vs []rpcerr.Violation
	if current == "" {
		vs = append(vs, rpcerr.Violation{Field: "current_password", Reason: rpcerr.ReasonRequired, Description: "must not be empty"})
	}
	vs = append(vs, checkNewPassword("new_password", next, username)...)
	if current != "" && next == current {
		vs = append(vs, rpcerr.Violation{Field: "new_password", Reason: reasonNotAllowed, Description: "must differ from the current password"})
	}
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	// Guessing the current password with a stolen session is guessing a
	// password: it counts against the same per-username limit as logins.
	if err := s.d.checkLoginRate(ctx, username, ""); err != nil {
		return nil, err
	}
	ok, _, err := s.d.hasher.verify(ctx, current, phc)
	if err != nil && ctx.Err() != nil {
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if !ok {
		if err := s.d.recordFailure(ctx, username, ""); err != nil {
			return nil, s.d.storeErr(ctx, "ChangePassword", err)
		}
		return nil, rpcerr.Invalid(service, []rpcerr.Violation{{Field: "current_password", Reason: reasonIncorrect, Description: "is not the current password"}})
	}
	newHash, err := s.d.hasher.hash(ctx, next)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%s: %v", service, err)
	}
	// The caller's own session (if the gateway named it) survives; every
	// other session of the person ends, so whoever else held one is out.
	var keep []byte
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(SessionMetadataKey); len(v) > 0 {
			keep, _ = hashSessionToken(v[0])
		}
	}
	err = pgx.BeginFunc(ctx, s.d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE accounts SET password_hash = $2, password_changed_at = now() WHERE person_id = $1`,
			c.Subject, newHash); err != nil {
			return fmt.Errorf("update password: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE person_id = $1 AND ($2::bytea IS NULL OR token_hash <> $2)`,
			c.Subject, keep); err != nil {
			return fmt.Errorf("revoke sessions: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, s.d.storeErr(ctx, "ChangePassword", err)
	}
	return &meetingsv1.ChangePasswordResponse{}, nil
}

func (s *accountsServer) CreateAccount(ctx context.Context, req *meetingsv1.CreateAccountRequest) (*meetingsv1.CreateAccountResponse, error) {
	c, err := s.d.signedIn(ctx)
	if err != nil {
		return nil, err
	}
	if !administersAny(c) {
		return nil, status.Errorf(codes.PermissionDenied, "%s: creating accounts needs administrator rights", service)
	}
	person, vs := parseID("person_id", req.GetPersonId())
	username := strings.ToLower(normalize(req.GetUsername()))
	switch {
	case username == "":
		vs = append(vs, rpcerr.Violation{Field: "username", Reason: rpcerr.ReasonRequired, Description: "must not be empty"})
	case !usernamePattern.MatchString(username):
		vs = append(vs, rpcerr.Violation{Field: "username", Reason: rpcerr.ReasonInvalidFormat,
			Description: "must be 3 to 64 characters of a-z, 0-9, '.', '_' and '-'"})
	}
	password := normalizePassword(req.GetPassword())
	vs = append(vs, checkNewPassword("password", password, username)...)
	roles := []string{} // NOT NULL column: an empty array, not NULL
	for i, r := range req.GetRoles() {
		r = strings.TrimSpace(r)
		switch {
		case !slices.Contains(knownRoles, r):
			vs = append(vs, rpcerr.Violation{Field: fmt.Sprintf("roles[%d]", i), Reason: rpcerr.ReasonUnknownValue,
				Description: fmt.Sprintf("unknown role %q; known: %s", r, strings.Join(knownRoles, ", "))})
		case !slices.Contains(roles, r):
			roles = append(roles, r)
		}
	}
	var adminOrgs []string
	for i, o := range req.GetAdminOrganizationIds() {
		o = normalize(o)
		if !isUUID(o) {
			vs = append(vs, rpcerr.Violation{Field: fmt.Sprintf("admin_organization_ids[%d]", i), Reason: rpcerr.ReasonInvalidFormat, Description: "must be a UUID"})
		} else if !slices.Contains(adminOrgs, o) {
			adminOrgs = append(adminOrgs, o)
		}
	}
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	if slices.Contains(roles, identity.RoleSystemAdmin) && !isSystemAdmin(c) {
		return nil, status.Errorf(codes.PermissionDenied, "%s: only a system administrator may grant %s", service, identity.RoleSystemAdmin)
	}
	for _, o := range adminOrgs {
		if !c.IsOrgAdmin(o) {
			return nil, status.Errorf(codes.PermissionDenied, "%s: making someone administrator of organisation %s needs administrator rights there", service, o)
		}
	}
	if err := s.d.mayCreateAccountFor(ctx, c, person); err != nil {
		return nil, err
	}
	phc, err := s.d.hasher.hash(ctx, password)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%s: %v", service, err)
	}
	err = pgx.BeginFunc(ctx, s.d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO accounts (person_id, username, password_hash, roles) VALUES ($1, $2, $3, $4)`,
			person, username, phc, roles); err != nil {
			return err
		}
		for _, o := range adminOrgs {
			if _, err := tx.Exec(ctx, `INSERT INTO account_admin_orgs (person_id, organization_id) VALUES ($1, $2)`, person, o); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case isUniqueViolation(err, "accounts_pkey"):
		return nil, status.Errorf(codes.AlreadyExists, "%s: person %s already has an account", service, person)
	case isUniqueViolation(err, "accounts_username_key"):
		return nil, status.Errorf(codes.AlreadyExists, "%s: username %q is taken", service, username)
	case isForeignKeyViolation(err, "account_admin_orgs_organization_id_fkey"):
		return nil, status.Errorf(codes.NotFound, "%s: an organisation in admin_organization_ids does not exist", service)
	case err != nil:
		return nil, s.d.storeErr(ctx, "CreateAccount", err)
	}
	p, err := s.d.principal(ctx, person)
	if err != nil {
		return nil, s.d.storeErr(ctx, "CreateAccount", err)
	}
	return &meetingsv1.CreateAccountResponse{Principal: p}, nil
}

// mayCreateAccountFor allows a system administrator to give anyone in the
// directory an account, and an organisation administrator anyone who is a
// current member of an organisation they administer. To anybody else an
// unknown person and somebody else's member look the same.
func (d *Directory) mayCreateAccountFor(ctx context.Context, c identity.Claims, person string) error {
	var exists, administered bool
	err := d.pool.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM people WHERE id = $1),
		       EXISTS (SELECT 1 FROM memberships WHERE person_id = $1 AND end_date IS NULL AND organization_id = ANY($2::uuid[]))`,
		person, uuids(c.AdminOrgs)).Scan(&exists, &administered)
	if err != nil {
		return d.storeErr(ctx, "CreateAccount", err)
	}
	switch {
	case isSystemAdmin(c) && !exists:
		return status.Errorf(codes.NotFound, "%s: person %s not found", service, person)
	case isSystemAdmin(c) || administered:
		return nil
	}
	return status.Errorf(codes.PermissionDenied,
		"%s: creating an account for person %s needs administrator rights in an organisation they are a member of", service, person)
}

// principal reads who a person is and what they may do, fresh from the
// directory: memberships and administered organisations (expanded to every
// organisation below them) change without the person signing in again.
// pgx.ErrNoRows if the person has no account.
func (d *Directory) principal(ctx context.Context, personID string) (*meetingsv1.Principal, error) {
	var p meetingsv1.Principal
	err := d.pool.QueryRow(ctx, `
		SELECT a.person_id, p.full_name, a.username, a.roles,
			ARRAY(SELECT DISTINCT m.organization_id::text FROM memberships m
			      WHERE m.person_id = $1 AND m.end_date IS NULL ORDER BY 1),
			ARRAY(WITH RECURSIVE t(id) AS (
			          SELECT organization_id FROM account_admin_orgs WHERE person_id = $1
			          UNION
			          SELECT o.id FROM organizations o JOIN t ON o.parent_id = t.id)
			      SELECT id::text FROM t ORDER BY 1)
		FROM accounts a JOIN people p ON p.id = a.person_id
		WHERE a.person_id = $1`, personID).Scan(
		&p.PersonId, &p.FullName, &p.Username, &p.Roles, &p.OrganizationIds, &p.AdminOrganizationIds)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// checkLoginRate refuses an attempt for username (and from addr, unless
// empty) once the recent failures reach the limits. It runs before the
// password is checked, so a locked account costs the server nothing and
// tells nothing, not even whether the password was right. The refusal says
// when the next attempt will be let through (RetryInfo).
func (d *Directory) checkLoginRate(ctx context.Context, username, addr string) error {
	var now time.Time
	var userFailures, addrFailures []time.Time
	err := d.pool.QueryRow(ctx, `
		SELECT now(),
			ARRAY(SELECT attempt_time FROM login_attempts
			      WHERE username = $1 AND NOT succeeded AND attempt_time > now() - make_interval(secs => $3)
			        AND attempt_time > coalesce((SELECT max(attempt_time) FROM login_attempts
			                                     WHERE username = $1 AND succeeded), '-infinity')
			      ORDER BY attempt_time),
			ARRAY(SELECT attempt_time FROM login_attempts
			      WHERE $2 <> '' AND client_address = $2 AND NOT succeeded AND attempt_time > now() - make_interval(secs => $3)
			      ORDER BY attempt_time)`,
		username, addr, loginWindow.Seconds()).Scan(&now, &userFailures, &addrFailures)
	if err != nil {
		return d.storeErr(ctx, "Login", err)
	}
	// The attempt is let through once enough failures have aged out of
	// the window to bring the count under the limit.
	var wait time.Duration
	for _, l := range []struct {
		failures []time.Time
		limit    int
	}{{userFailures, maxFailuresPerUser}, {addrFailures, maxFailuresPerAddr}} {
		if n := len(l.failures); n >= l.limit {
			wait = max(wait, l.failures[n-l.limit].Add(loginWindow).Sub(now))
		}
	}
	if wait <= 0 {
		return nil
	}
	d.log.WarnContext(ctx, "login rate limit reached", "username", username, "client_address", addr,
		"user_failures", len(userFailures), "address_failures", len(addrFailures), "retry_after", wait)
	return tooManyAttempts(wait)
}

// tooManyAttempts is the rate limit's answer, saying when to try again.
func tooManyAttempts(wait time.Duration) error {
	minutes := int((wait + time.Minute - 1) / time.Minute)
	st := status.New(codes.ResourceExhausted, fmt.Sprintf("%s: too many failed sign-in attempts; try again in %d minutes", service, minutes))
	if d, err := st.WithDetails(
		&errdetails.RetryInfo{RetryDelay: durationpb.New(wait.Round(time.Second))},
		&errdetails.LocalizedMessage{Locale: "vi-VN", Message: fmt.Sprintf("Đăng nhập sai quá nhiều lần; vui lòng thử lại sau %d phút.", minutes)},
		&errdetails.LocalizedMessage{Locale: "en-US", Message: fmt.Sprintf("Too many failed sign-in attempts; please try again in %d minutes.", minutes)},
	); err == nil {
		st = d
	}
	return st.Err()
}

// loginFailed records a failed attempt and returns the one failure answer.
func (d *Directory) loginFailed(ctx context.Context, username, addr string) error {
	if err := d.recordFailure(ctx, username, addr); err != nil {
		return d.storeErr(ctx, "Login", err)
	}
	return errBadCredentials
}

func (d *Directory) recordFailure(ctx context.Context, username, addr string) error {
	_, err := d.pool.Exec(ctx, `
		WITH pruned AS (
			DELETE FROM login_attempts WHERE id IN (
				SELECT id FROM login_attempts WHERE attempt_time < now() - make_interval(secs => $3)
				ORDER BY id LIMIT $4))
		INSERT INTO login_attempts (username, client_address, succeeded) VALUES ($1, $2, false)`,
		username, addr, loginAttemptsKeep.Seconds(), loginAttemptsPrune)
	if err != nil {
		return fmt.Errorf("record failed login: %w", err)
	}
	return nil
}

// checkNewPassword applies the password rules: at least 10 characters
// (length beats composition rules), not the username, and a bound on size.
func checkNewPassword(field, password, username string) []rpcerr.Violation {
	switch {
	case password == "":
		return []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonRequired, Description: "must not be empty"}}
	case utf8.RuneCountInString(password) < minPasswordLen:
		return []rpcerr.Violation{{Field: field, Reason: reasonTooShort, Description: fmt.Sprintf("must be at least %d characters", minPasswordLen)}}
	case len(password) > maxPasswordBytes:
		return []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonTooLong, Description: fmt.Sprintf("must be at most %d bytes", maxPasswordBytes)}}
	case username != "" && strings.EqualFold(password, username):
		return []rpcerr.Violation{{Field: field, Reason: reasonSameAsUsername, Description: "must not be the username"}}
	}
	return nil
}

// normalizePassword composes the password (NFC) without trimming: a
// Vietnamese password typed on a phone and on a PC keyboard can differ in
// composition only, and must still be the same password.
func normalizePassword(s string) string { return norm.NFC.String(s) }

// clientAddress keeps the host of "host:port", so every connection from
// one machine counts against the same per-address limit.
func clientAddress(s string) string {
	s = strings.TrimSpace(s)
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	return truncateRunes(s, maxAddressLen)
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// newSessionToken returns a fresh opaque token (32 random bytes,
// base64url) and the SHA-256 that is stored in its place: a copy of the
// sessions table does not let anyone sign in.
func newSessionToken() (token string, hash []byte, err error) {
	b := make([]byte, sessionTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("session token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	h, _ := hashSessionToken(token)
	return token, h, nil
}

// hashSessionToken returns the stored form of a token, or false for
// something that cannot be one of ours (no database round trip for junk).
func hashSessionToken(token string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != sessionTokenBytes {
		return nil, false
	}
	h := sha256.Sum256([]byte(token))
	return h[:], true
}
