package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecabinet/ecabinet/e2e/suite"
	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// TestVideoInTheBrowser is issue 6's browser test (e2e/browser/video.mjs): two Chromium
// pages with fake cameras join the demo meeting's room through the web app and each
// decodes the other's video; a third joins as observer, watches, and cannot publish.
//
// WebRTC must stay on loopback, and Chromium offers every address of the machine unless it
// has none but lo. So the test creates a network namespace with only lo and runs itself
// again inside it (videoBrowserInside): the suite, its own MinIO, node and Chromium all in
// there; PostgreSQL is reached through a unix socket bridged from outside (sockets are
// files, which the namespace shares). Creating a namespace needs root: without it the test
// fails, saying so.
func TestVideoInTheBrowser(t *testing.T) {
	if ns := os.Getenv(videoNetnsEnv); ns != "" {
		videoBrowserInside(t, ns)
		return
	}
	dir, err := filepath.Abs("browser")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core is not installed in %s: run `npm ci` there (make test does)", dir)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not on PATH; the browser tests need Node.js")
	}
	ns := newVideoNetns(t)
	dbURL := bridgePostgres(t)
	bin := suite.Binary(t)

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, os.Args[0],
		"-test.run=^TestVideoInTheBrowser$", "-test.v", "-test.count=1", "-test.timeout=7m")
	cmd.Env = append(os.Environ(), videoNetnsEnv+"="+ns, "TEST_DATABASE_URL="+dbURL, "ECABINET_BIN="+bin)
	out, err := cmd.CombinedOutput()
	t.Logf("inside network namespace %s:\n%s", ns, out)
	if err != nil {
		t.Fatalf("the video browser test failed inside the namespace: %v", err)
	}
	// Guard against a run that matched nothing and so "passed".
	if !strings.Contains(string(out), "--- PASS: TestVideoInTheBrowser") {
		t.Fatal("the test did not run inside the namespace")
	}
}

// videoBrowserInside is the test proper, running inside the namespace.
func videoBrowserInside(t *testing.T, ns string) {
	requireOnlyLoopback(t, ns)
	startNamespaceMinIO(t)

	env := suite.Env(t)
	// Short enough that the script can outlast it (a seat given up, then a fresh join),
	// long enough for a reconnect on a busy machine to make it.
	env["VIDEO_RESUME_GRACE"] = "8s"
	// The documents refuse every recording (none is empty), so the script sees what the
	// chair is shown about recorded files that did not arrive.
	env["RECORDING_MAX_BYTES"] = "1"
	p := suite.Start(t, "all", env)
	p.WaitReady(t)
	logins, _ := loadDemo(t, p)
	taker := newAuthClient(t, p)
	taker.login(logins["minute-taker"])
	id := taker.todaysDemoMeeting().ID
	base := "/api/v1/meetings/" + id
	// In progress, as a meeting is when people join it online.
	must(t, "start the meeting", taker.call(http.MethodPost, base+":start", map[string]any{}, nil), http.StatusOK)
	var got struct {
		Meeting struct {
			OrganizationID string `json:"organizationId"`
		} `json:"meeting"`
	}
	must(t, "get the meeting", taker.call(http.MethodGet, base, nil, &got), http.StatusOK)
	org := got.Meeting.OrganizationID
	// The script opens the room itself (as an organisation admin) while the chair's video
	// page waits for it.
	admin := p.Token(t, identity.Claims{Subject: "e2e-video-browser-admin", Name: "Quản trị", Orgs: []string{org}, AdminOrgs: []string{org}})

	dir, err := filepath.Abs("browser")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "video.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE_URL="+p.BaseURL, "MEETING_ID="+id, "ORGANIZATION_ID="+org, "ADMIN_BEARER="+admin)
	for env, role := range map[string]string{"DEMO_CHAIR": "chair", "DEMO_MEMBER": "member", "DEMO_OBSERVER": "observer"} {
		cmd.Env = append(cmd.Env, env+"="+logins[role].username+":"+logins[role].password)
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("video.mjs (%s):\n%s", time.Since(start).Round(time.Second), out)
	if err != nil {
		t.Fatalf("video browser test failed: %v", err)
	}
}
