package directory

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
	"google.golang.org/grpc/codes"
)

// xlsxFile builds a workbook whose first sheet has the given rows, keyed
// by the row number Excel shows (so blank rows are simply missing keys).
func xlsxFile(t *testing.T, rows map[int][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for n, cells := range rows {
		if err := f.SetSheetRow("Sheet1", fmt.Sprintf("A%d", n), &cells); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var vnHeader = []any{"STT", "Họ và tên", "Số thẻ đảng", "Email", "Điện thoại", "Chức vụ", "Cơ quan", "Loại đảng viên", "Miễn sinh hoạt", "Ngày vào"}

type importWorld struct {
	*world
	top, a, b string
}

func newImportWorld(t *testing.T) importWorld {
	w := newWorld(t)
	top := w.org(t, "", "Đảng bộ Khối", bloc)
	return importWorld{world: w, top: top,
		a: w.cell(t, top, "Chi bộ VNPT Văn Yên"), b: w.cell(t, top, "Chi bộ Điện lực")}
}

func (w importWorld) importFile(t *testing.T, content []byte, name string, dryRun bool) *meetingsv1.ImportMembersResponse {
	t.Helper()
	r, err := w.dir.ImportMembers(testenv.As(adminOf(w.a)), &meetingsv1.ImportMembersRequest{
		OrganizationId: w.a, Content: content, FileName: name, DryRun: dryRun})
	if err != nil {
		t.Fatalf("ImportMembers(%s, dry run %v): %v", name, dryRun, err)
	}
	return r
}

// problem is an ImportProblem without its free-text reason.
type problem struct {
	Row    int32
	Column string
}

func problemsOf(r *meetingsv1.ImportMembersResponse) []problem {
	var out []problem
	for _, p := range r.GetProblems() {
		out = append(out, problem{p.GetRow(), p.GetColumn()})
	}
	return out
}

func (w importWorld) members(t *testing.T, org string) map[string]*meetingsv1.Membership {
	t.Helper()
	r, err := w.dir.ListMembers(testenv.As(sysAdmin()), &meetingsv1.ListMembersRequest{OrganizationId: org})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*meetingsv1.Membership{}
	for _, m := range r.GetMemberships() {
		out[m.GetPersonFullName()+"/"+m.GetBody().String()] = m
	}
	return out
}

func (w importWorld) nothingWritten(t *testing.T, people, memberships int) {
	t.Helper()
	if n := w.count(t, "people"); n != people {
		t.Errorf("people: %d, want %d (nothing written)", n, people)
	}
	if n := w.count(t, "memberships"); n != memberships {
		t.Errorf("memberships: %d, want %d (nothing written)", n, memberships)
	}
}

func TestImportXLSX(t *testing.T) {
	t.Parallel()
	w := newImportWorld(t)
	file := xlsxFile(t, map[int][]any{
		// A title above the table and a blank row, as real lists have.
		1: {"DANH SÁCH ĐẢNG VIÊN CHI BỘ VNPT VĂN YÊN"},
		3: vnHeader,
		4: {1, "Nguyễn Văn An", "79012345", "an@vnpt.vn", "0912 345 678", "Bí thư", "Toàn chi bộ", "Chính thức", "Không", time.Date(2010, 3, 15, 0, 0, 0, 0, time.UTC)},
		5: {2, "Nguyễn Văn An", "79012345", "an@vnpt.vn", "0912 345 678", "Bí thư", "BCH", "Chính thức", "Không", time.Date(2010, 3, 15, 0, 0, 0, 0, time.UTC)},
		// A phone number typed as a number, a date typed as text.
		6: {3, "Trần Thị Bình", "", "", 912345678, "Phó Bí thư", "", "Chính thức", "", "03/02/2015"},
		8: {4, "Lê Văn Cường", "79012347", "", "", "Đảng viên", "Toàn chi bộ", "Dự bị", "Có", "01/09/2024"},
	})

	dry := w.importFile(t, file, "danh-sach.xlsx", true)
	want := &meetingsv1.ImportMembersResponse{Rows: 4, PeopleCreated: 3, MembershipsCreated: 4}
	if diff := cmp.Diff(want, dry, protocmpTransform()); diff != "" {
		t.Fatalf("dry run (-want +got):\n%s", diff)
	}
	w.nothingWritten(t, 0, 0)

	got := w.importFile(t, file, "danh-sach.xlsx", false)
	want.Applied = true
	if diff := cmp.Diff(want, got, protocmpTransform()); diff != "" {
		t.Fatalf("import (-want +got):\n%s", diff)
	}
	ms := w.members(t, w.a)
	check := func(key string, role meetingsv1.PartyRole, standing meetingsv1.Standing, excused bool, start string) {
		t.Helper()
		m, ok := ms[key]
		if !ok {
			t.Errorf("no membership %s among %v", key, ms)
			return
		}
		if m.GetRole() != role || m.GetStanding() != standing || m.GetExcused() != excused || m.GetStartDate() != start {
			t.Errorf("%s = %v", key, m)
		}
	}
	check("Nguyễn Văn An/BODY_KIND_ALL_MEMBERS", secretary, official, false, "2010-03-15")
	check("Nguyễn Văn An/BODY_KIND_EXECUTIVE_COMMITTEE", secretary, official, false, "2010-03-15")
	check("Trần Thị Bình/BODY_KIND_ALL_MEMBERS", deputy, official, false, "2015-02-03")
	check("Lê Văn Cường/BODY_KIND_ALL_MEMBERS", plain, probationary, true, "2024-09-01")
	if ms["Nguyễn Văn An/BODY_KIND_ALL_MEMBERS"].GetPersonId() != ms["Nguyễn Văn An/BODY_KIND_EXECUTIVE_COMMITTEE"].GetPersonId() {
		t.Error("two rows with one card number became two people")
	}
	p, err := w.dir.GetPerson(testenv.As(sysAdmin()), &meetingsv1.GetPersonRequest{PersonId: ms["Trần Thị Bình/BODY_KIND_ALL_MEMBERS"].GetPersonId()})
	if err != nil || p.GetPerson().GetPhone() != "0912345678" {
		t.Errorf("phone typed as a number = %v, %v; want its leading 0 back", p, err)
	}
}

func TestImportCSVEnglishSemicolons(t *testing.T) {
	t.Parallel()
	w := newImportWorld(t)
	csv := "\ufeffFull name;Party card number;E-mail;Phone;Role;Body;Standing;Excused;Start date\r\n" +
		"Phạm Thị Dung;11111111;dung@example.vn;+84 912 000 111;Secretary;Standing committee;Official;No;2018-05-20\r\n" +
		"\"Hoàng Văn Em\";;;;member;all members;probationary;yes;\r\n"
	got := w.importFile(t, []byte(csv), "members.csv", false)
	if diff := cmp.Diff(&meetingsv1.ImportMembersResponse{Rows: 2, PeopleCreated: 2, MembershipsCreated: 2, Applied: true}, got, protocmpTransform()); diff != "" {
		t.Fatalf("import (-want +got):\n%s", diff)
	}
	ms := w.members(t, w.a)
	if m := ms["Phạm Thị Dung/BODY_KIND_STANDING_COMMITTEE"]; m.GetRole() != secretary || m.GetStartDate() != "2018-05-20" {
		t.Errorf("Dung = %v", m)
	}
	if m := ms["Hoàng Văn Em/BODY_KIND_ALL_MEMBERS"]; m.GetStanding() != probationary || !m.GetExcused() || m.GetStartDate() != today().Format(dateLayout) {
		t.Errorf("Em = %v", m)
	}
}

func TestImportDryRunReportsEveryBadRow(t *testing.T) {
	t.Parallel()
	w := newImportWorld(t)
	csv := strings.Join([]string{
		"Họ và tên,Số thẻ đảng,Email,Chức vụ,Loại đảng viên,Miễn sinh hoạt,Ngày vào",
		"Nguyễn Văn An,100,,Bí thư,Chính thức,,01/01/2000", // 2: fine
		",101,,,Chính thức,,",                         // 3: no name
		"Trần Văn Bé,102,be@,,Chính thứcc,,",          // 4: e-mail, standing
		"Lê Thị Cúc,10 3,,Chủ tịch,Dự bị,,31/02/2020", // 5: role, date
		"", // 6: blank, skipped
		"Đỗ Văn Dân,104,,,Dự bị,,01/01/2999",                    // 7: future date
		"Võ Thị Én,105?,,,Chính thức,có lẽ,01/01/1920",          // 8: card, excused, date before 1930
		"Mai Văn Gấm,106,,,,,",                                  // 9: no standing
		"\"Phan Văn\nHùng\",107,,,Chính thức,,",                 // 10: line break collapses; fine
		"Ngô Thị Ích,108,,Đảng viên,Chính thức,Không,15/8/2005", // 12 (10 spans two lines): fine
	}, "\n")
	got := w.importFile(t, []byte(csv), "loi.csv", true)
	want := []problem{
		{3, "Họ và tên"},
		{4, "Email"}, {4, "Loại đảng viên"},
		{5, "Chức vụ"}, {5, "Ngày vào"},
		{7, "Ngày vào"},
		{8, "Số thẻ đảng"}, {8, "Miễn sinh hoạt"}, {8, "Ngày vào"},
		{9, "Loại đảng viên"},
	}
	if diff := cmp.Diff(want, problemsOf(got)); diff != "" {
		t.Errorf("problems (-want +got):\n%s\nall: %v", diff, got.GetProblems())
	}
	if got.GetRows() != 9 || got.GetApplied() {
		t.Errorf("rows = %d, applied = %v; want 9, false", got.GetRows(), got.GetApplied())
	}
	for _, p := range got.GetProblems() {
		if p.GetReason() == "" || !strings.ContainsAny(p.GetReason(), "ạảãáàâấầẩẫậăắằẳẵặđêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ") {
			t.Errorf("reason %q is not Vietnamese", p.GetReason())
		}
	}
	w.nothingWritten(t, 0, 0)

	// The same file imported for real: the same report, nothing written.
	real := w.importFile(t, []byte(csv), "loi.csv", false)
	if diff := cmp.Diff(want, problemsOf(real)); diff != "" || real.GetApplied() {
		t.Errorf("real import with bad rows: applied %v, problems (-want +got):\n%s", real.GetApplied(), diff)
	}
	w.nothingWritten(t, 0, 0)

	// Row numbers in an .xlsx are the sheet's, title rows included.
	x := xlsxFile(t, map[int][]any{
		1: {"Danh sách"},
		2: vnHeader,
		3: {1, "Nguyễn Văn An", "", "", "", "", "", "Chính thức"},
		5: {2, "Trần Văn Bé", "", "", "12", "", "Ban kiểm tra", "Chính thức"},
	})
	got = w.importFile(t, x, "loi.xlsx", true)
	if diff := cmp.Diff([]problem{{5, "Điện thoại"}, {5, "Cơ quan"}}, problemsOf(got)); diff != "" {
		t.Errorf("xlsx problems (-want +got):\n%s", diff)
	}
}

func TestImportDuplicates(t *testing.T) {
	t.Parallel()
	w := newImportWorld(t)
	// Already in the directory: Dũng and Hùng in the other cell, Em in
	// this one.
	w.member(t, w.person(t, "Phạm Văn Dũng", "D100"), w.b)
	w.member(t, w.person(t, "Đỗ Văn Hùng", "X300"), w.b)
	em := w.person(t, "Hoàng Thị Em", "")
	w.member(t, em, w.a)
	people, memberships := w.count(t, "people"), w.count(t, "memberships")

	header := "Họ và tên,Số thẻ đảng,Chức vụ,Cơ quan,Loại đảng viên\n"
	good := "Phạm Văn Dũng,D100,Đảng viên,Toàn chi bộ,Chính thức\n" + // 2: moves in: same person
		"Hoàng Thị Em,,Đảng viên,Toàn chi bộ,Chính thức\n" + // 3: already a member, identical
		"Ngô Văn Phúc,P200,Đảng viên,Toàn chi bộ,Chính thức\n" // 4: new
	bad := "Ngô Văn Phúc,P 200,Ủy viên,Toàn chi bộ,Chính thức\n" + // 5: same card, same body as 4
		"Ngô Văn Khác,P200,Ủy viên,BCH,Chính thức\n" + // 6: card of row 4, other name
		"Vũ Thị Giang,X300,Đảng viên,Toàn chi bộ,Chính thức\n" + // 7: card of someone else in the directory
		"Nguyễn Văn Hai,,Đảng viên,,Chính thức\n" + // 8 and 9: identical rows
		"Nguyễn Văn Hai,,Đảng viên,,Chính thức\n" +
		"Nguyễn Văn Ba,,Đảng viên,,Chính thức\n" + // 10 and 11: namesakes told apart by nothing: duplicate
		"nguyễn văn  ba,,Đảng viên,,Chính thức\n" +
		"Ngô Văn Phúc,,Ủy viên,BCH,Chính thức\n" // 12: Phúc of row 4 without his card: which Phúc?
	got := w.importFile(t, []byte(header+good+bad), "trung.csv", true)
	if diff := cmp.Diff([]problem{{5, ""}, {6, "Số thẻ đảng"}, {7, "Số thẻ đảng"}, {9, ""}, {11, ""}, {12, "Họ và tên"}}, problemsOf(got)); diff != "" {
		t.Errorf("problems (-want +got):\n%s\nall: %v", diff, got.GetProblems())
	}
	w.nothingWritten(t, people, memberships)

	got = w.importFile(t, []byte(header+good), "trung.csv", false)
	if diff := cmp.Diff(&meetingsv1.ImportMembersResponse{Rows: 3, PeopleCreated: 1, MembershipsCreated: 2, Applied: true}, got, protocmpTransform()); diff != "" {
		t.Fatalf("import (-want +got):\n%s", diff)
	}
	if n := w.count(t, "people"); n != people+1 {
		t.Errorf("people = %d, want %d: existing people must be reused", n, people+1)
	}
	var dung int
	if err := w.pool.QueryRow(context.Background(), `SELECT count(DISTINCT person_id) FROM memberships m JOIN people p ON p.id = m.person_id WHERE p.party_card_number = 'D100'`).Scan(&dung); err != nil || dung != 1 {
		t.Errorf("Dũng's memberships belong to %d people, %v", dung, err)
	}

	// Importing the same list again changes nothing.
	again := w.importFile(t, []byte(header+good), "trung.csv", false)
	if diff := cmp.Diff(&meetingsv1.ImportMembersResponse{Rows: 3, Applied: true}, again, protocmpTransform()); diff != "" {
		t.Errorf("second import (-want +got):\n%s", diff)
	}
	// A row that contradicts an existing membership is refused, not
	// silently ignored or overwritten.
	conflict := w.importFile(t, []byte(header+"Hoàng Thị Em,,Phó Bí thư,Toàn chi bộ,Chính thức\n"), "trung.csv", true)
	if diff := cmp.Diff([]problem{{2, ""}}, problemsOf(conflict)); diff != "" {
		t.Errorf("conflicting membership (-want +got):\n%s", diff)
	}
	// Two namesakes in the organisation: a row without a card number
	// cannot say which one it means.
	w.member(t, w.person(t, "Hoàng Thị Em", ""), w.a)
	ambiguous := w.importFile(t, []byte(header+"Hoàng Thị Em,,Đảng viên,BCH,Chính thức\n"), "trung.csv", true)
	if diff := cmp.Diff([]problem{{2, "Họ và tên"}}, problemsOf(ambiguous)); diff != "" {
		t.Errorf("ambiguous name (-want +got):\n%s", diff)
	}
}

func TestImportWrongColumns(t *testing.T) {
	t.Parallel()
	w := newImportWorld(t)
	for _, tc := range []struct {
		name, content string
		want          []problem
	}{
		{"no header at all", "Tên,Tuổi\nAn,30\n", []problem{{0, ""}}},
		{"unknown, duplicate and missing columns", "Họ và tên,Tuổi,Email,E-mail,Ghi chú\nAn,30,a@b.vn,a@b.vn,\n",
			[]problem{{0, "Tuổi"}, {0, "E-mail"}, {0, "Loại đảng viên"}}},
		{"header only", "Họ và tên,Loại đảng viên\n\n", []problem{{0, ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, dry := range []bool{true, false} {
				got := w.importFile(t, []byte(tc.content), "sai.csv", dry)
				if diff := cmp.Diff(tc.want, problemsOf(got)); diff != "" || got.GetApplied() {
					t.Errorf("dry run %v: applied %v, problems (-want +got):\n%s\nall: %v", dry, got.GetApplied(), diff, got.GetProblems())
				}
			}
			w.nothingWritten(t, 0, 0)
		})
	}
}

func TestImportNotASpreadsheet(t *testing.T) {
	t.Parallel()
	w := newImportWorld(t)
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0xff, 0x00, 0x9c}, 100)...)
	garbage := make([]byte, 512)
	for i := range garbage {
		garbage[i] = byte(i*7 + 3)
	}
	ole := append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 500)...)
	for _, tc := range []struct {
		name    string
		content []byte
		file    string
	}{
		{"png", png, "anh.png"},
		{"png named xlsx", png, "danh-sach.xlsx"},
		{"garbage", garbage, "x.bin"},
		{"empty", nil, "rong.xlsx"},
		{"white space", []byte(" \n\n "), "rong.csv"},
		{"old xls", ole, "cu.xls"},
		{"text named xlsx", []byte("Họ và tên,Loại đảng viên\nAn,Chính thức\n"), "gia.xlsx"},
		{"broken zip", append([]byte("PK\x03\x04"), garbage...), "hong.xlsx"},
		{"windows-1258 csv", []byte("H\xd2 v\xe0 t\xean,Lo\xe0i\nAn,x\n"), "ansi.csv"},
		{"utf-16", []byte{0xFF, 0xFE, 'H', 0, 'o', 0}, "u16.csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, dry := range []bool{true, false} {
				got := w.importFile(t, tc.content, tc.file, dry)
				if len(got.GetProblems()) != 1 || got.GetProblems()[0].GetRow() != 0 || got.GetProblems()[0].GetReason() == "" || got.GetApplied() {
					t.Errorf("dry run %v: %v; want one file-level problem", dry, got)
				}
			}
			w.nothingWritten(t, 0, 0)
		})
	}
}

func TestImportAllOrNothing(t *testing.T) {
	t.Parallel()
	w := newImportWorld(t)
	// Make the database refuse the membership of one row, after the
	// people and the earlier memberships have been written in the
	// import's transaction.
	_, err := w.pool.Exec(context.Background(), `
		CREATE FUNCTION fail_mid_import() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF (SELECT full_name FROM people WHERE id = NEW.person_id) = 'Lỗi Giữa Chừng' THEN
				RAISE EXCEPTION 'forced failure in the middle of an import';
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER fail_mid_import BEFORE INSERT ON memberships FOR EACH ROW EXECUTE FUNCTION fail_mid_import();`)
	if err != nil {
		t.Fatal(err)
	}
	csv := "Họ và tên,Số thẻ đảng,Loại đảng viên\n" +
		"Một,1,Chính thức\nHai,2,Chính thức\nLỗi Giữa Chừng,3,Chính thức\nBốn,4,Chính thức\n"
	// The checks pass (the trigger is beyond them)…
	if dry := w.importFile(t, []byte(csv), "a.csv", true); len(dry.GetProblems()) != 0 || dry.GetPeopleCreated() != 4 {
		t.Fatalf("dry run = %v", dry)
	}
	// …the write fails half-way, and nothing at all remains.
	_, err = w.dir.ImportMembers(testenv.As(adminOf(w.a)), &meetingsv1.ImportMembersRequest{OrganizationId: w.a, Content: []byte(csv), FileName: "a.csv"})
	testenv.Code(t, err, codes.Internal)
	w.nothingWritten(t, 0, 0)
}

func TestImportPermissions(t *testing.T) {
	t.Parallel()
	w := newImportWorld(t)
	csv := []byte("Họ và tên,Loại đảng viên\nAn,Chính thức\n")
	for _, who := range []struct {
		name string
		ctx  context.Context
	}{
		{"member", testenv.As(memberOf(w.a))},
		{"admin of another cell", testenv.As(adminOf(w.b))},
		{"gateway", testenv.As(gateway())},
	} {
		_, err := w.dir.ImportMembers(who.ctx, &meetingsv1.ImportMembersRequest{OrganizationId: w.a, Content: csv, FileName: "a.csv"})
		testenv.Code(t, err, codes.PermissionDenied)
	}
	// An administrator of the bloc (whose rights reach every cell) may.
	r, err := w.dir.ImportMembers(testenv.As(adminOf(w.top, w.a, w.b)), &meetingsv1.ImportMembersRequest{OrganizationId: w.a, Content: csv, FileName: "a.csv"})
	if err != nil || !r.GetApplied() {
		t.Errorf("bloc admin import = %v, %v", r, err)
	}
	w.nothingWritten(t, 1, 1)
}
