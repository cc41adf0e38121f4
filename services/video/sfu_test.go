package video

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/pion/webrtc/v4"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/ecabinet/ecabinet/services/video/videotest"
)

const (
	chair    = meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR
	memberR  = meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MEMBER
	observer = meetingsv1.ParticipantRole_PARTICIPANT_ROLE_OBSERVER
	guest    = meetingsv1.ParticipantRole_PARTICIPANT_ROLE_GUEST
	meetingM = videov1.RoomMode_ROOM_MODE_MEETING
)

// A publisher's VP8 and Opus reach a subscriber, with a keyframe; a
// subscriber who joins later gets a keyframe too, which the publisher only
// sends when asked (PLI), so the request went upstream.
func TestForwardingAndKeyframeForLateJoiner(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair, memberR, observer)

	pub := w.join(t, people[0], meeting)
	pub.Publish()
	pub.Offer()

	sub := w.join(t, people[2], meeting)
	sub.Watch()
	sub.Offer()
	pid := pub.Joined.GetParticipantId()
	sub.WaitFor("video and audio from the publisher", func() bool {
		v, a := sub.Track(webrtc.RTPCodecTypeVideo, pid), sub.Track(webrtc.RTPCodecTypeAudio, pid)
		return v != nil && a != nil && v.Packets.Load() > 30 && a.Packets.Load() > 30
	})
	v := sub.Track(webrtc.RTPCodecTypeVideo, pid)
	sub.WaitFor("a keyframe", func() bool { return v.Keyframes.Load() > 0 })
	if !strings.HasPrefix(v.ID, sourceCamera+"-") {
		t.Errorf("video track id %q does not name its source", v.ID)
	}
	if a := sub.Track(webrtc.RTPCodecTypeAudio, pid); !strings.HasPrefix(a.ID, sourceMicrophone+"-") {
		t.Errorf("audio track id %q does not name its source", a.ID)
	}

	plis := pub.PLIs()
	late := w.join(t, people[1], meeting)
	if got := len(late.Joined.GetPeers()); got != 2 {
		t.Errorf("late joiner sees %d peers, want 2", got)
	}
	late.Watch()
	late.Offer()
	late.WaitFor("a keyframe for the late joiner", func() bool {
		lv := late.Track(webrtc.RTPCodecTypeVideo, pid)
		return lv != nil && lv.Keyframes.Load() > 0
	})
	if pub.PLIs() <= plis {
		t.Errorf("publisher got %d keyframe requests before and %d after a late join; want more", plis, pub.PLIs())
	}
	// The publisher receives nothing of its own.
	for _, r := range pub.Received() {
		if r.StreamID == pid {
			t.Errorf("publisher receives its own track %s", r.ID)
		}
	}
}

// Two members publish: each receives the other's media (renegotiation in
// both directions on one connection).
func TestTwoPublishersSeeEachOther(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	a := w.join(t, people[0], meeting)
	a.Publish()
	a.Offer()
	b := w.join(t, people[1], meeting)
	b.Publish()
	b.Offer()
	for _, c := range []struct {
		who  *videotest.Client
		from *videotest.Client
	}{{a, b}, {b, a}} {
		from := c.from.Joined.GetParticipantId()
		c.who.WaitFor("the video and audio of "+from+" at "+c.who.Joined.GetParticipantId(), func() bool {
			v, au := c.who.Track(webrtc.RTPCodecTypeVideo, from), c.who.Track(webrtc.RTPCodecTypeAudio, from)
			return v != nil && au != nil && v.Keyframes.Load() > 0 && au.Packets.Load() > 10
		})
	}
}

// An observer's token allows watching only: an offer that sends is
// refused with a clear reason, and the session goes on.
func TestObserverCannotPublish(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair, observer)
	obs := w.join(t, people[1], meeting)
	if p := obs.Joined.GetPermissions(); p.GetPublishAudio() || p.GetPublishVideo() || p.GetPublishScreen() {
		t.Fatalf("observer permissions = %v, want watch only", p)
	}
	obs.Publish()
	obs.Offer()
	e := obs.NextError()
	if e.GetReason() != ReasonPublishNotAllowed || e.GetField() != "description.sdp" {
		t.Fatalf("error = %v, want %s on description.sdp", e, ReasonPublishNotAllowed)
	}
	obs.StopMedia()

	// Screen sharing needs its own permission too, even for a member
	// allowed a camera... in a bridge-point room members may not publish.
	bp, bpPeople := w.meeting(t, videov1.RoomMode_ROOM_MODE_BRIDGE_POINTS, chair, memberR)
	m := w.join(t, bpPeople[1], bp)
	m.Publish()
	m.Offer()
	if e := m.NextError(); e.GetReason() != ReasonPublishNotAllowed {
		t.Fatalf("bridge point member publishing: error = %v, want %s", e, ReasonPublishNotAllowed)
	}
	m.StopMedia()
}

func TestPermissionsFor(t *testing.T) {
	all := &videov1.JoinPermissions{PublishAudio: true, PublishVideo: true, PublishScreen: true}
	none := &videov1.JoinPermissions{}
	bridge := videov1.RoomMode_ROOM_MODE_BRIDGE_POINTS
	tests := []struct {
		role meetingsv1.ParticipantRole
		mode videov1.RoomMode
		want *videov1.JoinPermissions
	}{
		{chair, meetingM, all},
		{meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER, meetingM, all},
		{memberR, meetingM, all},
		{observer, meetingM, none},
		{guest, meetingM, none},
		{chair, bridge, all},
		{memberR, bridge, none},
		{observer, bridge, none},
	}
	for _, tt := range tests {
		if got := permissionsFor(tt.role, tt.mode); !proto.Equal(got, tt.want) {
			t.Errorf("permissionsFor(%s, %s) = %v, want %v", tt.role, tt.mode, got, tt.want)
		}
	}
}

// Joins without a valid token for this meeting and this person are
// refused, each with its reason.
func TestJoinRefusals(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	other, _ := w.meeting(t, meetingM, chair)
	tok := w.token(t, people[0], meeting)

	expired := w.token(t, people[0], meeting)
	if _, err := w.pool.Exec(context.Background(), `UPDATE join_tokens SET expire_time = now() - interval '1 second' WHERE token_hash = $1`,
		hashToken(expired)); err != nil {
		t.Fatal(err)
	}
	join := func(as int, meetingID, token string) error {
		s := w.signal(t, people[as])
		if err := s.Send(&videov1.SignalRequest{Message: &videov1.SignalRequest_Join{Join: &videov1.Join{MeetingId: meetingID, Token: token}}}); err != nil {
			t.Fatal(err)
		}
		_, err := s.Recv()
		return err
	}

	if diff := testenv.ViolatedFields(t, join(0, meeting, "")); len(diff) != 1 || diff[0] != "join.token" {
		t.Errorf("no token: violated fields %v, want [join.token]", diff)
	}
	for _, tt := range []struct {
		name    string
		as      int
		meeting string
		token   string
		want    string
	}{
		{"unknown token", 0, meeting, "not-a-token", ReasonTokenInvalid},
		{"expired token", 0, meeting, expired, ReasonTokenExpired},
		{"token for another meeting", 0, other, tok, ReasonTokenWrongMeeting},
		{"someone else's token", 1, meeting, tok, ReasonTokenNotYours},
	} {
		if got := reason(t, join(tt.as, tt.meeting, tt.token), codes.PermissionDenied); got != tt.want {
			t.Errorf("%s: reason %s, want %s", tt.name, got, tt.want)
		}
	}

	// A session must start with join.
	s := w.signal(t, people[0])
	if err := s.Send(&videov1.SignalRequest{Message: &videov1.SignalRequest_Leave{Leave: &videov1.Leave{}}}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Recv()
	if got := reason(t, err, codes.FailedPrecondition); got != ReasonJoinFirst {
		t.Errorf("leave first: reason %s, want %s", got, ReasonJoinFirst)
	}
	// No identity at all.
	ns, err := w.client.Signal(context.Background())
	if err == nil {
		_, err = ns.Recv()
	}
	testenv.Code(t, err, codes.Unauthenticated)
}

func TestIssueJoinToken(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair, observer)
	resp, err := w.client.IssueJoinToken(testenv.As(people[1]), &videov1.IssueJoinTokenRequest{MeetingId: meeting})
	if err != nil {
		t.Fatalf("observer: %v", err)
	}
	if resp.GetToken() == "" || !resp.GetExpireTime().AsTime().After(time.Now().Add(-time.Minute)) {
		t.Errorf("response = %v, want a token with a future expiry", resp)
	}
	if p := resp.GetPermissions(); p.GetPublishAudio() || p.GetPublishVideo() || p.GetPublishScreen() {
		t.Errorf("observer permissions = %v, want none", p)
	}
	// Only the hash is stored: one row under SHA-256 of the token, and the
	// token itself in no column.
	sum := sha256.Sum256([]byte(resp.GetToken()))
	var n, clear int
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE token_hash = $1),
		count(*) FILTER (WHERE position($2::bytea in convert_to(t::text, 'UTF8')) > 0) FROM join_tokens t`,
		sum[:], []byte(resp.GetToken())).Scan(&n, &clear); err != nil || n != 1 || clear != 0 {
		t.Errorf("%d rows under the token's hash (want 1), %d holding the token in clear (want 0), %v", n, clear, err)
	}

	// A member of the organisation who is not a participant.
	_, err = w.client.IssueJoinToken(testenv.As(member("org-a")), &videov1.IssueJoinTokenRequest{MeetingId: meeting})
	if got := reason(t, err, codes.PermissionDenied); got != ReasonNotParticipant {
		t.Errorf("non-participant: reason %s", got)
	}
	// Someone who may not see the meeting, or an unknown meeting.
	_, err = w.client.IssueJoinToken(testenv.As(member("org-b")), &videov1.IssueJoinTokenRequest{MeetingId: meeting})
	testenv.Code(t, err, codes.NotFound)
	// A meeting whose room is not open.
	closed := w.meetings.add("org-a", map[string]meetingsv1.ParticipantRole{people[0].Subject: chair})
	_, err = w.client.IssueJoinToken(testenv.As(people[0]), &videov1.IssueJoinTokenRequest{MeetingId: closed})
	if got := reason(t, err, codes.FailedPrecondition); got != ReasonRoomNotOpen {
		t.Errorf("room not open: reason %s", got)
	}
	_, err = w.client.IssueJoinToken(testenv.As(people[0]), &videov1.IssueJoinTokenRequest{MeetingId: "x"})
	if f := testenv.ViolatedFields(t, err); len(f) != 1 || f[0] != "meeting_id" {
		t.Errorf("bad id: violated fields %v", f)
	}
	_, err = w.client.IssueJoinToken(context.Background(), &videov1.IssueJoinTokenRequest{MeetingId: meeting})
	testenv.Code(t, err, codes.Unauthenticated)
	w.meetings.setDown(true)
	_, err = w.client.IssueJoinToken(testenv.As(people[0]), &videov1.IssueJoinTokenRequest{MeetingId: meeting})
	testenv.Code(t, err, codes.Unavailable)
}

// Malformed and out-of-order messages get a SignalError naming the
// problem, and the session goes on: a correct offer then works.
func TestSignalingErrors(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair)
	c := w.join(t, people[0], meeting)
	send := func(m *videov1.SignalRequest) {
		t.Helper()
		if err := c.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	desc := func(typ videov1.SdpType, sdp string) *videov1.SignalRequest {
		return &videov1.SignalRequest{Message: &videov1.SignalRequest_Description{Description: &videov1.SessionDescription{Type: typ, Sdp: sdp}}}
	}
	for _, tt := range []struct {
		name   string
		msg    *videov1.SignalRequest
		reason string
		field  string
	}{
		{"garbage offer", desc(videov1.SdpType_SDP_TYPE_OFFER, "hello"), ReasonInvalidSDP, "description.sdp"},
		{"empty offer", desc(videov1.SdpType_SDP_TYPE_OFFER, ""), ReasonInvalidSDP, "description.sdp"},
		{"offer without media", desc(videov1.SdpType_SDP_TYPE_OFFER, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"), ReasonInvalidSDP, "description.sdp"},
		{"no type", desc(videov1.SdpType_SDP_TYPE_UNSPECIFIED, "v=0"), ReasonInvalidSDP, "description.type"},
		{"answer without offer", desc(videov1.SdpType_SDP_TYPE_ANSWER, "v=0"), ReasonUnexpected, "description.type"},
		{"bad candidate", &videov1.SignalRequest{Message: &videov1.SignalRequest_Candidate{Candidate: &videov1.IceCandidate{Candidate: "candidate:nonsense"}}},
			ReasonInvalidCandidate, "candidate.candidate"},
		{"second join", &videov1.SignalRequest{Message: &videov1.SignalRequest_Join{Join: &videov1.Join{MeetingId: meeting, Token: "x"}}}, ReasonAlreadyJoined, "join"},
		{"empty message", &videov1.SignalRequest{}, ReasonUnexpected, "message"},
	} {
		send(tt.msg)
		e := c.NextError()
		if e.GetReason() != tt.reason || e.GetField() != tt.field || e.GetMessage() == "" {
			t.Errorf("%s: error %v, want reason %s on %s with a message", tt.name, e, tt.reason, tt.field)
		}
	}
	// Still usable.
	c.Watch()
	c.Offer()
	c.WaitFor("connected", func() bool { return c.PC.ConnectionState() == webrtc.PeerConnectionStateConnected })
}

// A client that never answers the service's offer is dropped when the
// offer times out; the others are told and the seat is freed.
func TestUnansweredOfferTimesOut(t *testing.T) {
	w := newWorldWith(t, Config{OfferTimeout: 2 * time.Second})
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	silent := w.join(t, people[1], meeting)
	silent.HoldOffers()
	silent.Watch()
	silent.Offer()

	pub := w.join(t, people[0], meeting)
	pub.Publish()
	pub.Offer() // its tracks make the service offer them to the silent one

	err := silent.WaitEnd()
	if got := reason(t, err, codes.DeadlineExceeded); got != ReasonOfferTimeout {
		t.Fatalf("silent client ended with %s, want %s", got, ReasonOfferTimeout)
	}
	if silent.Offers.Load() == 0 {
		t.Error("the silent client was never sent an offer")
	}
	left := pub.NextEvent(func(m *videov1.SignalResponse) bool { return m.GetPeerLeft() != nil }).GetPeerLeft()
	if left.GetParticipantId() != silent.Joined.GetParticipantId() || left.GetReason() != "offer_timeout" {
		t.Errorf("peer left = %v, want the silent one with reason offer_timeout", left)
	}
	testenv.Eventually(t, waitLimit, func() error { return w.wantSeated(meeting, 1) })
}

// wantSeated checks the room's participant rows and live count.
func (w *world) wantSeated(meeting string, n int) error {
	var rows int
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM room_participants WHERE meeting_id = $1`, meeting).Scan(&rows); err != nil {
		return err
	}
	if live := w.svc.rooms.count(meeting); rows != n || live != n {
		return fmt.Errorf("%d participant rows and %d connected, want %d", rows, live, n)
	}
	return nil
}

// Beyond the configured limits a join is refused with a reason; a freed
// seat can be taken again.
func TestLimits(t *testing.T) {
	w := newWorldWith(t, Config{MaxRooms: 1, MaxParticipants: 2})
	meeting, people := w.meeting(t, meetingM, chair, memberR, memberR)
	other, otherPeople := w.meeting(t, meetingM, chair)
	first := w.join(t, people[0], meeting)
	w.join(t, people[1], meeting)

	tryJoin := func(c identity.Claims, meetingID string) error {
		cl := videotest.New(t, w.rtc, w.signal(t, c))
		return cl.Join(meetingID, w.token(t, c, meetingID))
	}
	if got := reason(t, tryJoin(people[2], meeting), codes.ResourceExhausted); got != ReasonRoomFull {
		t.Errorf("third participant: %s, want %s", got, ReasonRoomFull)
	}
	if got := reason(t, tryJoin(otherPeople[0], other), codes.ResourceExhausted); got != ReasonTooManyRooms {
		t.Errorf("second room: %s, want %s", got, ReasonTooManyRooms)
	}
	if err := first.Send(&videov1.SignalRequest{Message: &videov1.SignalRequest_Leave{Leave: &videov1.Leave{}}}); err != nil {
		t.Fatal(err)
	}
	if err := first.WaitEnd(); err != io.EOF {
		t.Errorf("after leave the stream ended with %v, want EOF", err)
	}
	testenv.Eventually(t, waitLimit, func() error { return w.wantSeated(meeting, 1) })
	if err := tryJoin(people[2], meeting); err != nil {
		t.Errorf("join after a seat was freed: %v", err)
	}
}

// A publisher that disappears without a word (its process dies: the
// signaling stream breaks and its media stops) is removed: the others are
// told, its tracks go, its seat is freed and its departure recorded.
func TestPublisherVanishing(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	ctx, kill := context.WithCancel(testenv.As(people[0]))
	s, err := w.client.Signal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pub := videotest.New(t, w.rtc, s)
	if err := pub.Join(meeting, w.token(t, people[0], meeting)); err != nil {
		t.Fatal(err)
	}
	pub.Publish()
	pub.Offer()
	sub := w.join(t, people[1], meeting)
	sub.Watch()
	sub.Offer()
	pid := pub.Joined.GetParticipantId()
	sub.WaitFor("the publisher's video", func() bool {
		v := sub.Track(webrtc.RTPCodecTypeVideo, pid)
		return v != nil && v.Packets.Load() > 0
	})
	offers := sub.Offers.Load()

	kill()
	pub.Close()
	left := sub.NextEvent(func(m *videov1.SignalResponse) bool { return m.GetPeerLeft() != nil }).GetPeerLeft()
	if left.GetParticipantId() != pid || left.GetPersonId() != people[0].Subject {
		t.Errorf("peer left = %v, want the publisher", left)
	}
	// Its tracks are removed from the subscriber's connection.
	sub.WaitFor("a renegotiation without the publisher's tracks", func() bool { return sub.Offers.Load() > offers })
	testenv.Eventually(t, waitLimit, func() error { return w.wantSeated(meeting, 1) })

	c := testenv.Consumer(t, w.js, w.stream)
	var subjects []string
	for range 4 { // room_opened, two joins, one leave
		subjects = append(subjects, lastToken(testenv.Next(t, c).Subject()))
	}
	if diff := cmp.Diff([]string{"room_opened", "participant_joined", "participant_joined", "participant_left"}, subjects); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// A media connection that fails while signaling stays up (the network
// dropped media only) ends the session with CONNECTION_LOST.
func TestMediaConnectionLost(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	a := w.join(t, people[0], meeting)
	a.Watch()
	a.Offer()
	b := w.join(t, people[1], meeting)
	b.Watch()
	b.Offer()
	a.WaitFor("connected", func() bool { return a.PC.ConnectionState() == webrtc.PeerConnectionStateConnected })
	a.Close() // media gone; the stream stays open
	if got := reason(t, a.WaitEnd(), codes.Unavailable); got != ReasonConnectionLost {
		t.Fatalf("ended with %s, want %s", got, ReasonConnectionLost)
	}
	left := b.NextEvent(func(m *videov1.SignalResponse) bool { return m.GetPeerLeft() != nil }).GetPeerLeft()
	if left.GetReason() != "connection_lost" {
		t.Errorf("peer left reason %q, want connection_lost", left.GetReason())
	}
}

// Joining publishes ParticipantJoined (in the same transaction as the
// participant row), leaving ParticipantLeft; others hear of both and of
// microphone/camera changes.
func TestJoinLeaveEventsAndNotices(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	a := w.join(t, people[0], meeting)
	b := w.join(t, people[1], meeting)
	joined := a.NextEvent(func(m *videov1.SignalResponse) bool { return m.GetPeerJoined() != nil }).GetPeerJoined().GetPeer()
	if joined.GetPersonId() != people[1].Subject || joined.GetParticipantId() != b.Joined.GetParticipantId() {
		t.Errorf("peer joined = %v, want %s", joined, people[1].Subject)
	}
	if err := b.Send(&videov1.SignalRequest{Message: &videov1.SignalRequest_MediaState{MediaState: &videov1.MediaState{AudioMuted: true}}}); err != nil {
		t.Fatal(err)
	}
	ms := a.NextEvent(func(m *videov1.SignalResponse) bool { return m.GetPeerMediaState() != nil }).GetPeerMediaState()
	if ms.GetParticipantId() != b.Joined.GetParticipantId() || !ms.GetMediaState().GetAudioMuted() || ms.GetMediaState().GetCameraOff() {
		t.Errorf("media state = %v, want b muted with camera on", ms)
	}
	if err := b.Send(&videov1.SignalRequest{Message: &videov1.SignalRequest_Leave{Leave: &videov1.Leave{}}}); err != nil {
		t.Fatal(err)
	}
	left := a.NextEvent(func(m *videov1.SignalResponse) bool { return m.GetPeerLeft() != nil }).GetPeerLeft()
	if left.GetReason() != "left" {
		t.Errorf("peer left reason %q, want left", left.GetReason())
	}

	c := testenv.Consumer(t, w.js, w.stream)
	testenv.Next(t, c) // room_opened
	for _, want := range []struct {
		event, person string
	}{{"participant_joined", people[0].Subject}, {"participant_joined", people[1].Subject}, {"participant_left", people[1].Subject}} {
		msg := testenv.Next(t, c)
		if got := lastToken(msg.Subject()); got != want.event {
			t.Fatalf("event %s, want %s", got, want.event)
		}
		var ev videov1.ParticipantJoined // ParticipantLeft has the same fields
		if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.GetMeetingId() != meeting || ev.GetPersonId() != want.person || ev.GetMeta().GetOrganizationId() != "org-a" {
			t.Errorf("%s = %v, want meeting %s person %s in org-a", want.event, &ev, meeting, want.person)
		}
	}
	if err := w.wantSeated(meeting, 1); err != nil {
		t.Error(err)
	}
	got, err := w.client.GetRoom(testenv.As(people[0]), &videov1.GetRoomRequest{MeetingId: meeting})
	if err != nil || got.GetRoom().GetParticipantCount() != 1 {
		t.Errorf("GetRoom = %v, %v; want 1 participant", got, err)
	}
}

// Participants left in a room by a previous run (the process died) are
// recorded as gone when the service starts.
func TestStaleParticipantsSwept(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair)
	ctx := context.Background()
	if _, err := w.pool.Exec(ctx, `INSERT INTO room_participants (participant_id, meeting_id, person_id, join_time)
		VALUES ($1, $2, $3, now())`, uuid.NewString(), meeting, people[0].Subject); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.sweepParticipants(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.wantSeated(meeting, 0); err != nil {
		t.Error(err)
	}
	c := testenv.Consumer(t, w.js, w.stream)
	testenv.Next(t, c)
	if got := lastToken(testenv.Next(t, c).Subject()); got != "participant_left" {
		t.Errorf("event %s, want participant_left", got)
	}
}

func lastToken(subject string) string { return subject[strings.LastIndexByte(subject, '.')+1:] }

// In a bridge-point conference a receiving point raises its hand; the
// chair promotes it, its offer to publish is then accepted and its media
// reaches the main hall; demoted, its media stops reaching others.
func TestBridgePointPromotedAndDemoted(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, videov1.RoomMode_ROOM_MODE_BRIDGE_POINTS, chair, memberR, memberR)
	hall := w.join(t, people[0], meeting)
	hall.Publish()
	hall.Offer()
	point := w.join(t, people[1], meeting)
	point.Watch()
	point.Offer()
	other := w.join(t, people[2], meeting)
	other.Watch()
	other.Offer()
	pointID := point.Joined.GetParticipantId()

	if err := point.Send(&videov1.SignalRequest{Message: &videov1.SignalRequest_RaiseHand{RaiseHand: &videov1.RaiseHand{Raised: true}}}); err != nil {
		t.Fatal(err)
	}
	hand := hall.NextEvent(func(m *videov1.SignalResponse) bool { return m.GetPeerHand() != nil }).GetPeerHand()
	if hand.GetParticipantId() != pointID || !hand.GetRaised() {
		t.Errorf("hand = %v, want %s raised", hand, pointID)
	}

	speak := &videov1.JoinPermissions{PublishAudio: true, PublishVideo: true}
	req := &videov1.SetPermissionsRequest{MeetingId: meeting, ParticipantId: pointID, Permissions: speak}
	// Only who runs the meeting may.
	_, err := w.client.SetPermissions(testenv.As(people[2]), req)
	if got := reason(t, err, codes.PermissionDenied); got != ReasonNotRunning {
		t.Errorf("member promoting: %s", got)
	}
	_, err = w.client.SetPermissions(testenv.As(people[0]), &videov1.SetPermissionsRequest{MeetingId: meeting, ParticipantId: uuid.NewString(), Permissions: speak})
	testenv.Code(t, err, codes.NotFound)
	_, err = w.client.SetPermissions(testenv.As(people[0]), &videov1.SetPermissionsRequest{MeetingId: meeting, ParticipantId: pointID})
	if f := testenv.ViolatedFields(t, err); len(f) != 1 || f[0] != "permissions" {
		t.Errorf("no permissions: violated %v", f)
	}
	got, err := w.client.SetPermissions(testenv.As(people[0]), req)
	if err != nil {
		t.Fatalf("chair promotes: %v", err)
	}
	if !proto.Equal(got.GetPeer().GetPermissions(), speak) || !got.GetPeer().GetHandRaised() {
		t.Errorf("promoted peer = %v", got.GetPeer())
	}
	perm := point.NextEvent(func(m *videov1.SignalResponse) bool { return m.GetPeerPermissions() != nil }).GetPeerPermissions()
	if perm.GetParticipantId() != pointID || !perm.GetPermissions().GetPublishVideo() {
		t.Errorf("the point was told %v", perm)
	}

	// The point now publishes on the same connection, offering again
	// with tracks.
	point.Publish()
	point.Offer()
	hall.WaitFor("the bridge point's video in the hall", func() bool {
		v := hall.Track(webrtc.RTPCodecTypeVideo, pointID)
		return v != nil && v.Keyframes.Load() > 0
	})
	other.WaitFor("the bridge point's video at another point", func() bool {
		v := other.Track(webrtc.RTPCodecTypeVideo, pointID)
		return v != nil && v.Packets.Load() > 0
	})

	// Demoted: its tracks are taken off the others' connections.
	offers := other.Offers.Load()
	if _, err := w.client.SetPermissions(testenv.As(people[0]), &videov1.SetPermissionsRequest{
		MeetingId: meeting, ParticipantId: pointID, Permissions: &videov1.JoinPermissions{}}); err != nil {
		t.Fatalf("chair demotes: %v", err)
	}
	other.WaitFor("a renegotiation without the point's tracks", func() bool { return other.Offers.Load() > offers })
	v := other.Track(webrtc.RTPCodecTypeVideo, pointID)
	other.WaitFor("the point's video to stop", func() bool {
		before := v.Packets.Load()
		time.Sleep(300 * time.Millisecond)
		return v.Packets.Load() == before
	})
}

// A screen share is a track of its own, labelled as such for the others;
// it needs its own permission.
func TestScreenShare(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair, observer)
	presenter := w.join(t, people[0], meeting)
	presenter.Publish()
	presenter.ShareScreen()
	presenter.Offer()
	viewer := w.join(t, people[1], meeting)
	viewer.Watch()
	viewer.Offer()
	from := presenter.Joined.GetParticipantId()
	viewer.WaitFor("the camera and the screen", func() bool {
		var camera, screen bool
		for _, r := range viewer.Received() {
			if r.StreamID == from && r.Kind == webrtc.RTPCodecTypeVideo && r.Keyframes.Load() > 0 {
				camera = camera || strings.HasPrefix(r.ID, sourceCamera+"-")
				screen = screen || strings.HasPrefix(r.ID, sourceScreen+"-")
			}
		}
		return camera && screen
	})

	// The viewer, promoted to speak with camera and microphone but not to
	// share a screen, may not share one.
	if _, err := w.client.SetPermissions(testenv.As(people[0]), &videov1.SetPermissionsRequest{MeetingId: meeting,
		ParticipantId: viewer.Joined.GetParticipantId(), Permissions: &videov1.JoinPermissions{PublishAudio: true, PublishVideo: true}}); err != nil {
		t.Fatal(err)
	}
	viewer.NextEvent(func(m *videov1.SignalResponse) bool { return m.GetPeerPermissions() != nil })
	viewer.WaitFor("a stable connection", func() bool { return viewer.PC.SignalingState() == webrtc.SignalingStateStable })
	viewer.ShareScreen()
	viewer.Offer()
	if e := viewer.NextError(); e.GetReason() != ReasonPublishNotAllowed || !strings.Contains(e.GetMessage(), "screen") {
		t.Errorf("sharing a screen without the permission: %v, want %s naming the screen share", e, ReasonPublishNotAllowed)
	}
}

// The active speaker follows the audio levels publishers send: whoever
// speaks is announced, and when another speaks instead, they are.
func TestActiveSpeaker(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair, memberR, observer)
	a := w.join(t, people[0], meeting)
	a.Publish()
	a.Offer()
	b := w.join(t, people[1], meeting)
	b.Publish()
	b.Offer()
	c := w.join(t, people[2], meeting)
	c.Watch()
	c.Offer()
	speaker := func(want *videotest.Client) {
		t.Helper()
		id := want.Joined.GetParticipantId()
		c.NextEvent(func(m *videov1.SignalResponse) bool {
			return m.GetActiveSpeaker().GetParticipantId() == id
		})
	}
	a.Source.AudioLevel.Store(20) // speaking
	speaker(a)
	a.Source.AudioLevel.Store(127)
	b.Source.AudioLevel.Store(30)
	speaker(b)
}

// The payload types of VP8 and its RTX as the test clients (pion's
// default codecs) offer them, which the service answers with.
const vp8PT, rtxPT = 96, 97

// With a tenth of the video lost on the network on the way to a
// subscriber (a pion vnet dropping its VP8 and RTX packets at random),
// NACKs to the SFU and retransmissions from its per-subscriber packet
// cache keep the subscriber's loss well below that.
func TestNACKRecoversLoss(t *testing.T) {
	v := videotest.NewVNet(t)
	w := newWorldOnVNet(t, v)
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	pub := w.join(t, people[0], meeting)
	pub.Source.FrameBytes = 4000 // several packets a frame
	pub.Publish()
	pub.Offer()
	host, ip := v.Host()
	lost := v.LoseTo(ip, 0.10, vp8PT, rtxPT)
	sub := w.joinWith(t, v.API(host), people[1], meeting)
	sub.Sink.Measure = true
	sub.Watch()
	sub.Offer()
	video := keyframedVideo(sub, pub.Joined.GetParticipantId())
	vp8, rtx := lost.Of(vp8PT), lost.Of(rtxPT)
	seen0, dropped0 := vp8.Seen.Load(), vp8.Dropped.Load()
	sub.WaitFor("1,000 packets", func() bool { return vp8.Seen.Load()-seen0 > 1000 })
	injected := float64(vp8.Dropped.Load()-dropped0) / float64(vp8.Seen.Load()-seen0)
	loss, expected := video.Loss()
	t.Logf("injected loss %.1f%%, subscriber's loss %.2f%% of %d packets", injected*100, loss*100, expected)
	if injected < 0.05 {
		t.Fatalf("only %.1f%% was dropped; the test would prove nothing", injected*100)
	}
	if loss > injected/4 {
		t.Errorf("subscriber's loss %.2f%% with %.1f%% injected: retransmission did not recover it", loss*100, injected*100)
	}
	// The repairs came as RTX, not as copies on the media SSRC.
	arrived := rtx.Seen.Load() - rtx.Dropped.Load()
	if arrived == 0 {
		t.Errorf("no packet arrived on an RTX stream; the retransmissions were not sent as RTX")
	}
	t.Logf("%d packets arrived as RTX", arrived)
}

// With a tenth of a publisher's video lost on its way to the SFU (its VP8
// and RTX packets, on a pion vnet), the SFU's NACKs bring the publisher's
// retransmissions (as RTX), which the SFU reads as the packets they repair
// and forwards: a subscriber on a clean link sees little loss.
func TestPublisherRTXRepairsReachTheSFU(t *testing.T) {
	v := videotest.NewVNet(t)
	w := newWorldOnVNet(t, v)
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	host, ip := v.Host()
	lost := v.LoseFrom(ip, 0.10, vp8PT, rtxPT)
	pub := w.joinWith(t, v.API(host), people[0], meeting)
	pub.Source.FrameBytes = 4000 // several packets a frame
	pub.Publish()
	pub.Offer()
	sub := w.join(t, people[1], meeting)
	sub.Sink.Measure = true
	sub.Watch()
	sub.Offer()
	video := keyframedVideo(sub, pub.Joined.GetParticipantId())
	vp8, rtx := lost.Of(vp8PT), lost.Of(rtxPT)
	sent0, lost0, rtx0 := vp8.Seen.Load(), vp8.Dropped.Load(), rtx.Seen.Load()
	sub.WaitFor("1,000 packets", func() bool { return vp8.Seen.Load()-sent0 > 1000 })
	dropped, repairs := vp8.Dropped.Load()-lost0, rtx.Seen.Load()-rtx0
	injected := float64(dropped) / float64(vp8.Seen.Load()-sent0)
	loss, expected := video.Loss()
	t.Logf("injected loss %.1f%% on the publisher's link, %d RTX packets sent; subscriber's loss %.2f%% of %d packets",
		injected*100, repairs, loss*100, expected)
	if injected < 0.05 {
		t.Fatalf("only %.1f%% was dropped; the test would prove nothing", injected*100)
	}
	if repairs == 0 {
		t.Errorf("the publisher sent no RTX: the SFU's NACKs did not reach it, or RTX was not negotiated")
	}
	// Each lost packet is asked for a bounded number of times (see
	// registerInterceptors), not until it leaves the SFU's log.
	if repairs > 3*dropped {
		t.Errorf("the publisher sent %d retransmissions for %d lost packets: the SFU asks again for what it already got", repairs, dropped)
	}
	if loss > injected/4 {
		t.Errorf("subscriber's loss %.2f%% with %.1f%% lost on the publisher's link: the repairs did not reach the SFU", loss*100, injected*100)
	}
}

// A client that says leave and drops its stream at once (the gateway does
// so when a browser leaves and closes its socket) has left, not vanished:
// the others hear "left" at once, not "gone" after the grace period.
func TestLeaveThenHangUp(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	a := w.join(t, people[0], meeting)
	ctx, cancel := context.WithCancel(testenv.As(people[1]))
	stream, err := w.client.Signal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := videotest.New(t, w.rtc, stream)
	if err := b.Join(meeting, w.token(t, people[1], meeting)); err != nil {
		t.Fatal(err)
	}
	a.NextEvent(func(m *videov1.SignalResponse) bool { return m.GetPeerJoined() != nil })
	if err := b.Send(&videov1.SignalRequest{Message: &videov1.SignalRequest_Leave{Leave: &videov1.Leave{}}}); err != nil {
		t.Fatal(err)
	}
	_ = stream.CloseSend()
	cancel()
	left := a.NextEvent(func(m *videov1.SignalResponse) bool { return m.GetPeerLeft() != nil }).GetPeerLeft()
	if left.GetReason() != "left" {
		t.Errorf("peer left reason %q, want left (not gone after the grace period)", left.GetReason())
	}
}

// keyframedVideo waits until sub has had a keyframe of from's video and
// returns that track with its counts reset, for measuring what follows.
func keyframedVideo(sub *videotest.Client, from string) *videotest.Received {
	sub.WaitFor("video", func() bool {
		v := sub.Track(webrtc.RTPCodecTypeVideo, from)
		return v != nil && v.Keyframes.Load() > 0
	})
	v := sub.Track(webrtc.RTPCodecTypeVideo, from)
	v.Reset()
	return v
}
