// Package bench holds the `make bench` scenarios. Each prints its figure next
// to a baseline measured in the same run; none asserts on time.
package bench

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ecabinet/ecabinet/e2e/suite"
)

const restarts = 5

// BenchmarkStartToReady measures `ecabinet -target=all` from exec to the
// first ready /readyz (dependencies already up, schema migrated by a first
// start), and its resident memory after idling, against a minimal Go HTTP
// server started the same way. Budget (DESIGN.md): < 2 s, < 200 MB RSS.
func BenchmarkStartToReady(b *testing.B) {
	env := suite.Env(b)
	env["LOG_LEVEL"] = "warn"
	bin := suite.Binary(b)
	baseline := buildBaseline(b)

	var first time.Duration
	var suiteTimes, baseTimes []time.Duration
	var suiteRSS, baseRSS int
	for i := 0; i < b.N; i++ {
		// The first start migrates the fresh database; report it apart.
		first, _ = startOnce(b, bin, []string{"-target=all"}, env, false)
		for range restarts {
			d, _ := startOnce(b, bin, []string{"-target=all"}, env, false)
			suiteTimes = append(suiteTimes, d)
			d, _ = startOnce(b, baseline, nil, env, false)
			baseTimes = append(baseTimes, d)
		}
		_, suiteRSS = startOnce(b, bin, []string{"-target=all"}, env, true)
		_, baseRSS = startOnce(b, baseline, nil, env, true)
	}
	med, baseMed := median(suiteTimes), median(baseTimes)
	b.ReportMetric(float64(med.Milliseconds()), "ms-to-ready")
	b.ReportMetric(float64(suiteRSS)/1024, "MB-idle-RSS")
	fmt.Printf("\nstart → ready (ecabinet -target=all, deps up, median of %d): %v   [budget < 2s]\n", restarts, med.Round(time.Millisecond))
	fmt.Printf("  first start on an empty database (migrations):  %v\n", first.Round(time.Millisecond))
	fmt.Printf("  baseline, minimal Go HTTP server, same method:  %v\n", baseMed.Round(time.Millisecond))
	fmt.Printf("idle RSS after 3 s: ecabinet %.1f MB [budget < 200 MB]; baseline %.1f MB\n\n", float64(suiteRSS)/1024, float64(baseRSS)/1024)
}

// startOnce starts a process, waits for /readyz to answer 200 and returns
// the time that took; with idle it also waits 3 s and returns VmRSS in KiB.
func startOnce(b *testing.B, bin string, args []string, env map[string]string, idle bool) (time.Duration, int) {
	b.Helper()
	addr := suite.FreeAddr(b)
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "HTTP_ADDR="+addr, "GRPC_ADDR="+suite.FreeAddr(b))
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Since(start) > 60*time.Second {
			b.Fatalf("%s never became ready", bin)
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	if !idle {
		return took, 0
	}
	time.Sleep(3 * time.Second)
	return took, rssKiB(b, cmd.Process.Pid)
}

func rssKiB(b *testing.B, pid int) int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.Fields(v)[0])
			return kb
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

func buildBaseline(b *testing.B) string {
	out := filepath.Join(b.TempDir(), "baseline")
	if msg, err := exec.Command("go", "build", "-o", out, "./baseline").CombinedOutput(); err != nil {
		b.Fatalf("build baseline: %v\n%s", err, msg)
	}
	return out
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
