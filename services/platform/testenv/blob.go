package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/ecabinet/ecabinet/services/platform/blob"
)

// Blob returns a Store on the object store named by S3_ENDPOINT,
// S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET (default ecabinet) and S3_USE_TLS,
// with a key prefix of its own; the objects under it are removed when the
// test ends. Without S3_ENDPOINT the test fails: a test that silently skips
// its store would pass without testing anything.
func Blob(t testing.TB) *blob.Store {
	t.Helper()
	cfg := blobConfig(t)
	cfg.Prefix = newBlobPrefix(t)
	store := openBlob(t, cfg)
	t.Cleanup(func() { removeBlobPrefix(t, store) })
	return store
}

// BlobBucket is Blob with a bucket of its own instead of a prefix, removed
// with everything in it when the test ends: for black-box tests that hand
// the bucket to a process under test.
func BlobBucket(t testing.TB) *blob.Store {
	t.Helper()
	cfg := blobConfig(t)
	cfg.Bucket = "t-" + strings.TrimSuffix(strings.TrimPrefix(newBlobPrefix(t), "t_"), "/")
	store := openBlob(t, cfg)
	t.Cleanup(func() {
		removeBlobPrefix(t, store)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := store.Client().RemoveBucket(ctx, store.Bucket()); err != nil {
			t.Errorf("testenv: removing bucket %s: %v", store.Bucket(), err)
		}
	})
	return store
}

// blobConfig reads the object store's settings from the environment.
func blobConfig(t testing.TB) blob.Config {
	t.Helper()
	cfg := blob.Config{
		Endpoint:  os.Getenv("S3_ENDPOINT"),
		AccessKey: os.Getenv("S3_ACCESS_KEY"),
		SecretKey: os.Getenv("S3_SECRET_KEY"),
		Bucket:    os.Getenv("S3_BUCKET"),
	}
	if cfg.Endpoint == "" {
		t.Fatal("testenv: S3_ENDPOINT is not set; this test needs MinIO (or another S3 store): run via make test, " +
			"or start MinIO and set S3_ENDPOINT=127.0.0.1:9000 S3_ACCESS_KEY=... S3_SECRET_KEY=...")
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		t.Fatal("testenv: S3_ACCESS_KEY and S3_SECRET_KEY must be set along with S3_ENDPOINT; run via make test")
	}
	if cfg.Bucket == "" {
		cfg.Bucket = "ecabinet"
	}
	if v := os.Getenv("S3_USE_TLS"); v != "" {
		tls, err := strconv.ParseBool(v)
		if err != nil {
			t.Fatalf("testenv: S3_USE_TLS=%q is not a boolean", v)
		}
		cfg.UseTLS = tls
	}
	return cfg
}

func openBlob(t testing.TB, cfg blob.Config) *blob.Store {
	t.Helper()
	store, err := blob.Open(cfg)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.EnsureBucket(ctx); err != nil {
		t.Fatalf("testenv: is MinIO running at %s? %v", cfg.Endpoint, err)
	}
	return store
}

// newBlobPrefix returns a key prefix unique to this test.
func newBlobPrefix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("testenv: random prefix: %v", err)
	}
	return "t_" + hex.EncodeToString(b) + "/"
}

// removeBlobPrefix deletes every object under the store's prefix.
func removeBlobPrefix(t testing.TB, store *blob.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var keys []minio.ObjectInfo
	for obj := range store.Client().ListObjects(ctx, store.Bucket(), minio.ListObjectsOptions{Prefix: store.Prefix(), Recursive: true}) {
		if obj.Err != nil {
			t.Errorf("testenv: listing %s in bucket %s: %v", store.Prefix(), store.Bucket(), obj.Err)
			return
		}
		keys = append(keys, obj)
	}
	objects := make(chan minio.ObjectInfo, len(keys))
	for _, obj := range keys {
		objects <- obj
	}
	close(objects)
	for res := range store.Client().RemoveObjects(ctx, store.Bucket(), objects, minio.RemoveObjectsOptions{}) {
		t.Errorf("testenv: removing %s from bucket %s: %v", res.ObjectName, store.Bucket(), res.Err)
	}
}
