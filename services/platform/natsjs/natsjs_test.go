package natsjs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ecabinet/ecabinet/services/platform/natsjs"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

func TestConnectRejectsMalformedURL(t *testing.T) {
	for _, url := range []string{
		"",
		"nats://127.0.0.1:notaport",
		"nats://127.0.0.1:99999",
		"http://127.0.0.1:4222",
		"nats://",
		"nats://127.0.0.1:4222, nats://[::1",
		"nats://user:secret@127.0.0.1:x",
	} {
		nc, err := natsjs.Connect(url, "test", slog.New(slog.DiscardHandler))
		if err == nil {
			nc.Close()
			t.Errorf("Connect(%q) succeeded, want an error", url)
			continue
		}
		if !strings.Contains(err.Error(), "NATS URL") {
			t.Errorf("Connect(%q) = %v, want it to say the NATS URL is the problem", url, err)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("Connect(%q) leaks the password: %v", url, err)
		}
	}
}

// Connect must not wait for the server: a service starts while NATS is down,
// and the connection comes up (and is logged) when NATS does.
func TestConnectBeforeServerIsUp(t *testing.T) {
	dir := t.TempDir()
	first, err := natsjs.StartEmbedded(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	port := first.Port()
	url := first.URL()
	first.Shutdown() // now nothing listens on port

	var logs syncBuffer
	nc, err := natsjs.Connect(url, "test", slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("Connect with server down: %v", err)
	}
	defer nc.Close()
	ping := natsjs.Ping(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ping(ctx); err == nil || !strings.Contains(err.Error(), fmt.Sprint(port)) {
		t.Fatalf("Ping with server down = %v, want an error naming the address", err)
	}
	if !strings.Contains(logs.String(), "nats unreachable at nats://127.0.0.1:"+fmt.Sprint(port)) {
		t.Errorf("log does not say NATS is unreachable at its address:\n%s", logs.String())
	}

	srv, err := natsjs.StartEmbedded(dir, port)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	testenv.Eventually(t, 30*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return ping(ctx)
	})
	if !strings.Contains(logs.String(), "nats connected to") {
		t.Errorf("log does not record the connection:\n%s", logs.String())
	}

	// An outage after that is logged as a disconnect, and recovery as a
	// reconnect.
	srv.Shutdown()
	testenv.Eventually(t, 30*time.Second, func() error {
		if !strings.Contains(logs.String(), "nats disconnected from nats://127.0.0.1:"+fmt.Sprint(port)) {
			return errors.New("no disconnect logged yet")
		}
		return nil
	})
	srv, err = natsjs.StartEmbedded(dir, port)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	testenv.Eventually(t, 30*time.Second, func() error {
		if !strings.Contains(logs.String(), "nats reconnected to") {
			return errors.New("no reconnect logged yet")
		}
		return nil
	})
}

func TestStreamConfigs(t *testing.T) {
	s := natsjs.ServiceStream("", "meetings")
	if s.Name != "MEETINGS" || len(s.Subjects) != 1 || s.Subjects[0] != "ecabinet.meetings.v1.>" ||
		s.Storage != jetstream.FileStorage || s.Duplicates != 2*time.Minute {
		t.Errorf("ServiceStream(\"\", meetings) = %+v", s)
	}
	s = natsjs.ServiceStream("t_ab12.", "voting")
	if s.Name != "T_AB12_VOTING" || s.Subjects[0] != "t_ab12.ecabinet.voting.v1.>" {
		t.Errorf("ServiceStream(t_ab12., voting) = name %q subjects %v", s.Name, s.Subjects)
	}
	l := natsjs.LiveStream("t_ab12.", "meetings", "voting")
	if l.Name != "T_AB12_LIVE" || l.MaxAge != 24*time.Hour || len(l.Sources) != 2 ||
		l.Sources[0].Name != "T_AB12_MEETINGS" || l.Sources[1].Name != "T_AB12_VOTING" || len(l.Subjects) != 0 {
		t.Errorf("LiveStream = %+v", l)
	}
}

func TestEnsureStreamsAndLiveSourcing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, js := testenv.JetStream(t)
	prefix := testenv.Prefix(t)

	for _, svc := range []string{"meetings", "voting"} {
		cfg := natsjs.ServiceStream(prefix, svc)
		// Twice: the second call must be a no-op update, not an error.
		for range 2 {
			if err := natsjs.EnsureStream(ctx, js, cfg); err != nil {
				t.Fatal(err)
			}
		}
	}
	live := natsjs.LiveStream(prefix, "meetings", "voting")
	if err := natsjs.EnsureStream(ctx, js, live); err != nil {
		t.Fatal(err)
	}
	// Changing a limit updates the stream in place.
	live.MaxAge = 12 * time.Hour
	if err := natsjs.EnsureStream(ctx, js, live); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, live.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.CachedInfo().Config.MaxAge; got != 12*time.Hour {
		t.Errorf("LIVE MaxAge after update = %v, want 12h", got)
	}

	if _, err := js.Publish(ctx, prefix+"ecabinet.meetings.v1.m1.created", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, prefix+"ecabinet.voting.v1.m1.poll_created", []byte("b")); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		info, err := st.Info(ctx)
		if err != nil {
			return err
		}
		if info.State.Msgs != 2 {
			return fmt.Errorf("LIVE holds %d messages, want 2", info.State.Msgs)
		}
		return nil
	})
}

func TestEnsureStreamRejectsInvalidConfigAtOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, js := testenv.JetStream(t)
	prefix := testenv.Prefix(t)
	cfg := natsjs.ServiceStream(prefix, "meetings")
	cfg.MaxAge = time.Minute // shorter than the 2m duplicate window: invalid
	err := natsjs.EnsureStream(ctx, js, cfg)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("EnsureStream(invalid) = %v (ctx %v), want the server's rejection before the deadline", err, ctx.Err())
	}
}

func TestEnsureStreamWaitsForNATS(t *testing.T) {
	dir := t.TempDir()
	srv, err := natsjs.StartEmbedded(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	port, url := srv.Port(), srv.URL()
	srv.Shutdown()

	nc, err := natsjs.Connect(url, "test", testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}

	// Down for the whole deadline: an error once ctx is done.
	short, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := natsjs.EnsureStream(short, js, natsjs.ServiceStream("", "meetings")); err == nil {
		t.Fatal("EnsureStream with NATS down succeeded")
	}

	// Comes up while EnsureStream waits: it succeeds.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- natsjs.EnsureStream(ctx, js, natsjs.ServiceStream("", "meetings")) }()
	srv, err = natsjs.StartEmbedded(dir, port)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if err := <-done; err != nil {
		t.Fatalf("EnsureStream after NATS came up: %v", err)
	}
}

func TestEmbeddedKeepsStreamsAcrossRestart(t *testing.T) {
	// Generous: a loaded CI machine restarts JetStream slowly. This bounds
	// a hang; it is not a speed assertion.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	srv, err := natsjs.StartEmbedded(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.URL(), "nats://127.0.0.1:") {
		t.Errorf("URL = %q, want a loopback nats:// URL", srv.URL())
	}
	port := srv.Port()
	nc, err := natsjs.Connect(srv.URL(), "test", testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := natsjs.EnsureStream(ctx, js, natsjs.ServiceStream("", "documents")); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "ecabinet.documents.v1.m.added", []byte("x")); err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()

	srv, err = natsjs.StartEmbedded(dir, port)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	testenv.Eventually(t, 30*time.Second, func() error {
		// Each attempt has its own deadline: a request sent while the
		// client is still reconnecting can go unanswered, and waiting on
		// it with the test's whole budget hung the test for 3 minutes.
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		st, err := js.Stream(attempt, "DOCUMENTS")
		if err != nil {
			return err
		}
		if n := st.CachedInfo().State.Msgs; n != 1 {
			return fmt.Errorf("DOCUMENTS holds %d messages after restart, want 1", n)
		}
		return nil
	})
}

func TestStartEmbeddedNeedsStoreDir(t *testing.T) {
	if _, err := natsjs.StartEmbedded("", 0); err == nil {
		t.Fatal("StartEmbedded without a store directory succeeded")
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
