package documents

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"golang.org/x/text/unicode/norm"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/outbox"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
)

const (
	maxNoteRunes = 4000
	// maxAnnotationsPerReader bounds one person's annotations of one
	// document: a tablet gone wrong must not fill the table.
	maxAnnotationsPerReader = 2000
)

var colorPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// errAnnotationStale: SaveAnnotation's expected_version is not the
// annotation's version.
type errAnnotationStale struct{ current int64 }

func (e errAnnotationStale) Error() string {
	return fmt.Sprintf("the annotation is at version %d now", e.current)
}

// errTooManyAnnotations: the reader has reached maxAnnotationsPerReader.
var errTooManyAnnotations = errors.New("too many annotations")

const annotationColumns = `id, document_id, document_version, page, kind, area_x, area_y, area_width, area_height,
	text, color, version, create_time, update_time`

func (a *api) ListMyAnnotations(ctx context.Context, req *documentsv1.ListMyAnnotationsRequest) (*documentsv1.ListMyAnnotationsResponse, error) {
	c, err := a.start(ctx)
	if err != nil {
		return nil, err
	}
	id, vs := parseID("document_id", req.GetDocumentId())
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	if _, err := a.s.readable(ctx, c, id); err != nil {
		return nil, err
	}
	rows, err := a.s.d.Pool.Query(ctx, `SELECT `+annotationColumns+` FROM annotations
		WHERE document_id = $1 AND person_id = $2 ORDER BY page, create_time, id`, id, c.Subject)
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "ListMyAnnotations", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*documentsv1.Annotation, error) { return scanAnnotation(r) })
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "ListMyAnnotations", err)
	}
	return &documentsv1.ListMyAnnotationsResponse{Annotations: list}, nil
}

func (a *api) SaveAnnotation(ctx context.Context, req *documentsv1.SaveAnnotationRequest) (*documentsv1.SaveAnnotationResponse, error) {
	c, err := a.start(ctx)
	if err != nil {
		return nil, err
	}
	an, vs := validAnnotation(req.GetAnnotation())
	if req.GetExpectedVersion() < 0 {
		vs = append(vs, rpcerr.Violation{Field: "expected_version", Reason: rpcerr.ReasonInvalidFormat, Description: "must not be negative"})
	}
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	d, err := a.s.readable(ctx, c, an.GetDocumentId())
	if err != nil {
		return nil, err
	}
	if an.GetDocumentVersion() == 0 {
		an.DocumentVersion = d.GetVersion()
	}
	if an.GetDocumentVersion() > d.GetVersion() {
		return nil, rpcerr.Invalid(Name, []rpcerr.Violation{{Field: "annotation.document_version", Reason: "OUT_OF_RANGE",
			Description: fmt.Sprintf("the document has versions 1 to %d", d.GetVersion())}})
	}
	if d.GetPageCount() > 0 && an.GetDocumentVersion() == d.GetVersion() && an.GetPage() > d.GetPageCount() {
		return nil, rpcerr.Invalid(Name, []rpcerr.Violation{{Field: "annotation.page", Reason: "OUT_OF_RANGE",
			Description: fmt.Sprintf("the document has %d pages", d.GetPageCount())}})
	}
	saved, err := a.s.saveAnnotation(ctx, c, an, req.GetExpectedVersion())
	var stale errAnnotationStale
	switch {
	case errors.As(err, &stale):
		return nil, status.Errorf(codes.Aborted, "%s: %v; reload the annotations and try again", Name, stale)
	case errors.Is(err, errNotFound):
		// Another person's annotation with this id (or one of another
		// document): theirs is not ours to see, so it looks like a clash of
		// ids.
		return nil, status.Errorf(codes.AlreadyExists, "%s: annotation id %s is taken; choose another", Name, an.GetId())
	case errors.Is(err, errTooManyAnnotations):
		return nil, status.Errorf(codes.ResourceExhausted, "%s: at most %d annotations per paper; delete some first", Name, maxAnnotationsPerReader)
	case err != nil:
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "SaveAnnotation", err)
	}
	return &documentsv1.SaveAnnotationResponse{Annotation: saved}, nil
}

func (a *api) DeleteAnnotation(ctx context.Context, req *documentsv1.DeleteAnnotationRequest) (*documentsv1.DeleteAnnotationResponse, error) {
	c, err := a.start(ctx)
	if err != nil {
		return nil, err
	}
	id, vs := parseID("annotation_id", req.GetAnnotationId())
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	err = pgx.BeginFunc(ctx, a.s.d.Pool, func(tx pgx.Tx) error {
		var documentID string
		err := tx.QueryRow(ctx, `DELETE FROM annotations WHERE id = $1 AND person_id = $2 RETURNING document_id`, id, c.Subject).Scan(&documentID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNotFound
		}
		if err != nil {
			return err
		}
		return a.s.annotationsChanged(ctx, tx, documentID, c.Subject)
	})
	if errors.Is(err, errNotFound) {
		return nil, status.Errorf(codes.NotFound, "%s: annotation %s not found", Name, id)
	}
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "DeleteAnnotation", err)
	}
	return &documentsv1.DeleteAnnotationResponse{}, nil
}

// validAnnotation checks and normalises an annotation from a client.
func validAnnotation(in *documentsv1.Annotation) (*documentsv1.Annotation, []rpcerr.Violation) {
	var vs []rpcerr.Violation
	if in == nil {
		return nil, []rpcerr.Violation{{Field: "annotation", Reason: rpcerr.ReasonRequired, Description: "must be given"}}
	}
	out := &documentsv1.Annotation{Page: in.GetPage(), Kind: in.GetKind(), DocumentVersion: in.GetDocumentVersion(),
		Color: strings.ToLower(in.GetColor()), Text: norm.NFC.String(strings.TrimSpace(in.GetText()))}
	var v []rpcerr.Violation
	out.Id, v = parseID("annotation.id", in.GetId())
	vs = append(vs, v...)
	out.DocumentId, v = parseID("annotation.document_id", in.GetDocumentId())
	vs = append(vs, v...)
	if in.GetDocumentVersion() < 0 {
		vs = append(vs, rpcerr.Violation{Field: "annotation.document_version", Reason: "OUT_OF_RANGE", Description: "must not be negative (0: the current version)"})
	}
	if in.GetPage() < 1 {
		vs = append(vs, rpcerr.Violation{Field: "annotation.page", Reason: "OUT_OF_RANGE", Description: "pages count from 1"})
	}
	if _, ok := documentsv1.AnnotationKind_name[int32(in.GetKind())]; !ok || in.GetKind() == documentsv1.AnnotationKind_ANNOTATION_KIND_UNSPECIFIED {
		vs = append(vs, enumViolation("annotation.kind", in.GetKind() == 0))
	}
	ar := in.GetArea()
	switch {
	case ar == nil:
		vs = append(vs, rpcerr.Violation{Field: "annotation.area", Reason: rpcerr.ReasonRequired, Description: "must say where on the page"})
	case !fraction(ar.GetX()) || !fraction(ar.GetY()) || !fraction(ar.GetWidth()) || !fraction(ar.GetHeight()) ||
		ar.GetX()+ar.GetWidth() > 1 || ar.GetY()+ar.GetHeight() > 1:
		vs = append(vs, rpcerr.Violation{Field: "annotation.area", Reason: "OUT_OF_RANGE", Description: "must lie within the page (fractions from 0 to 1)"})
	default:
		out.Area = &documentsv1.PageArea{X: ar.GetX(), Y: ar.GetY(), Width: ar.GetWidth(), Height: ar.GetHeight()}
	}
	if n := utf8.RuneCountInString(out.Text); n > maxNoteRunes {
		vs = append(vs, rpcerr.Violation{Field: "annotation.text", Reason: rpcerr.ReasonTooLong, Description: fmt.Sprintf("must be at most %d characters, got %d", maxNoteRunes, n)})
	}
	if out.Color != "" && !colorPattern.MatchString(out.Color) {
		vs = append(vs, rpcerr.Violation{Field: "annotation.color", Reason: rpcerr.ReasonInvalidFormat, Description: "must be #rrggbb"})
	}
	return out, vs
}

// fraction: a finite number from 0 to 1 (NaN fails both comparisons).
func fraction(f float64) bool { return f >= 0 && f <= 1 }

// saveAnnotation creates or replaces the caller's annotation and tells
// their devices, in one transaction. errNotFound: the id is someone
// else's.
func (s *Service) saveAnnotation(ctx context.Context, c identity.Claims, an *documentsv1.Annotation, expected int64) (*documentsv1.Annotation, error) {
	var saved *documentsv1.Annotation
	err := pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		var owner, docOf string
		var current int64
		err := tx.QueryRow(ctx, `SELECT person_id, document_id, version FROM annotations WHERE id = $1 FOR UPDATE`, an.GetId()).Scan(&owner, &docOf, &current)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM annotations WHERE document_id = $1 AND person_id = $2`, an.GetDocumentId(), c.Subject).Scan(&n); err != nil {
				return err
			}
			if n >= maxAnnotationsPerReader {
				return errTooManyAnnotations
			}
		case err != nil:
			return err
		case owner != c.Subject:
			return errNotFound
		case docOf != an.GetDocumentId():
			return errNotFound
		case expected != 0 && expected != current:
			return errAnnotationStale{current}
		}
		ar := an.GetArea()
		row := tx.QueryRow(ctx, `
			INSERT INTO annotations (id, document_id, person_id, document_version, page, kind, area_x, area_y, area_width, area_height, text, color)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (id) DO UPDATE SET document_version = EXCLUDED.document_version, page = EXCLUDED.page, kind = EXCLUDED.kind,
				area_x = EXCLUDED.area_x, area_y = EXCLUDED.area_y, area_width = EXCLUDED.area_width, area_height = EXCLUDED.area_height,
				text = EXCLUDED.text, color = EXCLUDED.color, version = annotations.version + 1, update_time = now()
			-- Only the author's own annotation of this document: an id taken
			-- meanwhile by someone else, or of another document, is a clash.
			WHERE annotations.person_id = EXCLUDED.person_id AND annotations.document_id = EXCLUDED.document_id
			RETURNING `+annotationColumns,
			an.GetId(), an.GetDocumentId(), c.Subject, an.GetDocumentVersion(), an.GetPage(), an.GetKind().String(),
			ar.GetX(), ar.GetY(), ar.GetWidth(), ar.GetHeight(), an.GetText(), an.GetColor())
		if saved, err = scanAnnotation(row); errors.Is(err, pgx.ErrNoRows) {
			return errNotFound
		} else if err != nil {
			return err
		}
		return s.annotationsChanged(ctx, tx, an.GetDocumentId(), c.Subject)
	})
	return saved, err
}

// annotationsChanged enqueues AnnotationsChanged for the person's devices
// alone: no organisation, the person as the only audience.
func (s *Service) annotationsChanged(ctx context.Context, tx pgx.Tx, documentID, person string) error {
	var meetingID string
	if err := tx.QueryRow(ctx, `SELECT coalesce(meeting_id::text, '') FROM documents WHERE id = $1`, documentID).Scan(&meetingID); err != nil {
		return err
	}
	meta := outbox.NewMeta(person, documentID, "", 0)
	meta.Audience = []string{person}
	return outbox.Enqueue(ctx, tx, eventSubject(meetingID, "annotations_changed"),
		&documentsv1.AnnotationsChanged{Meta: meta, DocumentId: documentID, PersonId: person})
}

func scanAnnotation(row pgx.Row) (*documentsv1.Annotation, error) {
	an := &documentsv1.Annotation{Area: &documentsv1.PageArea{}}
	var kind string
	var created, updated time.Time
	if err := row.Scan(&an.Id, &an.DocumentId, &an.DocumentVersion, &an.Page, &kind, &an.Area.X, &an.Area.Y, &an.Area.Width, &an.Area.Height,
		&an.Text, &an.Color, &an.Version, &created, &updated); err != nil {
		return nil, err
	}
	an.Kind = documentsv1.AnnotationKind(documentsv1.AnnotationKind_value[kind])
	an.CreateTime, an.UpdateTime = timestamppb.New(created), timestamppb.New(updated)
	return an, nil
}
