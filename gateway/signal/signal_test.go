package signal

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/coder/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// Authentication runs before the upgrade: a caller who is not signed in
// gets a 401 problem, an accounts outage a 503, and never a socket (the
// video service is not reached: Video is nil here).
func TestRefusedBeforeTheUpgrade(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want int
	}{
		{"not signed in", errors.New("no session"), http.StatusUnauthorized},
		{"accounts down", status.Error(codes.Unavailable, "accounts: down"), http.StatusServiceUnavailable},
	} {
		h := New(Deps{Authenticate: func(*http.Request) (identity.Claims, error) { return identity.Claims{}, tt.err }})
		mux := http.NewServeMux()
		h.Register(mux, func(_ string, h http.Handler) http.Handler { return h })
		req := httptest.NewRequest(http.MethodGet, "/api/v1/meetings/m1/video/signal", nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != tt.want || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s, want %d problem+json", tt.name, rec.Code, rec.Header().Get("Content-Type"), tt.want)
		}
	}
}

func TestCloseStatus(t *testing.T) {
	for code, want := range map[codes.Code]websocket.StatusCode{
		codes.OK:                 websocket.StatusNormalClosure,
		codes.ResourceExhausted:  websocket.StatusTryAgainLater,
		codes.Unavailable:        websocket.StatusTryAgainLater,
		codes.PermissionDenied:   websocket.StatusPolicyViolation,
		codes.DeadlineExceeded:   websocket.StatusPolicyViolation,
		codes.Internal:           websocket.StatusInternalError,
		codes.FailedPrecondition: websocket.StatusPolicyViolation,
	} {
		if got := closeStatus(code); got != want {
			t.Errorf("closeStatus(%s) = %v, want %v", code, got, want)
		}
	}
	if got := codeName(codes.PermissionDenied); got != "PERMISSION_DENIED" {
		t.Errorf("codeName = %s", got)
	}
}
