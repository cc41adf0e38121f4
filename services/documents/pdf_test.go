package documents

import (
	"bytes"
	"testing"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

func TestInspectPDF(t *testing.T) {
	valid := testenv.PDF(3, 0)
	for _, tc := range []struct {
		name  string
		data  []byte
		pages int32
		want  documentsv1.Preview
	}{
		{"valid", valid, 3, documentsv1.Preview_PREVIEW_AVAILABLE},
		{"restricted, opens without a password", encryptPDF(t, valid, "", "chủ-sở-hữu"), 3, documentsv1.Preview_PREVIEW_AVAILABLE},
		{"needs a password", encryptPDF(t, valid, "mật-khẩu", "chủ-sở-hữu"), 0, documentsv1.Preview_PREVIEW_NONE_ENCRYPTED},
		{"header then garbage", append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("rác "), 500)...), 0, documentsv1.Preview_PREVIEW_NONE_CORRUPT},
		// pdfcpu rebuilds a lost cross-reference table, as viewers do, so
		// only a file cut before its page tree is beyond repair.
		{"truncated but repairable", valid[:len(valid)-60], 3, documentsv1.Preview_PREVIEW_AVAILABLE},
		{"truncated before its pages", valid[:40], 0, documentsv1.Preview_PREVIEW_NONE_CORRUPT},
	} {
		got := inspectPDF(t.Context(), testenv.Logger(t), bytes.NewReader(tc.data))
		if got.pages != tc.pages || got.preview != tc.want {
			t.Errorf("inspectPDF(%s) = %d pages, %v; want %d, %v", tc.name, got.pages, got.preview, tc.pages, tc.want)
		}
	}
}
