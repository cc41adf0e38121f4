package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ecabinet/ecabinet/e2e/suite"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
)

const (
	tablets      = 200
	agendaItems  = 15
	participants = 40
	advances     = 20
	getRequests  = 2000
	concurrency  = 16
)

// BenchmarkMeetingDay: 200 tablets connected to the live channel while the
// minute-taker advances the agenda, and GetMeeting (15 agenda items, 40
// participants) through the gateway, with the same call straight to the
// meetings service over gRPC as the baseline.
func BenchmarkMeetingDay(b *testing.B) {
	p := suite.Start(b, "all", suite.Env(b))
	p.WaitReady(b)
	admin := identity.Claims{Subject: "bench-admin", Name: "Bench", Roles: []string{identity.RoleSystemAdmin}}
	seed, err := identity.DecodeSeed(p.Env["IDENTITY_SIGNING_KEY"])
	if err != nil {
		b.Fatal(err)
	}
	signer, err := identity.NewSigner(seed)
	if err != nil {
		b.Fatal(err)
	}
	conn, err := grpc.NewClient(p.GRPCAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(identity.UnaryClientInterceptor(signer)))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ctx := identity.NewContext(context.Background(), admin)
	meetingID, itemIDs := setUpMeeting(b, ctx, conn)
	token := p.Token(b, admin)

	for i := 0; i < b.N; i++ {
		restRate, restLat := loadGetMeeting(b, func() error {
			req, _ := http.NewRequest(http.MethodGet, p.BaseURL+"/api/v1/meetings/"+meetingID, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			var out struct {
				Meeting struct {
					Agenda       []json.RawMessage `json:"agenda"`
					Participants []json.RawMessage `json:"participants"`
				} `json:"meeting"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				return err
			}
			if resp.StatusCode != 200 || len(out.Meeting.Agenda) != agendaItems || len(out.Meeting.Participants) < participants {
				return fmt.Errorf("GET meeting: %d, %d items, %d participants", resp.StatusCode, len(out.Meeting.Agenda), len(out.Meeting.Participants))
			}
			return nil
		})
		client := meetingsv1.NewMeetingsServiceClient(conn)
		grpcRate, grpcLat := loadGetMeeting(b, func() error {
			_, err := client.GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: meetingID})
			return err
		})
		live := liveFanOut(b, p, token, ctx, client, meetingID, itemIDs)

		b.ReportMetric(restRate, "rest-req/s")
		b.ReportMetric(float64(live.p99.Microseconds())/1000, "live-p99-ms")
		fmt.Printf("\nmeeting day (%d agenda items, %d participants):\n", agendaItems, participants)
		fmt.Printf("  GetMeeting via gateway REST: %7.0f req/s  p50 %v  p99 %v\n", restRate, restLat.p50, restLat.p99)
		fmt.Printf("  GetMeeting via gRPC (base):  %7.0f req/s  p50 %v  p99 %v\n", grpcRate, grpcLat.p50, grpcLat.p99)
		fmt.Printf("  agenda advanced → %d tablets: %d deliveries  p50 %v  p99 %v  [budget p99 < 100ms at 1,000 tablets]\n\n",
			tablets, live.n, live.p50, live.p99)
	}
}

type latencies struct {
	n        int
	p50, p99 time.Duration
}

func summarise(ds []time.Duration) latencies {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return latencies{n: len(ds), p50: ds[len(ds)/2].Round(time.Microsecond), p99: ds[len(ds)*99/100].Round(time.Microsecond)}
}

// loadGetMeeting sends getRequests calls from concurrency workers.
func loadGetMeeting(b *testing.B, call func() error) (float64, latencies) {
	b.Helper()
	var (
		mu  sync.Mutex
		all []time.Duration
		wg  sync.WaitGroup
	)
	jobs := make(chan struct{}, getRequests)
	for range getRequests {
		jobs <- struct{}{}
	}
	close(jobs)
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			var mine []time.Duration
			for range jobs {
				t := time.Now()
				if err := call(); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	return float64(len(all)) / time.Since(start).Seconds(), summarise(all)
}

// liveFanOut connects the tablets, advances the agenda and measures, per
// tablet, the time from the call that advanced it to the event's arrival.
func liveFanOut(b *testing.B, p *suite.Process, token string, ctx context.Context, client meetingsv1.MeetingsServiceClient, meetingID string, items []string) latencies {
	b.Helper()
	wsURL := strings.Replace(p.BaseURL, "http://", "ws://", 1) + "/api/v1/live"
	dctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conns := make([]*websocket.Conn, tablets)
	for i := range conns {
		c, _, err := websocket.Dial(dctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
		if err != nil {
			b.Fatalf("tablet %d: %v", i, err)
		}
		c.SetReadLimit(1 << 20)
		defer c.CloseNow()
		if _, _, err := c.Read(dctx); err != nil { // hello
			b.Fatal(err)
		}
		conns[i] = c
	}

	sent := make([]time.Time, advances)
	var (
		mu  sync.Mutex
		all []time.Duration
		wg  sync.WaitGroup
	)
	for _, c := range conns {
		wg.Go(func() {
			got := 0
			for got < advances {
				_, raw, err := c.Read(dctx)
				if err != nil {
					b.Error(err)
					return
				}
				arrived := time.Now()
				var f struct {
					EventType string `json:"event_type"`
					Data      struct {
						CurrentAgendaItemID string `json:"currentAgendaItemId"`
					} `json:"data"`
				}
				if json.Unmarshal(raw, &f) != nil || f.EventType != "ecabinet.meetings.v1.AgendaAdvanced" {
					continue
				}
				// Events arrive in order, one per advance: this is advance `got`.
				if want := items[got%len(items)]; f.Data.CurrentAgendaItemID != want {
					b.Errorf("advance %d: current item %q, want %q", got, f.Data.CurrentAgendaItemID, want)
					return
				}
				mu.Lock()
				all = append(all, arrived.Sub(sent[got]))
				mu.Unlock()
				got++
			}
		})
	}
	for i := range advances {
		mu.Lock()
		sent[i] = time.Now()
		mu.Unlock()
		if _, err := client.SetCurrentAgendaItem(ctx, &meetingsv1.SetCurrentAgendaItemRequest{MeetingId: meetingID, AgendaItemId: items[i%len(items)]}); err != nil {
			b.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // a minute-taker's pace, compressed
	}
	wg.Wait()
	return summarise(all)
}

func setUpMeeting(b *testing.B, ctx context.Context, conn *grpc.ClientConn) (string, []string) {
	b.Helper()
	dir := meetingsv1.NewDirectoryServiceClient(conn)
	mtg := meetingsv1.NewMeetingsServiceClient(conn)
	org, err := dir.CreateOrganization(ctx, &meetingsv1.CreateOrganizationRequest{
		Name: "Đảng bộ Khối (benchmark)", Kind: meetingsv1.OrganizationKind_ORGANIZATION_KIND_BLOC_COMMITTEE})
	if err != nil {
		b.Fatalf("create organisation: %v", err)
	}
	orgID := org.GetOrganization().GetId()
	var people []string
	for i := range participants {
		person, err := dir.CreatePerson(ctx, &meetingsv1.CreatePersonRequest{FullName: fmt.Sprintf("Nguyễn Văn Thành %02d", i)})
		if err != nil {
			b.Fatalf("create person: %v", err)
		}
		id := person.GetPerson().GetId()
		people = append(people, id)
		if _, err := dir.AddMembership(ctx, &meetingsv1.AddMembershipRequest{PersonId: id, OrganizationId: orgID,
			Body: meetingsv1.BodyKind_BODY_KIND_STANDING_COMMITTEE, Role: meetingsv1.PartyRole_PARTY_ROLE_MEMBER,
			Standing: meetingsv1.Standing_STANDING_OFFICIAL}); err != nil {
			b.Fatalf("add membership: %v", err)
		}
	}
	start := time.Now().Add(time.Hour)
	m, err := mtg.CreateMeeting(ctx, &meetingsv1.CreateMeetingRequest{OrganizationId: orgID, Title: "Hội nghị Ban Thường vụ (benchmark)",
		Kind: meetingsv1.MeetingKind_MEETING_KIND_STANDING_COMMITTEE, Place: "Hội trường", StartsAt: timestamppb.New(start),
		EndsAt: timestamppb.New(start.Add(3 * time.Hour)), Body: meetingsv1.BodyKind_BODY_KIND_STANDING_COMMITTEE})
	if err != nil {
		b.Fatalf("create meeting: %v", err)
	}
	id := m.GetMeeting().GetId()
	if _, err := mtg.AddParticipants(ctx, &meetingsv1.AddParticipantsRequest{MeetingId: id, FromBody: true}); err != nil {
		b.Fatalf("add participants: %v", err)
	}
	for person, role := range map[string]meetingsv1.ParticipantRole{people[0]: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR, people[1]: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER} {
		if _, err := mtg.UpdateParticipant(ctx, &meetingsv1.UpdateParticipantRequest{MeetingId: id, PersonId: person, Role: role}); err != nil {
			b.Fatalf("set role: %v", err)
		}
	}
	var items []string
	for i := range agendaItems {
		r, err := mtg.AddAgendaItem(ctx, &meetingsv1.AddAgendaItemRequest{MeetingId: id, Title: fmt.Sprintf("Nội dung %d: báo cáo và thảo luận", i+1), DurationMinutes: 15})
		if err != nil {
			b.Fatalf("add agenda item: %v", err)
		}
		agenda := r.GetMeeting().GetAgenda()
		items = append(items, agenda[len(agenda)-1].GetId())
	}
	got, err := mtg.GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: id})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := mtg.ScheduleMeeting(ctx, &meetingsv1.ScheduleMeetingRequest{MeetingId: id, ExpectedVersion: got.GetMeeting().GetVersion()}); err != nil {
		b.Fatalf("schedule: %v", err)
	}
	got, _ = mtg.GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: id})
	if _, err := mtg.StartMeeting(ctx, &meetingsv1.StartMeetingRequest{MeetingId: id, ExpectedVersion: got.GetMeeting().GetVersion()}); err != nil {
		b.Fatalf("start: %v", err)
	}
	return id, items
}
