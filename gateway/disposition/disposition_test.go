package disposition

import "testing"

func TestHeaders(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{Inline("Báo cáo Đảng ủy.pdf"), `inline; filename="Bao_cao_Dang_uy.pdf"; filename*=UTF-8''B%C3%A1o%20c%C3%A1o%20%C4%90%E1%BA%A3ng%20%E1%BB%A7y.pdf`},
		{Attachment(`a"b\c.pdf`), `attachment; filename="a_b_c.pdf"; filename*=UTF-8''a%22b_c.pdf`},
		{Attachment("x\r\ny.pdf"), `attachment; filename="x__y.pdf"; filename*=UTF-8''x__y.pdf`},
		{Attachment("a.ics"), `attachment; filename="a.ics"; filename*=UTF-8''a.ics`},
		{Attachment(`Đảng ủy "Khối"/../x.ics`), `attachment; filename="Dang_uy__Khoi__.._x.ics"; filename*=UTF-8''%C4%90%E1%BA%A3ng%20%E1%BB%A7y%20%22Kh%E1%BB%91i%22_.._x.ics`},
	} {
		if tc.got != tc.want {
			t.Errorf("got  %s\nwant %s", tc.got, tc.want)
		}
	}
}
