package identity_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// newSigner returns a signer and its seed, so a test can mint tokens with
// the same key by other means.
func newSigner(t *testing.T) (*identity.Signer, []byte) {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		t.Fatal(err)
	}
	s, err := identity.NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	return s, seed
}

var alice = identity.Claims{Subject: "person-1", Name: "Alice", Orgs: []string{"org-1", "org-2"}, AdminOrgs: []string{"org-1"}, Roles: []string{"auditor"}}

func TestSignVerifyRoundTrip(t *testing.T) {
	s, _ := newSigner(t)
	tok, err := s.Sign(alice, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got, err := identity.NewVerifier(s.PublicKey()).Verify(tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if diff := cmp.Diff(alice, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}

	// The body uses the claim names from ADR 0001.
	var body map[string]any
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err := json.Unmarshal(payload, &body); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"sub", "name", "orgs", "roles", "iss", "aud", "exp", "iat"} {
		if _, ok := body[k]; !ok {
			t.Errorf("token body has no %q: %v", k, body)
		}
	}
	if body["iss"] != "ecabinet-gateway" {
		t.Errorf("iss = %v", body["iss"])
	}
}

// badTokens returns tokens that a verifier for seed's key must reject, by
// what is wrong with them.
func badTokens(t *testing.T, seed []byte) map[string]badToken {
	t.Helper()
	s, err := identity.NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	key := ed25519.NewKeyFromSeed(seed)
	good, err := s.Sign(alice, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	var body map[string]any
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(payload, &body); err != nil {
		t.Fatal(err)
	}
	sign := func(m jwt.SigningMethod, k any, claims jwt.MapClaims) string {
		t.Helper()
		tok, err := jwt.NewWithClaims(m, claims).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	// Payload changed after signing: claim to be a system administrator.
	forgedBody := jwt.MapClaims{}
	for k, v := range body {
		forgedBody[k] = v
	}
	forgedBody["roles"] = []string{identity.RoleSystemAdmin}
	forged, _ := json.Marshal(forgedBody)
	tamperedPayload := parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]

	// Signature changed: flip the bits of a byte in the middle.
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[len(sig)/2] ^= 0xff
	tamperedSig := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)

	// Minted an hour ago with the usual 5 minute lifetime.
	s.SetClock(func() time.Time { return time.Now().Add(-time.Hour) })
	expired, err := s.Sign(alice, identity.TokenTTL)
	if err != nil {
		t.Fatal(err)
	}

	other, _ := newSigner(t)
	otherKey, err := other.Sign(alice, time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."

	// The classic confusion attack: HMAC keyed with the public key bytes.
	hs256 := sign(jwt.SigningMethodHS256, []byte(key.Public().(ed25519.PublicKey)), jwt.MapClaims(body))

	now := time.Now()
	wrongAud := sign(jwt.SigningMethodEdDSA, key, jwt.MapClaims{
		"sub": "person-1", "iss": "ecabinet-gateway", "aud": "somebody-else",
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	})
	wrongIss := sign(jwt.SigningMethodEdDSA, key, jwt.MapClaims{
		"sub": "person-1", "iss": "mallory", "aud": "ecabinet",
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	})
	noExp := sign(jwt.SigningMethodEdDSA, key, jwt.MapClaims{
		"sub": "person-1", "iss": "ecabinet-gateway", "aud": "ecabinet", "iat": now.Unix(),
	})
	noSub := sign(jwt.SigningMethodEdDSA, key, jwt.MapClaims{
		"iss": "ecabinet-gateway", "aud": "ecabinet", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	})

	return map[string]badToken{
		"tampered payload":   {tamperedPayload, jwt.ErrTokenSignatureInvalid},
		"tampered signature": {tamperedSig, jwt.ErrTokenSignatureInvalid},
		"expired":            {expired, jwt.ErrTokenExpired},
		"other key":          {otherKey, jwt.ErrTokenSignatureInvalid},
		"alg none":           {none, jwt.ErrTokenSignatureInvalid},
		"alg HS256":          {hs256, jwt.ErrTokenSignatureInvalid},
		"wrong audience":     {wrongAud, jwt.ErrTokenInvalidAudience},
		"wrong issuer":       {wrongIss, jwt.ErrTokenInvalidIssuer},
		"no expiry":          {noExp, jwt.ErrTokenRequiredClaimMissing},
		"no subject":         {noSub, nil},
		"garbage":            {"not.a.token", jwt.ErrTokenMalformed},
	}
}

type badToken struct {
	token string
	want  error // the jwt error the rejection must wrap; nil: any error
}

func TestVerifyRejects(t *testing.T) {
	s, seed := newSigner(t)
	v := identity.NewVerifier(s.PublicKey())
	for name, bad := range badTokens(t, seed) {
		t.Run(name, func(t *testing.T) {
			c, err := v.Verify(bad.token)
			if err == nil {
				t.Fatalf("Verify accepted it: %+v", c)
			}
			if bad.want != nil && !errors.Is(err, bad.want) {
				t.Errorf("Verify error = %v, want one wrapping %v", err, bad.want)
			}
		})
	}
}

func TestSignRejectsBadInput(t *testing.T) {
	s, _ := newSigner(t)
	if _, err := s.Sign(identity.Claims{Name: "nobody"}, time.Minute); err == nil {
		t.Error("Sign without subject succeeded")
	}
	if _, err := s.Sign(alice, 0); err == nil {
		t.Error("Sign with zero ttl succeeded")
	}
	if _, err := identity.NewSigner(make([]byte, 31)); err == nil {
		t.Error("NewSigner with a 31-byte seed succeeded")
	}
}

func TestDecodeKeys(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		t.Fatal(err)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
		got, err := identity.DecodeSeed(" " + enc.EncodeToString(seed) + "\n")
		if err != nil || !cmp.Equal(got, seed) {
			t.Errorf("DecodeSeed = %x, %v", got, err)
		}
	}
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	got, err := identity.DecodePublicKey(base64.StdEncoding.EncodeToString(pub))
	if err != nil || !pub.Equal(got) {
		t.Errorf("DecodePublicKey = %x, %v", got, err)
	}
	if _, err := identity.DecodeSeed("!!!"); err == nil {
		t.Error("DecodeSeed accepted non-base64")
	}
	if _, err := identity.DecodeSeed(base64.StdEncoding.EncodeToString(seed[:16])); err == nil {
		t.Error("DecodeSeed accepted 16 bytes")
	}
	if _, err := identity.DecodePublicKey(base64.StdEncoding.EncodeToString(seed[:16])); err == nil {
		t.Error("DecodePublicKey accepted 16 bytes")
	}
}

func TestClaimsRolesAndOrgs(t *testing.T) {
	if !alice.HasRole("auditor") || alice.HasRole(identity.RoleSystemAdmin) {
		t.Error("HasRole wrong for alice")
	}
	if !alice.IsOrgAdmin("org-1") || alice.IsOrgAdmin("org-2") {
		t.Error("IsOrgAdmin wrong for alice")
	}
	if !alice.InOrg("org-2") || alice.InOrg("org-3") {
		t.Error("InOrg wrong for alice")
	}
	root := identity.Claims{Subject: "root", Roles: []string{identity.RoleSystemAdmin}}
	if !root.InOrg("any-org") {
		t.Error("system_admin is not in every org")
	}
}
