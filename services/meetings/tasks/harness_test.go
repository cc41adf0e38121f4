package tasks_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings/tasks"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// migrations holds only this package's migration: the tests must pass
// without the other parts' tables, which the SQL must not touch.
func migrations(t *testing.T) fstest.MapFS {
	t.Helper()
	const name = "00006_tasks.sql"
	b, err := os.ReadFile("../migrations/" + name)
	if err != nil {
		t.Fatalf("read migration: %v", err)
	}
	return fstest.MapFS{name: {Data: b}}
}

// clock is a settable clock, so "today" and "overdue" are deterministic.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// meetingsFake and directoryFake stand in for the meeting and directory
// parts of the service, which the lead wires in; PostgreSQL is real.
type meetingsFake struct {
	mu sync.Mutex
	m  map[string]*meetingsv1.Meeting
}

func (f *meetingsFake) Meeting(_ context.Context, id string) (*meetingsv1.Meeting, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.m[id]
	if !ok {
		return nil, tasks.ErrNotFound
	}
	return proto.Clone(m).(*meetingsv1.Meeting), nil
}

func (f *meetingsFake) put(m *meetingsv1.Meeting) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[m.GetId()] = m
}

type directoryFake struct {
	mu     sync.Mutex
	people map[string]string
	orgs   map[string]*meetingsv1.Organization
}

func (f *directoryFake) Person(_ context.Context, id, _ string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.people[id]
	if !ok {
		return "", tasks.ErrNotFound
	}
	return n, nil
}

func (f *directoryFake) Organization(_ context.Context, id string) (*meetingsv1.Organization, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.orgs[id]
	if !ok {
		return nil, tasks.ErrNotFound
	}
	return o, nil
}

func (f *directoryFake) putOrg(o *meetingsv1.Organization) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.orgs[o.GetId()] = o
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// world is one isolated tasks service on its own schema, served over
// loopback gRPC with real identity tokens, with an organisation tree, one
// meeting in progress and people in every role.
type world struct {
	pool     *pgxpool.Pool
	deps     tasks.Deps
	clock    *clock
	meetings *meetingsFake
	dir      *directoryFake
	client   meetingsv1.TasksServiceClient

	bloc, cell, other string // bloc committee, a cell below it, an unrelated org
	meeting           *meetingsv1.Meeting
	item1, item2      string

	// People, as claims.
	chair, minuteTaker, member, observer, orgMember, admin, assignee, cellMember, outsider, root identity.Claims
}

// start is 10:00 on 10 June 2026 in Hanoi.
var start = time.Date(2026, 6, 10, 10, 0, 0, 0, tasks.Vietnam)

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldWith(t, nil)
}

// newWorldWith is newWorld with edit applied to the service's Deps.
func newWorldWith(t *testing.T, edit func(*tasks.Deps)) *world {
	t.Helper()
	schema := testenv.Schema(t, "meetings")
	pool := testenv.Pool(t, schema, migrations(t))
	log := testenv.Logger(t)

	w := &world{pool: pool, clock: &clock{now: start},
		bloc: newID(), cell: newID(), other: newID(), item1: newID(), item2: newID()}
	person := func(name string, orgs []string, adminOrgs ...string) identity.Claims {
		return identity.Claims{Subject: newID(), Name: name, Orgs: orgs, AdminOrgs: adminOrgs}
	}
	w.chair = person("Nguyễn Văn Chủ Trì", []string{w.bloc})
	w.minuteTaker = person("Trần Thị Thư Ký", []string{w.bloc})
	w.member = person("Lê Văn Đảng Viên", []string{w.bloc})
	w.observer = person("Phạm Quan Sát", []string{w.other})
	w.orgMember = person("Hoàng Thị Không Mời", []string{w.bloc})
	w.admin = person("Quản Trị Khối", nil, w.bloc, w.cell)
	w.assignee = person("Đỗ Văn Thực Hiện", []string{w.cell})
	w.cellMember = person("Vũ Thị Chi Bộ", []string{w.cell})
	w.outsider = person("Người Ngoài", []string{w.other})
	w.root = identity.Claims{Subject: newID(), Name: "Quản trị hệ thống", Roles: []string{identity.RoleSystemAdmin}}

	w.meeting = &meetingsv1.Meeting{
		Id: newID(), OrganizationId: w.bloc, Title: "Họp Ban Thường vụ",
		State: meetingsv1.MeetingState_MEETING_STATE_IN_PROGRESS,
		Agenda: []*meetingsv1.AgendaItem{
			{Id: w.item1, Position: 1, Title: "Công tác xây dựng Đảng"},
			{Id: w.item2, Position: 2, Title: "Chuyển đổi số"},
		},
		Participants: []*meetingsv1.Participant{
			{PersonId: w.chair.Subject, Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR},
			{PersonId: w.minuteTaker.Subject, Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER},
			{PersonId: w.member.Subject, Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MEMBER},
			{PersonId: w.observer.Subject, Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_OBSERVER},
		},
	}
	w.meetings = &meetingsFake{m: map[string]*meetingsv1.Meeting{w.meeting.GetId(): w.meeting}}
	dir := &directoryFake{
		people: map[string]string{},
		orgs: map[string]*meetingsv1.Organization{
			w.bloc:  {Id: w.bloc, Name: "Đảng bộ Khối"},
			w.cell:  {Id: w.cell, ParentId: w.bloc, Name: "Chi bộ VNPT Văn Yên"},
			w.other: {Id: w.other, Name: "Đảng bộ khác"},
		},
	}
	for _, c := range []identity.Claims{w.chair, w.minuteTaker, w.member, w.observer, w.orgMember, w.admin, w.assignee, w.cellMember, w.outsider} {
		dir.people[c.Subject] = c.Name
	}

	w.dir = dir
	w.deps = tasks.Deps{Log: log, Pool: pool, Meetings: w.meetings, Directory: dir, Now: w.clock.Now}
	if edit != nil {
		edit(&w.deps)
	}
	svc := tasks.New(w.deps)

	w.client = meetingsv1.NewTasksServiceClient(testenv.Serve(t, testenv.Signer(t), svc.Register))
	return w
}

// day returns the Vietnamese date n days after the start.
func day(n int) string { return tasks.Today(start.AddDate(0, 0, n)) }

// createReq is a valid request for a task of the world's meeting assigned
// to the assignee, due in two days.
func (w *world) createReq() *meetingsv1.CreateTaskRequest {
	return &meetingsv1.CreateTaskRequest{
		MeetingId: w.meeting.GetId(), AgendaItemId: w.item1,
		Title:            "Hoàn thiện đề án chuyển đổi số",
		Description:      "Trình Ban Thường vụ trước phiên họp tháng sau.",
		AssigneePersonId: w.assignee.Subject, Deadline: day(2),
	}
}

func (w *world) create(t *testing.T, by identity.Claims, req *meetingsv1.CreateTaskRequest) *meetingsv1.Task {
	t.Helper()
	resp, err := w.client.CreateTask(testenv.As(by), req)
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	return resp.GetTask()
}

func (w *world) update(t *testing.T, by identity.Claims, req *meetingsv1.UpdateTaskRequest) *meetingsv1.Task {
	t.Helper()
	resp, err := w.client.UpdateTask(testenv.As(by), req)
	if err != nil {
		t.Fatalf("UpdateTask %v: %v", req, err)
	}
	return resp.GetTask()
}

// wantCode fails unless err has code.
func wantCode(t *testing.T, what string, err error, code codes.Code) *status.Status {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code {
		t.Fatalf("%s: %v, want %v", what, err, code)
	}
	return st
}

// wantViolations fails unless err is InvalidArgument naming exactly the
// fields with the reasons in want ("field/REASON").
func wantViolations(t *testing.T, what string, err error, want ...string) {
	t.Helper()
	st := wantCode(t, what, err, codes.InvalidArgument)
	var got []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				got = append(got, fv.GetField()+"/"+fv.GetReason())
			}
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%s: violations %v, want %v (message %q)", what, got, want, st.Message())
	}
}

// event is one outbox row.
type event struct {
	Subject, Type, Org string
	Audience           []string
	Payload            []byte
}

func (w *world) events(t *testing.T, kind string) []event {
	t.Helper()
	rows, err := w.pool.Query(context.Background(),
		`SELECT subject, event_type, org_id, audience, payload FROM outbox WHERE subject LIKE '%.' || $1 ORDER BY seq`, kind)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var evs []event
	for rows.Next() {
		var e event
		if err := rows.Scan(&e.Subject, &e.Type, &e.Org, &e.Audience, &e.Payload); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return evs
}

func (w *world) countEvents(t *testing.T) int {
	t.Helper()
	var n int
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
