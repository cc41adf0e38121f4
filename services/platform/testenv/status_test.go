package testenv_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// invalid is an InvalidArgument error with the given BadRequest details.
func invalid(t *testing.T, details ...*errdetails.BadRequest) error {
	t.Helper()
	st := status.New(codes.InvalidArgument, "invalid request")
	for _, d := range details {
		var err error
		if st, err = st.WithDetails(d); err != nil {
			t.Fatal(err)
		}
	}
	return st.Err()
}

func violation(field, reason string) *errdetails.BadRequest_FieldViolation {
	return &errdetails.BadRequest_FieldViolation{Field: field, Reason: reason}
}

func TestCode(t *testing.T) {
	err := status.Error(codes.NotFound, "meeting m1 not found")
	if st := testenv.Code(t, err, codes.NotFound); st.Message() != "meeting m1 not found" {
		t.Errorf("message = %q", st.Message())
	}
	testenv.Code(t, fmt.Errorf("get: %w", err), codes.NotFound) // wrapped, as a handler may return it
	testenv.Code(t, nil, codes.OK)

	for _, tc := range []struct {
		err  error
		want codes.Code
	}{
		{err, codes.PermissionDenied},
		{nil, codes.NotFound},
		{errors.New("plain"), codes.Unknown}, // not a status at all
	} {
		msg := fatalOf(t, func(tb testing.TB) { testenv.Code(tb, tc.err, tc.want) })
		if !strings.Contains(msg, "want code "+tc.want.String()) {
			t.Errorf("Code(%v, %v) failed with %q", tc.err, tc.want, msg)
		}
	}
}

func TestViolatedFieldsKeepTheServersOrder(t *testing.T) {
	err := invalid(t,
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{violation("title", "REQUIRED"), violation("period", "INVALID")}},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{violation("page_size", "OUT_OF_RANGE")}})
	if diff := cmp.Diff([]string{"title", "period", "page_size"}, testenv.ViolatedFields(t, err)); diff != "" {
		t.Errorf("ViolatedFields (-want +got):\n%s", diff)
	}
	want := map[string]string{"title": "REQUIRED", "period": "INVALID", "page_size": "OUT_OF_RANGE"}
	if diff := cmp.Diff(want, testenv.ViolationReasons(t, err)); diff != "" {
		t.Errorf("ViolationReasons (-want +got):\n%s", diff)
	}
}

func TestViolationsFailWithoutFieldViolations(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		err        error
	}{
		{"other code", "want code InvalidArgument", status.Error(codes.NotFound, "gone")},
		{"no details", "without field violations", invalid(t)},
		{"no violations", "without field violations", invalid(t, &errdetails.BadRequest{})},
	} {
		for fn, call := range map[string]func(testing.TB, error){
			"ViolatedFields":   func(tb testing.TB, err error) { testenv.ViolatedFields(tb, err) },
			"ViolationReasons": func(tb testing.TB, err error) { testenv.ViolationReasons(tb, err) },
		} {
			if msg := fatalOf(t, func(tb testing.TB) { call(tb, tc.err) }); !strings.Contains(msg, tc.want) {
				t.Errorf("%s, %s: failed with %q, want %q", tc.name, fn, msg, tc.want)
			}
		}
	}
}
