// Package natsjs connects to NATS JetStream and declares the streams of the
// runtime contract (ADR 0001): one per service and LIVE, which sources them all.
package natsjs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Connect returns a connection to the NATS server(s) in natsURL (comma
// separated). It returns at once even when no server is up: the client keeps
// trying in the background forever, so a service can start before NATS, and
// it logs every disconnect and reconnect with the address. A malformed URL is
// an error.
func Connect(natsURL, name string, log *slog.Logger) (*nats.Conn, error) {
	addr, err := checkURL(natsURL)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(natsURL,
		nats.Name(name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ConnectHandler(func(nc *nats.Conn) {
			// The first successful connect, at once or after retrying.
			log.Info("nats connected to "+nc.ConnectedUrlRedacted(), "addr", nc.ConnectedUrlRedacted())
		}),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if nc.IsClosed() {
				return // our own Close, not an outage
			}
			log.Warn(fmt.Sprintf("nats disconnected from %s: %v", addr, err), "addr", addr)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected to "+nc.ConnectedUrlRedacted(), "addr", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Warn("nats async error: "+err.Error(), "addr", addr, "subject", subject)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("natsjs: connect to %s: %w", addr, err)
	}
	if !nc.IsConnected() {
		log.Warn("nats unreachable at "+addr+"; retrying in the background", "addr", addr)
	}
	return nc, nil
}

// checkURL validates every server in a comma-separated NATS URL and returns
// them joined again with passwords masked, for messages. nats.go itself
// accepts some malformed URLs and only fails (forever, in the background)
// when it tries them, which would hide a typo behind "reconnecting".
func checkURL(natsURL string) (string, error) {
	if strings.TrimSpace(natsURL) == "" {
		return "", errors.New("natsjs: NATS URL is empty")
	}
	var redacted []string
	for _, s := range strings.Split(natsURL, ",") {
		s = strings.TrimSpace(s)
		raw := s
		if !strings.Contains(s, "://") {
			s = "nats://" + s // nats.go's own default scheme
		}
		u, err := url.Parse(s)
		if err != nil {
			// url.Error repeats the whole URL, password included.
			var uerr *url.Error
			if errors.As(err, &uerr) {
				err = uerr.Err
			}
			return "", fmt.Errorf("natsjs: malformed NATS URL %q: %w", maskPassword(raw), err)
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return "", fmt.Errorf("natsjs: malformed NATS URL %q: scheme %q is not nats, tls, ws or wss", u.Redacted(), u.Scheme)
		}
		if u.Hostname() == "" {
			return "", fmt.Errorf("natsjs: malformed NATS URL %q: no host", u.Redacted())
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
				return "", fmt.Errorf("natsjs: malformed NATS URL %q: bad port %q", u.Redacted(), p)
			}
		}
		redacted = append(redacted, u.Redacted())
	}
	return strings.Join(redacted, ","), nil
}

// maskPassword hides whatever sits between "user:" and "@" in a string that
// did not even parse as a URL.
func maskPassword(s string) string {
	at := strings.LastIndex(s, "@")
	if at < 0 {
		return s
	}
	start := strings.Index(s, "://") + 3
	if start < 3 {
		start = 0
	}
	if colon := strings.Index(s[start:at], ":"); colon >= 0 {
		return s[:start+colon+1] + "xxxxx" + s[at:]
	}
	return s
}

// Ping returns a health probe: the connection is up and the server answers a
// round trip before ctx ends (1s when ctx has no deadline).
func Ping(nc *nats.Conn) func(ctx context.Context) error {
	addr, err := checkURL(strings.Join(nc.Opts.Servers, ","))
	if err != nil {
		addr = "(unknown address)"
	}
	return func(ctx context.Context) error {
		if !nc.IsConnected() {
			return fmt.Errorf("nats at %s: %s", addr, strings.ToLower(nc.Status().String()))
		}
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, time.Second)
			defer cancel()
		}
		if err := nc.FlushWithContext(ctx); err != nil {
			return fmt.Errorf("nats at %s: %w", addr, err)
		}
		return nil
	}
}

// StreamNamePrefix turns a subject prefix ("" in production, "t_ab12." in
// tests) into the matching stream-name prefix ("", "T_AB12_"): stream names
// may not contain dots.
func StreamNamePrefix(prefix string) string {
	return strings.ToUpper(strings.ReplaceAll(prefix, ".", "_"))
}

// ServiceStream is the stream of one service's events: named
// StreamNamePrefix(prefix)+UPPER(svc), holding prefix+"ecabinet.<svc>.v1.>",
// on disk, with a 2-minute de-duplication window on Nats-Msg-Id (longer than
// any retry of the outbox relay for one message).
func ServiceStream(prefix, svc string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamNamePrefix(prefix) + strings.ToUpper(svc),
		Description: "ecabinet " + svc + " events",
		Subjects:    []string{prefix + "ecabinet." + svc + ".v1.>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Duplicates:  2 * time.Minute,
	}
}

// LiveStream is the stream behind the live channel: it sources the given
// services' streams so the gateway reads one ordered sequence, and keeps 24
// hours of events.
func LiveStream(prefix string, services ...string) jetstream.StreamConfig {
	sources := make([]*jetstream.StreamSource, 0, len(services))
	for _, svc := range services {
		sources = append(sources, &jetstream.StreamSource{Name: ServiceStream(prefix, svc).Name})
	}
	return jetstream.StreamConfig{
		Name:        StreamNamePrefix(prefix) + "LIVE",
		Description: "ecabinet live channel: all service events of the last 24h",
		Sources:     sources,
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      24 * time.Hour,
	}
}

// EnsureStream creates the stream or updates it to cfg. While NATS is
// unreachable it keeps trying (doubling the wait up to 5s) until ctx is done;
// a request the server rejects (an invalid config, say) fails at once.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) error {
	wait := 100 * time.Millisecond
	for {
		attempt, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := js.CreateOrUpdateStream(attempt, cfg)
		cancel()
		if err == nil {
			return nil
		}
		var jsErr jetstream.JetStreamError
		if errors.As(err, &jsErr) && jsErr.APIError() != nil && !retryable(jsErr.APIError()) {
			return fmt.Errorf("natsjs: stream %s: %w", cfg.Name, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("natsjs: stream %s: gave up: %w", cfg.Name, errors.Join(ctx.Err(), err))
		case <-t.C:
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// retryable: JetStream answered, but with something that may pass: 503 is
// what it says while it is starting, has no quorum yet, or lacks resources.
// Everything else (an invalid config is a 500) is final.
func retryable(e *jetstream.APIError) bool {
	return e.Code == 503
}
