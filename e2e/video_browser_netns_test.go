package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ecabinet/ecabinet/e2e/suite"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// videoNetnsEnv names the namespace the test runs in when it has re-run itself inside one.
const videoNetnsEnv = "ECABINET_E2E_VIDEO_NETNS"

func randomSuffix(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newVideoNetns creates a network namespace with only lo (up) and removes it when the test
// ends, ending first whatever still runs in it (only what this test started can be there).
func newVideoNetns(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("the video browser test needs `ip` (iproute2) to create a network namespace: apt-get install iproute2")
	}
	ns := "ecab-vid-" + randomSuffix(4)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("cannot create network namespace %s (%v: %s): the video browser test runs Chromium and the suite in a "+
			"namespace with only loopback, so that WebRTC sends nothing off 127.0.0.0/8; that needs root (uid %d now)",
			ns, err, bytes.TrimSpace(out), os.Geteuid())
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "pids", ns).Output(); err == nil {
			for _, f := range strings.Fields(string(out)) {
				if pid, err := strconv.Atoi(f); err == nil {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("remove network namespace %s: %v: %s", ns, err, out)
		}
	})
	if out, err := exec.Command("ip", "-n", ns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("bring lo up in %s: %v: %s", ns, err, out)
	}
	return ns
}

// requireOnlyLoopback checks that this process is where it must be: a namespace whose only
// interface is lo. Anything else could carry WebRTC off loopback.
func requireOnlyLoopback(t *testing.T, ns string) {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Name != "lo" {
			t.Fatalf("%s=%s but interface %s is here: not inside a loopback-only namespace", videoNetnsEnv, ns, i.Name)
		}
		if i.Flags&net.FlagUp == 0 {
			t.Fatalf("lo is down in namespace %s", ns)
		}
	}
}

// bridgePostgres makes the test database reachable from inside a namespace: TCP to the
// machine's PostgreSQL does not cross namespaces, a unix socket (a file) does. It returns a
// database URL that connects through a socket this process serves and forwards to the
// database of testenv.DatabaseURL. A URL that already names a socket is returned as is.
func bridgePostgres(t *testing.T) string {
	t.Helper()
	admin := testenv.DatabaseURL(t)
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		t.Fatalf("parse database URL %q: %v", admin, err)
	}
	if strings.HasPrefix(cfg.Host, "/") {
		return admin
	}
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("the video browser test needs the database as a postgres:// URL, not %q", admin)
	}
	target := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	// Short: a socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "ecab-pg")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(int(cfg.Port))))
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, up)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(up, c); _ = up.(*net.TCPConn).CloseWrite() }()
			go func() { defer wg.Done(); _, _ = io.Copy(c, up); _ = c.(*net.UnixConn).CloseWrite() }()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
		os.RemoveAll(dir)
	})
	q := u.Query()
	q.Set("host", dir)
	q.Set("port", strconv.Itoa(int(cfg.Port)))
	u.Host = ""
	u.RawQuery = q.Encode()
	return u.String()
}

// startNamespaceMinIO runs a private MinIO on loopback inside the namespace (the machine's
// is out of reach there) and points S3_* at it for the rest of the test.
func startNamespaceMinIO(t *testing.T) {
	t.Helper()
	bin := os.Getenv("MINIO_BIN")
	if bin == "" {
		if abs, err := filepath.Abs(filepath.Join("..", "bin", "minio")); err == nil {
			if _, err := os.Stat(abs); err == nil {
				bin = abs
			}
		}
	}
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("minio"); err != nil {
			t.Fatal("no MinIO binary for the namespace (bin/minio, MINIO_BIN or minio on PATH): run `make tools`")
		}
	}
	addr, console := suite.FreeAddr(t), suite.FreeAddr(t)
	user, secret := "e2e-"+randomSuffix(4), randomSuffix(16)
	logPath := filepath.Join(t.TempDir(), "minio.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the child has its own descriptor
	logs := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	cmd := exec.Command(bin, "server", t.TempDir(), "--quiet", "--address", addr, "--console-address", console)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+user, "MINIO_ROOT_PASSWORD="+secret, "MINIO_BROWSER=off")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start MinIO: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/minio/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("MinIO exited: %v\n%s", err, logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("MinIO not live after 60s: %v\n%s", err, logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Setenv("S3_ENDPOINT", addr)
	t.Setenv("S3_ACCESS_KEY", user)
	t.Setenv("S3_SECRET_KEY", secret)
	t.Setenv("S3_USE_TLS", "")
}
