package problem

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestWriteErrorNamesFieldsInTheCallersLanguage(t *testing.T) {
	st, err := status.New(codes.InvalidArgument, "meetings: invalid request: title must not be empty").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: "title", Reason: "REQUIRED", Description: "must not be empty"},
			{Field: "place", Reason: "TOO_LONG", Description: "must be at most 200 characters, got 250"},
			{Field: "ends_at", Reason: "OUT_OF_ORDER", Description: "must be after starts_at"},
			// A code this gateway does not know yet keeps the service's words.
			{Field: "choices[1]", Reason: "SOMETHING_NEW", Description: "is new"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	vi := []FieldError{
		{Field: "title", Code: "REQUIRED", Reason: "Không được để trống"},
		{Field: "place", Code: "TOO_LONG", Reason: "Không được dài quá 200 ký tự"},
		{Field: "ends_at", Code: "OUT_OF_ORDER", Reason: "Thời điểm kết thúc phải sau thời điểm bắt đầu"},
		{Field: "choices[1]", Code: "SOMETHING_NEW", Reason: "is new"},
	}
	en := []FieldError{
		{Field: "title", Code: "REQUIRED", Reason: "Must not be empty"},
		{Field: "place", Code: "TOO_LONG", Reason: "Must be at most 200 characters"},
		{Field: "ends_at", Code: "OUT_OF_ORDER", Reason: "The end must be after the start"},
		{Field: "choices[1]", Code: "SOMETHING_NEW", Reason: "is new"},
	}
	for _, tc := range []struct {
		acceptLanguage, title string
		errors                []FieldError
	}{
		{"", "Dữ liệu không hợp lệ", vi},
		{"vi-VN,vi;q=0.9", "Dữ liệu không hợp lệ", vi},
		{"en-US,en;q=0.8", "Invalid request", en},
		{"fr-FR, en;q=0.5", "Invalid request", en},
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
			Detail: "meetings: invalid request: title must not be empty", Errors: tc.errors}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Accept-Language %q: body mismatch (-want +got):\n%s", tc.acceptLanguage, diff)
		}
	}
}

func TestEveryReasonCodeHasBothLanguages(t *testing.T) {
	for code := range fieldReasons["vi"] {
		if _, ok := fieldReasons["en"][code]; !ok {
			t.Errorf("%s has Vietnamese text but no English", code)
		}
	}
	for code := range fieldReasons["en"] {
		if _, ok := fieldReasons["vi"][code]; !ok {
			t.Errorf("%s has English text but no Vietnamese", code)
		}
	}
	// A limit-taking phrase without a number in the description falls back
	// to the plain phrase rather than showing "{n}".
	if got := FieldReason("vi", "TOO_LONG", "is too long"); got != "Quá dài" {
		t.Errorf("TOO_LONG without a number: %q", got)
	}
}

func TestRateLimitedAnswersSayWhenToRetry(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", nil)
	st, err := status.New(codes.ResourceExhausted, "too many attempts").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(90*time.Second + time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	WriteError(w, r, st.Err())
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "91" {
		t.Errorf("with RetryInfo: %d, Retry-After %q; want 429 and 91 (rounded up)", w.Code, w.Header().Get("Retry-After"))
	}

	w = httptest.NewRecorder()
	WriteError(w, r, status.Error(codes.ResourceExhausted, "too many attempts"))
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "60" {
		t.Errorf("without RetryInfo: %d, Retry-After %q; want 429 and the default 60", w.Code, w.Header().Get("Retry-After"))
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

func TestLocalizedMessagesBecomeTheDetailInTheCallersLanguage(t *testing.T) {
	st, err := status.New(codes.Unauthenticated, "meetings: wrong username or password").WithDetails(
		&errdetails.LocalizedMessage{Locale: "vi-VN", Message: "Tên đăng nhập hoặc mật khẩu không đúng"},
		&errdetails.LocalizedMessage{Locale: "en-US", Message: "wrong username or password"})
	if err != nil {
		t.Fatal(err)
	}
	for lang, want := range map[string]string{"": "Tên đăng nhập hoặc mật khẩu không đúng", "en": "wrong username or password"} {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", nil)
		r.Header.Set("Accept-Language", lang)
		if got := FromError(r, st.Err()).Detail; got != want {
			t.Errorf("Accept-Language %q: detail %q, want %q", lang, got, want)
		}
	}
}
