package testenv_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/health"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// whoAmI answers with the subject of the claims the server's interceptor
// put in the handler's context: as a meeting title for a unary call, as a
// document title for a streaming one.
type whoAmI struct {
	meetingsv1.UnimplementedMeetingsServiceServer
	documentsv1.UnimplementedDocumentsServiceServer
}

func (whoAmI) GetMeeting(ctx context.Context, _ *meetingsv1.GetMeetingRequest) (*meetingsv1.GetMeetingResponse, error) {
	c, _ := identity.FromContext(ctx)
	return &meetingsv1.GetMeetingResponse{Meeting: &meetingsv1.Meeting{Title: c.Subject}}, nil
}

func (whoAmI) UploadDocument(s grpc.ClientStreamingServer[documentsv1.UploadDocumentRequest, documentsv1.UploadDocumentResponse]) error {
	c, _ := identity.FromContext(s.Context())
	for {
		if _, err := s.Recv(); err != nil {
			break
		}
	}
	return s.SendAndClose(&documentsv1.UploadDocumentResponse{Document: &documentsv1.Document{Title: c.Subject}})
}

func serveWhoAmI(t *testing.T) *grpc.ClientConn {
	t.Helper()
	return testenv.Serve(t, testenv.Signer(t), func(gs *grpc.Server) {
		meetingsv1.RegisterMeetingsServiceServer(gs, whoAmI{})
		documentsv1.RegisterDocumentsServiceServer(gs, whoAmI{})
	})
}

func TestServeCarriesTheClaimsOfTheContext(t *testing.T) {
	conn := serveWhoAmI(t)
	ctx := testenv.As(identity.Claims{Subject: "person-1", Name: "Nguyễn Văn A"})

	r, err := meetingsv1.NewMeetingsServiceClient(conn).GetMeeting(ctx, &meetingsv1.GetMeetingRequest{})
	if err != nil || r.GetMeeting().GetTitle() != "person-1" {
		t.Fatalf("unary call as person-1: %v, %v", r, err)
	}

	up, err := documentsv1.NewDocumentsServiceClient(conn).UploadDocument(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Send(&documentsv1.UploadDocumentRequest{}); err != nil {
		t.Fatal(err)
	}
	u, err := up.CloseAndRecv()
	if err != nil || u.GetDocument().GetTitle() != "person-1" {
		t.Fatalf("streaming call as person-1: %v, %v", u, err)
	}
}

func TestServeVerifiesTokensLikeProduction(t *testing.T) {
	conn := serveWhoAmI(t)

	_, err := meetingsv1.NewMeetingsServiceClient(conn).GetMeeting(context.Background(), &meetingsv1.GetMeetingRequest{})
	testenv.Code(t, err, codes.Unauthenticated)

	// A token from another key is refused.
	forged, err := grpc.NewClient(conn.Target(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(identity.UnaryClientInterceptor(testenv.Signer(t))))
	if err != nil {
		t.Fatal(err)
	}
	defer forged.Close()
	_, err = meetingsv1.NewMeetingsServiceClient(forged).GetMeeting(testenv.As(identity.Claims{Subject: "intruder"}), &meetingsv1.GetMeetingRequest{})
	testenv.Code(t, err, codes.Unauthenticated)

	// Health stays open, as the platform's server has it.
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("health check: %v", err)
	}
}

func TestServeStopsWhenTheTestEnds(t *testing.T) {
	var target string
	t.Run("inner", func(t *testing.T) {
		target = serveWhoAmI(t).Target()
	})
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("health check after the test = %v, want Unavailable (server stopped)", err)
	}
}

// cleanupTB keeps the cleanups and errors of the code under test, so a test
// can run them when it likes and look at what they reported.
type cleanupTB struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
	errs     []string
}

func (c *cleanupTB) Cleanup(f func()) { c.cleanups = append(c.cleanups, f) }

func (c *cleanupTB) Errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

func (c *cleanupTB) end() {
	for i := len(c.cleanups) - 1; i >= 0; i-- {
		c.cleanups[i]()
	}
}

func TestRunUntilTheTestEnds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		result  error
		wantErr string
	}{
		{"clean stop", nil, ""},
		{"failure", errors.New("relay broke"), "relay broke"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := &cleanupTB{TB: t}
			started := make(chan context.Context, 1)
			testenv.Run(tb, func(ctx context.Context) error {
				started <- ctx
				<-ctx.Done()
				return tc.result
			})
			ctx := <-started
			if ctx.Err() != nil {
				t.Fatal("context cancelled before the test ended")
			}
			tb.end()
			if ctx.Err() == nil {
				t.Error("context not cancelled when the test ended")
			}
			if got := strings.Join(tb.errs, "; "); !strings.Contains(got, tc.wantErr) || (tc.wantErr == "") != (got == "") {
				t.Errorf("errors reported = %q, want one with %q", got, tc.wantErr)
			}
		})
	}
}

func TestReadyWaitsForEveryProbe(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	migrated := health.Condition("svc.schema", "not migrated", func() bool {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return calls > 3
	})
	up := health.Probe{Name: "postgres", Check: func(context.Context) error { return nil }}
	testenv.Ready(t, up, migrated)
	if calls != 4 {
		t.Errorf("schema probe checked %d times, want 4 (until it passed)", calls)
	}
}
