package meetings

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"testing"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/grpcserver"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/natsjs"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// waitLimit bounds every wait for something asynchronous (the relay, stream
// creation). It is a deadlock guard, not a performance assertion.
const waitLimit = 30 * time.Second

// world is one isolated service instance: its own schema, subjects and
// stream, served over a loopback gRPC listener with real identity tokens.
type world struct {
	svc    *Service
	pool   *pgxpool.Pool
	js     jetstream.JetStream
	prefix string
	stream string
	client meetingsv1.MeetingsServiceClient
}

func newWorld(t *testing.T) *world {
	t.Helper()
	schema := testenv.Schema(t, Name)
	pool := testenv.Pool(t, schema, migrations)
	nc, js := testenv.JetStream(t)
	prefix := testenv.Prefix(t)
	log := testenv.Logger(t)

	svc := New(Deps{Log: log, Pool: pool, Schema: schema, JS: js, NC: nc,
		SubjectPrefix: prefix})

	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		t.Fatal(err)
	}
	signer, err := identity.NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	gs := grpcserver.New(log, identity.NewVerifier(signer.PublicKey()), prometheus.NewRegistry())
	svc.Register(gs.Server)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(identity.UnaryClientInterceptor(signer)))
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	runDone, serveDone := make(chan error, 1), make(chan error, 1)
	go func() { runDone <- svc.Run(ctx) }()
	go func() { serveDone <- gs.Serve(ctx, lis) }()
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-serveDone; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := <-runDone; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	w := &world{svc: svc, pool: pool, js: js, prefix: prefix,
		stream: natsjs.ServiceStream(prefix, Name).Name,
		client: meetingsv1.NewMeetingsServiceClient(conn)}
	testenv.Eventually(t, waitLimit, func() error {
		if !svc.ready.Load() {
			return errors.New("schema not migrated yet")
		}
		_, err := js.Stream(context.Background(), w.stream)
		return err
	})
	return w
}

// as returns a context carrying the claims the client interceptor signs.
func as(c identity.Claims) context.Context {
	return identity.NewContext(context.Background(), c)
}

func orgAdmin(org string) identity.Claims {
	return identity.Claims{Subject: "admin-of-" + org, Name: "Quản trị " + org, Orgs: []string{org}, AdminOrgs: []string{org}}
}

func member(org string) identity.Claims {
	return identity.Claims{Subject: "member-of-" + org, Name: "Đảng viên " + org, Orgs: []string{org}}
}

func systemAdmin() identity.Claims {
	return identity.Claims{Subject: "root", Name: "Quản trị hệ thống", Roles: []string{identity.RoleSystemAdmin}}
}

// consumer reads the service stream from its first message, in order.
func (w *world) consumer(t *testing.T) jetstream.Consumer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	c, err := w.js.OrderedConsumer(ctx, w.stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("ordered consumer on %s: %v", w.stream, err)
	}
	return c
}

func next(t *testing.T, c jetstream.Consumer) jetstream.Msg {
	t.Helper()
	msg, err := c.Next(jetstream.FetchMaxWait(waitLimit))
	if err != nil {
		t.Fatalf("next event: %v", err)
	}
	return msg
}

func streamMsgs(t *testing.T, w *world) uint64 {
	t.Helper()
	s, err := w.js.Stream(context.Background(), w.stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func wantCode(t *testing.T, err error, want codes.Code) *status.Status {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != want {
		t.Fatalf("error = %v, want code %v", err, want)
	}
	return st
}

// violatedFields returns the fields named by the BadRequest details of an
// InvalidArgument error.
func violatedFields(t *testing.T, err error) []string {
	t.Helper()
	st := wantCode(t, err, codes.InvalidArgument)
	var fields []string
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			fields = append(fields, v.GetField())
		}
	}
	if len(fields) == 0 {
		t.Fatalf("InvalidArgument without field violations: %v", err)
	}
	return fields
}
