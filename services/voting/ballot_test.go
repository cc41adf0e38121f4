package voting

import (
	"strings"
	"sync"
	"testing"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// A tablet that retries gets the same receipt; a second, different ballot
// is refused; the database holds one.
func TestRetrySameKeyVsSecondVote(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 2)
	c.checkIn(t, c.everyone()...)
	p := c.open(t, c.motion(true))
	k := key()
	req := &votingv1.CastBallotRequest{PollId: p.GetId(), ChoiceIds: []string{"agree"}, IdempotencyKey: k}
	first, err := w.client.CastBallot(c.as(c.members[0]), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.GetReceipt()) != 19 || strings.Count(first.GetReceipt(), "-") != 3 {
		t.Errorf("receipt %q is not 16 characters in groups of four", first.GetReceipt())
	}
	again, err := w.client.CastBallot(c.as(c.members[0]), req)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if again.GetReceipt() != first.GetReceipt() {
		t.Errorf("retry receipt %q, first %q", again.GetReceipt(), first.GetReceipt())
	}
	// Even with other choices: the key says it is the same ballot, and
	// the ballot in the box is the first one.
	req.ChoiceIds = []string{"disagree"}
	if again, err := w.client.CastBallot(c.as(c.members[0]), req); err != nil || again.GetReceipt() != first.GetReceipt() {
		t.Errorf("retry with other choices: %v, %v", again.GetReceipt(), err)
	}
	_, err = w.client.CastBallot(c.as(c.members[0]), &votingv1.CastBallotRequest{PollId: p.GetId(), ChoiceIds: []string{"disagree"}, IdempotencyKey: key()})
	st := testenv.Code(t, err, codes.AlreadyExists)
	if !strings.Contains(st.Message(), "already voted") {
		t.Errorf("message %q", st.Message())
	}
	// Another voter reusing someone's key is refused, not given their receipt.
	_, err = w.client.CastBallot(c.as(c.members[1]), &votingv1.CastBallotRequest{PollId: p.GetId(), ChoiceIds: []string{"agree"}, IdempotencyKey: k})
	testenv.Code(t, err, codes.AlreadyExists)
	if n := w.count(t, `SELECT count(*) FROM voters`); n != 1 {
		t.Errorf("%d voters, want 1", n)
	}
	if n := w.count(t, `SELECT count(*) FROM ballot_box`); n != 1 {
		t.Errorf("%d ballots, want 1", n)
	}
	// Nor once they have voted themself: resending another voter's key is
	// not a retry of their own ballot, so it does not answer with the
	// other ballot's receipt.
	if _, err := w.client.CastBallot(c.as(c.members[1]), &votingv1.CastBallotRequest{PollId: p.GetId(), ChoiceIds: []string{"disagree"}, IdempotencyKey: key()}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the slow path, then the fast one (the poll is cached now)
		resp, err := w.client.CastBallot(c.as(c.members[1]), &votingv1.CastBallotRequest{PollId: p.GetId(), ChoiceIds: []string{"agree"}, IdempotencyKey: k})
		if st := testenv.Code(t, err, codes.AlreadyExists); resp.GetReceipt() != "" || !strings.Contains(st.Message(), "idempotency_key") {
			t.Errorf("a voter resending another's key got receipt %q, %v", resp.GetReceipt(), err)
		}
	}
	res := c.closePoll(t, p.GetId()).GetResult()
	if res.GetCounts()[0].GetCount() != 1 || res.GetCounts()[1].GetCount() != 1 {
		t.Errorf("counted %v, want the first ballot (agree) and members[1]'s (disagree)", res.GetCounts())
	}
	// The answer was lost and the poll closed meanwhile: the retry still
	// gets the receipt; a new ballot is refused because the poll is closed.
	if again, err := w.client.CastBallot(c.as(c.members[0]), req); err != nil || again.GetReceipt() != first.GetReceipt() {
		t.Errorf("retry after close: %v, %v", again.GetReceipt(), err)
	}
	_, err = w.client.CastBallot(c.as(c.members[0]), &votingv1.CastBallotRequest{PollId: p.GetId(), ChoiceIds: []string{"agree"}, IdempotencyKey: key()})
	testenv.Code(t, err, codes.FailedPrecondition)
}

// A burst of concurrent double votes: per voter, 50 requests at once, ten
// with one key and forty with keys of their own. Exactly one ballot per
// voter is stored; the winners are either the ten same-key requests (all
// with one receipt) or a single other one; everyone else hears "already
// voted".
func TestBurstOfConcurrentDoubleVotes(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 3)
	c.checkIn(t, c.everyone()...)
	p := c.open(t, c.motion(true))
	voters := c.everyone()
	type outcome struct {
		key, receipt string
		code         codes.Code
	}
	results := make(map[string][]outcome)
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, person := range voters {
		shared := key()
		for i := range 50 {
			k := shared
			if i >= 10 {
				k = key()
			}
			wg.Go(func() {
				<-start
				resp, err := w.client.CastBallot(c.as(person), &votingv1.CastBallotRequest{PollId: p.GetId(),
					ChoiceIds: []string{[]string{"agree", "disagree", "abstain"}[i%3]}, IdempotencyKey: k})
				mu.Lock()
				results[person] = append(results[person], outcome{k, resp.GetReceipt(), status.Code(err)})
				mu.Unlock()
			})
		}
	}
	close(start)
	wg.Wait()
	for _, person := range voters {
		winners := map[string]int{} // key -> successes
		receipts := map[string]bool{}
		for _, o := range results[person] {
			switch o.code {
			case codes.OK:
				winners[o.key]++
				receipts[o.receipt] = true
			case codes.AlreadyExists:
			default:
				t.Errorf("%s: unexpected code %v", c.names[person], o.code)
			}
		}
		if len(winners) != 1 || len(receipts) != 1 {
			t.Errorf("%s: successes by key %v, receipts %v; want one key, one receipt", c.names[person], winners, receipts)
			continue
		}
		for k, n := range winners {
			if n != 1 && n != 10 {
				t.Errorf("%s: key %s succeeded %d times, want 1 (own key) or 10 (the shared key)", c.names[person], k, n)
			}
			// A retry now still gets the same receipt.
			resp, err := w.client.CastBallot(c.as(person), &votingv1.CastBallotRequest{PollId: p.GetId(), ChoiceIds: []string{"agree"}, IdempotencyKey: k})
			if err != nil || !receipts[resp.GetReceipt()] {
				t.Errorf("%s: retry after the burst: %v %v", c.names[person], resp.GetReceipt(), err)
			}
		}
	}
	if n := w.count(t, `SELECT count(*) FROM voters WHERE poll_id = $1`, p.GetId()); n != len(voters) {
		t.Errorf("%d voters, want %d", n, len(voters))
	}
	if n := w.count(t, `SELECT count(*) FROM ballot_box WHERE poll_id = $1`, p.GetId()); n != len(voters) {
		t.Errorf("%d ballots, want %d", n, len(voters))
	}
	if res := c.closePoll(t, p.GetId()).GetResult(); res.GetBallotsCast() != int32(len(voters)) {
		t.Errorf("counted %d ballots, want %d", res.GetBallotsCast(), len(voters))
	}
}

// Closing while ballots pour in: every ballot that got a receipt is
// counted, every other one was refused because the poll closed. The close
// starts only once a ballot has been accepted, while the rest of the first
// wave and a second wave are still being sent; a last wave is sent after
// the close returned, so the test sees both outcomes whatever the timing.
func TestCloseDuringABurstMissesNoBallot(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 20)
	c.checkIn(t, c.everyone()...)
	p := c.open(t, c.motion(true))
	voters := c.everyone()
	first, second, last := voters[:8], voters[8:16], voters[16:]
	var mu sync.Mutex
	receipts := map[string]string{}
	refused := 0
	accepted := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	cast := func(people []string, gate <-chan struct{}) {
		for _, person := range people {
			wg.Go(func() {
				<-gate
				resp, err := w.client.CastBallot(c.as(person), &votingv1.CastBallotRequest{PollId: p.GetId(), ChoiceIds: []string{"agree"}, IdempotencyKey: key()})
				mu.Lock()
				defer mu.Unlock()
				switch st, _ := status.FromError(err); {
				case err == nil:
					receipts[person] = resp.GetReceipt()
					once.Do(func() { close(accepted) })
				case st.Code() == codes.FailedPrecondition && strings.Contains(st.Message(), "closed"):
					refused++
				default:
					t.Errorf("CastBallot: %v", err)
				}
			})
		}
	}
	open, closed := make(chan struct{}), make(chan struct{})
	cast(first, open)
	cast(second, accepted)
	cast(last, closed)
	close(open)
	<-accepted
	res := c.closePoll(t, p.GetId()).GetResult()
	close(closed)
	wg.Wait()
	if len(receipts) == 0 || refused == 0 || len(receipts)+refused != len(voters) {
		t.Errorf("%d accepted, %d refused as closed, of %d; want some of each and nothing else", len(receipts), refused, len(voters))
	}
	if int(res.GetBallotsCast()) != len(receipts) {
		t.Errorf("counted %d ballots, %d voters got a receipt", res.GetBallotsCast(), len(receipts))
	}
	c.publish(t, p.GetId())
	verifyReceipts(t, w, c.as(c.chair), p, receipts, res)
}

// Who may vote: checked-in official members with a voting right; the rest
// are told why.
func TestEligibility(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 3)
	late := c.members[2]
	c.checkIn(t, c.chair, c.taker, c.members[0], c.probationary, c.guest)
	c.mark(t, meetingsv1.Attendance_ATTENDANCE_PRESENT_ONLINE, c.members[1])
	p := c.open(t, c.motion(true))
	if p.GetEntitled() != 4 {
		t.Errorf("entitled %d, want 4 (chair, minute-taker, one in the room, one online)", p.GetEntitled())
	}
	c.vote(t, p.GetId(), c.members[1], "agree") // online counts
	cases := []struct {
		who    string
		code   codes.Code
		reason string
	}{
		{c.probationary, codes.PermissionDenied, reasonProbationary},
		{c.guest, codes.PermissionDenied, reasonNoVotingRight},
		{late, codes.PermissionDenied, reasonNotCheckedIn},
		{c.outsider, codes.NotFound, ""},
	}
	for _, tc := range cases {
		_, err := w.client.CastBallot(c.as(tc.who), &votingv1.CastBallotRequest{PollId: p.GetId(), ChoiceIds: []string{"agree"}, IdempotencyKey: key()})
		st := testenv.Code(t, err, tc.code)
		if !strings.Contains(st.Message(), tc.reason) {
			t.Errorf("%s: message %q does not give the reason %s", c.names[tc.who], st.Message(), tc.reason)
		}
		if tc.reason == "" {
			continue
		}
		got, err := w.client.GetPoll(c.as(tc.who), &votingv1.GetPollRequest{PollId: p.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		if s := got.GetPoll().GetMyStatus(); s.GetEntitled() || s.GetReason() != tc.reason {
			t.Errorf("%s: my_status %v, want reason %s", c.names[tc.who], s, tc.reason)
		}
	}
	// A participant removed from the meeting is not a participant: NotFound.
	if _, err := w.meetings.RemoveParticipant(testenv.As(c.admin), &meetingsv1.RemoveParticipantRequest{MeetingId: c.meeting.GetId(), PersonId: c.members[0]}); err != nil {
		t.Fatalf("RemoveParticipant: %v", err)
	}
	// (still entitled on the roll taken at open: the roll is not asked again
	// for someone entitled on it, so one vote goes through)
	c.vote(t, p.GetId(), c.members[0], "agree")

	// Checking in late: the roll is taken again (once the caller's last
	// refresh is refreshEvery old) and the vote goes through.
	c.checkIn(t, late)
	w.clock.Advance(refreshEvery)
	c.vote(t, p.GetId(), late, "disagree")
	got, err := w.client.GetPoll(c.as(late), &votingv1.GetPollRequest{PollId: p.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if s := got.GetPoll().GetMyStatus(); !s.GetEntitled() || !s.GetVoted() || got.GetPoll().GetEntitled() != 4 || got.GetPoll().GetBallotsCast() != 3 {
		// members[0] left the meeting when the roll was taken again.
		t.Errorf("after late check-in: %v entitled %d cast %d", s, got.GetPoll().GetEntitled(), got.GetPoll().GetBallotsCast())
	}
	// ListMyPolls shows the open poll to the entitled, not to the others.
	mine, err := w.client.ListMyPolls(c.as(c.chair), &votingv1.ListMyPollsRequest{})
	if err != nil || len(mine.GetPolls()) != 1 || mine.GetPolls()[0].GetId() != p.GetId() {
		t.Errorf("ListMyPolls as chair: %v %v", mine.GetPolls(), err)
	}
	mine, err = w.client.ListMyPolls(c.as(c.probationary), &votingv1.ListMyPollsRequest{})
	if err != nil || len(mine.GetPolls()) != 0 {
		t.Errorf("ListMyPolls as probationary member: %v %v", mine.GetPolls(), err)
	}
}

// Every bad input of the issue, with the expected code and the field or
// reason named.
func TestBadInput(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 2)
	c.checkIn(t, c.everyone()...)
	multi := c.motion(true)
	multi.Kind, multi.Choices, multi.MinChoices, multi.MaxChoices = votingv1.PollKind_POLL_KIND_MULTIPLE_CHOICE, []string{"A", "B", "C", "D"}, 2, 3
	pm := c.open(t, multi)
	p := c.open(t, c.motion(true))
	id := p.GetId()
	voter := c.as(c.members[0])

	invalidCases := []struct {
		name  string
		req   *votingv1.CastBallotRequest
		field string
	}{
		{"choice not on the ballot", &votingv1.CastBallotRequest{PollId: id, ChoiceIds: []string{"maybe"}, IdempotencyKey: key()}, "choice_ids[0]"},
		{"two choices on a motion", &votingv1.CastBallotRequest{PollId: id, ChoiceIds: []string{"agree", "disagree"}, IdempotencyKey: key()}, "choice_ids"},
		{"no choice", &votingv1.CastBallotRequest{PollId: id, IdempotencyKey: key()}, "choice_ids"},
		{"too few of many", &votingv1.CastBallotRequest{PollId: pm.GetId(), ChoiceIds: []string{"c1"}, IdempotencyKey: key()}, "choice_ids"},
		{"too many of many", &votingv1.CastBallotRequest{PollId: pm.GetId(), ChoiceIds: []string{"c1", "c2", "c3", "c4"}, IdempotencyKey: key()}, "choice_ids"},
		{"same choice twice", &votingv1.CastBallotRequest{PollId: pm.GetId(), ChoiceIds: []string{"c1", "c1"}, IdempotencyKey: key()}, "choice_ids[1]"},
		{"no key", &votingv1.CastBallotRequest{PollId: id, ChoiceIds: []string{"agree"}}, "idempotency_key"},
		{"guessable key", &votingv1.CastBallotRequest{PollId: id, ChoiceIds: []string{"agree"}, IdempotencyKey: "1234"}, "idempotency_key"},
		{"key with bad characters", &votingv1.CastBallotRequest{PollId: id, ChoiceIds: []string{"agree"}, IdempotencyKey: strings.Repeat("ä", 30)}, "idempotency_key"},
		{"bad poll id", &votingv1.CastBallotRequest{PollId: "poll-1", ChoiceIds: []string{"agree"}, IdempotencyKey: key()}, "poll_id"},
	}
	for _, tc := range invalidCases {
		_, err := w.client.CastBallot(voter, tc.req)
		testenv.Code(t, err, codes.InvalidArgument)
		if fields := testenv.ViolatedFields(t, err); len(fields) == 0 || fields[0] != tc.field {
			t.Errorf("%s: violated fields %v, want %s first", tc.name, fields, tc.field)
		}
	}
	// A base64url key of 22 characters (128 bits) is fine.
	if _, err := w.client.CastBallot(voter, &votingv1.CastBallotRequest{PollId: pm.GetId(), ChoiceIds: []string{"c1", "c3"},
		IdempotencyKey: "AAAAAAAAAAAAAAAAAAAA_-"}); err != nil {
		t.Errorf("22-character base64url key: %v", err)
	}

	// Delegation is off.
	_, err := w.client.CastBallot(voter, &votingv1.CastBallotRequest{PollId: id, ChoiceIds: []string{"agree"}, IdempotencyKey: key(),
		OnBehalfOfPersonId: c.members[1]})
	st := testenv.Code(t, err, codes.FailedPrecondition)
	if !strings.Contains(st.Message(), "delegation is not allowed") {
		t.Errorf("delegation: %q", st.Message())
	}
	deleg := c.motion(true)
	deleg.AllowDelegation = true
	_, err = w.client.CreatePoll(c.as(c.chair), deleg)
	testenv.Code(t, err, codes.FailedPrecondition)

	// Creating: a deadline in the past, a poll on an item of another
	// meeting, an organisation that is not the meeting's.
	past := c.motion(true)
	past.Deadline = timestamppb.New(time.Now().Add(-time.Minute))
	_, err = w.client.CreatePoll(c.as(c.chair), past)
	if diff := cmp.Diff([]string{"deadline"}, testenv.ViolatedFields(t, err)); diff != "" {
		t.Errorf("past deadline (-want +got):\n%s", diff)
	}
	wrong := c.motion(true)
	wrong.AgendaItemId, wrong.OrganizationId = uuid.NewString(), c.other
	_, err = w.client.CreatePoll(c.as(c.chair), wrong)
	if diff := cmp.Diff([]string{"organization_id", "agenda_item_id"}, testenv.ViolatedFields(t, err)); diff != "" {
		t.Errorf("wrong item and organisation (-want +got):\n%s", diff)
	}
	// A meeting that does not exist.
	ghost := c.motion(true)
	ghost.MeetingId, ghost.AgendaItemId = uuid.NewString(), ""
	_, err = w.client.CreatePoll(c.as(c.chair), ghost)
	testenv.Code(t, err, codes.NotFound)

	// Hands are not ballots, ballots are not hands.
	_, err = w.client.RecordHandCount(c.as(c.taker), &votingv1.RecordHandCountRequest{PollId: id})
	testenv.Code(t, err, codes.FailedPrecondition)
}

// An election ballot keeping too many names, or striking every name, is
// accepted, counted as cast and invalid, and shown so in the result.
func TestElectionInvalidBallotsAreCountedAsCast(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 4) // 6 voters
	c.checkIn(t, c.everyone()...)
	req := c.motion(true)
	req.Kind, req.Title, req.Choices, req.Seats = votingv1.PollKind_POLL_KIND_ELECTION, "Bầu Ban chấp hành", []string{"Nguyễn A", "Trần B", "Lê C"}, 2
	req.AgendaItemId = ""
	p := c.open(t, req)
	v := c.everyone()
	c.vote(t, p.GetId(), v[0], "c1", "c2")
	c.vote(t, p.GetId(), v[1], "c1", "c2")
	c.vote(t, p.GetId(), v[2], "c1", "c3")
	c.vote(t, p.GetId(), v[3], "c1", "c2")
	c.vote(t, p.GetId(), v[4], "c1", "c2", "c3") // keeps three for two seats
	c.vote(t, p.GetId(), v[5])                   // strikes every name
	res := c.closePoll(t, p.GetId()).GetResult()
	if res.GetBallotsCast() != 6 || res.GetValidBallots() != 4 || res.GetInvalidBallots() != 2 {
		t.Errorf("cast %d valid %d invalid %d", res.GetBallotsCast(), res.GetValidBallots(), res.GetInvalidBallots())
	}
	// Base: 6 convened and present (the excused member is absent and left
	// out); 4 needed. A has 4, B 3: only A is elected.
	if res.GetOutcome() != votingv1.Outcome_OUTCOME_SEATS_UNFILLED || len(res.GetElectedChoiceIds()) != 1 || res.GetElectedChoiceIds()[0] != "c1" || res.GetBase() != 6 {
		t.Errorf("outcome %v elected %v base %d: %s", res.GetOutcome(), res.GetElectedChoiceIds(), res.GetBase(), res.GetSummary())
	}
	if !strings.Contains(res.GetSummary(), "2 không hợp lệ") {
		t.Errorf("summary %q does not show the invalid ballots", res.GetSummary())
	}
	c.publish(t, p.GetId())
	list, err := w.client.ListCountedBallots(c.as(v[5]), &votingv1.ListCountedBallotsRequest{PollId: p.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	invalid := 0
	for _, b := range list.GetBallots() {
		if !b.GetValid() {
			invalid++
		}
	}
	if invalid != 2 {
		t.Errorf("%d invalid ballots in the list, want 2", invalid)
	}
}
