package e2e

import (
	"encoding/base64"
	"testing"

	"github.com/ecabinet/ecabinet/services/platform/identity"
)

func publicKeyOf(t *testing.T, signingKey string) string {
	t.Helper()
	seed, err := identity.DecodeSeed(signingKey)
	if err != nil {
		t.Fatal(err)
	}
	s, err := identity.NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(s.PublicKey())
}
