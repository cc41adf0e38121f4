package voting

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ecabinet/ecabinet/services/platform/groupcommit"
	"github.com/ecabinet/ecabinet/services/platform/pg"
)

// castGroups writes members' own ballots by group commit (ADR 0005,
// "Performance: the vote storm"; platform/groupcommit): per poll, one
// write is in flight at a time, and the ballots that arrive while it is in
// flight go together in the next one — one implicit transaction (the
// poll's shared lock, then one statement over arrays) and one wait for the
// write-ahead log. A lone ballot is written at once; nothing waits for a
// timer. Every caller still waits until its own ballot is committed before
// it hears its receipt.
//
// What stays as it was: one person, one vote is the voters primary key;
// the statement checks, per ballot, that the poll is open and the voter
// entitled on its roll; the shared advisory lock makes a close wait for
// the group and count all of it, or makes the group see the poll closed
// and write none of it. A ballot the group does not write goes back to
// its caller, whose slow path says why (already voted, a retry, closed).
//
// The writer runs detached from the requests (a tablet that leaves does
// not fail the others' ballots), bounded by castWriteTimeout. The queue's
// key is the poll's id.
type castGroups = groupcommit.Queue[string, *castBallot]

// castBallot is one member's own ballot, sealed.
type castBallot struct {
	person string
	tag    []byte
	seal   []byte
	// written: the ballot went in; set by the writer before it tells the
	// caller nil.
	written bool
}

// castEntry is a ballot waiting in its poll's queue.
type castEntry = groupcommit.Entry[*castBallot]

const (
	// castGroupMax bounds the ballots of one statement (about 0.5 MB of
	// seals at most).
	castGroupMax = 1000
	// castWriteTimeout bounds one group's write, detached from the
	// requests; it includes waiting for a close that holds the poll's lock.
	castWriteTimeout = 30 * time.Second
)

// castGroupInsert writes a group of ballots of one poll ($1): parallel
// arrays, one element per ballot, so the statement is the same whatever
// the group's size. It is the one-ballot statement of cast over a set: a
// voter is put on the list only while the poll is open and they are
// entitled on its roll, and not twice (the primary key; a voter written
// by a transaction in flight is waited for); the sealed ballot goes in
// with its voter or not at all. It answers who was put on the list. A
// voter appears at most once in a group (takeCasts), so the join
// puts exactly one ballot in the box per voter written.
const castGroupInsert = `
	WITH cast_in AS (
		SELECT * FROM unnest($2::text[], $3::bytea[], $4::bytea[]) AS c (person_id, tag, seal)),
	voter AS (
		INSERT INTO voters (poll_id, person_id)
		SELECT $1, c.person_id FROM cast_in c
		WHERE EXISTS (SELECT 1 FROM polls WHERE id = $1 AND state = 'POLL_STATE_OPEN')
		  AND EXISTS (SELECT 1 FROM roll WHERE poll_id = $1 AND person_id = c.person_id AND reason = '')
		ON CONFLICT DO NOTHING
		RETURNING person_id),
	box AS (
		INSERT INTO ballot_box (poll_id, tag, seal)
		SELECT $1, c.tag, c.seal FROM cast_in c JOIN voter USING (person_id))
	SELECT person_id FROM voter`

// castGrouped writes person's own sealed ballot in poll pollID with the
// ballots of others arriving meanwhile, and reports whether it was
// written, once it is committed. errKeyReused: the key made another
// ballot of this poll.
func (s *Service) castGrouped(ctx context.Context, pollID, person string, tag, seal []byte) (bool, error) {
	b := &castBallot{person: person, tag: tag, seal: seal}
	w := groupcommit.Writer[string, *castBallot]{Max: castGroupMax, Take: takeCasts, Write: s.writeGroup, Timeout: castWriteTimeout}
	if err := s.casts.Add(ctx, pollID, w, b); err != nil {
		// If ctx ended, the ballot may still be committed if its group
		// was sent: a retry with the same key then gets its receipt.
		return false, err
	}
	return b.written, nil
}

// takeCasts takes the next group from a poll's queue: up to max ballots
// in order of arrival, at most one per voter and one per tag. A second
// ballot of a voter (a double vote, or a retry racing its first send) or
// a second use of a key waits for the next group, where the first is
// committed: it is then told apart as today (a retry, already voted, key
// reused) instead of putting two ballots beside one voters row, or
// failing the group on the tag's unique index. Ballots whose callers have
// left are dropped.
func takeCasts(pending []*castEntry, max int) (group, rest []*castEntry) {
	people := make(map[string]struct{}, min(len(pending), max))
	tags := make(map[string]struct{}, min(len(pending), max))
	for _, e := range pending {
		b := e.Value
		_, dupPerson := people[b.person]
		_, dupTag := tags[string(b.tag)]
		switch {
		case e.Context().Err() != nil:
			e.Done(e.Context().Err())
		case len(group) < max && !dupPerson && !dupTag:
			people[b.person], tags[string(b.tag)] = struct{}{}, struct{}{}
			group = append(group, e)
		default:
			rest = append(rest, e)
		}
	}
	return group, rest
}

// writeGroup writes a group and tells each caller the outcome. A group
// PostgreSQL refuses (a key reused by another voter on the tag's unique
// index, a deadlock, anything it answers with an error rather than a
// lost connection) writes nothing — one transaction — and is written
// again in halves, down to single ballots with the one-ballot statement,
// so a refused ballot fails only its own caller and a group of n with one
// bad ballot costs about 2·log2(n) statements rather than n. A lost or
// unreachable database fails the whole group: nothing of it is committed
// (or, if the connection broke during the commit, the outcome is unknown
// for all of it, as for a single ballot; a retry with the same key says).
func (s *Service) writeGroup(ctx context.Context, pollID string, group []*castEntry) {
	if len(group) == 1 {
		b := group[0].Value
		var err error
		b.written, err = s.insertBallot(ctx, pollID, b.person, "", b.tag, b.seal)
		group[0].Done(err)
		return
	}
	written, err := s.insertGroup(ctx, pollID, group)
	// Split only when a ballot's row may be why (a reused key's unique
	// violation, say): a refusal of the connection or of the statement as
	// a whole would only fail every half again.
	var pgErr *pgconn.PgError
	if pg.RowRefusal(err) && errors.As(err, &pgErr) {
		// Neither names nor values: the constraint's key detail would hold
		// a ballot's tag.
		s.log.Warn("a group of ballots was refused; writing it again in halves",
			"poll_id", pollID, "ballots", len(group), "code", pgErr.Code, "constraint", pgErr.ConstraintName)
		half := len(group) / 2
		s.writeGroup(ctx, pollID, group[:half])
		s.writeGroup(ctx, pollID, group[half:])
		return
	}
	for _, e := range group {
		_, ok := written[e.Value.person]
		e.Value.written = ok && err == nil
		e.Done(err)
	}
}

// insertGroup sends a group in one round trip as one implicit
// transaction (a pgx batch outside a transaction: one Sync), the poll's
// shared lock first as a statement of its own, so the insert's snapshot
// sees a close that committed while it waited. It answers the voters put
// on the list.
func (s *Service) insertGroup(ctx context.Context, pollID string, group []*castEntry) (map[string]struct{}, error) {
	// In order of person id: two groups of one poll in flight at once
	// (replicas of the service each have a writer) then take the voters'
	// keys in the same order and do not deadlock on them.
	slices.SortFunc(group, func(a, b *castEntry) int { return strings.Compare(a.Value.person, b.Value.person) })
	people := make([]string, len(group))
	tags := make([][]byte, len(group))
	seals := make([][]byte, len(group))
	for i, e := range group {
		people[i], tags[i], seals[i] = e.Value.person, e.Value.tag, e.Value.seal
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock_shared(`+pollLock+`)`, pollID)
	b.Queue(castGroupInsert, pollID, people, tags, seals)
	br := s.d.Pool.SendBatch(ctx, b)
	written := make(map[string]struct{}, len(group))
	_, err := br.Exec()
	if err == nil {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			var person string
			_, err = pgx.ForEachRow(rows, []any{&person}, func() error {
				written[person] = struct{}{}
				return nil
			})
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return written, nil
}
