package documents

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/blob"
	"github.com/ecabinet/ecabinet/services/platform/health"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/natsjs"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// waitLimit bounds every wait for something asynchronous (the relay, stream
// creation). It is a deadlock guard, not a performance assertion.
const waitLimit = 30 * time.Second

// world is one isolated service instance: its own schema, subjects, stream,
// object prefix and spool directory, served over a loopback gRPC listener
// with real identity tokens, next to a stand-in meetings service that
// checks the tokens the documents service forwards to it.
type world struct {
	svc      *Service
	pool     *pgxpool.Pool
	js       jetstream.JetStream
	prefix   string
	stream   string
	blob     *blob.Store
	spool    string
	meetings *fakeMeetings
	signer   *identity.Signer
	conn     *grpc.ClientConn
	client   documentsv1.DocumentsServiceClient
}

type worldOptions struct {
	store *blob.Store // the service's store; default: testenv.Blob
	// inspect is where the test looks at objects (the same bucket and
	// prefix as store, reached directly when store is behind a proxy).
	inspect *blob.Store
	cfg     Config
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldWith(t, worldOptions{})
}

func newWorldWith(t *testing.T, o worldOptions) *world {
	t.Helper()
	if o.store == nil {
		o.store = testenv.Blob(t)
	}
	if o.inspect == nil {
		o.inspect = o.store
	}
	schema := testenv.Schema(t, Name)
	pool := testenv.Pool(t, schema, migrations)
	nc, js := testenv.JetStream(t)
	prefix := testenv.Prefix(t)
	log := testenv.Logger(t)

	signer := testenv.Signer(t)
	verifier := identity.NewVerifier(signer.PublicKey())
	meetings := startFakeMeetings(t, verifier)
	meetingsConn, err := identity.DialForwarding(meetings.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meetingsConn.Close() })

	if o.cfg.UploadSpoolDir == "" {
		o.cfg.UploadSpoolDir = t.TempDir()
	}
	svc := New(Deps{Log: log, Pool: pool, Schema: schema, JS: js, NC: nc, SubjectPrefix: prefix, Blob: o.store,
		Meetings: meetingsv1.NewMeetingsServiceClient(meetingsConn), Directory: meetingsv1.NewDirectoryServiceClient(meetingsConn), Config: o.cfg})

	testenv.Run(t, svc.Run)
	conn := testenv.Serve(t, signer, svc.Register)

	w := &world{svc: svc, pool: pool, js: js, prefix: prefix, blob: o.inspect, spool: o.cfg.UploadSpoolDir,
		meetings: meetings, signer: signer, conn: conn,
		stream: natsjs.ServiceStream(prefix, Name).Name,
		client: documentsv1.NewDocumentsServiceClient(conn)}
	// Only the schema probe: the MinIO probe would never pass in worlds
	// built on a missing bucket or behind a blocked proxy.
	probes := svc.Probes()
	i := slices.IndexFunc(probes, func(p health.Probe) bool { return p.Name == Name+".schema" })
	if i < 0 {
		t.Fatalf("no %s.schema probe in %v", Name, probes)
	}
	testenv.Ready(t, probes[i])
	testenv.Eventually(t, waitLimit, func() error {
		_, err := js.Stream(context.Background(), w.stream)
		return err
	})
	return w
}

func orgAdmin(org string) identity.Claims {
	return identity.Claims{Subject: "admin-of-" + org, Name: "Quản trị " + org, Orgs: []string{org}, AdminOrgs: []string{org}}
}

func member(org string) identity.Claims {
	return identity.Claims{Subject: "member-of-" + org, Name: "Đảng viên " + org, Orgs: []string{org}}
}

func person(id string, orgs ...string) identity.Claims {
	return identity.Claims{Subject: id, Name: "Đồng chí " + id, Orgs: orgs}
}

func systemAdmin() identity.Claims {
	return identity.Claims{Subject: "root", Name: "Quản trị hệ thống", Roles: []string{identity.RoleSystemAdmin}}
}

// ---- the stand-in meetings service -------------------------------------

// fakeMeetings answers GetMeeting by the shared rules (brief: meeting
// visibility and my_role), and GetMyParticipation as the real service does
// (the caller's own role, NotFound to anyone else), from meetings the test
// sets up, as the caller whose token the documents service forwarded.
type fakeMeetings struct {
	meetingsv1.UnimplementedMeetingsServiceServer
	addr string

	mu       sync.Mutex
	meetings map[string]*fakeMeeting
	down     bool
	// old: GetMyParticipation is Unimplemented, as in a meetings service
	// that predates it.
	old       bool
	calls     map[string]int // by method name
	directory *fakeDirectory
}

// fakeDirectory stands in for the directory: an organisation tree and
// current members, shown to whoever asks (the real one's visibility rules
// are tested in the meetings service and end to end).
type fakeDirectory struct {
	meetingsv1.UnimplementedDirectoryServiceServer
	mu      sync.Mutex
	orgs    map[string]*meetingsv1.Organization
	members map[string][]*meetingsv1.Membership
}

func (f *fakeDirectory) addOrg(id, parent, name string, members ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.orgs[id] = &meetingsv1.Organization{Id: id, ParentId: parent, Name: name}
	for _, p := range members {
		f.members[id] = append(f.members[id], &meetingsv1.Membership{PersonId: p, OrganizationId: id, PersonFullName: fullName(p)})
	}
}

func (f *fakeDirectory) GetOrganization(_ context.Context, req *meetingsv1.GetOrganizationRequest) (*meetingsv1.GetOrganizationResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.orgs[req.GetOrganizationId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "meetings: organisation %s not found", req.GetOrganizationId())
	}
	return &meetingsv1.GetOrganizationResponse{Organization: o}, nil
}

func (f *fakeDirectory) ListOrganizations(_ context.Context, req *meetingsv1.ListOrganizationsRequest) (*meetingsv1.ListOrganizationsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*meetingsv1.Organization
	for _, o := range f.orgs {
		if o.GetParentId() == req.GetParentId() {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b *meetingsv1.Organization) int { return strings.Compare(a.GetName(), b.GetName()) })
	return &meetingsv1.ListOrganizationsResponse{Organizations: out}, nil
}

func (f *fakeDirectory) ListMembers(_ context.Context, req *meetingsv1.ListMembersRequest) (*meetingsv1.ListMembersResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &meetingsv1.ListMembersResponse{Memberships: f.members[req.GetOrganizationId()]}, nil
}

type fakeMeeting struct {
	org          string
	participants map[string]meetingsv1.ParticipantRole
	agenda       []string
	presenters   map[string]string // agenda item -> person
}

func startFakeMeetings(t *testing.T, v *identity.Verifier) *fakeMeetings {
	t.Helper()
	f := &fakeMeetings{meetings: map[string]*fakeMeeting{}, calls: map[string]int{}, directory: &fakeDirectory{orgs: map[string]*meetingsv1.Organization{}, members: map[string][]*meetingsv1.Membership{}}}
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(identity.UnaryServerInterceptor(v)))
	meetingsv1.RegisterMeetingsServiceServer(gs, f)
	meetingsv1.RegisterDirectoryServiceServer(gs, f.directory)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = lis.Addr().String()
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return f
}

// add makes a meeting of org; participants map person ids to roles.
func (f *fakeMeetings) add(org string, participants map[string]meetingsv1.ParticipantRole, agenda ...string) string {
	id := uuid.NewString()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.meetings[id] = &fakeMeeting{org: org, participants: participants, agenda: agenda}
	return id
}

func (f *fakeMeetings) removeParticipant(meetingID, person string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.meetings[meetingID].participants, person)
}

func (f *fakeMeetings) setPresenter(meetingID, item, person string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.meetings[meetingID]
	if m.presenters == nil {
		m.presenters = map[string]string{}
	}
	m.presenters[item] = person
}

func (f *fakeMeetings) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func (f *fakeMeetings) setOld(old bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.old = old
}

// count is how many calls of method (e.g. "GetMyParticipation") the fake
// has answered.
func (f *fakeMeetings) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// GetMyParticipation, like the real one: the caller's own role and the
// meeting's organisation; NotFound, worded as for a missing meeting, to
// anyone who does not take part, whoever else they are.
func (f *fakeMeetings) GetMyParticipation(ctx context.Context, req *meetingsv1.GetMyParticipationRequest) (*meetingsv1.GetMyParticipationResponse, error) {
	c, ok := identity.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Internal, "handler ran without claims")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.old {
		return f.UnimplementedMeetingsServiceServer.GetMyParticipation(ctx, req)
	}
	f.calls["GetMyParticipation"]++
	if f.down {
		return nil, status.Error(codes.Unavailable, "meetings: database unreachable")
	}
	if _, err := uuid.Parse(req.GetMeetingId()); err != nil {
		return nil, status.Error(codes.InvalidArgument, "meetings: meeting_id must be a UUID")
	}
	m, ok := f.meetings[req.GetMeetingId()]
	role, participant := m.participantRole(c.Subject)
	if !ok || !participant {
		return nil, status.Errorf(codes.NotFound, "meetings: meeting %s not found", req.GetMeetingId())
	}
	return &meetingsv1.GetMyParticipationResponse{Role: role, OrganizationId: m.org}, nil
}

func (m *fakeMeeting) participantRole(person string) (meetingsv1.ParticipantRole, bool) {
	if m == nil {
		return 0, false
	}
	r, ok := m.participants[person]
	return r, ok
}

func (f *fakeMeetings) GetMeeting(ctx context.Context, req *meetingsv1.GetMeetingRequest) (*meetingsv1.GetMeetingResponse, error) {
	c, ok := identity.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Internal, "handler ran without claims")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["GetMeeting"]++
	if f.down {
		return nil, status.Error(codes.Unavailable, "meetings: database unreachable")
	}
	m, ok := f.meetings[req.GetMeetingId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "meetings: meeting %s not found", req.GetMeetingId())
	}
	role, participant := m.participants[c.Subject]
	if !participant && !c.InOrg(m.org) && !c.IsOrgAdmin(m.org) {
		return nil, status.Errorf(codes.NotFound, "meetings: meeting %s not found", req.GetMeetingId())
	}
	out := &meetingsv1.Meeting{Id: req.GetMeetingId(), OrganizationId: m.org, Title: "Họp chi bộ"}
	ids := make([]string, 0, len(m.participants))
	for id := range m.participants {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		out.Participants = append(out.Participants, &meetingsv1.Participant{PersonId: id, FullName: fullName(id), Role: m.participants[id]})
	}
	for i, a := range m.agenda {
		out.Agenda = append(out.Agenda, &meetingsv1.AgendaItem{Id: a, Position: int32(i + 1), PresenterId: m.presenters[a]})
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

// ---- uploads ------------------------------------------------------------

// uploadChunk is the size of the chunks tests send (the gateway sends
// larger ones; small ones exercise reassembly).
const uploadChunk = 64 << 10

// sendUpload streams first and then data in chunks, and returns the result.
func (w *world) sendUpload(ctx context.Context, first *documentsv1.UploadDocumentRequest, data []byte) (*documentsv1.Document, error) {
	stream, err := w.client.UploadDocument(ctx)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(first); err != nil {
		_, err = stream.CloseAndRecv()
		return nil, err
	}
	for off := 0; off < len(data); off += uploadChunk {
		chunk := data[off:min(off+uploadChunk, len(data))]
		if err := stream.Send(&documentsv1.UploadDocumentRequest{Part: &documentsv1.UploadDocumentRequest_Chunk{Chunk: chunk}}); err != nil {
			break // the server ended the stream; CloseAndRecv says why
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, err
	}
	return resp.GetDocument(), nil
}

func newDocument(nd *documentsv1.NewDocument) *documentsv1.UploadDocumentRequest {
	return &documentsv1.UploadDocumentRequest{Part: &documentsv1.UploadDocumentRequest_NewDocument{NewDocument: nd}}
}

func newVersion(nv *documentsv1.NewVersion) *documentsv1.UploadDocumentRequest {
	return &documentsv1.UploadDocumentRequest{Part: &documentsv1.UploadDocumentRequest_NewVersion{NewVersion: nv}}
}

// paper is a new internal agenda paper of a meeting.
func paper(meetingID, title, fileName string) *documentsv1.NewDocument {
	return &documentsv1.NewDocument{
		MeetingId:      meetingID,
		Title:          title,
		Kind:           documentsv1.DocumentKind_DOCUMENT_KIND_AGENDA_PAPER,
		Classification: documentsv1.Classification_CLASSIFICATION_INTERNAL,
		FileName:       fileName,
	}
}

// upload stores a document and fails the test if that does not work.
func (w *world) upload(t *testing.T, c identity.Claims, nd *documentsv1.NewDocument, data []byte) *documentsv1.Document {
	t.Helper()
	d, err := w.sendUpload(testenv.As(c), newDocument(nd), data)
	if err != nil {
		t.Fatalf("upload %q: %v", nd.GetFileName(), err)
	}
	return d
}

// ---- checks ---------------------------------------------------------------

// objects lists the keys under the world's prefix, and the unfinished
// multipart uploads there.
func (w *world) objects(t *testing.T) (keys, incomplete []string) {
	t.Helper()
	ctx := context.Background()
	for o := range w.blob.Client().ListObjects(ctx, w.blob.Bucket(), minio.ListObjectsOptions{Prefix: w.blob.Prefix(), Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list objects: %v", o.Err)
		}
		keys = append(keys, o.Key)
	}
	for u := range w.blob.Client().ListIncompleteUploads(ctx, w.blob.Bucket(), w.blob.Prefix(), true) {
		if u.Err != nil {
			t.Fatalf("list incomplete uploads: %v", u.Err)
		}
		incomplete = append(incomplete, u.Key)
	}
	return keys, incomplete
}

func (w *world) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := w.pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// nothingLeft fails unless the world holds exactly wantDocs documents and
// as many objects as versions, with no pending upload, no unfinished
// multipart upload, no spool file and no event beyond wantEvents.
func (w *world) nothingLeft(t *testing.T, wantDocs int) {
	t.Helper()
	testenv.Eventually(t, waitLimit, func() error {
		keys, incomplete := w.objects(t)
		versions := w.count(t, "document_versions")
		spooled, err := os.ReadDir(w.spool)
		if err != nil {
			return err
		}
		switch {
		case w.count(t, "documents") != wantDocs:
			return fmt.Errorf("%d documents, want %d", w.count(t, "documents"), wantDocs)
		case len(keys) != versions:
			return fmt.Errorf("%d objects %v for %d versions", len(keys), keys, versions)
		case len(incomplete) != 0:
			return fmt.Errorf("unfinished multipart uploads: %v", incomplete)
		case w.count(t, "pending_uploads") != 0:
			return fmt.Errorf("%d pending uploads", w.count(t, "pending_uploads"))
		case len(spooled) != 0:
			return fmt.Errorf("%d spool files left in %s", len(spooled), w.spool)
		}
		return nil
	})
}

// objectBytes reads a whole object.
func (w *world) objectBytes(t *testing.T, key string) []byte {
	t.Helper()
	o, err := w.blob.Client().GetObject(context.Background(), w.blob.Bucket(), key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("read object %s: %v", key, err)
	}
	return b
}

// ---- a TCP proxy that object storage can fail behind ----------------------

// faultProxy forwards to a real server until told to fail: Block refuses
// and cuts connections; CutAfter lets n more bytes through towards the
// server, then blocks (object storage dying in the middle of a write).
type faultProxy struct {
	addr   string
	target string

	mu      sync.Mutex
	blocked bool
	budget  int64 // bytes still allowed towards the server; <0: unlimited
	conns   map[net.Conn]struct{}
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{addr: lis.Addr().String(), target: target, budget: -1, conns: map[net.Conn]struct{}{}}
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
		_ = lis.Close()
		p.Block()
	})
	return p
}

func (p *faultProxy) Block() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = true
	for c := range p.conns {
		_ = c.Close()
	}
}

func (p *faultProxy) Unblock() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked, p.budget = false, -1
}

func (p *faultProxy) CutAfter(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.budget = n
}

func (p *faultProxy) serve(in net.Conn) {
	p.mu.Lock()
	if p.blocked {
		p.mu.Unlock()
		_ = in.Close()
		return
	}
	p.mu.Unlock()
	out, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = in.Close()
		return
	}
	p.mu.Lock()
	p.conns[in], p.conns[out] = struct{}{}, struct{}{}
	p.mu.Unlock()
	go func() {
		_, _ = io.Copy(in, out)
		_ = in.Close()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			allowed := p.take(int64(n))
			if allowed > 0 {
				if _, werr := out.Write(buf[:allowed]); werr != nil {
					break
				}
			}
			if allowed < int64(n) {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = out.Close()
	_ = in.Close()
}

// take returns how many of n bytes may pass, blocking everything once the
// budget is spent.
func (p *faultProxy) take(n int64) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.blocked {
		return 0
	}
	if p.budget < 0 {
		return n
	}
	allowed := min(n, p.budget)
	p.budget -= allowed
	if p.budget == 0 {
		p.blocked = true
		for c := range p.conns {
			_ = c.Close()
		}
	}
	return allowed
}

// storeBehind opens a store like ref (same bucket and prefix) through addr.
func storeBehind(t *testing.T, ref *blob.Store, addr string) *blob.Store {
	t.Helper()
	s, err := blob.Open(blob.Config{Endpoint: addr, AccessKey: os.Getenv("S3_ACCESS_KEY"), SecretKey: os.Getenv("S3_SECRET_KEY"),
		Bucket: ref.Bucket(), Prefix: ref.Prefix()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ---- files ----------------------------------------------------------------

// fullName is the name the fake gives a person: their id in Vietnamese
// dress, so reports show something to sort by.
func fullName(id string) string { return "Đồng chí " + id }
