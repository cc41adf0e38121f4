package blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/ecabinet/ecabinet/services/platform/blob"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

func TestOpenValidatesWithoutNetwork(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  blob.Config
		want string
	}{
		{"no endpoint", blob.Config{Bucket: "b"}, "S3_ENDPOINT is empty"},
		{"scheme", blob.Config{Endpoint: "http://127.0.0.1:9000", Bucket: "b"}, "without scheme"},
		{"no bucket", blob.Config{Endpoint: "127.0.0.1:9000"}, "S3_BUCKET is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := blob.Open(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open = %v, want an error containing %q", err, tc.want)
			}
		})
	}

	// Nothing listens on this port; Open must not care.
	s, err := blob.Open(blob.Config{Endpoint: "127.0.0.1:1", AccessKey: "a", SecretKey: "b", Bucket: "b", Prefix: "p/"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if s.Bucket() != "b" || s.Key("doc.pdf") != "p/doc.pdf" || s.Client() == nil {
		t.Errorf("store = bucket %q, key %q", s.Bucket(), s.Key("doc.pdf"))
	}
}

func TestStoreRoundTrip(t *testing.T) {
	s := testenv.Blob(t)
	ctx := t.Context()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.EnsureBucket(ctx); err != nil {
		t.Fatalf("EnsureBucket on an existing bucket: %v", err)
	}

	body := []byte("agenda item 1")
	if _, err := s.Client().PutObject(ctx, s.Bucket(), s.Key("agenda.txt"), bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	obj, err := s.Client().GetObject(ctx, s.Bucket(), s.Key("agenda.txt"), minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	got, err := io.ReadAll(obj)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Errorf("read back %q, want %q", got, body)
	}
}

func TestTestenvBlobRemovesItsObjects(t *testing.T) {
	var store *blob.Store
	ok := t.Run("writer", func(t *testing.T) {
		store = testenv.Blob(t)
		if !strings.HasPrefix(store.Key("x"), "t_") || store.Key("x") == "x" {
			t.Errorf("test store key %q has no unique prefix", store.Key("x"))
		}
		for _, name := range []string{"a", "dir/b", "dir/sub/c"} {
			if _, err := store.Client().PutObject(t.Context(), store.Bucket(), store.Key(name), strings.NewReader(name), int64(len(name)), minio.PutObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	})
	if !ok {
		t.FailNow()
	}
	// The subtest's cleanup has run.
	for obj := range store.Client().ListObjects(t.Context(), store.Bucket(), minio.ListObjectsOptions{Prefix: store.Prefix(), Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		t.Errorf("object %s survived the test's cleanup", obj.Key)
	}

	other := testenv.Blob(t)
	if other.Prefix() == store.Prefix() {
		t.Errorf("two tests share the prefix %q", other.Prefix())
	}
}

// envConfig is the store testenv.Blob uses, but for a bucket of the test's
// own.
func envConfig(t *testing.T) blob.Config {
	t.Helper()
	testenv.Blob(t) // fails the test clearly if S3_* is not set
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return blob.Config{
		Endpoint:  os.Getenv("S3_ENDPOINT"),
		AccessKey: os.Getenv("S3_ACCESS_KEY"),
		SecretKey: os.Getenv("S3_SECRET_KEY"),
		UseTLS:    os.Getenv("S3_USE_TLS") == "true",
		Bucket:    "ecabinet-test-" + hex.EncodeToString(b),
	}
}

func TestEnsureBucketCreatesAndToleratesRaces(t *testing.T) {
	cfg := envConfig(t)
	s, err := blob.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Client().RemoveBucket(context.Background(), cfg.Bucket) })

	if err := s.Ping(t.Context()); err == nil || !strings.Contains(err.Error(), "no bucket") {
		t.Errorf("Ping before the bucket exists = %v, want an error naming the missing bucket", err)
	}

	// Several services starting at once all ensure the same bucket.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			store, err := blob.Open(cfg)
			if err != nil {
				errs[i] = err
				return
			}
			errs[i] = store.EnsureBucket(t.Context())
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("EnsureBucket #%d: %v", i, err)
		}
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping after EnsureBucket: %v", err)
	}
}

func TestPingFailures(t *testing.T) {
	cfg := envConfig(t)
	cfg.Bucket = "ecabinet"
	cfg.SecretKey = "wrong-" + cfg.SecretKey
	s, err := blob.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err == nil || !strings.Contains(err.Error(), cfg.Endpoint) {
		t.Errorf("Ping with a wrong secret = %v, want an error naming %s", err, cfg.Endpoint)
	}
	if err := s.EnsureBucket(t.Context()); err == nil {
		t.Error("EnsureBucket with a wrong secret succeeded")
	}

	// Nothing listens on a port we just released.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	down, err := blob.Open(blob.Config{Endpoint: addr, AccessKey: "a", SecretKey: "b", Bucket: "ecabinet"})
	if err != nil {
		t.Fatal(err)
	}
	// minio-go retries refused connections; the probe's deadline ends that.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := down.Ping(ctx); err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("Ping with nothing listening = %v, want an error naming %s", err, addr)
	}
}
