package e2e

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// verifyAudit runs `ecabinet -verify-audit` against the database at url.
func verifyAudit(t *testing.T, url string) (code int, stdout, stderr string) {
	t.Helper()
	return runBinary(t, []string{"DATABASE_URL=" + url}, "-verify-audit")
}

var meetingsIntact = regexp.MustCompile(`(?m)^meetings: (\d+) records checked, intact$`)

// `ecabinet -verify-audit` checks every service's audit trail in the
// database: intact after real use, and, once someone with superuser rights
// has quietly changed a record, broken at exactly that record.
func TestVerifyAuditCommand(t *testing.T) {
	p, logins := startWithDemo(t)
	taker := newAuthClient(t, p)
	taker.login(logins["minute-taker"])
	id := taker.todaysDemoMeeting().ID
	base := "/api/v1/meetings/" + id
	// A few changes of the meeting on top of the demo's own.
	must(t, "start", taker.call(http.MethodPost, base+":start", map[string]any{}, nil), http.StatusOK)
	must(t, "save minutes", taker.call(http.MethodPut, base+"/minutes/items/"+firstAgendaItem(t, taker, base), map[string]any{
		"expectedVersion": "0", "discussion": "Thảo luận.",
	}, nil), http.StatusOK)
	must(t, "end", taker.call(http.MethodPost, base+":end", map[string]any{}, nil), http.StatusOK)
	if err := p.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	ctx := context.Background()
	url := p.Env["DATABASE_URL"]
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect to the suite's database: %v", err)
	}
	defer db.Close(ctx)
	var records int64
	if err := db.QueryRow(ctx, `SELECT count(*) FROM meetings.audit_log`).Scan(&records); err != nil {
		t.Fatal(err)
	}
	if records < 5 {
		t.Fatalf("%d audit records in the meetings schema; the demo and the changes above make more", records)
	}

	code, stdout, stderr := verifyAudit(t, url)
	if code != 0 {
		t.Fatalf("-verify-audit on an intact trail: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	match := meetingsIntact.FindStringSubmatch(stdout)
	if match == nil || match[1] != strconv.FormatInt(records, 10) {
		t.Errorf("-verify-audit printed\n%s\nwant \"meetings: %d records checked, intact\"", stdout, records)
	}
	for _, svc := range services {
		if !strings.Contains(stdout, svc+":") {
			t.Errorf("-verify-audit says nothing of schema %s:\n%s", svc, stdout)
		}
	}

	// A superuser switches the append-only trigger off and rewrites the
	// reason of a record in the middle of the chain.
	var seq int64
	if err := db.QueryRow(ctx, `SELECT seq FROM meetings.audit_log ORDER BY seq OFFSET $1 LIMIT 1`, records/2).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`ALTER TABLE meetings.audit_log DISABLE TRIGGER USER`,
		fmt.Sprintf(`UPDATE meetings.audit_log SET reason = 'Không có lý do' WHERE seq = %d`, seq),
		`ALTER TABLE meetings.audit_log ENABLE TRIGGER USER`,
	} {
		if _, err := db.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	code, stdout, stderr = verifyAudit(t, url)
	if code != 1 {
		t.Fatalf("-verify-audit on a tampered trail: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	want := fmt.Sprintf("meetings: BROKEN at seq %d after %d intact records", seq, records/2)
	if !strings.Contains(stdout, want) || !strings.Contains(stderr, fmt.Sprintf("seq %d", seq)) {
		t.Errorf("-verify-audit on a tampered trail printed\nstdout:\n%s\nstderr:\n%s\nwant %q and the seq on stderr", stdout, stderr, want)
	}
}

// firstAgendaItem returns the id of the meeting's first agenda item.
func firstAgendaItem(t *testing.T, c *authClient, base string) string {
	t.Helper()
	var got struct {
		Meeting fullMeeting `json:"meeting"`
	}
	must(t, "get meeting", c.call(http.MethodGet, base, nil, &got), http.StatusOK)
	if len(got.Meeting.Agenda) == 0 {
		t.Fatal("the demo meeting has no agenda")
	}
	return got.Meeting.Agenda[0].ID
}
