package voting

import (
	"context"
	"fmt"
	"strings"
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/platform/audit"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/pg"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/ecabinet/ecabinet/services/voting/secrecy"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

// The whole life of a secret motion: the chair opens it, members vote,
// progress shows counts only, the chair closes and publishes, every voter
// finds their receipt among the counted ballots, the result can be
// recomputed from them, and the minutes of the agenda item show it.
func TestSecretMotionFromOpenToMinutes(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 3) // 5 voting members
	c.checkIn(t, c.everyone()...)
	c.checkIn(t, c.probationary, c.guest)

	p := c.open(t, c.motion(true))
	if p.GetState() != votingv1.PollState_POLL_STATE_OPEN || p.GetEntitled() != 5 || p.GetBallotsCast() != 0 {
		t.Fatalf("opened poll: state %v entitled %d cast %d", p.GetState(), p.GetEntitled(), p.GetBallotsCast())
	}
	want := &votingv1.Rules{QuorumNumerator: 2, QuorumDenominator: 3, Majority: votingv1.Majority_MAJORITY_MORE_THAN_HALF,
		MajorityBase: votingv1.MajorityBase_MAJORITY_BASE_ALL_MEMBERS}
	if !proto.Equal(p.GetRules(), want) {
		t.Errorf("rules %v, want the defaults %v", p.GetRules(), want)
	}
	choices := map[string]string{c.chair: "agree", c.taker: "agree", c.members[0]: "agree", c.members[1]: "disagree", c.members[2]: "abstain"}
	receipts := map[string]string{}
	for _, person := range c.everyone() {
		receipts[person] = c.vote(t, p.GetId(), person, choices[person])
	}

	// While open: counts only, for everyone; no result, not even for the chair.
	got, err := w.client.GetPoll(c.as(c.members[0]), &votingv1.GetPollRequest{PollId: p.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetPoll().GetBallotsCast() != 5 || got.GetPoll().GetEntitled() != 5 || !got.GetPoll().GetMyStatus().GetVoted() {
		t.Errorf("progress: %v", got.GetPoll())
	}
	_, err = w.client.GetResult(c.as(c.chair), &votingv1.GetResultRequest{PollId: p.GetId()})
	testenv.Code(t, err, codes.FailedPrecondition)
	_, err = w.client.ListCountedBallots(c.as(c.chair), &votingv1.ListCountedBallotsRequest{PollId: p.GetId()})
	testenv.Code(t, err, codes.FailedPrecondition)

	closed := c.closePoll(t, p.GetId())
	res := closed.GetResult()
	// The member excused from party activities is absent, so left out of
	// the members; the probationary member and the guest do not count.
	if res.GetOutcome() != votingv1.Outcome_OUTCOME_PASSED || res.GetBallotsCast() != 5 || res.GetMembers() != 5 || res.GetPresent() != 5 {
		t.Errorf("result %v", res)
	}
	if want := "Thông qua: 3 tán thành, 1 không tán thành, 1 không biểu quyết; cần quá nửa tổng số đảng viên (3/5)"; res.GetSummary() != want {
		t.Errorf("summary %q", res.GetSummary())
	}
	if len(res.GetNamedVotes()) != 0 {
		t.Errorf("a secret poll's result names voters: %v", res.GetNamedVotes())
	}
	// Closed but not published: the chair sees the result, a member does not.
	_, err = w.client.GetResult(c.as(c.members[0]), &votingv1.GetResultRequest{PollId: p.GetId()})
	testenv.Code(t, err, codes.PermissionDenied)
	if _, err := w.client.GetResult(c.as(c.taker), &votingv1.GetResultRequest{PollId: p.GetId()}); err != nil {
		t.Errorf("GetResult as minute-taker before publishing: %v", err)
	}

	pub := c.publish(t, p.GetId())
	if pub.GetPoll().GetState() != votingv1.PollState_POLL_STATE_PUBLISHED {
		t.Errorf("state %v", pub.GetPoll().GetState())
	}
	for _, person := range c.everyone() {
		r, err := w.client.GetResult(c.as(person), &votingv1.GetResultRequest{PollId: p.GetId()})
		if err != nil {
			t.Fatalf("GetResult after publishing: %v", err)
		}
		if !proto.Equal(r.GetResult(), res) {
			t.Errorf("published result differs from the closing one")
		}
	}
	verifyReceipts(t, w, c.as(c.members[1]), p, receipts, res)

	// The meetings service puts the published summary into the minutes.
	testenv.Eventually(t, waitLimit, func() error {
		m, err := w.minutes.GetMinutes(c.as(c.taker), &meetingsv1.GetMinutesRequest{MeetingId: c.meeting.GetId()})
		if err != nil {
			return err
		}
		for _, it := range m.GetMinutes().GetItems() {
			for _, v := range it.GetVotes() {
				if it.GetAgendaItemId() == c.item && v.GetPollId() == p.GetId() && v.GetSummary() == res.GetSummary() {
					return nil
				}
			}
		}
		return fmt.Errorf("minutes do not show the result yet: %v", m.GetMinutes().GetItems())
	})
}

// verifyReceipts checks, as a tablet would, that each receipt's hash is in
// the list of counted ballots, and recomputes the counts from the list.
func verifyReceipts(t *testing.T, w *world, ctx context.Context, p *votingv1.Poll, receipts map[string]string, res *votingv1.Result) {
	t.Helper()
	list, err := w.client.ListCountedBallots(ctx, &votingv1.ListCountedBallotsRequest{PollId: p.GetId()})
	if err != nil {
		t.Fatalf("ListCountedBallots: %v", err)
	}
	byHash := map[string]*votingv1.CountedBallot{}
	for _, b := range list.GetBallots() {
		byHash[b.GetReceiptHash()] = b
	}
	if len(byHash) != len(receipts) || len(list.GetBallots()) != int(res.GetBallotsCast()) {
		t.Errorf("%d counted ballots (%d distinct), %d receipts, %d cast", len(list.GetBallots()), len(byHash), len(receipts), res.GetBallotsCast())
	}
	for person, r := range receipts {
		if _, ok := byHash[secrecy.ReceiptHash(r)]; !ok {
			t.Errorf("receipt %s of %s is not among the counted ballots", r, person)
		}
	}
	counts := map[string]int32{}
	valid := int32(0)
	for _, b := range list.GetBallots() {
		if !b.GetValid() {
			continue
		}
		valid++
		for _, id := range b.GetChoiceIds() {
			counts[id]++
		}
	}
	want := map[string]int32{}
	for _, cc := range res.GetCounts() {
		if cc.GetCount() > 0 {
			want[cc.GetChoiceId()] = cc.GetCount()
		}
	}
	if diff := cmp.Diff(want, counts); diff != "" || valid != res.GetValidBallots() {
		t.Errorf("counts recomputed from the list (-result +list):\n%s valid %d vs %d", diff, res.GetValidBallots(), valid)
	}
}

func TestLifecycleRefusals(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 2)
	c.checkIn(t, c.everyone()...)
	p := c.create(t, c.motion(true))
	id := p.GetId()
	chair := c.as(c.chair)
	refused := func(what string, err error, words string) {
		t.Helper()
		st := testenv.Code(t, err, codes.FailedPrecondition)
		if !strings.Contains(st.Message(), words) {
			t.Errorf("%s: message %q does not say %q", what, st.Message(), words)
		}
	}
	_, err := w.client.CastBallot(c.as(c.members[0]), &votingv1.CastBallotRequest{PollId: id, ChoiceIds: []string{"agree"}, IdempotencyKey: key()})
	refused("voting on a draft", err, "not open")
	_, err = w.client.ClosePoll(chair, &votingv1.ClosePollRequest{PollId: id})
	refused("closing a draft", err, "a draft")
	_, err = w.client.PublishPoll(chair, &votingv1.PublishPollRequest{PollId: id})
	refused("publishing a draft", err, "a draft")

	_, err = w.client.OpenPoll(chair, &votingv1.OpenPollRequest{PollId: id, ExpectedVersion: 7})
	testenv.Code(t, err, codes.Aborted)
	if _, err := w.client.OpenPoll(chair, &votingv1.OpenPollRequest{PollId: id, ExpectedVersion: p.GetVersion()}); err != nil {
		t.Fatal(err)
	}
	_, err = w.client.OpenPoll(chair, &votingv1.OpenPollRequest{PollId: id})
	refused("opening twice", err, "open")
	_, err = w.client.PublishPoll(chair, &votingv1.PublishPollRequest{PollId: id})
	refused("publishing an open poll", err, "still open")

	c.vote(t, id, c.members[0], "agree")
	c.closePoll(t, id)
	_, err = w.client.ClosePoll(chair, &votingv1.ClosePollRequest{PollId: id})
	refused("closing twice", err, "already closed")
	_, err = w.client.CastBallot(c.as(c.members[1]), &votingv1.CastBallotRequest{PollId: id, ChoiceIds: []string{"agree"}, IdempotencyKey: key()})
	refused("voting on a closed poll", err, "already closed")
	c.publish(t, id)
	_, err = w.client.PublishPoll(chair, &votingv1.PublishPollRequest{PollId: id})
	refused("publishing twice", err, "already published")
	_, err = w.client.ClosePoll(chair, &votingv1.ClosePollRequest{PollId: id})
	refused("closing a published poll", err, "already published")

	// Every lifecycle change is in the hash-chained audit log, no ballot.
	rows, err := w.pool.Query(context.Background(), `SELECT action, actor_id, payload::text FROM audit_log WHERE subject = $1 ORDER BY seq`, "poll/"+id)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for rows.Next() {
		var action, actor, payload string
		if err := rows.Scan(&action, &actor, &payload); err != nil {
			t.Fatal(err)
		}
		actions = append(actions, action)
		if actor != c.chair {
			t.Errorf("%s by %s, want the chair", action, actor)
		}
		if strings.Contains(payload, c.members[0]) || strings.Contains(payload, "agree\"") {
			t.Errorf("audit payload %s mentions a voter or a choice", payload)
		}
	}
	if diff := cmp.Diff([]string{"poll_created", "poll_opened", "poll_closed", "poll_published"}, actions); diff != "" {
		t.Errorf("audit actions (-want +got):\n%s", diff)
	}
	if n, err := audit.Verify(context.Background(), w.pool, "poll/"); err != nil || n != 4 {
		t.Errorf("audit chain: %d records, %v", n, err)
	}
}

func TestManagePermissions(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 2)
	c.checkIn(t, c.everyone()...)
	// A plain member, a member of another organisation and an admin of
	// another organisation may not create, open, close or publish.
	_, err := w.client.CreatePoll(c.as(c.members[0]), c.motion(true))
	testenv.Code(t, err, codes.PermissionDenied)
	_, err = w.client.CreatePoll(c.as(c.outsider), c.motion(true))
	testenv.Code(t, err, codes.NotFound) // the meeting is not theirs to see
	_, err = w.client.CreatePoll(testenv.As(orgAdmin(c.other)), c.motion(true))
	testenv.Code(t, err, codes.NotFound)

	p := c.create(t, c.motion(true))
	_, err = w.client.OpenPoll(c.as(c.members[0]), &votingv1.OpenPollRequest{PollId: p.GetId()})
	testenv.Code(t, err, codes.PermissionDenied)
	// A guest from outside the organisation does not see a draft (the roll
	// is taken when it opens).
	_, err = w.client.OpenPoll(c.as(c.guest), &votingv1.OpenPollRequest{PollId: p.GetId()})
	testenv.Code(t, err, codes.NotFound)
	_, err = w.client.OpenPoll(c.as(c.outsider), &votingv1.OpenPollRequest{PollId: p.GetId()})
	testenv.Code(t, err, codes.NotFound)
	// The minute-taker and the organisation's administrator may.
	if _, err := w.client.OpenPoll(c.as(c.taker), &votingv1.OpenPollRequest{PollId: p.GetId()}); err != nil {
		t.Fatalf("OpenPoll as minute-taker: %v", err)
	}
	_, err = w.client.ClosePoll(c.as(c.members[0]), &votingv1.ClosePollRequest{PollId: p.GetId()})
	testenv.Code(t, err, codes.PermissionDenied)
	if _, err := w.client.ClosePoll(testenv.As(c.admin), &votingv1.ClosePollRequest{PollId: p.GetId()}); err != nil {
		t.Fatalf("ClosePoll as administrator: %v", err)
	}
	_, err = w.client.PublishPoll(c.as(c.members[1]), &votingv1.PublishPollRequest{PollId: p.GetId()})
	testenv.Code(t, err, codes.PermissionDenied)

	// Other organisations do not see the poll at all.
	for _, cl := range []identity.Claims{member(c.other), orgAdmin(c.other), {Subject: "nobody"}} {
		_, err := w.client.GetPoll(testenv.As(cl), &votingv1.GetPollRequest{PollId: p.GetId()})
		st := testenv.Code(t, err, codes.NotFound)
		if strings.Contains(st.Message(), c.org) {
			t.Errorf("NotFound message %q names the owning organisation", st.Message())
		}
		list, err := w.client.ListPolls(testenv.As(cl), &votingv1.ListPollsRequest{MeetingId: c.meeting.GetId()})
		if err != nil || len(list.GetPolls()) != 0 {
			t.Errorf("ListPolls as %s = %v, %v; want nothing", cl.Subject, list.GetPolls(), err)
		}
	}
	// The guest, on the roll, sees it.
	list, err := w.client.ListPolls(c.as(c.guest), &votingv1.ListPollsRequest{MeetingId: c.meeting.GetId()})
	if err != nil || len(list.GetPolls()) != 1 {
		t.Errorf("ListPolls as guest = %v, %v", list.GetPolls(), err)
	}
}

func TestUnauthenticated(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background() // no claims: the client sends no token
	id := uuid.NewString()
	calls := map[string]func(votingv1.VotingServiceServer) error{
		"CreatePoll": func(s votingv1.VotingServiceServer) error {
			_, err := s.CreatePoll(ctx, &votingv1.CreatePollRequest{MeetingId: id})
			return err
		},
		"GetPoll": func(s votingv1.VotingServiceServer) error {
			_, err := s.GetPoll(ctx, &votingv1.GetPollRequest{PollId: id})
			return err
		},
		"CastBallot": func(s votingv1.VotingServiceServer) error {
			_, err := s.CastBallot(ctx, &votingv1.CastBallotRequest{PollId: id})
			return err
		},
		"ClosePoll": func(s votingv1.VotingServiceServer) error {
			_, err := s.ClosePoll(ctx, &votingv1.ClosePollRequest{PollId: id})
			return err
		},
		"ListMyPolls": func(s votingv1.VotingServiceServer) error {
			_, err := s.ListMyPolls(ctx, &votingv1.ListMyPollsRequest{})
			return err
		},
	}
	for name, call := range calls {
		// The handlers refuse on their own too, should the interceptor be missing.
		if err := call(&api{s: w.svc}); err == nil {
			t.Errorf("%s without identity succeeded", name)
		} else {
			testenv.Code(t, err, codes.Unauthenticated)
		}
	}
	_, err := w.client.GetPoll(ctx, &votingv1.GetPollRequest{PollId: id})
	testenv.Code(t, err, codes.Unauthenticated)
}

// Until Run has migrated the schema, RPCs answer Unavailable rather than
// failing on missing tables.
func TestUnavailableBeforeMigrations(t *testing.T) {
	schema := testenv.Schema(t, Name) // nobody migrates it: Run is not called
	pool, err := pg.Connect(testenv.DatabaseURL(t), schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	nc, js := testenv.JetStream(t)
	a := &api{s: New(Deps{Pool: pool, Schema: schema, JS: js, NC: nc, BallotKey: make([]byte, 32)})}
	ctx := testenv.As(orgAdmin("org-a"))
	_, err = a.CreatePoll(ctx, &votingv1.CreatePollRequest{MeetingId: uuid.NewString()})
	st := testenv.Code(t, err, codes.Unavailable)
	if !strings.Contains(st.Message(), "migrations") {
		t.Errorf("message %q does not say why", st.Message())
	}
	_, err = a.CastBallot(ctx, &votingv1.CastBallotRequest{PollId: uuid.NewString()})
	testenv.Code(t, err, codes.Unavailable)
	if err := a.s.Probes()[0].Check(context.Background()); err == nil {
		t.Error("schema probe passes before migrations")
	}
}

// Without a usable BALLOT_KEY the service does not start.
func TestRunNeedsABallotKey(t *testing.T) {
	for _, k := range [][]byte{nil, make([]byte, 16)} {
		err := New(Deps{BallotKey: k}).Run(context.Background())
		if err == nil || !strings.Contains(err.Error(), "BALLOT_KEY") {
			t.Errorf("Run with a %d-byte key: %v", len(k), err)
		}
	}
}

func TestProbes(t *testing.T) {
	w := newWorld(t)
	var names []string
	for _, p := range w.svc.Probes() {
		names = append(names, p.Name)
		if err := p.Check(context.Background()); err != nil {
			t.Errorf("probe %s: %v", p.Name, err)
		}
	}
	if diff := cmp.Diff([]string{Name + ".schema", "postgres", "nats"}, names); diff != "" {
		t.Errorf("probes (-want +got):\n%s", diff)
	}
}
