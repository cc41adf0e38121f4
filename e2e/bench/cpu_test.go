package bench

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ecabinet/ecabinet/e2e/suite"
)

// procCost is what an ecabinet process spent, read from its /metrics
// (the Prometheus process and Go collectors): CPU seconds (user+system,
// from /proc, 10 ms ticks) and heap allocations. The machine is shared, so
// wall-clock rates move with other people's load; CPU and allocations per
// request move far less, which makes them the figures to compare between
// runs. The benchmark's own client runs in the test process and is not
// counted here (it competes for the same cores, which does show in the
// wall-clock figures).
type procCost struct {
	cpu    float64 // seconds
	allocs float64 // objects
	bytes  float64 // allocated bytes
}

func readProcCost(b *testing.B, p *suite.Process) procCost {
	b.Helper()
	// Uncompressed: the process pays for its own scrape, partly inside
	// the window measured, so keep it cheap.
	req, err := http.NewRequest(http.MethodGet, p.BaseURL+"/metrics", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var c procCost
	seen := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		var dst *float64
		switch name {
		case "process_cpu_seconds_total":
			dst = &c.cpu
		case "go_memstats_mallocs_total":
			dst = &c.allocs
		case "go_memstats_alloc_bytes_total":
			dst = &c.bytes
		default:
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			b.Fatalf("/metrics %s: %v", name, err)
		}
		*dst = f
		seen++
	}
	if seen != 3 {
		b.Fatalf("/metrics of %s lacks the process or Go collector's counters", p.BaseURL)
	}
	return c
}

// add returns c plus what was spent between two readings.
func (c procCost) add(before, after procCost) procCost {
	return procCost{cpu: c.cpu + after.cpu - before.cpu, allocs: c.allocs + after.allocs - before.allocs, bytes: c.bytes + after.bytes - before.bytes}
}

// perRequest is the cost of n requests between two readings.
func (c procCost) perRequest(after procCost, n int) string {
	return fmt.Sprintf("%.0f µs CPU, %.0f allocs, %.1f KiB allocated per request",
		(after.cpu-c.cpu)/float64(n)*1e6, (after.allocs-c.allocs)/float64(n), (after.bytes-c.bytes)/float64(n)/1024)
}

// loadAverage is the machine's 1-minute load average, printed with the
// figures so that a reader can tell a busy machine from a slow build.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
