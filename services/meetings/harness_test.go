package meetings

import (
	"context"
	"testing"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/natsjs"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// waitLimit bounds the wait for the service to create its stream (testenv
// bounds the others). It is a deadlock guard, not a performance assertion.
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
	conn   *grpc.ClientConn
}

// newWorld starts the service; opts may adjust its Deps before New.
func newWorld(t *testing.T, opts ...func(*Deps)) *world {
	t.Helper()
	schema := testenv.Schema(t, Name)
	pool := testenv.Pool(t, schema, migrations)
	nc, js := testenv.JetStream(t)
	prefix := testenv.Prefix(t)

	deps := Deps{Log: testenv.Logger(t), Pool: pool, Schema: schema, JS: js, NC: nc, SubjectPrefix: prefix}
	for _, o := range opts {
		o(&deps)
	}
	svc := New(deps)

	testenv.Run(t, svc.Run)
	conn := testenv.Serve(t, testenv.Signer(t), svc.Register)

	w := &world{svc: svc, pool: pool, js: js, prefix: prefix,
		stream: natsjs.ServiceStream(prefix, Name).Name,
		client: meetingsv1.NewMeetingsServiceClient(conn), conn: conn}
	testenv.Ready(t, svc.Probes()...)
	// The service makes its stream after migrating.
	testenv.Eventually(t, waitLimit, func() error {
		_, err := js.Stream(context.Background(), w.stream)
		return err
	})
	return w
}

// adminOf is an administrator of orgs who is not in the directory (a
// subject that is not a person id).
func adminOf(orgs ...string) identity.Claims {
	return identity.Claims{Subject: "admin-" + uuid.NewString(), Name: "Quản trị", Orgs: orgs, AdminOrgs: orgs}
}

// memberClaims is a plain member of orgs who is not in the directory.
func memberClaims(orgs ...string) identity.Claims {
	return identity.Claims{Subject: "member-" + uuid.NewString(), Name: "Đảng viên", Orgs: orgs}
}

func systemAdmin() identity.Claims {
	return identity.Claims{Subject: "root", Name: "Quản trị hệ thống", Roles: []string{identity.RoleSystemAdmin}}
}

func unmarshalProto(b []byte, m proto.Message) error { return proto.Unmarshal(b, m) }
