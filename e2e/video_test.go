package e2e

import (
	"context"
	"crypto/sha256"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/pion/webrtc/v4"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/video/videotest"
)

type joinTokenBody struct {
	Token       string `json:"token"`
	ExpireTime  string `json:"expireTime"`
	Permissions struct {
		PublishAudio  bool `json:"publishAudio"`
		PublishVideo  bool `json:"publishVideo"`
		PublishScreen bool `json:"publishScreen"`
	} `json:"permissions"`
}

// The demo meeting by video, through the gateway as a browser reaches it:
// the chair publishes synthetic VP8 and Opus over the signaling WebSocket
// and counts as present online in the meetings service; the observer
// cannot publish but watches, receiving audio, video and a keyframe; a
// late watcher gets a keyframe too; the chair's WebSocket drops and it
// takes its seat back; and joins without a valid token for this meeting,
// or without signing in, are refused with their reasons.
func TestVideoMeetingThroughTheGateway(t *testing.T) {
	p, logins := startWithDemo(t)
	taker := newAuthClient(t, p)
	taker.login(logins["minute-taker"])
	m := taker.startTodaysMeeting()
	id, base := m.ID, "/api/v1/meetings/"+m.ID
	var chairID, observerID, memberID string
	names := map[string]string{}
	for _, pt := range m.Participants {
		names[pt.PersonID] = pt.FullName
		switch pt.Role {
		case "PARTICIPANT_ROLE_CHAIR":
			chairID = pt.PersonID
		case "PARTICIPANT_ROLE_OBSERVER":
			observerID = pt.PersonID
		case "PARTICIPANT_ROLE_MEMBER":
			if pt.Attendance != "ATTENDANCE_PRESENT" && pt.Attendance != "ATTENDANCE_PRESENT_ONLINE" {
				memberID = pt.PersonID
			}
		}
	}
	if chairID == "" || observerID == "" || memberID == "" {
		t.Fatalf("the demo meeting lacks a chair, an observer or a member: %+v", m.Participants)
	}
	bearer := func(personID string) string {
		return p.Token(t, identity.Claims{Subject: personID, Name: names[personID], Orgs: []string{m.OrganizationID}})
	}
	chair, obs, member := bearer(chairID), bearer(observerID), bearer(memberID)

	// No token before the room is open.
	if code := p.Do(t, http.MethodPost, base+"/video/join-token", chair, map[string]any{}, nil); code != http.StatusConflict {
		t.Errorf("join token before the room is open: %d, want 409", code)
	}
	admin := p.Token(t, identity.Claims{Subject: "e2e-video-admin", Name: "Quản trị", Orgs: []string{m.OrganizationID}, AdminOrgs: []string{m.OrganizationID}})
	if code := p.Do(t, http.MethodPost, base+"/room", admin, map[string]any{
		"organizationId": m.OrganizationID, "mode": "ROOM_MODE_MEETING"}, nil); code != http.StatusOK {
		t.Fatalf("open the room: %d", code)
	}
	token := func(bearer string) joinTokenBody {
		t.Helper()
		var tok joinTokenBody
		if code := p.Do(t, http.MethodPost, base+"/video/join-token", bearer, map[string]any{}, &tok); code != http.StatusOK || tok.Token == "" {
			t.Fatalf("join token: %d %+v", code, tok)
		}
		return tok
	}
	chairTok, obsTok := token(chair), token(obs)
	if p := chairTok.Permissions; !p.PublishAudio || !p.PublishVideo || !p.PublishScreen {
		t.Errorf("chair permissions %+v, want all", p)
	}
	if p := obsTok.Permissions; p.PublishAudio || p.PublishVideo || p.PublishScreen {
		t.Errorf("observer permissions %+v, want watch only", p)
	}

	api := videotest.API(t)
	client := func(bearer string) *videotest.Client {
		t.Helper()
		ws, code := dialSignal(t, p, id, bearer)
		if code != http.StatusSwitchingProtocols {
			t.Fatalf("dial: %d", code)
		}
		return videotest.New(t, api, ws)
	}

	pubWS, code := dialSignal(t, p, id, chair)
	if code != http.StatusSwitchingProtocols {
		t.Fatalf("dial: %d", code)
	}
	pub := videotest.New(t, api, pubWS)
	if err := pub.Join("", chairTok.Token); err != nil { // the gateway fills the meeting id
		t.Fatalf("chair joins: %v", err)
	}
	pub.Publish()
	pub.Offer()

	// Joining marks the chair present online in the meetings service.
	deadline := time.Now().Add(videotest.Wait)
	for {
		var got struct {
			Meeting votingMeeting `json:"meeting"`
		}
		must(t, "get the meeting", taker.call(http.MethodGet, base, nil, &got), http.StatusOK)
		att := ""
		for _, pt := range got.Meeting.Participants {
			if pt.PersonID == chairID {
				att = pt.Attendance
			}
		}
		if att == "ATTENDANCE_PRESENT_ONLINE" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chair's attendance is %s, want ATTENDANCE_PRESENT_ONLINE", att)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The observer may not publish; the session says why and goes on.
	tryWS, code := dialSignal(t, p, id, obs)
	if code != http.StatusSwitchingProtocols {
		t.Fatalf("dial: %d", code)
	}
	tryPub := videotest.New(t, api, tryWS)
	if err := tryPub.Join(id, obsTok.Token); err != nil {
		t.Fatalf("observer joins: %v", err)
	}
	tryPub.Publish()
	tryPub.Offer()
	if e := tryPub.NextError(); e.GetReason() != "PUBLISH_NOT_ALLOWED" {
		t.Errorf("observer publishing: %v, want PUBLISH_NOT_ALLOWED", e)
	}
	tryPub.StopMedia()
	// A frame that is not a SignalRequest gets an error from the gateway,
	// and the session goes on.
	if err := tryWS.conn.Write(tryWS.ctx, websocket.MessageText, []byte(`{"offer": "hello"`)); err != nil {
		t.Fatal(err)
	}
	if e := tryPub.NextError(); e.GetReason() != "INVALID_MESSAGE" {
		t.Errorf("a frame that is not JSON: %v, want INVALID_MESSAGE", e)
	}

	watch := func(bearer, tok string) *videotest.Client {
		t.Helper()
		c := client(bearer)
		if err := c.Join(id, tok); err != nil {
			t.Fatalf("join: %v", err)
		}
		c.Watch()
		c.Offer()
		from := pub.Joined.GetParticipantId()
		c.WaitFor("the chair's audio, video and a keyframe", func() bool {
			v, a := c.Track(webrtc.RTPCodecTypeVideo, from), c.Track(webrtc.RTPCodecTypeAudio, from)
			return v != nil && a != nil && v.Keyframes.Load() > 0 && a.Packets.Load() > 10
		})
		return c
	}
	watcher := watch(obs, token(obs).Token)
	// One person, one seat: the observer's second session ended its
	// first, saying why.
	if e := endOf(t, tryPub.WaitEnd()); e.Reason != "JOINED_ELSEWHERE" {
		t.Errorf("the observer's first session ended with %+v, want JOINED_ELSEWHERE", e)
	}
	watch(member, token(member).Token) // a late joiner

	// The chair's WebSocket drops (Wi-Fi): it reconnects and takes its
	// seat back as the same participant; the others never saw it leave.
	pid := pub.Joined.GetParticipantId()
	pubWS.conn.CloseNow()
	<-pub.Done
	again, code := dialSignal(t, p, id, chair)
	if code != http.StatusSwitchingProtocols {
		t.Fatalf("redial: %d", code)
	}
	if err := pub.Resume(again, "", token(chair).Token); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if pub.Joined.GetParticipantId() != pid {
		t.Errorf("resumed as %s, want %s", pub.Joined.GetParticipantId(), pid)
	}
	v := watcher.Track(webrtc.RTPCodecTypeVideo, pid)
	before := v.Packets.Load()
	watcher.WaitFor("the chair's video after the resume", func() bool { return v.Packets.Load() > before+30 })
	for len(watcher.Events) > 0 {
		if m := <-watcher.Events; m.GetPeerLeft().GetParticipantId() == pid {
			t.Errorf("the watcher was told the chair left: %v", m)
		}
	}

	// The room counts who is connected; the chair gives the observer the
	// floor over REST and the observer's session hears of it.
	var room struct {
		Room struct {
			ParticipantCount int `json:"participantCount"`
		} `json:"room"`
	}
	if code := p.Do(t, http.MethodGet, base+"/room", chair, nil, &room); code != http.StatusOK || room.Room.ParticipantCount != 3 {
		t.Errorf("GET room: %d, %d connected; want 200, 3 (chair, observer, member)", code, room.Room.ParticipantCount)
	}
	obsID := watcher.Joined.GetParticipantId()
	floor := map[string]any{"permissions": map[string]any{"publishAudio": true}}
	if code := p.Do(t, http.MethodPost, base+"/video/participants/"+obsID+":setPermissions", member, floor, nil); code != http.StatusForbidden {
		t.Errorf("a member gives the floor: %d, want 403", code)
	}
	if code := p.Do(t, http.MethodPost, base+"/video/participants/"+obsID+":setPermissions", chair, floor, nil); code != http.StatusOK {
		t.Errorf("the chair gives the floor: %d, want 200", code)
	}
	if got := watcher.NextEvent(func(m *videov1.SignalResponse) bool { return m.GetPeerPermissions() != nil }).GetPeerPermissions(); got.GetParticipantId() != obsID || !got.GetPermissions().GetPublishAudio() {
		t.Errorf("the observer heard %v", got)
	}

	// Refusals, each with its reason in the end frame.
	refused := func(what, meetingID, tok string) *sessionEnd {
		t.Helper()
		ws, code := dialSignal(t, p, meetingID, member)
		if code != http.StatusSwitchingProtocols {
			t.Fatalf("%s: dial %d", what, code)
		}
		if err := ws.Send(&videov1.SignalRequest{Message: &videov1.SignalRequest_Join{Join: &videov1.Join{Token: tok}}}); err != nil {
			t.Fatal(err)
		}
		_, err := ws.Recv()
		return endOf(t, err)
	}
	if e := refused("no token", id, ""); e.Code != "INVALID_ARGUMENT" || e.Reason != "REQUIRED" {
		t.Errorf("no token: %+v", e)
	}
	if e := refused("chair's token", id, chairTok.Token); e.Reason != "JOIN_TOKEN_NOT_YOURS" {
		t.Errorf("someone else's token: %+v", e)
	}
	memberTok := token(member).Token
	if e := refused("another meeting", "00000000-0000-4000-8000-000000000001", memberTok); e.Code != "PERMISSION_DENIED" || e.Reason != "JOIN_TOKEN_WRONG_MEETING" {
		t.Errorf("token for another meeting: %+v", e)
	}
	expire(t, p.Env["DATABASE_URL"], memberTok)
	if e := refused("expired", id, memberTok); e.Reason != "JOIN_TOKEN_EXPIRED" {
		t.Errorf("expired token: %+v", e)
	}
	if _, code := dialSignal(t, p, id, ""); code != http.StatusUnauthorized {
		t.Errorf("signaling without signing in: %d, want 401", code)
	}
	if code := p.Do(t, http.MethodPost, "/api/v1/meetings/"+id+"/video/join-token",
		p.Token(t, identity.Claims{Subject: "00000000-0000-4000-8000-0000000000aa", Orgs: []string{m.OrganizationID}}), map[string]any{}, nil); code != http.StatusForbidden {
		t.Errorf("join token for a member of the organisation who is not a participant: %d, want 403", code)
	}
}

// expire makes a join token expired (its expiry is the database's clock).
func expire(t *testing.T, databaseURL, token string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	h := sha256.Sum256([]byte(token))
	tag, err := conn.Exec(ctx, `UPDATE video.join_tokens SET expire_time = now() - interval '1 second' WHERE token_hash = $1`, h[:])
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("expire the token: %v (%d rows)", err, tag.RowsAffected())
	}
}
