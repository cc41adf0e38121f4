package files

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

func TestHeadCacheFetchesOnceForConcurrentReaders(t *testing.T) {
	c := newHeadCache(headCacheBytes)
	object := bytes.Repeat([]byte("0123456789"), 30<<10) // 300 KiB
	var fetches atomic.Int32
	release := make(chan struct{})
	fetch := func(context.Context) (io.ReadCloser, error) {
		fetches.Add(1)
		<-release // hold the first fetch until every reader is waiting
		return io.NopCloser(bytes.NewReader(object[:headBytes])), nil
	}
	var wg sync.WaitGroup
	results := make([][]byte, 20)
	for i := range results {
		wg.Go(func() {
			var err error
			if results[i], err = c.get(t.Context(), "abc", int64(len(object)), fetch); err != nil {
				t.Error(err)
			}
		})
	}
	// However the readers interleave with the fetch, they share it or
	// find its result.
	close(release)
	wg.Wait()
	// Stragglers that arrive after the fetch finished are served from
	// memory; either way one fetch in all.
	if _, err := c.get(t.Context(), "abc", int64(len(object)), fetch); err != nil {
		t.Fatal(err)
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches for one version's head, want 1", n)
	}
	for i, r := range results {
		if !bytes.Equal(r, object[:headBytes]) {
			t.Fatalf("reader %d got %d bytes that are not the object's head", i, len(r))
		}
	}

	// Another size is another entry (a checksum reported for other bytes
	// must not be served from this one).
	if _, err := c.get(t.Context(), "abc", 10, func(context.Context) (io.ReadCloser, error) {
		fetches.Add(1)
		return io.NopCloser(bytes.NewReader(object[:10])), nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("%d fetches after asking for another size, want 2", n)
	}
}

func TestHeadCacheKeepsNothingFromAFailedOrShortFetch(t *testing.T) {
	c := newHeadCache(headCacheBytes)
	boom := errors.New("store down")
	if _, err := c.get(t.Context(), "abc", 1000, func(context.Context) (io.ReadCloser, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("failed fetch: %v, want %v", err, boom)
	}
	if _, err := c.get(t.Context(), "abc", 1000, func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(make([]byte, 999))), nil
	}); err == nil {
		t.Error("a fetch one byte short was accepted")
	}
	if len(c.entries.entries) != 0 || c.entries.used != 0 {
		t.Errorf("%d entries (%d bytes) kept after failures", len(c.entries.entries), c.entries.used)
	}
	ok := bytes.Repeat([]byte{7}, 1000)
	got, err := c.get(t.Context(), "abc", 1000, func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(ok)), nil })
	if err != nil || !bytes.Equal(got, ok) {
		t.Errorf("after the store is back: %d bytes, %v", len(got), err)
	}
}

func TestHeadCacheIsBoundedLeastRecentlyUsedFirst(t *testing.T) {
	c := newHeadCache(3 * headBytes)
	size := int64(1 << 20)
	fill := func(name string) {
		t.Helper()
		if _, err := c.get(t.Context(), name, size, func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(make([]byte, headBytes))), nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		fill("v" + strconv.Itoa(i))
	}
	fill("v0") // used again: now the most recent
	fill("v3") // evicts v1, the least recently used
	if c.entries.used > c.entries.capacity {
		t.Errorf("%d bytes kept, capacity %d", c.entries.used, c.entries.capacity)
	}
	for name, want := range map[string]bool{"v0": true, "v1": false, "v2": true, "v3": true} {
		if _, ok := c.entries.entries[versionKey(name, size)]; ok != want {
			t.Errorf("%s cached: %v, want %v", name, ok, want)
		}
	}
}
