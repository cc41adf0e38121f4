package documents

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// The read path of a meeting's tablets opening a paper at once: shared
// version lookups, group-committed access rows, reused object URLs
// (ADR 0002, "Performance: the first page of a paper").

// TestConcurrentReadsAreAllRecorded: every one of many simultaneous reads
// gets the paper and leaves its own committed row, whatever groups the
// access log wrote them in.
func TestConcurrentReadsAreAllRecorded(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	nd := paper(meeting, "Nghị quyết", "nq.pdf")
	nd.Classification = documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL
	d := w.upload(t, secretary, nd, testenv.PDF(1, 0))

	const rounds = 50
	readers := []identity.Claims{chair, secretary, attendee, observer}
	var wg sync.WaitGroup
	errs := make(chan error, rounds*len(readers))
	for range rounds {
		for _, c := range readers {
			wg.Go(func() {
				open, err := w.client.OpenDocumentContent(testenv.As(c), &documentsv1.OpenDocumentContentRequest{DocumentId: d.GetId(), Access: documentsv1.AccessKind_ACCESS_KIND_VIEW})
				if err != nil {
					errs <- fmt.Errorf("%s: %w", c.Subject, err)
					return
				}
				if open.GetVersion().GetVersion() != 1 || open.GetDocument().GetId() != d.GetId() || open.GetUrl() == "" {
					errs <- fmt.Errorf("%s: got %v", c.Subject, open)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Each request waited for its row's commit: the rows are there now.
	for _, c := range readers {
		var n int
		if err := w.pool.QueryRow(t.Context(), `SELECT count(*) FROM document_access WHERE document_id = $1 AND person_id = $2 AND how = 'ACCESS_KIND_VIEW' AND version = 1`,
			d.GetId(), c.Subject).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != rounds {
			t.Errorf("%s: %d reads recorded, want %d", c.Subject, n, rounds)
		}
	}
	// Sharing lookups must not widen access: a participant removed, or
	// someone who never took part, still gets NotFound.
	_, err := w.client.OpenDocumentContent(testenv.As(bystander), &documentsv1.OpenDocumentContentRequest{DocumentId: d.GetId(), Access: documentsv1.AccessKind_ACCESS_KIND_VIEW})
	testenv.Code(t, err, codes.NotFound)
	if n := w.count(t, "document_access"); n != rounds*len(readers) {
		t.Errorf("document_access has %d rows, want %d (refused reads are not recorded)", n, rounds*len(readers))
	}
}

// TestSharedLookupIsNeverOlderThanTheRequest: a request arriving while a
// lookup of the same version runs does not take that lookup's answer (read
// before the request came) but waits for the next, which sees what was
// committed in between — here, a withdrawal.
func TestSharedLookupIsNeverOlderThanTheRequest(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	d := w.upload(t, secretary, paper(meeting, "Báo cáo", "bc.pdf"), testenv.PDF(1, 0))

	started := make(chan struct{}, 1)
	release := make(chan struct{})
	var once sync.Once
	w.svc.lookups.query = func(ctx context.Context, id string, version int32) (*documentsv1.Document, *documentsv1.DocumentVersion, string, error) {
		dd, v, key, err := w.svc.openVersion(ctx, id, version)
		first := false
		once.Do(func() { first = true })
		if first {
			started <- struct{}{}
			<-release // held after reading, before answering
		}
		return dd, v, key, err
	}
	open := func() error {
		_, err := w.client.OpenDocumentContent(testenv.As(attendee), &documentsv1.OpenDocumentContentRequest{DocumentId: d.GetId(), Access: documentsv1.AccessKind_ACCESS_KIND_VIEW})
		return err
	}
	firstErr := make(chan error, 1)
	go func() { firstErr <- open() }()
	<-started
	if _, err := w.client.WithdrawDocument(testenv.As(chair), &documentsv1.WithdrawDocumentRequest{DocumentId: d.GetId()}); err != nil {
		t.Fatalf("WithdrawDocument: %v", err)
	}
	secondErr := make(chan error, 1)
	go func() { secondErr <- open() }()
	// The second request must be waiting for a lookup of its own, not for
	// the held one: wait until it has queued.
	testenv.Eventually(t, waitLimit, func() error {
		w.svc.lookups.mu.Lock()
		defer w.svc.lookups.mu.Unlock()
		if st := w.svc.lookups.keys[versionKey{d.GetId(), 0}]; st == nil || st.next == nil {
			return fmt.Errorf("the second request has not queued yet")
		}
		return nil
	})
	close(release)
	if err := <-firstErr; err != nil {
		t.Errorf("the read that started before the withdrawal: %v, want it served", err)
	}
	testenv.Code(t, <-secondErr, codes.NotFound)
}

// TestAccessLogRefusedRowFailsOnlyItsRequest: rows written as one group,
// one of which PostgreSQL refuses: that request fails, the others' rows
// are committed and they succeed.
func TestAccessLogRefusedRowFailsOnlyItsRequest(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	d := w.upload(t, secretary, paper(meeting, "Báo cáo", "bc.pdf"), testenv.PDF(1, 0))
	l := w.svc.access

	// Hold the writer with a write in flight — a row of another document,
	// stopped by a lock on the table — so the rows queue and go out as one
	// group.
	ctx := context.Background()
	lock, err := w.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lock.Rollback(ctx) }()
	var lockPID int32
	if err := lock.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&lockPID); err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec(ctx, `LOCK TABLE document_access IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	held := make(chan error, 1)
	go func() {
		held <- l.record(t.Context(), &accessEntry{documentID: "00000000-0000-0000-0000-000000000001", version: 1, person: "z", how: "ACCESS_KIND_VIEW"})
	}()
	testenv.Eventually(t, waitLimit, func() error {
		var n int
		err := w.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE $1::int = ANY (pg_blocking_pids(pid))`, lockPID).Scan(&n)
		if err == nil && n == 0 {
			err = fmt.Errorf("no write waits for the lock yet")
		}
		return err
	})
	entries := []*accessEntry{
		{documentID: d.GetId(), version: 1, person: "a", how: "ACCESS_KIND_VIEW"},
		{documentID: "not-a-uuid", version: 1, person: "b", how: "ACCESS_KIND_VIEW"},
		{documentID: d.GetId(), version: 1, person: "c", how: "ACCESS_KIND_RANGE"},
	}
	errs := make([]error, len(entries))
	var wg sync.WaitGroup
	for i, e := range entries {
		wg.Go(func() { errs[i] = l.record(t.Context(), e) })
	}
	testenv.Eventually(t, waitLimit, func() error {
		if n := l.queue.Len(struct{}{}); n != len(entries) {
			return fmt.Errorf("%d rows queued, want %d", n, len(entries))
		}
		return nil
	})
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-held; err != nil {
		t.Fatalf("the row that held the writer: %v", err)
	}
	wg.Wait()
	if errs[0] != nil || errs[2] != nil {
		t.Errorf("good rows: %v, %v; want both written", errs[0], errs[2])
	}
	if errs[1] == nil {
		t.Error("the refused row reported success")
	}
	got := w.accesses(t, d.GetId())
	if len(got) != 2 {
		t.Errorf("rows written: %v, want a's and c's", got)
	}
}

// TestAccessLogDatabaseDown: when the row cannot be written the read is
// refused (no bytes without a record), and the writer is ready for the
// next group.
func TestAccessLogDatabaseDown(t *testing.T) {
	pool, err := pgxpool.New(t.Context(), "postgres://postgres@127.0.0.1:1/none?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	l := &accessLog{pool: pool, log: testenv.Logger(t)}
	for range 2 {
		ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
		err := l.record(ctx, &accessEntry{documentID: "00000000-0000-0000-0000-000000000001", version: 1, person: "a", how: "ACCESS_KIND_VIEW"})
		expired := ctx.Err() != nil
		cancel()
		if err == nil {
			t.Fatal("recorded into a database that is not there")
		}
		if expired {
			t.Fatalf("the write hung until the deadline: %v", err)
		}
	}
}

// TestObjectURLReused: readers of the same version get the same URL for a
// while (signing once), which still serves the object; its expiry is the
// URL's own.
func TestObjectURLReused(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	pdf := testenv.PDF(1, 0)
	d := w.upload(t, secretary, paper(meeting, "Báo cáo", "bc.pdf"), pdf)
	a, err := w.client.OpenDocumentContent(testenv.As(attendee), &documentsv1.OpenDocumentContentRequest{DocumentId: d.GetId(), Access: documentsv1.AccessKind_ACCESS_KIND_VIEW})
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.client.OpenDocumentContent(testenv.As(chair), &documentsv1.OpenDocumentContentRequest{DocumentId: d.GetId(), Access: documentsv1.AccessKind_ACCESS_KIND_RANGE})
	if err != nil {
		t.Fatal(err)
	}
	if a.GetUrl() != b.GetUrl() || !a.GetUrlExpireTime().AsTime().Equal(b.GetUrlExpireTime().AsTime()) {
		t.Errorf("second reader got %s (until %v), want the first's %s (until %v)", b.GetUrl(), b.GetUrlExpireTime().AsTime(), a.GetUrl(), a.GetUrlExpireTime().AsTime())
	}
	if left := time.Until(b.GetUrlExpireTime().AsTime()); left < contentURLTTL-urlReuse-5*time.Second {
		t.Errorf("the URL has %v left", left)
	}
	if code, body := fetch(t, b.GetUrl(), ""); code != http.StatusOK || len(body) != len(pdf) {
		t.Errorf("GET the reused URL: %d, %d bytes", code, len(body))
	}
}

// TestURLCacheReuseWindow: a URL is handed out again only within urlReuse
// of its making.
func TestURLCacheReuseWindow(t *testing.T) {
	var c urlCache
	made := time.Now()
	c.put("k", presignedURL{url: "u", expires: made.Add(contentURLTTL)}, made)
	if _, ok := c.get("k", made.Add(urlReuse-time.Second)); !ok {
		t.Error("not reused within the window")
	}
	if _, ok := c.get("k", made.Add(urlReuse+time.Second)); ok {
		t.Error("reused after the window")
	}
	if _, ok := c.get("other", made); ok {
		t.Error("found a key never put")
	}
	for i := range urlCacheEntries + 10 {
		c.put(fmt.Sprint(i), presignedURL{url: "u", expires: made.Add(contentURLTTL)}, made)
	}
	if n := len(c.m); n > urlCacheEntries {
		t.Errorf("%d entries, bound %d", n, urlCacheEntries)
	}
}
