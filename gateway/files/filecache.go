package files

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

const (
	// fileCacheMaxEntry is the largest version the file cache keeps. A
	// request waits for its version to be copied whole before its first
	// byte; for a paper that is a few tens of milliseconds, for a long
	// recording it would be seconds, so those stream instead.
	fileCacheMaxEntry = 128 << 20
	// fileFetchTimeout bounds one copy into the cache.
	fileFetchTimeout = 2 * time.Minute
)

// fileCache keeps whole versions in files on the gateway's local disk, so
// that a meeting's tablets opening the same paper at once cost one read
// from object storage, and each of them is served from the local page
// cache instead of through a second connection to the store. Entries
// are keyed like the head cache's (SHA-256 and size: a version's bytes
// never change), and every copy is checked against that checksum before
// it is served. Access is checked and recorded by the documents service
// before the cache is consulted, as for the head cache.
//
// The files live in a directory of this process's own, made at the first
// fill and removed at shutdown (close), so processes sharing a machine
// never share each other's entries, and an entry never outlives the
// process that checked it; directories of processes killed before they
// could clean up are removed by the next one to start a cache there
// (Linux: the directory's name carries the pid, looked up in /proc).
type fileCache struct {
	parent  string            // where the directory is made; "" for the system's temporary directory
	entries *sizedLRU[string] // key → file path
	flight  singleflight.Group

	mu     sync.Mutex
	dir    string // "" until the first fill
	closed bool
}

// newFileCache returns a cache of capacity bytes; it does no I/O.
func newFileCache(parent string, capacity int64) *fileCache {
	return &fileCache{parent: parent, entries: newSizedLRU[string](capacity)}
}

// directory makes the cache's directory on first use.
func (c *fileCache) directory() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return "", errors.New("the file cache is closed")
	}
	if c.dir != "" {
		if _, err := os.Stat(c.dir); err == nil {
			return c.dir, nil
		}
		// Removed under us (a cleaner of the temporary directory): its
		// entries are gone too; they are forgotten as they are missed.
	}
	if c.parent != "" {
		if err := os.MkdirAll(c.parent, 0o700); err != nil {
			return "", fmt.Errorf("file cache directory: %w", err)
		}
	}
	if c.dir == "" {
		removeOrphans(c.parent)
	}
	dir, err := os.MkdirTemp(c.parent, dirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", fmt.Errorf("file cache directory: %w", err)
	}
	c.dir = dir
	return dir, nil
}

// dirPrefix starts the name of a cache directory, followed by the pid of
// the process that made it.
const dirPrefix = "ecabinet-files-"

// removeOrphans removes the cache directories under parent that processes
// no longer running left behind (killed before they could clean up): they
// hold copies of papers, some confidential, that nothing will read again.
func removeOrphans(parent string) {
	if _, err := os.Stat("/proc/self"); err != nil {
		return // no /proc to tell the living from the dead
	}
	if parent == "" {
		parent = os.TempDir()
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), dirPrefix)
		pid, _, ok2 := strings.Cut(rest, "-")
		if !ok || !ok2 || !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join("/proc", pid)); err == nil || !errors.Is(err, fs.ErrNotExist) {
			continue // running (or we cannot tell)
		}
		_ = os.RemoveAll(filepath.Join(parent, e.Name()))
	}
}

// close removes the cache's directory and every file in it; later fills
// fail (and their requests stream from object storage).
func (c *fileCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.dir == "" {
		return nil
	}
	return os.RemoveAll(c.dir)
}

// cacheable tells whether a version of size bytes goes through the cache.
func (c *fileCache) cacheable(size int64) bool {
	return c != nil && size > 0 && size <= min(fileCacheMaxEntry, c.entries.capacity)
}

// open returns the version's bytes as an open file, copying them from
// fetch (which must return the whole version) on a miss. Concurrent misses
// share one copy.
func (c *fileCache) open(ctx context.Context, sum string, size int64, fetch func(context.Context) (io.ReadCloser, error)) (*os.File, error) {
	key := versionKey(sum, size)
	if path, ok := c.entries.get(key); ok {
		f, err := os.Open(path)
		if err == nil {
			return f, nil
		}
		// Evicted since the lookup, or removed under us (a cleaner of
		// the temporary directory): forget it, copy it again.
		c.entries.remove(key, func(p string) bool { return p == path })
	}
	path, err := fillOnce(ctx, &c.flight, key, fileFetchTimeout, func(ctx context.Context) (string, error) {
		if path, ok := c.entries.get(key); ok {
			return path, nil
		}
		return c.fill(ctx, key, sum, size, fetch)
	})
	if err != nil {
		return nil, err
	}
	return os.Open(path)
}

// fill copies a version into a file of the cache and makes it an entry,
// or leaves nothing behind.
func (c *fileCache) fill(ctx context.Context, key, sum string, size int64, fetch func(context.Context) (io.ReadCloser, error)) (path string, err error) {
	body, err := fetch(ctx)
	if err != nil {
		return "", err
	}
	defer body.Close()
	dir, err := c.directory()
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "fill-")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(body, size+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("copying the version: %w", err)
	case n != size:
		return "", fmt.Errorf("object storage sent %d bytes of a %d-byte version", n, size)
	case hex.EncodeToString(h.Sum(nil)) != sum:
		return "", errors.New("object storage sent bytes whose SHA-256 is not the version's")
	}
	if err = f.Close(); err != nil {
		return "", err
	}
	// The copy keeps its own unique name: an evicted copy of the same
	// version, removed late, can never be this one.
	path = f.Name()
	kept, evicted := c.entries.add(key, path, size)
	for _, old := range evicted {
		// Readers that opened it keep reading: the file goes when
		// they close it.
		os.Remove(old)
	}
	if !kept {
		os.Remove(path)
		return "", fmt.Errorf("a %d-byte version does not fit the file cache", size)
	}
	return path, nil
}
