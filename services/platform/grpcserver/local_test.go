package grpcserver_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/grpcserver"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/logging"
)

// callerKey is a value of the caller's context that must not reach the
// service (across the network it would not).
type callerKey struct{}

// echo answers GetMeeting with what the service saw: the caller's subject
// (Id), the request id (Title), whether the caller's context value leaked
// (Place), whether a deadline arrived (StateReason); it changes the request
// it got, and "panic" panics, "fail" returns a plain error.
type echo struct {
	meetingsv1.UnimplementedMeetingsServiceServer
	got *meetingsv1.GetMeetingRequest
}

func (e *echo) GetMeeting(ctx context.Context, req *meetingsv1.GetMeetingRequest) (*meetingsv1.GetMeetingResponse, error) {
	switch req.GetMeetingId() {
	case "panic":
		panic("boom in local handler")
	case "fail":
		return nil, context.DeadlineExceeded
	case "notfound":
		return nil, status.Error(codes.NotFound, "no such meeting")
	}
	e.got = req
	req.MeetingId = "changed by the service"
	c, _ := identity.FromContext(ctx)
	m := &meetingsv1.Meeting{Id: c.Subject, Title: logging.RequestID(ctx)}
	if ctx.Value(callerKey{}) != nil {
		m.Place = "leaked"
	}
	if _, ok := ctx.Deadline(); ok {
		m.StateReason = "deadline"
	}
	_ = grpc.SetTrailer(ctx, metadata.Pairs("x-trailer", "t"))
	return &meetingsv1.GetMeetingResponse{Meeting: m}, nil
}

// fallback records the calls that were not local.
type fallback struct{ methods []string }

func (f *fallback) Invoke(_ context.Context, method string, _, _ any, _ ...grpc.CallOption) error {
	f.methods = append(f.methods, method)
	return nil
}

func (f *fallback) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, status.Error(codes.Unimplemented, "fallback stream")
}

func TestLocalCallsRunTheServersInterceptors(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	_, _ = rand.Read(seed)
	signer, err := identity.NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log, err := logging.New(logs, "debug")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s := grpcserver.New(log, identity.NewVerifier(signer.PublicKey()), reg)
	local := grpcserver.NewLocal()
	s.ServeLocal(local)
	stub := &echo{}
	meetingsv1.RegisterMeetingsServiceServer(local, stub)
	fb := &fallback{}
	client := meetingsv1.NewMeetingsServiceClient(local.Conn(fb, identity.UnaryClientInterceptor(signer)))
	anon := meetingsv1.NewMeetingsServiceClient(local.Conn(fb, nil))

	ctx := identity.NewContext(context.WithValue(t.Context(), callerKey{}, "secret"), identity.Claims{Subject: "person-1"})
	ctx = logging.WithRequestID(ctx, "req-local")
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	req := &meetingsv1.GetMeetingRequest{MeetingId: "m1"}
	var header, trailer metadata.MD
	resp, err := client.GetMeeting(dctx, req, grpc.Header(&header), grpc.Trailer(&trailer))
	if err != nil {
		t.Fatal(err)
	}
	m := resp.GetMeeting()
	if m.GetId() != "person-1" || m.GetTitle() != "req-local" {
		t.Errorf("the service saw subject %q and request id %q; want the caller's (from the signed token and metadata)", m.GetId(), m.GetTitle())
	}
	if m.GetPlace() != "" {
		t.Error("a value of the caller's context reached the service")
	}
	if m.GetStateReason() != "deadline" {
		t.Error("the caller's deadline did not reach the service")
	}
	if req.GetMeetingId() != "m1" || stub.got == req {
		t.Error("the service got the caller's request itself, not a copy")
	}
	if got := header.Get(logging.MetadataKey); len(got) != 1 || got[0] != "req-local" {
		t.Errorf("header %v: want the request id echoed", header)
	}
	if got := trailer.Get("x-trailer"); len(got) != 1 || got[0] != "t" {
		t.Errorf("trailer %v", trailer)
	}

	// Identity is still required: no token, no call.
	if _, err := anon.GetMeeting(t.Context(), &meetingsv1.GetMeetingRequest{MeetingId: "m1"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("call without a token: %v, want Unauthenticated", err)
	}
	// Errors arrive as over the network: statuses as they are, context
	// errors as their code, panics as Internal (and logged).
	if _, err := client.GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: "notfound"}); status.Code(err) != codes.NotFound {
		t.Errorf("NotFound: %v", err)
	}
	if _, err := client.GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: "fail"}); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("context error: %v, want DeadlineExceeded", err)
	}
	_, err = client.GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: "panic"})
	if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "boom") {
		t.Errorf("panic: %v, want Internal without the panic value", err)
	}
	logged := false
	for _, r := range logs.records(t) {
		logged = logged || r["panic"] == "boom in local handler"
	}
	if !logged {
		t.Error("the panic was not logged")
	}
	// A cancelled caller does not reach the service.
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	if _, err := client.GetMeeting(cctx, &meetingsv1.GetMeetingRequest{MeetingId: "m1"}); status.Code(err) != codes.Canceled {
		t.Errorf("cancelled call: %v, want Canceled", err)
	}
	// Counted like any call (the metrics interceptor ran).
	if n := handled(t, reg, "GetMeeting", "NotFound"); n != 1 {
		t.Errorf("grpc_server_handled_total{GetMeeting, NotFound} = %v, want 1", n)
	}

	// What is not registered here goes to the fallback connection.
	if _, err := meetingsv1.NewDirectoryServiceClient(local.Conn(fb, nil)).GetOrganization(ctx, &meetingsv1.GetOrganizationRequest{}); err != nil {
		t.Fatal(err)
	}
	if len(fb.methods) != 1 || fb.methods[0] != meetingsv1.DirectoryService_GetOrganization_FullMethodName {
		t.Errorf("fallback got %v", fb.methods)
	}
}

// handled reads grpc_server_handled_total for one method and code.
func handled(t *testing.T, reg *prometheus.Registry, method, code string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "grpc_server_handled_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["grpc_method"] == method && labels["grpc_code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// relay is a service that, while serving a call, calls another service on
// its caller's behalf (as the documents service asks the meetings service
// about a confidential paper's reader): GetOrganization answers with what
// the meetings service saw (Name: the subject, ParentId: the request id).
type relay struct {
	meetingsv1.UnimplementedDirectoryServiceServer
	meetings meetingsv1.MeetingsServiceClient
}

func (r *relay) GetOrganization(ctx context.Context, _ *meetingsv1.GetOrganizationRequest) (*meetingsv1.GetOrganizationResponse, error) {
	resp, err := r.meetings.GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: "m1"})
	if err != nil {
		return nil, err
	}
	m := resp.GetMeeting()
	return &meetingsv1.GetOrganizationResponse{Organization: &meetingsv1.Organization{Name: m.GetId(), ParentId: m.GetTitle()}}, nil
}

// TestLocalCallsForwardTheCallerToAnotherLocalService: a local call made by
// a service while it serves a local call (-target=all: gateway →
// documents → meetings, all in one process) reaches the second service as
// the original caller — the token forwarded unchanged (services hold no
// signing key) and verified again, the request id passed along — as
// identity.DialForwarding does over TCP; and neither hop uses the
// fallback connection.
func TestLocalCallsForwardTheCallerToAnotherLocalService(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	_, _ = rand.Read(seed)
	signer, err := identity.NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	log, err := logging.New(&syncBuffer{}, "info")
	if err != nil {
		t.Fatal(err)
	}
	s := grpcserver.New(log, identity.NewVerifier(signer.PublicKey()), prometheus.NewRegistry())
	local := grpcserver.NewLocal()
	s.ServeLocal(local)
	fb := &fallback{}
	meetingsv1.RegisterMeetingsServiceServer(local, &echo{})
	meetingsv1.RegisterDirectoryServiceServer(local, &relay{
		meetings: meetingsv1.NewMeetingsServiceClient(local.Conn(fb, identity.ForwardUnaryClientInterceptor()))})

	ctx := logging.WithRequestID(identity.NewContext(t.Context(), identity.Claims{Subject: "person-1"}), "req-relay")
	gateway := meetingsv1.NewDirectoryServiceClient(local.Conn(fb, identity.UnaryClientInterceptor(signer)))
	resp, err := gateway.GetOrganization(ctx, &meetingsv1.GetOrganizationRequest{OrganizationId: "o1"})
	if err != nil {
		t.Fatal(err)
	}
	if o := resp.GetOrganization(); o.GetName() != "person-1" || o.GetParentId() != "req-relay" {
		t.Errorf("the second service saw subject %q and request id %q; want the original caller's", o.GetName(), o.GetParentId())
	}
	if len(fb.methods) != 0 {
		t.Errorf("calls went to the fallback connection: %v", fb.methods)
	}
	// Without a token the first hop refuses the call before the second.
	anon := meetingsv1.NewDirectoryServiceClient(local.Conn(fb, nil))
	if _, err := anon.GetOrganization(t.Context(), &meetingsv1.GetOrganizationRequest{OrganizationId: "o1"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("call without a token: %v, want Unauthenticated", err)
	}
}
