package documents

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
)

// ReasonKeyReused: an idempotency key that already made a document is
// used for another upload.
const ReasonKeyReused = "IDEMPOTENCY_KEY_REUSED"

// keyPattern is what an idempotency key may be (NewDocument.idempotency_key).
var keyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func checkKey(key string) []rpcerr.Violation {
	if key == "" || keyPattern.MatchString(key) {
		return nil
	}
	return []rpcerr.Violation{{Field: "new_document.idempotency_key", Reason: rpcerr.ReasonInvalidFormat,
		Description: "must be 1 to 64 letters, digits, '-' or '_'"}}
}

// keyScope is where u's key belongs: its meeting, or its library.
func keyScope(u *upload) string {
	if m := u.newDocument.GetMeetingId(); m != "" {
		return m
	}
	return "library:" + u.newDocument.GetOrganizationId()
}

// keyRequest is what an upload with a key asks for, as upload_keys keeps
// it: a retry asks for the same.
func keyRequest(u *upload) string {
	d := u.newDocument
	return fmt.Sprintf("meeting=%s period=%s file=%s", d.GetMeetingId(), d.GetLibraryPeriod(), u.version.GetFileName())
}

// uploadedBefore is the document an earlier upload with u's key made, or
// nil when there was none. A key used for another upload is refused.
func (s *Service) uploadedBefore(ctx context.Context, u *upload) (*documentsv1.Document, error) {
	var id, request string
	err := s.d.Pool.QueryRow(ctx, `SELECT document_id, request FROM upload_keys WHERE scope = $1 AND key = $2`,
		keyScope(u), u.key).Scan(&id, &request)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, rpcerr.FromStore(ctx, s.log, Name, "UploadDocument", err)
	}
	if request != keyRequest(u) {
		return nil, rpcerr.Invalid(Name, []rpcerr.Violation{{Field: "new_document.idempotency_key", Reason: ReasonKeyReused,
			Description: "already made a document for another upload (" + request + "); a retry must ask for the same"}})
	}
	doc, err := s.getDocument(ctx, nil, id)
	if errors.Is(err, errNotFound) {
		return nil, status.Errorf(codes.FailedPrecondition, "%s: the document this idempotency key made (%s) has been withdrawn", Name, id)
	}
	if err != nil {
		return nil, rpcerr.FromStore(ctx, s.log, Name, "UploadDocument", err)
	}
	return doc, nil
}

// recordKey notes, in the upload's transaction, that u's key made its
// document.
func recordKey(ctx context.Context, tx pgx.Tx, u *upload) error {
	if u.key == "" {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO upload_keys (scope, key, document_id, request) VALUES ($1, $2, $3, $4)`,
		keyScope(u), u.key, u.documentID, keyRequest(u))
	return err
}

// keyTaken reports whether err is another upload with the same key having
// committed first (two attempts of one upload in flight at once).
func keyTaken(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "upload_keys_pkey"
}
