package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBrowser runs the playwright-core scripts in e2e/browser against a
// real suite in Debian's Chromium at tablet sizes. Screenshots are kept in
// e2e/browser/artifacts.
func TestBrowser(t *testing.T) {
	dir, err := filepath.Abs("browser")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core is not installed in %s: run `npm ci` there (make test does)", dir)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not on PATH; the browser tests need Node.js")
	}

	// The meeting flow runs as the demo users on the demo meeting.
	p, logins := startWithDemo(t)
	cmd := exec.Command(node, "run.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE_URL="+p.BaseURL)
	for env, role := range map[string]string{"DEMO_CHAIR": "chair", "DEMO_MINUTE_TAKER": "minute-taker", "DEMO_MEMBER": "member", "DEMO_OBSERVER": "observer", "DEMO_ADMIN": "system admin"} {
		cmd.Env = append(cmd.Env, env+"="+logins[role].username+":"+logins[role].password)
	}
	out, err := cmd.CombinedOutput()
	t.Logf("browser tests:\n%s", out)
	if err != nil {
		t.Fatalf("browser tests failed: %v", err)
	}
}
