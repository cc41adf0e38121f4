package voting

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/voting/domain"
	"github.com/ecabinet/ecabinet/services/voting/secrecy"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// pollLock is the key of a poll's transaction-scoped advisory lock ($1:
// the poll id). Casting takes it shared (ballots go in side by side);
// open, close, hand count and publish take it exclusive, so a close waits
// for every ballot being committed and no ballot slips in after the count.
// Taking it must be a statement of its own: the next statement's snapshot
// then sees what the lock waited for.
const pollLock = `hashtextextended('ecabinet.voting.poll.' || $1, 0)`

// lockPoll takes the poll's lock exclusively for a lifecycle change.
func lockPoll(ctx context.Context, tx pgx.Tx, pollID string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+pollLock+`)`, pollID); err != nil {
		return fmt.Errorf("lock poll: %w", err)
	}
	return nil
}

// sealedBallot is what a seal holds: the receipt's hash and the choices,
// and for a named (open) poll who cast it.
type sealedBallot struct {
	ReceiptHash string   `json:"r"`
	Choices     []string `json:"c"`
	Person      string   `json:"p,omitempty"`
	// By: a named poll's delegate who cast Person's ballot. A secret poll's
	// seal never holds it (nor Person).
	By string `json:"b,omitempty"`
	// Owner: secrecy.Owner of the receipt and who cast it, so a retry is
	// told from another voter sending a key that is not theirs. Empty in a
	// seal written before it existed.
	Owner []byte `json:"o,omitempty"`
}

// sealSize is one size for every seal of a poll, large enough for a ballot
// holding every choice, so the length of a sealed ballot says nothing of
// what it holds. A named poll's seal also holds a person id; its length
// may vary (nothing about a named poll is secret).
func sealSize(r *pollRow, plain int) int {
	// 128 for the receipt's hash and the JSON, 64 for the owner (base64).
	n := 128 + 64
	for _, c := range r.choices {
		n += len(c.ID) + 3
	}
	if !r.p.GetSecret() {
		n = max(n, plain+4)
	}
	return (n + 255) / 256 * 256
}

var (
	errAlreadyVoted = status.Error(codes.AlreadyExists, Name+": you have already voted in this poll; a ballot cannot be changed")
	errKeyReused    = status.Error(codes.AlreadyExists, Name+": this idempotency_key was already used for another ballot; use a fresh random key per ballot")
)

// castResult is what became of a ballot.
type castResult int

const (
	castWritten castResult = iota // the voter is on the list, the ballot in the box
	castRetry                     // the same key's ballot is already in the box
	castNothing                   // nothing written: the slow path says why
)

// cast puts one ballot in the box for person in one implicit transaction:
// the poll's shared lock, then one statement that puts the voter on the
// list (who) and the sealed ballot in the box (what) together, or neither
// when the poll is not open, the person is not entitled on its roll, or
// they already voted. A member's own ballot shares that transaction with
// the own ballots of others arriving meanwhile (group commit, castGroups);
// it returns once its ballot is committed. With diagnose, a ballot not
// written is explained (not open, already voted, a retry of the same key);
// without, castNothing sends the caller down the slow path.
//
// by is empty for a member's own ballot. For a delegated one it is the
// delegate: the ballot is person's (their voters row, so they cannot vote
// too, and one person, one vote still holds), and the same statement
// checks that the poll allows delegation, that person is on the roll as a
// voting member not checked in whose recorded delegate is by, and that by
// is entitled. Nothing stored names by beside the ballot.
func (s *Service) cast(ctx context.Context, r *pollRow, person, by string, choices []string, key string, diagnose bool) (string, castResult, error) {
	id := r.p.GetId()
	receipt := secrecy.Receipt(key, id)
	tag := s.keys.Tag(id, receipt)
	sb := sealedBallot{ReceiptHash: secrecy.ReceiptHash(receipt), Choices: choices, Owner: s.keys.Owner(id, receipt, person, by)}
	if choices == nil {
		sb.Choices = []string{}
	}
	if !r.p.GetSecret() {
		sb.Person, sb.By = person, by
	}
	plain, err := json.Marshal(sb)
	if err != nil {
		return "", 0, err
	}
	seal, err := s.keys.Seal(id, plain, sealSize(r, len(plain)))
	if err != nil {
		return "", 0, err
	}
	var written bool
	if by == "" {
		// A member's own ballot goes with the others arriving meanwhile
		// (group commit); it answers once this ballot is committed.
		written, err = s.castGrouped(ctx, id, person, tag, seal)
	} else {
		written, err = s.insertBallot(ctx, id, person, by, tag, seal)
	}
	if err != nil {
		if errors.Is(err, errKeyReused) {
			return "", 0, err
		}
		return "", 0, fmt.Errorf("cast ballot: %w", err)
	}
	if written {
		s.noteProgress(r)
		return receipt, castWritten, nil
	}
	if !diagnose {
		return "", castNothing, nil
	}
	// Nothing written: the poll closed meanwhile, or the voter is already
	// on the list (a concurrent duplicate has waited for the first to
	// commit; the same key finds its ballot: a retry; anything else is a
	// second vote), or the roll no longer entitles them.
	var state string
	var voted bool
	var found []byte // the seal the key made, if any
	if err := s.d.Pool.QueryRow(ctx, `SELECT state,
			EXISTS (SELECT 1 FROM voters WHERE poll_id = $1 AND person_id = $2),
			(SELECT seal FROM ballot_box WHERE poll_id = $1 AND tag = $3)
		FROM polls WHERE id = $1`, id, person, tag).Scan(&state, &voted, &found); err != nil {
		return "", 0, err
	}
	mine := false
	if found != nil {
		// The key's ballot is in the box; it answers as a retry only if
		// it is this voter's (cast by this caller): a voter who already
		// voted and sends someone else's key is refused, not given that
		// ballot's receipt (ADR 0005).
		if mine, err = s.ownsSeal(id, found, receipt, person, by); err != nil {
			return "", 0, err
		}
	}
	switch {
	case voted && mine:
		return receipt, castRetry, nil
	case found != nil:
		return "", 0, errKeyReused
	case state != votingv1.PollState_POLL_STATE_OPEN.String():
		return "", 0, notOpen(id, state)
	case voted && by != "":
		return "", 0, status.Errorf(codes.AlreadyExists, "%s: %s has already voted in this poll; a ballot cannot be changed", Name, person)
	case voted:
		return "", 0, errAlreadyVoted
	case by != "":
		return "", 0, status.Errorf(codes.FailedPrecondition,
			"%s: the ballot of %s cannot be cast by delegation in poll %s any more: the roll changed (they checked in, or the delegation changed)", Name, person, id)
	}
	return "", 0, status.Errorf(codes.PermissionDenied, "%s: you are no longer entitled to vote in poll %s (the roll was taken again)", Name, id)
}

// insertBallot writes one ballot in one round trip, one implicit
// transaction: the poll's shared lock, then one statement that puts the
// voter on the list (who) and the sealed ballot in the box (what)
// together, or neither (see cast). It reports whether it wrote them;
// errKeyReused: the key (its tag) made another ballot of this poll.
func (s *Service) insertBallot(ctx context.Context, id, person, by string, tag, seal []byte) (bool, error) {
	// The statements of a batch sent outside a transaction run in one
	// implicit transaction (pgx, extended protocol with one Sync): the lock
	// is held until both are done. The lock is a statement of its own so
	// the insert's snapshot sees a close that committed while it waited.
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock_shared(`+pollLock+`)`, id)
	if by == "" {
		b.Queue(`
		WITH voter AS (
			INSERT INTO voters (poll_id, person_id)
			SELECT $1, $2
			WHERE EXISTS (SELECT 1 FROM polls WHERE id = $1 AND state = 'POLL_STATE_OPEN')
			  AND EXISTS (SELECT 1 FROM roll WHERE poll_id = $1 AND person_id = $2 AND reason = '')
			ON CONFLICT DO NOTHING
			RETURNING poll_id)
		INSERT INTO ballot_box (poll_id, tag, seal) SELECT poll_id, $3, $4 FROM voter`, id, person, tag, seal)
	} else {
		// NOT_CHECKED_IN is the reason of exactly the official members
		// with a voting right who are not present.
		b.Queue(`
		WITH voter AS (
			INSERT INTO voters (poll_id, person_id)
			SELECT $1, $2
			WHERE EXISTS (SELECT 1 FROM polls WHERE id = $1 AND state = 'POLL_STATE_OPEN' AND allow_delegation)
			  AND EXISTS (SELECT 1 FROM roll WHERE poll_id = $1 AND person_id = $2 AND reason = '`+reasonNotCheckedIn+`'
			                AND delegate_person_id = $5)
			  AND EXISTS (SELECT 1 FROM roll WHERE poll_id = $1 AND person_id = $5 AND reason = '')
			ON CONFLICT DO NOTHING
			RETURNING poll_id)
		INSERT INTO ballot_box (poll_id, tag, seal) SELECT poll_id, $3, $4 FROM voter`, id, person, tag, seal, by)
	}
	br := s.d.Pool.SendBatch(ctx, b)
	_, err := br.Exec()
	var put pgconn.CommandTag
	if err == nil {
		put, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return false, errKeyReused
	}
	return put.RowsAffected() == 1, err
}

// ownsSeal opens a sealed ballot and says whether it was cast by (person,
// by) with this receipt. A seal from before owners were sealed answers yes,
// as every seal did then.
func (s *Service) ownsSeal(pollID string, seal []byte, receipt, person, by string) (bool, error) {
	plain, err := s.keys.Open(pollID, seal)
	if err != nil {
		return false, fmt.Errorf("poll %s: %w", pollID, err)
	}
	var sb sealedBallot
	if err := json.Unmarshal(plain, &sb); err != nil {
		return false, fmt.Errorf("poll %s: sealed ballot: %w", pollID, err)
	}
	if sb.Owner == nil {
		return true, nil
	}
	return hmac.Equal(sb.Owner, s.keys.Owner(pollID, receipt, person, by)), nil
}

// findReceipt looks for the ballot a key made, sealed (by its tag) or, once
// counted, in the clear (by its receipt's hash).
func (s *Service) findReceipt(ctx context.Context, r *pollRow, key string) (string, bool, error) {
	receipt := secrecy.Receipt(key, r.p.GetId())
	var found bool
	err := s.d.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM ballot_box WHERE poll_id = $1 AND (tag = $2 OR receipt_hash = $3))`,
		r.p.GetId(), s.keys.Tag(r.p.GetId(), receipt), secrecy.ReceiptHash(receipt)).Scan(&found)
	return receipt, found, err
}

func notOpen(id, state string) error {
	why := map[string]string{
		votingv1.PollState_POLL_STATE_DRAFT.String():     "it has not been opened yet",
		votingv1.PollState_POLL_STATE_CLOSED.String():    "it is already closed",
		votingv1.PollState_POLL_STATE_PUBLISHED.String(): "it is closed and its result published",
	}[state]
	return status.Errorf(codes.FailedPrecondition, "%s: poll %s is not open for voting: %s", Name, id, why)
}

// illegal is a lifecycle change the poll's state does not allow.
func illegal(id, format string, args ...any) error {
	return status.Errorf(codes.FailedPrecondition, "%s: poll %s: %s", Name, id, fmt.Sprintf(format, args...))
}

func checkVersion(r *pollRow, expected int64) error {
	if expected != 0 && expected != r.p.GetVersion() {
		return status.Errorf(codes.Aborted, "%s: poll %s has changed (version %d, you saw %d); reload and retry",
			Name, r.p.GetId(), r.p.GetVersion(), expected)
	}
	return nil
}

// openPoll moves a draft to open with its roll.
func (s *Service) openPoll(ctx context.Context, actor, id string, expected int64, roll []rollEntry) (*pollRow, error) {
	var out *pollRow
	err := pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		if err := lockPoll(ctx, tx, id); err != nil {
			return err
		}
		r, err := s.loadPoll(ctx, tx, id, actor)
		if err != nil {
			return err
		}
		if r.p.GetState() != votingv1.PollState_POLL_STATE_DRAFT {
			return illegal(id, "cannot open a poll that is %s; only a draft opens", stateWord(r.p.GetState()))
		}
		if err := checkVersion(r, expected); err != nil {
			return err
		}
		if !r.deadline.IsZero() && !r.deadline.After(s.now()) {
			return illegal(id, "its deadline %s has passed", r.deadline.UTC().Format(time.RFC3339))
		}
		if err := writeRoll(ctx, tx, id, roll); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE polls SET state = $2, open_time = $3, version = version + 1 WHERE id = $1`,
			id, votingv1.PollState_POLL_STATE_OPEN.String(), s.now()); err != nil {
			return err
		}
		if out, err = s.loadPoll(ctx, tx, id, actor); err != nil {
			return err
		}
		aud, err := rollAudience(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := enqueue(ctx, tx, out.subject("poll_opened"), &votingv1.PollOpened{Meta: s.meta(actor, out, aud), Poll: eventPoll(out.p)}); err != nil {
			return err
		}
		return s.audit(ctx, tx, out, "poll_opened", actor, map[string]any{"entitled": out.p.GetEntitled(), "version": out.p.GetVersion()})
	})
	return out, err
}

// closeRequest is one way a poll closes: by hand (actor, with a refreshed
// roll), at the deadline (actor "system", the roll as it stands) or by a
// show of hands (hands: the counts entered).
type closeRequest struct {
	actor    string
	id       string
	expected int64
	roll     []rollEntry    // nil: keep the roll
	hands    map[string]int // nil: count the ballot box
	deadline bool           // closing because the deadline passed
}

// closePoll counts the poll in one transaction under its exclusive lock:
// every sealed ballot is opened and counted, the box is rewritten in the
// clear in a random order (so its rows share the closing transaction's
// xmin and their physical order is not the order of casting), and the
// poll stores its result.
func (s *Service) closePoll(ctx context.Context, cr closeRequest) (*pollRow, error) {
	defer s.defs.drop(cr.id)
	var out *pollRow
	err := pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		if err := lockPoll(ctx, tx, cr.id); err != nil {
			return err
		}
		r, err := s.loadPoll(ctx, tx, cr.id, cr.actor)
		if err != nil {
			return err
		}
		if r.p.GetState() != votingv1.PollState_POLL_STATE_OPEN {
			return illegal(cr.id, "cannot close a poll that is %s", stateWord(r.p.GetState()))
		}
		if err := checkVersion(r, cr.expected); err != nil {
			return err
		}
		if cr.deadline && (r.deadline.IsZero() || r.deadline.After(s.now())) {
			return illegal(cr.id, "its deadline has not passed")
		}
		if cr.roll != nil {
			if err := writeRoll(ctx, tx, cr.id, cr.roll); err != nil {
				return err
			}
		}
		result, err := s.count(ctx, tx, r, cr.hands)
		if err != nil {
			return err
		}
		now := s.now()
		result.PollId, result.CloseTime = cr.id, timestamppb.New(now)
		stored, err := protojson.Marshal(result)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE polls SET state = $2, close_time = $3, result = $4, version = version + 1 WHERE id = $1`,
			cr.id, votingv1.PollState_POLL_STATE_CLOSED.String(), now, stored); err != nil {
			return err
		}
		if out, err = s.loadPoll(ctx, tx, cr.id, cr.actor); err != nil {
			return err
		}
		aud, err := rollAudience(ctx, tx, cr.id)
		if err != nil {
			return err
		}
		if err := enqueue(ctx, tx, out.subject("poll_closed"), &votingv1.PollClosed{Meta: s.meta(cr.actor, out, aud), Poll: eventPoll(out.p)}); err != nil {
			return err
		}
		action := "poll_closed"
		switch {
		case cr.hands != nil:
			action = "hands_counted"
		case cr.deadline:
			action = "poll_closed_at_deadline"
		}
		return s.audit(ctx, tx, out, action, cr.actor, map[string]any{"ballots_cast": result.GetBallotsCast(),
			"entitled": result.GetEntitled(), "outcome": result.GetOutcome().String(), "version": out.p.GetVersion()})
	})
	return out, err
}

// count opens the poll's sealed ballots (or takes the hands), decides the
// result, and rewrites the box in the clear in a random order.
func (s *Service) count(ctx context.Context, tx pgx.Tx, r *pollRow, hands map[string]int) (*votingv1.Result, error) {
	id := r.p.GetId()
	spec := r.spec()
	if hands != nil {
		roll, err := rollCounts(ctx, tx, r, 0)
		if err != nil {
			return nil, err
		}
		return domain.CountHands(spec, roll, hands), nil
	}
	rows, err := tx.Query(ctx, `SELECT seal FROM ballot_box WHERE poll_id = $1 AND seal IS NOT NULL`, id)
	if err != nil {
		return nil, err
	}
	seals, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	var voters int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM voters WHERE poll_id = $1`, id).Scan(&voters); err != nil {
		return nil, err
	}
	if voters != len(seals) {
		// One voters row and one ballot are written by one transaction;
		// anything else means the box was tampered with.
		return nil, fmt.Errorf("poll %s: %d voters but %d ballots in the box", id, voters, len(seals))
	}
	opened := make([]sealedBallot, len(seals))
	ballots := make([]domain.Ballot, len(seals))
	for i, seal := range seals {
		plain, err := s.keys.Open(id, seal)
		if err != nil {
			return nil, fmt.Errorf("poll %s: %w", id, err)
		}
		if err := json.Unmarshal(plain, &opened[i]); err != nil {
			return nil, fmt.Errorf("poll %s: sealed ballot: %w", id, err)
		}
		ballots[i] = domain.Ballot{Choices: opened[i].Choices, Valid: spec.Valid(opened[i].Choices)}
	}
	roll, err := rollCounts(ctx, tx, r, len(seals))
	if err != nil {
		return nil, err
	}
	result := domain.Count(spec, roll, ballots)
	if !r.p.GetSecret() {
		names, err := rollNames(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		for i, b := range opened {
			result.NamedVotes = append(result.NamedVotes, &votingv1.NamedVote{PersonId: b.Person, FullName: names[b.Person],
				ChoiceIds: b.Choices, Valid: ballots[i].Valid, CastByPersonId: b.By, CastByFullName: names[b.By]})
		}
		sort.Slice(result.NamedVotes, func(i, j int) bool {
			a, b := result.NamedVotes[i], result.NamedVotes[j]
			return a.GetFullName() < b.GetFullName() || (a.GetFullName() == b.GetFullName() && a.GetPersonId() < b.GetPersonId())
		})
	}
	if err := secrecy.Shuffle(len(opened), func(i, j int) {
		opened[i], opened[j] = opened[j], opened[i]
		ballots[i], ballots[j] = ballots[j], ballots[i]
	}); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM ballot_box WHERE poll_id = $1`, id); err != nil {
		return nil, err
	}
	clear := make([][]any, len(opened))
	for i, b := range opened {
		var person *string
		if !r.p.GetSecret() {
			person = &opened[i].Person
		}
		clear[i] = []any{id, b.ReceiptHash, b.Choices, ballots[i].Valid, person}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"ballot_box"}, []string{"poll_id", "receipt_hash", "choice_ids", "valid", "person_id"},
		pgx.CopyFromRows(clear)); err != nil {
		return nil, fmt.Errorf("rewrite ballot box: %w", err)
	}
	return result, nil
}

func rollNames(ctx context.Context, tx pgx.Tx, pollID string) (map[string]string, error) {
	rows, err := tx.Query(ctx, `SELECT person_id, full_name FROM roll WHERE poll_id = $1`, pollID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		out[id] = name
	}
	return out, rows.Err()
}

// publishPoll makes a closed poll's result public and sends it to the
// minutes (PollPublished).
func (s *Service) publishPoll(ctx context.Context, actor, id string, expected int64) (*pollRow, error) {
	var out *pollRow
	err := pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		if err := lockPoll(ctx, tx, id); err != nil {
			return err
		}
		r, err := s.loadPoll(ctx, tx, id, actor)
		if err != nil {
			return err
		}
		switch r.p.GetState() {
		case votingv1.PollState_POLL_STATE_CLOSED:
		case votingv1.PollState_POLL_STATE_OPEN:
			return illegal(id, "cannot publish a poll that is still open; close it first")
		default:
			return illegal(id, "cannot publish a poll that is %s; only a closed poll is published", stateWord(r.p.GetState()))
		}
		if err := checkVersion(r, expected); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE polls SET state = $2, publish_time = $3, version = version + 1 WHERE id = $1`,
			id, votingv1.PollState_POLL_STATE_PUBLISHED.String(), s.now()); err != nil {
			return err
		}
		if out, err = s.loadPoll(ctx, tx, id, actor); err != nil {
			return err
		}
		aud, err := rollAudience(ctx, tx, id)
		if err != nil {
			return err
		}
		res := out.result
		ev := &votingv1.PollPublished{Meta: s.meta(actor, out, aud), Poll: eventPoll(out.p), Counts: res.GetCounts(),
			BallotsCast: res.GetBallotsCast(), Entitled: res.GetEntitled(),
			Passed: res.GetOutcome() == votingv1.Outcome_OUTCOME_PASSED || res.GetOutcome() == votingv1.Outcome_OUTCOME_ELECTED,
			Rule:   res.GetRule(), Summary: res.GetSummary(), Result: res}
		if err := enqueue(ctx, tx, out.subject("poll_published"), ev); err != nil {
			return err
		}
		return s.audit(ctx, tx, out, "poll_published", actor, map[string]any{"summary": res.GetSummary(), "version": out.p.GetVersion()})
	})
	return out, err
}

// closeAtDeadlines closes open polls whose deadline has passed, as
// "system", with the roll as it stands (nobody's identity to ask the
// meetings service with).
func (s *Service) closeAtDeadlines(ctx context.Context) {
	tick := time.NewTicker(s.d.DeadlineInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rows, err := s.d.Pool.Query(ctx, `SELECT id::text FROM polls WHERE state = 'POLL_STATE_OPEN' AND deadline <= $1`, s.now())
		if err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "deadline loop: list polls", "err", err)
			}
			continue
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			continue
		}
		for _, id := range ids {
			_, err := s.closePoll(ctx, closeRequest{actor: "system", id: id, deadline: true})
			switch {
			case err == nil:
				s.log.InfoContext(ctx, "poll closed at its deadline", "poll_id", id)
			case status.Code(err) == codes.FailedPrecondition: // closed meanwhile
			case ctx.Err() == nil:
				s.log.ErrorContext(ctx, "deadline loop: close poll", "poll_id", id, "err", err)
			}
		}
	}
}

// listCounted reads a closed poll's clear ballots ordered by receipt hash:
// a stable order that is as unrelated to the order of casting as the
// hashes are random.
func (s *Service) listCounted(ctx context.Context, id string) ([]*votingv1.CountedBallot, error) {
	rows, err := s.d.Pool.Query(ctx, `SELECT receipt_hash, choice_ids, valid FROM ballot_box
		WHERE poll_id = $1 AND seal IS NULL ORDER BY receipt_hash`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*votingv1.CountedBallot, error) {
		b := &votingv1.CountedBallot{}
		return b, row.Scan(&b.ReceiptHash, &b.ChoiceIds, &b.Valid)
	})
}

func stateWord(s votingv1.PollState) string {
	switch s {
	case votingv1.PollState_POLL_STATE_DRAFT:
		return "a draft"
	case votingv1.PollState_POLL_STATE_OPEN:
		return "open"
	case votingv1.PollState_POLL_STATE_CLOSED:
		return "already closed"
	case votingv1.PollState_POLL_STATE_PUBLISHED:
		return "already published"
	}
	return s.String()
}
