// Package service holds the plumbing every ecabinet service runs the same
// way: migrate its schema before answering, relay its outbox to its stream,
// and report readiness (schema migrated, PostgreSQL and NATS reachable).
package service

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ecabinet/ecabinet/services/platform/health"
	"github.com/ecabinet/ecabinet/services/platform/natsjs"
	"github.com/ecabinet/ecabinet/services/platform/outbox"
	"github.com/ecabinet/ecabinet/services/platform/pg"
)

// Core is one service's shared plumbing. Fill the fields, then call
// Migrate and Relay from the service's Run.
type Core struct {
	Name       string // schema, stream (upper-cased) and subject token
	Log        *slog.Logger
	Pool       *pgxpool.Pool // search_path set to Schema
	Schema     string
	JS         jetstream.JetStream
	NC         *nats.Conn
	Migrations fs.FS // goose files at the root
	// SubjectPrefix is prepended to every event subject: empty in
	// production, unique per test; stream names derive from it.
	SubjectPrefix string

	// ready turns true once the schema is migrated; until then RPCs answer
	// Unavailable instead of leaking "relation does not exist".
	ready atomic.Bool
}

// Ready reports whether the schema is migrated.
func (c *Core) Ready() bool { return c.ready.Load() }

// Migrate waits for PostgreSQL, migrates the schema and marks the service
// ready. It returns nil when ctx ends first (check ctx.Err()), and an error
// only for a failure waiting cannot fix.
func (c *Core) Migrate(ctx context.Context) error {
	if err := pg.WaitAndMigrate(ctx, c.Pool, c.Schema, c.Migrations, c.Log); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("%s: migrate schema %q: %w", c.Name, c.Schema, err)
	}
	c.ready.Store(true)
	c.Log.Info("schema migrated; serving", "schema", c.Schema)
	return nil
}

// Relay makes sure the service's stream exists, then publishes its outbox
// until ctx ends (returning nil then).
func (c *Core) Relay(ctx context.Context) error {
	if err := natsjs.EnsureStream(ctx, c.JS, natsjs.ServiceStream(c.SubjectPrefix, c.Name)); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("%s: ensure stream: %w", c.Name, err)
	}
	if err := outbox.NewRelay(c.Pool, c.JS, c.Log, c.SubjectPrefix).Run(ctx); err != nil && ctx.Err() == nil {
		return fmt.Errorf("%s: outbox relay: %w", c.Name, err)
	}
	return nil
}

// Probes are what the service's readiness depends on: until the schema is
// migrated every RPC answers Unavailable, so it is not ready even with
// PostgreSQL up.
func (c *Core) Probes() []health.Probe {
	return []health.Probe{
		health.Condition(c.Name+".schema", "database migrations have not finished", c.ready.Load),
		{Name: "postgres", Check: pg.Ping(c.Pool)},
		{Name: "nats", Check: natsjs.Ping(c.NC)},
	}
}

// Sub returns dir inside fsys (an embedded migrations folder); it panics
// only for a malformed constant path.
func Sub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
