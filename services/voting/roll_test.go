package voting

import (
	"context"
	"maps"
	"strings"
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"google.golang.org/grpc/codes"
)

// rollState is a poll's roll as stored, one line per person with the
// transaction that last wrote the row.
func (w *world) rollState(t *testing.T, pollID string) map[string]string {
	t.Helper()
	rows, err := w.pool.Query(context.Background(), `SELECT person_id, reason || ' ' || attendance || ' ' || xmin::text
		FROM roll WHERE poll_id = $1`, pollID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var p, v string
		if err := rows.Scan(&p, &v); err != nil {
			t.Fatal(err)
		}
		out[p] = v
	}
	return out
}

// Someone not entitled who taps "vote" has the roll taken again, at most
// once every refreshEvery, and only what changed is written; a refresh
// arriving after the poll closed changes nothing (the roll the result was
// decided on stays as it was).
func TestRollRefresh(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 2)
	late := c.members[1]
	c.checkIn(t, c.chair, c.taker, c.members[0])
	p := c.open(t, c.motion(true))
	id := p.GetId()
	atOpen := w.rollState(t, id)

	ballot := func() error {
		_, err := w.client.CastBallot(c.as(late), &votingv1.CastBallotRequest{PollId: id, ChoiceIds: []string{"agree"}, IdempotencyKey: key()})
		return err
	}
	// Not checked in: refused; the roll was taken again but nothing changed,
	// so no row was rewritten.
	st := testenv.Code(t, ballot(), codes.PermissionDenied)
	if !strings.Contains(st.Message(), reasonNotCheckedIn) {
		t.Errorf("message %q", st.Message())
	}
	if now := w.rollState(t, id); !maps.Equal(now, atOpen) {
		t.Errorf("an unchanged refresh rewrote the roll:\n at open %v\n now     %v", atOpen, now)
	}
	// Checked in now, but tapping again at once does not take the roll
	// again yet.
	c.checkIn(t, late)
	testenv.Code(t, ballot(), codes.PermissionDenied)
	// Later it does, and only the late member's row changes.
	w.clock.Advance(refreshEvery)
	if err := ballot(); err != nil {
		t.Fatalf("after checking in: %v", err)
	}
	now := w.rollState(t, id)
	for person, was := range atOpen {
		if changed := now[person] != was; changed != (person == late) {
			t.Errorf("%s: %q -> %q (only the late member's row should change)", c.names[person], was, now[person])
		}
	}

	// A refresh that reaches the database after the close is refused and
	// writes nothing.
	c.closePoll(t, id)
	closed := w.rollState(t, id)
	m, err := w.meetings.GetMeeting(c.as(c.chair), &meetingsv1.GetMeetingRequest{MeetingId: c.meeting.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	stale := meetingRoll(m.GetMeeting())
	for i := range stale {
		stale[i].attendance, stale[i].reason = meetingsv1.Attendance_ATTENDANCE_NOT_PRESENT.String(), reasonNotCheckedIn
	}
	err = w.svc.replaceRoll(context.Background(), id, stale[:2])
	testenv.Code(t, err, codes.FailedPrecondition)
	if after := w.rollState(t, id); !maps.Equal(after, closed) {
		t.Errorf("a refresh after the close changed the roll:\n closed %v\n after  %v", closed, after)
	}
}
