package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	platformv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/platform/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/natsjs"
)

// Generous: these bound waiting for a real NATS, they are not assertions.
const patience = 30 * time.Second

const (
	orgA = "org-a"
	orgB = "org-b"
)

// world is one test's private pair of streams on the real NATS: a meetings
// service stream and a LIVE stream sourcing it, as in production.
type world struct {
	t       *testing.T
	js      jetstream.JetStream
	subject string // service subject prefix, e.g. "t_ab12.ecabinet.meetings.v1."
	live    string // LIVE stream name
}

// newWorld makes the streams on the shared NATS (TEST_NATS_URL, NATS_URL or
// 127.0.0.1:4222); liveMaxMsgs > 0 caps LIVE so old events go away.
func newWorld(t *testing.T, liveMaxMsgs int64) *world {
	t.Helper()
	url := os.Getenv("TEST_NATS_URL")
	if url == "" {
		url = os.Getenv("NATS_URL")
	}
	if url == "" {
		url = "nats://127.0.0.1:4222"
	}
	return newWorldAt(t, url, liveMaxMsgs, jetstream.MemoryStorage)
}

func newWorldAt(t *testing.T, url string, liveMaxMsgs int64, storage jetstream.StorageType) *world {
	t.Helper()
	// Reconnect forever, quickly: one test takes its NATS away on purpose.
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("these tests need NATS with JetStream at %s (set TEST_NATS_URL): %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	w := &world{
		t:       t,
		js:      js,
		subject: "t_" + id + ".ecabinet.meetings.v1.",
		live:    "T_" + strings.ToUpper(id) + "_LIVE",
	}
	svc := "T_" + strings.ToUpper(id) + "_MEETINGS"
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name:     svc,
		Subjects: []string{w.subject + ">"},
		Storage:  storage,
	}); err != nil {
		t.Fatalf("create %s: %v", svc, err)
	}
	liveCfg := jetstream.StreamConfig{
		Name:    w.live,
		Sources: []*jetstream.StreamSource{{Name: svc}},
		Storage: storage,
		MaxMsgs: -1,
	}
	if liveMaxMsgs > 0 {
		liveCfg.MaxMsgs = liveMaxMsgs
	}
	if _, err := js.CreateStream(ctx, liveCfg); err != nil {
		t.Fatalf("create %s: %v", w.live, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = js.DeleteStream(ctx, w.live)
		_ = js.DeleteStream(ctx, svc)
	})
	return w
}

// publish emits a MeetingCreated event as the outbox relay would, and
// returns once LIVE has it, with its LIVE sequence.
func (w *world) publish(org, title string, audience ...string) uint64 {
	w.t.Helper()
	seq, err := w.tryPublish(org, title, audience...)
	if err != nil {
		w.t.Fatal(err)
	}
	return seq
}

// tryPublish is publish for goroutines other than the test's.
func (w *world) tryPublish(org, title string, audience ...string) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	before, err := w.lastSeq(ctx)
	if err != nil {
		return 0, err
	}
	eventID := randomID()
	meetingID := randomID()
	ev := &meetingsv1.MeetingCreated{
		Meta:    &platformv1.EventMeta{EventId: eventID, OrganizationId: org, AggregateId: meetingID, AggregateVersion: 1},
		Meeting: &meetingsv1.Meeting{Id: meetingID, OrganizationId: org, Title: title, Version: 1},
	}
	data, err := proto.Marshal(ev)
	if err != nil {
		return 0, err
	}
	msg := &nats.Msg{Subject: w.subject + meetingID + ".created", Data: data, Header: nats.Header{}}
	msg.Header.Set("Nats-Msg-Id", eventID)
	msg.Header.Set(HeaderType, string(ev.ProtoReflect().Descriptor().FullName()))
	msg.Header.Set(HeaderOrg, org)
	if len(audience) > 0 {
		msg.Header.Set(HeaderAudience, strings.Join(audience, ","))
	}
	if _, err := w.js.PublishMsg(ctx, msg); err != nil {
		return 0, fmt.Errorf("publish %q: %w", title, err)
	}
	// Sourcing into LIVE is asynchronous; callers publish one at a time,
	// so the next LIVE sequence is this event's.
	for {
		last, err := w.lastSeq(ctx)
		if err != nil {
			return 0, fmt.Errorf("event %q never reached %s: %w", title, w.live, err)
		}
		if last > before {
			return last, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (w *world) lastSeq(ctx context.Context) (uint64, error) {
	s, err := w.js.Stream(ctx, w.live)
	if err != nil {
		return 0, fmt.Errorf("stream info %s: %w", w.live, err)
	}
	return s.CachedInfo().State.LastSeq, nil
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// server runs a hub on the world's LIVE stream behind an httptest server.
type server struct {
	t    *testing.T
	hub  *Hub
	url  string // ws:// URL of the live endpoint
	http string
	stop context.CancelFunc
	done chan error
}

// Bearer tokens of the test's callers; the real gateway verifies signed
// identity tokens, the live package only needs the resulting claims.
var callers = map[string]identity.Claims{
	"a":     {Subject: "alice", Orgs: []string{orgA}},
	"b":     {Subject: "bob", Orgs: []string{orgB}},
	"admin": {Subject: "root", Roles: []string{identity.RoleSystemAdmin}},
}

func testAuth(r *http.Request) (identity.Claims, error) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return identity.Claims{}, errors.New("missing bearer token")
	}
	if token == "accounts-down" {
		// What the gateway's authenticator returns when the accounts
		// service does not answer.
		return identity.Claims{}, fmt.Errorf("checking the session: %w", status.Error(codes.Unavailable, "connection refused"))
	}
	c, ok := callers[token]
	if !ok {
		return identity.Claims{}, errors.New("unknown token")
	}
	return c, nil
}

func (w *world) serve(opts ...Option) *server {
	w.t.Helper()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h := NewHub(w.js, w.live, log, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{t: w.t, hub: h, stop: cancel, done: make(chan error, 1)}
	go func() { s.done <- h.Run(ctx) }()
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/live", h.Handler(testAuth))
	ts := httptest.NewServer(mux)
	s.http = ts.URL + "/api/v1/live"
	s.url = "ws" + strings.TrimPrefix(s.http, "http")
	w.t.Cleanup(func() {
		cancel()
		ts.Close()
	})
	deadline := time.Now().Add(patience)
	for !h.isReady() {
		if time.Now().After(deadline) {
			w.t.Fatal("hub never became ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

func (h *Hub) isReady() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ready
}

// waitHub waits until the hub has seen seq, so the test knows which
// catch-up path (ring or JetStream) a reconnect takes.
func (s *server) waitHub(seq uint64) {
	s.t.Helper()
	deadline := time.Now().Add(patience)
	for s.hub.position() < seq {
		if time.Now().After(deadline) {
			s.t.Fatalf("hub stuck at %d, want %d", s.hub.position(), seq)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *server) floor() uint64 {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.hub.ring.floor
}

// frame is any message of the live channel, as a client decodes it.
type frame struct {
	Type      string          `json:"type"`
	Seq       uint64          `json:"seq"`
	Subject   string          `json:"subject"`
	EventType string          `json:"event_type"`
	Data      json.RawMessage `json:"data"`
	Reason    string          `json:"reason"`
}

type liveClient struct {
	t    *testing.T
	conn *websocket.Conn
}

// connect opens the live channel as token, resuming after since when since
// is not "", and returns the client with its hello frame read.
func (s *server) connect(token, since string) (*liveClient, frame) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	u := s.url
	if since != "" {
		u += "?since=" + since
	}
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
	})
	if err != nil {
		s.t.Fatalf("dial %s: %v", u, err)
	}
	s.t.Cleanup(func() { conn.CloseNow() })
	c := &liveClient{t: s.t, conn: conn}
	hello := c.read()
	if hello.Type != "hello" {
		s.t.Fatalf("first frame = %+v, want hello", hello)
	}
	return c, hello
}

func (c *liveClient) read() frame {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	typ, b, err := c.conn.Read(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		c.t.Fatalf("frame type %v, want text", typ)
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		c.t.Fatalf("frame %s: %v", b, err)
	}
	return f
}

// title is the meeting title inside an event frame's protojson data.
func (f frame) title(t *testing.T) string {
	t.Helper()
	var d struct {
		Meeting struct {
			Title string `json:"title"`
		} `json:"meeting"`
	}
	if err := json.Unmarshal(f.Data, &d); err != nil {
		t.Fatalf("event data %s: %v", f.Data, err)
	}
	return d.Meeting.Title
}

// expect reads one event per title and checks titles and LIVE sequences.
func (c *liveClient) expect(want []string, seqs map[string]uint64) uint64 {
	c.t.Helper()
	var last uint64
	for _, title := range want {
		f := c.read()
		if f.Type != "event" {
			c.t.Fatalf("got %+v, want event %q", f, title)
		}
		if got := f.title(c.t); got != title || f.Seq != seqs[title] {
			c.t.Fatalf("got event %q seq %d, want %q seq %d", got, f.Seq, title, seqs[title])
		}
		last = f.Seq
	}
	return last
}

func TestLiveDeliversEventsAsJSON(t *testing.T) {
	w := newWorld(t, 0)
	s := w.serve()
	c, hello := s.connect("admin", "")
	if hello.Seq != 0 {
		t.Fatalf("hello seq on an empty stream = %d, want 0", hello.Seq)
	}

	seq := w.publish(orgA, "Budget 2027")
	f := c.read()
	if f.Type != "event" || f.Seq != seq || f.EventType != "ecabinet.meetings.v1.MeetingCreated" ||
		!strings.HasPrefix(f.Subject, w.subject) || !strings.HasSuffix(f.Subject, ".created") {
		t.Fatalf("event frame = %+v", f)
	}
	var data struct {
		Meta struct {
			OrganizationID string `json:"organizationId"`
		} `json:"meta"`
		Meeting struct {
			Title string `json:"title"`
		} `json:"meeting"`
	}
	if err := json.Unmarshal(f.Data, &data); err != nil {
		t.Fatalf("data %s: %v", f.Data, err)
	}
	if data.Meeting.Title != "Budget 2027" || data.Meta.OrganizationID != orgA {
		t.Fatalf("data = %s", f.Data)
	}

	// A second client joining now is told the current position.
	_, hello2 := s.connect("admin", "")
	if hello2.Seq != seq {
		t.Fatalf("hello seq = %d, want %d", hello2.Seq, seq)
	}

	// Stopping the hub disconnects its clients, telling them it is going away.
	s.stop()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if _, _, err := c.conn.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("after hub stop: read err %v, want close %d", err, websocket.StatusGoingAway)
	}
	if err := <-s.done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestLiveFiltersByOrganisation(t *testing.T) {
	w := newWorld(t, 0)
	// Frequent pings interleave with deliveries, so the race detector
	// sees keep-alives and writes on the same connection.
	s := w.serve(WithPingInterval(time.Millisecond))
	a, _ := s.connect("a", "")
	b, _ := s.connect("b", "")
	admin, _ := s.connect("admin", "")

	seqs := map[string]uint64{}
	for _, ev := range []struct{ org, title string }{
		{orgA, "A1"}, {orgB, "B1"}, {orgA, "A2"}, {orgB, "B2"}, {orgA, "A3"},
	} {
		seqs[ev.title] = w.publish(ev.org, ev.title)
	}
	// Delivery is in order, so A3 right after A2 proves B2 was held back.
	a.expect([]string{"A1", "A2", "A3"}, seqs)
	b.expect([]string{"B1", "B2"}, seqs)
	admin.expect([]string{"A1", "B1", "A2", "B2", "A3"}, seqs)
}

func TestLiveRelaysToTheEventsAudienceOutsideTheOrganisation(t *testing.T) {
	w := newWorld(t, 0)
	s := w.serve()
	a, _ := s.connect("a", "")
	b, _ := s.connect("b", "")

	seqs := map[string]uint64{}
	// An observer from organisation B invited to A's meeting sees its
	// events; A's other events stay within A.
	seqs["A1"] = w.publish(orgA, "A1")
	seqs["invited"] = w.publish(orgA, "invited", "someone", "bob")
	seqs["A2"] = w.publish(orgA, "A2")
	seqs["B1"] = w.publish(orgB, "B1")
	a.expect([]string{"A1", "invited", "A2"}, seqs)
	b.expect([]string{"invited", "B1"}, seqs)
}

// testResume drops a client, publishes while it is away (some for another
// organisation), and checks the reconnect gets exactly the missed events in
// order, then live ones.
func testResume(t *testing.T, s *server, w *world, wantRing bool) {
	seqs := map[string]uint64{}
	c, _ := s.connect("a", "")
	for _, title := range []string{"m1", "m2", "m3"} {
		seqs[title] = w.publish(orgA, title)
	}
	last := c.expect([]string{"m1", "m2", "m3"}, seqs)
	c.conn.Close(websocket.StatusNormalClosure, "network drop")

	for _, ev := range []struct{ org, title string }{
		{orgA, "m4"}, {orgB, "other"}, {orgA, "m5"}, {orgA, "m6"}, {orgB, "other2"}, {orgA, "m7"},
	} {
		seqs[ev.title] = w.publish(ev.org, ev.title)
	}
	s.waitHub(seqs["m7"])
	if fromRing := last >= s.floor(); fromRing != wantRing {
		t.Fatalf("catch-up from ring = %v, want %v (since %d, ring floor %d)", fromRing, wantRing, last, s.floor())
	}

	c2, hello := s.connect("a", strconv.FormatUint(last, 10))
	if hello.Seq != seqs["m7"] {
		t.Fatalf("hello seq = %d, want %d", hello.Seq, seqs["m7"])
	}
	c2.expect([]string{"m4", "m5", "m6", "m7"}, seqs)
	seqs["m8"] = w.publish(orgA, "m8")
	c2.expect([]string{"m8"}, seqs)

	// The catch-up consumer is gone once live delivery took over; only the
	// hub's own consumer remains.
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	ls, err := w.js.Stream(ctx, w.live)
	if err != nil {
		t.Fatal(err)
	}
	if n := ls.CachedInfo().State.Consumers; n != 1 {
		t.Fatalf("%d consumers on %s, want 1 (the hub's)", n, w.live)
	}
}

func TestLiveResumesFromRing(t *testing.T) {
	w := newWorld(t, 0)
	testResume(t, w.serve(), w, true)
}

func TestLiveResumesFromJetStreamBeyondRing(t *testing.T) {
	w := newWorld(t, 0)
	testResume(t, w.serve(WithRingSize(2)), w, false)
}

// While a client catches up from JetStream, new events keep arriving on its
// queue; it must still see every event exactly once, in order.
func TestLiveCatchUpRacesLiveDelivery(t *testing.T) {
	w := newWorld(t, 0)
	s := w.serve(WithRingSize(2))
	var want []uint64
	for i := range 20 {
		want = append(want, w.publish(orgA, fmt.Sprintf("old%d", i)))
	}
	s.waitHub(want[len(want)-1])

	type result struct {
		seqs []uint64
		err  error
	}
	published := make(chan result)
	go func() {
		var r result
		for i := range 30 {
			seq, err := w.tryPublish(orgA, fmt.Sprintf("new%d", i))
			if err != nil {
				r.err = err
				break
			}
			r.seqs = append(r.seqs, seq)
		}
		published <- r
	}()
	c, _ := s.connect("a", "0")
	r := <-published
	if r.err != nil {
		t.Fatal(r.err)
	}
	want = append(want, r.seqs...)
	for _, seq := range want {
		if f := c.read(); f.Type != "event" || f.Seq != seq {
			t.Fatalf("got %s seq %d, want event seq %d", f.Type, f.Seq, seq)
		}
	}
	seq := w.publish(orgA, "last")
	if f := c.read(); f.Seq != seq {
		t.Fatalf("got seq %d, want %d", f.Seq, seq)
	}
}

func TestLiveTellsTooOldClientToReload(t *testing.T) {
	w := newWorld(t, 3) // LIVE keeps only the newest 3 events
	seqs := map[string]uint64{}
	for _, title := range []string{"e1", "e2", "e3", "e4", "e5", "e6"} {
		seqs[title] = w.publish(orgA, title)
	}
	s := w.serve()

	// e2 (after since=e1) is gone: the client must reload.
	c, _ := s.connect("a", strconv.FormatUint(seqs["e1"], 10))
	if f := c.read(); f.Type != "reload" || f.Reason == "" {
		t.Fatalf("got %+v, want reload with a reason", f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if _, _, err := c.conn.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("after reload: %v, want normal closure", err)
	}

	// Having seen e3, the client misses nothing that is gone.
	c2, _ := s.connect("a", strconv.FormatUint(seqs["e3"], 10))
	c2.expect([]string{"e4", "e5", "e6"}, seqs)

	// A position the stream never reached (it was recreated) also reloads.
	c3, _ := s.connect("a", strconv.FormatUint(seqs["e6"]+100, 10))
	if f := c3.read(); f.Type != "reload" {
		t.Fatalf("got %+v, want reload", f)
	}
}

// NATS going away and coming back must not cost a connected client any
// event: the hub resumes after the last sequence it saw.
func TestLiveSurvivesNATSRestart(t *testing.T) {
	dir := t.TempDir()
	srv, err := natsjs.StartEmbedded(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	port := srv.Port()
	t.Cleanup(func() { srv.Shutdown() })
	w := newWorldAt(t, srv.URL(), 0, jetstream.FileStorage)
	s := w.serve()
	c, _ := s.connect("a", "")
	seqs := map[string]uint64{}
	seqs["before"] = w.publish(orgA, "before")
	c.expect([]string{"before"}, seqs)

	srv.Shutdown()
	if srv, err = natsjs.StartEmbedded(dir, port); err != nil {
		t.Fatalf("restart NATS on port %d: %v", port, err)
	}
	// Publish only once the test's own connection is back, so that each
	// event is stored exactly once.
	deadline := time.Now().Add(patience)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := w.lastSeq(ctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("NATS did not come back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, title := range []string{"after1", "after2", "after3"} {
		seqs[title] = w.publish(orgA, title)
	}
	c.expect([]string{"after1", "after2", "after3"}, seqs)
}

func TestLiveRejectsUnauthenticatedBeforeUpgrade(t *testing.T) {
	w := newWorld(t, 0)
	s := w.serve()

	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, s.url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("dial without token: resp %v, err %v; want 401", resp, err)
	}

	// The same as a plain request: a problem document, no upgrade.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.http+"?since=1", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Authorization", "Bearer forged")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var p struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("Content-Type") != "application/problem+json" ||
		json.Unmarshal(body, &p) != nil || p.Status != http.StatusUnauthorized || p.Code != "Unauthenticated" {
		t.Fatalf("got %d %q %s, want 401 problem", res.StatusCode, res.Header.Get("Content-Type"), body)
	}

	// The accounts service being down is an outage (retry), not a sign-out.
	req3, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.http, nil)
	req3.Header.Set("Authorization", "Bearer accounts-down")
	res3, err := http.DefaultClient.Do(req3)
	if err != nil {
		t.Fatal(err)
	}
	res3.Body.Close()
	if res3.StatusCode != http.StatusServiceUnavailable || res3.Header.Get("Retry-After") == "" {
		t.Fatalf("accounts down: %d, want 503 with Retry-After", res3.StatusCode)
	}

	// A malformed since is a bad request, also before any upgrade.
	req2, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.http+"?since=abc", nil)
	req2.Header.Set("Authorization", "Bearer a")
	res2, err := http.DefaultClient.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != http.StatusBadRequest {
		t.Fatalf("since=abc: %d, want 400", res2.StatusCode)
	}
}

// A client whose queue overflows is dropped instead of slowing the hub; no
// NATS needed to see that.
func TestHubDropsSlowSubscriber(t *testing.T) {
	h := NewHub(nil, "LIVE", slog.New(slog.DiscardHandler), WithClientQueue(2))
	h.locate(0)
	sub, _, err := h.subscribe(context.Background(), callers["a"], 0, false)
	if err != nil {
		t.Fatal(err)
	}
	h.publish(entry{seq: 1, org: orgA})
	h.publish(entry{seq: 2, org: orgB}) // not for this client: takes no room
	h.publish(entry{seq: 3, org: orgA})
	if sub.ctx.Err() != nil {
		t.Fatalf("dropped too early: %v", context.Cause(sub.ctx))
	}
	h.publish(entry{seq: 4, org: orgA})
	if cause := context.Cause(sub.ctx); !errors.Is(cause, errSlowClient) {
		t.Fatalf("cause = %v, want slow client", cause)
	}
}

func TestRingKeepsNewest(t *testing.T) {
	r := ring{buf: make([]entry, 3)}
	r.reset(10)
	for seq := uint64(11); seq <= 15; seq++ {
		r.push(entry{seq: seq})
	}
	if r.floor != 12 {
		t.Fatalf("floor = %d, want 12", r.floor)
	}
	var got []uint64
	for _, e := range r.after(13) {
		got = append(got, e.seq)
	}
	if fmt.Sprint(got) != "[14 15]" {
		t.Fatalf("after(13) = %v, want [14 15]", got)
	}
	if n := len(r.after(12)); n != 3 {
		t.Fatalf("after(floor) has %d entries, want 3", n)
	}
}
