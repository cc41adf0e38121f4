package video

import (
	"context"
	"strings"
	"sync"
	"testing"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/pg"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

func openReq(meetingID, org string) *videov1.OpenRoomRequest {
	return &videov1.OpenRoomRequest{MeetingId: meetingID, OrganizationId: org, Mode: videov1.RoomMode_ROOM_MODE_MEETING}
}

func TestOpenGetRoom(t *testing.T) {
	w := newWorld(t)
	meeting := w.meetings.add("org-a", nil)
	opened, err := w.client.OpenRoom(testenv.As(orgAdmin("org-a")), openReq(meeting, "org-a"))
	if err != nil {
		t.Fatalf("OpenRoom: %v", err)
	}
	r := opened.GetRoom()
	if r.GetOpenTime() == nil {
		t.Error("open_time not set")
	}
	want := &videov1.Room{
		MeetingId:      meeting,
		OrganizationId: "org-a",
		Mode:           videov1.RoomMode_ROOM_MODE_MEETING,
		State:          videov1.RoomState_ROOM_STATE_OPEN,
		OpenTime:       r.GetOpenTime(),
	}
	if diff := cmp.Diff(want, r, protocmp.Transform()); diff != "" {
		t.Errorf("opened room (-want +got):\n%s", diff)
	}

	got, err := w.client.GetRoom(testenv.As(member("org-a")), &videov1.GetRoomRequest{MeetingId: meeting})
	if err != nil {
		t.Fatalf("GetRoom: %v", err)
	}
	if diff := cmp.Diff(r, got.GetRoom(), protocmp.Transform()); diff != "" {
		t.Errorf("GetRoom (-opened +got):\n%s", diff)
	}

	_, err = w.client.GetRoom(testenv.As(member("org-a")), &videov1.GetRoomRequest{MeetingId: uuid.NewString()})
	testenv.Code(t, err, codes.NotFound)
}

// Opening an open room returns it as it is and publishes nothing more.
func TestOpenRoomIsIdempotent(t *testing.T) {
	w := newWorld(t)
	meeting := w.meetings.add("org-a", nil)
	first, err := w.client.OpenRoom(testenv.As(orgAdmin("org-a")), openReq(meeting, "org-a"))
	if err != nil {
		t.Fatal(err)
	}
	again := openReq(meeting, "org-a")
	again.Mode = videov1.RoomMode_ROOM_MODE_BRIDGE_POINTS
	second, err := w.client.OpenRoom(testenv.As(orgAdmin("org-a")), again)
	if err != nil {
		t.Fatalf("second OpenRoom: %v", err)
	}
	if diff := cmp.Diff(first.GetRoom(), second.GetRoom(), protocmp.Transform()); diff != "" {
		t.Errorf("second OpenRoom changed the room (-first +second):\n%s", diff)
	}

	// Another meeting's room: its event follows the first one directly, so
	// the second open published nothing.
	other := w.meetings.add("org-a", nil)
	if _, err := w.client.OpenRoom(testenv.As(orgAdmin("org-a")), openReq(other, "org-a")); err != nil {
		t.Fatal(err)
	}
	c := testenv.Consumer(t, w.js, w.stream)
	for _, want := range []string{meeting, other} {
		msg := testenv.Next(t, c)
		if !strings.Contains(msg.Subject(), want) {
			t.Fatalf("event on %q, want the room of meeting %s", msg.Subject(), want)
		}
	}
	if n := testenv.StreamMsgs(t, w.js, w.stream); n != 2 {
		t.Fatalf("stream holds %d messages, want 2", n)
	}
}

// Tablets of several admins may open the room at the same moment: one room
// results, every caller gets it, and one event is published.
func TestConcurrentOpensMakeOneRoom(t *testing.T) {
	w := newWorld(t)
	meeting := w.meetings.add("org-a", nil)
	const callers = 8
	rooms := make(chan *videov1.Room, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			resp, err := w.client.OpenRoom(testenv.As(orgAdmin("org-a")), openReq(meeting, "org-a"))
			if err != nil {
				t.Errorf("OpenRoom: %v", err)
			}
			rooms <- resp.GetRoom()
		})
	}
	wg.Wait()
	close(rooms)
	first := <-rooms
	for r := range rooms {
		if diff := cmp.Diff(first, r, protocmp.Transform()); diff != "" {
			t.Errorf("callers got different rooms (-one +other):\n%s", diff)
		}
	}
	// A marker event after the opens: if it is the second message, the
	// opens published exactly one.
	marker := w.meetings.add("org-a", nil)
	if _, err := w.client.OpenRoom(testenv.As(orgAdmin("org-a")), openReq(marker, "org-a")); err != nil {
		t.Fatal(err)
	}
	c := testenv.Consumer(t, w.js, w.stream)
	for _, want := range []string{meeting, marker} {
		if msg := testenv.Next(t, c); !strings.Contains(msg.Subject(), want) {
			t.Fatalf("event on %q, want the room of meeting %s", msg.Subject(), want)
		}
	}
}

func TestOpenRoomPublishesEvent(t *testing.T) {
	w := newWorld(t)
	admin := orgAdmin("org-a")
	meeting := w.meetings.add("org-a", nil)
	opened, err := w.client.OpenRoom(testenv.As(admin), openReq(meeting, "org-a"))
	if err != nil {
		t.Fatalf("OpenRoom: %v", err)
	}
	c := testenv.Consumer(t, w.js, w.stream)
	msg := testenv.Next(t, c)
	if want := w.prefix + "ecabinet.video.v1." + meeting + ".room_opened"; msg.Subject() != want {
		t.Errorf("subject = %q, want %q", msg.Subject(), want)
	}
	var ev videov1.RoomOpened
	if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
		t.Fatalf("payload: %v", err)
	}
	if diff := cmp.Diff(opened.GetRoom(), ev.GetRoom(), protocmp.Transform()); diff != "" {
		t.Errorf("event room (-opened +event):\n%s", diff)
	}
	meta := ev.GetMeta()
	if meta.GetActorId() != admin.Subject || meta.GetAggregateId() != meeting ||
		meta.GetAggregateVersion() != 1 || meta.GetOrganizationId() != "org-a" ||
		meta.GetOccurredAt() == nil || meta.GetEventId() == "" {
		t.Errorf("meta = %v, want actor %s, aggregate %s v1, org org-a, id and time set", meta, admin.Subject, meeting)
	}
	h := msg.Headers()
	for key, want := range map[string]string{
		"Nats-Msg-Id":   meta.GetEventId(),
		"Ecabinet-Type": "ecabinet.video.v1.RoomOpened",
		"Ecabinet-Org":  "org-a",
	} {
		if got := h.Get(key); got != want {
			t.Errorf("header %s = %q, want %q", key, got, want)
		}
	}

	// A closed room (closing comes with the SFU) reopens as a new version
	// with a new event.
	if _, err := w.pool.Exec(context.Background(),
		`UPDATE rooms SET state = 'ROOM_STATE_CLOSED' WHERE meeting_id = $1`, meeting); err != nil {
		t.Fatal(err)
	}
	reopen := openReq(meeting, "org-a")
	reopen.Mode = videov1.RoomMode_ROOM_MODE_BRIDGE_POINTS
	reopened, err := w.client.OpenRoom(testenv.As(admin), reopen)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if r := reopened.GetRoom(); r.GetState() != videov1.RoomState_ROOM_STATE_OPEN || r.GetMode() != videov1.RoomMode_ROOM_MODE_BRIDGE_POINTS {
		t.Errorf("reopened room = %v, want open in bridge-points mode", r)
	}
	msg = testenv.Next(t, c)
	ev.Reset()
	if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.GetMeta().GetAggregateVersion() != 2 || msg.Headers().Get("Nats-Msg-Id") == meta.GetEventId() {
		t.Errorf("reopen event meta = %v, want version 2 and a new id", ev.GetMeta())
	}
}

// A refused open writes nothing: no row and no event.
func TestRefusedOpenLeavesNoTrace(t *testing.T) {
	w := newWorld(t)
	meeting := w.meetings.add("org-a", nil)
	bad := openReq(meeting, "org-a")
	bad.Mode = 0
	if _, err := w.client.OpenRoom(testenv.As(orgAdmin("org-a")), bad); err == nil {
		t.Fatal("OpenRoom without mode succeeded")
	}
	if _, err := w.client.OpenRoom(testenv.As(member("org-a")), openReq(meeting, "org-a")); err == nil {
		t.Fatal("OpenRoom by a plain member succeeded")
	}
	var rows int
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM rooms`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Fatalf("%d rooms after refused opens, want 0", rows)
	}
	if _, err := w.client.OpenRoom(testenv.As(orgAdmin("org-a")), openReq(meeting, "org-a")); err != nil {
		t.Fatal(err)
	}
	msg := testenv.Next(t, testenv.Consumer(t, w.js, w.stream))
	var ev videov1.RoomOpened
	if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.GetRoom().GetMeetingId() != meeting || ev.GetRoom().GetMode() != videov1.RoomMode_ROOM_MODE_MEETING {
		t.Fatalf("first event = %v, want the valid open", ev.GetRoom())
	}
	if n := testenv.StreamMsgs(t, w.js, w.stream); n != 1 {
		t.Fatalf("stream holds %d messages, want 1", n)
	}
}

func TestOpenRoomValidation(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name   string
		mutate func(*videov1.OpenRoomRequest)
		want   []string
	}{
		{"no meeting", func(r *videov1.OpenRoomRequest) { r.MeetingId = "" }, []string{"meeting_id"}},
		{"bad meeting", func(r *videov1.OpenRoomRequest) { r.MeetingId = "room-1" }, []string{"meeting_id"}},
		{"no organization", func(r *videov1.OpenRoomRequest) { r.OrganizationId = "" }, []string{"organization_id"}},
		{"long organization", func(r *videov1.OpenRoomRequest) { r.OrganizationId = strings.Repeat("o", 129) }, []string{"organization_id"}},
		{"no mode", func(r *videov1.OpenRoomRequest) { r.Mode = 0 }, []string{"mode"}},
		{"unknown mode", func(r *videov1.OpenRoomRequest) { r.Mode = 9 }, []string{"mode"}},
		{"several", func(r *videov1.OpenRoomRequest) { r.MeetingId, r.Mode = "", 0 }, []string{"meeting_id", "mode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := openReq(w.meetings.add("org-a", nil), "org-a")
			tt.mutate(req)
			_, err := w.client.OpenRoom(testenv.As(systemAdmin()), req)
			if diff := cmp.Diff(tt.want, testenv.ViolatedFields(t, err)); diff != "" {
				t.Errorf("violated fields (-want +got):\n%s", diff)
			}
		})
	}
	for _, id := range []string{"", "room-1"} {
		_, err := w.client.GetRoom(testenv.As(member("org-a")), &videov1.GetRoomRequest{MeetingId: id})
		if diff := cmp.Diff([]string{"meeting_id"}, testenv.ViolatedFields(t, err)); diff != "" {
			t.Errorf("GetRoom(%q) (-want +got):\n%s", id, diff)
		}
	}
}

func TestUnauthenticated(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background() // no claims: the client sends no token
	meeting := w.meetings.add("org-a", nil)
	_, err := w.client.OpenRoom(ctx, openReq(meeting, "org-a"))
	testenv.Code(t, err, codes.Unauthenticated)
	_, err = w.client.GetRoom(ctx, &videov1.GetRoomRequest{MeetingId: meeting})
	testenv.Code(t, err, codes.Unauthenticated)

	a := &api{s: w.svc}
	_, err = a.OpenRoom(ctx, openReq(meeting, "org-a"))
	testenv.Code(t, err, codes.Unauthenticated)
	_, err = a.GetRoom(ctx, &videov1.GetRoomRequest{MeetingId: meeting})
	testenv.Code(t, err, codes.Unauthenticated)
}

func TestOtherOrganisationSeesNothing(t *testing.T) {
	w := newWorld(t)
	meeting := w.meetings.add("org-a", nil)
	if _, err := w.client.OpenRoom(testenv.As(orgAdmin("org-a")), openReq(meeting, "org-a")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []identity.Claims{member("org-b"), orgAdmin("org-b")} {
		_, err := w.client.GetRoom(testenv.As(c), &videov1.GetRoomRequest{MeetingId: meeting})
		st := testenv.Code(t, err, codes.NotFound)
		if strings.Contains(st.Message(), "org-a") {
			t.Errorf("NotFound message %q names the owning organisation", st.Message())
		}
	}
	// Opening that meeting's room for another organisation finds no such
	// meeting there, and leaves the room alone.
	_, err := w.client.OpenRoom(testenv.As(orgAdmin("org-b")), openReq(meeting, "org-b"))
	st := testenv.Code(t, err, codes.NotFound)
	if strings.Contains(st.Message(), "org-a") {
		t.Errorf("NotFound message %q names the owning organisation", st.Message())
	}
	got, err := w.client.GetRoom(testenv.As(systemAdmin()), &videov1.GetRoomRequest{MeetingId: meeting})
	if err != nil {
		t.Fatalf("GetRoom as system admin: %v", err)
	}
	if got.GetRoom().GetOrganizationId() != "org-a" {
		t.Errorf("room now belongs to %q", got.GetRoom().GetOrganizationId())
	}
}

func TestOpenPermissions(t *testing.T) {
	w := newWorld(t)
	meeting := w.meetings.add("org-a", nil)
	for _, c := range []identity.Claims{member("org-a"), orgAdmin("org-b")} {
		_, err := w.client.OpenRoom(testenv.As(c), openReq(meeting, "org-a"))
		testenv.Code(t, err, codes.PermissionDenied)
		bad := openReq(meeting, "org-a")
		bad.Mode = 0
		_, err = w.client.OpenRoom(testenv.As(c), bad)
		testenv.Code(t, err, codes.PermissionDenied)
	}
	if _, err := w.client.OpenRoom(testenv.As(systemAdmin()), openReq(meeting, "org-a")); err != nil {
		t.Errorf("OpenRoom as system admin: %v", err)
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
	_, err = a.OpenRoom(ctx, openReq(uuid.NewString(), "org-a"))
	st := testenv.Code(t, err, codes.Unavailable)
	if !strings.Contains(st.Message(), "migrations") {
		t.Errorf("message %q does not say why", st.Message())
	}
	_, err = a.GetRoom(ctx, &videov1.GetRoomRequest{MeetingId: uuid.NewString()})
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

// A participant from outside the organisation (the higher committee's
// member attending from their office) sees the room of their meeting; an
// outsider does not.
func TestGetRoomForParticipantsOfOtherOrganisations(t *testing.T) {
	w := newWorld(t)
	guest := person("uy-vien-cap-tren", "org-cap-tren")
	meeting := w.meetings.add("org-a", map[string]meetingsv1.ParticipantRole{guest.Subject: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_OBSERVER})
	if _, err := w.client.OpenRoom(testenv.As(orgAdmin("org-a")), openReq(meeting, "org-a")); err != nil {
		t.Fatalf("OpenRoom: %v", err)
	}
	if _, err := w.client.GetRoom(testenv.As(guest), &videov1.GetRoomRequest{MeetingId: meeting}); err != nil {
		t.Errorf("GetRoom as a participant from another organisation: %v", err)
	}
	_, err := w.client.GetRoom(testenv.As(person("nguoi-ngoai", "org-b")), &videov1.GetRoomRequest{MeetingId: meeting})
	testenv.Code(t, err, codes.NotFound)
}

// An administrator elsewhere cannot take another organisation's meeting
// room first.
func TestOpenRoomOnlyForTheMeetingsOrganisation(t *testing.T) {
	w := newWorld(t)
	meeting := w.meetings.add("org-a", nil)
	_, err := w.client.OpenRoom(testenv.As(orgAdmin("org-b")), openReq(meeting, "org-b"))
	testenv.Code(t, err, codes.NotFound)
	if _, err := w.client.OpenRoom(testenv.As(orgAdmin("org-a")), openReq(meeting, "org-a")); err != nil {
		t.Errorf("the meeting's own organisation opening its room: %v", err)
	}
}
