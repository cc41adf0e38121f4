package identity

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/ecabinet/ecabinet/services/platform/logging"
)

// forwarded returns ctx with the identity token of the call being served
// (ctx's incoming metadata) set on the outgoing metadata, unchanged, and
// the request id passed along. A service calling another on a user's
// behalf thus acts as that user with the gateway's own signature: services
// hold no signing key and so cannot mint or widen a token. Without an
// incoming token (a background job) the call goes out without one, which
// the server refuses unless the method is exempt.
func forwarded(ctx context.Context) context.Context {
	in, _ := metadata.FromIncomingContext(ctx)
	out, _ := metadata.FromOutgoingContext(ctx)
	out = out.Copy()
	// Exactly one: a request with two tokens never got past the server
	// interceptor, and forwarding an ambiguous pair would not help.
	if tokens := in.Get(MetadataKey); len(tokens) == 1 && tokens[0] != "" {
		out.Set(MetadataKey, tokens[0])
	}
	if id := logging.RequestID(ctx); id != "" && len(out.Get(logging.MetadataKey)) == 0 {
		out.Set(logging.MetadataKey, id)
	}
	return metadata.NewOutgoingContext(ctx, out)
}

// ForwardUnaryClientInterceptor forwards the caller's identity token (see
// forwarded) on every unary call made with ctx of a call being served.
func ForwardUnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(forwarded(ctx), method, req, reply, cc, opts...)
	}
}

// ForwardStreamClientInterceptor is ForwardUnaryClientInterceptor for
// streams.
func ForwardStreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return streamer(forwarded(ctx), desc, cc, method, opts...)
	}
}

// DialForwarding returns a client for another service of the suite that
// calls it on behalf of the caller being served (see forwarded). The
// connection is lazy: nothing is dialled until the first call, so a
// service can start before the one it calls.
func DialForwarding(addr string) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(ForwardUnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(ForwardStreamClientInterceptor()),
	)
	if err != nil {
		return nil, fmt.Errorf("identity: dial %q: %w", addr, err)
	}
	return conn, nil
}
