package voting

import (
	"slices"
	"strings"
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/ecabinet/ecabinet/services/voting/secrecy"
	"google.golang.org/grpc/codes"
)

// allowDelegation sets the organisation's allow_vote_delegation in the
// meetings service's directory (UpdateOrganization is tested there).
func (c *cell) allowDelegation(t *testing.T, on bool) {
	t.Helper()
	c.w.exec(t, `UPDATE organizations SET allow_vote_delegation = $2, version = version + 1 WHERE id = $1`, c.org, on)
}

// delegate records, as the member themself (the appointment is theirs),
// who casts person's ballot while they are absent.
func (c *cell) delegate(t *testing.T, person, delegate string) {
	t.Helper()
	if _, err := c.w.meetings.SetDelegate(c.as(person), &meetingsv1.SetDelegateRequest{
		MeetingId: c.meeting.GetId(), PersonId: person, DelegatePersonId: delegate}); err != nil {
		t.Fatalf("SetDelegate: %v", err)
	}
}

// castFor is delegate casting principal's ballot with key.
func (c *cell) castFor(delegate, principal, pollID, k string, choices ...string) (*votingv1.CastBallotResponse, error) {
	return c.w.client.CastBallot(c.as(delegate), &votingv1.CastBallotRequest{PollId: pollID, ChoiceIds: choices,
		IdempotencyKey: k, OnBehalfOfPersonId: principal})
}

func wantRefusal(t *testing.T, what string, err error, code codes.Code, text string) {
	t.Helper()
	st := testenv.Code(t, err, code)
	if !strings.Contains(st.Message(), text) {
		t.Errorf("%s: %q does not say %q", what, st.Message(), text)
	}
}

// Delegation off by default; with the organisation's setting on, only a
// poll that allows it takes a delegated ballot, only from the absent
// member's recorded delegate who is present, and the ballot is the
// member's: counted once, as theirs, and they cannot vote too.
func TestDelegatedBallot(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 4)
	absent, proxy, other := c.members[0], c.members[1], c.members[2]
	c.checkIn(t, c.chair, c.taker, proxy, other, c.members[3])

	// Off by default: no poll allowing it, no delegate recorded, no
	// delegated ballot.
	req := c.motion(true)
	req.AllowDelegation = true
	_, err := w.client.CreatePoll(c.as(c.chair), req)
	wantRefusal(t, "poll allowing delegation, organisation off", err, codes.FailedPrecondition, "delegation is not allowed in this organisation")
	_, err = w.meetings.SetDelegate(c.as(absent), &meetingsv1.SetDelegateRequest{MeetingId: c.meeting.GetId(), PersonId: absent, DelegatePersonId: proxy})
	wantRefusal(t, "SetDelegate, organisation off", err, codes.FailedPrecondition, "delegation is not allowed")
	plain := c.open(t, c.motion(true))
	_, err = c.castFor(proxy, absent, plain.GetId(), key(), "agree")
	wantRefusal(t, "delegated ballot, organisation off", err, codes.FailedPrecondition, "delegation is not allowed in this organisation")

	// The organisation allows it; the poll opened without it does not.
	c.allowDelegation(t, true)
	c.delegate(t, absent, proxy)
	_, err = c.castFor(proxy, absent, plain.GetId(), key(), "agree")
	wantRefusal(t, "poll without allow_delegation", err, codes.FailedPrecondition, "created without allow_delegation")

	p := c.open(t, req)
	id := p.GetId()
	if !p.GetAllowDelegation() || p.GetEntitled() != 5 {
		t.Fatalf("poll allows delegation %v, entitled %d", p.GetAllowDelegation(), p.GetEntitled())
	}
	// Not the recorded delegate.
	_, err = c.castFor(other, absent, id, key(), "agree")
	wantRefusal(t, "not the delegate", err, codes.PermissionDenied, "NOT_DELEGATE")
	// Bad names.
	_, err = c.castFor(proxy, proxy, id, key(), "agree")
	if got := testenv.ViolationReasons(t, err); got["on_behalf_of_person_id"] != "SELF" {
		t.Errorf("on behalf of oneself: %v", got)
	}
	_, err = c.castFor(proxy, c.outsider, id, key(), "agree")
	if got := testenv.ViolationReasons(t, err); got["on_behalf_of_person_id"] != reasonNotParticipant {
		t.Errorf("on behalf of an outsider: %v", got)
	}
	_, err = c.castFor(proxy, "someone", id, key(), "agree")
	if got := testenv.ViolationReasons(t, err); got["on_behalf_of_person_id"] != "INVALID_FORMAT" {
		t.Errorf("on behalf of a non-id: %v", got)
	}
	// The member is present: they vote themself.
	c.checkIn(t, absent)
	_, err = c.castFor(proxy, absent, id, key(), "agree")
	wantRefusal(t, "member present", err, codes.FailedPrecondition, reasonPrincipalPresent)
	c.mark(t, meetingsv1.Attendance_ATTENDANCE_NOT_PRESENT, absent)
	// The delegate is not present.
	c.mark(t, meetingsv1.Attendance_ATTENDANCE_NOT_PRESENT, proxy)
	_, err = c.castFor(proxy, absent, id, key(), "agree")
	wantRefusal(t, "delegate absent", err, codes.PermissionDenied, reasonNotCheckedIn)
	c.checkIn(t, proxy)
	if n := w.count(t, `SELECT count(*) FROM voters WHERE poll_id = $1`, id); n != 0 {
		t.Fatalf("refusals wrote %d voters rows", n)
	}

	// The delegate casts the member's ballot: it is the member's.
	k := key()
	resp, err := c.castFor(proxy, absent, id, k, "agree")
	if err != nil {
		t.Fatalf("delegated ballot: %v", err)
	}
	receipt := resp.GetReceipt()
	if resp.GetPoll().GetBallotsCast() != 1 || resp.GetPoll().GetMyStatus().GetVoted() {
		t.Errorf("after the delegated ballot: cast %d, the delegate's own status %v", resp.GetPoll().GetBallotsCast(), resp.GetPoll().GetMyStatus())
	}
	if n := w.count(t, `SELECT count(*) FROM voters WHERE poll_id = $1 AND person_id = $2`, id, absent); n != 1 {
		t.Errorf("voters rows of the member: %d", n)
	}
	if n := w.count(t, `SELECT count(*) FROM voters WHERE poll_id = $1 AND person_id = $2`, id, proxy); n != 0 {
		t.Errorf("the delegated ballot went on the delegate's row")
	}
	// A retry gets the same receipt; another ballot for the member is a
	// second vote (409).
	again, err := c.castFor(proxy, absent, id, k, "agree")
	if err != nil || again.GetReceipt() != receipt {
		t.Errorf("retry: %v, receipt %q want %q", err, again.GetReceipt(), receipt)
	}
	_, err = c.castFor(proxy, absent, id, key(), "disagree")
	wantRefusal(t, "second delegated ballot", err, codes.AlreadyExists, "already voted")
	// The delegate's own vote stays theirs.
	c.vote(t, id, proxy, "disagree")
	_, err = w.client.CastBallot(c.as(proxy), &votingv1.CastBallotRequest{PollId: id, ChoiceIds: []string{"agree"}, IdempotencyKey: key()})
	testenv.Code(t, err, codes.AlreadyExists)
	// The member, arriving, cannot vote too.
	c.checkIn(t, absent)
	_, err = w.client.CastBallot(c.as(absent), &votingv1.CastBallotRequest{PollId: id, ChoiceIds: []string{"disagree"}, IdempotencyKey: key()})
	testenv.Code(t, err, codes.AlreadyExists)
	c.mark(t, meetingsv1.Attendance_ATTENDANCE_NOT_PRESENT, absent)
	c.vote(t, id, c.chair, "agree")
	c.vote(t, id, c.taker, "agree")

	// Counted once, as the member's: 4 ballots, 3 agree; the member was
	// represented, so present and entitled count them (the chair's close
	// takes the roll with the member absent).
	res := c.closePoll(t, id).GetResult()
	if res.GetBallotsCast() != 4 || res.GetEntitled() != 6 || res.GetPresent() != 6 {
		t.Errorf("result: cast %d, entitled %d, present %d; want 4, 6, 6", res.GetBallotsCast(), res.GetEntitled(), res.GetPresent())
	}
	for _, cc := range res.GetCounts() {
		if want := map[string]int32{"agree": 3, "disagree": 1}[cc.GetChoiceId()]; cc.GetCount() != want {
			t.Errorf("%s: %d, want %d", cc.GetChoiceId(), cc.GetCount(), want)
		}
	}
	c.publish(t, id)
	counted, err := w.client.ListCountedBallots(c.as(proxy), &votingv1.ListCountedBallotsRequest{PollId: id})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(counted.GetBallots(), func(b *votingv1.CountedBallot) bool {
		return b.GetReceiptHash() == secrecy.ReceiptHash(receipt)
	}) {
		t.Error("the delegated ballot's receipt is not in the counted list")
	}
}

// A member who voted in person and then left has voted: their delegate
// gets 409. An organisation turning delegation off stops delegated ballots
// in polls that allowed it. A named poll shows who cast a delegated
// ballot.
func TestDelegatedBallotAfterVotingAndNamed(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 3)
	absent, proxy := c.members[0], c.members[1]
	c.checkIn(t, c.everyone()...)
	c.allowDelegation(t, true)
	c.delegate(t, absent, proxy)

	req := c.motion(false)
	req.AllowDelegation = true
	p := c.open(t, req)
	c.vote(t, p.GetId(), absent, "disagree")
	c.mark(t, meetingsv1.Attendance_ATTENDANCE_NOT_PRESENT, absent)
	_, err := c.castFor(proxy, absent, p.GetId(), key(), "agree")
	wantRefusal(t, "member already voted", err, codes.AlreadyExists, "already voted")

	named := c.open(t, req)
	c.allowDelegation(t, false)
	_, err = c.castFor(proxy, absent, named.GetId(), key(), "agree")
	wantRefusal(t, "organisation turned it off", err, codes.FailedPrecondition, "delegation is not allowed in this organisation")
	c.allowDelegation(t, true)
	if _, err := c.castFor(proxy, absent, named.GetId(), key(), "agree"); err != nil {
		t.Fatalf("delegated ballot: %v", err)
	}
	c.vote(t, named.GetId(), proxy, "abstain")
	res := c.closePoll(t, named.GetId()).GetResult()
	var found bool
	for _, v := range res.GetNamedVotes() {
		switch v.GetPersonId() {
		case absent:
			found = true
			if v.GetCastByPersonId() != proxy || v.GetCastByFullName() != c.names[proxy] || v.GetChoiceIds()[0] != "agree" {
				t.Errorf("the member's named vote: %v", v)
			}
		case proxy:
			if v.GetCastByPersonId() != "" || v.GetChoiceIds()[0] != "abstain" {
				t.Errorf("the delegate's own named vote: %v", v)
			}
		}
	}
	if !found {
		t.Errorf("no named vote for the member: %v", res.GetNamedVotes())
	}

	// A show of hands takes no delegation (no ballots).
	hands := c.motion(false)
	hands.Kind, hands.AllowDelegation = votingv1.PollKind_POLL_KIND_SHOW_OF_HANDS, true
	_, err = w.client.CreatePoll(c.as(c.chair), hands)
	testenv.Code(t, err, codes.FailedPrecondition)
}

// A represented member counts at close from their ballot, not from the
// delegation as it stands then: a delegation cleared after the ballot was
// cast still leaves the member present, and a member excused from party
// activities whose delegate voted for them counts among the members too,
// so present never exceeds members and the ballots never exceed present.
func TestRepresentedMembersCountFromTheirBallots(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 3)
	absent, proxy, proxy2 := c.members[0], c.members[1], c.members[2]
	c.checkIn(t, c.chair, c.taker, proxy, proxy2)
	c.allowDelegation(t, true)
	c.delegate(t, absent, proxy)
	c.delegate(t, c.excused, proxy2)
	req := c.motion(true)
	req.AllowDelegation = true
	p := c.open(t, req)
	if _, err := c.castFor(proxy, absent, p.GetId(), key(), "agree"); err != nil {
		t.Fatalf("delegated ballot: %v", err)
	}
	if _, err := c.castFor(proxy2, c.excused, p.GetId(), key(), "agree"); err != nil {
		t.Fatalf("delegated ballot of the excused member: %v", err)
	}
	c.vote(t, p.GetId(), c.chair, "agree")
	c.vote(t, p.GetId(), c.taker, "disagree")
	// The chair clears the first delegation after its ballot is in.
	if _, err := w.meetings.SetDelegate(c.as(c.chair), &meetingsv1.SetDelegateRequest{MeetingId: c.meeting.GetId(), PersonId: absent}); err != nil {
		t.Fatalf("clear delegation: %v", err)
	}
	res := c.closePoll(t, p.GetId()).GetResult()
	// Members: chair, taker, the three members, and the excused member who
	// was represented (6); present: the four checked in and the two
	// represented (6).
	if res.GetBallotsCast() != 4 || res.GetMembers() != 6 || res.GetPresent() != 6 || res.GetEntitled() != 6 {
		t.Errorf("cast %d, members %d, present %d, entitled %d; want 4, 6, 6, 6",
			res.GetBallotsCast(), res.GetMembers(), res.GetPresent(), res.GetEntitled())
	}
	if res.GetPresent() > res.GetMembers() || res.GetBallotsCast() > res.GetPresent() {
		t.Errorf("present %d > members %d or cast %d > present", res.GetPresent(), res.GetMembers(), res.GetBallotsCast())
	}
}
