package domain

import (
	"fmt"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
)

// Role is a participant's role in one meeting.
type Role = meetingsv1.ParticipantRole

const (
	RoleChair       = meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR
	RoleMinuteTaker = meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER
	RoleMember      = meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MEMBER
	RoleGuest       = meetingsv1.ParticipantRole_PARTICIPANT_ROLE_GUEST
	RoleObserver    = meetingsv1.ParticipantRole_PARTICIPANT_ROLE_OBSERVER
)

// Runs reports whether role may run the meeting: edit it, move it through
// its lifecycle, advance the agenda, take attendance.
func Runs(r Role) bool { return r == RoleChair || r == RoleMinuteTaker }

// VotingRight decides whether a participant votes: only an official member
// of the meeting's body, attending as chair, minute-taker or member. Guests
// and observers never vote, nor do probationary members (Party Charter),
// nor people from outside the body whatever their role.
func VotingRight(r Role, s meetingsv1.Standing, bodyMember bool) bool {
	if r != RoleChair && r != RoleMinuteTaker && r != RoleMember {
		return false
	}
	return bodyMember && s == meetingsv1.Standing_STANDING_OFFICIAL
}

// CheckRole validates a participant role in field.
func CheckRole(field string, r Role) []Violation {
	if r == meetingsv1.ParticipantRole_PARTICIPANT_ROLE_UNSPECIFIED {
		return []Violation{{field, ReasonRequired, "must be specified"}}
	}
	if _, ok := meetingsv1.ParticipantRole_name[int32(r)]; !ok {
		return []Violation{{field, ReasonUnknownValue, fmt.Sprintf("unknown participant role %d", r)}}
	}
	return nil
}

// ValidateRsvp checks an answer to an invitation: absence needs a reason,
// which is kept only for an absence.
func ValidateRsvp(r meetingsv1.Rsvp, reason string) (string, []Violation) {
	var vs []Violation
	switch _, ok := meetingsv1.Rsvp_name[int32(r)]; {
	case r == meetingsv1.Rsvp_RSVP_UNSPECIFIED:
		vs = append(vs, Violation{"rsvp", ReasonRequired, "must be specified"})
	case !ok:
		vs = append(vs, Violation{"rsvp", ReasonUnknownValue, fmt.Sprintf("unknown answer %d", r)})
	}
	if r != meetingsv1.Rsvp_RSVP_ABSENT {
		return "", vs
	}
	reason, rv := ValidateReason("absence_reason", reason, true)
	return reason, append(vs, rv...)
}

// ValidateAttendance checks what a minute-taker marks: absence with an
// excuse needs the reason, which is kept only for that mark.
func ValidateAttendance(a meetingsv1.Attendance, reason string) (string, []Violation) {
	var vs []Violation
	switch _, ok := meetingsv1.Attendance_name[int32(a)]; {
	case a == meetingsv1.Attendance_ATTENDANCE_UNSPECIFIED:
		vs = append(vs, Violation{"attendance", ReasonRequired, "must be specified"})
	case !ok:
		vs = append(vs, Violation{"attendance", ReasonUnknownValue, fmt.Sprintf("unknown attendance %d", a)})
	}
	if a != meetingsv1.Attendance_ATTENDANCE_ABSENT_EXCUSED {
		return "", vs
	}
	reason, rv := ValidateReason("absence_reason", reason, true)
	return reason, append(vs, rv...)
}
