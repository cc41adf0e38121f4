package documents

import (
	"context"
	"errors"
	"strings"
	"unicode"

	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
)

const (
	maxTitleRunes  = 300
	maxReasonRunes = 1000
)

// api implements documentsv1.DocumentsServiceServer. Every handler checks,
// in order: identity, readiness, request validity, then reads and filters
// by what the caller may see.
type api struct {
	documentsv1.UnimplementedDocumentsServiceServer
	s *Service
}

// start is the common prologue: the caller and readiness.
func (a *api) start(ctx context.Context) (identity.Claims, error) {
	c, err := rpcerr.Caller(ctx, Name)
	if err != nil {
		return c, err
	}
	return c, rpcerr.CheckReady(Name, a.s.core.Ready())
}

// notFound is the answer for a document that does not exist, was
// withdrawn, or that the caller may not see: the same, so ids cannot be
// probed.
func notFound(id string) error {
	return status.Errorf(codes.NotFound, "%s: document %s not found", Name, id)
}

// readable loads a document the caller may read, or NotFound.
func (s *Service) readable(ctx context.Context, c identity.Claims, id string) (*documentsv1.Document, error) {
	d, err := s.getDocument(ctx, nil, id)
	if errors.Is(err, errNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, rpcerr.FromStore(ctx, s.log, Name, "GetDocument", err)
	}
	ok, err := s.readers(ctx, c).mayRead(d)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound(id)
	}
	return d, nil
}

func (a *api) GetDocument(ctx context.Context, req *documentsv1.GetDocumentRequest) (*documentsv1.GetDocumentResponse, error) {
	c, err := a.start(ctx)
	if err != nil {
		return nil, err
	}
	id, vs := parseID("document_id", req.GetDocumentId())
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	d, err := a.s.readable(ctx, c, id)
	if err != nil {
		return nil, err
	}
	return &documentsv1.GetDocumentResponse{Document: d}, nil
}

// ListDocuments lists the meeting's documents the caller may see; a meeting
// the caller may not see looks empty.
func (a *api) ListDocuments(ctx context.Context, req *documentsv1.ListDocumentsRequest) (*documentsv1.ListDocumentsResponse, error) {
	c, err := a.start(ctx)
	if err != nil {
		return nil, err
	}
	meetingID, vs := parseID("meeting_id", req.GetMeetingId())
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	all, err := a.s.listDocuments(ctx, meetingID)
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "ListDocuments", err)
	}
	r := a.s.readers(ctx, c)
	visible := make([]*documentsv1.Document, 0, len(all))
	for _, d := range all {
		ok, err := r.mayRead(d)
		if err != nil {
			return nil, err
		}
		if ok {
			visible = append(visible, d)
		}
	}
	return &documentsv1.ListDocumentsResponse{Documents: visible}, nil
}

func (a *api) ListDocumentVersions(ctx context.Context, req *documentsv1.ListDocumentVersionsRequest) (*documentsv1.ListDocumentVersionsResponse, error) {
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
	versions, err := a.s.listVersions(ctx, id)
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "ListDocumentVersions", err)
	}
	return &documentsv1.ListDocumentVersionsResponse{Versions: versions}, nil
}

// OpenDocumentContent is the gateway's way to the bytes: access checked
// and recorded here, bytes streamed by the gateway from the URL.
func (a *api) OpenDocumentContent(ctx context.Context, req *documentsv1.OpenDocumentContentRequest) (*documentsv1.OpenDocumentContentResponse, error) {
	c, err := a.start(ctx)
	if err != nil {
		return nil, err
	}
	id, vs := parseID("document_id", req.GetDocumentId())
	if req.GetVersion() < 0 {
		vs = append(vs, rpcerr.Violation{Field: "version", Reason: rpcerr.ReasonInvalidFormat, Description: "must not be negative (0: the current version)"})
	}
	if _, ok := documentsv1.AccessKind_name[int32(req.GetAccess())]; !ok || req.GetAccess() == documentsv1.AccessKind_ACCESS_KIND_UNSPECIFIED {
		vs = append(vs, enumViolation("access", req.GetAccess() == 0))
	}
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	d, v, key, err := a.s.lookups.open(ctx, id, req.GetVersion())
	if errors.Is(err, errNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "OpenDocumentContent", err)
	}
	ok, err := a.s.readers(ctx, c).mayRead(d)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound(id)
	}
	if v == nil {
		return nil, status.Errorf(codes.NotFound, "%s: document %s has no version %d", Name, id, req.GetVersion())
	}
	presign := a.s.presignShared
	if req.GetAccess() == documentsv1.AccessKind_ACCESS_KIND_DOWNLOAD {
		switch d.GetDownloadPolicy() {
		case documentsv1.DownloadPolicy_DOWNLOAD_POLICY_VIEW_ONLY:
			return nil, viewOnly(id)
		case documentsv1.DownloadPolicy_DOWNLOAD_POLICY_WATERMARKED:
			if !a.s.stampable(v) {
				return nil, viewOnly(id)
			}
			if key, v, err = a.s.stampedCopy(ctx, c, key, v); err != nil {
				return nil, err
			}
			presign = a.s.presign // this reader's own copy
		}
	}
	url, expires, err := presign(ctx, key)
	if err != nil {
		return nil, a.s.storageError(ctx, "presign", err)
	}
	// Recorded once the read can go ahead, before any byte moves: a read
	// that then fails half way is still an access attempt worth knowing.
	if err := a.s.recordAccess(ctx, id, v.GetVersion(), c.Subject, req.GetAccess()); err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "OpenDocumentContent", err)
	}
	return &documentsv1.OpenDocumentContentResponse{Document: d, Version: v, Url: url, UrlExpireTime: timestamppb.New(expires)}, nil
}

// WithdrawDocument: the meeting's chair, minute-taker or an administrator
// of its organisation may withdraw a paper; others who can see it are
// refused, others get NotFound.
func (a *api) WithdrawDocument(ctx context.Context, req *documentsv1.WithdrawDocumentRequest) (*documentsv1.WithdrawDocumentResponse, error) {
	c, err := a.start(ctx)
	if err != nil {
		return nil, err
	}
	id, vs := parseID("document_id", req.GetDocumentId())
	reason := norm.NFC.String(strings.TrimSpace(req.GetReason()))
	if len([]rune(reason)) > maxReasonRunes {
		vs = append(vs, rpcerr.Violation{Field: "reason", Reason: rpcerr.ReasonTooLong, Description: "must be at most 1000 characters"})
	}
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	if _, err := a.s.readable(ctx, c, id); err != nil {
		return nil, err
	}
	err = a.s.withdraw(ctx, id, c.Subject, reason, func(d *documentsv1.Document) ([]string, error) {
		return a.s.manage(ctx, c, d, "withdraw")
	})
	if errors.Is(err, errNotFound) {
		return nil, notFound(id)
	}
	if _, isStatus := status.FromError(err); err != nil && !isStatus {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "WithdrawDocument", err)
	}
	if err != nil {
		return nil, err
	}
	return &documentsv1.WithdrawDocumentResponse{}, nil
}

func (a *api) GetQRCode(ctx context.Context, req *documentsv1.GetQRCodeRequest) (*documentsv1.GetQRCodeResponse, error) {
	c, err := a.start(ctx)
	if err != nil {
		return nil, err
	}
	var vs []rpcerr.Violation
	var docID, meetingID string
	switch {
	case req.GetDocumentId() != "" && req.GetMeetingId() != "":
		vs = append(vs, rpcerr.Violation{Field: "meeting_id", Reason: rpcerr.ReasonInvalidFormat, Description: "give document_id or meeting_id, not both"})
	case req.GetDocumentId() != "":
		docID, vs = parseID("document_id", req.GetDocumentId())
	default:
		meetingID, vs = parseID("meeting_id", req.GetMeetingId())
	}
	if req.GetFormat() != documentsv1.QRCodeFormat_QR_CODE_FORMAT_PNG && req.GetFormat() != documentsv1.QRCodeFormat_QR_CODE_FORMAT_SVG {
		vs = append(vs, enumViolation("format", req.GetFormat() == 0))
	}
	px := int(req.GetSizePx())
	if px == 0 {
		px = defaultQRPixels
	}
	if px < minQRPixels || px > maxQRPixels {
		vs = append(vs, rpcerr.Violation{Field: "size_px", Reason: rpcerr.ReasonInvalidFormat, Description: "must be between 64 and 2048"})
	}
	target := "/meetings/" + meetingID + "/documents"
	if docID != "" {
		target = "/documents/" + docID
	}
	link, err := appURL(req.GetBaseUrl(), target)
	if err != nil {
		vs = append(vs, rpcerr.Violation{Field: "base_url", Reason: rpcerr.ReasonInvalidFormat, Description: err.Error()})
	}
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	// A code for something the caller may not see would confirm it exists.
	if docID != "" {
		if _, err := a.s.readable(ctx, c, docID); err != nil {
			return nil, err
		}
	} else {
		_, err := a.s.meeting(ctx, meetingID)
		if errors.Is(err, errMeetingHidden) {
			return nil, status.Errorf(codes.NotFound, "%s: meeting %s not found", Name, meetingID)
		}
		if err != nil {
			return nil, err
		}
	}
	ct, data, err := qrImage(link, req.GetFormat(), px)
	if err != nil {
		a.s.log.ErrorContext(ctx, "drawing a QR code", "err", err)
		return nil, status.Errorf(codes.Internal, "%s: cannot draw the QR code", Name)
	}
	return &documentsv1.GetQRCodeResponse{ContentType: ct, Data: data, Url: link}, nil
}

// parseID checks that s is a UUID and returns its canonical form.
func parseID(field, s string) (string, []rpcerr.Violation) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonRequired, Description: "must not be empty"}}
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return "", []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonInvalidFormat, Description: "must be a UUID"}}
	}
	return id.String(), nil
}

// cleanText NFC-normalises and trims a required one-line text, dropping
// control characters, and checks its length.
func cleanText(field, s string, maxRunes int) (string, []rpcerr.Violation) {
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, norm.NFC.String(s)))
	switch {
	case s == "":
		return "", []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonRequired, Description: "must not be empty"}}
	case len([]rune(s)) > maxRunes:
		return "", []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonTooLong, Description: "is too long"}}
	}
	return s, nil
}

func enumViolation(field string, missing bool) rpcerr.Violation {
	if missing {
		return rpcerr.Violation{Field: field, Reason: rpcerr.ReasonRequired, Description: "must be set"}
	}
	return rpcerr.Violation{Field: field, Reason: rpcerr.ReasonUnknownValue, Description: "is not a known value"}
}

func hasAgendaItem[T interface{ GetId() string }](items []T, id string) bool {
	for _, it := range items {
		if it.GetId() == id {
			return true
		}
	}
	return false
}

// truncateRunes cuts s to at most n characters, for names made from
// titles.
func truncateRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
