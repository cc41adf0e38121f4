package documents

import (
	"bytes"
	"context"
	"encoding/xml"
	"image/png"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	qrcode "github.com/skip2/go-qrcode"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// fetch GETs a URL the service handed out, with an optional Range.
func fetch(t *testing.T, url, rangeHeader string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rangeHeader != "" {
		req.Header.Set("Range", rangeHeader)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET object URL: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

type accessRow struct {
	Person, How string
	Version     int32
}

func (w *world) accesses(t *testing.T, documentID string) []accessRow {
	t.Helper()
	rows, err := w.pool.Query(context.Background(), `SELECT person_id, how, version FROM document_access WHERE document_id = $1 ORDER BY id`, documentID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []accessRow
	for rows.Next() {
		var r accessRow
		if err := rows.Scan(&r.Person, &r.How, &r.Version); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestOpenDocumentContent(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	v1 := testenv.PDF(1, 100<<10)
	d := w.upload(t, secretary, paper(meeting, "Báo cáo", "Báo cáo.pdf"), v1)
	v2 := testenv.PDF(2, 0)
	if _, err := w.sendUpload(testenv.As(secretary), newVersion(&documentsv1.NewVersion{DocumentId: d.GetId(), FileName: "Báo cáo 2.pdf"}), v2); err != nil {
		t.Fatal(err)
	}

	open, err := w.client.OpenDocumentContent(testenv.As(attendee), &documentsv1.OpenDocumentContentRequest{DocumentId: d.GetId(), Access: documentsv1.AccessKind_ACCESS_KIND_VIEW})
	if err != nil {
		t.Fatalf("OpenDocumentContent: %v", err)
	}
	if v := open.GetVersion(); v.GetVersion() != 2 || v.GetSha256() != hexSHA(v2) || v.GetFileName() != "Báo cáo 2.pdf" || v.GetSizeBytes() != int64(len(v2)) {
		t.Errorf("current version: %v", v)
	}
	if code, body := fetch(t, open.GetUrl(), ""); code != http.StatusOK || !bytes.Equal(body, v2) {
		t.Errorf("GET the URL: %d, %d bytes; want 200 and version 2", code, len(body))
	}

	old, err := w.client.OpenDocumentContent(testenv.As(observer), &documentsv1.OpenDocumentContentRequest{DocumentId: d.GetId(), Version: 1, Access: documentsv1.AccessKind_ACCESS_KIND_RANGE})
	if err != nil {
		t.Fatal(err)
	}
	// The URL honours a Range header (the gateway passes the client's on).
	if code, body := fetch(t, old.GetUrl(), "bytes=0-1023"); code != http.StatusPartialContent || !bytes.Equal(body, v1[:1024]) {
		t.Errorf("ranged GET of version 1: %d, %d bytes", code, len(body))
	}
	if _, err := w.client.OpenDocumentContent(testenv.As(chair), &documentsv1.OpenDocumentContentRequest{DocumentId: d.GetId(), Version: 1, Access: documentsv1.AccessKind_ACCESS_KIND_DOWNLOAD}); err != nil {
		t.Fatal(err)
	}

	_, err = w.client.OpenDocumentContent(testenv.As(attendee), &documentsv1.OpenDocumentContentRequest{DocumentId: d.GetId(), Version: 9, Access: documentsv1.AccessKind_ACCESS_KIND_VIEW})
	testenv.Code(t, err, codes.NotFound)
	_, err = w.client.OpenDocumentContent(testenv.As(otherCell), &documentsv1.OpenDocumentContentRequest{DocumentId: d.GetId(), Access: documentsv1.AccessKind_ACCESS_KIND_VIEW})
	testenv.Code(t, err, codes.NotFound)

	// Every read that went ahead is on record; refused ones are not.
	want := []accessRow{
		{attendee.Subject, "ACCESS_KIND_VIEW", 2},
		{observer.Subject, "ACCESS_KIND_RANGE", 1},
		{chair.Subject, "ACCESS_KIND_DOWNLOAD", 1},
	}
	if diff := cmp.Diff(want, w.accesses(t, d.GetId())); diff != "" {
		t.Errorf("document_access (-want +got):\n%s", diff)
	}
}

func TestOpenDocumentContentWithObjectStorageDown(t *testing.T) {
	direct := testenv.Blob(t)
	proxy := newFaultProxy(t, os.Getenv("S3_ENDPOINT"))
	w := newWorldWith(t, worldOptions{store: storeBehind(t, direct, proxy.addr), inspect: direct})
	meeting, _ := w.cellMeeting()
	d := w.upload(t, secretary, paper(meeting, "Báo cáo", "bc.pdf"), testenv.PDF(1, 0))
	open := func() (*documentsv1.OpenDocumentContentResponse, error) {
		return w.client.OpenDocumentContent(testenv.As(attendee), &documentsv1.OpenDocumentContentRequest{DocumentId: d.GetId(), Access: documentsv1.AccessKind_ACCESS_KIND_VIEW})
	}
	// Presigning is local once the bucket's region is known, so the URL
	// comes back; fetching it is what fails (the gateway answers 503).
	if _, err := open(); err != nil {
		t.Fatal(err)
	}
	proxy.Block()
	resp, err := open()
	if err != nil {
		t.Fatalf("OpenDocumentContent with storage down: %v", err)
	}
	if _, err := http.Get(resp.GetUrl()); err == nil {
		t.Fatal("the object URL answered with object storage down")
	}
	proxy.Unblock()
	resp, err = open()
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := fetch(t, resp.GetUrl(), ""); code != http.StatusOK {
		t.Errorf("after storage is back: %d", code)
	}
}

func TestWithdrawDocument(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	keep := w.upload(t, secretary, paper(meeting, "Giữ", "giu.pdf"), testenv.PDF(1, 0))
	gone := w.upload(t, secretary, paper(meeting, "Rút", "rut.pdf"), testenv.PDF(1, 0))

	_, err := w.client.WithdrawDocument(testenv.As(attendee), &documentsv1.WithdrawDocumentRequest{DocumentId: gone.GetId()})
	testenv.Code(t, err, codes.PermissionDenied)
	_, err = w.client.WithdrawDocument(testenv.As(otherCell), &documentsv1.WithdrawDocumentRequest{DocumentId: gone.GetId()})
	testenv.Code(t, err, codes.NotFound)
	_, err = w.client.WithdrawDocument(testenv.As(chair), &documentsv1.WithdrawDocumentRequest{DocumentId: gone.GetId(), Reason: strings.Repeat("x", 1001)})
	testenv.Code(t, err, codes.InvalidArgument)
	if _, err := w.client.WithdrawDocument(testenv.As(chair), &documentsv1.WithdrawDocumentRequest{DocumentId: gone.GetId(), Reason: " Thay bằng tài liệu khác "}); err != nil {
		t.Fatalf("WithdrawDocument: %v", err)
	}

	_, err = w.client.GetDocument(testenv.As(attendee), &documentsv1.GetDocumentRequest{DocumentId: gone.GetId()})
	testenv.Code(t, err, codes.NotFound)
	_, err = w.client.OpenDocumentContent(testenv.As(attendee), &documentsv1.OpenDocumentContentRequest{DocumentId: gone.GetId(), Access: documentsv1.AccessKind_ACCESS_KIND_VIEW})
	testenv.Code(t, err, codes.NotFound)
	_, err = w.client.WithdrawDocument(testenv.As(chair), &documentsv1.WithdrawDocumentRequest{DocumentId: gone.GetId()})
	testenv.Code(t, err, codes.NotFound)
	_, err = w.sendUpload(testenv.As(chair), newVersion(&documentsv1.NewVersion{DocumentId: gone.GetId(), FileName: "b.pdf"}), testenv.PDF(1, 0))
	testenv.Code(t, err, codes.NotFound)
	list, err := w.client.ListDocuments(testenv.As(attendee), &documentsv1.ListDocumentsRequest{MeetingId: meeting})
	if err != nil || len(list.GetDocuments()) != 1 || list.GetDocuments()[0].GetId() != keep.GetId() {
		t.Errorf("list after withdrawal: %v, %v", list.GetDocuments(), err)
	}

	c := testenv.Consumer(t, w.js, w.stream)
	testenv.Next(t, c)
	testenv.Next(t, c)
	msg := testenv.Next(t, c)
	var ev documentsv1.DocumentWithdrawn
	if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(msg.Subject(), meeting+".withdrawn") || ev.GetDocumentId() != gone.GetId() || ev.GetMeetingId() != meeting ||
		ev.GetReason() != "Thay bằng tài liệu khác" || ev.GetMeta().GetAggregateVersion() != 2 || ev.GetMeta().GetActorId() != chair.Subject {
		t.Errorf("withdrawn event on %s: %v", msg.Subject(), &ev)
	}
	// The bytes stay: the record of what was distributed is kept.
	w.nothingLeft(t, 2)
}

func TestQRCodes(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	nd := paper(meeting, "Mật", "mat.pdf")
	nd.Classification = documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL
	d := w.upload(t, secretary, nd, testenv.PDF(1, 0))
	base := "https://ecabinet.example.vn:8443"

	png1, err := w.client.GetQRCode(testenv.As(attendee), &documentsv1.GetQRCodeRequest{DocumentId: d.GetId(), Format: documentsv1.QRCodeFormat_QR_CODE_FORMAT_PNG, SizePx: 300, BaseUrl: base})
	if err != nil {
		t.Fatalf("GetQRCode png: %v", err)
	}
	if want := base + "/documents/" + d.GetId(); png1.GetUrl() != want || png1.GetContentType() != "image/png" {
		t.Errorf("png: url %q, type %q; want %q, image/png", png1.GetUrl(), png1.GetContentType(), want)
	}
	img, err := png.Decode(bytes.NewReader(png1.GetData()))
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 300 || b.Dy() != 300 {
		t.Errorf("PNG is %v, want 300x300", b)
	}

	svg, err := w.client.GetQRCode(testenv.As(attendee), &documentsv1.GetQRCodeRequest{MeetingId: meeting, Format: documentsv1.QRCodeFormat_QR_CODE_FORMAT_SVG, BaseUrl: base})
	if err != nil {
		t.Fatalf("GetQRCode svg: %v", err)
	}
	wantURL := base + "/meetings/" + meeting + "/documents"
	if svg.GetUrl() != wantURL || svg.GetContentType() != "image/svg+xml" {
		t.Errorf("svg: url %q, type %q", svg.GetUrl(), svg.GetContentType())
	}
	if err := xml.Unmarshal(svg.GetData(), new(struct{})); err != nil {
		t.Errorf("SVG is not XML: %v", err)
	}
	// The drawing is the code of that URL, module for module.
	q, err := qrcode.New(wantURL, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(svg.GetData(), qrSVG(q.Bitmap())) {
		t.Error("SVG does not draw the QR code of the URL")
	}

	// Nothing about what the caller may not see.
	_, err = w.client.GetQRCode(testenv.As(bystander), &documentsv1.GetQRCodeRequest{DocumentId: d.GetId(), Format: documentsv1.QRCodeFormat_QR_CODE_FORMAT_PNG, BaseUrl: base})
	testenv.Code(t, err, codes.NotFound)
	_, err = w.client.GetQRCode(testenv.As(otherCell), &documentsv1.GetQRCodeRequest{MeetingId: meeting, Format: documentsv1.QRCodeFormat_QR_CODE_FORMAT_SVG, BaseUrl: base})
	testenv.Code(t, err, codes.NotFound)

	for _, req := range []*documentsv1.GetQRCodeRequest{
		{DocumentId: d.GetId(), Format: documentsv1.QRCodeFormat_QR_CODE_FORMAT_PNG, BaseUrl: "javascript:alert(1)"},
		{DocumentId: d.GetId(), Format: documentsv1.QRCodeFormat_QR_CODE_FORMAT_PNG, BaseUrl: base + "/evil"},
		{DocumentId: d.GetId(), MeetingId: meeting, Format: documentsv1.QRCodeFormat_QR_CODE_FORMAT_PNG, BaseUrl: base},
		{DocumentId: d.GetId(), Format: documentsv1.QRCodeFormat_QR_CODE_FORMAT_PNG, SizePx: 10, BaseUrl: base},
		{DocumentId: d.GetId(), BaseUrl: base},
		{DocumentId: uuid.NewString() + "x", Format: documentsv1.QRCodeFormat_QR_CODE_FORMAT_SVG, BaseUrl: base},
	} {
		_, err := w.client.GetQRCode(testenv.As(attendee), req)
		testenv.Code(t, err, codes.InvalidArgument)
	}
}
