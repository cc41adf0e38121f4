package gateway

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// clock is a settable time for the cache.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestCache(resolve func(context.Context, string) (identity.Claims, time.Time, error)) (*sessionCache, *clock) {
	clk := &clock{now: time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)}
	c := newSessionCache(resolve)
	c.now = clk.Now
	return c, clk
}

func TestSessionCacheAsksOnceWithinItsLifetime(t *testing.T) {
	var calls atomic.Int32
	var clk *clock
	c, clk := newTestCache(func(_ context.Context, token string) (identity.Claims, time.Time, error) {
		calls.Add(1)
		return identity.Claims{Subject: "p-" + token}, clk.Now().Add(time.Hour), nil
	})
	ctx := context.Background()
	for range 3 {
		got, err := c.get(ctx, "a")
		if err != nil || got.Subject != "p-a" {
			t.Fatalf("get: %+v %v", got, err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d ResolveSession calls within the TTL, want 1", n)
	}
	clk.Advance(sessionCacheTTL)
	if _, err := c.get(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d calls after the TTL, want 2", n)
	}
}

func TestSessionCacheNeverOutlivesTheSession(t *testing.T) {
	var calls atomic.Int32
	var clk *clock
	c, clk := newTestCache(func(context.Context, string) (identity.Claims, time.Time, error) {
		calls.Add(1)
		return identity.Claims{Subject: "p"}, clk.Now().Add(2 * time.Second), nil // expires before the TTL
	})
	_, _ = c.get(context.Background(), "a")
	clk.Advance(2 * time.Second)
	_, _ = c.get(context.Background(), "a")
	if n := calls.Load(); n != 2 {
		t.Errorf("%d calls: a session expiring before the cache TTL was served from the cache", n)
	}
}

func TestSessionCacheDoesNotKeepFailures(t *testing.T) {
	var calls atomic.Int32
	c, _ := newTestCache(func(context.Context, string) (identity.Claims, time.Time, error) {
		calls.Add(1)
		return identity.Claims{}, time.Time{}, errBadCredentials
	})
	for range 2 {
		if _, err := c.get(context.Background(), "bad"); !errors.Is(err, errBadCredentials) {
			t.Fatalf("err %v", err)
		}
	}
	if n := calls.Load(); n != 2 || c.size() != 0 {
		t.Errorf("%d calls, %d cached: a failure was cached", n, c.size())
	}
}

func TestSessionCacheSharesConcurrentMisses(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	var clk *clock
	c, clk := newTestCache(func(context.Context, string) (identity.Claims, time.Time, error) {
		calls.Add(1)
		<-release
		return identity.Claims{Subject: "p"}, clk.Now().Add(time.Hour), nil
	})
	var wg sync.WaitGroup
	started := make(chan struct{}, 8)
	for range 8 {
		wg.Go(func() {
			started <- struct{}{}
			if _, err := c.get(context.Background(), "a"); err != nil {
				t.Error(err)
			}
		})
	}
	for range 8 {
		<-started
	}
	// Wait until the first caller is inside resolve before releasing it;
	// latecomers that arrive after the release hit the cache instead.
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("%d ResolveSession calls for 8 concurrent requests, want 1", n)
	}
}

func TestEvictWinsOverAResolveInFlight(t *testing.T) {
	inResolve, release := make(chan struct{}), make(chan struct{})
	var clk *clock
	c, clk := newTestCache(func(context.Context, string) (identity.Claims, time.Time, error) {
		close(inResolve)
		<-release
		return identity.Claims{Subject: "p"}, clk.Now().Add(time.Hour), nil
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.get(context.Background(), "a")
	}()
	<-inResolve
	c.evict("a") // logout while the resolve is on the wire
	close(release)
	<-done
	if c.size() != 0 {
		t.Error("a resolve that started before logout put the session back in the cache")
	}
}

func TestSessionCacheIsBounded(t *testing.T) {
	var clk *clock
	c, clk := newTestCache(func(_ context.Context, token string) (identity.Claims, time.Time, error) {
		return identity.Claims{Subject: token}, clk.Now().Add(time.Hour), nil
	})
	c.max = 4
	for _, tok := range []string{"a", "b", "c", "d", "e", "f"} {
		if _, err := c.get(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		if c.size() > c.max {
			t.Fatalf("%d entries, max %d", c.size(), c.max)
		}
	}
	// Expired entries are the first to go.
	clk.Advance(sessionCacheTTL)
	c.put("g", identity.Claims{Subject: "g"}, clk.Now().Add(time.Hour))
	if c.size() != 1 {
		t.Errorf("%d entries after inserting into a cache of expired ones, want 1", c.size())
	}
}

func TestSessionCacheForgetsOnEvictAndUsesPut(t *testing.T) {
	var calls atomic.Int32
	var clk *clock
	c, clk := newTestCache(func(context.Context, string) (identity.Claims, time.Time, error) {
		calls.Add(1)
		return identity.Claims{Subject: "resolved"}, clk.Now().Add(time.Hour), nil
	})
	c.put("a", identity.Claims{Subject: "from-login"}, clk.Now().Add(time.Hour))
	if got, _ := c.get(context.Background(), "a"); got.Subject != "from-login" || calls.Load() != 0 {
		t.Errorf("after put: %+v, %d calls", got, calls.Load())
	}
	c.evict("a")
	if got, _ := c.get(context.Background(), "a"); got.Subject != "resolved" || calls.Load() != 1 {
		t.Errorf("after evict: %+v, %d calls", got, calls.Load())
	}
}
