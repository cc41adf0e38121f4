package testenv

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ecabinet/ecabinet/services/platform/natsjs"
)

const defaultNATSURL = "nats://127.0.0.1:4222"

// NATSURL is TEST_NATS_URL, else NATS_URL, else the local server.
func NATSURL(t testing.TB) string {
	t.Helper()
	return firstEnv(defaultNATSURL, "TEST_NATS_URL", "NATS_URL")
}

// JetStream connects to NATSURL (through natsjs.Connect, logging to the test)
// and fails the test if the server is not there or has no JetStream. The
// connection is closed in t.Cleanup.
func JetStream(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	url := NATSURL(t)
	nc, err := natsjs.Connect(url, "testenv "+t.Name(), Logger(t))
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(nc.Close)
	// natsjs.Connect returns before connecting (a service must start while
	// NATS is down); a test instead wants a clear failure.
	for deadline := time.Now().Add(10 * time.Second); !nc.IsConnected(); {
		if time.Now().After(deadline) {
			t.Fatalf("testenv: NATS is not reachable at %s (start nats-server -js, set TEST_NATS_URL, or run via make test)", url)
		}
		time.Sleep(50 * time.Millisecond)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("testenv: jetstream: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.AccountInfo(ctx); err != nil {
		t.Fatalf("testenv: JetStream is not available at %s (is the server started with -js?): %v", url, err)
	}
	return nc, js
}

// Prefix returns a fresh subject prefix "t_<hex>." for this test. Streams
// whose names start with StreamPrefix(prefix) are deleted from the server at
// NATSURL in t.Cleanup.
func Prefix(t testing.TB) string {
	t.Helper()
	prefix := "t_" + uniqueHex(t, 4) + "."
	url := NATSURL(t)
	t.Cleanup(func() { deleteStreams(t, url, StreamPrefix(prefix)) })
	return prefix
}

// StreamPrefix is the stream-name prefix matching a subject prefix:
// "t_ab12cd34." gives "T_AB12CD34_".
func StreamPrefix(prefix string) string { return natsjs.StreamNamePrefix(prefix) }

func deleteStreams(t testing.TB, url, namePrefix string) {
	if namePrefix == "" {
		return // never sweep production-named streams
	}
	// A test that used only an embedded server leaves nothing here; if the
	// shared server is not even up there is nothing to delete either.
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
	if err != nil {
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	names := js.StreamNames(ctx)
	var doomed []string
	for name := range names.Name() {
		if strings.HasPrefix(name, namePrefix) {
			doomed = append(doomed, name)
		}
	}
	if err := names.Err(); err != nil {
		t.Errorf("testenv: list streams to delete %s*: %v", namePrefix, err)
		return
	}
	for _, name := range doomed {
		if err := js.DeleteStream(ctx, name); err != nil {
			t.Errorf("testenv: delete stream %s: %v", name, err)
		}
	}
}

// Embedded is a private JetStream server for one test, which the test can
// stop and restart (same port, same store) to play a NATS outage.
type Embedded struct {
	t    testing.TB
	dir  string
	port int

	mu  sync.Mutex
	srv *natsjs.Embedded
}

// EmbeddedNATS starts a private JetStream server on a free loopback port with
// its store in a temporary directory; it is shut down in t.Cleanup.
func EmbeddedNATS(t testing.TB) *Embedded {
	t.Helper()
	e := &Embedded{t: t, dir: t.TempDir()}
	srv, err := natsjs.StartEmbedded(e.dir, 0)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	e.srv, e.port = srv, srv.Port()
	t.Cleanup(e.Stop)
	return e
}

// URL is the server's client URL; it stays the same across Restart.
func (e *Embedded) URL() string {
	return "nats://127.0.0.1:" + strconv.Itoa(e.port)
}

// Stop shuts the server down; clients see a disconnect. Stopping a stopped
// server does nothing.
func (e *Embedded) Stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.srv != nil {
		e.srv.Shutdown()
		e.srv = nil
	}
}

// Restart starts the server again on the same port with the same store, so
// streams and their messages are back and clients reconnect.
func (e *Embedded) Restart() {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.srv != nil {
		return
	}
	// The port was just released; retry briefly in case the OS is slow to
	// let it go.
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; {
		var srv *natsjs.Embedded
		if srv, err = natsjs.StartEmbedded(e.dir, e.port); err == nil {
			e.srv = srv
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("testenv: restart embedded NATS on port %d: %v", e.port, err)
}

// Consumer returns an ordered consumer of stream that starts at its first
// message, so a test reads everything published there, in order.
func Consumer(t testing.TB, js jetstream.JetStream, stream string) jetstream.Consumer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangLimit)
	defer cancel()
	c, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("testenv: ordered consumer on %s: %v", stream, err)
	}
	return c
}

// Next returns c's next message, failing the test if none comes within
// hangLimit (a relay that never publishes).
func Next(t testing.TB, c jetstream.Consumer) jetstream.Msg {
	t.Helper()
	msg, err := c.Next(jetstream.FetchMaxWait(hangLimit))
	if err != nil {
		t.Fatalf("testenv: next message: %v", err)
	}
	return msg
}

// StreamMsgs returns how many messages stream holds now.
func StreamMsgs(t testing.TB, js jetstream.JetStream, stream string) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatalf("testenv: stream %s: %v", stream, err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatalf("testenv: stream %s info: %v", stream, err)
	}
	return info.State.Msgs
}
