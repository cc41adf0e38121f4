package video

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"google.golang.org/grpc/codes"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/ecabinet/ecabinet/services/video/videotest"
)

// A Wi-Fi drop long enough for ICE to fail (iceFailed without a packet)
// does not cost the seat while the signaling stream lives: the others are
// not told the publisher left, and once the tablet is back it restarts ICE
// and its media flows again as the same participant. Media that does not
// come back within the resume grace ends the seat, and the others are told.
func TestMediaLossKeepsTheSeatForTheGrace(t *testing.T) {
	grace := 6 * time.Second
	w := newWorldWith(t, Config{ResumeGrace: grace})
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	api, cable := videotest.CableAPI(t)
	pub := w.joinWith(t, api, people[0], meeting)
	pub.Publish()
	pub.Offer()
	sub := w.join(t, people[1], meeting)
	sub.Watch()
	sub.Offer()
	pid := pub.Joined.GetParticipantId()
	var v *videotest.Received
	sub.WaitFor("the publisher's video", func() bool {
		v = sub.Track(webrtc.RTPCodecTypeVideo, pid)
		return v != nil && v.Packets.Load() > 0
	})
	failed := func() error {
		p := w.svc.rooms.find(meeting, pid)
		if p == nil {
			return errors.New("the publisher's seat is gone")
		}
		if st := p.pc.ConnectionState(); st != webrtc.PeerConnectionStateFailed {
			return errors.New("the service's connection to the publisher is " + st.String())
		}
		return nil
	}

	cable.Cut()
	testenv.Eventually(t, waitLimit, failed)
	select {
	case <-pub.Done:
		t.Fatalf("the publisher's session ended when its media failed: %v", pub.Err)
	default:
	}
	cable.Restore()
	pub.RestartICE()
	before := v.Packets.Load()
	sub.WaitFor("media after the tablet is back", func() bool { return v.Packets.Load() > before+30 })
	if p := w.svc.rooms.find(meeting, pid); p == nil || p.pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
		t.Fatal("the publisher does not hold its seat, connected, after ICE came back")
	}
	for len(sub.Events) > 0 {
		if m := <-sub.Events; m.GetPeerLeft() != nil {
			t.Errorf("the subscriber was told the publisher left: %v", m)
		}
	}

	// Gone for good: after the grace the seat ends and the others know.
	cable.Cut()
	testenv.Eventually(t, waitLimit, failed)
	left := sub.NextEvent(func(m *videov1.SignalResponse) bool { return m.GetPeerLeft() != nil }).GetPeerLeft()
	if left.GetParticipantId() != pid {
		t.Errorf("peer left = %v, want the publisher", left)
	}
	if got := reason(t, pub.WaitEnd(), codes.Unavailable); got != ReasonConnectionLost {
		t.Errorf("the publisher's session ended with %s, want %s", got, ReasonConnectionLost)
	}
}
