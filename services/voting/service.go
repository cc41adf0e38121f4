// Package voting is the voting service: polls, the roll of entitled voters
// (from the meetings service), ballots with receipts, secret ballot boxes
// that no database dump can link to voters, quorum and majority counted
// with exact integers, and results that go into the minutes. ADR 0005 says
// how secrecy is kept.
package voting

import (
	"context"
	"embed"
	"log/slog"
	"sync"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/platform/health"
	"github.com/ecabinet/ecabinet/services/platform/service"
	"github.com/ecabinet/ecabinet/services/voting/secrecy"
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

// Defaults of the background loops.
const (
	// DefaultDeadlineInterval is how often polls past their deadline are
	// looked for and closed.
	DefaultDeadlineInterval = time.Second
	// DefaultProgressInterval is the most often one poll's VoteProgress is
	// published: a burst of ballots makes one event per interval, not one
	// per ballot.
	DefaultProgressInterval = 250 * time.Millisecond
)

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
	// Meetings and Directory are the meetings service, reached with the
	// caller's identity forwarded (identity.DialForwarding): who takes part
	// in a meeting, with what standing and attendance; who is in a body.
	Meetings  meetingsv1.MeetingsServiceClient
	Directory meetingsv1.DirectoryServiceClient
	// BallotKey (32 bytes, BALLOT_KEY) seals the ballots of open polls. It
	// never enters the database.
	BallotKey []byte
	// Now is the clock (time.Now when nil); tests move it to reach a
	// deadline.
	Now func() time.Time
	// DeadlineInterval and ProgressInterval: 0 takes the defaults.
	DeadlineInterval time.Duration
	ProgressInterval time.Duration
}

// Service hosts the VotingService gRPC API.
type Service struct {
	d    Deps
	log  *slog.Logger
	core *service.Core
	keys *secrecy.Keys
	// keyErr is why BallotKey is unusable; Run reports it.
	keyErr error

	// progress holds the polls with ballots cast since their last
	// VoteProgress (poll id -> where to publish it).
	progressMu sync.Mutex
	progress   map[string]progressTarget
	wake       chan struct{}
	// defs caches open polls' definitions for CastBallot's fast path.
	defs defCache
	// casts writes members' own ballots by group commit, per poll.
	casts castGroups
	// refreshed throttles taking a poll's roll again for a caller not
	// entitled on it (api.refreshRoll).
	refreshed refreshLimiter
}

type progressTarget struct {
	subject, org string
}

// New returns a service; nothing touches the network until Run.
func New(d Deps) *Service {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("service", Name)
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.DeadlineInterval <= 0 {
		d.DeadlineInterval = DefaultDeadlineInterval
	}
	if d.ProgressInterval <= 0 {
		d.ProgressInterval = DefaultProgressInterval
	}
	s := &Service{d: d, log: log, core: &service.Core{Name: Name, Log: log, Pool: d.Pool, Schema: d.Schema,
		JS: d.JS, NC: d.NC, Migrations: migrations, SubjectPrefix: d.SubjectPrefix},
		progress: map[string]progressTarget{}, wake: make(chan struct{}, 1)}
	s.keys, s.keyErr = secrecy.NewKeys(d.BallotKey)
	return s
}

// Register adds the gRPC API to gs.
func (s *Service) Register(gs *grpc.Server) { s.RegisterOn(gs) }

// RegisterOn adds the gRPC API to any registrar: a grpc.Server, or a
// grpcserver.Local through which the gateway of the same process calls the
// service without crossing the network (a vote storm's ballots).
func (s *Service) RegisterOn(r grpc.ServiceRegistrar) {
	votingv1.RegisterVotingServiceServer(r, &api{s: s})
}

// Run waits for PostgreSQL and migrates the schema, starts the deadline
// loop and the progress publisher, makes sure the service's stream exists,
// then relays the outbox to JetStream until ctx is done. It returns nil
// when ctx ends and an error only for a failure it cannot retry (such as a
// missing BALLOT_KEY).
func (s *Service) Run(ctx context.Context) error {
	if s.keyErr != nil {
		return errBallotKey(s.keyErr)
	}
	if err := s.core.Migrate(ctx); err != nil || ctx.Err() != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	var background sync.WaitGroup
	background.Go(func() { s.closeAtDeadlines(ctx) })
	background.Go(func() { s.publishProgress(ctx) })
	defer background.Wait()
	defer cancel()
	return s.core.Relay(ctx)
}

// Probes are the dependencies whose health decides the service's readiness.
func (s *Service) Probes() []health.Probe { return s.core.Probes() }

func (s *Service) now() time.Time { return s.d.Now() }
