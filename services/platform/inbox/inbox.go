// Package inbox is the receiving half of "none is applied twice": a durable
// JetStream consumer whose handler runs in a PostgreSQL transaction that also
// records the message id, so a redelivered message is acknowledged without
// being applied again.
package inbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
)

// Handler applies one message using tx; the message counts as applied only
// if tx commits, which Consume does when the handler returns nil. The handler
// must not commit or roll back tx itself.
type Handler func(ctx context.Context, tx pgx.Tx, msg jetstream.Msg) error

type poisonError struct{ err error }

func (p poisonError) Error() string { return "poison message: " + p.err.Error() }
func (p poisonError) Unwrap() error { return p.err }

// Poison marks a handler error as final: the message can never be applied
// (it doesn't decode, refers to nothing we know, ...), so Consume terminates
// it at once and logs it instead of redelivering it. Poison(nil) is nil.
func Poison(err error) error {
	if err == nil {
		return nil
	}
	return poisonError{err}
}

// IsPoison reports whether err was marked with Poison.
func IsPoison(err error) bool {
	var p poisonError
	return errors.As(err, &p)
}

// Config names the consumer and its retry policy.
type Config struct {
	Stream, Durable string
	FilterSubjects  []string
	MaxDeliver      int             // default 5; then the message is terminated and logged as poison
	Backoff         []time.Duration // redelivery delays; default 1s,2s,5s,10s
}

func (c Config) withDefaults() (Config, error) {
	if c.Stream == "" || c.Durable == "" {
		return c, errors.New("inbox: Config.Stream and Config.Durable are required")
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = 5
	}
	if c.MaxDeliver < 1 {
		return c, fmt.Errorf("inbox: Config.MaxDeliver must be positive, got %d", c.MaxDeliver)
	}
	if len(c.Backoff) == 0 {
		c.Backoff = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second}
	}
	return c, nil
}

const maxWait = 5 * time.Second // longest pause before re-creating the consumer

// Consume runs a durable pull consumer with explicit acks on cfg.Stream until
// ctx is done, then returns nil; it returns an error only for an invalid cfg
// or a consumer config the server rejects.
// For each message, in one transaction: record (Durable, Nats-Msg-Id) in the
// inbox table; if it was already there, ack and skip; else run h, commit, ack.
// If h fails the transaction rolls back and the message is redelivered after
// cfg.Backoff[delivery-1] (the last entry repeating); after cfg.MaxDeliver
// failed deliveries, or at once for Poison errors, it is terminated and logged
// at error level, and the consumer moves on.
//
// While PostgreSQL is unreachable the failure is not the message's fault: the
// consumer holds on to the message (telling JetStream it is still working on
// it) and retries it, instead of spending its deliveries.
//
// Messages are handled one at a time in stream order; a message waiting for
// redelivery does not hold up the ones behind it. NATS or stream outages are
// ridden out by re-creating the consumer, waiting up to 5s between attempts.
func Consume(ctx context.Context, pool *pgxpool.Pool, js jetstream.JetStream, cfg Config, h Handler, log *slog.Logger) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	c := &consumer{pool: pool, cfg: cfg, h: h, log: log.With("stream", cfg.Stream, "durable", cfg.Durable)}
	failures := 0
	for {
		err := c.run(ctx, js, func() {
			if failures > 0 {
				c.log.Info("inbox: consuming again", "failed_attempts", failures)
			}
			failures = 0
		})
		if ctx.Err() != nil {
			return nil
		}
		var perm permanentError
		if errors.As(err, &perm) {
			return perm.error
		}
		failures++
		level := slog.LevelDebug
		if failures == 1 {
			level = slog.LevelWarn
		}
		c.log.Log(ctx, level, "inbox: consumer interrupted, retrying", "err", err)
		if !sleep(ctx, min(time.Duration(failures)*500*time.Millisecond, maxWait)) {
			return nil
		}
	}
}

type consumer struct {
	pool *pgxpool.Pool
	cfg  Config
	h    Handler
	log  *slog.Logger
}

// run creates (or updates) the durable consumer and handles messages until
// the iterator fails or ctx ends.
func (c *consumer) run(ctx context.Context, js jetstream.JetStream, started func()) error {
	cc := jetstream.ConsumerConfig{
		Durable:   c.cfg.Durable,
		AckPolicy: jetstream.AckExplicitPolicy,
		AckWait:   30 * time.Second,
		// Consume terminates a message itself on its last delivery; the
		// server's limit only matters for deliveries that never reached a
		// handler's verdict (the process died meanwhile).
		MaxDeliver: c.cfg.MaxDeliver,
	}
	// One filter goes in FilterSubject, which servers before 2.10 understand
	// too; only several need FilterSubjects.
	if len(c.cfg.FilterSubjects) == 1 {
		cc.FilterSubject = c.cfg.FilterSubjects[0]
	} else {
		cc.FilterSubjects = c.cfg.FilterSubjects
	}
	createCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	cons, err := js.CreateOrUpdateConsumer(createCtx, c.cfg.Stream, cc)
	cancel()
	if err != nil {
		err = fmt.Errorf("inbox: consumer %s on %s: %w", c.cfg.Durable, c.cfg.Stream, err)
		if rejected(err) {
			return permanentError{err}
		}
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(16))
	if err != nil {
		return fmt.Errorf("inbox: pull from %s: %w", c.cfg.Stream, err)
	}
	defer it.Stop()
	started()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return err
		}
		c.handle(ctx, msg)
	}
}

type permanentError struct{ error }

func (p permanentError) Unwrap() error { return p.error }

// rejected reports whether the server refused the consumer's config, which
// retrying would not change. A missing stream (404) is not such a case: its
// owner may simply not have started yet.
func rejected(err error) bool {
	if errors.Is(err, jetstream.ErrConsumerMultipleFilterSubjectsNotSupported) {
		return true
	}
	var jsErr jetstream.JetStreamError
	if !errors.As(err, &jsErr) || jsErr.APIError() == nil {
		return false // client side: timeout, no connection, ...
	}
	switch jsErr.APIError().Code {
	case 404, 408, 503:
		return false
	}
	return true
}

func (c *consumer) handle(ctx context.Context, msg jetstream.Msg) {
	md, err := msg.Metadata()
	if err != nil {
		// Not a JetStream message; nothing sensible to ack.
		c.log.Error("inbox: message without JetStream metadata", "subject", msg.Subject(), "err", err)
		return
	}
	id := msg.Headers().Get(jetstream.MsgIDHeader)
	if id == "" {
		// Without an event id the stream position identifies the message
		// well enough for redeliveries.
		id = md.Stream + ":" + strconv.FormatUint(md.Sequence.Stream, 10)
	}
	log := c.log.With("subject", msg.Subject(), "msg_id", id, "stream_seq", md.Sequence.Stream, "delivery", md.NumDelivered)

	err = c.apply(ctx, id, msg, log)
	// PostgreSQL down is nobody's fault: keep the message and retry it
	// rather than counting the failure against it.
	for held := false; err != nil && !IsPoison(err) && ctx.Err() == nil && c.pool.Ping(ctx) != nil; held = true {
		if !held {
			log.Warn("inbox: database unavailable, holding the message until it is back", "err", err)
		}
		_ = msg.InProgress()
		if !sleep(ctx, 2*time.Second) {
			break
		}
		err = c.apply(ctx, id, msg, log)
	}

	switch {
	case err == nil:
		if err := msg.Ack(); err != nil {
			// The inbox row is committed: a redelivery will be skipped.
			log.Warn("inbox: ack failed; a redelivery will be skipped", "err", err)
		}
	case ctx.Err() != nil:
		// Shutting down: let another consumer (or our next start) take it now.
		_ = msg.Nak()
	case IsPoison(err):
		log.Error("inbox: poison message terminated", "err", err)
		// Term, not TermWithReason: servers before 2.10.4 ignore the latter
		// and would redeliver the message after AckWait.
		_ = msg.Term()
	case int(md.NumDelivered) >= c.cfg.MaxDeliver:
		log.Error("inbox: message failed on every delivery, terminated as poison",
			"max_deliver", c.cfg.MaxDeliver, "err", err)
		_ = msg.Term()
	default:
		i := min(int(md.NumDelivered), len(c.cfg.Backoff)) - 1
		delay := c.cfg.Backoff[max(i, 0)]
		log.Warn("inbox: handler failed, will redeliver", "retry_in", delay.String(), "err", err)
		_ = msg.NakWithDelay(delay)
	}
}

// apply runs the handler in a transaction that also records id, and commits.
// It returns nil without calling the handler if id was already applied.
func (c *consumer) apply(ctx context.Context, id string, msg jetstream.Msg, log *slog.Logger) (err error) {
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("inbox: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit

	// A concurrent delivery of the same id (another replica) blocks here
	// until this one commits or rolls back, then sees the row.
	tag, err := tx.Exec(ctx, `INSERT INTO inbox (consumer, msg_id, subject) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, c.cfg.Durable, id, msg.Subject())
	if err != nil {
		return fmt.Errorf("inbox: record %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		log.Debug("inbox: already applied, skipping")
		return nil
	}
	if err := c.call(ctx, tx, msg, log); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("inbox: commit %s: %w", id, err)
	}
	return nil
}

// call runs the handler, turning a panic into an ordinary failure so one bad
// message cannot take the service down.
func (c *consumer) call(ctx context.Context, tx pgx.Tx, msg jetstream.Msg, log *slog.Logger) (err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("inbox: handler panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("inbox: handler panicked: %v", p)
		}
	}()
	return c.h(ctx, tx, msg)
}

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
