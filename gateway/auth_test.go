package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// The gateway's side of signing in is tested against an in-process gRPC
// server standing in for the accounts and meetings services (their real
// behaviour is tested in services/meetings and end to end in e2e/). It
// checks the identity the gateway presents exactly as a real service does.

const (
	goodToken  = "session-token-of-an"
	expireSoon = time.Hour
)

var principalAn = &meetingsv1.Principal{
	PersonId:             "p-an",
	FullName:             "Nguyễn Văn An",
	Username:             "an",
	Roles:                []string{},
	OrganizationIds:      []string{"org-bloc"},
	AdminOrganizationIds: []string{"org-bloc", "org-cell"},
}

// fakeAccounts is a scripted AccountsService + MeetingsService.
type fakeAccounts struct {
	meetingsv1.UnimplementedAccountsServiceServer
	meetingsv1.UnimplementedMeetingsServiceServer

	mu        sync.Mutex
	logins    []*meetingsv1.LoginRequest
	callers   []identity.Claims // who called Login/ResolveSession/Logout
	resolves  int
	logouts   []string
	revoked   map[string]bool
	loginErr  error // returned by Login when set
	resolveOK bool  // ResolveSession answers Unavailable unless set
	// passwordSessions is the session metadata of each ChangePassword.
	passwordSessions []string
}

func (f *fakeAccounts) record(ctx context.Context) {
	c, _ := identity.FromContext(ctx)
	f.callers = append(f.callers, c)
}

func (f *fakeAccounts) Login(ctx context.Context, req *meetingsv1.LoginRequest) (*meetingsv1.LoginResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(ctx)
	f.logins = append(f.logins, req)
	if f.loginErr != nil {
		return nil, f.loginErr
	}
	return &meetingsv1.LoginResponse{
		SessionToken: goodToken,
		ExpireTime:   timestamppb.New(time.Now().Add(expireSoon).Truncate(time.Second)),
		Principal:    principalAn,
	}, nil
}

func (f *fakeAccounts) ResolveSession(ctx context.Context, req *meetingsv1.ResolveSessionRequest) (*meetingsv1.ResolveSessionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(ctx)
	f.resolves++
	if !f.resolveOK {
		return nil, status.Error(codes.Unavailable, "meetings: database unavailable; retry shortly")
	}
	if req.GetSessionToken() != goodToken || f.revoked[req.GetSessionToken()] {
		return nil, status.Error(codes.Unauthenticated, "meetings: session expired or unknown")
	}
	return &meetingsv1.ResolveSessionResponse{Principal: principalAn, ExpireTime: timestamppb.New(time.Now().Add(expireSoon))}, nil
}

func (f *fakeAccounts) Logout(ctx context.Context, req *meetingsv1.LogoutRequest) (*meetingsv1.LogoutResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(ctx)
	f.logouts = append(f.logouts, req.GetSessionToken())
	if f.revoked == nil {
		f.revoked = map[string]bool{}
	}
	f.revoked[req.GetSessionToken()] = true
	return &meetingsv1.LogoutResponse{}, nil
}

func (f *fakeAccounts) GetMe(ctx context.Context, _ *meetingsv1.GetMeRequest) (*meetingsv1.GetMeResponse, error) {
	c, _ := identity.FromContext(ctx)
	return &meetingsv1.GetMeResponse{Principal: &meetingsv1.Principal{PersonId: c.Subject, FullName: c.Name}}, nil
}

func (f *fakeAccounts) ChangePassword(ctx context.Context, _ *meetingsv1.ChangePasswordRequest) (*meetingsv1.ChangePasswordResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.passwordSessions = append(f.passwordSessions, strings.Join(md.Get(sessionMetadataKey), ","))
	return &meetingsv1.ChangePasswordResponse{}, nil
}

func (f *fakeAccounts) GetInvitationCalendar(ctx context.Context, req *meetingsv1.GetInvitationCalendarRequest) (*meetingsv1.GetInvitationCalendarResponse, error) {
	if c, _ := identity.FromContext(ctx); c.Subject != principalAn.PersonId {
		return nil, status.Error(codes.NotFound, "meetings: meeting not found")
	}
	return &meetingsv1.GetInvitationCalendarResponse{
		Ics:      "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Hội nghị " + req.GetMeetingId() + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		FileName: "Hội nghị Ban Thường vụ.ics",
	}, nil
}

// env is a gateway wired to a fakeAccounts.
type env struct {
	t      *testing.T
	fake   *fakeAccounts
	gw     *Gateway
	signer *identity.Signer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	seed := make([]byte, 32)
	_, _ = rand.Read(seed)
	signer, err := identity.NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeAccounts{resolveOK: true}
	srv := grpc.NewServer(grpc.UnaryInterceptor(identity.UnaryServerInterceptor(identity.NewVerifier(signer.PublicKey()))))
	meetingsv1.RegisterAccountsServiceServer(srv, fake)
	meetingsv1.RegisterMeetingsServiceServer(srv, fake)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	gw, err := New(Config{
		GRPCAddr:            lis.Addr().String(),
		SigningKey:          base64.StdEncoding.EncodeToString(seed),
		SessionCookieSecure: true,
	}, Deps{Log: slog.New(slog.DiscardHandler), Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, u := range gw.upstreams {
			_ = u.conn.Close()
		}
	})
	return &env{t: t, fake: fake, gw: gw, signer: signer}
}

// do serves one request; configure adjusts it before.
func (e *env) do(method, path, body string, configure func(*http.Request)) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if configure != nil {
		configure(r)
	}
	w := httptest.NewRecorder()
	e.gw.Handler().ServeHTTP(w, r)
	return w
}

func withCookie(token string) func(*http.Request) {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: SessionCookie, Value: token}) }
}

func withBearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func sessionCookieOf(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == SessionCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", SessionCookie, w.Header()["Set-Cookie"])
	return nil
}

func TestLoginSetsAStrictHttpOnlySecureCookieAndCallsAsTheGateway(t *testing.T) {
	e := newEnv(t)
	w := e.do(http.MethodPost, "/api/v1/auth/login", `{"username":"an","password":"mật khẩu"}`, func(r *http.Request) {
		r.RemoteAddr = "192.0.2.7:51000"
		r.Header.Set("X-Forwarded-For", "203.0.113.9") // not trusted
		r.Header.Set("User-Agent", "Tablet/1.0")
	})
	if w.Code != http.StatusOK {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	c := sessionCookieOf(t, w)
	if c.Value != goodToken || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Errorf("cookie %+v: want the token, HttpOnly, Secure, SameSite=Strict, Path=/", c)
	}
	var body struct {
		Principal    map[string]any `json:"principal"`
		ExpireTime   time.Time      `json:"expireTime"`
		SessionToken *string        `json:"sessionToken"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if !c.Expires.Equal(body.ExpireTime) || body.ExpireTime.IsZero() {
		t.Errorf("cookie expires %v, body expireTime %v: want the session's expiry in both", c.Expires, body.ExpireTime)
	}
	if body.Principal["personId"] != "p-an" || body.Principal["fullName"] != "Nguyễn Văn An" {
		t.Errorf("principal %v", body.Principal)
	}
	if body.SessionToken != nil {
		t.Errorf("the web app's login returned the session token %q; it must stay in the HttpOnly cookie", *body.SessionToken)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q", got)
	}

	e.fake.mu.Lock()
	defer e.fake.mu.Unlock()
	req := e.fake.logins[0]
	if req.GetClientAddress() != "192.0.2.7" || req.GetUserAgent() != "Tablet/1.0" || req.GetPassword() != "mật khẩu" {
		t.Errorf("Login got address %q, agent %q, password %q", req.GetClientAddress(), req.GetUserAgent(), req.GetPassword())
	}
	if c := e.fake.callers[0]; c.Subject != "gateway" || !c.HasRole(identity.RoleGateway) {
		t.Errorf("Login called as %+v, want the gateway identity", c)
	}
}

func TestLoginIssuesTheTokenOnlyWhenAsked(t *testing.T) {
	e := newEnv(t)
	w := e.do(http.MethodPost, "/api/v1/auth/login", `{"username":"an","password":"x","issueToken":true}`, nil)
	var body struct {
		SessionToken string `json:"sessionToken"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != http.StatusOK || body.SessionToken != goodToken {
		t.Fatalf("login with issueToken: %d %s", w.Code, w.Body)
	}
	// The token works as a bearer token (no cookie, no CSRF rule).
	if w := e.do(http.MethodGet, "/api/v1/me", "", withBearer(body.SessionToken)); w.Code != http.StatusOK {
		t.Errorf("GET /api/v1/me with the session as bearer: %d %s", w.Code, w.Body)
	}
}

func TestRejectedLoginsLookTheSameWhateverTheReason(t *testing.T) {
	e := newEnv(t)
	var bodies []string
	for _, err := range []error{
		status.Error(codes.Unauthenticated, "meetings: no account named ghost"),
		status.Error(codes.Unauthenticated, "meetings: wrong password for an"),
		status.Error(codes.NotFound, "meetings: account not found"),
	} {
		e.fake.mu.Lock()
		e.fake.loginErr = err
		e.fake.mu.Unlock()
		w := e.do(http.MethodPost, "/api/v1/auth/login", `{"username":"an","password":"x"}`, nil)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("%v: status %d", err, w.Code)
		}
		if len(w.Result().Cookies()) != 0 {
			t.Errorf("%v: a cookie was set", err)
		}
		bodies = append(bodies, w.Body.String())
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Errorf("login failures differ:\n%s\n%s", bodies[0], b)
		}
	}
	if !strings.Contains(bodies[0], "Tên đăng nhập hoặc mật khẩu không đúng") {
		t.Errorf("failure body %s: want the Vietnamese message", bodies[0])
	}
}

func TestRateLimitedLoginSaysWhenToRetry(t *testing.T) {
	e := newEnv(t)
	st, _ := status.New(codes.ResourceExhausted, "meetings: too many failed logins").
		WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(5 * time.Minute)})
	e.fake.loginErr = st.Err()
	w := e.do(http.MethodPost, "/api/v1/auth/login", `{"username":"an","password":"x"}`, nil)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "300" {
		t.Errorf("rate limited: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
}

func TestLoginRefusesFormPostsAndOtherOrigins(t *testing.T) {
	e := newEnv(t)
	w := e.do(http.MethodPost, "/api/v1/auth/login", "username=an&password=x", func(r *http.Request) {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	})
	if w.Code != http.StatusForbidden {
		t.Errorf("form post: %d", w.Code)
	}
	w = e.do(http.MethodPost, "/api/v1/auth/login", `{"username":"an","password":"x"}`, func(r *http.Request) {
		r.Header.Set("Origin", "https://evil.example")
	})
	if w.Code != http.StatusForbidden {
		t.Errorf("foreign origin: %d", w.Code)
	}
	if w := e.do(http.MethodPost, "/api/v1/auth/login", `not json`, nil); w.Code != http.StatusBadRequest {
		t.Errorf("malformed body: %d", w.Code)
	}
	if w := e.do(http.MethodGet, "/api/v1/auth/login", "", nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET login: %d", w.Code)
	}
	if n := len(e.fake.logins); n != 0 {
		t.Errorf("refused requests reached the service %d times", n)
	}
}

func TestLogoutEndsTheSessionAndExpiresTheCookie(t *testing.T) {
	e := newEnv(t)
	if w := e.do(http.MethodPost, "/api/v1/auth/login", `{"username":"an","password":"x"}`, nil); w.Code != http.StatusOK {
		t.Fatalf("login: %d", w.Code)
	}
	if w := e.do(http.MethodGet, "/api/v1/me", "", withCookie(goodToken)); w.Code != http.StatusOK {
		t.Fatalf("me before logout: %d %s", w.Code, w.Body)
	}
	w := e.do(http.MethodPost, "/api/v1/auth/logout", "{}", withCookie(goodToken))
	if w.Code != http.StatusNoContent {
		t.Fatalf("logout: %d %s", w.Code, w.Body)
	}
	if c := sessionCookieOf(t, w); c.Value != "" || c.MaxAge >= 0 {
		t.Errorf("logout cookie %+v: want it emptied and expired", c)
	}
	if got := e.fake.logouts; len(got) != 1 || got[0] != goodToken {
		t.Errorf("Logout calls %v", got)
	}
	// The cached session is gone at once, not after the cache's TTL.
	if w := e.do(http.MethodGet, "/api/v1/me", "", withCookie(goodToken)); w.Code != http.StatusUnauthorized {
		t.Errorf("me after logout: %d", w.Code)
	}
	// Logging out again (or without a session) is harmless.
	if w := e.do(http.MethodPost, "/api/v1/auth/logout", "{}", nil); w.Code != http.StatusNoContent {
		t.Errorf("logout without a session: %d", w.Code)
	}
	// A cross-site form cannot sign anyone out (SameSite=Strict keeps the
	// cookie away, but the answer would still delete it).
	if w := e.do(http.MethodPost, "/api/v1/auth/logout", "", func(r *http.Request) {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "https://evil.example")
	}); w.Code != http.StatusForbidden {
		t.Errorf("cross-site logout: %d", w.Code)
	}
}

func TestAuthenticateAcceptsCookieSessionBearerAndIdentityTokens(t *testing.T) {
	e := newEnv(t)
	jwt, err := e.signer.Sign(identity.Claims{Subject: "robot", Roles: []string{identity.RoleSystemAdmin}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	gatewayJWT, _ := e.signer.Sign(gatewayClaims, time.Minute)
	for _, tc := range []struct {
		name      string
		configure func(*http.Request)
		code      int
		subject   string
	}{
		{"cookie", withCookie(goodToken), 200, "p-an"},
		{"bearer session token", withBearer(goodToken), 200, "p-an"},
		{"bearer identity token", withBearer(jwt), 200, "robot"},
		{"lower-case scheme", func(r *http.Request) { r.Header.Set("Authorization", "bearer "+goodToken) }, 200, "p-an"},
		{"unknown session", withCookie("nope"), 401, ""},
		{"tampered identity token", withBearer(jwt + "x"), 401, ""},
		{"identity token claiming the gateway role", withBearer(gatewayJWT), 401, ""},
		{"basic auth", func(r *http.Request) { r.SetBasicAuth("an", "x") }, 401, ""},
		{"nothing", nil, 401, ""},
		// The header wins: a stale cookie next to a valid token is ignored.
		{"bearer beats cookie", func(r *http.Request) { withCookie("nope")(r); withBearer(goodToken)(r) }, 200, "p-an"},
	} {
		w := e.do(http.MethodGet, "/api/v1/me", "", tc.configure)
		if w.Code != tc.code {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, w.Code, tc.code, w.Body)
			continue
		}
		if tc.code != 200 {
			if w.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
			}
			continue
		}
		var me struct {
			Principal struct {
				PersonID string `json:"personId"`
			} `json:"principal"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &me)
		if me.Principal.PersonID != tc.subject {
			t.Errorf("%s: the service saw %q, want %q", tc.name, me.Principal.PersonID, tc.subject)
		}
	}
}

func TestAnUnavailableAccountsServiceIsNotASignOut(t *testing.T) {
	e := newEnv(t)
	e.fake.resolveOK = false
	w := e.do(http.MethodGet, "/api/v1/me", "", withCookie(goodToken))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("accounts service down: %d %s; want 503 with Retry-After (the web app must not drop the session)", w.Code, w.Body)
	}
}

func TestCookieWritesNeedJSONFromOurOwnOrigin(t *testing.T) {
	e := newEnv(t)
	jwt, _ := e.signer.Sign(identity.Claims{Subject: "robot"}, time.Minute)
	csrf := func(w *httptest.ResponseRecorder) bool {
		return w.Code == http.StatusForbidden && strings.Contains(w.Body.String(), `"CrossSiteRequest"`)
	}
	for _, tc := range []struct {
		name      string
		configure func(*http.Request)
		refused   bool
	}{
		{"cookie, JSON, no Origin", withCookie(goodToken), false},
		{"cookie, JSON, same Origin", func(r *http.Request) { withCookie(goodToken)(r); r.Header.Set("Origin", "http://example.com") }, false},
		{"cookie, JSON with charset", func(r *http.Request) {
			withCookie(goodToken)(r)
			r.Header.Set("Content-Type", "application/json; charset=utf-8")
		}, false},
		{"cookie, browser says same-origin", func(r *http.Request) { withCookie(goodToken)(r); r.Header.Set("Sec-Fetch-Site", "same-origin") }, false},
		{"cookie, text/plain", func(r *http.Request) { withCookie(goodToken)(r); r.Header.Set("Content-Type", "text/plain") }, true},
		{"cookie, form", func(r *http.Request) {
			withCookie(goodToken)(r)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}, true},
		{"cookie, no content type", func(r *http.Request) { withCookie(goodToken)(r); r.Header.Del("Content-Type") }, true},
		{"cookie, foreign Origin", func(r *http.Request) { withCookie(goodToken)(r); r.Header.Set("Origin", "https://evil.example") }, true},
		{"cookie, Origin null", func(r *http.Request) { withCookie(goodToken)(r); r.Header.Set("Origin", "null") }, true},
		{"cookie, browser says cross-site", func(r *http.Request) { withCookie(goodToken)(r); r.Header.Set("Sec-Fetch-Site", "cross-site") }, true},
		{"bearer session, text/plain, foreign Origin", func(r *http.Request) {
			withBearer(goodToken)(r)
			r.Header.Set("Content-Type", "text/plain")
			r.Header.Set("Origin", "https://evil.example")
		}, false},
		{"bearer identity token, no content type", func(r *http.Request) { withBearer(jwt)(r); r.Header.Del("Content-Type") }, false},
	} {
		// httptest requests are for host example.com.
		w := e.do(http.MethodPost, "/api/v1/me/password", `{"currentPassword":"a","newPassword":"b"}`, tc.configure)
		if got := csrf(w); got != tc.refused {
			t.Errorf("%s: refused=%v, want %v (%d %s)", tc.name, got, tc.refused, w.Code, w.Body)
		}
	}
	// Reads are never refused by the rule.
	if w := e.do(http.MethodGet, "/api/v1/me", "", func(r *http.Request) {
		withCookie(goodToken)(r)
		r.Header.Set("Origin", "https://evil.example")
	}); w.Code != http.StatusOK {
		t.Errorf("GET with a foreign Origin: %d", w.Code)
	}
}

func TestCheckCSRFCoversEveryUnsafeMethod(t *testing.T) {
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		r := httptest.NewRequest(m, "/api/v1/meetings/x", nil)
		if checkCSRF(r) == nil {
			t.Errorf("%s without a content type passed", m)
		}
		r.Header.Set("Content-Type", "application/json")
		if err := checkCSRF(r); err != nil {
			t.Errorf("%s with JSON: %v", m, err)
		}
	}
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodOptions} {
		if err := checkCSRF(httptest.NewRequest(m, "/api/v1/meetings/x", nil)); err != nil {
			t.Errorf("%s refused: %v", m, err)
		}
	}
}

func TestInvitationCalendarIsADownloadWithTheUTF8Name(t *testing.T) {
	e := newEnv(t)
	w := e.do(http.MethodGet, "/api/v1/meetings/m-1/invitation.ics", "", withCookie(goodToken))
	if w.Code != http.StatusOK {
		t.Fatalf("invitation.ics: %d %s", w.Code, w.Body)
	}
	want := map[string]string{
		"Content-Type":        "text/calendar; charset=utf-8",
		"Content-Disposition": `attachment; filename="Hoi_nghi_Ban_Thuong_vu.ics"; filename*=UTF-8''H%E1%BB%99i%20ngh%E1%BB%8B%20Ban%20Th%C6%B0%E1%BB%9Dng%20v%E1%BB%A5.ics`,
		"Cache-Control":       "private, no-store",
	}
	for h, v := range want {
		if got := w.Header().Get(h); got != v {
			t.Errorf("%s = %q, want %q", h, got, v)
		}
	}
	if !strings.Contains(w.Body.String(), "BEGIN:VEVENT") || !strings.Contains(w.Body.String(), "m-1") {
		t.Errorf("body %q", w.Body)
	}
	// Not signed in: 401, and the service's NotFound passes through.
	if w := e.do(http.MethodGet, "/api/v1/meetings/m-1/invitation.ics", "", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", w.Code)
	}
	jwt, _ := e.signer.Sign(identity.Claims{Subject: "stranger"}, time.Minute)
	if w := e.do(http.MethodGet, "/api/v1/meetings/m-1/invitation.ics", "", withBearer(jwt)); w.Code != http.StatusNotFound {
		t.Errorf("someone else's meeting: %d", w.Code)
	}
}

func TestPrincipalBecomesClaims(t *testing.T) {
	got := principalClaims(&meetingsv1.Principal{
		PersonId: "p-1", FullName: "Trần Thị Bình", Username: "binh",
		Roles: []string{identity.RoleSystemAdmin}, OrganizationIds: []string{"o-1", "o-2"}, AdminOrganizationIds: []string{"o-2"},
	})
	want := identity.Claims{Subject: "p-1", Name: "Trần Thị Bình", Orgs: []string{"o-1", "o-2"}, AdminOrgs: []string{"o-2"}, Roles: []string{identity.RoleSystemAdmin}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
}

func TestTruncateUTF8KeepsWholeCharacters(t *testing.T) {
	if got := truncateUTF8("Việt", 3); got != "Vi" {
		t.Errorf("truncateUTF8 = %q", got) // "ệ" is 3 bytes and does not fit after "Vi"
	}
	if got := truncateUTF8("a\xffb", 10); got != "a\uFFFDb" {
		t.Errorf("invalid bytes: %q", got)
	}
}

func TestChangePasswordAloneLearnsTheCallersSession(t *testing.T) {
	e := newEnv(t)
	jwt, _ := e.signer.Sign(identity.Claims{Subject: "robot"}, time.Minute)
	for _, configure := range []func(*http.Request){withCookie(goodToken), withBearer(goodToken), withBearer(jwt)} {
		if w := e.do(http.MethodPost, "/api/v1/me/password", `{"currentPassword":"a","newPassword":"b"}`, configure); w.Code != http.StatusOK {
			t.Fatalf("change password: %d %s", w.Code, w.Body)
		}
	}
	// The identity token is no session: nothing to keep.
	if diff := cmp.Diff([]string{goodToken, goodToken, ""}, e.fake.passwordSessions); diff != "" {
		t.Errorf("session metadata sent with ChangePassword (-want +got):\n%s", diff)
	}
	// The person's cached sessions are gone: the service ended the others,
	// and this gateway must not honour them until the cache expires.
	if n := e.gw.sessions.size(); n != 0 {
		t.Errorf("%d sessions still cached after a password change", n)
	}
	// Other calls never carry it.
	if md := sessionMetadata(context.Background(), httptest.NewRequest(http.MethodGet, "/api/v1/me", nil)); md != nil {
		t.Errorf("metadata outside ChangePassword: %v", md)
	}
}
