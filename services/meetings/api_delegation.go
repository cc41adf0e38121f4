package meetings

import (
	"context"
	"errors"
	"fmt"
	"strings"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Reasons of SetDelegate's field violations (stable codes; the gateway
// shows the English description for a code it does not translate yet).
const (
	reasonNoVotingRight   = "NO_VOTING_RIGHT"
	reasonSelf            = "SELF"
	reasonIsDelegate      = "IS_DELEGATE"
	reasonDelegating      = "DELEGATING"
	reasonAlreadyDelegate = "ALREADY_DELEGATE"
	// reasonNotOwnDelegation: someone other than the member tried to
	// appoint their delegate (PermissionDenied).
	reasonNotOwnDelegation = "NOT_OWN_DELEGATION"
)

// delegationAllowed reads the organisation's allow_vote_delegation setting
// as it is now: a meeting reads it live (unlike the quorum rule, copied at
// creation) so an organisation turning it off stops delegated ballots in
// every meeting at once. An organisation the directory does not have (a
// meeting written by hand in a test) allows nothing.
func delegationAllowed(ctx context.Context, q querier, orgID string) (bool, error) {
	id, vs := domain.ParseID("", orgID)
	if len(vs) > 0 {
		return false, nil // not a directory organisation's id
	}
	var allowed bool
	err := q.QueryRow(ctx, `SELECT allow_vote_delegation FROM organizations WHERE id = $1`, id).Scan(&allowed)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read delegation setting: %w", err)
	}
	return allowed, nil
}

// delegationFacts is what SetDelegate checks about one participant.
type delegationFacts struct {
	voting bool
	// delegate: whom they delegate to; principal: whose delegate they are
	// (at most one: the unique index).
	delegate, principal string
}

func readDelegationFacts(ctx context.Context, q querier, meetingID, personID string) (delegationFacts, bool, error) {
	var f delegationFacts
	var role, standing string
	var bodyMember bool
	err := q.QueryRow(ctx, `
		SELECT role, standing, body_member, coalesce(delegate_person_id::text, ''),
		       coalesce((SELECT o.person_id::text FROM participants o
		                 WHERE o.meeting_id = p.meeting_id AND o.delegate_person_id = p.person_id), '')
		FROM participants p WHERE meeting_id = $1 AND person_id = $2`, meetingID, personID).
		Scan(&role, &standing, &bodyMember, &f.delegate, &f.principal)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, false, nil
	}
	if err != nil {
		return f, false, fmt.Errorf("read participant: %w", err)
	}
	f.voting = domain.VotingRight(domain.Role(meetingsv1.ParticipantRole_value[role]),
		meetingsv1.Standing(meetingsv1.Standing_value[standing]), bodyMember)
	return f, true, nil
}

// SetDelegate records who may cast an absent voting member's ballot, or
// clears it. Whether a delegated ballot is accepted is the voting
// service's decision at the time of casting (the poll must allow it, the
// member be absent, the delegate present); this records the appointment
// those checks rely on, so nobody present can vote for just any absent
// member.
//
// The appointment is the member's own: only the member (caller ==
// person_id, a participant) names their delegate. The chair, the
// minute-taker and the organisation's administrators may only clear one
// (ADR 0005): were they able to name a delegate, the person running the
// meeting could appoint themself or an ally for every absent member and
// cast their ballots without their consent.
func (a *api) SetDelegate(ctx context.Context, req *meetingsv1.SetDelegateRequest) (*meetingsv1.SetDelegateResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	personID, vs := domain.ParseID("person_id", req.GetPersonId())
	var delegateID string
	if strings.TrimSpace(req.GetDelegatePersonId()) != "" {
		var dv []domain.Violation
		delegateID, dv = domain.ParseID("delegate_person_id", req.GetDelegatePersonId())
		vs = append(vs, dv...)
	}
	// The member acts for themself as a participant; anyone else must run
	// the meeting, and may then only clear.
	self := personID != "" && strings.EqualFold(personID, c.Subject)
	n := needRun
	if self {
		n = needParticipant
	}
	m, err := a.s.change(ctx, c, "SetDelegate", id, n, func(ctx context.Context, st *txState) (edit, error) {
		if len(vs) > 0 {
			return edit{}, invalid(vs)
		}
		if !self && delegateID != "" {
			return edit{}, status.Errorf(codes.PermissionDenied,
				"%s: only the member appoints their own delegate; the chair, minute-taker and administrators may only clear a delegation (%s)", Name, reasonNotOwnDelegation)
		}
		if _, _, err := participant(ctx, st.tx, id, personID); err != nil {
			return edit{}, err
		}
		if err := domain.Allowed(st.row.m.GetState(), domain.EditParticipants); err != nil {
			return edit{}, illegal(err)
		}
		if delegateID == "" {
			// Clearing is always allowed, also after the organisation
			// turned delegation off.
			tag, err := st.tx.Exec(ctx, `UPDATE participants SET delegate_person_id = NULL
				WHERE meeting_id = $1 AND person_id = $2 AND delegate_person_id IS NOT NULL`, id, personID)
			if err != nil {
				return edit{}, fmt.Errorf("clear delegate: %w", err)
			}
			if tag.RowsAffected() == 0 {
				return edit{noop: true}, nil
			}
			return participantsChanged("participant.delegate_cleared", "", personID), nil
		}
		allowed, err := delegationAllowed(ctx, st.tx, st.row.m.GetOrganizationId())
		if err != nil {
			return edit{}, err
		}
		if !allowed {
			return edit{}, status.Errorf(codes.FailedPrecondition,
				"%s: delegation is not allowed in this organisation: its administrators have not turned on allow_vote_delegation", Name)
		}
		who, _, err := readDelegationFacts(ctx, st.tx, id, personID)
		if err != nil {
			return edit{}, err
		}
		if who.delegate == delegateID {
			return edit{noop: true}, nil
		}
		var vs []domain.Violation
		if !who.voting {
			vs = append(vs, domain.Violation{Field: "person_id", Reason: reasonNoVotingRight,
				Description: "has no voting right in the meeting, so no vote to delegate"})
		}
		if who.principal != "" {
			vs = append(vs, domain.Violation{Field: "person_id", Reason: reasonIsDelegate,
				Description: "is the delegate of another member and cannot delegate in turn"})
		}
		to, isPart, err := readDelegationFacts(ctx, st.tx, id, delegateID)
		if err != nil {
			return edit{}, err
		}
		switch {
		case delegateID == personID:
			vs = append(vs, domain.Violation{Field: "delegate_person_id", Reason: reasonSelf,
				Description: "must be another participant"})
		case !isPart:
			vs = append(vs, domain.Violation{Field: "delegate_person_id", Reason: domain.ReasonNotParticipant,
				Description: "does not take part in the meeting"})
		case !to.voting:
			vs = append(vs, domain.Violation{Field: "delegate_person_id", Reason: reasonNoVotingRight,
				Description: "has no voting right in the meeting; a delegate must be a voting member"})
		case to.delegate != "":
			vs = append(vs, domain.Violation{Field: "delegate_person_id", Reason: reasonDelegating,
				Description: "delegates their own vote and cannot hold another's"})
		case to.principal != "" && to.principal != personID:
			vs = append(vs, domain.Violation{Field: "delegate_person_id", Reason: reasonAlreadyDelegate,
				Description: "already holds another member's delegation (one per delegate)"})
		}
		if len(vs) > 0 {
			return edit{}, invalid(vs)
		}
		if _, err := st.tx.Exec(ctx, `UPDATE participants SET delegate_person_id = $3 WHERE meeting_id = $1 AND person_id = $2`,
			id, personID, delegateID); err != nil {
			return edit{}, fmt.Errorf("set delegate: %w", err)
		}
		return participantsChanged("participant.delegate_set", "", fmt.Sprintf("%s -> %s", personID, delegateID)), nil
	})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.SetDelegateResponse{Meeting: m}, nil
}

// clearDelegations removes every delegation personID is part of (as the
// member delegating or as the delegate), for someone who leaves the
// meeting or loses their voting right; it returns what it cleared for
// the audit record ("X -> Y" each).
func clearDelegations(ctx context.Context, tx pgx.Tx, meetingID, personID string) ([]string, error) {
	rows, err := tx.Query(ctx, `
		UPDATE participants p SET delegate_person_id = NULL
		FROM participants old
		WHERE p.meeting_id = $1 AND (p.person_id = $2 OR p.delegate_person_id = $2)
		  AND p.delegate_person_id IS NOT NULL
		  AND old.meeting_id = p.meeting_id AND old.person_id = p.person_id
		RETURNING p.person_id::text || ' -> ' || old.delegate_person_id::text`, meetingID, personID)
	if err != nil {
		return nil, fmt.Errorf("clear delegations: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("clear delegations: %w", err)
	}
	return out, nil
}
