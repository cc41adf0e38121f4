package minutes

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"
)

// Limits on free text, in characters (runes) after normalisation.
const (
	// MaxTextLen bounds each of an item's discussion, opinions and
	// conclusions: about ten typed pages, more than any item's minutes.
	MaxTextLen   = 20000
	MaxReasonLen = 1000
)

// Reasons of our own, next to rpcerr's shared ones; stable codes the gateway
// translates.
const (
	reasonInvalidCharacter = "INVALID_CHARACTER"
	reasonOutOfRange       = "OUT_OF_RANGE"
	reasonNotOnAgenda      = "NOT_ON_AGENDA"
)

// Names of the states as stored.
var stateName = meetingsv1.MinutesState_name

const (
	draft     = meetingsv1.MinutesState_MINUTES_STATE_DRAFT
	submitted = meetingsv1.MinutesState_MINUTES_STATE_SUBMITTED
	approved  = meetingsv1.MinutesState_MINUTES_STATE_APPROVED
)

// access is what a caller may do with one meeting's minutes.
type access struct {
	// read: participants, members of the organisation and its
	// administrators (the meeting's visibility rule); anyone else is told
	// the meeting does not exist.
	read bool
	// write: the meeting's minute-taker, or an administrator of its
	// organisation standing in.
	write bool
	// decide (return, approve): the chair only; approval is the chair's
	// signature, nobody can give it for them.
	decide bool
	// verify the audit trail: administrators of the organisation.
	verify bool
}

func accessOf(c identity.Claims, m *meetingsv1.Meeting) access {
	org := m.GetOrganizationId()
	role := roleOf(c.Subject, m)
	admin := c.IsOrgAdmin(org)
	return access{
		read:   role != meetingsv1.ParticipantRole_PARTICIPANT_ROLE_UNSPECIFIED || c.InOrg(org) || admin,
		write:  role == meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER || admin,
		decide: role == meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR,
		verify: admin,
	}
}

// roleOf returns the person's role in the meeting, UNSPECIFIED for someone
// not taking part.
func roleOf(personID string, m *meetingsv1.Meeting) meetingsv1.ParticipantRole {
	if personID == "" {
		return meetingsv1.ParticipantRole_PARTICIPANT_ROLE_UNSPECIFIED
	}
	for _, p := range m.GetParticipants() {
		if p.GetPersonId() == personID {
			return p.GetRole()
		}
	}
	return meetingsv1.ParticipantRole_PARTICIPANT_ROLE_UNSPECIFIED
}

// op is a change to the minutes.
type op int

const (
	opSave op = iota
	opSubmit
	opReturn
	opApprove
	opAmend
)

// refusal is a change the states of the meeting and the minutes do not
// allow; the API answers FailedPrecondition with its message.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

func refuse(format string, args ...any) error { return &refusal{fmt.Sprintf(format, args...)} }

// checkState says whether o may change the latest revision (revision rev in
// state st; rev 1 in DRAFT when nothing is stored yet) of the minutes of a
// meeting in state ms. The minutes' own state is checked first, so editing
// approved minutes is always answered with how to amend them.
//
//	draft --submit--> submitted --approve--> approved --amend--> draft (rev+1)
//	  ^                   |
//	  +------return-------+
//
// Revision 1 is written while the meeting is in progress or has ended and
// approved once it has ended (approval closes it); later revisions amend a
// closed meeting's minutes.
func checkState(o op, ms meetingsv1.MeetingState, rev int32, st meetingsv1.MinutesState) error {
	switch st {
	case approved:
		if o != opAmend {
			return refuse("minutes revision %d are approved and can no longer be changed; to correct them, amend them "+
				"(AmendMinutes with a reason), which starts revision %d as a draft copied from this one", rev, rev+1)
		}
		return nil
	case submitted:
		switch o {
		case opSave:
			return refuse("minutes revision %d are submitted to the chair; the chair must return them before they can be edited", rev)
		case opSubmit:
			return refuse("minutes revision %d are already submitted to the chair", rev)
		case opAmend:
			return refuse("minutes revision %d are not approved yet; only approved minutes are amended, the chair can return these for changes", rev)
		}
	default: // draft
		switch o {
		case opReturn:
			return refuse("minutes revision %d are a draft; only submitted minutes can be returned", rev)
		case opApprove:
			return refuse("minutes revision %d are a draft; the minute-taker must submit them before the chair can approve them", rev)
		case opAmend:
			return refuse("minutes revision %d are not approved yet; only approved minutes are amended, edit the draft instead", rev)
		}
	}

	if o == opApprove {
		if rev == 1 && ms != meetingsv1.MeetingState_MEETING_STATE_ENDED {
			return refuse("the meeting is %s; minutes can be approved once the meeting has ended", meetingStateText(ms))
		}
		if rev > 1 && ms != meetingsv1.MeetingState_MEETING_STATE_CLOSED {
			return refuse("the meeting is %s; an amendment of its minutes can be approved once the meeting is closed", meetingStateText(ms))
		}
		return nil
	}
	switch ms {
	case meetingsv1.MeetingState_MEETING_STATE_IN_PROGRESS, meetingsv1.MeetingState_MEETING_STATE_ENDED:
		return nil
	case meetingsv1.MeetingState_MEETING_STATE_CLOSED:
		if rev > 1 {
			return nil
		}
		return refuse("the meeting is closed; its minutes can no longer be written")
	case meetingsv1.MeetingState_MEETING_STATE_CANCELLED:
		return refuse("the meeting was cancelled; it has no minutes")
	default:
		return refuse("the meeting is %s; minutes are written once it is in progress", meetingStateText(ms))
	}
}

func meetingStateText(s meetingsv1.MeetingState) string {
	switch s {
	case meetingsv1.MeetingState_MEETING_STATE_DRAFT:
		return "a draft"
	case meetingsv1.MeetingState_MEETING_STATE_SCHEDULED:
		return "scheduled and has not started"
	case meetingsv1.MeetingState_MEETING_STATE_IN_PROGRESS:
		return "in progress"
	case meetingsv1.MeetingState_MEETING_STATE_ENDED:
		return "ended"
	case meetingsv1.MeetingState_MEETING_STATE_CLOSED:
		return "closed"
	case meetingsv1.MeetingState_MEETING_STATE_CANCELLED:
		return "cancelled"
	}
	return "in an unknown state"
}

// staleVersion is a write based on an old version; the API answers Aborted
// with the current version so the client can reload and merge.
type staleVersion struct{ current, expected int64 }

func (e *staleVersion) Error() string {
	return fmt.Sprintf("the minutes were changed in the meantime: current version is %d, the change was based on version %d; reload them and apply the change again",
		e.current, e.expected)
}

// checkVersion compares the version a write was based on with the
// current one (0 while nothing is stored).
func checkVersion(current, expected int64) error {
	if current != expected {
		return &staleVersion{current: current, expected: expected}
	}
	return nil
}

// normalizeText trims the text, makes line ends "\n" and composes it
// (NFC): Vietnamese keyboards and pasted text mix precomposed and
// decomposed diacritics, and one form keeps lengths, search and the
// content hash consistent.
func normalizeText(s string) string {
	return norm.NFC.String(strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")))
}

// checkText checks multi-line text: length and no control characters but
// line breaks and tabs.
func checkText(field, s string, max int, required bool) []rpcerr.Violation {
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
	if !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && r != '\n' && r != '\t'
	}) >= 0 {
		vs = append(vs, rpcerr.Violation{Field: field, Reason: reasonInvalidCharacter,
			Description: "must not contain control characters other than line breaks and tabs"})
	}
	return vs
}

// parseID checks that s is a UUID and returns its canonical form.
func parseID(field, s string) (string, []rpcerr.Violation) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonRequired, Description: "must not be empty"}}
	}
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return "", []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonInvalidFormat, Description: "must be a UUID"}}
	}
	return id.String(), nil
}

func checkExpectedVersion(v int64) []rpcerr.Violation {
	if v < 0 {
		return []rpcerr.Violation{{Field: "expected_version", Reason: reasonOutOfRange,
			Description: "must not be negative; use the version of the minutes the change is based on (0 before anything is written)"}}
	}
	return nil
}

func checkRevision(v int32) []rpcerr.Violation {
	if v < 0 {
		return []rpcerr.Violation{{Field: "revision", Reason: reasonOutOfRange, Description: "must not be negative; 0 means the latest"}}
	}
	return nil
}

// itemText is the validated text of one agenda item.
type itemText struct {
	agendaItemID                      string
	discussion, opinions, conclusions string
}

func validateSave(req *meetingsv1.SaveItemMinutesRequest, m *meetingsv1.Meeting) (itemText, []rpcerr.Violation) {
	t := itemText{
		discussion:  normalizeText(req.GetDiscussion()),
		opinions:    normalizeText(req.GetOpinions()),
		conclusions: normalizeText(req.GetConclusions()),
	}
	id, vs := parseID("agenda_item_id", req.GetAgendaItemId())
	if len(vs) == 0 && agendaItem(m, id) == nil {
		vs = append(vs, rpcerr.Violation{Field: "agenda_item_id", Reason: reasonNotOnAgenda,
			Description: "is not an item of this meeting's agenda"})
	}
	t.agendaItemID = id
	vs = append(vs, checkExpectedVersion(req.GetExpectedVersion())...)
	vs = append(vs, checkText("discussion", t.discussion, MaxTextLen, false)...)
	vs = append(vs, checkText("opinions", t.opinions, MaxTextLen, false)...)
	vs = append(vs, checkText("conclusions", t.conclusions, MaxTextLen, false)...)
	return t, vs
}

func agendaItem(m *meetingsv1.Meeting, id string) *meetingsv1.AgendaItem {
	for _, it := range m.GetAgenda() {
		if it.GetId() == id {
			return it
		}
	}
	return nil
}

func validateReason(s string) (string, []rpcerr.Violation) {
	r := normalizeText(s)
	return r, checkText("reason", r, MaxReasonLen, true)
}
