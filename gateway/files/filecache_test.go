package files

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

func hexSum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func serving(b []byte) func(context.Context) (io.ReadCloser, error) {
	return func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

func readAll(t *testing.T, f *os.File) []byte {
	t.Helper()
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// files lists what the cache's directory holds.
func (c *fileCache) files(t *testing.T) []string {
	t.Helper()
	if c.dir == "" {
		return nil
	}
	es, err := os.ReadDir(c.dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestFileCacheCopiesOnceForConcurrentReaders(t *testing.T) {
	c := newFileCache(t.TempDir(), 1<<20)
	object := bytes.Repeat([]byte("tài liệu "), 20<<10)
	var fetches atomic.Int32
	release := make(chan struct{})
	fetch := func(ctx context.Context) (io.ReadCloser, error) {
		fetches.Add(1)
		<-release
		return serving(object)(ctx)
	}
	var wg sync.WaitGroup
	got := make([][]byte, 20)
	for i := range got {
		wg.Go(func() {
			f, err := c.open(t.Context(), hexSum(object), int64(len(object)), fetch)
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = readAll(t, f)
		})
	}
	close(release)
	wg.Wait()
	if f, err := c.open(t.Context(), hexSum(object), int64(len(object)), fetch); err != nil {
		t.Fatal(err)
	} else {
		readAll(t, f)
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d copies from the store for one version, want 1", n)
	}
	for i, b := range got {
		if !bytes.Equal(b, object) {
			t.Fatalf("reader %d got %d bytes that are not the version", i, len(b))
		}
	}
}

func TestFileCacheRefusesBytesThatAreNotTheVersion(t *testing.T) {
	c := newFileCache(t.TempDir(), 1<<20)
	object := []byte("biên bản hội nghị")
	sum, size := hexSum(object), int64(len(object))
	tampered := bytes.Clone(object)
	tampered[0] ^= 1
	boom := errors.New("store down")
	for name, fetch := range map[string]func(context.Context) (io.ReadCloser, error){
		"other bytes":  serving(tampered),
		"short":        serving(object[:size-1]),
		"long":         serving(append(bytes.Clone(object), '!')),
		"store failed": func(context.Context) (io.ReadCloser, error) { return nil, boom },
	} {
		if f, err := c.open(t.Context(), sum, size, fetch); err == nil {
			f.Close()
			t.Errorf("%s: served", name)
		}
	}
	if names := c.files(t); len(names) != 0 || len(c.entries.entries) != 0 {
		t.Errorf("left behind after failed copies: files %v, %d entries", names, len(c.entries.entries))
	}
	f, err := c.open(t.Context(), sum, size, serving(object))
	if err != nil {
		t.Fatal(err)
	}
	if b := readAll(t, f); !bytes.Equal(b, object) {
		t.Errorf("after the store is right again: %q", b)
	}
	// A checksum that is not hex never names a file.
	if f, err := c.open(t.Context(), "../../etc/passwd", size, serving(object)); err == nil {
		f.Close()
		t.Error("a version with a made-up checksum was served")
	}
}

func TestFileCacheIsBoundedAndRemovesItsFiles(t *testing.T) {
	c := newFileCache(t.TempDir(), 3000)
	versions := make([][]byte, 4)
	for i := range versions {
		versions[i] = bytes.Repeat([]byte{byte('a' + i)}, 1000)
	}
	open := func(i int) {
		t.Helper()
		f, err := c.open(t.Context(), hexSum(versions[i]), 1000, serving(versions[i]))
		if err != nil {
			t.Fatal(err)
		}
		if b := readAll(t, f); !bytes.Equal(b, versions[i]) {
			t.Fatalf("version %d: wrong bytes", i)
		}
	}
	open(0)
	open(1)
	open(2)
	held, err := c.open(t.Context(), hexSum(versions[0]), 1000, nil) // a reader in the middle of a transfer
	if err != nil {
		t.Fatal(err)
	}
	open(1)
	open(2) // 0 is now the least recently used
	open(3) // and goes
	if names := c.files(t); len(names) != 3 || c.entries.used != 3000 {
		t.Errorf("after eviction: files %v, %d bytes counted", names, c.entries.used)
	}
	if _, ok := c.entries.get(versionKey(hexSum(versions[0]), 1000)); ok {
		t.Error("the least recently used version is still cached")
	}
	if b := readAll(t, held); !bytes.Equal(b, versions[0]) {
		t.Error("a reader of an evicted version lost its bytes")
	}
	if !c.cacheable(1000) || c.cacheable(3001) || c.cacheable(0) {
		t.Error("cacheable: want versions up to the capacity, not empty ones")
	}

	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Errorf("the cache's directory is still there after close: %v", err)
	}
	if f, err := c.open(t.Context(), hexSum(versions[2]), 1000, serving(versions[2])); err == nil {
		f.Close()
		t.Error("a closed cache still serves")
	}
}

// A cache directory left by a process that is gone (killed before it could
// clean up) is removed when a cache starts beside it; a live process's is
// not. A directory removed under the cache (a cleaner of /tmp) is made
// again.
func TestFileCacheCleansUpAfterTheDeadAndRecovers(t *testing.T) {
	parent := t.TempDir()
	orphan := filepath.Join(parent, dirPrefix+"2147483646-abc")
	alive := filepath.Join(parent, dirPrefix+strconv.Itoa(os.Getppid())+"-def")
	for _, d := range []string{orphan, alive} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	c := newFileCache(parent, 1<<20)
	object := []byte("nghị quyết")
	open := func() {
		t.Helper()
		f, err := c.open(t.Context(), hexSum(object), int64(len(object)), serving(object))
		if err != nil {
			t.Fatal(err)
		}
		if b := readAll(t, f); !bytes.Equal(b, object) {
			t.Fatalf("served %q", b)
		}
	}
	open()
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("the dead process's directory is still there (%v)", err)
	}
	if _, err := os.Stat(alive); err != nil {
		t.Errorf("a live process's directory was removed: %v", err)
	}

	if err := os.RemoveAll(c.dir); err != nil {
		t.Fatal(err)
	}
	open() // the entry's file is gone: copied again into a new directory
	if names := c.files(t); len(names) != 1 {
		t.Errorf("after the directory was removed: files %v, want the one copy", names)
	}
}
