package voting

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// These tests make a group form for sure rather than hope a burst makes
// one: a transaction holding the poll's lock exclusively (as a close
// would) stops the first ballot's write, and every ballot sent meanwhile
// waits in the poll's queue; once they are all there, the lock is let go
// and they go in one statement.

// holdPollLock takes the poll's lock exclusively in a transaction of its
// own and returns it with its backend's pid.
func holdPollLock(t *testing.T, w *world, pollID string) (pgx.Tx, int32) {
	t.Helper()
	ctx := context.Background()
	tx, err := w.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	if err := lockPoll(ctx, tx, pollID); err != nil {
		t.Fatal(err)
	}
	return tx, backendPID(t, tx)
}

func backendPID(t *testing.T, tx pgx.Tx) int32 {
	t.Helper()
	var pid int32
	if err := tx.QueryRow(context.Background(), `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	return pid
}

// waitBlockedBy waits until a backend waits for a lock the backend pid
// holds, and returns the waiting one.
func waitBlockedBy(t *testing.T, w *world, pid int32) int32 {
	t.Helper()
	var blocked int32
	testenv.Eventually(t, waitLimit, func() error {
		err := w.pool.QueryRow(context.Background(),
			`SELECT pid FROM pg_stat_activity WHERE $1::int = ANY (pg_blocking_pids(pid)) LIMIT 1`, pid).Scan(&blocked)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("nobody waits for backend %d yet", pid)
		}
		return err
	})
	return blocked
}

// waitPending waits until n ballots of the poll wait in svc's queue.
func waitPending(t *testing.T, svc *Service, pollID string, n int) {
	t.Helper()
	testenv.Eventually(t, waitLimit, func() error {
		if svc.casts.Len(pollID) == n {
			return nil
		}
		return fmt.Errorf("want %d ballots waiting", n)
	})
}

type castAnswer struct {
	receipt string
	err     error
}

// castAll sends a ballot for each request at once and returns the
// answers in the same order, once all have answered.
func castAll(w *world, c *cell, people []string, reqs []*votingv1.CastBallotRequest) func() []castAnswer {
	out := make([]castAnswer, len(reqs))
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Go(func() {
			resp, err := w.client.CastBallot(c.as(people[i]), reqs[i])
			out[i] = castAnswer{resp.GetReceipt(), err}
		})
	}
	return func() []castAnswer {
		wg.Wait()
		return out
	}
}

func ballot(pollID, k string) *votingv1.CastBallotRequest {
	return &votingv1.CastBallotRequest{PollId: pollID, ChoiceIds: []string{"agree"}, IdempotencyKey: k}
}

// Many voters at once: all their ballots go in one statement, every one
// is committed, counted and has a receipt of its own.
func TestGroupCommitCountsEveryBallotOfAGroup(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 98)
	voters := c.everyone() // 100
	c.checkIn(t, voters...)
	p := c.open(t, c.motion(true))
	id := p.GetId()

	lock, pid := holdPollLock(t, w, id)
	first := castAll(w, c, voters[:1], []*votingv1.CastBallotRequest{ballot(id, key())})
	waitBlockedBy(t, w, pid)
	reqs := make([]*votingv1.CastBallotRequest, len(voters)-1)
	for i := range reqs {
		reqs[i] = ballot(id, key())
	}
	rest := castAll(w, c, voters[1:], reqs)
	waitPending(t, w.svc, id, len(reqs))
	if err := lock.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	answers := append(first(), rest()...)

	receipts := map[string]string{}
	distinct := map[string]bool{}
	for i, a := range answers {
		if a.err != nil {
			t.Fatalf("%s: %v", c.names[voters[i]], a.err)
		}
		receipts[voters[i]] = a.receipt
		distinct[a.receipt] = true
	}
	if len(distinct) != len(voters) {
		t.Errorf("%d distinct receipts for %d voters", len(distinct), len(voters))
	}
	// Two transactions wrote them all: the first ballot alone, then the
	// other 99 together (a ballot per transaction would make 100).
	for _, table := range []string{"voters", "ballot_box"} {
		if n := w.count(t, `SELECT count(DISTINCT xmin::text) FROM `+table+` WHERE poll_id = $1`, id); n != 2 {
			t.Errorf("%s written by %d transactions, want 2", table, n)
		}
		if n := w.count(t, `SELECT count(*) FROM `+table+` WHERE poll_id = $1`, id); n != len(voters) {
			t.Errorf("%d rows in %s, want %d", n, table, len(voters))
		}
	}
	res := c.closePoll(t, id).GetResult()
	if int(res.GetBallotsCast()) != len(voters) {
		t.Errorf("counted %d, want %d", res.GetBallotsCast(), len(voters))
	}
	c.publish(t, id)
	verifyReceipts(t, w, c.as(c.chair), p, receipts, res)
}

// A group holding a second ballot of someone who already voted, a retry of
// a ballot already in, the same voter's retry and second ballot side by
// side, and a key another voter already used: PostgreSQL refuses the
// group's statement (the reused key hits the tag's unique index), so the
// group is written again in halves; only the reused key and the second
// ballot are refused, the retry gets its receipt, everyone else is counted.
func TestGroupWithADoubleVoteAndAReusedKeyFailsOnlyThose(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 12)
	v := c.everyone() // 14
	c.checkIn(t, v...)
	p := c.open(t, c.motion(true))
	id := p.GetId()
	voted, reused, blocker, thief, others := v[0], v[1], v[2], v[3], v[4:]

	votedKey, reusedKey := key(), key()
	receipts := map[string]string{}
	for person, k := range map[string]string{voted: votedKey, reused: reusedKey} {
		resp, err := w.client.CastBallot(c.as(person), ballot(id, k))
		if err != nil {
			t.Fatal(err)
		}
		receipts[person] = resp.GetReceipt()
	}

	lock, pid := holdPollLock(t, w, id)
	first := castAll(w, c, []string{blocker}, []*votingv1.CastBallotRequest{ballot(id, key())})
	waitBlockedBy(t, w, pid)
	people := []string{voted, voted, thief}
	reqs := []*votingv1.CastBallotRequest{ballot(id, key()), ballot(id, votedKey), ballot(id, reusedKey)}
	for _, o := range others {
		people = append(people, o)
		reqs = append(reqs, ballot(id, key()))
	}
	group := castAll(w, c, people, reqs)
	waitPending(t, w.svc, id, len(reqs))
	if err := lock.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a := first()[0]; a.err != nil {
		t.Fatalf("blocker: %v", a.err)
	} else {
		receipts[blocker] = a.receipt
	}
	answers := group()

	if st := testenv.Code(t, answers[0].err, codes.AlreadyExists); !strings.Contains(st.Message(), "already voted") {
		t.Errorf("second ballot: %q", st.Message())
	}
	if answers[1].err != nil || answers[1].receipt != receipts[voted] {
		t.Errorf("retry: %q %v, want the first receipt %q", answers[1].receipt, answers[1].err, receipts[voted])
	}
	if st := testenv.Code(t, answers[2].err, codes.AlreadyExists); !strings.Contains(st.Message(), "idempotency_key") || answers[2].receipt != "" {
		t.Errorf("reused key: %q %q", answers[2].receipt, st.Message())
	}
	for i, a := range answers[3:] {
		if a.err != nil {
			t.Errorf("%s: %v", c.names[others[i]], a.err)
			continue
		}
		receipts[others[i]] = a.receipt
	}
	// Nothing of the refused ballot was left behind: its voter votes now.
	resp, err := w.client.CastBallot(c.as(thief), ballot(id, key()))
	if err != nil {
		t.Fatalf("the voter whose key was refused votes again: %v", err)
	}
	receipts[thief] = resp.GetReceipt()

	res := c.closePoll(t, id).GetResult()
	if int(res.GetBallotsCast()) != len(v) || len(receipts) != len(v) {
		t.Errorf("counted %d, %d receipts, want %d", res.GetBallotsCast(), len(receipts), len(v))
	}
	c.publish(t, id)
	verifyReceipts(t, w, c.as(c.chair), p, receipts, res)
}

// A close that arrives while a group is being written waits for it and
// counts all of it; the ballots queued behind the group meanwhile see the
// poll closed and are refused as such. Exactly the ballots with a receipt
// are counted.
//
// The group is held mid-statement by a transaction that has put one of its
// voters on the list without committing (the group's insert waits for it,
// holding the poll's lock shared); the close is sent then, and waits for
// the group; then more ballots; then that transaction rolls back.
func TestCloseRacingAGroupCountsExactlyTheReceipted(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 28)
	v := c.everyone() // 30
	c.checkIn(t, v...)
	p := c.open(t, c.motion(true))
	id := p.GetId()
	blocker, group, late := v[0], v[1:21], v[21:]
	ctx := context.Background()

	lock, pid := holdPollLock(t, w, id)
	first := castAll(w, c, []string{blocker}, []*votingv1.CastBallotRequest{ballot(id, key())})
	waitBlockedBy(t, w, pid)
	reqs := make([]*votingv1.CastBallotRequest, len(group))
	for i := range reqs {
		reqs[i] = ballot(id, key())
	}
	grouped := castAll(w, c, group, reqs)
	waitPending(t, w.svc, id, len(group))

	held, err := w.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = held.Rollback(context.Background()) })
	if _, err := held.Exec(ctx, `INSERT INTO voters (poll_id, person_id) VALUES ($1, $2)`, id, group[0]); err != nil {
		t.Fatal(err)
	}
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	writer := waitBlockedBy(t, w, backendPID(t, held)) // the group, mid-statement

	closed := make(chan *votingv1.Result, 1)
	go func() {
		resp, err := w.client.ClosePoll(c.as(c.chair), &votingv1.ClosePollRequest{PollId: id})
		if err != nil {
			t.Errorf("ClosePoll: %v", err)
		}
		closed <- resp.GetResult()
	}()
	waitBlockedBy(t, w, writer) // the close, waiting for the group
	lreqs := make([]*votingv1.CastBallotRequest, len(late))
	for i := range lreqs {
		lreqs[i] = ballot(id, key())
	}
	lateAnswers := castAll(w, c, late, lreqs)
	waitPending(t, w.svc, id, len(late))
	if err := held.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	receipts := map[string]string{}
	answers := append(first(), grouped()...)
	for i, a := range answers {
		person := v[i]
		if a.err != nil {
			t.Errorf("%s (before the close): %v", c.names[person], a.err)
			continue
		}
		receipts[person] = a.receipt
	}
	for i, a := range lateAnswers() {
		st, _ := status.FromError(a.err)
		if st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "closed") {
			t.Errorf("%s (after the close): %q %v, want refused as closed", c.names[late[i]], a.receipt, a.err)
		}
	}
	res := <-closed
	if int(res.GetBallotsCast()) != len(receipts) || len(receipts) != 1+len(group) {
		t.Errorf("counted %d, %d receipts, want %d", res.GetBallotsCast(), len(receipts), 1+len(group))
	}
	c.publish(t, id)
	verifyReceipts(t, w, c.as(c.chair), p, receipts, res)
}

// cutProxy forwards TCP to PostgreSQL until cut: then every connection
// through it breaks and no new one is accepted — the database is down as
// far as its clients can tell.
type cutProxy struct {
	lis   net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{lis: lis}
	t.Cleanup(p.cut)
	go func() {
		for {
			in, err := lis.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) cut() {
	p.lis.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// The database goes away while a group waits for the write in flight: the
// write in flight fails, and so does every ballot of the group, each with
// Unavailable or Internal (what CastBallot answers); nothing is written
// half — no voter on the list without their ballot, none of the group on
// it — and once the database is back every one of them votes, the one in
// flight with its own key (a retry if its ballot made it, a first write
// if not).
func TestDatabaseDownFailsTheGroupAndWritesNothingHalf(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 8)
	v := c.everyone() // 10
	c.checkIn(t, v...)
	p := c.open(t, c.motion(true))
	id := p.GetId()
	ctx := context.Background()

	cfg, err := pgxpool.ParseConfig(testenv.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, net.JoinHostPort(cfg.ConnConfig.Host, fmt.Sprint(cfg.ConnConfig.Port)))
	cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Fallbacks = "127.0.0.1", uint16(proxy.lis.Addr().(*net.TCPAddr).Port), nil
	cfg.ConnConfig.RuntimeParams["search_path"] = w.schema
	down, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(down.Close)
	// A second instance of the service on the same schema and key, whose
	// database connections go through the proxy.
	s2 := New(Deps{Pool: down, Schema: w.schema, BallotKey: w.svc.d.BallotKey})
	a2 := &api{s: s2}
	r, err := w.svc.loadPoll(ctx, w.pool, id, "")
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, len(v))
	errs := make([]error, len(v))
	var wg sync.WaitGroup
	castVia2 := func(i int) {
		wg.Go(func() {
			keys[i] = key()
			_, _, err := s2.cast(ctx, r, v[i], "", []string{"agree"}, keys[i], true)
			if err != nil {
				err = a2.storeErr(ctx, "CastBallot", err)
			}
			errs[i] = err
		})
	}

	lock, pid := holdPollLock(t, w, id)
	castVia2(0)
	waitBlockedBy(t, w, pid)
	for i := 1; i < len(v); i++ {
		castVia2(i)
	}
	waitPending(t, s2, id, len(v)-1)
	proxy.cut()
	wg.Wait()
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// The write in flight breaks (Internal: the connection was lost, the
	// outcome unknown); the group behind it cannot reach the database.
	if code := status.Code(errs[0]); code != codes.Unavailable && code != codes.Internal {
		t.Errorf("the ballot in flight: %v, want Unavailable or Internal", errs[0])
	}
	for _, err := range errs[1:] {
		testenv.Code(t, err, codes.Unavailable)
	}
	// The write in flight may still commit (its statements had reached
	// PostgreSQL, which sees the connection gone only when it answers):
	// whatever it did, it did whole.
	var nv, nb int // in one snapshot: the write in flight may be committing now
	if err := w.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM voters WHERE poll_id = $1),
		(SELECT count(*) FROM ballot_box WHERE poll_id = $1)`, id).Scan(&nv, &nb); err != nil {
		t.Fatal(err)
	}
	if nv != nb || nv > 1 {
		t.Errorf("%d voters, %d ballots; want as many of each, at most the one in flight", nv, nb)
	}
	if n := w.count(t, `SELECT count(*) FROM voters WHERE poll_id = $1 AND person_id <> $2`, id, v[0]); n != 0 {
		t.Errorf("%d of the failed group are on the list", n)
	}

	receipts := map[string]string{}
	for i, person := range v {
		resp, err := w.client.CastBallot(c.as(person), ballot(id, keys[i]))
		if err != nil {
			t.Fatalf("%s once the database is back: %v", c.names[person], err)
		}
		receipts[person] = resp.GetReceipt()
	}
	res := c.closePoll(t, id).GetResult()
	if int(res.GetBallotsCast()) != len(v) {
		t.Errorf("counted %d, want %d", res.GetBallotsCast(), len(v))
	}
	c.publish(t, id)
	verifyReceipts(t, w, c.as(c.chair), p, receipts, res)
}

// Groups are per poll: a poll whose write waits (here for its lock) holds
// up none of another poll's ballots, the same voter's included, and each
// poll gets its own ballot.
func TestAPollsGroupHoldsUpNoOtherPoll(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 2)
	c.checkIn(t, c.everyone()...)
	held, free := c.open(t, c.motion(true)), c.open(t, c.motion(true))
	voter := c.members[0]

	lock, pid := holdPollLock(t, w, held.GetId())
	waiting := castAll(w, c, []string{voter}, []*votingv1.CastBallotRequest{ballot(held.GetId(), key())})
	waitBlockedBy(t, w, pid)
	if _, err := w.client.CastBallot(c.as(voter), ballot(free.GetId(), key())); err != nil {
		t.Fatalf("a ballot in another poll while the first one's write waits: %v", err)
	}
	if n := w.count(t, `SELECT count(*) FROM voters WHERE poll_id = $1`, held.GetId()); n != 0 {
		t.Fatalf("%d voters in the held poll before its lock is let go", n)
	}
	if err := lock.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a := waiting()[0]; a.err != nil {
		t.Fatalf("the held poll's ballot: %v", a.err)
	}
	for _, p := range []*votingv1.Poll{held, free} {
		if n := w.count(t, `SELECT count(*) FROM ballot_box WHERE poll_id = $1`, p.GetId()); n != 1 {
			t.Errorf("poll %s holds %d ballots, want 1", p.GetId(), n)
		}
	}
}
