package grpcserver_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/grpcserver"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/logging"
)

// meetings is a stub whose GetMeeting behaves by meeting id: "panic"
// panics, "block" waits for release, anything else answers at once.
type meetings struct {
	meetingsv1.UnimplementedMeetingsServiceServer
	entered chan struct{} // receives when a "block" call has started
	release chan struct{} // closed to let "block" calls finish
}

func (m *meetings) GetMeeting(ctx context.Context, req *meetingsv1.GetMeetingRequest) (*meetingsv1.GetMeetingResponse, error) {
	switch req.GetMeetingId() {
	case "panic":
		panic("boom in handler")
	case "block":
		m.entered <- struct{}{}
		<-m.release
	}
	return &meetingsv1.GetMeetingResponse{Meeting: &meetingsv1.Meeting{Id: req.GetMeetingId(), Title: logging.RequestID(ctx)}}, nil
}

// syncBuffer is a log sink the test can read while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

type world struct {
	stub     *meetings
	logs     *syncBuffer
	reg      *prometheus.Registry
	lis      *closeNotifyingListener
	cancel   context.CancelFunc
	served   chan error // receives Serve's result
	conn     *grpc.ClientConn
	anonConn *grpc.ClientConn // no identity interceptors
	ctx      context.Context  // carries claims
}

// closeNotifyingListener tells the test when the server closes it, which
// GracefulStop does first; the test thus knows the stop has begun without
// sleeping.
type closeNotifyingListener struct {
	net.Listener
	once   sync.Once
	closed chan struct{}
}

func (l *closeNotifyingListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

func start(t *testing.T) *world {
	t.Helper()
	return startAt(t, "debug")
}

// startAt is start with the server logging at level.
func startAt(t *testing.T, level string) *world {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		t.Fatal(err)
	}
	signer, err := identity.NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{
		stub:   &meetings{entered: make(chan struct{}), release: make(chan struct{})},
		logs:   &syncBuffer{},
		reg:    prometheus.NewRegistry(),
		served: make(chan error, 1),
	}
	log, err := logging.New(w.logs, level)
	if err != nil {
		t.Fatal(err)
	}
	s := grpcserver.New(log, identity.NewVerifier(signer.PublicKey()), w.reg)
	meetingsv1.RegisterMeetingsServiceServer(s, w.stub)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.lis = &closeNotifyingListener{Listener: l, closed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	go func() { w.served <- s.Serve(ctx, w.lis) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-w.stub.release:
		default:
			close(w.stub.release)
		}
		<-w.served
	})

	dial := func(opts ...grpc.DialOption) *grpc.ClientConn {
		conn, err := grpc.NewClient(l.Addr().String(), append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	w.conn = dial(grpc.WithChainUnaryInterceptor(identity.UnaryClientInterceptor(signer)))
	w.anonConn = dial()
	w.ctx = identity.NewContext(t.Context(), identity.Claims{Subject: "person-1"})
	return w
}

func TestPanicReturnsInternalAndServerKeepsServing(t *testing.T) {
	w := start(t)
	client := meetingsv1.NewMeetingsServiceClient(w.conn)
	ctx := logging.WithRequestID(w.ctx, "req-panic")

	_, err := client.GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: "panic"})
	if status.Code(err) != codes.Internal {
		t.Fatalf("panicking call: %v, want Internal", err)
	}
	if strings.Contains(err.Error(), "boom") {
		t.Errorf("panic value leaked to the client: %v", err)
	}
	if _, err := client.GetMeeting(w.ctx, &meetingsv1.GetMeetingRequest{MeetingId: "m1"}); err != nil {
		t.Fatalf("call after the panic: %v", err)
	}

	var logged bool
	for _, r := range w.logs.records(t) {
		if r["msg"] == "panic in gRPC handler" {
			logged = true
			stack, _ := r["stack"].(string)
			if r["panic"] != "boom in handler" || !strings.Contains(stack, "GetMeeting") || r["request_id"] != "req-panic" {
				t.Errorf("panic record = %v", r)
			}
		}
	}
	if !logged {
		t.Error("panic was not logged")
	}
}

func TestRequestIDAndCallLogging(t *testing.T) {
	w := start(t)
	client := meetingsv1.NewMeetingsServiceClient(w.conn)

	// A caller's id is adopted, echoed in the header and logged.
	var header metadata.MD
	resp, err := client.GetMeeting(logging.WithRequestID(w.ctx, "req-7"), &meetingsv1.GetMeetingRequest{MeetingId: "m1"}, grpc.Header(&header))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetMeeting().GetTitle() != "req-7" || !slices.Equal(header.Get(logging.MetadataKey), []string{"req-7"}) {
		t.Errorf("handler saw request id %q, header %v; want req-7", resp.GetMeeting().GetTitle(), header)
	}

	// Without one the server makes one and tells the caller.
	resp, err = client.GetMeeting(w.ctx, &meetingsv1.GetMeetingRequest{MeetingId: "m2"}, grpc.Header(&header))
	if err != nil {
		t.Fatal(err)
	}
	if id := resp.GetMeeting().GetTitle(); id == "" || !slices.Equal(header.Get(logging.MetadataKey), []string{id}) {
		t.Errorf("generated request id %q, header %v", id, header)
	}

	var finished int
	for _, r := range w.logs.records(t) {
		if r["msg"] == "finished call" && r["grpc.method"] == "GetMeeting" {
			finished++
			if r["request_id"] == nil || r["grpc.code"] != "OK" {
				t.Errorf("call record = %v", r)
			}
		}
	}
	if finished != 2 {
		t.Errorf("%d finished-call records for GetMeeting, want 2", finished)
	}
}

// At INFO, successful calls are not logged (the gateway logs the REST
// request they serve, and the metrics count them); failed ones are.
func TestSuccessfulCallsAreLoggedAtDebugOnly(t *testing.T) {
	w := startAt(t, "info")
	client := meetingsv1.NewMeetingsServiceClient(w.conn)
	if _, err := client.GetMeeting(logging.WithRequestID(w.ctx, "req-ok"), &meetingsv1.GetMeetingRequest{MeetingId: "m1"}); err != nil {
		t.Fatal(err)
	}
	_, err := meetingsv1.NewMeetingsServiceClient(w.anonConn).GetMeeting(logging.WithRequestID(t.Context(), "req-anon"), &meetingsv1.GetMeetingRequest{MeetingId: "m1"})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("call without token: %v", err)
	}
	var ok, refused int
	for _, r := range w.logs.records(t) {
		if r["msg"] != "finished call" {
			continue
		}
		switch r["grpc.code"] {
		case "OK":
			ok++
		case "Unauthenticated":
			refused++
			if r["level"] != "INFO" {
				t.Errorf("refused call logged at %v, want INFO", r["level"])
			}
		}
	}
	if ok != 0 || refused != 1 {
		t.Errorf("at INFO: %d successful and %d refused calls logged, want 0 and 1", ok, refused)
	}
}

func TestUnauthenticatedWithoutToken(t *testing.T) {
	w := start(t)
	_, err := meetingsv1.NewMeetingsServiceClient(w.anonConn).GetMeeting(t.Context(), &meetingsv1.GetMeetingRequest{MeetingId: "m1"})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("call without token: %v, want Unauthenticated", err)
	}
}

func TestHealthWithoutToken(t *testing.T) {
	w := start(t)
	resp, err := healthpb.NewHealthClient(w.anonConn).Check(t.Context(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health = %v, %v; want SERVING", resp, err)
	}
}

func TestReflection(t *testing.T) {
	w := start(t)
	stream, err := reflectionpb.NewServerReflectionClient(w.anonConn).ServerReflectionInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"ecabinet.meetings.v1.MeetingsService", "grpc.health.v1.Health"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}

	// And it can describe a method, which is what grpcurl needs.
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{
		FileContainingSymbol: "ecabinet.meetings.v1.MeetingsService.GetMeeting",
	}}); err != nil {
		t.Fatal(err)
	}
	resp, err = stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
		t.Errorf("no file descriptor for GetMeeting: %v", resp)
	}
}

func TestMetricsRecorded(t *testing.T) {
	w := start(t)
	client := meetingsv1.NewMeetingsServiceClient(w.conn)
	if _, err := client.GetMeeting(w.ctx, &meetingsv1.GetMeetingRequest{MeetingId: "m1"}); err != nil {
		t.Fatal(err)
	}
	_, _ = client.GetMeeting(w.ctx, &meetingsv1.GetMeetingRequest{MeetingId: "panic"})

	families, err := w.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "grpc_server_handled_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["grpc_method"] == "GetMeeting" {
				counts[labels["grpc_code"]] = m.GetCounter().GetValue()
			}
		}
	}
	if counts["OK"] != 1 || counts["Internal"] != 1 {
		t.Errorf("grpc_server_handled_total for GetMeeting by code = %v, want OK 1, Internal 1", counts)
	}

	// A second server on the same registry shares the collectors instead
	// of panicking.
	log, _ := logging.New(&bytes.Buffer{}, "info")
	_ = grpcserver.New(log, identity.NewVerifier(make(ed25519.PublicKey, ed25519.PublicKeySize)), w.reg)
}

func TestGracefulStopLetsInFlightCallFinish(t *testing.T) {
	w := start(t)
	client := meetingsv1.NewMeetingsServiceClient(w.conn)

	type result struct {
		resp *meetingsv1.GetMeetingResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := client.GetMeeting(w.ctx, &meetingsv1.GetMeetingRequest{MeetingId: "block"})
		done <- result{resp, err}
	}()
	<-w.stub.entered

	w.cancel()
	<-w.lis.closed // the graceful stop has begun
	select {
	case err := <-w.served:
		t.Fatalf("Serve returned (%v) while a call was in flight", err)
	default:
	}

	close(w.stub.release)
	r := <-done
	if r.err != nil || r.resp.GetMeeting().GetId() != "block" {
		t.Errorf("in-flight call = %v, %v; want it to complete", r.resp, r.err)
	}
	if err := <-w.served; err != nil {
		t.Errorf("Serve = %v, want nil after ctx cancel", err)
	}
	w.served <- nil // for the cleanup
}
