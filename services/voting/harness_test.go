package voting

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/meetings"
	"github.com/ecabinet/ecabinet/services/platform/grpcserver"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/natsjs"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/ecabinet/ecabinet/services/platform/unaccent"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// waitLimit bounds every wait for something asynchronous (the relay, the
// deadline loop, the meetings service's consumer). It is a deadlock guard,
// not a performance assertion.
const waitLimit = 30 * time.Second

// world is one isolated voting service next to a real meetings service
// (its own schemas, one subject prefix, so the meetings service consumes
// the voting service's PollPublished), both verifying real identity
// tokens; the voting service reaches the meetings service with the
// caller's token forwarded, as in production.
type world struct {
	svc      *Service
	pool     *pgxpool.Pool
	schema   string
	mpool    *pgxpool.Pool
	js       jetstream.JetStream
	prefix   string
	stream   string
	client   votingv1.VotingServiceClient
	meetings meetingsv1.MeetingsServiceClient
	minutes  meetingsv1.MinutesServiceClient
	clock    *clock
}

// clock is the service's clock; tests move it forward to reach deadlines.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

func newWorld(t *testing.T) *world {
	t.Helper()
	nc, js := testenv.JetStream(t)
	prefix := testenv.Prefix(t)
	signer := testenv.Signer(t)
	log := testenv.Logger(t)

	// The meetings service, served on its own loopback listener so the
	// voting service can dial it by address.
	mschema := testenv.Schema(t, meetings.Name)
	mpool := testenv.Pool(t, mschema, nil)
	msvc := meetings.New(meetings.Deps{Log: log, Pool: mpool, Schema: mschema, JS: js, NC: nc, SubjectPrefix: prefix})
	testenv.Run(t, msvc.Run)
	gs := grpcserver.New(log, identity.NewVerifier(signer.PublicKey()), nil)
	msvc.Register(gs.Server)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Run(t, func(ctx context.Context) error { return gs.Serve(ctx, lis) })
	mconn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(identity.UnaryClientInterceptor(signer)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mconn.Close() })
	forwarding, err := identity.DialForwarding(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { forwarding.Close() })

	schema := testenv.Schema(t, Name)
	pool := testenv.Pool(t, schema, migrations)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	clk := &clock{}
	svc := New(Deps{Log: log, Pool: pool, Schema: schema, JS: js, NC: nc, SubjectPrefix: prefix,
		Meetings: meetingsv1.NewMeetingsServiceClient(forwarding), Directory: meetingsv1.NewDirectoryServiceClient(forwarding),
		BallotKey: key, Now: clk.Now, DeadlineInterval: 20 * time.Millisecond, ProgressInterval: 20 * time.Millisecond})
	testenv.Run(t, svc.Run)
	conn := testenv.Serve(t, signer, svc.Register)

	w := &world{svc: svc, pool: pool, schema: schema, mpool: mpool, js: js, prefix: prefix,
		stream: natsjs.ServiceStream(prefix, Name).Name,
		client: votingv1.NewVotingServiceClient(conn), meetings: meetingsv1.NewMeetingsServiceClient(mconn),
		minutes: meetingsv1.NewMinutesServiceClient(mconn), clock: clk}
	testenv.Ready(t, append(svc.Probes(), msvc.Probes()...)...)
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

// ---- the directory and a meeting, in the real meetings service ----------

func (w *world) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := w.mpool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// cell is a party cell with a meeting in progress: a chair, a
// minute-taker, official members, a probationary member, one excused from
// party activities, and a guest; nobody checked in yet.
type cell struct {
	w                                   *world
	org, other                          string
	chair, taker, probationary, excused string
	guest, outsider                     string
	members                             []string // official members besides chair and taker
	names                               map[string]string
	orgs                                map[string][]string
	meeting                             *meetingsv1.Meeting
	item                                string // the first agenda item
	admin                               identity.Claims
}

const (
	allMembers = meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS
	official   = meetingsv1.Standing_STANDING_OFFICIAL
	probation  = meetingsv1.Standing_STANDING_PROBATIONARY
)

// newCell makes a cell with n plain official members and its meeting,
// started.
func (w *world) newCell(t *testing.T, n int) *cell {
	t.Helper()
	c := &cell{w: w, names: map[string]string{}, orgs: map[string][]string{}}
	parent := uuid.NewString()
	c.org, c.other = uuid.NewString(), uuid.NewString()
	w.exec(t, `INSERT INTO organizations (id, parent_id, name, kind, quorum_numerator, quorum_denominator) VALUES ($1, NULL, $2, $3, 2, 3)`,
		parent, "Đảng bộ Khối", meetingsv1.OrganizationKind_ORGANIZATION_KIND_BLOC_COMMITTEE.String())
	for _, o := range []string{c.org, c.other} {
		w.exec(t, `INSERT INTO organizations (id, parent_id, name, kind, quorum_numerator, quorum_denominator) VALUES ($1, $2, $3, $4, 2, 3)`,
			o, parent, "Chi bộ "+o[:8], meetingsv1.OrganizationKind_ORGANIZATION_KIND_CELL.String())
	}
	add := func(name, org string, standing meetingsv1.Standing, excused bool) string {
		id := uuid.NewString()
		w.exec(t, `INSERT INTO people (id, full_name, name_folded) VALUES ($1, $2, $3)`, id, name, unaccent.Fold(name))
		if org != "" {
			w.exec(t, `INSERT INTO memberships (id, person_id, organization_id, body, role, standing, excused)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, uuid.NewString(), id, org, allMembers.String(),
				meetingsv1.PartyRole_PARTY_ROLE_MEMBER.String(), standing.String(), excused)
			c.orgs[id] = []string{org}
		}
		c.names[id] = name
		return id
	}
	c.chair = add("Nguyễn Văn An", c.org, official, false)
	c.taker = add("Trần Thị Bình", c.org, official, false)
	for i := range n {
		c.members = append(c.members, add(fmt.Sprintf("Đảng viên %02d", i+1), c.org, official, false))
	}
	c.probationary = add("Vũ Thị Giang", c.org, probation, false)
	c.excused = add("Đặng Văn Hùng", c.org, official, true)
	c.outsider = add("Đỗ Văn Minh", c.other, official, false)
	c.guest = add("Ngô Thị Nga", "", official, false)
	c.admin = identity.Claims{Subject: "admin-" + uuid.NewString(), Name: "Quản trị", Orgs: []string{c.org}, AdminOrgs: []string{c.org}}

	ctx := testenv.As(c.admin)
	s := time.Now().Add(time.Hour).Truncate(time.Minute)
	resp, err := w.meetings.CreateMeeting(ctx, &meetingsv1.CreateMeetingRequest{OrganizationId: c.org,
		Title: "Sinh hoạt chi bộ thường kỳ", Kind: meetingsv1.MeetingKind_MEETING_KIND_CELL_REGULAR,
		Place: "Phòng họp", StartsAt: timestamppb.New(s), EndsAt: timestamppb.New(s.Add(2 * time.Hour))})
	if err != nil {
		t.Fatalf("CreateMeeting: %v", err)
	}
	id := resp.GetMeeting().GetId()
	if _, err := w.meetings.AddParticipants(ctx, &meetingsv1.AddParticipantsRequest{MeetingId: id, FromBody: true,
		Participants: []*meetingsv1.ParticipantInput{
			{PersonId: c.chair, Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR},
			{PersonId: c.taker, Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER},
			{PersonId: c.guest, Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_GUEST},
		}}); err != nil {
		t.Fatalf("AddParticipants: %v", err)
	}
	if _, err := w.meetings.AddAgendaItem(ctx, &meetingsv1.AddAgendaItemRequest{MeetingId: id, Title: "Thông qua nghị quyết", DurationMinutes: 30}); err != nil {
		t.Fatalf("AddAgendaItem: %v", err)
	}
	if _, err := w.meetings.ScheduleMeeting(ctx, &meetingsv1.ScheduleMeetingRequest{MeetingId: id}); err != nil {
		t.Fatalf("ScheduleMeeting: %v", err)
	}
	started, err := w.meetings.StartMeeting(ctx, &meetingsv1.StartMeetingRequest{MeetingId: id})
	if err != nil {
		t.Fatalf("StartMeeting: %v", err)
	}
	c.meeting = started.GetMeeting()
	c.item = c.meeting.GetAgenda()[0].GetId()
	return c
}

// as is a person's identity as login would issue it.
func (c *cell) as(person string) context.Context {
	return testenv.As(identity.Claims{Subject: person, Name: c.names[person], Orgs: c.orgs[person]})
}

// mark sets people's attendance (the minute-taker's MarkAttendance).
func (c *cell) mark(t *testing.T, a meetingsv1.Attendance, people ...string) {
	t.Helper()
	for _, p := range people {
		req := &meetingsv1.MarkAttendanceRequest{MeetingId: c.meeting.GetId(), PersonId: p, Attendance: a}
		if a == meetingsv1.Attendance_ATTENDANCE_ABSENT_EXCUSED {
			req.AbsenceReason = "Đi công tác"
		}
		if _, err := c.w.meetings.MarkAttendance(c.as(c.taker), req); err != nil {
			t.Fatalf("MarkAttendance %s %v: %v", p, a, err)
		}
	}
}

func (c *cell) checkIn(t *testing.T, people ...string) {
	t.Helper()
	c.mark(t, meetingsv1.Attendance_ATTENDANCE_PRESENT, people...)
}

// everyone is the chair, the minute-taker and the plain members.
func (c *cell) everyone() []string {
	return append([]string{c.chair, c.taker}, c.members...)
}

// ---- polls ----------------------------------------------------------------

func (c *cell) motion(secret bool) *votingv1.CreatePollRequest {
	return &votingv1.CreatePollRequest{MeetingId: c.meeting.GetId(), AgendaItemId: c.item,
		Title: "Thông qua Nghị quyết chuyên đề", Kind: votingv1.PollKind_POLL_KIND_MOTION, Secret: proto.Bool(secret)}
}

func (c *cell) create(t *testing.T, req *votingv1.CreatePollRequest) *votingv1.Poll {
	t.Helper()
	resp, err := c.w.client.CreatePoll(c.as(c.chair), req)
	if err != nil {
		t.Fatalf("CreatePoll: %v", err)
	}
	return resp.GetPoll()
}

func (c *cell) open(t *testing.T, req *votingv1.CreatePollRequest) *votingv1.Poll {
	t.Helper()
	p := c.create(t, req)
	resp, err := c.w.client.OpenPoll(c.as(c.chair), &votingv1.OpenPollRequest{PollId: p.GetId()})
	if err != nil {
		t.Fatalf("OpenPoll: %v", err)
	}
	return resp.GetPoll()
}

func key() string { return uuid.NewString() }

// vote casts a ballot and returns the receipt.
func (c *cell) vote(t *testing.T, pollID, person string, choices ...string) string {
	t.Helper()
	resp, err := c.w.client.CastBallot(c.as(person), &votingv1.CastBallotRequest{PollId: pollID, ChoiceIds: choices, IdempotencyKey: key()})
	if err != nil {
		t.Fatalf("CastBallot by %s: %v", c.names[person], err)
	}
	return resp.GetReceipt()
}

func (c *cell) closePoll(t *testing.T, pollID string) *votingv1.ClosePollResponse {
	t.Helper()
	resp, err := c.w.client.ClosePoll(c.as(c.chair), &votingv1.ClosePollRequest{PollId: pollID})
	if err != nil {
		t.Fatalf("ClosePoll: %v", err)
	}
	return resp
}

func (c *cell) publish(t *testing.T, pollID string) *votingv1.PublishPollResponse {
	t.Helper()
	resp, err := c.w.client.PublishPoll(c.as(c.chair), &votingv1.PublishPollRequest{PollId: pollID})
	if err != nil {
		t.Fatalf("PublishPoll: %v", err)
	}
	return resp
}

func (w *world) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := w.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}
