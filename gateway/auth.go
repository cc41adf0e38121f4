package gateway

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ecabinet/ecabinet/gateway/problem"
	"github.com/ecabinet/ecabinet/services/platform/identity"
)

var errNoCredentials = errors.New("no credentials")

// authenticate finds who is calling. Until accounts and sessions exist (the
// meetings capability), API clients present a bearer token signed with the
// gateway's identity key; see docs/adr/0001.
func (g *Gateway) authenticate(r *http.Request) (identity.Claims, error) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return identity.Claims{}, errNoCredentials
	}
	return g.verifier.Verify(strings.TrimSpace(token))
}

// requireIdentity rejects unauthenticated calls with 401 and otherwise puts
// the caller's claims in the request context, where the gRPC client
// interceptor signs them into a short-lived token for the service.
func (g *Gateway) requireIdentity(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, err := g.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ecabinet"`)
			problem.Write(w, problem.New(r, http.StatusUnauthorized, "Unauthenticated"))
			return
		}
		next.ServeHTTP(w, r.WithContext(identity.NewContext(r.Context(), claims)))
	})
}
