package tasks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/outbox"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const (
	// maxList bounds ListTasks, which has no paging: a task list longer
	// than this is not something a person reads on a tablet.
	maxList = 1000
	// maxOrgDepth bounds the walk up the organisation tree; a real tree is
	// three or four levels deep, and a cycle must not loop forever.
	maxOrgDepth = 32
	maxIDLen    = 128
)

// api implements meetingsv1.TasksServiceServer. Handlers answer, in this
// order: Unauthenticated, Unavailable, InvalidArgument for a malformed id,
// NotFound (the caller may not see it), PermissionDenied, InvalidArgument,
// Aborted (stale version), FailedPrecondition (the status forbids it).
type api struct {
	meetingsv1.UnimplementedTasksServiceServer
	s *Service
}

// begin returns the caller once the service can serve.
func (a *api) begin(ctx context.Context) (identity.Claims, error) {
	c, err := rpcerr.Caller(ctx, service)
	if err != nil {
		return c, err
	}
	return c, rpcerr.CheckReady(service, a.s.d.Ready())
}

func invalid(vs []rpcerr.Violation) error { return rpcerr.Invalid(service, vs) }

func taskNotFound(id string) error {
	return status.Errorf(codes.NotFound, "%s: task %s not found", service, id)
}

func meetingNotFound(id string) error {
	return status.Errorf(codes.NotFound, "%s: meeting %s not found", service, id)
}

// refusal turns a domain refusal into its status, and anything else (a
// database or dependency failure) into Internal or Unavailable.
func (a *api) refusal(ctx context.Context, op string, err error) error {
	var denied *deniedError
	var illegal *illegalError
	switch {
	case errors.As(err, &denied):
		return status.Error(codes.PermissionDenied, service+": "+denied.Error())
	case errors.As(err, &illegal):
		return status.Error(codes.FailedPrecondition, service+": "+illegal.Error())
	}
	if st, ok := status.FromError(err); ok {
		return st.Err()
	}
	return rpcerr.FromStore(ctx, a.s.log, service, op, err)
}

// meeting returns the meeting, or nil if it does not exist (any more).
func (a *api) meeting(ctx context.Context, id string) (*meetingsv1.Meeting, error) {
	m, err := a.s.d.Meetings.Meeting(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("meeting %s: %w", id, err)
	}
	return m, nil
}

// names holds the directory's names of an assignee.
type names struct{ person, org string }

// resolveAssignee looks up the assignee's name: a person must exist; an
// organisation must be the meeting's organisation meetingOrg or one below
// it. Unknown ids are request errors (violations), not failures.
func (a *api) resolveAssignee(ctx context.Context, as assignment, meetingOrg string) (names, []rpcerr.Violation, error) {
	var n names
	if as.PersonID != "" {
		name, err := a.s.d.Directory.Person(ctx, as.PersonID, meetingOrg)
		if errors.Is(err, ErrNotFound) {
			return n, []rpcerr.Violation{{Field: "assignee_person_id", Reason: reasonNotFound, Description: "names no person"}}, nil
		}
		if err != nil {
			return n, nil, fmt.Errorf("person %s: %w", as.PersonID, err)
		}
		n.person = name
	}
	if as.OrganizationID == "" {
		return n, nil, nil
	}
	o, err := a.s.d.Directory.Organization(ctx, as.OrganizationID)
	if errors.Is(err, ErrNotFound) {
		return n, []rpcerr.Violation{{Field: "assignee_organization_id", Reason: reasonNotFound, Description: "names no organisation"}}, nil
	}
	if err != nil {
		return n, nil, fmt.Errorf("organisation %s: %w", as.OrganizationID, err)
	}
	n.org = o.GetName()
	// Walk up from the assignee to the meeting's organisation.
	id := as.OrganizationID
	for depth := 0; depth < maxOrgDepth; depth++ {
		if id == meetingOrg {
			return n, nil, nil
		}
		if id = o.GetParentId(); id == "" {
			break
		}
		o, err = a.s.d.Directory.Organization(ctx, id)
		if errors.Is(err, ErrNotFound) {
			break // a broken parent link: not provably below
		}
		if err != nil {
			return n, nil, fmt.Errorf("organisation %s: %w", id, err)
		}
	}
	return n, []rpcerr.Violation{{Field: "assignee_organization_id", Reason: reasonOutOfRange,
		Description: "must be the meeting's organisation or one below it"}}, nil
}

func (a *api) CreateTask(ctx context.Context, req *meetingsv1.CreateTaskRequest) (*meetingsv1.CreateTaskResponse, error) {
	c, err := a.begin(ctx)
	if err != nil {
		return nil, err
	}
	now := a.s.d.Now()
	today := Today(now)

	meetingID, vs := parseID("meeting_id", req.GetMeetingId(), true)
	agendaItem := strings.TrimSpace(req.GetAgendaItemId())
	if agendaItem == "" {
		vs = append(vs, rpcerr.Violation{Field: "agenda_item_id", Reason: rpcerr.ReasonRequired, Description: "must not be empty"})
	}
	title := normalizeLine(req.GetTitle())
	vs = append(vs, checkText("title", title, maxTitleLen, true, false)...)
	description := normalizeText(req.GetDescription())
	vs = append(vs, checkText("description", description, maxDescriptionLen, false, true)...)
	deadline, dvs := checkDeadline("deadline", req.GetDeadline(), today)
	vs = append(vs, dvs...)
	as, avs := checkAssignment(req.GetAssigneePersonId(), req.GetAssigneeOrganizationId(), true)
	vs = append(vs, avs...)
	if meetingID == "" {
		return nil, invalid(vs)
	}

	m, err := a.meeting(ctx, meetingID)
	if err != nil {
		return nil, a.refusal(ctx, "CreateTask", err)
	}
	if m == nil {
		return nil, meetingNotFound(meetingID)
	}
	acc := accessOf(c, m.GetOrganizationId(), m, assignment{})
	if !acc.Visible {
		return nil, meetingNotFound(meetingID)
	}
	if !acc.Runner {
		return nil, a.refusal(ctx, "CreateTask", &deniedError{
			"only the meeting's chair or minute-taker, or an administrator of its organisation, may create tasks"})
	}
	if agendaItem != "" && !slices.ContainsFunc(m.GetAgenda(), func(i *meetingsv1.AgendaItem) bool { return i.GetId() == agendaItem }) {
		vs = append(vs, rpcerr.Violation{Field: "agenda_item_id", Reason: reasonNotFound, Description: "is not an item of the meeting's agenda"})
	}
	var n names
	if len(avs) == 0 {
		var nvs []rpcerr.Violation
		if n, nvs, err = a.resolveAssignee(ctx, as, m.GetOrganizationId()); err != nil {
			return nil, a.refusal(ctx, "CreateTask", err)
		}
		vs = append(vs, nvs...)
	}
	if len(vs) > 0 {
		return nil, invalid(vs)
	}
	if err := meetingAllowsTasks(m.GetState()); err != nil {
		return nil, a.refusal(ctx, "CreateTask", err)
	}

	id, err := uuid.NewV7()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%s: new id: %v", service, err)
	}
	t := &task{
		ID: id.String(), OrganizationID: m.GetOrganizationId(), MeetingID: meetingID, AgendaItemID: agendaItem,
		Title: title, Description: description, Assignee: as, PersonName: n.person, OrganizationName: n.org,
		Deadline: deadline, Status: statusOpen, Version: 1, CreateTime: now,
	}
	pt := t.proto(today)
	err = pgx.BeginFunc(ctx, a.s.d.Pool, func(tx pgx.Tx) error {
		if err := insertTask(ctx, tx, t, c.Subject); err != nil {
			return err
		}
		meta := outbox.NewMeta(c.Subject, t.ID, t.OrganizationID, t.Version)
		meta.Audience = audience(m, as.PersonID)
		return enqueue(ctx, tx, t.MeetingID, "task_created", &meetingsv1.TaskCreated{Meta: meta, Task: pt})
	})
	if err != nil {
		return nil, a.refusal(ctx, "CreateTask", err)
	}
	return &meetingsv1.CreateTaskResponse{Task: pt}, nil
}

// enqueue stores a task event of a meeting in tx, on
// ecabinet.meetings.v1.<meeting_id>.<event>.
func enqueue(ctx context.Context, tx pgx.Tx, meetingID, event string, ev proto.Message) error {
	if err := outbox.Enqueue(ctx, tx, eventSubject(meetingID, event), ev); err != nil {
		return fmt.Errorf("enqueue %s: %w", event, err)
	}
	return nil
}

func (a *api) GetTask(ctx context.Context, req *meetingsv1.GetTaskRequest) (*meetingsv1.GetTaskResponse, error) {
	c, err := a.begin(ctx)
	if err != nil {
		return nil, err
	}
	id, vs := parseID("task_id", req.GetTaskId(), true)
	if len(vs) > 0 {
		return nil, invalid(vs)
	}
	t, _, acc, err := a.load(ctx, c, id)
	if err != nil {
		return nil, a.refusal(ctx, "GetTask", err)
	}
	if !acc.Visible {
		return nil, taskNotFound(id)
	}
	return &meetingsv1.GetTaskResponse{Task: t.proto(Today(a.s.d.Now()))}, nil
}

// load reads a task (unlocked) with its meeting and c's access to it; a
// task that does not exist has no access at all.
func (a *api) load(ctx context.Context, c identity.Claims, id string) (*task, *meetingsv1.Meeting, access, error) {
	t, err := getTask(ctx, a.s.d.Pool, id, false)
	if errors.Is(err, errNoTask) {
		return nil, nil, access{}, nil
	}
	if err != nil {
		return nil, nil, access{}, err
	}
	m, err := a.meeting(ctx, t.MeetingID)
	if err != nil {
		return nil, nil, access{}, err
	}
	return t, m, accessOf(c, t.OrganizationID, m, t.Assignee), nil
}

func (a *api) ListTasks(ctx context.Context, req *meetingsv1.ListTasksRequest) (*meetingsv1.ListTasksResponse, error) {
	c, err := a.begin(ctx)
	if err != nil {
		return nil, err
	}
	today := Today(a.s.d.Now())
	meetingID, vs := parseID("meeting_id", req.GetMeetingId(), false)
	org := strings.TrimSpace(req.GetOrganizationId())
	if len(org) > maxIDLen {
		vs = append(vs, rpcerr.Violation{Field: "organization_id", Reason: rpcerr.ReasonTooLong,
			Description: fmt.Sprintf("must be at most %d characters", maxIDLen)})
	}
	vs = append(vs, checkStatus(req.GetStatus())...)
	if len(vs) > 0 {
		return nil, invalid(vs)
	}

	seeOrgs := append(slices.Clone(c.Orgs), c.AdminOrgs...)
	f := listFilter{
		MeetingID: meetingID, OrgID: org, Status: req.GetStatus(), OverdueOnly: req.GetOverdueOnly(), Today: today,
		Mine: req.GetMine(), MineOf: c.Subject, MineOrgs: append([]string{}, c.Orgs...),
		All: c.HasRole(identity.RoleSystemAdmin), Me: c.Subject, SeeOrgs: append([]string{}, seeOrgs...),
		Limit: maxList,
	}
	meetingHidden := false
	if meetingID != "" {
		m, err := a.meeting(ctx, meetingID)
		if err != nil {
			return nil, a.refusal(ctx, "ListTasks", err)
		}
		if m == nil {
			return nil, meetingNotFound(meetingID)
		}
		if accessOf(c, m.GetOrganizationId(), m, assignment{}).Visible {
			// Participants see every task of the meeting; the SQL
			// visibility rule alone knows only organisations.
			f.SeeMeeting = meetingID
		} else {
			meetingHidden = true
		}
	}
	ts, err := listTasks(ctx, a.s.d.Pool, f)
	if err != nil {
		return nil, a.refusal(ctx, "ListTasks", err)
	}
	if meetingHidden && len(ts) == 0 {
		// The caller may not see the meeting, only tasks of it assigned to
		// them. Having none at all (whatever the other filters) is told
		// like a missing meeting, so ids cannot be probed.
		own, err := listTasks(ctx, a.s.d.Pool, listFilter{MeetingID: meetingID, Me: c.Subject,
			SeeOrgs: append([]string{}, seeOrgs...), Limit: 1})
		if err != nil {
			return nil, a.refusal(ctx, "ListTasks", err)
		}
		if len(own) == 0 {
			return nil, meetingNotFound(meetingID)
		}
	}
	resp := &meetingsv1.ListTasksResponse{}
	for _, t := range ts {
		resp.Tasks = append(resp.Tasks, t.proto(today))
	}
	return resp, nil
}

func (a *api) UpdateTask(ctx context.Context, req *meetingsv1.UpdateTaskRequest) (*meetingsv1.UpdateTaskResponse, error) {
	c, err := a.begin(ctx)
	if err != nil {
		return nil, err
	}
	now := a.s.d.Now()
	today := Today(now)
	id, vs := parseID("task_id", req.GetTaskId(), true)
	if len(vs) > 0 {
		return nil, invalid(vs)
	}
	switch v := req.GetExpectedVersion(); {
	case v < 0:
		vs = append(vs, rpcerr.Violation{Field: "expected_version", Reason: reasonOutOfRange, Description: "must not be negative"})
	case v == 0:
		vs = append(vs, rpcerr.Violation{Field: "expected_version", Reason: rpcerr.ReasonRequired,
			Description: "must be the version of the task the change is based on"})
	}
	vs = append(vs, checkStatus(req.GetStatus())...)
	// Whether a deadline is in the past matters only if it changes: a
	// client may send the current one back with a status change.
	deadline, dvs := checkDeadline("deadline", req.GetDeadline(), "")
	if strings.TrimSpace(req.GetDeadline()) != "" {
		vs = append(vs, dvs...)
	}
	as, avs := checkAssignment(req.GetAssigneePersonId(), req.GetAssigneeOrganizationId(), false)
	vs = append(vs, avs...)
	newAssignee := as != assignment{}

	t0, m, _, err := a.load(ctx, c, id)
	if err != nil {
		return nil, a.refusal(ctx, "UpdateTask", err)
	}
	if t0 == nil {
		return nil, taskNotFound(id)
	}
	// Names are looked up before the transaction so that no lock is held
	// while the directory answers; the task's organisation never changes.
	var n names
	var nvs []rpcerr.Violation
	if newAssignee && len(avs) == 0 {
		if n, nvs, err = a.resolveAssignee(ctx, as, t0.OrganizationID); err != nil {
			return nil, a.refusal(ctx, "UpdateTask", err)
		}
	}

	var pt *meetingsv1.Task
	err = pgx.BeginFunc(ctx, a.s.d.Pool, func(tx pgx.Tx) error {
		t, err := getTask(ctx, tx, id, true)
		if err != nil {
			return err
		}
		acc := accessOf(c, t.OrganizationID, m, t.Assignee)
		if !acc.Visible {
			return taskNotFound(id)
		}
		to := req.GetStatus()
		moves := to != meetingsv1.TaskStatus_TASK_STATUS_UNSPECIFIED && to != t.Status
		redates := deadline != "" && deadline != t.Deadline
		reassigns := newAssignee && as != t.Assignee
		if moves {
			if err := mayMove(to, acc); err != nil {
				return err
			}
		}
		if redates || reassigns {
			if err := mayPlan(acc); err != nil {
				return err
			}
		}
		if redates && deadline < today {
			vs = append(vs, rpcerr.Violation{Field: "deadline", Reason: reasonOutOfRange,
				Description: fmt.Sprintf("must not be in the past (today is %s in Vietnam)", today)})
		}
		if reassigns {
			vs = append(vs, nvs...)
		}
		if len(vs) > 0 {
			return invalid(vs)
		}
		if req.GetExpectedVersion() != t.Version {
			return status.Errorf(codes.Aborted, "%s: task %s has changed since version %d; the current version is %d",
				service, id, req.GetExpectedVersion(), t.Version)
		}
		if !moves && !redates && !reassigns {
			pt = t.proto(today)
			return nil
		}
		if moves {
			if err := checkTransition(t.Status, to, acc); err != nil {
				return err
			}
			t.Status = to
		} else if final(t.Status) {
			return finalError(t.Status)
		}
		oldPerson := t.Assignee.PersonID
		if redates {
			t.Deadline = deadline
		}
		if reassigns {
			t.Assignee, t.PersonName, t.OrganizationName = as, n.person, n.org
		}
		t.Version++
		if err := saveTask(ctx, tx, t, now); err != nil {
			return err
		}
		pt = t.proto(today)
		meta := outbox.NewMeta(c.Subject, t.ID, t.OrganizationID, t.Version)
		meta.Audience = audience(m, oldPerson, t.Assignee.PersonID)
		return enqueue(ctx, tx, t.MeetingID, "task_updated", &meetingsv1.TaskUpdated{Meta: meta, Task: pt})
	})
	if errors.Is(err, errNoTask) {
		return nil, taskNotFound(id)
	}
	if err != nil {
		return nil, a.refusal(ctx, "UpdateTask", err)
	}
	return &meetingsv1.UpdateTaskResponse{Task: pt}, nil
}

func (a *api) AddProgressNote(ctx context.Context, req *meetingsv1.AddProgressNoteRequest) (*meetingsv1.AddProgressNoteResponse, error) {
	c, err := a.begin(ctx)
	if err != nil {
		return nil, err
	}
	now := a.s.d.Now()
	today := Today(now)
	id, vs := parseID("task_id", req.GetTaskId(), true)
	if len(vs) > 0 {
		return nil, invalid(vs)
	}
	text := normalizeText(req.GetText())
	vs = append(vs, checkText("text", text, maxNoteLen, true, true)...)
	percent := req.GetPercentDone()
	if percent < 0 || percent > 100 {
		vs = append(vs, rpcerr.Violation{Field: "percent_done", Reason: reasonOutOfRange, Description: "must be between 0 and 100"})
	}

	t0, m, _, err := a.load(ctx, c, id)
	if err != nil {
		return nil, a.refusal(ctx, "AddProgressNote", err)
	}
	if t0 == nil {
		return nil, taskNotFound(id)
	}
	var pt *meetingsv1.Task
	err = pgx.BeginFunc(ctx, a.s.d.Pool, func(tx pgx.Tx) error {
		t, err := getTask(ctx, tx, id, true)
		if err != nil {
			return err
		}
		acc := accessOf(c, t.OrganizationID, m, t.Assignee)
		if !acc.Visible {
			return taskNotFound(id)
		}
		if err := mayWork(acc); err != nil {
			return err
		}
		if len(vs) > 0 {
			return invalid(vs)
		}
		pvs, err := checkNote(t.Status, acc, percent, t.lastPercent())
		if err != nil {
			return err
		}
		if len(pvs) > 0 {
			return invalid(pvs)
		}
		n := note{AuthorID: c.Subject, AuthorName: normalizeLine(c.Name), Text: text, Percent: percent, CreateTime: now}
		t.Version++
		if err := addNote(ctx, tx, t, n); err != nil {
			return err
		}
		t.Notes = append(t.Notes, n)
		pt = t.proto(today)
		meta := outbox.NewMeta(c.Subject, t.ID, t.OrganizationID, t.Version)
		meta.Audience = audience(m, t.Assignee.PersonID)
		return enqueue(ctx, tx, t.MeetingID, "task_updated", &meetingsv1.TaskUpdated{Meta: meta, Task: pt})
	})
	if errors.Is(err, errNoTask) {
		return nil, taskNotFound(id)
	}
	if err != nil {
		return nil, a.refusal(ctx, "AddProgressNote", err)
	}
	return &meetingsv1.AddProgressNoteResponse{Task: pt}, nil
}
