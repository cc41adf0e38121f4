// Package blob gives services an S3-compatible object store (MinIO in
// development) through minio-go, with the bucket and key conventions in one
// place.
package blob

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Config says where the store is. The env tags follow ADR 0001; Prefix is
// only set by tests (testenv.Blob), to keep each test's objects apart.
type Config struct {
	Endpoint  string `env:"S3_ENDPOINT,required"` // host:port, no scheme
	AccessKey string `env:"S3_ACCESS_KEY,required"`
	SecretKey string `env:"S3_SECRET_KEY,required"`
	Bucket    string `env:"S3_BUCKET" envDefault:"ecabinet"`
	UseTLS    bool   `env:"S3_USE_TLS" envDefault:"false"`
	Prefix    string `env:"-"`
}

// Store is one bucket (and key prefix) in an object store.
type Store struct {
	client   *minio.Client
	bucket   string
	prefix   string
	endpoint string
}

// Open returns a Store for cfg. It does no network I/O, so a service can
// start while the store is down; Ping and EnsureBucket find out.
func Open(cfg Config) (*Store, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("blob: S3_ENDPOINT is empty")
	}
	if strings.Contains(cfg.Endpoint, "://") || strings.Contains(cfg.Endpoint, "/") {
		return nil, fmt.Errorf("blob: S3_ENDPOINT must be host:port without scheme or path, got %q (use S3_USE_TLS=true for https)", cfg.Endpoint)
	}
	if cfg.Bucket == "" {
		return nil, errors.New("blob: S3_BUCKET is empty")
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseTLS,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: client for %s: %w", cfg.Endpoint, err)
	}
	return &Store{client: client, bucket: cfg.Bucket, prefix: cfg.Prefix, endpoint: cfg.Endpoint}, nil
}

// EnsureBucket creates the bucket if it does not exist. Several processes
// may start at once, so losing the race to create it is not an error.
func (s *Store) EnsureBucket(ctx context.Context) error {
	exists, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("blob: checking bucket %q at %s: %w", s.bucket, s.endpoint, err)
	}
	if exists {
		return nil
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{})
	if err == nil {
		return nil
	}
	switch minio.ToErrorResponse(err).Code {
	case minio.BucketAlreadyOwnedByYou, minio.BucketAlreadyExists:
		// Somebody created it meanwhile. "Exists" may also mean another
		// account owns it, so make sure we can actually use it.
		if ok, err2 := s.client.BucketExists(ctx, s.bucket); err2 == nil && ok {
			return nil
		}
	}
	return fmt.Errorf("blob: creating bucket %q at %s: %w", s.bucket, s.endpoint, err)
}

// Ping checks that the store answers, the credentials work and the bucket
// exists (for health.Probe).
func (s *Store) Ping(ctx context.Context) error {
	exists, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("blob: object store at %s: %w", s.endpoint, err)
	}
	if !exists {
		return fmt.Errorf("blob: object store at %s has no bucket %q", s.endpoint, s.bucket)
	}
	return nil
}

// Client returns the minio-go client, for the operations this package does
// not wrap. Object names passed to it should come from Key.
func (s *Store) Client() *minio.Client { return s.client }

// Bucket returns the bucket name.
func (s *Store) Bucket() string { return s.bucket }

// Prefix returns the key prefix ("" outside tests).
func (s *Store) Prefix() string { return s.prefix }

// Endpoint returns host:port of the store, for messages.
func (s *Store) Endpoint() string { return s.endpoint }

// Key returns the object name for name: Prefix + name.
func (s *Store) Key(name string) string { return s.prefix + name }
