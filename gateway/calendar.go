package gateway

import (
	"net/http"

	"github.com/ecabinet/ecabinet/gateway/disposition"
	"github.com/ecabinet/ecabinet/gateway/problem"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
)

// invitationICS serves GET /api/v1/meetings/{meeting_id}/invitation.ics:
// the invitation as a calendar file the tablet hands to its calendar app.
// The JSON form of the same RPC stays at .../invitation (grpc-gateway).
func (g *Gateway) invitationICS(w http.ResponseWriter, r *http.Request) {
	resp, err := g.meetings.GetInvitationCalendar(r.Context(), &meetingsv1.GetInvitationCalendarRequest{MeetingId: r.PathValue("meeting_id")})
	if err != nil {
		problem.WriteError(w, r, err)
		return
	}
	name := resp.GetFileName()
	if name == "" {
		name = "invitation.ics"
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", disposition.Attachment(name))
	// The invitation names people and places: no shared caches.
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(resp.GetIcs()))
}
