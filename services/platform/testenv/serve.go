package testenv

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ecabinet/ecabinet/services/platform/grpcserver"
	"github.com/ecabinet/ecabinet/services/platform/health"
	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// hangLimit bounds every wait for something the code under test does in the
// background. It is a deadlock guard, not a performance assertion.
const hangLimit = 30 * time.Second

// Signer returns an identity signer with a fresh random key, standing in for
// the gateway's.
func Signer(t testing.TB) *identity.Signer {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		t.Fatalf("testenv: random seed: %v", err)
	}
	s, err := identity.NewSigner(seed)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return s
}

// Serve runs the services that register adds on a loopback gRPC server built
// by grpcserver.New, as in production (identity tokens verified with
// signer's public key, logging to the test), and returns a client
// connection to it whose calls, unary and streaming, carry the claims put in
// their context (As, identity.NewContext) as tokens signed by signer. A call
// without claims goes out without a token. The connection is closed and the
// server stopped in t.Cleanup; a Serve error fails the test.
func Serve(t testing.TB, signer *identity.Signer, register func(*grpc.Server)) *grpc.ClientConn {
	t.Helper()
	gs := grpcserver.New(Logger(t), identity.NewVerifier(signer.PublicKey()), prometheus.NewRegistry())
	register(gs.Server)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: listen on loopback: %v", err)
	}
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(identity.UnaryClientInterceptor(signer)),
		grpc.WithChainStreamInterceptor(identity.StreamClientInterceptor(signer)))
	if err != nil {
		lis.Close()
		t.Fatalf("testenv: gRPC client: %v", err)
	}
	Run(t, func(ctx context.Context) error {
		if err := gs.Serve(ctx, lis); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	})
	// Registered after Run, so it runs before the server is stopped.
	t.Cleanup(func() { conn.Close() })
	return conn
}

// As returns a context carrying c, which the connection from Serve signs
// into the call, and which a handler called directly finds as it would
// after the server's interceptor.
func As(c identity.Claims) context.Context {
	return identity.NewContext(context.Background(), c)
}

// Run runs run in the background (a service's Run, say) until the test
// ends; then its context is cancelled and t.Cleanup waits for it to return.
// An error it returns fails the test.
func Run(t testing.TB, run func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("testenv: running in the background: %v", err)
		}
	})
}

// Ready waits until every probe passes, which is when a service's readiness
// check would report it serving (e.g. its schema migrated), and fails the
// test with the failing probes' errors if that does not happen within
// hangLimit.
func Ready(t testing.TB, probes ...health.Probe) {
	t.Helper()
	Eventually(t, hangLimit, func() error {
		var errs []error
		for _, p := range probes {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := p.Check(ctx)
			cancel()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p.Name, err))
			}
		}
		return errors.Join(errs...)
	})
}
