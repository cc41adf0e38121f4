package files_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"google.golang.org/grpc"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/documents"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

func person(id string, orgs ...string) identity.Claims {
	return identity.Claims{Subject: id, Name: "Đồng chí " + id, Orgs: orgs}
}

var (
	secretary = person("thu-ky", "org-a")
	attendee  = person("dang-vien-1", "org-a")
	bystander = person("dang-vien-2", "org-a")
	otherCell = person("dang-vien-b", "org-b")
)

func (s *stack) cellMeeting() string {
	return s.meetings.add("org-a", map[string]meetingsv1.ParticipantRole{
		secretary.Subject: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER,
		attendee.Subject:  meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MEMBER,
	})
}

type uploaded struct {
	Document struct {
		ID          string `json:"id"`
		FileName    string `json:"fileName"`
		ContentType string `json:"contentType"`
		SizeBytes   string `json:"sizeBytes"`
		Sha256      string `json:"sha256"`
		Version     int    `json:"version"`
		PageCount   int    `json:"pageCount"`
		Preview     string `json:"preview"`
		// DownloadPolicy is omitted when unspecified (proto3 JSON).
		DownloadPolicy string `json:"downloadPolicy"`
	} `json:"document"`
}

type problemBody struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Errors []struct {
		Field string `json:"field"`
		Code  string `json:"code"`
	} `json:"errors"`
}

func (s *stack) upload(t *testing.T, c identity.Claims, path string, data []byte) uploaded {
	t.Helper()
	resp, body := s.request(t, &c, http.MethodPost, path, bytes.NewReader(data), map[string]string{"Content-Type": "application/pdf"})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	var u uploaded
	if err := json.Unmarshal(body, &u); err != nil {
		t.Fatalf("upload answer %s: %v", body, err)
	}
	if loc := resp.Header.Get("Location"); loc != "/api/v1/documents/"+u.Document.ID {
		t.Errorf("Location = %q", loc)
	}
	return u
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Every read answers the same with and without the file cache.
func TestUploadThenDownloadWithRangesAndETags(t *testing.T) {
	t.Run("streamed", func(t *testing.T) { uploadThenDownload(t, newStack(t, stackOptions{})) })
	t.Run("file cache", func(t *testing.T) { uploadThenDownload(t, newStack(t, stackOptions{fileCache: true})) })
}

func uploadThenDownload(t *testing.T, s *stack) {
	meeting := s.cellMeeting()
	pdf := testenv.PDF(2, 300<<10)
	size := len(pdf)
	u := s.upload(t, secretary, uploadPath(meeting, "Báo cáo chính trị", "Báo cáo chính trị.pdf", "internal"), pdf)
	if u.Document.Sha256 != sha(pdf) || u.Document.SizeBytes != strconv.Itoa(size) || u.Document.FileName != "Báo cáo chính trị.pdf" ||
		u.Document.ContentType != "application/pdf" || u.Document.PageCount != 2 || u.Document.Version != 1 {
		t.Fatalf("uploaded: %+v", u.Document)
	}
	content := "/api/v1/documents/" + u.Document.ID + "/content"
	etag := `"` + sha(pdf) + `"`

	resp, body := s.request(t, &attendee, http.MethodGet, content, nil, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, pdf) {
		t.Fatalf("GET content: %d, %d bytes", resp.StatusCode, len(body))
	}
	for k, want := range map[string]string{
		"ETag":                   etag,
		"Content-Type":           "application/pdf",
		"Content-Length":         strconv.Itoa(size),
		"Accept-Ranges":          "bytes",
		"Cache-Control":          "private, no-cache",
		"X-Content-Type-Options": "nosniff",
		"Content-Disposition":    `inline; filename="Bao_cao_chinh_tri.pdf"; filename*=UTF-8''B%C3%A1o%20c%C3%A1o%20ch%C3%ADnh%20tr%E1%BB%8B.pdf`,
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	resp, _ = s.request(t, &attendee, http.MethodGet, content+"?download=1", nil, nil)
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; ") {
		t.Errorf("download Content-Disposition = %q", cd)
	}

	for _, tc := range []struct {
		name        string
		hdr         map[string]string
		status      int
		body        []byte
		contentRang string
	}{
		{"first page", map[string]string{"Range": "bytes=0-65535"}, 206, pdf[:65536], fmt.Sprintf("bytes 0-65535/%d", size)},
		{"open-ended", map[string]string{"Range": "bytes=1000-"}, 206, pdf[1000:], fmt.Sprintf("bytes 1000-%d/%d", size-1, size)},
		{"suffix", map[string]string{"Range": "bytes=-500"}, 206, pdf[size-500:], fmt.Sprintf("bytes %d-%d/%d", size-500, size-1, size)},
		{"end clamped", map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", size-10, size+1000)}, 206, pdf[size-10:], fmt.Sprintf("bytes %d-%d/%d", size-10, size-1, size)},
		{"out of bounds", map[string]string{"Range": fmt.Sprintf("bytes=%d-", size)}, 416, nil, fmt.Sprintf("bytes */%d", size)},
		{"malformed", map[string]string{"Range": "bytes=abc"}, 416, nil, fmt.Sprintf("bytes */%d", size)},
		{"reversed", map[string]string{"Range": "bytes=500-100"}, 416, nil, fmt.Sprintf("bytes */%d", size)},
		{"empty set", map[string]string{"Range": "bytes="}, 416, nil, fmt.Sprintf("bytes */%d", size)},
		{"other unit ignored", map[string]string{"Range": "pages=1-2"}, 200, pdf, ""},
		{"several ranges: all of it", map[string]string{"Range": "bytes=0-1,10-20"}, 200, pdf, ""},
		{"If-Range matches", map[string]string{"Range": "bytes=0-9", "If-Range": etag}, 206, pdf[:10], fmt.Sprintf("bytes 0-9/%d", size)},
		{"If-Range stale", map[string]string{"Range": "bytes=0-9", "If-Range": `"old"`}, 200, pdf, ""},
		{"If-None-Match", map[string]string{"If-None-Match": etag}, 304, nil, ""},
		{"If-None-Match weak", map[string]string{"If-None-Match": `"x", W/` + etag}, 304, nil, ""},
		{"If-None-Match other", map[string]string{"If-None-Match": `"x"`}, 200, pdf, ""},
	} {
		resp, body := s.request(t, &attendee, http.MethodGet, content, nil, tc.hdr)
		if resp.StatusCode != tc.status || (tc.body != nil && !bytes.Equal(body, tc.body)) || resp.Header.Get("Content-Range") != tc.contentRang {
			t.Errorf("%s: %d, %d bytes, Content-Range %q; want %d, %d bytes, %q", tc.name, resp.StatusCode, len(body), resp.Header.Get("Content-Range"), tc.status, len(tc.body), tc.contentRang)
		}
		if tc.status == 416 && resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: 416 as %q, want a problem document", tc.name, resp.Header.Get("Content-Type"))
		}
	}

	resp, body = s.request(t, &attendee, http.MethodHead, content, nil, nil)
	if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Length") != strconv.Itoa(size) {
		t.Errorf("HEAD: %d, %d bytes, Content-Length %q", resp.StatusCode, len(body), resp.Header.Get("Content-Length"))
	}

	// A new version: the old one stays reachable by number.
	v2 := testenv.PDF(1, 0)
	resp, body = s.request(t, &secretary, http.MethodPost, "/api/v1/documents/"+u.Document.ID+"/versions:upload?expected_version=1&file_name="+url.QueryEscape("Báo cáo (sửa).pdf"),
		bytes.NewReader(v2), map[string]string{"Content-Type": "application/octet-stream"})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("new version: %d %s", resp.StatusCode, body)
	}
	resp, body = s.request(t, &attendee, http.MethodGet, content, nil, map[string]string{"If-None-Match": etag})
	if resp.StatusCode != 200 || !bytes.Equal(body, v2) || resp.Header.Get("ETag") != `"`+sha(v2)+`"` {
		t.Errorf("current after replacement: %d, ETag %s", resp.StatusCode, resp.Header.Get("ETag"))
	}
	resp, body = s.request(t, &attendee, http.MethodGet, content+"?version=1", nil, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, pdf) {
		t.Errorf("version 1: %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, _ = s.request(t, &attendee, http.MethodGet, content+"?version=7", nil, nil)
	if resp.StatusCode != 404 {
		t.Errorf("version 7: %d", resp.StatusCode)
	}

	// Every read was recorded, classified.
	var views, downloads, ranges int
	if err := s.pool.QueryRow(context.Background(), `SELECT
		count(*) FILTER (WHERE how = 'ACCESS_KIND_VIEW'), count(*) FILTER (WHERE how = 'ACCESS_KIND_DOWNLOAD'),
		count(*) FILTER (WHERE how = 'ACCESS_KIND_RANGE') FROM document_access WHERE person_id = $1`, attendee.Subject).Scan(&views, &downloads, &ranges); err != nil {
		t.Fatal(err)
	}
	if downloads != 1 || ranges < 4 || views < 10 {
		t.Errorf("recorded %d views, %d downloads, %d ranged reads", views, downloads, ranges)
	}
}

func TestUploadRefusals(t *testing.T) {
	s := newStack(t, stackOptions{cfg: documents.Config{UploadMaxBytes: 1 << 20}})
	meeting := s.cellMeeting()
	path := uploadPath(meeting, "Tài liệu", "tai-lieu.pdf", "internal")
	big := testenv.PDF(1, 3<<20)
	exe := append([]byte("MZ\x90\x00\x03"), make([]byte, 64<<10)...)

	for _, tc := range []struct {
		name   string
		who    *identity.Claims
		path   string
		body   io.Reader
		hdr    map[string]string
		status int
		reason string
	}{
		{"zero bytes", &secretary, path, bytes.NewReader(nil), map[string]string{"Content-Type": "application/pdf"}, 400, "EMPTY_FILE"},
		{"executable renamed .pdf", &secretary, path, bytes.NewReader(exe), map[string]string{"Content-Type": "application/pdf"}, 415, "UNSUPPORTED_MEDIA_TYPE"},
		// No Content-Length: refused when the limit is passed.
		{"over the limit, chunked", &secretary, path, io.MultiReader(bytes.NewReader(big)), map[string]string{"Content-Type": "application/pdf"}, 413, "FILE_TOO_LARGE"},
		{"a form", &secretary, path, strings.NewReader("a=b"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, ""},
		{"text/plain", &secretary, path, strings.NewReader("%PDF-1.4"), map[string]string{"Content-Type": "text/plain"}, 415, ""},
		{"no content type", &secretary, path, strings.NewReader("%PDF-1.4"), nil, 415, ""},
		{"cross-site", &secretary, path, bytes.NewReader(testenv.PDF(1, 0)), map[string]string{"Content-Type": "application/pdf", "Sec-Fetch-Site": "cross-site"}, 403, ""},
		{"anonymous", nil, path, bytes.NewReader(testenv.PDF(1, 0)), map[string]string{"Content-Type": "application/pdf"}, 401, ""},
		{"not the minute-taker", &attendee, path, bytes.NewReader(testenv.PDF(1, 0)), map[string]string{"Content-Type": "application/pdf"}, 403, ""},
		{"another cell", &otherCell, path, bytes.NewReader(testenv.PDF(1, 0)), map[string]string{"Content-Type": "application/pdf"}, 404, ""},
		{"unknown kind", &secretary, strings.Replace(path, "kind=agenda_paper", "kind=poem", 1), bytes.NewReader(testenv.PDF(1, 0)), map[string]string{"Content-Type": "application/pdf"}, 400, "UNKNOWN_VALUE"},
		{"no title", &secretary, uploadPath(meeting, "", "a.pdf", "internal"), bytes.NewReader(testenv.PDF(1, 0)), map[string]string{"Content-Type": "application/pdf"}, 400, "REQUIRED"},
	} {
		resp, body := s.request(t, tc.who, http.MethodPost, tc.path, tc.body, tc.hdr)
		var p problemBody
		_ = json.Unmarshal(body, &p)
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s; want %d as a problem document", tc.name, resp.StatusCode, body, tc.status)
			continue
		}
		if tc.reason != "" && (len(p.Errors) == 0 || p.Errors[0].Code != tc.reason) {
			t.Errorf("%s: errors %+v, want reason %s", tc.name, p.Errors, tc.reason)
		}
	}
	s.nothingLeft(t, 0)
}

// An upload sent again with its Idempotency-Key (a tablet that lost the
// answer) gets the first attempt's document, 200 instead of 201, and
// nothing is stored twice; the key reused for another file is refused,
// naming the field.
func TestUploadRetriedWithItsIdempotencyKey(t *testing.T) {
	s := newStack(t, stackOptions{})
	meeting := s.cellMeeting()
	path := uploadPath(meeting, "Tờ trình", "to-trinh.pdf", "internal")
	pdf := testenv.PDF(1, 0)
	hdr := map[string]string{"Content-Type": "application/pdf", "Idempotency-Key": "tablet-7-upload-1"}
	s.upload(t, secretary, path, pdf) // without a key: a document of its own
	resp, body := s.request(t, &secretary, http.MethodPost, path, bytes.NewReader(pdf), hdr)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("first attempt with a key: %d %s", resp.StatusCode, body)
	}
	var made uploaded
	if err := json.Unmarshal(body, &made); err != nil {
		t.Fatal(err)
	}
	resp, body = s.request(t, &secretary, http.MethodPost, path, bytes.NewReader(pdf), hdr)
	var again uploaded
	_ = json.Unmarshal(body, &again)
	if resp.StatusCode != http.StatusOK || again.Document.ID != made.Document.ID {
		t.Errorf("retry: %d, document %q; want 200 with the first attempt's %q", resp.StatusCode, again.Document.ID, made.Document.ID)
	}
	if loc := resp.Header.Get("Location"); loc != "/api/v1/documents/"+made.Document.ID {
		t.Errorf("retry Location = %q", loc)
	}
	other := uploadPath(meeting, "Tờ trình", "khac.pdf", "internal")
	resp, body = s.request(t, &secretary, http.MethodPost, other, bytes.NewReader(pdf), hdr)
	var p problemBody
	_ = json.Unmarshal(body, &p)
	if resp.StatusCode != http.StatusBadRequest || len(p.Errors) == 0 || p.Errors[0].Field != "new_document.idempotency_key" {
		t.Errorf("key reused for another file: %d %s; want 400 naming new_document.idempotency_key", resp.StatusCode, body)
	}
	s.nothingLeft(t, 2)
}

// countingReader counts what the server took of a body.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// A file announced too large (Content-Length) is refused before the client
// sends it: the client waits for "100 Continue", which never comes.
func TestOversizedUploadRefusedBeforeTheBody(t *testing.T) {
	s := newStack(t, stackOptions{cfg: documents.Config{UploadMaxBytes: 1 << 20}})
	meeting := s.cellMeeting()
	body := &countingReader{r: bytes.NewReader(testenv.PDF(1, 5<<20))}
	req, err := http.NewRequest(http.MethodPost, s.url+uploadPath(meeting, "Lớn", "lon.pdf", "internal"), body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 5<<20 + 1000
	req.Header.Set("Content-Type", "application/pdf")
	req.Header.Set("Expect", "100-continue")
	req.Header.Set("Authorization", "Bearer "+s.token(t, secretary))
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || body.n.Load() != 0 {
		t.Errorf("oversized upload: %d after %d bytes sent; want 413 before any", resp.StatusCode, body.n.Load())
	}
	s.nothingLeft(t, 0)
}

// Names with a path, control characters or 300 characters are stored
// cleaned; a broken PDF is kept without preview.
func TestUploadNamesAndBrokenPDF(t *testing.T) {
	s := newStack(t, stackOptions{})
	meeting := s.cellMeeting()
	long := strings.Repeat("Nghị quyết Đảng bộ ", 16) + ".pdf"
	for in, want := range map[string]string{
		"../../Kế hoạch.pdf":  "Kế hoạch.pdf",
		"Kết\x01luận\x1b.pdf": "Kếtluận.pdf",
	} {
		u := s.upload(t, secretary, uploadPath(meeting, "Tên", in, "internal"), testenv.PDF(1, 0))
		if u.Document.FileName != want {
			t.Errorf("%q stored as %q, want %q", in, u.Document.FileName, want)
		}
	}
	u := s.upload(t, secretary, uploadPath(meeting, "Dài", long, "internal"), testenv.PDF(1, 0))
	if n := len(u.Document.FileName); n > 255 || !strings.HasSuffix(u.Document.FileName, ".pdf") {
		t.Errorf("300-character name stored as %q (%d bytes)", u.Document.FileName, n)
	}
	broken := s.upload(t, secretary, uploadPath(meeting, "Hỏng", "hong.pdf", "internal"), append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte{0xAB}, 5000)...))
	if broken.Document.Preview != "PREVIEW_NONE_CORRUPT" || broken.Document.PageCount != 0 {
		t.Errorf("broken PDF: %+v", broken.Document)
	}
	resp, _ := s.request(t, &attendee, http.MethodGet, "/api/v1/documents/"+broken.Document.ID+"/content?download=1", nil, nil)
	if resp.StatusCode != 200 {
		t.Errorf("broken PDF cannot be downloaded: %d", resp.StatusCode)
	}
}

// A member of another cell, and a member of the cell who does not take
// part, get 404 for a confidential paper, its content and its QR code.
func TestConfidentialPaperIsNotFoundForOthers(t *testing.T) {
	s := newStack(t, stackOptions{})
	meeting := s.cellMeeting()
	u := s.upload(t, secretary, uploadPath(meeting, "Nhân sự", "nhan-su.pdf", "confidential"), testenv.PDF(1, 0))
	for _, path := range []string{"/content", "/content?download=1", "/qr.png", "/qr.svg"} {
		for _, c := range []identity.Claims{otherCell, bystander} {
			resp, _ := s.request(t, &c, http.MethodGet, "/api/v1/documents/"+u.Document.ID+path, nil, nil)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s as %s: %d, want 404", path, c.Subject, resp.StatusCode)
			}
		}
		resp, _ := s.request(t, &attendee, http.MethodGet, "/api/v1/documents/"+u.Document.ID+path, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s as a participant: %d", path, resp.StatusCode)
		}
	}
	var n int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM document_access WHERE person_id <> $1`, attendee.Subject).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d accesses recorded for refused readers (%v)", n, err)
	}
}

func TestQRCodes(t *testing.T) {
	s := newStack(t, stackOptions{})
	meeting := s.cellMeeting()
	u := s.upload(t, secretary, uploadPath(meeting, "Báo cáo", "bc.pdf", "internal"), testenv.PDF(1, 0))

	resp, body := s.request(t, &attendee, http.MethodGet, "/api/v1/documents/"+u.Document.ID+"/qr.png?size=256", nil, map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "ecabinet.example.vn"})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("qr.png: %d %s", resp.StatusCode, body)
	}
	img, err := png.Decode(bytes.NewReader(body))
	if err != nil || img.Bounds().Dx() != 256 {
		t.Errorf("qr.png: %v, %v", err, img)
	}
	resp, body = s.request(t, &attendee, http.MethodGet, "/api/v1/meetings/"+meeting+"/documents/qr.svg", nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !bytes.HasPrefix(body, []byte("<svg")) {
		t.Errorf("meeting qr.svg: %d %q", resp.StatusCode, body[:min(len(body), 80)])
	}
	resp, _ = s.request(t, &otherCell, http.MethodGet, "/api/v1/meetings/"+meeting+"/documents/qr.svg", nil, nil)
	if resp.StatusCode != 404 {
		t.Errorf("meeting qr.svg for another cell: %d", resp.StatusCode)
	}
	resp, _ = s.request(t, &attendee, http.MethodGet, "/api/v1/documents/"+u.Document.ID+"/qr.png?size=big", nil, nil)
	if resp.StatusCode != 400 {
		t.Errorf("qr.png?size=big: %d", resp.StatusCode)
	}
}

// The client's connection breaks half way through the body: no document,
// no object, no spool file.
func TestUploadCutMidStream(t *testing.T) {
	s := newStack(t, stackOptions{})
	meeting := s.cellMeeting()
	pdf := testenv.PDF(1, 8<<20)
	u, _ := url.Parse(s.url)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/pdf\r\nContent-Length: %d\r\n\r\n",
		uploadPath(meeting, "Đứt", "dut.pdf", "internal"), u.Host, s.token(t, secretary), len(pdf))
	if _, err := conn.Write(pdf[:len(pdf)/2]); err != nil {
		t.Fatal(err)
	}
	// Wait until the service is receiving, then hang up.
	testenv.Eventually(t, waitLimit, func() error {
		entries, err := os.ReadDir(s.spool)
		if err == nil && len(entries) == 0 {
			err = fmt.Errorf("no spool file yet")
		}
		return err
	})
	conn.Close()
	s.nothingLeft(t, 0)

	// Chunked, cut after a chunk.
	conn2, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	fmt.Fprintf(conn2, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/pdf\r\nTransfer-Encoding: chunked\r\n\r\n",
		uploadPath(meeting, "Đứt", "dut.pdf", "internal"), u.Host, s.token(t, secretary))
	w := bufio.NewWriter(conn2)
	fmt.Fprintf(w, "%x\r\n", 1<<20)
	w.Write(pdf[:1<<20])
	w.WriteString("\r\n")
	w.Flush()
	testenv.Eventually(t, waitLimit, func() error {
		entries, err := os.ReadDir(s.spool)
		if err == nil && len(entries) == 0 {
			err = fmt.Errorf("no spool file yet")
		}
		return err
	})
	conn2.Close()
	s.nothingLeft(t, 0)
}

// MinIO down: an upload is refused with 503 and leaves nothing; a download
// answers 503 and works again once MinIO is back.
func TestObjectStorageDown(t *testing.T) {
	direct := testenv.Blob(t)
	p := newProxy(t, os.Getenv("S3_ENDPOINT"))
	s := newStack(t, stackOptions{store: storeBehind(t, direct, p.addr), inspect: direct})
	meeting := s.cellMeeting()
	doc := s.upload(t, secretary, uploadPath(meeting, "Có sẵn", "co-san.pdf", "internal"), testenv.PDF(1, 0))
	content := "/api/v1/documents/" + doc.Document.ID + "/content"

	p.block(true)
	resp, body := s.request(t, &secretary, http.MethodPost, uploadPath(meeting, "Mới", "moi.pdf", "internal"), bytes.NewReader(testenv.PDF(1, 0)), map[string]string{"Content-Type": "application/pdf"})
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("upload with storage down: %d (Retry-After %q) %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	resp, body = s.request(t, &attendee, http.MethodGet, content, nil, nil)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || resp.Header.Get("ETag") != "" {
		t.Errorf("download with storage down: %d, Retry-After %q, ETag %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("ETag"), body)
	}
	s.nothingLeft(t, 1)

	p.block(false)
	resp, body = s.request(t, &attendee, http.MethodGet, content, nil, nil)
	if resp.StatusCode != 200 || len(body) == 0 {
		t.Errorf("download after storage is back: %d", resp.StatusCode)
	}
	s.upload(t, secretary, uploadPath(meeting, "Sau khi sửa", "sau.pdf", "internal"), testenv.PDF(1, 0))
	s.nothingLeft(t, 2)
}

// With the file cache, a paper read once is served while object storage
// is unreachable — and still only to whom the documents service lets read
// it, each read recorded: the cache changes where bytes come from, never
// who gets them.
func TestFileCacheServesReadersTheServiceAllows(t *testing.T) {
	direct := testenv.Blob(t)
	p := newProxy(t, os.Getenv("S3_ENDPOINT"))
	s := newStack(t, stackOptions{store: storeBehind(t, direct, p.addr), inspect: direct, fileCache: true})
	meeting := s.cellMeeting()
	pdf := testenv.PDF(3, 400<<10) // larger than the head the memory cache keeps
	u := s.upload(t, secretary, uploadPath(meeting, "Nhân sự", "nhan-su.pdf", "confidential"), pdf)
	content := "/api/v1/documents/" + u.Document.ID + "/content"
	tail := map[string]string{"Range": "bytes=300000-300099"}
	if resp, body := s.request(t, &attendee, http.MethodGet, content, nil, nil); resp.StatusCode != 200 || !bytes.Equal(body, pdf) {
		t.Fatalf("first read: %d, %d bytes", resp.StatusCode, len(body))
	}

	p.block(true)
	resp, body := s.request(t, &attendee, http.MethodGet, content, nil, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, pdf) {
		t.Errorf("whole paper with the store unreachable: %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, body = s.request(t, &attendee, http.MethodGet, content, nil, tail)
	if resp.StatusCode != 206 || !bytes.Equal(body, pdf[300000:300100]) {
		t.Errorf("a range with the store unreachable: %d, %q", resp.StatusCode, body)
	}
	for _, c := range []identity.Claims{otherCell, bystander} {
		if resp, _ := s.request(t, &c, http.MethodGet, content, nil, tail); resp.StatusCode != http.StatusNotFound {
			t.Errorf("cached confidential paper as %s: %d, want 404", c.Subject, resp.StatusCode)
		}
	}
	s.meetings.remove(meeting, attendee.Subject)
	if resp, _ := s.request(t, &attendee, http.MethodGet, content, nil, tail); resp.StatusCode != http.StatusNotFound {
		t.Errorf("cached confidential paper after leaving the meeting: %d, want 404", resp.StatusCode)
	}
	var n int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM document_access WHERE person_id = $1`, attendee.Subject).Scan(&n); err != nil || n != 3 {
		t.Errorf("%d reads recorded for the attendee, want 3 (%v)", n, err)
	}
	p.block(false)
}

// staleLinks hands the gateway object URLs that have expired, while on.
type staleLinks struct {
	documentsv1.DocumentsServiceClient
	on atomic.Bool
}

func (s *staleLinks) OpenDocumentContent(ctx context.Context, in *documentsv1.OpenDocumentContentRequest, opts ...grpc.CallOption) (*documentsv1.OpenDocumentContentResponse, error) {
	resp, err := s.DocumentsServiceClient.OpenDocumentContent(ctx, in, opts...)
	if err != nil || !s.on.Load() {
		return resp, err
	}
	u, err := url.Parse(resp.GetUrl())
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Set("X-Amz-Date", "20200101T000000Z") // signed six years ago, for two minutes
	u.RawQuery = q.Encode()
	resp.Url = u.String()
	return resp, nil
}

// An object URL that has expired by the time the gateway uses it (a stalled
// gateway, clocks apart) is refused by MinIO: the client gets 503 and its
// retry, with a fresh URL, works.
func TestExpiredObjectLink(t *testing.T) {
	stale := &staleLinks{}
	s := newStack(t, stackOptions{client: func(c documentsv1.DocumentsServiceClient) documentsv1.DocumentsServiceClient {
		stale.DocumentsServiceClient = c
		return stale
	}})
	meeting := s.cellMeeting()
	u := s.upload(t, secretary, uploadPath(meeting, "Báo cáo", "bc.pdf", "internal"), testenv.PDF(1, 0))
	content := "/api/v1/documents/" + u.Document.ID + "/content"
	stale.on.Store(true)
	resp, body := s.request(t, &attendee, http.MethodGet, content, nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || bytes.Contains(body, []byte("X-Amz")) {
		t.Errorf("expired link: %d %s", resp.StatusCode, body)
	}
	stale.on.Store(false)
	if resp, _ := s.request(t, &attendee, http.MethodGet, content, nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("retry: %d", resp.StatusCode)
	}
}

func TestStudyReportWorkbook(t *testing.T) {
	s := newStack(t, stackOptions{})
	meeting := s.cellMeeting()
	u := s.upload(t, secretary, uploadPath(meeting, "Nghị quyết 05", "nq05.pdf", "internal"), testenv.PDF(1, 0))
	if _, err := s.docs.RecordStudy(identity.NewContext(context.Background(), attendee),
		&documentsv1.RecordStudyRequest{DocumentId: u.Document.ID, PagesSeen: []int32{1}}); err != nil {
		t.Fatalf("RecordStudy: %v", err)
	}

	resp, body := s.request(t, &secretary, http.MethodGet, "/api/v1/documents/"+u.Document.ID+"/study-report.xlsx", nil, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Fatalf("study-report.xlsx: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, "filename*=UTF-8''theo-doi-hoc-tap%20-%20Ngh%E1%BB%8B%20quy%E1%BA%BFt%2005.xlsx") {
		t.Errorf("Content-Disposition = %q", cd)
	}
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("not a workbook: %v", err)
	}
	defer f.Close()
	if v, err := f.GetCellValue("Theo dõi học tập", "B2"); err != nil || !strings.HasPrefix(v, "1/") {
		t.Errorf("studied cell = %q (%v), want 1 of the expected readers", v, err)
	}
	resp, _ = s.request(t, &attendee, http.MethodGet, "/api/v1/documents/"+u.Document.ID+"/study-report.xlsx", nil, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("study-report.xlsx as a member: %d, want 403", resp.StatusCode)
	}
}

func TestDownloadPolicies(t *testing.T) {
	s := newStack(t, stackOptions{})
	meeting := s.cellMeeting()
	pdf := testenv.PDF(1, 0)
	viewOnly := s.upload(t, secretary, uploadPath(meeting, "Dự thảo", "du-thao.pdf", "internal")+"&download_policy=view_only", pdf)
	if viewOnly.Document.DownloadPolicy != "DOWNLOAD_POLICY_VIEW_ONLY" {
		t.Fatalf("uploaded with policy %q, want view-only", viewOnly.Document.DownloadPolicy)
	}
	resp, body := s.request(t, &attendee, http.MethodGet, "/api/v1/documents/"+viewOnly.Document.ID+"/content?download=1", nil, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("download of a view-only paper: %d %s, want 403", resp.StatusCode, body)
	}
	resp, body = s.request(t, &attendee, http.MethodGet, "/api/v1/documents/"+viewOnly.Document.ID+"/content", nil, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, pdf) {
		t.Errorf("viewing a view-only paper: %d, %d bytes", resp.StatusCode, len(body))
	}

	secret := s.upload(t, secretary, uploadPath(meeting, "Nhân sự", "nhan-su.pdf", "confidential"), pdf)
	resp, body = s.request(t, &attendee, http.MethodGet, "/api/v1/documents/"+secret.Document.ID+"/content?download=1", nil, nil)
	if resp.StatusCode != http.StatusOK || bytes.Equal(body, pdf) || !bytes.HasPrefix(body, []byte("%PDF-")) {
		t.Errorf("download of a confidential paper: %d, %d bytes (original %d), want a stamped PDF", resp.StatusCode, len(body), len(pdf))
	}
	if etag := resp.Header.Get("ETag"); strings.Contains(etag, secret.Document.Sha256) {
		t.Errorf("the stamped copy carries the original's ETag %s", etag)
	}
}

func TestMeetingBookThroughTheGateway(t *testing.T) {
	s := newStack(t, stackOptions{})
	meeting := s.cellMeeting()
	s.upload(t, secretary, uploadPath(meeting, "Báo cáo", "bc.pdf", "internal"), testenv.PDF(2, 0))
	s.upload(t, secretary, uploadPath(meeting, "Tờ trình", "tt.pdf", "internal"), testenv.PDF(1, 0))

	resp, book := s.request(t, &attendee, http.MethodGet, "/api/v1/meetings/"+meeting+"/book.pdf", nil, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(book, []byte("%PDF-")) {
		t.Fatalf("book.pdf: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "inline") {
		t.Errorf("Content-Disposition = %q, want inline", cd)
	}
	resp, part := s.request(t, &attendee, http.MethodGet, "/api/v1/meetings/"+meeting+"/book.pdf", nil, map[string]string{"Range": "bytes=0-1023"})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, book[:1024]) {
		t.Errorf("first KiB of the book: %d, %d bytes", resp.StatusCode, len(part))
	}
	resp, _ = s.request(t, &otherCell, http.MethodGet, "/api/v1/meetings/"+meeting+"/book.pdf", nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("book.pdf for another cell: %d, want 404", resp.StatusCode)
	}
}
