package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ecabinet/ecabinet/e2e/suite"
)

// authClient is a client of the gateway holding one session, as the web
// app (cookie) or an API client (bearer session token) would.
type authClient struct {
	t      *testing.T
	p      *suite.Process
	cookie string // the session cookie's value
	bearer string // a bearer token instead of the cookie
}

func newAuthClient(t *testing.T, p *suite.Process) *authClient {
	return &authClient{t: t, p: p}
}

type authResponse struct {
	code   int
	header http.Header
	body   []byte
}

// send makes one request with the client's credentials; contentType "" sends
// none, origin "" no Origin header.
func (c *authClient) send(method, path, contentType, origin string, body []byte) authResponse {
	c.t.Helper()
	req, err := http.NewRequest(method, c.p.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "ecabinet_session", Value: c.cookie})
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return authResponse{code: resp.StatusCode, header: resp.Header, body: b}
}

func (c *authClient) postJSON(path string, v any) authResponse {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.send(http.MethodPost, path, "application/json", "", b)
}

func (c *authClient) getJSON(path string, out any) int {
	c.t.Helper()
	r := c.send(http.MethodGet, path, "", "", nil)
	if r.code == http.StatusOK && out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			c.t.Fatalf("GET %s: %v in %s", path, err, r.body)
		}
	}
	return r.code
}

type principalBody struct {
	Principal struct {
		PersonID        string   `json:"personId"`
		FullName        string   `json:"fullName"`
		Username        string   `json:"username"`
		Roles           []string `json:"roles"`
		OrganizationIDs []string `json:"organizationIds"`
		AdminOrgIDs     []string `json:"adminOrganizationIds"`
	} `json:"principal"`
	ExpireTime   time.Time `json:"expireTime"`
	SessionToken string    `json:"sessionToken"`
}

// login signs in through the web app's endpoint and keeps the cookie.
func (c *authClient) login(l demoLogin) principalBody {
	c.t.Helper()
	r := c.postJSON("/api/v1/auth/login", map[string]any{"username": l.username, "password": l.password})
	if r.code != http.StatusOK {
		c.t.Fatalf("login %s: %d %s", l.username, r.code, r.body)
	}
	var out principalBody
	if err := json.Unmarshal(r.body, &out); err != nil {
		c.t.Fatal(err)
	}
	c.cookie = sessionCookieValue(c.t, r.header)
	return out
}

// sessionCookieValue checks the Set-Cookie the web app gets and returns its
// value.
func sessionCookieValue(t *testing.T, h http.Header) string {
	t.Helper()
	for _, raw := range h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(raw)
		if err != nil || c.Name != "ecabinet_session" {
			continue
		}
		for _, attr := range []string{"HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Expires="} {
			if !strings.Contains(raw, attr) {
				t.Errorf("session cookie %q lacks %s", raw, attr)
			}
		}
		return c.Value
	}
	t.Fatalf("no session cookie in %v", h.Values("Set-Cookie"))
	return ""
}

type demoMeeting struct {
	ID           string                   `json:"id"`
	Title        string                   `json:"title"`
	State        string                   `json:"state"`
	MyRole       string                   `json:"myRole"`
	Agenda       []struct{ Title string } `json:"agenda"`
	Participants []struct {
		PersonID string `json:"personId"`
		Role     string `json:"role"`
	} `json:"participants"`
}

// todaysDemoMeeting finds the demo's standing-committee meeting among the
// caller's meetings today, then reads it in full.
func (c *authClient) todaysDemoMeeting() demoMeeting {
	c.t.Helper()
	var list struct {
		Meetings []demoMeeting `json:"meetings"`
	}
	if code := c.getJSON("/api/v1/me/meetings?period=PERIOD_TODAY", &list); code != http.StatusOK {
		c.t.Fatalf("my meetings today: %d", code)
	}
	for _, m := range list.Meetings {
		if strings.HasPrefix(m.Title, "Hội nghị Ban Thường vụ Đảng ủy Khối") {
			var got struct {
				Meeting demoMeeting `json:"meeting"`
			}
			if code := c.getJSON("/api/v1/meetings/"+m.ID, &got); code != http.StatusOK {
				c.t.Fatalf("get meeting %s: %d", m.ID, code)
			}
			return got.Meeting
		}
	}
	c.t.Fatalf("the demo meeting is not among today's meetings: %+v", list.Meetings)
	return demoMeeting{}
}

func TestEveryDemoUserSignsInWithASessionCookie(t *testing.T) {
	p, logins := startWithDemo(t)
	for _, role := range demoRoles {
		l := logins[role]
		c := newAuthClient(t, p)
		in := c.login(l)
		if in.Principal.Username != l.username || in.Principal.FullName == "" || in.SessionToken != "" {
			t.Errorf("%s: login answered %+v (the web app must not get the token in the body)", role, in)
		}
		if in.ExpireTime.Before(time.Now()) {
			t.Errorf("%s: session expires %v", role, in.ExpireTime)
		}
		var me principalBody
		if code := c.getJSON("/api/v1/me", &me); code != http.StatusOK || me.Principal.Username != l.username {
			t.Errorf("%s: GET /api/v1/me %d %+v", role, code, me)
		}
		switch role {
		case "system admin":
			if len(me.Principal.Roles) != 1 || me.Principal.Roles[0] != "system_admin" {
				t.Errorf("system admin's roles %v", me.Principal.Roles)
			}
		case "minute-taker":
			// Administers the bloc and so everything below it.
			if len(me.Principal.AdminOrgIDs) < 2 {
				t.Errorf("minute-taker administers %v; want the bloc and its organisations", me.Principal.AdminOrgIDs)
			}
		}
	}

	chair := newAuthClient(t, p)
	chair.login(logins["chair"])
	m := chair.todaysDemoMeeting()

	// The invitation downloads as a calendar file.
	r := chair.send(http.MethodGet, "/api/v1/meetings/"+m.ID+"/invitation.ics", "", "", nil)
	if r.code != http.StatusOK {
		t.Fatalf("invitation.ics: %d %s", r.code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/calendar; charset=utf-8" {
		t.Errorf("invitation.ics Content-Type %q", ct)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; filename=\"") || !strings.Contains(cd, "filename*=UTF-8''") || !strings.Contains(cd, ".ics") {
		t.Errorf("invitation.ics Content-Disposition %q", cd)
	}
	if !bytes.Contains(r.body, []byte("BEGIN:VEVENT")) || !bytes.Contains(r.body, []byte("END:VCALENDAR")) {
		t.Errorf("invitation.ics body:\n%s", r.body)
	}

	// The live channel accepts the cookie too (the browser sends it with
	// the WebSocket handshake).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u := strings.Replace(p.BaseURL, "http://", "ws://", 1) + "/api/v1/live"
	ws, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {"ecabinet_session=" + chair.cookie}}})
	if err != nil {
		t.Fatalf("live channel with the session cookie: %v (%v)", err, resp)
	}
	defer ws.CloseNow()
	if hello := readLive(t, ctx, ws); hello.Type != "hello" {
		t.Errorf("live channel's first frame %+v", hello)
	}

	// Logging out ends the session at once and expires the cookie.
	r = chair.send(http.MethodPost, "/api/v1/auth/logout", "application/json", "", []byte("{}"))
	if r.code != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.code, r.body)
	}
	var expired bool
	for _, raw := range r.header.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(raw); err == nil && c.Name == "ecabinet_session" && c.Value == "" && c.MaxAge < 0 {
			expired = true
		}
	}
	if !expired {
		t.Errorf("logout did not expire the cookie: %v", r.header.Values("Set-Cookie"))
	}
	if code := chair.getJSON("/api/v1/me", nil); code != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/me after logout: %d, want 401", code)
	}
}

func TestWrongPasswordAndUnknownUserLookTheSame(t *testing.T) {
	p, logins := startWithDemo(t)
	c := newAuthClient(t, p)
	wrong := c.postJSON("/api/v1/auth/login", map[string]any{"username": logins["member"].username, "password": "not-the-password"})
	unknown := c.postJSON("/api/v1/auth/login", map[string]any{"username": "khong-co-nguoi-nay", "password": "not-the-password"})
	if wrong.code != http.StatusUnauthorized || unknown.code != http.StatusUnauthorized {
		t.Fatalf("wrong password %d, unknown user %d; want 401 for both", wrong.code, unknown.code)
	}
	if !bytes.Equal(wrong.body, unknown.body) {
		t.Errorf("the bodies differ, telling which usernames exist:\n%s\n%s", wrong.body, unknown.body)
	}
	if wrong.header.Get("Content-Type") != "application/problem+json" || len(wrong.header.Values("Set-Cookie")) != 0 {
		t.Errorf("failed login: Content-Type %q, Set-Cookie %v", wrong.header.Get("Content-Type"), wrong.header.Values("Set-Cookie"))
	}

	// Missing fields are named, in Vietnamese by default.
	r := c.postJSON("/api/v1/auth/login", map[string]any{"username": "", "password": ""})
	var prob struct {
		Errors []struct{ Field, Code, Reason string } `json:"errors"`
	}
	_ = json.Unmarshal(r.body, &prob)
	if r.code != http.StatusBadRequest || len(prob.Errors) != 2 || prob.Errors[0].Code != "REQUIRED" || prob.Errors[0].Reason != "Không được để trống" {
		t.Errorf("empty login: %d %s", r.code, r.body)
	}
}

func TestRepeatedFailedLoginsAreRateLimited(t *testing.T) {
	p, logins := startWithDemo(t)
	c := newAuthClient(t, p)
	for _, username := range []string{logins["observer"].username, "khong-co-nguoi-nay"} {
		var last authResponse
		for range 20 {
			last = c.postJSON("/api/v1/auth/login", map[string]any{"username": username, "password": "doan-bua-mat-khau"})
			if last.code != http.StatusUnauthorized {
				break
			}
		}
		if last.code != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" {
			t.Fatalf("%s: after repeated failures %d (Retry-After %q) %s; want 429 with Retry-After",
				username, last.code, last.header.Get("Retry-After"), last.body)
		}
	}
	// Locked means locked: the right password does not get in either
	// (so a locked account tells nothing about guesses).
	r := c.postJSON("/api/v1/auth/login", map[string]any{"username": logins["observer"].username, "password": logins["observer"].password})
	if r.code != http.StatusTooManyRequests {
		t.Errorf("right password while locked: %d", r.code)
	}
	// Another account is unaffected.
	c.login(logins["chair"])
}

func TestCookieWritesRefuseCrossSiteRequestsAndBearerTokensWork(t *testing.T) {
	p, logins := startWithDemo(t)
	web := newAuthClient(t, p)
	web.login(logins["minute-taker"])

	isCSRF := func(r authResponse) bool {
		return r.code == http.StatusForbidden && bytes.Contains(r.body, []byte(`"CrossSiteRequest"`))
	}
	// An empty meeting: if the request gets through, the service answers
	// 400 (naming the missing fields), so nothing is created either way.
	body := []byte(`{}`)
	for _, tc := range []struct {
		name, contentType, origin string
		refused                   bool
	}{
		{"text/plain", "text/plain", "", true},
		{"form", "application/x-www-form-urlencoded", "", true},
		{"no content type", "", "", true},
		{"foreign Origin", "application/json", "https://evil.example", true},
		{"JSON from our own origin", "application/json", p.BaseURL, false},
		{"JSON without Origin", "application/json", "", false},
	} {
		r := web.send(http.MethodPost, "/api/v1/meetings", tc.contentType, tc.origin, body)
		if isCSRF(r) != tc.refused {
			t.Errorf("cookie, %s: %d %s; want refused=%v", tc.name, r.code, r.body, tc.refused)
		}
		if !tc.refused && r.code != http.StatusBadRequest {
			t.Errorf("cookie, %s: %d %s; want the service's 400", tc.name, r.code, r.body)
		}
	}

	// An API client asks for the token and sends it as a bearer token; the
	// CSRF rule does not apply to it.
	api := newAuthClient(t, p)
	r := api.postJSON("/api/v1/auth/login", map[string]any{
		"username": logins["member"].username, "password": logins["member"].password, "issueToken": true,
	})
	var in principalBody
	_ = json.Unmarshal(r.body, &in)
	if r.code != http.StatusOK || in.SessionToken == "" {
		t.Fatalf("login with issueToken: %d %s", r.code, r.body)
	}
	api.bearer = in.SessionToken
	var me principalBody
	if code := api.getJSON("/api/v1/me", &me); code != http.StatusOK || me.Principal.Username != logins["member"].username {
		t.Errorf("bearer session token: %d %+v", code, me)
	}
	if r := api.send(http.MethodPost, "/api/v1/meetings", "text/plain", "https://evil.example", body); isCSRF(r) {
		t.Errorf("bearer request refused as cross-site: %s", r.body)
	}
	// Logging out with the bearer token ends that session too.
	if r := api.send(http.MethodPost, "/api/v1/auth/logout", "", "", nil); r.code != http.StatusNoContent {
		t.Errorf("bearer logout: %d %s", r.code, r.body)
	}
	if code := api.getJSON("/api/v1/me", nil); code != http.StatusUnauthorized {
		t.Errorf("bearer token after logout: %d, want 401", code)
	}

	// Changing the password keeps the session it was changed in and ends
	// every other one at once (the gateway forgets its cached copies).
	other := newAuthClient(t, p)
	other.login(logins["minute-taker"])
	const newPassword = "mat-khau-moi-2026"
	if r := web.postJSON("/api/v1/me/password", map[string]any{
		"currentPassword": logins["minute-taker"].password, "newPassword": newPassword,
	}); r.code != http.StatusOK {
		t.Fatalf("change password: %d %s", r.code, r.body)
	}
	if code := web.getJSON("/api/v1/me", nil); code != http.StatusOK {
		t.Errorf("the session that changed the password: %d, want 200", code)
	}
	if code := other.getJSON("/api/v1/me", nil); code != http.StatusUnauthorized {
		t.Errorf("another session after the password change: %d, want 401", code)
	}
	again := newAuthClient(t, p)
	again.login(demoLogin{username: logins["minute-taker"].username, password: newPassword})
}
