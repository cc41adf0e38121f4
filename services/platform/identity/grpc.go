package identity

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ecabinet/ecabinet/services/platform/logging"
)

// exempt reports whether a method may be called without a token: health
// checks come from orchestrators and reflection from operators' tools, and
// neither reveals business data.
func exempt(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.") || strings.HasPrefix(fullMethod, "/grpc.reflection.")
}

// authenticate returns ctx carrying the caller's claims, or an
// Unauthenticated error.
func authenticate(ctx context.Context, v *Verifier) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	tokens := md.Get(MetadataKey)
	if len(tokens) == 0 || tokens[0] == "" {
		return nil, status.Errorf(codes.Unauthenticated, "missing identity token (metadata %q)", MetadataKey)
	}
	if len(tokens) > 1 {
		return nil, status.Errorf(codes.Unauthenticated, "more than one identity token (metadata %q)", MetadataKey)
	}
	c, err := v.Verify(tokens[0])
	if err != nil {
		return nil, status.Errorf(codes.Unauthenticated, "invalid identity token: %v", err)
	}
	return NewContext(ctx, c), nil
}

// UnaryServerInterceptor requires a valid token on every call but health and
// reflection, and puts its claims in the handler's context (FromContext).
func UnaryServerInterceptor(v *Verifier) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if exempt(info.FullMethod) {
			return handler(ctx, req)
		}
		ctx, err := authenticate(ctx, v)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streams.
func StreamServerInterceptor(v *Verifier) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if exempt(info.FullMethod) {
			return handler(srv, ss)
		}
		ctx, err := authenticate(ss.Context(), v)
		if err != nil {
			return err
		}
		return handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
	}
}

// contextStream replaces a stream's context.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }

// outgoing adds the token for the claims in ctx (if any) and the request id
// (if any) to ctx's outgoing metadata. A call without claims goes out
// without a token (health checks need none; anything else the server
// rejects).
func outgoing(ctx context.Context, s *Signer) (context.Context, error) {
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	if c, ok := FromContext(ctx); ok {
		if s == nil {
			return nil, status.Error(codes.Internal, "identity: client interceptor has no signer")
		}
		token, err := s.token(c)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "signing identity token: %v", err)
		}
		md.Set(MetadataKey, token)
	}
	if id := logging.RequestID(ctx); id != "" && len(md.Get(logging.MetadataKey)) == 0 {
		md.Set(logging.MetadataKey, id)
	}
	return metadata.NewOutgoingContext(ctx, md), nil
}

// UnaryClientInterceptor signs the claims in the call's context (NewContext)
// into the outgoing metadata, and passes the request id along.
func UnaryClientInterceptor(s *Signer) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		ctx, err := outgoing(ctx, s)
		if err != nil {
			return err
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// StreamClientInterceptor is UnaryClientInterceptor for streams.
func StreamClientInterceptor(s *Signer) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		ctx, err := outgoing(ctx, s)
		if err != nil {
			return nil, err
		}
		return streamer(ctx, desc, cc, method, opts...)
	}
}
