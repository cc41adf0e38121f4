package voting

import (
	"context"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/platform/pg"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// shape lists a schema's columns (with type, nullability and default) and
// indexes, so two schemas can be compared.
func shape(t *testing.T, pool *pgxpool.Pool, schema string) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `
		SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
		FROM information_schema.columns WHERE table_schema = $1
		UNION ALL
		SELECT replace(indexdef, $1 || '.', '') FROM pg_indexes WHERE schemaname = $1
		UNION ALL
		SELECT conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
		WHERE connamespace = $1::regnamespace
		ORDER BY 1`, schema)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.ReplaceAll(s, schema+".", ""))
	}
	return out
}

// migrated is a schema migrated first with only the given files (an older
// database), then with the service's migrations as they are now.
func migrated(t *testing.T, old fstest.MapFS, before func(*pgxpool.Pool)) (*pgxpool.Pool, string) {
	t.Helper()
	schema := testenv.Schema(t, Name)
	pool := testenv.Pool(t, schema, old)
	if before != nil {
		before(pool)
	}
	if err := pg.Migrate(context.Background(), pool, schema, migrations); err != nil {
		t.Fatalf("migrate an older database: %v", err)
	}
	return pool, schema
}

func migrationFile(t *testing.T, fsys fs.FS, name string) *fstest.MapFile {
	t.Helper()
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatal(err)
	}
	return &fstest.MapFile{Data: b}
}

// A database migrated by the released skeleton (its polls and
// poll_choices, with a draft in them) and one migrated by an unreleased
// build whose 00001 already had everything both end in the shape a new
// database gets, and the skeleton's draft reads as a draft with its kind's
// default rules.
func TestMigrationsBringOlderDatabasesToTheSameShape(t *testing.T) {
	fresh := testenv.Schema(t, Name)
	want := shape(t, testenv.Pool(t, fresh, migrations), fresh)
	if len(want) < 40 {
		t.Fatalf("shape of a new database: %q", want)
	}

	skeleton := fstest.MapFS{"00001_polls.sql": migrationFile(t, migrations, "00001_polls.sql")}
	if !strings.Contains(string(skeleton["00001_polls.sql"].Data), "meeting_id      uuid        NOT NULL") {
		t.Fatal("00001_polls.sql is no longer the skeleton's (a released migration must not change)")
	}
	id, meeting := uuid.NewString(), uuid.NewString()
	pool, schema := migrated(t, skeleton, func(p *pgxpool.Pool) {
		ctx := context.Background()
		if _, err := p.Exec(ctx, `INSERT INTO polls (id, meeting_id, organization_id, title, kind, secret, state, version)
			VALUES ($1, $2, 'org-1', 'Bầu Ban chấp hành', 'POLL_KIND_ELECTION', true, 'POLL_STATE_DRAFT', 1)`, id, meeting); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Exec(ctx, `INSERT INTO poll_choices (poll_id, position, choice_id, label) VALUES ($1, 1, 'c1', 'Nguyễn A'), ($1, 2, 'c2', 'Trần B')`, id); err != nil {
			t.Fatal(err)
		}
	})
	if diff := cmp.Diff(want, shape(t, pool, schema)); diff != "" {
		t.Errorf("skeleton database after migrating (-new database +migrated):\n%s", diff)
	}
	s := New(Deps{Pool: pool, Schema: schema})
	r, err := s.loadPoll(context.Background(), pool, id, "someone")
	if err != nil {
		t.Fatalf("read the skeleton's poll: %v", err)
	}
	if r.p.GetState() != votingv1.PollState_POLL_STATE_DRAFT || r.p.GetMeetingId() != meeting || len(r.choices) != 2 ||
		r.rules.Base != votingv1.MajorityBase_MAJORITY_BASE_ELECTION || r.rules.Majority != votingv1.Majority_MAJORITY_MORE_THAN_HALF ||
		r.rules.QuorumNum != 2 || r.rules.QuorumDen != 3 {
		t.Errorf("the skeleton's poll after migrating: %v rules %+v choices %v", r.p, r.rules, r.choices)
	}

	unreleased, err := os.ReadFile("testdata/00001_polls_unreleased.sql")
	if err != nil {
		t.Fatal(err)
	}
	early := fstest.MapFS{"00001_polls.sql": {Data: unreleased}, "00002_roll_delegate.sql": migrationFile(t, migrations, "00002_roll_delegate.sql")}
	pool, schema = migrated(t, early, nil)
	if diff := cmp.Diff(want, shape(t, pool, schema)); diff != "" {
		t.Errorf("unreleased build's database after migrating (-new database +migrated):\n%s", diff)
	}
}
