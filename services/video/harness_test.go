package video

import (
	"context"
	"testing"
	"time"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/natsjs"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
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
	client videov1.VideoServiceClient
}

func newWorld(t *testing.T) *world {
	t.Helper()
	schema := testenv.Schema(t, Name)
	pool := testenv.Pool(t, schema, migrations)
	nc, js := testenv.JetStream(t)
	prefix := testenv.Prefix(t)

	svc := New(Deps{Log: testenv.Logger(t), Pool: pool, Schema: schema, JS: js, NC: nc,
		SubjectPrefix: prefix})
	testenv.Run(t, svc.Run)
	conn := testenv.Serve(t, testenv.Signer(t), svc.Register)

	w := &world{svc: svc, pool: pool, js: js, prefix: prefix,
		stream: natsjs.ServiceStream(prefix, Name).Name,
		client: videov1.NewVideoServiceClient(conn)}
	testenv.Ready(t, svc.Probes()...)
	// The service makes its stream after migrating.
	testenv.Eventually(t, waitLimit, func() error {
		_, err := js.Stream(context.Background(), w.stream)
		return err
	})
	return w
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
