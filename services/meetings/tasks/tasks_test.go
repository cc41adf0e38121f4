package tasks_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings/tasks"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

const (
	open       = meetingsv1.TaskStatus_TASK_STATUS_OPEN
	inProgress = meetingsv1.TaskStatus_TASK_STATUS_IN_PROGRESS
	done       = meetingsv1.TaskStatus_TASK_STATUS_DONE
	cancelled  = meetingsv1.TaskStatus_TASK_STATUS_CANCELLED
)

func TestCreateTaskAndReadIt(t *testing.T) {
	w := newWorld(t)
	req := w.createReq()
	// Decomposed Vietnamese (as some keyboards and PDFs produce), padded.
	req.Title = "  Hoa\u0300n thie\u0323\u0302n đê\u0300 a\u0301n  "
	req.Description = "Dòng 1\r\nDòng 2 <script>alert(1)</script>"
	got := w.create(t, w.minuteTaker, req)

	want := &meetingsv1.Task{
		Id: got.GetId(), OrganizationId: w.bloc, MeetingId: w.meeting.GetId(), AgendaItemId: w.item1,
		Title: "Hoàn thiện đề án", Description: "Dòng 1\nDòng 2 <script>alert(1)</script>",
		AssigneePersonId: w.assignee.Subject, AssigneePersonName: w.assignee.Name,
		Deadline: day(2), Status: open, Version: 1, CreateTime: got.GetCreateTime(),
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("created task (-want +got):\n%s", diff)
	}
	if !got.GetCreateTime().AsTime().Equal(start) {
		t.Errorf("create_time = %v, want the clock's %v", got.GetCreateTime().AsTime(), start)
	}

	// One TaskCreated, on the meeting's subject, for the meeting's
	// organisation, to the participants and the assignee.
	evs := w.events(t, "task_created")
	if len(evs) != 1 {
		t.Fatalf("%d task_created events, want 1", len(evs))
	}
	e := evs[0]
	if e.Subject != "ecabinet.meetings.v1."+w.meeting.GetId()+".task_created" || e.Org != w.bloc ||
		e.Type != "ecabinet.meetings.v1.TaskCreated" {
		t.Errorf("event subject %q type %q org %q", e.Subject, e.Type, e.Org)
	}
	wantAudience := []string{w.chair.Subject, w.minuteTaker.Subject, w.member.Subject, w.observer.Subject, w.assignee.Subject}
	slices.Sort(wantAudience)
	if diff := cmp.Diff(wantAudience, e.Audience); diff != "" {
		t.Errorf("audience (-want +got):\n%s", diff)
	}
	var ev meetingsv1.TaskCreated
	if err := proto.Unmarshal(e.Payload, &ev); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, ev.GetTask(), protocmp.Transform()); diff != "" {
		t.Errorf("event task (-response +event):\n%s", diff)
	}
	if m := ev.GetMeta(); m.GetActorId() != w.minuteTaker.Subject || m.GetAggregateId() != got.GetId() ||
		m.GetAggregateVersion() != 1 || m.GetOrganizationId() != w.bloc || m.GetEventId() == "" {
		t.Errorf("event meta = %v", m)
	}

	// Everyone who may see the meeting, and the assignee, reads the task;
	// anyone else is told it does not exist.
	for name, c := range map[string]identity.Claims{
		"chair": w.chair, "minute-taker": w.minuteTaker, "member": w.member, "observer": w.observer,
		"member of the org": w.orgMember, "admin": w.admin, "assignee": w.assignee, "system admin": w.root,
	} {
		resp, err := w.client.GetTask(testenv.As(c), &meetingsv1.GetTaskRequest{TaskId: got.GetId()})
		if err != nil {
			t.Errorf("%s: GetTask: %v", name, err)
			continue
		}
		if diff := cmp.Diff(got, resp.GetTask(), protocmp.Transform()); diff != "" {
			t.Errorf("%s: GetTask (-created +got):\n%s", name, diff)
		}
	}
	for name, c := range map[string]identity.Claims{"outsider": w.outsider, "member of the assignee's cell": w.cellMember} {
		_, err := w.client.GetTask(testenv.As(c), &meetingsv1.GetTaskRequest{TaskId: got.GetId()})
		wantCode(t, name+" GetTask", err, codes.NotFound)
	}
	_, err := w.client.GetTask(testenv.As(w.chair), &meetingsv1.GetTaskRequest{TaskId: newID()})
	wantCode(t, "GetTask of a missing task", err, codes.NotFound)
	_, err = w.client.GetTask(testenv.As(w.chair), &meetingsv1.GetTaskRequest{TaskId: "42"})
	wantViolations(t, "GetTask malformed id", err, "task_id/INVALID_FORMAT")
	_, err = w.client.GetTask(testenv.As(w.chair), &meetingsv1.GetTaskRequest{})
	wantViolations(t, "GetTask without id", err, "task_id/REQUIRED")
	_, err = w.client.GetTask(context.Background(), &meetingsv1.GetTaskRequest{TaskId: got.GetId()})
	wantCode(t, "GetTask without identity", err, codes.Unauthenticated)
}

func TestCreateTaskAssignedToAnOrganisation(t *testing.T) {
	w := newWorld(t)
	req := w.createReq()
	req.AssigneePersonId, req.AssigneeOrganizationId = "", w.cell
	got := w.create(t, w.chair, req)
	if got.GetAssigneeOrganizationId() != w.cell || got.GetAssigneeOrganizationName() != "Chi bộ VNPT Văn Yên" || got.GetAssigneePersonId() != "" {
		t.Errorf("assignee = %q %q %q", got.GetAssigneePersonId(), got.GetAssigneeOrganizationId(), got.GetAssigneeOrganizationName())
	}
	// The meeting's own organisation may be the assignee too.
	req.AssigneeOrganizationId = w.bloc
	toBloc := w.create(t, w.chair, req)
	if toBloc.GetAssigneeOrganizationName() != "Đảng bộ Khối" {
		t.Errorf("assigned to the meeting's org: %v", toBloc)
	}
	// Any depth below the meeting's organisation will do.
	group := newID()
	w.dir.putOrg(&meetingsv1.Organization{Id: group, ParentId: w.cell, Name: "Tổ Đảng 1"})
	req.AssigneeOrganizationId = group
	if g := w.create(t, w.chair, req); g.GetAssigneeOrganizationName() != "Tổ Đảng 1" {
		t.Errorf("assigned two levels down: %v", g)
	}
	// Members of the assignee cell see the cell's task, not the other one.
	if _, err := w.client.GetTask(testenv.As(w.cellMember), &meetingsv1.GetTaskRequest{TaskId: got.GetId()}); err != nil {
		t.Errorf("cell member reads the cell's task: %v", err)
	}
	_, err := w.client.GetTask(testenv.As(w.cellMember), &meetingsv1.GetTaskRequest{TaskId: toBloc.GetId()})
	wantCode(t, "cell member reads the bloc's task", err, codes.NotFound)
}

func TestCreateTaskValidation(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name string
		edit func(r *meetingsv1.CreateTaskRequest)
		want []string
	}{
		{"no title", func(r *meetingsv1.CreateTaskRequest) { r.Title = "  " }, []string{"title/REQUIRED"}},
		{"title too long", func(r *meetingsv1.CreateTaskRequest) { r.Title = strings.Repeat("ư", 501) }, []string{"title/TOO_LONG"}},
		{"title with a line break", func(r *meetingsv1.CreateTaskRequest) { r.Title = "a\nb" }, []string{"title/INVALID_CHARACTER"}},
		{"description too long", func(r *meetingsv1.CreateTaskRequest) { r.Description = strings.Repeat("ơ", 5001) }, []string{"description/TOO_LONG"}},
		{"no deadline", func(r *meetingsv1.CreateTaskRequest) { r.Deadline = "" }, []string{"deadline/REQUIRED"}},
		{"deadline not a date", func(r *meetingsv1.CreateTaskRequest) { r.Deadline = "12/06/2026" }, []string{"deadline/INVALID_DATE"}},
		{"deadline yesterday", func(r *meetingsv1.CreateTaskRequest) { r.Deadline = day(-1) }, []string{"deadline/OUT_OF_RANGE"}},
		{"no assignee", func(r *meetingsv1.CreateTaskRequest) { r.AssigneePersonId = "" }, []string{"assignee_person_id/REQUIRED"}},
		{"two assignees", func(r *meetingsv1.CreateTaskRequest) { r.AssigneeOrganizationId = w.cell }, []string{"assignee_organization_id/TOO_MANY"}},
		{"malformed person", func(r *meetingsv1.CreateTaskRequest) { r.AssigneePersonId = "x" }, []string{"assignee_person_id/INVALID_FORMAT"}},
		{"unknown person", func(r *meetingsv1.CreateTaskRequest) { r.AssigneePersonId = newID() }, []string{"assignee_person_id/NOT_FOUND"}},
		{"unknown organisation", func(r *meetingsv1.CreateTaskRequest) {
			r.AssigneePersonId, r.AssigneeOrganizationId = "", newID()
		}, []string{"assignee_organization_id/NOT_FOUND"}},
		{"organisation not below the meeting's", func(r *meetingsv1.CreateTaskRequest) {
			r.AssigneePersonId, r.AssigneeOrganizationId = "", w.other
		}, []string{"assignee_organization_id/OUT_OF_RANGE"}},
		{"no agenda item", func(r *meetingsv1.CreateTaskRequest) { r.AgendaItemId = "" }, []string{"agenda_item_id/REQUIRED"}},
		{"agenda item of another meeting", func(r *meetingsv1.CreateTaskRequest) { r.AgendaItemId = newID() }, []string{"agenda_item_id/NOT_FOUND"}},
		{"no meeting", func(r *meetingsv1.CreateTaskRequest) { r.MeetingId = "" }, []string{"meeting_id/REQUIRED"}},
		{"malformed meeting", func(r *meetingsv1.CreateTaskRequest) { r.MeetingId = "meeting-1" }, []string{"meeting_id/INVALID_FORMAT"}},
		{"everything wrong at once", func(r *meetingsv1.CreateTaskRequest) {
			r.Title, r.Deadline, r.AssigneePersonId, r.AgendaItemId = "", "soon", "", "nope"
		}, []string{"title/REQUIRED", "deadline/INVALID_DATE", "assignee_person_id/REQUIRED", "agenda_item_id/NOT_FOUND"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := w.createReq()
			tc.edit(req)
			_, err := w.client.CreateTask(testenv.As(w.chair), req)
			wantViolations(t, tc.name, err, tc.want...)
		})
	}
	if n := w.countEvents(t); n != 0 {
		t.Errorf("%d events after refused requests, want none", n)
	}

	// Today is a fine deadline; limits count characters.
	req := w.createReq()
	req.Deadline, req.Title, req.Description = day(0), strings.Repeat("ư", 500), strings.Repeat("ơ", 5000)
	w.create(t, w.chair, req)
}

func TestCreateTaskMeetingRules(t *testing.T) {
	w := newWorld(t)
	req := w.createReq()
	req.MeetingId = newID()
	_, err := w.client.CreateTask(testenv.As(w.chair), req)
	wantCode(t, "missing meeting", err, codes.NotFound)

	for _, st := range []meetingsv1.MeetingState{
		meetingsv1.MeetingState_MEETING_STATE_DRAFT, meetingsv1.MeetingState_MEETING_STATE_SCHEDULED,
		meetingsv1.MeetingState_MEETING_STATE_CANCELLED,
	} {
		m := proto.Clone(w.meeting).(*meetingsv1.Meeting)
		m.Id, m.State = newID(), st
		w.meetings.put(m)
		req := w.createReq()
		req.MeetingId = m.GetId()
		_, err := w.client.CreateTask(testenv.As(w.chair), req)
		s := wantCode(t, st.String(), err, codes.FailedPrecondition)
		if !strings.Contains(s.Message(), "meeting is ") {
			t.Errorf("%v: message %q gives no reason", st, s.Message())
		}
	}
	for _, st := range []meetingsv1.MeetingState{meetingsv1.MeetingState_MEETING_STATE_ENDED, meetingsv1.MeetingState_MEETING_STATE_CLOSED} {
		m := proto.Clone(w.meeting).(*meetingsv1.Meeting)
		m.Id, m.State = newID(), st
		w.meetings.put(m)
		req := w.createReq()
		req.MeetingId = m.GetId()
		w.create(t, w.chair, req)
	}
}

func TestCreateTaskAuthorization(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name string
		c    identity.Claims
		want codes.Code
	}{
		{"chair", w.chair, codes.OK},
		{"minute-taker", w.minuteTaker, codes.OK},
		{"admin of the org", w.admin, codes.OK},
		{"system admin", w.root, codes.OK},
		{"plain member", w.member, codes.PermissionDenied},
		{"observer", w.observer, codes.PermissionDenied},
		{"member of the org, not invited", w.orgMember, codes.PermissionDenied},
		{"future assignee", w.assignee, codes.NotFound},
		{"outsider", w.outsider, codes.NotFound},
	} {
		_, err := w.client.CreateTask(testenv.As(tc.c), w.createReq())
		wantCode(t, tc.name, err, tc.want)
	}
	// Permission is checked before the request's details: a member learns
	// nothing from an invalid request.
	req := w.createReq()
	req.Title = ""
	_, err := w.client.CreateTask(testenv.As(w.member), req)
	wantCode(t, "member with an invalid request", err, codes.PermissionDenied)
	_, err = w.client.CreateTask(testenv.As(w.outsider), req)
	wantCode(t, "outsider with an invalid request", err, codes.NotFound)
}

func TestStatusMachine(t *testing.T) {
	w := newWorld(t)
	task := w.create(t, w.chair, w.createReq())
	id := task.GetId()

	// The assignee starts and finishes it.
	task = w.update(t, w.assignee, &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 1, Status: inProgress})
	if task.GetStatus() != inProgress || task.GetVersion() != 2 {
		t.Fatalf("after start: %v v%d", task.GetStatus(), task.GetVersion())
	}
	_, err := w.client.UpdateTask(testenv.As(w.assignee), &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 2, Status: open})
	wantCode(t, "in progress -> open", err, codes.FailedPrecondition)
	task = w.update(t, w.assignee, &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 2, Status: done})
	if task.GetStatus() != done || task.GetVersion() != 3 {
		t.Fatalf("after done: %v v%d", task.GetStatus(), task.GetVersion())
	}
	// Done is final, for everyone, with the reason.
	for _, to := range []meetingsv1.TaskStatus{open, inProgress, cancelled} {
		_, err := w.client.UpdateTask(testenv.As(w.chair), &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 3, Status: to})
		st := wantCode(t, "done -> "+to.String(), err, codes.FailedPrecondition)
		if !strings.Contains(st.Message(), "task is done") {
			t.Errorf("message %q gives no reason", st.Message())
		}
	}
	_, err = w.client.UpdateTask(testenv.As(w.chair), &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 3, Deadline: day(5)})
	wantCode(t, "new deadline for a done task", err, codes.FailedPrecondition)

	// One task_updated per change, to the participants and the assignee.
	evs := w.events(t, "task_updated")
	if len(evs) != 2 {
		t.Fatalf("%d task_updated events, want 2", len(evs))
	}
	var ev meetingsv1.TaskUpdated
	if err := proto.Unmarshal(evs[1].Payload, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.GetTask().GetStatus() != done || ev.GetMeta().GetAggregateVersion() != 3 || ev.GetMeta().GetActorId() != w.assignee.Subject ||
		evs[1].Subject != "ecabinet.meetings.v1."+w.meeting.GetId()+".task_updated" || evs[1].Org != w.bloc ||
		!slices.Contains(evs[1].Audience, w.assignee.Subject) || !slices.Contains(evs[1].Audience, w.observer.Subject) {
		t.Errorf("event %v on %s org %s audience %v", &ev, evs[1].Subject, evs[1].Org, evs[1].Audience)
	}

	// Cancelling: only the runner side, and only before the end.
	task = w.create(t, w.chair, w.createReq())
	_, err = w.client.UpdateTask(testenv.As(w.assignee), &meetingsv1.UpdateTaskRequest{TaskId: task.GetId(), ExpectedVersion: 1, Status: cancelled})
	wantCode(t, "assignee cancels", err, codes.PermissionDenied)
	task = w.update(t, w.minuteTaker, &meetingsv1.UpdateTaskRequest{TaskId: task.GetId(), ExpectedVersion: 1, Status: cancelled})
	if task.GetStatus() != cancelled {
		t.Fatalf("status %v", task.GetStatus())
	}
	_, err = w.client.UpdateTask(testenv.As(w.minuteTaker), &meetingsv1.UpdateTaskRequest{TaskId: task.GetId(), ExpectedVersion: 2, Status: open})
	wantCode(t, "cancelled -> open", err, codes.FailedPrecondition)

	// Open straight to done.
	task = w.create(t, w.chair, w.createReq())
	if task = w.update(t, w.assignee, &meetingsv1.UpdateTaskRequest{TaskId: task.GetId(), ExpectedVersion: 1, Status: done}); task.GetStatus() != done {
		t.Fatalf("open -> done: %v", task.GetStatus())
	}
}

func TestUpdateTaskAuthorization(t *testing.T) {
	w := newWorld(t)
	toCell := w.createReq()
	toCell.AssigneePersonId, toCell.AssigneeOrganizationId = "", w.cell

	for _, tc := range []struct {
		name              string
		c                 identity.Claims
		req               *meetingsv1.CreateTaskRequest
		status, plan, can codes.Code // start it; change the deadline; cancel it
	}{
		{"chair", w.chair, w.createReq(), codes.OK, codes.OK, codes.OK},
		{"minute-taker", w.minuteTaker, w.createReq(), codes.OK, codes.OK, codes.OK},
		{"admin", w.admin, w.createReq(), codes.OK, codes.OK, codes.OK},
		{"assignee", w.assignee, w.createReq(), codes.OK, codes.PermissionDenied, codes.PermissionDenied},
		{"member of the assignee cell", w.cellMember, toCell, codes.OK, codes.PermissionDenied, codes.PermissionDenied},
		{"plain member", w.member, w.createReq(), codes.PermissionDenied, codes.PermissionDenied, codes.PermissionDenied},
		{"observer", w.observer, w.createReq(), codes.PermissionDenied, codes.PermissionDenied, codes.PermissionDenied},
		{"member of the cell, task of a person", w.cellMember, w.createReq(), codes.NotFound, codes.NotFound, codes.NotFound},
		{"outsider", w.outsider, toCell, codes.NotFound, codes.NotFound, codes.NotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task := w.create(t, w.chair, tc.req)
			id := task.GetId()
			_, err := w.client.UpdateTask(testenv.As(tc.c), &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 1, Status: inProgress})
			wantCode(t, "start", err, tc.status)
			v := task.GetVersion()
			if tc.status == codes.OK {
				v++
			}
			_, err = w.client.UpdateTask(testenv.As(tc.c), &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: v, Deadline: day(9)})
			wantCode(t, "change deadline", err, tc.plan)
			if tc.plan == codes.OK {
				v++
			}
			_, err = w.client.UpdateTask(testenv.As(tc.c), &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: v, Status: cancelled})
			wantCode(t, "cancel", err, tc.can)
			if tc.can == codes.OK {
				v++
			}
			_, err = w.client.UpdateTask(testenv.As(tc.c), &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: v,
				AssigneePersonId: w.member.Subject})
			if tc.can == codes.OK {
				wantCode(t, "reassign a cancelled task", err, codes.FailedPrecondition)
			} else {
				wantCode(t, "reassign", err, tc.plan)
			}
		})
	}
	_, err := w.client.UpdateTask(testenv.As(w.chair), &meetingsv1.UpdateTaskRequest{TaskId: newID(), ExpectedVersion: 1, Status: done})
	wantCode(t, "missing task", err, codes.NotFound)
}

func TestUpdateTaskVersionsAndValidation(t *testing.T) {
	w := newWorld(t)
	task := w.create(t, w.chair, w.createReq())
	id := task.GetId()
	w.update(t, w.assignee, &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 1, Status: inProgress})

	_, err := w.client.UpdateTask(testenv.As(w.chair), &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 1, Deadline: day(3)})
	st := wantCode(t, "stale version", err, codes.Aborted)
	if !strings.Contains(st.Message(), "current version is 2") {
		t.Errorf("message %q does not give the current version", st.Message())
	}

	for _, tc := range []struct {
		name string
		req  *meetingsv1.UpdateTaskRequest
		want []string
	}{
		{"no id", &meetingsv1.UpdateTaskRequest{ExpectedVersion: 2}, []string{"task_id/REQUIRED"}},
		{"no version", &meetingsv1.UpdateTaskRequest{TaskId: id, Status: done}, []string{"expected_version/REQUIRED"}},
		{"negative version", &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: -1}, []string{"expected_version/OUT_OF_RANGE"}},
		{"unknown status", &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 2, Status: 42}, []string{"status/UNKNOWN_VALUE"}},
		{"deadline not a date", &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 2, Deadline: "tomorrow"}, []string{"deadline/INVALID_DATE"}},
		{"deadline in the past", &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 2, Deadline: day(-3)}, []string{"deadline/OUT_OF_RANGE"}},
		{"two assignees", &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 2, AssigneePersonId: w.member.Subject,
			AssigneeOrganizationId: w.cell}, []string{"assignee_organization_id/TOO_MANY"}},
		{"unknown person", &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 2, AssigneePersonId: newID()}, []string{"assignee_person_id/NOT_FOUND"}},
		{"organisation elsewhere", &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 2, AssigneeOrganizationId: w.other},
			[]string{"assignee_organization_id/OUT_OF_RANGE"}},
	} {
		_, err := w.client.UpdateTask(testenv.As(w.chair), tc.req)
		wantViolations(t, tc.name, err, tc.want...)
	}

	// Reassigning: the event reaches the new assignee and the old one.
	task = w.update(t, w.chair, &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 2, AssigneeOrganizationId: w.cell, Deadline: day(7)})
	if task.GetAssigneePersonId() != "" || task.GetAssigneeOrganizationName() != "Chi bộ VNPT Văn Yên" || task.GetDeadline() != day(7) || task.GetVersion() != 3 {
		t.Errorf("after reassigning: %v", task)
	}
	task = w.update(t, w.chair, &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 3, AssigneePersonId: w.outsider.Subject})
	if task.GetAssigneePersonId() != w.outsider.Subject || task.GetAssigneePersonName() != w.outsider.Name || task.GetAssigneeOrganizationId() != "" {
		t.Errorf("after reassigning to a person: %v", task)
	}
	// A person from anywhere may be the assignee and then sees the task.
	if _, err := w.client.GetTask(testenv.As(w.outsider), &meetingsv1.GetTaskRequest{TaskId: id}); err != nil {
		t.Errorf("new assignee reads the task: %v", err)
	}
	if _, err := w.client.GetTask(testenv.As(w.assignee), &meetingsv1.GetTaskRequest{TaskId: id}); err == nil {
		t.Error("the former assignee still reads the task")
	}
	task = w.update(t, w.chair, &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 4, AssigneePersonId: w.assignee.Subject})
	evs := w.events(t, "task_updated")
	last := evs[len(evs)-1]
	if !slices.Contains(last.Audience, w.outsider.Subject) || !slices.Contains(last.Audience, w.assignee.Subject) {
		t.Errorf("reassignment audience %v lacks the old or new assignee", last.Audience)
	}

	// A request that changes nothing changes nothing: no version, no event.
	n := w.countEvents(t)
	same := w.update(t, w.assignee, &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 5, Status: inProgress,
		Deadline: day(7), AssigneePersonId: w.assignee.Subject})
	if same.GetVersion() != 5 || w.countEvents(t) != n {
		t.Errorf("no-op update: version %d, %d new events", same.GetVersion(), w.countEvents(t)-n)
	}

	// Once the deadline has passed, the assignee may still send it back
	// unchanged with a status change (as a form does).
	w.clock.Set(start.AddDate(0, 0, 10))
	task = w.update(t, w.assignee, &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 5, Status: done, Deadline: day(7)})
	if task.GetStatus() != done || task.GetOverdue() {
		t.Errorf("done after the deadline: %v overdue=%v", task.GetStatus(), task.GetOverdue())
	}
}

func TestProgressNotes(t *testing.T) {
	w := newWorld(t)
	task := w.create(t, w.chair, w.createReq())
	id := task.GetId()

	w.clock.Set(start.Add(3600e9))
	resp, err := w.client.AddProgressNote(testenv.As(w.assignee), &meetingsv1.AddProgressNoteRequest{TaskId: id, Text: " Đã hoàn thành dự thảo\r\nlần 1 ", PercentDone: 30})
	if err != nil {
		t.Fatal(err)
	}
	got := resp.GetTask()
	if got.GetVersion() != 2 || len(got.GetNotes()) != 1 {
		t.Fatalf("after a note: v%d, %d notes", got.GetVersion(), len(got.GetNotes()))
	}
	n := got.GetNotes()[0]
	if n.GetAuthorId() != w.assignee.Subject || n.GetAuthorName() != w.assignee.Name || n.GetText() != "Đã hoàn thành dự thảo\nlần 1" ||
		n.GetPercentDone() != 30 || !n.GetCreateTime().AsTime().Equal(start.Add(3600e9)) {
		t.Errorf("note = %v", n)
	}
	if got.GetStatus() != open {
		t.Errorf("a note changed the status to %v", got.GetStatus())
	}

	for _, tc := range []struct {
		name string
		req  *meetingsv1.AddProgressNoteRequest
		want []string
	}{
		{"lower than the last", &meetingsv1.AddProgressNoteRequest{TaskId: id, Text: "lùi", PercentDone: 20}, []string{"percent_done/OUT_OF_RANGE"}},
		{"over 100", &meetingsv1.AddProgressNoteRequest{TaskId: id, Text: "x", PercentDone: 101}, []string{"percent_done/OUT_OF_RANGE"}},
		{"negative", &meetingsv1.AddProgressNoteRequest{TaskId: id, Text: "x", PercentDone: -1}, []string{"percent_done/OUT_OF_RANGE"}},
		{"no text", &meetingsv1.AddProgressNoteRequest{TaskId: id, Text: " ", PercentDone: 40}, []string{"text/REQUIRED"}},
		{"text too long", &meetingsv1.AddProgressNoteRequest{TaskId: id, Text: strings.Repeat("ê", 2001), PercentDone: 40}, []string{"text/TOO_LONG"}},
		{"no task", &meetingsv1.AddProgressNoteRequest{Text: "x"}, []string{"task_id/REQUIRED"}},
	} {
		_, err := w.client.AddProgressNote(testenv.As(w.assignee), tc.req)
		wantViolations(t, tc.name, err, tc.want...)
	}

	// Who may write notes.
	for _, tc := range []struct {
		name string
		c    identity.Claims
		want codes.Code
	}{
		{"chair", w.chair, codes.OK},
		{"minute-taker", w.minuteTaker, codes.OK},
		{"admin", w.admin, codes.OK},
		{"plain member", w.member, codes.PermissionDenied},
		{"observer", w.observer, codes.PermissionDenied},
		{"member of the org", w.orgMember, codes.PermissionDenied},
		{"member of the cell", w.cellMember, codes.NotFound},
		{"outsider", w.outsider, codes.NotFound},
	} {
		_, err := w.client.AddProgressNote(testenv.As(tc.c), &meetingsv1.AddProgressNoteRequest{TaskId: id, Text: "tiến độ", PercentDone: 50})
		wantCode(t, tc.name, err, tc.want)
	}
	_, err = w.client.AddProgressNote(testenv.As(w.outsider), &meetingsv1.AddProgressNoteRequest{TaskId: newID(), Text: "x"})
	wantCode(t, "missing task", err, codes.NotFound)

	// Notes come back in order and each one was an event.
	got = w.getTask(t, w.chair, id)
	var percents []int32
	for _, n := range got.GetNotes() {
		percents = append(percents, n.GetPercentDone())
	}
	if diff := cmp.Diff([]int32{30, 50, 50, 50}, percents); diff != "" || got.GetVersion() != 5 {
		t.Errorf("notes (-want +got):\n%s version %d", diff, got.GetVersion())
	}
	if evs := w.events(t, "task_updated"); len(evs) != 4 {
		t.Errorf("%d task_updated events, want 4", len(evs))
	}

	// Not on a finished task.
	w.update(t, w.chair, &meetingsv1.UpdateTaskRequest{TaskId: id, ExpectedVersion: 5, Status: done})
	_, err = w.client.AddProgressNote(testenv.As(w.assignee), &meetingsv1.AddProgressNoteRequest{TaskId: id, Text: "thêm", PercentDone: 100})
	wantCode(t, "note on a done task", err, codes.FailedPrecondition)
}

func (w *world) getTask(t *testing.T, c identity.Claims, id string) *meetingsv1.Task {
	t.Helper()
	resp, err := w.client.GetTask(testenv.As(c), &meetingsv1.GetTaskRequest{TaskId: id})
	if err != nil {
		t.Fatalf("GetTask: %v", err)
	}
	return resp.GetTask()
}

func TestOverdueIsComputedOnRead(t *testing.T) {
	w := newWorld(t)
	a := w.create(t, w.chair, w.createReq()) // due day(2)
	b := w.create(t, w.chair, w.createReq())
	w.update(t, w.assignee, &meetingsv1.UpdateTaskRequest{TaskId: b.GetId(), ExpectedVersion: 1, Status: done})

	for _, tc := range []struct {
		at          int
		aOverdue    bool
		overdueOnly []string
	}{
		{2, false, nil}, // the deadline day
		{3, true, []string{a.GetId()}},
	} {
		w.clock.Set(start.AddDate(0, 0, tc.at).Add(-9 * 3600e9)) // 01:00 in Hanoi
		if got := w.getTask(t, w.chair, a.GetId()).GetOverdue(); got != tc.aOverdue {
			t.Errorf("day %d: open task overdue = %v, want %v", tc.at, got, tc.aOverdue)
		}
		if w.getTask(t, w.chair, b.GetId()).GetOverdue() {
			t.Errorf("day %d: done task is overdue", tc.at)
		}
		resp, err := w.client.ListTasks(testenv.As(w.chair), &meetingsv1.ListTasksRequest{MeetingId: w.meeting.GetId(), OverdueOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.overdueOnly, ids(resp.GetTasks())); diff != "" {
			t.Errorf("day %d: overdue_only (-want +got):\n%s", tc.at, diff)
		}
	}
}

func ids(ts []*meetingsv1.Task) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.GetId())
	}
	return out
}

func TestListTasks(t *testing.T) {
	w := newWorld(t)
	toPerson := w.create(t, w.chair, w.createReq())
	req := w.createReq()
	req.AssigneePersonId, req.AssigneeOrganizationId, req.Deadline = "", w.cell, day(4)
	toCell := w.create(t, w.chair, req)
	req = w.createReq()
	req.AssigneePersonId, req.Deadline = w.member.Subject, day(3)
	toMember := w.create(t, w.chair, req)
	w.update(t, w.member, &meetingsv1.UpdateTaskRequest{TaskId: toMember.GetId(), ExpectedVersion: 1, Status: inProgress})

	// Another meeting of another organisation, with its own task.
	otherMeeting := &meetingsv1.Meeting{Id: newID(), OrganizationId: w.other, State: meetingsv1.MeetingState_MEETING_STATE_ENDED,
		Agenda:       []*meetingsv1.AgendaItem{{Id: "item"}},
		Participants: []*meetingsv1.Participant{{PersonId: w.outsider.Subject, Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR}}}
	w.meetings.put(otherMeeting)
	elsewhere := w.create(t, w.outsider, &meetingsv1.CreateTaskRequest{MeetingId: otherMeeting.GetId(), AgendaItemId: "item",
		Title: "Việc khác", AssigneePersonId: w.outsider.Subject, Deadline: day(1)})

	list := func(c identity.Claims, r *meetingsv1.ListTasksRequest) ([]string, error) {
		resp, err := w.client.ListTasks(testenv.As(c), r)
		return ids(resp.GetTasks()), err
	}
	all := []string{toPerson.GetId(), toMember.GetId(), toCell.GetId()} // by deadline
	byMeeting := &meetingsv1.ListTasksRequest{MeetingId: w.meeting.GetId()}
	for _, tc := range []struct {
		name string
		c    identity.Claims
		req  *meetingsv1.ListTasksRequest
		want []string
	}{
		{"chair, by meeting", w.chair, byMeeting, all},
		{"observer, by meeting", w.observer, byMeeting, all},
		{"member of the org, by meeting", w.orgMember, byMeeting, all},
		{"admin, by meeting", w.admin, byMeeting, all},
		{"system admin, by meeting", w.root, byMeeting, all},
		{"cell member, by meeting: only the cell's", w.cellMember, byMeeting, []string{toCell.GetId()}},
		{"assignee from the cell, by meeting", w.assignee, byMeeting, []string{toPerson.GetId(), toCell.GetId()}},
		{"chair, by meeting, in progress", w.chair, &meetingsv1.ListTasksRequest{MeetingId: w.meeting.GetId(), Status: inProgress}, []string{toMember.GetId()}},
		{"member, by organisation", w.member, &meetingsv1.ListTasksRequest{OrganizationId: w.bloc}, all},
		{"cell member, by own organisation", w.cellMember, &meetingsv1.ListTasksRequest{OrganizationId: w.cell}, []string{toCell.GetId()}},
		{"outsider, by another organisation", w.outsider, &meetingsv1.ListTasksRequest{OrganizationId: w.bloc}, nil},
		{"outsider, by own organisation", w.outsider, &meetingsv1.ListTasksRequest{OrganizationId: w.other}, []string{elsewhere.GetId()}},
		{"assignee, mine: own and the cell's", w.assignee, &meetingsv1.ListTasksRequest{Mine: true}, []string{toPerson.GetId(), toCell.GetId()}},
		{"member, mine", w.member, &meetingsv1.ListTasksRequest{Mine: true}, []string{toMember.GetId()}},
		{"chair, mine", w.chair, &meetingsv1.ListTasksRequest{Mine: true}, nil},
		{"member, no filter: what they may see", w.member, &meetingsv1.ListTasksRequest{}, all},
		{"system admin, no filter", w.root, &meetingsv1.ListTasksRequest{}, []string{elsewhere.GetId(), toPerson.GetId(), toMember.GetId(), toCell.GetId()}},
	} {
		got, err := list(tc.c, tc.req)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}

	// A meeting the caller may not see, and where nothing is theirs, does
	// not exist for them; nor does a missing one.
	_, err := list(w.outsider, byMeeting)
	wantCode(t, "outsider, by meeting", err, codes.NotFound)
	_, err = list(w.cellMember, &meetingsv1.ListTasksRequest{MeetingId: otherMeeting.GetId()})
	wantCode(t, "cell member, other org's meeting", err, codes.NotFound)
	_, err = list(w.chair, &meetingsv1.ListTasksRequest{MeetingId: newID()})
	wantCode(t, "missing meeting", err, codes.NotFound)
	// Having a task there, an assignee gets an empty page when filtering
	// everything out, not NotFound.
	if got, err := list(w.cellMember, &meetingsv1.ListTasksRequest{MeetingId: w.meeting.GetId(), Status: done}); err != nil || got != nil {
		t.Errorf("cell member, by meeting, done: %v %v", got, err)
	}

	_, err = list(w.chair, &meetingsv1.ListTasksRequest{MeetingId: "m1"})
	wantViolations(t, "malformed meeting id", err, "meeting_id/INVALID_FORMAT")
	_, err = list(w.chair, &meetingsv1.ListTasksRequest{Status: 9})
	wantViolations(t, "unknown status", err, "status/UNKNOWN_VALUE")
	_, err = list(w.chair, &meetingsv1.ListTasksRequest{OrganizationId: strings.Repeat("x", 129)})
	wantViolations(t, "long organisation id", err, "organization_id/TOO_LONG")
}

func TestNotReadyIsUnavailable(t *testing.T) {
	w := newWorldWith(t, func(d *tasks.Deps) { d.Ready = func() bool { return false } })
	_, err := w.client.GetTask(testenv.As(w.chair), &meetingsv1.GetTaskRequest{TaskId: newID()})
	wantCode(t, "GetTask before migrations", err, codes.Unavailable)
	_, err = w.client.CreateTask(testenv.As(w.chair), w.createReq())
	wantCode(t, "CreateTask before migrations", err, codes.Unavailable)
}

// Concurrent changes based on the same version: one wins, the others are
// told the version moved on; concurrent notes all land, in some order.
func TestConcurrentChanges(t *testing.T) {
	w := newWorld(t)
	task := w.create(t, w.chair, w.createReq())
	const n = 6
	codesSeen := make(chan codes.Code, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := w.client.UpdateTask(testenv.As(w.chair), &meetingsv1.UpdateTaskRequest{TaskId: task.GetId(), ExpectedVersion: 1, Deadline: day(3 + i)})
			codesSeen <- status.Code(err)
		}()
	}
	wg.Wait()
	close(codesSeen)
	count := map[codes.Code]int{}
	for c := range codesSeen {
		count[c]++
	}
	if count[codes.OK] != 1 || count[codes.Aborted] != n-1 {
		t.Errorf("outcomes %v, want one OK and %d Aborted", count, n-1)
	}

	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := w.client.AddProgressNote(testenv.As(w.assignee), &meetingsv1.AddProgressNoteRequest{TaskId: task.GetId(), Text: fmt.Sprint("ghi chú ", i)}); err != nil {
				t.Errorf("note %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	got := w.getTask(t, w.chair, task.GetId())
	if len(got.GetNotes()) != n || got.GetVersion() != 2+n {
		t.Errorf("after %d concurrent notes: %d notes, version %d", n, len(got.GetNotes()), got.GetVersion())
	}
}
