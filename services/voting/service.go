// Package voting is the voting service: polls (ballots, eligibility,
// quorum, majority and results come later).
package voting

import (
	"context"
	"embed"
	"log/slog"

	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/platform/health"
	"github.com/ecabinet/ecabinet/services/platform/service"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
)

// Name is the service's name: its PostgreSQL schema, its stream (upper-cased)
// and the second token of its event subjects.
const Name = "voting"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations holds the goose files at its root, as pg.Migrate expects.
var migrations = service.Sub(migrationFiles, "migrations")

// Deps is what the service needs from the process hosting it.
type Deps struct {
	Log    *slog.Logger
	Pool   *pgxpool.Pool // search_path set to Schema
	Schema string
	JS     jetstream.JetStream
	NC     *nats.Conn
	// SubjectPrefix is prepended to every event subject: empty in
	// production, unique per test. The service stream's name is derived
	// from it (natsjs.ServiceStream), as is LIVE's (natsjs.LiveStream), so
	// the two cannot disagree.
	SubjectPrefix string
}

// Service hosts the VotingService gRPC API.
type Service struct {
	d    Deps
	log  *slog.Logger
	core *service.Core
}

// New returns a service; nothing touches the network until Run.
func New(d Deps) *Service {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("service", Name)
	return &Service{d: d, log: log, core: &service.Core{Name: Name, Log: log, Pool: d.Pool, Schema: d.Schema,
		JS: d.JS, NC: d.NC, Migrations: migrations, SubjectPrefix: d.SubjectPrefix}}
}

// Register adds the gRPC API to gs.
func (s *Service) Register(gs *grpc.Server) {
	votingv1.RegisterVotingServiceServer(gs, &api{s: s})
}

// Run waits for PostgreSQL and migrates the schema, makes sure the service's
// stream exists, then relays the outbox to JetStream until ctx is done. It
// returns nil when ctx ends and an error only for a failure it cannot
// retry.
func (s *Service) Run(ctx context.Context) error {
	if err := s.core.Migrate(ctx); err != nil || ctx.Err() != nil {
		return err
	}
	return s.core.Relay(ctx)
}

// Probes are the dependencies whose health decides the service's readiness.
func (s *Service) Probes() []health.Probe { return s.core.Probes() }
