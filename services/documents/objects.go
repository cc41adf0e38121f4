package documents

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	// partSize is the multipart part size for large objects. minio-go reads
	// parts of a file in place (io.ReaderAt), so it costs no memory.
	partSize = 16 << 20
	// contentURLTTL is how long an object URL handed to the gateway stays
	// valid: the gateway uses it at once (S3 checks expiry when a request
	// starts, not while the body streams), so a short life is enough.
	contentURLTTL = 2 * time.Minute
	// cleanupTimeout bounds removing an object after a failure, detached
	// from the request (which may be what failed).
	cleanupTimeout = 30 * time.Second
	// Pending uploads older than staleAfter are abandoned (a crash, or
	// object storage down when the failure cleaned up); the sweeper looks
	// every sweepEvery. Writing a checked file to object storage takes
	// seconds, far less than staleAfter.
	staleAfter = 15 * time.Minute
	sweepEvery = 5 * time.Minute
)

// objectKey names the object of one upload: unique per upload, so a
// failed or concurrent upload never touches another's bytes, and known
// before the version number is (that is decided when the upload commits).
func (s *Service) objectKey(documentID, uploadID string) string {
	return s.d.Blob.Key("documents/" + documentID + "/" + uploadID)
}

// putObject writes size bytes of r under key.
func (s *Service) putObject(ctx context.Context, key string, r io.Reader, size int64, contentType, sha string) error {
	_, err := s.d.Blob.Client().PutObject(ctx, s.d.Blob.Bucket(), key, r, size, minio.PutObjectOptions{
		ContentType:  contentType,
		PartSize:     partSize,
		UserMetadata: map[string]string{"sha256": sha},
	})
	return err
}

// removeObject deletes an object and any unfinished multipart upload of
// it, then the pending row naming it. It is detached from ctx: it runs
// because something failed, possibly ctx itself. If object storage does
// not answer, the pending row stays and the sweeper retries later.
func (s *Service) removeObject(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := s.removeBytes(ctx, key); err != nil {
		return err
	}
	if _, err := s.d.Pool.Exec(ctx, `DELETE FROM pending_uploads WHERE object_key = $1`, key); err != nil {
		return fmt.Errorf("forget pending upload %s: %w", key, err)
	}
	return nil
}

// removeBytes deletes an object and any unfinished multipart upload of it;
// both are idempotent.
func (s *Service) removeBytes(ctx context.Context, key string) error {
	c := s.d.Blob.Client()
	if err := c.RemoveObject(ctx, s.d.Blob.Bucket(), key, minio.RemoveObjectOptions{}); err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		return fmt.Errorf("remove object %s: %w", key, err)
	}
	if err := c.RemoveIncompleteUpload(ctx, s.d.Blob.Bucket(), key); err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchUpload {
		return fmt.Errorf("abort multipart upload of %s: %w", key, err)
	}
	return nil
}

// discard is removeObject for a failed upload: failures are logged, the
// sweeper has the last word.
func (s *Service) discard(ctx context.Context, key string) {
	if err := s.removeObject(ctx, key); err != nil {
		s.log.WarnContext(ctx, "could not clean up after a failed upload; the sweeper will retry", "object", key, "err", err)
	}
}

// presign returns a GET URL of an object valid for contentURLTTL.
func (s *Service) presign(ctx context.Context, key string) (string, time.Time, error) {
	expires := time.Now().Add(contentURLTTL)
	u, err := s.d.Blob.Client().PresignedGetObject(ctx, s.d.Blob.Bucket(), key, contentURLTTL, nil)
	if err != nil {
		return "", time.Time{}, err
	}
	return u.String(), expires, nil
}

// presignShared is presign for an object every reader gets the same bytes
// of (a version's own object, a bound meeting book, not a per-reader
// stamped copy): a URL made in the last urlReuse is handed out again, so
// it has at least contentURLTTL-urlReuse of its life left. Signing was a
// sixth of the service's CPU when a meeting's tablets open a paper at once
// (bucket name checks, request building, HMACs; ADR 0002, "Performance:
// the first page of a paper"). The URL only ever goes to callers the
// service has just let read the object, as a fresh one would; it is not
// a credential of theirs but of the gateway fetching on their behalf.
func (s *Service) presignShared(ctx context.Context, key string) (string, time.Time, error) {
	now := time.Now()
	if u, ok := s.urls.get(key, now); ok {
		return u.url, u.expires, nil
	}
	url, expires, err := s.presign(ctx, key)
	if err != nil {
		return "", time.Time{}, err
	}
	s.urls.put(key, presignedURL{url: url, expires: expires}, now)
	return url, expires, nil
}

// urlReuse is how long a presigned URL is handed out again (presignShared).
const urlReuse = 30 * time.Second

// urlCacheEntries bounds the presigned URLs kept: a few per paper being
// read at the moment.
const urlCacheEntries = 4096

// urlCache holds presigned URLs by object key.
type urlCache struct {
	mu sync.Mutex
	m  map[string]presignedURL
}

type presignedURL struct {
	url     string
	expires time.Time
}

// get returns the URL for key if it was made less than urlReuse ago.
func (c *urlCache) get(key string, now time.Time) (presignedURL, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.m[key]
	if !ok || now.After(u.expires.Add(urlReuse-contentURLTTL)) {
		return presignedURL{}, false
	}
	return u, true
}

func (c *urlCache) put(key string, u presignedURL, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]presignedURL{}
	}
	if len(c.m) >= urlCacheEntries {
		// Drop what may no longer be handed out; if everything is fresh
		// (an unlikely burst of distinct papers), start afresh.
		for k, v := range c.m {
			if now.After(v.expires.Add(urlReuse - contentURLTTL)) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= urlCacheEntries {
			clear(c.m)
		}
	}
	c.m[key] = u
}

// storageError turns a failed object storage operation into a status: a
// store that does not answer, or answers with a server error, is
// Unavailable (the client retries); anything else is Internal and logged.
func (s *Service) storageError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	var netErr net.Error
	var urlErr *url.Error
	if errors.As(err, &netErr) || errors.As(err, &urlErr) || minio.ToErrorResponse(err).StatusCode >= 500 {
		s.log.WarnContext(ctx, "object storage unavailable", "op", op, "endpoint", s.d.Blob.Endpoint(), "err", err)
		return status.Errorf(codes.Unavailable, "%s: object storage is unavailable; try again", Name)
	}
	s.log.ErrorContext(ctx, "object storage failed", "op", op, "err", err)
	return status.Errorf(codes.Internal, "%s: object storage failed", Name)
}

// sweepLoop removes the objects of abandoned uploads until ctx ends.
func (s *Service) sweepLoop(ctx context.Context) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		if n, err := s.sweep(ctx, staleAfter); err != nil && ctx.Err() == nil {
			s.log.Warn("sweeping abandoned uploads", "err", err)
		} else if n > 0 {
			s.log.Info("removed abandoned uploads", "count", n)
		}
		s.sweepSpool(staleAfter)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// spoolPattern names spool files (os.CreateTemp), so the sweeper removes
// ours only.
const spoolPattern = "ecabinet-upload-*"

// sweepSpool removes spool files older than age: left by a process that
// died while receiving (a live upload removes its own).
func (s *Service) sweepSpool(age time.Duration) {
	dir := s.cfg.UploadSpoolDir
	if dir == "" {
		dir = os.TempDir()
	}
	names, err := filepath.Glob(filepath.Join(dir, spoolPattern))
	if err != nil {
		return // only a malformed pattern, which ours is not
	}
	for _, name := range names {
		if fi, err := os.Stat(name); err == nil && time.Since(fi.ModTime()) > age {
			if err := os.Remove(name); err != nil {
				s.log.Warn("removing a stale upload spool file", "file", name, "err", err)
			}
		}
	}
}

// sweep removes every pending upload older than age: first its object
// (and unfinished multipart upload), then its row, under a row lock that
// a commit of the same upload waits for and then finds the row gone
// (errSwept), so an object is never removed under a version that names it.
func (s *Service) sweep(ctx context.Context, age time.Duration) (int, error) {
	removed := 0
	for {
		var key string
		done := false
		err := pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
			err := tx.QueryRow(ctx, `
				SELECT object_key FROM pending_uploads
				WHERE create_time < now() - make_interval(secs => $1)
				ORDER BY create_time LIMIT 1 FOR UPDATE SKIP LOCKED`, age.Seconds()).Scan(&key)
			if errors.Is(err, pgx.ErrNoRows) {
				done = true
				return nil
			}
			if err != nil {
				return err
			}
			if err := s.removeBytes(ctx, key); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `DELETE FROM pending_uploads WHERE object_key = $1`, key)
			return err
		})
		if err != nil {
			return removed, fmt.Errorf("sweep %s: %w", key, err)
		}
		if done {
			return removed, nil
		}
		removed++
	}
}
