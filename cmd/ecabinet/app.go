package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/ecabinet/ecabinet/gateway"
	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/documents"
	"github.com/ecabinet/ecabinet/services/meetings"
	"github.com/ecabinet/ecabinet/services/platform/blob"
	"github.com/ecabinet/ecabinet/services/platform/config"
	"github.com/ecabinet/ecabinet/services/platform/grpcserver"
	"github.com/ecabinet/ecabinet/services/platform/health"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/logging"
	"github.com/ecabinet/ecabinet/services/platform/natsjs"
	"github.com/ecabinet/ecabinet/services/platform/pg"
	"github.com/ecabinet/ecabinet/services/video"
	"github.com/ecabinet/ecabinet/services/voting"
	"github.com/ecabinet/ecabinet/services/voting/secrecy"
)

type baseConfig struct {
	LogLevel string `env:"LOG_LEVEL" envDefault:"info"`
	// HTTPAddr serves /healthz and /metrics when the gateway is not part of
	// this process (the gateway serves them itself).
	HTTPAddr string `env:"HTTP_ADDR" envDefault:"127.0.0.1:8080"`
}

type natsConfig struct {
	URL      string `env:"NATS_URL"`
	StoreDir string `env:"NATS_STORE_DIR" envDefault:".data/nats"`
}

type grpcConfig struct {
	Addr       string `env:"GRPC_ADDR" envDefault:"127.0.0.1:9090"`
	VerifyKey  string `env:"IDENTITY_VERIFY_KEY"`
	SigningKey string `env:"IDENTITY_SIGNING_KEY"`
}

// documentsConfig is the documents service's own settings plus where it
// finds the meetings service (default: GRPC_ADDR, as in -target=all).
type documentsConfig struct {
	documents.Config
	MeetingsAddr string `env:"MEETINGS_ADDR"`
}

// votingConfig is the voting service's ballot key (base64 of 32 bytes; it
// seals open polls' ballots and never enters the database) and where it
// finds the meetings service (default: GRPC_ADDR, as in -target=all).
type votingConfig struct {
	BallotKey    string `env:"BALLOT_KEY,required"`
	MeetingsAddr string `env:"MEETINGS_ADDR"`
}

// videoConfig is the video service's own settings plus where it finds the
// meetings service and the documents service its recordings go to
// (default: GRPC_ADDR, as in -target=all).
type videoConfig struct {
	video.Config
	MeetingsAddr  string `env:"MEETINGS_ADDR"`
	DocumentsAddr string `env:"DOCUMENTS_ADDR"`
}

type postgresConfig struct {
	URL string `env:"DATABASE_URL,required"`
}

type storageConfig struct {
	Endpoint  string `env:"S3_ENDPOINT,required"`
	AccessKey string `env:"S3_ACCESS_KEY,required"`
	SecretKey string `env:"S3_SECRET_KEY,required"`
	Bucket    string `env:"S3_BUCKET" envDefault:"ecabinet"`
	UseTLS    bool   `env:"S3_USE_TLS" envDefault:"false"`
}

// service is what every service package offers the binary.
type service interface {
	Register(*grpc.Server)
	Run(context.Context) error
	Probes() []health.Probe
}

// runner is a long-running part of the process; all stop when ctx ends.
type runner struct {
	name string
	run  func(context.Context) error
}

// app holds what the started modules share.
type app struct {
	stderr io.Writer
	lookup func(string) (string, bool)
	log    *slog.Logger
	cfg    struct {
		base      baseConfig
		gateway   gateway.Config
		nats      natsConfig
		grpc      grpcConfig
		postgres  postgresConfig
		storage   storageConfig
		documents documentsConfig
		voting    votingConfig
		video     videoConfig
	}
	mods    map[string]*module
	targets []string // resolved module names

	metrics  *prometheus.Registry
	nc       *nats.Conn
	js       jetstream.JetStream
	grpc     *grpcserver.Server
	services map[string][]health.Probe // hosted service name -> its probes
	runners  []runner
	closers  []func() // run in reverse order after every runner stopped

	// local holds the services of this process that the gateway of the
	// same process calls without crossing the network (grpcserver.Local).
	local *grpcserver.Local
}

func newApp(stderr io.Writer, lookup func(string) (string, bool)) *app {
	a := &app{stderr: stderr, lookup: lookup, services: map[string][]health.Probe{}, local: grpcserver.NewLocal()}
	a.mods = a.modules()
	return a
}

func (a *app) listTargets(w io.Writer) int {
	for _, name := range publicTargets(a.mods) {
		order, _ := resolve(a.mods, name)
		fmt.Fprintf(w, "%-10s %s\n", name, strings.Join(order, " "))
	}
	return 0
}

func (a *app) mintToken(w io.Writer, c identity.Claims, ttl time.Duration) int {
	var cfg struct {
		SigningKey string `env:"IDENTITY_SIGNING_KEY,required"`
	}
	if err := config.Load(&cfg, a.lookup); err != nil {
		fmt.Fprintf(a.stderr, "ecabinet: %v\n", err)
		return 1
	}
	seed, err := identity.DecodeSeed(cfg.SigningKey)
	if err == nil {
		var s *identity.Signer
		if s, err = identity.NewSigner(seed); err == nil {
			var token string
			if token, err = s.Sign(c, ttl); err == nil {
				fmt.Fprintln(w, token)
				return 0
			}
		}
	}
	fmt.Fprintf(a.stderr, "ecabinet: IDENTITY_SIGNING_KEY: %v\n", err)
	return 1
}

func tokenClaims(subject, name, roles, orgs string) identity.Claims {
	return identity.Claims{Subject: subject, Name: name, Roles: splitList(roles), Orgs: splitList(orgs)}
}

// start resolves the target, loads every needed configuration (reporting all
// problems at once), initialises modules in dependency order and runs until
// ctx ends or a part fails.
func (a *app) start(ctx context.Context, target string) error {
	order, err := resolve(a.mods, target)
	if err != nil {
		return err
	}
	a.targets = order

	if err := a.loadConfig(order); err != nil {
		return err
	}

	if a.log, err = logging.New(a.stderr, a.cfg.base.LogLevel); err != nil {
		return fmt.Errorf("LOG_LEVEL: %w", err)
	}
	a.metrics = prometheus.NewRegistry()
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	defer a.close()
	for _, name := range order {
		if init := a.mods[name].init; init != nil {
			if err := init(a); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	a.finishGRPC()
	if !slices.Contains(order, modGateway) {
		a.runners = append(a.runners, runner{"ops-http", a.serveOps})
	}

	a.log.Info("ecabinet starting", "target", target, "modules", order)
	eg, ctx := errgroup.WithContext(ctx)
	for _, r := range a.runners {
		eg.Go(func() error {
			if err := r.run(ctx); err != nil && ctx.Err() == nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			return nil
		})
	}
	err = eg.Wait()
	a.log.Info("ecabinet stopped", "error", err)
	return err
}

// loadConfig fills the configuration of every module in order and reports
// every missing or malformed variable in one sorted list.
func (a *app) loadConfig(order []string) error {
	problems := map[string]config.Problem{}
	add := func(err error) error {
		var cerr *config.Error
		if !errors.As(err, &cerr) {
			return err // a programming error in a config struct
		}
		for _, p := range cerr.Problems {
			problems[p.Name] = p
		}
		return nil
	}
	cfgs := []any{&a.cfg.base}
	for _, name := range order {
		if cfg := a.mods[name].config; cfg != nil {
			cfgs = append(cfgs, cfg)
		}
	}
	for _, cfg := range cfgs {
		if err := config.Load(cfg, a.lookup); err != nil {
			if err := add(err); err != nil {
				return err
			}
		}
	}
	if slices.Contains(order, modNATS) && a.cfg.nats.URL == "" && !slices.Contains(order, modAll) {
		problems["NATS_URL"] = config.Problem{Name: "NATS_URL", Reason: "is required (only -target=all embeds a NATS server)"}
	}
	if slices.Contains(order, modGRPC) && a.cfg.grpc.VerifyKey == "" && a.cfg.grpc.SigningKey == "" {
		problems["IDENTITY_VERIFY_KEY"] = config.Problem{Name: "IDENTITY_VERIFY_KEY", Reason: "is required (or IDENTITY_SIGNING_KEY, from which it is derived)"}
	}
	if len(problems) == 0 {
		return nil
	}
	all := &config.Error{}
	for _, p := range problems {
		all.Problems = append(all.Problems, p)
	}
	slices.SortFunc(all.Problems, func(x, y config.Problem) int { return strings.Compare(x.Name, y.Name) })
	return all
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

func (a *app) initNATS() error {
	url := a.cfg.nats.URL
	if url == "" {
		if err := os.MkdirAll(a.cfg.nats.StoreDir, 0o755); err != nil {
			return fmt.Errorf("NATS_STORE_DIR: %w", err)
		}
		srv, err := natsjs.StartEmbedded(a.cfg.nats.StoreDir, 0)
		if err != nil {
			return fmt.Errorf("embedded NATS: %w", err)
		}
		a.closers = append(a.closers, srv.Shutdown)
		url = srv.URL()
		a.log.Info("embedded NATS with JetStream", "url", url, "store_dir", a.cfg.nats.StoreDir)
	}
	nc, err := natsjs.Connect(url, "ecabinet", a.log)
	if err != nil {
		return err
	}
	// Drain (not Close) so that messages in flight are delivered first.
	a.closers = append(a.closers, func() { _ = nc.Drain() })
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	a.nc, a.js = nc, js
	return nil
}

func (a *app) initGRPC() error {
	var (
		pub ed25519.PublicKey
		err error
	)
	if a.cfg.grpc.VerifyKey != "" {
		pub, err = identity.DecodePublicKey(a.cfg.grpc.VerifyKey)
		if err != nil {
			return fmt.Errorf("IDENTITY_VERIFY_KEY: %w", err)
		}
	} else {
		seed, err := identity.DecodeSeed(a.cfg.grpc.SigningKey)
		if err != nil {
			return fmt.Errorf("IDENTITY_SIGNING_KEY: %w", err)
		}
		s, err := identity.NewSigner(seed)
		if err != nil {
			return fmt.Errorf("IDENTITY_SIGNING_KEY: %w", err)
		}
		pub = s.PublicKey()
	}
	a.grpc = grpcserver.New(a.log, identity.NewVerifier(pub), a.metrics)
	a.grpc.ServeLocal(a.local)
	a.runners = append(a.runners, runner{"grpc", func(ctx context.Context) error {
		lis, err := net.Listen("tcp", a.cfg.grpc.Addr)
		if err != nil {
			return fmt.Errorf("listen on GRPC_ADDR %s: %w", a.cfg.grpc.Addr, err)
		}
		a.log.Info("gRPC listening", "addr", lis.Addr().String())
		return a.grpc.Serve(ctx, lis)
	}})
	return nil
}

// finishGRPC starts the dependency checker once every hosted service has
// registered, so health reflects exactly the services in this process.
// Services in one process share their dependencies, so a probe name is
// checked once.
func (a *app) finishGRPC() {
	if a.grpc == nil {
		return
	}
	needs := map[string][]string{}
	var probes []health.Probe
	seen := map[string]bool{}
	for name, ps := range a.services {
		for _, p := range ps {
			needs[name] = append(needs[name], p.Name)
			if !seen[p.Name] {
				seen[p.Name] = true
				probes = append(probes, p)
			}
		}
	}
	checker := health.NewChecker(a.grpc.Health, a.log, needs, probes...)
	a.runners = append(a.runners, runner{"health", func(ctx context.Context) error {
		checker.Run(ctx)
		return nil
	}})
}

// host wires one service: its own pool (in its own schema), its gRPC API,
// its probes and its background work.
func (a *app) host(name string, build func(*pgxpool.Pool) (service, error)) error {
	pool, err := pg.Connect(a.cfg.postgres.URL, name)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	a.closers = append(a.closers, pool.Close)
	svc, err := build(pool)
	if err != nil {
		return err
	}
	svc.Register(a.grpc.Server)
	if l, ok := svc.(interface{ RegisterOn(grpc.ServiceRegistrar) }); ok {
		l.RegisterOn(a.local)
	}
	a.services[name] = svc.Probes()
	a.runners = append(a.runners, runner{name, svc.Run})
	return nil
}

func (a *app) serviceLog(name string) *slog.Logger { return a.log.With("service", name) }

func (a *app) initMeetings() error {
	return a.host(meetings.Name, func(pool *pgxpool.Pool) (service, error) {
		return meetings.New(meetings.Deps{Log: a.serviceLog(meetings.Name), Pool: pool, Schema: meetings.Name, JS: a.js, NC: a.nc}), nil
	})
}

// meetingsConn is the connection through which a service of this process
// calls the meetings service at addr on behalf of the caller it serves
// (identity.DialForwarding: the caller's own token goes along, so the
// meetings service decides as it would for the caller). When the meetings
// service is hosted in this process at that very address (-target=all),
// unary calls run it in process (grpcserver.Local) behind the same server
// interceptors — the token still verified, the caller's identity and
// request id still forwarded — without crossing loopback TCP: the
// documents service asks for the meeting on every read of a confidential
// paper, uncached so that removing a participant ends their access at
// once (ADR 0002). Streams, and a meetings service elsewhere, use TCP.
func (a *app) meetingsConn(addr string) (grpc.ClientConnInterface, error) {
	conn, err := identity.DialForwarding(addr)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func() { _ = conn.Close() })
	if slices.Contains(a.targets, modMeetings) && addr == a.cfg.grpc.Addr {
		return a.local.Conn(conn, identity.ForwardUnaryClientInterceptor()), nil
	}
	return conn, nil
}

func (a *app) initDocuments() error {
	return a.host(documents.Name, func(pool *pgxpool.Pool) (service, error) {
		s := a.cfg.storage
		store, err := blob.Open(blob.Config{Endpoint: s.Endpoint, AccessKey: s.AccessKey, SecretKey: s.SecretKey, Bucket: s.Bucket, UseTLS: s.UseTLS})
		if err != nil {
			return nil, fmt.Errorf("S3_ENDPOINT: %w", err)
		}
		meetingsAddr := a.cfg.documents.MeetingsAddr
		if meetingsAddr == "" {
			meetingsAddr = a.cfg.grpc.Addr
		}
		conn, err := a.meetingsConn(meetingsAddr)
		if err != nil {
			return nil, fmt.Errorf("MEETINGS_ADDR: %w", err)
		}
		return documents.New(documents.Deps{Log: a.serviceLog(documents.Name), Pool: pool, Schema: documents.Name, JS: a.js, NC: a.nc, Blob: store,
			Meetings: meetingsv1.NewMeetingsServiceClient(conn), Directory: meetingsv1.NewDirectoryServiceClient(conn), Config: a.cfg.documents.Config}), nil
	})
}

func (a *app) initVoting() error {
	return a.host(voting.Name, func(pool *pgxpool.Pool) (service, error) {
		key, err := secrecy.DecodeKey(a.cfg.voting.BallotKey)
		if err != nil {
			return nil, fmt.Errorf("BALLOT_KEY: %w", err)
		}
		meetingsAddr := a.cfg.voting.MeetingsAddr
		if meetingsAddr == "" {
			meetingsAddr = a.cfg.grpc.Addr
		}
		conn, err := a.meetingsConn(meetingsAddr)
		if err != nil {
			return nil, fmt.Errorf("MEETINGS_ADDR: %w", err)
		}
		return voting.New(voting.Deps{Log: a.serviceLog(voting.Name), Pool: pool, Schema: voting.Name, JS: a.js, NC: a.nc,
			Meetings: meetingsv1.NewMeetingsServiceClient(conn), Directory: meetingsv1.NewDirectoryServiceClient(conn),
			BallotKey: key}), nil
	})
}

func (a *app) initVideo() error {
	return a.host(video.Name, func(pool *pgxpool.Pool) (service, error) {
		if err := a.cfg.video.Check(); err != nil {
			return nil, err
		}
		meetingsAddr := a.cfg.video.MeetingsAddr
		if meetingsAddr == "" {
			meetingsAddr = a.cfg.grpc.Addr
		}
		conn, err := a.meetingsConn(meetingsAddr)
		if err != nil {
			return nil, fmt.Errorf("MEETINGS_ADDR: %w", err)
		}
		// The documents client stays on TCP: the video service only
		// streams recordings to it (UploadDocument), which a local
		// connection would send over TCP anyway.
		documentsAddr := a.cfg.video.DocumentsAddr
		if documentsAddr == "" {
			documentsAddr = a.cfg.grpc.Addr
		}
		docs, err := identity.DialForwarding(documentsAddr)
		if err != nil {
			return nil, fmt.Errorf("DOCUMENTS_ADDR: %w", err)
		}
		a.closers = append(a.closers, func() { _ = docs.Close() })
		return video.New(video.Deps{Log: a.serviceLog(video.Name), Pool: pool, Schema: video.Name, JS: a.js, NC: a.nc,
			Meetings: meetingsv1.NewMeetingsServiceClient(conn), Documents: documentsv1.NewDocumentsServiceClient(docs),
			Config: a.cfg.video.Config, Metrics: a.metrics}), nil
	})
}

func (a *app) initGateway() error {
	d := gateway.Deps{Log: a.log.With("service", "gateway"), NC: a.nc, JS: a.js, Metrics: a.metrics}
	// The voting service in this process, at the address the gateway would
	// dial: its ballots need not cross loopback TCP (grpcserver.Local).
	votingAddr := a.cfg.gateway.VotingAddr
	if votingAddr == "" {
		votingAddr = a.cfg.gateway.GRPCAddr
	}
	if slices.Contains(a.targets, modVoting) && votingAddr == a.cfg.grpc.Addr {
		d.Local = a.local.Conn
	}
	// Likewise the documents service, asked for access on every read of a
	// paper (a meeting's tablets opening it at once).
	documentsAddr := a.cfg.gateway.DocumentsAddr
	if documentsAddr == "" {
		documentsAddr = a.cfg.gateway.GRPCAddr
	}
	if slices.Contains(a.targets, modDocuments) && documentsAddr == a.cfg.grpc.Addr {
		d.LocalDocuments = a.local.Conn
	}
	g, err := gateway.New(a.cfg.gateway, d)
	if err != nil {
		return err
	}
	a.runners = append(a.runners, runner{"gateway", g.Run})
	return nil
}

// serveOps gives a process without the gateway its liveness and metrics
// endpoints (for orchestrators and Prometheus).
func (a *app) serveOps(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics, promhttp.HandlerOpts{}))
	srv := &http.Server{Addr: a.cfg.base.HTTPAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("listen on HTTP_ADDR %s: %w", a.cfg.base.HTTPAddr, err)
	}
	return nil
}
