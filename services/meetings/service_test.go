package meetings

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/pg"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var start = time.Date(2026, 12, 15, 1, 30, 0, 0, time.UTC)

func newMeeting(org string) *meetingsv1.CreateMeetingRequest {
	return &meetingsv1.CreateMeetingRequest{
		OrganizationId: org,
		Title:          "Sinh hoạt chi bộ thường kỳ tháng 12",
		Kind:           meetingsv1.MeetingKind_MEETING_KIND_CELL_REGULAR,
		Place:          "Phòng họp số 2",
		Online:         true,
		StartsAt:       timestamppb.New(start),
		EndsAt:         timestamppb.New(start.Add(90 * time.Minute)),
	}
}

func TestCreateGetList(t *testing.T) {
	w := newWorld(t)
	ctx := as(orgAdmin("org-a"))
	req := newMeeting("org-a")
	req.Title = "  Ho\u0323p Ban Thường vụ  " // decomposed "ọ", padded

	created, err := w.client.CreateMeeting(ctx, req)
	if err != nil {
		t.Fatalf("CreateMeeting: %v", err)
	}
	m := created.GetMeeting()
	if _, err := uuid.Parse(m.GetId()); err != nil {
		t.Errorf("id %q is not a UUID", m.GetId())
	}
	if m.GetCreateTime() == nil {
		t.Error("create_time not set")
	}
	want := &meetingsv1.Meeting{
		Id:             m.GetId(),
		OrganizationId: "org-a",
		Title:          "H\u1ecdp Ban Thường vụ",
		Kind:           meetingsv1.MeetingKind_MEETING_KIND_CELL_REGULAR,
		Place:          "Phòng họp số 2",
		Online:         true,
		StartsAt:       req.GetStartsAt(),
		EndsAt:         req.GetEndsAt(),
		State:          meetingsv1.MeetingState_MEETING_STATE_DRAFT,
		Version:        1,
		CreateTime:     m.GetCreateTime(),
	}
	if diff := cmp.Diff(want, m, protocmp.Transform()); diff != "" {
		t.Errorf("created meeting (-want +got):\n%s", diff)
	}

	got, err := w.client.GetMeeting(as(member("org-a")), &meetingsv1.GetMeetingRequest{MeetingId: m.GetId()})
	if err != nil {
		t.Fatalf("GetMeeting: %v", err)
	}
	if diff := cmp.Diff(m, got.GetMeeting(), protocmp.Transform()); diff != "" {
		t.Errorf("GetMeeting (-created +got):\n%s", diff)
	}

	for _, filter := range []string{"org-a", ""} {
		list, err := w.client.ListMeetings(as(member("org-a")), &meetingsv1.ListMeetingsRequest{OrganizationId: filter})
		if err != nil {
			t.Fatalf("ListMeetings(%q): %v", filter, err)
		}
		if diff := cmp.Diff([]*meetingsv1.Meeting{m}, list.GetMeetings(), protocmp.Transform()); diff != "" {
			t.Errorf("ListMeetings(%q) (-want +got):\n%s", filter, diff)
		}
		if list.GetNextPageToken() != "" {
			t.Errorf("ListMeetings(%q): unexpected next page token", filter)
		}
	}
}

func TestCreateMeetingPublishesEvent(t *testing.T) {
	w := newWorld(t)
	admin := orgAdmin("org-a")
	created, err := w.client.CreateMeeting(as(admin), newMeeting("org-a"))
	if err != nil {
		t.Fatalf("CreateMeeting: %v", err)
	}
	m := created.GetMeeting()

	msg := next(t, w.consumer(t))
	if want := w.prefix + "ecabinet.meetings.v1." + m.GetId() + ".created"; msg.Subject() != want {
		t.Errorf("subject = %q, want %q", msg.Subject(), want)
	}
	var ev meetingsv1.MeetingCreated
	if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
		t.Fatalf("payload: %v", err)
	}
	if diff := cmp.Diff(m, ev.GetMeeting(), protocmp.Transform()); diff != "" {
		t.Errorf("event meeting (-created +event):\n%s", diff)
	}
	meta := ev.GetMeta()
	if _, err := uuid.Parse(meta.GetEventId()); err != nil {
		t.Errorf("event id %q is not a UUID", meta.GetEventId())
	}
	if meta.GetActorId() != admin.Subject || meta.GetAggregateId() != m.GetId() ||
		meta.GetAggregateVersion() != 1 || meta.GetOrganizationId() != "org-a" || meta.GetOccurredAt() == nil {
		t.Errorf("meta = %v, want actor %s, aggregate %s v1, org org-a, occurred_at set", meta, admin.Subject, m.GetId())
	}
	h := msg.Headers()
	for key, want := range map[string]string{
		"Nats-Msg-Id":   meta.GetEventId(),
		"Ecabinet-Type": "ecabinet.meetings.v1.MeetingCreated",
		"Ecabinet-Org":  "org-a",
	} {
		if got := h.Get(key); got != want {
			t.Errorf("header %s = %q, want %q", key, got, want)
		}
	}
}

// A refused create writes nothing: no row and no event. The next valid
// create's event is the first message on the stream.
func TestRefusedCreateLeavesNoTrace(t *testing.T) {
	w := newWorld(t)
	bad := newMeeting("org-a")
	bad.Title = ""
	if _, err := w.client.CreateMeeting(as(orgAdmin("org-a")), bad); err == nil {
		t.Fatal("CreateMeeting without title succeeded")
	}
	if _, err := w.client.CreateMeeting(as(member("org-a")), newMeeting("org-a")); err == nil {
		t.Fatal("CreateMeeting by a plain member succeeded")
	}
	var rows int
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM meetings`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Fatalf("%d meeting rows after refused creates, want 0", rows)
	}

	good, err := w.client.CreateMeeting(as(orgAdmin("org-a")), newMeeting("org-a"))
	if err != nil {
		t.Fatalf("CreateMeeting: %v", err)
	}
	msg := next(t, w.consumer(t))
	if !strings.Contains(msg.Subject(), good.GetMeeting().GetId()) {
		t.Fatalf("first event %q is not the valid meeting's %s", msg.Subject(), good.GetMeeting().GetId())
	}
	if n := streamMsgs(t, w); n != 1 {
		t.Fatalf("stream holds %d messages, want 1", n)
	}
}

func TestCreateMeetingValidation(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name   string
		mutate func(*meetingsv1.CreateMeetingRequest)
		want   []string
	}{
		{"no title", func(r *meetingsv1.CreateMeetingRequest) { r.Title = "   " }, []string{"title"}},
		{"long title", func(r *meetingsv1.CreateMeetingRequest) { r.Title = strings.Repeat("ệ", 301) }, []string{"title"}},
		{"no kind", func(r *meetingsv1.CreateMeetingRequest) { r.Kind = 0 }, []string{"kind"}},
		{"unknown kind", func(r *meetingsv1.CreateMeetingRequest) { r.Kind = 42 }, []string{"kind"}},
		{"no start", func(r *meetingsv1.CreateMeetingRequest) { r.StartsAt = nil }, []string{"starts_at"}},
		{"end before start", func(r *meetingsv1.CreateMeetingRequest) { r.EndsAt = timestamppb.New(start.Add(-time.Hour)) }, []string{"ends_at"}},
		{"long place", func(r *meetingsv1.CreateMeetingRequest) { r.Place = strings.Repeat("x", 301) }, []string{"place"}},
		{"no organization", func(r *meetingsv1.CreateMeetingRequest) { r.OrganizationId = "" }, []string{"organization_id"}},
		{"several", func(r *meetingsv1.CreateMeetingRequest) { r.Title, r.Kind, r.StartsAt = "", 0, nil }, []string{"title", "kind", "starts_at"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newMeeting("org-a")
			tt.mutate(req)
			_, err := w.client.CreateMeeting(as(orgAdmin("org-a")), req)
			if diff := cmp.Diff(tt.want, violatedFields(t, err)); diff != "" {
				t.Errorf("violated fields (-want +got):\n%s", diff)
			}
		})
	}

	for _, id := range []string{"", "not-a-uuid"} {
		_, err := w.client.GetMeeting(as(member("org-a")), &meetingsv1.GetMeetingRequest{MeetingId: id})
		if diff := cmp.Diff([]string{"meeting_id"}, violatedFields(t, err)); diff != "" {
			t.Errorf("GetMeeting(%q) violated fields (-want +got):\n%s", id, diff)
		}
	}
	_, err := w.client.ListMeetings(as(member("org-a")), &meetingsv1.ListMeetingsRequest{PageSize: -1, PageToken: "%%%"})
	if diff := cmp.Diff([]string{"page_size", "page_token"}, violatedFields(t, err)); diff != "" {
		t.Errorf("ListMeetings violated fields (-want +got):\n%s", diff)
	}
}

func TestUnauthenticated(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background() // no claims: the client sends no token
	_, err := w.client.CreateMeeting(ctx, newMeeting("org-a"))
	wantCode(t, err, codes.Unauthenticated)
	_, err = w.client.GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: uuid.NewString()})
	wantCode(t, err, codes.Unauthenticated)
	_, err = w.client.ListMeetings(ctx, &meetingsv1.ListMeetingsRequest{})
	wantCode(t, err, codes.Unauthenticated)

	// The handlers refuse on their own too, should the interceptor be missing.
	a := &api{s: w.svc}
	_, err = a.CreateMeeting(ctx, newMeeting("org-a"))
	wantCode(t, err, codes.Unauthenticated)
	_, err = a.GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: uuid.NewString()})
	wantCode(t, err, codes.Unauthenticated)
	_, err = a.ListMeetings(ctx, &meetingsv1.ListMeetingsRequest{})
	wantCode(t, err, codes.Unauthenticated)
}

func TestOtherOrganisationSeesNothing(t *testing.T) {
	w := newWorld(t)
	created, err := w.client.CreateMeeting(as(orgAdmin("org-a")), newMeeting("org-a"))
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetMeeting().GetId()

	for _, c := range []identity.Claims{member("org-b"), orgAdmin("org-b")} {
		_, err := w.client.GetMeeting(as(c), &meetingsv1.GetMeetingRequest{MeetingId: id})
		st := wantCode(t, err, codes.NotFound)
		// Same answer as for an id that does not exist at all.
		_, err = w.client.GetMeeting(as(c), &meetingsv1.GetMeetingRequest{MeetingId: uuid.NewString()})
		wantCode(t, err, codes.NotFound)
		if strings.Contains(st.Message(), "org-a") {
			t.Errorf("NotFound message %q names the owning organisation", st.Message())
		}
		for _, filter := range []string{"org-a", ""} {
			list, err := w.client.ListMeetings(as(c), &meetingsv1.ListMeetingsRequest{OrganizationId: filter})
			if err != nil {
				t.Fatalf("ListMeetings(%q) as %s: %v", filter, c.Subject, err)
			}
			if len(list.GetMeetings()) != 0 {
				t.Errorf("ListMeetings(%q) as %s = %v, want nothing", filter, c.Subject, list.GetMeetings())
			}
		}
	}

	// A system administrator sees every organisation.
	if _, err := w.client.GetMeeting(as(systemAdmin()), &meetingsv1.GetMeetingRequest{MeetingId: id}); err != nil {
		t.Errorf("GetMeeting as system admin: %v", err)
	}
	list, err := w.client.ListMeetings(as(systemAdmin()), &meetingsv1.ListMeetingsRequest{})
	if err != nil || len(list.GetMeetings()) != 1 {
		t.Errorf("ListMeetings as system admin = %v, %v; want the one meeting", list.GetMeetings(), err)
	}
}

func TestCreatePermissions(t *testing.T) {
	w := newWorld(t)
	for _, c := range []identity.Claims{member("org-a"), orgAdmin("org-b")} {
		_, err := w.client.CreateMeeting(as(c), newMeeting("org-a"))
		wantCode(t, err, codes.PermissionDenied)
		// Permission is decided before the rest of the request is looked at.
		bad := newMeeting("org-a")
		bad.Title = ""
		_, err = w.client.CreateMeeting(as(c), bad)
		wantCode(t, err, codes.PermissionDenied)
	}
	if _, err := w.client.CreateMeeting(as(systemAdmin()), newMeeting("org-a")); err != nil {
		t.Errorf("CreateMeeting as system admin: %v", err)
	}
}

func TestListMeetingsPages(t *testing.T) {
	w := newWorld(t)
	ctx := as(identity.Claims{Subject: "admin", Orgs: []string{"org-a", "org-b"}, AdminOrgs: []string{"org-a", "org-b"}})
	var want []string // newest start first
	for i := range 5 {
		req := newMeeting("org-a")
		req.Title = fmt.Sprintf("Họp %d", i)
		req.StartsAt = timestamppb.New(start.Add(time.Duration(i) * 24 * time.Hour))
		req.EndsAt = nil
		created, err := w.client.CreateMeeting(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		want = append([]string{created.GetMeeting().GetId()}, want...)
	}
	if _, err := w.client.CreateMeeting(ctx, newMeeting("org-b")); err != nil {
		t.Fatal(err)
	}

	var got []string
	var pages int
	req := &meetingsv1.ListMeetingsRequest{OrganizationId: "org-a", PageSize: 2}
	for {
		resp, err := w.client.ListMeetings(ctx, req)
		if err != nil {
			t.Fatalf("ListMeetings page %d: %v", pages, err)
		}
		pages++
		for _, m := range resp.GetMeetings() {
			got = append(got, m.GetId())
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		// A token is bound to its filter.
		_, err = w.client.ListMeetings(ctx, &meetingsv1.ListMeetingsRequest{OrganizationId: "org-b", PageToken: resp.GetNextPageToken()})
		if diff := cmp.Diff([]string{"page_token"}, violatedFields(t, err)); diff != "" {
			t.Errorf("token reused for another organisation (-want +got):\n%s", diff)
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if pages != 3 {
		t.Errorf("%d pages of 2 for 5 meetings, want 3", pages)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("listed ids (-want +got):\n%s", diff)
	}

	all, err := w.client.ListMeetings(ctx, &meetingsv1.ListMeetingsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.GetMeetings()) != 6 {
		t.Errorf("unfiltered list has %d meetings, want 6 (both organisations)", len(all.GetMeetings()))
	}
}

func TestPageSize(t *testing.T) {
	for in, want := range map[int32]int{0: 50, 1: 1, 200: 200, 201: 200, 1 << 30: 200} {
		if got, ok := pageSize(in); !ok || got != want {
			t.Errorf("pageSize(%d) = %d, %v; want %d, true", in, got, ok, want)
		}
	}
	if _, ok := pageSize(-1); ok {
		t.Error("pageSize(-1) accepted")
	}
}

// Until Run has migrated the schema, RPCs answer Unavailable rather than
// failing on missing tables.
func TestUnavailableBeforeMigrations(t *testing.T) {
	schema := testenv.Schema(t, Name) // created by nobody: Run has not migrated it
	pool, err := pg.Connect(testenv.DatabaseURL(t), schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	nc, js := testenv.JetStream(t)
	svc := New(Deps{Pool: pool, Schema: schema, JS: js, NC: nc})
	a := &api{s: svc}
	ctx := as(orgAdmin("org-a"))
	_, err = a.CreateMeeting(ctx, newMeeting("org-a"))
	st := wantCode(t, err, codes.Unavailable)
	if !strings.Contains(st.Message(), "migrations") {
		t.Errorf("message %q does not say why", st.Message())
	}
	_, err = a.GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: uuid.NewString()})
	wantCode(t, err, codes.Unavailable)
	_, err = a.ListMeetings(ctx, &meetingsv1.ListMeetingsRequest{})
	wantCode(t, err, codes.Unavailable)
	// Nor does the service call itself ready.
	if err := a.s.Probes()[0].Check(context.Background()); err == nil {
		t.Error("schema probe passes before migrations")
	}
}

func TestProbes(t *testing.T) {
	w := newWorld(t)
	var names []string
	for _, p := range w.svc.Probes() {
		names = append(names, p.Name)
		if err := p.Check(context.Background()); err != nil {
			t.Errorf("probe %s: %v", p.Name, err)
		}
	}
	if diff := cmp.Diff([]string{Name + ".schema", "postgres", "nats"}, names); diff != "" {
		t.Errorf("probes (-want +got):\n%s", diff)
	}
}
