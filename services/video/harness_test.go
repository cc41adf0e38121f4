package video

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/natsjs"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/ecabinet/ecabinet/services/video/videotest"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
)

// waitLimit bounds the wait for the service to create its stream (testenv
// bounds the others). It is a deadlock guard, not a performance assertion.
const waitLimit = 30 * time.Second

// world is one isolated service instance: its own schema, subjects and
// stream, served over a loopback gRPC listener with real identity tokens.
type world struct {
	svc      *Service
	pool     *pgxpool.Pool
	js       jetstream.JetStream
	prefix   string
	stream   string
	client   videov1.VideoServiceClient
	meetings *fakeMeetings
	rtc      *webrtc.API // loopback-only clients
	signer   *identity.Signer
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldWith(t, Config{})
}

// newWorldWith runs the service with cfg; ICE stays on loopback whatever
// cfg says about networks.
func newWorldWith(t *testing.T, cfg Config) *world {
	t.Helper()
	cfg.UDPAddr = "127.0.0.1:0"
	cfg.ICENetworks = []string{"127.0.0.0/8"}
	return startWorld(t, cfg, nil, videotest.API(t))
}

// newWorldOnVNet runs the service with its media on a host of v; the
// clients w.join makes share another host of v.
func newWorldOnVNet(t *testing.T, v *videotest.VNet) *world {
	t.Helper()
	n, ip := v.Host()
	clients, _ := v.Host()
	cfg := Config{UDPAddr: net.JoinHostPort(ip.String(), "0"), ICENetworks: []string{videotest.VNetCIDR}}
	return startWorld(t, cfg, n, v.API(clients))
}

// startWorld runs the service with cfg, its media on network n (nil: the
// operating system's); clients join through rtc.
func startWorld(t *testing.T, cfg Config, n transport.Net, rtc *webrtc.API) *world {
	t.Helper()
	schema := testenv.Schema(t, Name)
	pool := testenv.Pool(t, schema, migrations)
	nc, js := testenv.JetStream(t)
	prefix := testenv.Prefix(t)
	signer := testenv.Signer(t)
	meetings := startFakeMeetings(t, identity.NewVerifier(signer.PublicKey()))
	meetingsConn, err := identity.DialForwarding(meetings.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meetingsConn.Close() })

	svc := New(Deps{Log: testenv.Logger(t), Pool: pool, Schema: schema, JS: js, NC: nc,
		SubjectPrefix: prefix, Meetings: meetingsv1.NewMeetingsServiceClient(meetingsConn), Config: cfg, Net: n})
	testenv.Run(t, svc.Run)
	conn := testenv.Serve(t, signer, svc.Register)

	w := &world{svc: svc, pool: pool, js: js, prefix: prefix,
		stream:   natsjs.ServiceStream(prefix, Name).Name,
		client:   videov1.NewVideoServiceClient(conn),
		meetings: meetings,
		rtc:      rtc,
		signer:   signer}
	testenv.Ready(t, svc.Probes()...)
	// The service makes its stream after migrating.
	testenv.Eventually(t, waitLimit, func() error {
		_, err := js.Stream(context.Background(), w.stream)
		return err
	})
	testenv.Eventually(t, waitLimit, func() error {
		if svc.engine.Load() == nil {
			return errors.New("media engine not started")
		}
		return nil
	})
	return w
}

func orgAdmin(org string) identity.Claims {
	return identity.Claims{Subject: "admin-of-" + org, Name: "Quản trị " + org, Orgs: []string{org}, AdminOrgs: []string{org}}
}

func member(org string) identity.Claims {
	return identity.Claims{Subject: "member-of-" + org, Name: "Đảng viên " + org, Orgs: []string{org}}
}

func systemAdmin() identity.Claims {
	return identity.Claims{Subject: "root", Name: "Quản trị hệ thống", Roles: []string{identity.RoleSystemAdmin}}
}

func person(id string, orgs ...string) identity.Claims {
	return identity.Claims{Subject: id, Name: "Đồng chí " + id[:8], Orgs: orgs}
}

// meeting sets up a meeting of org-a with people in the given roles (new
// person ids, returned in the same order) and opens its room in mode.
func (w *world) meeting(t *testing.T, mode videov1.RoomMode, roles ...meetingsv1.ParticipantRole) (string, []identity.Claims) {
	t.Helper()
	participants := map[string]meetingsv1.ParticipantRole{}
	people := make([]identity.Claims, len(roles))
	for i, r := range roles {
		people[i] = person(uuid.NewString(), "org-a")
		participants[people[i].Subject] = r
	}
	id := w.meetings.add("org-a", participants)
	req := openReq(id, "org-a")
	req.Mode = mode
	if _, err := w.client.OpenRoom(testenv.As(orgAdmin("org-a")), req); err != nil {
		t.Fatalf("OpenRoom: %v", err)
	}
	return id, people
}

func (w *world) token(t *testing.T, c identity.Claims, meetingID string) string {
	t.Helper()
	resp, err := w.client.IssueJoinToken(testenv.As(c), &videov1.IssueJoinTokenRequest{MeetingId: meetingID})
	if err != nil {
		t.Fatalf("IssueJoinToken for %s: %v", c.Subject, err)
	}
	return resp.GetToken()
}

// signal opens a Signal session as c; it ends with the test.
func (w *world) signal(t *testing.T, c identity.Claims) videov1.VideoService_SignalClient {
	t.Helper()
	ctx, cancel := context.WithCancel(testenv.As(c))
	t.Cleanup(cancel)
	s, err := w.client.Signal(ctx)
	if err != nil {
		t.Fatalf("Signal: %v", err)
	}
	return s
}

// join makes a client for c and joins the meeting's room with a new token.
func (w *world) join(t *testing.T, c identity.Claims, meetingID string) *videotest.Client {
	t.Helper()
	return w.joinWith(t, w.rtc, c, meetingID)
}

// joinWith is join with a client on api (a lossy network, a cable).
func (w *world) joinWith(t *testing.T, api *webrtc.API, c identity.Claims, meetingID string) *videotest.Client {
	t.Helper()
	cl := videotest.New(t, api, w.signal(t, c))
	if err := cl.Join(meetingID, w.token(t, c, meetingID)); err != nil {
		t.Fatalf("join as %s: %v", c.Subject, err)
	}
	return cl
}

// reason is the ErrorInfo reason of a refusal.
func reason(t *testing.T, err error, code codes.Code) string {
	t.Helper()
	st := testenv.Code(t, err, code)
	for _, d := range st.Details() {
		if r, ok := reasonOf(d); ok {
			return r
		}
	}
	t.Fatalf("status %v carries no reason", st)
	return ""
}

// ---- the stand-in meetings service -------------------------------------

// fakeMeetings answers GetMeeting from meetings the test sets up, as the
// caller whose token the video service forwarded: participants and members
// of the organisation see a meeting, others get NotFound.
type fakeMeetings struct {
	meetingsv1.UnimplementedMeetingsServiceServer
	addr string

	mu       sync.Mutex
	meetings map[string]*fakeMeeting
	down     bool
}

type fakeMeeting struct {
	org          string
	participants map[string]meetingsv1.ParticipantRole
}

func startFakeMeetings(t *testing.T, v *identity.Verifier) *fakeMeetings {
	t.Helper()
	f := &fakeMeetings{meetings: map[string]*fakeMeeting{}}
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
	f.meetings[id] = &fakeMeeting{org: org, participants: participants}
	return id
}

func (f *fakeMeetings) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func (f *fakeMeetings) GetMeeting(ctx context.Context, req *meetingsv1.GetMeetingRequest) (*meetingsv1.GetMeetingResponse, error) {
	c, ok := identity.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Internal, "handler ran without claims")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
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
		out.Participants = append(out.Participants, &meetingsv1.Participant{PersonId: id, Role: m.participants[id]})
	}
	// As the meetings service: an organisation admin runs the meeting as
	// a minute-taker would.
	switch {
	case participant:
		out.MyRole = role
	case c.IsOrgAdmin(m.org):
		out.MyRole = meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER
	}
	return &meetingsv1.GetMeetingResponse{Meeting: out}, nil
}
