package meetings

import (
	"context"
	"errors"
	"fmt"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/jackc/pgx/v5"
)

// GetMyParticipation answers the one question the documents service asks
// on every read of a confidential paper — does the caller take part in
// this meeting, and as what — without building the meeting (GetMeeting
// reads the meeting, its agenda, every participant and the speakers in a
// repeatable-read transaction, then copies them all). It reads the
// caller's own participants row, by its primary key, on every call: a
// removed participant's row is gone (RemoveParticipant deletes it), so
// they get NotFound at once.
//
// It answers exactly what GetMeeting's participant list says: the
// meeting's state plays no part (a cancelled or ended meeting keeps its
// participants, and GetMeeting still shows them to them). Anyone else —
// members and administrators who do not take part, and callers that are
// not people — gets NotFound, the same as for a meeting that does not
// exist, so the answer tells nothing about meetings one is not in.
func (a *api) GetMyParticipation(ctx context.Context, req *meetingsv1.GetMyParticipationRequest) (*meetingsv1.GetMyParticipationResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	role, org, err := myParticipation(ctx, a.s.d.Pool, id, c.Subject)
	if errors.Is(err, errNotFound) {
		return nil, meetingNotFound(id)
	}
	if err != nil {
		return nil, a.s.rpcError(ctx, "GetMyParticipation", err)
	}
	return &meetingsv1.GetMyParticipationResponse{Role: role, OrganizationId: org}, nil
}

// myParticipation returns person's role in the meeting and the meeting's
// organisation, or errNotFound when they do not take part (or the meeting
// does not exist). One statement: the participants row by its primary key
// (meeting_id, person_id) and the meeting row by its own.
func myParticipation(ctx context.Context, q querier, meetingID, personID string) (domain.Role, string, error) {
	// A subject that is not a UUID (a service account, say) is nobody's
	// participant; asking PostgreSQL would only fail the uuid cast.
	if _, vs := domain.ParseID("", personID); len(vs) > 0 {
		return 0, "", errNotFound
	}
	var role, org string
	err := q.QueryRow(ctx, `
		SELECT p.role, m.organization_id
		FROM participants p JOIN meetings m ON m.id = p.meeting_id
		WHERE p.meeting_id = $1 AND p.person_id = $2`, meetingID, personID).Scan(&role, &org)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", errNotFound
	}
	if err != nil {
		return 0, "", fmt.Errorf("read participation: %w", err)
	}
	return domain.Role(meetingsv1.ParticipantRole_value[role]), org, nil
}
