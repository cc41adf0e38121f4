// Package meetings is the meetings service: the directory (package
// directory: organisations, people, memberships, accounts), the meeting
// side (this package: meetings, their lifecycle, agenda, participants and
// attendance), the minutes (package minutes) and the tasks (package tasks).
// All share one schema, one pool, one outbox relay and one audit trail
// (the platform's audit_log); the minutes and the tasks reach the meeting
// and the directory through the adapters in ports.go.
package meetings

import (
	"context"
	"embed"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings/directory"
	"github.com/ecabinet/ecabinet/services/meetings/minutes"
	"github.com/ecabinet/ecabinet/services/meetings/tasks"
	"github.com/ecabinet/ecabinet/services/platform/health"
	"github.com/ecabinet/ecabinet/services/platform/service"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
)

// Name is the service's name: its PostgreSQL schema, its stream (upper-cased)
// and the second token of its event subjects.
const Name = "meetings"

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
	// ReminderInterval is how often overdue tasks are looked for; 0 means
	// tasks.DefaultReminderInterval (an hour). Each task is announced once
	// a day however often the reminder looks.
	ReminderInterval time.Duration
}

// Service hosts MeetingsService, DirectoryService and AccountsService
// (through the directory), MinutesService and TasksService.
type Service struct {
	d   Deps
	log *slog.Logger
	// core migrates, relays the outbox and reports readiness.
	core      *service.Core
	directory *directory.Directory
	// dir is the directory as the meeting side uses it.
	dir     people
	minutes *minutes.Service
	tasks   tasks.Deps
	// secret caches the check-in signing key (see checkInSecret).
	secret atomic.Pointer[[]byte]
}

// New returns a service; nothing touches the network until Run.
func New(d Deps) *Service {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("service", Name)
	s := &Service{d: d, log: log, core: &service.Core{Name: Name, Log: log, Pool: d.Pool, Schema: d.Schema,
		JS: d.JS, NC: d.NC, Migrations: migrations, SubjectPrefix: d.SubjectPrefix}}
	s.directory = directory.New(directory.Deps{Log: log, Pool: d.Pool, Ready: s.core.Ready})
	s.dir = directoryPort{s.directory}
	// The PDF's font is Debian's DejaVu (minutes.DefaultFontDir), which the
	// project's scripts and image install. No locality: the date line reads
	// "ngày … tháng … năm …" without a place until a setting for it exists.
	s.minutes = minutes.New(minutes.Deps{Log: log, Pool: d.Pool, Meetings: minutesPort{s}, Ready: s.core.Ready})
	s.tasks = tasks.Deps{Log: log, Pool: d.Pool, Meetings: tasksMeetings{s}, Directory: tasksDirectory{s.dir}, Ready: s.core.Ready}
	return s
}

// Register adds the gRPC APIs to gs: MeetingsService, DirectoryService,
// AccountsService, MinutesService and TasksService.
func (s *Service) Register(gs *grpc.Server) { s.RegisterOn(gs) }

// RegisterOn adds the same APIs to any registrar: a grpc.Server, or a
// grpcserver.Local through which the other services of the same process
// (documents, voting, video) ask about a meeting without crossing the
// network — the documents service does on every read of a confidential
// paper (ADR 0002, "Performance: the first page of a paper").
func (s *Service) RegisterOn(r grpc.ServiceRegistrar) {
	meetingsv1.RegisterMeetingsServiceServer(r, &api{s: s})
	s.directory.RegisterOn(r)
	s.minutes.Register(r)
	tasks.New(s.tasks).RegisterOn(r)
}

// Run waits for PostgreSQL and migrates the schema, starts the reminder of
// overdue tasks and the consumers of the video and voting services' events
// (consumers.go), makes sure the service's stream exists, then relays the
// outbox to JetStream until ctx is done. It returns nil when ctx ends and an
// error only for a failure it cannot retry, after the reminder and the
// consumers stopped.
func (s *Service) Run(ctx context.Context) error {
	if err := s.core.Migrate(ctx); err != nil || ctx.Err() != nil {
		return err
	}
	// The reminder only enqueues events; the relay below publishes them,
	// so it may start before the stream exists.
	ctx, cancel := context.WithCancel(ctx)
	var background sync.WaitGroup
	background.Go(func() { _ = tasks.NewReminder(s.tasks, s.d.ReminderInterval).Run(ctx) })
	// The consumers of video presence and vote results make their own
	// streams' existence sure, so they do not wait for ours.
	background.Go(func() { s.runConsumers(ctx) })
	defer background.Wait()
	defer cancel()
	return s.core.Relay(ctx)
}

// Probes are the dependencies whose health decides the service's readiness.
func (s *Service) Probes() []health.Probe { return s.core.Probes() }
