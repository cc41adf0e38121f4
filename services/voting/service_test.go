package voting

import (
	"context"
	"strings"
	"testing"

	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/pg"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

func newPoll(meetingID, org string) *votingv1.CreatePollRequest {
	return &votingv1.CreatePollRequest{
		MeetingId:      meetingID,
		OrganizationId: org,
		Title:          "Thông qua Nghị quyết chuyên đề",
		Kind:           votingv1.PollKind_POLL_KIND_MOTION,
		Secret:         true,
	}
}

func TestCreateGetList(t *testing.T) {
	w := newWorld(t)
	meeting := uuid.NewString()
	agendaItem := uuid.NewString()
	req := newPoll(meeting, "org-a")
	req.AgendaItemId = agendaItem
	req.Title = " Bi\u00ea\u0309u quy\u00ea\u0301t  "

	created, err := w.client.CreatePoll(testenv.As(orgAdmin("org-a")), req)
	if err != nil {
		t.Fatalf("CreatePoll: %v", err)
	}
	p := created.GetPoll()
	if _, err := uuid.Parse(p.GetId()); err != nil {
		t.Errorf("id %q is not a UUID", p.GetId())
	}
	if p.GetCreateTime() == nil {
		t.Error("create_time not set")
	}
	want := &votingv1.Poll{
		Id:             p.GetId(),
		MeetingId:      meeting,
		OrganizationId: "org-a",
		AgendaItemId:   agendaItem,
		Title:          "Biểu quyết",
		Kind:           votingv1.PollKind_POLL_KIND_MOTION,
		Secret:         true,
		State:          votingv1.PollState_POLL_STATE_DRAFT,
		Choices: []*votingv1.Choice{
			{Id: "agree", Label: "Tán thành"},
			{Id: "disagree", Label: "Không tán thành"},
			{Id: "abstain", Label: "Không biểu quyết"},
		},
		Version:    1,
		CreateTime: p.GetCreateTime(),
	}
	if diff := cmp.Diff(want, p, protocmp.Transform()); diff != "" {
		t.Errorf("created poll (-want +got):\n%s", diff)
	}

	got, err := w.client.GetPoll(testenv.As(member("org-a")), &votingv1.GetPollRequest{PollId: p.GetId()})
	if err != nil {
		t.Fatalf("GetPoll: %v", err)
	}
	if diff := cmp.Diff(p, got.GetPoll(), protocmp.Transform()); diff != "" {
		t.Errorf("GetPoll (-created +got):\n%s", diff)
	}

	// A second poll with its own choices, and one of another meeting.
	election := newPoll(meeting, "org-a")
	election.Kind = votingv1.PollKind_POLL_KIND_ELECTION
	election.AgendaItemId = ""
	election.Choices = []string{"Nguyễn Văn An", "Trần Thị Bình"}
	second, err := w.client.CreatePoll(testenv.As(orgAdmin("org-a")), election)
	if err != nil {
		t.Fatalf("CreatePoll(election): %v", err)
	}
	if diff := cmp.Diff([]*votingv1.Choice{{Id: "c1", Label: "Nguyễn Văn An"}, {Id: "c2", Label: "Trần Thị Bình"}},
		second.GetPoll().GetChoices(), protocmp.Transform()); diff != "" {
		t.Errorf("election choices (-want +got):\n%s", diff)
	}
	if second.GetPoll().GetAgendaItemId() != "" {
		t.Errorf("agenda_item_id = %q, want empty", second.GetPoll().GetAgendaItemId())
	}
	if _, err := w.client.CreatePoll(testenv.As(orgAdmin("org-a")), newPoll(uuid.NewString(), "org-a")); err != nil {
		t.Fatal(err)
	}

	list, err := w.client.ListPolls(testenv.As(member("org-a")), &votingv1.ListPollsRequest{MeetingId: meeting})
	if err != nil {
		t.Fatalf("ListPolls: %v", err)
	}
	if diff := cmp.Diff([]*votingv1.Poll{p, second.GetPoll()}, list.GetPolls(), protocmp.Transform()); diff != "" {
		t.Errorf("ListPolls (-want +got):\n%s", diff)
	}
}

func TestCreatePollPublishesEvent(t *testing.T) {
	w := newWorld(t)
	admin := orgAdmin("org-a")
	meeting := uuid.NewString()
	created, err := w.client.CreatePoll(testenv.As(admin), newPoll(meeting, "org-a"))
	if err != nil {
		t.Fatalf("CreatePoll: %v", err)
	}
	p := created.GetPoll()

	msg := testenv.Next(t, testenv.Consumer(t, w.js, w.stream))
	if want := w.prefix + "ecabinet.voting.v1." + meeting + ".poll_created"; msg.Subject() != want {
		t.Errorf("subject = %q, want %q", msg.Subject(), want)
	}
	var ev votingv1.PollCreated
	if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
		t.Fatalf("payload: %v", err)
	}
	if diff := cmp.Diff(p, ev.GetPoll(), protocmp.Transform()); diff != "" {
		t.Errorf("event poll (-created +event):\n%s", diff)
	}
	meta := ev.GetMeta()
	if meta.GetActorId() != admin.Subject || meta.GetAggregateId() != p.GetId() ||
		meta.GetAggregateVersion() != 1 || meta.GetOrganizationId() != "org-a" ||
		meta.GetOccurredAt() == nil || meta.GetEventId() == "" {
		t.Errorf("meta = %v, want actor %s, aggregate %s v1, org org-a, id and time set", meta, admin.Subject, p.GetId())
	}
	h := msg.Headers()
	for key, want := range map[string]string{
		"Nats-Msg-Id":   meta.GetEventId(),
		"Ecabinet-Type": "ecabinet.voting.v1.PollCreated",
		"Ecabinet-Org":  "org-a",
	} {
		if got := h.Get(key); got != want {
			t.Errorf("header %s = %q, want %q", key, got, want)
		}
	}
}

// A refused create writes nothing: no row, no choice and no event. The next
// valid create's event is the first message on the stream.
func TestRefusedCreateLeavesNoTrace(t *testing.T) {
	w := newWorld(t)
	meeting := uuid.NewString()
	bad := newPoll(meeting, "org-a")
	bad.Kind = votingv1.PollKind_POLL_KIND_SINGLE_CHOICE
	bad.Choices = []string{"Có", "có"}
	if _, err := w.client.CreatePoll(testenv.As(orgAdmin("org-a")), bad); err == nil {
		t.Fatal("CreatePoll with duplicate choices succeeded")
	}
	if _, err := w.client.CreatePoll(testenv.As(member("org-a")), newPoll(meeting, "org-a")); err == nil {
		t.Fatal("CreatePoll by a plain member succeeded")
	}
	var polls, choices int
	if err := w.pool.QueryRow(context.Background(),
		`SELECT (SELECT count(*) FROM polls), (SELECT count(*) FROM poll_choices)`).Scan(&polls, &choices); err != nil {
		t.Fatal(err)
	}
	if polls != 0 || choices != 0 {
		t.Fatalf("%d polls and %d choices after refused creates, want none", polls, choices)
	}

	good, err := w.client.CreatePoll(testenv.As(orgAdmin("org-a")), newPoll(meeting, "org-a"))
	if err != nil {
		t.Fatalf("CreatePoll: %v", err)
	}
	msg := testenv.Next(t, testenv.Consumer(t, w.js, w.stream))
	var ev votingv1.PollCreated
	if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.GetPoll().GetId() != good.GetPoll().GetId() {
		t.Fatalf("first event is for poll %s, want %s", ev.GetPoll().GetId(), good.GetPoll().GetId())
	}
	if n := testenv.StreamMsgs(t, w.js, w.stream); n != 1 {
		t.Fatalf("stream holds %d messages, want 1", n)
	}
}

func TestCreatePollValidation(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name   string
		mutate func(*votingv1.CreatePollRequest)
		want   []string
	}{
		{"no meeting", func(r *votingv1.CreatePollRequest) { r.MeetingId = "" }, []string{"meeting_id"}},
		{"bad meeting", func(r *votingv1.CreatePollRequest) { r.MeetingId = "m-1" }, []string{"meeting_id"}},
		{"no organization", func(r *votingv1.CreatePollRequest) { r.OrganizationId = " " }, []string{"organization_id"}},
		{"bad agenda item", func(r *votingv1.CreatePollRequest) { r.AgendaItemId = "item" }, []string{"agenda_item_id"}},
		{"no title", func(r *votingv1.CreatePollRequest) { r.Title = "" }, []string{"title"}},
		{"long title", func(r *votingv1.CreatePollRequest) { r.Title = strings.Repeat("ờ", 301) }, []string{"title"}},
		{"no kind", func(r *votingv1.CreatePollRequest) { r.Kind = 0 }, []string{"kind"}},
		{"single choice without choices", func(r *votingv1.CreatePollRequest) { r.Kind = votingv1.PollKind_POLL_KIND_SINGLE_CHOICE }, []string{"choices"}},
		{"one choice", func(r *votingv1.CreatePollRequest) { r.Choices = []string{"Đồng ý"} }, []string{"choices"}},
		{"empty and duplicate choices", func(r *votingv1.CreatePollRequest) {
			r.Kind = votingv1.PollKind_POLL_KIND_MULTIPLE_CHOICE
			r.Choices = []string{"A", "", "B", "a"}
		}, []string{"choices[1]", "choices[3]"}},
		{"several", func(r *votingv1.CreatePollRequest) { r.MeetingId, r.Title, r.Kind = "", "", 0 }, []string{"meeting_id", "title", "kind"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newPoll(uuid.NewString(), "org-a")
			tt.mutate(req)
			_, err := w.client.CreatePoll(testenv.As(orgAdmin("org-a")), req)
			if diff := cmp.Diff(tt.want, testenv.ViolatedFields(t, err)); diff != "" {
				t.Errorf("violated fields (-want +got):\n%s", diff)
			}
		})
	}
	for _, id := range []string{"", "poll-1"} {
		_, err := w.client.GetPoll(testenv.As(member("org-a")), &votingv1.GetPollRequest{PollId: id})
		if diff := cmp.Diff([]string{"poll_id"}, testenv.ViolatedFields(t, err)); diff != "" {
			t.Errorf("GetPoll(%q) (-want +got):\n%s", id, diff)
		}
		_, err = w.client.ListPolls(testenv.As(member("org-a")), &votingv1.ListPollsRequest{MeetingId: id})
		if diff := cmp.Diff([]string{"meeting_id"}, testenv.ViolatedFields(t, err)); diff != "" {
			t.Errorf("ListPolls(%q) (-want +got):\n%s", id, diff)
		}
	}
}

func TestUnauthenticated(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background() // no claims: the client sends no token
	meeting := uuid.NewString()
	_, err := w.client.CreatePoll(ctx, newPoll(meeting, "org-a"))
	testenv.Code(t, err, codes.Unauthenticated)
	_, err = w.client.GetPoll(ctx, &votingv1.GetPollRequest{PollId: uuid.NewString()})
	testenv.Code(t, err, codes.Unauthenticated)
	_, err = w.client.ListPolls(ctx, &votingv1.ListPollsRequest{MeetingId: meeting})
	testenv.Code(t, err, codes.Unauthenticated)

	// The handlers refuse on their own too, should the interceptor be missing.
	a := &api{s: w.svc}
	_, err = a.CreatePoll(ctx, newPoll(meeting, "org-a"))
	testenv.Code(t, err, codes.Unauthenticated)
	_, err = a.GetPoll(ctx, &votingv1.GetPollRequest{PollId: uuid.NewString()})
	testenv.Code(t, err, codes.Unauthenticated)
	_, err = a.ListPolls(ctx, &votingv1.ListPollsRequest{MeetingId: meeting})
	testenv.Code(t, err, codes.Unauthenticated)
}

func TestOtherOrganisationSeesNothing(t *testing.T) {
	w := newWorld(t)
	meeting := uuid.NewString()
	created, err := w.client.CreatePoll(testenv.As(orgAdmin("org-a")), newPoll(meeting, "org-a"))
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetPoll().GetId()
	for _, c := range []identity.Claims{member("org-b"), orgAdmin("org-b"), {Subject: "nobody"}} {
		_, err := w.client.GetPoll(testenv.As(c), &votingv1.GetPollRequest{PollId: id})
		st := testenv.Code(t, err, codes.NotFound)
		if strings.Contains(st.Message(), "org-a") {
			t.Errorf("NotFound message %q names the owning organisation", st.Message())
		}
		_, err = w.client.GetPoll(testenv.As(c), &votingv1.GetPollRequest{PollId: uuid.NewString()})
		testenv.Code(t, err, codes.NotFound)
		list, err := w.client.ListPolls(testenv.As(c), &votingv1.ListPollsRequest{MeetingId: meeting})
		if err != nil {
			t.Fatalf("ListPolls as %s: %v", c.Subject, err)
		}
		if len(list.GetPolls()) != 0 {
			t.Errorf("ListPolls as %s = %v, want nothing", c.Subject, list.GetPolls())
		}
	}
	if _, err := w.client.GetPoll(testenv.As(systemAdmin()), &votingv1.GetPollRequest{PollId: id}); err != nil {
		t.Errorf("GetPoll as system admin: %v", err)
	}
	list, err := w.client.ListPolls(testenv.As(systemAdmin()), &votingv1.ListPollsRequest{MeetingId: meeting})
	if err != nil || len(list.GetPolls()) != 1 {
		t.Errorf("ListPolls as system admin = %v, %v; want the one poll", list.GetPolls(), err)
	}
}

func TestCreatePermissions(t *testing.T) {
	w := newWorld(t)
	meeting := uuid.NewString()
	for _, c := range []identity.Claims{member("org-a"), orgAdmin("org-b")} {
		_, err := w.client.CreatePoll(testenv.As(c), newPoll(meeting, "org-a"))
		testenv.Code(t, err, codes.PermissionDenied)
		bad := newPoll(meeting, "org-a")
		bad.Title = ""
		_, err = w.client.CreatePoll(testenv.As(c), bad)
		testenv.Code(t, err, codes.PermissionDenied)
	}
	if _, err := w.client.CreatePoll(testenv.As(systemAdmin()), newPoll(meeting, "org-a")); err != nil {
		t.Errorf("CreatePoll as system admin: %v", err)
	}
}

// Until Run has migrated the schema, RPCs answer Unavailable rather than
// failing on missing tables.
func TestUnavailableBeforeMigrations(t *testing.T) {
	schema := testenv.Schema(t, Name) // nobody migrates it: Run is not called
	pool, err := pg.Connect(testenv.DatabaseURL(t), schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	nc, js := testenv.JetStream(t)
	a := &api{s: New(Deps{Pool: pool, Schema: schema, JS: js, NC: nc})}
	ctx := testenv.As(orgAdmin("org-a"))
	_, err = a.CreatePoll(ctx, newPoll(uuid.NewString(), "org-a"))
	st := testenv.Code(t, err, codes.Unavailable)
	if !strings.Contains(st.Message(), "migrations") {
		t.Errorf("message %q does not say why", st.Message())
	}
	_, err = a.GetPoll(ctx, &votingv1.GetPollRequest{PollId: uuid.NewString()})
	testenv.Code(t, err, codes.Unavailable)
	_, err = a.ListPolls(ctx, &votingv1.ListPollsRequest{MeetingId: uuid.NewString()})
	testenv.Code(t, err, codes.Unavailable)
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
