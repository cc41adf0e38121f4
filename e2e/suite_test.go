package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ecabinet/ecabinet/e2e/suite"
	"github.com/ecabinet/ecabinet/services/platform/identity"
)

var services = []string{"meetings", "documents", "voting", "video"}

func orgAdmin(org string) identity.Claims {
	return identity.Claims{Subject: "admin-" + org, Name: "Nguyễn Văn An", Orgs: []string{org}, AdminOrgs: []string{org}}
}

func systemAdmin() identity.Claims {
	return identity.Claims{Subject: "root", Name: "Quản trị hệ thống", Roles: []string{identity.RoleSystemAdmin}}
}

// createOrg adds a top-level organisation through REST, as a system
// administrator would: meetings belong to organisations in the directory.
func createOrg(t *testing.T, p *suite.Process, name string) string {
	t.Helper()
	var out struct {
		Organization struct {
			ID string `json:"id"`
		} `json:"organization"`
	}
	code := p.Do(t, http.MethodPost, "/api/v1/organizations", p.Token(t, systemAdmin()), map[string]any{
		"name": name,
		"kind": "ORGANIZATION_KIND_BLOC_COMMITTEE",
	}, &out)
	if code != http.StatusOK || out.Organization.ID == "" {
		t.Fatalf("create organisation %q: %d %+v", name, code, out)
	}
	return out.Organization.ID
}

type meeting struct {
	ID             string `json:"id"`
	OrganizationID string `json:"organizationId"`
	Title          string `json:"title"`
	State          string `json:"state"`
}

func createMeeting(t *testing.T, p *suite.Process, token, org, title string) (meeting, int) {
	t.Helper()
	start := time.Now().Add(24 * time.Hour).UTC()
	var out struct {
		Meeting meeting `json:"meeting"`
	}
	code := p.Do(t, http.MethodPost, "/api/v1/meetings", token, map[string]any{
		"organizationId": org,
		"title":          title,
		"kind":           "MEETING_KIND_STANDING_COMMITTEE",
		"place":          "Phòng họp tầng 2",
		"startsAt":       start.Format(time.RFC3339),
		"endsAt":         start.Add(2 * time.Hour).Format(time.RFC3339),
	}, &out)
	return out.Meeting, code
}

func TestWholeSuiteStartsReadyAndServesItsSurface(t *testing.T) {
	p := suite.Start(t, "all", suite.Env(t))
	p.WaitReady(t)

	r, code, err := p.Readyz()
	if err != nil || code != http.StatusOK {
		t.Fatalf("/readyz: %d %v", code, err)
	}
	for _, name := range append([]string{"gateway", "postgres", "nats", "minio"}, services...) {
		if ok, e := r.Check(t, name); !ok {
			t.Errorf("%s not ok: %s", name, e)
		}
	}

	get := func(path string) (int, string, string) {
		resp, err := http.Get(p.BaseURL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	if code, _, body := get("/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz: %d %q", code, body)
	}
	code, _, body := get("/api/openapi.json")
	var spec struct {
		Paths map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &spec); code != 200 || err != nil {
		t.Fatalf("/api/openapi.json: %d %v", code, err)
	}
	for _, path := range []string{"/api/v1/meetings", "/api/v1/meetings/{meetingId}", "/api/v1/polls/{pollId}", "/api/v1/meetings/{meetingId}/room"} {
		if _, ok := spec.Paths[path]; !ok {
			t.Errorf("OpenAPI document lacks %s", path)
		}
	}
	if code, ctype, body := get("/"); code != 200 || !strings.HasPrefix(ctype, "text/html") || !strings.Contains(body, "<html") {
		t.Errorf("web app: %d %q", code, ctype)
	}

	// One REST call so the gRPC metrics have a sample.
	org := createOrg(t, p, "Đảng bộ Khối cơ quan")
	tok := p.Token(t, orgAdmin(org))
	if _, code := createMeeting(t, p, tok, org, "Họp Ban Thường vụ"); code != 200 {
		t.Fatalf("create meeting: %d", code)
	}
	_, _, metrics := get("/metrics")
	for _, want := range []string{"grpc_server_handled_total", "ecabinet_http_requests_total", "go_goroutines"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// SIGTERM: the process finishes what it is doing and exits cleanly.
	if err := p.Stop(); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, p.Logs())
	}
}

func TestRESTThroughTheGatewayAuthenticatesAndAuthorises(t *testing.T) {
	p := suite.Start(t, "all", suite.Env(t))
	p.WaitReady(t)
	orgA, orgB := createOrg(t, p, "Đảng bộ A"), createOrg(t, p, "Đảng bộ B")
	tok := p.Token(t, orgAdmin(orgA))

	m, code := createMeeting(t, p, tok, orgA, "Họp Ban Chấp hành tháng 11")
	if code != http.StatusOK || m.ID == "" || m.Title != "Họp Ban Chấp hành tháng 11" || m.State != "MEETING_STATE_DRAFT" {
		t.Fatalf("create: %d %+v", code, m)
	}
	var got struct {
		Meeting meeting `json:"meeting"`
	}
	if code := p.Do(t, http.MethodGet, "/api/v1/meetings/"+m.ID, tok, nil, &got); code != 200 || got.Meeting != m {
		t.Errorf("get: %d %+v, want %+v", code, got.Meeting, m)
	}

	var prob struct {
		Status int    `json:"status"`
		Title  string `json:"title"`
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	if code := p.Do(t, http.MethodGet, "/api/v1/meetings/"+m.ID, "", nil, &prob); code != http.StatusUnauthorized || prob.Status != 401 {
		t.Errorf("no token: %d %+v", code, prob)
	}
	if code := p.Do(t, http.MethodGet, "/api/v1/meetings/"+m.ID, tok+"x", nil, &prob); code != http.StatusUnauthorized {
		t.Errorf("tampered token: %d", code)
	}
	other := p.Token(t, orgAdmin(orgB))
	if code := p.Do(t, http.MethodGet, "/api/v1/meetings/"+m.ID, other, nil, &prob); code != http.StatusNotFound {
		t.Errorf("another organisation's meeting: %d, want 404", code)
	}
	// Validation errors name the field, in Vietnamese by default.
	if _, code := createMeeting(t, p, tok, orgA, "   "); code != http.StatusBadRequest {
		t.Fatalf("blank title: %d, want 400", code)
	}
	p.Do(t, http.MethodPost, "/api/v1/meetings", tok, map[string]any{"organizationId": orgA}, &prob)
	fields := map[string]bool{}
	for _, e := range prob.Errors {
		fields[e.Field] = true
	}
	if prob.Title != "Dữ liệu không hợp lệ" || !fields["title"] || !fields["starts_at"] {
		t.Errorf("problem %+v: want a Vietnamese title naming title and starts_at", prob)
	}
}

// liveMsg is one live-channel frame.
type liveMsg struct {
	Type      string          `json:"type"`
	Seq       uint64          `json:"seq"`
	EventType string          `json:"event_type"`
	Data      json.RawMessage `json:"data"`
}

func dialLive(t *testing.T, ctx context.Context, p *suite.Process, token string, since uint64) *websocket.Conn {
	t.Helper()
	u := strings.Replace(p.BaseURL, "http://", "ws://", 1) + "/api/v1/live"
	if since > 0 {
		u += fmt.Sprintf("?since=%d", since)
	}
	c, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatalf("dial live channel: %v (%v)", err, resp)
	}
	return c
}

func readLive(t *testing.T, ctx context.Context, c *websocket.Conn) liveMsg {
	t.Helper()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read live channel: %v", err)
	}
	var m liveMsg
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("live frame %q: %v", b, err)
	}
	return m
}

// readEvents reads until n events arrived, returning their meeting titles.
func readEvents(t *testing.T, ctx context.Context, c *websocket.Conn, n int) (titles []string, lastSeq uint64) {
	t.Helper()
	for len(titles) < n {
		m := readLive(t, ctx, c)
		if m.Type != "event" {
			continue
		}
		var ev struct {
			Meeting meeting `json:"meeting"`
		}
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		if m.Seq <= lastSeq {
			t.Fatalf("sequence went from %d to %d", lastSeq, m.Seq)
		}
		titles = append(titles, ev.Meeting.Title)
		lastSeq = m.Seq
	}
	return titles, lastSeq
}

func TestLiveChannelResumesAfterADropWithoutLosingOrRepeating(t *testing.T) {
	p := suite.Start(t, "all", suite.Env(t))
	p.WaitReady(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	live, other := createOrg(t, p, "Đảng bộ Live"), createOrg(t, p, "Đảng bộ khác")
	tok := p.Token(t, orgAdmin(live))

	c := dialLive(t, ctx, p, tok, 0)
	if m := readLive(t, ctx, c); m.Type != "hello" {
		t.Fatalf("first frame %+v, want hello", m)
	}
	createMeeting(t, p, tok, live, "Cuộc họp 1")
	// Another organisation's event must not reach this tablet.
	createMeeting(t, p, p.Token(t, orgAdmin(other)), other, "Không được thấy")
	createMeeting(t, p, tok, live, "Cuộc họp 2")
	titles, last := readEvents(t, ctx, c, 2)
	if strings.Join(titles, "|") != "Cuộc họp 1|Cuộc họp 2" {
		t.Fatalf("live events %q", titles)
	}

	// The tablet drops off the network; meetings keep happening.
	c.CloseNow()
	for _, title := range []string{"Cuộc họp 3", "Cuộc họp 4", "Cuộc họp 5"} {
		createMeeting(t, p, tok, live, title)
	}
	c = dialLive(t, ctx, p, tok, last)
	defer c.CloseNow()
	createMeeting(t, p, tok, live, "Cuộc họp 6")
	titles, _ = readEvents(t, ctx, c, 4)
	if strings.Join(titles, "|") != "Cuộc họp 3|Cuộc họp 4|Cuộc họp 5|Cuộc họp 6" {
		t.Fatalf("after resume got %q: want every missed event once, in order, then live ones", titles)
	}
}
