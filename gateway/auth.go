package gateway

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/ecabinet/ecabinet/gateway/problem"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// SessionCookie is the web app's session cookie; its value is the opaque
// session token AccountsService.Login issued.
const SessionCookie = "ecabinet_session"

// gatewayClaims is the gateway's own identity for the calls it makes before
// anyone is signed in (Login, ResolveSession, Logout); the accounts service
// accepts the "gateway" role for exactly those and nothing else does.
var gatewayClaims = identity.Claims{Subject: "gateway", Name: "ecabinet gateway", Roles: []string{identity.RoleGateway}}

var (
	errNoCredentials  = errors.New("not signed in: no session cookie or bearer token")
	errBadCredentials = errors.New("the session or token is invalid or has expired")
)

// credential is what a request presents: a bearer token (an opaque session
// token or a signed identity token) or the session cookie.
type credential struct {
	token      string
	fromCookie bool
}

// isIdentityToken tells a signed identity token (a JWT: three dot-separated
// parts, e.g. from `ecabinet -mint-token` for automation) from an opaque
// session token, which never contains a dot.
func (c credential) isIdentityToken() bool { return strings.Count(c.token, ".") == 2 }

// credentialFrom finds the caller's credential. An Authorization header
// wins over the cookie: a client that sends one means it.
func credentialFrom(r *http.Request) (credential, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return credential{}, false
		}
		return credential{token: strings.TrimSpace(token)}, true
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		return credential{token: c.Value, fromCookie: true}, true
	}
	return credential{}, false
}

// authenticate finds who is calling: the web app's session cookie, or a
// bearer token that is either a session token (API clients that logged in
// with issueToken) or a signed identity token (automation). An error that
// is a gRPC status other than "bad credentials" means the accounts service
// could not answer (e.g. Unavailable) and must not be reported as 401.
func (g *Gateway) authenticate(r *http.Request) (identity.Claims, error) {
	cred, ok := credentialFrom(r)
	if !ok {
		return identity.Claims{}, errNoCredentials
	}
	return g.authenticateCredential(r.Context(), cred)
}

func (g *Gateway) authenticateCredential(ctx context.Context, cred credential) (identity.Claims, error) {
	if cred.isIdentityToken() {
		c, err := g.verifier.Verify(cred.token)
		if err != nil {
			return identity.Claims{}, fmt.Errorf("%w (%v)", errBadCredentials, err)
		}
		if c.HasRole(identity.RoleGateway) {
			// Only the gateway itself acts as "gateway"; a client token
			// claiming it would reach the login RPCs as if it were us.
			return identity.Claims{}, fmt.Errorf("%w (the gateway role is reserved)", errBadCredentials)
		}
		return c, nil
	}
	return g.sessions.get(ctx, cred.token)
}

// resolveSession asks the accounts service who a session token belongs to.
func (g *Gateway) resolveSession(ctx context.Context, token string) (identity.Claims, time.Time, error) {
	resp, err := g.accounts.ResolveSession(identity.NewContext(ctx, gatewayClaims), &meetingsv1.ResolveSessionRequest{SessionToken: token})
	if err != nil {
		if badCredentials(err) {
			return identity.Claims{}, time.Time{}, errBadCredentials
		}
		return identity.Claims{}, time.Time{}, fmt.Errorf("checking the session: %w", err)
	}
	return principalClaims(resp.GetPrincipal()), resp.GetExpireTime().AsTime(), nil
}

// badCredentials reports whether the accounts service rejected the
// credentials themselves (as opposed to failing to answer).
func badCredentials(err error) bool {
	switch status.Code(err) {
	case codes.Unauthenticated, codes.NotFound, codes.InvalidArgument, codes.PermissionDenied:
		return true
	}
	return false
}

// principalClaims turns the accounts service's principal into the claims
// the gateway signs for every call the person makes.
func principalClaims(p *meetingsv1.Principal) identity.Claims {
	return identity.Claims{
		Subject:   p.GetPersonId(),
		Name:      p.GetFullName(),
		Orgs:      p.GetOrganizationIds(),
		AdminOrgs: p.GetAdminOrganizationIds(),
		Roles:     p.GetRoles(),
	}
}

// sessionMetadataKey carries the caller's own session token to
// AccountsService.ChangePassword (services/meetings/directory), which ends
// every other session of the person but keeps this one signed in.
const sessionMetadataKey = "x-ecabinet-session"

// sessionMetadata adds the session token to the one call that needs it; no
// other call gets it, so services never see a usable credential.
func sessionMetadata(ctx context.Context, r *http.Request) metadata.MD {
	if method, ok := runtime.RPCMethod(ctx); !ok || method != meetingsv1.AccountsService_ChangePassword_FullMethodName {
		return nil
	}
	if cred, ok := credentialFrom(r); ok && !cred.isIdentityToken() {
		return metadata.Pairs(sessionMetadataKey, cred.token)
	}
	return nil
}

// afterPasswordChange drops the caller's cached sessions once
// ChangePassword succeeded (grpc-gateway calls it with the response).
func (g *Gateway) afterPasswordChange(ctx context.Context, _ http.ResponseWriter, resp proto.Message) error {
	if _, ok := resp.(*meetingsv1.ChangePasswordResponse); ok {
		if c, ok := identity.FromContext(ctx); ok {
			g.sessions.evictPerson(c.Subject)
		}
	}
	return nil
}

// requireIdentity rejects unauthenticated calls with 401 and cross-site
// cookie calls with 403, and otherwise puts the caller's claims in the
// request context, where the gRPC client interceptor signs them into a
// short-lived token for the service.
func (g *Gateway) requireIdentity(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cred, ok := credentialFrom(r)
		if !ok {
			writeUnauthenticated(w, r, errNoCredentials)
			return
		}
		claims, err := g.authenticateCredential(r.Context(), cred)
		if err != nil {
			if _, isStatus := status.FromError(err); isStatus && !errors.Is(err, errBadCredentials) {
				problem.WriteError(w, r, err)
				return
			}
			writeUnauthenticated(w, r, err)
			return
		}
		if cred.fromCookie {
			if err := checkCSRF(r); err != nil {
				writeCSRF(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(identity.NewContext(r.Context(), claims)))
	})
}

func writeUnauthenticated(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="ecabinet"`)
	d := problem.New(r, http.StatusUnauthorized, "Unauthenticated")
	if errors.Is(err, errNoCredentials) {
		d.Detail = errNoCredentials.Error()
	} else {
		d.Detail = errBadCredentials.Error()
	}
	problem.Write(w, d)
}

// crossOrigin is the standard library's check: a browser's Sec-Fetch-Site
// must say same-origin, or else an Origin header must name this host.
// Requests with neither come from non-browser clients and pass.
var crossOrigin = http.NewCrossOriginProtection()

// checkCSRF guards cookie-authenticated (and not yet authenticated, for
// login) unsafe requests against cross-site request forgery. Browsers
// attach cookies to cross-site form posts, but a form can only send
// urlencoded, multipart or text/plain bodies, so requiring JSON means the
// request came from script, which the same-origin policy confines to our
// own pages (we grant no CORS). The origin check is a second, independent
// line. Bearer-authenticated requests need neither: a browser never adds an
// Authorization header by itself.
func checkCSRF(r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if err := crossOrigin.Check(r); err != nil {
		return fmt.Errorf("cross-origin request refused (Origin %q does not match host %q)", r.Header.Get("Origin"), r.Host)
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !allowedContentTypes[mt] {
		return fmt.Errorf("requests that change data must send Content-Type: application/json, got %q", r.Header.Get("Content-Type"))
	}
	return nil
}

// allowedContentTypes for unsafe cookie requests. Document uploads will add
// multipart/form-data, which forms can send cross-site, so that route must
// rely on the origin check (and a custom header) rather than this list.
var allowedContentTypes = map[string]bool{"application/json": true}

func writeCSRF(w http.ResponseWriter, r *http.Request, err error) {
	d := problem.New(r, http.StatusForbidden, "CrossSiteRequest")
	d.Detail = err.Error()
	problem.Write(w, d)
}
