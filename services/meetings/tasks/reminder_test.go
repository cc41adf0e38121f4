package tasks_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings/tasks"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
)

// overdueEvents returns the task ids of the TaskOverdue events, in order,
// checking each event's envelope on the way.
func (w *world) overdueEvents(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, e := range w.events(t, "task_overdue") {
		var ev meetingsv1.TaskOverdue
		if err := proto.Unmarshal(e.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		task := ev.GetTask()
		if e.Subject != "ecabinet.meetings.v1."+task.GetMeetingId()+".task_overdue" || e.Type != "ecabinet.meetings.v1.TaskOverdue" ||
			e.Org != task.GetOrganizationId() || ev.GetMeta().GetActorId() != "system" ||
			ev.GetMeta().GetAggregateId() != task.GetId() || !task.GetOverdue() {
			t.Errorf("overdue event on %s (%s, org %s): %v", e.Subject, e.Type, e.Org, &ev)
		}
		if p := task.GetAssigneePersonId(); p != "" && !slices.Contains(e.Audience, p) {
			t.Errorf("overdue event audience %v lacks the assignee %s", e.Audience, p)
		}
		out = append(out, task.GetId())
	}
	return out
}

// tickAll runs Tick on every reminder from several goroutines at once and
// returns how many events they enqueued in total.
func tickAll(t *testing.T, rs ...*tasks.Reminder) int {
	t.Helper()
	const perReminder = 4
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
		errs  []error
	)
	gate := make(chan struct{})
	for _, r := range rs {
		for range perReminder {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				n, err := r.Tick(context.Background())
				mu.Lock()
				defer mu.Unlock()
				total += n
				if err != nil {
					errs = append(errs, err)
				}
			}()
		}
	}
	close(gate)
	wg.Wait()
	for _, err := range errs {
		t.Errorf("Tick: %v", err)
	}
	return total
}

// at returns 08:00 in Hanoi n days after the start.
func at(n int) time.Time {
	d := start.AddDate(0, 0, n)
	return time.Date(d.Year(), d.Month(), d.Day(), 8, 0, 0, 0, tasks.Vietnam)
}

func TestRemindersOncePerTaskAndDay(t *testing.T) {
	w := newWorld(t)
	due := func(n int) *meetingsv1.Task {
		req := w.createReq()
		req.Deadline = day(n)
		return w.create(t, w.chair, req)
	}
	late := due(2)
	finished := due(2)
	w.update(t, w.assignee, &meetingsv1.UpdateTaskRequest{TaskId: finished.GetId(), ExpectedVersion: 1, Status: done})
	dropped := due(1)
	w.update(t, w.chair, &meetingsv1.UpdateTaskRequest{TaskId: dropped.GetId(), ExpectedVersion: 1, Status: cancelled})
	later := due(5)

	// A task whose meeting has gone is still announced, to its assignee.
	orphanMeeting := proto.Clone(w.meeting).(*meetingsv1.Meeting)
	orphanMeeting.Id = newID()
	w.meetings.put(orphanMeeting)
	req := w.createReq()
	req.MeetingId = orphanMeeting.GetId()
	orphan := w.create(t, w.chair, req)
	w.meetings.mu.Lock()
	delete(w.meetings.m, orphanMeeting.GetId())
	w.meetings.mu.Unlock()

	// Two replicas, each looking several times at once, on the first day
	// after the deadline: one event per overdue task.
	r1, r2 := tasks.NewReminder(w.deps, 0), tasks.NewReminder(w.deps, 0)
	w.clock.Set(at(2))
	if n := tickAll(t, r1, r2); n != 0 {
		t.Fatalf("on the deadline day: %d reminders, want none", n)
	}
	w.clock.Set(at(3))
	if n := tickAll(t, r1, r2); n != 2 {
		t.Errorf("day 3: %d reminders, want 2", n)
	}
	got := w.overdueEvents(t)
	want := []string{late.GetId(), orphan.GetId()}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("day 3 reminders (-want +got):\n%s", diff)
	}
	for _, e := range w.events(t, "task_overdue") {
		var ev meetingsv1.TaskOverdue
		if err := proto.Unmarshal(e.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.GetTask().GetId() == orphan.GetId() && !slices.Equal(e.Audience, []string{w.assignee.Subject}) {
			t.Errorf("orphan task's audience %v, want only the assignee", e.Audience)
		}
		if ev.GetTask().GetId() == late.GetId() && len(e.Audience) != 5 {
			t.Errorf("task's audience %v, want the 4 participants and the assignee", e.Audience)
		}
	}

	// Later the same day, or after a restart: nothing new.
	w.clock.Set(at(3).Add(15 * time.Hour)) // 23:00 in Hanoi
	if n := tickAll(t, tasks.NewReminder(w.deps, time.Minute)); n != 0 {
		t.Errorf("again on day 3: %d reminders, want none", n)
	}

	// The next day, again, once. Just after midnight in Hanoi is the next
	// day although it is still the previous one in UTC.
	w.clock.Set(time.Date(2026, 6, 14, 0, 5, 0, 0, tasks.Vietnam))
	if n := tickAll(t, r1, r2); n != 2 {
		t.Errorf("day 4: %d reminders, want 2", n)
	}

	// Done tasks stop being announced; a newly overdue one starts.
	w.update(t, w.assignee, &meetingsv1.UpdateTaskRequest{TaskId: late.GetId(), ExpectedVersion: 1, Status: done})
	w.clock.Set(at(6))
	if n := tickAll(t, r1, r2); n != 2 {
		t.Errorf("day 6: %d reminders, want 2", n)
	}
	got = w.overdueEvents(t)
	wantAll := []string{late.GetId(), orphan.GetId(), late.GetId(), orphan.GetId(), later.GetId(), orphan.GetId()}
	slices.Sort(got)
	slices.Sort(wantAll)
	if diff := cmp.Diff(wantAll, got); diff != "" {
		t.Errorf("all reminders (-want +got):\n%s", diff)
	}
	for _, id := range got {
		if id == finished.GetId() || id == dropped.GetId() {
			t.Errorf("a done or cancelled task was announced")
		}
	}
	// A reminder is no change: the version stays.
	if v := w.getTask(t, w.chair, later.GetId()).GetVersion(); v != 1 {
		t.Errorf("version after a reminder = %d, want 1", v)
	}
}

func TestReminderRun(t *testing.T) {
	w := newWorld(t)
	task := w.create(t, w.chair, w.createReq())
	w.clock.Set(at(3))

	// Short intervals so the test does not wait; two replicas.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	for range 2 {
		r := tasks.NewReminder(w.deps, 5*time.Millisecond)
		go func() { done <- r.Run(ctx) }()
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		if n := len(w.overdueEvents(t)); n != 1 {
			return fmt.Errorf("%d overdue events, want 1", n)
		}
		return nil
	})
	// Let both keep looking a while at the same day, then the next.
	w.clock.Set(at(4))
	testenv.Eventually(t, 30*time.Second, func() error {
		if n := len(w.overdueEvents(t)); n != 2 {
			return fmt.Errorf("%d overdue events, want 2", n)
		}
		return nil
	})
	cancel()
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	if got := w.overdueEvents(t); !slices.Equal(got, []string{task.GetId(), task.GetId()}) {
		t.Errorf("overdue events %v, want the task once per day", got)
	}
}

func TestReminderWaitsUntilReady(t *testing.T) {
	w := newWorld(t)
	w.create(t, w.chair, w.createReq())
	w.clock.Set(at(3))
	d := w.deps
	var mu sync.Mutex
	ready := false
	looked := make(chan struct{}, 100)
	d.Ready = func() bool {
		mu.Lock()
		defer mu.Unlock()
		select {
		case looked <- struct{}{}:
		default:
		}
		return ready
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tasks.NewReminder(d, 5*time.Millisecond).Run(ctx) }()
	// Several looks while not ready: nothing is sent.
	for range 3 {
		<-looked
	}
	if n := len(w.overdueEvents(t)); n != 0 {
		t.Errorf("%d reminders before the schema was ready", n)
	}
	mu.Lock()
	ready = true
	mu.Unlock()
	testenv.Eventually(t, 30*time.Second, func() error {
		if n := len(w.overdueEvents(t)); n != 1 {
			return fmt.Errorf("%d overdue events, want 1", n)
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
