package unaccent

import "testing"

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Nguyễn Văn An":      "nguyen van an",
		"NGUYỄN VĂN AN":      "nguyen van an",
		"nguyen van an":      "nguyen van an",
		"Nguye\u0302\u0303n": "nguyen", // decomposed ễ
		"Đặng  Thị\tĐào ":    "dang thi dao",
		"Phạm Ủy Ban":        "pham uy ban",
		"Lê Thị Thu Hường":   "le thi thu huong",
		"Nguyễn Văn Đức":     "nguyen van duc",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStringKeepsCaseAndEverythingElse(t *testing.T) {
	for in, want := range map[string]string{
		"Đảng ủy Khối":          "Dang uy Khoi",
		"Báo cáo (bản 2).pdf":   "Bao cao (ban 2).pdf",
		"Tờ trình số 12/TTr-ĐU": "To trinh so 12/TTr-DU",
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}
