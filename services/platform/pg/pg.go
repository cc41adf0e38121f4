// Package pg connects a service to PostgreSQL and migrates its schema.
//
// Every service keeps its state in its own schema: Connect pins the pool's
// search_path to that schema, and Migrate creates the schema and runs the
// platform's migrations (outbox, inbox) and then the service's, both inside it.
package pg

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var platformFS embed.FS

const (
	// PlatformVersionTable and ServiceVersionTable are goose's version tables;
	// two of them so the platform's and the service's migrations are numbered
	// independently.
	PlatformVersionTable = "platform_goose_version"
	ServiceVersionTable  = "goose_version"
)

// A schema name ends up unquoted in search_path and inside the outbox's
// notification channel name ("outbox_" + schema, at most 63 bytes), so keep it
// to plain lower-case identifiers.
var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,55}$`)

// CheckSchema reports whether schema is a name this package accepts.
func CheckSchema(schema string) error {
	if !schemaName.MatchString(schema) {
		return fmt.Errorf("pg: invalid schema name %q: want lower-case letters, digits and _, at most 56 characters", schema)
	}
	return nil
}

// Connect returns a pool whose connections use search_path=schema. It does not
// touch the network: connections are made on first use, so a service can start
// while PostgreSQL is still coming up.
func Connect(url, schema string) (*pgxpool.Pool, error) {
	if url == "" {
		return nil, errors.New("pg: database URL is empty")
	}
	if err := CheckSchema(schema); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message already names the problem and masks the password.
		return nil, fmt.Errorf("pg: invalid database URL: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("pg: create pool for %s: %w", hostPort(cfg.ConnConfig), err)
	}
	return pool, nil
}

// Addr returns host:port of the database URL, for messages; the password and
// database name stay out of logs.
func Addr(url string) string {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return "(invalid database URL)"
	}
	return hostPort(cfg)
}

func hostPort(cfg *pgx.ConnConfig) string {
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// Ping returns a health probe for the pool.
func Ping(pool *pgxpool.Pool) func(ctx context.Context) error {
	addr := hostPort(pool.Config().ConnConfig)
	return func(ctx context.Context) error {
		if err := pool.Ping(ctx); err != nil {
			return fmt.Errorf("postgres at %s: %w", addr, err)
		}
		return nil
	}
}

// Migrate creates schema if missing and brings it up to date: first the
// platform's migrations (outbox and inbox tables, version table
// platform_goose_version), then the goose *.sql files at the root of
// migrations (version table goose_version). migrations may be nil for a
// service without tables of its own. Safe to run concurrently from several
// processes: they take turns on an advisory lock per schema.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string, migrations fs.FS) error {
	if err := CheckSchema(schema); err != nil {
		return err
	}
	lock, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pg: migrate %s: %w", schema, err)
	}
	defer lock.Release()
	key := lockKey(schema)
	if _, err := lock.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return fmt.Errorf("pg: migrate %s: take migration lock: %w", schema, err)
	}
	defer func() {
		// A cancelled ctx must not leave the lock held on a pooled connection.
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := lock.Exec(unlockCtx, "SELECT pg_advisory_unlock($1)", key); err != nil {
			// Closing the connection ends the session and so the lock.
			_ = lock.Conn().Close(unlockCtx)
		}
	}()

	if _, err := lock.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return fmt.Errorf("pg: create schema %s: %w", schema, err)
	}

	// goose needs a database/sql handle. Its connections get search_path set
	// here rather than inherited, so the tables land in schema even if the
	// pool was configured differently.
	cc := pool.Config().ConnConfig.Copy()
	cc.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*cc)
	defer db.Close()

	platform, err := fs.Sub(platformFS, "migrations")
	if err != nil {
		return fmt.Errorf("pg: platform migrations: %w", err)
	}
	if err := up(ctx, db, schema, PlatformVersionTable, platform); err != nil {
		return fmt.Errorf("pg: platform migrations in %s: %w", schema, err)
	}
	if migrations == nil {
		return nil
	}
	if err := up(ctx, db, schema, ServiceVersionTable, migrations); err != nil {
		return fmt.Errorf("pg: service migrations in %s: %w", schema, err)
	}
	return nil
}

func up(ctx context.Context, db *sql.DB, schema, table string, fsys fs.FS) error {
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		// Qualified, so goose's "does the table exist" check looks in schema.
		goose.WithTableName(schema+"."+table),
		// Go migrations registered globally by some other package must not
		// run against this schema.
		goose.WithDisableGlobalRegistry(true),
	)
	if errors.Is(err, goose.ErrNoMigrations) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	var partial *goose.PartialError
	if errors.As(err, &partial) && partial.Failed != nil && partial.Failed.Source != nil {
		// goose only says "version 3"; the file name is what one opens.
		return fmt.Errorf("%s: %w", partial.Failed.Source.Path, err)
	}
	return err
}

// permanent reports whether err came from a working database session that
// rejected a statement (a bad migration, say), as opposed to a database that
// cannot be reached or is not ready yet.
func permanent(err error) bool {
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return false
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) < 2 {
		return false
	}
	switch pgErr.Code[:2] {
	case "08", // connection exception
		"40", // serialization failure, deadlock
		"53", // insufficient resources (too many connections, ...)
		"57": // operator intervention (shutting down, starting up)
		return false
	}
	return true
}

func lockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("ecabinet.migrate." + schema))
	return int64(h.Sum64())
}

// WaitAndMigrate runs Migrate until it succeeds or ctx is done, waiting
// between attempts (doubling up to 5s). Each failure is logged as
// "postgres unreachable at HOST:PORT: err" so an operator sees which address
// the service is waiting for. A statement the database rejects (a broken
// migration) is returned at once: waiting would not fix it.
func WaitAndMigrate(ctx context.Context, pool *pgxpool.Pool, schema string, migrations fs.FS, log *slog.Logger) error {
	addr := hostPort(pool.Config().ConnConfig)
	wait := 250 * time.Millisecond
	for {
		err := Migrate(ctx, pool, schema, migrations)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("pg: gave up waiting for postgres at %s: %w", addr, err)
		}
		if permanent(err) {
			// A broken migration does not heal by waiting.
			return err
		}
		log.WarnContext(ctx, fmt.Sprintf("postgres unreachable at %s: %v", addr, err),
			"addr", addr, "schema", schema, "retry_in", wait.String())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("pg: gave up waiting for postgres at %s: %w", addr, err)
		case <-t.C:
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// RowRefusal reports whether PostgreSQL refused a statement for what one of
// its rows holds — a data exception (class 22), an integrity constraint
// (23), a serialization failure or deadlock (40) — as opposed to the
// connection, the server or the statement as a whole (read-only after a
// failover, a timeout, out of resources). Writers that insert many rows in
// one statement (group commit) write them apart only then: for the others
// it would fail every row again, once each.
func RowRefusal(err error) bool {
	var pgErr *pgconn.PgError
	var connErr *pgconn.ConnectError
	if !errors.As(err, &pgErr) || errors.As(err, &connErr) || len(pgErr.Code) < 2 {
		return false
	}
	switch pgErr.Code[:2] {
	case "22", "23", "40":
		return true
	}
	return false
}
