package rpcerr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func wantCode(t *testing.T, err error, want codes.Code) *status.Status {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != want {
		t.Fatalf("error = %v, want code %v", err, want)
	}
	return st
}

func TestInvalid(t *testing.T) {
	vs := []Violation{
		{Field: "meeting_id", Reason: ReasonRequired, Description: "must not be empty"},
		{Field: "choices[2]", Reason: ReasonTooLong, Description: "must be at most 200 characters"},
	}
	st := wantCode(t, Invalid("meetings", vs), codes.InvalidArgument)

	wantMsg := "meetings: invalid request: meeting_id must not be empty; choices[2] must be at most 200 characters"
	if st.Message() != wantMsg {
		t.Errorf("message = %q, want %q", st.Message(), wantMsg)
	}
	var got []Violation
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			t.Fatalf("unexpected detail %T", d)
		}
		for _, fv := range br.GetFieldViolations() {
			got = append(got, Violation{Field: fv.GetField(), Reason: fv.GetReason(), Description: fv.GetDescription()})
		}
	}
	if diff := cmp.Diff(vs, got); diff != "" {
		t.Errorf("field violations (-want +got):\n%s", diff)
	}
}

// The details must survive the trip through the wire format, which is how
// the gateway receives them.
func TestInvalidDetailsSurviveProto(t *testing.T) {
	err := Invalid("video", []Violation{{Field: "mode", Reason: ReasonUnknownValue, Description: "unknown room mode 9"}})
	back := status.FromProto(status.Convert(err).Proto())
	if len(back.Details()) != 1 {
		t.Fatalf("details after round trip = %v, want one BadRequest", back.Details())
	}
	br, ok := back.Details()[0].(*errdetails.BadRequest)
	if !ok || br.GetFieldViolations()[0].GetReason() != ReasonUnknownValue {
		t.Fatalf("detail after round trip = %v", back.Details()[0])
	}
}

func TestReasonsAreStableUpperCase(t *testing.T) {
	for _, r := range []string{ReasonRequired, ReasonTooLong, ReasonInvalidFormat, ReasonUnknownValue} {
		if r == "" || r != strings.ToUpper(r) || strings.ContainsAny(r, " -.") {
			t.Errorf("reason %q is not an upper-case code", r)
		}
	}
}

func TestCaller(t *testing.T) {
	want := identity.Claims{Subject: "u1", Name: "Nguyễn Văn A", Orgs: []string{"org-a"}}
	got, err := Caller(identity.NewContext(context.Background(), want), "voting")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}

	_, err = Caller(context.Background(), "voting")
	st := wantCode(t, err, codes.Unauthenticated)
	if st.Message() != "voting: missing identity" {
		t.Errorf("message = %q", st.Message())
	}
}

func TestCheckReady(t *testing.T) {
	if err := CheckReady("documents", true); err != nil {
		t.Errorf("ready: %v", err)
	}
	st := wantCode(t, CheckReady("documents", false), codes.Unavailable)
	if !strings.HasPrefix(st.Message(), "documents: starting up") || !strings.Contains(st.Message(), "migrations") {
		t.Errorf("message %q does not say who and why", st.Message())
	}
}

// captureLog returns a logger whose JSON records land in the buffer.
func captureLog() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewJSONHandler(&buf, nil)), &buf
}

// closedAddr returns a loopback address nothing listens on, so connecting
// is refused at once.
func closedAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// A pool whose database cannot be reached fails the way a service's store
// does when PostgreSQL is down: Unavailable, so clients retry.
func TestFromStoreUnreachableDatabase(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@"+closedAddr(t)+"/postgres?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	_, dbErr := pool.Exec(context.Background(), "SELECT 1")
	var ce *pgconn.ConnectError
	if !errors.As(dbErr, &ce) {
		t.Fatalf("Exec on a closed port = %v (%T), want a *pgconn.ConnectError", dbErr, dbErr)
	}

	log, buf := captureLog()
	err = FromStore(context.Background(), log, "meetings", "ListMeetings", fmt.Errorf("list meetings: %w", dbErr))
	st := wantCode(t, err, codes.Unavailable)
	if st.Message() != "meetings: database unavailable; retry shortly" {
		t.Errorf("message = %q", st.Message())
	}
	if out := buf.String(); !strings.Contains(out, `"level":"WARN"`) || !strings.Contains(out, `"op":"ListMeetings"`) {
		t.Errorf("log = %s, want a warning naming the op", out)
	}
}

func TestFromStoreContextErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want codes.Code
	}{
		{fmt.Errorf("get poll: %w", context.Canceled), codes.Canceled},
		{fmt.Errorf("get poll: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
	} {
		log, buf := captureLog()
		wantCode(t, FromStore(context.Background(), log, "voting", "GetPoll", tc.err), tc.want)
		if buf.Len() != 0 {
			t.Errorf("%v logged %s; the caller gave up, nothing failed", tc.err, buf)
		}
	}
}

// Any other failure is Internal and names the operation, never the SQL.
func TestFromStoreOtherErrors(t *testing.T) {
	dbErr := fmt.Errorf("insert room: %w", &pgconn.PgError{Code: "42P01", Message: `relation "rooms" does not exist`})
	log, buf := captureLog()
	st := wantCode(t, FromStore(context.Background(), log, "video", "OpenRoom", dbErr), codes.Internal)
	if st.Message() != "video: internal error during OpenRoom" {
		t.Errorf("message = %q", st.Message())
	}
	if out := buf.String(); !strings.Contains(out, `"level":"ERROR"`) || !strings.Contains(out, "rooms") {
		t.Errorf("log = %s, want an error with the cause", out)
	}
}

func TestFromStoreNilLog(t *testing.T) {
	wantCode(t, FromStore(context.Background(), nil, "video", "GetRoom", errors.New("boom")), codes.Internal)
}

func TestFromPeer(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		in   error
		want codes.Code // OK with hidden: ErrHidden
		hide bool
	}{
		{nil, codes.OK, false},
		{status.Error(codes.NotFound, "no"), codes.OK, true},
		{status.Error(codes.PermissionDenied, "no"), codes.OK, true},
		{status.Error(codes.InvalidArgument, "bad id"), codes.OK, true},
		{status.Error(codes.DeadlineExceeded, "slow"), codes.DeadlineExceeded, false},
		{status.Error(codes.Unauthenticated, "expired"), codes.Unauthenticated, false},
		{status.Error(codes.Unavailable, "down"), codes.Unavailable, false},
		{status.Error(codes.Internal, "bug"), codes.Unavailable, false},
	} {
		got := FromPeer(ctx, nil, "documents", "meetings", tc.in)
		switch {
		case tc.hide && !errors.Is(got, ErrHidden):
			t.Errorf("FromPeer(%v) = %v, want ErrHidden", tc.in, got)
		case !tc.hide && status.Code(got) != tc.want:
			t.Errorf("FromPeer(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
