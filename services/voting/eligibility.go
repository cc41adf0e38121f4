package voting

import (
	"context"
	"errors"
	"fmt"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/voting/domain"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Why someone may not vote: stable codes in VoterStatus.reason and in the
// PermissionDenied messages.
const (
	reasonNotParticipant = "NOT_PARTICIPANT"
	reasonNoVotingRight  = "NO_VOTING_RIGHT"
	reasonProbationary   = "PROBATIONARY"
	reasonNotCheckedIn   = "NOT_CHECKED_IN"
	reasonNotMember      = "NOT_MEMBER"
)

var reasonText = map[string]string{
	reasonNotParticipant: "you do not take part in the meeting",
	reasonNoVotingRight:  "you take part without a voting right (guests, observers and invited delegates do not vote)",
	reasonProbationary:   "probationary members attend and speak but do not vote",
	reasonNotCheckedIn:   "you are not checked in (present in the room or online)",
	reasonNotMember:      "you are not an official member of the body this poll was sent to",
}

// errMeetingHidden: the meetings service says the caller may not see the
// meeting (or it does not exist; the two are not told apart).
var errMeetingHidden = errors.New("meeting not visible to the caller")

// meeting asks the meetings service for a meeting as the caller sees it:
// ctx must be the incoming context of the call being served, whose
// identity token the connection forwards.
func (s *Service) meeting(ctx context.Context, id string) (*meetingsv1.Meeting, error) {
	if s.d.Meetings == nil {
		return nil, status.Errorf(codes.Unavailable, "%s: the meetings service is not configured", Name)
	}
	resp, err := s.d.Meetings.GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: id})
	return resp.GetMeeting(), s.remoteErr(ctx, "GetMeeting", id, err)
}

// bodyMembers lists the official members of an organisation's body, as the
// caller may see them.
func (s *Service) bodyMembers(ctx context.Context, org, body string) ([]*meetingsv1.Membership, error) {
	if s.d.Directory == nil {
		return nil, status.Errorf(codes.Unavailable, "%s: the meetings service is not configured", Name)
	}
	resp, err := s.d.Directory.ListMembers(ctx, &meetingsv1.ListMembersRequest{OrganizationId: org,
		Body: meetingsv1.BodyKind(meetingsv1.BodyKind_value[body])})
	return resp.GetMemberships(), s.remoteErr(ctx, "ListMembers", org, err)
}

func (s *Service) remoteErr(ctx context.Context, op, id string, err error) error {
	switch status.Code(err) {
	case codes.OK:
		return nil
	case codes.NotFound, codes.PermissionDenied, codes.InvalidArgument:
		return errMeetingHidden
	case codes.Canceled, codes.DeadlineExceeded:
		return status.FromContextError(err).Err()
	case codes.Unauthenticated:
		return status.Errorf(codes.Unauthenticated, "%s: the meetings service refused the forwarded identity: %v", Name, status.Convert(err).Message())
	default:
		s.log.WarnContext(ctx, "meetings service did not answer", "op", op, "id", id, "err", err)
		return status.Errorf(codes.Unavailable, "%s: the meetings service is unavailable: %v", Name, status.Convert(err).Message())
	}
}

// runs: the chair or minute-taker (Meeting.my_role, which the meetings
// service also gives the organisation's administrators as MINUTE_TAKER).
func runs(m *meetingsv1.Meeting) bool {
	switch m.GetMyRole() {
	case meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR, meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER:
		return true
	}
	return false
}

// rollEntry is one person's facts on a poll's roll.
type rollEntry struct {
	person, name, role, standing, attendance string
	votingRight, excused                     bool
	reason                                   string // empty: entitled
	// delegate: the participant recorded as the one who may cast this
	// person's ballot while they are absent (empty: none).
	delegate string
}

func present(attendance string) bool {
	return attendance == meetingsv1.Attendance_ATTENDANCE_PRESENT.String() ||
		attendance == meetingsv1.Attendance_ATTENDANCE_PRESENT_ONLINE.String()
}

// meetingRoll: entitled are the participants with a voting right, of
// official standing, checked in (in the room or online).
func meetingRoll(m *meetingsv1.Meeting) []rollEntry {
	out := make([]rollEntry, 0, len(m.GetParticipants()))
	for _, p := range m.GetParticipants() {
		e := rollEntry{person: p.GetPersonId(), name: p.GetFullName(), role: p.GetRole().String(),
			standing: p.GetStanding().String(), attendance: p.GetAttendance().String(),
			votingRight: p.GetVotingRight(), excused: p.GetExcused(), delegate: p.GetDelegatePersonId()}
		switch {
		case p.GetStanding() == meetingsv1.Standing_STANDING_PROBATIONARY:
			e.reason = reasonProbationary
		case !p.GetVotingRight() || p.GetStanding() != meetingsv1.Standing_STANDING_OFFICIAL:
			e.reason = reasonNoVotingRight
		case !present(e.attendance):
			e.reason = reasonNotCheckedIn
		}
		out = append(out, e)
	}
	return out
}

// membersRoll: a written opinion poll goes to the body's official members.
func membersRoll(ms []*meetingsv1.Membership) []rollEntry {
	seen := map[string]bool{}
	var out []rollEntry
	for _, m := range ms {
		if m.GetStanding() != meetingsv1.Standing_STANDING_OFFICIAL || seen[m.GetPersonId()] {
			continue
		}
		seen[m.GetPersonId()] = true
		out = append(out, rollEntry{person: m.GetPersonId(), name: m.GetPersonFullName(),
			role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MEMBER.String(), standing: m.GetStanding().String(),
			attendance: meetingsv1.Attendance_ATTENDANCE_UNSPECIFIED.String(), votingRight: true, excused: m.GetExcused()})
	}
	return out
}

// writeRoll replaces a poll's roll inside tx. Replacements of one poll's
// roll take turns (a lock of their own, not the poll's, so ballots keep
// going in meanwhile); each then deletes what the previous one wrote.
func writeRoll(ctx context.Context, tx pgx.Tx, pollID string, roll []rollEntry) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('ecabinet.voting.roll.' || $1, 0))`, pollID); err != nil {
		return fmt.Errorf("lock roll: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM roll WHERE poll_id = $1`, pollID); err != nil {
		return fmt.Errorf("clear roll: %w", err)
	}
	rows := make([][]any, len(roll))
	for i, e := range roll {
		rows[i] = []any{pollID, e.person, e.name, e.role, e.votingRight, e.standing, e.excused, e.attendance, e.reason, e.delegate}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"roll"},
		[]string{"poll_id", "person_id", "full_name", "role", "voting_right", "standing", "excused", "attendance", "reason", "delegate_person_id"},
		pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("write roll: %w", err)
	}
	return nil
}

// rollCounts reads the figures the result is decided on. For a meeting's
// poll: members are the voting members convened less those excused from
// party activities and absent; present those checked in; the election
// base the members less those absent with an approved reason. For a
// written opinion poll: every member on the roll is entitled, "present"
// is who answered (cast).
func rollCounts(ctx context.Context, tx pgx.Tx, r *pollRow, cast int) (domain.Roll, error) {
	var members, presentN, excusedAbsent int
	err := tx.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE voting_right AND standing = 'STANDING_OFFICIAL'
		                          AND NOT (excused AND attendance NOT IN ('ATTENDANCE_PRESENT', 'ATTENDANCE_PRESENT_ONLINE'))),
		       count(*) FILTER (WHERE reason = ''),
		       count(*) FILTER (WHERE voting_right AND standing = 'STANDING_OFFICIAL' AND NOT excused
		                          AND attendance = 'ATTENDANCE_ABSENT_EXCUSED')
		FROM roll WHERE poll_id = $1`, r.p.GetId()).Scan(&members, &presentN, &excusedAbsent)
	if err != nil {
		return domain.Roll{}, fmt.Errorf("count roll: %w", err)
	}
	if r.written() {
		return domain.Roll{Members: presentN, Present: cast, ElectionBase: presentN, Entitled: presentN}, nil
	}
	if r.p.GetAllowDelegation() {
		// A member absent at close whose ballot is in (cast by their
		// delegate) was represented: they count as present and entitled,
		// so the votes never outnumber the members present they are
		// measured against.
		var represented int
		if err := tx.QueryRow(ctx, `
			SELECT count(*) FROM roll r JOIN voters v ON v.poll_id = r.poll_id AND v.person_id = r.person_id
			WHERE r.poll_id = $1 AND r.reason = '`+reasonNotCheckedIn+`' AND r.delegate_person_id <> ''`,
			r.p.GetId()).Scan(&represented); err != nil {
			return domain.Roll{}, fmt.Errorf("count represented: %w", err)
		}
		presentN += represented
	}
	return domain.Roll{Members: members, Present: presentN, ElectionBase: members - excusedAbsent, Entitled: presentN}, nil
}
