package health

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/ecabinet/ecabinet/services/platform/logging"
)

// fakeDep is a dependency the test switches up and down.
type fakeDep struct {
	mu  sync.Mutex
	err error
}

func (f *fakeDep) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeDep) check(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// take returns the log records written since the last call.
func (b *syncBuffer) take(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	b.buf.Reset()
	return out
}

func statuses(t *testing.T, hs *grpchealth.Server, names ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range names {
		resp, err := hs.Check(context.Background(), &healthpb.HealthCheckRequest{Service: n})
		if err != nil {
			t.Fatalf("Check(%q): %v", n, err)
		}
		out[n] = resp.GetStatus().String()
	}
	return out
}

// summary keeps the fields of log records the test cares about.
func summary(recs []map[string]any) []string {
	var out []string
	for _, r := range recs {
		s := r["level"].(string) + " " + r["msg"].(string) + " " + r["dependency"].(string)
		if a, ok := r["addr"]; ok {
			s += " " + a.(string)
		}
		if e, ok := r["error"]; ok {
			s += ": " + e.(string)
		}
		out = append(out, s)
	}
	return out
}

func TestCheckerFollowsProbes(t *testing.T) {
	pg, nats := &fakeDep{}, &fakeDep{}
	nats.set(errors.New("connection refused"))
	hs := grpchealth.NewServer()
	logs := &syncBuffer{}
	log, err := logging.New(logs, "info")
	if err != nil {
		t.Fatal(err)
	}
	c := NewChecker(hs, log, map[string][]string{"ecabinet.meetings.v1.MeetingsService": {"postgres", "nats"}},
		Probe{Name: "postgres", Check: pg.check, Addr: "127.0.0.1:5432"},
		Probe{Name: "nats", Check: nats.check},
	)
	names := []string{"", "ecabinet.meetings.v1.MeetingsService", "postgres", "nats"}
	ctx := context.Background()

	// Before the first round nothing is known, so nothing is SERVING.
	want := map[string]string{"": "NOT_SERVING", "ecabinet.meetings.v1.MeetingsService": "NOT_SERVING", "postgres": "NOT_SERVING", "nats": "NOT_SERVING"}
	if diff := cmp.Diff(want, statuses(t, hs, names...)); diff != "" {
		t.Errorf("initial status (-want +got):\n%s", diff)
	}
	if got := c.Status(); got["postgres"] != ErrNotChecked || got["nats"] != ErrNotChecked {
		t.Errorf("initial Status() = %v", got)
	}

	// One down: the server and service are not serving.
	c.check(ctx)
	want["postgres"] = "SERVING"
	if diff := cmp.Diff(want, statuses(t, hs, names...)); diff != "" {
		t.Errorf("nats down (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{
		"INFO dependency up postgres 127.0.0.1:5432",
		"WARN dependency down nats: connection refused",
	}, summary(logs.take(t))); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}

	// Still down: no new log line.
	c.check(ctx)
	if got := logs.take(t); len(got) != 0 {
		t.Errorf("repeated state logged again: %v", got)
	}
	if got := c.Status(); got["postgres"] != nil || got["nats"] == nil || got["nats"].Error() != "connection refused" {
		t.Errorf("Status() = %v", got)
	}

	// All up: everything serving.
	nats.set(nil)
	c.check(ctx)
	want = map[string]string{"": "SERVING", "ecabinet.meetings.v1.MeetingsService": "SERVING", "postgres": "SERVING", "nats": "SERVING"}
	if diff := cmp.Diff(want, statuses(t, hs, names...)); diff != "" {
		t.Errorf("all up (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"INFO dependency back up nats"}, summary(logs.take(t))); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}

	// The other one goes down.
	pg.set(errors.New("password authentication failed"))
	c.check(ctx)
	want = map[string]string{"": "NOT_SERVING", "ecabinet.meetings.v1.MeetingsService": "NOT_SERVING", "postgres": "NOT_SERVING", "nats": "SERVING"}
	if diff := cmp.Diff(want, statuses(t, hs, names...)); diff != "" {
		t.Errorf("postgres down (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"WARN dependency down postgres 127.0.0.1:5432: password authentication failed"}, summary(logs.take(t))); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
}

func TestServiceStatusFollowsOnlyTheProbesItNeeds(t *testing.T) {
	minio := &fakeDep{}
	minio.set(errors.New("connection refused"))
	hs := grpchealth.NewServer()
	log, _ := logging.New(&syncBuffer{}, "info")
	ok := func(context.Context) error { return nil }
	c := NewChecker(hs, log,
		map[string][]string{"meetings": {"postgres", "nats"}, "documents": {"postgres", "nats", "minio"}},
		Probe{Name: "postgres", Check: ok}, Probe{Name: "nats", Check: ok}, Probe{Name: "minio", Check: minio.check})
	c.check(context.Background())
	want := map[string]string{"": "NOT_SERVING", "meetings": "SERVING", "documents": "NOT_SERVING", "minio": "NOT_SERVING"}
	if diff := cmp.Diff(want, statuses(t, hs, "", "meetings", "documents", "minio")); diff != "" {
		t.Errorf("MinIO down (-want +got):\n%s", diff)
	}
}

func TestProbeTimeout(t *testing.T) {
	hs := grpchealth.NewServer()
	log, _ := logging.New(&syncBuffer{}, "info")
	hang := Probe{Name: "minio", Check: func(ctx context.Context) error {
		<-ctx.Done() // a dependency that never answers
		return ctx.Err()
	}}
	c := NewChecker(hs, log, nil, hang)
	c.check(context.Background())
	if err := c.Status()["minio"]; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hanging probe status = %v, want deadline exceeded", err)
	}
	if got := statuses(t, hs, ""); got[""] != "NOT_SERVING" {
		t.Errorf("overall = %v", got)
	}
}

func TestNoProbesIsServing(t *testing.T) {
	hs := grpchealth.NewServer()
	log, _ := logging.New(&syncBuffer{}, "info")
	NewChecker(hs, log, map[string][]string{"svc": nil})
	if diff := cmp.Diff(map[string]string{"": "SERVING", "svc": "SERVING"}, statuses(t, hs, "", "svc")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRunProbesRepeatedlyUntilCancelled(t *testing.T) {
	hs := grpchealth.NewServer()
	log, _ := logging.New(&syncBuffer{}, "info")
	calls := make(chan struct{})
	c := NewChecker(hs, log, nil, Probe{Name: "nats", Check: func(ctx context.Context) error {
		select {
		case calls <- struct{}{}:
		case <-ctx.Done():
		}
		return nil
	}})
	c.interval = time.Millisecond

	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		c.Run(ctx)
		close(ran)
	}()
	for range 3 {
		<-calls
	}
	// Three calls means at least two rounds finished: the status is in.
	if got := statuses(t, hs, "", "nats"); got[""] != "SERVING" || got["nats"] != "SERVING" {
		t.Errorf("status after rounds = %v", got)
	}
	cancel()
	<-ran
}

func TestConditionFailsUntilTrue(t *testing.T) {
	var done bool
	p := Condition("meetings.schema", "migrations have not finished", func() bool { return done })
	if err := p.Check(context.Background()); err == nil || err.Error() != "migrations have not finished" {
		t.Errorf("before: %v", err)
	}
	done = true
	if err := p.Check(context.Background()); err != nil {
		t.Errorf("after: %v", err)
	}
}

func TestFailingProbesAreRetriedBeforeTheInterval(t *testing.T) {
	hs := grpchealth.NewServer()
	log, _ := logging.New(&syncBuffer{}, "info")
	migrated := &fakeDep{}
	migrated.set(errors.New("migrations have not finished"))
	c := NewChecker(hs, log, map[string][]string{"svc": {"schema"}}, Probe{Name: "schema", Check: migrated.check})
	c.interval = time.Hour // only the retry of a failing round can notice the change

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)
	waitFor(t, func() bool { return c.Status()["schema"] != ErrNotChecked })
	migrated.set(nil)
	waitFor(t, func() bool { return statuses(t, hs, "svc")["svc"] == "SERVING" })
}

// waitFor polls cond; the deadline only guards against a hang.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never became true")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
