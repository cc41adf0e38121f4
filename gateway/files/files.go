// Package files is the gateway's streaming side of the documents service:
// uploads (the request body goes to DocumentsService.UploadDocument as a
// gRPC stream, never whole in memory), downloads (HTTP Range, ETag,
// Content-Disposition; the bytes come from the short-lived object URL the
// service hands out after checking and recording access), QR codes and
// the study report as a workbook.
// Business rules stay in the service; this package speaks HTTP. See
// docs/adr/0002-documents-storage.md.
package files

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ecabinet/ecabinet/gateway/problem"
	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// Deps is what the handlers need from the gateway.
type Deps struct {
	Log *slog.Logger
	// Documents is a client on the gateway's connection to the documents
	// service, whose interceptors sign the claims in the call's context.
	Documents documentsv1.DocumentsServiceClient
	// Authenticate finds who is calling (the gateway's session cookie or
	// bearer token check). An error carrying a gRPC status other than
	// Unauthenticated means the check could not be made (answered as that
	// status, e.g. 503); any other error is 401.
	Authenticate func(*http.Request) (identity.Claims, error)
	// ObjectClient fetches object URLs; nil: one tuned for many concurrent
	// downloads from the one object store.
	ObjectClient *http.Client
	// FileCacheDir is where the file cache makes its directory ("" for
	// the system's temporary directory); FileCacheBytes bounds it (0: no
	// file cache, every read streams from object storage).
	FileCacheDir   string
	FileCacheBytes int64
}

// Handler serves the routes listed in Register.
type Handler struct {
	d       Deps
	log     *slog.Logger
	objects *http.Client
	heads   *headCache
	files   *fileCache // nil: none
}

// New returns the handlers; it does no I/O.
func New(d Deps) *Handler {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	objects := d.ObjectClient
	if objects == nil {
		objects = &http.Client{Transport: &http.Transport{
			DialContext: (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			// A meeting's tablets open the same papers at once: keep
			// enough idle connections to the store for all of them.
			MaxIdleConns:          512,
			MaxIdleConnsPerHost:   512,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			// Papers are PDFs and media: compressing them again costs CPU
			// for nothing, and would hide Content-Length.
			DisableCompression: true,
		}}
	}
	h := &Handler{d: d, log: log, objects: objects, heads: newHeadCache(headCacheBytes)}
	if d.FileCacheBytes > 0 {
		h.files = newFileCache(d.FileCacheDir, d.FileCacheBytes)
	}
	return h
}

// Close removes the file cache's files; call it once the HTTP server has
// stopped serving.
func (h *Handler) Close() error {
	if h.files == nil {
		return nil
	}
	return h.files.close()
}

// Route patterns (net/http.ServeMux), each also the metrics handler name
// given to wrap in Register.
const (
	RouteUpload        = "POST /api/v1/documents:upload"
	RouteUploadVersion = "POST /api/v1/documents/{document_id}/versions:upload"
	RouteContent       = "GET /api/v1/documents/{document_id}/content"
	RouteDocumentQRPNG = "GET /api/v1/documents/{document_id}/qr.png"
	RouteDocumentQRSVG = "GET /api/v1/documents/{document_id}/qr.svg"
	RouteMeetingQRPNG  = "GET /api/v1/meetings/{meeting_id}/documents/qr.png"
	RouteMeetingQRSVG  = "GET /api/v1/meetings/{meeting_id}/documents/qr.svg"
	RouteStudyReport   = "GET /api/v1/documents/{document_id}/study-report.xlsx"
	RouteMeetingBook   = "GET /api/v1/meetings/{meeting_id}/book.pdf"
	metricsUpload      = "files_upload"
	metricsContent     = "files_content"
	metricsQR          = "files_qr"
	metricsReport      = "files_report"
)

// Register adds the routes to mux, each wrapped by wrap (e.g. the
// gateway's metrics) under a handler name; wrap may be nil. GET patterns
// also serve HEAD.
func (h *Handler) Register(mux *http.ServeMux, wrap func(name string, next http.Handler) http.Handler) {
	if wrap == nil {
		wrap = func(_ string, next http.Handler) http.Handler { return next }
	}
	for _, r := range []struct {
		pattern, name string
		fn            func(http.ResponseWriter, *http.Request, identity.Claims)
	}{
		{RouteUpload, metricsUpload, h.uploadDocument},
		{RouteUploadVersion, metricsUpload, h.uploadVersion},
		{RouteContent, metricsContent, h.content},
		{RouteDocumentQRPNG, metricsQR, h.qr(documentsv1.QRCodeFormat_QR_CODE_FORMAT_PNG, "document_id")},
		{RouteDocumentQRSVG, metricsQR, h.qr(documentsv1.QRCodeFormat_QR_CODE_FORMAT_SVG, "document_id")},
		{RouteMeetingQRPNG, metricsQR, h.qr(documentsv1.QRCodeFormat_QR_CODE_FORMAT_PNG, "meeting_id")},
		{RouteMeetingQRSVG, metricsQR, h.qr(documentsv1.QRCodeFormat_QR_CODE_FORMAT_SVG, "meeting_id")},
		{RouteStudyReport, metricsReport, h.studyReport},
		{RouteMeetingBook, metricsContent, h.book},
	} {
		mux.Handle(r.pattern, wrap(r.name, h.authenticated(r.fn)))
	}
}

// authenticated runs fn with the caller's claims, or answers 401 (or the
// status of a failed check, e.g. 503 when sessions cannot be resolved).
func (h *Handler) authenticated(fn func(http.ResponseWriter, *http.Request, identity.Claims)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.d.Authenticate == nil {
			problem.Write(w, problem.New(r, http.StatusInternalServerError, "Internal"))
			return
		}
		c, err := h.d.Authenticate(r)
		if err != nil {
			if st, ok := status.FromError(err); ok && st.Code() != codes.Unauthenticated && st.Code() != codes.OK {
				problem.WriteError(w, r, st.Err())
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="ecabinet"`)
			d := problem.New(r, http.StatusUnauthorized, "Unauthenticated")
			d.Detail = "not signed in, or the session or token is invalid or has expired"
			problem.Write(w, d)
			return
		}
		fn(w, r.WithContext(identity.NewContext(r.Context(), c)), c)
	})
}

// Titles for the statuses the shared problem package has none for.
var titles = map[string]map[int]string{
	"vi": {
		http.StatusRequestEntityTooLarge:        "Tệp quá lớn",
		http.StatusUnsupportedMediaType:         "Loại tệp không được chấp nhận",
		http.StatusRequestedRangeNotSatisfiable: "Phạm vi yêu cầu không hợp lệ",
	},
	"en": {
		http.StatusRequestEntityTooLarge:        "File too large",
		http.StatusUnsupportedMediaType:         "File type not accepted",
		http.StatusRequestedRangeNotSatisfiable: "Range not satisfiable",
	},
}

// newProblem is problem.New with our titles.
func newProblem(r *http.Request, httpStatus int, code, detail string) problem.Details {
	d := problem.New(r, httpStatus, code)
	if t, ok := titles[problem.Language(r)][httpStatus]; ok {
		d.Title = t
	}
	d.Detail = detail
	return d
}
