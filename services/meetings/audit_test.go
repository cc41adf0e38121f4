package meetings

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/audit"
	"github.com/jackc/pgx/v5"
)

// auditEntry is one record of a meeting in the schema's audit trail.
type auditEntry struct {
	Seq                   int64
	Version               int64 // the meeting's version after the change; 0 for the minutes' records
	Actor, Action, Reason string
	Detail                string
}

// audit checks the schema's whole hash chain (audit.Verify, the check
// VerifyAuditTrail and `ecabinet -verify-audit` make) and returns the
// meeting's records in order.
func (w *world) audit(t *testing.T, meetingID string) []auditEntry {
	t.Helper()
	ctx := context.Background()
	if _, err := audit.Verify(ctx, w.pool, ""); err != nil {
		t.Fatalf("audit trail broken: %v", err)
	}
	rows, err := w.pool.Query(ctx, `
		SELECT seq, coalesce((payload->>'version')::bigint, 0), actor_id, action, reason, coalesce(payload->>'detail', '')
		FROM audit_log WHERE subject = $1 ORDER BY seq`, auditSubject(meetingID))
	if err != nil {
		t.Fatal(err)
	}
	trail, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (auditEntry, error) {
		var e auditEntry
		err := row.Scan(&e.Seq, &e.Version, &e.Actor, &e.Action, &e.Reason, &e.Detail)
		return e, err
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := audit.Verify(ctx, w.pool, auditSubject(meetingID))
	if err != nil || n != int64(len(trail)) {
		t.Fatalf("Verify(meeting %s) = %d, %v; want %d records intact", meetingID, n, err, len(trail))
	}
	return trail
}

// Every change writes exactly one audit record, with the version it made.
func TestEveryChangeWritesOneAuditRecord(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.started(t, c)
	_, err := w.client.MarkAttendance(c.as(c.taker), &meetingsv1.MarkAttendanceRequest{
		MeetingId: m.GetId(), PersonId: c.m1, Attendance: meetingsv1.Attendance_ATTENDANCE_PRESENT})
	if err != nil {
		t.Fatal(err)
	}
	// Marking the same again changes nothing, so it is not audited.
	if _, err := w.client.MarkAttendance(c.as(c.taker), &meetingsv1.MarkAttendanceRequest{
		MeetingId: m.GetId(), PersonId: c.m1, Attendance: meetingsv1.Attendance_ATTENDANCE_PRESENT}); err != nil {
		t.Fatal(err)
	}
	got := w.get(t, c.adminCtx(), m.GetId())
	trail := w.audit(t, m.GetId())
	if int64(len(trail)) != got.GetVersion() {
		t.Fatalf("%d audit records for a meeting at version %d", len(trail), got.GetVersion())
	}
	for i, r := range trail {
		if r.Version != int64(i+1) {
			t.Errorf("record %d (%s) has version %d, want %d", i, r.Action, r.Version, i+1)
		}
	}
	if last := trail[len(trail)-1]; last.Action != "attendance.marked" || last.Actor != c.taker {
		t.Errorf("last record %+v, want attendance.marked by the minute-taker", last)
	}
}

// The audit trail is append-only in the database too.
func TestAuditTrailIsAppendOnly(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.scheduled(t, c)
	trail := w.audit(t, m.GetId())
	if len(trail) != 5 {
		t.Fatalf("%d audit records, want 5", len(trail))
	}
	ctx := context.Background()
	for _, sql := range []string{
		`UPDATE audit_log SET reason = 'sửa' WHERE subject = $1`,
		`DELETE FROM audit_log WHERE subject = $1`,
	} {
		_, err := w.pool.Exec(ctx, sql, auditSubject(m.GetId()))
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused", sql, err)
		}
	}
	if _, err := w.pool.Exec(ctx, `TRUNCATE audit_log`); err == nil {
		t.Error("TRUNCATE audit_log allowed")
	}
	w.audit(t, m.GetId())
}

// Someone with the power to switch the triggers off can still change a
// record, but the chain shows where.
func TestAuditTamperingIsDetected(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.scheduled(t, c)
	other := w.scheduled(t, c)
	trail := w.audit(t, m.GetId())
	victim := trail[2]

	ctx := context.Background()
	for _, sql := range []string{
		`ALTER TABLE audit_log DISABLE TRIGGER USER`,
		fmt.Sprintf(`UPDATE audit_log SET reason = 'sửa lại' WHERE seq = %d`, victim.Seq),
		`ALTER TABLE audit_log ENABLE TRIGGER USER`,
	} {
		w.exec(t, sql)
	}
	for _, prefix := range []string{"", auditSubject(m.GetId())} {
		_, err := audit.Verify(ctx, w.pool, prefix)
		var broken *audit.BrokenError
		if !errors.As(err, &broken) || broken.Seq != victim.Seq {
			t.Errorf("Verify(%q) = %v, want broken at seq %d", prefix, err, victim.Seq)
		}
	}
	// The other meeting's records are still intact on their own.
	if n, err := audit.Verify(ctx, w.pool, auditSubject(other.GetId())); err != nil || n != 5 {
		t.Errorf("Verify(other meeting) = %d, %v; want 5 intact", n, err)
	}
}
