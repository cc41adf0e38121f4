package e2e

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/ecabinet/ecabinet/e2e/suite"
)

// runBinary runs ecabinet to completion with exactly env (nothing inherited).
func runBinary(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(suite.Binary(t), args...)
	cmd.Env = append([]string{}, env...) // never nil: nil would inherit our environment
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}

func TestUnknownTargetListsTheValidOnes(t *testing.T) {
	code, _, stderr := runBinary(t, nil, "-target=meetings,bogus")
	if code == 0 {
		t.Fatal("exit code 0 for an unknown target")
	}
	for _, want := range []string{`unknown target "bogus"`, "all, documents, gateway, meetings, video, voting"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q does not contain %q", stderr, want)
		}
	}
}

func TestListTargetsShowsEachTargetsModules(t *testing.T) {
	code, stdout, stderr := runBinary(t, nil, "-list-targets")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		name, mods, _ := strings.Cut(l, " ")
		lines[name] = strings.TrimSpace(mods)
	}
	if got := lines["documents"]; got != "grpc nats postgres storage documents" {
		t.Errorf("documents starts %q", got)
	}
	if got := lines["gateway"]; got != "nats gateway" {
		t.Errorf("gateway starts %q", got)
	}
	for _, svc := range []string{"meetings", "documents", "voting", "video", "gateway"} {
		if !strings.Contains(lines["all"], svc) {
			t.Errorf("all does not start %s: %q", svc, lines["all"])
		}
	}
}

func TestMissingAndMalformedVariablesAreAllNamed(t *testing.T) {
	// Nothing set at all: every required variable of the documents target.
	code, _, stderr := runBinary(t, nil, "-target=documents")
	if code == 0 {
		t.Fatal("started without configuration")
	}
	for _, v := range []string{"DATABASE_URL", "NATS_URL", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "IDENTITY_VERIFY_KEY"} {
		if !strings.Contains(stderr, v) {
			t.Errorf("stderr does not name %s:\n%s", v, stderr)
		}
	}

	// Malformed values are named too, alongside the missing ones.
	code, _, stderr = runBinary(t, []string{"S3_USE_TLS=maybe", "NATS_URL=nats://127.0.0.1:1"}, "-target=documents")
	if code == 0 {
		t.Fatal("started with a malformed variable")
	}
	for _, v := range []string{"S3_USE_TLS", "DATABASE_URL"} {
		if !strings.Contains(stderr, v) {
			t.Errorf("stderr does not name %s:\n%s", v, stderr)
		}
	}

	// A key that is not base64 of the right size stops the gateway by name.
	code, _, stderr = runBinary(t, []string{"IDENTITY_SIGNING_KEY=not-a-key", "NATS_URL=nats://127.0.0.1:1"}, "-target=gateway")
	if code == 0 || !strings.Contains(stderr, "IDENTITY_SIGNING_KEY") {
		t.Errorf("exit %d, stderr %q: want a failure naming IDENTITY_SIGNING_KEY", code, stderr)
	}
}
