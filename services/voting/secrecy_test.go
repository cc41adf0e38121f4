package voting

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"

	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/ecabinet/ecabinet/services/voting/secrecy"
	"github.com/google/go-cmp/cmp"
)

// table is one table's data in a dump: its column names and its rows in
// the order pg_dump wrote them (the heap's physical order).
type table struct {
	columns []string
	rows    [][]string
}

// dump runs pg_dump on the world's schema, as someone holding the
// database would, and parses the COPY blocks.
func (w *world) dump(t *testing.T) (string, map[string]table) {
	t.Helper()
	bin, err := exec.LookPath("pg_dump")
	if err != nil {
		t.Fatalf("pg_dump is needed for the secrecy test (Debian: postgresql-client): %v", err)
	}
	out, err := exec.Command(bin, "--schema="+w.schema, "--no-owner", "--dbname="+testenv.DatabaseURL(t)).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("pg_dump: %v: %s", err, stderr)
	}
	tables := map[string]table{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var cur string
	for sc.Scan() {
		line := sc.Text()
		if cur == "" {
			// COPY schema.name (a, b, c) FROM stdin;
			if rest, ok := strings.CutPrefix(line, "COPY "+w.schema+"."); ok {
				name, cols, _ := strings.Cut(rest, " (")
				cols, _, _ = strings.Cut(cols, ") FROM stdin;")
				cur = name
				tables[cur] = table{columns: strings.Split(cols, ", ")}
			}
			continue
		}
		if line == `\.` {
			cur = ""
			continue
		}
		tb := tables[cur]
		tb.rows = append(tb.rows, strings.Split(line, "\t"))
		tables[cur] = tb
	}
	return string(out), tables
}

// column returns the values of one column.
func (tb table) column(t *testing.T, name string) []string {
	t.Helper()
	i := slices.Index(tb.columns, name)
	if i < 0 {
		t.Fatalf("no column %s in %v", name, tb.columns)
	}
	out := make([]string, len(tb.rows))
	for j, r := range tb.rows {
		out[j] = r[i]
	}
	return out
}

// The database-dump secrecy test: after a secret poll, while it is open
// and after it is published, a full dump of the service's schema links no
// voter to a ballot. One ballot is cast by delegation (an absent member's
// recorded delegate): it adds no row of its own, and links neither the
// member nor the delegate to the choice either.
func TestDatabaseDumpLinksNoVoterToABallot(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 10) // 12 voters
	absent, proxy := c.members[0], c.members[1]
	c.allowDelegation(t, true)
	c.delegate(t, absent, proxy)
	c.checkIn(t, slices.DeleteFunc(c.everyone(), func(p string) bool { return p == absent })...)
	req := c.motion(true)
	req.AllowDelegation = true
	p := c.open(t, req)
	id := p.GetId()
	outboxBefore := w.count(t, `SELECT count(*) FROM outbox`)

	// Cast one after another, so the order of casting is known here.
	choices := []string{"agree", "disagree", "abstain"}
	var castOrder []string // receipt hashes in the order cast
	receipts := map[string]string{}
	for i, person := range c.everyone() {
		var r string
		if person == absent {
			resp, err := c.castFor(proxy, absent, id, key(), choices[i%3])
			if err != nil {
				t.Fatalf("delegated ballot: %v", err)
			}
			r = resp.GetReceipt()
		} else {
			r = c.vote(t, id, person, choices[i%3])
		}
		receipts[person] = r
		castOrder = append(castOrder, secrecy.ReceiptHash(r))
	}
	if n := w.count(t, `SELECT count(*) FROM outbox`); n != outboxBefore {
		t.Errorf("casting wrote %d outbox rows: each would carry its ballot's transaction and time", n-outboxBefore)
	}

	checkApart := func(phase string, tables map[string]table) {
		t.Helper()
		voters, box := tables["voters"], tables["ballot_box"]
		if diff := cmp.Diff([]string{"poll_id", "person_id"}, voters.columns); diff != "" {
			t.Errorf("%s: voters columns (-want +got):\n%s", phase, diff)
		}
		if diff := cmp.Diff([]string{"poll_id", "tag", "seal", "receipt_hash", "choice_ids", "valid", "person_id"}, box.columns); diff != "" {
			t.Errorf("%s: ballot_box columns (-want +got):\n%s", phase, diff)
		}
		if len(voters.rows) != 12 || len(box.rows) != 12 {
			t.Fatalf("%s: %d voters, %d ballots; want 12 each", phase, len(voters.rows), len(box.rows))
		}
		// Nothing but poll_id in common: no value of a voters row appears
		// in any ballot row.
		voterValues := map[string]bool{}
		for _, r := range voters.rows {
			if r[0] != id {
				t.Errorf("%s: voters row of another poll %v", phase, r)
			}
			voterValues[r[1]] = true
		}
		for _, r := range box.rows {
			if r[0] != id {
				t.Errorf("%s: ballot row of another poll %v", phase, r)
			}
			for i, v := range r[1:] {
				if v != `\N` && voterValues[v] {
					t.Errorf("%s: ballot column %s holds the voter value %q", phase, box.columns[i+1], v)
				}
				for person := range receipts {
					if strings.Contains(v, person) {
						t.Errorf("%s: a ballot names a voter", phase)
					}
				}
			}
		}
	}

	// While open: every ballot sealed, of one size, no clear choice, no
	// receipt hash.
	text, tables := w.dump(t)
	checkApart("open", tables)
	box := tables["ballot_box"]
	sizes := map[int]bool{}
	for _, r := range box.rows {
		if r[3] != `\N` || r[4] != `\N` || r[5] != `\N` || r[6] != `\N` {
			t.Errorf("open: a ballot in the clear: %v", r)
		}
		if r[1] == `\N` || r[2] == `\N` {
			t.Errorf("open: a ballot without tag or seal: %v", r)
		}
		sizes[len(r[2])] = true
	}
	if len(sizes) != 1 {
		t.Errorf("open: seals of %d different sizes; their length could tell the choices apart", len(sizes))
	}
	for _, h := range castOrder {
		if strings.Contains(text, h) {
			t.Error("open: a receipt hash is in the dump")
		}
	}

	res := c.closePoll(t, id).GetResult()
	c.publish(t, id)
	_, tables = w.dump(t)
	checkApart("published", tables)
	box = tables["ballot_box"]
	for _, r := range box.rows {
		if r[1] != `\N` || r[2] != `\N` || r[6] != `\N` {
			t.Errorf("published: a ballot keeps its tag, seal or a person: %v", r)
		}
	}
	// The clear ballots are the ones cast (each voter's receipt is there),
	// not in the order they were cast.
	dumped := box.column(t, "receipt_hash")
	if diff := cmp.Diff(slices.Sorted(slices.Values(castOrder)), slices.Sorted(slices.Values(dumped))); diff != "" {
		t.Errorf("receipt hashes in the box (-cast +dumped):\n%s", diff)
	}
	if slices.Equal(dumped, castOrder) {
		t.Error("published: the box is in the order of casting")
	}
	// One transaction wrote every clear ballot: one xmin, and not the xmin
	// of any voters row.
	if n := w.count(t, `SELECT count(DISTINCT xmin::text) FROM ballot_box WHERE poll_id = $1`, id); n != 1 {
		t.Errorf("ballot rows have %d distinct xmin, want 1", n)
	}
	if n := w.count(t, `SELECT count(*) FROM voters v JOIN ballot_box b ON b.xmin::text = v.xmin::text`); n != 0 {
		t.Errorf("%d voters rows share an xmin with a ballot", n)
	}
	// And the result is what the dump recounts.
	counts := map[string]int32{}
	for _, ids := range box.column(t, "choice_ids") {
		counts[strings.Trim(ids, "{}")]++
	}
	for _, cc := range res.GetCounts() {
		if counts[cc.GetChoiceId()] != cc.GetCount() {
			t.Errorf("%s: dump has %d, result %d", cc.GetChoiceId(), counts[cc.GetChoiceId()], cc.GetCount())
		}
	}
	// No event, no audit record names a choice with a voter: the only
	// per-person rows are the roll (who may vote) and voters (who did).
	var leaks int
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE payload::text ~ '(agree|disagree|abstain)'`).Scan(&leaks); err != nil {
		t.Fatal(err)
	}
	if leaks != 0 {
		t.Errorf("%d audit records mention a choice", leaks)
	}
}

// A named (open) poll lists who chose what.
func TestNamedPollListsWhoChoseWhat(t *testing.T) {
	w := newWorld(t)
	c := w.newCell(t, 1)
	c.checkIn(t, c.everyone()...)
	p := c.open(t, c.motion(false))
	c.vote(t, p.GetId(), c.chair, "agree")
	c.vote(t, p.GetId(), c.taker, "disagree")
	c.vote(t, p.GetId(), c.members[0], "agree")
	res := c.closePoll(t, p.GetId()).GetResult()
	got := map[string]string{}
	for _, v := range res.GetNamedVotes() {
		got[v.GetFullName()] = strings.Join(v.GetChoiceIds(), ",")
		if !v.GetValid() {
			t.Errorf("%s: invalid", v.GetFullName())
		}
	}
	want := map[string]string{c.names[c.chair]: "agree", c.names[c.taker]: "disagree", c.names[c.members[0]]: "agree"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("named votes (-want +got):\n%s", diff)
	}
	if res.GetOutcome() != votingv1.Outcome_OUTCOME_PASSED {
		t.Errorf("outcome %v: %s", res.GetOutcome(), res.GetSummary())
	}
}
