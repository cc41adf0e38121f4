package tasks

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"
)

// This file holds the rules that need no I/O: the status machine, who may
// do what, the calendar day in Vietnam and request validation.

// taskStatus is a task's status.
type taskStatus = meetingsv1.TaskStatus

const (
	statusOpen       = meetingsv1.TaskStatus_TASK_STATUS_OPEN
	statusInProgress = meetingsv1.TaskStatus_TASK_STATUS_IN_PROGRESS
	statusDone       = meetingsv1.TaskStatus_TASK_STATUS_DONE
	statusCancelled  = meetingsv1.TaskStatus_TASK_STATUS_CANCELLED
)

// final reports whether s ends the task: nothing about it changes any more.
func final(s taskStatus) bool { return s == statusDone || s == statusCancelled }

// Limits on text, counted in characters (runes) after normalisation.
const (
	maxTitleLen       = 500
	maxDescriptionLen = 5000
	maxNoteLen        = 2000
)

// Reason codes of our own next to rpcerr's. OUT_OF_RANGE, NOT_FOUND,
// INVALID_DATE, INVALID_CHARACTER and TOO_MANY are codes the gateway already
// translates; the descriptions say exactly what is wrong.
const (
	reasonOutOfRange       = "OUT_OF_RANGE"
	reasonNotFound         = "NOT_FOUND"
	reasonInvalidDate      = "INVALID_DATE"
	reasonInvalidCharacter = "INVALID_CHARACTER"
	reasonTooMany          = "TOO_MANY"
)

// Vietnam is the zone deadlines are days in (Asia/Ho_Chi_Minh). Vietnam has
// kept UTC+7 without daylight saving since 1975, so a fixed zone is exact
// and needs no tz database in the image.
var Vietnam = time.FixedZone("ICT", 7*60*60)

const dateLayout = "2006-01-02"

// Today is the Vietnamese calendar day holding t, as YYYY-MM-DD. Dates in
// that form compare correctly as strings.
func Today(t time.Time) string { return t.In(Vietnam).Format(dateLayout) }

// overdue reports whether a task with deadline (YYYY-MM-DD) and status is
// overdue on day today: past the deadline, and neither done nor cancelled.
// The deadline day itself is not overdue.
func overdue(deadline string, s taskStatus, today string) bool {
	return !final(s) && deadline < today
}

// access is what one caller may do with one task (or, before it exists,
// with the meeting it would come from).
type access struct {
	// Visible: may read it. Anyone else is told it does not exist.
	Visible bool
	// Runner: the meeting's chair or minute-taker, or an administrator of
	// the meeting's organisation. Creates tasks, changes deadline and
	// assignee, cancels, and may do everything the assignee may.
	Runner bool
	// Assignee: the person accountable, or a member or administrator of the
	// organisation accountable. Moves the task along and writes notes.
	Assignee bool
}

// assignment names who is accountable for a task: exactly one of the two.
type assignment struct {
	PersonID, OrganizationID string
}

// accessOf decides c's rights on a task of organisation orgID assigned to a,
// coming from meeting m (nil when the meeting no longer exists, which
// leaves only the organisation's and the assignee's rights).
//
// Visibility follows the meeting's (participant, member of its organisation,
// or its administrator) and adds the assignee side, who must see the work
// given to them even when they are in another organisation.
func accessOf(c identity.Claims, orgID string, m *meetingsv1.Meeting, a assignment) access {
	var acc access
	role := meetingsv1.ParticipantRole_PARTICIPANT_ROLE_UNSPECIFIED
	participant := false
	for _, p := range m.GetParticipants() {
		if p.GetPersonId() == c.Subject {
			participant, role = true, p.GetRole()
			break
		}
	}
	acc.Runner = c.IsOrgAdmin(orgID) ||
		role == meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR ||
		role == meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER
	acc.Assignee = (a.PersonID != "" && a.PersonID == c.Subject) ||
		(a.OrganizationID != "" && (c.InOrg(a.OrganizationID) || c.IsOrgAdmin(a.OrganizationID)))
	acc.Visible = acc.Runner || acc.Assignee || participant || c.InOrg(orgID)
	return acc
}

// deniedError is a change the caller may not make (PermissionDenied).
type deniedError struct{ msg string }

func (e *deniedError) Error() string { return e.msg }

// illegalError is a change the task's status does not allow
// (FailedPrecondition); the message gives the reason.
type illegalError struct{ msg string }

func (e *illegalError) Error() string { return e.msg }

// statusWord is how messages name a status.
func statusWord(s taskStatus) string {
	switch s {
	case statusOpen:
		return "open"
	case statusInProgress:
		return "in progress"
	case statusDone:
		return "done"
	case statusCancelled:
		return "cancelled"
	}
	return s.String()
}

// mayMove decides whether acc may move a task to status to at all: the
// runner side any way, the assignee side anything but cancelling.
func mayMove(to taskStatus, acc access) error {
	if to == statusCancelled {
		if !acc.Runner {
			return &deniedError{"only the meeting's chair or minute-taker, or an administrator of its organisation, may cancel a task"}
		}
		return nil
	}
	if !acc.Runner && !acc.Assignee {
		return &deniedError{"only the assignee, or the meeting's chair or minute-taker, may change a task's status"}
	}
	return nil
}

// checkTransition decides whether acc may move a task from one status to
// another. The machine:
//
//	OPEN -> IN_PROGRESS -> DONE, and OPEN -> DONE (a small task is often
//	finished before anyone marks it started);
//	OPEN or IN_PROGRESS -> CANCELLED, by the runner side only;
//	DONE and CANCELLED are final; IN_PROGRESS does not go back to OPEN.
//
// Permission is checked before the state, so a caller without rights learns
// nothing from the answer.
func checkTransition(from, to taskStatus, acc access) error {
	if err := mayMove(to, acc); err != nil {
		return err
	}
	if final(from) {
		return finalError(from)
	}
	switch {
	case from == statusOpen && (to == statusInProgress || to == statusDone || to == statusCancelled):
		return nil
	case from == statusInProgress && (to == statusDone || to == statusCancelled):
		return nil
	case from == statusInProgress && to == statusOpen:
		return &illegalError{"task is in progress; it can be done or cancelled, not reopened"}
	}
	return &illegalError{fmt.Sprintf("task is %s; it cannot become %s", statusWord(from), statusWord(to))}
}

// finalError refuses any change of a done or cancelled task.
func finalError(s taskStatus) error {
	return &illegalError{fmt.Sprintf("task is %s; a done or cancelled task cannot change", statusWord(s))}
}

// mayWork decides whether acc may report progress (notes): the assignee
// side or the runner side.
func mayWork(acc access) error {
	if !acc.Runner && !acc.Assignee {
		return &deniedError{"only the assignee, or the meeting's chair or minute-taker, may add a progress note"}
	}
	return nil
}

// mayPlan decides whether acc may change a task's deadline or assignee:
// the runner side only.
func mayPlan(acc access) error {
	if !acc.Runner {
		return &deniedError{"only the meeting's chair or minute-taker, or an administrator of its organisation, may change a task's deadline or assignee"}
	}
	return nil
}

// checkNote decides whether acc may add a progress note with percent to a
// task in status s whose last note said last percent (0 without notes).
// Progress only goes forward: a lower percentage than the last note's is
// refused, so the latest note is always the furthest the work has got.
// The returned violations are request errors; the error is a permission or
// state refusal.
func checkNote(s taskStatus, acc access, percent, last int32) ([]rpcerr.Violation, error) {
	if err := mayWork(acc); err != nil {
		return nil, err
	}
	if final(s) {
		return nil, &illegalError{fmt.Sprintf("task is %s; notes can be added only while it is open or in progress", statusWord(s))}
	}
	if percent >= 0 && percent <= 100 && percent < last {
		return []rpcerr.Violation{{Field: "percent_done", Reason: reasonOutOfRange,
			Description: fmt.Sprintf("must not be below the last note's %d percent", last)}}, nil
	}
	return nil, nil
}

// normalizeLine trims and composes single-line text (NFC): Vietnamese input
// arrives both precomposed and decomposed, and one stored form keeps
// equality, search and length limits consistent.
func normalizeLine(s string) string { return norm.NFC.String(strings.TrimSpace(s)) }

// normalizeText is normalizeLine for multi-line text, with Windows and old
// Mac line ends made "\n".
func normalizeText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return normalizeLine(s)
}

// checkText applies the length limit and refuses control characters (but
// line breaks and tabs when multiLine): a line break in a title breaks
// lists and exports.
func checkText(field, s string, max int, required, multiLine bool) []rpcerr.Violation {
	if s == "" {
		if required {
			return []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonRequired, Description: "must not be empty"}}
		}
		return nil
	}
	var vs []rpcerr.Violation
	if n := utf8.RuneCountInString(s); n > max {
		vs = append(vs, rpcerr.Violation{Field: field, Reason: rpcerr.ReasonTooLong,
			Description: fmt.Sprintf("must be at most %d characters, got %d", max, n)})
	}
	bad := func(r rune) bool { return unicode.IsControl(r) && !(multiLine && (r == '\n' || r == '\t')) }
	if strings.IndexFunc(s, bad) >= 0 {
		what := "control characters such as line breaks"
		if multiLine {
			what = "control characters other than line breaks and tabs"
		}
		vs = append(vs, rpcerr.Violation{Field: field, Reason: reasonInvalidCharacter, Description: "must not contain " + what})
	}
	return vs
}

// parseID checks an id field that must be a UUID (what this service's ids
// are); required says whether empty is an error.
func parseID(field, s string, required bool) (string, []rpcerr.Violation) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return "", []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonRequired, Description: "must not be empty"}}
		}
		return "", nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return "", []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonInvalidFormat, Description: "must be a UUID"}}
	}
	return id.String(), nil
}

// checkDeadline validates a YYYY-MM-DD deadline that must not be before
// today (the deadline day itself is fine).
func checkDeadline(field, s, today string) (string, []rpcerr.Violation) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonRequired, Description: "must not be empty"}}
	}
	d, err := time.Parse(dateLayout, s)
	// Parse accepts some variations; the round trip pins the exact form.
	if err != nil || d.Format(dateLayout) != s {
		return "", []rpcerr.Violation{{Field: field, Reason: reasonInvalidDate, Description: "must be a date as YYYY-MM-DD"}}
	}
	if s < today {
		return "", []rpcerr.Violation{{Field: field, Reason: reasonOutOfRange,
			Description: fmt.Sprintf("must not be in the past (today is %s in Vietnam)", today)}}
	}
	return s, nil
}

// checkAssignment validates that at most one of person and organisation
// is given, and (when required) at least one.
func checkAssignment(person, org string, required bool) (assignment, []rpcerr.Violation) {
	p, vs := parseID("assignee_person_id", person, false)
	o, ovs := parseID("assignee_organization_id", org, false)
	vs = append(vs, ovs...)
	switch {
	case len(vs) > 0:
	case p != "" && o != "":
		vs = append(vs, rpcerr.Violation{Field: "assignee_organization_id", Reason: reasonTooMany,
			Description: "must be empty when assignee_person_id is set; a task has one assignee"})
	case p == "" && o == "" && required:
		vs = append(vs, rpcerr.Violation{Field: "assignee_person_id", Reason: rpcerr.ReasonRequired,
			Description: "must be set, or assignee_organization_id"})
	}
	return assignment{PersonID: p, OrganizationID: o}, vs
}

// checkStatus validates a requested status: unspecified means "no change".
func checkStatus(s taskStatus) []rpcerr.Violation {
	if _, ok := meetingsv1.TaskStatus_name[int32(s)]; !ok {
		return []rpcerr.Violation{{Field: "status", Reason: rpcerr.ReasonUnknownValue, Description: fmt.Sprintf("unknown task status %d", s)}}
	}
	return nil
}

// meetingAllowsTasks says whether tasks can be created from a meeting in
// state st: conclusions exist once the meeting is held, so while it is in
// progress (the minute-taker records them live), ended or closed.
func meetingAllowsTasks(st meetingsv1.MeetingState) error {
	switch st {
	case meetingsv1.MeetingState_MEETING_STATE_IN_PROGRESS, meetingsv1.MeetingState_MEETING_STATE_ENDED,
		meetingsv1.MeetingState_MEETING_STATE_CLOSED:
		return nil
	}
	word := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(st.String(), "MEETING_STATE_"), "_", " "))
	return &illegalError{fmt.Sprintf("meeting is %s; tasks come from the conclusions of a meeting in progress, ended or closed", word)}
}

// audience is who, outside the meeting's organisation, may see a task's
// events: the meeting's participants and the assignee people (before and
// after a change of assignee), without duplicates, in a stable order.
func audience(m *meetingsv1.Meeting, people ...string) []string {
	var ids []string
	for _, p := range m.GetParticipants() {
		ids = append(ids, p.GetPersonId())
	}
	for _, p := range people {
		if p != "" {
			ids = append(ids, p)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}
