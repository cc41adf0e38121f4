package tasks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// errNoTask is a task id that names no row.
var errNoTask = errors.New("task not found")

// task is one row of the tasks table with its notes.
type task struct {
	ID, OrganizationID, MeetingID, AgendaItemID string
	Title, Description                          string
	Assignee                                    assignment
	PersonName, OrganizationName                string
	Deadline                                    string // YYYY-MM-DD
	Status                                      taskStatus
	Version                                     int64
	CreateTime                                  time.Time
	Notes                                       []note
}

type note struct {
	AuthorID, AuthorName, Text string
	Percent                    int32
	CreateTime                 time.Time
}

// lastPercent is the progress the latest note reported (0 without notes).
func (t *task) lastPercent() int32 {
	if len(t.Notes) == 0 {
		return 0
	}
	return t.Notes[len(t.Notes)-1].Percent
}

// proto renders t as the API shows it on day today.
func (t *task) proto(today string) *meetingsv1.Task {
	p := &meetingsv1.Task{
		Id:                       t.ID,
		OrganizationId:           t.OrganizationID,
		MeetingId:                t.MeetingID,
		AgendaItemId:             t.AgendaItemID,
		Title:                    t.Title,
		Description:              t.Description,
		AssigneePersonId:         t.Assignee.PersonID,
		AssigneePersonName:       t.PersonName,
		AssigneeOrganizationId:   t.Assignee.OrganizationID,
		AssigneeOrganizationName: t.OrganizationName,
		Deadline:                 t.Deadline,
		Status:                   t.Status,
		Overdue:                  overdue(t.Deadline, t.Status, today),
		Version:                  t.Version,
		CreateTime:               timestamppb.New(t.CreateTime),
	}
	for _, n := range t.Notes {
		p.Notes = append(p.Notes, &meetingsv1.ProgressNote{
			AuthorId: n.AuthorID, AuthorName: n.AuthorName, Text: n.Text,
			PercentDone: n.Percent, CreateTime: timestamppb.New(n.CreateTime),
		})
	}
	return p
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Dates travel as text and come back through to_char, so no time zone
// conversion can move a day.
const taskColumns = `id::text, organization_id, meeting_id::text, agenda_item_id, title, description,
	assignee_person_id, assignee_person_name, assignee_organization_id, assignee_organization_name,
	to_char(deadline, 'YYYY-MM-DD'), status, version, create_time`

// unfinished is the SQL list of statuses that can become overdue.
const unfinished = `('TASK_STATUS_OPEN', 'TASK_STATUS_IN_PROGRESS')`

func scanTask(row pgx.Row) (*task, error) {
	var t task
	var status string
	err := row.Scan(&t.ID, &t.OrganizationID, &t.MeetingID, &t.AgendaItemID, &t.Title, &t.Description,
		&t.Assignee.PersonID, &t.PersonName, &t.Assignee.OrganizationID, &t.OrganizationName,
		&t.Deadline, &status, &t.Version, &t.CreateTime)
	if err != nil {
		return nil, err
	}
	v, ok := meetingsv1.TaskStatus_value[status]
	if !ok {
		return nil, fmt.Errorf("task %s has unknown status %q", t.ID, status)
	}
	t.Status = taskStatus(v)
	return &t, nil
}

// getTask loads a task and its notes; with lock the row stays locked until
// tx ends, which serialises every change of one task.
func getTask(ctx context.Context, q querier, id string, lock bool) (*task, error) {
	sql := `SELECT ` + taskColumns + ` FROM tasks WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	t, err := scanTask(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoTask
	}
	if err != nil {
		return nil, fmt.Errorf("get task %s: %w", id, err)
	}
	if err := loadNotes(ctx, q, []*task{t}); err != nil {
		return nil, err
	}
	return t, nil
}

// loadNotes fills in the notes of ts with one query.
func loadNotes(ctx context.Context, q querier, ts []*task) error {
	if len(ts) == 0 {
		return nil
	}
	byID := make(map[string]*task, len(ts))
	ids := make([]string, 0, len(ts))
	for _, t := range ts {
		byID[t.ID] = t
		ids = append(ids, t.ID)
	}
	rows, err := q.Query(ctx, `
		SELECT task_id::text, author_id, author_name, text, percent_done, create_time
		FROM task_notes WHERE task_id = ANY($1::uuid[]) ORDER BY task_id, seq`, ids)
	if err != nil {
		return fmt.Errorf("load notes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n note
		if err := rows.Scan(&id, &n.AuthorID, &n.AuthorName, &n.Text, &n.Percent, &n.CreateTime); err != nil {
			return fmt.Errorf("load notes: %w", err)
		}
		byID[id].Notes = append(byID[id].Notes, n)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load notes: %w", err)
	}
	return nil
}

func insertTask(ctx context.Context, tx pgx.Tx, t *task, createdBy string) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO tasks (id, organization_id, meeting_id, agenda_item_id, title, description,
			assignee_person_id, assignee_person_name, assignee_organization_id, assignee_organization_name,
			deadline, status, version, created_by, create_time, update_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::date, $12, $13, $14, $15, $15)`,
		t.ID, t.OrganizationID, t.MeetingID, t.AgendaItemID, t.Title, t.Description,
		t.Assignee.PersonID, t.PersonName, t.Assignee.OrganizationID, t.OrganizationName,
		t.Deadline, t.Status.String(), t.Version, createdBy, t.CreateTime)
	if err != nil {
		return fmt.Errorf("insert task: %w", err)
	}
	return nil
}

// saveTask writes the fields UpdateTask may change and the new version.
func saveTask(ctx context.Context, tx pgx.Tx, t *task, now time.Time) error {
	_, err := tx.Exec(ctx, `
		UPDATE tasks SET status = $2, deadline = $3::date,
			assignee_person_id = $4, assignee_person_name = $5,
			assignee_organization_id = $6, assignee_organization_name = $7,
			version = $8, update_time = $9
		WHERE id = $1`,
		t.ID, t.Status.String(), t.Deadline, t.Assignee.PersonID, t.PersonName,
		t.Assignee.OrganizationID, t.OrganizationName, t.Version, now)
	if err != nil {
		return fmt.Errorf("update task %s: %w", t.ID, err)
	}
	return nil
}

// addNote appends a note to a task locked by the caller's transaction and
// bumps the task's version.
func addNote(ctx context.Context, tx pgx.Tx, t *task, n note) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO task_notes (task_id, seq, author_id, author_name, text, percent_done, create_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.ID, len(t.Notes)+1, n.AuthorID, n.AuthorName, n.Text, n.Percent, n.CreateTime)
	if err != nil {
		return fmt.Errorf("insert note of task %s: %w", t.ID, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE tasks SET version = $2, update_time = $3 WHERE id = $1`,
		t.ID, t.Version, n.CreateTime); err != nil {
		return fmt.Errorf("update task %s: %w", t.ID, err)
	}
	return nil
}

// listFilter selects tasks. Set fields AND together; the visibility fields
// restrict the result to what the caller may see.
type listFilter struct {
	MeetingID   string
	OrgID       string
	Status      taskStatus // unspecified: any
	OverdueOnly bool
	Today       string
	// Mine: assigned to MineOf as a person or to one of MineOrgs.
	Mine     bool
	MineOf   string
	MineOrgs []string

	// Visibility. All sees everything (system administrator). Otherwise a
	// task is visible if its organisation or assignee organisation is in
	// SeeOrgs (member or administrator), its assignee person is Me, or it
	// comes from SeeMeeting (a meeting the caller may see as participant).
	All        bool
	Me         string
	SeeOrgs    []string
	SeeMeeting string

	Limit int
}

// listTasks returns the matching tasks with their notes, by deadline then
// creation.
func listTasks(ctx context.Context, q querier, f listFilter) ([]*task, error) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.MeetingID != "" {
		conds = append(conds, "meeting_id = "+arg(f.MeetingID)+"::uuid")
	}
	if f.OrgID != "" {
		p := arg(f.OrgID)
		conds = append(conds, "(organization_id = "+p+" OR assignee_organization_id = "+p+")")
	}
	if f.Status != meetingsv1.TaskStatus_TASK_STATUS_UNSPECIFIED {
		conds = append(conds, "status = "+arg(f.Status.String()))
	}
	if f.OverdueOnly {
		conds = append(conds, "status IN "+unfinished+" AND deadline < "+arg(f.Today)+"::date")
	}
	if f.Mine {
		conds = append(conds, "(assignee_person_id = "+arg(f.MineOf)+
			" OR assignee_organization_id = ANY("+arg(f.MineOrgs)+"::text[]))")
	}
	if !f.All {
		orgs := arg(f.SeeOrgs)
		vis := "organization_id = ANY(" + orgs + "::text[]) OR assignee_organization_id = ANY(" + orgs +
			"::text[]) OR assignee_person_id = " + arg(f.Me)
		if f.SeeMeeting != "" {
			vis += " OR meeting_id = " + arg(f.SeeMeeting) + "::uuid"
		}
		conds = append(conds, "("+vis+")")
	}
	sql := `SELECT ` + taskColumns + ` FROM tasks`
	if len(conds) > 0 {
		sql += ` WHERE ` + strings.Join(conds, " AND ")
	}
	sql += ` ORDER BY deadline, id LIMIT ` + arg(f.Limit)

	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*task, error) { return scanTask(r) })
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	if err := loadNotes(ctx, q, ts); err != nil {
		return nil, err
	}
	return ts, nil
}

// dueReminders returns up to limit ids (and meeting ids) of tasks overdue
// on day today that have not been announced that day, after id after.
func dueReminders(ctx context.Context, q querier, today, after string, limit int) (ids, meetings []string, err error) {
	rows, err := q.Query(ctx, `
		SELECT id::text, meeting_id::text FROM tasks
		WHERE status IN `+unfinished+` AND deadline < $1::date
		  AND (last_reminded_on IS NULL OR last_reminded_on < $1::date)
		  AND id > $2::uuid
		ORDER BY id LIMIT $3`, today, after, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("find overdue tasks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, m string
		if err := rows.Scan(&id, &m); err != nil {
			return nil, nil, fmt.Errorf("find overdue tasks: %w", err)
		}
		ids, meetings = append(ids, id), append(meetings, m)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("find overdue tasks: %w", err)
	}
	return ids, meetings, nil
}

// claimReminder marks task id as announced on day today if it is still
// overdue and not yet announced that day, and returns it; errNoTask if
// not (done meanwhile, or another reminder got there first). The row lock
// taken by the UPDATE makes a concurrent claimer wait for this transaction
// and then find the row already claimed.
func claimReminder(ctx context.Context, tx pgx.Tx, id, today string) (*task, error) {
	t, err := scanTask(tx.QueryRow(ctx, `
		UPDATE tasks SET last_reminded_on = $2::date
		WHERE id = $1 AND status IN `+unfinished+` AND deadline < $2::date
		  AND (last_reminded_on IS NULL OR last_reminded_on < $2::date)
		RETURNING `+taskColumns, id, today))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoTask
	}
	if err != nil {
		return nil, fmt.Errorf("claim reminder of task %s: %w", id, err)
	}
	if err := loadNotes(ctx, tx, []*task{t}); err != nil {
		return nil, err
	}
	return t, nil
}
