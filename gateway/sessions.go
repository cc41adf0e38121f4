package gateway

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ecabinet/ecabinet/services/platform/identity"
)

const (
	// sessionCacheTTL bounds how long a resolved session is trusted without
	// asking the accounts service again: every REST call and live-channel
	// connect would otherwise be a database query. A session ended through
	// another gateway instance (or expired server-side by a password change)
	// stays usable here for at most this long; logout through this instance
	// takes effect at once.
	sessionCacheTTL = 10 * time.Second
	// sessionCacheMax bounds memory: well above the number of tablets one
	// gateway serves at once.
	sessionCacheMax = 10000
	// resolveTimeout bounds one ResolveSession call, which may be shared by
	// several requests (so it does not use any one request's deadline).
	resolveTimeout = 5 * time.Second
)

type sessionKey [sha256.Size]byte

type cachedSession struct {
	claims identity.Claims
	until  time.Time
}

// sessionCache remembers resolved session tokens briefly. Tokens are keyed
// by their SHA-256, so the cache never holds a usable token. Concurrent
// misses for one token (a tablet opening a page fires several calls) share
// one ResolveSession. Failures are not cached.
type sessionCache struct {
	resolve func(ctx context.Context, token string) (identity.Claims, time.Time, error)
	ttl     time.Duration
	max     int
	now     func() time.Time

	mu      sync.Mutex
	entries map[sessionKey]cachedSession
	// evictions counts evict calls, so that a resolve that started before
	// a logout does not put the ended session back.
	evictions uint64
	flight    singleflight.Group
}

func newSessionCache(resolve func(context.Context, string) (identity.Claims, time.Time, error)) *sessionCache {
	return &sessionCache{
		resolve: resolve,
		ttl:     sessionCacheTTL,
		max:     sessionCacheMax,
		now:     time.Now,
		entries: map[sessionKey]cachedSession{},
	}
}

// get returns the claims of a session token, from the cache or the
// accounts service.
func (c *sessionCache) get(ctx context.Context, token string) (identity.Claims, error) {
	key := sessionKey(sha256.Sum256([]byte(token)))
	c.mu.Lock()
	gen := c.evictions
	c.mu.Unlock()
	if e, ok := c.lookup(key); ok {
		return e.claims, nil
	}

	v, err, _ := c.flight.Do(string(key[:]), func() (any, error) {
		// A call that missed the cache just before an earlier shared call
		// stored its answer finds it here instead of asking again.
		if e, ok := c.lookup(key); ok {
			return e.claims, nil
		}
		// Not the caller's context: its cancellation would fail every
		// request sharing this call.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resolveTimeout)
		defer cancel()
		claims, expires, err := c.resolve(rctx, token)
		if err != nil {
			return nil, err
		}
		c.store(key, gen, claims, expires)
		return claims, nil
	})
	if err != nil {
		return identity.Claims{}, err
	}
	return v.(identity.Claims), nil
}

// lookup returns the cached session of key while it is fresh.
func (c *sessionCache) lookup(key sessionKey) (cachedSession, bool) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	return e, ok && c.now().Before(e.until)
}

// put caches a session just issued by Login, so the first calls after a
// login need no ResolveSession.
func (c *sessionCache) put(token string, claims identity.Claims, expires time.Time) {
	c.mu.Lock()
	gen := c.evictions
	c.mu.Unlock()
	c.store(sessionKey(sha256.Sum256([]byte(token))), gen, claims, expires)
}

func (c *sessionCache) store(key sessionKey, gen uint64, claims identity.Claims, expires time.Time) {
	now := c.now()
	until := now.Add(c.ttl)
	if expires.Before(until) {
		until = expires
	}
	if !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.evictions != gen {
		return // a logout happened meanwhile; this answer may be stale
	}
	if _, exists := c.entries[key]; !exists && len(c.entries) >= c.max {
		c.makeRoom(now)
	}
	c.entries[key] = cachedSession{claims: claims, until: until}
}

// makeRoom drops expired entries, and if that is not enough, arbitrary
// ones (map order): the cache is an optimisation, so losing an entry only
// costs one ResolveSession.
func (c *sessionCache) makeRoom(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.until) {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) < c.max {
			break
		}
		delete(c.entries, k)
	}
}

// evict forgets a token at once (logout).
func (c *sessionCache) evict(token string) {
	key := sessionKey(sha256.Sum256([]byte(token)))
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
	c.evictions++
	c.flight.Forget(string(key[:]))
}

// evictPerson forgets every cached session of a person at once: after a
// password change the accounts service has ended their other sessions, and
// this gateway must not keep honouring them for the cache's lifetime.
func (c *sessionCache) evictPerson(personID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if e.claims.Subject == personID {
			delete(c.entries, k)
			c.flight.Forget(string(k[:]))
		}
	}
	c.evictions++
}

// size is the number of cached sessions (tests).
func (c *sessionCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
