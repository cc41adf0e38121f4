package video

import (
	"errors"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// Behind a one-to-one NAT (VIDEO_PUBLIC_IP) the service offers the public
// address in its candidates instead of the local one, and hands out TURN
// URLs on it. (192.0.2.10 is a documentation address: the loopback-only
// test client never sends to it; only what is offered is checked.)
func TestPublicAddressIsOffered(t *testing.T) {
	const public = "192.0.2.10"
	w := newWorldWith(t, Config{PublicIP: public, TURNAddr: "127.0.0.1:0"})
	meeting, people := w.meeting(t, meetingM, chair)

	tok, err := w.client.IssueJoinToken(testenv.As(people[0]), &videov1.IssueJoinTokenRequest{MeetingId: meeting})
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, s := range tok.GetIceServers() {
		urls = append(urls, s.GetUrls()...)
	}
	if len(urls) == 0 {
		t.Fatal("no TURN URLs with the token")
	}
	for _, u := range urls {
		if !strings.HasPrefix(u, "turn:"+public+":") {
			t.Errorf("TURN URL %s, want one on the public address %s", u, public)
		}
	}

	c := w.join(t, people[0], meeting)
	c.Publish()
	c.Offer()
	pid := c.Joined.GetParticipantId()
	var sdp string
	testenv.Eventually(t, waitLimit, func() error {
		p := w.svc.rooms.find(meeting, pid)
		if p == nil || p.pc.ICEGatheringState() != webrtc.ICEGatheringStateComplete || p.pc.LocalDescription() == nil {
			return errors.New("the service's candidates are not gathered yet")
		}
		sdp = p.pc.LocalDescription().SDP
		return nil
	})
	var candidates []string
	for line := range strings.SplitSeq(sdp, "\r\n") {
		if strings.HasPrefix(line, "a=candidate:") {
			candidates = append(candidates, line)
		}
	}
	if len(candidates) == 0 {
		t.Fatalf("the service offered no candidate:\n%s", sdp)
	}
	for _, line := range candidates {
		if !strings.Contains(line, " "+public+" ") || strings.Contains(line, " 127.0.0.1 ") {
			t.Errorf("candidate %q, want the public address %s in place of the local one", line, public)
		}
	}
}
