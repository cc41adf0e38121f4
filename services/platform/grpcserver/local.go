package grpcserver

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// maxLocalMessage is the largest request or answer a local call carries:
// the gRPC default (4 MiB) that a server receives and a client accepts, so
// a call that fails over the network fails the same way in one process.
const maxLocalMessage = 4 << 20

// Local holds services hosted in this very process, to be called (Conn)
// without the network: a unary call runs the service's handler behind the
// same interceptors as a call that arrived over TCP (request id, logging,
// metrics, panic recovery, identity), with the caller's outgoing metadata
// as its incoming metadata, and the answer is copied back. Only the
// transport is left out: the caller's client interceptor (identity
// signing) still runs, the identity token is still checked, and the
// server's context carries no value of the caller's (only its deadline and
// cancellation), as across the network.
//
// Why: in -target=all the gateway's call to a service used to cross
// loopback TCP and HTTP/2, costing two protobuf encodings and decodings,
// socket system calls, the transports' goroutines and a fresh handler
// goroutine whose stack grew on every call — about a quarter of the
// process's CPU per ballot in a vote storm (CPU profile, ADR 0005
// "Performance"). Streams, and methods of services not registered here,
// go to the fallback connection.
type Local struct {
	chain grpc.UnaryServerInterceptor

	mu      sync.RWMutex
	methods map[string]localMethod // full method name -> handler
}

type localMethod struct {
	impl    any
	handler grpc.MethodHandler
}

// NewLocal returns an empty registry of local services. Register services
// on it (RegisterService, as on a grpc.Server, once Server.ServeLocal has
// given it the server's interceptors) and call them through Conn.
func NewLocal() *Local {
	return &Local{methods: map[string]localMethod{}}
}

// ServeLocal has l's calls go through s's unary interceptors.
func (s *Server) ServeLocal(l *Local) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.chain = s.unaryChain
}

// RegisterService records a service's unary methods (grpc.ServiceRegistrar),
// as grpc.Server.RegisterService does; a service registers on both.
func (l *Local) RegisterService(sd *grpc.ServiceDesc, impl any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range sd.Methods {
		l.methods["/"+sd.ServiceName+"/"+m.MethodName] = localMethod{impl: impl, handler: m.Handler}
	}
}

// Conn is a connection that calls the unary methods registered on l in
// this process, client (if not nil) running first as the caller's client
// interceptor (e.g. identity.UnaryClientInterceptor), and sends everything
// else to fallback.
func (l *Local) Conn(fallback grpc.ClientConnInterface, client grpc.UnaryClientInterceptor) grpc.ClientConnInterface {
	return &localConn{l: l, fallback: fallback, client: client}
}

type localConn struct {
	l        *Local
	fallback grpc.ClientConnInterface
	client   grpc.UnaryClientInterceptor
}

// Invoke implements grpc.ClientConnInterface.
func (c *localConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	c.l.mu.RLock()
	m, ok := c.l.methods[method]
	chain := c.l.chain
	c.l.mu.RUnlock()
	ok = ok && chain != nil // no server's interceptors, no local call
	in, inOK := args.(proto.Message)
	out, outOK := reply.(proto.Message)
	if !ok || !inOK || !outOK {
		return c.fallback.Invoke(ctx, method, args, reply, opts...)
	}
	call := func(ctx context.Context, method string, _, _ any, _ *grpc.ClientConn, opts ...grpc.CallOption) error {
		return invokeLocal(ctx, chain, method, m, in, out, opts)
	}
	if c.client != nil {
		return c.client(ctx, method, args, reply, nil, call, opts...)
	}
	return call(ctx, method, args, reply, nil, opts...)
}

// NewStream implements grpc.ClientConnInterface: streams go over the
// fallback connection.
func (c *localConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return c.fallback.NewStream(ctx, desc, method, opts...)
}

func invokeLocal(ctx context.Context, chain grpc.UnaryServerInterceptor, method string, m localMethod, in, out proto.Message, opts []grpc.CallOption) error {
	if err := ctx.Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	if n := proto.Size(in); n > maxLocalMessage {
		return status.Errorf(codes.ResourceExhausted, "grpc: received message larger than max (%d vs. %d)", n, maxLocalMessage)
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	st := &localStream{method: method}
	sctx := metadata.NewIncomingContext(serverContext{ctx}, md.Copy())
	p := &peer.Peer{Addr: localAddr{}, LocalAddr: localAddr{}}
	sctx = peer.NewContext(sctx, p)
	sctx = grpc.NewContextWithServerTransportStream(sctx, st)

	resp, err := m.handler(m.impl, sctx, func(v any) error {
		dst, ok := v.(proto.Message)
		if !ok {
			return status.Errorf(codes.Internal, "grpcserver: local call %s: request type %T", method, v)
		}
		proto.Merge(dst, in) // the service gets its own copy, as if decoded
		return nil
	}, chain)

	st.mu.Lock()
	header, trailer := st.header, st.trailer
	st.sent = true
	st.mu.Unlock()
	for _, o := range opts {
		switch o := o.(type) {
		case grpc.HeaderCallOption:
			*o.HeaderAddr = header
		case grpc.TrailerCallOption:
			*o.TrailerAddr = trailer
		case grpc.PeerCallOption:
			*o.PeerAddr = *p
		}
	}
	if err != nil {
		// As the server sends it: a status (also one wrapped), a context
		// error as its code, anything else Unknown.
		if s, ok := status.FromError(err); ok {
			return s.Err()
		}
		return status.FromContextError(err).Err()
	}
	answer, ok := resp.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "grpcserver: local call %s: answer type %T", method, resp)
	}
	if n := proto.Size(answer); n > maxLocalMessage {
		return status.Errorf(codes.ResourceExhausted, "grpc: received message larger than max (%d vs. %d)", n, maxLocalMessage)
	}
	proto.Merge(out, answer)
	return nil
}

// serverContext is the service's side of a local call: the caller's
// deadline and cancellation, none of its values (across the network the
// service sees only what the metadata carries).
type serverContext struct{ parent context.Context }

func (c serverContext) Deadline() (time.Time, bool) { return c.parent.Deadline() }
func (c serverContext) Done() <-chan struct{}       { return c.parent.Done() }
func (c serverContext) Err() error                  { return c.parent.Err() }
func (serverContext) Value(any) any                 { return nil }

// localStream collects the header and trailer a handler sets
// (grpc.SetHeader, grpc.SetTrailer), for the caller's grpc.Header and
// grpc.Trailer call options.
type localStream struct {
	method string

	mu              sync.Mutex
	header, trailer metadata.MD
	sent            bool
}

func (s *localStream) Method() string { return s.method }

func (s *localStream) SetHeader(md metadata.MD) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sent {
		return fmt.Errorf("grpcserver: local call %s: the header was already sent", s.method)
	}
	s.header = metadata.Join(s.header, md)
	return nil
}

func (s *localStream) SendHeader(md metadata.MD) error {
	if err := s.SetHeader(md); err != nil {
		return err
	}
	s.mu.Lock()
	s.sent = true
	s.mu.Unlock()
	return nil
}

func (s *localStream) SetTrailer(md metadata.MD) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trailer = metadata.Join(s.trailer, md)
	return nil
}

// localAddr is the peer address of a local call.
type localAddr struct{}

func (localAddr) Network() string { return "local" }
func (localAddr) String() string  { return "local" }

var _ net.Addr = localAddr{}

// chainUnary runs interceptors outermost first, as grpc.ChainUnaryInterceptor.
func chainUnary(ints ...grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, final grpc.UnaryHandler) (any, error) {
		h := final
		for i := len(ints) - 1; i >= 0; i-- {
			ic, next := ints[i], h
			h = func(ctx context.Context, req any) (any, error) { return ic(ctx, req, info, next) }
		}
		return h(ctx, req)
	}
}
