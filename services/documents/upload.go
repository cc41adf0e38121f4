package documents

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
)

// Reasons of a refused file; the gateway maps them to HTTP statuses
// (FILE_TOO_LARGE 413, UNSUPPORTED_MEDIA_TYPE 415, the others 400).
const (
	ReasonEmptyFile            = "EMPTY_FILE"
	ReasonFileTooLarge         = "FILE_TOO_LARGE"
	ReasonUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	ReasonIncompleteFile       = "INCOMPLETE_FILE"
	ReasonNotInMeeting         = "NOT_IN_MEETING"
)

// UploadReadyHeader is the response header metadata UploadDocument sends
// once the first message is accepted and the file's bytes are wanted.
const UploadReadyHeader = "x-ecabinet-upload-ready"

// storagePingTimeout bounds the check that object storage answers before
// an upload is accepted.
const storagePingTimeout = 2 * time.Second

// UploadDocument receives a file into a spool file on disk (hashing and
// counting it, and refusing it as soon as its first bytes show a type we
// do not take or it passes the size limit), identifies it, writes it to
// object storage under a fresh key announced in pending_uploads, and
// records version, document and event in one transaction. Any failure
// before that transaction commits removes the object: see
// docs/adr/0002-documents-storage.md for why this leaves nothing behind.
func (a *api) UploadDocument(stream documentsv1.DocumentsService_UploadDocumentServer) error {
	ctx := stream.Context()
	c, err := rpcerr.Caller(ctx, Name)
	if err != nil {
		return err
	}
	if err := rpcerr.CheckReady(Name, a.s.core.Ready()); err != nil {
		return err
	}
	first, err := stream.Recv()
	if err != nil {
		return recvError(err)
	}
	var u *upload
	var declared int64
	switch p := first.GetPart().(type) {
	case *documentsv1.UploadDocumentRequest_NewDocument:
		u, declared, err = a.s.planNewDocument(ctx, c, p.NewDocument)
	case *documentsv1.UploadDocumentRequest_NewVersion:
		u, declared, err = a.s.planNewVersion(ctx, c, p.NewVersion)
	default:
		err = rpcerr.Invalid(Name, []rpcerr.Violation{{Field: "new_document", Reason: rpcerr.ReasonRequired,
			Description: "the first message must be new_document or new_version"}})
	}
	if err != nil {
		return err
	}
	// A retry of an upload that made its document (its answer lost on the
	// way) gets that document, before a byte is sent again.
	if u.key != "" {
		doc, err := a.s.uploadedBefore(ctx, u)
		if err != nil {
			return err
		}
		if doc != nil {
			return stream.SendAndClose(&documentsv1.UploadDocumentResponse{Document: doc})
		}
	}
	// Refuse before the client sends a byte when the bytes could not be
	// stored anyway.
	pingCtx, cancel := context.WithTimeout(ctx, storagePingTimeout)
	err = a.s.d.Blob.Ping(pingCtx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return status.FromContextError(ctx.Err()).Err()
		}
		a.s.log.WarnContext(ctx, "upload refused: object storage unavailable", "err", err)
		return status.Errorf(codes.Unavailable, "%s: object storage is unavailable; try again", Name)
	}
	// Tell the client to send the bytes: until these headers arrive it
	// can wait, so a refusal above (too large, not allowed, storage down)
	// comes before a byte of the file is sent, not after all of them.
	if err := stream.SendHeader(metadata.Pairs(UploadReadyHeader, "1")); err != nil {
		return recvError(err)
	}

	sp, err := a.s.receive(ctx, stream, declared, u.limit)
	defer sp.remove()
	if err != nil {
		return err
	}
	if err := a.s.identify(ctx, sp, u.version); err != nil {
		return err
	}
	doc, err := a.s.store(ctx, u, sp)
	if err != nil {
		return err
	}
	return stream.SendAndClose(&documentsv1.UploadDocumentResponse{Document: doc})
}

// recvError is the status for a stream that broke: usually the client
// (the gateway) cancelled because its own client went away.
func recvError(err error) error {
	if st, ok := status.FromError(err); ok {
		return st.Err()
	}
	return status.Errorf(codes.Canceled, "%s: upload interrupted: %v", Name, err)
}

func tooLarge(field string, limit int64) error {
	return rpcerr.Invalid(Name, []rpcerr.Violation{{Field: field, Reason: ReasonFileTooLarge,
		Description: fmt.Sprintf("the file is larger than the limit of %d bytes", limit)}})
}

func unsupported(err error) error {
	return rpcerr.Invalid(Name, []rpcerr.Violation{{Field: "chunk", Reason: ReasonUnsupportedMediaType,
		Description: err.Error() + "; accepted are PDF, Word, Excel and PowerPoint (DOCX, XLSX, PPTX), PNG and JPEG images, and common audio and video (MP3, M4A, MP4, MOV, WebM, Ogg, WAV, AAC)"}})
}

// uploadLimit is the largest file of a kind.
func (s *Service) uploadLimit(kind documentsv1.DocumentKind) int64 {
	if kind == documentsv1.DocumentKind_DOCUMENT_KIND_RECORDING {
		return s.cfg.RecordingMaxBytes
	}
	return s.cfg.UploadMaxBytes
}

// checkDeclared validates the announced size against limit.
func checkDeclared(field string, declared, limit int64) []rpcerr.Violation {
	switch {
	case declared < 0:
		return []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonInvalidFormat, Description: "must not be negative (0 when unknown)"}}
	case declared > limit:
		return []rpcerr.Violation{{Field: field, Reason: ReasonFileTooLarge,
			Description: fmt.Sprintf("the file is larger than the limit of %d bytes", limit)}}
	}
	return nil
}

// documentFields are the checked fields every new document has, meeting
// paper or library document, with the violations found in them.
type documentFields struct {
	title, fileName string
	key             string // idempotency key, "" for none
	policy          documentsv1.DownloadPolicy
	violations      []rpcerr.Violation
}

func (s *Service) checkDocumentFields(req *documentsv1.NewDocument) documentFields {
	var f documentFields
	var v []rpcerr.Violation
	f.title, v = cleanText("new_document.title", req.GetTitle(), maxTitleRunes)
	f.violations = append(f.violations, v...)
	if _, ok := documentsv1.DocumentKind_name[int32(req.GetKind())]; !ok || req.GetKind() == documentsv1.DocumentKind_DOCUMENT_KIND_UNSPECIFIED {
		f.violations = append(f.violations, enumViolation("new_document.kind", req.GetKind() == 0))
	}
	if _, ok := documentsv1.Classification_name[int32(req.GetClassification())]; !ok || req.GetClassification() == documentsv1.Classification_CLASSIFICATION_UNSPECIFIED {
		f.violations = append(f.violations, enumViolation("new_document.classification", req.GetClassification() == 0))
	}
	f.policy = req.GetDownloadPolicy()
	switch _, known := documentsv1.DownloadPolicy_name[int32(f.policy)]; {
	case !known:
		f.violations = append(f.violations, enumViolation("new_document.download_policy", false))
	case f.policy == documentsv1.DownloadPolicy_DOWNLOAD_POLICY_UNSPECIFIED:
		f.policy = defaultDownloadPolicy(req.GetClassification())
	}
	f.fileName = cleanFileName(req.GetFileName())
	if f.fileName == "" {
		f.violations = append(f.violations, rpcerr.Violation{Field: "new_document.file_name", Reason: rpcerr.ReasonRequired, Description: "must name the file"})
	}
	f.violations = append(f.violations, checkDeclared("new_document.declared_size", req.GetDeclaredSize(), s.uploadLimit(req.GetKind()))...)
	f.key = req.GetIdempotencyKey()
	f.violations = append(f.violations, checkKey(f.key)...)
	return f
}

// planNewDocument validates a new document's metadata and checks with the
// meetings service, as the caller, that the caller runs the meeting (or,
// for the library, administers the publishing organisation).
func (s *Service) planNewDocument(ctx context.Context, c identity.Claims, req *documentsv1.NewDocument) (*upload, int64, error) {
	f := s.checkDocumentFields(req)
	if isLibraryUpload(req) {
		u, err := s.planLibraryDocument(ctx, c, req, f)
		return u, req.GetDeclaredSize(), err
	}
	meetingID, vs := parseID("new_document.meeting_id", req.GetMeetingId())
	var agendaID string
	if req.GetAgendaItemId() != "" {
		var v []rpcerr.Violation
		agendaID, v = parseID("new_document.agenda_item_id", req.GetAgendaItemId())
		vs = append(vs, v...)
	}
	vs = append(vs, f.violations...)
	if len(vs) > 0 {
		return nil, 0, rpcerr.Invalid(Name, vs)
	}
	title, fileName, policy := f.title, f.fileName, f.policy

	m, err := s.meeting(ctx, meetingID)
	if errors.Is(err, errMeetingHidden) {
		return nil, 0, status.Errorf(codes.NotFound, "%s: meeting %s not found", Name, meetingID)
	}
	if err != nil {
		return nil, 0, err
	}
	if !runs(m) {
		return nil, 0, status.Errorf(codes.PermissionDenied, "%s: only the meeting's chair, its minute-taker or an administrator of its organisation may add papers", Name)
	}
	if agendaID != "" && !hasAgendaItem(m.GetAgenda(), agendaID) {
		return nil, 0, rpcerr.Invalid(Name, []rpcerr.Violation{{Field: "new_document.agenda_item_id", Reason: ReasonNotInMeeting,
			Description: "is not an item of the meeting's agenda"}})
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, 0, status.Errorf(codes.Internal, "%s: new document id: %v", Name, err)
	}
	return &upload{
		documentID: id.String(),
		newDocument: &documentsv1.Document{
			OrganizationId: m.GetOrganizationId(),
			MeetingId:      meetingID,
			AgendaItemId:   agendaID,
			Title:          title,
			Kind:           req.GetKind(),
			Classification: req.GetClassification(),
			DownloadPolicy: policy,
		},
		version:  &documentsv1.DocumentVersion{FileName: fileName},
		actor:    c.Subject,
		audience: audience(m),
		limit:    s.uploadLimit(req.GetKind()),
		key:      f.key,
	}, req.GetDeclaredSize(), nil
}

// planNewVersion checks that the caller may see the document and runs its
// meeting.
func (s *Service) planNewVersion(ctx context.Context, c identity.Claims, req *documentsv1.NewVersion) (*upload, int64, error) {
	id, vs := parseID("new_version.document_id", req.GetDocumentId())
	if req.GetExpectedVersion() < 0 {
		vs = append(vs, rpcerr.Violation{Field: "new_version.expected_version", Reason: rpcerr.ReasonInvalidFormat, Description: "must not be negative"})
	}
	fileName := cleanFileName(req.GetFileName())
	if fileName == "" {
		vs = append(vs, rpcerr.Violation{Field: "new_version.file_name", Reason: rpcerr.ReasonRequired, Description: "must name the file"})
	}
	vs = append(vs, checkDeclared("new_version.declared_size", req.GetDeclaredSize(), math.MaxInt64)...)
	if len(vs) > 0 {
		return nil, 0, rpcerr.Invalid(Name, vs)
	}
	d, err := s.readable(ctx, c, id)
	if err != nil {
		return nil, 0, err
	}
	// A new version is of the document's kind, so within its limit.
	if vs := checkDeclared("new_version.declared_size", req.GetDeclaredSize(), s.uploadLimit(d.GetKind())); len(vs) > 0 {
		return nil, 0, rpcerr.Invalid(Name, vs)
	}
	aud, err := s.manage(ctx, c, d, "replace")
	if err != nil {
		return nil, 0, err
	}
	if e := req.GetExpectedVersion(); e != 0 && e != d.GetVersion() {
		return nil, 0, stale(d.GetVersion())
	}
	return &upload{
		documentID:      id,
		version:         &documentsv1.DocumentVersion{FileName: fileName},
		expectedVersion: req.GetExpectedVersion(),
		actor:           c.Subject,
		audience:        aud,
		limit:           s.uploadLimit(d.GetKind()),
	}, req.GetDeclaredSize(), nil
}

func stale(current int32) error {
	return status.Errorf(codes.Aborted, "%s: the document is at version %d now; reload it and upload again", Name, current)
}

// spool is an upload on disk.
type spool struct {
	f    *os.File
	size int64
	sha  string
	head []byte // the first sniffLen bytes
}

// remove deletes the spool file; safe on nil.
func (sp *spool) remove() {
	if sp == nil || sp.f == nil {
		return
	}
	_ = sp.f.Close()
	_ = os.Remove(sp.f.Name())
}

// receive writes the stream's chunks to a spool file until the client
// closes its side. It stops at the first sign the file will be refused:
// past the size limit, past the announced size, or first bytes of a type we
// do not take.
func (s *Service) receive(ctx context.Context, stream documentsv1.DocumentsService_UploadDocumentServer, declared, limit int64) (*spool, error) {
	f, err := os.CreateTemp(s.cfg.UploadSpoolDir, spoolPattern)
	if err != nil {
		s.log.ErrorContext(ctx, "cannot create an upload spool file", "dir", s.cfg.UploadSpoolDir, "err", err)
		return nil, status.Errorf(codes.Internal, "%s: cannot accept uploads right now", Name)
	}
	sp := &spool{f: f, head: make([]byte, 0, sniffLen)}
	h := sha256.New()
	sniffed := false
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sp, recvError(err)
		}
		part, ok := msg.GetPart().(*documentsv1.UploadDocumentRequest_Chunk)
		if !ok {
			return sp, rpcerr.Invalid(Name, []rpcerr.Violation{{Field: "chunk", Reason: rpcerr.ReasonInvalidFormat,
				Description: "only the first message may be new_document or new_version"}})
		}
		chunk := part.Chunk
		sp.size += int64(len(chunk))
		if sp.size > limit {
			return sp, tooLarge("chunk", limit)
		}
		if declared > 0 && sp.size > declared {
			return sp, rpcerr.Invalid(Name, []rpcerr.Violation{{Field: "chunk", Reason: ReasonIncompleteFile,
				Description: fmt.Sprintf("more bytes than the %d announced", declared)}})
		}
		if _, err := f.Write(chunk); err != nil {
			s.log.ErrorContext(ctx, "cannot write an upload spool file", "file", f.Name(), "err", err)
			return sp, status.Errorf(codes.Internal, "%s: cannot accept uploads right now", Name)
		}
		h.Write(chunk)
		if n := min(len(chunk), sniffLen-len(sp.head)); n > 0 {
			sp.head = append(sp.head, chunk[:n]...)
		}
		if !sniffed && len(sp.head) == sniffLen {
			sniffed = true
			if _, _, err := sniff(sp.head); err != nil {
				return sp, unsupported(err)
			}
		}
	}
	if sp.size == 0 {
		return sp, rpcerr.Invalid(Name, []rpcerr.Violation{{Field: "chunk", Reason: ReasonEmptyFile, Description: "the file is empty"}})
	}
	if declared > 0 && sp.size != declared {
		return sp, rpcerr.Invalid(Name, []rpcerr.Violation{{Field: "chunk", Reason: ReasonIncompleteFile,
			Description: fmt.Sprintf("the upload ended after %d of the %d bytes announced", sp.size, declared)}})
	}
	sp.sha = hex.EncodeToString(h.Sum(nil))
	return sp, nil
}

// identify decides the file's type from its bytes (refusing anything we do
// not take), inspects PDFs, and fills v's file fields. The file name keeps
// its extension when it matches the type and gets the type's own
// otherwise, so a download opens in the right application.
func (s *Service) identify(ctx context.Context, sp *spool, v *documentsv1.DocumentVersion) error {
	t, isZip, err := sniff(sp.head)
	if isZip {
		t, err = inspectOOXML(sp.f, sp.size)
	}
	if err != nil {
		return unsupported(err)
	}
	v.ContentType, v.Preview, v.SizeBytes, v.Sha256 = t.contentType, t.preview, sp.size, sp.sha
	v.FileName = withExtension(v.FileName, t.exts)
	if t.contentType != typePDF.contentType || sp.size > s.cfg.PDFInspectMaxBytes {
		return nil
	}
	select {
	case s.pdfSlot <- struct{}{}:
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
	info := inspectPDF(ctx, s.log, io.NewSectionReader(sp.f, 0, sp.size))
	<-s.pdfSlot
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	v.PageCount, v.Preview = info.pages, info.preview
	return nil
}

// store writes the spooled file to object storage and records it. The
// pending row goes first, so an object never exists unnamed; a failure
// after it removes the object again (or leaves the row for the sweeper).
func (s *Service) store(ctx context.Context, u *upload, sp *spool) (*documentsv1.Document, error) {
	u.objectKey = s.objectKey(u.documentID, uuid.NewString())
	if err := s.addPending(ctx, u.objectKey, u.documentID); err != nil {
		return nil, rpcerr.FromStore(ctx, s.log, Name, "UploadDocument", err)
	}
	if err := s.putObject(ctx, u.objectKey, io.NewSectionReader(sp.f, 0, sp.size), sp.size, u.version.GetContentType(), sp.sha); err != nil {
		s.discard(ctx, u.objectKey)
		return nil, s.storageError(ctx, "put object", err)
	}
	doc, err := s.commit(ctx, u)
	if err != nil {
		s.discard(ctx, u.objectKey)
		var st errStaleVersion
		switch {
		case errors.Is(err, errNotFound):
			return nil, notFound(u.documentID)
		case errors.As(err, &st):
			return nil, stale(st.current)
		case errors.Is(err, errSwept):
			return nil, status.Errorf(codes.Aborted, "%s: %v", Name, err)
		case keyTaken(err):
			// Another attempt of this upload committed first: its
			// document is the answer.
			if doc, err := s.uploadedBefore(ctx, u); err != nil || doc != nil {
				return doc, err
			}
			return nil, status.Errorf(codes.Aborted, "%s: another attempt of this upload came and went; try again", Name)
		}
		return nil, rpcerr.FromStore(ctx, s.log, Name, "UploadDocument", err)
	}
	return doc, nil
}
