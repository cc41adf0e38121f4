// Package identity mints and checks the short-lived identity tokens that the
// gateway attaches to every gRPC call (ADR 0001, "Identity"). The gateway
// holds the Ed25519 private key and signs; services hold only the public key,
// so they can verify a caller but never impersonate one.
package identity

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MetadataKey is the gRPC metadata key carrying the token.
const MetadataKey = "x-ecabinet-identity"

// Roles with a meaning to the platform itself.
const (
	// RoleSystemAdmin may act in every organisation.
	RoleSystemAdmin = "system_admin"
	// RoleGateway is the gateway acting for a user who is not signed in yet
	// (login, resolving a session); services accept it only for that.
	RoleGateway = "gateway"
)

// TokenTTL is the lifetime of the tokens the client interceptors mint: long
// enough for one call chain, short enough that a leaked token soon dies.
const TokenTTL = 5 * time.Minute

const (
	issuer   = "ecabinet-gateway"
	audience = "ecabinet"
	// leeway tolerates clock skew between the gateway and a service host.
	leeway = 30 * time.Second
)

// Claims say who is calling.
type Claims struct {
	Subject string   // person id
	Name    string   // display name
	Orgs    []string // organisation ids the person belongs to
	// AdminOrgs are the organisations the person administers, including
	// every organisation below one they administer.
	AdminOrgs []string
	Roles     []string // system-wide roles, e.g. RoleSystemAdmin
}

// HasRole reports whether the caller has role.
func (c Claims) HasRole(role string) bool { return slices.Contains(c.Roles, role) }

// InOrg reports whether the caller may act in organisation orgID: a member,
// or a system administrator (who may act in every organisation).
func (c Claims) InOrg(orgID string) bool {
	return c.HasRole(RoleSystemAdmin) || slices.Contains(c.Orgs, orgID)
}

// IsOrgAdmin reports whether the caller administers organisation orgID (a
// system administrator administers all).
func (c Claims) IsOrgAdmin(orgID string) bool {
	return c.HasRole(RoleSystemAdmin) || slices.Contains(c.AdminOrgs, orgID)
}

// tokenClaims is the JWT body.
type tokenClaims struct {
	Name      string   `json:"name,omitempty"`
	Orgs      []string `json:"orgs,omitempty"`
	AdminOrgs []string `json:"adm,omitempty"`
	Roles     []string `json:"roles,omitempty"`
	jwt.RegisteredClaims
}

// Signer mints identity tokens. Only the gateway (and `ecabinet -mint-token`)
// should hold one.
type Signer struct {
	key ed25519.PrivateKey
	now func() time.Time // replaced in tests to mint already-expired tokens

	// The interceptors' tokens, for reuse (cache.go).
	mu       sync.Mutex
	minted   map[string]mintedToken
	verified *verifiedCache
}

// NewSigner returns a Signer for the 32-byte Ed25519 seed.
func NewSigner(seed []byte) (*Signer, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("identity: signing key must be a %d-byte Ed25519 seed, got %d bytes", ed25519.SeedSize, len(seed))
	}
	key := ed25519.NewKeyFromSeed(seed)
	return &Signer{key: key, now: time.Now, verified: verifiedFor(key.Public().(ed25519.PublicKey))}, nil
}

// Sign returns a JWT (EdDSA) for c that expires after ttl.
func (s *Signer) Sign(c Claims, ttl time.Duration) (string, error) {
	if c.Subject == "" {
		return "", errors.New("identity: claims have no subject")
	}
	if ttl <= 0 {
		return "", fmt.Errorf("identity: token lifetime must be positive, got %v", ttl)
	}
	now := s.now()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, tokenClaims{
		Name:      c.Name,
		Orgs:      c.Orgs,
		AdminOrgs: c.AdminOrgs,
		Roles:     c.Roles,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   c.Subject,
			Audience:  jwt.ClaimStrings{audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	})
	signed, err := tok.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("identity: signing token: %w", err)
	}
	return signed, nil
}

// PublicKey returns the key services need to verify this Signer's tokens.
func (s *Signer) PublicKey() ed25519.PublicKey {
	return s.key.Public().(ed25519.PublicKey)
}

// Verifier checks identity tokens.
type Verifier struct {
	pub      ed25519.PublicKey
	now      func() time.Time
	verified *verifiedCache // tokens already checked (cache.go)
}

// NewVerifier returns a Verifier trusting tokens signed with pub's private key.
func NewVerifier(pub ed25519.PublicKey) *Verifier {
	return &Verifier{pub: pub, now: time.Now, verified: verifiedFor(pub)}
}

// Verify returns the claims of a valid token. It rejects tokens that are
// expired, not yet valid, tampered with, signed by another key or with any
// algorithm but EdDSA (so "none" and HMAC-with-the-public-key tricks fail),
// or meant for another issuer or audience. A token that passed before is
// not checked again until it expires (cache.go).
func (v *Verifier) Verify(token string) (Claims, error) {
	if v == nil || len(v.pub) != ed25519.PublicKeySize {
		return Claims{}, errors.New("identity: verifier has no valid public key")
	}
	now := v.now()
	if v.verified != nil {
		if c, ok := v.verified.get(token, now); ok {
			return c, nil
		}
	}
	var tc tokenClaims
	_, err := jwt.ParseWithClaims(token, &tc,
		func(*jwt.Token) (any, error) { return v.pub, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(v.now),
	)
	if err != nil {
		return Claims{}, fmt.Errorf("identity: %w", err)
	}
	if tc.Subject == "" {
		return Claims{}, errors.New("identity: token has no subject")
	}
	c := Claims{Subject: tc.Subject, Name: tc.Name, Orgs: tc.Orgs, AdminOrgs: tc.AdminOrgs, Roles: tc.Roles}
	if v.verified != nil && tc.ExpiresAt != nil {
		v.verified.put(token, c, tc.ExpiresAt.Time, now)
	}
	return c, nil
}

// DecodeSeed decodes a base64 Ed25519 seed (IDENTITY_SIGNING_KEY).
func DecodeSeed(b64 string) ([]byte, error) {
	b, err := decodeBase64(b64)
	if err != nil {
		return nil, fmt.Errorf("identity: signing key is not base64: %w", err)
	}
	if len(b) != ed25519.SeedSize {
		return nil, fmt.Errorf("identity: signing key must decode to %d bytes, got %d", ed25519.SeedSize, len(b))
	}
	return b, nil
}

// DecodePublicKey decodes a base64 Ed25519 public key (IDENTITY_VERIFY_KEY).
func DecodePublicKey(b64 string) (ed25519.PublicKey, error) {
	b, err := decodeBase64(b64)
	if err != nil {
		return nil, fmt.Errorf("identity: verify key is not base64: %w", err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("identity: verify key must decode to %d bytes, got %d", ed25519.PublicKeySize, len(b))
	}
	return ed25519.PublicKey(b), nil
}

// decodeBase64 accepts standard and URL-safe base64, padded or not, because
// keys get pasted from whatever tool generated them.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

type claimsKey struct{}

// NewContext returns ctx carrying c.
func NewContext(ctx context.Context, c Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// FromContext returns the claims in ctx, if any.
func FromContext(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(Claims)
	return c, ok
}
