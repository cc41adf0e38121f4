package domain

import (
	"fmt"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
)

// Rule is an organisation's quorum rule: at least Numerator/Denominator of
// the quorum base must be present.
type Rule struct{ Numerator, Denominator int }

// DefaultRule is two thirds, the Party's usual rule.
var DefaultRule = Rule{2, 3}

func (r Rule) String() string { return fmt.Sprintf("%d/%d", r.Numerator, r.Denominator) }

// Attendee is what quorum needs to know about a participant.
type Attendee struct {
	Voting bool
	// Excused from party activities: counted in the base only if present.
	Excused    bool
	Attendance meetingsv1.Attendance
}

// Present reports whether a attends, in the room or online.
func Present(a meetingsv1.Attendance) bool {
	return a == meetingsv1.Attendance_ATTENDANCE_PRESENT || a == meetingsv1.Attendance_ATTENDANCE_PRESENT_ONLINE
}

// ComputeQuorum applies r to the attendees, in exact integers:
//
//	base     = participants with a voting right, less those excused from
//	           party activities who are not present
//	present  = participants with a voting right who are present (in the
//	           room or online)
//	required = ceil(base * numerator / denominator)
//	reached  = base > 0 and present >= required
//
// A member absent with an excuse for this meeting (ABSENT_EXCUSED) stays in
// the base: only a standing exemption from party activities removes them.
// A meeting without anyone entitled to vote has no quorum to reach.
// A rule with a zero or negative denominator is treated as DefaultRule.
func ComputeQuorum(as []Attendee, r Rule) *meetingsv1.Quorum {
	if r.Denominator <= 0 || r.Numerator <= 0 {
		r = DefaultRule
	}
	var base, present int64
	for _, a := range as {
		if !a.Voting {
			continue
		}
		p := Present(a.Attendance)
		if a.Excused && !p {
			continue
		}
		base++
		if p {
			present++
		}
	}
	num, den := int64(r.Numerator), int64(r.Denominator)
	required := (base*num + den - 1) / den
	return &meetingsv1.Quorum{
		Base:     int32(base),
		Present:  int32(present),
		Required: int32(required),
		Reached:  base > 0 && present >= required,
		Rule:     r.String(),
	}
}
