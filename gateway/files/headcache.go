package files

import (
	"container/list"
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

const (
	// headBytes is how much of the beginning of a version the gateway keeps
	// in memory: PDF.js asks for the first 64 KiB of a paper first, then
	// the next chunk, so a meeting's tablets opening a paper at once all
	// ask for bytes inside this prefix.
	headBytes = 128 << 10
	// headCacheBytes bounds the memory of the cache (256 versions' heads).
	headCacheBytes = 32 << 20
	// headFetchTimeout bounds one fill, which several requests may share
	// (so it does not use any one request's deadline).
	headFetchTimeout = 30 * time.Second
)

// headCache keeps the first headBytes of recently read versions, keyed by
// the version's SHA-256 and size. A version's bytes never change (a new
// upload is a new version with its own checksum), so an entry never needs
// invalidating; access is still checked and recorded by the documents
// service on every request before the cache is consulted, so the cache
// changes where the bytes come from, never who gets them. Concurrent
// misses for one version share one fetch from object storage.
type headCache struct {
	capacity int64

	mu      sync.Mutex
	used    int64
	entries map[string]*list.Element // of *headEntry
	lru     *list.List               // front: most recently used
	flight  singleflight.Group
}

type headEntry struct {
	key  string
	data []byte
}

func newHeadCache(capacity int64) *headCache {
	return &headCache{capacity: capacity, entries: map[string]*list.Element{}, lru: list.New()}
}

// headKey names a version's head; the size guards against a checksum
// reported for other bytes.
func headKey(sha256 string, size int64) string { return sha256 + "/" + strconv.FormatInt(size, 10) }

// headLength is how many bytes of a version of size bytes the cache keeps.
func headLength(size int64) int64 { return min(size, headBytes) }

// get returns the head of a version (headLength(size) bytes), from memory
// or by fetch, which must return exactly those bytes.
func (c *headCache) get(ctx context.Context, sha256 string, size int64, fetch func(context.Context) (io.ReadCloser, error)) ([]byte, error) {
	key := headKey(sha256, size)
	if data, ok := c.lookup(key); ok {
		return data, nil
	}

	ch := c.flight.DoChan(key, func() (any, error) {
		// A fetch that finished between our look and this flight has
		// filled the entry.
		if data, ok := c.lookup(key); ok {
			return data, nil
		}
		// Not the caller's context: its cancellation would fail every
		// request sharing this fetch.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), headFetchTimeout)
		defer cancel()
		body, err := fetch(fctx)
		if err != nil {
			return nil, err
		}
		defer body.Close()
		n := headLength(size)
		data := make([]byte, n)
		if _, err := io.ReadFull(body, data); err != nil {
			return nil, fmt.Errorf("reading the first %d bytes: %w", n, err)
		}
		c.put(key, data)
		return data, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.([]byte), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *headCache) lookup(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*headEntry).data, true
}

func (c *headCache) put(key string, data []byte) {
	size := int64(len(data))
	if size > c.capacity {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok {
		return
	}
	for c.used+size > c.capacity {
		oldest := c.lru.Back()
		e := c.lru.Remove(oldest).(*headEntry)
		delete(c.entries, e.key)
		c.used -= int64(len(e.data))
	}
	c.entries[key] = c.lru.PushFront(&headEntry{key: key, data: data})
	c.used += size
}
