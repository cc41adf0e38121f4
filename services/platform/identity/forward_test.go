package identity_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/logging"
)

// relay is a service in the middle: its GetMeeting asks the back service
// through a connection with the forwarding interceptors, and its Who
// stream does the same over a stream, so the test sees what arrived at the
// back.
type relay struct {
	meetingsv1.UnimplementedMeetingsServiceServer
	back *grpc.ClientConn
}

func (r relay) GetMeeting(ctx context.Context, req *meetingsv1.GetMeetingRequest) (*meetingsv1.GetMeetingResponse, error) {
	// The request id reaches the relay's handler the way grpcserver puts
	// it there.
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get(logging.MetadataKey)) == 1 {
		ctx = logging.WithRequestID(ctx, md.Get(logging.MetadataKey)[0])
	}
	return meetingsv1.NewMeetingsServiceClient(r.back).GetMeeting(ctx, req)
}

// tokenRecorder remembers the raw token of every call a server received.
type tokenRecorder struct {
	mu     sync.Mutex
	tokens []string
}

func (r *tokenRecorder) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tokens = append(r.tokens, md.Get(identity.MetadataKey)...)
}

func (r *tokenRecorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.tokens...)
}

func listen(t *testing.T, gs *grpc.Server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

func dial(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// forwardingChain starts back <- relay, both verifying tokens, and returns
// a plain connection to the relay and the back server's token record.
func forwardingChain(t *testing.T, v *identity.Verifier) (*grpc.ClientConn, *tokenRecorder) {
	t.Helper()
	rec := &tokenRecorder{}
	back := grpc.NewServer(
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			rec.record(ctx)
			return h(ctx, req)
		}, identity.UnaryServerInterceptor(v)),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			rec.record(ss.Context())
			return h(srv, ss)
		}, identity.StreamServerInterceptor(v)),
	)
	meetingsv1.RegisterMeetingsServiceServer(back, meetings{})
	back.RegisterService(&streamDesc, struct{}{})
	backConn := dial(t, listen(t, back),
		grpc.WithChainUnaryInterceptor(identity.ForwardUnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(identity.ForwardStreamClientInterceptor()))

	front := grpc.NewServer(
		grpc.ChainUnaryInterceptor(identity.UnaryServerInterceptor(v)),
		grpc.ChainStreamInterceptor(identity.StreamServerInterceptor(v)),
	)
	meetingsv1.RegisterMeetingsServiceServer(front, relay{back: backConn})
	// The relay's stream asks the back's stream with the incoming context.
	front.RegisterService(&grpc.ServiceDesc{
		ServiceName: streamDesc.ServiceName,
		HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{{
			StreamName:    "Who",
			ServerStreams: true,
			Handler: func(_ any, ss grpc.ServerStream) error {
				var in emptypb.Empty
				if err := ss.RecvMsg(&in); err != nil {
					return err
				}
				who, err := callWho(ss.Context(), backConn)
				if err != nil {
					return err
				}
				if err := ss.SetHeader(metadata.Pairs("subject", who)); err != nil {
					return err
				}
				return ss.SendMsg(&emptypb.Empty{})
			},
		}},
	}, struct{}{})
	return dial(t, listen(t, front)), rec
}

func TestForwardingPassesTheCallersTokenUnchanged(t *testing.T) {
	s, _ := newSigner(t)
	conn, rec := forwardingChain(t, identity.NewVerifier(s.PublicKey()))
	token, err := s.Sign(alice, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ctx := metadata.AppendToOutgoingContext(t.Context(), identity.MetadataKey, token, logging.MetadataKey, "req-7")

	resp, err := meetingsv1.NewMeetingsServiceClient(conn).GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: "m1"})
	if err != nil {
		t.Fatalf("GetMeeting through the relay: %v", err)
	}
	if resp.GetMeeting().GetTitle() != alice.Subject || resp.GetMeeting().GetPlace() != "req-7" {
		t.Errorf("back service saw subject %q, request id %q; want %q, %q",
			resp.GetMeeting().GetTitle(), resp.GetMeeting().GetPlace(), alice.Subject, "req-7")
	}
	who, err := callWho(ctx, conn)
	if err != nil {
		t.Fatalf("stream through the relay: %v", err)
	}
	if who != alice.Subject {
		t.Errorf("back stream saw subject %q, want %q", who, alice.Subject)
	}
	got := rec.all()
	if len(got) != 2 || got[0] != token || got[1] != token {
		t.Errorf("back service received tokens %q, want the caller's token twice, byte for byte", got)
	}
}

// A call made outside any served request (a background job) carries no
// token, and the back service refuses it: forwarding never invents one.
func TestForwardingWithoutAnIncomingTokenSendsNone(t *testing.T) {
	s, _ := newSigner(t)
	rec := &tokenRecorder{}
	back := grpc.NewServer(grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		rec.record(ctx)
		return h(ctx, req)
	}, identity.UnaryServerInterceptor(identity.NewVerifier(s.PublicKey()))))
	meetingsv1.RegisterMeetingsServiceServer(back, meetings{})
	conn := dial(t, listen(t, back), grpc.WithChainUnaryInterceptor(identity.ForwardUnaryClientInterceptor()))

	// Claims in the context are not a token: only the gateway signs.
	ctx := identity.NewContext(t.Context(), alice)
	_, err := meetingsv1.NewMeetingsServiceClient(conn).GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: "m1"})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("call without an incoming token: %v, want Unauthenticated", err)
	}
	if got := rec.all(); len(got) != 0 {
		t.Errorf("back service received tokens %q, want none", got)
	}
}
