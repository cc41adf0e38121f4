// Package suite starts the real ecabinet binary for black-box tests: its own
// database, NATS store and bucket, free ports, a fresh identity key, and
// helpers to call it as a client would.
package suite

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// Process is one running ecabinet process.
type Process struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
	err  error
	// BaseURL is http://HTTP_ADDR (gateway, or the ops endpoints).
	BaseURL  string
	GRPCAddr string
	Env      map[string]string
}

// Binary returns the ecabinet binary under test: $ECABINET_BIN (make test
// builds it), or one built once for this test run.
func Binary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("ECABINET_BIN"); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ecabinet-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "ecabinet")
		cmd := exec.Command("go", "build", "-o", builtBin, "github.com/ecabinet/ecabinet/cmd/ecabinet")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building ecabinet: %v", buildErr)
	}
	return builtBin
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// NewDatabase creates an empty database for one test and drops it after.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := testenv.DatabaseURL(t)
	name := "e2e_" + randomHex(6)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to PostgreSQL (%s): %v", admin, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse database URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// SigningKey makes a fresh identity key (base64 Ed25519 seed).
func SigningKey() string {
	seed := make([]byte, 32)
	_, _ = rand.Read(seed)
	return base64.StdEncoding.EncodeToString(seed)
}

// Env is the environment a whole suite needs: its own database, bucket,
// NATS store and key. S3_* come from the caller's environment (make test
// provides a MinIO; without one the test fails saying so).
func Env(t testing.TB) map[string]string {
	t.Helper()
	// A bucket of its own, removed (with its objects) after the test.
	bucket := testenv.BlobBucket(t)
	return map[string]string{
		"DATABASE_URL":         NewDatabase(t),
		"NATS_URL":             "", // -target=all embeds one
		"NATS_STORE_DIR":       t.TempDir(),
		"S3_ENDPOINT":          os.Getenv("S3_ENDPOINT"),
		"S3_ACCESS_KEY":        os.Getenv("S3_ACCESS_KEY"),
		"S3_SECRET_KEY":        os.Getenv("S3_SECRET_KEY"),
		"S3_BUCKET":            bucket.Bucket(),
		"IDENTITY_SIGNING_KEY": SigningKey(),
		// The voting service's ballot key: 32 random bytes, like the seed.
		"BALLOT_KEY": SigningKey(),
		"LOG_LEVEL":  "debug",
	}
}

// Start runs the binary with env (plus fresh HTTP_ADDR/GRPC_ADDR unless
// given) and stops it when the test ends, printing its logs if the test
// failed.
func Start(t testing.TB, target string, env map[string]string) *Process {
	t.Helper()
	env = cloneMap(env)
	if env["HTTP_ADDR"] == "" {
		env["HTTP_ADDR"] = FreeAddr(t)
	}
	if env["GRPC_ADDR"] == "" {
		env["GRPC_ADDR"] = FreeAddr(t)
	}
	p := &Process{
		logs:     &syncBuffer{},
		done:     make(chan struct{}),
		BaseURL:  "http://" + env["HTTP_ADDR"],
		GRPCAddr: env["GRPC_ADDR"],
		Env:      env,
	}
	p.cmd = exec.Command(Binary(t), "-target="+target)
	p.cmd.Env = environ(env)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start ecabinet: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("ecabinet -target=%s logs:\n%s", target, p.logs.String())
		}
	})
	return p
}

// Logs is everything the process wrote so far.
func (p *Process) Logs() string { return p.logs.String() }

// Stop sends SIGTERM and waits (bounded) for the process to exit; it
// returns the exit error (nil for a clean exit).
func (p *Process) Stop() error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return p.err
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Readiness is the /readyz body.
type Readiness struct {
	Ready  bool `json:"ready"`
	Checks []struct {
		Name  string `json:"name"`
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	} `json:"checks"`
}

// Check returns the named check, failing the test if it is absent.
func (r Readiness) Check(t testing.TB, name string) (ok bool, errText string) {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c.OK, c.Error
		}
	}
	t.Fatalf("/readyz has no check %q: %+v", name, r.Checks)
	return false, ""
}

// Readyz fetches /readyz once.
func (p *Process) Readyz() (Readiness, int, error) {
	var r Readiness
	resp, err := http.Get(p.BaseURL + "/readyz")
	if err != nil {
		return r, 0, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&r)
	return r, resp.StatusCode, err
}

// WaitReady polls /readyz until ready; it fails the test with the last
// answer after a generous deadline (this is not a speed assertion).
func (p *Process) WaitReady(t testing.TB) {
	t.Helper()
	p.WaitReadyz(t, func(r Readiness) bool { return r.Ready })
}

// WaitReadyz polls /readyz until cond holds.
func (p *Process) WaitReadyz(t testing.TB, cond func(Readiness) bool) Readiness {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var (
		last Readiness
		err  error
	)
	for time.Now().Before(deadline) {
		if p.Exited() {
			t.Fatalf("ecabinet exited early: %v\n%s", p.err, p.logs.String())
		}
		last, _, err = p.Readyz()
		if err == nil && cond(last) {
			return last
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("/readyz never reached the expected state; last answer %+v (err %v)", last, err)
	return last
}

// Token signs a bearer token the gateway accepts.
func (p *Process) Token(t testing.TB, c identity.Claims) string {
	t.Helper()
	seed, err := identity.DecodeSeed(p.Env["IDENTITY_SIGNING_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	s, err := identity.NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Sign(c, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Do sends a JSON request with an optional bearer token and decodes a JSON
// answer into out (when out is not nil). It returns the status code.
func (p *Process) Do(t testing.TB, method, path, token string, body, out any) int {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, p.BaseURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw := new(bytes.Buffer)
	_, _ = raw.ReadFrom(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw.Bytes(), out); err != nil {
			t.Fatalf("%s %s: status %d, body %q is not JSON: %v", method, path, resp.StatusCode, raw.String(), err)
		}
	}
	return resp.StatusCode
}

// FreeAddr finds a free loopback TCP address.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func environ(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, overridden := env[k]; !overridden {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// syncBuffer collects a process's output from two pipes safely.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
