package documents

import (
	"context"
	"errors"
	"fmt"
	"time"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/outbox"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var errNotFound = errors.New("not found")

const documentColumns = `id, organization_id, meeting_id, title, kind, classification,
	file_name, content_type, size_bytes, sha256, create_time`

// eventSubject is the subject of a document's event without the deployment
// prefix (the relay adds that): ecabinet.documents.v1.<meeting_id>.<event>.
func eventSubject(meetingID, event string) string {
	return "ecabinet." + Name + ".v1." + meetingID + "." + event
}

// addDocument records a document's metadata and its DocumentAdded event in
// one transaction and returns what was stored. The upload path will call it
// once the bytes are in object storage; until then only tests do. An empty
// d.Id gets a new one.
func (s *Service) addDocument(ctx context.Context, actor string, d *documentsv1.Document) (*documentsv1.Document, error) {
	id := d.GetId()
	if id == "" {
		u, err := uuid.NewV7()
		if err != nil {
			return nil, fmt.Errorf("new document id: %w", err)
		}
		id = u.String()
	}
	var stored *documentsv1.Document
	err := pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		var err error
		stored, err = scanDocument(tx.QueryRow(ctx, `
			INSERT INTO documents (id, organization_id, meeting_id, title, kind, classification,
			                       file_name, content_type, size_bytes, sha256)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			RETURNING `+documentColumns,
			id, d.GetOrganizationId(), d.GetMeetingId(), d.GetTitle(), d.GetKind().String(),
			d.GetClassification().String(), d.GetFileName(), d.GetContentType(), d.GetSizeBytes(), d.GetSha256()))
		if err != nil {
			return fmt.Errorf("insert document: %w", err)
		}
		// Documents are immutable once added (a change is a new document),
		// so every event of one is at version 1.
		ev := &documentsv1.DocumentAdded{
			Meta:     outbox.NewMeta(actor, stored.GetId(), stored.GetOrganizationId(), 1),
			Document: stored,
		}
		if err := outbox.Enqueue(ctx, tx, eventSubject(stored.GetMeetingId(), "added"), ev); err != nil {
			return fmt.Errorf("enqueue DocumentAdded: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return stored, nil
}

func (s *Service) getDocument(ctx context.Context, id string) (*documentsv1.Document, error) {
	d, err := scanDocument(s.d.Pool.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNotFound
	}
	return d, err
}

// listDocuments returns the meeting's documents that c may see, in the
// order they were added.
func (s *Service) listDocuments(ctx context.Context, meetingID string, c identity.Claims) ([]*documentsv1.Document, error) {
	var orgs, adminOrgs []string // nil: every organisation
	if !c.HasRole(identity.RoleSystemAdmin) {
		orgs = c.Orgs
		if len(orgs) == 0 {
			return nil, nil
		}
		// Never nil here: NULL would mean "administers everything".
		adminOrgs = append([]string{}, c.AdminOrgs...)
	}
	rows, err := s.d.Pool.Query(ctx, `
		SELECT `+documentColumns+` FROM documents
		WHERE meeting_id = $1
		  AND ($2::text[] IS NULL OR organization_id = ANY($2))
		  AND (classification <> $3 OR $4::text[] IS NULL OR organization_id = ANY($4))
		ORDER BY create_time, id`,
		meetingID, orgs, documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL.String(), adminOrgs)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*documentsv1.Document, error) { return scanDocument(r) })
}

func scanDocument(row pgx.Row) (*documentsv1.Document, error) {
	d := &documentsv1.Document{}
	var kind, classification string
	var created time.Time
	if err := row.Scan(&d.Id, &d.OrganizationId, &d.MeetingId, &d.Title, &kind, &classification,
		&d.FileName, &d.ContentType, &d.SizeBytes, &d.Sha256, &created); err != nil {
		return nil, err
	}
	d.Kind = documentsv1.DocumentKind(documentsv1.DocumentKind_value[kind])
	d.Classification = documentsv1.Classification(documentsv1.Classification_value[classification])
	d.CreateTime = timestamppb.New(created)
	return d, nil
}
