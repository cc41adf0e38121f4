// Package testenv gives every test its own world on the real dependencies:
// a PostgreSQL schema, a NATS subject and stream prefix, a private NATS
// server to take down and bring back, and a loopback gRPC server that
// checks identity tokens as in production, with helpers for asserting on
// status codes, field violations and published events. Everything it
// creates is removed in t.Cleanup. A dependency that isn't there fails the
// test with a message saying what is missing; nothing is skipped.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecabinet/ecabinet/services/platform/pg"
)

const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// DatabaseURL is TEST_DATABASE_URL, else DATABASE_URL, else the local
// PostgreSQL with trust auth.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	return firstEnv(defaultDatabaseURL, "TEST_DATABASE_URL", "DATABASE_URL")
}

func firstEnv(fallback string, names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return fallback
}

var schemaBase = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,40}$`)

// Schema returns a fresh schema name, base + "_t" + random hex. It doesn't
// create the schema (pg.Migrate does) but drops it, with everything in it,
// in t.Cleanup.
func Schema(t testing.TB, base string) string {
	t.Helper()
	if !schemaBase.MatchString(base) {
		t.Fatalf("testenv: schema base %q: want lower-case letters, digits and _, at most 41 characters", base)
	}
	name := base + "_t" + uniqueHex(t, 4)
	url := DatabaseURL(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("testenv: drop schema %s: connect to postgres at %s: %v", name, pg.Addr(url), err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("testenv: drop schema %s: %v", name, err)
		}
	})
	return name
}

// Pool connects to the test database with search_path=schema, runs the
// platform's and the given service migrations (migrations may be nil), and
// closes the pool in t.Cleanup.
func Pool(t testing.TB, schema string, migrations fs.FS) *pgxpool.Pool {
	t.Helper()
	url := DatabaseURL(t)
	pool, err := pg.Connect(url, schema)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(pool.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("testenv: PostgreSQL is not reachable at %s (start it, set TEST_DATABASE_URL, or run via make test): %v",
			pg.Addr(url), err)
	}
	if err := pg.Migrate(ctx, pool, schema, migrations); err != nil {
		t.Fatalf("testenv: migrate %s: %v", schema, err)
	}
	return pool
}

// Logger returns a logger writing through t.Log, so a test's output carries
// the log of the code under test. Records made after the test has finished
// (by goroutines still winding down) are dropped instead of panicking.
func Logger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// uniqueHex returns n random bytes as lower-case hex.
func uniqueHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("testenv: random: %v", err)
	}
	return hex.EncodeToString(b)
}

// Eventually calls cond until it returns nil or timeout passes, then fails
// the test with cond's last error. For asserting on things that happen in the
// background; the timeout is a deadline for a hang, not a speed requirement.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: still not true after %v: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
