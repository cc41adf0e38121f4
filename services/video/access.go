package video

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
)

// errMeetingHidden: the meetings service says the caller may not see the
// meeting (or it does not exist; the two are not told apart).
var errMeetingHidden = rpcerr.ErrHidden

// meeting asks the meetings service for a meeting as the caller sees it:
// ctx must be the incoming context of the call being served, whose
// identity token the connection (identity.DialForwarding) forwards. A
// meeting the caller may not see is errMeetingHidden; a meetings service
// that does not answer is Unavailable, so the caller retries instead of
// being told "not found".
func (s *Service) meeting(ctx context.Context, id string) (*meetingsv1.Meeting, error) {
	if s.d.Meetings == nil {
		return nil, status.Errorf(codes.Unavailable, "%s: the meetings service is not configured", Name)
	}
	resp, err := s.d.Meetings.GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: id})
	if err := rpcerr.FromPeer(ctx, s.log, Name, "meetings", err); err != nil {
		return nil, err
	}
	return resp.GetMeeting(), nil
}

// participant finds person among the meeting's participants.
func participant(m *meetingsv1.Meeting, person string) (*meetingsv1.Participant, bool) {
	for _, p := range m.GetParticipants() {
		if p.GetPersonId() == person {
			return p, true
		}
	}
	return nil, false
}
