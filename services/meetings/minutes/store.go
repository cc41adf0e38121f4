package minutes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// querier is a pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// revision is a row of the minutes table.
type revision struct {
	Revision        int32
	OrganizationID  string
	State           meetingsv1.MinutesState
	Version         int64
	AmendmentReason string
	ReturnReason    string
	// Header is set once approved.
	Header         *header
	ApprovedBy     string
	ApprovedByName string
	ApproveTime    time.Time
	ContentHash    string
}

const revisionColumns = `revision, organization_id, state, version, amendment_reason, return_reason,
	header, coalesce(approved_by, ''), coalesce(approved_by_name, ''), approve_time, coalesce(content_hash, '')`

func scanRevision(row pgx.Row) (*revision, error) {
	var (
		r      revision
		state  string
		hdr    []byte
		approv *time.Time
	)
	if err := row.Scan(&r.Revision, &r.OrganizationID, &state, &r.Version, &r.AmendmentReason, &r.ReturnReason,
		&hdr, &r.ApprovedBy, &r.ApprovedByName, &approv, &r.ContentHash); err != nil {
		return nil, err
	}
	v, ok := meetingsv1.MinutesState_value[state]
	if !ok {
		return nil, fmt.Errorf("minutes revision %d has unknown state %q", r.Revision, state)
	}
	r.State = meetingsv1.MinutesState(v)
	if hdr != nil {
		r.Header = &header{}
		if err := json.Unmarshal(hdr, r.Header); err != nil {
			return nil, fmt.Errorf("minutes revision %d: header: %w", r.Revision, err)
		}
	}
	if approv != nil {
		r.ApproveTime = *approv
	}
	return &r, nil
}

// lockMinutes serialises the changes to one meeting's minutes until tx
// ends. A lock on the meeting id rather than on a row, because the first
// change has no row to lock yet and an amendment adds one; statements after
// it see everything the previous holder committed.
func lockMinutes(ctx context.Context, tx pgx.Tx, meetingID string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('ecabinet.minutes.' || $1, 0))`, meetingID); err != nil {
		return fmt.Errorf("lock minutes of %s: %w", meetingID, err)
	}
	return nil
}

// readRevision returns revision rev (0: the latest) of the meeting's
// minutes, or nil if there is none.
func readRevision(ctx context.Context, q querier, meetingID string, rev int32) (*revision, error) {
	sql := `SELECT ` + revisionColumns + ` FROM minutes WHERE meeting_id = $1 AND ($2 = 0 OR revision = $2)
		ORDER BY revision DESC LIMIT 1`
	r, err := scanRevision(q.QueryRow(ctx, sql, meetingID, rev))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read minutes of %s: %w", meetingID, err)
	}
	return r, nil
}

func listRevisions(ctx context.Context, q querier, meetingID string) ([]*revision, error) {
	rows, err := q.Query(ctx, `SELECT `+revisionColumns+` FROM minutes WHERE meeting_id = $1 ORDER BY revision`, meetingID)
	if err != nil {
		return nil, fmt.Errorf("list minutes of %s: %w", meetingID, err)
	}
	revs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*revision, error) { return scanRevision(row) })
	if err != nil {
		return nil, fmt.Errorf("list minutes of %s: %w", meetingID, err)
	}
	return revs, nil
}

// readItems returns a revision's stored items in order; votes are filled
// only for an approved revision (frozen), otherwise nil.
func readItems(ctx context.Context, q querier, meetingID string, rev int32) ([]item, error) {
	rows, err := q.Query(ctx, `SELECT agenda_item_id::text, agenda_item_title, position, discussion, opinions, conclusions, votes
		FROM minutes_items WHERE meeting_id = $1 AND revision = $2 ORDER BY position, agenda_item_id`, meetingID, rev)
	if err != nil {
		return nil, fmt.Errorf("read minutes items of %s: %w", meetingID, err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (item, error) {
		var it item
		var votes []byte
		if err := row.Scan(&it.AgendaItemID, &it.Title, &it.Position, &it.Discussion, &it.Opinions, &it.Conclusions, &votes); err != nil {
			return it, err
		}
		if votes != nil {
			if err := json.Unmarshal(votes, &it.Votes); err != nil {
				return it, fmt.Errorf("votes of item %s: %w", it.AgendaItemID, err)
			}
		}
		return it, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read minutes items of %s: %w", meetingID, err)
	}
	return items, nil
}

// readVotes returns the meeting's vote results by agenda item, in the
// order they were recorded.
func readVotes(ctx context.Context, q querier, meetingID string) (map[string][]vote, error) {
	rows, err := q.Query(ctx, `SELECT agenda_item_id::text, poll_id, title, summary FROM minutes_votes
		WHERE meeting_id = $1 ORDER BY record_time, poll_id`, meetingID)
	if err != nil {
		return nil, fmt.Errorf("read votes of %s: %w", meetingID, err)
	}
	defer rows.Close()
	votes := map[string][]vote{}
	for rows.Next() {
		var itemID string
		var v vote
		if err := rows.Scan(&itemID, &v.PollID, &v.Title, &v.Summary); err != nil {
			return nil, fmt.Errorf("read votes of %s: %w", meetingID, err)
		}
		votes[itemID] = append(votes[itemID], v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read votes of %s: %w", meetingID, err)
	}
	return votes, nil
}

func insertRevision(ctx context.Context, tx pgx.Tx, meetingID string, r *revision) error {
	_, err := tx.Exec(ctx, `INSERT INTO minutes (meeting_id, revision, organization_id, state, version, amendment_reason)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		meetingID, r.Revision, r.OrganizationID, stateName[int32(r.State)], r.Version, r.AmendmentReason)
	if err != nil {
		return fmt.Errorf("insert minutes %s revision %d: %w", meetingID, r.Revision, err)
	}
	return nil
}

// updateRevision stores a revision's state, version and return reason.
func updateRevision(ctx context.Context, tx pgx.Tx, meetingID string, r *revision) error {
	_, err := tx.Exec(ctx, `UPDATE minutes SET state = $3, version = $4, return_reason = $5, update_time = now()
		WHERE meeting_id = $1 AND revision = $2`,
		meetingID, r.Revision, stateName[int32(r.State)], r.Version, r.ReturnReason)
	if err != nil {
		return fmt.Errorf("update minutes %s revision %d: %w", meetingID, r.Revision, err)
	}
	return nil
}

func saveItem(ctx context.Context, tx pgx.Tx, meetingID string, rev int32, it item) error {
	_, err := tx.Exec(ctx, `INSERT INTO minutes_items
			(meeting_id, revision, agenda_item_id, agenda_item_title, position, discussion, opinions, conclusions)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (meeting_id, revision, agenda_item_id) DO UPDATE SET
			agenda_item_title = excluded.agenda_item_title, position = excluded.position,
			discussion = excluded.discussion, opinions = excluded.opinions, conclusions = excluded.conclusions,
			update_time = now()`,
		meetingID, rev, it.AgendaItemID, it.Title, it.Position, it.Discussion, it.Opinions, it.Conclusions)
	if err != nil {
		return fmt.Errorf("save minutes item %s: %w", it.AgendaItemID, err)
	}
	return nil
}

// freeze stores the approved content of r: every item with its votes
// (items first: once the revision is approved its items cannot change),
// then the revision with its header and hash.
func freeze(ctx context.Context, tx pgx.Tx, meetingID string, r *revision, c content) error {
	for _, it := range c.Items {
		if err := saveItem(ctx, tx, meetingID, r.Revision, it); err != nil {
			return err
		}
		votes, err := json.Marshal(nonNil(it.Votes))
		if err != nil {
			return fmt.Errorf("freeze votes of item %s: %w", it.AgendaItemID, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE minutes_items SET votes = $4 WHERE meeting_id = $1 AND revision = $2 AND agenda_item_id = $3`,
			meetingID, r.Revision, it.AgendaItemID, votes); err != nil {
			return fmt.Errorf("freeze votes of item %s: %w", it.AgendaItemID, err)
		}
	}
	hdr, err := json.Marshal(c.Header)
	if err != nil {
		return fmt.Errorf("freeze header: %w", err)
	}
	_, err = tx.Exec(ctx, `UPDATE minutes SET state = $3, version = $4, header = $5, approved_by = $6, approved_by_name = $7,
			approve_time = $8, content_hash = $9, update_time = now()
		WHERE meeting_id = $1 AND revision = $2`,
		meetingID, r.Revision, stateName[int32(r.State)], r.Version, hdr, r.ApprovedBy, r.ApprovedByName, r.ApproveTime, r.ContentHash)
	if err != nil {
		return fmt.Errorf("approve minutes %s revision %d: %w", meetingID, r.Revision, err)
	}
	return nil
}

// copyItems starts revision to with the text of revision from. Votes are
// left to the meeting's vote results, as in any open revision.
func copyItems(ctx context.Context, tx pgx.Tx, meetingID string, from, to int32) error {
	_, err := tx.Exec(ctx, `INSERT INTO minutes_items
			(meeting_id, revision, agenda_item_id, agenda_item_title, position, discussion, opinions, conclusions)
		SELECT meeting_id, $3, agenda_item_id, agenda_item_title, position, discussion, opinions, conclusions
		FROM minutes_items WHERE meeting_id = $1 AND revision = $2`, meetingID, from, to)
	if err != nil {
		return fmt.Errorf("copy minutes items of %s from revision %d: %w", meetingID, from, err)
	}
	return nil
}

// recordVote stores a poll's result; a result reported again (a
// redelivered event, a corrected count) replaces the earlier one.
func recordVote(ctx context.Context, tx pgx.Tx, meetingID, itemID string, v vote) error {
	_, err := tx.Exec(ctx, `INSERT INTO minutes_votes (meeting_id, poll_id, agenda_item_id, title, summary)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (meeting_id, poll_id) DO UPDATE SET
			agenda_item_id = excluded.agenda_item_id, title = excluded.title, summary = excluded.summary`,
		meetingID, v.PollID, itemID, v.Title, v.Summary)
	if err != nil {
		return fmt.Errorf("record vote %s of %s: %w", v.PollID, meetingID, err)
	}
	return nil
}

// meetingsWithMinutes lists the meetings of the given organisations (all
// when all is set) that have minutes, for an audit check across them.
func meetingsWithMinutes(ctx context.Context, q querier, orgs []string, all bool) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT meeting_id::text FROM minutes WHERE $2 OR organization_id = ANY($1) ORDER BY 1`, orgs, all)
	if err != nil {
		return nil, fmt.Errorf("list meetings with minutes: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list meetings with minutes: %w", err)
	}
	return ids, nil
}

// approvalHashes returns, by revision, the content hashes the audit trail
// recorded when the meeting's minutes were approved.
func approvalHashes(ctx context.Context, q querier, meetingID string) (map[int32]string, error) {
	rows, err := q.Query(ctx, `SELECT (payload->>'revision')::int, payload->>'content_hash' FROM audit_log
		WHERE subject = $1 AND action = $2 ORDER BY seq`, auditSubject(meetingID), actionApproved)
	if err != nil {
		return nil, fmt.Errorf("read approval records of %s: %w", meetingID, err)
	}
	defer rows.Close()
	out := map[int32]string{}
	for rows.Next() {
		var rev *int32
		var sum *string
		if err := rows.Scan(&rev, &sum); err != nil {
			return nil, fmt.Errorf("read approval records of %s: %w", meetingID, err)
		}
		if rev != nil && sum != nil {
			out[*rev] = *sum
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read approval records of %s: %w", meetingID, err)
	}
	return out, nil
}
