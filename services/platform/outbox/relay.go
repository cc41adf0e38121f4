package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	batchSize      = 100
	pollInterval   = time.Second
	publishTimeout = 5 * time.Second
	maxBackoff     = 5 * time.Second

	// Published rows are kept for a week, not deleted on publish: they are
	// the service's record of what it told the world and when (the first
	// place to look when a consumer claims it never got an event), and
	// clearing published_at re-publishes them after a stream was lost. A
	// purge every hour keeps the table to about a week of events.
	retention     = 7 * 24 * time.Hour
	purgeInterval = time.Hour
)

// Relay publishes the outbox of the pool's schema to JetStream.
type Relay struct {
	pool   *pgxpool.Pool
	js     jetstream.JetStream
	log    *slog.Logger
	prefix string
}

// NewRelay returns a relay for the outbox in pool's schema (its search_path,
// as set by pg.Connect). subjectPrefix is prepended to every subject: "" in
// production, a per-test prefix in tests.
func NewRelay(pool *pgxpool.Pool, js jetstream.JetStream, log *slog.Logger, subjectPrefix string) *Relay {
	return &Relay{pool: pool, js: js, log: log, prefix: subjectPrefix}
}

// Run publishes pending events in outbox order until ctx is done, then
// returns nil. Each event is published with Nats-Msg-Id = event id,
// Ecabinet-Type and Ecabinet-Org, and marked published only once JetStream
// has acknowledged it; the next one is not sent before that, so an outage
// cannot reorder events. While PostgreSQL or NATS is down it keeps the rows
// and retries, waiting up to 5s between attempts. It wakes when a
// transaction that enqueued events commits (LISTEN/NOTIFY) and also polls
// every second, in case a notification was missed.
//
// Several relays on one schema (replicas of a service) take turns: a batch
// is only published under a transaction-scoped advisory lock, so only one of
// them publishes at a time and order holds.
//
// Order is the order of Enqueue calls (the outbox's seq); events of one
// aggregate are therefore in commit order as long as the service locks the
// aggregate's row before enqueuing, which it does anyway to bump the version.
func (r *Relay) Run(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Go(func() { r.listen(ctx, wake) })
	defer wg.Wait()

	poll := time.NewTicker(pollInterval)
	defer poll.Stop()
	var lastPurge time.Time
	failures := 0
	for {
		n, err := r.publishBatch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			failures++
			// Once per outage at warn level, so a long one doesn't flood the log.
			level := slog.LevelDebug
			if failures == 1 {
				level = slog.LevelWarn
			}
			r.log.Log(ctx, level, "outbox relay: cannot publish, keeping events and retrying", "err", err)
			if !sleep(ctx, backoff(failures)) {
				return nil
			}
			continue
		}
		if failures > 0 {
			r.log.Info("outbox relay: publishing again", "failed_attempts", failures)
			failures = 0
		}
		if n == batchSize {
			continue // more may be waiting
		}
		if time.Since(lastPurge) >= purgeInterval {
			if err := r.purge(ctx, time.Now().Add(-retention)); err != nil && ctx.Err() == nil {
				r.log.Warn("outbox relay: purge of old published events failed", "err", err)
			} else {
				lastPurge = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-poll.C:
		}
	}
}

type pending struct {
	seq      int64
	id       string
	subject  string
	typ      string
	org      string
	audience []string
	payload  []byte
}

// publishBatch publishes up to batchSize pending events and reports how many
// it marked published. It stops at the first event JetStream doesn't ack.
func (r *Relay) publishBatch(ctx context.Context) (int, error) {
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("outbox: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit

	var mine bool
	if err := tx.QueryRow(ctx,
		`SELECT pg_try_advisory_xact_lock(hashtext('ecabinet.outbox.' || current_schema()))`).Scan(&mine); err != nil {
		return 0, fmt.Errorf("outbox: relay lock: %w", err)
	}
	if !mine {
		return 0, nil // another relay is publishing this schema's outbox
	}

	rows, err := tx.Query(ctx, `SELECT seq, event_id, subject, event_type, org_id, audience, payload
		FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1`, batchSize)
	if err != nil {
		return 0, fmt.Errorf("outbox: read pending: %w", err)
	}
	batch, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (pending, error) {
		var p pending
		err := row.Scan(&p.seq, &p.id, &p.subject, &p.typ, &p.org, &p.audience, &p.payload)
		return p, err
	})
	if err != nil {
		return 0, fmt.Errorf("outbox: read pending: %w", err)
	}

	var done []int64
	var pubErr error
	for _, p := range batch {
		if err := r.publish(ctx, p); err != nil {
			pubErr = err
			break
		}
		done = append(done, p.seq)
	}
	if len(done) > 0 {
		// If this update or the commit fails, the events go out again later;
		// JetStream drops the repeats by Nats-Msg-Id.
		if _, err := tx.Exec(ctx, `UPDATE outbox SET published_at = now() WHERE seq = ANY($1)`, done); err != nil {
			return 0, errors.Join(pubErr, fmt.Errorf("outbox: mark published: %w", err))
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, errors.Join(pubErr, fmt.Errorf("outbox: commit: %w", err))
	}
	return len(done), pubErr
}

func (r *Relay) publish(ctx context.Context, p pending) error {
	msg := &nats.Msg{
		Subject: r.prefix + p.subject,
		Data:    p.payload,
		Header:  nats.Header{},
	}
	msg.Header.Set(jetstream.MsgIDHeader, p.id)
	msg.Header.Set(HeaderType, p.typ)
	if p.org != "" {
		msg.Header.Set(HeaderOrg, p.org)
	}
	if len(p.audience) > 0 {
		msg.Header.Set(HeaderAudience, strings.Join(p.audience, ","))
	}
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	if _, err := r.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("outbox: publish %s on %s: %w", p.id, msg.Subject, err)
	}
	return nil
}

// purge deletes events published before cutoff.
func (r *Relay) purge(ctx context.Context, cutoff time.Time) error {
	_, err := r.pool.Exec(ctx, `DELETE FROM outbox WHERE published_at < $1`, cutoff)
	return err
}

// listen keeps a dedicated connection LISTENing on the schema's outbox
// channel and pokes wake on every notification. When it fails the relay
// still polls every second, so failures here only cost latency.
func (r *Relay) listen(ctx context.Context, wake chan<- struct{}) {
	failures := 0
	for {
		err := r.listenOnce(ctx, wake, func() {
			if failures > 0 {
				r.log.Info("outbox relay: listening for commits again")
			}
			failures = 0
		})
		if ctx.Err() != nil {
			return
		}
		failures++
		if failures == 1 {
			r.log.Warn("outbox relay: lost LISTEN connection, polling every second until it is back", "err", err)
		}
		if !sleep(ctx, backoff(failures)) {
			return
		}
	}
}

func (r *Relay) listenOnce(ctx context.Context, wake chan<- struct{}, listening func()) error {
	// Not a pooled connection: a LISTEN must not leak into other users of the
	// pool, and it is held for as long as the relay runs.
	conn, err := pgx.ConnectConfig(ctx, r.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck // nothing to do about it

	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("outbox: find schema: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{"outbox_" + schema}.Sanitize()); err != nil {
		return fmt.Errorf("outbox: listen: %w", err)
	}
	listening()
	notify(wake) // events committed while we were not listening
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		notify(wake)
	}
}

func notify(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default: // a wake-up is already pending; one is enough
	}
}

// backoff is the wait before retry n (1-based): 200ms doubling to maxBackoff.
func backoff(n int) time.Duration {
	d := 200 * time.Millisecond
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// sleep waits for d and reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
