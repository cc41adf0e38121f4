// Package live is the gateway's live channel: one ordered JetStream consumer
// on the LIVE stream, fanned out over WebSockets to connected tablets, each
// filtered by the caller's organisations and resumable by LIVE sequence.
package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/ecabinet/ecabinet/services/platform/identity"

	// The events are rendered from the registry by their Ecabinet-Type
	// header, so every service's event types must be linked in.
	_ "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	_ "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	_ "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	_ "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
)

// Event headers set by the outbox relay (ADR 0001, Events).
const (
	HeaderType = "Ecabinet-Type"
	HeaderOrg  = "Ecabinet-Org"
	// HeaderAudience lists people outside the organisation who may see an
	// event (comma-separated person ids).
	HeaderAudience = "Ecabinet-Audience"
)

const (
	defaultRingSize     = 4096
	defaultClientQueue  = 1024
	defaultPingInterval = 30 * time.Second
)

// Same options as grpc-gateway's default marshaler, so an event's data looks
// like the resource the REST API returns.
var dataJSON = protojson.MarshalOptions{EmitUnpopulated: true}

// Option configures a Hub.
type Option func(*Hub)

// WithRingSize sets how many recent messages the hub keeps in memory so that
// reconnecting clients catch up without asking JetStream (minimum 1).
func WithRingSize(n int) Option { return func(h *Hub) { h.ringSize = max(n, 1) } }

// WithClientQueue sets how many messages may wait for one client before it is
// disconnected as too slow (minimum 1).
func WithClientQueue(n int) Option { return func(h *Hub) { h.queueSize = max(n, 1) } }

// WithPingInterval sets the WebSocket keep-alive interval.
func WithPingInterval(d time.Duration) Option {
	return func(h *Hub) {
		if d > 0 {
			h.pingInterval = d
		}
	}
}

// Hub reads the LIVE stream once and fans every message out to the connected
// clients. Its position (last) only moves forward, one message at a time, so
// that a client subscribing at position L gets exactly the messages after L.
type Hub struct {
	js           jetstream.JetStream
	stream       string
	log          *slog.Logger
	ringSize     int
	queueSize    int
	pingInterval time.Duration

	mu     sync.Mutex
	ready  bool // position known (first stream info read)
	closed bool // Run returned; no new subscribers
	last   uint64
	ring   ring // every message with floor < seq <= last
	subs   map[*subscriber]struct{}
}

// entry is one LIVE message, rendered once for every client.
type entry struct {
	seq      uint64
	org      string
	audience []string // people outside org who may see it (Ecabinet-Audience)
	frame    []byte   // the JSON "event" message
}

// visibleTo reports whether the caller may see the event: a member of its
// organisation (or a system administrator), or someone it names.
func (e entry) visibleTo(c identity.Claims) bool {
	return c.InOrg(e.org) || slices.Contains(e.audience, c.Subject)
}

// NewHub returns a hub for the LIVE stream named stream. Call Run to start it.
func NewHub(js jetstream.JetStream, stream string, log *slog.Logger, opts ...Option) *Hub {
	h := &Hub{
		js:           js,
		stream:       stream,
		log:          log,
		ringSize:     defaultRingSize,
		queueSize:    defaultClientQueue,
		pingInterval: defaultPingInterval,
		subs:         make(map[*subscriber]struct{}),
	}
	for _, o := range opts {
		o(h)
	}
	h.ring.buf = make([]entry, h.ringSize)
	return h
}

// Run consumes the LIVE stream until ctx is done, then disconnects every
// client. When the consumer fails (NATS gone for long, stream missing) it is
// recreated after the last sequence seen, so nothing is skipped.
func (h *Hub) Run(ctx context.Context) error {
	defer h.shutdown()
	const minDelay, maxDelay = 500 * time.Millisecond, 10 * time.Second
	delay := minDelay
	for {
		started, err := h.consume(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if started {
			delay = minDelay
		}
		h.log.Warn("live: consumer stopped, recreating", "stream", h.stream, "after_seq", h.position(), "retry_in", delay.String(), "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(delay*2, maxDelay)
	}
}

// consume runs one ordered consumer from the hub's position; started reports
// whether it got as far as receiving messages (for the retry backoff).
func (h *Hub) consume(ctx context.Context) (started bool, err error) {
	s, err := h.js.Stream(ctx, h.stream)
	if err != nil {
		return false, fmt.Errorf("stream %s: %w", h.stream, err)
	}
	h.locate(s.CachedInfo().State.LastSeq)

	cons, err := h.js.OrderedConsumer(ctx, h.stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   h.position() + 1,
		// Bounded so a persistent failure surfaces here and the position
		// check in locate runs again (e.g. the stream was recreated).
		MaxResetAttempts: 5,
	})
	if err != nil {
		return false, fmt.Errorf("ordered consumer: %w", err)
	}
	defer h.deleteConsumer(cons)
	it, err := cons.Messages()
	if err != nil {
		return false, fmt.Errorf("consume: %w", err)
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return started, fmt.Errorf("next: %w", err)
		}
		started = true
		meta, err := msg.Metadata()
		if err != nil {
			h.log.Warn("live: message without metadata", "subject", msg.Subject(), "err", err)
			continue
		}
		h.publish(h.render(meta.Sequence.Stream, msg.Subject(), msg.Headers(), msg.Data()))
	}
}

// locate sets the hub's starting position from the stream's last sequence the
// first time, and detects a stream that went backwards (deleted and
// recreated): then the ring and every client's position mean nothing any more.
func (h *Hub) locate(streamLast uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case !h.ready:
		h.last = streamLast
		h.ring.reset(streamLast)
		h.ready = true
	case streamLast < h.last:
		h.log.Warn("live: stream went backwards, clients must reload", "stream", h.stream, "was", h.last, "now", streamLast)
		h.last = streamLast
		h.ring.reset(streamLast)
		for s := range h.subs {
			h.drop(s, errStreamReset)
		}
	}
}

func (h *Hub) position() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// publish appends e to the ring and hands it to every client allowed to see
// it. A client whose queue is full is dropped rather than waited for: one slow
// tablet must not hold up the others, and it resumes losslessly on reconnect.
func (h *Hub) publish(e entry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e.seq <= h.last {
		return // redelivered after a consumer reset
	}
	h.last = e.seq
	h.ring.push(e)
	for s := range h.subs {
		if !e.visibleTo(s.claims) {
			continue
		}
		select {
		case s.queue <- e:
		default:
			h.drop(s, errSlowClient)
		}
	}
}

// shutdown stops accepting clients and disconnects the connected ones.
func (h *Hub) shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		h.drop(s, errShuttingDown)
	}
}

// drop disconnects s with cause; h.mu must be held.
func (h *Hub) drop(s *subscriber, cause error) {
	delete(h.subs, s)
	s.cancel(cause)
}

// render turns a LIVE message into its "event" frame. An unknown or
// undecodable type still yields a frame (data null): the client sees the
// sequence and event type, and nothing stalls on one bad message.
func (h *Hub) render(seq uint64, subject string, hdr nats.Header, payload []byte) entry {
	typ := hdr.Get(HeaderType)
	data, err := eventData(typ, payload)
	if err != nil {
		h.log.Warn("live: cannot render event", "seq", seq, "subject", subject, "type", typ, "err", err)
		data = nil
	}
	frame, err := json.Marshal(eventFrame{Type: "event", Seq: seq, Subject: subject, EventType: typ, Data: data})
	if err != nil {
		// Only possible if protojson produced invalid JSON.
		h.log.Error("live: cannot encode event", "seq", seq, "err", err)
		frame, _ = json.Marshal(eventFrame{Type: "event", Seq: seq, Subject: subject, EventType: typ})
	}
	var audience []string
	if a := hdr.Get(HeaderAudience); a != "" {
		audience = strings.Split(a, ",")
	}
	return entry{seq: seq, org: hdr.Get(HeaderOrg), audience: audience, frame: frame}
}

func eventData(typ string, payload []byte) (json.RawMessage, error) {
	if typ == "" {
		return nil, errors.New("no " + HeaderType + " header")
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(typ))
	if err != nil {
		return nil, fmt.Errorf("type %q: %w", typ, err)
	}
	m := mt.New().Interface()
	if err := proto.Unmarshal(payload, m); err != nil {
		return nil, fmt.Errorf("decode %s: %w", typ, err)
	}
	b, err := dataJSON.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", typ, err)
	}
	return b, nil
}

// subscriber is one connected client as the hub sees it. Its context is
// cancelled with the reason when the hub drops it.
type subscriber struct {
	claims identity.Claims
	queue  chan entry
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// start is what a new subscriber needs to catch up: the hub position at the
// moment it subscribed and, when the ring covers since, the ring's messages
// after since. Everything after pos arrives on the subscriber's queue.
type start struct {
	pos      uint64
	fromRing bool
	backlog  []entry
}

var (
	errNotReady     = errors.New("live channel is starting")
	errHubClosed    = errors.New("live channel is shutting down")
	errClientGone   = errors.New("client went away")
	errSlowClient   = &closeError{code: websocket.StatusTryAgainLater, reason: "too slow: fell too far behind, reconnect with since"}
	errShuttingDown = &closeError{code: websocket.StatusGoingAway, reason: "server shutting down"}
	errStreamReset  = &closeError{code: websocket.StatusNormalClosure, reason: "event stream was reset", reload: true}
)

// closeError is why the server ends a connection.
type closeError struct {
	code   websocket.StatusCode
	reason string
	reload bool // tell the client to reload before closing
}

func (e *closeError) Error() string { return e.reason }

// subscribe registers a client that resumes after since (when resume is set)
// or wants live messages only. The snapshot and the registration happen under
// one lock so no message falls between them.
func (h *Hub) subscribe(parent context.Context, c identity.Claims, since uint64, resume bool) (*subscriber, start, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, start{}, errHubClosed
	case !h.ready:
		return nil, start{}, errNotReady
	}
	s := &subscriber{claims: c, queue: make(chan entry, h.queueSize)}
	s.ctx, s.cancel = context.WithCancelCause(parent)
	h.subs[s] = struct{}{}
	st := start{pos: h.last}
	if resume && since >= h.ring.floor {
		st.fromRing = true
		st.backlog = h.ring.after(since)
	}
	return s, st, nil
}

func (h *Hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
	s.cancel(nil)
}

// ring is a fixed-size circular buffer of the newest entries. floor is the
// sequence just before the oldest entry, so the ring holds every message the
// hub saw with floor < seq <= last.
type ring struct {
	buf   []entry
	start int // index of the oldest entry
	n     int
	floor uint64
}

func (r *ring) reset(floor uint64) {
	clear(r.buf)
	r.start, r.n, r.floor = 0, 0, floor
}

func (r *ring) push(e entry) {
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = e
		r.n++
		return
	}
	r.floor = r.buf[r.start].seq
	r.buf[r.start] = e
	r.start = (r.start + 1) % len(r.buf)
}

// after returns a copy of the entries with seq > since, oldest first.
func (r *ring) after(since uint64) []entry {
	var out []entry
	for i := range r.n {
		if e := r.buf[(r.start+i)%len(r.buf)]; e.seq > since {
			out = append(out, e)
		}
	}
	return out
}
