package domain

import (
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
)

const (
	present = meetingsv1.Attendance_ATTENDANCE_PRESENT
	online  = meetingsv1.Attendance_ATTENDANCE_PRESENT_ONLINE
	absent  = meetingsv1.Attendance_ATTENDANCE_NOT_PRESENT
	excused = meetingsv1.Attendance_ATTENDANCE_ABSENT_EXCUSED
)

func voters(n int, a meetingsv1.Attendance) []Attendee {
	out := make([]Attendee, n)
	for i := range out {
		out[i] = Attendee{Voting: true, Attendance: a}
	}
	return out
}

func TestComputeQuorum(t *testing.T) {
	q := func(base, present, required int32, reached bool, rule string) *meetingsv1.Quorum {
		return &meetingsv1.Quorum{Base: base, Present: present, Required: required, Reached: reached, Rule: rule}
	}
	tests := []struct {
		name string
		in   []Attendee
		rule Rule
		want *meetingsv1.Quorum
	}{
		{"nobody", nil, DefaultRule, q(0, 0, 0, false, "2/3")},
		// 2/3 of 9 is exactly 6.
		{"exactly two thirds", append(voters(6, present), voters(3, absent)...), DefaultRule, q(9, 6, 6, true, "2/3")},
		{"one short", append(voters(5, present), voters(4, absent)...), DefaultRule, q(9, 5, 6, false, "2/3")},
		// 2/3 of 10 is 6.67: seven needed, no rounding down.
		{"rounds up", append(voters(6, present), voters(4, absent)...), DefaultRule, q(10, 6, 7, false, "2/3")},
		{"online counts", append(voters(4, present), append(voters(3, online), voters(3, absent)...)...), DefaultRule, q(10, 7, 7, true, "2/3")},
		// Excused from party activities and absent: out of the base.
		{"excused from activities absent", append(voters(4, present), Attendee{Voting: true, Excused: true, Attendance: absent},
			Attendee{Voting: true, Excused: true, Attendance: excused}, Attendee{Voting: true, Attendance: absent}), DefaultRule, q(5, 4, 4, true, "2/3")},
		// ... but present: in the base and counted.
		{"excused from activities present", append(voters(2, present), Attendee{Voting: true, Excused: true, Attendance: present},
			Attendee{Voting: true, Attendance: absent}), DefaultRule, q(4, 3, 3, true, "2/3")},
		// An excuse for this one meeting does not shrink the base.
		{"absent with excuse stays in base", append(voters(2, present), voters(2, excused)...), DefaultRule, q(4, 2, 3, false, "2/3")},
		{"non-voters ignored", append(voters(2, present), Attendee{Attendance: present}, Attendee{Attendance: absent}), DefaultRule, q(2, 2, 2, true, "2/3")},
		{"half", append(voters(2, present), voters(2, absent)...), Rule{1, 2}, q(4, 2, 2, true, "1/2")},
		{"unanimity", append(voters(3, present), voters(1, absent)...), Rule{1, 1}, q(4, 3, 4, false, "1/1")},
		{"bad rule falls back", voters(3, present), Rule{0, 0}, q(3, 3, 2, true, "2/3")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ComputeQuorum(tt.in, tt.rule), protocmp.Transform()); diff != "" {
				t.Errorf("quorum (-want +got):\n%s", diff)
			}
		})
	}
}

// Large bases stay exact (no floating point).
func TestComputeQuorumExactForLargeBases(t *testing.T) {
	for base := 1; base <= 300; base++ {
		got := ComputeQuorum(voters(base, present), Rule{2, 3})
		want := (2*base + 2) / 3
		if int(got.GetRequired()) != want || !got.GetReached() {
			t.Fatalf("base %d: required %d, want %d", base, got.GetRequired(), want)
		}
		// required is the least count meeting present*3 >= base*2.
		r := int(got.GetRequired())
		if r*3 < base*2 || (r-1)*3 >= base*2 {
			t.Fatalf("base %d: required %d is not the least sufficient count", base, r)
		}
	}
}

func TestVotingRight(t *testing.T) {
	official, probationary := meetingsv1.Standing_STANDING_OFFICIAL, meetingsv1.Standing_STANDING_PROBATIONARY
	for _, r := range []Role{RoleChair, RoleMinuteTaker, RoleMember, RoleGuest, RoleObserver} {
		for _, s := range []meetingsv1.Standing{official, probationary, meetingsv1.Standing_STANDING_UNSPECIFIED} {
			for _, body := range []bool{true, false} {
				want := body && s == official && r != RoleGuest && r != RoleObserver
				if got := VotingRight(r, s, body); got != want {
					t.Errorf("VotingRight(%v, %v, body=%v) = %v", r, s, body, got)
				}
			}
		}
	}
}

func TestValidateRsvpAndAttendance(t *testing.T) {
	if r, vs := ValidateRsvp(meetingsv1.Rsvp_RSVP_ABSENT, " Đi công tác "); len(vs) != 0 || r != "Đi công tác" {
		t.Errorf("absent with reason: %q %v", r, vs)
	}
	if r, vs := ValidateRsvp(meetingsv1.Rsvp_RSVP_IN_PERSON, "ignored"); len(vs) != 0 || r != "" {
		t.Errorf("in person: %q %v", r, vs)
	}
	if _, vs := ValidateRsvp(meetingsv1.Rsvp_RSVP_ABSENT, ""); !cmp.Equal(fields(vs), []string{"absence_reason:REQUIRED"}) {
		t.Errorf("absent without reason: %v", vs)
	}
	if _, vs := ValidateRsvp(0, ""); !cmp.Equal(fields(vs), []string{"rsvp:REQUIRED"}) {
		t.Errorf("no answer: %v", vs)
	}
	if _, vs := ValidateRsvp(7, ""); !cmp.Equal(fields(vs), []string{"rsvp:UNKNOWN_VALUE"}) {
		t.Errorf("unknown answer: %v", vs)
	}
	if _, vs := ValidateAttendance(excused, ""); !cmp.Equal(fields(vs), []string{"absence_reason:REQUIRED"}) {
		t.Errorf("excused without reason: %v", vs)
	}
	if r, vs := ValidateAttendance(present, "x"); len(vs) != 0 || r != "" {
		t.Errorf("present: %q %v", r, vs)
	}
	if _, vs := ValidateAttendance(0, ""); !cmp.Equal(fields(vs), []string{"attendance:REQUIRED"}) {
		t.Errorf("unspecified: %v", vs)
	}
	if vs := CheckRole("role", 0); !cmp.Equal(fields(vs), []string{"role:REQUIRED"}) {
		t.Errorf("role unspecified: %v", vs)
	}
	if vs := CheckRole("role", 17); !cmp.Equal(fields(vs), []string{"role:UNKNOWN_VALUE"}) {
		t.Errorf("role unknown: %v", vs)
	}
}
