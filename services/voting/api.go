package voting

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"github.com/ecabinet/ecabinet/services/voting/domain"
	"github.com/ecabinet/ecabinet/services/voting/secrecy"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// api implements votingv1.VotingServiceServer. Every handler checks, in
// order: identity, readiness, request validity of the ids, that the caller
// may see the poll (a poll they may not see is reported like a missing
// one), their right to act, the poll's state, then writes.
type api struct {
	votingv1.UnimplementedVotingServiceServer
	s *Service
}

// errDelegation: the meeting's organisation has not turned on
// allow_vote_delegation (meetings service; off by default, ADR 0005).
func errDelegation(field string) error {
	return status.Errorf(codes.FailedPrecondition,
		"%s: delegation is not allowed in this organisation (%s): its administrators have not turned on allow_vote_delegation; every member casts their own ballot", Name, field)
}

func errBallotKey(err error) error {
	return fmt.Errorf("BALLOT_KEY: %w", err)
}

func (a *api) begin(ctx context.Context) (identity.Claims, error) {
	c, err := rpcerr.Caller(ctx, Name)
	if err != nil {
		return c, err
	}
	return c, rpcerr.CheckReady(Name, a.s.core.Ready())
}

func (a *api) storeErr(ctx context.Context, op string, err error) error {
	if _, ok := status.FromError(err); ok && status.Code(err) != codes.Unknown {
		return err
	}
	if errors.Is(err, errNotFound) {
		return status.Errorf(codes.NotFound, "%s: poll not found", Name)
	}
	return rpcerr.FromStore(ctx, a.s.log, Name, op, err)
}

func notFound(id string) error {
	return status.Errorf(codes.NotFound, "%s: poll %s not found", Name, id)
}

// sees: members and administrators of the poll's organisation, everyone on
// its roll (observers and guests of the meeting), system administrators.
func sees(c identity.Claims, r *pollRow) bool {
	org := r.p.GetOrganizationId()
	return c.InOrg(org) || c.IsOrgAdmin(org) || r.onRoll || c.HasRole(identity.RoleSystemAdmin)
}

// manages (without asking the meetings service): the chair or
// minute-taker on the roll, the organisation's administrators, and the
// creator of a written opinion poll.
func manages(c identity.Claims, r *pollRow) bool {
	if c.IsOrgAdmin(r.p.GetOrganizationId()) {
		return true
	}
	if r.written() {
		return r.createdBy == c.Subject
	}
	return r.role == meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR.String() ||
		r.role == meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER.String()
}

// load reads a poll the caller may see, or NotFound.
func (a *api) load(ctx context.Context, c identity.Claims, op, field, raw string) (*pollRow, error) {
	id, vs := domain.ParseID(field, raw, true)
	if len(vs) > 0 {
		return nil, invalid(vs)
	}
	r, err := a.s.loadPoll(ctx, a.s.d.Pool, id, c.Subject)
	if errors.Is(err, errNotFound) || (err == nil && !sees(c, r)) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, op, err)
	}
	return r, nil
}

// authorise checks that the caller runs the poll, asking the meetings
// service for a meeting's poll (the chair and minute-taker as they are
// now), and returns the meeting (nil for a written opinion poll).
func (a *api) authorise(ctx context.Context, c identity.Claims, r *pollRow) (*meetingsv1.Meeting, error) {
	if r.written() {
		if !manages(c, r) {
			return nil, status.Errorf(codes.PermissionDenied, "%s: only the organisation's administrators manage written opinion poll %s", Name, r.p.GetId())
		}
		return nil, nil
	}
	m, err := a.s.meeting(ctx, r.p.GetMeetingId())
	if errors.Is(err, errMeetingHidden) {
		return nil, notFound(r.p.GetId())
	}
	if err != nil {
		return nil, err
	}
	if !runs(m) {
		return nil, status.Errorf(codes.PermissionDenied, "%s: only the meeting's chair and minute-taker (or the organisation's administrators) manage poll %s", Name, r.p.GetId())
	}
	return m, nil
}

func (a *api) CreatePoll(ctx context.Context, req *votingv1.CreatePollRequest) (*votingv1.CreatePollResponse, error) {
	c, err := a.begin(ctx)
	if err != nil {
		return nil, err
	}
	d, vs := domain.ValidateCreate(req, a.s.now())
	var audience []string
	var m *meetingsv1.Meeting
	if d.Kind == votingv1.PollKind_POLL_KIND_WRITTEN_OPINION {
		if !hasField(vs, "organization_id") && !c.IsOrgAdmin(d.OrganizationID) {
			return nil, status.Errorf(codes.PermissionDenied,
				"%s: sending a written opinion poll in organisation %q needs administrator rights there", Name, d.OrganizationID)
		}
	} else if !hasField(vs, "meeting_id") && d.MeetingID != "" {
		m, err = a.s.meeting(ctx, d.MeetingID)
		if errors.Is(err, errMeetingHidden) {
			return nil, status.Errorf(codes.NotFound, "%s: meeting %s not found", Name, d.MeetingID)
		}
		if err != nil {
			return nil, err
		}
		if !runs(m) {
			return nil, status.Errorf(codes.PermissionDenied,
				"%s: only the meeting's chair and minute-taker (or the organisation's administrators) create its polls", Name)
		}
		if d.OrganizationID != "" && d.OrganizationID != m.GetOrganizationId() {
			vs = append(vs, domain.Violation{Field: "organization_id", Reason: "MISMATCH", Description: "is not the meeting's organisation"})
		}
		d.OrganizationID = m.GetOrganizationId()
		if d.AgendaItemID != "" && !slices.ContainsFunc(m.GetAgenda(), func(i *meetingsv1.AgendaItem) bool { return i.GetId() == d.AgendaItemID }) {
			vs = append(vs, domain.Violation{Field: "agenda_item_id", Reason: domain.ReasonNotFound, Description: "is not on the meeting's agenda"})
		}
		// No quorum asked for: the organisation's rule, as the meeting has it.
		if req.GetRules().GetQuorumNumerator() == 0 && req.GetRules().GetQuorumDenominator() == 0 {
			if num, den, ok := domain.ParseQuorumRule(m.GetQuorum().GetRule()); ok {
				d.Rules.QuorumNum, d.Rules.QuorumDen = num, den
			}
		}
		for _, p := range m.GetParticipants() {
			audience = append(audience, p.GetPersonId())
		}
	}
	if len(vs) > 0 {
		return nil, invalid(vs)
	}
	if d.AllowDelegation {
		switch {
		case d.Kind == votingv1.PollKind_POLL_KIND_WRITTEN_OPINION:
			return nil, status.Errorf(codes.FailedPrecondition,
				"%s: a written opinion poll takes no delegation (allow_delegation): every member answers for themself", Name)
		case d.Kind == votingv1.PollKind_POLL_KIND_SHOW_OF_HANDS:
			return nil, status.Errorf(codes.FailedPrecondition,
				"%s: a show of hands takes no ballots, so no delegated ones (allow_delegation)", Name)
		case !m.GetAllowVoteDelegation():
			return nil, errDelegation("allow_delegation")
		}
	}
	id, err := newID()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%s: new id: %v", Name, err)
	}
	p, err := a.s.createPoll(ctx, c.Subject, id, d, audience)
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "CreatePoll", err)
	}
	return &votingv1.CreatePollResponse{Poll: p}, nil
}

func (a *api) GetPoll(ctx context.Context, req *votingv1.GetPollRequest) (*votingv1.GetPollResponse, error) {
	c, err := a.begin(ctx)
	if err != nil {
		return nil, err
	}
	r, err := a.load(ctx, c, "GetPoll", "poll_id", req.GetPollId())
	if err != nil {
		return nil, err
	}
	return &votingv1.GetPollResponse{Poll: r.p}, nil
}

// ListPolls lists the meeting's polls the caller may see; a meeting of
// another organisation looks empty.
func (a *api) ListPolls(ctx context.Context, req *votingv1.ListPollsRequest) (*votingv1.ListPollsResponse, error) {
	c, err := a.begin(ctx)
	if err != nil {
		return nil, err
	}
	meetingID, vs := domain.ParseID("meeting_id", req.GetMeetingId(), true)
	if len(vs) > 0 {
		return nil, invalid(vs)
	}
	orgs := slices.Concat(c.Orgs, c.AdminOrgs)
	if orgs == nil {
		orgs = []string{}
	}
	ps, err := a.s.listPolls(ctx, c.Subject, meetingID, orgs, c.HasRole(identity.RoleSystemAdmin))
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "ListPolls", err)
	}
	return &votingv1.ListPollsResponse{Polls: ps}, nil
}

func (a *api) ListMyPolls(ctx context.Context, _ *votingv1.ListMyPollsRequest) (*votingv1.ListMyPollsResponse, error) {
	c, err := a.begin(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := a.s.listMyPolls(ctx, c.Subject)
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "ListMyPolls", err)
	}
	return &votingv1.ListMyPollsResponse{Polls: ps}, nil
}

func (a *api) OpenPoll(ctx context.Context, req *votingv1.OpenPollRequest) (*votingv1.OpenPollResponse, error) {
	c, err := a.begin(ctx)
	if err != nil {
		return nil, err
	}
	r, err := a.load(ctx, c, "OpenPoll", "poll_id", req.GetPollId())
	if err != nil {
		return nil, err
	}
	m, err := a.authorise(ctx, c, r)
	if err != nil {
		return nil, err
	}
	// Refuse early what the transaction would refuse anyway, before asking
	// the directory for a body's members.
	if r.p.GetState() != votingv1.PollState_POLL_STATE_DRAFT {
		return nil, illegal(r.p.GetId(), "cannot open a poll that is %s; only a draft opens", stateWord(r.p.GetState()))
	}
	var roll []rollEntry
	if m != nil {
		roll = meetingRoll(m)
	} else {
		ms, err := a.s.bodyMembers(ctx, r.p.GetOrganizationId(), r.p.GetBody())
		if errors.Is(err, errMeetingHidden) {
			return nil, status.Errorf(codes.PermissionDenied, "%s: the directory does not show you the members of %s", Name, r.p.GetBody())
		}
		if err != nil {
			return nil, err
		}
		roll = membersRoll(ms)
	}
	out, err := a.s.openPoll(ctx, c.Subject, r.p.GetId(), req.GetExpectedVersion(), roll)
	if err != nil {
		return nil, a.storeErr(ctx, "OpenPoll", err)
	}
	return &votingv1.OpenPollResponse{Poll: out.p}, nil
}

func (a *api) CastBallot(ctx context.Context, req *votingv1.CastBallotRequest) (*votingv1.CastBallotResponse, error) {
	c, err := a.begin(ctx)
	if err != nil {
		return nil, err
	}
	if a.s.keys == nil {
		return nil, status.Errorf(codes.Unavailable, "%s: ballots cannot be sealed: %v", Name, errBallotKey(a.s.keyErr))
	}
	var vs []domain.Violation
	switch key := req.GetIdempotencyKey(); {
	case key == "":
		vs = append(vs, domain.Violation{Field: "idempotency_key", Reason: domain.ReasonRequired,
			Description: "must be a fresh random value per ballot (a UUID, or 22 to 200 base64url characters)"})
	case !secrecy.ValidIdempotencyKey(key):
		vs = append(vs, domain.Violation{Field: "idempotency_key", Reason: domain.ReasonInvalidFormat,
			Description: "must carry at least 128 random bits: a UUID, or 22 to 200 base64url characters"})
	}
	principal, ov := domain.ParseID("on_behalf_of_person_id", req.GetOnBehalfOfPersonId(), false)
	vs = append(vs, ov...)
	if principal != "" && principal == c.Subject {
		vs = append(vs, domain.Violation{Field: "on_behalf_of_person_id", Reason: "SELF",
			Description: "must name another member; leave it empty to cast your own ballot"})
	}
	pollID, pv := domain.ParseID("poll_id", req.GetPollId(), true)
	if len(pv) > 0 {
		return nil, invalid(append(pv, vs...))
	}
	// The fast path, for a poll already seen open here: no read before the
	// write (the write itself checks that the poll is open and the caller
	// entitled on its roll). Anything it does not write goes the slow way,
	// which says why.
	if def := a.s.defs.get(pollID); def != nil && len(vs) == 0 && req.GetOnBehalfOfPersonId() == "" &&
		(def.row.deadline.IsZero() || def.row.deadline.After(a.s.now())) && len(def.row.spec().CheckBallot(req.GetChoiceIds())) == 0 {
		receipt, res, err := a.s.cast(ctx, def.row, c.Subject, "", req.GetChoiceIds(), req.GetIdempotencyKey(), false)
		if err != nil {
			return nil, a.storeErr(ctx, "CastBallot", err)
		}
		if res == castWritten {
			return &votingv1.CastBallotResponse{Receipt: receipt, Poll: def.answer(def.cast.Add(1))}, nil
		}
	}
	r, err := a.load(ctx, c, "CastBallot", "poll_id", req.GetPollId())
	if errors.Is(err, errNotFound) || status.Code(err) == codes.NotFound {
		// Not visible: maybe a participant from elsewhere not yet on the
		// roll; eligibility below decides (a non-participant still gets
		// NotFound).
		r, err = a.s.loadPoll(ctx, a.s.d.Pool, pollID, c.Subject)
		if err != nil || r.written() || r.p.GetState() != votingv1.PollState_POLL_STATE_OPEN {
			return nil, notFound(pollID)
		}
	} else if err != nil {
		return nil, err
	}
	id := r.p.GetId()
	if len(vs) > 0 {
		return nil, invalid(vs)
	}
	if r.p.GetState() != votingv1.PollState_POLL_STATE_OPEN {
		// A tablet whose answer was lost while the poll closed retries: it
		// still gets its receipt if its ballot is in the box (a delegate's
		// too: only who cast a ballot holds its key).
		if (r.myVoted || principal != "") && r.p.GetState() != votingv1.PollState_POLL_STATE_DRAFT {
			receipt, found, err := a.s.findReceipt(ctx, r, req.GetIdempotencyKey())
			if err != nil {
				return nil, a.storeErr(ctx, "CastBallot", err)
			}
			if found {
				return &votingv1.CastBallotResponse{Receipt: receipt, Poll: r.p}, nil
			}
		}
		return nil, notOpen(id, r.p.GetState().String())
	}
	if !r.deadline.IsZero() && !r.deadline.After(a.s.now()) {
		return nil, illegal(id, "its deadline has passed; it is being closed")
	}
	if r.p.GetKind() == votingv1.PollKind_POLL_KIND_SHOW_OF_HANDS {
		return nil, illegal(id, "a show of hands takes no ballots; the minute-taker enters the counts")
	}
	if bv := r.spec().CheckBallot(req.GetChoiceIds()); len(bv) > 0 {
		return nil, invalid(bv)
	}
	if principal != "" {
		return a.castForAnother(ctx, c, r, principal, req)
	}
	// Eligibility from the roll; someone not entitled on it may have
	// checked in since, so a meeting's roll is taken again first — at
	// most once every refreshEvery per caller, so repeated taps do not
	// keep asking the meetings service and rewriting the roll.
	if p := r.p.GetMyStatus(); !p.GetEntitled() && !r.written() && a.s.refreshed.allow(r.p.GetId(), c.Subject, a.s.now()) {
		if r, err = a.refreshRoll(ctx, c, r); err != nil {
			return nil, err
		}
	}
	if err := notEntitled(c, r); err != nil {
		return nil, err
	}
	def := a.s.defs.put(r)
	receipt, res, err := a.s.cast(ctx, r, c.Subject, "", req.GetChoiceIds(), req.GetIdempotencyKey(), true)
	if err != nil {
		return nil, a.storeErr(ctx, "CastBallot", err)
	}
	cast := r.p.GetBallotsCast()
	if res == castWritten {
		cast++
		def.cast.Store(cast)
	}
	return &votingv1.CastBallotResponse{Receipt: receipt, Poll: def.answer(cast)}, nil
}

// notEntitled says why the caller may not vote on r's roll (nil when they
// may): NotFound for someone who does not take part, else
// PermissionDenied with the stable reason.
func notEntitled(c identity.Claims, r *pollRow) error {
	st := r.p.GetMyStatus()
	if st.GetEntitled() {
		return nil
	}
	id := r.p.GetId()
	switch {
	case !r.onRoll && (r.written() || !sees(c, r)):
		return notFound(id)
	case !r.onRoll:
		return status.Errorf(codes.NotFound, "%s: poll %s: %s (%s)", Name, id, reasonText[reasonNotParticipant], reasonNotParticipant)
	default:
		return status.Errorf(codes.PermissionDenied, "%s: you may not vote in poll %s: %s (%s)", Name, id, reasonText[st.GetReason()], st.GetReason())
	}
}

// refreshRoll takes the meeting's roll again with the caller's identity
// and reloads the poll as the caller sees it.
func (a *api) refreshRoll(ctx context.Context, c identity.Claims, r *pollRow) (*pollRow, error) {
	m, err := a.s.meeting(ctx, r.p.GetMeetingId())
	if errors.Is(err, errMeetingHidden) {
		return nil, notFound(r.p.GetId())
	}
	if err != nil {
		return nil, err
	}
	if err := a.s.replaceRoll(ctx, r.p.GetId(), meetingRoll(m)); err != nil {
		return nil, a.storeErr(ctx, "CastBallot", err)
	}
	r, err = a.s.loadPoll(ctx, a.s.d.Pool, r.p.GetId(), c.Subject)
	if err != nil {
		return nil, a.storeErr(ctx, "CastBallot", err)
	}
	return r, nil
}

func (a *api) ClosePoll(ctx context.Context, req *votingv1.ClosePollRequest) (*votingv1.ClosePollResponse, error) {
	c, err := a.begin(ctx)
	if err != nil {
		return nil, err
	}
	r, err := a.load(ctx, c, "ClosePoll", "poll_id", req.GetPollId())
	if err != nil {
		return nil, err
	}
	m, err := a.authorise(ctx, c, r)
	if err != nil {
		return nil, err
	}
	if r.p.GetKind() == votingv1.PollKind_POLL_KIND_SHOW_OF_HANDS && r.p.GetState() == votingv1.PollState_POLL_STATE_OPEN {
		return nil, illegal(r.p.GetId(), "a show of hands closes when the minute-taker enters the counts (RecordHandCount)")
	}
	cr := closeRequest{actor: c.Subject, id: r.p.GetId(), expected: req.GetExpectedVersion()}
	if m != nil {
		cr.roll = meetingRoll(m)
	}
	out, err := a.s.closePoll(ctx, cr)
	if err != nil {
		return nil, a.storeErr(ctx, "ClosePoll", err)
	}
	return &votingv1.ClosePollResponse{Poll: out.p, Result: out.result}, nil
}

func (a *api) PublishPoll(ctx context.Context, req *votingv1.PublishPollRequest) (*votingv1.PublishPollResponse, error) {
	c, err := a.begin(ctx)
	if err != nil {
		return nil, err
	}
	r, err := a.load(ctx, c, "PublishPoll", "poll_id", req.GetPollId())
	if err != nil {
		return nil, err
	}
	if _, err := a.authorise(ctx, c, r); err != nil {
		return nil, err
	}
	out, err := a.s.publishPoll(ctx, c.Subject, r.p.GetId(), req.GetExpectedVersion())
	if err != nil {
		return nil, a.storeErr(ctx, "PublishPoll", err)
	}
	return &votingv1.PublishPollResponse{Poll: out.p, Result: out.result}, nil
}

func (a *api) RecordHandCount(ctx context.Context, req *votingv1.RecordHandCountRequest) (*votingv1.RecordHandCountResponse, error) {
	c, err := a.begin(ctx)
	if err != nil {
		return nil, err
	}
	r, err := a.load(ctx, c, "RecordHandCount", "poll_id", req.GetPollId())
	if err != nil {
		return nil, err
	}
	m, err := a.authorise(ctx, c, r)
	if err != nil {
		return nil, err
	}
	id := r.p.GetId()
	if r.p.GetKind() != votingv1.PollKind_POLL_KIND_SHOW_OF_HANDS {
		return nil, illegal(id, "only a show of hands takes counts entered by hand; this poll takes ballots")
	}
	if r.p.GetState() != votingv1.PollState_POLL_STATE_OPEN {
		return nil, illegal(id, "cannot enter counts for a poll that is %s; open it first", stateWord(r.p.GetState()))
	}
	roll := meetingRoll(m)
	entitled := 0
	for _, e := range roll {
		if e.reason == "" {
			entitled++
		}
	}
	hands, vs := handCounts(r, req.GetCounts(), entitled)
	if len(vs) > 0 {
		return nil, invalid(vs)
	}
	out, err := a.s.closePoll(ctx, closeRequest{actor: c.Subject, id: id, expected: req.GetExpectedVersion(), roll: roll, hands: hands})
	if err != nil {
		return nil, a.storeErr(ctx, "RecordHandCount", err)
	}
	return &votingv1.RecordHandCountResponse{Poll: out.p, Result: out.result}, nil
}

// handCounts checks the counts of a show of hands: every choice exactly
// once, none negative, no more hands than voters entitled.
func handCounts(r *pollRow, counts []*votingv1.ChoiceCount, entitled int) (map[string]int, []domain.Violation) {
	var vs []domain.Violation
	hands := map[string]int{}
	sum := 0
	for i, cc := range counts {
		id := cc.GetChoiceId()
		switch {
		case !slices.ContainsFunc(r.choices, func(c domain.Choice) bool { return c.ID == id }):
			vs = append(vs, domain.Violation{Field: fmt.Sprintf("counts[%d].choice_id", i), Reason: domain.ReasonUnknownValue,
				Description: fmt.Sprintf("%q is not a choice of the poll", id)})
		case hands[id] != 0 || slices.ContainsFunc(counts[:i], func(o *votingv1.ChoiceCount) bool { return o.GetChoiceId() == id }):
			vs = append(vs, domain.Violation{Field: fmt.Sprintf("counts[%d].choice_id", i), Reason: domain.ReasonDuplicate,
				Description: "each choice is counted once"})
		case cc.GetCount() < 0:
			vs = append(vs, domain.Violation{Field: fmt.Sprintf("counts[%d].count", i), Reason: domain.ReasonOutOfRange,
				Description: "must not be negative"})
		default:
			hands[id] = int(cc.GetCount())
			sum += int(cc.GetCount())
		}
	}
	if len(vs) > 0 {
		return nil, vs
	}
	var missing []string
	for _, c := range r.choices {
		if _, ok := hands[c.ID]; !ok {
			missing = append(missing, c.ID)
		}
	}
	if len(missing) > 0 {
		return nil, []domain.Violation{{Field: "counts", Reason: domain.ReasonTooFew,
			Description: fmt.Sprintf("needs a count for every choice; missing %s", strings.Join(missing, ", "))}}
	}
	if sum > entitled {
		return nil, []domain.Violation{{Field: "counts", Reason: domain.ReasonTooMany,
			Description: fmt.Sprintf("must be at most %d hands in all (the voters entitled), got %d", entitled, sum)}}
	}
	return hands, nil
}

func (a *api) GetResult(ctx context.Context, req *votingv1.GetResultRequest) (*votingv1.GetResultResponse, error) {
	c, err := a.begin(ctx)
	if err != nil {
		return nil, err
	}
	r, err := a.load(ctx, c, "GetResult", "poll_id", req.GetPollId())
	if err != nil {
		return nil, err
	}
	if err := resultVisible(c, r); err != nil {
		return nil, err
	}
	return &votingv1.GetResultResponse{Result: r.result}, nil
}

// resultVisible: nothing while open (never partial results); once closed,
// the chair, the minute-taker and administrators; once published, everyone
// who sees the poll.
func resultVisible(c identity.Claims, r *pollRow) error {
	id := r.p.GetId()
	switch r.p.GetState() {
	case votingv1.PollState_POLL_STATE_DRAFT, votingv1.PollState_POLL_STATE_OPEN:
		return illegal(id, "there is no result while the poll is %s; it is counted when it closes", stateWord(r.p.GetState()))
	case votingv1.PollState_POLL_STATE_CLOSED:
		if !manages(c, r) {
			return status.Errorf(codes.PermissionDenied, "%s: the result of poll %s is the chair's and the minute-taker's until it is published", Name, id)
		}
	}
	return nil
}

func (a *api) ListCountedBallots(ctx context.Context, req *votingv1.ListCountedBallotsRequest) (*votingv1.ListCountedBallotsResponse, error) {
	c, err := a.begin(ctx)
	if err != nil {
		return nil, err
	}
	r, err := a.load(ctx, c, "ListCountedBallots", "poll_id", req.GetPollId())
	if err != nil {
		return nil, err
	}
	if err := resultVisible(c, r); err != nil {
		return nil, err
	}
	bs, err := a.s.listCounted(ctx, r.p.GetId())
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "ListCountedBallots", err)
	}
	return &votingv1.ListCountedBallotsResponse{Ballots: bs}, nil
}

func hasField(vs []domain.Violation, field string) bool {
	for _, v := range vs {
		if v.Field == field {
			return true
		}
	}
	return false
}

// invalid reports the domain's violations as InvalidArgument. The domain
// keeps its own Violation type so it does not depend on gRPC; the two have
// the same fields, so converting is a plain copy.
func invalid(vs []domain.Violation) error {
	out := make([]rpcerr.Violation, len(vs))
	for i, v := range vs {
		out[i] = rpcerr.Violation(v)
	}
	return rpcerr.Invalid(Name, out)
}
