package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ecabinet/ecabinet/gateway/problem"
	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// writeTimeout bounds one frame or ping; a client that cannot take a frame in
// this time is treated as gone (it resumes on reconnect).
const writeTimeout = 10 * time.Second

// The JSON text frames the client receives (gateway/web/src/live.ts).
type helloFrame struct {
	Type string `json:"type"` // "hello"
	Seq  uint64 `json:"seq"`  // LIVE position live delivery starts after
}

type eventFrame struct {
	Type      string          `json:"type"` // "event"
	Seq       uint64          `json:"seq"`
	Subject   string          `json:"subject"`
	EventType string          `json:"event_type"`
	Data      json.RawMessage `json:"data"`
}

type reloadFrame struct {
	Type   string `json:"type"` // "reload"
	Reason string `json:"reason"`
}

// Handler serves GET /api/v1/live?since=<seq>. auth runs before the upgrade,
// so an unauthenticated request gets a 401 problem and never a WebSocket.
func (h *Hub) Handler(auth func(*http.Request) (identity.Claims, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			writeProblem(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET to open the live channel")
			return
		}
		claims, err := auth(r)
		if err != nil {
			// The accounts service not answering is an outage, not a
			// sign-out: the tablet should retry, not show the login page.
			if c := status.Code(err); c == codes.Unavailable || c == codes.DeadlineExceeded {
				writeProblem(w, r, http.StatusServiceUnavailable, "Unavailable", "")
				return
			}
			writeProblem(w, r, http.StatusUnauthorized, "Unauthenticated", "")
			return
		}
		since, resume, err := parseSince(r)
		if err != nil {
			writeProblem(w, r, http.StatusBadRequest, "InvalidArgument", err.Error())
			return
		}
		// Subscribe before upgrading: from here on, every new message is
		// queued for this client while it catches up.
		sub, st, err := h.subscribe(r.Context(), claims, since, resume)
		if err != nil {
			writeProblem(w, r, http.StatusServiceUnavailable, "Unavailable", err.Error())
			return
		}
		defer h.unsubscribe(sub)

		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			h.log.DebugContext(r.Context(), "live: upgrade failed", "err", err)
			return // Accept has answered the request
		}
		defer conn.CloseNow()
		log := h.log.With("sub", claims.Subject)
		log.DebugContext(r.Context(), "live: client connected", "since", r.URL.Query().Get("since"), "pos", st.pos)

		// The client never sends data; CloseRead notices it leaving. Its
		// context must not be the subscriber's: cancelling a read closes the
		// connection at once, and a hub drop should close it politely.
		gone := conn.CloseRead(r.Context())
		ctx, cancel := context.WithCancelCause(sub.ctx)
		defer cancel(nil)
		defer context.AfterFunc(gone, func() { cancel(errClientGone) })()

		c := &client{hub: h, conn: conn, sub: sub}
		err = c.serve(ctx, since, resume, st)

		var ce *closeError
		if !errors.As(err, &ce) {
			log.DebugContext(r.Context(), "live: client gone", "err", err)
			return
		}
		log.DebugContext(r.Context(), "live: closing client", "reason", ce.reason, "after_seq", c.sent)
		wctx, wcancel := context.WithTimeout(context.Background(), writeTimeout)
		defer wcancel()
		if ce.reload {
			if err := c.write(wctx, reloadFrame{Type: "reload", Reason: ce.reason}); err != nil {
				return
			}
			_ = conn.Close(ce.code, "reload")
			return
		}
		_ = conn.Close(ce.code, ce.reason)
	})
}

func parseSince(r *http.Request) (since uint64, resume bool, err error) {
	v := r.URL.Query().Get("since")
	if v == "" {
		return 0, false, nil
	}
	since, err = strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("since must be a LIVE sequence number, got %q", v)
	}
	return since, true, nil
}

func writeProblem(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	d := problem.New(r, status, code)
	d.Detail = detail
	problem.Write(w, d)
}

// client is one WebSocket connection. sent is its position: the last LIVE
// sequence it has been given or deliberately skipped (other organisations),
// so every message is considered once and in order.
type client struct {
	hub  *Hub
	conn *websocket.Conn
	sub  *subscriber
	sent uint64
}

// serve says hello, catches the client up from since (ring or JetStream),
// then relays the subscriber's queue until the client or the hub ends it.
func (c *client) serve(ctx context.Context, since uint64, resume bool, st start) error {
	if err := c.write(ctx, helloFrame{Type: "hello", Seq: st.pos}); err != nil {
		return err
	}
	c.sent = st.pos
	if resume {
		c.sent = since
		switch {
		case since > st.pos:
			// The hub may simply lag the stream (another gateway gave the
			// client a newer sequence); only a stream that never got that far
			// means the client's position is meaningless.
			if err := c.checkAhead(ctx, since); err != nil {
				return err
			}
		case st.fromRing:
			for _, e := range st.backlog {
				if err := c.send(ctx, e); err != nil {
					return err
				}
			}
		default:
			if err := c.catchUp(ctx, since, st.pos); err != nil {
				return err
			}
		}
	}

	ping := time.NewTicker(c.hub.pingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case e := <-c.sub.queue:
			if err := c.send(ctx, e); err != nil {
				return err
			}
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := c.conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		}
	}
}

// send delivers e unless the client has already passed it (messages queued
// during catch-up overlap what catch-up sent) or may not see it.
func (c *client) send(ctx context.Context, e entry) error {
	if e.seq <= c.sent {
		return nil
	}
	c.sent = e.seq
	if !e.visibleTo(c.sub.claims) {
		return nil
	}
	return c.writeRaw(ctx, e.frame)
}

func (c *client) write(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	return c.writeRaw(ctx, b)
}

func (c *client) writeRaw(ctx context.Context, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// catchUp sends what the ring no longer holds, (since, until], straight from
// the LIVE stream with a short-lived ordered consumer.
func (c *client) catchUp(ctx context.Context, since, until uint64) error {
	h := c.hub
	st, err := h.streamState(ctx)
	if err != nil {
		return unavailable(h.log, err)
	}
	if since+1 < st.FirstSeq {
		return tooOld(since, st.FirstSeq)
	}
	cons, err := h.js.OrderedConsumer(ctx, h.stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       since + 1,
		InactiveThreshold: time.Minute, // the server tidies up if we cannot
		MaxResetAttempts:  3,
	})
	if err != nil {
		return unavailable(h.log, fmt.Errorf("catch-up consumer: %w", err))
	}
	defer h.deleteConsumer(cons)
	it, err := cons.Messages()
	if err != nil {
		return unavailable(h.log, fmt.Errorf("catch-up: %w", err))
	}
	defer it.Stop()
	for first := true; ; first = false {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return unavailable(h.log, fmt.Errorf("catch-up: %w", err))
		}
		meta, err := msg.Metadata()
		if err != nil {
			return unavailable(h.log, fmt.Errorf("catch-up metadata: %w", err))
		}
		seq := meta.Sequence.Stream
		// The consumer starts at the first message at or after since+1;
		// starting later means since+1 may have aged out after the check.
		if first && seq > since+1 {
			st, err := h.streamState(ctx)
			if err != nil {
				return unavailable(h.log, err)
			}
			if since+1 < st.FirstSeq {
				return tooOld(since, st.FirstSeq)
			}
		}
		if err := c.send(ctx, h.render(seq, msg.Subject(), msg.Headers(), msg.Data())); err != nil {
			return err
		}
		// until is where the queue takes over; NumPending 0 means the
		// stream has nothing more (until itself was deleted).
		if seq >= until || meta.NumPending == 0 {
			return nil
		}
	}
}

// checkAhead rejects a since beyond the stream's last sequence: the stream
// was recreated, and the client's state must be rebuilt.
func (c *client) checkAhead(ctx context.Context, since uint64) error {
	st, err := c.hub.streamState(ctx)
	if err != nil {
		return unavailable(c.hub.log, err)
	}
	if since > st.LastSeq {
		return &closeError{code: websocket.StatusNormalClosure, reload: true,
			reason: fmt.Sprintf("since %d is beyond the last event %d (the event stream was reset)", since, st.LastSeq)}
	}
	return nil
}

func (h *Hub) streamState(ctx context.Context) (jetstream.StreamState, error) {
	s, err := h.js.Stream(ctx, h.stream)
	if err != nil {
		return jetstream.StreamState{}, fmt.Errorf("stream %s: %w", h.stream, err)
	}
	return s.CachedInfo().State, nil
}

// deleteConsumer removes a catch-up consumer at once instead of leaving it
// to the inactivity threshold; best effort.
func (h *Hub) deleteConsumer(cons jetstream.Consumer) {
	info := cons.CachedInfo()
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = h.js.DeleteConsumer(ctx, h.stream, info.Name)
}

func tooOld(since, first uint64) error {
	return &closeError{code: websocket.StatusNormalClosure, reload: true,
		reason: fmt.Sprintf("events after %d are no longer kept (oldest is %d)", since, first)}
}

// unavailable ends a client whose catch-up cannot proceed now (NATS trouble);
// it reconnects from the same since and loses nothing.
func unavailable(log *slog.Logger, err error) error {
	log.Warn("live: catch-up failed", "err", err)
	return &closeError{code: websocket.StatusTryAgainLater, reason: "events unavailable, reconnect later"}
}
