package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/ecabinet/ecabinet/gateway/problem"
	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// chunkSize is how much of the request body goes into one gRPC message:
// large enough that framing costs little, small enough that a few
// concurrent uploads hold little memory (the gateway holds one chunk per
// upload in flight; gRPC flow control holds the rest back in the client).
const chunkSize = 256 << 10

// uploadReadyHeader is the response header with which UploadDocument
// asks for the file's bytes (documents.UploadReadyHeader).
const uploadReadyHeader = "x-ecabinet-upload-ready"

// Reasons the documents service gives for a refused file (its
// UploadDocument contract) and the statuses they are answered with.
var reasonStatus = map[string]int{
	"FILE_TOO_LARGE":         http.StatusRequestEntityTooLarge,
	"UNSUPPORTED_MEDIA_TYPE": http.StatusUnsupportedMediaType,
}

// formContentTypes are the media types an HTML form on another site can
// send, with the user's cookies, without a CORS preflight. An upload must
// come with any other type (the file's own, or application/octet-stream),
// which a browser sends cross-site only after a preflight we never grant:
// that, with the Origin check, is the CSRF defence of uploads.
var formContentTypes = map[string]bool{
	"application/x-www-form-urlencoded": true,
	"multipart/form-data":               true,
	"text/plain":                        true,
}

var crossOrigin = http.NewCrossOriginProtection()

// checkUploadRequest refuses requests that could come from another site.
func checkUploadRequest(w http.ResponseWriter, r *http.Request) bool {
	if err := crossOrigin.Check(r); err != nil {
		problem.Write(w, newProblem(r, http.StatusForbidden, "CrossSiteRequest",
			fmt.Sprintf("cross-origin upload refused (Origin %q does not match host %q)", r.Header.Get("Origin"), r.Host)))
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || formContentTypes[mt] {
		problem.Write(w, newProblem(r, http.StatusUnsupportedMediaType, "UploadContentType",
			"send the file itself as the request body with its media type (e.g. application/pdf) or application/octet-stream; forms are not accepted"))
		return false
	}
	return true
}

// uploadDocument serves POST /api/v1/documents:upload?meeting_id=…
// &agenda_item_id=…&title=…&kind=…&classification=…&file_name=…
// [&download_policy=allowed|view_only|watermarked] with the file as the body;
// a library document has organization_id=…&library_period=YYYY-MM instead
// of meeting_id. An Idempotency-Key header makes a retry safe: sent again
// with the same key (the answer lost with the Wi-Fi), the upload answers
// 200 with the document the first attempt made, without the bytes.
func (h *Handler) uploadDocument(w http.ResponseWriter, r *http.Request, _ identity.Claims) {
	if !checkUploadRequest(w, r) {
		return
	}
	q := r.URL.Query()
	first := &documentsv1.UploadDocumentRequest{Part: &documentsv1.UploadDocumentRequest_NewDocument{NewDocument: &documentsv1.NewDocument{
		MeetingId:      q.Get("meeting_id"),
		AgendaItemId:   q.Get("agenda_item_id"),
		Title:          q.Get("title"),
		Kind:           documentsv1.DocumentKind(enumValue(documentsv1.DocumentKind_value, "DOCUMENT_KIND_", q.Get("kind"))),
		Classification: documentsv1.Classification(enumValue(documentsv1.Classification_value, "CLASSIFICATION_", q.Get("classification"))),
		FileName:       q.Get("file_name"),
		DeclaredSize:   max(r.ContentLength, 0),
		DownloadPolicy: documentsv1.DownloadPolicy(enumValue(documentsv1.DownloadPolicy_value, "DOWNLOAD_POLICY_", q.Get("download_policy"))),
		OrganizationId: q.Get("organization_id"),
		LibraryPeriod:  q.Get("library_period"),
		IdempotencyKey: r.Header.Get("Idempotency-Key"),
	}}}
	h.upload(w, r, first)
}

// uploadVersion serves POST /api/v1/documents/{document_id}/versions:upload
// ?file_name=…&expected_version=… with the file as the body.
func (h *Handler) uploadVersion(w http.ResponseWriter, r *http.Request, _ identity.Claims) {
	if !checkUploadRequest(w, r) {
		return
	}
	q := r.URL.Query()
	expected := int64(0)
	if s := q.Get("expected_version"); s != "" {
		var err error
		if expected, err = strconv.ParseInt(s, 10, 32); err != nil || expected < 0 {
			d := newProblem(r, http.StatusBadRequest, codes.InvalidArgument.String(), "expected_version must be a version number")
			d.Errors = []problem.FieldError{{Field: "expected_version", Code: "INVALID_FORMAT", Reason: "must be a version number"}}
			problem.Write(w, d)
			return
		}
	}
	first := &documentsv1.UploadDocumentRequest{Part: &documentsv1.UploadDocumentRequest_NewVersion{NewVersion: &documentsv1.NewVersion{
		DocumentId:      r.PathValue("document_id"),
		ExpectedVersion: int32(expected),
		FileName:        q.Get("file_name"),
		DeclaredSize:    max(r.ContentLength, 0),
	}}}
	h.upload(w, r, first)
}

// enumValue maps "agenda_paper", "AGENDA_PAPER" or "DOCUMENT_KIND_AGENDA_PAPER"
// to its number, "" to 0 (unset), and anything else to -1, which the service
// reports as an unknown value of the field, like every other invalid field.
func enumValue(values map[string]int32, prefix, s string) int32 {
	if s == "" {
		return 0
	}
	s = strings.ToUpper(s)
	if v, ok := values[s]; ok {
		return v
	}
	if v, ok := values[prefix+s]; ok {
		return v
	}
	return -1
}

// upload streams the request body to the documents service and answers
// with the stored document. The body is read only once the service has
// accepted the first message (UploadReady header), so a refusal (too large
// by Content-Length, no right to the meeting, storage down) comes before
// the client sends the file.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request, first *documentsv1.UploadDocumentRequest) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stream, err := h.d.Documents.UploadDocument(ctx)
	if err != nil {
		h.writeUploadError(w, r, err)
		return
	}
	if err := stream.Send(first); err != nil && !errors.Is(err, io.EOF) {
		h.writeUploadError(w, r, err)
		return
	}
	// Response headers without the ready mark come with a refusal (every
	// call's headers carry the request id), the status saying why, or with
	// the document an earlier upload with the same idempotency key made.
	if md, err := stream.Header(); err != nil || len(md.Get(uploadReadyHeader)) == 0 {
		h.finish(w, r, stream, http.StatusOK)
		return
	}

	for {
		// A fresh buffer each time: gRPC does not promise to be done with
		// a message when Send returns (stats handlers may read it later).
		buf := make([]byte, chunkSize)
		n, rerr := fill(r.Body, buf)
		if n > 0 {
			if err := stream.Send(&documentsv1.UploadDocumentRequest{Part: &documentsv1.UploadDocumentRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				break // the service ended the stream; CloseAndRecv says why
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			// The client's connection broke: cancel, so the service
			// throws away what it has (an orderly end of the stream
			// would commit a truncated file).
			cancel()
			h.log.InfoContext(r.Context(), "upload interrupted by the client", "err", rerr)
			problem.Write(w, newProblem(r, http.StatusBadRequest, "UploadInterrupted", "the upload was interrupted; send the file again"))
			return
		}
	}
	h.finish(w, r, stream, http.StatusCreated)
}

// finish ends an upload's stream and answers with its document (status
// code) and Location, or with why it failed.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, stream documentsv1.DocumentsService_UploadDocumentClient, code int) {
	resp, err := stream.CloseAndRecv()
	if err != nil {
		h.writeUploadError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/documents/"+resp.GetDocument().GetId())
	writeJSON(w, code, resp)
}

// fill reads into buf until it is full or r fails, and returns r's error
// as is: io.EOF is the body's orderly end, anything else (net/http says
// io.ErrUnexpectedEOF when a body ends before its Content-Length or its
// last chunk) a broken upload. io.ReadFull would blur the two.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// writeUploadError answers a refused upload: a file that is too large is
// 413, one of a type we do not take 415, the rest as any RPC error.
func (h *Handler) writeUploadError(w http.ResponseWriter, r *http.Request, err error) {
	if st, ok := status.FromError(err); ok && st.Code() == codes.Canceled && r.Context().Err() != nil {
		return // the client is gone; nobody reads an answer
	}
	d := problem.FromError(r, err)
	for _, fe := range d.Errors {
		if s, ok := reasonStatus[fe.Code]; ok {
			d.Status = s
			if t, ok := titles[problem.Language(r)][s]; ok {
				d.Title = t
			}
			break
		}
	}
	problem.Write(w, d)
}

// marshal is grpc-gateway's default JSON form (lowerCamelCase names, zero
// values included), so uploads answer like the REST API.
var marshal = protojson.MarshalOptions{EmitUnpopulated: true}

func writeJSON(w http.ResponseWriter, code int, m proto.Message) {
	b, err := marshal.Marshal(m)
	if err != nil {
		http.Error(w, "encoding the answer failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
