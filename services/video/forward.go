package video

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// keyframeInterval is the least time between two keyframe requests to one
// publisher's track: every subscriber that joins or loses a picture asks,
// and an encoder asked twenty times in a second would send twenty
// keyframes, each several times the size of a normal frame.
const keyframeInterval = 500 * time.Millisecond

// published is one track a participant sends, forwarded to everyone else
// in the room. Each subscriber's connection binds the one fanOut track; the
// binding gets its own writer (see fanOut).
type published struct {
	owner  *peer
	source string // sourceMicrophone, sourceCamera or sourceScreen
	remote *webrtc.TrackRemote
	local  *fanOut
	kf     *keyframes // nil for audio
	// revoked: the owner may no longer publish it (demoted); its packets
	// are read and dropped until it is allowed again.
	revoked atomic.Bool
	// levelID is the negotiated id of the audio level header extension
	// (0: none); speech counts loud packets for the active speaker.
	levelID uint8
	speech  atomic.Int64
	// rec is the writer of the room's recording, when one runs.
	rec atomic.Pointer[trackWriter]
}

func (t *published) video() bool { return t.kf != nil }

// forward hands the publisher's RTP to every subscriber's writer until the
// publisher's track ends (it left, or its connection closed).
func (t *published) forward() {
	defer t.local.closeAll()
	buf := make([]byte, 1500)
	for {
		n, _, err := t.remote.Read(buf)
		if err != nil {
			return
		}
		read := time.Now()
		if t.revoked.Load() {
			continue
		}
		if t.levelID != 0 {
			t.noteLevel(buf[:n])
		}
		if w := t.rec.Load(); w != nil {
			w.push(buf[:n])
		}
		t.local.send(buf[:n], read)
	}
}

// readRTCP serves one subscriber's RTCP for t: reading it lets the
// interceptors answer NACKs from their packet cache, and picture loss
// reports become (throttled) keyframe requests to the publisher.
func (t *published) readRTCP(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		if t.kf == nil {
			continue
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				t.kf.request()
			}
		}
	}
}

// keyframes asks a publisher for a keyframe at most once per interval: a
// request within the interval of the last one is deferred to its end, and
// further requests until then are merged into it, so none is lost and
// none is repeated.
type keyframes struct {
	interval time.Duration
	send     func()
	sent     atomic.Int64 // requests sent upstream (tests and metrics)

	mu      sync.Mutex
	last    time.Time
	pending bool
}

func newKeyframes(interval time.Duration, send func()) *keyframes {
	return &keyframes{interval: interval, send: send}
}

func (k *keyframes) request() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.pending {
		return
	}
	wait := k.interval - time.Since(k.last)
	if k.last.IsZero() || wait <= 0 {
		k.last = time.Now()
		k.sent.Add(1)
		go k.send()
		return
	}
	k.pending = true
	time.AfterFunc(wait, func() {
		k.mu.Lock()
		k.pending = false
		k.last = time.Now()
		k.mu.Unlock()
		k.sent.Add(1)
		k.send()
	})
}

// pli is the keyframe request for the publisher's track.
func pli(pc *webrtc.PeerConnection, ssrc webrtc.SSRC) func() {
	return func() {
		_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(ssrc)}})
	}
}
