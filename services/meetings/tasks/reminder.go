package tasks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/outbox"
	"github.com/jackc/pgx/v5"
)

// DefaultReminderInterval is how often a Reminder looks for overdue tasks
// unless told otherwise. A task is announced once per day however often it
// looks; looking hourly means a task is announced within an hour of the
// Vietnamese day starting (or of the service starting).
const DefaultReminderInterval = time.Hour

// reminderBatch is how many overdue tasks one query fetches.
const reminderBatch = 200

// systemActor is the EventMeta actor of changes nobody asked for.
const systemActor = "system"

// Reminder announces overdue tasks: once per task and Vietnamese day while
// the task stays overdue, a TaskOverdue event. Any number of Reminders may
// run against one schema (replicas, restarts): the day of the last
// announcement is recorded in the task's row in the transaction that
// enqueues the event, so each announcement happens exactly once.
type Reminder struct {
	d     Deps
	every time.Duration
	log   *slog.Logger
}

// NewReminder returns a Reminder using d's Pool, Meetings (for the event's
// audience), Now and Ready, looking every interval (0 or less:
// DefaultReminderInterval).
func NewReminder(d Deps, interval time.Duration) *Reminder {
	s := New(d)
	if interval <= 0 {
		interval = DefaultReminderInterval
	}
	return &Reminder{d: s.d, every: interval, log: s.log.With("worker", "reminder")}
}

// Run looks for overdue tasks at once and then every interval until ctx is
// done; it returns nil then. Failures are logged and retried at the next
// look, so a database outage only delays reminders.
func (r *Reminder) Run(ctx context.Context) error {
	tick := time.NewTicker(r.every)
	defer tick.Stop()
	for {
		if r.d.Ready() {
			n, err := r.Tick(ctx)
			if err != nil && ctx.Err() == nil {
				r.log.WarnContext(ctx, "overdue reminders failed; retrying at the next look", "sent", n, "err", err)
			} else if n > 0 {
				r.log.InfoContext(ctx, "overdue reminders enqueued", "sent", n)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Tick enqueues a TaskOverdue event for every task overdue today that has
// not been announced today, and returns how many it enqueued. A task that
// fails does not stop the others; the errors are returned joined.
func (r *Reminder) Tick(ctx context.Context) (int, error) {
	today := Today(r.d.Now())
	sent := 0
	var errs []error
	after := "00000000-0000-0000-0000-000000000000"
	for {
		ids, meetings, err := dueReminders(ctx, r.d.Pool, today, after, reminderBatch)
		if err != nil {
			return sent, errors.Join(append(errs, err)...)
		}
		for i, id := range ids {
			ok, err := r.remind(ctx, id, meetings[i], today)
			if err != nil {
				if ctx.Err() != nil {
					return sent, ctx.Err()
				}
				errs = append(errs, err)
			}
			if ok {
				sent++
			}
		}
		if len(ids) < reminderBatch {
			return sent, errors.Join(errs...)
		}
		after = ids[len(ids)-1]
	}
}

// remind announces one task, unless another Reminder already has today or
// the task stopped being overdue since it was found.
func (r *Reminder) remind(ctx context.Context, id, meetingID, today string) (bool, error) {
	m, err := r.d.Meetings.Meeting(ctx, meetingID)
	switch {
	case errors.Is(err, ErrNotFound):
		// The meeting is gone; the assignee still has to hear of it.
		m = nil
	case err != nil:
		return false, fmt.Errorf("reminder for task %s: meeting %s: %w", id, meetingID, err)
	}
	sent := false
	err = pgx.BeginFunc(ctx, r.d.Pool, func(tx pgx.Tx) error {
		t, err := claimReminder(ctx, tx, id, today)
		if errors.Is(err, errNoTask) {
			return nil
		}
		if err != nil {
			return err
		}
		meta := outbox.NewMeta(systemActor, t.ID, t.OrganizationID, t.Version)
		meta.Audience = audience(m, t.Assignee.PersonID)
		if err := enqueue(ctx, tx, t.MeetingID, "task_overdue", &meetingsv1.TaskOverdue{Meta: meta, Task: t.proto(today)}); err != nil {
			return err
		}
		sent = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("reminder for task %s: %w", id, err)
	}
	return sent, nil
}
