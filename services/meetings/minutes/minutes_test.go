package minutes

import (
	"bytes"
	"context"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func TestWriteSubmitReturnApproveAmend(t *testing.T) {
	e := newEnv(t)

	// Nothing written yet: revision 1, an empty draft at version 0, with the
	// header filled from the meeting.
	m := e.get(e.taker, 0)
	if m.GetRevision() != 1 || m.GetState() != draft || m.GetVersion() != 0 || len(m.GetItems()) != 3 {
		t.Fatalf("initial minutes = %v", m)
	}
	h := m.GetHeader()
	if h.GetOrganizationName() != "Chi bộ VNPT Văn Yên" || h.GetChairName() != "Nguyễn Văn An" || h.GetMinuteTakerName() != "Trần Thị Bình" ||
		h.GetMembersTotal() != 4 || !slices.Equal(h.GetPresent(), []string{"Nguyễn Văn An", "Trần Thị Bình"}) ||
		!slices.Equal(h.GetPresentOnline(), []string{"Lê Văn Cường"}) || len(h.GetAbsent()) != 1 ||
		h.GetAbsent()[0].GetReason() != "Đi công tác" || h.GetPlace() != "Phòng họp số 1" {
		t.Fatalf("header = %v", h)
	}
	if got, err := e.s.ListMinutesRevisions(testenv.As(e.member), &meetingsv1.ListMinutesRevisionsRequest{MeetingId: e.meeting}); err != nil || len(got.GetRevisions()) != 0 {
		t.Fatalf("revisions before anything is written = %v, %v", got, err)
	}

	m = e.mustSave(e.taker, 0, 0, "Thảo luận mục 1")
	m = e.mustSave(e.taker, 1, m.GetVersion(), "Thảo luận mục 2")
	if m.GetVersion() != 2 || m.GetItems()[0].GetDiscussion() != "Thảo luận mục 1" || m.GetItems()[1].GetConclusions() != "Kết luận Thảo luận mục 2" {
		t.Fatalf("after two saves: %v", m)
	}
	m, err := e.submit(e.taker, m.GetVersion())
	if err != nil || m.GetState() != submitted || m.GetVersion() != 3 {
		t.Fatalf("submit = %v, %v", m, err)
	}
	// Submitted minutes are the chair's now.
	_, err = e.save(e.taker, 0, 3, "x")
	if msg := testenv.Code(t, err, codes.FailedPrecondition).Message(); !contains(msg, "chair must return them") {
		t.Fatalf("save while submitted: %s", msg)
	}
	m, err = e.returnMinutes(e.chair, 3, "Bổ sung ý kiến của đồng chí Cường")
	if err != nil || m.GetState() != draft || m.GetReturnReason() != "Bổ sung ý kiến của đồng chí Cường" || m.GetVersion() != 4 {
		t.Fatalf("return = %v, %v", m, err)
	}
	m = e.mustSave(e.taker, 0, 4, "Thảo luận mục 1, có ý kiến đồng chí Cường")
	m, err = e.submit(e.taker, m.GetVersion())
	if err != nil || m.GetReturnReason() != "" {
		t.Fatalf("resubmit = %v, %v", m, err)
	}

	// The chair approves once the meeting has ended.
	_, err = e.approve(e.chair, m.GetVersion())
	if msg := testenv.Code(t, err, codes.FailedPrecondition).Message(); !contains(msg, "once the meeting has ended") {
		t.Fatalf("approve while in progress: %s", msg)
	}
	e.fm.setState(e.meeting, meetingsv1.MeetingState_MEETING_STATE_ENDED)
	m, err = e.approve(e.chair, m.GetVersion())
	if err != nil {
		t.Fatal(err)
	}
	if m.GetState() != approved || m.GetVersion() != 7 || m.GetApprovedByName() != "Nguyễn Văn An" || m.GetApproveTime() == nil {
		t.Fatalf("approved = %v", m)
	}
	if b, err := hex.DecodeString(m.GetContentHash()); err != nil || len(b) != 32 {
		t.Fatalf("content hash %q is not hex SHA-256", m.GetContentHash())
	}
	// The meeting was closed in the same transaction.
	if mt, _, _ := e.fm.Meeting(context.Background(), e.meeting); mt.GetState() != meetingsv1.MeetingState_MEETING_STATE_CLOSED {
		t.Fatalf("meeting state after approval = %v", mt.GetState())
	}

	// Locked: any write answers how to amend.
	_, err = e.save(e.taker, 0, 7, "sửa sau khi duyệt")
	if msg := testenv.Code(t, err, codes.FailedPrecondition).Message(); !contains(msg, "approved") || !contains(msg, "amend") {
		t.Fatalf("save after approval: %s", msg)
	}
	_, err = e.submit(e.taker, 7)
	testenv.Code(t, err, codes.FailedPrecondition)
	_, err = e.returnMinutes(e.chair, 7, "muộn")
	testenv.Code(t, err, codes.FailedPrecondition)
	_, err = e.approve(e.chair, 7)
	testenv.Code(t, err, codes.FailedPrecondition)

	// The header is frozen: later changes to the meeting don't reach it.
	e.fm.edit(e.meeting, func(mt *meetingsv1.Meeting) {
		mt.Title = "Tên mới"
		mt.Participants[2].Attendance = meetingsv1.Attendance_ATTENDANCE_PRESENT
	})
	frozen := e.get(e.member, 1)
	if frozen.GetHeader().GetMeetingTitle() != "Hội nghị Ban Thường vụ tháng 11" || len(frozen.GetHeader().GetPresentOnline()) != 1 ||
		frozen.GetContentHash() != m.GetContentHash() {
		t.Fatalf("approved header changed: %v", frozen.GetHeader())
	}

	// Amend: revision 2, a draft copied from revision 1, with its reason.
	_, err = e.amend(e.taker, " ")
	if fv := testenv.ViolationReasons(t, err); fv["reason"] != "REQUIRED" {
		t.Fatalf("amend without reason: %v", fv)
	}
	m2, err := e.amend(e.taker, "Sửa lỗi chính tả ở mục 1")
	if err != nil {
		t.Fatal(err)
	}
	if m2.GetRevision() != 2 || m2.GetState() != draft || m2.GetVersion() != 8 || m2.GetAmendmentReason() != "Sửa lỗi chính tả ở mục 1" ||
		m2.GetItems()[0].GetDiscussion() != "Thảo luận mục 1, có ý kiến đồng chí Cường" || m2.GetContentHash() != "" {
		t.Fatalf("amendment = %v", m2)
	}
	// An open revision's header follows the meeting again.
	if m2.GetHeader().GetMeetingTitle() != "Tên mới" {
		t.Fatalf("amendment header = %v", m2.GetHeader())
	}
	_, err = e.amend(e.taker, "lần nữa")
	if msg := testenv.Code(t, err, codes.FailedPrecondition).Message(); !contains(msg, "not approved yet") {
		t.Fatalf("amending a draft: %s", msg)
	}
	// A client still holding revision 1's version cannot save over revision 2.
	_, err = e.save(e.taker, 0, 7, "cũ")
	if msg := testenv.Code(t, err, codes.Aborted).Message(); !contains(msg, "current version is 8") {
		t.Fatalf("stale save on amendment: %s", msg)
	}
	m2 = e.mustSave(e.taker, 0, 8, "Thảo luận mục 1 (đã sửa)")
	m2, err = e.submit(e.taker, m2.GetVersion())
	if err != nil {
		t.Fatal(err)
	}
	m2, err = e.approve(e.chair, m2.GetVersion())
	if err != nil {
		t.Fatal(err)
	}
	if m2.GetState() != approved || m2.GetRevision() != 2 || m2.GetContentHash() == m.GetContentHash() {
		t.Fatalf("approved amendment = %v", m2)
	}
	if e.fm.closes != 1 {
		t.Fatalf("Close called %d times, want once (for revision 1 only)", e.fm.closes)
	}

	revs, err := e.s.ListMinutesRevisions(testenv.As(e.member), &meetingsv1.ListMinutesRevisionsRequest{MeetingId: e.meeting})
	if err != nil || len(revs.GetRevisions()) != 2 {
		t.Fatalf("revisions = %v, %v", revs, err)
	}
	if r1 := revs.GetRevisions()[0]; r1.GetItems()[0].GetDiscussion() != "Thảo luận mục 1, có ý kiến đồng chí Cường" || r1.GetState() != approved {
		t.Fatalf("revision 1 changed: %v", r1)
	}
	if got := e.get(e.member, 0); got.GetRevision() != 2 {
		t.Fatalf("latest revision = %d", got.GetRevision())
	}
	_, err = e.s.GetMinutes(testenv.As(e.member), &meetingsv1.GetMinutesRequest{MeetingId: e.meeting, Revision: 3})
	testenv.Code(t, err, codes.NotFound)

	// Every change is in the audit trail, which is intact.
	want := []string{actionSaved, actionSaved, actionSubmitted, actionReturned, actionSaved, actionSubmitted, actionApproved,
		actionAmended, actionSaved, actionSubmitted, actionApproved}
	if got := e.auditActions(); !slices.Equal(got, want) {
		t.Fatalf("audit actions = %v, want %v", got, want)
	}
	v, err := e.verify(e.admin, e.meeting)
	if err != nil || !v.GetIntact() || v.GetRecordsChecked() != int64(len(want)) {
		t.Fatalf("verify = %v, %v", v, err)
	}
	// The approval record carries the revision and content hash.
	var payload string
	if err := e.pool.QueryRow(context.Background(), `SELECT payload::text FROM audit_log WHERE action = $1 ORDER BY seq LIMIT 1`, actionApproved).
		Scan(&payload); err != nil {
		t.Fatal(err)
	}
	if !contains(payload, `"revision": 1`) || !contains(payload, m.GetContentHash()) {
		t.Fatalf("approval payload = %s", payload)
	}
}

func TestTwoEditorsNeverLoseText(t *testing.T) {
	e := newEnv(t)
	a := e.get(e.taker, 0)
	b := e.get(e.admin, 0) // an administrator standing in, same version
	first, err := e.save(e.taker, 0, a.GetVersion(), "Văn bản của người thứ nhất")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.save(e.admin, 0, b.GetVersion(), "Văn bản của người thứ hai")
	if msg := testenv.Code(t, err, codes.Aborted).Message(); !contains(msg, "current version is 1") {
		t.Fatalf("stale save: %s", msg)
	}
	if got := e.get(e.member, 0); got.GetItems()[0].GetDiscussion() != "Văn bản của người thứ nhất" || got.GetVersion() != first.GetVersion() {
		t.Fatalf("after the stale save: %v", got.GetItems()[0])
	}

	// At the same moment: exactly one of them wins, the rest are told the
	// current version.
	const editors = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, aborted := 0, 0
	for i := range editors {
		wg.Go(func() {
			_, err := e.save(e.taker, 1, 1, strings.Repeat("x", i+1))
			mu.Lock()
			defer mu.Unlock()
			switch status.Code(err) {
			case codes.OK:
				won++
			case codes.Aborted:
				aborted++
			default:
				t.Errorf("concurrent save: %v", err)
			}
		})
	}
	wg.Wait()
	if won != 1 || aborted != editors-1 {
		t.Fatalf("%d saves won and %d were aborted, want 1 and %d", won, aborted, editors-1)
	}
	if got := e.get(e.member, 0); got.GetVersion() != 2 || got.GetItems()[1].GetDiscussion() == "" {
		t.Fatalf("after concurrent saves: version %d, item %v", got.GetVersion(), got.GetItems()[1])
	}
}

func TestApprovalRollsBackWhenTheMeetingCannotClose(t *testing.T) {
	e := newEnv(t)
	m := e.mustSave(e.taker, 0, 0, "Nội dung")
	m, err := e.submit(e.taker, m.GetVersion())
	if err != nil {
		t.Fatal(err)
	}
	e.fm.setState(e.meeting, meetingsv1.MeetingState_MEETING_STATE_ENDED)
	e.fm.closeErr = status.Error(codes.FailedPrecondition, "meetings: meeting is cancelled")
	_, err = e.approve(e.chair, m.GetVersion())
	if msg := testenv.Code(t, err, codes.FailedPrecondition).Message(); msg != "meetings: meeting is cancelled" {
		t.Fatalf("approve when Close refuses: %s", msg)
	}
	e.fm.closeErr = errBoom
	_, err = e.approve(e.chair, m.GetVersion())
	testenv.Code(t, err, codes.Internal)

	got := e.get(e.chair, 0)
	if got.GetState() != submitted || got.GetVersion() != m.GetVersion() || got.GetContentHash() != "" {
		t.Fatalf("minutes after failed approvals: %v", got)
	}
	if acts := e.auditActions(); slices.Contains(acts, actionApproved) {
		t.Fatalf("audit has an approval that did not happen: %v", acts)
	}
	for _, r := range e.outbox() {
		if strings.HasSuffix(r.subject, ".minutes_approved") {
			t.Fatal("event of an approval that did not happen")
		}
	}
	e.fm.closeErr = nil
	if _, err := e.approve(e.chair, m.GetVersion()); err != nil {
		t.Fatal(err)
	}
}

func TestEventsAreEnqueued(t *testing.T) {
	e := newEnv(t)
	m := e.approved()
	rows := e.outbox()
	if len(rows) != 3 {
		t.Fatalf("%d events, want 3 (saved, submitted, approved)", len(rows))
	}
	audience := []string{}
	for _, p := range e.fm.meetings[e.meeting].GetParticipants() {
		audience = append(audience, p.GetPersonId())
	}
	for i, r := range rows {
		if r.org != e.org || !slices.Equal(r.audience, audience) {
			t.Errorf("event %d: org %q audience %v, want %q %v", i, r.org, r.audience, e.org, audience)
		}
	}
	prefix := "ecabinet.meetings.v1." + e.meeting + "."
	if rows[0].subject != prefix+"minutes_changed" || rows[1].subject != prefix+"minutes_changed" || rows[2].subject != prefix+"minutes_approved" {
		t.Fatalf("subjects = %s, %s, %s", rows[0].subject, rows[1].subject, rows[2].subject)
	}
	var changed meetingsv1.MinutesChanged
	if err := proto.Unmarshal(rows[1].payload, &changed); err != nil || rows[1].typ != "ecabinet.meetings.v1.MinutesChanged" {
		t.Fatalf("event 1 (%s): %v", rows[1].typ, err)
	}
	if changed.GetMeetingId() != e.meeting || changed.GetState() != submitted || changed.GetVersion() != 2 || changed.GetRevision() != 1 ||
		changed.GetMeta().GetActorId() != e.taker.Subject || changed.GetMeta().GetAggregateVersion() != 2 {
		t.Fatalf("MinutesChanged = %v", &changed)
	}
	var ap meetingsv1.MinutesApproved
	if err := proto.Unmarshal(rows[2].payload, &ap); err != nil || rows[2].typ != "ecabinet.meetings.v1.MinutesApproved" {
		t.Fatalf("event 2 (%s): %v", rows[2].typ, err)
	}
	if ap.GetContentHash() != m.GetContentHash() || ap.GetRevision() != 1 || ap.GetMeta().GetActorId() != e.chair.Subject {
		t.Fatalf("MinutesApproved = %v", &ap)
	}
	// Refused changes enqueue nothing.
	_, _ = e.save(e.taker, 0, 3, "x")
	if n := len(e.outbox()); n != 3 {
		t.Fatalf("%d events after a refused save", n)
	}
}

func TestAuditTamperingIsDetected(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.approved()
	if v, err := e.verify(e.sysAdmin, ""); err != nil || !v.GetIntact() || v.GetRecordsChecked() != 3 {
		t.Fatalf("verify all = %v, %v", v, err)
	}

	// A changed audit record breaks the chain at its seq.
	var seq int64
	if err := e.pool.QueryRow(ctx, `SELECT seq FROM audit_log WHERE action = $1`, actionSubmitted).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`ALTER TABLE audit_log DISABLE TRIGGER USER`,
		`UPDATE audit_log SET reason = 'đã sửa lén' WHERE action = 'minutes_submitted'`,
		`ALTER TABLE audit_log ENABLE TRIGGER USER`,
	} {
		if _, err := e.pool.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	v, err := e.verify(e.admin, e.meeting)
	if err != nil || v.GetIntact() || !contains(v.GetProblem(), "seq "+strconv.FormatInt(seq, 10)) {
		t.Fatalf("verify after tampering = %v, %v (tampered seq %d)", v, err, seq)
	}
	v, err = e.verify(e.admin, "") // every meeting the admin administers
	if err != nil || v.GetIntact() || !contains(v.GetProblem(), "seq "+strconv.FormatInt(seq, 10)) {
		t.Fatalf("verify all after tampering = %v, %v", v, err)
	}
}

func TestChangedApprovedMinutesAreDetected(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.approved()
	// The database refuses it outright...
	if _, err := e.pool.Exec(ctx, `UPDATE minutes_items SET discussion = 'khác' WHERE meeting_id = $1`, e.meeting); err == nil ||
		!contains(err.Error(), "immutable") {
		t.Fatalf("update of approved items: %v", err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE minutes SET return_reason = 'x' WHERE meeting_id = $1`, e.meeting); err == nil {
		t.Fatal("update of an approved revision succeeded")
	}
	if _, err := e.pool.Exec(ctx, `DELETE FROM minutes_items WHERE meeting_id = $1`, e.meeting); err == nil {
		t.Fatal("delete of approved items succeeded")
	}
	// ...and a superuser who gets round that is caught by the content hash.
	for _, s := range []string{
		`ALTER TABLE minutes_items DISABLE TRIGGER USER`,
		`UPDATE minutes_items SET discussion = 'nội dung khác' WHERE meeting_id = '` + e.meeting + `' AND position = 1`,
		`ALTER TABLE minutes_items ENABLE TRIGGER USER`,
	} {
		if _, err := e.pool.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	v, err := e.verify(e.admin, e.meeting)
	if err != nil || v.GetIntact() || !contains(v.GetProblem(), "were changed") {
		t.Fatalf("verify after changing approved text = %v, %v", v, err)
	}
}

func TestValidation(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name string
		req  *meetingsv1.SaveItemMinutesRequest
		want map[string]string
	}{
		{"too long and control characters", &meetingsv1.SaveItemMinutesRequest{
			MeetingId: e.meeting, AgendaItemId: e.items[0],
			Discussion: strings.Repeat("ệ", MaxTextLen+1), Opinions: "a\x00b", Conclusions: "ok",
		}, map[string]string{"discussion": "TOO_LONG", "opinions": "INVALID_CHARACTER"}},
		{"item not on the agenda", &meetingsv1.SaveItemMinutesRequest{MeetingId: e.meeting, AgendaItemId: newID()},
			map[string]string{"agenda_item_id": "NOT_ON_AGENDA"}},
		{"missing item and negative version", &meetingsv1.SaveItemMinutesRequest{MeetingId: e.meeting, ExpectedVersion: -2},
			map[string]string{"agenda_item_id": "REQUIRED", "expected_version": "OUT_OF_RANGE"}},
	}
	for _, tc := range cases {
		_, err := e.s.SaveItemMinutes(testenv.As(e.taker), tc.req)
		if got := testenv.ViolationReasons(t, err); !mapsEqual(got, tc.want) {
			t.Errorf("%s: violations %v, want %v", tc.name, got, tc.want)
		}
	}
	_, err := e.s.GetMinutes(testenv.As(e.taker), &meetingsv1.GetMinutesRequest{MeetingId: "123"})
	if got := testenv.ViolationReasons(t, err); got["meeting_id"] != "INVALID_FORMAT" {
		t.Errorf("bad meeting id: %v", got)
	}
	_, err = e.s.GetMinutes(testenv.As(e.taker), &meetingsv1.GetMinutesRequest{MeetingId: e.meeting, Revision: -1})
	if got := testenv.ViolationReasons(t, err); got["revision"] != "OUT_OF_RANGE" {
		t.Errorf("negative revision: %v", got)
	}
	_, err = e.returnMinutes(e.chair, 1, strings.Repeat("a", MaxReasonLen+1))
	if got := testenv.ViolationReasons(t, err); got["reason"] != "TOO_LONG" {
		t.Errorf("long reason: %v", got)
	}

	// Text is stored NFC, trimmed, with "\n" line ends; HTML as typed.
	m := e.mustSave(e.taker, 0, 0, "  Nghi\u0323 quyê\u0301t\r\n<b>đậm</b>  ")
	if got := m.GetItems()[0].GetDiscussion(); got != "Nghị quyết\n<b>đậm</b>" {
		t.Fatalf("stored %q", got)
	}
	// The exact limit is accepted.
	if _, err := e.s.SaveItemMinutes(testenv.As(e.taker), &meetingsv1.SaveItemMinutesRequest{
		MeetingId: e.meeting, AgendaItemId: e.items[1], ExpectedVersion: 1, Discussion: strings.Repeat("ệ", MaxTextLen),
	}); err != nil {
		t.Fatalf("text at the limit: %v", err)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestMeetingStateGatesWriting(t *testing.T) {
	e := newEnv(t)
	for st, want := range map[meetingsv1.MeetingState]string{
		meetingsv1.MeetingState_MEETING_STATE_SCHEDULED: "has not started",
		meetingsv1.MeetingState_MEETING_STATE_DRAFT:     "written once it is in progress",
		meetingsv1.MeetingState_MEETING_STATE_CANCELLED: "cancelled",
	} {
		e.fm.setState(e.meeting, st)
		_, err := e.save(e.taker, 0, 0, "x")
		if msg := testenv.Code(t, err, codes.FailedPrecondition).Message(); !contains(msg, want) {
			t.Errorf("%v: %s", st, msg)
		}
		// Reading is fine in any state.
		if m := e.get(e.member, 0); m.GetVersion() != 0 {
			t.Errorf("%v: read %v", st, m)
		}
	}
	e.fm.setState(e.meeting, meetingsv1.MeetingState_MEETING_STATE_ENDED)
	if _, err := e.save(e.taker, 0, 0, "x"); err != nil {
		t.Fatalf("writing after the meeting ended: %v", err)
	}
}

// TestAuthorization runs every RPC as every kind of caller.
func TestAuthorization(t *testing.T) {
	e := newEnv(t)
	type call func(c identity.Claims) error
	id := func() string { return e.meeting }
	rpcs := map[string]call{
		"GetMinutes": func(c identity.Claims) error {
			_, err := e.s.GetMinutes(testenv.As(c), &meetingsv1.GetMinutesRequest{MeetingId: id()})
			return err
		},
		"ListMinutesRevisions": func(c identity.Claims) error {
			_, err := e.s.ListMinutesRevisions(testenv.As(c), &meetingsv1.ListMinutesRevisionsRequest{MeetingId: id()})
			return err
		},
		"ExportMinutesPdf": func(c identity.Claims) error {
			_, err := e.s.ExportMinutesPdf(testenv.As(c), &meetingsv1.ExportMinutesPdfRequest{MeetingId: id()})
			return err
		},
		// Writes are made to fail on the version after the permission check,
		// so they change nothing and can be repeated for every caller.
		"SaveItemMinutes": func(c identity.Claims) error {
			_, err := e.s.SaveItemMinutes(testenv.As(c), &meetingsv1.SaveItemMinutesRequest{MeetingId: id(), AgendaItemId: e.items[0], ExpectedVersion: 99})
			return err
		},
		"SubmitMinutes": func(c identity.Claims) error {
			_, err := e.s.SubmitMinutes(testenv.As(c), &meetingsv1.SubmitMinutesRequest{MeetingId: id(), ExpectedVersion: 99})
			return err
		},
		"ReturnMinutes": func(c identity.Claims) error {
			_, err := e.s.ReturnMinutes(testenv.As(c), &meetingsv1.ReturnMinutesRequest{MeetingId: id(), ExpectedVersion: 99, Reason: "r"})
			return err
		},
		"ApproveMinutes": func(c identity.Claims) error {
			_, err := e.s.ApproveMinutes(testenv.As(c), &meetingsv1.ApproveMinutesRequest{MeetingId: id(), ExpectedVersion: 99})
			return err
		},
		"AmendMinutes": func(c identity.Claims) error {
			_, err := e.s.AmendMinutes(testenv.As(c), &meetingsv1.AmendMinutesRequest{MeetingId: id(), Reason: "r"})
			return err
		},
		"VerifyAuditTrail": func(c identity.Claims) error {
			_, err := e.s.VerifyAuditTrail(testenv.As(c), &meetingsv1.VerifyAuditTrailRequest{MeetingId: id()})
			return err
		},
	}
	// What each caller gets once past authorisation: reads succeed,
	// version-checked writes are Aborted (stale version 99; submitted
	// minutes are needed for return/approve, so those are refused by state),
	// amending a draft is refused by state.
	const (
		ok     = codes.OK
		denied = codes.PermissionDenied
		hidden = codes.NotFound
		passed = codes.Unknown // past authorisation: anything but Denied/NotFound/Unauthenticated
	)
	writeRPCs := []string{"SaveItemMinutes", "SubmitMinutes", "AmendMinutes"}
	chairRPCs := []string{"ReturnMinutes", "ApproveMinutes"}
	readRPCs := []string{"GetMinutes", "ListMinutesRevisions", "ExportMinutesPdf"}
	expect := func(read, write, decide, verify codes.Code) map[string]codes.Code {
		m := map[string]codes.Code{"VerifyAuditTrail": verify}
		for _, r := range readRPCs {
			m[r] = read
		}
		for _, r := range writeRPCs {
			m[r] = write
		}
		for _, r := range chairRPCs {
			m[r] = decide
		}
		return m
	}
	callers := []struct {
		name string
		c    identity.Claims
		want map[string]codes.Code
	}{
		{"minute-taker", e.taker, expect(ok, passed, denied, denied)},
		{"chair", e.chair, expect(ok, denied, passed, denied)},
		{"member", e.member, expect(ok, denied, denied, denied)},
		{"observer from the superior organisation", e.observer, expect(ok, denied, denied, denied)},
		{"organisation member not invited", e.orgMember, expect(ok, denied, denied, denied)},
		{"organisation admin", e.admin, expect(ok, passed, denied, ok)},
		{"system admin", e.sysAdmin, expect(ok, passed, denied, ok)},
		{"member of another organisation", e.outsider, expect(hidden, hidden, hidden, hidden)},
		{"admin of another organisation", e.outsiderAdmin, expect(hidden, hidden, hidden, hidden)},
		{"the gateway itself", e.gateway, expect(denied, denied, denied, denied)},
	}
	for _, cl := range callers {
		for name, rpc := range rpcs {
			err := rpc(cl.c)
			want := cl.want[name]
			got := status.Code(err)
			if want == passed {
				if got == codes.PermissionDenied || got == codes.NotFound || got == codes.Unauthenticated || got == codes.Internal {
					t.Errorf("%s %s: %v, want past authorisation", cl.name, name, err)
				}
				continue
			}
			if got != want {
				t.Errorf("%s %s: %v, want %v", cl.name, name, err, want)
			}
		}
	}
	// No identity at all.
	_, err := e.s.GetMinutes(context.Background(), &meetingsv1.GetMinutesRequest{MeetingId: e.meeting})
	testenv.Code(t, err, codes.Unauthenticated)
	_, err = e.s.VerifyAuditTrail(context.Background(), &meetingsv1.VerifyAuditTrailRequest{})
	testenv.Code(t, err, codes.Unauthenticated)
	// A meeting that does not exist looks like one the caller may not see.
	_, err = e.s.GetMinutes(testenv.As(e.sysAdmin), &meetingsv1.GetMinutesRequest{MeetingId: newID()})
	testenv.Code(t, err, codes.NotFound)
	// Before the schema is migrated: Unavailable.
	e.s.d.Ready = func() bool { return false }
	_, err = e.s.GetMinutes(testenv.As(e.member), &meetingsv1.GetMinutesRequest{MeetingId: e.meeting})
	testenv.Code(t, err, codes.Unavailable)
	e.s.d.Ready = nil

	// Verifying without a meeting: administrators only.
	_, err = e.verify(e.member, "")
	testenv.Code(t, err, codes.PermissionDenied)
	if v, err := e.verify(e.outsiderAdmin, ""); err != nil || !v.GetIntact() || v.GetRecordsChecked() != 0 {
		t.Fatalf("verify of an administrator with no minutes = %v, %v", v, err)
	}

	// The chair and the approval after submission; the minute-taker cannot
	// approve their own minutes, nor can an administrator.
	m := e.mustSave(e.taker, 0, 0, "x")
	m, err = e.submit(e.taker, m.GetVersion())
	if err != nil {
		t.Fatal(err)
	}
	e.fm.setState(e.meeting, meetingsv1.MeetingState_MEETING_STATE_ENDED)
	for _, c := range []identity.Claims{e.taker, e.admin, e.sysAdmin, e.member} {
		_, err := e.approve(c, m.GetVersion())
		testenv.Code(t, err, codes.PermissionDenied)
	}
	if _, err := e.approve(e.chair, m.GetVersion()); err != nil {
		t.Fatal(err)
	}
}

func TestRecordVoteResult(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	record := func(item string, res *meetingsv1.VoteResult) error {
		return pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
			return e.s.RecordVoteResult(ctx, tx, e.meeting, item, res)
		})
	}
	poll := newID()
	if err := record(e.items[1], &meetingsv1.VoteResult{PollId: poll, Title: "Kết nạp đảng viên", Summary: "Tán thành 8/9"}); err != nil {
		t.Fatal(err)
	}
	// Reported again (a corrected count): replaced, not duplicated.
	if err := record(e.items[1], &meetingsv1.VoteResult{PollId: poll, Title: "Kết nạp đảng viên", Summary: "Tán thành 9/9 (100%) — thông qua"}); err != nil {
		t.Fatal(err)
	}
	m := e.get(e.member, 0)
	votes := m.GetItems()[1].GetVotes()
	if len(votes) != 1 || votes[0].GetSummary() != "Tán thành 9/9 (100%) — thông qua" || m.GetVersion() != 0 {
		t.Fatalf("votes = %v (version %d)", votes, m.GetVersion())
	}
	if acts := e.auditActions(); !slices.Equal(acts, []string{actionVoteRecorded, actionVoteRecorded}) {
		t.Fatalf("audit = %v", acts)
	}
	rows := e.outbox()
	if len(rows) != 2 || !strings.HasSuffix(rows[0].subject, ".minutes_changed") {
		t.Fatalf("events = %v", rows)
	}

	// Refused: nonsense that retrying would not fix.
	for _, bad := range []*meetingsv1.VoteResult{{Summary: "x"}, {PollId: "p"}, {PollId: "p", Summary: "a\x01"}} {
		if err := record(e.items[0], bad); err == nil || !strings.Contains(err.Error(), ErrInvalidVote.Error()) {
			t.Errorf("RecordVoteResult(%v) = %v, want ErrInvalidVote", bad, err)
		}
	}
	if err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		return e.s.RecordVoteResult(ctx, tx, newID(), e.items[0], &meetingsv1.VoteResult{PollId: "p", Summary: "x"})
	}); err == nil {
		t.Fatal("vote for an unknown meeting was recorded")
	}

	// Approval freezes the votes shown; a later result is not in the
	// approved revision, only in an amendment.
	approvedM := e.approved()
	if v := approvedM.GetItems()[1].GetVotes(); len(v) != 1 {
		t.Fatalf("approved votes = %v", v)
	}
	if err := record(e.items[2], &meetingsv1.VoteResult{PollId: newID(), Summary: "Tán thành 7/9"}); err != nil {
		t.Fatal(err)
	}
	if got := e.get(e.member, 1); len(got.GetItems()[2].GetVotes()) != 0 || got.GetContentHash() != approvedM.GetContentHash() {
		t.Fatalf("approved revision changed by a later vote: %v", got.GetItems()[2])
	}
	rows = e.outbox()
	if last := rows[len(rows)-1]; !strings.HasSuffix(last.subject, ".minutes_changed") {
		t.Fatalf("a vote after approval announced as %s", last.subject)
	}
	m2, err := e.amend(e.taker, "Bổ sung kết quả biểu quyết")
	if err != nil {
		t.Fatal(err)
	}
	if len(m2.GetItems()[2].GetVotes()) != 1 || len(m2.GetItems()[1].GetVotes()) != 1 {
		t.Fatalf("amendment votes = %v", m2.GetItems())
	}
	if v, err := e.verify(e.admin, e.meeting); err != nil || !v.GetIntact() {
		t.Fatalf("verify = %v, %v", v, err)
	}
}

func TestExportPDF(t *testing.T) {
	e := newEnv(t)
	e.approved()
	r, err := e.s.ExportMinutesPdf(testenv.As(e.member), &meetingsv1.ExportMinutesPdfRequest{MeetingId: e.meeting})
	if err != nil {
		t.Fatal(err)
	}
	if r.GetFileName() != "bien-ban-"+e.meeting+"-r1.pdf" || !bytes.HasPrefix(r.GetPdf(), []byte("%PDF-")) {
		t.Fatalf("export: %s, %d bytes", r.GetFileName(), len(r.GetPdf()))
	}
	text := pdfText(t, r.GetPdf())
	for _, want := range []string{"ĐẢNG BỘ KHỐI DOANH NGHIỆP TỈNH", "CHI BỘ VNPT VĂN YÊN", "Yên Bái, ngày 26 tháng 11 năm 2026",
		"Hội nghị Ban Thường vụ tháng 11", "Đồng chí Bí thư quán triệt nghị quyết", "Đã duyệt"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF lacks %q", want)
		}
	}
	_, err = e.s.ExportMinutesPdf(testenv.As(e.member), &meetingsv1.ExportMinutesPdfRequest{MeetingId: e.meeting, Revision: 2})
	testenv.Code(t, err, codes.NotFound)

	// Without the font: refused, naming the file, never a PDF with broken text.
	e.s.d.FontDir = t.TempDir()
	_, err = e.s.ExportMinutesPdf(testenv.As(e.member), &meetingsv1.ExportMinutesPdfRequest{MeetingId: e.meeting})
	if msg := testenv.Code(t, err, codes.FailedPrecondition).Message(); !contains(msg, e.s.d.FontDir+"/DejaVuSans.ttf") {
		t.Fatalf("missing font: %s", msg)
	}
}

func TestRegister(t *testing.T) {
	gs := grpc.NewServer()
	New(Deps{}).Register(gs)
	info, ok := gs.GetServiceInfo()["ecabinet.meetings.v1.MinutesService"]
	if !ok || len(info.Methods) != 9 {
		t.Fatalf("registered: %v", gs.GetServiceInfo())
	}
}

func TestReadsNeverWrite(t *testing.T) {
	e := newEnv(t)
	e.get(e.taker, 0)
	if _, err := e.s.ExportMinutesPdf(testenv.As(e.taker), &meetingsv1.ExportMinutesPdfRequest{MeetingId: e.meeting}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM minutes) + (SELECT count(*) FROM audit_log) + (SELECT count(*) FROM outbox)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("reads stored %d rows", n)
	}
}
