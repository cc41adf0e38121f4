// Package gateway is the HTTP front door: it authenticates callers, maps REST
// to the services' gRPC APIs, relays live events to tablets, reports
// readiness and serves the web app. Business rules live in the services.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ecabinet/ecabinet/gateway/files"
	"github.com/ecabinet/ecabinet/gateway/live"
	"github.com/ecabinet/ecabinet/gateway/problem"
	"github.com/ecabinet/ecabinet/gateway/signal"
	"github.com/ecabinet/ecabinet/gateway/web"
	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/proto/gen/openapi"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/natsjs"
)

// Config is read from the environment (see docs/adr/0001).
type Config struct {
	HTTPAddr string `env:"HTTP_ADDR" envDefault:"127.0.0.1:8080"`
	// GRPCAddr is where every service listens when they share one process;
	// each *_ADDR below defaults to it.
	GRPCAddr      string `env:"GRPC_ADDR" envDefault:"127.0.0.1:9090"`
	MeetingsAddr  string `env:"MEETINGS_ADDR"`
	DocumentsAddr string `env:"DOCUMENTS_ADDR"`
	VotingAddr    string `env:"VOTING_ADDR"`
	VideoAddr     string `env:"VIDEO_ADDR"`
	SigningKey    string `env:"IDENTITY_SIGNING_KEY,required"`
	// SessionCookieSecure marks the session cookie Secure (sent over HTTPS
	// only). Browsers accept and send Secure cookies on http://localhost and
	// http://127.0.0.1, so only serving plain HTTP on another host (a LAN
	// address in a trial) needs false.
	SessionCookieSecure bool `env:"SESSION_COOKIE_SECURE" envDefault:"true"`
	// FileCacheDir and FileCacheBytes: the local disk copies of papers that
	// many tablets read at once (gateway/files/filecache.go). The cache
	// makes a directory of its own under FileCacheDir ("" for the system's
	// temporary directory) and removes it at shutdown; 0 bytes: no cache.
	FileCacheDir   string `env:"FILE_CACHE_DIR"`
	FileCacheBytes int64  `env:"FILE_CACHE_BYTES" envDefault:"1073741824"`
}

// upstream is one service behind the gateway.
type upstream struct {
	name     string // the service's name, also its gRPC health service name
	addr     string
	register []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error
	conn     *grpc.ClientConn
}

// Deps are the gateway's connections, made by the caller so that one process
// can share them between targets.
type Deps struct {
	Log *slog.Logger
	NC  *nats.Conn
	JS  jetstream.JetStream
	// SubjectPrefix namespaces subjects and stream names ("" in production;
	// tests use their own so they never share streams).
	SubjectPrefix string
	Metrics       *prometheus.Registry
	// Local, when set, is the voting service hosted in this process
	// (-target=all): it returns a connection that calls the service's
	// unary methods without crossing the network, after client (the
	// identity signing), and sends everything else to fallback
	// (grpcserver.Local).
	Local func(fallback grpc.ClientConnInterface, client grpc.UnaryClientInterceptor) grpc.ClientConnInterface
	// LocalDocuments is Local for the documents service, when it is hosted
	// in this process: every read of a paper asks it for access first
	// (ADR 0002, "Performance: the first page of a paper").
	LocalDocuments func(fallback grpc.ClientConnInterface, client grpc.UnaryClientInterceptor) grpc.ClientConnInterface
}

// Gateway serves HTTP until its context ends.
type Gateway struct {
	cfg       Config
	deps      Deps
	signer    *identity.Signer
	verifier  *identity.Verifier
	upstreams []*upstream
	accounts  meetingsv1.AccountsServiceClient
	meetings  meetingsv1.MeetingsServiceClient
	sessions  *sessionCache
	liveCfg   jetstream.StreamConfig
	hub       *live.Hub
	files     *files.Handler
	handler   http.Handler
}

// New dials the services lazily (gRPC connects on first use) and builds the
// routes; it does no network I/O, so the gateway starts even when a service
// is still down and reports that in /readyz.
func New(cfg Config, d Deps) (*Gateway, error) {
	seed, err := identity.DecodeSeed(cfg.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("IDENTITY_SIGNING_KEY: %w", err)
	}
	signer, err := identity.NewSigner(seed)
	if err != nil {
		return nil, fmt.Errorf("IDENTITY_SIGNING_KEY: %w", err)
	}
	g := &Gateway{
		cfg:      cfg,
		deps:     d,
		signer:   signer,
		verifier: identity.NewVerifier(signer.PublicKey()),
	}
	orDefault := func(addr string) string {
		if addr == "" {
			return cfg.GRPCAddr
		}
		return addr
	}
	meetingsUp := &upstream{name: "meetings", addr: orDefault(cfg.MeetingsAddr), register: registrars(
		meetingsv1.RegisterMeetingsServiceHandler,
		meetingsv1.RegisterDirectoryServiceHandler,
		meetingsv1.RegisterAccountsServiceHandler,
		meetingsv1.RegisterMinutesServiceHandler,
		meetingsv1.RegisterTasksServiceHandler,
	)}
	// documentsConn is the connection to the documents service, in this
	// process when it is hosted here.
	documentsConn := func(conn *grpc.ClientConn) grpc.ClientConnInterface {
		if d.LocalDocuments == nil {
			return conn
		}
		return d.LocalDocuments(conn, identity.UnaryClientInterceptor(signer))
	}
	documentsUp := &upstream{name: "documents", addr: orDefault(cfg.DocumentsAddr), register: registrars(func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
		return documentsv1.RegisterDocumentsServiceHandlerClient(ctx, mux, documentsv1.NewDocumentsServiceClient(documentsConn(conn)))
	})}
	videoUp := &upstream{name: "video", addr: orDefault(cfg.VideoAddr), register: registrars(videov1.RegisterVideoServiceHandler)}
	g.upstreams = []*upstream{
		meetingsUp,
		documentsUp,
		{name: "voting", addr: orDefault(cfg.VotingAddr), register: registrars(func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
			if d.Local == nil {
				return votingv1.RegisterVotingServiceHandler(ctx, mux, conn)
			}
			local := d.Local(conn, identity.UnaryClientInterceptor(signer))
			return votingv1.RegisterVotingServiceHandlerClient(ctx, mux, votingv1.NewVotingServiceClient(local))
		})},
		videoUp,
	}

	api := runtime.NewServeMux(
		runtime.WithErrorHandler(func(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
			problem.WriteError(w, r, err)
		}),
		runtime.WithMetadata(sessionMetadata),
		runtime.WithForwardResponseOption(g.afterPasswordChange),
		runtime.WithRoutingErrorHandler(func(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, status int) {
			problem.Write(w, problem.New(r, status, http.StatusText(status)))
		}),
	)
	names := make([]string, len(g.upstreams))
	for i, u := range g.upstreams {
		names[i] = u.name
	}
	g.liveCfg = natsjs.LiveStream(d.SubjectPrefix, names...)
	g.hub = live.NewHub(d.JS, g.liveCfg.Name, d.Log)

	conns := map[string]*grpc.ClientConn{}
	for _, u := range g.upstreams {
		// Services that share an address share a connection.
		if conns[u.addr] == nil {
			conn, err := grpc.NewClient(u.addr,
				grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithChainUnaryInterceptor(identity.UnaryClientInterceptor(signer)),
				grpc.WithChainStreamInterceptor(identity.StreamClientInterceptor(signer)),
			)
			if err != nil {
				return nil, fmt.Errorf("%s upstream %q: %w", u.name, u.addr, err)
			}
			conns[u.addr] = conn
		}
		u.conn = conns[u.addr]
		for _, register := range u.register {
			if err := register(context.Background(), api, u.conn); err != nil {
				return nil, fmt.Errorf("register %s REST routes: %w", u.name, err)
			}
		}
	}
	g.accounts = meetingsv1.NewAccountsServiceClient(meetingsUp.conn)
	g.meetings = meetingsv1.NewMeetingsServiceClient(meetingsUp.conn)
	g.sessions = newSessionCache(g.resolveSession)

	m := newHTTPMetrics(d.Metrics)
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", m.wrap("healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})))
	mux.Handle("GET /readyz", m.wrap("readyz", http.HandlerFunc(g.readyz)))
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.Metrics, promhttp.HandlerOpts{}))
	mux.Handle("GET /api/openapi.json", m.wrap("openapi", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.Spec)
	})))
	mux.Handle("GET /api/v1/live", g.hub.Handler(g.authenticate))
	// Sign-in and sign-out are the gateway's own: they manage the cookie.
	mux.Handle("POST /api/v1/auth/login", m.wrap("auth", http.HandlerFunc(g.login)))
	mux.Handle("POST /api/v1/auth/logout", m.wrap("auth", http.HandlerFunc(g.logout)))
	mux.Handle("/api/v1/auth/login", methodNotAllowed(http.MethodPost))
	mux.Handle("/api/v1/auth/logout", methodNotAllowed(http.MethodPost))
	mux.Handle("GET /api/v1/meetings/{meeting_id}/invitation.ics", m.wrap("api", g.requireIdentity(http.HandlerFunc(g.invitationICS))))
	mux.Handle("GET /api/v1/meetings/{meeting_id}/minutes.pdf", m.wrap("api", g.requireIdentity(g.minutesPDF(meetingsv1.NewMinutesServiceClient(meetingsUp.conn)))))
	// Uploads, file content and QR codes stream through gateway/files
	// rather than grpc-gateway (ADR 0002). They authenticate like the REST
	// API but check cross-site requests their own way (uploads are not JSON).
	g.files = files.New(files.Deps{
		Log:            d.Log,
		Documents:      documentsv1.NewDocumentsServiceClient(documentsConn(documentsUp.conn)),
		Authenticate:   g.authenticate,
		FileCacheDir:   cfg.FileCacheDir,
		FileCacheBytes: cfg.FileCacheBytes,
	})
	g.files.Register(mux, m.wrap)
	// WebRTC signaling: a WebSocket bridged to the video service's Signal
	// stream, authenticated like the REST API (gateway/signal).
	signal.New(signal.Deps{
		Log:          d.Log,
		Video:        videov1.NewVideoServiceClient(videoUp.conn),
		Authenticate: g.authenticate,
	}).Register(mux, m.wrap)
	mux.Handle("/api/", m.wrap("api", g.requireIdentity(api)))
	mux.Handle("/", m.wrap("web", web.Handler()))
	g.handler = withRequestID(d.Log, mux)
	return g, nil
}

// registrars lists the REST route registrations served by one upstream.
func registrars(fs ...func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error) []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error {
	return fs
}

// Handler is the gateway's whole HTTP surface (useful for in-process tests).
func (g *Gateway) Handler() http.Handler { return g.handler }

// Run serves HTTP on cfg.HTTPAddr and relays live events until ctx ends,
// then finishes in-flight requests (bounded) before returning.
func (g *Gateway) Run(ctx context.Context) error {
	lis, err := net.Listen("tcp", g.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("gateway: listen on HTTP_ADDR %s: %w", g.cfg.HTTPAddr, err)
	}
	return g.Serve(ctx, lis)
}

// Serve is Run on a listener the caller made.
func (g *Gateway) Serve(ctx context.Context, lis net.Listener) error {
	srv := &http.Server{Handler: g.handler, ReadHeaderTimeout: 10 * time.Second}
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		// The live stream sources every service's stream. Declaring those
		// first (the same idempotent declaration each service makes) lets
		// sourcing start at once instead of after JetStream's retry delay
		// for a missing source.
		for _, u := range g.upstreams {
			if err := natsjs.EnsureStream(ctx, g.deps.JS, natsjs.ServiceStream(g.deps.SubjectPrefix, u.name)); err != nil {
				return err
			}
		}
		if err := natsjs.EnsureStream(ctx, g.deps.JS, g.liveCfg); err != nil {
			return err
		}
		return g.hub.Run(ctx)
	})
	eg.Go(func() error {
		if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("gateway: %w", err)
		}
		return nil
	})
	eg.Go(func() error {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := srv.Shutdown(shutdownCtx)
		for _, u := range g.upstreams {
			_ = u.conn.Close()
		}
		if cerr := g.files.Close(); cerr != nil {
			g.deps.Log.Warn("could not remove the file cache", "err", cerr)
		}
		return err
	})
	g.deps.Log.Info("gateway listening", "addr", lis.Addr().String())
	return eg.Wait()
}
