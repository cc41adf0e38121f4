package video

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
)

// offerSDP writes an offer with one sending section per kind given
// ("audio" or "video"), mids 0, 1, …
func offerSDP(kinds ...string) string {
	var b strings.Builder
	b.WriteString("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
	for i, k := range kinds {
		pt := 111
		if k == "video" {
			pt = 96
		}
		fmt.Fprintf(&b, "m=%s 9 UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 0.0.0.0\r\na=mid:%d\r\na=sendrecv\r\n", k, pt, i)
	}
	return b.String()
}

func TestCheckOfferLimitsTracks(t *testing.T) {
	all := &videov1.JoinPermissions{PublishAudio: true, PublishVideo: true, PublishScreen: true}
	if err := checkOffer(offerSDP("audio", "video", "video"), []string{"2"}, all); err != nil {
		t.Errorf("microphone, camera and screen: %v", err)
	}
	for _, kinds := range [][]string{{"audio", "audio"}, {"video", "video"}, {"audio", "video", "video", "video"}} {
		err := checkOffer(offerSDP(kinds...), []string{"2"}, all)
		var se *signalError
		if !errors.As(err, &se) || se.reason != ReasonTooManyTracks {
			t.Errorf("sections %v: %v, want %s", kinds, err, ReasonTooManyTracks)
		}
	}
}

// The service offers VP8 (with RTX) and Opus only: layer switching and the
// recording understand no other video codec.
func TestServiceOffersVP8AndOpusOnly(t *testing.T) {
	me := &webrtc.MediaEngine{}
	if err := registerCodecs(me); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	var codecs []string
	for line := range strings.SplitSeq(offer.SDP, "\r\n") {
		if rest, ok := strings.CutPrefix(line, "a=rtpmap:"); ok {
			_, name, _ := strings.Cut(rest, " ")
			codecs = append(codecs, name)
		}
	}
	if got := strings.Join(codecs, " "); got != "opus/48000/2 VP8/90000 rtx/90000" {
		t.Errorf("the service offers %s, want opus/48000/2 VP8/90000 rtx/90000", got)
	}
}
