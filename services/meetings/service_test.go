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
	"google.golang.org/grpc/status"
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
	org := w.orgWithRule(t, "Chi bộ VNPT Văn Yên", "", 1, 2)
	admin := adminOf(org)
	req := newMeeting(org)
	req.Title = "  Ho\u0323p Ban Thường vụ  " // decomposed "ọ", padded

	created, err := w.client.CreateMeeting(testenv.As(admin), req)
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
		OrganizationId: org,
		Title:          "H\u1ecdp Ban Thường vụ",
		Kind:           meetingsv1.MeetingKind_MEETING_KIND_CELL_REGULAR,
		Body:           meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS,
		Place:          "Phòng họp số 2",
		Online:         true,
		StartsAt:       req.GetStartsAt(),
		EndsAt:         req.GetEndsAt(),
		State:          meetingsv1.MeetingState_MEETING_STATE_DRAFT,
		Version:        1,
		CreateTime:     m.GetCreateTime(),
		// The organisation's rule, copied onto the meeting.
		Quorum: &meetingsv1.Quorum{Rule: "1/2"},
		// An administrator may run the meeting.
		MyRole: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER,
	}
	if diff := cmp.Diff(want, m, protocmp.Transform()); diff != "" {
		t.Errorf("created meeting (-want +got):\n%s", diff)
	}

	reader := memberClaims(org)
	got, err := w.client.GetMeeting(testenv.As(reader), &meetingsv1.GetMeetingRequest{MeetingId: m.GetId()})
	if err != nil {
		t.Fatalf("GetMeeting: %v", err)
	}
	want.MyRole = 0 // a plain member only reads
	if diff := cmp.Diff(want, got.GetMeeting(), protocmp.Transform()); diff != "" {
		t.Errorf("GetMeeting (-want +got):\n%s", diff)
	}

	summary := proto.CloneOf(want)
	summary.Quorum = nil // lists carry the meeting's own fields only
	for _, filter := range []string{org, ""} {
		list, err := w.client.ListMeetings(testenv.As(reader), &meetingsv1.ListMeetingsRequest{OrganizationId: filter})
		if err != nil {
			t.Fatalf("ListMeetings(%q): %v", filter, err)
		}
		if diff := cmp.Diff([]*meetingsv1.Meeting{summary}, list.GetMeetings(), protocmp.Transform()); diff != "" {
			t.Errorf("ListMeetings(%q) (-want +got):\n%s", filter, diff)
		}
		if list.GetNextPageToken() != "" {
			t.Errorf("ListMeetings(%q): unexpected next page token", filter)
		}
	}
}

func TestCreateMeetingBody(t *testing.T) {
	w := newWorld(t)
	org := w.org(t, "Đảng ủy Khối", "")
	req := newMeeting(org)
	req.Kind = meetingsv1.MeetingKind_MEETING_KIND_STANDING_COMMITTEE
	m, err := w.client.CreateMeeting(testenv.As(adminOf(org)), req)
	if err != nil || m.GetMeeting().GetBody() != meetingsv1.BodyKind_BODY_KIND_STANDING_COMMITTEE {
		t.Fatalf("standing committee meeting: %v, body %v", err, m.GetMeeting().GetBody())
	}
	req.Body = meetingsv1.BodyKind_BODY_KIND_EXECUTIVE_COMMITTEE
	m, err = w.client.CreateMeeting(testenv.As(adminOf(org)), req)
	if err != nil || m.GetMeeting().GetBody() != meetingsv1.BodyKind_BODY_KIND_EXECUTIVE_COMMITTEE {
		t.Fatalf("explicit body: %v, body %v", err, m.GetMeeting().GetBody())
	}
}

func TestCreateMeetingPublishesEvent(t *testing.T) {
	w := newWorld(t)
	org := w.org(t, "Chi bộ", "")
	admin := adminOf(org)
	created, err := w.client.CreateMeeting(testenv.As(admin), newMeeting(org))
	if err != nil {
		t.Fatalf("CreateMeeting: %v", err)
	}
	m := created.GetMeeting()

	msg := testenv.Next(t, testenv.Consumer(t, w.js, w.stream))
	if want := w.prefix + "ecabinet.meetings.v1." + m.GetId() + ".created"; msg.Subject() != want {
		t.Errorf("subject = %q, want %q", msg.Subject(), want)
	}
	var ev meetingsv1.MeetingCreated
	if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
		t.Fatalf("payload: %v", err)
	}
	m.MyRole = 0 // events are for everyone
	if diff := cmp.Diff(m, ev.GetMeeting(), protocmp.Transform()); diff != "" {
		t.Errorf("event meeting (-created +event):\n%s", diff)
	}
	meta := ev.GetMeta()
	if _, err := uuid.Parse(meta.GetEventId()); err != nil {
		t.Errorf("event id %q is not a UUID", meta.GetEventId())
	}
	if meta.GetActorId() != admin.Subject || meta.GetAggregateId() != m.GetId() ||
		meta.GetAggregateVersion() != 1 || meta.GetOrganizationId() != org || meta.GetOccurredAt() == nil {
		t.Errorf("meta = %v, want actor %s, aggregate %s v1, org %s, occurred_at set", meta, admin.Subject, m.GetId(), org)
	}
	h := msg.Headers()
	for key, want := range map[string]string{
		"Nats-Msg-Id":   meta.GetEventId(),
		"Ecabinet-Type": "ecabinet.meetings.v1.MeetingCreated",
		"Ecabinet-Org":  org,
	} {
		if got := h.Get(key); got != want {
			t.Errorf("header %s = %q, want %q", key, got, want)
		}
	}
	trail := w.audit(t, m.GetId())
	if len(trail) != 1 || trail[0].Action != "meeting.created" || trail[0].Version != 1 || trail[0].Actor != admin.Subject {
		t.Errorf("audit trail = %+v, want one meeting.created record at version 1", trail)
	}
}

// A refused create writes nothing: no row and no event. The next valid
// create's event is the first message on the stream.
func TestRefusedCreateLeavesNoTrace(t *testing.T) {
	w := newWorld(t)
	org := w.org(t, "Chi bộ", "")
	bad := newMeeting(org)
	bad.Title = ""
	if _, err := w.client.CreateMeeting(testenv.As(adminOf(org)), bad); err == nil {
		t.Fatal("CreateMeeting without title succeeded")
	}
	if _, err := w.client.CreateMeeting(testenv.As(memberClaims(org)), newMeeting(org)); err == nil {
		t.Fatal("CreateMeeting by a plain member succeeded")
	}
	unknown := uuid.NewString()
	if _, err := w.client.CreateMeeting(testenv.As(adminOf(unknown)), newMeeting(unknown)); err == nil {
		t.Fatal("CreateMeeting in an organisation missing from the directory succeeded")
	}
	var rows int
	if err := w.pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM meetings) + (SELECT count(*) FROM audit_log)`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Fatalf("%d meeting and audit rows after refused creates, want 0", rows)
	}

	good, err := w.client.CreateMeeting(testenv.As(adminOf(org)), newMeeting(org))
	if err != nil {
		t.Fatalf("CreateMeeting: %v", err)
	}
	msg := testenv.Next(t, testenv.Consumer(t, w.js, w.stream))
	if !strings.Contains(msg.Subject(), good.GetMeeting().GetId()) {
		t.Fatalf("first event %q is not the valid meeting's %s", msg.Subject(), good.GetMeeting().GetId())
	}
	if n := testenv.StreamMsgs(t, w.js, w.stream); n != 1 {
		t.Fatalf("stream holds %d messages, want 1", n)
	}
}

func TestCreateMeetingValidation(t *testing.T) {
	w := newWorld(t)
	org := w.org(t, "Chi bộ", "")
	missing := uuid.NewString()
	tests := []struct {
		name   string
		mutate func(*meetingsv1.CreateMeetingRequest)
		want   []string
	}{
		{"no title", func(r *meetingsv1.CreateMeetingRequest) { r.Title = "   " }, []string{"title"}},
		{"long title", func(r *meetingsv1.CreateMeetingRequest) { r.Title = strings.Repeat("ệ", 301) }, []string{"title"}},
		{"no kind", func(r *meetingsv1.CreateMeetingRequest) { r.Kind = 0 }, []string{"kind"}},
		{"unknown kind", func(r *meetingsv1.CreateMeetingRequest) { r.Kind = 42 }, []string{"kind"}},
		{"unknown body", func(r *meetingsv1.CreateMeetingRequest) { r.Body = 42 }, []string{"body"}},
		{"no start", func(r *meetingsv1.CreateMeetingRequest) { r.StartsAt = nil }, []string{"starts_at"}},
		{"end before start", func(r *meetingsv1.CreateMeetingRequest) { r.EndsAt = timestamppb.New(start.Add(-time.Hour)) }, []string{"ends_at"}},
		{"long place", func(r *meetingsv1.CreateMeetingRequest) { r.Place = strings.Repeat("x", 301) }, []string{"place"}},
		{"no organization", func(r *meetingsv1.CreateMeetingRequest) { r.OrganizationId = "" }, []string{"organization_id"}},
		{"organization not a UUID", func(r *meetingsv1.CreateMeetingRequest) { r.OrganizationId = "org-1" }, []string{"organization_id"}},
		{"organization not in the directory", func(r *meetingsv1.CreateMeetingRequest) { r.OrganizationId = missing }, []string{"organization_id"}},
		{"several", func(r *meetingsv1.CreateMeetingRequest) { r.Title, r.Kind, r.StartsAt = "", 0, nil }, []string{"title", "kind", "starts_at"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newMeeting(org)
			tt.mutate(req)
			_, err := w.client.CreateMeeting(testenv.As(adminOf(org, missing)), req)
			if diff := cmp.Diff(tt.want, testenv.ViolatedFields(t, err)); diff != "" {
				t.Errorf("violated fields (-want +got):\n%s", diff)
			}
		})
	}

	for _, id := range []string{"", "not-a-uuid"} {
		_, err := w.client.GetMeeting(testenv.As(memberClaims(org)), &meetingsv1.GetMeetingRequest{MeetingId: id})
		if diff := cmp.Diff([]string{"meeting_id"}, testenv.ViolatedFields(t, err)); diff != "" {
			t.Errorf("GetMeeting(%q) violated fields (-want +got):\n%s", id, diff)
		}
	}
	_, err := w.client.ListMeetings(testenv.As(memberClaims(org)), &meetingsv1.ListMeetingsRequest{PageSize: -1, PageToken: "%%%"})
	if diff := cmp.Diff([]string{"page_size", "page_token"}, testenv.ViolatedFields(t, err)); diff != "" {
		t.Errorf("ListMeetings violated fields (-want +got):\n%s", diff)
	}
}

func TestOtherOrganisationSeesNothing(t *testing.T) {
	w := newWorld(t)
	orgA, orgB := w.org(t, "Chi bộ A", ""), w.org(t, "Chi bộ B", "")
	created, err := w.client.CreateMeeting(testenv.As(adminOf(orgA)), newMeeting(orgA))
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetMeeting().GetId()

	for _, c := range []identity.Claims{memberClaims(orgB), adminOf(orgB)} {
		_, err := w.client.GetMeeting(testenv.As(c), &meetingsv1.GetMeetingRequest{MeetingId: id})
		st := testenv.Code(t, err, codes.NotFound)
		// Same answer as for an id that does not exist at all.
		_, err = w.client.GetMeeting(testenv.As(c), &meetingsv1.GetMeetingRequest{MeetingId: uuid.NewString()})
		testenv.Code(t, err, codes.NotFound)
		if strings.Contains(st.Message(), orgA) {
			t.Errorf("NotFound message %q names the owning organisation", st.Message())
		}
		for _, filter := range []string{orgA, ""} {
			list, err := w.client.ListMeetings(testenv.As(c), &meetingsv1.ListMeetingsRequest{OrganizationId: filter})
			if err != nil {
				t.Fatalf("ListMeetings(%q) as %s: %v", filter, c.Subject, err)
			}
			if len(list.GetMeetings()) != 0 {
				t.Errorf("ListMeetings(%q) as %s = %v, want nothing", filter, c.Subject, list.GetMeetings())
			}
		}
	}

	// A system administrator sees every organisation.
	if _, err := w.client.GetMeeting(testenv.As(systemAdmin()), &meetingsv1.GetMeetingRequest{MeetingId: id}); err != nil {
		t.Errorf("GetMeeting as system admin: %v", err)
	}
	list, err := w.client.ListMeetings(testenv.As(systemAdmin()), &meetingsv1.ListMeetingsRequest{})
	if err != nil || len(list.GetMeetings()) != 1 {
		t.Errorf("ListMeetings as system admin = %v, %v; want the one meeting", list.GetMeetings(), err)
	}
}

func TestCreatePermissions(t *testing.T) {
	w := newWorld(t)
	orgA, orgB := w.org(t, "Chi bộ A", ""), w.org(t, "Chi bộ B", "")
	for _, c := range []identity.Claims{memberClaims(orgA), adminOf(orgB)} {
		_, err := w.client.CreateMeeting(testenv.As(c), newMeeting(orgA))
		testenv.Code(t, err, codes.PermissionDenied)
		// Permission is decided before the rest of the request is looked at.
		bad := newMeeting(orgA)
		bad.Title = ""
		_, err = w.client.CreateMeeting(testenv.As(c), bad)
		testenv.Code(t, err, codes.PermissionDenied)
	}
	if _, err := w.client.CreateMeeting(testenv.As(systemAdmin()), newMeeting(orgA)); err != nil {
		t.Errorf("CreateMeeting as system admin: %v", err)
	}
}

func TestListMeetingsPages(t *testing.T) {
	w := newWorld(t)
	orgA, orgB := w.org(t, "Chi bộ A", ""), w.org(t, "Chi bộ B", "")
	ctx := testenv.As(adminOf(orgA, orgB))
	var want []string // newest start first
	for i := range 5 {
		req := newMeeting(orgA)
		req.Title = fmt.Sprintf("Họp %d", i)
		req.StartsAt = timestamppb.New(start.Add(time.Duration(i) * 24 * time.Hour))
		req.EndsAt = nil
		created, err := w.client.CreateMeeting(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		want = append([]string{created.GetMeeting().GetId()}, want...)
	}
	if _, err := w.client.CreateMeeting(ctx, newMeeting(orgB)); err != nil {
		t.Fatal(err)
	}

	var got []string
	var pages int
	req := &meetingsv1.ListMeetingsRequest{OrganizationId: orgA, PageSize: 2}
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
		_, err = w.client.ListMeetings(ctx, &meetingsv1.ListMeetingsRequest{OrganizationId: orgB, PageToken: resp.GetNextPageToken()})
		if diff := cmp.Diff([]string{"page_token"}, testenv.ViolatedFields(t, err)); diff != "" {
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
	org := uuid.NewString()
	ctx := testenv.As(adminOf(org))
	_, err = a.CreateMeeting(ctx, newMeeting(org))
	st := testenv.Code(t, err, codes.Unavailable)
	if !strings.Contains(st.Message(), "migrations") {
		t.Errorf("message %q does not say why", st.Message())
	}
	for _, md := range rpcMethods() {
		err := callHandler(a, ctx, md, request(md, uuid.NewString()))
		if code := status.Code(err); code != codes.Unavailable {
			t.Errorf("%s before migrations: %v, want Unavailable", md.Name(), err)
		}
	}
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
