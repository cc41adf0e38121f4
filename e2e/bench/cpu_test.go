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

// listenerPID finds the process on this machine listening on the TCP port
// of addr (host:port), through /proc (Linux): how the benchmarks read the
// CPU time of a dependency they did not start, such as MinIO. It returns
// "" when there is none it can see (a remote store, another user's
// process).
func listenerPID(addr string) string {
	_, port, ok := strings.Cut(addr, ":")
	if !ok {
		return ""
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return ""
	}
	want := fmt.Sprintf(":%04X", p)
	var inode string
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		raw, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(raw), "\n")[1:] {
			f := strings.Fields(line)
			// local address, state 0A (LISTEN), inode.
			if len(f) > 9 && strings.HasSuffix(f[1], want) && f[3] == "0A" {
				inode = f[9]
			}
		}
	}
	if inode == "" {
		return ""
	}
	procs, _ := os.ReadDir("/proc")
	for _, pe := range procs {
		if _, err := strconv.Atoi(pe.Name()); err != nil {
			continue
		}
		fds, _ := os.ReadDir("/proc/" + pe.Name() + "/fd")
		for _, fd := range fds {
			if link, _ := os.Readlink("/proc/" + pe.Name() + "/fd/" + fd.Name()); link == "socket:["+inode+"]" {
				return pe.Name()
			}
		}
	}
	return ""
}

// cpuSeconds is the user+system CPU time of process pid (0 if it cannot be
// read), from /proc/<pid>/stat in clock ticks of 10 ms.
func cpuSeconds(pid string) float64 {
	raw, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: utime and stime are the 12th and 13th of them.
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	user, _ := strconv.ParseFloat(f[11], 64)
	sys, _ := strconv.ParseFloat(f[12], 64)
	return (user + sys) / 100
}
