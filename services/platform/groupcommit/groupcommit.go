// Package groupcommit writes entries by group commit: per key, one write
// is in flight at a time, and the entries that arrive while it is in
// flight go together in the next write. A burst then costs a handful of
// writes — and of waits for the write-ahead log — instead of a queue of
// one-row transactions. A lone entry is written at once: nothing waits for
// a timer, so grouping costs latency only where it saves a queue.
//
// A key's writer is a goroutine that runs while the key has entries and
// ends when none are left; the next entry starts another. It writes
// detached from the callers (a caller that leaves does not fail the
// others' entries), each write bounded by the Writer's Timeout. Every
// caller still waits until its own entries are written and hears their
// own outcome, which the writer sends on a channel of each entry's,
// buffered so that it never blocks on a caller that left.
//
// What to do is the caller's policy (Writer): how a group is taken from
// the entries waiting (Take), how it is written and how a group that the
// store refuses is split (Write). The documents service writes its access
// log this way (ADR 0002), the voting service members' ballots (ADR 0005).
package groupcommit

import (
	"context"
	"sync"
	"time"
)

// Entry is one value waiting to be written, and where its outcome goes.
type Entry[V any] struct {
	Value V
	ctx   context.Context // the caller's, that added the entry
	done  chan error      // buffered: the writer never blocks on it
}

// Context is the context of the call that added the entry: once it has
// ended, nobody waits for the entry's outcome (a Take may then drop it).
func (e *Entry[V]) Context() context.Context { return e.ctx }

// Done tells the entry's caller its outcome: nil once its value is
// written. A Writer calls it exactly once for each entry; results a Write
// puts in Value must be there before, and the caller reads them only when
// Done said nil.
func (e *Entry[V]) Done(err error) { e.done <- err }

// Writer is a Queue's policy: how the entries of a key are grouped and
// written.
type Writer[K comparable, V any] struct {
	// Max bounds the entries of a group (0: no bound).
	Max int
	// Take removes the next group from pending (in order of arrival) and
	// returns it, at most max entries, and what is left for later groups,
	// in order. It runs under the queue's lock, so it must not block. It
	// may drop an entry (neither group nor rest), calling its Done. It
	// takes at least one entry unless it leaves nothing. Nil: the oldest
	// max entries.
	Take func(pending []*Entry[V], max int) (group, rest []*Entry[V])
	// Write writes group and calls Done on each of its entries. ctx is
	// none of the callers': it ends after Timeout, and only then.
	Write func(ctx context.Context, key K, group []*Entry[V])
	// Timeout bounds one Write (0: no bound).
	Timeout time.Duration
}

// Queue holds the entries waiting for their key's writer. The zero value
// is empty and ready to use (the Writer comes with each Add, not with the
// Queue, so that a Queue needs no constructor). A Queue must not be
// copied after first use.
type Queue[K comparable, V any] struct {
	mu      sync.Mutex
	pending map[K][]*Entry[V] // a key is here while its writer runs
}

// Add queues values under key, an entry each, and waits until each is
// written or ctx ends. It returns the first error in the order of values:
// an entry's outcome, or ctx's error (an entry may then still be written,
// unless w.Take drops it). If no writer runs for key, Add starts one with
// w: every Add of a Queue passes the same Writer.
func (q *Queue[K, V]) Add(ctx context.Context, key K, w Writer[K, V], values ...V) error {
	if len(values) == 0 {
		return nil
	}
	entries := make([]*Entry[V], len(values))
	for i, v := range values {
		entries[i] = &Entry[V]{Value: v, ctx: ctx, done: make(chan error, 1)}
	}
	q.mu.Lock()
	if q.pending == nil {
		q.pending = map[K][]*Entry[V]{}
	}
	pending, running := q.pending[key]
	q.pending[key] = append(pending, entries...)
	q.mu.Unlock()
	if !running {
		go q.run(key, w)
	}
	for _, e := range entries {
		select {
		case err := <-e.done:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Len is how many entries of key wait for a group: not those of the write
// in flight.
func (q *Queue[K, V]) Len(key K) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending[key])
}

// run is key's writer: it writes key's entries a group at a time until
// none are left, then removes key (letting a large burst's array go).
func (q *Queue[K, V]) run(key K, w Writer[K, V]) {
	take := w.Take
	if take == nil {
		take = oldest[V]
	}
	for {
		q.mu.Lock()
		group, rest := take(q.pending[key], w.Max)
		if len(group) == 0 && len(rest) == 0 {
			delete(q.pending, key)
			q.mu.Unlock()
			return
		}
		q.pending[key] = rest
		q.mu.Unlock()
		if len(group) > 0 {
			w.write(key, group)
		}
	}
}

// write runs one Write, detached from the callers.
func (w Writer[K, V]) write(key K, group []*Entry[V]) {
	ctx := context.Background()
	if w.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.Timeout)
		defer cancel()
	}
	w.Write(ctx, key, group)
}

// oldest is the default Take: the first max entries, in order of arrival.
func oldest[V any](pending []*Entry[V], max int) (group, rest []*Entry[V]) {
	n := len(pending)
	if max > 0 {
		n = min(n, max)
	}
	// The group's capacity ends where rest starts, so nothing appended to
	// either reaches the other.
	return pending[:n:n], pending[n:]
}
