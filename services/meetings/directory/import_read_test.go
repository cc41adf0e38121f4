package directory

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadCSVRowNumbers(t *testing.T) {
	t.Parallel()
	// Excel's "sep=" hint, CRLF, a blank line and a cell spanning two
	// lines: row numbers are those Excel would show.
	s, problem := readSheet([]byte("sep=;\r\nHọ và tên;Loại đảng viên\r\nAn;Chính thức\r\n\r\n\"Bình\r\nThị\";Dự bị\r\nCường;Dự bị\r\n"), "ds.csv")
	if problem != "" {
		t.Fatal(problem)
	}
	if diff := cmp.Diff([]int{2, 3, 5, 6}, s.numbers); diff != "" {
		t.Errorf("row numbers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"An", "Chính thức"}, s.rows[1]); diff != "" {
		t.Errorf("semicolon-separated row (-want +got):\n%s", diff)
	}
}

func TestGuessSeparator(t *testing.T) {
	t.Parallel()
	for line, want := range map[string]rune{
		"Họ và tên,Email,Loại": ',', "Họ và tên;Email;Loại": ';', "Họ và tên\tEmail\tLoại": '\t', "Họ và tên": ',',
	} {
		if got := guessSeparator(line); got != want {
			t.Errorf("guessSeparator(%q) = %q, want %q", line, got, want)
		}
	}
}

func TestHeaderAliases(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]column{
		"HỌ VÀ TÊN (*)": colName, "Họ tên": colName, "Full name": colName,
		"Số thẻ Đảng viên": colCard, "E-mail": colEmail, "SĐT": colPhone, "Chức vụ": colRole,
		"Cơ quan": colBody, "Loại đảng viên": colStanding, "Miễn sinh hoạt": colExcused, "Ngày vào": colStart,
	} {
		if got, ok := columnOf(header); !ok || got != want {
			t.Errorf("columnOf(%q) = %v, %v; want %v", header, got, ok, want)
		}
	}
}
