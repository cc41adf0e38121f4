package audit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecabinet/ecabinet/services/platform/audit"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

func newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return testenv.Pool(t, testenv.Schema(t, "audit"), nil)
}

// appendOne appends rec in a transaction of its own.
func appendOne(t *testing.T, pool *pgxpool.Pool, rec audit.Record) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if err := audit.Append(ctx, tx, rec); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// seed appends n records alternating between meeting/a (even) and
// meeting/b (odd); in a fresh schema their seqs are 1..n.
func seed(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	for i := range n {
		subject := "meeting/a"
		if i%2 == 1 {
			subject = "meeting/b"
		}
		appendOne(t, pool, audit.Record{
			Subject: subject, Action: "minutes_saved", ActorID: "person-1",
			Reason:  fmt.Sprintf("lý do %d", i),
			Payload: map[string]any{"revision": 1, "version": i + 1, "note": "Nghị quyết <số 5> & \"trích dẫn\"", "big": 1e21},
		})
	}
}

// tamper runs statements with the append-only triggers disabled, as a
// superuser with direct database access could.
func tamper(t *testing.T, pool *pgxpool.Pool, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	all := append([]string{`ALTER TABLE audit_log DISABLE TRIGGER USER`}, stmts...)
	all = append(all, `ALTER TABLE audit_log ENABLE TRIGGER USER`)
	for _, s := range all {
		if _, err := pool.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func wantBrokenAt(t *testing.T, pool *pgxpool.Pool, prefix string, seq int64, problem string) {
	t.Helper()
	_, err := audit.Verify(context.Background(), pool, prefix)
	var b *audit.BrokenError
	if !errors.As(err, &b) {
		t.Fatalf("Verify(%q) = %v, want a broken chain at seq %d", prefix, err, seq)
	}
	if b.Seq != seq || !strings.Contains(b.Problem, problem) {
		t.Fatalf("Verify(%q) = %v, want broken at seq %d with %q", prefix, err, seq, problem)
	}
	if !audit.IsBroken(err) || !strings.Contains(err.Error(), fmt.Sprintf("seq %d", seq)) {
		t.Fatalf("error %q does not name seq %d", err, seq)
	}
}

func TestAppendAndVerify(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()

	n, err := audit.Verify(ctx, pool, "")
	if err != nil || n != 0 {
		t.Fatalf("empty trail: Verify = %d, %v; want 0, nil", n, err)
	}
	seed(t, pool, 6)
	appendOne(t, pool, audit.Record{Subject: "meeting/c", Action: "created"}) // nil payload, no actor

	for prefix, want := range map[string]int64{"": 7, "meeting/": 7, "meeting/a": 3, "meeting/b": 3, "meeting/c": 1, "meeting/x": 0, "meeting/%": 0} {
		n, err := audit.Verify(ctx, pool, prefix)
		if err != nil || n != want {
			t.Errorf("Verify(%q) = %d, %v; want %d, nil", prefix, n, err, want)
		}
	}

	// One line: the first record starts it, each later one links to the one
	// before, and every hash is a SHA-256.
	rows, err := pool.Query(ctx, `SELECT prev_hash, hash FROM audit_log ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var prev []byte
	i := 0
	for rows.Next() {
		var p, h []byte
		if err := rows.Scan(&p, &h); err != nil {
			t.Fatal(err)
		}
		if i == 0 && len(p) != 0 || i > 0 && string(p) != string(prev) || len(h) != 32 {
			t.Fatalf("record %d: prev_hash %x, hash %x (previous hash %x)", i, p, h, prev)
		}
		prev = h
		i++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	var payload string
	if err := pool.QueryRow(ctx, `SELECT payload::text FROM audit_log WHERE subject = 'meeting/c'`).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	if payload != "{}" {
		t.Errorf("nil payload stored as %s, want {}", payload)
	}
}

func TestAppendRejectsIncompleteRecords(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	for _, rec := range []audit.Record{{Action: "x"}, {Subject: "meeting/a"}, {Subject: " ", Action: "x"}} {
		if err := audit.Append(ctx, tx, rec); err == nil {
			t.Errorf("Append(%+v) succeeded", rec)
		}
	}
	if err := audit.Append(ctx, tx, audit.Record{Subject: "s", Action: "a", Payload: make(chan int)}); err == nil {
		t.Error("Append with an unmarshalable payload succeeded")
	}
}

func TestAppendRefusesRepeatableRead(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	err = audit.Append(ctx, tx, audit.Record{Subject: "s", Action: "a"})
	if err == nil || !strings.Contains(err.Error(), "READ COMMITTED") {
		t.Fatalf("Append in REPEATABLE READ = %v, want an error asking for READ COMMITTED", err)
	}
}

func TestRolledBackAppendLeavesNoTrace(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()
	seed(t, pool, 2)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.Append(ctx, tx, audit.Record{Subject: "meeting/a", Action: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// The identity sequence now has a gap; the chain does not care.
	seed(t, pool, 2)
	if n, err := audit.Verify(ctx, pool, ""); err != nil || n != 4 {
		t.Fatalf("Verify = %d, %v; want 4, nil", n, err)
	}
}

func TestTamperedReasonIsFound(t *testing.T) {
	pool := newPool(t)
	seed(t, pool, 6)
	tamper(t, pool, `UPDATE audit_log SET reason = 'sửa lén' WHERE seq = 3`)
	wantBrokenAt(t, pool, "", 3, "was changed")
	wantBrokenAt(t, pool, "meeting/a", 3, "was changed")
	// meeting/b's records are intact and still link up.
	if n, err := audit.Verify(context.Background(), pool, "meeting/b"); err != nil || n != 3 {
		t.Fatalf("Verify(meeting/b) = %d, %v; want 3, nil", n, err)
	}
}

func TestTamperedPayloadAndTimeAreFound(t *testing.T) {
	pool := newPool(t)
	seed(t, pool, 4)
	tamper(t, pool, `UPDATE audit_log SET payload = payload || '{"version": 99}' WHERE seq = 2`)
	wantBrokenAt(t, pool, "", 2, "was changed")

	pool = newPool(t)
	seed(t, pool, 4)
	tamper(t, pool, `UPDATE audit_log SET recorded_at = recorded_at - interval '1 day' WHERE seq = 4`)
	wantBrokenAt(t, pool, "", 4, "was changed")
}

func TestDeletedRecordIsFound(t *testing.T) {
	pool := newPool(t)
	seed(t, pool, 6)
	tamper(t, pool, `DELETE FROM audit_log WHERE seq = 4`)
	wantBrokenAt(t, pool, "", 5, "seq 3")
	// Found through another subject's records too: seq 5 is meeting/a's.
	wantBrokenAt(t, pool, "meeting/a", 5, "deleted")

	pool = newPool(t)
	seed(t, pool, 3)
	tamper(t, pool, `DELETE FROM audit_log WHERE seq = 1`)
	wantBrokenAt(t, pool, "", 2, "earlier records were deleted")
}

func TestSwappedHashesAreFound(t *testing.T) {
	pool := newPool(t)
	seed(t, pool, 6)
	tamper(t, pool, `UPDATE audit_log a SET hash = b.hash FROM audit_log b
		WHERE (a.seq, b.seq) IN ((3, 4), (4, 3))`)
	wantBrokenAt(t, pool, "", 3, "was changed")
}

func TestReorderedRecordsAreFound(t *testing.T) {
	pool := newPool(t)
	seed(t, pool, 6)
	// Move records 3 and 4 wholesale, hashes and all, to the end: each one's
	// own hash still matches, but the links do not.
	tamper(t, pool,
		`ALTER TABLE audit_log ALTER COLUMN seq DROP IDENTITY`,
		`UPDATE audit_log SET seq = seq + 10 WHERE seq IN (3, 4)`)
	wantBrokenAt(t, pool, "", 5, "seq 2")
}

func TestAppendOnly(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()
	seed(t, pool, 2)
	for _, stmt := range []string{
		`UPDATE audit_log SET reason = 'x' WHERE seq = 1`,
		`DELETE FROM audit_log WHERE seq = 2`,
		`TRUNCATE audit_log`,
	} {
		_, err := pool.Exec(ctx, stmt)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || !strings.Contains(pgErr.Message, "append-only") {
			t.Errorf("%s: err = %v, want refused as append-only", stmt, err)
		}
	}
	if n, err := audit.Verify(ctx, pool, ""); err != nil || n != 2 {
		t.Fatalf("Verify = %d, %v; want 2, nil", n, err)
	}
	// A fork (a second record after the same predecessor) cannot be stored.
	_, err := pool.Exec(ctx, `INSERT INTO audit_log (subject, action, recorded_at, prev_hash, hash)
		SELECT 'meeting/a', 'fork', now(), prev_hash, hash FROM audit_log WHERE seq = 2`)
	if err == nil {
		t.Fatal("a second successor of the same record was stored")
	}
}

func TestConcurrentAppendsKeepOneLine(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()
	const writers, each = 20, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					return audit.Append(ctx, tx, audit.Record{
						Subject: fmt.Sprintf("meeting/%d", w%3), Action: "saved", ActorID: fmt.Sprint(w),
						Payload: map[string]int{"writer": w, "i": i},
					})
				})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n, err := audit.Verify(ctx, pool, "")
	if err != nil || n != writers*each {
		t.Fatalf("Verify = %d, %v; want %d, nil", n, err, writers*each)
	}
	// One line: exactly one record starts it and no record has two successors.
	var starts, distinct, total int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE prev_hash = ''), count(DISTINCT prev_hash), count(*) FROM audit_log`).
		Scan(&starts, &distinct, &total); err != nil {
		t.Fatal(err)
	}
	if starts != 1 || distinct != total {
		t.Fatalf("chain has %d starts and %d distinct predecessors for %d records", starts, distinct, total)
	}
}
