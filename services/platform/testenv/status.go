package testenv

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Code fails the test unless err is a gRPC status error with code want (a
// nil err has code OK) and returns its status, for asserting on the message
// or details.
func Code(t testing.TB, err error, want codes.Code) *status.Status {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != want {
		t.Fatalf("error = %v, want code %v", err, want)
	}
	return st
}

// ViolatedFields returns the fields named by the BadRequest details of err,
// in the order the server gave them; it fails the test unless err is
// InvalidArgument naming at least one.
func ViolatedFields(t testing.TB, err error) []string {
	t.Helper()
	var fields []string
	for _, v := range fieldViolations(t, err) {
		fields = append(fields, v.GetField())
	}
	return fields
}

// ViolationReasons returns field -> reason of the BadRequest details of
// err; it fails the test unless err is InvalidArgument naming at least one
// field.
func ViolationReasons(t testing.TB, err error) map[string]string {
	t.Helper()
	reasons := map[string]string{}
	for _, v := range fieldViolations(t, err) {
		reasons[v.GetField()] = v.GetReason()
	}
	return reasons
}

func fieldViolations(t testing.TB, err error) []*errdetails.BadRequest_FieldViolation {
	t.Helper()
	st := Code(t, err, codes.InvalidArgument)
	var out []*errdetails.BadRequest_FieldViolation
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			out = append(out, br.GetFieldViolations()...)
		}
	}
	if len(out) == 0 {
		t.Fatalf("InvalidArgument without field violations: %v", err)
	}
	return out
}
