package files_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/ecabinet/ecabinet/gateway/files"
	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/documents"
	"github.com/ecabinet/ecabinet/services/platform/blob"
	"github.com/ecabinet/ecabinet/services/platform/grpcserver"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/pg"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

const waitLimit = 30 * time.Second

// stack is the files handler in an httptest server in front of a real
// documents service (its own schema, stream prefix, object prefix and
// spool directory) and a stand-in meetings service.
type stack struct {
	url      string
	signer   *identity.Signer
	pool     *pgxpool.Pool
	blob     *blob.Store // the test's direct view of the objects
	spool    string
	meetings *fakeMeetings
	// docs calls the documents service directly, as the claims in the
	// call's context (identity.NewContext).
	docs documentsv1.DocumentsServiceClient
	// remote counts the unary calls that crossed TCP.
	remote *countingConn
	// meetingsRemote counts the documents service's unary calls to the
	// meetings service that crossed TCP.
	meetingsRemote *countingConn
}

// countingConn is a connection that counts its unary calls by method.
type countingConn struct {
	grpc.ClientConnInterface
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[method]++
	c.mu.Unlock()
	return c.ClientConnInterface.Invoke(ctx, method, args, reply, opts...)
}

func (c *countingConn) count(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[method]
}

type stackOptions struct {
	// store is the service's store (e.g. behind a proxy); inspect reaches
	// the same objects directly.
	store, inspect *blob.Store
	cfg            documents.Config
	// client, if set, wraps the gateway's documents client (to tamper
	// with answers).
	client func(documentsv1.DocumentsServiceClient) documentsv1.DocumentsServiceClient
	// fileCache turns on the gateway's file cache (in a directory of the
	// test's).
	fileCache bool
	// local has the gateway call the service in this process
	// (grpcserver.Local, as -target=all does); the unary calls that
	// nevertheless went over TCP are counted in remoteUnary.
	local bool
	// localMeetings also hosts the stand-in meetings service in the same
	// process, called by the documents service in process (as -target=all
	// does); its calls that crossed TCP are counted in meetingsRemote.
	localMeetings bool
}

func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	if o.store == nil {
		o.store = testenv.Blob(t)
	}
	if o.inspect == nil {
		o.inspect = o.store
	}
	if o.cfg.UploadSpoolDir == "" {
		o.cfg.UploadSpoolDir = t.TempDir()
	}
	log := testenv.Logger(t)
	schema := testenv.Schema(t, documents.Name)
	pool, err := pg.Connect(testenv.DatabaseURL(t), schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	nc, js := testenv.JetStream(t)

	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		t.Fatal(err)
	}
	signer, err := identity.NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	verifier := identity.NewVerifier(signer.PublicKey())
	meetings := startFakeMeetings(t, verifier)
	meetingsConn, err := identity.DialForwarding(meetings.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meetingsConn.Close() })
	meetingsRemote := &countingConn{ClientConnInterface: meetingsConn}

	gs := grpcserver.New(log, verifier, prometheus.NewRegistry())
	var local *grpcserver.Local
	if o.local || o.localMeetings {
		local = grpcserver.NewLocal()
		gs.ServeLocal(local)
	}
	var toMeetings grpc.ClientConnInterface = meetingsRemote
	if o.localMeetings {
		meetingsv1.RegisterMeetingsServiceServer(local, meetings)
		toMeetings = local.Conn(meetingsRemote, identity.ForwardUnaryClientInterceptor())
	}
	svc := documents.New(documents.Deps{Log: log, Pool: pool, Schema: schema, JS: js, NC: nc,
		SubjectPrefix: testenv.Prefix(t), Blob: o.store,
		Meetings: meetingsv1.NewMeetingsServiceClient(toMeetings), Config: o.cfg})
	svc.Register(gs.Server)
	if o.local {
		svc.RegisterOn(local)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone, serveDone := make(chan error, 1), make(chan error, 1)
	go func() { runDone <- svc.Run(ctx) }()
	go func() { serveDone <- gs.Serve(ctx, lis) }()

	// The gateway's connection to the service: it signs the claims the
	// handler puts in the context.
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(identity.UnaryClientInterceptor(signer)),
		grpc.WithChainStreamInterceptor(identity.StreamClientInterceptor(signer)))
	if err != nil {
		t.Fatal(err)
	}
	client := documentsv1.NewDocumentsServiceClient(conn)
	remote := &countingConn{ClientConnInterface: conn}
	if o.local {
		client = documentsv1.NewDocumentsServiceClient(local.Conn(remote, identity.UnaryClientInterceptor(signer)))
	}
	if o.client != nil {
		client = o.client(client)
	}
	var cacheBytes int64
	if o.fileCache {
		cacheBytes = 64 << 20
	}
	h := files.New(files.Deps{
		Log:            log,
		Documents:      client,
		FileCacheDir:   t.TempDir(),
		FileCacheBytes: cacheBytes,
		// The gateway's bearer-token path: a signed identity token.
		Authenticate: func(r *http.Request) (identity.Claims, error) {
			token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				return identity.Claims{}, errors.New("no credentials")
			}
			return verifier.Verify(token)
		},
	})
	mux := http.NewServeMux()
	h.Register(mux, nil)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		if err := h.Close(); err != nil {
			t.Errorf("closing the files handler: %v", err)
		}
		conn.Close()
		cancel()
		if err := <-serveDone; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := <-runDone; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	s := &stack{url: srv.URL, signer: signer, pool: pool, blob: o.inspect, spool: o.cfg.UploadSpoolDir, meetings: meetings, docs: client, remote: remote, meetingsRemote: meetingsRemote}
	// Ready once migrated: until then every RPC answers Unavailable.
	probe := identity.NewContext(context.Background(), identity.Claims{Subject: "probe"})
	testenv.Eventually(t, waitLimit, func() error {
		_, err := client.ListDocuments(probe, &documentsv1.ListDocumentsRequest{MeetingId: uuid.NewString()})
		return err
	})
	return s
}

func (s *stack) token(t *testing.T, c identity.Claims) string {
	t.Helper()
	tok, err := s.signer.Sign(c, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// request sends method url with body as c (nil: anonymous).
func (s *stack) request(t *testing.T, c *identity.Claims, method, path string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if c != nil {
		req.Header.Set("Authorization", "Bearer "+s.token(t, *c))
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return resp, b
}

func uploadPath(meetingID, title, fileName, classification string) string {
	q := url.Values{}
	q.Set("meeting_id", meetingID)
	q.Set("title", title)
	q.Set("kind", "agenda_paper")
	q.Set("classification", classification)
	q.Set("file_name", fileName)
	return "/api/v1/documents:upload?" + q.Encode()
}

// ---- checks ----------------------------------------------------------------

func (s *stack) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// nothingLeft waits until the stack holds wantDocs documents, one object
// per version and no pending upload, unfinished multipart upload or spool
// file.
func (s *stack) nothingLeft(t *testing.T, wantDocs int) {
	t.Helper()
	testenv.Eventually(t, waitLimit, func() error {
		var keys []string
		for o := range s.blob.Client().ListObjects(context.Background(), s.blob.Bucket(), minio.ListObjectsOptions{Prefix: s.blob.Prefix(), Recursive: true}) {
			if o.Err != nil {
				return o.Err
			}
			keys = append(keys, o.Key)
		}
		var incomplete []string
		for u := range s.blob.Client().ListIncompleteUploads(context.Background(), s.blob.Bucket(), s.blob.Prefix(), true) {
			incomplete = append(incomplete, u.Key)
		}
		spooled, err := os.ReadDir(s.spool)
		if err != nil {
			return err
		}
		switch {
		case s.count(t, "documents") != wantDocs:
			return fmt.Errorf("%d documents, want %d", s.count(t, "documents"), wantDocs)
		case len(keys) != s.count(t, "document_versions"):
			return fmt.Errorf("objects %v for %d versions", keys, s.count(t, "document_versions"))
		case len(incomplete) > 0:
			return fmt.Errorf("unfinished multipart uploads %v", incomplete)
		case s.count(t, "pending_uploads") != 0:
			return fmt.Errorf("%d pending uploads", s.count(t, "pending_uploads"))
		case len(spooled) != 0:
			return fmt.Errorf("%d spool files", len(spooled))
		}
		return nil
	})
}

// ---- the stand-in meetings service -------------------------------------------

// fakeMeetings answers GetMeeting by the shared visibility rules, and
// GetMyParticipation as the real service does (the caller's own role;
// NotFound to anyone who does not take part), for the caller whose token
// the documents service forwards.
type fakeMeetings struct {
	meetingsv1.UnimplementedMeetingsServiceServer
	addr     string
	mu       sync.Mutex
	meetings map[string]fakeMeeting
}

type fakeMeeting struct {
	org          string
	participants map[string]meetingsv1.ParticipantRole
}

func startFakeMeetings(t *testing.T, v *identity.Verifier) *fakeMeetings {
	t.Helper()
	f := &fakeMeetings{meetings: map[string]fakeMeeting{}}
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(identity.UnaryServerInterceptor(v)))
	meetingsv1.RegisterMeetingsServiceServer(gs, f)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = lis.Addr().String()
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return f
}

func (f *fakeMeetings) add(org string, participants map[string]meetingsv1.ParticipantRole) string {
	id := uuid.NewString()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.meetings[id] = fakeMeeting{org: org, participants: participants}
	return id
}

// remove takes person off the meeting's participants.
func (f *fakeMeetings) remove(meeting, person string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.meetings[meeting].participants, person)
}

func (f *fakeMeetings) GetMyParticipation(ctx context.Context, req *meetingsv1.GetMyParticipationRequest) (*meetingsv1.GetMyParticipationResponse, error) {
	c, _ := identity.FromContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.meetings[req.GetMeetingId()]
	role, participant := m.participants[c.Subject]
	if !ok || !participant {
		return nil, status.Errorf(codes.NotFound, "meetings: meeting %s not found", req.GetMeetingId())
	}
	return &meetingsv1.GetMyParticipationResponse{Role: role, OrganizationId: m.org}, nil
}

func (f *fakeMeetings) GetMeeting(ctx context.Context, req *meetingsv1.GetMeetingRequest) (*meetingsv1.GetMeetingResponse, error) {
	c, _ := identity.FromContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.meetings[req.GetMeetingId()]
	role, participant := m.participants[c.Subject]
	if !ok || (!participant && !c.InOrg(m.org) && !c.IsOrgAdmin(m.org)) {
		return nil, status.Errorf(codes.NotFound, "meetings: meeting %s not found", req.GetMeetingId())
	}
	out := &meetingsv1.Meeting{Id: req.GetMeetingId(), OrganizationId: m.org}
	for id, r := range m.participants {
		out.Participants = append(out.Participants, &meetingsv1.Participant{PersonId: id, Role: r})
	}
	switch {
	case participant && (role == meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR || role == meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER):
		out.MyRole = role
	case c.IsOrgAdmin(m.org):
		out.MyRole = meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER
	case participant:
		out.MyRole = role
	}
	return &meetingsv1.GetMeetingResponse{Meeting: out}, nil
}

// ---- a TCP proxy object storage can go down behind ----------------------------

type proxy struct {
	addr, target string
	mu           sync.Mutex
	blocked      bool
	conns        map[net.Conn]struct{}
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: lis.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	go func() {
		for {
			in, err := lis.Accept()
			if err != nil {
				return
			}
			go p.serve(in)
		}
	}()
	t.Cleanup(func() {
		lis.Close()
		p.block(true)
	})
	return p
}

func (p *proxy) block(b bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = b
	if b {
		for c := range p.conns {
			c.Close()
		}
	}
}

func (p *proxy) serve(in net.Conn) {
	p.mu.Lock()
	if p.blocked {
		p.mu.Unlock()
		in.Close()
		return
	}
	out, err := net.Dial("tcp", p.target)
	if err != nil {
		p.mu.Unlock()
		in.Close()
		return
	}
	p.conns[in], p.conns[out] = struct{}{}, struct{}{}
	p.mu.Unlock()
	go func() { _, _ = io.Copy(out, in); out.Close() }()
	_, _ = io.Copy(in, out)
	in.Close()
}

func storeBehind(t *testing.T, ref *blob.Store, addr string) *blob.Store {
	t.Helper()
	s, err := blob.Open(blob.Config{Endpoint: addr, AccessKey: os.Getenv("S3_ACCESS_KEY"), SecretKey: os.Getenv("S3_SECRET_KEY"),
		Bucket: ref.Bucket(), Prefix: ref.Prefix()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ---- files -----------------------------------------------------------------------
