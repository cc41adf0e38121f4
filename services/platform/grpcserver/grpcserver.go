// Package grpcserver builds the gRPC server every service runs on, with the
// same interceptors everywhere so logs, metrics, panics and authentication
// behave alike in all services.
package grpcserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	grpclog "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/logging"
)

// StopTimeout bounds how long Serve waits for in-flight calls after its
// context ends before cutting them off.
const StopTimeout = 10 * time.Second

// Server is a gRPC server with the ecabinet interceptors, the standard
// health service (Health) and reflection registered.
type Server struct {
	*grpc.Server
	Health *health.Server

	log     *slog.Logger
	metrics *grpcprom.ServerMetrics
	// unaryChain is the unary interceptors as one, for Local calls.
	unaryChain grpc.UnaryServerInterceptor
}

// New returns a server whose calls pass, outermost first, through: request
// id (from x-request-id metadata, else new; echoed in the response header) ->
// logging -> prometheus metrics (registered on reg; nil: not registered) ->
// panic recovery (codes.Internal, logged with the stack) -> identity (v).
// Because identity runs innermost, rejected calls are still logged and
// counted.
func New(log *slog.Logger, v *identity.Verifier, reg prometheus.Registerer) *Server {
	metrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	if reg != nil {
		if err := reg.Register(metrics); err != nil {
			// A second server in the same process (tests, -target=all
			// variants) shares the first one's collectors.
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				panic(fmt.Sprintf("grpcserver: registering metrics: %v", err))
			}
			existing, ok := are.ExistingCollector.(*grpcprom.ServerMetrics)
			if !ok {
				panic(fmt.Sprintf("grpcserver: gRPC metrics already registered by a %T", are.ExistingCollector))
			}
			metrics = existing
		}
	}

	logger := grpclog.LoggerFunc(func(ctx context.Context, lvl grpclog.Level, msg string, fields ...any) {
		log.Log(ctx, slog.Level(lvl), msg, fields...)
	})
	logOpts := []grpclog.Option{grpclog.WithLogOnEvents(grpclog.FinishCall), grpclog.WithLevels(callLevel)}
	// Health checks arrive every few seconds from the gateway and
	// orchestrators; logging each would drown everything else.
	notHealth := selector.MatchFunc(func(_ context.Context, c interceptors.CallMeta) bool {
		return c.Service != healthpb.Health_ServiceDesc.ServiceName
	})
	recoverOpt := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in gRPC handler", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return status.Error(codes.Internal, "internal error")
	})

	unary := []grpc.UnaryServerInterceptor{
		unaryRequestID,
		selector.UnaryServerInterceptor(grpclog.UnaryServerInterceptor(logger, logOpts...), notHealth),
		metrics.UnaryServerInterceptor(),
		recovery.UnaryServerInterceptor(recoverOpt),
		identity.UnaryServerInterceptor(v),
	}
	gs := grpc.NewServer(
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(
			streamRequestID,
			selector.StreamServerInterceptor(grpclog.StreamServerInterceptor(logger, logOpts...), notHealth),
			metrics.StreamServerInterceptor(),
			recovery.StreamServerInterceptor(recoverOpt),
			identity.StreamServerInterceptor(v),
		),
	)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	return &Server{Server: gs, Health: hs, log: log, metrics: metrics, unaryChain: chainUnary(unary...)}
}

// callLevel is the level a finished call is logged at: successful calls
// at DEBUG, the rest as the middleware's defaults (client mistakes INFO,
// trouble WARN or ERROR). Every REST request is already logged at INFO by
// the gateway with the request id the call carries, and counted here in
// the metrics; a second INFO line per call doubled the log volume of a
// vote storm (and cost a JSON encoding per call) without telling anyone
// anything new.
func callLevel(code codes.Code) grpclog.Level {
	if code == codes.OK {
		return grpclog.LevelDebug
	}
	return grpclog.DefaultServerCodeToLevel(code)
}

// Serve serves on lis until ctx is done, then stops gracefully: health turns
// NOT_SERVING, new calls are refused, in-flight calls finish (cut off after
// StopTimeout). It returns nil after a stop caused by ctx, or the error that
// ended serving early.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	// Zero-valued series for every registered method, so dashboards and
	// rate() see methods that have not been called yet.
	s.metrics.InitializeMetrics(s.Server)

	served := make(chan error, 1)
	go func() { served <- s.Server.Serve(lis) }()
	s.log.Info("gRPC server listening", "addr", lis.Addr().String())

	select {
	case err := <-served:
		if err != nil {
			return fmt.Errorf("grpcserver: serving on %s: %w", lis.Addr(), err)
		}
		return nil
	case <-ctx.Done():
	}

	s.Health.Shutdown()
	stopped := make(chan struct{})
	go func() {
		s.GracefulStop()
		close(stopped)
	}()
	timer := time.NewTimer(StopTimeout)
	defer timer.Stop()
	select {
	case <-stopped:
	case <-timer.C:
		s.log.Warn("gRPC calls still running after the stop timeout; cutting them off", "timeout", StopTimeout.String())
		s.Stop()
		<-stopped
	}
	<-served
	s.log.Info("gRPC server stopped", "addr", lis.Addr().String())
	return nil
}

// requestID returns ctx carrying the caller's request id (if usable) or a
// new one.
func requestID(ctx context.Context) (context.Context, string) {
	md, _ := metadata.FromIncomingContext(ctx)
	var id string
	if v := md.Get(logging.MetadataKey); len(v) > 0 && logging.ValidRequestID(v[0]) {
		id = v[0]
	} else {
		id = logging.NewRequestID()
	}
	return logging.WithRequestID(ctx, id), id
}

func unaryRequestID(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, id := requestID(ctx)
	// Echoed so a client that did not send one can still quote it.
	_ = grpc.SetHeader(ctx, metadata.Pairs(logging.MetadataKey, id))
	return handler(ctx, req)
}

func streamRequestID(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, id := requestID(ss.Context())
	_ = ss.SetHeader(metadata.Pairs(logging.MetadataKey, id))
	return handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
}

// contextStream replaces a stream's context.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }
