package minutes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// migrations is the platform's (pg.Migrate runs them anyway) plus this
// package's own file, read from the service's migrations directory.
func migrations(t *testing.T) fstest.MapFS {
	t.Helper()
	b, err := os.ReadFile("../migrations/00005_minutes.sql")
	if err != nil {
		t.Fatal(err)
	}
	return fstest.MapFS{"00005_minutes.sql": {Data: b}}
}

// fakeMeetings stands in for the meeting side. Closing a meeting is stored
// in a table of the test's schema inside the caller's transaction, so a
// rolled-back approval leaves the meeting ended, as the real one would.
type fakeMeetings struct {
	pool *pgxpool.Pool

	mu       sync.Mutex
	meetings map[string]*meetingsv1.Meeting
	orgs     map[string]*meetingsv1.Organization
	closeErr error
	closes   int
}

func (f *fakeMeetings) Meeting(ctx context.Context, id string) (*meetingsv1.Meeting, *meetingsv1.Organization, error) {
	f.mu.Lock()
	m, ok := f.meetings[id]
	if ok {
		m = proto.CloneOf(m)
	}
	f.mu.Unlock()
	if !ok {
		return nil, nil, fmt.Errorf("meeting %s: %w", id, ErrNotFound)
	}
	var closed bool
	if err := f.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM fake_closed WHERE meeting_id = $1)`, id).Scan(&closed); err != nil {
		return nil, nil, err
	}
	if closed {
		m.State = meetingsv1.MeetingState_MEETING_STATE_CLOSED
	}
	org, err := f.Organization(ctx, m.GetOrganizationId())
	return m, org, err
}

func (f *fakeMeetings) Organization(_ context.Context, id string) (*meetingsv1.Organization, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.orgs[id]
	if !ok {
		return nil, fmt.Errorf("organisation %s: %w", id, ErrNotFound)
	}
	return proto.CloneOf(o), nil
}

func (f *fakeMeetings) Close(ctx context.Context, tx pgx.Tx, id, actor string) error {
	f.mu.Lock()
	f.closes++
	err := f.closeErr
	state := f.meetings[id].GetState()
	f.mu.Unlock()
	if err != nil {
		return err
	}
	if state != meetingsv1.MeetingState_MEETING_STATE_ENDED {
		return status.Errorf(codes.FailedPrecondition, "fake: meeting is %v", state)
	}
	_, err = tx.Exec(ctx, `INSERT INTO fake_closed (meeting_id, actor) VALUES ($1, $2)`, id, actor)
	return err
}

func (f *fakeMeetings) setState(id string, st meetingsv1.MeetingState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.meetings[id].State = st
}

func (f *fakeMeetings) edit(id string, fn func(m *meetingsv1.Meeting)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.meetings[id])
}

// env is one test's world: a schema, the service, a meeting and people.
type env struct {
	t       *testing.T
	pool    *pgxpool.Pool
	s       *Service
	fm      *fakeMeetings
	org     string
	parent  string
	meeting string
	items   []string // agenda item ids, in order

	chair, taker, member, observer, orgMember, admin, sysAdmin, outsider, outsiderAdmin, gateway identity.Claims
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func newEnv(t *testing.T) *env {
	t.Helper()
	pool := testenv.Pool(t, testenv.Schema(t, "minutes"), migrations(t))
	if _, err := pool.Exec(context.Background(),
		`CREATE TABLE fake_closed (meeting_id uuid PRIMARY KEY, actor text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, pool: pool, org: newID(), parent: newID(), meeting: newID()}
	other := newID()
	person := func(name string, orgs ...string) identity.Claims {
		return identity.Claims{Subject: newID(), Name: name, Orgs: orgs}
	}
	e.chair = person("Nguyễn Văn An", e.org)
	e.taker = person("Trần Thị Bình", e.org)
	e.member = person("Lê Văn Cường", e.org)
	e.observer = person("Đỗ Quang Khách", e.parent)
	e.orgMember = person("Vũ Thị Hà", e.org) // a member, not invited
	e.admin = identity.Claims{Subject: newID(), Name: "Quản trị", AdminOrgs: []string{e.org}}
	e.sysAdmin = identity.Claims{Subject: newID(), Name: "Hệ thống", Roles: []string{identity.RoleSystemAdmin}}
	e.outsider = person("Người ngoài", other)
	e.outsiderAdmin = identity.Claims{Subject: newID(), Name: "Quản trị khác", Orgs: []string{other}, AdminOrgs: []string{other}}
	e.gateway = identity.Claims{Subject: "gateway", Roles: []string{identity.RoleGateway}}

	e.items = []string{newID(), newID(), newID()}
	start := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	m := &meetingsv1.Meeting{
		Id: e.meeting, OrganizationId: e.org, Title: "Hội nghị Ban Thường vụ tháng 11", Place: "Phòng họp số 1",
		StartsAt: timestamppb.New(start), EndsAt: timestamppb.New(start.Add(3 * time.Hour)),
		State: meetingsv1.MeetingState_MEETING_STATE_IN_PROGRESS, Version: 7,
		Agenda: []*meetingsv1.AgendaItem{
			{Id: e.items[0], Position: 1, Title: "Quán triệt Nghị quyết"},
			{Id: e.items[1], Position: 2, Title: "Công tác phát triển đảng viên"},
			{Id: e.items[2], Position: 3, Title: "Các vấn đề khác"},
		},
		Participants: []*meetingsv1.Participant{
			{PersonId: e.chair.Subject, FullName: e.chair.Name, Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR, Attendance: meetingsv1.Attendance_ATTENDANCE_PRESENT},
			{PersonId: e.taker.Subject, FullName: e.taker.Name, Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER, Attendance: meetingsv1.Attendance_ATTENDANCE_PRESENT},
			{PersonId: e.member.Subject, FullName: e.member.Name, Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MEMBER, Attendance: meetingsv1.Attendance_ATTENDANCE_PRESENT_ONLINE},
			{PersonId: newID(), FullName: "Phạm Thị Dung", Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MEMBER, Attendance: meetingsv1.Attendance_ATTENDANCE_ABSENT_EXCUSED, AbsenceReason: "Đi công tác"},
			{PersonId: e.observer.Subject, FullName: e.observer.Name, Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_OBSERVER, Attendance: meetingsv1.Attendance_ATTENDANCE_PRESENT},
		},
	}
	e.fm = &fakeMeetings{
		pool:     pool,
		meetings: map[string]*meetingsv1.Meeting{e.meeting: m},
		orgs: map[string]*meetingsv1.Organization{
			e.org:    {Id: e.org, ParentId: e.parent, Name: "Chi bộ VNPT Văn Yên"},
			e.parent: {Id: e.parent, Name: "Đảng bộ Khối Doanh nghiệp tỉnh"},
			other:    {Id: other, Name: "Chi bộ khác"},
		},
	}
	e.s = New(Deps{Log: testenv.Logger(t), Pool: pool, Meetings: e.fm, Locality: "Yên Bái"})
	return e
}

func (e *env) get(c identity.Claims, rev int32) *meetingsv1.Minutes {
	e.t.Helper()
	r, err := e.s.GetMinutes(testenv.As(c), &meetingsv1.GetMinutesRequest{MeetingId: e.meeting, Revision: rev})
	if err != nil {
		e.t.Fatalf("GetMinutes: %v", err)
	}
	return r.GetMinutes()
}

func (e *env) save(c identity.Claims, item int, version int64, discussion string) (*meetingsv1.Minutes, error) {
	r, err := e.s.SaveItemMinutes(testenv.As(c), &meetingsv1.SaveItemMinutesRequest{
		MeetingId: e.meeting, AgendaItemId: e.items[item], ExpectedVersion: version,
		Discussion: discussion, Opinions: "Ý kiến " + discussion, Conclusions: "Kết luận " + discussion,
	})
	return r.GetMinutes(), err
}

func (e *env) mustSave(c identity.Claims, item int, version int64, discussion string) *meetingsv1.Minutes {
	e.t.Helper()
	m, err := e.save(c, item, version, discussion)
	if err != nil {
		e.t.Fatalf("SaveItemMinutes: %v", err)
	}
	return m
}

func (e *env) submit(c identity.Claims, version int64) (*meetingsv1.Minutes, error) {
	r, err := e.s.SubmitMinutes(testenv.As(c), &meetingsv1.SubmitMinutesRequest{MeetingId: e.meeting, ExpectedVersion: version})
	return r.GetMinutes(), err
}

func (e *env) approve(c identity.Claims, version int64) (*meetingsv1.Minutes, error) {
	r, err := e.s.ApproveMinutes(testenv.As(c), &meetingsv1.ApproveMinutesRequest{MeetingId: e.meeting, ExpectedVersion: version})
	return r.GetMinutes(), err
}

func (e *env) returnMinutes(c identity.Claims, version int64, reason string) (*meetingsv1.Minutes, error) {
	r, err := e.s.ReturnMinutes(testenv.As(c), &meetingsv1.ReturnMinutesRequest{MeetingId: e.meeting, ExpectedVersion: version, Reason: reason})
	return r.GetMinutes(), err
}

func (e *env) amend(c identity.Claims, reason string) (*meetingsv1.Minutes, error) {
	r, err := e.s.AmendMinutes(testenv.As(c), &meetingsv1.AmendMinutesRequest{MeetingId: e.meeting, Reason: reason})
	return r.GetMinutes(), err
}

func (e *env) verify(c identity.Claims, meetingID string) (*meetingsv1.VerifyAuditTrailResponse, error) {
	return e.s.VerifyAuditTrail(testenv.As(c), &meetingsv1.VerifyAuditTrailRequest{MeetingId: meetingID})
}

// approved takes the minutes to an approved first revision and returns it.
func (e *env) approved() *meetingsv1.Minutes {
	e.t.Helper()
	m := e.mustSave(e.taker, 0, 0, "Đồng chí Bí thư quán triệt nghị quyết")
	m, err := e.submit(e.taker, m.GetVersion())
	if err != nil {
		e.t.Fatal(err)
	}
	e.fm.setState(e.meeting, meetingsv1.MeetingState_MEETING_STATE_ENDED)
	m, err = e.approve(e.chair, m.GetVersion())
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

type outboxRow struct {
	subject, typ, org string
	audience          []string
	payload           []byte
}

func (e *env) outbox() []outboxRow {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT subject, event_type, org_id, audience, payload FROM outbox ORDER BY seq`)
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (outboxRow, error) {
		var r outboxRow
		err := row.Scan(&r.subject, &r.typ, &r.org, &r.audience, &r.payload)
		return r, err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) auditActions() []string {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT action FROM audit_log WHERE subject = $1 ORDER BY seq`, auditSubject(e.meeting))
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

var errBoom = errors.New("boom")
