package outbox_test

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

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/natsjs"
	"github.com/ecabinet/ecabinet/services/platform/outbox"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

var migrations = fstest.MapFS{
	"00001_meetings.sql": {Data: []byte(`-- +goose Up
CREATE TABLE meetings (id text PRIMARY KEY, title text NOT NULL);
-- +goose Down
DROP TABLE meetings;
`)},
}

const timeout = 60 * time.Second // deadline for background work; not a speed target

// change is a state change plus its event in one transaction, the way a
// service writes; it returns the event.
func change(t *testing.T, pool *pgxpool.Pool, org, title string) *meetingsv1.MeetingCreated {
	t.Helper()
	ctx := context.Background()
	ev := newEvent(org, title)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `INSERT INTO meetings (id, title) VALUES ($1, $2)`, ev.Meeting.Id, title); err != nil {
		t.Fatal(err)
	}
	if err := outbox.Enqueue(ctx, tx, subjectOf(ev), ev); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	return ev
}

func newEvent(org, title string) *meetingsv1.MeetingCreated {
	meta := outbox.NewMeta("person-1", "", org, 1)
	if title == "meeting 2" {
		// Invited people from outside the organisation.
		meta.Audience = []string{"guest-1", "guest-2"}
	}
	id := "m-" + meta.EventId
	meta.AggregateId = id
	return &meetingsv1.MeetingCreated{
		Meta:    meta,
		Meeting: &meetingsv1.Meeting{Id: id, OrganizationId: org, Title: title, Version: 1},
	}
}

func subjectOf(ev *meetingsv1.MeetingCreated) string {
	return "ecabinet.meetings.v1." + ev.Meeting.Id + ".created"
}

func count(t *testing.T, pool *pgxpool.Pool, query string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// startRelay runs a relay until the test ends and checks it stops cleanly.
func startRelay(t *testing.T, pool *pgxpool.Pool, js jetstream.JetStream, log *slog.Logger, prefix string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- outbox.NewRelay(pool, js, log, prefix).Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("relay.Run after cancel = %v, want nil", err)
		}
	})
}

func ensureStream(t *testing.T, js jetstream.JetStream, prefix string) jetstream.Stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cfg := natsjs.ServiceStream(prefix, "meetings")
	if err := natsjs.EnsureStream(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, cfg.Name)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// streamMessages waits until the stream holds exactly want messages and
// returns them in stream order.
func streamMessages(t *testing.T, st jetstream.Stream, want int) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, timeout, func() error {
		info, err := st.Info(ctx)
		if err != nil {
			return err
		}
		if info.State.Msgs != uint64(want) {
			return fmt.Errorf("stream holds %d messages, want %d", info.State.Msgs, want)
		}
		return nil
	})
	msgs := make([]*jetstream.RawStreamMsg, 0, want)
	for seq := uint64(1); seq <= uint64(want); seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get message %d: %v", seq, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func waitAllPublished(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	testenv.Eventually(t, timeout, func() error {
		if n := count(t, pool, `SELECT count(*) FROM outbox WHERE published_at IS NULL`); n != 0 {
			return fmt.Errorf("%d events still pending in the outbox", n)
		}
		return nil
	})
}

func TestEnqueueIsPartOfTheTransaction(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t, testenv.Schema(t, "outbox"), migrations)

	// Rolled back: neither the change nor the event exists.
	ev := newEvent("org-1", "rolled back")
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO meetings (id, title) VALUES ($1, 'x')`, ev.Meeting.Id); err != nil {
		t.Fatal(err)
	}
	if err := outbox.Enqueue(ctx, tx, subjectOf(ev), ev); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, `SELECT count(*) FROM outbox`); n != 0 {
		t.Fatalf("outbox has %d rows after rollback, want 0", n)
	}

	// Committed: both, with everything the relay needs.
	ev = change(t, pool, "org-1", "committed")
	var id, subject, typ, org string
	var payload []byte
	var published *time.Time
	if err := pool.QueryRow(ctx, `SELECT event_id, subject, event_type, org_id, payload, published_at FROM outbox`).
		Scan(&id, &subject, &typ, &org, &payload, &published); err != nil {
		t.Fatal(err)
	}
	if id != ev.Meta.EventId || subject != subjectOf(ev) || typ != "ecabinet.meetings.v1.MeetingCreated" ||
		org != "org-1" || published != nil {
		t.Errorf("row = %q %q %q %q published %v", id, subject, typ, org, published)
	}
	var got meetingsv1.MeetingCreated
	if err := proto.Unmarshal(payload, &got); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&got, ev) {
		t.Errorf("stored payload = %v, want %v", &got, ev)
	}
	if n := count(t, pool, `SELECT count(*) FROM meetings`); n != 1 {
		t.Errorf("meetings has %d rows, want 1", n)
	}
}

func TestEnqueueRejectsWhatCannotBePublished(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t, testenv.Schema(t, "outbox"), migrations)
	good := newEvent("org", "t")
	noID := newEvent("org", "t")
	noID.Meta.EventId = ""
	for _, tc := range []struct {
		name    string
		subject string
		event   proto.Message
		want    string
	}{
		{"no meta", "ecabinet.meetings.v1.m.created", &meetingsv1.MeetingCreated{}, "no meta"},
		{"no event id", "ecabinet.meetings.v1.m.created", noID, "no meta.event_id"},
		{"not an event", "ecabinet.meetings.v1.m.created", &meetingsv1.Meeting{Id: "x"}, "not an event"},
		{"nil", "ecabinet.meetings.v1.m.created", nil, "nil"},
		{"empty subject", "", good, "empty subject"},
		{"wildcard", "ecabinet.meetings.v1.*.created", good, "invalid subject"},
		{"empty token", "ecabinet..created", good, "invalid subject"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx) //nolint:errcheck
			err = outbox.Enqueue(ctx, tx, tc.subject, tc.event)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Enqueue = %v, want error containing %q", err, tc.want)
			}
		})
	}

	t.Run("same event twice", func(t *testing.T) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck
		if err := outbox.Enqueue(ctx, tx, subjectOf(good), good); err != nil {
			t.Fatal(err)
		}
		err = outbox.Enqueue(ctx, tx, subjectOf(good), good)
		if err == nil || !strings.Contains(err.Error(), "already enqueued") {
			t.Fatalf("second Enqueue = %v, want already enqueued", err)
		}
	})
}

func TestNewMeta(t *testing.T) {
	a := outbox.NewMeta("p", "agg", "org", 7)
	b := outbox.NewMeta("p", "agg", "org", 7)
	if a.EventId == "" || a.EventId == b.EventId {
		t.Fatalf("event ids %q, %q: want two different ids", a.EventId, b.EventId)
	}
	if a.ActorId != "p" || a.AggregateId != "agg" || a.OrganizationId != "org" || a.AggregateVersion != 7 {
		t.Errorf("meta = %v", a)
	}
	if d := time.Since(a.OccurredAt.AsTime()); d < 0 || d > time.Hour {
		t.Errorf("occurred_at = %v, want about now", a.OccurredAt.AsTime())
	}
	if a.EventId[14] != '7' {
		t.Errorf("event id %q is not a UUIDv7", a.EventId)
	}
}

func TestRelayPublishesInOrderWithHeaders(t *testing.T) {
	pool := testenv.Pool(t, testenv.Schema(t, "outbox"), migrations)
	_, js := testenv.JetStream(t)
	prefix := testenv.Prefix(t)
	st := ensureStream(t, js, prefix)

	var events []*meetingsv1.MeetingCreated
	for i := range 5 {
		org := fmt.Sprintf("org-%d", i)
		if i == 4 {
			org = "" // an event without organisation gets no Ecabinet-Org header
		}
		events = append(events, change(t, pool, org, fmt.Sprintf("meeting %d", i)))
	}
	startRelay(t, pool, js, testenv.Logger(t), prefix)

	msgs := streamMessages(t, st, len(events))
	for i, m := range msgs {
		ev := events[i]
		if want := prefix + subjectOf(ev); m.Subject != want {
			t.Errorf("message %d subject = %q, want %q", i, m.Subject, want)
		}
		if got := m.Header.Get(jetstream.MsgIDHeader); got != ev.Meta.EventId {
			t.Errorf("message %d Nats-Msg-Id = %q, want %q", i, got, ev.Meta.EventId)
		}
		if got := m.Header.Get(outbox.HeaderType); got != "ecabinet.meetings.v1.MeetingCreated" {
			t.Errorf("message %d Ecabinet-Type = %q", i, got)
		}
		org, hasOrg := m.Header[outbox.HeaderOrg]
		if ev.Meta.OrganizationId == "" && hasOrg {
			t.Errorf("message %d has Ecabinet-Org %q, want none", i, org)
		}
		if ev.Meta.OrganizationId != "" && m.Header.Get(outbox.HeaderOrg) != ev.Meta.OrganizationId {
			t.Errorf("message %d Ecabinet-Org = %q, want %q", i, m.Header.Get(outbox.HeaderOrg), ev.Meta.OrganizationId)
		}
		if want := strings.Join(ev.Meta.Audience, ","); m.Header.Get(outbox.HeaderAudience) != want {
			t.Errorf("message %d Ecabinet-Audience = %q, want %q", i, m.Header.Get(outbox.HeaderAudience), want)
		}
		var got meetingsv1.MeetingCreated
		if err := proto.Unmarshal(m.Data, &got); err != nil || !proto.Equal(&got, ev) {
			t.Errorf("message %d payload = %v (%v), want %v", i, &got, err, ev)
		}
	}
	waitAllPublished(t, pool)

	// Events committed while the relay runs go out too, after the others.
	late := change(t, pool, "org-9", "late")
	msgs = streamMessages(t, st, len(events)+1)
	if got := msgs[len(events)].Header.Get(jetstream.MsgIDHeader); got != late.Meta.EventId {
		t.Errorf("last message id = %q, want the late event %q", got, late.Meta.EventId)
	}
}

func TestJetStreamDedupesRepublishedEvents(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t, testenv.Schema(t, "outbox"), migrations)
	_, js := testenv.JetStream(t)
	prefix := testenv.Prefix(t)
	st := ensureStream(t, js, prefix)

	var events []*meetingsv1.MeetingCreated
	for i := range 3 {
		events = append(events, change(t, pool, "org", fmt.Sprint(i)))
	}
	startRelay(t, pool, js, testenv.Logger(t), prefix)
	streamMessages(t, st, 3)
	waitAllPublished(t, pool)

	// As if the relay had published but crashed before recording it.
	if _, err := pool.Exec(ctx, `UPDATE outbox SET published_at = NULL`); err != nil {
		t.Fatal(err)
	}
	waitAllPublished(t, pool) // marked again, so JetStream acked each one again
	msgs := streamMessages(t, st, 3)
	for i, m := range msgs {
		if got := m.Header.Get(jetstream.MsgIDHeader); got != events[i].Meta.EventId {
			t.Errorf("message %d id = %q, want %q", i, got, events[i].Meta.EventId)
		}
	}

	// And the ack says so.
	ev := events[0]
	data, err := proto.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(ctx, prefix+subjectOf(ev), data, jetstream.WithMsgID(ev.Meta.EventId))
	if err != nil {
		t.Fatal(err)
	}
	if !ack.Duplicate {
		t.Errorf("republishing event %s: ack.Duplicate = false", ev.Meta.EventId)
	}
}

// Two replicas of a service run a relay each on the same schema: every event
// still appears once, in order.
func TestTwoRelaysKeepOrder(t *testing.T) {
	pool := testenv.Pool(t, testenv.Schema(t, "outbox"), migrations)
	_, js := testenv.JetStream(t)
	prefix := testenv.Prefix(t)
	st := ensureStream(t, js, prefix)
	startRelay(t, pool, js, testenv.Logger(t), prefix)
	startRelay(t, pool, js, testenv.Logger(t), prefix)

	var ids []string
	for i := range 150 {
		ids = append(ids, change(t, pool, "org", fmt.Sprint(i)).Meta.EventId)
	}
	msgs := streamMessages(t, st, len(ids))
	for i, m := range msgs {
		if got := m.Header.Get(jetstream.MsgIDHeader); got != ids[i] {
			t.Fatalf("message %d id = %q, want %q", i, got, ids[i])
		}
	}
	waitAllPublished(t, pool)
}

// THE OUTAGE TEST. NATS goes away; the service keeps committing changes and
// their events (nothing fails for the user); the events wait in the outbox;
// NATS comes back; every event arrives exactly once, in commit order.
func TestOutageEventsArriveOnceInOrderAfterNATSReturns(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t, testenv.Schema(t, "outbox"), migrations)
	prefix := testenv.Prefix(t)
	srv := testenv.EmbeddedNATS(t)
	nc, err := natsjs.Connect(srv.URL(), "outage test", testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st := ensureStream(t, js, prefix)

	log, logs := captureLog(t)
	startRelay(t, pool, js, log, prefix)

	// Working normally.
	ids := []string{change(t, pool, "org", "before").Meta.EventId}
	streamMessages(t, st, 1)
	waitAllPublished(t, pool)

	srv.Stop()
	const during = 25
	for i := range during {
		ids = append(ids, change(t, pool, "org", fmt.Sprintf("during %d", i)).Meta.EventId)
	}
	// NATS is down, so none of them can have left.
	if n := count(t, pool, `SELECT count(*) FROM outbox WHERE published_at IS NULL`); n != during {
		t.Fatalf("%d events pending right after the commits, want %d", n, during)
	}
	// The relay has tried and failed, and still holds every event.
	testenv.Eventually(t, timeout, func() error {
		if !strings.Contains(logs.String(), "cannot publish") {
			return errors.New("relay has not reported a failed publish yet")
		}
		return nil
	})
	if n := count(t, pool, `SELECT count(*) FROM outbox WHERE published_at IS NULL`); n != during {
		t.Fatalf("%d events pending during the outage, want %d", n, during)
	}

	srv.Restart()
	waitAllPublished(t, pool)
	msgs := streamMessages(t, st, len(ids))
	seen := map[string]bool{}
	for i, m := range msgs {
		id := m.Header.Get(jetstream.MsgIDHeader)
		if seen[id] {
			t.Errorf("event %s arrived twice", id)
		}
		seen[id] = true
		if id != ids[i] {
			t.Errorf("message %d is event %s, want %s (order broken)", i, id, ids[i])
		}
	}
	// Nothing more trickles in afterwards (e.g. from the client's reconnect
	// buffer): a marker published now lands right after the last event.
	if _, err := js.Publish(ctx, prefix+"ecabinet.meetings.v1.marker.x", nil); err != nil {
		t.Fatal(err)
	}
	msgs = streamMessages(t, st, len(ids)+1)
	if msgs[len(ids)].Subject != prefix+"ecabinet.meetings.v1.marker.x" {
		t.Errorf("message after the events is %q, want the marker", msgs[len(ids)].Subject)
	}
	if !strings.Contains(logs.String(), "publishing again") {
		t.Errorf("relay did not log its recovery:\n%s", logs.String())
	}
}

// captureLog returns a logger whose output the test can search; it is
// printed if the test fails.
func captureLog(t *testing.T) (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("captured log:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
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
