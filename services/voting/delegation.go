package voting

import (
	"context"
	"errors"

	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/voting/domain"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Stable codes of the refusals of a delegated ballot.
const (
	// reasonNotDelegate: the caller is not the delegate the member recorded.
	reasonNotDelegate = "NOT_DELEGATE"
	// reasonPrincipalPresent: the member is checked in and votes in person.
	reasonPrincipalPresent = "PRINCIPAL_PRESENT"
)

// castForAnother casts principal's ballot with the caller as their
// delegate (ADR 0005, delegation). The ballot is principal's: their voters
// row, sealed and shuffled like any other, so a secret poll links neither
// of them to the choice. Refusals, in order: the organisation does not
// allow delegation, the poll does not (FailedPrecondition); principal does
// not take part (InvalidArgument on on_behalf_of_person_id); the caller is
// not their recorded delegate (PermissionDenied NOT_DELEGATE); principal is
// checked in (FailedPrecondition PRINCIPAL_PRESENT) or has no vote
// (PermissionDenied); the caller is not entitled themself (as for their own
// ballot); principal already voted (AlreadyExists).
//
// Delegated ballots are rare, so each takes the roll again with the
// caller's identity: whether principal is absent and whom they appointed
// are the meetings service's facts now, not at open. The statement that
// writes the ballot checks them once more on that roll.
func (a *api) castForAnother(ctx context.Context, c identity.Claims, r *pollRow, principal string,
	req *votingv1.CastBallotRequest) (*votingv1.CastBallotResponse, error) {
	id := r.p.GetId()
	if r.written() {
		return nil, illegal(id, "a written opinion poll takes no delegation: every member answers for themself")
	}
	m, err := a.s.meeting(ctx, r.p.GetMeetingId())
	if errors.Is(err, errMeetingHidden) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	if !m.GetAllowVoteDelegation() {
		return nil, errDelegation("on_behalf_of_person_id")
	}
	if !r.p.GetAllowDelegation() {
		return nil, status.Errorf(codes.FailedPrecondition,
			"%s: delegation is not allowed in poll %s: it was created without allow_delegation; every member casts their own ballot", Name, id)
	}
	if err := a.s.replaceRoll(ctx, id, meetingRoll(m)); err != nil {
		return nil, a.storeErr(ctx, "CastBallot", err)
	}
	if r, err = a.s.loadPoll(ctx, a.s.d.Pool, id, c.Subject); err != nil {
		return nil, a.storeErr(ctx, "CastBallot", err)
	}

	var reason, delegate string
	err = a.s.d.Pool.QueryRow(ctx, `SELECT reason, delegate_person_id FROM roll WHERE poll_id = $1 AND person_id = $2`,
		id, principal).Scan(&reason, &delegate)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, invalid([]domain.Violation{{Field: "on_behalf_of_person_id", Reason: reasonNotParticipant,
			Description: "does not take part in the meeting"}})
	case err != nil:
		return nil, a.storeErr(ctx, "CastBallot", err)
	case delegate != c.Subject:
		return nil, status.Errorf(codes.PermissionDenied,
			"%s: you are not the delegate %s recorded for this meeting, so you may not cast their ballot (%s)", Name, principal, reasonNotDelegate)
	case reason == "":
		return nil, status.Errorf(codes.FailedPrecondition,
			"%s: %s is checked in and casts their own ballot; a delegate votes only for an absent member (%s)", Name, principal, reasonPrincipalPresent)
	case reason != reasonNotCheckedIn:
		return nil, status.Errorf(codes.PermissionDenied, "%s: %s has no vote to delegate in poll %s (%s)", Name, principal, id, reason)
	}
	if err := notEntitled(c, r); err != nil {
		return nil, err
	}

	def := a.s.defs.put(r)
	receipt, res, err := a.s.cast(ctx, r, principal, c.Subject, req.GetChoiceIds(), req.GetIdempotencyKey(), true)
	if err != nil {
		return nil, a.storeErr(ctx, "CastBallot", err)
	}
	p := proto.Clone(r.p).(*votingv1.Poll)
	if res == castWritten {
		p.BallotsCast++
		def.cast.Add(1)
	}
	// my_status stays the caller's own: casting for another is not voting.
	return &votingv1.CastBallotResponse{Receipt: receipt, Poll: p}, nil
}
