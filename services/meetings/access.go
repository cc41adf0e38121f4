package meetings

import (
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// access is what one caller may do with one meeting (brief: meeting
// visibility and minute-taker actions).
type access struct {
	participant bool
	role        domain.Role // when participant
	// read: a participant, a member of the meeting's organisation, or an
	// administrator of it (which includes administrators of the
	// organisations above it: AdminOrgs is expanded at login).
	read bool
	// run: the chair or minute-taker, or an administrator of the
	// organisation; they edit the meeting, agenda and participants, move
	// it through its lifecycle, advance the agenda and take attendance.
	run bool
}

func accessOf(c identity.Claims, org string, role domain.Role, participant bool) access {
	admin := c.IsOrgAdmin(org)
	return access{
		participant: participant,
		role:        role,
		read:        participant || admin || c.InOrg(org),
		run:         admin || (participant && domain.Runs(role)),
	}
}

// myRole is Meeting.my_role: what the app should offer the caller. A
// participant gets their role, except that someone who may run the meeting
// through administrator rights without chairing it gets MINUTE_TAKER, the
// role whose controls they may use. Others get UNSPECIFIED (read only).
func (a access) myRole() domain.Role {
	if a.run && !domain.Runs(a.role) {
		return domain.RoleMinuteTaker
	}
	if a.participant {
		return a.role
	}
	return 0
}

// mayCreateIn reports whether c may create meetings for org.
func mayCreateIn(c identity.Claims, org string) bool {
	return c.IsOrgAdmin(org)
}
