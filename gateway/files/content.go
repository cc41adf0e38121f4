package files

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/ecabinet/ecabinet/gateway/disposition"
	"github.com/ecabinet/ecabinet/gateway/problem"
	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// copyBufferSize is the buffer that moves bytes to a client, from object
// storage or from the file cache.
const copyBufferSize = 128 << 10

// copyBody copies src to the response through a buffer of its own.
func copyBody(w http.ResponseWriter, src io.Reader) error {
	_, err := io.CopyBuffer(onlyWriter{w}, src, make([]byte, copyBufferSize))
	return err
}

// content serves GET (and HEAD) /api/v1/documents/{document_id}/content
// [?version=n][&download=1]: the bytes of the current (or given) version,
// inline for the app's viewer or as an attachment. It supports Range (one
// range; several are answered with the whole file, which RFC 9110 allows),
// If-Range, and If-None-Match against the ETag, which is the version's
// SHA-256. Every request is checked and recorded by the documents service
// before a byte moves.
func (h *Handler) content(w http.ResponseWriter, r *http.Request, _ identity.Claims) {
	q := r.URL.Query()
	var version int64
	if s := q.Get("version"); s != "" {
		var err error
		if version, err = strconv.ParseInt(s, 10, 32); err != nil || version < 0 {
			d := newProblem(r, http.StatusBadRequest, codes.InvalidArgument.String(), "version must be a version number")
			d.Errors = []problem.FieldError{{Field: "version", Code: "INVALID_FORMAT", Reason: "must be a version number"}}
			problem.Write(w, d)
			return
		}
	}
	download, access := accessOf(r)
	open, err := h.d.Documents.OpenDocumentContent(r.Context(), &documentsv1.OpenDocumentContentRequest{
		DocumentId: r.PathValue("document_id"),
		Version:    int32(version),
		Access:     access,
	})
	if err != nil {
		problem.WriteError(w, r, err)
		return
	}
	// A paper's bytes may come from the caches (headcache.go,
	// filecache.go): the service has just checked and recorded this read.
	// Downloads may be per-reader stamped copies, read once; they always
	// come from object storage.
	h.serve(w, r, open.GetVersion(), open.GetUrl(), download, !download)
}

// book serves GET (and HEAD) /api/v1/meetings/{meeting_id}/book.pdf
// [?download=1]: the meeting book, as content serves a paper.
func (h *Handler) book(w http.ResponseWriter, r *http.Request, _ identity.Claims) {
	download, access := accessOf(r)
	open, err := h.d.Documents.OpenMeetingBook(r.Context(), &documentsv1.OpenMeetingBookRequest{
		MeetingId: r.PathValue("meeting_id"),
		Access:    access,
	})
	if err != nil {
		problem.WriteError(w, r, err)
		return
	}
	h.serve(w, r, open.GetBook(), open.GetUrl(), download, !download)
}

// accessOf tells a download (?download=1) from a view, and the first
// read of a view from a viewer's later ranges.
func accessOf(r *http.Request) (download bool, access documentsv1.AccessKind) {
	q := r.URL.Query()
	download = q.Get("download") == "1" || q.Get("download") == "true"
	switch {
	case download:
		return true, documentsv1.AccessKind_ACCESS_KIND_DOWNLOAD
	case continuation(r.Header.Get("Range")):
		return false, documentsv1.AccessKind_ACCESS_KIND_RANGE
	}
	return false, documentsv1.AccessKind_ACCESS_KIND_VIEW
}

// serve answers with the bytes of v from object storage at url, honouring
// Range, If-Range and If-None-Match. With cached (the object at url holds
// the version's own bytes, the same for every reader), a request within
// the version's first bytes is answered from the head cache, and others
// from the file cache.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, v *documentsv1.DocumentVersion, url string, download, cached bool) {
	size := v.GetSizeBytes()
	etag := `"` + v.GetSha256() + `"`

	hdr := w.Header()
	hdr.Set("ETag", etag)
	// Revalidate every time: access may have ended, and "the current
	// version" may have changed. A revalidation is a cheap 304.
	hdr.Set("Cache-Control", "private, no-cache")
	hdr.Set("Accept-Ranges", "bytes")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if download {
		hdr.Set("Content-Disposition", disposition.Attachment(v.GetFileName()))
	} else {
		hdr.Set("Content-Disposition", disposition.Inline(v.GetFileName()))
	}
	if t := v.GetCreateTime(); t != nil {
		hdr.Set("Last-Modified", t.AsTime().UTC().Format(http.TimeFormat))
	}

	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}

	status := http.StatusOK
	part := byteRange{0, size - 1}
	if rh := r.Header.Get("Range"); rh != "" && ifRangeHolds(r.Header.Get("If-Range"), etag) {
		specs, ok, err := parseRange(rh)
		if ok {
			ranges := resolve(specs, size)
			switch {
			case err != nil || len(ranges) == 0:
				hdr.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
				detail := fmt.Sprintf("the range %q is beyond the file's %d bytes", rh, size)
				if err != nil {
					detail = fmt.Sprintf("the Range header %q is malformed", rh)
				}
				hdr.Del("Content-Disposition")
				problem.Write(w, newProblem(r, http.StatusRequestedRangeNotSatisfiable, "RangeNotSatisfiable", detail))
				return
			case len(ranges) == 1:
				status, part = http.StatusPartialContent, ranges[0]
				hdr.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", part.first, part.last, size))
			}
		}
	}
	hdr.Set("Content-Type", v.GetContentType())
	hdr.Set("Content-Length", strconv.FormatInt(part.length(), 10))
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}

	cached = cached && v.GetSha256() != ""
	if cached && part.first == 0 && part.last < headLength(size) {
		head, err := h.heads.get(r.Context(), v.GetSha256(), size, func(ctx context.Context) (io.ReadCloser, error) {
			return h.fetch(ctx, url, byteRange{0, headLength(size) - 1}, size)
		})
		if err == nil {
			w.WriteHeader(status)
			_, _ = w.Write(head[:part.length()])
			return
		}
		if r.Context().Err() != nil {
			return // the client left
		}
		h.log.InfoContext(r.Context(), "could not fill the head cache; streaming instead", "document_id", v.GetDocumentId(), "err", err)
	}
	if cached && h.files.cacheable(size) && h.serveFromFileCache(w, r, v, url, status, part) {
		return
	}

	body, err := h.fetch(r.Context(), url, part, size)
	if err != nil {
		h.log.WarnContext(r.Context(), "object storage did not serve a document", "document_id", v.GetDocumentId(), "version", v.GetVersion(), "err", err)
		for _, k := range []string{"Content-Type", "Content-Length", "Content-Range", "Content-Disposition", "ETag", "Last-Modified", "Accept-Ranges"} {
			hdr.Del(k)
		}
		problem.Write(w, newProblem(r, http.StatusServiceUnavailable, codes.Unavailable.String(), "the file store is unavailable; try again"))
		return
	}
	defer body.Close()
	w.WriteHeader(status)
	if err := copyBody(w, body); err != nil {
		// Headers are out: all we can do is cut the response short, which
		// the client sees against Content-Length.
		h.log.InfoContext(r.Context(), "document transfer cut short", "document_id", v.GetDocumentId(), "err", err)
	}
}

// serveFromFileCache answers with part of v from the file cache, filling
// it from url on a miss. It reports false, having written nothing, when
// the cache cannot serve (the caller streams from object storage then).
func (h *Handler) serveFromFileCache(w http.ResponseWriter, r *http.Request, v *documentsv1.DocumentVersion, url string, status int, part byteRange) bool {
	size := v.GetSizeBytes()
	f, err := h.files.open(r.Context(), v.GetSha256(), size, func(ctx context.Context) (io.ReadCloser, error) {
		return h.fetch(ctx, url, byteRange{0, size - 1}, size)
	})
	if err != nil {
		if r.Context().Err() == nil {
			h.log.InfoContext(r.Context(), "could not fill the file cache; streaming instead", "document_id", v.GetDocumentId(), "err", err)
		}
		return r.Context().Err() != nil // a client that left needs no answer
	}
	defer f.Close()
	if _, err := f.Seek(part.first, io.SeekStart); err != nil {
		return false
	}
	w.WriteHeader(status)
	// Read and written through a buffer, not sent with sendfile: sendfile
	// costs a quarter of the CPU, but 100 tablets got the paper faster
	// this way (ADR 0002, "Performance: whole papers").
	if err := copyBody(w, io.LimitReader(f, part.length())); err != nil {
		h.log.InfoContext(r.Context(), "document transfer cut short", "document_id", v.GetDocumentId(), "err", err)
	}
	return true
}

// onlyWriter hides the ResponseWriter's ReadFrom (which would pick a small
// buffer of its own, or sendfile for a file), so io.CopyBuffer uses ours.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

// fetch GETs part of the object at url, checking that object storage
// answers with exactly those bytes.
func (h *Handler) fetch(ctx context.Context, url string, part byteRange, size int64) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("object URL: %w", err)
	}
	whole := part.first == 0 && part.last == size-1
	if !whole {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", part.first, part.last))
	}
	resp, err := h.objects.Do(req)
	if err != nil {
		return nil, err
	}
	want := http.StatusOK
	if !whole {
		want = http.StatusPartialContent
	}
	if resp.StatusCode != want || resp.ContentLength != part.length() {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("object storage answered %d with %d bytes (want %d with %d): %s", resp.StatusCode, resp.ContentLength, want, part.length(), msg)
	}
	return resp.Body, nil
}

// etagMatches evaluates If-None-Match (RFC 9110 §13.1.2: weak comparison).
func etagMatches(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// ifRangeHolds evaluates If-Range: the Range applies only if the client's
// copy is this very representation (strong comparison); a date or another
// tag means "send it all". Without the header the Range applies.
func ifRangeHolds(header, etag string) bool {
	return header == "" || strings.TrimSpace(header) == etag
}
