package meetings

import (
	"context"
	"errors"
	"fmt"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/ecabinet/ecabinet/services/meetings/minutes"
	"github.com/ecabinet/ecabinet/services/meetings/tasks"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/jackc/pgx/v5"
)

// The minutes and the tasks reach the meeting and the directory through
// the interfaces their packages declare; these adapters implement them on
// the meeting side and the directory. None of them applies a caller's
// permissions: the minutes and the tasks check those themselves (and the
// task reminder has no caller).

// minutesPort implements minutes.Meetings.
type minutesPort struct{ s *Service }

var _ minutes.Meetings = minutesPort{}

// Meeting returns the whole meeting (agenda, participants with roles and
// attendance, quorum) and its organisation.
func (p minutesPort) Meeting(ctx context.Context, meetingID string) (*meetingsv1.Meeting, *meetingsv1.Organization, error) {
	m, err := p.s.wholeMeeting(ctx, meetingID)
	if errors.Is(err, errNotFound) {
		return nil, nil, fmt.Errorf("meeting %s: %w", meetingID, minutes.ErrNotFound)
	}
	if err != nil {
		return nil, nil, err
	}
	org, err := p.s.dir.Organization(ctx, m.GetOrganizationId())
	if errors.Is(err, errUnknown) {
		// Meetings are created only in organisations of the directory, so
		// this is broken data, not an unknown meeting.
		return nil, nil, fmt.Errorf("meeting %s: its organisation %s is not in the directory", meetingID, m.GetOrganizationId())
	}
	if err != nil {
		return nil, nil, err
	}
	return m, org, nil
}

func (p minutesPort) Organization(ctx context.Context, orgID string) (*meetingsv1.Organization, error) {
	o, err := p.s.dir.Organization(ctx, orgID)
	if errors.Is(err, errUnknown) {
		return nil, fmt.Errorf("organisation %s: %w", orgID, minutes.ErrNotFound)
	}
	return o, err
}

// Close moves the meeting from ENDED to CLOSED in the minutes' transaction
// tx, through the same path as every other transition (so the same
// MeetingStateChanged event and audit record). The minutes call it before
// appending their own audit record, keeping the lock order of changeIn:
// meeting row, then audit trail.
func (p minutesPort) Close(ctx context.Context, tx pgx.Tx, meetingID, actorID string) error {
	id, vs := domain.ParseID("meeting_id", meetingID)
	if len(vs) > 0 {
		return meetingNotFound(meetingID)
	}
	// The minutes checked that the actor chairs the meeting.
	_, err := p.s.changeIn(ctx, tx, identity.Claims{Subject: actorID}, id, needTrusted,
		func(ctx context.Context, st *txState) (edit, error) {
			return applyTransition(ctx, st, id, 0, domain.Close, &transitionInput{})
		})
	return err
}

// tasksMeetings implements tasks.Meetings.
type tasksMeetings struct{ s *Service }

var _ tasks.Meetings = tasksMeetings{}

func (t tasksMeetings) Meeting(ctx context.Context, meetingID string) (*meetingsv1.Meeting, error) {
	m, err := t.s.wholeMeeting(ctx, meetingID)
	if errors.Is(err, errNotFound) {
		return nil, fmt.Errorf("meeting %s: %w", meetingID, tasks.ErrNotFound)
	}
	return m, err
}

// tasksDirectory implements tasks.Directory.
type tasksDirectory struct{ dir people }

var _ tasks.Directory = tasksDirectory{}

func (t tasksDirectory) Person(ctx context.Context, personID, orgID string) (string, error) {
	m, err := t.dir.Person(ctx, personID, orgID)
	if errors.Is(err, errUnknown) {
		return "", fmt.Errorf("person %s: %w", personID, tasks.ErrNotFound)
	}
	if err != nil {
		return "", err
	}
	return m.FullName, nil
}

func (t tasksDirectory) Organization(ctx context.Context, orgID string) (*meetingsv1.Organization, error) {
	o, err := t.dir.Organization(ctx, orgID)
	if errors.Is(err, errUnknown) {
		return nil, fmt.Errorf("organisation %s: %w", orgID, tasks.ErrNotFound)
	}
	return o, err
}

// wholeMeeting reads a meeting with its agenda and participants in one
// consistent snapshot, whoever may see it; errNotFound for an id that
// names no meeting (or is not an id at all).
func (s *Service) wholeMeeting(ctx context.Context, meetingID string) (*meetingsv1.Meeting, error) {
	id, vs := domain.ParseID("meeting_id", meetingID)
	if len(vs) > 0 {
		return nil, errNotFound
	}
	var m *meetingsv1.Meeting
	err := pgx.BeginTxFunc(ctx, s.d.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		row, err := readMeeting(ctx, tx, id, false)
		if err != nil {
			return err
		}
		m, err = loadMeeting(ctx, tx, row)
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}
