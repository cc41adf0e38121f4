// Package documents is the documents service: agenda papers, their metadata
// and versions in PostgreSQL, their bytes in object storage, who may read
// them and who did (docs/adr/0002-documents-storage.md).
package documents

import (
	"context"
	"embed"
	"log/slog"
	"sync"
	"time"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/blob"
	"github.com/ecabinet/ecabinet/services/platform/health"
	"github.com/ecabinet/ecabinet/services/platform/service"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc"
)

// Name is the service's name: its PostgreSQL schema, its stream (upper-cased)
// and the second token of its event subjects.
const Name = "documents"

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
	// Blob holds the documents' bytes.
	Blob *blob.Store
	// Meetings answers who runs and who takes part in a meeting. Calls
	// carry the caller's own identity token (identity.DialForwarding), so
	// the meetings service applies its visibility rules to the caller.
	Meetings meetingsv1.MeetingsServiceClient
	// Directory lists the organisations below one (whom a library
	// document is published to) and their members (for its study report),
	// on the same terms.
	Directory meetingsv1.DirectoryServiceClient
	Config    Config
}

// Config is the service's own settings, read from the environment by the
// binary (config.Load); zero fields take the defaults.
type Config struct {
	// UploadMaxBytes bounds one file; a larger upload is refused (HTTP
	// 413) as soon as it is announced or has gone past the limit.
	UploadMaxBytes int64 `env:"UPLOAD_MAX_BYTES" envDefault:"209715200"`
	// RecordingMaxBytes is UploadMaxBytes for recordings (kind RECORDING):
	// a meeting's camera at 1.5 Mbit/s passes 200 MB in 18 minutes.
	RecordingMaxBytes int64 `env:"RECORDING_MAX_BYTES" envDefault:"4294967296"`
	// UploadSpoolDir holds an upload on disk while it arrives and is
	// checked, before it goes to object storage; empty: the system's
	// temporary directory. Needs room for the uploads in flight.
	UploadSpoolDir string `env:"UPLOAD_SPOOL_DIR"`
	// PDFInspectMaxBytes: PDFs up to this size are opened to count their
	// pages and detect encryption or damage. pdfcpu holds a whole file in
	// memory while doing so (and only one runs at a time), so larger PDFs
	// are stored without a page count.
	PDFInspectMaxBytes int64 `env:"PDF_INSPECT_MAX_BYTES" envDefault:"67108864"`
}

// Defaults for a zero Config field.
const (
	defaultUploadMaxBytes     = 200 << 20
	defaultRecordingMaxBytes  = 4 << 30
	defaultPDFInspectMaxBytes = 64 << 20
)

func (c Config) withDefaults() Config {
	if c.UploadMaxBytes <= 0 {
		c.UploadMaxBytes = defaultUploadMaxBytes
	}
	if c.RecordingMaxBytes <= 0 {
		c.RecordingMaxBytes = defaultRecordingMaxBytes
	}
	if c.PDFInspectMaxBytes <= 0 {
		c.PDFInspectMaxBytes = defaultPDFInspectMaxBytes
	}
	return c
}

// Service hosts the DocumentsService gRPC API.
type Service struct {
	d   Deps
	cfg Config
	log *slog.Logger
	// core migrates, relays the outbox and reports readiness.
	core *service.Core
	// books makes concurrent requests for the same meeting book (a room
	// of tablets opening it at once) share one binding.
	books singleflight.Group
	// pdfSlot lets one PDF inspection run at a time: each holds its whole
	// file in memory.
	pdfSlot chan struct{}
	// access writes the access log by group commit (accesslog.go).
	access *accessLog
	// urls holds presigned URLs handed out again (presignShared).
	urls urlCache
	// lookups shares concurrent reads' lookups of a version (lookup.go).
	lookups versionLookups
}

// New returns a service; nothing touches the network until Run.
func New(d Deps) *Service {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("service", Name)
	s := &Service{d: d, cfg: d.Config.withDefaults(), log: log, pdfSlot: make(chan struct{}, 1), access: &accessLog{pool: d.Pool, log: log}, core: &service.Core{Name: Name, Log: log, Pool: d.Pool, Schema: d.Schema,
		JS: d.JS, NC: d.NC, Migrations: migrations, SubjectPrefix: d.SubjectPrefix}}
	s.lookups.s = s
	return s
}

// Register adds the gRPC API to gs.
func (s *Service) Register(gs *grpc.Server) { s.RegisterOn(gs) }

// RegisterOn adds the gRPC API to any registrar: a grpc.Server, or a
// grpcserver.Local through which the gateway of the same process asks for
// access to a paper without crossing the network (ADR 0002, "Performance:
// the first page of a paper").
func (s *Service) RegisterOn(r grpc.ServiceRegistrar) {
	documentsv1.RegisterDocumentsServiceServer(r, &api{s: s})
}

// Run waits for PostgreSQL and migrates the schema, makes sure the service's
// stream exists, then relays the outbox to JetStream until ctx is done,
// meanwhile making sure the bucket exists (retrying while object storage is
// down: reading metadata does not need it) and sweeping the objects of
// failed uploads. It returns nil when ctx ends and an error only for a
// failure it cannot retry.
func (s *Service) Run(ctx context.Context) error {
	if err := s.core.Migrate(ctx); err != nil || ctx.Err() != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { s.ensureBucket(runCtx) })
	wg.Go(func() { s.sweepLoop(runCtx) })
	err := s.core.Relay(runCtx)
	cancel()
	wg.Wait()
	return err
}

// ensureBucket creates the bucket if it is missing, retrying with backoff
// until it succeeds or ctx ends. A failure is logged when it first appears
// or changes, not on every attempt.
func (s *Service) ensureBucket(ctx context.Context) {
	const maxDelay = 5 * time.Second
	delay := 100 * time.Millisecond
	var lastErr string
	for {
		err := s.d.Blob.EnsureBucket(ctx)
		if err == nil {
			s.log.Info("bucket ready", "bucket", s.d.Blob.Bucket())
			return
		}
		if ctx.Err() != nil {
			return
		}
		if err.Error() != lastErr {
			s.log.Warn("object storage unavailable; retrying", "bucket", s.d.Blob.Bucket(), "err", err)
			lastErr = err.Error()
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, maxDelay)
	}
}

// Probes are the dependencies whose health decides the service's readiness.
func (s *Service) Probes() []health.Probe {
	return append(s.core.Probes(), health.Probe{Name: "minio", Check: s.d.Blob.Ping})
}
