package testenv_test

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ecabinet/ecabinet/services/platform/natsjs"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

func TestDatabaseURLPrecedence(t *testing.T) {
	t.Setenv("TEST_DATABASE_URL", "")
	t.Setenv("DATABASE_URL", "")
	if got := testenv.DatabaseURL(t); got != "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" {
		t.Errorf("default = %q", got)
	}
	t.Setenv("DATABASE_URL", "postgres://b")
	if got := testenv.DatabaseURL(t); got != "postgres://b" {
		t.Errorf("with DATABASE_URL = %q", got)
	}
	t.Setenv("TEST_DATABASE_URL", "postgres://a")
	if got := testenv.DatabaseURL(t); got != "postgres://a" {
		t.Errorf("with TEST_DATABASE_URL = %q", got)
	}
}

func TestNATSURLPrecedence(t *testing.T) {
	t.Setenv("TEST_NATS_URL", "")
	t.Setenv("NATS_URL", "")
	if got := testenv.NATSURL(t); got != "nats://127.0.0.1:4222" {
		t.Errorf("default = %q", got)
	}
	t.Setenv("NATS_URL", "nats://b:4222")
	if got := testenv.NATSURL(t); got != "nats://b:4222" {
		t.Errorf("with NATS_URL = %q", got)
	}
	t.Setenv("TEST_NATS_URL", "nats://a:4222")
	if got := testenv.NATSURL(t); got != "nats://a:4222" {
		t.Errorf("with TEST_NATS_URL = %q", got)
	}
}

func schemaExists(t *testing.T, name string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testenv.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestSchemaAndPoolAreRemovedAfterTheTest(t *testing.T) {
	var schema string
	t.Run("inner", func(t *testing.T) {
		schema = testenv.Schema(t, "envtest")
		if !regexp.MustCompile(`^envtest_t[0-9a-f]{8}$`).MatchString(schema) {
			t.Fatalf("schema name %q", schema)
		}
		if other := testenv.Schema(t, "envtest"); other == schema {
			t.Fatalf("two calls gave the same schema %q", schema)
		}
		pool := testenv.Pool(t, schema, nil)
		if _, err := pool.Exec(context.Background(), `INSERT INTO inbox (consumer, msg_id, subject) VALUES ('c', 'm', 's')`); err != nil {
			t.Fatal(err)
		}
		if !schemaExists(t, schema) {
			t.Fatalf("schema %s not created", schema)
		}
	})
	if schemaExists(t, schema) {
		t.Errorf("schema %s still exists after its test ended", schema)
	}
}

func TestPrefixStreamsAreDeletedAfterTheTest(t *testing.T) {
	_, js := testenv.JetStream(t)
	var prefix string
	t.Run("inner", func(t *testing.T) {
		prefix = testenv.Prefix(t)
		if !regexp.MustCompile(`^t_[0-9a-f]{8}\.$`).MatchString(prefix) {
			t.Fatalf("prefix %q", prefix)
		}
		if sp := testenv.StreamPrefix(prefix); sp != "T_"+strings.ToUpper(prefix[2:10])+"_" {
			t.Fatalf("StreamPrefix(%q) = %q", prefix, sp)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, js := testenv.JetStream(t)
		if err := natsjs.EnsureStream(ctx, js, natsjs.ServiceStream(prefix, "meetings")); err != nil {
			t.Fatal(err)
		}
	})
	_, err := js.Stream(context.Background(), natsjs.ServiceStream(prefix, "meetings").Name)
	if err != jetstream.ErrStreamNotFound {
		t.Errorf("stream lookup after the test = %v, want ErrStreamNotFound", err)
	}
}

func TestEmbeddedNATSStopAndRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := testenv.EmbeddedNATS(t)
	url := srv.URL()
	nc, err := natsjs.Connect(url, "test", testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := natsjs.EnsureStream(ctx, js, natsjs.ServiceStream("", "video")); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "ecabinet.video.v1.m.room_opened", []byte("x")); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	srv.Stop() // harmless
	testenv.Eventually(t, time.Minute, func() error {
		if nc.IsConnected() {
			return fmt.Errorf("client still connected to a stopped server")
		}
		return nil
	})
	srv.Restart()
	if srv.URL() != url {
		t.Errorf("URL changed across restart: %q -> %q", url, srv.URL())
	}
	testenv.Eventually(t, time.Minute, func() error {
		st, err := js.Stream(ctx, "VIDEO")
		if err != nil {
			return err
		}
		if n := st.CachedInfo().State.Msgs; n != 1 {
			return fmt.Errorf("VIDEO has %d messages after restart, want 1", n)
		}
		return nil
	})
}

// fatalTB records the message of a Fatalf instead of failing the real test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

// fatalOf runs fn on a fatalTB in its own goroutine (Fatal ends it) and
// returns the failure message, "" if there was none.
func fatalOf(t *testing.T, fn func(tb testing.TB)) string {
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.msg
}

func TestMissingDependenciesFailClearly(t *testing.T) {
	t.Setenv("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable")
	t.Setenv("TEST_NATS_URL", "nats://127.0.0.1:1")

	msg := fatalOf(t, func(tb testing.TB) { testenv.Pool(tb, "envtest_never_created", nil) })
	if !strings.Contains(msg, "PostgreSQL is not reachable at 127.0.0.1:1") {
		t.Errorf("Pool without PostgreSQL failed with %q", msg)
	}
	msg = fatalOf(t, func(tb testing.TB) { testenv.JetStream(tb) })
	if !strings.Contains(msg, "NATS is not reachable at nats://127.0.0.1:1") {
		t.Errorf("JetStream without NATS failed with %q", msg)
	}
}
