package files

import (
	"net/http"
	"strconv"

	"github.com/ecabinet/ecabinet/gateway/disposition"
	"github.com/ecabinet/ecabinet/gateway/problem"
	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// xlsxType is the media type of an Excel workbook.
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// studyReport serves a document's study report as an Excel workbook to
// download (the JSON form is GET .../study-report through grpc-gateway).
func (h *Handler) studyReport(w http.ResponseWriter, r *http.Request, _ identity.Claims) {
	resp, err := h.d.Documents.ExportStudyReport(r.Context(), &documentsv1.ExportStudyReportRequest{DocumentId: r.PathValue("document_id")})
	if err != nil {
		problem.WriteError(w, r, err)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", xlsxType)
	hdr.Set("Content-Disposition", disposition.Attachment(resp.GetFileName()))
	hdr.Set("Content-Length", strconv.Itoa(len(resp.GetXlsx())))
	// Who read what is personal data: never in a shared cache.
	hdr.Set("Cache-Control", "private, no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(resp.GetXlsx())
	}
}
