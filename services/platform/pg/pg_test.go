package pg_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecabinet/ecabinet/services/platform/pg"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

func serviceMigrations(table string) fstest.MapFS {
	return fstest.MapFS{
		"00001_" + table + ".sql": {Data: []byte(`-- +goose Up
CREATE TABLE ` + table + ` (id text PRIMARY KEY);
-- +goose Down
DROP TABLE ` + table + `;
`)},
		// Not at the root: must not be picked up.
		"testdata/00002_ignored.sql": {Data: []byte("-- +goose Up\nSELECT broken;\n")},
	}
}

func connect(t *testing.T, schema string) *pgxpool.Pool {
	t.Helper()
	pool, err := pg.Connect(testenv.DatabaseURL(t), schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func tablesIn(t *testing.T, pool *pgxpool.Pool, schema string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(),
		`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, schema)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

func TestMigrateCreatesTablesInSchemaAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	schema := testenv.Schema(t, "pgtest")
	pool := connect(t, schema)
	migrations := serviceMigrations("things")

	for i := range 3 {
		if err := pg.Migrate(ctx, pool, schema, migrations); err != nil {
			t.Fatalf("migrate #%d: %v", i+1, err)
		}
	}

	want := []string{"audit_log", "goose_version", "inbox", "outbox", "platform_goose_version", "things"}
	if got := tablesIn(t, pool, schema); !slices.Equal(got, want) {
		t.Fatalf("tables in %s = %v, want %v", schema, got, want)
	}
	// Each version table records its own migration once, however often
	// Migrate ran.
	for _, table := range []string{"platform_goose_version", "goose_version"} {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE version_id = 1`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%s has %d rows for version 1, want 1", table, n)
		}
	}
	// Nothing leaked into public.
	for _, table := range []string{"outbox", "inbox", "things", "goose_version", "platform_goose_version"} {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables
			WHERE table_name = $1 AND table_schema = 'public'`, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("public.%s exists; migrations must stay in %s", table, schema)
		}
	}
}

func TestMigrateWithoutServiceMigrations(t *testing.T) {
	schema := testenv.Schema(t, "pgtest")
	pool := connect(t, schema)
	if err := pg.Migrate(context.Background(), pool, schema, nil); err != nil {
		t.Fatal(err)
	}
	if err := pg.Migrate(context.Background(), pool, schema, fstest.MapFS{}); err != nil {
		t.Fatalf("empty service migrations: %v", err)
	}
	want := []string{"audit_log", "inbox", "outbox", "platform_goose_version"}
	if got := tablesIn(t, pool, schema); !slices.Equal(got, want) {
		t.Fatalf("tables = %v, want %v", got, want)
	}
}

func TestSchemasDoNotSeeEachOther(t *testing.T) {
	ctx := context.Background()
	a := testenv.Pool(t, testenv.Schema(t, "pgtest_a"), serviceMigrations("things"))
	b := testenv.Pool(t, testenv.Schema(t, "pgtest_b"), serviceMigrations("other_things"))

	if _, err := a.Exec(ctx, `INSERT INTO things (id) VALUES ('x')`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Exec(ctx, `INSERT INTO inbox (consumer, msg_id, subject) VALUES ('c', 'm', 's')`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.QueryRow(ctx, `SELECT count(*) FROM inbox`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("schema b sees %d inbox rows written in a", n)
	}
	_, err := b.Exec(ctx, `SELECT * FROM things`)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42P01" {
		t.Errorf("schema b querying a's table: err = %v, want undefined_table", err)
	}
	_, err = a.Exec(ctx, `SELECT * FROM other_things`)
	if !errors.As(err, &pgErr) || pgErr.Code != "42P01" {
		t.Errorf("schema a querying b's table: err = %v, want undefined_table", err)
	}
}

func TestConcurrentMigrateOfOneSchema(t *testing.T) {
	schema := testenv.Schema(t, "pgtest")
	pool := connect(t, schema)
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- pg.Migrate(context.Background(), pool, schema, serviceMigrations("things")) }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestBrokenMigrationNamesTheProblem(t *testing.T) {
	schema := testenv.Schema(t, "pgtest")
	pool := connect(t, schema)
	broken := fstest.MapFS{"00001_broken.sql": {Data: []byte("-- +goose Up\nCREATE TABLE (;\n")}}
	err := pg.Migrate(context.Background(), pool, schema, broken)
	if err == nil || !strings.Contains(err.Error(), "00001_broken.sql") {
		t.Fatalf("err = %v, want it to name 00001_broken.sql", err)
	}
	// WaitAndMigrate must not retry a migration that cannot work.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = pg.WaitAndMigrate(ctx, pool, schema, broken, slog.New(slog.DiscardHandler))
	if err == nil || ctx.Err() != nil {
		t.Fatalf("WaitAndMigrate = %v (ctx %v), want the migration error before the deadline", err, ctx.Err())
	}
}

func TestConnectRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		url, schema, want string
	}{
		{"postgres://postgres:secret@127.0.0.1:notaport/db", "svc", "invalid database URL"},
		{"postgres://[::1/db", "svc", "invalid database URL"},
		{"", "svc", "database URL is empty"},
		{"postgres://postgres@127.0.0.1:5432/postgres", "Bad-Name", "invalid schema name"},
		{"postgres://postgres@127.0.0.1:5432/postgres", "x; DROP TABLE y", "invalid schema name"},
	} {
		_, err := pg.Connect(tc.url, tc.schema)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Connect(%q, %q) = %v, want error containing %q", tc.url, tc.schema, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}

func TestAddr(t *testing.T) {
	for url, want := range map[string]string{
		"postgres://u:pw@db.example:6543/x?sslmode=disable": "db.example:6543",
		"postgres://postgres@127.0.0.1/postgres":            "127.0.0.1:5432",
		"postgres://[::1/":                                  "(invalid database URL)",
	} {
		if got := pg.Addr(url); got != want {
			t.Errorf("Addr(%q) = %q, want %q", url, got, want)
		}
	}
}

// A port nothing listens on: 127.0.0.1:1 refuses connections at once.
const deadURL = "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2"

func TestWaitAndMigrateLogsAddressWhileDown(t *testing.T) {
	pool, err := pg.Connect(deadURL, "svc")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pg.WaitAndMigrate(ctx, pool, "svc", nil, log) }()

	testenv.Eventually(t, 30*time.Second, func() error {
		if strings.Count(buf.String(), "postgres unreachable at 127.0.0.1:1") < 2 {
			return errors.New("log has no two retries naming the address yet:\n" + buf.String())
		}
		return nil
	})
	cancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("WaitAndMigrate after cancel = %v, want an error naming the address", err)
	}
}

func TestPing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	live := testenv.Pool(t, testenv.Schema(t, "pgtest"), nil)
	if err := pg.Ping(live)(ctx); err != nil {
		t.Fatalf("ping live database: %v", err)
	}
	dead, err := pg.Connect(deadURL, "svc")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	if err := pg.Ping(dead)(ctx); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("ping dead database = %v, want an error naming 127.0.0.1:1", err)
	}
}

// syncBuffer collects log output written from other goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRowRefusal(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"unique violation", &pgconn.PgError{Code: "23505"}, true},
		{"wrapped", fmt.Errorf("insert: %w", &pgconn.PgError{Code: "22P02"}), true},
		{"deadlock", &pgconn.PgError{Code: "40P01"}, true},
		{"read-only after a failover", &pgconn.PgError{Code: "25006"}, false},
		{"statement timeout", &pgconn.PgError{Code: "57014"}, false},
		{"too many connections", &pgconn.PgError{Code: "53300"}, false},
		{"not from PostgreSQL", errors.New("connection reset"), false},
		{"none", nil, false},
	}
	for _, tt := range tests {
		if got := pg.RowRefusal(tt.err); got != tt.want {
			t.Errorf("%s: RowRefusal = %v, want %v", tt.name, got, tt.want)
		}
	}
}
