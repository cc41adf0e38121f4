package testenv_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/ecabinet/ecabinet/services/platform/blob"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

func TestBlobBucketIsRemovedWithItsObjects(t *testing.T) {
	var store *blob.Store
	t.Run("inner", func(t *testing.T) {
		store = testenv.BlobBucket(t)
		if _, err := store.Client().PutObject(context.Background(), store.Bucket(), "a/b.pdf",
			bytes.NewReader([]byte("%PDF")), 4, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	exists, err := store.Client().BucketExists(context.Background(), store.Bucket())
	if err != nil || exists {
		t.Fatalf("bucket %s still exists after the test (%v)", store.Bucket(), err)
	}
}
