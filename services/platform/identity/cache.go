package identity

import (
	"crypto/ed25519"
	"crypto/sha256"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Checking an Ed25519 signature costs about as much CPU as the rest of a
// small call, and a REST call through the gateway used to cost two or three
// of them plus a signing: the gateway checks a bearer token, signs a token
// for the service, the service checks it, and a service calling another on
// the caller's behalf has the same token checked again. The caches below
// keep the result of that work for as long as it stays true, bounded in
// size (CPU profiles of the vote storm, docs/adr/0002 "Performance").

// cacheMax bounds each cache: well above the number of people one process
// serves at once. When it is full, expired entries go first, then arbitrary
// ones; losing an entry only costs the work it saved.
const cacheMax = 10000

// signReuse is how long the client interceptors hand out the same token for
// the same claims. A reused token has at least TokenTTL-signReuse (four
// minutes) left to live, so "long enough for one call chain" still holds.
const signReuse = TokenTTL / 5

// verifiedCache remembers tokens whose signature and claims have been
// checked, by their SHA-256 (the cache never holds a usable token), until
// the token's own expiry. Whether a token verifies depends only on its
// bytes, the key and the time; time only ever ends a token's validity, at
// its expiry, so a cached answer before that instant is the answer a full
// check would give. Failures are not cached: they cost an attacker the
// same CPU as before and cost us no memory.
type verifiedCache struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]verifiedToken
}

type verifiedToken struct {
	claims Claims
	exp    time.Time // entries are used strictly before this instant
}

// verifiedByKey holds one verifiedCache per public key, shared by every
// Verifier and Signer of this process with that key: when the gateway and
// the services run in one process (-target=all), the token the gateway just
// signed is known to be valid without checking its signature, since this
// process produced those very bytes with the private key.
var verifiedByKey sync.Map // string(public key) -> *verifiedCache

func verifiedFor(pub ed25519.PublicKey) *verifiedCache {
	if c, ok := verifiedByKey.Load(string(pub)); ok {
		return c.(*verifiedCache)
	}
	c, _ := verifiedByKey.LoadOrStore(string(pub), &verifiedCache{entries: map[[sha256.Size]byte]verifiedToken{}})
	return c.(*verifiedCache)
}

func (c *verifiedCache) get(token string, now time.Time) (Claims, bool) {
	key := sha256.Sum256([]byte(token))
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if !ok || !now.Before(e.exp) {
		return Claims{}, false
	}
	return e.claims.clone(), true
}

func (c *verifiedCache) put(token string, claims Claims, exp, now time.Time) {
	if !now.Before(exp) {
		return
	}
	key := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, exists := c.entries[key]; !exists && len(c.entries) >= cacheMax {
		for k, e := range c.entries {
			if !now.Before(e.exp) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < cacheMax {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = verifiedToken{claims: claims.clone(), exp: exp}
}

// clone copies the slices, so that callers may change their Claims without
// changing what the cache hands to the next caller. Empty lists become nil,
// as a token's body leaves them out and Verify parses them back.
func (c Claims) clone() Claims {
	list := func(ss []string) []string {
		if len(ss) == 0 {
			return nil
		}
		return slices.Clone(ss)
	}
	c.Orgs, c.AdminOrgs, c.Roles = list(c.Orgs), list(c.AdminOrgs), list(c.Roles)
	return c
}

// roundTrips reports whether c comes back from a token's JSON body exactly
// as it is: JSON replaces invalid UTF-8, so claims holding any are not
// recorded as verified from the signing side (they are still signed, and
// checked in full when they arrive).
func (c Claims) roundTrips() bool {
	for _, s := range slices.Concat([]string{c.Subject, c.Name}, c.Orgs, c.AdminOrgs, c.Roles) {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// mintedToken is a token the client interceptors may hand out again.
type mintedToken struct {
	token      string
	reuseUntil time.Time
}

// tokenCacheKey identifies claims exactly (lengths first, so no two different
// claims share a key).
func tokenCacheKey(c Claims) string {
	var b strings.Builder
	field := func(s string) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	list := func(ss []string) {
		b.WriteString(strconv.Itoa(len(ss)))
		b.WriteByte('[')
		for _, s := range ss {
			field(s)
		}
	}
	field(c.Subject)
	field(c.Name)
	list(c.Orgs)
	list(c.AdminOrgs)
	list(c.Roles)
	return b.String()
}

// token returns a token for c with at least TokenTTL-signReuse left to
// live: the one minted for the same claims within the last signReuse, or a
// new one. A new one is also recorded as verified for this process's
// Verifiers with the same key (see verifiedByKey).
func (s *Signer) token(c Claims) (string, error) {
	key := tokenCacheKey(c)
	now := s.now()
	s.mu.Lock()
	m, ok := s.minted[key]
	s.mu.Unlock()
	if ok && now.Before(m.reuseUntil) {
		return m.token, nil
	}
	tok, err := s.Sign(c, TokenTTL)
	if err != nil {
		return "", err
	}
	// The token's exp, as Sign wrote it (JWT times are whole seconds).
	exp := now.Add(TokenTTL).Truncate(time.Second)
	if s.verified != nil && c.roundTrips() {
		s.verified.put(tok, c, exp, now)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.minted == nil {
		s.minted = map[string]mintedToken{}
	}
	if _, exists := s.minted[key]; !exists && len(s.minted) >= cacheMax {
		for k, e := range s.minted {
			if !now.Before(e.reuseUntil) {
				delete(s.minted, k)
			}
		}
		for k := range s.minted {
			if len(s.minted) < cacheMax {
				break
			}
			delete(s.minted, k)
		}
	}
	s.minted[key] = mintedToken{token: tok, reuseUntil: now.Add(signReuse)}
	return tok, nil
}
