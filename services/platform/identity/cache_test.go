package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func cacheTestSigner(t *testing.T, now *time.Time) *Signer {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return *now }
	return s
}

var bob = Claims{Subject: "person-2", Name: "Bob", Orgs: []string{"org-1"}, Roles: []string{"auditor"}}

func TestInterceptorTokensAreReusedForTheSameClaimsOnly(t *testing.T) {
	now := time.Now()
	s := cacheTestSigner(t, &now)
	first, err := s.token(bob)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(signReuse - time.Second)
	again, err := s.token(bob)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Errorf("a second call within %v minted a new token", signReuse)
	}

	// Any difference in the claims is another token.
	for name, c := range map[string]Claims{
		"subject":    {Subject: "person-3", Name: "Bob", Orgs: []string{"org-1"}, Roles: []string{"auditor"}},
		"name":       {Subject: "person-2", Name: "Bobby", Orgs: []string{"org-1"}, Roles: []string{"auditor"}},
		"orgs":       {Subject: "person-2", Name: "Bob", Orgs: []string{"org-1", "org-2"}, Roles: []string{"auditor"}},
		"admin orgs": {Subject: "person-2", Name: "Bob", Orgs: []string{"org-1"}, AdminOrgs: []string{"org-1"}, Roles: []string{"auditor"}},
		"roles":      {Subject: "person-2", Name: "Bob", Orgs: []string{"org-1"}, Roles: []string{RoleSystemAdmin}},
		// Same strings, other fields: the key must not run them together.
		"shifted": {Subject: "person-2", Name: "Bob", Roles: []string{"org-1", "auditor"}},
	} {
		tok, err := s.token(c)
		if err != nil {
			t.Fatal(err)
		}
		if tok == first {
			t.Errorf("%s differs but the token was reused", name)
		}
		got, err := NewVerifier(s.PublicKey()).Verify(tok)
		if err != nil || !cmp.Equal(got, c) {
			t.Errorf("%s: the token says %+v (%v), want %+v", name, got, err, c)
		}
	}

	// After signReuse a fresh token, so a reused one always has at least
	// TokenTTL-signReuse to live.
	now = now.Add(2 * time.Second)
	fresh, err := s.token(bob)
	if err != nil {
		t.Fatal(err)
	}
	if fresh == first {
		t.Fatalf("the token was still reused %v after it was minted", signReuse+time.Second)
	}
	v := NewVerifier(s.PublicKey())
	v.now = func() time.Time { return now.Add(TokenTTL - signReuse) }
	if _, err := v.Verify(fresh); err != nil {
		t.Errorf("a fresh token does not live TokenTTL-signReuse: %v", err)
	}
}

// What the signing side records as verified is exactly what Verify would
// parse from the token.
func TestClaimsRecordedBySigningEqualWhatVerifyingParses(t *testing.T) {
	now := time.Now()
	s := cacheTestSigner(t, &now)
	for name, c := range map[string]Claims{
		"empty lists": {Subject: "p", Name: "Nguyễn Văn A", Orgs: []string{}, AdminOrgs: []string{}, Roles: []string{}},
		"html":        {Subject: "p<&>", Name: "A & B <x>", Orgs: []string{"o\"1"}},
		"bad utf-8":   {Subject: "p", Name: "a\xffb"},
	} {
		tok, err := s.token(c)
		if err != nil {
			t.Fatal(err)
		}
		fresh := &Verifier{pub: s.PublicKey(), now: time.Now} // no cache
		want, err := fresh.Verify(tok)
		if err != nil {
			t.Fatal(err)
		}
		got, err := NewVerifier(s.PublicKey()).Verify(tok)
		if err != nil || !cmp.Equal(got, want) {
			t.Errorf("%s: with the cache %#v (%v), parsed %#v", name, got, err, want)
		}
	}
}

func TestVerifiedTokensAreCachedUntilTheyExpire(t *testing.T) {
	now := time.Now()
	s := cacheTestSigner(t, &now)
	tok, err := s.Sign(bob, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(s.PublicKey())
	v.now = func() time.Time { return now }
	got, err := v.Verify(tok)
	if err != nil || !cmp.Equal(got, bob) {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
	if _, ok := v.verified.get(tok, now); !ok {
		t.Fatal("a verified token was not cached")
	}
	// Callers own what they get.
	got.Orgs[0] = "org-evil"
	got.Roles = append(got.Roles[:0], RoleSystemAdmin)
	again, err := v.Verify(tok)
	if err != nil || !cmp.Equal(again, bob) {
		t.Errorf("after the caller changed its copy, Verify = %+v, %v; want %+v", again, err, bob)
	}

	// Past its expiry (and the leeway) the cached answer no longer counts.
	v.now = func() time.Time { return now.Add(time.Minute + leeway + time.Second) }
	if c, err := v.Verify(tok); err == nil {
		t.Errorf("an expired token passed (from the cache?): %+v", c)
	}
}

func TestTamperedCopiesOfACachedTokenAreRejected(t *testing.T) {
	now := time.Now()
	s := cacheTestSigner(t, &now)
	tok, err := s.token(bob) // recorded as verified by the signer itself
	if err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(s.PublicKey())
	if _, err := v.Verify(tok); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	body, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(body), `"auditor"`, `"`+RoleSystemAdmin+`"`, 1)))
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[0] ^= 1
	for name, bad := range map[string]string{
		"payload":   parts[0] + "." + forged + "." + parts[2],
		"signature": parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig),
		"suffix":    tok + "x",
	} {
		if bad == tok {
			t.Fatalf("%s: the test did not change the token", name)
		}
		if c, err := v.Verify(bad); err == nil {
			t.Errorf("%s tampered, yet accepted: %+v", name, c)
		}
	}

	// Another key's verifier shares nothing with this one.
	other := cacheTestSigner(t, &now)
	if c, err := NewVerifier(other.PublicKey()).Verify(tok); err == nil {
		t.Errorf("a verifier for another key accepted the token: %+v", c)
	}
}

func TestCachesAreBounded(t *testing.T) {
	now := time.Now()
	s := cacheTestSigner(t, &now)
	for i := range cacheMax + 10 {
		if _, err := s.token(Claims{Subject: "p-" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	minted := len(s.minted)
	s.mu.Unlock()
	s.verified.mu.Lock()
	verified := len(s.verified.entries)
	s.verified.mu.Unlock()
	if minted > cacheMax || verified > cacheMax {
		t.Errorf("%d minted and %d verified tokens cached, want at most %d each", minted, verified, cacheMax)
	}
}
