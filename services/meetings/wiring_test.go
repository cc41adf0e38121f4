package meetings

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/ecabinet/ecabinet/services/meetings/minutes"
	"github.com/ecabinet/ecabinet/services/meetings/tasks"
	"github.com/ecabinet/ecabinet/services/platform/audit"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// The minutes and the tasks, served by the same Service as the meetings,
// against the real meeting side and directory.

func (w *world) minutesClient() meetingsv1.MinutesServiceClient {
	return meetingsv1.NewMinutesServiceClient(w.conn)
}

func (w *world) tasksClient() meetingsv1.TasksServiceClient {
	return meetingsv1.NewTasksServiceClient(w.conn)
}

// submitted returns an ended meeting whose minutes (one item written) the
// minute-taker has submitted, and the minutes' version.
func (w *world) submitted(t *testing.T, c *cell) (*meetingsv1.Meeting, int64) {
	t.Helper()
	m := w.started(t, c)
	mc := w.minutesClient()
	saved, err := mc.SaveItemMinutes(c.as(c.taker), &meetingsv1.SaveItemMinutesRequest{
		MeetingId: m.GetId(), AgendaItemId: m.GetAgenda()[0].GetId(),
		Discussion: "Chi bộ thảo luận kết quả tháng 11.", Conclusions: "Giao đồng chí Cường hoàn thiện báo cáo.",
	})
	if err != nil {
		t.Fatalf("SaveItemMinutes: %v", err)
	}
	if _, err := w.client.EndMeeting(c.as(c.chair), &meetingsv1.EndMeetingRequest{MeetingId: m.GetId()}); err != nil {
		t.Fatalf("EndMeeting: %v", err)
	}
	sub, err := mc.SubmitMinutes(c.as(c.taker), &meetingsv1.SubmitMinutesRequest{
		MeetingId: m.GetId(), ExpectedVersion: saved.GetMinutes().GetVersion()})
	if err != nil {
		t.Fatalf("SubmitMinutes: %v", err)
	}
	return w.get(t, c.adminCtx(), m.GetId()), sub.GetMinutes().GetVersion()
}

// The chair's approval closes the meeting through the meeting side's own
// change path: a version, a MeetingStateChanged event and an audit record
// like every other transition, in the one chain the minutes write to.
func TestApprovingMinutesClosesTheMeeting(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m, version := w.submitted(t, c)
	mc := w.minutesClient()

	// A plain member may not approve; the meeting stays ended.
	_, err := mc.ApproveMinutes(c.as(c.m1), &meetingsv1.ApproveMinutesRequest{MeetingId: m.GetId(), ExpectedVersion: version})
	testenv.Code(t, err, codes.PermissionDenied)
	if got := w.get(t, c.adminCtx(), m.GetId()); got.GetState() != domain.StateEnded {
		t.Fatalf("after a refused approval the meeting is %v", got.GetState())
	}

	approved, err := mc.ApproveMinutes(c.as(c.chair), &meetingsv1.ApproveMinutesRequest{MeetingId: m.GetId(), ExpectedVersion: version})
	if err != nil {
		t.Fatalf("ApproveMinutes: %v", err)
	}
	if approved.GetMinutes().GetState() != meetingsv1.MinutesState_MINUTES_STATE_APPROVED {
		t.Fatalf("minutes %v after approval", approved.GetMinutes().GetState())
	}
	closed := w.get(t, c.adminCtx(), m.GetId())
	if closed.GetState() != domain.StateClosed || closed.GetVersion() != m.GetVersion()+1 {
		t.Fatalf("meeting %v at version %d, want closed at %d", closed.GetState(), closed.GetVersion(), m.GetVersion()+1)
	}

	// The event, as every transition has it.
	cons := testenv.Consumer(t, w.js, w.stream)
	var ev *meetingsv1.MeetingStateChanged
	for ev == nil {
		msg := testenv.Next(t, cons)
		if msg.Subject() != w.prefix+eventSubject(m.GetId(), "state_changed") {
			continue
		}
		e := &meetingsv1.MeetingStateChanged{}
		if err := proto.Unmarshal(msg.Data(), e); err != nil {
			t.Fatal(err)
		}
		if e.GetTo() == domain.StateClosed {
			ev = e
		}
	}
	if ev.GetFrom() != domain.StateEnded || ev.GetMeeting().GetState() != domain.StateClosed ||
		ev.GetMeta().GetAggregateVersion() != closed.GetVersion() || ev.GetMeta().GetActorId() != c.chair ||
		len(ev.GetMeta().GetAudience()) != len(closed.GetParticipants()) || ev.GetMeeting().GetMyRole() != 0 {
		t.Errorf("close event %v", ev)
	}

	// The audit record, just before the minutes' own approval record.
	trail := w.audit(t, m.GetId())
	var actions []string
	for _, r := range trail {
		actions = append(actions, r.Action)
	}
	n := len(trail)
	if n < 2 || trail[n-2].Action != "meeting.closed" || trail[n-2].Version != closed.GetVersion() ||
		trail[n-2].Actor != c.chair || trail[n-1].Action != "minutes_approved" {
		t.Errorf("audit trail ends %v, want meeting.closed (version %d, by the chair) then minutes_approved", actions, closed.GetVersion())
	}
	if !strings.Contains(strings.Join(actions, " "), "minutes_saved") {
		t.Errorf("the minutes' records are not in the meeting's trail: %v", actions)
	}

	// VerifyAuditTrail checks the same chain.
	res, err := mc.VerifyAuditTrail(c.adminCtx(), &meetingsv1.VerifyAuditTrailRequest{MeetingId: m.GetId()})
	if err != nil || !res.GetIntact() || res.GetRecordsChecked() != int64(n) {
		t.Errorf("VerifyAuditTrail = %v, %v; want %d records intact", res, err, n)
	}

	// The closed meeting's minutes are locked, and so is the meeting.
	_, err = mc.SaveItemMinutes(c.as(c.taker), &meetingsv1.SaveItemMinutesRequest{
		MeetingId: m.GetId(), AgendaItemId: m.GetAgenda()[0].GetId(), ExpectedVersion: approved.GetMinutes().GetVersion(), Discussion: "sửa"})
	testenv.Code(t, err, codes.FailedPrecondition)
	_, err = w.client.MarkAttendance(c.as(c.taker), &meetingsv1.MarkAttendanceRequest{
		MeetingId: m.GetId(), PersonId: c.m1, Attendance: meetingsv1.Attendance_ATTENDANCE_PRESENT})
	testenv.Code(t, err, codes.FailedPrecondition)
}

// Close refuses a meeting that has not ended, writing nothing; the minutes
// pass the refusal on.
func TestCloseRefusesAMeetingNotEnded(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.started(t, c)
	before := w.audit(t, m.GetId())
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		return minutesPort{w.svc}.Close(ctx, tx, m.GetId(), c.chair)
	})
	st := testenv.Code(t, err, codes.FailedPrecondition)
	if !strings.Contains(st.Message(), "meeting is in progress; only an ended meeting can be closed") {
		t.Errorf("message %q", st.Message())
	}
	if got := w.get(t, c.adminCtx(), m.GetId()); got.GetVersion() != m.GetVersion() || got.GetState() != domain.StateInProgress {
		t.Errorf("meeting changed: %v at %d", got.GetState(), got.GetVersion())
	}
	if after := w.audit(t, m.GetId()); len(after) != len(before) {
		t.Errorf("%d audit records after a refused close, want %d", len(after), len(before))
	}

	err = pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		return minutesPort{w.svc}.Close(ctx, tx, uuid.NewString(), c.chair)
	})
	testenv.Code(t, err, codes.NotFound)
}

// The adapters read without applying anyone's permissions and answer each
// package's ErrNotFound for what does not exist.
func TestPortsForMinutesAndTasks(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.started(t, c)
	ctx := context.Background()
	mp, tm, td := minutesPort{w.svc}, tasksMeetings{w.svc}, tasksDirectory{w.svc.dir}

	got, org, err := mp.Meeting(ctx, m.GetId())
	if err != nil {
		t.Fatal(err)
	}
	if org.GetId() != c.org || org.GetName() != "Chi bộ VNPT Văn Yên" || org.GetParentId() != c.parent {
		t.Errorf("organisation %v", org)
	}
	if len(got.GetAgenda()) != 2 || len(got.GetParticipants()) != 9 || got.GetState() != domain.StateInProgress {
		t.Errorf("meeting: %d items, %d participants, %v", len(got.GetAgenda()), len(got.GetParticipants()), got.GetState())
	}
	if p := participantByID(got, c.taker); p.GetRole() != domain.RoleMinuteTaker ||
		p.GetAttendance() == meetingsv1.Attendance_ATTENDANCE_UNSPECIFIED {
		t.Errorf("minute-taker %v", p)
	}
	parent, err := mp.Organization(ctx, c.parent)
	if err != nil || parent.GetName() != "Đảng bộ Khối cơ quan tỉnh Yên Bái" {
		t.Errorf("Organization(parent) = %v, %v", parent, err)
	}
	tg, err := tm.Meeting(ctx, m.GetId())
	if err != nil || !proto.Equal(tg, got) {
		t.Errorf("tasks' Meeting = %v, %v; want the minutes' view", tg, err)
	}
	name, err := td.Person(ctx, c.m1, c.org)
	if err != nil || name != "Lê Văn Cường" {
		t.Errorf("Person = %q, %v", name, err)
	}
	if o, err := td.Organization(ctx, c.other); err != nil || o.GetName() != "Chi bộ Bưu điện Văn Yên" {
		t.Errorf("Organization = %v, %v", o, err)
	}

	for _, id := range []string{uuid.NewString(), "not-an-id", ""} {
		if _, _, err := mp.Meeting(ctx, id); !errors.Is(err, minutes.ErrNotFound) {
			t.Errorf("minutes Meeting(%q) = %v, want ErrNotFound", id, err)
		}
		if _, err := mp.Organization(ctx, id); !errors.Is(err, minutes.ErrNotFound) {
			t.Errorf("minutes Organization(%q) = %v, want ErrNotFound", id, err)
		}
		if _, err := tm.Meeting(ctx, id); !errors.Is(err, tasks.ErrNotFound) {
			t.Errorf("tasks Meeting(%q) = %v, want ErrNotFound", id, err)
		}
		if _, err := td.Person(ctx, id, c.org); !errors.Is(err, tasks.ErrNotFound) {
			t.Errorf("tasks Person(%q) = %v, want ErrNotFound", id, err)
		}
		if _, err := td.Organization(ctx, id); !errors.Is(err, tasks.ErrNotFound) {
			t.Errorf("tasks Organization(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

// A conclusion becomes a task through the same service; the assignee
// finds it among their own and works on it.
func TestTasksServedWithTheMeeting(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.started(t, c)
	tc := w.tasksClient()
	deadline := time.Now().Add(7 * 24 * time.Hour).In(domain.Vietnam).Format(time.DateOnly)

	_, err := tc.CreateTask(c.as(c.m2), &meetingsv1.CreateTaskRequest{
		MeetingId: m.GetId(), AgendaItemId: m.GetAgenda()[0].GetId(), Title: "Hoàn thiện báo cáo", AssigneePersonId: c.m1, Deadline: deadline})
	testenv.Code(t, err, codes.PermissionDenied)
	created, err := tc.CreateTask(c.as(c.taker), &meetingsv1.CreateTaskRequest{
		MeetingId: m.GetId(), AgendaItemId: m.GetAgenda()[0].GetId(), Title: "Hoàn thiện báo cáo", AssigneePersonId: c.m1, Deadline: deadline})
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	task := created.GetTask()
	if task.GetAssigneePersonName() != "Lê Văn Cường" || task.GetOrganizationId() != c.org {
		t.Errorf("task %v", task)
	}
	mine, err := tc.ListTasks(c.as(c.m1), &meetingsv1.ListTasksRequest{Mine: true})
	if err != nil || len(mine.GetTasks()) != 1 || mine.GetTasks()[0].GetId() != task.GetId() {
		t.Fatalf("ListTasks(mine) = %v, %v", mine, err)
	}
	upd, err := tc.UpdateTask(c.as(c.m1), &meetingsv1.UpdateTaskRequest{
		TaskId: task.GetId(), ExpectedVersion: task.GetVersion(), Status: meetingsv1.TaskStatus_TASK_STATUS_IN_PROGRESS})
	if err != nil || upd.GetTask().GetStatus() != meetingsv1.TaskStatus_TASK_STATUS_IN_PROGRESS {
		t.Fatalf("UpdateTask = %v, %v", upd, err)
	}
	_, err = tc.CreateTask(c.as(c.taker), &meetingsv1.CreateTaskRequest{
		MeetingId: uuid.NewString(), AgendaItemId: m.GetAgenda()[0].GetId(), Title: "x", AssigneePersonId: c.m1, Deadline: deadline})
	testenv.Code(t, err, codes.NotFound)
}

// Run runs the reminder of overdue tasks: a task past its deadline is
// announced on the service's stream.
func TestServiceRunsTheTaskReminder(t *testing.T) {
	// Looking often makes the announcement come soon after the deadline
	// moves; each wait below is bounded by testenv.Next, a deadlock guard.
	w := newWorld(t, func(d *Deps) { d.ReminderInterval = 50 * time.Millisecond })
	c := newCell(t, w)
	m := w.started(t, c)
	deadline := time.Now().Add(24 * time.Hour).In(domain.Vietnam).Format(time.DateOnly)
	created, err := w.tasksClient().CreateTask(c.as(c.taker), &meetingsv1.CreateTaskRequest{
		MeetingId: m.GetId(), AgendaItemId: m.GetAgenda()[0].GetId(), Title: "Nộp báo cáo", AssigneePersonId: c.m1, Deadline: deadline})
	if err != nil {
		t.Fatal(err)
	}
	// The deadline passes (the API refuses a past one, so move it here).
	w.exec(t, `UPDATE tasks SET deadline = deadline - 3 WHERE id = $1`, created.GetTask().GetId())

	cons := testenv.Consumer(t, w.js, w.stream)
	for {
		msg := testenv.Next(t, cons)
		if msg.Subject() != w.prefix+eventSubject(m.GetId(), "task_overdue") {
			continue
		}
		ev := &meetingsv1.TaskOverdue{}
		if err := proto.Unmarshal(msg.Data(), ev); err != nil {
			t.Fatal(err)
		}
		if ev.GetTask().GetId() != created.GetTask().GetId() || !ev.GetTask().GetOverdue() {
			t.Fatalf("overdue event %v", ev)
		}
		return
	}
}

// The approval takes the minutes' lock, then the meeting's row (Close),
// then the audit trail's lock; every other change of the meeting takes the
// row, then the audit lock. Run them against each other: with that one
// order nothing deadlocks (PostgreSQL would abort one of the transactions).
func TestApprovalAndMeetingChangesDoNotDeadlock(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	const meetings = 3
	type ready struct {
		m       *meetingsv1.Meeting
		version int64
	}
	var ms []ready
	for range meetings {
		m, v := w.submitted(t, c)
		ms = append(ms, ready{m, v})
	}
	var wg sync.WaitGroup
	errs := make(chan error, meetings*3)
	for _, r := range ms {
		wg.Go(func() {
			_, err := w.minutesClient().ApproveMinutes(c.as(c.chair), &meetingsv1.ApproveMinutesRequest{MeetingId: r.m.GetId(), ExpectedVersion: r.version})
			errs <- err
		})
		// Marking goes on until the close refuses it, so the two kinds of
		// change overlap; the bound only guards against a close that never
		// comes.
		for _, p := range []string{c.m1, c.m2} {
			wg.Go(func() {
				att := []meetingsv1.Attendance{meetingsv1.Attendance_ATTENDANCE_PRESENT, meetingsv1.Attendance_ATTENDANCE_NOT_PRESENT}
				for i := range 500 {
					_, err := w.client.MarkAttendance(c.as(c.taker), &meetingsv1.MarkAttendanceRequest{
						MeetingId: r.m.GetId(), PersonId: p, Attendance: att[i%2]})
					if status.Code(err) == codes.FailedPrecondition {
						return // closed: attendance is final
					}
					if err != nil {
						errs <- err
						return
					}
				}
				errs <- errors.New("the meeting never closed")
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent change: %v", err)
		}
	}
	for _, r := range ms {
		if got := w.get(t, c.adminCtx(), r.m.GetId()); got.GetState() != domain.StateClosed {
			t.Errorf("meeting %s is %v, want closed", r.m.GetId(), got.GetState())
		}
	}
	if _, err := audit.Verify(context.Background(), w.pool, ""); err != nil {
		t.Errorf("audit trail after concurrent changes: %v", err)
	}
}
