package minutes

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
)

// The PDF is checked without external tools: fpdf writes text in a UTF-8
// TrueType font as Identity-H strings of 16-bit codes (the Unicode code
// points, UTF-16BE), a ToUnicode CMap mapping those codes back to Unicode,
// and a CIDToGIDMap from codes to the embedded font's glyphs. Decoding the
// content streams with the same mapping a viewer's text extraction uses
// gives back the text, and the CIDToGIDMap shows that each Vietnamese
// letter has a real glyph (not glyph 0, the empty box).

var streamRE = regexp.MustCompile(`(?s)stream\r?\n(.*?)\r?\nendstream`)

// streams returns every stream of the PDF, inflated where it is compressed.
func streams(t *testing.T, pdf []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for _, m := range streamRE.FindAllSubmatch(pdf, -1) {
		raw := m[1]
		r, err := zlib.NewReader(bytes.NewReader(raw))
		if err != nil {
			out = append(out, raw)
			continue
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("inflate stream: %v", err)
		}
		out = append(out, b)
	}
	return out
}

// pdfText returns the text drawn by the content streams: the string
// operands of Tj/TJ decoded as UTF-16BE, with every run of white space
// (line breaks from wrapping included) as one space.
func pdfText(t *testing.T, pdf []byte) string {
	return strings.Join(strings.Fields(pdfLines(t, pdf)), " ")
}

// pdfLines is the drawn text, one line per text object.
func pdfLines(t *testing.T, pdf []byte) string {
	t.Helper()
	var b strings.Builder
	for _, s := range streams(t, pdf) {
		if !bytes.Contains(s, []byte("BT ")) {
			continue
		}
		for _, obj := range bytes.Split(s, []byte("BT ")) {
			end := bytes.Index(obj, []byte("ET"))
			if end < 0 {
				continue
			}
			b.WriteString(decodeStrings(t, obj[:end]))
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// decodeStrings decodes the literal strings "( ... )" in a text object.
func decodeStrings(t *testing.T, obj []byte) string {
	var out strings.Builder
	for i := 0; i < len(obj); i++ {
		if obj[i] != '(' {
			continue
		}
		var raw []byte
		for i++; i < len(obj) && obj[i] != ')'; i++ {
			c := obj[i]
			if c == '\\' && i+1 < len(obj) {
				i++
				switch obj[i] {
				case 'n':
					c = '\n'
				case 'r':
					c = '\r'
				case 't':
					c = '\t'
				default:
					c = obj[i] // \\, \(, \)
				}
			}
			raw = append(raw, c)
		}
		if len(raw)%2 != 0 {
			t.Fatalf("string of odd length %d in a text object: not Identity-H", len(raw))
		}
		u := make([]uint16, len(raw)/2)
		for k := range u {
			u[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
		}
		out.WriteString(string(utf16.Decode(u)))
	}
	return out.String()
}

func approvedContent() (*revision, content) {
	m := testMeeting()
	h := buildHeader(m, &meetingsv1.Organization{Name: "Chi bộ VNPT Văn Yên"}, &meetingsv1.Organization{Name: "Đảng bộ Khối Cơ quan tỉnh"})
	items := liveItems(m, []item{
		{AgendaItemID: "a", Discussion: "Đồng chí Bí thư quán triệt Nghị quyết số 18-NQ/TW.\nCác đồng chí thống nhất cao.",
			Opinions: "Ý kiến: cần đẩy mạnh chuyển đổi số; <script>alert(1)</script> (giữ nguyên văn bản)", Conclusions: "Thống nhất ban hành kế hoạch thực hiện trước ngày 15/12."},
	}, map[string][]vote{"a": {{PollID: "p1", Title: "Thông qua kế hoạch", Summary: "Tán thành 9/9 (100%) — thông qua"}}})
	r := &revision{Revision: 1, State: approved, ApprovedByName: "Nguyễn Văn An",
		ApproveTime: time.Date(2026, 11, 26, 4, 45, 0, 0, time.UTC)}
	r.ContentHash = contentHash("m1", r, content{h, items})
	return r, content{Header: h, Items: items}
}

func TestPDFHasVietnameseText(t *testing.T) {
	s := New(Deps{Locality: "Yên Bái"})
	r, c := approvedContent()
	pdf, err := s.renderPDF(r, c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Contains(pdf, []byte("%%EOF")) {
		t.Fatal("not a complete PDF")
	}
	if dir := os.Getenv("MINUTES_PDF_OUT"); dir != "" {
		// For looking at by hand (pdftotext, pdftoppm).
		if err := os.WriteFile(filepath.Join(dir, "minutes-approved.pdf"), pdf, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The font is embedded: a Type0 font over DejaVu Sans (regular and
	// bold), with its TrueType program and a ToUnicode map.
	for _, want := range []string{"/BaseFont /utf8dejavusans", "/BaseFont /utf8dejavusansB", "/FontFile2", "/ToUnicode", "/Encoding /Identity-H"} {
		if !bytes.Contains(pdf, []byte(want)) {
			t.Errorf("PDF lacks %q", want)
		}
	}
	all := streams(t, pdf)
	var cmap []byte
	var cidToGID [][]byte // one per font face
	for _, s := range all {
		switch {
		case bytes.Contains(s, []byte("begincmap")):
			cmap = s
		case len(s) == 2*65536: // fpdf's CIDToGIDMap: two bytes per code
			cidToGID = append(cidToGID, s)
		}
	}
	// The ToUnicode map sends each code to the same Unicode code point, so
	// the codes in the content are the letters themselves.
	if !bytes.Contains(cmap, []byte("<0000> <FFFF> <0000>")) {
		t.Fatalf("ToUnicode CMap is not the identity map fpdf writes: %q", cmap)
	}
	if len(cidToGID) != 2 {
		t.Fatalf("%d CIDToGIDMaps, want 2 (regular and bold)", len(cidToGID))
	}
	glyph := func(m []byte, r rune) int { return int(m[2*r])<<8 | int(m[2*r+1]) }
	// Both faces print these; each must have a real glyph for them.
	for _, r := range "ộưđ" {
		for i, m := range cidToGID {
			if glyph(m, r) == 0 {
				t.Errorf("%q has no glyph in embedded font %d", r, i)
			}
		}
	}
	// These appear in one face or the other.
	for _, r := range "ĐẢỆễ" {
		if glyph(cidToGID[0], r) == 0 && glyph(cidToGID[1], r) == 0 {
			t.Errorf("%q has no glyph in the embedded fonts", r)
		}
	}

	text := pdfText(t, pdf)
	for _, want := range []string{
		"ĐẢNG BỘ KHỐI CƠ QUAN TỈNH", "CHI BỘ VNPT VĂN YÊN", "ĐẢNG CỘNG SẢN VIỆT NAM",
		"Yên Bái, ngày 26 tháng 11 năm 2026", "BIÊN BẢN", "Hội nghị Ban Thường vụ",
		"Bắt đầu lúc 08 giờ 00 phút, ngày 26 tháng 11 năm 2026", "Phòng họp tầng 3",
		"Nguyễn Văn An", "Trần Thị Bình", "tổng số 5 đồng chí; có mặt 3 đồng chí (trong đó 1 đồng chí dự trực tuyến); vắng mặt 2 đồng chí",
		"Phạm Thị Dung (lý do: Đi công tác)", "Lê Văn Cường",
		"1. Quán triệt nghị quyết", "Thảo luận:", "Nghị quyết số 18-NQ/TW", "Các đồng chí thống nhất cao",
		"<script>alert(1)</script> (giữ nguyên văn bản)", "Kết luận:", "trước ngày 15/12",
		"Tán thành 9/9 (100%) — thông qua", "2. Công tác cán bộ", "(Chưa có nội dung ghi chép.)",
		"Cuộc họp kết thúc lúc 11 giờ 30 phút cùng ngày.", "THƯ KÝ", "CHỦ TRÌ", "Đã duyệt",
		"lúc 11 giờ 45 phút, ngày 26 tháng 11 năm 2026", r.ContentHash,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	if strings.Contains(text, "Dự thảo") {
		t.Error("approved minutes marked as a draft")
	}
	if t.Failed() {
		t.Logf("extracted text:\n%s", pdfLines(t, pdf))
	}
}

func TestPDFOfADraft(t *testing.T) {
	s := New(Deps{})
	r, c := approvedContent()
	r.State, r.ContentHash, r.ApproveTime, r.Revision, r.AmendmentReason = draft, "", time.Time{}, 2, "Bổ sung kết luận mục 2"
	c.Header.EndsAt = nil
	pdf, err := s.renderPDF(r, c)
	if err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, pdf)
	for _, want := range []string{"Ngày 26 tháng 11 năm 2026", "(Dự thảo, chưa được duyệt)", "Bản sửa đổi lần 1. Lý do sửa đổi: Bổ sung kết luận mục 2",
		"(Ký, ghi rõ họ tên)", "kết thúc lúc ...... giờ ...... phút"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	if strings.Contains(text, "Đã duyệt") {
		t.Error("a draft shown as approved")
	}
}

func TestPDFLongMinutesSpanPages(t *testing.T) {
	s := New(Deps{})
	r, c := approvedContent()
	c.Items[0].Discussion = strings.Repeat("Đồng chí phát biểu về công tác xây dựng Đảng. ", 600)
	pdf, err := s.renderPDF(r, c)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(pdf, []byte("/Type /Page\n")); n < 3 {
		t.Fatalf("%d pages for about 28 000 characters", n)
	}
	if !strings.Contains(pdfText(t, pdf), "Trang 3") {
		t.Error("pages are not numbered")
	}
}

func TestPDFWithoutFontFails(t *testing.T) {
	dir := t.TempDir()
	s := New(Deps{FontDir: dir})
	r, c := approvedContent()
	_, err := s.renderPDF(r, c)
	var missing *missingFont
	if !errors.As(err, &missing) || !strings.Contains(err.Error(), filepath.Join(dir, "DejaVuSans.ttf")) {
		t.Fatalf("err = %v, want a missing font naming the file", err)
	}
	// Regular there, bold missing: still refused, naming the bold face.
	regular, err := os.ReadFile(filepath.Join(DefaultFontDir, fontRegular))
	if err != nil {
		t.Fatalf("DejaVu Sans is not installed (apt-get install fonts-dejavu-core, or run via make test): %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, fontRegular), regular, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.renderPDF(r, c); err == nil || !strings.Contains(err.Error(), fontBold) {
		t.Fatalf("err = %v, want the bold face named", err)
	}
}
