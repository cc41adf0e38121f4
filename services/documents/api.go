package documents

import (
	"context"
	"errors"
	"strings"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// api implements documentsv1.DocumentsServiceServer. Every handler checks,
// in order: identity, readiness, request validity, then reads and filters
// by what the caller may see.
type api struct {
	documentsv1.UnimplementedDocumentsServiceServer
	s *Service
}

func (a *api) GetDocument(ctx context.Context, req *documentsv1.GetDocumentRequest) (*documentsv1.GetDocumentResponse, error) {
	c, err := rpcerr.Caller(ctx, Name)
	if err != nil {
		return nil, err
	}
	if err := rpcerr.CheckReady(Name, a.s.ready.Load()); err != nil {
		return nil, err
	}
	id, vs := parseID("document_id", req.GetDocumentId())
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	d, err := a.s.getDocument(ctx, id)
	// A document the caller may not see is reported exactly like a missing
	// one, so ids cannot be probed.
	if errors.Is(err, errNotFound) || (err == nil && !mayRead(c, d)) {
		return nil, status.Errorf(codes.NotFound, "%s: document %s not found", Name, id)
	}
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "GetDocument", err)
	}
	return &documentsv1.GetDocumentResponse{Document: d}, nil
}

// ListDocuments lists the meeting's documents the caller may see; a meeting
// of another organisation looks empty.
func (a *api) ListDocuments(ctx context.Context, req *documentsv1.ListDocumentsRequest) (*documentsv1.ListDocumentsResponse, error) {
	c, err := rpcerr.Caller(ctx, Name)
	if err != nil {
		return nil, err
	}
	if err := rpcerr.CheckReady(Name, a.s.ready.Load()); err != nil {
		return nil, err
	}
	meetingID, vs := parseID("meeting_id", req.GetMeetingId())
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	ds, err := a.s.listDocuments(ctx, meetingID, c)
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "ListDocuments", err)
	}
	return &documentsv1.ListDocumentsResponse{Documents: ds}, nil
}

// mayRead reports whether c may see d: members of its organisation may,
// except for confidential documents.
func mayRead(c identity.Claims, d *documentsv1.Document) bool {
	if !c.InOrg(d.GetOrganizationId()) {
		return false
	}
	return d.GetClassification() != documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL || c.IsOrgAdmin(d.GetOrganizationId())
}

// Confidential documents are meant for the meeting's participants only, and
// participation is not known here yet. Until it is, they are shown to the
// organisation's administrators only (deny by default) rather than to every
// member of the organisation.

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
