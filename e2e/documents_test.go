package e2e

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
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	pdfapi "github.com/pdfcpu/pdfcpu/pkg/api"

	"github.com/ecabinet/ecabinet/e2e/suite"
	"github.com/ecabinet/ecabinet/services/platform/blob"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

type uploadedDocument struct {
	ID          string `json:"id"`
	FileName    string `json:"fileName"`
	ContentType string `json:"contentType"`
	Sha256      string `json:"sha256"`
	Version     int    `json:"version"`
	PageCount   int    `json:"pageCount"`
	Preview     string `json:"preview"`
}

// docsUpload is the query of an upload of a new paper.
func docsUpload(meetingID, title, fileName, classification string) string {
	q := url.Values{}
	q.Set("meeting_id", meetingID)
	q.Set("title", title)
	q.Set("kind", "AGENDA_PAPER")
	q.Set("classification", classification)
	q.Set("file_name", fileName)
	return "/api/v1/documents:upload?" + q.Encode()
}

// uploadAs posts a file as c (cookie or bearer) and returns the response.
func uploadAs(c *authClient, path, contentType, origin string, data []byte) authResponse {
	c.t.Helper()
	return c.send(http.MethodPost, path, contentType, origin, data)
}

func mustUpload(t *testing.T, c *authClient, path string, data []byte) uploadedDocument {
	t.Helper()
	r := uploadAs(c, path, "application/pdf", "", data)
	must(t, "upload", r, http.StatusCreated)
	var out struct {
		Document uploadedDocument `json:"document"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("upload answer %s: %v", r.body, err)
	}
	return out.Document
}

// get sends a GET with extra headers as c.
func (c *authClient) get(path string, hdr map[string]string) authResponse {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.p.BaseURL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "ecabinet_session", Value: c.cookie})
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return authResponse{code: resp.StatusCode, header: resp.Header, body: b}
}

// tokenClient is a client with a minted identity token (automation's way
// in), for people the demo has no login for.
func tokenClient(t *testing.T, p *suite.Process, c identity.Claims) *authClient {
	return &authClient{t: t, p: p, bearer: p.Token(t, c)}
}

// documentsDB queries the suite's documents schema.
func documentsDB(t *testing.T, p *suite.Process) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), p.Env["DATABASE_URL"])
	if err != nil {
		t.Fatalf("connect to the suite's database: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func countRows(t *testing.T, db *pgx.Conn, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), "SELECT count(*) FROM documents."+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// suiteObjects lists the objects and unfinished uploads in the suite's
// bucket, straight from MinIO.
func suiteObjects(t *testing.T, p *suite.Process, endpoint string) (objects, incomplete int) {
	t.Helper()
	store, err := blob.Open(blob.Config{Endpoint: endpoint, AccessKey: p.Env["S3_ACCESS_KEY"], SecretKey: p.Env["S3_SECRET_KEY"], Bucket: p.Env["S3_BUCKET"]})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for o := range store.Client().ListObjects(ctx, store.Bucket(), minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list objects: %v", o.Err)
		}
		objects++
	}
	for range store.Client().ListIncompleteUploads(ctx, store.Bucket(), "", true) {
		incomplete++
	}
	return objects, incomplete
}

// consistent waits until every object is a version's and nothing is
// pending: no half-made upload anywhere.
func consistent(t *testing.T, p *suite.Process, db *pgx.Conn, endpoint string, wantDocs int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		objects, incomplete := suiteObjects(t, p, endpoint)
		docs, versions, pending := countRows(t, db, "documents"), countRows(t, db, "document_versions"), countRows(t, db, "pending_uploads")
		if docs == wantDocs && objects == versions && incomplete == 0 && pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d documents (want %d), %d versions, %d objects, %d unfinished uploads, %d pending", docs, wantDocs, versions, objects, incomplete, pending)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The demo meeting's papers through the gateway as its people would use
// them: the minute-taker uploads (with the web app's cookie), members read
// with ranges and revalidation, a replacement keeps the old version, a
// member of another cell and a member of the cell who does not take part
// get 404 for the confidential paper, every read is recorded, QR codes
// point at the app, and a withdrawn paper is gone.
func TestDocumentsThroughTheGateway(t *testing.T) {
	p, logins := startWithDemo(t)
	secretary := newAuthClient(t, p)
	secretary.login(logins["minute-taker"])
	member := newAuthClient(t, p)
	me := member.login(logins["member"])
	m := secretary.todaysDemoMeeting()
	var org struct {
		Meeting struct {
			OrganizationID string `json:"organizationId"`
		} `json:"meeting"`
	}
	must(t, "get meeting", secretary.call(http.MethodGet, "/api/v1/meetings/"+m.ID, nil, &org), http.StatusOK)
	db := documentsDB(t, p)

	pdf := testenv.PDF(3, 2<<20)
	paper := mustUpload(t, secretary, docsUpload(m.ID, "Báo cáo chính trị", "Báo cáo chính trị.pdf", "INTERNAL"), pdf)
	if paper.Sha256 != sha256Hex(pdf) || paper.PageCount != 3 || paper.FileName != "Báo cáo chính trị.pdf" || paper.Preview != "PREVIEW_AVAILABLE" {
		t.Errorf("uploaded paper: %+v", paper)
	}
	secret := mustUpload(t, secretary, docsUpload(m.ID, "Phương án nhân sự", "nhan-su.pdf", "CONFIDENTIAL"), testenv.PDF(1, 0))

	// The member lists and reads them.
	var list struct {
		Documents []uploadedDocument `json:"documents"`
	}
	must(t, "list", member.call(http.MethodGet, "/api/v1/meetings/"+m.ID+"/documents", nil, &list), http.StatusOK)
	if len(list.Documents) != 2 {
		t.Errorf("member sees %d papers, want 2", len(list.Documents))
	}
	content := "/api/v1/documents/" + paper.ID + "/content"
	etag := `"` + paper.Sha256 + `"`
	r := member.get(content, map[string]string{"Range": "bytes=0-65535"})
	if r.code != http.StatusPartialContent || !bytes.Equal(r.body, pdf[:65536]) || r.header.Get("Content-Range") != fmt.Sprintf("bytes 0-65535/%d", len(pdf)) || r.header.Get("ETag") != etag {
		t.Errorf("first page: %d, %d bytes, %q, %q", r.code, len(r.body), r.header.Get("Content-Range"), r.header.Get("ETag"))
	}
	r = member.get(content, nil)
	if r.code != http.StatusOK || !bytes.Equal(r.body, pdf) {
		t.Errorf("whole paper: %d, %d bytes", r.code, len(r.body))
	}
	if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, "filename*=UTF-8''B%C3%A1o%20c%C3%A1o%20ch%C3%ADnh%20tr%E1%BB%8B.pdf") {
		t.Errorf("Content-Disposition %q lacks the Vietnamese name", cd)
	}
	if r := member.get(content, map[string]string{"If-None-Match": etag}); r.code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", r.code)
	}
	for _, bad := range []string{fmt.Sprintf("bytes=%d-", len(pdf)), "bytes=x-y"} {
		if r := member.get(content, map[string]string{"Range": bad}); r.code != http.StatusRequestedRangeNotSatisfiable || r.header.Get("Content-Range") != fmt.Sprintf("bytes */%d", len(pdf)) {
			t.Errorf("Range %q: %d, Content-Range %q", bad, r.code, r.header.Get("Content-Range"))
		}
	}
	if r := member.get("/api/v1/documents/"+secret.ID+"/content", nil); r.code != http.StatusOK {
		t.Errorf("participant reading the confidential paper: %d", r.code)
	}

	// Someone of another cell, and a member of the organisation who does
	// not take part: 404, as if it did not exist.
	otherCell := tokenClient(t, p, identity.Claims{Subject: "e2e-other-cell", Name: "Đảng viên chi bộ khác", Orgs: []string{"00000000-0000-0000-0000-00000000000b"}})
	bystander := tokenClient(t, p, identity.Claims{Subject: "e2e-bystander", Name: "Đảng viên không dự họp", Orgs: []string{org.Meeting.OrganizationID}})
	for _, c := range []*authClient{otherCell, bystander} {
		for _, path := range []string{"/content", "/qr.png", ""} {
			if r := c.get("/api/v1/documents/"+secret.ID+path, nil); r.code != http.StatusNotFound {
				t.Errorf("confidential %q for %s: %d, want 404", path, c.bearer[:8], r.code)
			}
		}
	}
	if r := bystander.get(content, nil); r.code != http.StatusOK {
		t.Errorf("internal paper for a member of the organisation: %d", r.code)
	}
	if r := otherCell.get(content, nil); r.code != http.StatusNotFound {
		t.Errorf("internal paper for another cell: %d", r.code)
	}

	// A replacement; the old version stays.
	v2 := testenv.PDF(4, 0)
	r = uploadAs(secretary, "/api/v1/documents/"+paper.ID+"/versions:upload?expected_version=1&file_name="+url.QueryEscape("Báo cáo chính trị (sửa).pdf"), "application/octet-stream", "", v2)
	must(t, "new version", r, http.StatusCreated)
	var versions struct {
		Versions []struct {
			Version int    `json:"version"`
			Sha256  string `json:"sha256"`
		} `json:"versions"`
	}
	must(t, "versions", member.call(http.MethodGet, "/api/v1/documents/"+paper.ID+"/versions", nil, &versions), http.StatusOK)
	if len(versions.Versions) != 2 || versions.Versions[1].Sha256 != sha256Hex(v2) {
		t.Errorf("versions: %+v", versions.Versions)
	}
	if r := member.get(content, map[string]string{"If-None-Match": etag}); r.code != http.StatusOK || !bytes.Equal(r.body, v2) {
		t.Errorf("after the replacement, the old ETag gets %d", r.code)
	}
	if r := member.get(content+"?version=1", nil); r.code != http.StatusOK || !bytes.Equal(r.body, pdf) {
		t.Errorf("version 1: %d", r.code)
	}
	// A stale replacement is refused.
	r = uploadAs(secretary, "/api/v1/documents/"+paper.ID+"/versions:upload?expected_version=1&file_name=cu.pdf", "application/pdf", "", testenv.PDF(1, 0))
	must(t, "stale replacement", r, http.StatusConflict)

	// Every read is on record, who and how.
	var views, ranges int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE how = 'ACCESS_KIND_VIEW'), count(*) FILTER (WHERE how = 'ACCESS_KIND_RANGE')
		FROM documents.document_access WHERE person_id = $1`, me.Principal.PersonID).Scan(&views, &ranges); err != nil {
		t.Fatal(err)
	}
	if views < 5 || ranges < 1 {
		t.Errorf("member's recorded reads: %d views, %d ranged", views, ranges)
	}

	// QR codes.
	r = member.get("/api/v1/documents/"+paper.ID+"/qr.png?size=256", nil)
	if img, err := png.Decode(bytes.NewReader(r.body)); r.code != http.StatusOK || err != nil || img.Bounds().Dx() != 256 {
		t.Errorf("qr.png: %d, %v", r.code, err)
	}
	r = member.get("/api/v1/meetings/"+m.ID+"/documents/qr.svg", nil)
	if r.code != http.StatusOK || r.header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("meeting qr.svg: %d %q", r.code, r.header.Get("Content-Type"))
	}

	// Withdrawn: gone for everyone.
	must(t, "withdraw by a member", member.call(http.MethodPost, "/api/v1/documents/"+secret.ID+":withdraw", map[string]any{"reason": "x"}, nil), http.StatusForbidden)
	must(t, "withdraw", secretary.call(http.MethodPost, "/api/v1/documents/"+secret.ID+":withdraw", map[string]any{"reason": "Thay bằng phương án khác"}, nil), http.StatusOK)
	if r := member.get("/api/v1/documents/"+secret.ID+"/content", nil); r.code != http.StatusNotFound {
		t.Errorf("withdrawn paper: %d", r.code)
	}
	consistent(t, p, db, p.Env["S3_ENDPOINT"], 2)
}

// Every bad upload of the list, through the gateway: each refused
// with its status, nothing left behind.
func TestDocumentsBadUploads(t *testing.T) {
	env := suite.Env(t)
	env["UPLOAD_MAX_BYTES"] = strconv.Itoa(1 << 20)
	spool := t.TempDir()
	env["UPLOAD_SPOOL_DIR"] = spool
	p := suite.Start(t, "all", env)
	p.WaitReady(t)
	logins, _ := loadDemo(t, p)
	secretary := newAuthClient(t, p)
	secretary.login(logins["minute-taker"])
	m := secretary.todaysDemoMeeting()
	db := documentsDB(t, p)
	path := docsUpload(m.ID, "Tài liệu", "tai-lieu.pdf", "INTERNAL")
	exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00"), make([]byte, 64<<10)...)

	for _, tc := range []struct {
		name, contentType, origin string
		data                      []byte
		want                      int
	}{
		{"zero bytes", "application/pdf", "", nil, http.StatusBadRequest},
		{"executable renamed .pdf", "application/pdf", "", exe, http.StatusUnsupportedMediaType},
		{"over the limit", "application/pdf", "", testenv.PDF(1, 2<<20), http.StatusRequestEntityTooLarge},
		{"corrupt PDF is kept", "application/pdf", "", append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte{0xAB}, 4000)...), http.StatusCreated},
		{"a form, cross-site", "multipart/form-data; boundary=x", "https://evil.example", []byte("--x--"), http.StatusForbidden},
		{"a form", "text/plain", "", []byte("%PDF-1.4"), http.StatusUnsupportedMediaType},
		{"from another origin", "application/pdf", "https://evil.example", testenv.PDF(1, 0), http.StatusForbidden},
	} {
		if r := uploadAs(secretary, path, tc.contentType, tc.origin, tc.data); r.code != tc.want {
			t.Errorf("%s: %d %s; want %d", tc.name, r.code, r.body, tc.want)
		}
	}
	for in, want := range map[string]string{
		"../../../etc/Kế hoạch.pdf":                "Kế hoạch.pdf",
		"Kết\x01 luận\x7f.pdf":                     "Kết luận.pdf",
		strings.Repeat("Nghị quyết ", 30) + ".pdf": "",
	} {
		d := mustUpload(t, secretary, docsUpload(m.ID, "Tên tệp", in, "INTERNAL"), testenv.PDF(1, 0))
		if want != "" && d.FileName != want || len(d.FileName) > 255 || !strings.HasSuffix(d.FileName, ".pdf") {
			t.Errorf("file name %q stored as %q", in, d.FileName)
		}
	}

	// Cut in the middle of the body.
	u, _ := url.Parse(p.BaseURL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	body := testenv.PDF(1, 900<<10)
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: %s\r\nCookie: ecabinet_session=%s\r\nContent-Type: application/pdf\r\nContent-Length: %d\r\n\r\n", path, u.Host, secretary.cookie, len(body))
	w.Write(body[:len(body)/2])
	w.Flush()
	// Hang up once the service is receiving the file.
	deadline := time.Now().Add(30 * time.Second)
	for entries, _ := os.ReadDir(spool); len(entries) == 0; entries, _ = os.ReadDir(spool) {
		if time.Now().After(deadline) {
			t.Fatal("the upload never reached the documents service")
		}
		time.Sleep(50 * time.Millisecond)
	}
	conn.Close()
	deadline = time.Now().Add(30 * time.Second)
	for entries, _ := os.ReadDir(spool); len(entries) != 0; entries, _ = os.ReadDir(spool) {
		if time.Now().After(deadline) {
			t.Fatalf("spool files left after the client hung up: %v", entries)
		}
		time.Sleep(50 * time.Millisecond)
	}

	consistent(t, p, db, p.Env["S3_ENDPOINT"], 4) // the corrupt PDF and the three names
}

// MinIO down: an upload answers 503 and leaves nothing; a download answers
// 503, and the same request works once MinIO is back.
func TestDocumentsWithMinIODown(t *testing.T) {
	env := suite.Env(t)
	direct := env["S3_ENDPOINT"]
	s3 := suite.NewProxy(t, direct)
	env["S3_ENDPOINT"] = s3.Addr
	p := suite.Start(t, "all", env)
	p.WaitReady(t)
	logins, _ := loadDemo(t, p)
	secretary := newAuthClient(t, p)
	secretary.login(logins["minute-taker"])
	member := newAuthClient(t, p)
	member.login(logins["member"])
	m := secretary.todaysDemoMeeting()
	db := documentsDB(t, p)
	paper := mustUpload(t, secretary, docsUpload(m.ID, "Có sẵn", "co-san.pdf", "INTERNAL"), testenv.PDF(2, 0))
	content := "/api/v1/documents/" + paper.ID + "/content"

	s3.Block()
	r := uploadAs(secretary, docsUpload(m.ID, "Khi MinIO hỏng", "hong.pdf", "INTERNAL"), "application/pdf", "", testenv.PDF(1, 300<<10))
	if r.code != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Errorf("upload with MinIO down: %d (Retry-After %q) %s", r.code, r.header.Get("Retry-After"), r.body)
	}
	r = member.get(content, nil)
	if r.code != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Errorf("download with MinIO down: %d %s", r.code, r.body)
	}

	s3.Unblock()
	if r := member.get(content, nil); r.code != http.StatusOK {
		t.Errorf("download after MinIO is back: %d %s", r.code, r.body)
	}
	mustUpload(t, secretary, docsUpload(m.ID, "Sau khi sửa", "sau.pdf", "INTERNAL"), testenv.PDF(1, 0))
	consistent(t, p, db, direct, 2)
}

// The reader's side through the gateway: pages seen reach the study report
// (JSON and workbook), private notes, the presenter's page, the meeting book,
// and a stamped download of a confidential paper.
func TestReadingThroughTheGateway(t *testing.T) {
	p, logins := startWithDemo(t)
	secretary := newAuthClient(t, p)
	secretary.login(logins["minute-taker"])
	member := newAuthClient(t, p)
	me := member.login(logins["member"])
	m := secretary.todaysDemoMeeting()

	paper := mustUpload(t, secretary, docsUpload(m.ID, "Nghị quyết 05", "nq05.pdf", "INTERNAL"), testenv.PDF(3, 0))
	secret := mustUpload(t, secretary, docsUpload(m.ID, "Phương án nhân sự", "nhan-su.pdf", "CONFIDENTIAL"), testenv.PDF(1, 0))

	// Study: the member reads every page.
	must(t, "study", member.call(http.MethodPost, "/api/v1/documents/"+paper.ID+"/study", map[string]any{"pagesSeen": []int{1, 2, 3}}, nil), http.StatusOK)
	var report struct {
		Expected int `json:"expected"`
		Studied  int `json:"studied"`
		Rows     []struct {
			PersonID  string `json:"personId"`
			ReadToEnd bool   `json:"readToEnd"`
		} `json:"rows"`
	}
	must(t, "study report", secretary.call(http.MethodGet, "/api/v1/documents/"+paper.ID+"/study-report", nil, &report), http.StatusOK)
	studied := false
	for _, r := range report.Rows {
		studied = studied || (r.PersonID == me.Principal.PersonID && r.ReadToEnd)
	}
	if report.Studied != 1 || report.Expected < 2 || !studied {
		t.Errorf("study report: %+v, want the member to have studied it", report)
	}
	if r := secretary.get("/api/v1/documents/"+paper.ID+"/study-report.xlsx", nil); r.code != http.StatusOK || !bytes.HasPrefix(r.body, []byte("PK")) {
		t.Errorf("study-report.xlsx: %d, %d bytes", r.code, len(r.body))
	}
	must(t, "study report as a member", member.call(http.MethodGet, "/api/v1/documents/"+paper.ID+"/study-report", nil, nil), http.StatusForbidden)

	// A private note, seen by its author alone.
	noteID := "0191e4a0-0000-7000-8000-000000000001"
	note := map[string]any{"annotation": map[string]any{"kind": "ANNOTATION_KIND_NOTE", "page": 2, "text": "Hỏi lại",
		"area": map[string]any{"x": 0.1, "y": 0.1, "width": 0.05, "height": 0.05}}}
	must(t, "save note", member.call(http.MethodPut, "/api/v1/documents/"+paper.ID+"/annotations/"+noteID, note, nil), http.StatusOK)
	var notes struct {
		Annotations []struct {
			ID   string `json:"id"`
			Text string `json:"text"`
		} `json:"annotations"`
	}
	must(t, "member's notes", member.call(http.MethodGet, "/api/v1/documents/"+paper.ID+"/annotations", nil, &notes), http.StatusOK)
	if len(notes.Annotations) != 1 || notes.Annotations[0].Text != "Hỏi lại" {
		t.Errorf("member's notes: %+v", notes)
	}
	must(t, "secretary's notes", secretary.call(http.MethodGet, "/api/v1/documents/"+paper.ID+"/annotations", nil, &notes), http.StatusOK)
	if len(notes.Annotations) != 0 {
		t.Errorf("the secretary sees %d notes of the member's", len(notes.Annotations))
	}

	// The presenter's page.
	must(t, "present", secretary.call(http.MethodPost, "/api/v1/documents/"+paper.ID+"/presenter-page", map[string]any{"page": 2}, nil), http.StatusOK)
	var shown struct {
		PresenterPage struct {
			DocumentID string `json:"documentId"`
			Page       int    `json:"page"`
		} `json:"presenterPage"`
	}
	must(t, "presenter page", member.call(http.MethodGet, "/api/v1/meetings/"+m.ID+"/presenter-page", nil, &shown), http.StatusOK)
	if shown.PresenterPage.DocumentID != paper.ID || shown.PresenterPage.Page != 2 {
		t.Errorf("presenter page: %+v", shown)
	}
	must(t, "a member presenting", member.call(http.MethodPost, "/api/v1/documents/"+paper.ID+"/presenter-page", map[string]any{"page": 3}, nil), http.StatusForbidden)

	// The meeting book: both papers, 4 pages; a download is stamped (the
	// confidential paper makes it so).
	book := member.get("/api/v1/meetings/"+m.ID+"/book.pdf", nil)
	if book.code != http.StatusOK || book.header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("book.pdf: %d %s", book.code, book.header.Get("Content-Type"))
	}
	if n, err := pdfapi.PageCount(bytes.NewReader(book.body), nil); err != nil || n != 4 {
		t.Errorf("the book has %d pages (%v), want the 3 + 1 of the two papers", n, err)
	}
	stamped := member.get("/api/v1/meetings/"+m.ID+"/book.pdf?download=1", nil)
	if stamped.code != http.StatusOK || bytes.Equal(stamped.body, book.body) {
		t.Errorf("downloaded book: %d, same bytes as the view: %v", stamped.code, bytes.Equal(stamped.body, book.body))
	}
	if r := member.get("/api/v1/documents/"+secret.ID+"/content?download=1", nil); r.code != http.StatusOK || r.header.Get("ETag") == `"`+secret.Sha256+`"` {
		t.Errorf("download of the confidential paper: %d, ETag %s (the original's is %s)", r.code, r.header.Get("ETag"), secret.Sha256)
	}
}

// The library: the bloc's administrator publishes the month's material; a
// member of a cell below reads it and is counted in the cell; someone of an
// organisation outside the bloc sees nothing.
func TestLibraryThroughTheGateway(t *testing.T) {
	p, logins := startWithDemo(t)
	admin := newAuthClient(t, p)
	admin.login(logins["minute-taker"]) // administers the bloc
	var orgs struct {
		Organizations []struct {
			ID       string `json:"id"`
			ParentID string `json:"parentId"`
			Name     string `json:"name"`
		} `json:"organizations"`
	}
	must(t, "organisations", admin.call(http.MethodGet, "/api/v1/organizations", nil, &orgs), http.StatusOK)
	var bloc, cell string
	for _, o := range orgs.Organizations {
		if o.ParentID == "" {
			bloc = o.ID
		}
		if o.Name == "Chi bộ VNPT Văn Yên" {
			cell = o.ID
		}
	}
	if bloc == "" || cell == "" {
		t.Fatalf("demo organisations: %+v", orgs)
	}
	q := url.Values{"organization_id": {bloc}, "library_period": {"2026-11"}, "title": {"Tài liệu sinh hoạt chi bộ tháng 11"},
		"kind": {"cell_material"}, "classification": {"internal"}, "file_name": {"tai-lieu-thang-11.pdf"}}
	doc := mustUpload(t, admin, "/api/v1/documents:upload?"+q.Encode(), testenv.PDF(2, 0))

	reader := tokenClient(t, p, identity.Claims{Subject: "e2e-cell-member", Name: "Đảng viên chi bộ Văn Yên", Orgs: []string{cell}})
	var lib struct {
		Documents []uploadedDocument `json:"documents"`
	}
	must(t, "library", reader.call(http.MethodGet, "/api/v1/library?period=2026-11", nil, &lib), http.StatusOK)
	if len(lib.Documents) != 1 || lib.Documents[0].ID != doc.ID {
		t.Fatalf("the cell member's library: %+v", lib)
	}
	if r := reader.get("/api/v1/documents/"+doc.ID+"/content", nil); r.code != http.StatusOK {
		t.Errorf("reading the material: %d", r.code)
	}
	must(t, "study", reader.call(http.MethodPost, "/api/v1/documents/"+doc.ID+"/study", map[string]any{"reachedEnd": true}, nil), http.StatusOK)

	outsider := tokenClient(t, p, identity.Claims{Subject: "e2e-outsider", Name: "Đảng viên nơi khác", Orgs: []string{"00000000-0000-0000-0000-0000000000ee"}})
	must(t, "outsider's library", outsider.call(http.MethodGet, "/api/v1/library", nil, &lib), http.StatusOK)
	if len(lib.Documents) != 0 {
		t.Errorf("an outsider's library lists %d documents", len(lib.Documents))
	}
	if r := outsider.get("/api/v1/documents/"+doc.ID+"/content", nil); r.code != http.StatusNotFound {
		t.Errorf("an outsider reading the material: %d, want 404", r.code)
	}

	var report struct {
		Expected      int `json:"expected"`
		Studied       int `json:"studied"`
		Organizations []struct {
			Name     string `json:"name"`
			Expected int    `json:"expected"`
		} `json:"organizations"`
	}
	// A demo member (of the bloc's committee) reads it through; the minted
	// reader has no membership in the directory and is not counted.
	member := newAuthClient(t, p)
	member.login(logins["member"])
	must(t, "member's study", member.call(http.MethodPost, "/api/v1/documents/"+doc.ID+"/study", map[string]any{"pagesSeen": []int{1, 2}}, nil), http.StatusOK)
	must(t, "study report", admin.call(http.MethodGet, "/api/v1/documents/"+doc.ID+"/study-report", nil, &report), http.StatusOK)
	if report.Expected < 10 || report.Studied != 1 || len(report.Organizations) < 2 {
		t.Errorf("study report: %+v", report)
	}
}
