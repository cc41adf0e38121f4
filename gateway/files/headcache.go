package files

import (
	"context"
	"fmt"
	"io"
	"strconv"
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
	entries *sizedLRU[[]byte]
	flight  singleflight.Group
}

func newHeadCache(capacity int64) *headCache {
	return &headCache{entries: newSizedLRU[[]byte](capacity)}
}

// versionKey names a version's bytes; the size guards against a checksum
// reported for other bytes.
func versionKey(sha256 string, size int64) string { return sha256 + "/" + strconv.FormatInt(size, 10) }

// headLength is how many bytes of a version of size bytes the cache keeps.
func headLength(size int64) int64 { return min(size, headBytes) }

// get returns the head of a version (headLength(size) bytes), from memory
// or by fetch, which must return exactly those bytes.
func (c *headCache) get(ctx context.Context, sha256 string, size int64, fetch func(context.Context) (io.ReadCloser, error)) ([]byte, error) {
	key := versionKey(sha256, size)
	if data, ok := c.entries.get(key); ok {
		return data, nil
	}
	return fillOnce(ctx, &c.flight, key, headFetchTimeout, func(ctx context.Context) ([]byte, error) {
		// A fetch that finished between our look and this flight has
		// filled the entry.
		if data, ok := c.entries.get(key); ok {
			return data, nil
		}
		body, err := fetch(ctx)
		if err != nil {
			return nil, err
		}
		defer body.Close()
		n := headLength(size)
		data := make([]byte, n)
		if _, err := io.ReadFull(body, data); err != nil {
			return nil, fmt.Errorf("reading the first %d bytes: %w", n, err)
		}
		c.entries.add(key, data, n)
		return data, nil
	})
}
