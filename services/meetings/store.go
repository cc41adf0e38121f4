package meetings

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var errNotFound = errors.New("not found")

// querier is what both the pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// meetingColumnList is what scanMeeting reads, in order.
var meetingColumnList = []string{"id", "organization_id", "title", "kind", "place", "online", "starts_at", "ends_at",
	"state", "version", "create_time", "body", "state_reason", "quorum_numerator", "quorum_denominator",
	"current_agenda_item_id"}

// meetingColumns is meetingColumnList for a SELECT, each qualified with
// prefix (e.g. "m.").
func meetingColumns(prefix string) string {
	return prefix + strings.Join(meetingColumnList, ", "+prefix)
}

// roleRankSQL orders participants as minutes list them: chair, minute-taker,
// members, guests, observers.
const roleRankSQL = `CASE role WHEN 'PARTICIPANT_ROLE_CHAIR' THEN 1 WHEN 'PARTICIPANT_ROLE_MINUTE_TAKER' THEN 2
	WHEN 'PARTICIPANT_ROLE_MEMBER' THEN 3 WHEN 'PARTICIPANT_ROLE_GUEST' THEN 4 ELSE 5 END`

// meetingRow is a meetings row: the Meeting's own fields (no agenda,
// participants or quorum) and its quorum rule.
type meetingRow struct {
	m    *meetingsv1.Meeting
	rule domain.Rule
}

func scanMeeting(row pgx.Row) (meetingRow, error) {
	m := &meetingsv1.Meeting{}
	var kind, state, body string
	var starts, created time.Time
	var ends *time.Time
	var current *string
	var r meetingRow
	if err := row.Scan(&m.Id, &m.OrganizationId, &m.Title, &kind, &m.Place, &m.Online,
		&starts, &ends, &state, &m.Version, &created, &body, &m.StateReason,
		&r.rule.Numerator, &r.rule.Denominator, &current); err != nil {
		return r, err
	}
	m.Kind = meetingsv1.MeetingKind(meetingsv1.MeetingKind_value[kind])
	m.State = meetingsv1.MeetingState(meetingsv1.MeetingState_value[state])
	m.Body = meetingsv1.BodyKind(meetingsv1.BodyKind_value[body])
	m.StartsAt = timestamppb.New(starts)
	if ends != nil {
		m.EndsAt = timestamppb.New(*ends)
	}
	if current != nil {
		m.CurrentAgendaItemId = *current
	}
	m.CreateTime = timestamppb.New(created)
	r.m = m
	return r, nil
}

// readMeeting reads a meeting row; lock takes the row lock every change
// holds until it commits, which serialises changes of one meeting (agenda
// positions, version numbers).
func readMeeting(ctx context.Context, q querier, id string, lock bool) (meetingRow, error) {
	sql := `SELECT ` + meetingColumns("") + ` FROM meetings WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	r, err := scanMeeting(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, errNotFound
	}
	if err != nil {
		return r, fmt.Errorf("read meeting %s: %w", id, err)
	}
	return r, nil
}

// participantRole returns the person's role in the meeting, if they take
// part. A subject that is not a UUID (a service account, say) is nobody's
// participant.
func participantRole(ctx context.Context, q querier, meetingID, personID string) (domain.Role, bool, error) {
	if _, vs := domain.ParseID("", personID); len(vs) > 0 {
		return 0, false, nil
	}
	var role string
	err := q.QueryRow(ctx, `SELECT role FROM participants WHERE meeting_id = $1 AND person_id = $2`, meetingID, personID).Scan(&role)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read participant: %w", err)
	}
	return domain.Role(meetingsv1.ParticipantRole_value[role]), true, nil
}

// loadMeeting returns the whole meeting: its row plus agenda, participants
// and the quorum computed from them.
func loadMeeting(ctx context.Context, q querier, r meetingRow) (*meetingsv1.Meeting, error) {
	m := proto.CloneOf(r.m)
	rows, err := q.Query(ctx, `
		SELECT a.id, a.position, a.title, coalesce(a.presenter_id::text, ''), coalesce(p.full_name, ''),
		       a.duration_minutes, a.document_ids::text[]
		FROM agenda_items a
		LEFT JOIN participants p ON p.meeting_id = a.meeting_id AND p.person_id = a.presenter_id
		WHERE a.meeting_id = $1 ORDER BY a.position`, m.GetId())
	if err != nil {
		return nil, fmt.Errorf("read agenda: %w", err)
	}
	m.Agenda, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*meetingsv1.AgendaItem, error) {
		it := &meetingsv1.AgendaItem{}
		err := row.Scan(&it.Id, &it.Position, &it.Title, &it.PresenterId, &it.PresenterName, &it.DurationMinutes, &it.DocumentIds)
		return it, err
	})
	if err != nil {
		return nil, fmt.Errorf("read agenda: %w", err)
	}

	rows, err = q.Query(ctx, `
		SELECT person_id, full_name, role, standing, body_member, excused, rsvp, absence_reason, attendance, check_in_time,
		       coalesce(delegate_person_id::text, '')
		FROM participants WHERE meeting_id = $1 ORDER BY `+roleRankSQL+`, seq`, m.GetId())
	if err != nil {
		return nil, fmt.Errorf("read participants: %w", err)
	}
	var attendees []domain.Attendee
	m.Participants, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*meetingsv1.Participant, error) {
		p := &meetingsv1.Participant{}
		var role, standing, rsvp, attendance string
		var bodyMember bool
		var checkIn *time.Time
		if err := row.Scan(&p.PersonId, &p.FullName, &role, &standing, &bodyMember, &p.Excused, &rsvp,
			&p.AbsenceReason, &attendance, &checkIn, &p.DelegatePersonId); err != nil {
			return nil, err
		}
		p.Role = meetingsv1.ParticipantRole(meetingsv1.ParticipantRole_value[role])
		p.Standing = meetingsv1.Standing(meetingsv1.Standing_value[standing])
		p.Rsvp = meetingsv1.Rsvp(meetingsv1.Rsvp_value[rsvp])
		p.Attendance = meetingsv1.Attendance(meetingsv1.Attendance_value[attendance])
		p.VotingRight = domain.VotingRight(p.Role, p.Standing, bodyMember)
		if checkIn != nil {
			p.CheckInTime = timestamppb.New(*checkIn)
		}
		attendees = append(attendees, domain.Attendee{Voting: p.VotingRight, Excused: p.Excused, Attendance: p.Attendance})
		return p, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read participants: %w", err)
	}
	m.Quorum = domain.ComputeQuorum(attendees, r.rule)
	if m.AllowVoteDelegation, err = delegationAllowed(ctx, q, m.GetOrganizationId()); err != nil {
		return nil, err
	}
	if m.Speakers, err = loadSpeakers(ctx, q, m.GetId()); err != nil {
		return nil, err
	}
	return m, nil
}

// speakerOrderSQL lists a speakers list as the room sees it: who has the
// floor, then the queue, then finished and withdrawn turns.
const speakerOrderSQL = `CASE state WHEN 'SPEAKER_STATE_SPEAKING' THEN 1 WHEN 'SPEAKER_STATE_WAITING' THEN 2 ELSE 3 END,
	position, request_time, id`

// loadSpeakers returns a meeting's speakers list in speakerOrderSQL order.
func loadSpeakers(ctx context.Context, q querier, meetingID string) ([]*meetingsv1.Speaker, error) {
	rows, err := q.Query(ctx, `
		SELECT id, person_id, full_name, coalesce(agenda_item_id::text, ''), note, state, position, request_time
		FROM speakers WHERE meeting_id = $1 ORDER BY `+speakerOrderSQL, meetingID)
	if err != nil {
		return nil, fmt.Errorf("read speakers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*meetingsv1.Speaker, error) {
		sp := &meetingsv1.Speaker{}
		var state string
		var requested time.Time
		if err := row.Scan(&sp.Id, &sp.PersonId, &sp.FullName, &sp.AgendaItemId, &sp.Note, &state, &sp.Position, &requested); err != nil {
			return nil, err
		}
		sp.State = meetingsv1.SpeakerState(meetingsv1.SpeakerState_value[state])
		sp.RequestTime = timestamppb.New(requested)
		return sp, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read speakers: %w", err)
	}
	return out, nil
}

// participantIDs lists a meeting's participants (the events' audience).
func participantIDs(m *meetingsv1.Meeting) []string {
	ids := make([]string, len(m.GetParticipants()))
	for i, p := range m.GetParticipants() {
		ids[i] = p.GetPersonId()
	}
	return ids
}

// checkInSecret returns the deployment's check-in signing key, creating it
// on first use. Every replica inserts its own candidate and keeps whichever
// row won, so they all sign with the same key.
func (s *Service) checkInSecret(ctx context.Context) ([]byte, error) {
	if k := s.secret.Load(); k != nil {
		return *k, nil
	}
	candidate := make([]byte, 32)
	if _, err := rand.Read(candidate); err != nil {
		return nil, fmt.Errorf("check-in secret: %w", err)
	}
	if _, err := s.d.Pool.Exec(ctx, `INSERT INTO checkin_secret (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, candidate); err != nil {
		return nil, fmt.Errorf("store check-in secret: %w", err)
	}
	var key []byte
	if err := s.d.Pool.QueryRow(ctx, `SELECT secret FROM checkin_secret WHERE id = 1`).Scan(&key); err != nil {
		return nil, fmt.Errorf("read check-in secret: %w", err)
	}
	s.secret.Store(&key)
	return key, nil
}

// cursor is the position after which a page starts, in list order.
type cursor struct {
	StartsAt time.Time
	ID       string
}

// visibleFilter says which meetings a caller may list: every meeting (a
// system administrator), those of orgs, and those they take part in.
type visibleFilter struct {
	all    bool
	orgs   []string
	person *string
}

// listMeetings returns up to limit visible meetings, of org only when org
// is not empty, after c (nil: from the start), newest first.
func (s *Service) listMeetings(ctx context.Context, v visibleFilter, org string, c *cursor, limit int) ([]*meetingsv1.Meeting, error) {
	var afterStarts *time.Time
	var afterID *string
	if c != nil {
		afterStarts, afterID = &c.StartsAt, &c.ID
	}
	rows, err := s.d.Pool.Query(ctx, `
		SELECT `+meetingColumns("")+` FROM meetings
		WHERE ($1 OR organization_id = ANY($2::text[])
		       OR id IN (SELECT meeting_id FROM participants WHERE person_id = $3::uuid))
		  AND ($4 = '' OR organization_id = $4)
		  AND ($5::timestamptz IS NULL OR (starts_at, id) < ($5, $6::uuid))
		ORDER BY starts_at DESC, id DESC
		LIMIT $7`, v.all, v.orgs, v.person, org, afterStarts, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("list meetings: %w", err)
	}
	return collectMeetings(rows)
}

// listMyMeetings returns up to limit meetings person takes part in that
// start in [from, to) (zero bounds are open), after c: in start order, or
// reverse start order when desc. Drafts are listed only to their chair and
// minute-taker: the others have not been invited yet.
func (s *Service) listMyMeetings(ctx context.Context, person string, from, to time.Time, desc bool, c *cursor, limit int) ([]*meetingsv1.Meeting, error) {
	var fromP, toP, afterStarts *time.Time
	var afterID *string
	if !from.IsZero() {
		fromP = &from
	}
	if !to.IsZero() {
		toP = &to
	}
	if c != nil {
		afterStarts, afterID = &c.StartsAt, &c.ID
	}
	order, cmp := "ASC", ">"
	if desc {
		order, cmp = "DESC", "<"
	}
	rows, err := s.d.Pool.Query(ctx, `
		SELECT `+meetingColumns("m.")+`, p.role
		FROM participants p JOIN meetings m ON m.id = p.meeting_id
		WHERE p.person_id = $1
		  AND ($2::timestamptz IS NULL OR m.starts_at >= $2)
		  AND ($3::timestamptz IS NULL OR m.starts_at < $3)
		  AND (m.state <> 'MEETING_STATE_DRAFT' OR p.role IN ('PARTICIPANT_ROLE_CHAIR', 'PARTICIPANT_ROLE_MINUTE_TAKER'))
		  AND ($4::timestamptz IS NULL OR (m.starts_at, m.id) `+cmp+` ($4, $5::uuid))
		ORDER BY m.starts_at `+order+`, m.id `+order+`
		LIMIT $6`, person, fromP, toP, afterStarts, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("list my meetings: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*meetingsv1.Meeting, error) {
		var role string
		r, err := scanMeeting(withExtra{row, &role})
		if err != nil {
			return nil, err
		}
		r.m.MyRole = meetingsv1.ParticipantRole(meetingsv1.ParticipantRole_value[role])
		return r.m, nil
	})
}

func collectMeetings(rows pgx.Rows) ([]*meetingsv1.Meeting, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*meetingsv1.Meeting, error) {
		r, err := scanMeeting(row)
		return r.m, err
	})
}

// withExtra scans a row holding the meeting columns followed by more.
type withExtra struct {
	row   pgx.Row
	extra *string
}

func (w withExtra) Scan(dest ...any) error { return w.row.Scan(append(dest, w.extra)...) }
