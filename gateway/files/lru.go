package files

import (
	"container/list"
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// sizedLRU maps keys to values of a known size, and forgets the least
// recently used ones when the sizes add up to more than its capacity. It
// holds the bookkeeping the head cache (memory) and the file cache (disk)
// share; what an entry is, and what forgetting it means, is theirs.
type sizedLRU[V any] struct {
	capacity int64

	mu      sync.Mutex
	used    int64
	entries map[string]*list.Element // of *lruEntry[V]
	order   *list.List               // front: most recently used
}

type lruEntry[V any] struct {
	key  string
	val  V
	size int64
}

func newSizedLRU[V any](capacity int64) *sizedLRU[V] {
	return &sizedLRU[V]{capacity: capacity, entries: map[string]*list.Element{}, order: list.New()}
}

// get returns the value under key and marks it used.
func (c *sizedLRU[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry[V]).val, true
}

// remove forgets key, if val is still what it holds (a newer value under
// the same key stays).
func (c *sizedLRU[V]) remove(key string, same func(V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !same(e.Value.(*lruEntry[V]).val) {
		return
	}
	c.order.Remove(e)
	delete(c.entries, key)
	c.used -= e.Value.(*lruEntry[V]).size
}

// add keeps val under key unless the key is taken or val alone is larger
// than the capacity (kept reports which). evicted are the values it
// forgot to make room, for the caller to dispose of.
func (c *sizedLRU[V]) add(key string, val V, size int64) (kept bool, evicted []V) {
	if size > c.capacity {
		return false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok {
		return false, nil
	}
	for c.used+size > c.capacity {
		e := c.order.Remove(c.order.Back()).(*lruEntry[V])
		delete(c.entries, e.key)
		c.used -= e.size
		evicted = append(evicted, e.val)
	}
	c.entries[key] = c.order.PushFront(&lruEntry[V]{key: key, val: val, size: size})
	c.used += size
	return true, evicted
}

// fillOnce runs fill for key once however many callers miss the same
// entry at the same time, and gives each caller its result or its own
// context's end. The fill runs under a context of its own, bounded by
// timeout: one caller leaving must not fail the others sharing it.
func fillOnce[V any](ctx context.Context, g *singleflight.Group, key string, timeout time.Duration, fill func(context.Context) (V, error)) (V, error) {
	ch := g.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		return fill(fctx)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			var zero V
			return zero, r.Err
		}
		return r.Val.(V), nil
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}
