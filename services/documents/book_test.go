package documents

import (
	"bytes"
	"slices"
	"sync"
	"testing"

	pdfapi "github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

func (w *world) book(t *testing.T, c identity.Claims, meetingID string, access documentsv1.AccessKind) (*documentsv1.OpenMeetingBookResponse, []byte) {
	t.Helper()
	resp, err := w.client.OpenMeetingBook(testenv.As(c), &documentsv1.OpenMeetingBookRequest{MeetingId: meetingID, Access: access})
	if err != nil {
		t.Fatalf("OpenMeetingBook as %s: %v", c.Subject, err)
	}
	code, body := fetch(t, resp.GetUrl(), "")
	if code != 200 {
		t.Fatalf("GET the book's URL: %d", code)
	}
	return resp, body
}

// bookmarkTitles lists a PDF's outline, depth first, children indented.
func bookmarkTitles(t *testing.T, pdf []byte) []string {
	t.Helper()
	bms, err := pdfapi.Bookmarks(bytes.NewReader(pdf), model.NewDefaultConfiguration())
	if err != nil {
		t.Fatalf("bookmarks: %v", err)
	}
	var out []string
	for _, b := range bms {
		out = append(out, b.Title)
		for _, k := range b.Kids {
			out = append(out, "  "+k.Title)
		}
	}
	return out
}

func TestMeetingBook(t *testing.T) {
	w := newWorld(t)
	meeting, item := w.cellMeeting()
	events := testenv.Consumer(t, w.js, w.stream)

	report := paper(meeting, "Báo cáo tình hình", "bao-cao.pdf")
	report.AgendaItemId = item
	general := paper(meeting, "Chương trình họp", "chuong-trinh.pdf")
	secret := paper(meeting, "Phương án nhân sự", "nhan-su.pdf")
	secret.AgendaItemId = item
	secret.Classification = documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL
	rep := w.upload(t, secretary, report, testenv.PDF(3, 0))
	gen := w.upload(t, secretary, general, testenv.PDF(2, 0))
	sec := w.upload(t, secretary, secret, testenv.PDF(1, 0))
	w.upload(t, secretary, paper(meeting, "Tờ trình", "to-trinh.docx"), ooxml(t, ctDOCX, "word/document.xml")) // not a PDF: left out
	for range 4 {
		testenv.Next(t, events) // added
	}

	// A room of tablets asks for the book at once: it is bound once.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.book(t, attendee, meeting, documentsv1.AccessKind_ACCESS_KIND_VIEW)
		}()
	}
	wg.Wait()
	var bindings int
	if err := w.pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox WHERE subject LIKE '%.book_ready'`).Scan(&bindings); err != nil || bindings != 1 {
		t.Errorf("%d books bound for 8 requests at once (%v), want 1", bindings, err)
	}

	// A participant's book: the meeting's own paper first, then the item's
	// in the order added, the confidential one included.
	resp, pdf := w.book(t, attendee, meeting, documentsv1.AccessKind_ACCESS_KIND_VIEW)
	var got []string
	for _, e := range resp.GetEntries() {
		got = append(got, e.GetTitle())
	}
	if want := []string{"Chương trình họp", "Báo cáo tình hình", "Phương án nhân sự"}; !slices.Equal(got, want) {
		t.Errorf("book entries = %v, want %v", got, want)
	}
	if e := resp.GetEntries()[2]; e.GetFirstPage() != 6 || e.GetPageCount() != 1 || e.GetDocumentId() != sec.GetId() || e.GetAgendaItemId() != item {
		t.Errorf("third entry = %v, want the confidential paper from page 6", e)
	}
	// Reading the book is reading each paper in it: every one is recorded.
	for _, d := range []*documentsv1.Document{gen, rep, sec} {
		var n int
		if err := w.pool.QueryRow(t.Context(), `SELECT count(*) FROM document_access WHERE document_id = $1 AND person_id = $2 AND how = 'ACCESS_KIND_VIEW'`,
			d.GetId(), attendee.Subject).Scan(&n); err != nil || n == 0 {
			t.Errorf("no view of %q recorded for the book (%v)", d.GetTitle(), err)
		}
	}
	pages, _ := pdfStreams(t, pdf)
	if pages != 6 || resp.GetBook().GetPageCount() != 6 || resp.GetBook().GetSizeBytes() != int64(len(pdf)) || resp.GetBook().GetSha256() != hexSHA(pdf) {
		t.Errorf("book: %d pages, %v; want 6 pages described exactly", pages, resp.GetBook())
	}
	if want := []string{"Tài liệu chung", "  Chương trình họp", "1. ", "  Báo cáo tình hình", "  Phương án nhân sự"}; !slices.Equal(bookmarkTitles(t, pdf), want) {
		t.Errorf("bookmarks = %q, want %q", bookmarkTitles(t, pdf), want)
	}
	msg := testenv.Next(t, events)
	var ready documentsv1.MeetingBookReady
	if err := proto.Unmarshal(msg.Data(), &ready); err != nil || ready.GetPageCount() != 6 ||
		!slices.Equal(ready.GetDocumentIds(), []string{gen.GetId(), rep.GetId(), sec.GetId()}) || msg.Subject() != w.prefix+"ecabinet.documents.v1."+meeting+".book_ready" {
		t.Errorf("book_ready event on %s = %v (%v)", msg.Subject(), &ready, err)
	}

	// The same papers: the same book, not bound again.
	again, pdf2 := w.book(t, chair, meeting, documentsv1.AccessKind_ACCESS_KIND_VIEW)
	if again.GetBook().GetSha256() != resp.GetBook().GetSha256() || !bytes.Equal(pdf, pdf2) {
		t.Errorf("second request bound another book")
	}
	// An organisation member outside the meeting gets a book without the
	// confidential paper.
	outside, pdf3 := w.book(t, bystander, meeting, documentsv1.AccessKind_ACCESS_KIND_VIEW)
	if n, _ := pdfStreams(t, pdf3); n != 5 || len(outside.GetEntries()) != 2 {
		t.Errorf("book outside the meeting: %d pages, %d entries; want 5 pages without the confidential paper", n, len(outside.GetEntries()))
	}
	if n := w.count(t, "meeting_books"); n != 2 {
		t.Errorf("%d books bound, want 2 (participants', others')", n)
	}

	// A paper changes: a new book; books unused for long go, the book of
	// the readers outside the meeting stays while they use it.
	if _, err := w.pool.Exec(t.Context(), `UPDATE meeting_books SET last_used_time = now() - interval '1 hour'`); err != nil {
		t.Fatal(err)
	}
	w.book(t, bystander, meeting, documentsv1.AccessKind_ACCESS_KIND_VIEW)
	if _, err := w.sendUpload(testenv.As(secretary), newVersion(&documentsv1.NewVersion{DocumentId: rep.GetId(), FileName: "bao-cao-v2.pdf"}), testenv.PDF(4, 0)); err != nil {
		t.Fatalf("new version: %v", err)
	}
	changed, _ := w.book(t, attendee, meeting, documentsv1.AccessKind_ACCESS_KIND_VIEW)
	if changed.GetBook().GetPageCount() != 7 || changed.GetBook().GetSha256() == resp.GetBook().GetSha256() {
		t.Errorf("after a new version the book has %d pages (sha %s), want 7 and a new book", changed.GetBook().GetPageCount(), changed.GetBook().GetSha256())
	}
	keys, _ := w.objects(t)
	books := slices.DeleteFunc(keys, func(k string) bool { return !bytes.Contains([]byte(k), []byte("/books/")) })
	if n := w.count(t, "meeting_books"); n != 2 || len(books) != 2 {
		t.Errorf("%d books recorded and %d stored after rebinding, want the new one and the one just used", n, len(books))
	}

	// Downloads follow the strictest paper: the confidential one makes the
	// participants' book a stamped copy; the others' book downloads as is.
	_, stamped := w.book(t, attendee, meeting, documentsv1.AccessKind_ACCESS_KIND_DOWNLOAD)
	if _, s := pdfStreams(t, stamped); !bytes.Contains([]byte(s), []byte("Dong chi dang-vien-1")) {
		t.Errorf("the participant's downloaded book is not stamped with their name")
	}
	_, view := w.book(t, bystander, meeting, documentsv1.AccessKind_ACCESS_KIND_VIEW)
	_, plain := w.book(t, bystander, meeting, documentsv1.AccessKind_ACCESS_KIND_DOWNLOAD)
	if !bytes.Equal(plain, view) {
		t.Errorf("the book of downloadable papers was changed on download")
	}
}

func TestMeetingBookRefusals(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	_, err := w.client.OpenMeetingBook(testenv.As(attendee), &documentsv1.OpenMeetingBookRequest{MeetingId: meeting, Access: documentsv1.AccessKind_ACCESS_KIND_VIEW})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("book of a meeting without papers: %v, want FailedPrecondition", err)
	}
	nd := paper(meeting, "Dự thảo", "du-thao.pdf")
	nd.DownloadPolicy = documentsv1.DownloadPolicy_DOWNLOAD_POLICY_VIEW_ONLY
	w.upload(t, secretary, nd, testenv.PDF(1, 0))
	_, err = w.client.OpenMeetingBook(testenv.As(attendee), &documentsv1.OpenMeetingBookRequest{MeetingId: meeting, Access: documentsv1.AccessKind_ACCESS_KIND_DOWNLOAD})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("download of a book holding a view-only paper: %v, want PermissionDenied", err)
	}
	_, err = w.client.OpenMeetingBook(testenv.As(otherCell), &documentsv1.OpenMeetingBookRequest{MeetingId: meeting, Access: documentsv1.AccessKind_ACCESS_KIND_VIEW})
	if status.Code(err) != codes.NotFound {
		t.Errorf("book for a member of another cell: %v, want NotFound", err)
	}
	_, err = w.client.OpenMeetingBook(testenv.As(attendee), &documentsv1.OpenMeetingBookRequest{MeetingId: "x"})
	if got := testenv.ViolatedFields(t, err); !slices.Equal(got, []string{"meeting_id", "access"}) {
		t.Errorf("violations = %v, want meeting_id and access", got)
	}
}
