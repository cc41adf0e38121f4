package documents

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestCleanFileName(t *testing.T) {
	long := strings.Repeat("Nghị quyết Đại hội Đảng bộ ", 12) + ".pdf" // 300+ characters
	for _, tc := range []struct{ in, want string }{
		{"Báo cáo chính trị.pdf", "Báo cáo chính trị.pdf"},
		// NFD as macOS sends it becomes NFC.
		{norm.NFD.String("Tờ trình.docx"), "Tờ trình.docx"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\thu-ky\Desktop\Dự thảo.pdf`, "Dự thảo.pdf"},
		{"..", ""},
		{"../", ""},
		{"bao\x00cao\r\n.pdf", "baocao.pdf"},
		{"\x1b[31mred.pdf", "[31mred.pdf"},
		// A right-to-left override would show "exe.pdf" as "fdp.exe".
		{"tai-lieu\u202Efdp.exe", "tai-lieufdp.exe"},
		{"a<b>c:d|e?f*.pdf", "a_b_c_d_e_f_.pdf"},
		{"  .hidden.pdf. ", "hidden.pdf"},
		{"tab\there.pdf", "tabhere.pdf"},
	} {
		if got := cleanFileName(tc.in); got != tc.want {
			t.Errorf("cleanFileName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}

	got := cleanFileName(long)
	if len(got) > maxFileNameBytes || !utf8.ValidString(got) || !norm.NFC.IsNormalString(got) || !strings.HasSuffix(got, ".pdf") {
		t.Errorf("300-character name became %q (%d bytes): want at most 255 valid NFC bytes ending in .pdf", got, len(got))
	}
	if !strings.HasPrefix(long, strings.TrimSuffix(got, ".pdf")) {
		t.Errorf("truncated name %q is not a prefix of the original", got)
	}
}

// Truncation never separates a letter from the combining marks after it
// (text that stays decomposed after NFC, e.g. a letter with two marks NFC
// has no single character for).
func TestTruncateKeepsCombiningMarks(t *testing.T) {
	s := "ab" + "q\u0323\u0302" + "cd" // q with dot below and circumflex: no precomposed form
	for n := 0; n <= len(s); n++ {
		got := truncateUTF8(s, n)
		if len(got) > n || !utf8.ValidString(got) {
			t.Fatalf("truncateUTF8(%q, %d) = %q", s, n, got)
		}
		if strings.HasSuffix(got, "q") || strings.HasSuffix(got, "q\u0323") {
			t.Errorf("truncateUTF8(%q, %d) = %q splits the marks from their letter", s, n, got)
		}
	}
}

func TestWithExtension(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    fileType
		want string
	}{
		{"Báo cáo.pdf", typePDF, "Báo cáo.pdf"},
		{"Báo cáo.PDF", typePDF, "Báo cáo.PDF"},
		{"Báo cáo", typePDF, "Báo cáo.pdf"},
		{"Báo cáo.docx", typePDF, "Báo cáo.pdf"},
		{"ảnh.jpeg", typeJPEG, "ảnh.jpeg"},
		{"ảnh.png", typeJPEG, "ảnh.jpg"},
		{"v1.2 final", typeDOCX, "v1.2 final.docx"},
		{"setup.exe", typePDF, "setup.exe.pdf"},
		{strings.Repeat("đ", 127), typePDF, strings.Repeat("đ", 125) + ".pdf"},
	} {
		if got := withExtension(tc.name, tc.t.exts); got != tc.want {
			t.Errorf("withExtension(%q, %s) = %q, want %q", tc.name, tc.t.contentType, got, tc.want)
		}
		if got := withExtension(tc.name, tc.t.exts); len(got) > maxFileNameBytes {
			t.Errorf("withExtension(%q) is %d bytes", tc.name, len(got))
		}
	}
}
