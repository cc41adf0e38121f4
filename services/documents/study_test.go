package documents

import (
	"bytes"
	"slices"
	"sync"
	"testing"

	"github.com/xuri/excelize/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

func (w *world) study(t *testing.T, c identity.Claims, id string, pages []int32, end bool) *documentsv1.StudyProgress {
	t.Helper()
	resp, err := w.client.RecordStudy(testenv.As(c), &documentsv1.RecordStudyRequest{DocumentId: id, PagesSeen: pages, ReachedEnd: end})
	if err != nil {
		t.Fatalf("RecordStudy(%s, %v) as %s: %v", id, pages, c.Subject, err)
	}
	return resp.GetProgress()
}

func TestStudyTracking(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	d := w.upload(t, secretary, paper(meeting, "Nghị quyết 05", "nq05.pdf"), testenv.PDF(3, 0))
	events := testenv.Consumer(t, w.js, w.stream)
	testenv.Next(t, events) // added

	p := w.study(t, attendee, d.GetId(), []int32{1}, false)
	if !slices.Equal(p.GetPagesSeen(), []int32{1}) || p.GetReadToEnd() || p.GetPageCount() != 3 || p.GetFirstOpenTime() == nil {
		t.Errorf("after page 1: %v, want pages [1] of 3, not read to the end", p)
	}
	studied := func(wantEnd bool) {
		t.Helper()
		msg := testenv.Next(t, events)
		var ev documentsv1.DocumentStudied
		if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
			t.Fatalf("payload: %v", err)
		}
		if want := w.prefix + "ecabinet.documents.v1." + meeting + ".studied"; msg.Subject() != want {
			t.Errorf("subject = %q, want %q", msg.Subject(), want)
		}
		if ev.GetDocumentId() != d.GetId() || ev.GetReadToEnd() != wantEnd || ev.GetMeta().GetActorId() != "" {
			t.Errorf("studied event = %v, want %s, read to end %v, and no word of who", &ev, d.GetId(), wantEnd)
		}
	}
	studied(false) // first open

	// Pages arrive in any order and repeated; seeing every page of a PDF
	// is reading it to the end.
	p = w.study(t, attendee, d.GetId(), []int32{3, 2, 2}, false)
	if !slices.Equal(p.GetPagesSeen(), []int32{1, 2, 3}) || !p.GetReadToEnd() {
		t.Errorf("after pages 3, 2, 2: %v, want pages [1 2 3], read to the end", p)
	}
	studied(true)
	// Nothing new: no event (the next one is the secretary's first open).
	w.study(t, attendee, d.GetId(), []int32{1}, true)
	w.study(t, secretary, d.GetId(), nil, false)
	msg := testenv.Next(t, events)
	var ev documentsv1.DocumentStudied
	if err := proto.Unmarshal(msg.Data(), &ev); err != nil || ev.GetReadToEnd() {
		t.Errorf("next studied event = %v (%v), want the secretary's first open", &ev, err)
	}
	// An organisation member outside the meeting may read an internal
	// paper and is tracked, but is not among those expected to study it.
	w.study(t, bystander, d.GetId(), []int32{1, 2, 3}, false)

	r, err := w.client.GetStudyReport(testenv.As(chair), &documentsv1.GetStudyReportRequest{DocumentId: d.GetId()})
	if err != nil {
		t.Fatalf("GetStudyReport: %v", err)
	}
	// Expected: chair, secretary, attendee (not the observer); opened: the
	// secretary and the attendee; studied: the attendee.
	if r.GetExpected() != 3 || r.GetOpened() != 2 || r.GetStudied() != 1 || r.GetTitle() != "Nghị quyết 05" || r.GetPageCount() != 3 {
		t.Errorf("report totals = expected %d, opened %d, studied %d (%q, %d pages), want 3, 2, 1",
			r.GetExpected(), r.GetOpened(), r.GetStudied(), r.GetTitle(), r.GetPageCount())
	}
	var order []string
	for _, row := range r.GetRows() {
		order = append(order, row.GetPersonId())
	}
	// Not studied first, by name: chu-tri, thu-ky; then dang-vien-1.
	if want := []string{chair.Subject, secretary.Subject, attendee.Subject}; !slices.Equal(order, want) {
		t.Errorf("report rows = %v, want %v", order, want)
	}
	last := r.GetRows()[2]
	if !last.GetOpened() || last.GetPagesSeen() != 3 || !last.GetReadToEnd() || last.GetLastTime() == nil || last.GetFullName() != fullName(attendee.Subject) {
		t.Errorf("attendee's row = %v", last)
	}
	if first := r.GetRows()[0]; first.GetOpened() || first.GetLastTime() != nil {
		t.Errorf("chair's row = %v, want never opened", first)
	}
}

func TestStudyReportAccess(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	d := w.upload(t, secretary, paper(meeting, "Báo cáo", "bc.pdf"), testenv.PDF(1, 0))
	for _, tc := range []struct {
		who  identity.Claims
		want codes.Code
	}{
		{chair, codes.OK},
		{secretary, codes.OK},
		{adminA, codes.OK},
		{attendee, codes.PermissionDenied},
		{observer, codes.PermissionDenied},
		{otherCell, codes.NotFound},
	} {
		_, err := w.client.GetStudyReport(testenv.As(tc.who), &documentsv1.GetStudyReportRequest{DocumentId: d.GetId()})
		if got := status.Code(err); got != tc.want {
			t.Errorf("GetStudyReport as %s: %v, want %v", tc.who.Subject, err, tc.want)
		}
	}
	// A reader who may not see the paper cannot record studying it either.
	_, err := w.client.RecordStudy(testenv.As(otherCell), &documentsv1.RecordStudyRequest{DocumentId: d.GetId(), PagesSeen: []int32{1}})
	if status.Code(err) != codes.NotFound {
		t.Errorf("RecordStudy by a member of another cell: %v, want NotFound", err)
	}
}

func TestRecordStudyRefusesBadPages(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	d := w.upload(t, secretary, paper(meeting, "Báo cáo", "bc.pdf"), testenv.PDF(2, 0))
	_, err := w.client.RecordStudy(testenv.As(attendee), &documentsv1.RecordStudyRequest{DocumentId: d.GetId(), PagesSeen: []int32{1, 0, 3, -1}})
	if got, want := testenv.ViolatedFields(t, err), []string{"pages_seen[1]", "pages_seen[2]", "pages_seen[3]"}; !slices.Equal(got, want) {
		t.Errorf("violated fields = %v, want %v", got, want)
	}
	_, err = w.client.RecordStudy(testenv.As(attendee), &documentsv1.RecordStudyRequest{DocumentId: "nope"})
	if got := testenv.ViolatedFields(t, err); !slices.Equal(got, []string{"document_id"}) {
		t.Errorf("RecordStudy with a bad id: %v, want a violation of document_id", err)
	}
	// Nothing was recorded by the refused calls.
	if n := w.count(t, "study"); n != 0 {
		t.Errorf("%d study rows after refused calls, want 0", n)
	}
}

func TestExportStudyReport(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	d := w.upload(t, secretary, paper(meeting, "Nghị quyết Đại hội XIV", "nq.pdf"), testenv.PDF(1, 0))
	w.study(t, attendee, d.GetId(), []int32{1}, false)

	resp, err := w.client.ExportStudyReport(testenv.As(chair), &documentsv1.ExportStudyReportRequest{DocumentId: d.GetId()})
	if err != nil {
		t.Fatalf("ExportStudyReport: %v", err)
	}
	if want := "theo-doi-hoc-tap - Nghị quyết Đại hội XIV.xlsx"; resp.GetFileName() != want {
		t.Errorf("file name = %q, want %q", resp.GetFileName(), want)
	}
	f, err := excelize.OpenReader(bytes.NewReader(resp.GetXlsx()))
	if err != nil {
		t.Fatalf("the export is not a workbook: %v", err)
	}
	defer f.Close()
	rows, err := f.GetRows("Theo dõi học tập")
	if err != nil {
		t.Fatalf("sheet: %v", err)
	}
	// Summary, blank, heading, then chair and secretary (not studied) and
	// the attendee, who read the only page.
	if len(rows) != 7 || rows[1][1] != "1/3 (33,3 %)" || rows[3][1] != "Họ và tên" ||
		!slices.Equal(rows[6][1:5], []string{fullName(attendee.Subject), "Có", "1", "Có"}) {
		t.Errorf("sheet rows = %q", rows)
	}
	if _, err := w.client.ExportStudyReport(testenv.As(attendee), &documentsv1.ExportStudyReportRequest{DocumentId: d.GetId()}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("ExportStudyReport as a member: %v, want PermissionDenied", err)
	}
}

// Two devices report their first pages at the same moment: both pages are
// kept and the first open is announced once.
func TestFirstStudyReportsFromTwoDevices(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	d := w.upload(t, secretary, paper(meeting, "Nghị quyết", "nq.pdf"), testenv.PDF(9, 0))
	var wg sync.WaitGroup
	for page := int32(1); page <= 8; page++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.study(t, attendee, d.GetId(), []int32{page}, false)
		}()
	}
	wg.Wait()
	var pages []int32
	if err := w.pool.QueryRow(t.Context(), `SELECT pages_seen FROM study WHERE document_id = $1`, d.GetId()).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if want := []int32{1, 2, 3, 4, 5, 6, 7, 8}; !slices.Equal(pages, want) {
		t.Errorf("pages kept = %v, want %v", pages, want)
	}
	var opens int
	if err := w.pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox WHERE subject LIKE '%.studied'`).Scan(&opens); err != nil {
		t.Fatal(err)
	}
	if opens != 1 {
		t.Errorf("%d studied events, want one first open", opens)
	}
}
