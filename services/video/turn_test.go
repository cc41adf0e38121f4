package video

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/ecabinet/ecabinet/services/video/videotest"
)

// Clients that may only relay (their network blocks the media port)
// connect through the built-in TURN server, over UDP and over TCP, with
// the credentials that come with their join token.
func TestTURNRelayOverUDPAndTCP(t *testing.T) {
	w := newWorldWith(t, Config{TURNAddr: "127.0.0.1:0"})
	meeting, people := w.meeting(t, meetingM, chair, memberR, memberR)
	pub := w.join(t, people[0], meeting)
	pub.Publish()
	pub.Offer()
	from := pub.Joined.GetParticipantId()

	for i, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			c := people[1+i]
			resp, err := w.client.IssueJoinToken(testenv.As(c), &videov1.IssueJoinTokenRequest{MeetingId: meeting})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.GetIceServers()) != 1 {
				t.Fatalf("ice servers %v, want the built-in TURN server", resp.GetIceServers())
			}
			ice := resp.GetIceServers()[0]
			if !strings.HasSuffix(ice.GetUsername(), ":"+c.Subject) {
				t.Errorf("TURN username %q does not name the person", ice.GetUsername())
			}
			var url string
			for _, u := range ice.GetUrls() {
				if strings.HasSuffix(u, "transport="+transport) {
					url = u
				}
			}
			cl := videotest.NewWithConfig(t, w.rtc, w.signal(t, c), webrtc.Configuration{
				ICEServers:         []webrtc.ICEServer{{URLs: []string{url}, Username: ice.GetUsername(), Credential: ice.GetCredential()}},
				ICETransportPolicy: webrtc.ICETransportPolicyRelay,
			})
			if err := cl.Join(meeting, resp.GetToken()); err != nil {
				t.Fatal(err)
			}
			cl.Watch()
			cl.Offer()
			cl.WaitFor("video through the relay", func() bool {
				v := cl.Track(webrtc.RTPCodecTypeVideo, from)
				return v != nil && v.Keyframes.Load() > 0
			})
			pair, err := cl.PC.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
			if err == nil && pair != nil && pair.Local.Typ != webrtc.ICECandidateTypeRelay {
				t.Errorf("selected local candidate is %s, want relay", pair.Local.Typ)
			}
		})
	}
}

// TURN credentials are refused once expired, and relay only to the SFU.
func TestTURNCredentialsExpire(t *testing.T) {
	w := newWorldWith(t, Config{TURNAddr: "127.0.0.1:0"})
	rl := w.svc.engine.Load().relay
	const person = "p1"
	allocate := func(ice *videov1.IceServer) error {
		t.Helper()
		conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		addr := strings.TrimPrefix(strings.Split(ice.GetUrls()[0], "?")[0], "turn:")
		c, err := turn.NewClient(&turn.ClientConfig{TURNServerAddr: addr, Username: ice.GetUsername(), Password: ice.GetCredential(),
			Realm: turnRealm, Conn: conn, RTO: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Listen(); err != nil {
			t.Fatal(err)
		}
		relayConn, err := c.Allocate()
		if err != nil {
			return err
		}
		defer relayConn.Close()
		// Relaying anywhere but the SFU is refused (no permission), so
		// the server cannot be used to reach other hosts.
		if _, err := relayConn.WriteTo([]byte("hello"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 9}); err == nil {
			t.Error("the relay accepted a peer that is not the SFU")
		}
		// Nor does it reach another port on the SFU's own address (TURN
		// permissions name an IP only; the relay checks the port too).
		other, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		_, _ = relayConn.WriteTo([]byte("hello"), other.LocalAddr())
		_ = other.SetReadDeadline(time.Now().Add(time.Second))
		if n, from, err := other.ReadFrom(make([]byte, 64)); err == nil {
			t.Errorf("another port on the SFU's address received %d bytes from %v through the relay", n, from)
		}
		return nil
	}
	fresh, err := rl.credentials(person, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := allocate(fresh); err != nil {
		t.Fatalf("fresh credentials refused: %v", err)
	}
	expired, err := rl.credentials(person, -time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := allocate(expired); err == nil {
		t.Error("expired credentials allowed an allocation")
	}
	forged := &videov1.IceServer{Urls: fresh.GetUrls(), Username: fresh.GetUsername(), Credential: "bm90IHRoZSBwYXNzd29yZA=="}
	if err := allocate(forged); err == nil {
		t.Error("a wrong password allowed an allocation")
	}
}
