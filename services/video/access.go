package video

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
)

// errMeetingHidden: the meetings service says the caller may not see the
// meeting (or it does not exist; the two are not told apart).
var errMeetingHidden = errors.New("meeting not visible to the caller")

// meeting asks the meetings service for a meeting as the caller sees it:
// ctx must be the incoming context of the call being served, whose
// identity token the connection (identity.DialForwarding) forwards. A
// meetings service that does not answer is Unavailable, so the caller
// retries instead of being told "not found".
func (s *Service) meeting(ctx context.Context, id string) (*meetingsv1.Meeting, error) {
	if s.d.Meetings == nil {
		return nil, status.Errorf(codes.Unavailable, "%s: the meetings service is not configured", Name)
	}
	resp, err := s.d.Meetings.GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: id})
	switch status.Code(err) {
	case codes.OK:
		return resp.GetMeeting(), nil
	case codes.NotFound, codes.PermissionDenied, codes.InvalidArgument:
		return nil, errMeetingHidden
	case codes.Canceled, codes.DeadlineExceeded:
		return nil, status.FromContextError(err).Err()
	case codes.Unauthenticated:
		return nil, status.Errorf(codes.Unauthenticated, "%s: the meetings service refused the forwarded identity: %v", Name, status.Convert(err).Message())
	default:
		s.log.WarnContext(ctx, "meetings service did not answer", "meeting_id", id, "err", err)
		return nil, status.Errorf(codes.Unavailable, "%s: the meetings service is unavailable: %v", Name, status.Convert(err).Message())
	}
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
