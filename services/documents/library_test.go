package documents

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// The bloc committee (khoi) publishes to its two grassroots organisations
// and their cells: cell 1 with two members, cell 2 with one; a member of
// another province reads nothing.
var (
	blocAdmin  = identity.Claims{Subject: "qt-khoi", Name: "Quản trị Khối", Orgs: []string{"khoi"}, AdminOrgs: []string{"khoi", "cs-1", "chi-bo-1", "cs-2"}}
	cellAdmin  = identity.Claims{Subject: "bt-chi-bo-1", Name: "Bí thư chi bộ 1", Orgs: []string{"chi-bo-1"}, AdminOrgs: []string{"chi-bo-1"}}
	cellMember = person("dv-chi-bo-1", "cs-1", "chi-bo-1")
	cell2      = person("dv-cs-2", "cs-2")
	elsewhere  = person("dv-tinh-khac", "tinh-khac")
)

func (w *world) library() {
	d := w.meetings.directory
	d.addOrg("khoi", "", "Đảng bộ Khối")
	d.addOrg("cs-1", "khoi", "Đảng bộ cơ sở 1")
	d.addOrg("chi-bo-1", "cs-1", "Chi bộ 1", cellAdmin.Subject, cellMember.Subject)
	d.addOrg("cs-2", "khoi", "Đảng bộ cơ sở 2", cell2.Subject)
	// The cell's member is also on the grassroots organisation's list: counted once, in the cell.
	d.addOrg("tinh-khac", "", "Tỉnh khác", elsewhere.Subject)
	d.members["cs-1"] = d.members["chi-bo-1"][1:]
}

func material(title string) *documentsv1.NewDocument {
	return &documentsv1.NewDocument{OrganizationId: "khoi", LibraryPeriod: "2026-11", Title: title, FileName: "tl.pdf",
		Kind: documentsv1.DocumentKind_DOCUMENT_KIND_CELL_MATERIAL, Classification: documentsv1.Classification_CLASSIFICATION_INTERNAL}
}

func TestLibraryPublishReadAndReport(t *testing.T) {
	w := newWorld(t)
	w.library()
	d := w.upload(t, blocAdmin, material("Tài liệu sinh hoạt chi bộ tháng 11"), testenv.PDF(2, 0))
	if d.GetMeetingId() != "" || d.GetLibraryPeriod() != "2026-11" || d.GetOrganizationId() != "khoi" {
		t.Errorf("library document = %v", d)
	}
	var audience []string
	rows, err := w.pool.Query(t.Context(), `SELECT organization_id FROM library_audience WHERE document_id = $1 ORDER BY depth, organization_id`, d.GetId())
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var o string
		_ = rows.Scan(&o)
		audience = append(audience, o)
	}
	if want := []string{"khoi", "cs-1", "cs-2", "chi-bo-1"}; !slices.Equal(audience, want) {
		t.Errorf("published to %v, want %v", audience, want)
	}
	// Every organisation it went to is told, so each cell's tablets hear
	// of it live (the live channel passes an event to the members of the
	// organisation it names).
	events := testenv.Consumer(t, w.js, w.stream)
	eventOrgs := func(suffix string) []string {
		t.Helper()
		var orgs []string
		for len(orgs) < len(audience) {
			msg := testenv.Next(t, events)
			if strings.HasSuffix(msg.Subject(), ".library."+suffix) {
				orgs = append(orgs, msg.Headers().Get("Ecabinet-Org"))
			}
		}
		return orgs
	}
	if orgs := eventOrgs("added"); !slices.Equal(orgs, audience) {
		t.Errorf("added events for %v, want one for each of %v", orgs, audience)
	}

	// Members below read it and find it in the library; others do not.
	for _, c := range []identity.Claims{cellMember, cell2, cellAdmin} {
		list, err := w.client.ListLibrary(testenv.As(c), &documentsv1.ListLibraryRequest{})
		if err != nil || len(list.GetDocuments()) != 1 || list.GetDocuments()[0].GetId() != d.GetId() {
			t.Errorf("library of %s = %v (%v), want the month's material", c.Subject, list.GetDocuments(), err)
		}
		if _, err := w.client.GetDocument(testenv.As(c), &documentsv1.GetDocumentRequest{DocumentId: d.GetId()}); err != nil {
			t.Errorf("GetDocument as %s: %v", c.Subject, err)
		}
	}
	if list, err := w.client.ListLibrary(testenv.As(elsewhere), &documentsv1.ListLibraryRequest{}); err != nil || len(list.GetDocuments()) != 0 {
		t.Errorf("library of another province = %v (%v), want nothing", list.GetDocuments(), err)
	}
	if _, err := w.client.GetDocument(testenv.As(elsewhere), &documentsv1.GetDocumentRequest{DocumentId: d.GetId()}); status.Code(err) != codes.NotFound {
		t.Errorf("GetDocument from another province: %v, want NotFound", err)
	}
	if list, err := w.client.ListLibrary(testenv.As(cellMember), &documentsv1.ListLibraryRequest{Period: "2026-10"}); err != nil || len(list.GetDocuments()) != 0 {
		t.Errorf("library of October = %v (%v), want nothing", list.GetDocuments(), err)
	}

	// Study: the cell member reads it through.
	w.study(t, cellMember, d.GetId(), []int32{1, 2}, false)
	r, err := w.client.GetStudyReport(testenv.As(blocAdmin), &documentsv1.GetStudyReportRequest{DocumentId: d.GetId()})
	if err != nil {
		t.Fatalf("report for the bloc: %v", err)
	}
	// Members: the cell's admin and member (once, in the cell) and cell 2's.
	if r.GetExpected() != 3 || r.GetStudied() != 1 || r.GetOpened() != 1 {
		t.Errorf("bloc report: expected %d, opened %d, studied %d; want 3, 1, 1", r.GetExpected(), r.GetOpened(), r.GetStudied())
	}
	var units []string
	for _, o := range r.GetOrganizations() {
		units = append(units, o.GetOrganizationId())
	}
	// Fewest studied (by share) first; organisations without members of
	// their own are left out.
	if !slices.Equal(units, []string{"cs-2", "chi-bo-1"}) {
		t.Errorf("organisations in the report = %v", units)
	}
	for _, row := range r.GetRows() {
		if row.GetPersonId() == cellMember.Subject && (row.GetOrganizationId() != "chi-bo-1" || !row.GetReadToEnd()) {
			t.Errorf("the cell member's row = %v, want counted in the cell, studied", row)
		}
	}
	// The cell's secretary sees their cell only.
	r, err = w.client.GetStudyReport(testenv.As(cellAdmin), &documentsv1.GetStudyReportRequest{DocumentId: d.GetId()})
	if err != nil || r.GetExpected() != 2 || len(r.GetOrganizations()) != 1 {
		t.Errorf("report for the cell = %v (%v), want its 2 members", r, err)
	}
	if _, err := w.client.GetStudyReport(testenv.As(cellMember), &documentsv1.GetStudyReportRequest{DocumentId: d.GetId()}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("report for a member: %v, want PermissionDenied", err)
	}
	x, err := w.client.ExportStudyReport(testenv.As(blocAdmin), &documentsv1.ExportStudyReportRequest{DocumentId: d.GetId()})
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(x.GetXlsx()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	units2, err := f.GetRows("Theo đơn vị")
	if err != nil || len(units2) != 3 || units2[2][0] != "Chi bộ 1" || units2[2][3] != "50,0 %" {
		t.Errorf("per-organisation sheet = %q (%v)", units2, err)
	}

	// Only the bloc's administrators replace or withdraw it.
	if _, err := w.client.WithdrawDocument(testenv.As(cellAdmin), &documentsv1.WithdrawDocumentRequest{DocumentId: d.GetId()}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a cell withdrawing the bloc's material: %v, want PermissionDenied", err)
	}
	if _, err := w.client.WithdrawDocument(testenv.As(blocAdmin), &documentsv1.WithdrawDocumentRequest{DocumentId: d.GetId()}); err != nil {
		t.Errorf("the bloc withdrawing its material: %v", err)
	}
	if orgs := eventOrgs("withdrawn"); !slices.Equal(orgs, audience) {
		t.Errorf("withdrawn events for %v, want one for each of %v", orgs, audience)
	}
}

func TestLibraryRefusals(t *testing.T) {
	w := newWorld(t)
	w.library()
	bad := material("Tài liệu")
	bad.LibraryPeriod = "2026-13"
	bad.Classification = documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL
	bad.AgendaItemId = "0191e4a0-0000-7000-8000-000000000001"
	_, err := w.sendUpload(testenv.As(blocAdmin), newDocument(bad), testenv.PDF(1, 0))
	want := []string{"new_document.library_period", "new_document.agenda_item_id", "new_document.classification"}
	if got := testenv.ViolatedFields(t, err); !slices.Equal(got, want) {
		t.Errorf("violations = %v, want %v", got, want)
	}
	if _, err := w.sendUpload(testenv.As(cellAdmin), newDocument(material("Tài liệu")), testenv.PDF(1, 0)); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a cell publishing for the bloc: %v, want PermissionDenied", err)
	}
	if _, err := w.client.ListLibrary(testenv.As(cellMember), &documentsv1.ListLibraryRequest{Period: "tháng 11"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("ListLibrary with a bad period: %v, want InvalidArgument", err)
	}
	w.nothingLeft(t, 0)
}
