package documents

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/outbox"
)

var errNotFound = errors.New("not found")

// errStaleVersion: a replacement was based on a version that is no longer
// current.
type errStaleVersion struct{ current int32 }

func (e errStaleVersion) Error() string {
	return fmt.Sprintf("the document is at version %d now", e.current)
}

// errSwept: the pending upload's row was gone when its version was to be
// recorded, i.e. the sweeper took it for abandoned and removed the object.
var errSwept = errors.New("the upload took too long and was cleaned up; upload again")

const documentColumns = `id, organization_id, coalesce(meeting_id::text, ''), title, kind, classification,
	file_name, content_type, size_bytes, sha256, create_time,
	coalesce(agenda_item_id::text, ''), version, page_count, preview, uploader_id, update_time, download_policy,
	coalesce(library_period, '')`

const versionColumns = `document_id, version, file_name, content_type, size_bytes, sha256,
	page_count, preview, uploader_id, create_time`

// eventSubject is the subject of a document's event without the deployment
// prefix (the relay adds that): ecabinet.documents.v1.<meeting_id>.<event>,
// or ecabinet.documents.v1.library.<event> for a library document.
func eventSubject(meetingID, event string) string {
	if meetingID == "" {
		meetingID = libraryToken
	}
	return "ecabinet." + Name + ".v1." + meetingID + "." + event
}

// libraryToken stands for the meeting in the subjects of library
// documents' events.
const libraryToken = "library"

// getDocument returns a document that has not been withdrawn.
func (s *Service) getDocument(ctx context.Context, q pgx.Tx, id string) (*documentsv1.Document, error) {
	const sql = `SELECT ` + documentColumns + ` FROM documents WHERE id = $1 AND withdraw_time IS NULL`
	var row pgx.Row
	if q != nil {
		row = q.QueryRow(ctx, sql+` FOR UPDATE`, id)
	} else {
		row = s.d.Pool.QueryRow(ctx, sql, id)
	}
	d, err := scanDocument(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNotFound
	}
	return d, err
}

// listDocuments returns the meeting's documents that have not been
// withdrawn, in the order they were added; the caller filters by access.
func (s *Service) listDocuments(ctx context.Context, meetingID string) ([]*documentsv1.Document, error) {
	rows, err := s.d.Pool.Query(ctx, `
		SELECT `+documentColumns+` FROM documents
		WHERE meeting_id = $1 AND withdraw_time IS NULL
		ORDER BY create_time, id`, meetingID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*documentsv1.Document, error) { return scanDocument(r) })
}

func (s *Service) listVersions(ctx context.Context, documentID string) ([]*documentsv1.DocumentVersion, error) {
	rows, err := s.d.Pool.Query(ctx, `SELECT `+versionColumns+` FROM document_versions WHERE document_id = $1 ORDER BY version`, documentID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*documentsv1.DocumentVersion, error) {
		v, _, err := scanVersion(r, false)
		return v, err
	})
}

// openVersion returns a document that has not been withdrawn and one of
// its versions (0: the current one) with its object key, in one round
// trip: it is on the path of every read of a file, which a meeting's
// tablets make at once. A missing document is errNotFound; a missing version is nil.
func (s *Service) openVersion(ctx context.Context, id string, version int32) (*documentsv1.Document, *documentsv1.DocumentVersion, string, error) {
	batch := &pgx.Batch{}
	var d *documentsv1.Document
	var v *documentsv1.DocumentVersion
	var key string
	batch.Queue(`SELECT `+documentColumns+` FROM documents WHERE id = $1 AND withdraw_time IS NULL`, id).QueryRow(func(row pgx.Row) error {
		var err error
		d, err = scanDocument(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNotFound
		}
		return err
	})
	batch.Queue(`SELECT `+versionColumns+`, object_key FROM document_versions
		WHERE document_id = $1 AND version = CASE WHEN $2::int = 0 THEN (SELECT version FROM documents WHERE id = $1) ELSE $2::int END`,
		id, version).QueryRow(func(row pgx.Row) error {
		var err error
		v, key, err = scanVersion(row, true)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if err := s.d.Pool.SendBatch(ctx, batch).Close(); err != nil {
		return nil, nil, "", err
	}
	return d, v, key, nil
}

// upload is a file that has arrived, been checked and been written to
// object storage, waiting to be recorded.
type upload struct {
	documentID string
	objectKey  string
	limit      int64                        // the largest file of the document's kind
	version    *documentsv1.DocumentVersion // document_id, version and create_time are set on commit
	// For a new document: its metadata. For a new version: nil.
	newDocument *documentsv1.Document
	// expectedVersion of a replacement (0: any).
	expectedVersion int32
	actor           string
	audience        []string
	// For a new library document: the organisations it is published to.
	libraryAudience []audienceOrg
	// key is a new document's idempotency key ("" for none).
	key string
}

// addPending records that objectKey is about to be written, before a byte
// of it is: should anything fail afterwards, the sweeper finds the row and
// removes whatever part of the object exists.
func (s *Service) addPending(ctx context.Context, objectKey, documentID string) error {
	_, err := s.d.Pool.Exec(ctx, `INSERT INTO pending_uploads (object_key, document_id) VALUES ($1, $2)`, objectKey, documentID)
	return err
}

// commit records an uploaded version, its document and its event in one
// transaction that also removes the pending row: either all of it exists
// afterwards or none, and the object is then named by the version row
// instead of the pending one.
func (s *Service) commit(ctx context.Context, u *upload) (*documentsv1.Document, error) {
	var stored *documentsv1.Document
	err := pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM pending_uploads WHERE object_key = $1`, u.objectKey)
		if err != nil {
			return fmt.Errorf("claim pending upload: %w", err)
		}
		if tag.RowsAffected() != 1 {
			return errSwept
		}
		v := u.version
		var previous int32
		var revision int64
		if u.newDocument != nil {
			d := u.newDocument
			v.Version, revision = 1, 1
			if _, err := tx.Exec(ctx, `
				INSERT INTO documents (id, organization_id, meeting_id, agenda_item_id, title, kind, classification,
				                       file_name, content_type, size_bytes, sha256, page_count, preview, uploader_id,
				                       download_policy, library_period, version, revision)
				VALUES ($1, $2, nullif($3, '')::uuid, nullif($4, '')::uuid, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, nullif($16, ''), 1, 1)`,
				u.documentID, d.GetOrganizationId(), d.GetMeetingId(), d.GetAgendaItemId(), d.GetTitle(),
				d.GetKind().String(), d.GetClassification().String(),
				v.GetFileName(), v.GetContentType(), v.GetSizeBytes(), v.GetSha256(), v.GetPageCount(),
				v.GetPreview().String(), u.actor, d.GetDownloadPolicy().String(), d.GetLibraryPeriod()); err != nil {
				return fmt.Errorf("insert document: %w", err)
			}
			if err := recordKey(ctx, tx, u); err != nil {
				return fmt.Errorf("record idempotency key: %w", err)
			}
			for _, o := range u.libraryAudience {
				if _, err := tx.Exec(ctx, `INSERT INTO library_audience (document_id, organization_id, organization_name, depth) VALUES ($1, $2, $3, $4)`,
					u.documentID, o.id, o.name, o.depth); err != nil {
					return fmt.Errorf("insert library audience: %w", err)
				}
			}
		} else {
			cur, err := s.getDocument(ctx, tx, u.documentID)
			if err != nil {
				return err
			}
			previous = cur.GetVersion()
			if u.expectedVersion != 0 && u.expectedVersion != previous {
				return errStaleVersion{current: previous}
			}
			v.Version = previous + 1
			if err := tx.QueryRow(ctx, `
				UPDATE documents SET file_name = $2, content_type = $3, size_bytes = $4, sha256 = $5,
				       page_count = $6, preview = $7, uploader_id = $8, version = $9,
				       revision = revision + 1, update_time = now()
				WHERE id = $1
				RETURNING revision`,
				u.documentID, v.GetFileName(), v.GetContentType(), v.GetSizeBytes(), v.GetSha256(),
				v.GetPageCount(), v.GetPreview().String(), u.actor, v.GetVersion()).Scan(&revision); err != nil {
				return fmt.Errorf("update document: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO document_versions (document_id, version, object_key, file_name, content_type, size_bytes,
			                               sha256, page_count, preview, uploader_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			u.documentID, v.GetVersion(), u.objectKey, v.GetFileName(), v.GetContentType(), v.GetSizeBytes(),
			v.GetSha256(), v.GetPageCount(), v.GetPreview().String(), u.actor); err != nil {
			return fmt.Errorf("insert version: %w", err)
		}
		if stored, err = s.getDocument(ctx, tx, u.documentID); err != nil {
			return fmt.Errorf("read back document: %w", err)
		}
		return s.enqueueForEach(ctx, tx, stored, func(org string) (proto.Message, string) {
			meta := outbox.NewMeta(u.actor, stored.GetId(), org, revision)
			meta.Audience = u.audience
			if u.newDocument != nil {
				return &documentsv1.DocumentAdded{Meta: meta, Document: forEvent(stored)}, "added"
			}
			return &documentsv1.DocumentVersionAdded{Meta: meta, Document: forEvent(stored), PreviousVersion: previous}, "version_added"
		})
	})
	if err != nil {
		return nil, err
	}
	return stored, nil
}

// withdraw marks a document withdrawn and enqueues its event, in one
// transaction; check runs on the locked row and may refuse.
func (s *Service) withdraw(ctx context.Context, id, actor, reason string, check func(*documentsv1.Document) ([]string, error)) error {
	return pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		d, err := s.getDocument(ctx, tx, id)
		if err != nil {
			return err
		}
		aud, err := check(d)
		if err != nil {
			return err
		}
		var revision int64
		if err := tx.QueryRow(ctx, `
			UPDATE documents SET withdraw_time = now(), withdraw_reason = $2, withdrawn_by = $3, revision = revision + 1
			WHERE id = $1 RETURNING revision`, id, reason, actor).Scan(&revision); err != nil {
			return fmt.Errorf("withdraw document: %w", err)
		}
		return s.enqueueForEach(ctx, tx, d, func(org string) (proto.Message, string) {
			meta := outbox.NewMeta(actor, id, org, revision)
			meta.Audience = aud
			ev := &documentsv1.DocumentWithdrawn{Meta: meta, DocumentId: id, MeetingId: d.GetMeetingId(), Reason: reason}
			if d.GetClassification() == documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL {
				ev.Reason = "" // the reason may say what the paper was about
			}
			return ev, "withdrawn"
		})
	})
}

// enqueueForEach enqueues, in tx, the event that event makes for each
// organisation whose members are told of a change to d: a meeting paper's
// organisation, or every organisation a library document was published to
// — the live channel delivers an event to the members of the one
// organisation it names, so each cell gets an event of its own.
func (s *Service) enqueueForEach(ctx context.Context, tx pgx.Tx, d *documentsv1.Document, event func(org string) (proto.Message, string)) error {
	orgs := []string{d.GetOrganizationId()}
	if d.GetMeetingId() == "" {
		rows, err := tx.Query(ctx, `SELECT organization_id FROM library_audience WHERE document_id = $1 ORDER BY depth, organization_id`, d.GetId())
		if err != nil {
			return fmt.Errorf("library audience: %w", err)
		}
		if orgs, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return fmt.Errorf("library audience: %w", err)
		}
	}
	for _, org := range orgs {
		ev, name := event(org)
		if err := outbox.Enqueue(ctx, tx, eventSubject(d.GetMeetingId(), name), ev); err != nil {
			return fmt.Errorf("enqueue %s event: %w", name, err)
		}
	}
	return nil
}

// forEvent is the document as an event carries it. Organisation members
// who are not participants receive a confidential paper's events too (the
// live channel filters by organisation), so those carry no title, file
// name or checksum: a tablet that may read the paper fetches them.
func forEvent(d *documentsv1.Document) *documentsv1.Document {
	if d.GetClassification() != documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL {
		return d
	}
	return &documentsv1.Document{
		Id:             d.GetId(),
		OrganizationId: d.GetOrganizationId(),
		MeetingId:      d.GetMeetingId(),
		AgendaItemId:   d.GetAgendaItemId(),
		Kind:           d.GetKind(),
		Classification: d.GetClassification(),
		Version:        d.GetVersion(),
		CreateTime:     d.GetCreateTime(),
		UpdateTime:     d.GetUpdateTime(),
	}
}

func scanDocument(row pgx.Row) (*documentsv1.Document, error) {
	d := &documentsv1.Document{}
	var kind, classification, preview, policy string
	var created, updated time.Time
	if err := row.Scan(&d.Id, &d.OrganizationId, &d.MeetingId, &d.Title, &kind, &classification,
		&d.FileName, &d.ContentType, &d.SizeBytes, &d.Sha256, &created,
		&d.AgendaItemId, &d.Version, &d.PageCount, &preview, &d.UploaderId, &updated, &policy, &d.LibraryPeriod); err != nil {
		return nil, err
	}
	d.DownloadPolicy = documentsv1.DownloadPolicy(documentsv1.DownloadPolicy_value[policy])
	d.Kind = documentsv1.DocumentKind(documentsv1.DocumentKind_value[kind])
	d.Classification = documentsv1.Classification(documentsv1.Classification_value[classification])
	d.Preview = documentsv1.Preview(documentsv1.Preview_value[preview])
	d.CreateTime = timestamppb.New(created)
	d.UpdateTime = timestamppb.New(updated)
	return d, nil
}

func scanVersion(row pgx.Row, withKey bool) (*documentsv1.DocumentVersion, string, error) {
	v := &documentsv1.DocumentVersion{}
	var preview, key string
	var created time.Time
	dest := []any{&v.DocumentId, &v.Version, &v.FileName, &v.ContentType, &v.SizeBytes, &v.Sha256,
		&v.PageCount, &preview, &v.UploaderId, &created}
	if withKey {
		dest = append(dest, &key)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, "", err
	}
	v.Preview = documentsv1.Preview(documentsv1.Preview_value[preview])
	v.CreateTime = timestamppb.New(created)
	return v, key, nil
}
