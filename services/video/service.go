// Package video is the video service: the video room of each meeting, join
// tokens for its participants, and a selective forwarding unit (pion/webrtc
// v4) that carries their audio, video and screen shares (ADR 0004).
package video

import (
	"context"
	"embed"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/health"
	"github.com/ecabinet/ecabinet/services/platform/service"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/pion/transport/v5"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
)

// Name is the service's name: its PostgreSQL schema, its stream (upper-cased)
// and the second token of its event subjects.
const Name = "video"

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
	// Meetings answers who takes part in a meeting, asked with the
	// caller's identity: the connection must forward it
	// (identity.DialForwarding).
	Meetings meetingsv1.MeetingsServiceClient
	// Documents receives stopped recordings, as the person who stopped
	// them (a forwarding connection, like Meetings); nil: recordings stay
	// in RecordingDir.
	Documents documentsv1.DocumentsServiceClient
	Config    Config
	// Net is the network stack the media (ICE) runs on; nil: the
	// operating system's. Tests give a pion vnet, to put loss on a path
	// without touching a real network. The TURN relay always uses the
	// operating system's.
	Net transport.Net
	// Metrics registers the SFU's metrics; nil: not exported.
	Metrics prometheus.Registerer
}

// Service hosts the VideoService gRPC API.
type Service struct {
	d     Deps
	cfg   Config
	log   *slog.Logger
	core  *service.Core
	rooms *rooms
	m     *metrics
	// live counts the participants whose departure is still to record.
	live sync.WaitGroup
	// deliveries counts recordings still being uploaded to the documents;
	// life ends when Run does, which interrupts them.
	deliveries sync.WaitGroup
	life       context.Context
	endLife    context.CancelFunc

	recMu sync.Mutex
	recs  map[string]*recorder // meeting id -> its recording in progress

	// delivering holds the undelivered files being uploaded now, so that
	// a second DeliverRecordings does not send them twice.
	deliverMu   sync.Mutex
	delivering  map[string]bool
	retryDelays []time.Duration
	// engine is set once Run has opened the UDP port.
	engine atomic.Pointer[engine]
}

// New returns a service; nothing touches the network until Run.
func New(d Deps) *Service {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("service", Name)
	cfg := d.Config.withDefaults()
	s := &Service{d: d, cfg: cfg, log: log, rooms: newRooms(cfg.MaxRooms, cfg.MaxParticipants), m: newMetrics(d.Metrics),
		recs: map[string]*recorder{}, delivering: map[string]bool{}, retryDelays: deliverRetryDelays, core: &service.Core{Name: Name, Log: log, Pool: d.Pool, Schema: d.Schema,
			JS: d.JS, NC: d.NC, Migrations: migrations, SubjectPrefix: d.SubjectPrefix}}
	s.life, s.endLife = context.WithCancel(context.Background())
	return s
}

// Register adds the gRPC API to gs.
func (s *Service) Register(gs *grpc.Server) {
	videov1.RegisterVideoServiceServer(gs, &api{s: s})
}

// Run waits for PostgreSQL and migrates the schema, makes sure the service's
// stream exists, records the departure of participants a previous run left
// behind, opens the ICE UDP port, then relays the outbox to JetStream until
// ctx is done. It returns nil when ctx ends and an error only for a failure
// it cannot retry (a UDP address it cannot bind, say).
func (s *Service) Run(ctx context.Context) error {
	if err := s.core.Migrate(ctx); err != nil || ctx.Err() != nil {
		return err
	}
	if err := s.sweepParticipants(ctx); err != nil && ctx.Err() == nil {
		return fmt.Errorf("video: stale participants: %w", err)
	}
	e, err := startEngine(s.cfg, s.d.Net, s.log)
	if err != nil {
		return err
	}
	s.engine.Store(e)
	defer e.close()
	// Relaying stops when ctx ends; the sessions go first, so their
	// departures are recorded (and relayed by the next start at worst).
	defer s.endAll()
	defer s.stopAllRecordings()
	defer func() {
		s.endLife()
		s.deliveries.Wait()
	}()
	go s.watchSpeakers(ctx)
	return s.core.Relay(ctx)
}

// Probes are the dependencies whose health decides the service's readiness.
func (s *Service) Probes() []health.Probe { return s.core.Probes() }
