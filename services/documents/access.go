package documents

import (
	"context"
	"errors"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
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

// readers decides who may read documents, asking the meetings service
// about participation at most once per meeting and only when membership
// does not decide.
type readers struct {
	s           *Service
	ctx         context.Context
	c           identity.Claims
	participant map[string]bool // meeting id -> the caller takes part
}

func (s *Service) readers(ctx context.Context, c identity.Claims) *readers {
	return &readers{s: s, ctx: ctx, c: c, participant: map[string]bool{}}
}

// mayRead: public papers to anyone signed in; internal ones to the owning
// organisation's members and administrators, to the members of the
// organisations a library document went to, and to the meeting's
// participants (an observer from the higher committee reads the papers of
// the cell meeting they attend); confidential ones to the meeting's
// participants only, whoever else they are. Participation is asked of the
// meetings service each time, so removing a participant ends their access
// at once.
func (r *readers) mayRead(d *documentsv1.Document) (bool, error) {
	org := d.GetOrganizationId()
	switch d.GetClassification() {
	case documentsv1.Classification_CLASSIFICATION_PUBLIC:
		return true, nil
	case documentsv1.Classification_CLASSIFICATION_INTERNAL:
		if r.c.InOrg(org) || r.c.IsOrgAdmin(org) {
			return true, nil
		}
		if d.GetMeetingId() == "" {
			// A library document: members of the organisations it went to.
			return r.s.inAudience(r.ctx, d.GetId(), slices.Concat(r.c.Orgs, r.c.AdminOrgs))
		}
		return r.takesPart(d.GetMeetingId())
	case documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL:
		return r.takesPart(d.GetMeetingId())
	}
	return false, nil
}

// takesPart reports whether the caller takes part in the meeting, asking
// the meetings service once per meeting per request (the memo serves a
// list of the meeting's papers, or a book, with one question).
func (r *readers) takesPart(meetingID string) (bool, error) {
	if p, ok := r.participant[meetingID]; ok {
		return p, nil
	}
	p, err := r.s.participates(r.ctx, meetingID, r.c.Subject)
	if err != nil {
		return false, err
	}
	r.participant[meetingID] = p
	return p, nil
}

// participates asks the meetings service, as the caller (ctx is the
// incoming context of the call being served, as for meeting), whether the
// caller (person) takes part in the meeting. GetMyParticipation reads one
// indexed row there, where GetMeeting builds and copies the whole meeting,
// and this is asked on every read of a confidential paper; like GetMeeting
// it is never answered from a cache, so a removed participant is refused
// at once. NotFound (not a participant, or no such meeting) is false; a
// meetings service that does not answer is Unavailable, never "not found".
func (s *Service) participates(ctx context.Context, meetingID, person string) (bool, error) {
	if s.d.Meetings == nil {
		return false, status.Errorf(codes.Unavailable, "%s: the meetings service is not configured", Name)
	}
	_, err := s.d.Meetings.GetMyParticipation(ctx, &meetingsv1.GetMyParticipationRequest{MeetingId: meetingID})
	if status.Code(err) == codes.Unimplemented {
		// A meetings service older than this one (a cluster upgraded one
		// target at a time): ask for the whole meeting, as before, rather
		// than refuse every confidential read until it is upgraded.
		m, err := s.meeting(ctx, meetingID)
		if errors.Is(err, errMeetingHidden) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return isParticipant(m, person), nil
	}
	err = rpcerr.FromPeer(ctx, s.log, Name, "meetings", err)
	if errors.Is(err, errMeetingHidden) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

func isParticipant(m *meetingsv1.Meeting, person string) bool {
	return slices.ContainsFunc(m.GetParticipants(), func(p *meetingsv1.Participant) bool { return p.GetPersonId() == person })
}

// runs reports whether the meetings service lets the caller run m (its
// chair or minute-taker, or an administrator of its organisation, which
// Meeting.my_role reports as MINUTE_TAKER): they add, replace and withdraw
// its papers.
func runs(m *meetingsv1.Meeting) bool {
	switch m.GetMyRole() {
	case meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR, meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER:
		return true
	}
	return false
}

// audience lists the meeting's participants for EventMeta.audience: the
// people outside the organisation (observers, guests) who may see the
// event.
func audience(m *meetingsv1.Meeting) []string {
	ids := make([]string, 0, len(m.GetParticipants()))
	for _, p := range m.GetParticipants() {
		ids = append(ids, p.GetPersonId())
	}
	return ids
}

// manage checks that the caller may replace or withdraw d (verb says which,
// for the refusal): a meeting's paper by its chair, its minute-taker or an
// administrator of its organisation, a library document by the
// administrators of the publishing organisation. It returns the audience
// of d's events.
func (s *Service) manage(ctx context.Context, c identity.Claims, d *documentsv1.Document, verb string) ([]string, error) {
	if d.GetMeetingId() == "" {
		if !c.IsOrgAdmin(d.GetOrganizationId()) {
			return nil, status.Errorf(codes.PermissionDenied, "%s: only the publishing organisation's administrators may %s library documents", Name, verb)
		}
		return nil, nil
	}
	m, err := s.meeting(ctx, d.GetMeetingId())
	if errors.Is(err, errMeetingHidden) {
		return nil, notFound(d.GetId())
	}
	if err != nil {
		return nil, err
	}
	if !runs(m) {
		return nil, status.Errorf(codes.PermissionDenied, "%s: only the meeting's chair, its minute-taker or an administrator of its organisation may %s papers", Name, verb)
	}
	return audience(m), nil
}
