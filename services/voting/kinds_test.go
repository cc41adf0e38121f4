package voting

import (
	"context"
	"strings"
	"testing"
	"time"

	platformv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/platform/v1"
	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/platform/outbox"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestShowOfHands(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 4) // 6 voters
	c.checkIn(t, c.everyone()...)
	req := c.motion(false)
	req.Kind, req.Title = votingv1.PollKind_POLL_KIND_SHOW_OF_HANDS, "Bầu Đoàn chủ tịch"
	p := c.open(t, req)
	taker := c.as(c.taker)
	cc := func(agree, disagree, abstain int32) []*votingv1.ChoiceCount {
		return []*votingv1.ChoiceCount{{ChoiceId: "agree", Count: agree}, {ChoiceId: "disagree", Count: disagree}, {ChoiceId: "abstain", Count: abstain}}
	}
	bad := []struct {
		name   string
		counts []*votingv1.ChoiceCount
		field  string
	}{
		{"a choice missing", cc(3, 1, 0)[:2], "counts"},
		{"more hands than voters", cc(5, 1, 1), "counts"},
		{"unknown choice", append(cc(1, 1, 1), &votingv1.ChoiceCount{ChoiceId: "maybe", Count: 1}), "counts[3].choice_id"},
		{"a choice twice", append(cc(1, 1, 1), &votingv1.ChoiceCount{ChoiceId: "agree", Count: 1}), "counts[3].choice_id"},
		{"negative", cc(-1, 1, 1), "counts[0].count"},
	}
	for _, b := range bad {
		_, err := w.client.RecordHandCount(taker, &votingv1.RecordHandCountRequest{PollId: p.GetId(), Counts: b.counts})
		testenv.Code(t, err, codes.InvalidArgument)
		if diff := cmp.Diff([]string{b.field}, testenv.ViolatedFields(t, err)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", b.name, diff)
		}
	}
	_, err := w.client.CastBallot(c.as(c.members[0]), &votingv1.CastBallotRequest{PollId: p.GetId(), ChoiceIds: []string{"agree"}, IdempotencyKey: key()})
	testenv.Code(t, err, codes.FailedPrecondition)
	_, err = w.client.ClosePoll(c.as(c.chair), &votingv1.ClosePollRequest{PollId: p.GetId()})
	testenv.Code(t, err, codes.FailedPrecondition)
	_, err = w.client.RecordHandCount(c.as(c.members[0]), &votingv1.RecordHandCountRequest{PollId: p.GetId(), Counts: cc(4, 1, 1)})
	testenv.Code(t, err, codes.PermissionDenied)

	resp, err := w.client.RecordHandCount(taker, &votingv1.RecordHandCountRequest{PollId: p.GetId(), Counts: cc(4, 1, 1)})
	if err != nil {
		t.Fatal(err)
	}
	res := resp.GetResult()
	if resp.GetPoll().GetState() != votingv1.PollState_POLL_STATE_CLOSED || res.GetBallotsCast() != 6 || res.GetOutcome() != votingv1.Outcome_OUTCOME_PASSED {
		t.Errorf("state %v result %v", resp.GetPoll().GetState(), res)
	}
	if want := "Thông qua: 4 tán thành, 1 không tán thành, 1 không biểu quyết; cần quá nửa tổng số đảng viên (4/6)"; res.GetSummary() != want {
		t.Errorf("summary %q", res.GetSummary())
	}
	_, err = w.client.RecordHandCount(taker, &votingv1.RecordHandCountRequest{PollId: p.GetId(), Counts: cc(4, 1, 1)})
	testenv.Code(t, err, codes.FailedPrecondition)
	if got := c.publish(t, p.GetId()).GetPoll(); got.GetBallotsCast() != 6 {
		t.Errorf("published poll shows %d ballots", got.GetBallotsCast())
	}
}

// A written opinion poll goes to a body's official members, has a
// deadline, and closes by itself when the deadline passes.
func TestWrittenOpinionClosesAtTheDeadline(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 3)
	deadline := time.Now().Add(time.Hour)
	req := &votingv1.CreatePollRequest{OrganizationId: c.org, Title: "Lấy ý kiến dự thảo quy chế làm việc",
		Kind: votingv1.PollKind_POLL_KIND_WRITTEN_OPINION, Secret: proto.Bool(true), Body: "BODY_KIND_ALL_MEMBERS", Deadline: timestamppb.New(deadline)}
	_, err := w.client.CreatePoll(c.as(c.chair), req)
	testenv.Code(t, err, codes.PermissionDenied) // administrators send written polls
	admin := testenv.As(c.admin)
	created, err := w.client.CreatePoll(admin, req)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := w.client.OpenPoll(admin, &votingv1.OpenPollRequest{PollId: created.GetPoll().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	p := opened.GetPoll()
	// Official members: chair, minute-taker, 3 members, the excused one;
	// not the probationary member.
	if p.GetEntitled() != 6 {
		t.Errorf("entitled %d, want 6", p.GetEntitled())
	}
	// Nobody checks in: the body's members answer from wherever they are.
	mine, err := w.client.ListMyPolls(c.as(c.members[0]), &votingv1.ListMyPollsRequest{})
	if err != nil || len(mine.GetPolls()) != 1 || mine.GetPolls()[0].GetDeadline().AsTime().Unix() != deadline.Unix() {
		t.Fatalf("inbox of a member: %v %v", mine.GetPolls(), err)
	}
	for _, person := range []string{c.chair, c.taker, c.members[0], c.members[1]} {
		c.vote(t, p.GetId(), person, "agree")
	}
	_, err = w.client.CastBallot(c.as(c.probationary), &votingv1.CastBallotRequest{PollId: p.GetId(), ChoiceIds: []string{"agree"}, IdempotencyKey: key()})
	testenv.Code(t, err, codes.NotFound)

	// The deadline passes: the poll closes by itself, as "system".
	w.clock.Advance(2 * time.Hour)
	testenv.Eventually(t, waitLimit, func() error {
		got, err := w.client.GetPoll(admin, &votingv1.GetPollRequest{PollId: p.GetId()})
		if err != nil {
			return err
		}
		if got.GetPoll().GetState() != votingv1.PollState_POLL_STATE_CLOSED {
			return errString("still " + got.GetPoll().GetState().String())
		}
		return nil
	})
	_, err = w.client.CastBallot(c.as(c.members[2]), &votingv1.CastBallotRequest{PollId: p.GetId(), ChoiceIds: []string{"agree"}, IdempotencyKey: key()})
	testenv.Code(t, err, codes.FailedPrecondition)
	res, err := w.client.GetResult(admin, &votingv1.GetResultRequest{PollId: p.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	// No quorum for a written poll; 4 of 6 members agree: more than half.
	r := res.GetResult()
	if r.GetOutcome() != votingv1.Outcome_OUTCOME_PASSED || r.GetBallotsCast() != 4 || r.GetMembers() != 6 || !r.GetQuorumReached() {
		t.Errorf("result %v", r)
	}
	// Its events go on subjects that carry its own id in place of a meeting's.
	if n := w.count(t, `SELECT count(*) FROM outbox WHERE subject = ANY($1)`, []string{
		"ecabinet.voting.v1." + p.GetId() + ".poll_created", "ecabinet.voting.v1." + p.GetId() + ".poll_opened",
		"ecabinet.voting.v1." + p.GetId() + ".poll_closed"}); n != 3 {
		t.Errorf("%d events on the poll's own subjects, want 3", n)
	}
	var actor string
	if err := w.pool.QueryRow(context.Background(), `SELECT actor_id FROM audit_log WHERE subject = $1 AND action = 'poll_closed_at_deadline'`,
		"poll/"+p.GetId()).Scan(&actor); err != nil || actor != "system" {
		t.Errorf("audit of the deadline close: %q %v", actor, err)
	}
	// A deadline that passed before the poll was opened.
	created, err = w.client.CreatePoll(admin, req)
	if err == nil {
		t.Fatal("created a poll whose deadline (by the service's clock) has passed")
	}
	testenv.Code(t, err, codes.InvalidArgument)
	req.Deadline = timestamppb.New(w.clock.Now().Add(time.Minute))
	if created, err = w.client.CreatePoll(admin, req); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(time.Hour)
	_, err = w.client.OpenPoll(admin, &votingv1.OpenPollRequest{PollId: created.GetPoll().GetId()})
	st := testenv.Code(t, err, codes.FailedPrecondition)
	if !strings.Contains(st.Message(), "deadline") {
		t.Errorf("message %q", st.Message())
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// Events: created, opened, progress (counts only), closed, published, each
// with the poll's organisation in the header; PollPublished carries what
// the minutes need.
func TestEvents(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 2)
	c.checkIn(t, c.everyone()...)
	p := c.open(t, c.motion(true))
	for _, person := range c.everyone() {
		c.vote(t, p.GetId(), person, "agree")
	}
	// Wait for the progress to reach the final count before closing.
	cons := testenv.Consumer(t, w.js, w.stream)
	seen := map[string]int{}
	var lastProgress *votingv1.VoteProgress
	var published *votingv1.PollPublished
	next := func() {
		t.Helper()
		m := testenv.Next(t, cons)
		typ := m.Headers().Get(outbox.HeaderType)
		if org := m.Headers().Get(outbox.HeaderOrg); org != c.org {
			t.Errorf("%s: org header %q", typ, org)
		}
		if !strings.HasPrefix(m.Subject(), w.prefix+"ecabinet.voting.v1."+c.meeting.GetId()+".") {
			t.Errorf("%s on %s", typ, m.Subject())
		}
		seen[typ]++
		switch typ {
		case "ecabinet.voting.v1.VoteProgress":
			lastProgress = &votingv1.VoteProgress{}
			if err := proto.Unmarshal(m.Data(), lastProgress); err != nil {
				t.Fatal(err)
			}
		case "ecabinet.voting.v1.PollOpened":
			ev := &votingv1.PollOpened{}
			if err := proto.Unmarshal(m.Data(), ev); err != nil {
				t.Fatal(err)
			}
			if ev.GetPoll().GetMyStatus() != nil || ev.GetPoll().GetEntitled() != 4 {
				t.Errorf("PollOpened shows my_status %v (the chair's), entitled %d", ev.GetPoll().GetMyStatus(), ev.GetPoll().GetEntitled())
			}
		case "ecabinet.voting.v1.PollPublished":
			published = &votingv1.PollPublished{}
			if err := proto.Unmarshal(m.Data(), published); err != nil {
				t.Fatal(err)
			}
		}
	}
	for lastProgress == nil || lastProgress.GetBallotsCast() != 4 {
		next()
	}
	if lastProgress.GetEntitled() != 4 || lastProgress.GetPollId() != p.GetId() || len(lastProgress.GetMeta().GetAudience()) != 7 {
		t.Errorf("progress %v", lastProgress)
	}
	c.closePoll(t, p.GetId())
	res := c.publish(t, p.GetId()).GetResult()
	for published == nil {
		next()
	}
	for _, typ := range []string{"PollCreated", "PollOpened", "PollClosed", "PollPublished"} {
		if seen["ecabinet.voting.v1."+typ] != 1 {
			t.Errorf("%s seen %d times", typ, seen["ecabinet.voting.v1."+typ])
		}
	}
	if seen["ecabinet.voting.v1.VoteProgress"] > 4 {
		t.Errorf("%d progress events for 4 ballots", seen["ecabinet.voting.v1.VoteProgress"])
	}
	if !published.GetPassed() || published.GetSummary() != res.GetSummary() || published.GetRule() != res.GetRule() ||
		published.GetBallotsCast() != 4 || published.GetEntitled() != 4 || len(published.GetCounts()) != 3 ||
		!proto.Equal(published.GetResult(), res) || published.GetPoll().GetAgendaItemId() != c.item {
		t.Errorf("PollPublished %v", published)
	}
	var meta *platformv1.EventMeta = published.GetMeta()
	if meta.GetActorId() != c.chair || meta.GetOrganizationId() != c.org || meta.GetAggregateId() != p.GetId() {
		t.Errorf("meta %v", meta)
	}
}

// Single and multiple choice are plurality unless a majority is asked for.
func TestMultipleChoicePlurality(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 2)
	c.checkIn(t, c.everyone()...)
	req := c.motion(true)
	req.Kind, req.Title, req.Choices, req.MinChoices, req.MaxChoices = votingv1.PollKind_POLL_KIND_MULTIPLE_CHOICE,
		"Chọn nội dung sinh hoạt chuyên đề", []string{"Học tập", "Thi đua", "Kiểm tra"}, 1, 2
	p := c.open(t, req)
	c.vote(t, p.GetId(), c.chair, "c1", "c2")
	c.vote(t, p.GetId(), c.taker, "c1")
	c.vote(t, p.GetId(), c.members[0], "c2", "c3")
	c.vote(t, p.GetId(), c.members[1], "c1", "c3")
	res := c.closePoll(t, p.GetId()).GetResult()
	if res.GetOutcome() != votingv1.Outcome_OUTCOME_PLURALITY || !cmp.Equal(res.GetTopChoiceIds(), []string{"c1"}) {
		t.Errorf("outcome %v top %v: %s", res.GetOutcome(), res.GetTopChoiceIds(), res.GetSummary())
	}
	if p.GetRules().GetMajority() != votingv1.Majority_MAJORITY_UNSPECIFIED || p.GetMinChoices() != 1 || p.GetMaxChoices() != 2 {
		t.Errorf("poll %v", p)
	}
}

// A meeting's poll without its own quorum takes the organisation's rule,
// as the meeting has it.
func TestQuorumDefaultsToTheOrganisationsRule(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 3) // 5 voting members
	w.exec(t, `UPDATE meetings SET quorum_numerator = 1, quorum_denominator = 2 WHERE id = $1`, c.meeting.GetId())
	c.checkIn(t, c.chair, c.taker, c.members[0]) // 3 of 5: enough for 1/2, not for 2/3
	p := c.open(t, c.motion(true))
	if q := p.GetRules(); q.GetQuorumNumerator() != 1 || q.GetQuorumDenominator() != 2 {
		t.Errorf("rules %v, want the organisation's 1/2", q)
	}
	for _, person := range []string{c.chair, c.taker, c.members[0]} {
		c.vote(t, p.GetId(), person, "agree")
	}
	if res := c.closePoll(t, p.GetId()).GetResult(); !res.GetQuorumReached() || res.GetOutcome() != votingv1.Outcome_OUTCOME_PASSED {
		t.Errorf("result %v", res)
	}
	// Asked for explicitly, 2/3 it is: 3 of 5 present is no quorum.
	req := c.motion(true)
	req.Rules = &votingv1.Rules{QuorumNumerator: 2, QuorumDenominator: 3}
	p = c.open(t, req)
	c.vote(t, p.GetId(), c.chair, "agree")
	if res := c.closePoll(t, p.GetId()).GetResult(); res.GetOutcome() != votingv1.Outcome_OUTCOME_NO_QUORUM {
		t.Errorf("2/3 with 3 of 5 present: %v", res.GetOutcome())
	}
}

// A meeting's poll with a deadline closes by itself too, decided on the
// roll as it stood (nobody's identity to ask the meetings service with).
func TestMeetingPollClosesAtItsDeadline(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 3)
	c.checkIn(t, c.everyone()...)
	req := c.motion(true)
	req.Deadline = timestamppb.New(time.Now().Add(10 * time.Minute))
	p := c.open(t, req)
	for _, person := range []string{c.chair, c.taker, c.members[0]} {
		c.vote(t, p.GetId(), person, "agree")
	}
	w.clock.Advance(time.Hour)
	var res *votingv1.Result
	testenv.Eventually(t, waitLimit, func() error {
		got, err := w.client.GetResult(c.as(c.chair), &votingv1.GetResultRequest{PollId: p.GetId()})
		if err != nil {
			return err
		}
		res = got.GetResult()
		return nil
	})
	if res.GetBallotsCast() != 3 || res.GetMembers() != 5 || res.GetOutcome() != votingv1.Outcome_OUTCOME_PASSED {
		t.Errorf("result %v", res)
	}
	_, err := w.client.CastBallot(c.as(c.members[1]), &votingv1.CastBallotRequest{PollId: p.GetId(), ChoiceIds: []string{"agree"}, IdempotencyKey: key()})
	testenv.Code(t, err, codes.FailedPrecondition)
}

// An election created through the API without saying whether it is secret
// is a secret ballot (issue 5: the default for elections); one that says
// open is open, and a motion that says nothing stays open.
func TestElectionIsSecretUnlessAskedOtherwise(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 2)
	election := func(secret *bool) *votingv1.CreatePollRequest {
		return &votingv1.CreatePollRequest{MeetingId: c.meeting.GetId(), Title: "Bầu Bí thư chi bộ",
			Kind: votingv1.PollKind_POLL_KIND_ELECTION, Choices: []string{"Nguyễn A", "Trần B"}, Seats: 1, Secret: secret}
	}
	p := c.create(t, election(nil))
	got, err := w.client.GetPoll(c.as(c.chair), &votingv1.GetPollRequest{PollId: p.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if !p.GetSecret() || !got.GetPoll().GetSecret() {
		t.Errorf("election without secret: secret = %v (stored %v), want true", p.GetSecret(), got.GetPoll().GetSecret())
	}
	if p := c.create(t, election(proto.Bool(false))); p.GetSecret() {
		t.Error("election with secret=false is secret")
	}
	motion := c.motion(false)
	motion.Secret = nil
	if p := c.create(t, motion); p.GetSecret() {
		t.Error("motion without secret is secret")
	}
}
