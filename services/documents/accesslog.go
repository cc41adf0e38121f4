package documents

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/groupcommit"
	"github.com/ecabinet/ecabinet/services/platform/pg"
)

// accessLog writes the access log (document_access) by group commit
// (platform/groupcommit): the rows of requests that arrive while a write
// is in flight are inserted together by the next write, in one statement
// and one transaction, and every request still waits until its own row is
// committed before it answers (ADR 0002, "Performance: the first page of a
// paper"). A lone request is written at once — nothing waits for a timer —
// so batching costs latency only where it saves a queue: a meeting's
// tablets opening a paper at once made a hundred one-row transactions
// queue for PostgreSQL's CPU and write-ahead log; now they make a handful.
//
// The log is one queue, so one write is in flight at a time; it runs
// detached from the requests (a client that leaves does not fail the
// others' rows) and bounded by accessWriteTimeout.
type accessLog struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	queue groupcommit.Queue[struct{}, *accessEntry]
}

// accessEntry is one read to record.
type accessEntry struct {
	documentID string
	version    int32
	person     string
	how        string
}

const (
	// accessBatchMax bounds the rows of one statement.
	accessBatchMax = 1000
	// accessWriteTimeout bounds one write, detached from the requests.
	accessWriteTimeout = 30 * time.Second
)

// accessInsert inserts a group of rows: parallel arrays, one element per
// row, so the statement is the same whatever the group's size.
const accessInsert = `INSERT INTO document_access (document_id, version, person_id, how)
	SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[])`

// record waits until the reads are committed to the access log, or ctx
// ends (then a row may still be written: the read was attempted).
func (l *accessLog) record(ctx context.Context, rows ...*accessEntry) error {
	w := groupcommit.Writer[struct{}, *accessEntry]{Max: accessBatchMax, Write: l.write, Timeout: accessWriteTimeout}
	return l.queue.Add(ctx, struct{}{}, w, rows...)
}

// write commits group and tells each row's request the outcome. If
// PostgreSQL refuses the statement itself (not a lost connection), the
// rows are written one by one, so a row it rejects fails only its own
// request.
func (l *accessLog) write(ctx context.Context, _ struct{}, group []*groupcommit.Entry[*accessEntry]) {
	err := l.insert(ctx, group)
	// Only a refusal for what a row holds is worth writing the rows apart
	// for; any other would fail each of them again.
	if len(group) > 1 && pg.RowRefusal(err) {
		l.log.Warn("access log: a group insert was refused; writing its rows one by one", "rows", len(group), "err", err)
		for i, r := range group {
			r.Done(l.insert(ctx, group[i:i+1]))
		}
		return
	}
	for _, r := range group {
		r.Done(err)
	}
}

// insert commits rows in one statement (its own transaction), in one
// round trip. The commit waits for the write-ahead log to reach disk, as
// every other commit of the suite does: a group shares one flush, which
// is what made a commit that did not wait unnecessary (ADR 0002).
func (l *accessLog) insert(ctx context.Context, rows []*groupcommit.Entry[*accessEntry]) error {
	docs := make([]string, len(rows))
	versions := make([]int32, len(rows))
	people := make([]string, len(rows))
	hows := make([]string, len(rows))
	for i, e := range rows {
		r := e.Value
		docs[i], versions[i], people[i], hows[i] = r.documentID, r.version, r.person, r.how
	}
	_, err := l.pool.Exec(ctx, accessInsert, docs, versions, people, hows)
	return err
}

// recordAccess notes that person read a version of a document, returning
// once the row is committed (visible to every query): before the caller
// moves a byte.
func (s *Service) recordAccess(ctx context.Context, documentID string, version int32, person string, how documentsv1.AccessKind) error {
	return s.access.record(ctx, &accessEntry{documentID: documentID, version: version, person: person, how: how.String()})
}
