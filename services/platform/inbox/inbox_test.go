package inbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ecabinet/ecabinet/services/platform/inbox"
	"github.com/ecabinet/ecabinet/services/platform/natsjs"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

var migrations = fstest.MapFS{
	// No unique key on purpose: a message applied twice shows up twice.
	"00001_applied.sql": {Data: []byte(`-- +goose Up
CREATE TABLE applied (msg_id text NOT NULL, body text NOT NULL, delivery int NOT NULL);
-- +goose Down
DROP TABLE applied;
`)},
}

const timeout = 60 * time.Second // deadline for background work; not a speed target

type world struct {
	pool   *pgxpool.Pool
	js     jetstream.JetStream
	prefix string
	stream string
	log    *slog.Logger
	logs   *syncBuffer
	mu     sync.Mutex
	calls  map[string]int // handler calls per message id
	stop   func()         // stops the running Consume and checks it returned nil
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{
		pool:   testenv.Pool(t, testenv.Schema(t, "inbox"), migrations),
		prefix: testenv.Prefix(t),
		calls:  map[string]int{},
	}
	_, w.js = testenv.JetStream(t)
	w.stream = testenv.StreamPrefix(w.prefix) + "INBOX"
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// The shortest de-duplication window JetStream allows, so the test can
	// store the same message id twice and get it delivered twice.
	if err := natsjs.EnsureStream(ctx, w.js, jetstream.StreamConfig{
		Name:       w.stream,
		Subjects:   []string{w.prefix + "in.>"},
		Storage:    jetstream.MemoryStorage,
		Duplicates: 100 * time.Millisecond,
	}); err != nil {
		t.Fatal(err)
	}
	w.logs = &syncBuffer{}
	w.log = slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("consumer log:\n%s", w.logs.String())
		}
	})
	return w
}

// start runs Consume with h until stop or the end of the test.
func (w *world) start(t *testing.T, cfg inbox.Config, h func(ctx context.Context, tx pgx.Tx, msg jetstream.Msg, body string, delivery uint64) error) {
	t.Helper()
	cfg.Stream = w.stream
	if cfg.Durable == "" {
		cfg.Durable = "test"
	}
	ctx, cancel := context.WithCancel(context.Background())
	handler := func(ctx context.Context, tx pgx.Tx, msg jetstream.Msg) error {
		id := msg.Headers().Get(jetstream.MsgIDHeader)
		md, err := msg.Metadata()
		if err != nil {
			return err
		}
		w.mu.Lock()
		w.calls[id]++
		w.mu.Unlock()
		// Written before h decides: a failing handler's write must vanish.
		if _, err := tx.Exec(ctx, `INSERT INTO applied (msg_id, body, delivery) VALUES ($1, $2, $3)`,
			id, string(msg.Data()), md.NumDelivered); err != nil {
			return err
		}
		return h(ctx, tx, msg, string(msg.Data()), md.NumDelivered)
	}
	done := make(chan error, 1)
	go func() { done <- inbox.Consume(ctx, w.pool, w.js, cfg, handler, w.log) }()
	w.stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Consume after cancel = %v, want nil", err)
		}
	})
	t.Cleanup(w.stop)
}

func (w *world) publish(t *testing.T, id, body string) {
	t.Helper()
	msg := &nats.Msg{Subject: w.prefix + "in.x", Data: []byte(body), Header: nats.Header{}}
	if id != "" {
		msg.Header.Set(jetstream.MsgIDHeader, id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if _, err := w.js.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
}

func (w *world) callsFor(id string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[id]
}

func (w *world) applied(t *testing.T, body string) int {
	t.Helper()
	var n int
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM applied WHERE body = $1`, body).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitApplied waits until body has been applied (at least once).
func (w *world) waitApplied(t *testing.T, body string) {
	t.Helper()
	testenv.Eventually(t, timeout, func() error {
		if w.applied(t, body) == 0 {
			return fmt.Errorf("%q not applied yet", body)
		}
		return nil
	})
}

// waitSettled waits until the consumer has seen every message in the stream
// and none is waiting for an ack or a redelivery.
func (w *world) waitSettled(t *testing.T, durable string) *jetstream.ConsumerInfo {
	t.Helper()
	ctx := context.Background()
	var info *jetstream.ConsumerInfo
	testenv.Eventually(t, timeout, func() error {
		st, err := w.js.Stream(ctx, w.stream)
		if err != nil {
			return err
		}
		c, err := w.js.Consumer(ctx, w.stream, durable)
		if err != nil {
			return err
		}
		info, err = c.Info(ctx)
		if err != nil {
			return err
		}
		last := st.CachedInfo().State.LastSeq
		if info.NumPending != 0 || info.NumAckPending != 0 || info.Delivered.Stream != last {
			return fmt.Errorf("consumer not settled: pending %d, ack pending %d, delivered up to %d of %d",
				info.NumPending, info.NumAckPending, info.Delivered.Stream, last)
		}
		return nil
	})
	return info
}

func TestSameMessageDeliveredTwiceIsAppliedOnce(t *testing.T) {
	w := newWorld(t)
	w.start(t, inbox.Config{}, func(context.Context, pgx.Tx, jetstream.Msg, string, uint64) error { return nil })

	w.publish(t, "event-1", "first")
	// Store the same event id again, once the dedupe window has passed.
	testenv.Eventually(t, timeout, func() error {
		msg := &nats.Msg{Subject: w.prefix + "in.x", Data: []byte("first"), Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, "event-1")
		ack, err := w.js.PublishMsg(context.Background(), msg)
		if err != nil {
			return err
		}
		if ack.Duplicate {
			return errors.New("still inside the dedupe window")
		}
		return nil
	})
	w.publish(t, "event-2", "second")
	w.waitApplied(t, "second")
	w.waitSettled(t, "test")

	if n := w.applied(t, "first"); n != 1 {
		t.Errorf("event-1 applied %d times, want 1", n)
	}
	if n := w.callsFor("event-1"); n != 1 {
		t.Errorf("handler ran %d times for event-1, want 1", n)
	}
	if !strings.Contains(w.logs.String(), "already applied") {
		t.Errorf("the second delivery was not recognised as a duplicate:\n%s", w.logs.String())
	}

	// The durable remembers its place across a restart; the inbox remembers
	// what was applied.
	w.stop()
	// A pull request of the stopped consumer can outlive it on the server
	// (up to its expiry); a message handed to it would only come back after
	// AckWait. Not wrong, just slow: wait until the server has dropped it.
	testenv.Eventually(t, timeout, func() error {
		c, err := w.js.Consumer(context.Background(), w.stream, "test")
		if err != nil {
			return err
		}
		if n := c.CachedInfo().NumWaiting; n != 0 {
			return fmt.Errorf("%d pull requests still waiting", n)
		}
		return nil
	})
	w.publish(t, "event-3", "third")
	w.start(t, inbox.Config{}, func(context.Context, pgx.Tx, jetstream.Msg, string, uint64) error { return nil })
	w.waitApplied(t, "third")
	w.waitSettled(t, "test")
	for _, body := range []string{"first", "second", "third"} {
		if n := w.applied(t, body); n != 1 {
			t.Errorf("%s applied %d times, want 1", body, n)
		}
	}
}

func TestMessageWithoutIDIsDedupedByStreamPosition(t *testing.T) {
	w := newWorld(t)
	w.start(t, inbox.Config{}, func(context.Context, pgx.Tx, jetstream.Msg, string, uint64) error { return nil })
	w.publish(t, "", "anonymous")
	w.waitApplied(t, "anonymous")
	w.waitSettled(t, "test")
	var key string
	if err := w.pool.QueryRow(context.Background(), `SELECT msg_id FROM inbox`).Scan(&key); err != nil {
		t.Fatal(err)
	}
	if key != w.stream+":1" {
		t.Errorf("inbox key = %q, want %q", key, w.stream+":1")
	}
}

func TestFailingHandlerIsRetriedUntilItSucceeds(t *testing.T) {
	w := newWorld(t)
	w.start(t, inbox.Config{Backoff: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}},
		func(_ context.Context, _ pgx.Tx, _ jetstream.Msg, _ string, delivery uint64) error {
			switch delivery {
			case 1:
				return errors.New("database of another service is sulking")
			case 2:
				panic("handler bug that goes away")
			}
			return nil
		})
	w.publish(t, "event-1", "flaky")
	w.waitApplied(t, "flaky")
	info := w.waitSettled(t, "test")

	if n := w.applied(t, "flaky"); n != 1 {
		t.Errorf("applied %d times, want 1 (the failed attempts' writes must roll back)", n)
	}
	var delivery int
	if err := w.pool.QueryRow(context.Background(), `SELECT delivery FROM applied`).Scan(&delivery); err != nil {
		t.Fatal(err)
	}
	if delivery != 3 || w.callsFor("event-1") != 3 {
		t.Errorf("applied on delivery %d after %d calls, want the 3rd", delivery, w.callsFor("event-1"))
	}
	if info.NumRedelivered != 0 {
		t.Errorf("consumer still has %d redeliveries outstanding", info.NumRedelivered)
	}
	logs := w.logs.String()
	if !strings.Contains(logs, "will redeliver") || !strings.Contains(logs, "handler panicked") {
		t.Errorf("failures were not logged:\n%s", logs)
	}
}

func TestPoisonMessageIsTerminatedAndConsumerMovesOn(t *testing.T) {
	w := newWorld(t)
	w.start(t, inbox.Config{Backoff: []time.Duration{10 * time.Millisecond}},
		func(_ context.Context, _ pgx.Tx, _ jetstream.Msg, body string, _ uint64) error {
			if body == "garbage" {
				return inbox.Poison(errors.New("cannot decode"))
			}
			return nil
		})
	w.publish(t, "bad", "garbage")
	w.publish(t, "good", "fine")
	w.waitApplied(t, "fine")
	w.waitSettled(t, "test")

	if n := w.callsFor("bad"); n != 1 {
		t.Errorf("poison message handled %d times, want 1", n)
	}
	if n := w.applied(t, "garbage"); n != 0 {
		t.Errorf("poison message's writes committed (%d rows)", n)
	}
	logs := w.logs.String()
	if !strings.Contains(logs, "poison message terminated") || !strings.Contains(logs, "msg_id=bad") {
		t.Errorf("poison message not logged with its id:\n%s", logs)
	}
}

func TestMessageFailingEveryDeliveryIsTerminated(t *testing.T) {
	w := newWorld(t)
	w.start(t, inbox.Config{MaxDeliver: 3, Backoff: []time.Duration{10 * time.Millisecond}},
		func(_ context.Context, _ pgx.Tx, _ jetstream.Msg, body string, _ uint64) error {
			if body == "doomed" {
				return errors.New("always fails")
			}
			return nil
		})
	w.publish(t, "bad", "doomed")
	w.publish(t, "good", "fine")
	w.waitApplied(t, "fine")
	w.waitSettled(t, "test")

	if n := w.callsFor("bad"); n != 3 {
		t.Errorf("failing message handled %d times, want MaxDeliver = 3", n)
	}
	if !strings.Contains(w.logs.String(), "failed on every delivery") {
		t.Errorf("terminated message not logged:\n%s", w.logs.String())
	}
}

// The consumer rides out a NATS outage: messages published after NATS is
// back are applied without restarting anything.
func TestConsumerSurvivesNATSOutage(t *testing.T) {
	srv := testenv.EmbeddedNATS(t)
	nc, err := natsjs.Connect(srv.URL(), "inbox outage test", testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{
		pool:   testenv.Pool(t, testenv.Schema(t, "inbox"), migrations),
		js:     js,
		prefix: "",
		stream: "MEETINGS",
		calls:  map[string]int{},
		logs:   &syncBuffer{},
	}
	w.log = slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("consumer log:\n%s", w.logs.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := natsjs.EnsureStream(ctx, js, jetstream.StreamConfig{
		Name: w.stream, Subjects: []string{"in.>"}, Storage: jetstream.FileStorage,
	}); err != nil {
		t.Fatal(err)
	}
	w.start(t, inbox.Config{FilterSubjects: []string{"in.x"}},
		func(context.Context, pgx.Tx, jetstream.Msg, string, uint64) error { return nil })

	w.publish(t, "before", "before")
	w.waitApplied(t, "before")

	srv.Stop()
	srv.Restart()
	w.publish(t, "after", "after")
	w.waitApplied(t, "after")
	w.waitSettled(t, "test")
	for _, body := range []string{"before", "after"} {
		if n := w.applied(t, body); n != 1 {
			t.Errorf("%s applied %d times, want 1", body, n)
		}
	}
}

func TestPoison(t *testing.T) {
	base := errors.New("boom")
	p := inbox.Poison(base)
	if !inbox.IsPoison(p) || !errors.Is(p, base) {
		t.Errorf("Poison(boom) = %v: IsPoison %v, Is(boom) %v", p, inbox.IsPoison(p), errors.Is(p, base))
	}
	if wrapped := fmt.Errorf("handler: %w", p); !inbox.IsPoison(wrapped) {
		t.Error("a wrapped poison error is not recognised")
	}
	if inbox.IsPoison(base) || inbox.Poison(nil) != nil {
		t.Error("plain errors or nil treated as poison")
	}
}

func TestConsumeRejectsIncompleteConfig(t *testing.T) {
	for _, cfg := range []inbox.Config{{Durable: "d"}, {Stream: "s"}, {Stream: "s", Durable: "d", MaxDeliver: -1}} {
		err := inbox.Consume(context.Background(), nil, nil, cfg, nil, slog.New(slog.DiscardHandler))
		if err == nil {
			t.Errorf("Consume(%+v) = nil, want a config error", cfg)
		}
	}
}

func TestConsumeReturnsWhenServerRejectsConsumer(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// The stream holds w.prefix+"in.>" only: this filter can never match.
	err := inbox.Consume(ctx, w.pool, w.js, inbox.Config{Stream: w.stream, Durable: "d", FilterSubjects: []string{"elsewhere.x"}},
		func(context.Context, pgx.Tx, jetstream.Msg) error { return nil }, w.log)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Consume = %v (ctx %v), want the server's rejection before the deadline", err, ctx.Err())
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
