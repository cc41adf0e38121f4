package minutes

import (
	"errors"
	"strings"
	"testing"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const (
	inProgress = meetingsv1.MeetingState_MEETING_STATE_IN_PROGRESS
	ended      = meetingsv1.MeetingState_MEETING_STATE_ENDED
	closed     = meetingsv1.MeetingState_MEETING_STATE_CLOSED
	scheduled  = meetingsv1.MeetingState_MEETING_STATE_SCHEDULED
	cancelled  = meetingsv1.MeetingState_MEETING_STATE_CANCELLED
	mDraft     = meetingsv1.MeetingState_MEETING_STATE_DRAFT
)

func TestStateMachine(t *testing.T) {
	ok := ""
	cases := []struct {
		name    string
		op      op
		meeting meetingsv1.MeetingState
		rev     int32
		st      meetingsv1.MinutesState
		want    string // "" allowed, else part of the refusal
	}{
		{"save draft while in progress", opSave, inProgress, 1, draft, ok},
		{"save draft after the end", opSave, ended, 1, draft, ok},
		{"save before the start", opSave, scheduled, 1, draft, "has not started"},
		{"save in a draft meeting", opSave, mDraft, 1, draft, "minutes are written once it is in progress"},
		{"save in a cancelled meeting", opSave, cancelled, 1, draft, "cancelled"},
		{"save revision 1 of a closed meeting", opSave, closed, 1, draft, "closed"},
		{"save an amendment of a closed meeting", opSave, closed, 2, draft, ok},
		{"save submitted", opSave, ended, 1, submitted, "chair must return them"},
		{"save approved", opSave, closed, 1, approved, "approved and can no longer be changed; to correct them, amend them"},
		{"submit draft", opSubmit, inProgress, 1, draft, ok},
		{"submit twice", opSubmit, ended, 1, submitted, "already submitted"},
		{"submit approved", opSubmit, closed, 1, approved, "approved"},
		{"submit before the start", opSubmit, scheduled, 1, draft, "has not started"},
		{"return submitted", opReturn, ended, 1, submitted, ok},
		{"return draft", opReturn, ended, 1, draft, "only submitted minutes can be returned"},
		{"return approved", opReturn, closed, 1, approved, "approved"},
		{"approve submitted after the end", opApprove, ended, 1, submitted, ok},
		{"approve while in progress", opApprove, inProgress, 1, submitted, "once the meeting has ended"},
		{"approve draft", opApprove, ended, 1, draft, "must submit them"},
		{"approve twice", opApprove, closed, 1, approved, "approved"},
		{"approve an amendment of a closed meeting", opApprove, closed, 2, submitted, ok},
		{"approve an amendment of a meeting not closed", opApprove, ended, 2, submitted, "once the meeting is closed"},
		{"amend approved", opAmend, closed, 1, approved, ok},
		{"amend draft", opAmend, inProgress, 1, draft, "edit the draft instead"},
		{"amend submitted", opAmend, ended, 1, submitted, "not approved yet"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkState(tc.op, tc.meeting, tc.rev, tc.st)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var rf *refusal
			if !errors.As(err, &rf) || !strings.Contains(rf.msg, tc.want) {
				t.Fatalf("err = %v, want a refusal containing %q", err, tc.want)
			}
		})
	}
}

func TestApprovedRefusalSaysHowToAmend(t *testing.T) {
	err := checkState(opSave, closed, 3, approved)
	if err == nil || !strings.Contains(err.Error(), "revision 3 are approved") || !strings.Contains(err.Error(), "AmendMinutes") ||
		!strings.Contains(err.Error(), "revision 4") {
		t.Fatalf("refusal %q does not say which revision is approved and how to amend it", err)
	}
}

func TestCheckVersion(t *testing.T) {
	if err := checkVersion(4, 4); err != nil {
		t.Fatal(err)
	}
	err := checkVersion(5, 4)
	var sv *staleVersion
	if !errors.As(err, &sv) || !strings.Contains(err.Error(), "current version is 5") {
		t.Fatalf("err = %v, want stale version naming the current one", err)
	}
	if checkVersion(0, 0) != nil || checkVersion(1, 0) == nil {
		t.Fatal("version 0 must stand for 'nothing written yet' and be checked like any other")
	}
}

func TestAccess(t *testing.T) {
	const org = "org-1"
	m := &meetingsv1.Meeting{OrganizationId: org, Participants: []*meetingsv1.Participant{
		{PersonId: "chair", Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR},
		{PersonId: "taker", Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER},
		{PersonId: "member", Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MEMBER},
		{PersonId: "observer", Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_OBSERVER},
	}}
	cases := []struct {
		name string
		c    identity.Claims
		want access
	}{
		{"chair", identity.Claims{Subject: "chair", Orgs: []string{org}}, access{read: true, decide: true}},
		{"minute-taker", identity.Claims{Subject: "taker", Orgs: []string{org}}, access{read: true, write: true}},
		{"member", identity.Claims{Subject: "member", Orgs: []string{org}}, access{read: true}},
		{"observer from elsewhere", identity.Claims{Subject: "observer", Orgs: []string{"parent"}}, access{read: true}},
		{"organisation member not invited", identity.Claims{Subject: "x", Orgs: []string{org}}, access{read: true}},
		{"organisation admin", identity.Claims{Subject: "adm", AdminOrgs: []string{org}}, access{read: true, write: true, verify: true}},
		{"system admin", identity.Claims{Subject: "root", Roles: []string{identity.RoleSystemAdmin}}, access{read: true, write: true, verify: true}},
		{"other organisation", identity.Claims{Subject: "y", Orgs: []string{"org-2"}, AdminOrgs: []string{"org-2"}}, access{}},
		{"nobody", identity.Claims{}, access{}},
	}
	for _, tc := range cases {
		if got := accessOf(tc.c, m); got != tc.want {
			t.Errorf("%s: access = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestValidateSave(t *testing.T) {
	m := &meetingsv1.Meeting{Agenda: []*meetingsv1.AgendaItem{{Id: "0190c6a4-0000-7000-8000-000000000001", Position: 1, Title: "Một"}}}
	decomposed := "Nghi\u0323 quyê\u0301t" // "Nghị quyết" typed with combining marks
	got, vs := validateSave(&meetingsv1.SaveItemMinutesRequest{
		AgendaItemId: "0190C6A4-0000-7000-8000-000000000001",
		Discussion:   "  " + decomposed + "\r\ndòng hai  ",
	}, m)
	if len(vs) > 0 {
		t.Fatalf("violations: %v", vs)
	}
	if got.discussion != "Nghị quyết\ndòng hai" || got.agendaItemID != "0190c6a4-0000-7000-8000-000000000001" {
		t.Fatalf("normalised to %q / %q", got.discussion, got.agendaItemID)
	}

	_, vs = validateSave(&meetingsv1.SaveItemMinutesRequest{
		AgendaItemId:    "0190c6a4-0000-7000-8000-000000000009",
		ExpectedVersion: -1,
		Discussion:      strings.Repeat("ạ", MaxTextLen+1),
		Opinions:        "chuông\a",
		Conclusions:     strings.Repeat("x", MaxTextLen) + "\t\n",
	}, m)
	want := map[string]string{
		"agenda_item_id": reasonNotOnAgenda, "expected_version": reasonOutOfRange,
		"discussion": "TOO_LONG", "opinions": reasonInvalidCharacter,
	}
	if len(vs) != len(want) {
		t.Fatalf("violations = %+v, want %v", vs, want)
	}
	for _, v := range vs {
		if want[v.Field] != v.Reason {
			t.Errorf("violation %+v, want reason %q for %s", v, want[v.Field], v.Field)
		}
	}
	if _, vs := validateSave(&meetingsv1.SaveItemMinutesRequest{AgendaItemId: "not-a-uuid"}, m); len(vs) != 1 || vs[0].Reason != "INVALID_FORMAT" {
		t.Fatalf("bad uuid: %+v", vs)
	}
	if _, vs := validateReason("   "); len(vs) != 1 || vs[0].Field != "reason" || vs[0].Reason != "REQUIRED" {
		t.Fatalf("empty reason: %+v", vs)
	}
}

func testMeeting() *meetingsv1.Meeting {
	start := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC) // 08:00 in Vietnam
	return &meetingsv1.Meeting{
		Id: "m1", OrganizationId: "org", Title: "Hội nghị Ban Thường vụ", Place: "Phòng họp tầng 3",
		StartsAt: timestamppb.New(start), EndsAt: timestamppb.New(start.Add(3*time.Hour + 30*time.Minute)),
		Agenda: []*meetingsv1.AgendaItem{
			{Id: "b", Position: 2, Title: "Công tác cán bộ"},
			{Id: "a", Position: 1, Title: "Quán triệt nghị quyết"},
		},
		Participants: []*meetingsv1.Participant{
			{PersonId: "1", FullName: "Nguyễn Văn An", Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR, Attendance: meetingsv1.Attendance_ATTENDANCE_PRESENT},
			{PersonId: "2", FullName: "Trần Thị Bình", Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER, Attendance: meetingsv1.Attendance_ATTENDANCE_PRESENT},
			{PersonId: "3", FullName: "Lê Văn Cường", Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MEMBER, Attendance: meetingsv1.Attendance_ATTENDANCE_PRESENT_ONLINE},
			{PersonId: "4", FullName: "Phạm Thị Dung", Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MEMBER, Attendance: meetingsv1.Attendance_ATTENDANCE_ABSENT_EXCUSED, AbsenceReason: "Đi công tác"},
			{PersonId: "5", FullName: "Hoàng Văn Em", Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MEMBER},
			{PersonId: "6", FullName: "Đỗ Quang Khách", Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_OBSERVER, Attendance: meetingsv1.Attendance_ATTENDANCE_PRESENT},
		},
	}
}

func TestBuildHeader(t *testing.T) {
	h := buildHeader(testMeeting(), &meetingsv1.Organization{Name: "Chi bộ VNPT Văn Yên"}, &meetingsv1.Organization{Name: "Đảng bộ Khối"})
	if h.ChairName != "Nguyễn Văn An" || h.MinuteTakerName != "Trần Thị Bình" || h.OrganizationName != "Chi bộ VNPT Văn Yên" ||
		h.SuperiorName != "Đảng bộ Khối" {
		t.Fatalf("header = %+v", h)
	}
	// The observer is no member: five members, two present, one online, two absent.
	if h.MembersTotal != 5 || len(h.Present) != 2 || len(h.PresentOnline) != 1 || len(h.Absent) != 2 {
		t.Fatalf("attendance = total %d present %v online %v absent %v", h.MembersTotal, h.Present, h.PresentOnline, h.Absent)
	}
	if h.Absent[0] != (absentPerson{"Phạm Thị Dung", "Đi công tác"}) || h.Absent[1].Reason != "" {
		t.Fatalf("absent = %+v", h.Absent)
	}
	if h.EndsAt == nil || h.EndsAt.Sub(h.StartsAt) != 210*time.Minute {
		t.Fatalf("times = %v - %v", h.StartsAt, h.EndsAt)
	}
	// No parent: no superior line.
	if h := buildHeader(testMeeting(), &meetingsv1.Organization{Name: "X"}, nil); h.SuperiorName != "" {
		t.Fatalf("superior without a parent: %q", h.SuperiorName)
	}
}

func TestLiveItems(t *testing.T) {
	m := testMeeting()
	saved := []item{
		{AgendaItemID: "b", Title: "old title", Position: 9, Discussion: "thảo luận b"},
		{AgendaItemID: "gone", Title: "Mục đã bỏ", Position: 3, Conclusions: "kết luận vẫn giữ"},
		{AgendaItemID: "gone-empty", Title: "Mục rỗng"},
	}
	votes := map[string][]vote{"a": {{PollID: "p1", Summary: "Tán thành 9/9"}}, "stray": {{PollID: "p2", Summary: "x"}}}
	items := liveItems(m, saved, votes)
	var got []string
	for _, it := range items {
		got = append(got, it.AgendaItemID+":"+it.Title)
	}
	want := "a:Quán triệt nghị quyết b:Công tác cán bộ gone:Mục đã bỏ stray:"
	if strings.Join(got, " ") != want {
		t.Fatalf("items = %v, want %s", got, want)
	}
	if items[0].Position != 1 || items[1].Position != 2 || items[1].Discussion != "thảo luận b" || len(items[0].Votes) != 1 ||
		items[1].Votes == nil {
		t.Fatalf("items = %+v", items)
	}
}

func TestContentHashCoversEveryField(t *testing.T) {
	start := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	base := func() (*revision, content) {
		r := &revision{Revision: 1, ApprovedBy: "1", ApprovedByName: "An", ApproveTime: start.Add(5 * time.Hour)}
		c := content{
			Header: header{OrganizationName: "Chi bộ", MeetingTitle: "Họp", StartsAt: start, Present: []string{"A", "B"}, Absent: []absentPerson{{"C", "ốm"}}},
			Items:  []item{{AgendaItemID: "a", Title: "Một", Position: 1, Discussion: "ab", Opinions: "c", Votes: []vote{{PollID: "p", Summary: "9/9"}}}},
		}
		return r, c
	}
	r, c := base()
	h0 := contentHash("m1", r, c)
	if len(h0) != 64 || h0 != contentHash("m1", r, c) {
		t.Fatalf("hash %q is not a stable hex SHA-256", h0)
	}
	changes := map[string]func(r *revision, c *content){
		"meeting":        nil,
		"revision":       func(r *revision, c *content) { r.Revision = 2 },
		"amendment":      func(r *revision, c *content) { r.AmendmentReason = "x" },
		"title":          func(r *revision, c *content) { c.Header.MeetingTitle = "Họp." },
		"online":         func(r *revision, c *content) { c.Header.Online = true },
		"present order":  func(r *revision, c *content) { c.Header.Present = []string{"B", "A"} },
		"field boundary": func(r *revision, c *content) { c.Items[0].Discussion, c.Items[0].Opinions = "a", "bc" },
		"absent reason":  func(r *revision, c *content) { c.Header.Absent[0].Reason = "" },
		"vote":           func(r *revision, c *content) { c.Items[0].Votes[0].Summary = "8/9" },
		"approver":       func(r *revision, c *content) { r.ApprovedByName = "Ân" },
		"approve time":   func(r *revision, c *content) { r.ApproveTime = r.ApproveTime.Add(time.Microsecond) },
		"ends":           func(r *revision, c *content) { e := start; c.Header.EndsAt = &e },
	}
	for name, change := range changes {
		r, c := base()
		id := "m1"
		if change == nil {
			id = "m2"
		} else {
			change(r, &c)
		}
		if contentHash(id, r, c) == h0 {
			t.Errorf("changing the %s does not change the hash", name)
		}
	}
}

func TestDayText(t *testing.T) {
	for in, want := range map[time.Time]string{
		time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC): "ngày 26 tháng 11 năm 2026",
		time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC):   "ngày 05 tháng 01 năm 2027",
		time.Date(2027, 3, 10, 0, 0, 0, 0, time.UTC):  "ngày 10 tháng 3 năm 2027",
	} {
		if got := dayText(in); got != want {
			t.Errorf("dayText(%v) = %q, want %q", in, got, want)
		}
	}
	if got := dateLine("Yên Bái", time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)); got != "Yên Bái, ngày 26 tháng 11 năm 2026" {
		t.Errorf("dateLine = %q", got)
	}
	if got := dateLine("", time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)); got != "Ngày 26 tháng 11 năm 2026" {
		t.Errorf("dateLine without locality = %q", got)
	}
}
