package video

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"google.golang.org/grpc/codes"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/ecabinet/ecabinet/services/video/videotest"
)

// joinBreakable joins with a stream the test can break (as a Wi-Fi drop
// breaks the WebSocket) while the media connection lives on.
func (w *world) joinBreakable(t *testing.T, c identity.Claims, meetingID string) (*videotest.Client, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(testenv.As(c))
	t.Cleanup(cancel)
	s, err := w.client.Signal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cl := videotest.New(t, w.rtc, s)
	if err := cl.Join(meetingID, w.token(t, c, meetingID)); err != nil {
		t.Fatal(err)
	}
	return cl, cancel
}

// A publisher whose signaling breaks keeps its seat: the others are not
// told it left, its media keeps flowing, no departure is recorded, and it
// takes the seat back over a new stream as the same participant.
func TestResumeKeepsTheSeat(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	pub, breakStream := w.joinBreakable(t, people[0], meeting)
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

	breakStream()
	<-pub.Done
	v := sub.Track(webrtc.RTPCodecTypeVideo, pid)
	before := v.Packets.Load()
	sub.WaitFor("media while the publisher's signaling is down", func() bool { return v.Packets.Load() > before+30 })

	if err := pub.Resume(w.signal(t, people[0]), meeting, w.token(t, people[0], meeting)); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if pub.Joined.GetParticipantId() != pid || len(pub.Joined.GetPeers()) != 1 {
		t.Errorf("resumed as %s with peers %v; want %s beside the subscriber", pub.Joined.GetParticipantId(), pub.Joined.GetPeers(), pid)
	}
	// Its network changed: it restarts ICE, and its media still flows.
	ufrag := func() string {
		d := pub.PC.LocalDescription()
		_, u, _ := strings.Cut(d.SDP, "a=ice-ufrag:")
		u, _, _ = strings.Cut(u, "\r\n")
		return u
	}
	old := ufrag()
	pub.RestartICE()
	pub.WaitFor("the service's answer to the ICE restart", func() bool {
		return pub.PC.SignalingState() == webrtc.SignalingStateStable && ufrag() != old
	})
	before = v.Packets.Load()
	sub.WaitFor("media after the ICE restart", func() bool { return v.Packets.Load() > before+30 })

	// Signaling works again: a notice reaches the resumed client.
	if err := sub.Send(&videov1.SignalRequest{Message: &videov1.SignalRequest_MediaState{MediaState: &videov1.MediaState{CameraOff: true}}}); err != nil {
		t.Fatal(err)
	}
	pub.NextEvent(func(m *videov1.SignalResponse) bool { return m.GetPeerMediaState() != nil })
	for len(sub.Events) > 0 {
		if m := <-sub.Events; m.GetPeerLeft() != nil {
			t.Errorf("the subscriber was told the publisher left: %v", m)
		}
	}
	if err := w.wantSeated(meeting, 2); err != nil {
		t.Error(err)
	}
	// Three events: the room opened and two joins; no departure (the rows
	// above say none was recorded; this waits for the relay).
	testenv.Eventually(t, waitLimit, func() error {
		if n := testenv.StreamMsgs(t, w.js, w.stream); n < 3 {
			return fmt.Errorf("%d events so far", n)
		}
		return nil
	})
	if n := testenv.StreamMsgs(t, w.js, w.stream); n != 3 {
		t.Errorf("%d events, want 3 (no participant_left, no second participant_joined)", n)
	}
}

// Past the grace period the seat is given up; resuming then is refused
// and so is taking someone else's seat.
func TestResumeAfterGraceIsRefused(t *testing.T) {
	w := newWorldWith(t, Config{ResumeGrace: 300 * time.Millisecond})
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	a, breakStream := w.joinBreakable(t, people[0], meeting)
	b := w.join(t, people[1], meeting)

	// Someone else's seat.
	thief := videotest.New(t, w.rtc, w.signal(t, people[1]))
	thief.Joined = a.Joined
	close(thief.Done)
	err := thief.Resume(w.signal(t, people[1]), meeting, w.token(t, people[1], meeting))
	if got := reason(t, err, codes.NotFound); got != ReasonResumeUnknown {
		t.Errorf("taking another's seat: %s, want %s", got, ReasonResumeUnknown)
	}

	breakStream()
	left := b.NextEvent(func(m *videov1.SignalResponse) bool { return m.GetPeerLeft() != nil }).GetPeerLeft()
	if left.GetParticipantId() != a.Joined.GetParticipantId() || left.GetReason() != "gone" {
		t.Errorf("peer left = %v, want a, gone", left)
	}
	err = a.Resume(w.signal(t, people[0]), meeting, w.token(t, people[0], meeting))
	if got := reason(t, err, codes.NotFound); got != ReasonResumeUnknown {
		t.Errorf("resume after the grace period: %s, want %s", got, ReasonResumeUnknown)
	}
}

// Resuming while the old stream still seems alive (a second tab, or a
// half-open connection) moves the seat to the new stream; the old one is
// told why it ended.
func TestResumeReplacesTheOldStream(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair)
	old := w.join(t, people[0], meeting)
	again := videotest.New(t, w.rtc, w.signal(t, people[0]))
	again.Joined = old.Joined
	close(again.Done)
	if err := again.Resume(w.signal(t, people[0]), meeting, w.token(t, people[0], meeting)); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if got := reason(t, old.WaitEnd(), codes.Aborted); got != ReasonSessionReplaced {
		t.Errorf("old stream ended with %s, want %s", got, ReasonSessionReplaced)
	}
	if err := w.wantSeated(meeting, 1); err != nil {
		t.Error(err)
	}
}

// What happened while a client was away reaches it as the state in
// Joined, first: a participant who joined meanwhile is listed.
func TestResumeTellsWhatChanged(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	a, breakStream := w.joinBreakable(t, people[0], meeting)
	breakStream()
	<-a.Done
	b := w.join(t, people[1], meeting)
	if err := b.Send(&videov1.SignalRequest{Message: &videov1.SignalRequest_RaiseHand{RaiseHand: &videov1.RaiseHand{Raised: true}}}); err != nil {
		t.Fatal(err)
	}
	// The hand notice is queued for a before it resumes (the room's
	// state, read after the resume, shows it).
	testenv.Eventually(t, waitLimit, func() error {
		if r := w.svc.rooms.find(meeting, b.Joined.GetParticipantId()); r == nil || !w.svc.rooms.room(meeting).describe(r).GetHandRaised() {
			return fmt.Errorf("hand not raised yet")
		}
		return nil
	})
	if err := a.Resume(w.signal(t, people[0]), meeting, w.token(t, people[0], meeting)); err != nil {
		t.Fatalf("resume: %v", err)
	}
	peers := a.Joined.GetPeers()
	if len(peers) != 1 || peers[0].GetParticipantId() != b.Joined.GetParticipantId() || !peers[0].GetHandRaised() {
		t.Errorf("peers after resuming = %v, want b with its hand raised", peers)
	}
}
