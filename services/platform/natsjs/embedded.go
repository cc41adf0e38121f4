package natsjs

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Embedded is a NATS server with JetStream running inside this process: for
// `-target=all` without NATS_URL, and for tests that take NATS away on purpose.
type Embedded struct {
	srv *server.Server
}

// StartEmbedded starts a JetStream-enabled server listening on
// 127.0.0.1:port (0 picks a free port) that keeps its streams in storeDir, and
// returns once it accepts connections. Starting again with the same storeDir
// brings the streams back.
func StartEmbedded(storeDir string, port int) (*Embedded, error) {
	if storeDir == "" {
		return nil, errors.New("natsjs: embedded server needs a store directory")
	}
	if port == 0 {
		port = server.RANDOM_PORT // nats-server reads 0 as "the default port, 4222"
	}
	opts := &server.Options{
		ServerName: "ecabinet-embedded",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   storeDir,
		// The process that embeds the server owns signals and logging.
		NoSigs: true,
		NoLog:  true,
		// No cluster, gateway, leafnode or monitoring listeners: loopback
		// client port only.
		HTTPPort: 0,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsjs: embedded server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("natsjs: embedded server on 127.0.0.1:%d (store %s) did not become ready", port, storeDir)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("natsjs: embedded server: JetStream did not start (store %s)", storeDir)
	}
	return &Embedded{srv: srv}, nil
}

// URL is the client URL, e.g. nats://127.0.0.1:4222.
func (e *Embedded) URL() string { return e.srv.ClientURL() }

// Port is the port the server listens on (useful after starting with 0).
func (e *Embedded) Port() int {
	if a, ok := e.srv.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// Shutdown stops the server and waits until it has let go of its port and
// store.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}
