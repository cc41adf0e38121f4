// Package problem writes RFC 9457 problem details for the REST API and maps
// gRPC status codes to HTTP, in the caller's language (Vietnamese unless the
// request prefers English).
package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ContentType is the media type of every error body.
const ContentType = "application/problem+json"

// Details is the JSON body (RFC 9457) plus the offending fields, if any.
type Details struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Code   string       `json:"code"`
	Errors []FieldError `json:"errors,omitempty"`
	// RetryAfter, when positive, is sent as the Retry-After header (429 and
	// 503): how long the client should wait before trying again.
	RetryAfter time.Duration `json:"-"`
}

// FieldError names one invalid request field (its protobuf name).
type FieldError struct {
	Field string `json:"field"`
	// Code is the service's stable reason code (e.g. "REQUIRED"), for
	// clients that choose their own wording.
	Code string `json:"code,omitempty"`
	// Reason is the human-readable text in the caller's language.
	Reason string `json:"reason"`
}

// HTTPStatus maps a gRPC code to the HTTP status DESIGN.md fixes for it.
func HTTPStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.InvalidArgument, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted, codes.FailedPrecondition:
		return http.StatusConflict
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.Unimplemented:
		return http.StatusNotImplemented
	default:
		return http.StatusInternalServerError
	}
}

// FromError converts any error (a gRPC status or not) into problem details.
// Internal errors never leak their message.
func FromError(r *http.Request, err error) Details {
	st, ok := status.FromError(err)
	if !ok {
		st = status.New(codes.Unknown, err.Error())
	}
	return fromStatus(r, st)
}

func fromStatus(r *http.Request, st *status.Status) Details {
	code := st.Code()
	d := New(r, HTTPStatus(code), code.String())
	if code != codes.Internal && code != codes.Unknown {
		d.Detail = st.Message()
	}
	lang := Language(r)
	for _, det := range st.Details() {
		switch det := det.(type) {
		case *errdetails.BadRequest:
			for _, v := range det.GetFieldViolations() {
				d.Errors = append(d.Errors, FieldError{
					Field:  v.GetField(),
					Code:   v.GetReason(),
					Reason: FieldReason(lang, v.GetReason(), v.GetDescription()),
				})
			}
		case *errdetails.RetryInfo:
			d.RetryAfter = det.GetRetryDelay().AsDuration()
		case *errdetails.LocalizedMessage:
			// A service that words its answer for people (e.g. a failed
			// sign-in) says it in our languages; show the caller's.
			if code != codes.Internal && code != codes.Unknown && localeLanguage(det.GetLocale()) == lang {
				d.Detail = det.GetMessage()
			}
		}
	}
	return d
}

// New builds problem details for an HTTP status with a localised title.
// code is a stable machine-readable name (a gRPC code name or our own).
func New(r *http.Request, httpStatus int, code string) Details {
	return Details{
		Type:   "about:blank",
		Title:  Title(Language(r), httpStatus),
		Status: httpStatus,
		Code:   code,
	}
}

// Default waits for Retry-After when the service did not say (RetryInfo).
const (
	defaultRetryUnavailable = 2 * time.Second
	defaultRetryRateLimited = time.Minute
)

// Write sends d, adding Retry-After to 429 and 503 so clients back off
// sensibly.
func Write(w http.ResponseWriter, d Details) {
	w.Header().Set("Content-Type", ContentType)
	retry := d.RetryAfter
	if retry <= 0 {
		switch d.Status {
		case http.StatusServiceUnavailable:
			retry = defaultRetryUnavailable
		case http.StatusTooManyRequests:
			retry = defaultRetryRateLimited
		}
	}
	if retry > 0 {
		// Whole seconds, rounded up: "0" would invite an immediate retry.
		w.Header().Set("Retry-After", strconv.FormatInt(int64((retry+time.Second-1)/time.Second), 10))
	}
	w.WriteHeader(d.Status)
	_ = json.NewEncoder(w).Encode(d)
}

// WriteError is FromError followed by Write.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	Write(w, FromError(r, err))
}

// Language picks "en" when the request prefers English, else "vi": the
// product's users read Vietnamese, so it is the default.
func Language(r *http.Request) string {
	if r == nil {
		return "vi"
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case strings.HasPrefix(tag, "vi"):
			return "vi"
		case strings.HasPrefix(tag, "en"):
			return "en"
		}
	}
	return "vi"
}

// localeLanguage is "vi" or "en" for a BCP 47 locale such as "vi-VN".
func localeLanguage(locale string) string {
	tag, _, _ := strings.Cut(strings.ToLower(locale), "-")
	return tag
}

var titles = map[string]map[int]string{
	"vi": {
		http.StatusBadRequest:          "Dữ liệu không hợp lệ",
		http.StatusUnauthorized:        "Chưa đăng nhập hoặc phiên đã hết hạn",
		http.StatusForbidden:           "Bạn không có quyền thực hiện thao tác này",
		http.StatusNotFound:            "Không tìm thấy",
		http.StatusMethodNotAllowed:    "Phương thức không được hỗ trợ",
		http.StatusConflict:            "Thao tác xung đột với trạng thái hiện tại",
		http.StatusTooManyRequests:     "Quá nhiều yêu cầu, vui lòng thử lại sau",
		http.StatusNotImplemented:      "Chức năng chưa được hỗ trợ",
		http.StatusServiceUnavailable:  "Dịch vụ tạm thời không sẵn sàng, vui lòng thử lại",
		http.StatusGatewayTimeout:      "Hết thời gian chờ",
		http.StatusInternalServerError: "Lỗi hệ thống",
	},
	"en": {
		http.StatusBadRequest:          "Invalid request",
		http.StatusUnauthorized:        "Not signed in or the session has expired",
		http.StatusForbidden:           "You are not allowed to do this",
		http.StatusNotFound:            "Not found",
		http.StatusMethodNotAllowed:    "Method not allowed",
		http.StatusConflict:            "The request conflicts with the current state",
		http.StatusTooManyRequests:     "Too many requests, please try again later",
		http.StatusNotImplemented:      "Not supported yet",
		http.StatusServiceUnavailable:  "Service temporarily unavailable, please retry",
		http.StatusGatewayTimeout:      "Timed out",
		http.StatusInternalServerError: "Internal error",
	},
}

// Title is the localised title for an HTTP status.
func Title(lang string, httpStatus int) string {
	if t, ok := titles[lang][httpStatus]; ok {
		return t
	}
	if t, ok := titles[lang][http.StatusInternalServerError]; ok && httpStatus >= 500 {
		return t
	}
	return http.StatusText(httpStatus)
}
