package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ecabinet/ecabinet/services/platform/logging"
)

// records decodes one JSON object per line.
func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestRequestIDFromContextIsLogged(t *testing.T) {
	var buf bytes.Buffer
	log, err := logging.New(&buf, "info")
	if err != nil {
		t.Fatal(err)
	}
	ctx := logging.WithRequestID(context.Background(), "req-1")
	log.InfoContext(ctx, "hello", "k", "v")
	log.With("svc", "meetings").WarnContext(ctx, "with attrs")
	log.Info("no context")

	recs := records(t, &buf)
	if len(recs) != 3 {
		t.Fatalf("got %d records, want 3: %s", len(recs), buf.String())
	}
	if recs[0]["msg"] != "hello" || recs[0]["k"] != "v" || recs[0]["request_id"] != "req-1" || recs[0]["level"] != "INFO" {
		t.Errorf("first record = %v", recs[0])
	}
	if recs[1]["svc"] != "meetings" || recs[1]["request_id"] != "req-1" {
		t.Errorf("second record = %v", recs[1])
	}
	if _, ok := recs[2]["request_id"]; ok {
		t.Errorf("record without request id in ctx has one: %v", recs[2])
	}
}

func TestLevel(t *testing.T) {
	for _, tc := range []struct {
		level     string
		debug     bool
		info      bool
		wantError bool
	}{
		{level: "", info: true},
		{level: "info", info: true},
		{level: "DEBUG", debug: true, info: true},
		{level: "warn"},
		{level: "error"},
		{level: "loud", wantError: true},
	} {
		t.Run(tc.level, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := logging.New(&buf, tc.level)
			if tc.wantError {
				if err == nil || !strings.Contains(err.Error(), "loud") {
					t.Fatalf("New(%q) error = %v, want one naming the level", tc.level, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("d")
			log.Info("i")
			got := map[string]bool{}
			for _, r := range records(t, &buf) {
				got[r["msg"].(string)] = true
			}
			if got["d"] != tc.debug || got["i"] != tc.info {
				t.Errorf("logged %v, want debug=%v info=%v", got, tc.debug, tc.info)
			}
		})
	}
}

func TestRequestIDHelpers(t *testing.T) {
	if got := logging.RequestID(context.Background()); got != "" {
		t.Errorf("RequestID(empty ctx) = %q", got)
	}
	a, b := logging.NewRequestID(), logging.NewRequestID()
	if a == b || len(a) != 36 {
		t.Errorf("NewRequestID gave %q and %q", a, b)
	}
	if !logging.ValidRequestID(a) {
		t.Errorf("ValidRequestID(%q) = false", a)
	}
	for _, bad := range []string{"", "a b", "a\nb", strings.Repeat("x", 129)} {
		if logging.ValidRequestID(bad) {
			t.Errorf("ValidRequestID(%q) = true", bad)
		}
	}
}
