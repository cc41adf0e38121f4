package gateway

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ecabinet/ecabinet/gateway/problem"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
)

const (
	// maxLoginBody is far above any real username and password; larger
	// bodies are refused before anything is parsed.
	maxLoginBody = 16 << 10
	// maxUserAgent keeps what is stored with a session reasonable.
	maxUserAgent = 512
)

// loginRequest is the body of POST /api/v1/auth/login.
type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// IssueToken asks for the session token in the response body, for API
	// clients that send it as a bearer token. The web app leaves it unset
	// and relies on the HttpOnly cookie, which script cannot read.
	IssueToken bool `json:"issueToken"`
}

// loginResponse is the answer to a successful login.
type loginResponse struct {
	Principal    json.RawMessage `json:"principal"`
	ExpireTime   time.Time       `json:"expireTime"`
	SessionToken string          `json:"sessionToken,omitempty"`
}

// Same options as grpc-gateway's marshaler, so the principal looks exactly
// like the one GET /api/v1/me returns.
var principalJSON = protojson.MarshalOptions{EmitUnpopulated: true}

// login signs a person in through AccountsService.Login and sets the session
// cookie.
func (g *Gateway) login(w http.ResponseWriter, r *http.Request) {
	// Login CSRF (signing a victim into the attacker's account) is refused
	// like any other cross-site write.
	if err := checkCSRF(r); err != nil {
		writeCSRF(w, r, err)
		return
	}
	var req loginRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxLoginBody))
	if err := dec.Decode(&req); err != nil {
		d := problem.New(r, http.StatusBadRequest, "InvalidArgument")
		d.Detail = "the body must be a JSON object {\"username\": …, \"password\": …}"
		problem.Write(w, d)
		return
	}
	resp, err := g.accounts.Login(identity.NewContext(r.Context(), gatewayClaims), &meetingsv1.LoginRequest{
		Username:      req.Username,
		Password:      req.Password,
		ClientAddress: clientAddress(r),
		UserAgent:     truncateUTF8(r.UserAgent(), maxUserAgent),
	})
	if err != nil {
		writeLoginError(w, r, err)
		return
	}
	principal, err := principalJSON.Marshal(resp.GetPrincipal())
	if err != nil {
		problem.WriteError(w, r, err)
		return
	}
	expires := resp.GetExpireTime().AsTime()
	g.sessions.put(resp.GetSessionToken(), principalClaims(resp.GetPrincipal()), expires)

	out := loginResponse{Principal: principal, ExpireTime: expires}
	if req.IssueToken {
		out.SessionToken = resp.GetSessionToken()
	}
	http.SetCookie(w, g.sessionCookie(resp.GetSessionToken(), expires))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}

// writeLoginError answers a failed login. Whatever the service's reason
// (unknown user, wrong password, no account), a rejected login gets one
// fixed body, so the answer never tells whether a username exists.
func writeLoginError(w http.ResponseWriter, r *http.Request, err error) {
	switch status.Code(err) {
	case codes.Unauthenticated, codes.NotFound, codes.PermissionDenied:
		d := problem.New(r, http.StatusUnauthorized, "Unauthenticated")
		d.Detail = loginFailed[problem.Language(r)]
		problem.Write(w, d)
	default:
		// Rate limiting (429 with Retry-After), invalid input (400 naming
		// the field), or the service being unavailable.
		problem.WriteError(w, r, err)
	}
}

var loginFailed = map[string]string{
	"vi": "Tên đăng nhập hoặc mật khẩu không đúng",
	"en": "Wrong username or password",
}

// logout ends the session (AccountsService.Logout), forgets it here at once
// and expires the cookie. Calling it without a session is not an error: the
// client is signed out either way.
func (g *Gateway) logout(w http.ResponseWriter, r *http.Request) {
	cred, ok := credentialFrom(r)
	// Cross-site logout is refused too (it would be a nuisance attack:
	// signing someone out of the meeting they are in).
	if !ok || cred.fromCookie {
		if err := checkCSRF(r); err != nil {
			writeCSRF(w, r, err)
			return
		}
	}
	// A signed identity token cannot be revoked (it simply expires), so
	// there is nothing to end for it.
	if ok && !cred.isIdentityToken() {
		g.sessions.evict(cred.token)
		_, err := g.accounts.Logout(identity.NewContext(r.Context(), gatewayClaims), &meetingsv1.LogoutRequest{SessionToken: cred.token})
		if err != nil && !badCredentials(err) {
			// Keep the cookie so that the client can retry: dropping it
			// would leave the session alive until it expires.
			problem.WriteError(w, r, err)
			return
		}
	}
	http.SetCookie(w, g.expiredSessionCookie())
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// sessionCookie carries the session token for the web app: HttpOnly so
// script (and so an XSS) cannot read it, SameSite=Strict so no other site
// can make the browser send it, Secure so it never crosses plain HTTP to a
// remote host (browsers treat http://localhost and 127.0.0.1 as secure).
func (g *Gateway) sessionCookie(token string, expires time.Time) *http.Cookie {
	return &http.Cookie{
		Name:     SessionCookie,
		Value:    token,
		Path:     "/",
		Expires:  expires,
		HttpOnly: true,
		Secure:   g.cfg.SessionCookieSecure,
		SameSite: http.SameSiteStrictMode,
	}
}

// expiredSessionCookie makes the browser delete the session cookie.
func (g *Gateway) expiredSessionCookie() *http.Cookie {
	c := g.sessionCookie("", time.Unix(0, 0))
	c.MaxAge = -1
	return c
}

// clientAddress is the TCP peer's IP, used by the accounts service to rate
// limit logins per address. X-Forwarded-For is ignored: anyone can send it,
// so trusting it would let an attacker pick a fresh address per attempt.
// Behind a reverse proxy every login then shares the proxy's address; a
// TRUSTED_PROXIES setting (take the forwarded address only from those
// peers) is the way to fix that when such a deployment appears.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// truncateUTF8 cuts s to at most n bytes without splitting a character and
// replaces invalid bytes, so the service gets valid text.
func truncateUTF8(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// methodNotAllowed answers other methods on the auth endpoints.
func methodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		problem.Write(w, problem.New(r, http.StatusMethodNotAllowed, "MethodNotAllowed"))
	})
}
