package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// Check is one line of /readyz.
type Check struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Readiness is the /readyz body.
type Readiness struct {
	Ready  bool    `json:"ready"`
	Checks []Check `json:"checks"`
}

// dependencies are the probe names services report through gRPC health
// (see services/platform/health); a service that does not use one answers
// NotFound for it.
var dependencies = []string{"postgres", "nats", "minio"}

// readyz asks every service for its own health and for the health of the
// dependencies it uses, so one page says exactly which part is failing.
func (g *Gateway) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	res := g.readiness(ctx)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !res.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(res)
}

func (g *Gateway) readiness(ctx context.Context) Readiness {
	gw := Check{Name: "gateway", OK: true}
	if st := g.deps.NC.Status(); st != nats.CONNECTED {
		gw = Check{Name: "gateway", Error: fmt.Sprintf("NATS connection for live events is %s", st)}
	}

	checks := []Check{gw}
	for _, u := range g.upstreams {
		checks = append(checks, Check{Name: u.name})
	}
	for _, d := range dependencies {
		checks = append(checks, Check{Name: d})
	}
	byName := map[string]*Check{}
	for i := range checks {
		byName[checks[i].Name] = &checks[i]
	}

	// Ask each service about itself and each dependency it uses, all at
	// once. A dependency is ok when at least one service vouches for it and
	// none reports it down.
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for _, u := range g.upstreams {
		client := healthpb.NewHealthClient(u.conn)
		for _, name := range append([]string{u.name}, dependencies...) {
			wg.Go(func() {
				resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: name})
				mu.Lock()
				defer mu.Unlock()
				c := byName[name]
				isService := name == u.name
				switch {
				case err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING:
					if c.Error == "" {
						c.OK = true
					}
				case err == nil:
					c.OK, c.Error = false, fmt.Sprintf("%s reports %s", u.name, resp.GetStatus())
				case isService && status.Code(err) == codes.NotFound:
					c.OK, c.Error = false, fmt.Sprintf("not served at %s", u.addr)
				case isService:
					c.OK, c.Error = false, fmt.Sprintf("unreachable at %s: %s", u.addr, status.Convert(err).Message())
				}
			})
		}
	}
	wg.Wait()
	for _, d := range dependencies {
		if c := byName[d]; !c.OK && c.Error == "" {
			c.Error = "no service could report it"
		}
	}

	ready := true
	for _, c := range checks {
		ready = ready && c.OK
	}
	return Readiness{Ready: ready, Checks: checks}
}
