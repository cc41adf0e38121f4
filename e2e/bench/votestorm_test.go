package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ecabinet/ecabinet/e2e/suite"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
)

const (
	stormVoters = 1000
	// How many attendance marks the set-up sends at once (they queue on the
	// meeting's row lock anyway).
	stormSetupWorkers = 8
)

// BenchmarkVoteStorm: 1,000 checked-in voters of one meeting cast a secret
// ballot in one burst through the gateway (every request released at once,
// each voter on its own connection, as 1,000 tablets would). It reports
// votes/s, p50/p99 per ballot, the time from the chair's close to the
// published result, and checks that exactly 1,000 ballots were counted
// (result and counted-ballot list). The baseline, in the same run: the same
// number of plain two-row transactions (one row in a roll, one in a box)
// straight into the same PostgreSQL with pgx, with the same number in
// flight, through a pool configured as the services' own (pgxpool's
// defaults). A second round repeats both with 50 in flight (stormInFlight).
// Figures are printed, never asserted; the count is. The HTTP client runs
// in this test process and competes with the server for the same cores;
// the CPU and allocations per ballot of the ecabinet process are printed
// too, as they hardly move with the machine's load.
func BenchmarkVoteStorm(b *testing.B) {
	env := suite.Env(b)
	env["LOG_LEVEL"] = "warn"
	p := suite.Start(b, "all", env)
	p.WaitReady(b)

	conn := dialSuite(b, p)
	defer conn.Close()
	admin := identity.Claims{Subject: "bench-admin", Name: "Bench", Roles: []string{identity.RoleSystemAdmin}}
	ctx := identity.NewContext(context.Background(), admin)

	setupStart := time.Now()
	st := setUpStormMeeting(b, ctx, conn)
	tokens := make([]string, len(st.voters))
	for i, v := range st.voters {
		tokens[i] = p.Token(b, identity.Claims{Subject: v.id, Name: v.name, Orgs: []string{st.org}})
	}
	chair := p.Token(b, identity.Claims{Subject: st.voters[0].id, Name: st.voters[0].name, Orgs: []string{st.org}})
	fmt.Printf("\nvote storm set-up: %d members imported, added and checked in through the API in %v\n",
		len(st.voters), time.Since(setupStart).Round(time.Millisecond))

	// Each voter a connection of its own; the client never waits for one.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: stormVoters + 8, MaxConnsPerHost: 0}, Timeout: 2 * time.Minute}

	for i := 0; i < b.N; i++ {
		fmt.Printf("\nvote storm (%d voters, secret motion; same run, same machine):\n", stormVoters)
		for _, inFlight := range stormInFlight {
			r := stormRound(b, client, p, chair, tokens, st, inFlight)
			if inFlight == stormVoters {
				b.ReportMetric(r.rate, "votes/s")
				b.ReportMetric(float64(r.lat.p99.Microseconds())/1000, "vote-p99-ms")
			}
		}
		fmt.Printf("  [budget: ≥ 0.40× the baseline's rate, p99 < 100ms; DESIGN.md: ≥ 2,000 votes/s]\n\n")
	}
}

// stormInFlight: how many ballots are in flight at once. All 1,000 at once
// is the burst itself; then its p99 is mostly time spent queueing (the
// last of 1,000 waits for the 999 before it, in the baseline too), so a
// second round with 50 in flight — a room where people press "send" a few
// at a time — shows the latency of one ballot under load.
var stormInFlight = []int{stormVoters, 50}

type stormFigures struct {
	rate float64
	lat  latencies
}

// stormRound: the chair opens a new poll, every voter casts one ballot
// with inFlight requests at a time, the chair closes and publishes, the
// count is checked; then the baseline with the same concurrency.
func stormRound(b *testing.B, client *http.Client, p *suite.Process, chair string, tokens []string, st stormSetup, inFlight int) stormFigures {
	b.Helper()
	pollID, agree := createStormPoll(b, client, p, chair, st)
	before := readProcCost(b, p)
	lat, wall, failures := burstN(stormVoters, inFlight, func(i int) error {
		return castStormBallot(client, p, tokens[i], pollID, agree)
	})
	cost := before.perRequest(readProcCost(b, p), stormVoters)
	load := loadAverage()
	for _, f := range failures {
		b.Error(f)
	}

	// Close → published.
	t0 := time.Now()
	var closed struct {
		Poll struct {
			Version string `json:"version"`
		} `json:"poll"`
	}
	if code := post(b, client, p, chair, "/api/v1/polls/"+pollID+":close", map[string]any{}, &closed); code != http.StatusOK {
		b.Fatalf("close: %d", code)
	}
	if code := post(b, client, p, chair, "/api/v1/polls/"+pollID+":publish", map[string]any{"expectedVersion": closed.Poll.Version}, nil); code != http.StatusOK {
		b.Fatalf("publish: %d", code)
	}
	closeToPublished := time.Since(t0)

	// Exactly 1,000 counted: in the result and in the published list.
	var res struct {
		Result struct {
			BallotsCast int `json:"ballotsCast"`
			Counts      []struct {
				ChoiceID string `json:"choiceId"`
				Count    int    `json:"count"`
			} `json:"counts"`
		} `json:"result"`
	}
	reader := tokens[len(tokens)-1]
	if code := get(b, client, p, reader, "/api/v1/polls/"+pollID+"/result", &res); code != http.StatusOK {
		b.Fatalf("result: %d", code)
	}
	var list struct {
		Ballots []struct {
			ReceiptHash string `json:"receiptHash"`
		} `json:"ballots"`
	}
	if code := get(b, client, p, reader, "/api/v1/polls/"+pollID+"/ballots", &list); code != http.StatusOK {
		b.Fatalf("counted ballots: %d", code)
	}
	distinct := map[string]bool{}
	for _, x := range list.Ballots {
		distinct[x.ReceiptHash] = true
	}
	agreed := 0
	for _, c := range res.Result.Counts {
		if c.ChoiceID == agree {
			agreed = c.Count
		}
	}
	counted := res.Result.BallotsCast == stormVoters && len(list.Ballots) == stormVoters && len(distinct) == stormVoters && agreed == stormVoters
	if !counted {
		b.Errorf("counted: result says %d cast (%d agree), the list holds %d ballots (%d distinct receipts); want exactly %d",
			res.Result.BallotsCast, agreed, len(list.Ballots), len(distinct), stormVoters)
	}

	baseLat, baseWall, baseFailures := baselineTransactions(b, p.Env["DATABASE_URL"], inFlight)
	for _, f := range baseFailures {
		b.Error(f)
	}

	rate := float64(stormVoters) / wall.Seconds()
	baseRate := float64(stormVoters) / baseWall.Seconds()
	mark := "ok"
	if !counted {
		mark = "MISMATCH"
	}
	fmt.Printf("  %4d in flight  CastBallot via gateway REST:     %6.0f votes/s  p50 %-10v p99 %-10v (%d failed)\n",
		inFlight, rate, lat.p50, lat.p99, len(failures))
	fmt.Printf("                 2-row tx into PostgreSQL (base): %6.0f tx/s     p50 %-10v p99 %v\n", baseRate, baseLat.p50, baseLat.p99)
	fmt.Printf("                 ratio %.2f× baseline; close → published result %v; counted %d cast, %d listed, %d distinct receipts — %s\n",
		rate/baseRate, closeToPublished.Round(time.Millisecond), res.Result.BallotsCast, len(list.Ballots), len(distinct), mark)
	fmt.Printf("                 ecabinet process (gateway and services, not PostgreSQL): %s; load average %s\n", cost, load)
	return stormFigures{rate: rate, lat: lat}
}

type stormVoter struct{ id, name string }

type stormSetup struct {
	org, meeting, item string
	voters             []stormVoter
}

// setUpStormMeeting imports 1,000 official members into a new organisation
// with one spreadsheet (the way an organisation admin brings in a member
// list), makes a whole-organisation meeting of them (the first chairs, the
// second takes the minutes; both vote too), starts it and checks everyone
// in.
func setUpStormMeeting(b *testing.B, ctx context.Context, conn *grpc.ClientConn) stormSetup {
	b.Helper()
	dir := meetingsv1.NewDirectoryServiceClient(conn)
	mtg := meetingsv1.NewMeetingsServiceClient(conn)
	orgID := importedOrganization(b, ctx, dir, "Đảng bộ Khối (vote storm)", meetingsv1.OrganizationKind_ORGANIZATION_KIND_BLOC_COMMITTEE,
		stormVoters, "Nguyễn Văn Đại", 99)

	start := time.Now().Add(-10 * time.Minute)
	m, err := mtg.CreateMeeting(ctx, &meetingsv1.CreateMeetingRequest{OrganizationId: orgID, Title: "Đại hội Đảng bộ (vote storm)",
		Kind: meetingsv1.MeetingKind_MEETING_KIND_CELL_REGULAR, Place: "Hội trường lớn", StartsAt: timestamppb.New(start),
		EndsAt: timestamppb.New(start.Add(4 * time.Hour)), Body: meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS})
	if err != nil {
		b.Fatalf("create meeting: %v", err)
	}
	id := m.GetMeeting().GetId()
	added, err := mtg.AddParticipants(ctx, &meetingsv1.AddParticipantsRequest{MeetingId: id, FromBody: true})
	if err != nil {
		b.Fatalf("add participants: %v", err)
	}
	var voters []stormVoter
	for _, pt := range added.GetMeeting().GetParticipants() {
		voters = append(voters, stormVoter{id: pt.GetPersonId(), name: pt.GetFullName()})
	}
	if len(voters) != stormVoters {
		b.Fatalf("%d participants, want %d", len(voters), stormVoters)
	}
	for person, role := range map[string]meetingsv1.ParticipantRole{voters[0].id: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR, voters[1].id: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER} {
		if _, err := mtg.UpdateParticipant(ctx, &meetingsv1.UpdateParticipantRequest{MeetingId: id, PersonId: person, Role: role}); err != nil {
			b.Fatalf("set role: %v", err)
		}
	}
	r, err := mtg.AddAgendaItem(ctx, &meetingsv1.AddAgendaItemRequest{MeetingId: id, Title: "Biểu quyết thông qua Nghị quyết Đại hội", DurationMinutes: 15})
	if err != nil {
		b.Fatalf("add agenda item: %v", err)
	}
	item := r.GetMeeting().GetAgenda()[0].GetId()
	if _, err := mtg.ScheduleMeeting(ctx, &meetingsv1.ScheduleMeetingRequest{MeetingId: id}); err != nil {
		b.Fatalf("schedule: %v", err)
	}
	if _, err := mtg.StartMeeting(ctx, &meetingsv1.StartMeetingRequest{MeetingId: id}); err != nil {
		b.Fatalf("start: %v", err)
	}
	if _, err := mtg.SetCurrentAgendaItem(ctx, &meetingsv1.SetCurrentAgendaItemRequest{MeetingId: id, AgendaItemId: item}); err != nil {
		b.Fatalf("current item: %v", err)
	}
	_, _, failures := burstN(len(voters), stormSetupWorkers, func(i int) error {
		_, err := mtg.MarkAttendance(ctx, &meetingsv1.MarkAttendanceRequest{MeetingId: id, PersonId: voters[i].id, Attendance: meetingsv1.Attendance_ATTENDANCE_PRESENT})
		return err
	})
	if len(failures) > 0 {
		b.Fatalf("check-in: %d failed, first: %v", len(failures), failures[0])
	}
	return stormSetup{org: orgID, meeting: id, item: item, voters: voters}
}

// createStormPoll has the chair create and open a secret motion and checks
// that all 1,000 are entitled. It returns the poll and its "agree" choice.
func createStormPoll(b *testing.B, client *http.Client, p *suite.Process, chair string, st stormSetup) (string, string) {
	b.Helper()
	var created struct {
		Poll struct {
			ID      string `json:"id"`
			Version string `json:"version"`
			Choices []struct {
				ID string `json:"id"`
			} `json:"choices"`
		} `json:"poll"`
	}
	if code := post(b, client, p, chair, "/api/v1/meetings/"+st.meeting+"/polls", map[string]any{
		"organizationId": st.org, "agendaItemId": st.item, "kind": "POLL_KIND_MOTION", "secret": true,
		"title": "Thông qua Nghị quyết Đại hội nhiệm kỳ 2025–2030",
	}, &created); code != http.StatusOK || len(created.Poll.Choices) == 0 {
		b.Fatalf("create poll: %d %+v", code, created)
	}
	var opened struct {
		Poll struct {
			Entitled int `json:"entitled"`
		} `json:"poll"`
	}
	if code := post(b, client, p, chair, "/api/v1/polls/"+created.Poll.ID+":open", map[string]any{"expectedVersion": created.Poll.Version}, &opened); code != http.StatusOK {
		b.Fatalf("open poll: %d", code)
	}
	if opened.Poll.Entitled != stormVoters {
		b.Fatalf("%d voters entitled, want %d", opened.Poll.Entitled, stormVoters)
	}
	return created.Poll.ID, created.Poll.Choices[0].ID
}

func castStormBallot(client *http.Client, p *suite.Process, token, pollID, choice string) error {
	// A UUIDv4, as the tablets make one per ballot.
	k := make([]byte, 16)
	_, _ = rand.Read(k)
	k[6], k[8] = k[6]&0x0f|0x40, k[8]&0x3f|0x80
	key := fmt.Sprintf("%x-%x-%x-%x-%x", k[0:4], k[4:6], k[6:8], k[8:10], k[10:])
	body, _ := json.Marshal(map[string]any{"choiceIds": []string{choice}, "idempotencyKey": key})
	req, err := http.NewRequest(http.MethodPost, p.BaseURL+"/api/v1/polls/"+pollID+"/ballots", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ballot: %d %s", resp.StatusCode, raw)
	}
	var out struct {
		Receipt string `json:"receipt"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.Receipt == "" {
		return fmt.Errorf("ballot: no receipt in %s", raw)
	}
	return nil
}

// baselineTransactions runs stormVoters two-row transactions (the shape of
// a secret ballot: a row in the roll of who voted, a row in the box of
// ballots) into a scratch schema of the suite's database, inFlight at a
// time.
func baselineTransactions(b *testing.B, url string, inFlight int) (latencies, time.Duration, []error) {
	b.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url) // pgxpool's defaults, as pg.Connect gives every service
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `
		CREATE SCHEMA IF NOT EXISTS bench_baseline;
		DROP TABLE IF EXISTS bench_baseline.roll, bench_baseline.box;
		CREATE TABLE bench_baseline.roll (poll_id uuid NOT NULL, person_id bigint NOT NULL, PRIMARY KEY (poll_id, person_id));
		CREATE TABLE bench_baseline.box (poll_id uuid NOT NULL, receipt_hash bytea PRIMARY KEY, choice_ids text[] NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	poll := "01890000-0000-7000-8000-000000000001"
	lat, wall, failures := burstN(stormVoters, inFlight, func(i int) error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO bench_baseline.roll (poll_id, person_id) VALUES ($1, $2)`, poll, i); err != nil {
				return err
			}
			h := make([]byte, 32)
			_, _ = rand.Read(h)
			_, err := tx.Exec(ctx, `INSERT INTO bench_baseline.box (poll_id, receipt_hash, choice_ids) VALUES ($1, $2, $3)`, poll, h, []string{"agree"})
			return err
		})
	})
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM bench_baseline.box`).Scan(&n); err != nil || n != stormVoters {
		failures = append(failures, fmt.Errorf("baseline stored %d rows (%v), want %d", n, err, stormVoters))
	}
	return lat, wall, failures
}

// burstN runs n calls from workers goroutines, all released at once, and
// returns the latency of each call, the wall time from release to the last
// answer, and the failures.
func burstN(n, workers int, call func(i int) error) (latencies, time.Duration, []error) {
	var (
		mu       sync.Mutex
		all      = make([]time.Duration, 0, n)
		failures []error
		wg       sync.WaitGroup
		next     atomic.Int64
	)
	release := make(chan struct{})
	for range workers {
		wg.Go(func() {
			<-release
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t := time.Now()
				err := call(i)
				d := time.Since(t)
				mu.Lock()
				if err != nil {
					failures = append(failures, err)
				} else {
					all = append(all, d)
				}
				mu.Unlock()
			}
		})
	}
	start := time.Now()
	close(release)
	wg.Wait()
	wall := time.Since(start)
	if len(all) == 0 {
		return latencies{}, wall, failures
	}
	return summarise(all), wall, failures
}

func post(b *testing.B, client *http.Client, p *suite.Process, token, path string, body, out any) int {
	b.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, p.BaseURL+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	return doJSON(b, client, req, token, out)
}

func get(b *testing.B, client *http.Client, p *suite.Process, token, path string, out any) int {
	b.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.BaseURL+path, nil)
	return doJSON(b, client, req, token, out)
}

func doJSON(b *testing.B, client *http.Client, req *http.Request, token string, out any) int {
	b.Helper()
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		b.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.Logf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, raw)
		return resp.StatusCode
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			b.Fatalf("%s %s: %v in %s", req.Method, req.URL.Path, err, raw)
		}
	}
	return resp.StatusCode
}

// importedOrganization creates an organisation and imports n official members into it
// through the directory's CSV import (named "<person> 0001"…, card numbers
// "<card>.000001"…), returning its id.
func importedOrganization(b *testing.B, ctx context.Context, dir meetingsv1.DirectoryServiceClient, name string,
	kind meetingsv1.OrganizationKind, n int, person string, card int) string {
	b.Helper()
	org, err := dir.CreateOrganization(ctx, &meetingsv1.CreateOrganizationRequest{Name: name, Kind: kind})
	if err != nil {
		b.Fatalf("create organisation: %v", err)
	}
	id := org.GetOrganization().GetId()
	var csv strings.Builder
	csv.WriteString("Họ và tên,Số thẻ đảng,Chức vụ,Cơ quan,Loại đảng viên\n")
	for i := range n {
		fmt.Fprintf(&csv, "%s %04d,%d.%06d,Đảng viên,Toàn chi bộ,Chính thức\n", person, i, card, i)
	}
	imp, err := dir.ImportMembers(ctx, &meetingsv1.ImportMembersRequest{OrganizationId: id, Content: []byte(csv.String()), FileName: "members.csv"})
	if err != nil || !imp.GetApplied() || imp.GetMembershipsCreated() != int32(n) {
		b.Fatalf("import %d members: %v %v", n, imp, err)
	}
	return id
}
