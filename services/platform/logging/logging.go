// Package logging builds the JSON logger every process uses and carries the
// request id through contexts, so one request can be followed across the
// gateway and the services in the logs.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/google/uuid"
)

// RequestIDHeader is the HTTP header carrying the request id. In gRPC
// metadata the same value travels as MetadataKey.
const RequestIDHeader = "X-Request-Id"

// MetadataKey is the gRPC metadata key for the request id (gRPC keys are
// lower case).
const MetadataKey = "x-request-id"

// RequestIDKey is the attribute name of the request id in log records.
const RequestIDKey = "request_id"

// New returns a JSON logger writing to w at level ("debug", "info", "warn",
// "error"; case-insensitive, "" means info). Records logged with a context
// that carries a request id get a request_id attribute.
func New(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if strings.TrimSpace(level) != "" {
		if err := l.UnmarshalText([]byte(strings.TrimSpace(level))); err != nil {
			return nil, fmt.Errorf("logging: level %q: want debug, info, warn or error: %w", level, err)
		}
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})
	return slog.New(requestIDHandler{h}), nil
}

// requestIDHandler adds the context's request id to each record. Note that
// if the logger has an open group (WithGroup), the attribute lands inside it.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String(RequestIDKey, id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// NewRequestID returns a fresh request id. UUIDv7 sorts by time, which keeps
// ids from one period together when grepping.
func NewRequestID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// ValidRequestID reports whether an id received from a client is safe to
// adopt: short and made of visible ASCII, so a caller cannot flood or forge
// log lines through it. Callers generate a new id otherwise.
func ValidRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}
