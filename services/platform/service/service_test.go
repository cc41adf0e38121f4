package service_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/ecabinet/ecabinet/services/platform/pg"
	"github.com/ecabinet/ecabinet/services/platform/service"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

func TestCoreIsReadyOnlyOnceMigrated(t *testing.T) {
	schema := testenv.Schema(t, "core")
	pool, err := pg.Connect(testenv.DatabaseURL(t), schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	nc, js := testenv.JetStream(t)
	c := &service.Core{Name: "core", Log: testenv.Logger(t), Pool: pool, Schema: schema, JS: js, NC: nc,
		SubjectPrefix: testenv.Prefix(t), Migrations: fstest.MapFS{
			"00001_things.sql": {Data: []byte("-- +goose Up\nCREATE TABLE things (id int);\n")},
		}}

	schemaProbe := c.Probes()[0]
	if c.Ready() || schemaProbe.Check(context.Background()) == nil {
		t.Fatal("ready before migrating")
	}
	if err := c.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !c.Ready() {
		t.Fatal("not ready after migrating")
	}
	for _, p := range c.Probes() {
		if err := p.Check(context.Background()); err != nil {
			t.Errorf("probe %s: %v", p.Name, err)
		}
	}
	if _, err := pool.Exec(context.Background(), "INSERT INTO things VALUES (1)"); err != nil {
		t.Errorf("migration not applied in %s: %v", schema, err)
	}
}
