package voting

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
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
var errMeetingHidden = rpcerr.ErrHidden

// meeting asks the meetings service for a meeting as the caller sees it:
// ctx must be the incoming context of the call being served, whose
// identity token the connection forwards.
func (s *Service) meeting(ctx context.Context, id string) (*meetingsv1.Meeting, error) {
	if s.d.Meetings == nil {
		return nil, status.Errorf(codes.Unavailable, "%s: the meetings service is not configured", Name)
	}
	resp, err := s.d.Meetings.GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: id})
	return resp.GetMeeting(), rpcerr.FromPeer(ctx, s.log, Name, "meetings", err)
}

// bodyMembers lists the official members of an organisation's body, as the
// caller may see them.
func (s *Service) bodyMembers(ctx context.Context, org, body string) ([]*meetingsv1.Membership, error) {
	if s.d.Directory == nil {
		return nil, status.Errorf(codes.Unavailable, "%s: the meetings service is not configured", Name)
	}
	resp, err := s.d.Directory.ListMembers(ctx, &meetingsv1.ListMembersRequest{OrganizationId: org,
		Body: meetingsv1.BodyKind(meetingsv1.BodyKind_value[body])})
	return resp.GetMemberships(), rpcerr.FromPeer(ctx, s.log, Name, "meetings", err)
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

// writeRoll brings a poll's roll inside tx to roll, writing only what
// differs: rows of people no longer in it are deleted, new or changed rows
// upserted, unchanged rows left alone (no churn when nothing changed).
// Writers of one poll's roll take turns (a lock of their own, not the
// poll's, so ballots keep going in meanwhile). The caller holds the poll's
// lock: exclusive to open or close, shared to refresh an open poll's roll
// (replaceRoll).
func writeRoll(ctx context.Context, tx pgx.Tx, pollID string, roll []rollEntry) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('ecabinet.voting.roll.' || $1, 0))`, pollID); err != nil {
		return fmt.Errorf("lock roll: %w", err)
	}
	// One row per person, in a fixed order (rows are then always locked
	// in the same order).
	byPerson := make(map[string]rollEntry, len(roll))
	for _, e := range roll {
		byPerson[e.person] = e
	}
	people := slices.Sorted(maps.Keys(byPerson))
	var names, roles, standings, attendances, reasons, delegates []string
	var rights, excused []bool
	for _, p := range people {
		e := byPerson[p]
		names, roles, standings = append(names, e.name), append(roles, e.role), append(standings, e.standing)
		attendances, reasons, delegates = append(attendances, e.attendance), append(reasons, e.reason), append(delegates, e.delegate)
		rights, excused = append(rights, e.votingRight), append(excused, e.excused)
	}
	if people == nil {
		people = []string{}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM roll WHERE poll_id = $1 AND NOT (person_id = ANY($2))`, pollID, people); err != nil {
		return fmt.Errorf("roll: remove who left: %w", err)
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO roll AS r (poll_id, person_id, full_name, role, voting_right, standing, excused, attendance, reason, delegate_person_id)
		SELECT $1, u.* FROM unnest($2::text[], $3::text[], $4::text[], $5::boolean[], $6::text[], $7::boolean[], $8::text[], $9::text[], $10::text[])
			AS u(person_id, full_name, role, voting_right, standing, excused, attendance, reason, delegate_person_id)
		ON CONFLICT (poll_id, person_id) DO UPDATE SET full_name = EXCLUDED.full_name, role = EXCLUDED.role,
			voting_right = EXCLUDED.voting_right, standing = EXCLUDED.standing, excused = EXCLUDED.excused,
			attendance = EXCLUDED.attendance, reason = EXCLUDED.reason, delegate_person_id = EXCLUDED.delegate_person_id
		WHERE (r.full_name, r.role, r.voting_right, r.standing, r.excused, r.attendance, r.reason, r.delegate_person_id)
			IS DISTINCT FROM (EXCLUDED.full_name, EXCLUDED.role, EXCLUDED.voting_right, EXCLUDED.standing, EXCLUDED.excused,
			                  EXCLUDED.attendance, EXCLUDED.reason, EXCLUDED.delegate_person_id)`,
		pollID, people, names, roles, rights, standings, excused, attendances, reasons, delegates); err != nil {
		return fmt.Errorf("write roll: %w", err)
	}
	return nil
}

// refreshEvery is how often one caller may have a poll's roll taken again
// by tapping "vote" while not entitled: enough for someone who has just
// checked in, too seldom for repeated taps to keep the meetings service
// and the roll busy.
const refreshEvery = 2 * time.Second

// refreshLimiter remembers, in memory, when each caller last had each
// poll's roll taken again.
type refreshLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time // poll id + "|" + person -> when
}

// allow says whether person may have pollID's roll taken again at now,
// and if so notes it.
func (l *refreshLimiter) allow(pollID, person string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = map[string]time.Time{}
	}
	k := pollID + "|" + person
	if t, ok := l.last[k]; ok && now.Sub(t) < refreshEvery && !now.Before(t) {
		return false
	}
	if len(l.last) >= 4096 { // forget the old ones now and then
		for k, t := range l.last {
			if now.Sub(t) >= refreshEvery {
				delete(l.last, k)
			}
		}
	}
	l.last[k] = now
	return true
}

// rollCounts reads the figures the result is decided on. For a meeting's
// poll: members are the voting members convened less those excused from
// party activities and absent; present those checked in; the election
// base the members less those absent with an approved reason. A voting
// member absent at close whose ballot is in (their delegate cast it, or
// they voted and left) was represented: they count as present and
// entitled, and among the members and the base even if excused or absent
// with a reason — whatever their delegate is now (a delegation cleared
// after the ballot was cast does not take the ballot back) — so the votes
// are never measured against fewer members present than cast them, and
// present never exceeds members. For a written opinion poll: every member
// on the roll is entitled, "present" is who answered (cast).
func rollCounts(ctx context.Context, tx pgx.Tx, r *pollRow, cast int) (domain.Roll, error) {
	var members, presentN, excusedAbsent int
	err := tx.QueryRow(ctx, `
		WITH r AS (
			SELECT r.*, EXISTS (SELECT 1 FROM voters v WHERE v.poll_id = r.poll_id AND v.person_id = r.person_id) AS voted,
			       voting_right AND standing = 'STANDING_OFFICIAL' AS member,
			       attendance IN ('ATTENDANCE_PRESENT', 'ATTENDANCE_PRESENT_ONLINE') AS here
			FROM roll r WHERE r.poll_id = $1)
		SELECT count(*) FILTER (WHERE member AND (here OR voted OR NOT excused)),
		       count(*) FILTER (WHERE reason = '' OR (reason = '`+reasonNotCheckedIn+`' AND voted)),
		       count(*) FILTER (WHERE member AND NOT excused AND NOT voted AND attendance = 'ATTENDANCE_ABSENT_EXCUSED')
		FROM r`, r.p.GetId()).Scan(&members, &presentN, &excusedAbsent)
	if err != nil {
		return domain.Roll{}, fmt.Errorf("count roll: %w", err)
	}
	if r.written() {
		return domain.Roll{Members: presentN, Present: cast, ElectionBase: presentN, Entitled: presentN}, nil
	}
	// Present is a subset of members by construction; the bound keeps a
	// rule measured against members from ever seeing more present.
	presentN = min(presentN, members)
	return domain.Roll{Members: members, Present: presentN, ElectionBase: members - excusedAbsent, Entitled: presentN}, nil
}
