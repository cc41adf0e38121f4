package tasks

import (
	"errors"
	"strings"
	"testing"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"github.com/google/go-cmp/cmp"
)

var allStatuses = []taskStatus{statusOpen, statusInProgress, statusDone, statusCancelled}

func TestCheckTransition(t *testing.T) {
	runner := access{Visible: true, Runner: true}
	assignee := access{Visible: true, Assignee: true}
	reader := access{Visible: true}

	// legal[from][to] for the runner side; the assignee side may do the
	// same except cancel.
	legal := map[taskStatus][]taskStatus{
		statusOpen:       {statusInProgress, statusDone, statusCancelled},
		statusInProgress: {statusDone, statusCancelled},
	}
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			if from == to {
				continue // the API treats it as "no change"
			}
			ok := false
			for _, l := range legal[from] {
				ok = ok || l == to
			}
			name := from.String() + "->" + to.String()

			err := checkTransition(from, to, runner)
			checkOutcome(t, "runner "+name, err, ok)

			err = checkTransition(from, to, assignee)
			if to == statusCancelled {
				wantDenied(t, "assignee "+name, err)
			} else {
				checkOutcome(t, "assignee "+name, err, ok)
			}

			// A reader is refused for lack of rights before the state is
			// considered, whatever the state.
			wantDenied(t, "reader "+name, checkTransition(from, to, reader))
		}
	}
}

func checkOutcome(t *testing.T, name string, err error, ok bool) {
	t.Helper()
	var illegal *illegalError
	switch {
	case ok && err != nil:
		t.Errorf("%s: %v, want allowed", name, err)
	case !ok && !errors.As(err, &illegal):
		t.Errorf("%s: %v, want illegalError", name, err)
	case !ok && err.Error() == "":
		t.Errorf("%s: refusal without a reason", name)
	}
}

func wantDenied(t *testing.T, name string, err error) {
	t.Helper()
	var denied *deniedError
	if !errors.As(err, &denied) {
		t.Errorf("%s: %v, want deniedError", name, err)
	}
}

func TestFinalStatusesGiveTheReason(t *testing.T) {
	err := checkTransition(statusDone, statusInProgress, access{Runner: true})
	if err == nil || !strings.Contains(err.Error(), "task is done") {
		t.Errorf("done -> in progress: %v, want the reason naming the done status", err)
	}
	err = checkTransition(statusCancelled, statusDone, access{Runner: true})
	if err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("cancelled -> done: %v", err)
	}
}

func TestTodayIsTheVietnameseDay(t *testing.T) {
	for _, tc := range []struct {
		at   string
		want string
	}{
		{"2026-03-01T16:59:59Z", "2026-03-01"}, // 23:59:59 in Hanoi
		{"2026-03-01T17:00:00Z", "2026-03-02"}, // midnight in Hanoi
		{"2026-03-02T00:00:00+07:00", "2026-03-02"},
		{"2026-12-31T23:00:00-05:00", "2027-01-01"},
	} {
		at, err := time.Parse(time.RFC3339, tc.at)
		if err != nil {
			t.Fatal(err)
		}
		if got := Today(at); got != tc.want {
			t.Errorf("Today(%s) = %s, want %s", tc.at, got, tc.want)
		}
	}
}

func TestOverdue(t *testing.T) {
	// A fixed clock: 08:00 on 10 June 2026 in Hanoi.
	now := time.Date(2026, 6, 10, 8, 0, 0, 0, Vietnam)
	today := Today(now)
	for _, tc := range []struct {
		deadline string
		status   taskStatus
		want     bool
	}{
		{"2026-06-09", statusOpen, true},
		{"2026-06-09", statusInProgress, true},
		{"2026-06-09", statusDone, false},
		{"2026-06-09", statusCancelled, false},
		{"2026-06-10", statusOpen, false}, // the deadline day itself
		{"2026-06-11", statusOpen, false},
		{"2025-12-31", statusOpen, true}, // string order is date order
	} {
		if got := overdue(tc.deadline, tc.status, today); got != tc.want {
			t.Errorf("overdue(%s, %v, %s) = %v, want %v", tc.deadline, tc.status, today, got, tc.want)
		}
	}
}

func TestAccessOf(t *testing.T) {
	const org, cell, other = "org-b", "cell-c", "org-x"
	m := &meetingsv1.Meeting{OrganizationId: org, Participants: []*meetingsv1.Participant{
		{PersonId: "chair", Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR},
		{PersonId: "mt", Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER},
		{PersonId: "mem", Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MEMBER},
		{PersonId: "guest", Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_OBSERVER},
	}}
	toPerson := assignment{PersonID: "doer"}
	toCell := assignment{OrganizationID: cell}

	for _, tc := range []struct {
		name string
		c    identity.Claims
		m    *meetingsv1.Meeting
		a    assignment
		want access
	}{
		{"chair", identity.Claims{Subject: "chair", Orgs: []string{org}}, m, toPerson, access{Visible: true, Runner: true}},
		{"minute-taker from elsewhere", identity.Claims{Subject: "mt"}, m, toPerson, access{Visible: true, Runner: true}},
		{"plain member participant", identity.Claims{Subject: "mem", Orgs: []string{org}}, m, toPerson, access{Visible: true}},
		{"observer from another org", identity.Claims{Subject: "guest", Orgs: []string{other}}, m, toPerson, access{Visible: true}},
		{"member of the org, not invited", identity.Claims{Subject: "x", Orgs: []string{org}}, m, toPerson, access{Visible: true}},
		{"admin of the org", identity.Claims{Subject: "adm", AdminOrgs: []string{org, cell}}, m, toPerson, access{Visible: true, Runner: true}},
		{"system admin", identity.Claims{Subject: "root", Roles: []string{identity.RoleSystemAdmin}}, m, toPerson, access{Visible: true, Runner: true, Assignee: false}},
		{"assignee person", identity.Claims{Subject: "doer", Orgs: []string{cell}}, m, toPerson, access{Visible: true, Assignee: true}},
		{"member of the assignee org", identity.Claims{Subject: "y", Orgs: []string{cell}}, m, toCell, access{Visible: true, Assignee: true}},
		{"admin of the assignee org", identity.Claims{Subject: "z", AdminOrgs: []string{cell}}, m, toCell, access{Visible: true, Assignee: true}},
		{"member of the cell, task for a person", identity.Claims{Subject: "y", Orgs: []string{cell}}, m, toPerson, access{}},
		{"outsider", identity.Claims{Subject: "o", Orgs: []string{other}}, m, toPerson, access{}},
		{"chair of a deleted meeting", identity.Claims{Subject: "chair"}, nil, toPerson, access{}},
		{"assignee of a deleted meeting's task", identity.Claims{Subject: "doer"}, nil, toPerson, access{Visible: true, Assignee: true}},
	} {
		if got := accessOf(tc.c, org, tc.m, tc.a); got != tc.want {
			t.Errorf("%s: accessOf = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestCheckNote(t *testing.T) {
	runner, assignee, reader := access{Runner: true}, access{Assignee: true}, access{Visible: true}
	if vs, err := checkNote(statusOpen, assignee, 40, 30); err != nil || vs != nil {
		t.Errorf("assignee 30 -> 40: %v %v", vs, err)
	}
	if vs, err := checkNote(statusInProgress, runner, 30, 30); err != nil || vs != nil {
		t.Errorf("runner 30 -> 30: %v %v", vs, err)
	}
	vs, err := checkNote(statusInProgress, assignee, 20, 30)
	if err != nil || len(vs) != 1 || vs[0].Field != "percent_done" || !strings.Contains(vs[0].Description, "30") {
		t.Errorf("30 -> 20: %v %v, want a percent_done violation naming 30", vs, err)
	}
	if _, err := checkNote(statusOpen, reader, 10, 0); err == nil {
		t.Error("reader may add a note")
	} else {
		wantDenied(t, "reader", err)
	}
	var illegal *illegalError
	for _, s := range []taskStatus{statusDone, statusCancelled} {
		if _, err := checkNote(s, assignee, 100, 0); !errors.As(err, &illegal) {
			t.Errorf("note on %v: %v, want illegalError", s, err)
		}
	}
}

func TestCheckDeadline(t *testing.T) {
	const today = "2026-06-10"
	for _, tc := range []struct {
		in, want, reason string
	}{
		{"2026-06-10", "2026-06-10", ""},
		{" 2026-06-11 ", "2026-06-11", ""},
		{"", "", rpcerr.ReasonRequired},
		{"2026-6-11", "", reasonInvalidDate},
		{"11/06/2026", "", reasonInvalidDate},
		{"2026-02-30", "", reasonInvalidDate},
		{"2026-06-09", "", reasonOutOfRange},
	} {
		got, vs := checkDeadline("deadline", tc.in, today)
		reason := ""
		if len(vs) > 0 {
			reason = vs[0].Reason
			if vs[0].Field != "deadline" {
				t.Errorf("%q: field %q", tc.in, vs[0].Field)
			}
		}
		if got != tc.want || reason != tc.reason {
			t.Errorf("checkDeadline(%q) = %q, %q; want %q, %q", tc.in, got, reason, tc.want, tc.reason)
		}
	}
}

func TestCheckAssignment(t *testing.T) {
	const p, o = "0190a0b0-0000-7000-8000-000000000001", "0190a0b0-0000-7000-8000-000000000002"
	for _, tc := range []struct {
		person, org string
		required    bool
		want        []string // field/reason
	}{
		{p, "", true, nil},
		{"", o, true, nil},
		{"", "", false, nil},
		{"", "", true, []string{"assignee_person_id/REQUIRED"}},
		{p, o, true, []string{"assignee_organization_id/TOO_MANY"}},
		{"nope", "", true, []string{"assignee_person_id/INVALID_FORMAT"}},
		{"", "nope", false, []string{"assignee_organization_id/INVALID_FORMAT"}},
	} {
		_, vs := checkAssignment(tc.person, tc.org, tc.required)
		var got []string
		for _, v := range vs {
			got = append(got, v.Field+"/"+v.Reason)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("checkAssignment(%q, %q, %v) (-want +got):\n%s", tc.person, tc.org, tc.required, diff)
		}
	}
}

func TestTextRules(t *testing.T) {
	decomposed := "Nguye\u0302\u0303n Va\u0306n An" // "Nguyễn Văn An" typed with combining marks
	if got := normalizeLine("  " + decomposed + " "); got != "Nguyễn Văn An" {
		t.Errorf("normalizeLine = %q, want NFC and trimmed", got)
	}
	if got := normalizeText("a\r\nb\rc"); got != "a\nb\nc" {
		t.Errorf("normalizeText = %q", got)
	}
	if vs := checkText("title", "a\nb", maxTitleLen, true, false); len(vs) != 1 || vs[0].Reason != reasonInvalidCharacter {
		t.Errorf("line break in a title: %v", vs)
	}
	if vs := checkText("description", "a\n\tb", maxDescriptionLen, false, true); vs != nil {
		t.Errorf("line break in a description: %v", vs)
	}
	if vs := checkText("description", "a\x00b", maxDescriptionLen, false, true); len(vs) != 1 {
		t.Errorf("NUL in a description: %v", vs)
	}
	// The limit counts characters, not bytes: 500 Vietnamese letters fit.
	if vs := checkText("title", strings.Repeat("ễ", maxTitleLen), maxTitleLen, true, false); vs != nil {
		t.Errorf("500 characters: %v", vs)
	}
	if vs := checkText("title", strings.Repeat("ễ", maxTitleLen+1), maxTitleLen, true, false); len(vs) != 1 || vs[0].Reason != rpcerr.ReasonTooLong {
		t.Errorf("501 characters: %v", vs)
	}
}

func TestMeetingAllowsTasks(t *testing.T) {
	for st := range meetingsv1.MeetingState_name {
		s := meetingsv1.MeetingState(st)
		err := meetingAllowsTasks(s)
		want := s == meetingsv1.MeetingState_MEETING_STATE_IN_PROGRESS || s == meetingsv1.MeetingState_MEETING_STATE_ENDED ||
			s == meetingsv1.MeetingState_MEETING_STATE_CLOSED
		if (err == nil) != want {
			t.Errorf("%v: %v, want allowed = %v", s, err, want)
		}
	}
	if err := meetingAllowsTasks(meetingsv1.MeetingState_MEETING_STATE_SCHEDULED); err == nil || !strings.Contains(err.Error(), "meeting is scheduled") {
		t.Errorf("scheduled: %v, want the reason", err)
	}
}

func TestAudience(t *testing.T) {
	m := &meetingsv1.Meeting{Participants: []*meetingsv1.Participant{{PersonId: "b"}, {PersonId: "a"}}}
	if diff := cmp.Diff([]string{"a", "b", "c"}, audience(m, "c", "a", "")); diff != "" {
		t.Errorf("audience (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"c"}, audience(nil, "c")); diff != "" {
		t.Errorf("audience without meeting (-want +got):\n%s", diff)
	}
}
