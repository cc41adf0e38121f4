package identity_test

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/logging"
)

// meetings answers GetMeeting with who called: Title = subject, Place =
// request id, so the client can see what the server saw.
type meetings struct {
	meetingsv1.UnimplementedMeetingsServiceServer
}

func (meetings) GetMeeting(ctx context.Context, req *meetingsv1.GetMeetingRequest) (*meetingsv1.GetMeetingResponse, error) {
	c, ok := identity.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Internal, "handler ran without claims")
	}
	md, _ := metadata.FromIncomingContext(ctx)
	var rid string
	if v := md.Get(logging.MetadataKey); len(v) > 0 {
		rid = v[0]
	}
	return &meetingsv1.GetMeetingResponse{Meeting: &meetingsv1.Meeting{Id: req.GetMeetingId(), Title: c.Subject, Place: rid}}, nil
}

// streamDesc is a test-only server-streaming service, because no ecabinet
// service streams yet and the stream interceptors need a protected target.
var streamDesc = grpc.ServiceDesc{
	ServiceName: "ecabinet.test.Streamer",
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{{
		StreamName:    "Who",
		ServerStreams: true,
		Handler: func(_ any, ss grpc.ServerStream) error {
			var in emptypb.Empty
			if err := ss.RecvMsg(&in); err != nil {
				return err
			}
			c, ok := identity.FromContext(ss.Context())
			if !ok {
				return status.Error(codes.Internal, "handler ran without claims")
			}
			if err := ss.SetHeader(metadata.Pairs("subject", c.Subject)); err != nil {
				return err
			}
			return ss.SendMsg(&emptypb.Empty{})
		},
	}},
}

// serve starts a real gRPC server on a loopback port with the identity
// interceptors, and returns a plain client connection to it.
func serve(t *testing.T, v *identity.Verifier, clientOpts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(
		grpc.ChainUnaryInterceptor(identity.UnaryServerInterceptor(v)),
		grpc.ChainStreamInterceptor(identity.StreamServerInterceptor(v)),
	)
	healthpb.RegisterHealthServer(gs, health.NewServer())
	reflection.Register(gs)
	meetingsv1.RegisterMeetingsServiceServer(gs, meetings{})
	gs.RegisterService(&streamDesc, struct{}{})
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	conn, err := grpc.NewClient(lis.Addr().String(), append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, clientOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func callWho(ctx context.Context, conn *grpc.ClientConn) (string, error) {
	stream, err := conn.NewStream(ctx, &streamDesc.Streams[0], "/ecabinet.test.Streamer/Who")
	if err != nil {
		return "", err
	}
	if err := stream.SendMsg(&emptypb.Empty{}); err != nil {
		return "", err
	}
	if err := stream.CloseSend(); err != nil {
		return "", err
	}
	var out emptypb.Empty
	if err := stream.RecvMsg(&out); err != nil {
		return "", err
	}
	md, err := stream.Header()
	if err != nil {
		return "", err
	}
	return md.Get("subject")[0], nil
}

func TestClientInterceptorsCarryIdentity(t *testing.T) {
	s, _ := newSigner(t)
	conn := serve(t, identity.NewVerifier(s.PublicKey()),
		grpc.WithChainUnaryInterceptor(identity.UnaryClientInterceptor(s)),
		grpc.WithChainStreamInterceptor(identity.StreamClientInterceptor(s)),
	)
	ctx := identity.NewContext(t.Context(), alice)
	ctx = logging.WithRequestID(ctx, "req-42")

	resp, err := meetingsv1.NewMeetingsServiceClient(conn).GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: "m1"})
	if err != nil {
		t.Fatalf("GetMeeting: %v", err)
	}
	if resp.GetMeeting().GetTitle() != alice.Subject || resp.GetMeeting().GetPlace() != "req-42" {
		t.Errorf("server saw subject %q, request id %q; want %q, %q",
			resp.GetMeeting().GetTitle(), resp.GetMeeting().GetPlace(), alice.Subject, "req-42")
	}

	who, err := callWho(ctx, conn)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if who != alice.Subject {
		t.Errorf("stream handler saw subject %q, want %q", who, alice.Subject)
	}
}

func TestServerRejectsMissingToken(t *testing.T) {
	s, _ := newSigner(t)
	// The client interceptor is installed but ctx has no claims, so no token
	// goes out.
	conn := serve(t, identity.NewVerifier(s.PublicKey()),
		grpc.WithChainUnaryInterceptor(identity.UnaryClientInterceptor(s)),
		grpc.WithChainStreamInterceptor(identity.StreamClientInterceptor(s)),
	)
	_, err := meetingsv1.NewMeetingsServiceClient(conn).GetMeeting(t.Context(), &meetingsv1.GetMeetingRequest{MeetingId: "m1"})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("unary without token: %v, want Unauthenticated", err)
	}
	if _, err := callWho(t.Context(), conn); status.Code(err) != codes.Unauthenticated {
		t.Errorf("stream without token: %v, want Unauthenticated", err)
	}
}

func TestServerRejectsBadTokens(t *testing.T) {
	s, seed := newSigner(t)
	conn := serve(t, identity.NewVerifier(s.PublicKey()))
	client := meetingsv1.NewMeetingsServiceClient(conn)
	for name, bad := range badTokens(t, seed) {
		t.Run(name, func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(t.Context(), identity.MetadataKey, bad.token)
			_, err := client.GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: "m1"})
			if status.Code(err) != codes.Unauthenticated {
				t.Errorf("unary: %v, want Unauthenticated", err)
			}
			if _, err := callWho(ctx, conn); status.Code(err) != codes.Unauthenticated {
				t.Errorf("stream: %v, want Unauthenticated", err)
			}
		})
	}
}

func TestServerRejectsTwoTokens(t *testing.T) {
	s, _ := newSigner(t)
	good, err := s.Sign(alice, identity.TokenTTL)
	if err != nil {
		t.Fatal(err)
	}
	conn := serve(t, identity.NewVerifier(s.PublicKey()))
	// Two tokens are ambiguous (which one did the gateway mean?): refuse.
	ctx := metadata.AppendToOutgoingContext(t.Context(), identity.MetadataKey, good, identity.MetadataKey, good)
	_, err = meetingsv1.NewMeetingsServiceClient(conn).GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: "m1"})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("two tokens: %v, want Unauthenticated", err)
	}
}

func TestHealthAndReflectionNeedNoToken(t *testing.T) {
	s, _ := newSigner(t)
	conn := serve(t, identity.NewVerifier(s.PublicKey()))

	resp, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health Check = %v, %v; want SERVING", resp, err)
	}
	watch, err := healthpb.NewHealthClient(conn).Watch(t.Context(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if w, err := watch.Recv(); err != nil || w.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health Watch = %v, %v; want SERVING", w, err)
	}

	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	r, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection without token: %v", err)
	}
	if len(r.GetListServicesResponse().GetService()) == 0 {
		t.Errorf("reflection listed no services: %v", r)
	}
}
