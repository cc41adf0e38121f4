package outbox

import (
	"context"
	"fmt"
	"testing"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// The relay is woken by the commit of a transaction that enqueued events,
// through LISTEN/NOTIFY on the schema's channel (the 1s poll is not involved
// here: listen is the only writer of wake).
func TestListenWakesOnCommit(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pool := testenv.Pool(t, testenv.Schema(t, "outbox"), nil)
	r := NewRelay(pool, nil, testenv.Logger(t), "")
	wake := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() { r.listen(ctx, wake); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	select {
	case <-wake: // the wake-up listen gives once it is listening
	case <-time.After(time.Minute):
		t.Fatal("listen never started")
	}

	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ev := &meetingsv1.MeetingCreated{Meta: NewMeta("p", "m", "org", 1)}
	if err := Enqueue(ctx, tx, "ecabinet.meetings.v1.m.created", ev); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wake:
	case <-time.After(time.Minute):
		t.Fatal("commit of an enqueued event did not wake the relay")
	}
}

func TestPurgeKeepsRecentAndPendingEvents(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t, testenv.Schema(t, "outbox"), nil)
	for i, published := range []string{"now() - interval '8 days'", "now() - interval '1 day'", "NULL"} {
		if _, err := pool.Exec(ctx, fmt.Sprintf(`INSERT INTO outbox (event_id, subject, event_type, payload, published_at)
			VALUES ($1, 's', 't', '', %s)`, published), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	r := NewRelay(pool, nil, testenv.Logger(t), "")
	if err := r.purge(ctx, time.Now().Add(-retention)); err != nil {
		t.Fatal(err)
	}
	var left []string
	rows, err := pool.Query(ctx, `SELECT event_id FROM outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		left = append(left, id)
	}
	if fmt.Sprint(left) != "[1 2]" {
		t.Fatalf("after purge: %v, want the 1-day-old and the pending event", left)
	}
}
