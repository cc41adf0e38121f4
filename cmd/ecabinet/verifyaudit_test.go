package main

import (
	"bytes"
	"strings"
	"testing"
)

// lookupOf is an environment holding exactly env.
func lookupOf(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

// -verify-audit tells "could not check" (exit 2) from "broken" (exit 1);
// the e2e tests (e2e/audit_test.go) check real trails, intact and broken.
func TestVerifyAuditCannotCheck(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"no database":          {map[string]string{}, "DATABASE_URL"},
		"database unreachable": {map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/ecabinet?sslmode=disable&connect_timeout=5"}, "127.0.0.1:1"},
	} {
		var out, errb bytes.Buffer
		code := run([]string{"-verify-audit"}, &out, &errb, lookupOf(tc.env))
		if code != verifyFailed || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d naming %s", name, code, errb.String(), verifyFailed, tc.want)
		}
		if strings.Contains(out.String(), "intact") {
			t.Errorf("%s: stdout %q claims an intact trail", name, out.String())
		}
	}
}
