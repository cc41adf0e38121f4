package problem

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestWriteErrorNamesFieldsInTheCallersLanguage(t *testing.T) {
	st, err := status.New(codes.InvalidArgument, "title is required").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "title", Description: "is required"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ acceptLanguage, title string }{
		{"", "Dữ liệu không hợp lệ"},
		{"vi-VN,vi;q=0.9", "Dữ liệu không hợp lệ"},
		{"en-US,en;q=0.8", "Invalid request"},
		{"fr-FR, en;q=0.5", "Invalid request"},
	} {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/meetings", nil)
		r.Header.Set("Accept-Language", tc.acceptLanguage)
		w := httptest.NewRecorder()
		WriteError(w, r, st.Err())

		if w.Code != http.StatusBadRequest || w.Header().Get("Content-Type") != ContentType {
			t.Fatalf("status %d, content type %q", w.Code, w.Header().Get("Content-Type"))
		}
		var got Details
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		want := Details{Type: "about:blank", Title: tc.title, Status: 400, Code: "InvalidArgument",
			Detail: "title is required", Errors: []FieldError{{Field: "title", Reason: "is required"}}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Accept-Language %q: body mismatch (-want +got):\n%s", tc.acceptLanguage, diff)
		}
	}
}

func TestHTTPStatusFollowsTheDesignTable(t *testing.T) {
	want := map[codes.Code]int{
		codes.InvalidArgument: 400, codes.Unauthenticated: 401, codes.PermissionDenied: 403,
		codes.NotFound: 404, codes.AlreadyExists: 409, codes.Aborted: 409, codes.FailedPrecondition: 409,
		codes.ResourceExhausted: 429, codes.Unavailable: 503, codes.Internal: 500,
	}
	for c, s := range want {
		if got := HTTPStatus(c); got != s {
			t.Errorf("HTTPStatus(%v) = %d, want %d", c, got, s)
		}
	}
}

func TestInternalErrorsDoNotLeakAndUnavailableSaysWhenToRetry(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	w := httptest.NewRecorder()
	WriteError(w, r, status.Error(codes.Internal, "pq: relation secret_table does not exist"))
	var got Details
	_ = json.Unmarshal(w.Body.Bytes(), &got)
	if got.Detail != "" {
		t.Errorf("internal detail leaked: %q", got.Detail)
	}

	w = httptest.NewRecorder()
	WriteError(w, r, status.Error(codes.Unavailable, "postgres is starting"))
	if w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After: %d %v", w.Code, w.Header())
	}
}
