// Package health probes a process's dependencies (PostgreSQL, NATS, MinIO)
// and publishes the result through the standard gRPC health service, which
// the gateway's /readyz and orchestrators read.
package health

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"sync"
	"time"

	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

const (
	interval = 2 * time.Second
	// retryInterval is used while any probe fails, so that readiness comes
	// back (or first arrives, e.g. when migrations finish) within a fraction
	// of a second rather than a whole interval later. Probes are cheap pings.
	retryInterval = 250 * time.Millisecond
	timeout       = time.Second
)

// ErrNotChecked is a probe's status before its first check finishes.
var ErrNotChecked = errors.New("not checked yet")

// Probe checks one dependency. Check must honour ctx's deadline.
type Probe struct {
	Name  string // "postgres", "nats", "minio"
	Check func(ctx context.Context) error
	Addr  string // optional: where the dependency is, for the logs
}

// Checker runs probes and reports their results.
type Checker struct {
	hs       *grpchealth.Server
	log      *slog.Logger
	services map[string][]string // service name -> names of the probes it needs
	probes   []Probe
	interval time.Duration // a field so tests can probe quickly

	mu     sync.Mutex
	status map[string]error
}

// NewChecker returns a Checker that sets on hs the status of each probe's
// Name; of each service in services, SERVING iff the probes it names pass
// (so MinIO being down marks documents, not meetings, as failing); and of ""
// (the whole server), SERVING iff every probe passes. Until Run's first round
// ends they are NOT_SERVING, so nothing routes to a process whose
// dependencies are unknown.
func NewChecker(hs *grpchealth.Server, log *slog.Logger, services map[string][]string, probes ...Probe) *Checker {
	c := &Checker{
		hs:       hs,
		log:      log,
		services: services,
		probes:   probes,
		interval: interval,
		status:   make(map[string]error, len(probes)),
	}
	for _, p := range probes {
		c.status[p.Name] = ErrNotChecked
	}
	c.publish(c.Status())
	return c
}

// Run probes at once and then every 2s (each probe bounded by 1s) until ctx
// is done. It logs each change of a probe's state once: down with the error,
// back up.
func (c *Checker) Run(ctx context.Context) {
	for {
		next := c.interval
		if !c.check(ctx) {
			next = min(next, retryInterval)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(next):
		}
	}
}

// Status returns the last result per probe name (nil: passing).
func (c *Checker) Status() map[string]error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.status)
}

// check runs every probe once, concurrently so one slow dependency does not
// delay the verdict on the others, then records and publishes the results.
// It reports whether every probe passed.
func (c *Checker) check(ctx context.Context) bool {
	results := make([]error, len(c.probes))
	var wg sync.WaitGroup
	for i, p := range c.probes {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			results[i] = p.Check(pctx)
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		// Shutting down: the failures are ours, not the dependencies'.
		return false
	}

	c.mu.Lock()
	for i, p := range c.probes {
		prev, err := c.status[p.Name], results[i]
		c.status[p.Name] = err
		c.logTransition(ctx, p, prev, err)
	}
	status := maps.Clone(c.status)
	c.mu.Unlock()
	c.publish(status)
	for _, err := range results {
		if err != nil {
			return false
		}
	}
	return true
}

func (c *Checker) logTransition(ctx context.Context, p Probe, prev, err error) {
	attrs := []any{"dependency", p.Name}
	if p.Addr != "" {
		attrs = append(attrs, "addr", p.Addr)
	}
	switch {
	case err != nil && (prev == nil || prev == ErrNotChecked):
		c.log.WarnContext(ctx, "dependency down", append(attrs, "error", err.Error())...)
	case err == nil && prev == ErrNotChecked:
		c.log.InfoContext(ctx, "dependency up", attrs...)
	case err == nil && prev != nil:
		c.log.InfoContext(ctx, "dependency back up", attrs...)
	}
}

func (c *Checker) publish(status map[string]error) {
	all := healthpb.HealthCheckResponse_SERVING
	for name, err := range status {
		s := healthpb.HealthCheckResponse_SERVING
		if err != nil {
			s = healthpb.HealthCheckResponse_NOT_SERVING
			all = healthpb.HealthCheckResponse_NOT_SERVING
		}
		c.hs.SetServingStatus(name, s)
	}
	for name, needs := range c.services {
		s := healthpb.HealthCheckResponse_SERVING
		for _, probe := range needs {
			if err, known := status[probe]; !known || err != nil {
				s = healthpb.HealthCheckResponse_NOT_SERVING
			}
		}
		c.hs.SetServingStatus(name, s)
	}
	c.hs.SetServingStatus("", all)
}

// Condition is a probe of the process's own state rather than a dependency:
// it fails with reason until ok reports true (e.g. a service whose schema is
// not migrated yet is not ready, though PostgreSQL is up).
func Condition(name, reason string, ok func() bool) Probe {
	return Probe{Name: name, Check: func(context.Context) error {
		if !ok() {
			return errors.New(reason)
		}
		return nil
	}}
}
