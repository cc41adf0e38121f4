package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ecabinet/ecabinet/e2e/suite"
)

// demoLogin is one line of `ecabinet -load-demo`'s output.
type demoLogin struct {
	username, password, line string
}

// demoRoles are the logins make run promises, by the role word printed.
var demoRoles = []string{"chair", "minute-taker", "member", "observer", "system admin"}

// loadDemo runs `ecabinet -load-demo` against p and returns its printed
// logins (by role) and its stderr.
func loadDemo(t *testing.T, p *suite.Process) (map[string]demoLogin, string) {
	t.Helper()
	code, stdout, stderr := runBinary(t, []string{
		"GRPC_ADDR=" + p.GRPCAddr,
		"IDENTITY_SIGNING_KEY=" + p.Env["IDENTITY_SIGNING_KEY"],
	}, "-load-demo")
	if code != 0 {
		t.Fatalf("-load-demo exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "USERNAME") {
		t.Fatalf("-load-demo printed no login table:\n%s", stdout)
	}
	logins := map[string]demoLogin{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 3 {
			t.Fatalf("login line %q", l)
		}
		role := f[2]
		if role == "system" && len(f) > 3 && f[3] == "admin" {
			role = "system admin"
		}
		logins[role] = demoLogin{username: f[0], password: f[1], line: l}
	}
	for _, role := range demoRoles {
		if _, ok := logins[role]; !ok {
			t.Fatalf("no %s login in:\n%s", role, stdout)
		}
	}
	return logins, stderr
}

// startWithDemo starts the whole suite and loads the demo data.
func startWithDemo(t *testing.T) (*suite.Process, map[string]demoLogin) {
	t.Helper()
	p := suite.Start(t, "all", suite.Env(t))
	p.WaitReady(t)
	logins, _ := loadDemo(t, p)
	return p, logins
}

// meetingsTableCounts counts the rows of every table in the meetings schema
// but the sign-in bookkeeping (sessions, login attempts), which logins
// change and the demo does not.
func meetingsTableCounts(t *testing.T, p *suite.Process) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, p.Env["DATABASE_URL"])
	if err != nil {
		t.Fatalf("connect to the suite's database: %v", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'meetings' AND table_type = 'BASE TABLE'
		AND table_name NOT IN ('sessions', 'login_attempts') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, table := range tables {
		var n int64
		if err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM meetings.%q`, table)).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		counts[table] = n
	}
	return counts
}

func TestDemoDataLoadsOnceAndASecondRunChangesNothing(t *testing.T) {
	p := suite.Start(t, "all", suite.Env(t))
	p.WaitReady(t)

	logins, _ := loadDemo(t, p)
	first := meetingsTableCounts(t, p)
	for _, table := range []string{"organizations", "people", "memberships", "accounts", "meetings"} {
		if first[table] == 0 {
			t.Errorf("the demo left table %s empty (counts %v)", table, first)
		}
	}
	if n := first["people"]; n < 38 || n > 45 {
		t.Errorf("%d people, want about forty", n)
	}
	if n := first["organizations"]; n < 6 || n > 8 {
		t.Errorf("%d organisations, want the bloc and 5-6 below it", n)
	}

	again, stderr := loadDemo(t, p)
	if second := meetingsTableCounts(t, p); !maps.Equal(first, second) {
		t.Errorf("the second run changed the data:\nfirst  %v\nsecond %v", first, second)
	}
	if !strings.Contains(stderr, "nothing changed") {
		t.Errorf("second run's stderr %q does not say nothing changed", stderr)
	}
	if !maps.Equal(logins, again) {
		t.Errorf("the two runs printed different logins:\n%v\n%v", logins, again)
	}

	// The directory as the system administrator sees it.
	admin := newAuthClient(t, p)
	admin.login(logins["system admin"])
	var orgs struct {
		Organizations []struct {
			ID, Name, ParentID, Kind string
		} `json:"organizations"`
	}
	if code := admin.getJSON("/api/v1/organizations", &orgs); code != http.StatusOK {
		t.Fatalf("list organisations: %d", code)
	}
	var names []string
	for _, o := range orgs.Organizations {
		names = append(names, o.Name)
	}
	for _, want := range []string{"Đảng bộ Khối các cơ quan và doanh nghiệp tỉnh Yên Bái", "Chi bộ VNPT Văn Yên"} {
		if !slices.Contains(names, want) {
			t.Errorf("organisation %q missing from %v", want, names)
		}
	}
	// The VNPT Văn Yên cell has a probationary and an excused member.
	var vanYen string
	for _, o := range orgs.Organizations {
		if o.Name == "Chi bộ VNPT Văn Yên" {
			vanYen = o.ID
		}
	}
	var members struct {
		Memberships []struct {
			Standing string `json:"standing"`
			Excused  bool   `json:"excused"`
		} `json:"memberships"`
	}
	if code := admin.getJSON("/api/v1/organizations/"+vanYen+"/members", &members); code != http.StatusOK {
		t.Fatalf("members of Chi bộ VNPT Văn Yên: %d", code)
	}
	var probationary, excused int
	for _, ms := range members.Memberships {
		if ms.Standing == "STANDING_PROBATIONARY" {
			probationary++
		}
		if ms.Excused {
			excused++
		}
	}
	if len(members.Memberships) < 5 || probationary != 1 || excused != 1 {
		t.Errorf("Chi bộ VNPT Văn Yên: %d members, %d probationary, %d excused; want one of each", len(members.Memberships), probationary, excused)
	}

	// Names are searchable with or without diacritics.
	for _, q := range []string{"Nguyễn Mạnh Cường", "nguyen manh cuong"} {
		var found struct {
			People []struct {
				FullName string `json:"fullName"`
			} `json:"people"`
		}
		if code := admin.getJSON("/api/v1/people?query="+strings.ReplaceAll(q, " ", "+"), &found); code != http.StatusOK ||
			len(found.People) == 0 || found.People[0].FullName != "Nguyễn Mạnh Cường" {
			t.Errorf("search %q: %d %+v", q, code, found)
		}
	}

	// Today's meeting, as the chair sees it.
	chair := newAuthClient(t, p)
	chair.login(logins["chair"])
	m := chair.todaysDemoMeeting()
	if m.State != "MEETING_STATE_SCHEDULED" || len(m.Agenda) < 5 || len(m.Agenda) > 6 {
		t.Errorf("demo meeting: state %s, %d agenda items; want scheduled with 5-6 items", m.State, len(m.Agenda))
	}
	if m.MyRole != "PARTICIPANT_ROLE_CHAIR" {
		t.Errorf("the chair's role in the demo meeting is %q", m.MyRole)
	}
	roles := map[string]int{}
	for _, pt := range m.Participants {
		roles[pt.Role]++
	}
	if roles["PARTICIPANT_ROLE_CHAIR"] != 1 || roles["PARTICIPANT_ROLE_MINUTE_TAKER"] != 1 ||
		roles["PARTICIPANT_ROLE_OBSERVER"] != 1 || roles["PARTICIPANT_ROLE_MEMBER"] < 4 {
		t.Errorf("participants by role %v: want a chair, a minute-taker, an observer and the standing committee", roles)
	}

	// The observer is not a member of the bloc but sees the meeting.
	observer := newAuthClient(t, p)
	me := observer.login(logins["observer"])
	if len(me.Principal.OrganizationIDs) != 0 {
		t.Errorf("the observer is a member of %v; they come from above the bloc", me.Principal.OrganizationIDs)
	}
	if got := observer.todaysDemoMeeting(); got.ID != m.ID || got.MyRole != "PARTICIPANT_ROLE_OBSERVER" {
		t.Errorf("observer sees %s as %s", got.ID, got.MyRole)
	}
}
