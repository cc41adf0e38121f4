package files

import (
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/ecabinet/ecabinet/gateway/problem"
	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// qr serves a QR code (PNG with ?size=<px>, or SVG) of the app's address
// of a document or of a meeting's papers, as the client reaches the app.
func (h *Handler) qr(format documentsv1.QRCodeFormat, idParam string) func(http.ResponseWriter, *http.Request, identity.Claims) {
	return func(w http.ResponseWriter, r *http.Request, _ identity.Claims) {
		req := &documentsv1.GetQRCodeRequest{Format: format, BaseUrl: baseURL(r)}
		if idParam == "document_id" {
			req.DocumentId = r.PathValue(idParam)
		} else {
			req.MeetingId = r.PathValue(idParam)
		}
		if s := r.URL.Query().Get("size"); s != "" {
			px, err := strconv.ParseInt(s, 10, 32)
			if err != nil {
				d := newProblem(r, http.StatusBadRequest, codes.InvalidArgument.String(), "size must be a number of pixels")
				d.Errors = []problem.FieldError{{Field: "size_px", Code: "INVALID_FORMAT", Reason: "must be a number of pixels"}}
				problem.Write(w, d)
				return
			}
			req.SizePx = int32(px)
		}
		resp, err := h.d.Documents.GetQRCode(r.Context(), req)
		if err != nil {
			problem.WriteError(w, r, err)
			return
		}
		hdr := w.Header()
		hdr.Set("Content-Type", resp.GetContentType())
		hdr.Set("Content-Length", strconv.Itoa(len(resp.GetData())))
		hdr.Set("Cache-Control", "private, max-age=300")
		hdr.Set("X-Content-Type-Options", "nosniff")
		// An SVG opened on its own is a document of our origin; ours has
		// no script, and this makes sure none would run.
		hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(resp.GetData())
		}
	}
}

// baseURL is scheme://host of the app as the client reached it, honouring
// the usual reverse-proxy headers. The code goes back to the same client,
// so a forged header only misleads its sender.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := strings.ToLower(strings.TrimSpace(firstValue(r.Header.Get("X-Forwarded-Proto")))); p == "http" || p == "https" {
		scheme = p
	}
	host := r.Host
	if fh := strings.TrimSpace(firstValue(r.Header.Get("X-Forwarded-Host"))); fh != "" {
		host = fh
	}
	return scheme + "://" + host
}

func firstValue(h string) string {
	v, _, _ := strings.Cut(h, ",")
	return v
}
