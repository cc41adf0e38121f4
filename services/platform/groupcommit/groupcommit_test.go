package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// waitLimit bounds every wait, so a broken queue fails rather than hangs.
const waitLimit = 30 * time.Second

// store is a Writer's Write that records the groups it is given and
// answers each entry: with failWrite's error for every entry of that
// write (by its number, from 0), else with outcomes by value (missing:
// nil). While hold is open, a write to a key in held waits for it.
type store struct {
	hold      chan struct{}
	held      map[string]bool
	outcomes  map[string]error
	failWrite map[int]error

	mu     sync.Mutex
	groups [][]string
	ctxs   []context.Context
}

func newStore(held ...string) *store {
	s := &store{hold: make(chan struct{}), held: map[string]bool{}, outcomes: map[string]error{}, failWrite: map[int]error{}}
	for _, k := range held {
		s.held[k] = true
	}
	return s
}

func (s *store) write(ctx context.Context, key string, group []*Entry[string]) {
	values := make([]string, len(group))
	for i, e := range group {
		values[i] = e.Value
	}
	s.mu.Lock()
	n := len(s.groups)
	s.groups = append(s.groups, values)
	s.ctxs = append(s.ctxs, ctx)
	s.mu.Unlock()
	if s.held[key] {
		<-s.hold
	}
	for _, e := range group {
		if err := s.failWrite[n]; err != nil {
			e.Done(err)
		} else {
			e.Done(s.outcomes[e.Value])
		}
	}
}

func (s *store) written() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.groups)
}

func (s *store) writer() Writer[string, string] {
	return Writer[string, string]{Write: s.write, Timeout: waitLimit}
}

// waitWrites waits until the store has been given n groups.
func (s *store) waitWrites(t *testing.T, n int) {
	t.Helper()
	testenv.Eventually(t, waitLimit, func() error {
		if got := len(s.written()); got != n {
			return fmt.Errorf("%d writes, want %d", got, n)
		}
		return nil
	})
}

// adds runs Adds in goroutines and collects what they return, by the
// first value of each.
type adds struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs map[string]error
}

func (a *adds) add(ctx context.Context, q *Queue[string, string], key string, w Writer[string, string], values ...string) {
	a.wg.Go(func() {
		err := q.Add(ctx, key, w, values...)
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.errs == nil {
			a.errs = map[string]error{}
		}
		a.errs[values[0]] = err
	})
}

func (a *adds) wait() map[string]error {
	a.wg.Wait()
	return a.errs
}

// waitLen waits until n entries of key wait for a group.
func waitLen(t *testing.T, q *Queue[string, string], key string, n int) {
	t.Helper()
	testenv.Eventually(t, waitLimit, func() error {
		if got := q.Len(key); got != n {
			return fmt.Errorf("%d entries wait, want %d", got, n)
		}
		return nil
	})
}

// queueBehind starts a write of first for key (the store holds it if it
// holds key), then queues each of values in an Add of its own, in that
// order; it returns once they all wait for the next group.
func queueBehind(t *testing.T, ctx context.Context, q *Queue[string, string], s *store, w Writer[string, string], a *adds, key, first string, values ...string) {
	t.Helper()
	a.add(ctx, q, key, w, first)
	s.waitWrites(t, 1)
	for i, v := range values {
		a.add(ctx, q, key, w, v)
		waitLen(t, q, key, i+1)
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

func sameGroups(got, want [][]string) bool { return slices.EqualFunc(got, want, slices.Equal) }

// A lone entry is written at once, on its own: nothing waits for company.
func TestLoneEntryIsWrittenAtOnce(t *testing.T) {
	s := newStore()
	var q Queue[string, string]
	if err := q.Add(testContext(t), "k", s.writer(), "a"); err != nil {
		t.Fatal(err)
	}
	if got, want := s.written(), [][]string{{"a"}}; !sameGroups(got, want) {
		t.Errorf("groups written: %v, want %v", got, want)
	}
}

// Entries that arrive while a write is in flight wait for it, then go
// together in the next write, in order of arrival.
func TestEntriesArrivingDuringAWriteGoTogetherInTheNext(t *testing.T) {
	s := newStore("k")
	var q Queue[string, string]
	var a adds
	queueBehind(t, testContext(t), &q, s, s.writer(), &a, "k", "a", "b", "c", "d")
	if got := s.written(); len(got) != 1 {
		t.Fatalf("groups written while the first write is in flight: %v", got)
	}
	close(s.hold)
	for v, err := range a.wait() {
		if err != nil {
			t.Errorf("Add %s: %v", v, err)
		}
	}
	if got, want := s.written(), [][]string{{"a"}, {"b", "c", "d"}}; !sameGroups(got, want) {
		t.Errorf("groups written: %v, want %v", got, want)
	}
}

// Each caller hears its own entries' outcome, not another's of the same
// group; a caller of several values hears the first error among them.
func TestEachCallerHearsItsOwnOutcome(t *testing.T) {
	s := newStore("k")
	errB, errD := errors.New("b refused"), errors.New("d refused")
	s.outcomes["b"], s.outcomes["d"] = errB, errD
	var q Queue[string, string]
	var a adds
	ctx := testContext(t)
	queueBehind(t, ctx, &q, s, s.writer(), &a, "k", "a", "b")
	a.add(ctx, &q, "k", s.writer(), "c", "d", "e")
	waitLen(t, &q, "k", 4)
	close(s.hold)
	errs := a.wait()
	if errs["a"] != nil || !errors.Is(errs["b"], errB) || !errors.Is(errs["c"], errD) {
		t.Errorf("outcomes: a %v, b %v, c…e %v; want nil, %v, %v", errs["a"], errs["b"], errs["c"], errB, errD)
	}
	if got, want := s.written(), [][]string{{"a"}, {"b", "c", "d", "e"}}; !sameGroups(got, want) {
		t.Errorf("groups written: %v, want %v", got, want)
	}
}

// A write that fails fails every entry of its group, and the key's next
// entry is written as before.
func TestAWriteErrorReachesEveryEntryOfItsGroup(t *testing.T) {
	s := newStore("k")
	errDown := errors.New("the store is down")
	s.failWrite[1] = errDown
	var q Queue[string, string]
	var a adds
	ctx := testContext(t)
	queueBehind(t, ctx, &q, s, s.writer(), &a, "k", "a", "b", "c", "d")
	close(s.hold)
	errs := a.wait()
	if errs["a"] != nil {
		t.Errorf("the first write's entry: %v", errs["a"])
	}
	for _, v := range []string{"b", "c", "d"} {
		if !errors.Is(errs[v], errDown) {
			t.Errorf("Add %s: %v, want %v", v, errs[v], errDown)
		}
	}
	if err := q.Add(ctx, "k", s.writer(), "e"); err != nil {
		t.Errorf("the entry after the failed write: %v", err)
	}
	if got, want := s.written(), [][]string{{"a"}, {"b", "c", "d"}, {"e"}}; !sameGroups(got, want) {
		t.Errorf("groups written: %v, want %v", got, want)
	}
}

// A key's queue goes when its last write is done, and the next entry
// starts a writer again.
func TestAnIdleKeyIsRemoved(t *testing.T) {
	s := newStore()
	var q Queue[string, string]
	idle := func() error {
		q.mu.Lock()
		defer q.mu.Unlock()
		if len(q.pending) != 0 {
			return fmt.Errorf("keys still queued: %v", q.pending)
		}
		return nil
	}
	for _, v := range []string{"a", "b"} {
		if err := q.Add(testContext(t), "k", s.writer(), v); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, waitLimit, idle)
	}
	if got := len(s.written()); got != 2 {
		t.Errorf("%d writes, want 2", got)
	}
}

// Keys are queued and written apart: a write in flight for one key holds
// up no other.
func TestAKeyHoldsUpNoOther(t *testing.T) {
	s := newStore("slow")
	var q Queue[string, string]
	var a adds
	ctx := testContext(t)
	queueBehind(t, ctx, &q, s, s.writer(), &a, "slow", "a", "b")
	if err := q.Add(ctx, "fast", s.writer(), "c"); err != nil {
		t.Fatalf("another key's entry, while the first key's write is held: %v", err)
	}
	if n := q.Len("slow"); n != 1 {
		t.Errorf("%d entries of the held key wait, want 1", n)
	}
	close(s.hold)
	a.wait()
}

// Max bounds a group: what is left over goes in the groups after, in
// order of arrival.
func TestMaxBoundsAGroup(t *testing.T) {
	s := newStore("k")
	w := s.writer()
	w.Max = 2
	var q Queue[string, string]
	var a adds
	queueBehind(t, testContext(t), &q, s, w, &a, "k", "a", "b", "c", "d", "e", "f")
	close(s.hold)
	a.wait()
	if got, want := s.written(), [][]string{{"a"}, {"b", "c"}, {"d", "e"}, {"f"}}; !sameGroups(got, want) {
		t.Errorf("groups written: %v, want %v", got, want)
	}
}

// Take decides the group: here a letter at most once per group (a repeat
// waits for the next) and entries whose callers left are dropped.
func TestTakeDecidesTheGroup(t *testing.T) {
	s := newStore("k")
	w := s.writer()
	w.Take = func(pending []*Entry[string], _ int) (group, rest []*Entry[string]) {
		seen := map[byte]bool{}
		for _, e := range pending {
			switch {
			case e.Context().Err() != nil:
				e.Done(e.Context().Err())
			case seen[e.Value[0]]:
				rest = append(rest, e)
			default:
				seen[e.Value[0]] = true
				group = append(group, e)
			}
		}
		return group, rest
	}
	var q Queue[string, string]
	var a adds
	ctx := testContext(t)
	queueBehind(t, ctx, &q, s, w, &a, "k", "a1", "b1", "b2", "c1")
	left, leave := context.WithCancel(ctx)
	a.add(left, &q, "k", w, "d1")
	waitLen(t, &q, "k", 4)
	leave()
	close(s.hold)
	errs := a.wait()
	if !errors.Is(errs["d1"], context.Canceled) {
		t.Errorf("Add of the caller that left: %v", errs["d1"])
	}
	if got, want := s.written(), [][]string{{"a1"}, {"b1", "c1"}, {"b2"}}; !sameGroups(got, want) {
		t.Errorf("groups written: %v, want %v", got, want)
	}
}

// The write runs detached from its callers: a caller that leaves does not
// end it, and its deadline is the Writer's Timeout.
func TestTheWriteIsDetachedFromItsCallers(t *testing.T) {
	s := newStore("k")
	var q Queue[string, string]
	ctx, leave := context.WithCancel(testContext(t))
	done := make(chan error, 1)
	before := time.Now()
	go func() { done <- q.Add(ctx, "k", s.writer(), "a") }()
	s.waitWrites(t, 1)
	leave()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Add of the caller that left: %v", err)
	}
	s.mu.Lock()
	wctx := s.ctxs[0]
	s.mu.Unlock()
	if err := wctx.Err(); err != nil {
		t.Errorf("the write's context ended with its caller: %v", err)
	}
	if deadline, ok := wctx.Deadline(); !ok || deadline.Before(before.Add(waitLimit)) {
		t.Errorf("the write's deadline: %v, %v; want the Timeout's", deadline, ok)
	}
	close(s.hold)
}
