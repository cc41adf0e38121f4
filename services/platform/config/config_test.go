package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecabinet/ecabinet/services/platform/config"
)

type sample struct {
	DatabaseURL string        `env:"DATABASE_URL,required"`
	HTTPAddr    string        `env:"HTTP_ADDR" envDefault:"127.0.0.1:8080"`
	UseTLS      bool          `env:"S3_USE_TLS" envDefault:"false"`
	Timeout     time.Duration `env:"TIMEOUT" envDefault:"5s"`
	Workers     int           `env:"WORKERS" envDefault:"4"`
	Upstreams   []string      `env:"UPSTREAMS"`
	S3          struct {
		Endpoint string `env:"ENDPOINT,required"`
	} `envPrefix:"S3_"`
}

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func problems(t *testing.T, err error) []config.Problem {
	t.Helper()
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("Load error = %v (%T), want *config.Error", err, err)
	}
	return ce.Problems
}

func TestLoadDefaults(t *testing.T) {
	var c sample
	err := config.Load(&c, env(map[string]string{
		"DATABASE_URL": "postgres://x",
		"S3_ENDPOINT":  "127.0.0.1:9000",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.HTTPAddr != "127.0.0.1:8080" || c.UseTLS || c.Timeout != 5*time.Second || c.Workers != 4 || c.Upstreams != nil {
		t.Errorf("defaults not applied: %+v", c)
	}
	if c.DatabaseURL != "postgres://x" || c.S3.Endpoint != "127.0.0.1:9000" {
		t.Errorf("values not read: %+v", c)
	}
}

func TestLoadValuesOverrideDefaults(t *testing.T) {
	var c sample
	err := config.Load(&c, env(map[string]string{
		"DATABASE_URL": "postgres://x",
		"S3_ENDPOINT":  "e",
		"HTTP_ADDR":    ":1",
		"S3_USE_TLS":   "true",
		"TIMEOUT":      "250ms",
		"WORKERS":      "9",
		"UPSTREAMS":    "a,b",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := sample{DatabaseURL: "postgres://x", HTTPAddr: ":1", UseTLS: true, Timeout: 250 * time.Millisecond, Workers: 9, Upstreams: []string{"a", "b"}}
	want.S3.Endpoint = "e"
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestLoadMissing(t *testing.T) {
	var c sample
	err := config.Load(&c, env(map[string]string{"S3_ENDPOINT": "e"}))
	want := []config.Problem{{Name: "DATABASE_URL", Reason: "is required"}}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if got := err.Error(); got != "config: DATABASE_URL is required" {
		t.Errorf("message = %q", got)
	}
}

func TestLoadMalformed(t *testing.T) {
	for _, tc := range []struct {
		name, key, value, reason string
	}{
		{"bool", "S3_USE_TLS", "maybe", `is "maybe", not a boolean (use true or false)`},
		{"duration", "TIMEOUT", "5x", `is "5x", not a duration (use e.g. 5s, 250ms, 1m30s)`},
		{"int", "WORKERS", "four", `is "four", not an integer (or out of range)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c sample
			err := config.Load(&c, env(map[string]string{"DATABASE_URL": "d", "S3_ENDPOINT": "e", tc.key: tc.value}))
			want := []config.Problem{{Name: tc.key, Reason: tc.reason}}
			if diff := cmp.Diff(want, problems(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// Every problem is reported at once, sorted by name, in one readable line.
func TestLoadReportsEveryProblemSorted(t *testing.T) {
	var c sample
	err := config.Load(&c, env(map[string]string{
		"WORKERS":    "-",
		"S3_USE_TLS": "maybe",
		"TIMEOUT":    "5x",
	}))
	got := problems(t, err)
	var names []string
	for _, p := range got {
		names = append(names, p.Name)
	}
	wantNames := []string{"DATABASE_URL", "S3_ENDPOINT", "S3_USE_TLS", "TIMEOUT", "WORKERS"}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "config: DATABASE_URL is required; S3_ENDPOINT is required; S3_USE_TLS is \"maybe\"") {
		t.Errorf("message = %q", msg)
	}
	if strings.Count(msg, ";") != 4 || strings.Contains(msg, "\n") {
		t.Errorf("want one line with five problems, got %q", msg)
	}
	// Nothing references Go field names, which an operator cannot act on.
	for _, field := range []string{"UseTLS", "Timeout", "Workers"} {
		if strings.Contains(msg, field) {
			t.Errorf("message mentions Go field %s: %q", field, msg)
		}
	}
}

func TestLoadEmptyValueUsesDefault(t *testing.T) {
	var c sample
	if err := config.Load(&c, env(map[string]string{"DATABASE_URL": "d", "S3_ENDPOINT": "e", "TIMEOUT": ""})); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Timeout != 5*time.Second {
		t.Errorf("Timeout = %v, want the default 5s", c.Timeout)
	}
}

func TestLoadMalformedDefaultIsReported(t *testing.T) {
	var c struct {
		D time.Duration `env:"D" envDefault:"soon"`
	}
	err := config.Load(&c, env(nil))
	got := problems(t, err)
	if len(got) != 1 || got[0].Name != "D" || !strings.Contains(got[0].Reason, `malformed default "soon"`) {
		t.Errorf("problems = %+v", got)
	}
}

func TestLoadNestedPointerPrefix(t *testing.T) {
	var c struct {
		Blob *struct {
			Bucket string `env:"BUCKET" envDefault:"ecabinet"`
			Key    string `env:"KEY,required"`
		} `envPrefix:"S3_"`
	}
	if err := config.Load(&c, env(map[string]string{"S3_KEY": "k"})); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Blob.Bucket != "ecabinet" || c.Blob.Key != "k" {
		t.Errorf("nested = %+v", *c.Blob)
	}
}

func TestLoadRejectsNonStructPointer(t *testing.T) {
	var s string
	if err := config.Load(&s, env(nil)); err == nil {
		t.Error("Load(*string) succeeded")
	}
	if err := config.Load(struct{}{}, env(nil)); err == nil {
		t.Error("Load(struct value) succeeded")
	}
}

func TestLoadBadTagIsAProgrammingError(t *testing.T) {
	var c struct {
		X string `env:"X,bogus"`
	}
	err := config.Load(&c, env(nil))
	if err == nil || errors.As(err, new(*config.Error)) {
		t.Errorf("Load = %v, want a plain error about the tag", err)
	}
}
