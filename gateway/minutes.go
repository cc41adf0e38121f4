package gateway

import (
	"net/http"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ecabinet/ecabinet/gateway/disposition"
	"github.com/ecabinet/ecabinet/gateway/problem"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
)

// minutesPDF serves GET /api/v1/meetings/{meeting_id}/minutes.pdf[?revision=N]:
// the minutes as a PDF file the browser downloads (the latest revision
// unless one is asked for). The JSON form of the same RPC, with the PDF in
// base64, stays at .../minutes/pdf (grpc-gateway).
func (g *Gateway) minutesPDF(client meetingsv1.MinutesServiceClient) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := &meetingsv1.ExportMinutesPdfRequest{MeetingId: r.PathValue("meeting_id")}
		if s := r.URL.Query().Get("revision"); s != "" {
			rev, err := strconv.ParseInt(s, 10, 32)
			if err != nil || rev < 0 {
				problem.WriteError(w, r, badRevision())
				return
			}
			req.Revision = int32(rev)
		}
		resp, err := client.ExportMinutesPdf(r.Context(), req)
		if err != nil {
			problem.WriteError(w, r, err)
			return
		}
		name := resp.GetFileName()
		if name == "" {
			name = "bien-ban.pdf"
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", disposition.Attachment(name))
		// Minutes of a party meeting: never in a shared cache, and not kept
		// on the tablet after use.
		w.Header().Set("Cache-Control", "private, no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Length", strconv.Itoa(len(resp.GetPdf())))
		_, _ = w.Write(resp.GetPdf())
	})
}

// badRevision is the answer to a revision that is not a whole number, in the
// form the services use for invalid fields, so it is translated alike.
func badRevision() error {
	st := status.New(codes.InvalidArgument, "gateway: invalid request: revision must be a whole number, 0 or more")
	if d, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{
		Field: "revision", Reason: "INVALID_FORMAT", Description: "must be a whole number, 0 or more",
	}}}); err == nil {
		st = d
	}
	return st.Err()
}
