package video

import (
	"slices"
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
// binding gets its own writer (see fanOut). A simulcast track has several
// layers (encodings) and each writer forwards one of them (see
// simulcast.go).
type published struct {
	owner  *peer
	source string // sourceMicrophone, sourceCamera or sourceScreen
	// remote is the first layer's. kf asks for a keyframe on the layer
	// being recorded (see recordedLayer).
	remote *webrtc.TrackRemote
	local  *fanOut
	kf     *keyframes // nil for audio
	// layers, in arrival order; replaced (never changed in place) when
	// another encoding of a simulcast track arrives.
	layers atomic.Pointer[[]*layer]
	// live counts the layers still being read; guarded by owner.smu. The
	// track ends when the last one does.
	live int
	// revoked: the owner may no longer publish it (demoted); its packets
	// are read and dropped until it is allowed again.
	revoked atomic.Bool
	// levelID is the negotiated id of the audio level header extension
	// (0: none); speech counts loud packets for the active speaker.
	levelID uint8
	speech  atomic.Int64
	// rec is the writer of the room's recording, when one runs; recSel
	// the layer it records.
	rec    atomic.Pointer[trackWriter]
	recSel atomic.Pointer[recChoice]
}

// recChoice is the layer a recording writer takes.
type recChoice struct {
	w     *trackWriter
	layer int
}

// recordedLayer is the layer w records: the best one sending once every
// layer has been measured (or recordSettle after w began, if one never
// is), kept for the recording's whole length — following a subscriber's
// switches would change the picture size mid-file, and the first layer to
// arrive is usually a browser's smallest (it starts low while its
// estimate ramps up). -1 while not chosen: nothing of the track is
// recorded until then, and once chosen that layer is asked for a keyframe
// to start the file with.
func (t *published) recordedLayer(w *trackWriter) int {
	for {
		old := t.recSel.Load()
		if old != nil && old.w == w {
			return old.layer
		}
		c := &recChoice{w: w}
		if t.simulcast() {
			now := time.Now()
			avail := t.available(now)
			if len(avail) == 0 || (len(avail) < len(t.layerList()) && now.Sub(w.began) < recordSettle) {
				return -1
			}
			c.layer = avail[len(avail)-1].idx
		}
		if t.recSel.CompareAndSwap(old, c) {
			if t.simulcast() {
				t.requestKeyframe(c.layer)
			}
			return c.layer
		}
	}
}

func (t *published) video() bool { return t.kf != nil }

// layerList is t's layers now.
func (t *published) layerList() []*layer {
	if ls := t.layers.Load(); ls != nil {
		return *ls
	}
	return nil
}

// addLayer adds an encoding of t. Call with owner.smu held.
func (t *published) addLayer(l *layer) {
	ls := append(slices.Clone(t.layerList()), l)
	l.idx = len(ls) - 1
	t.layers.Store(&ls)
	t.live++
}

// simulcast reports whether t has more than one layer.
func (t *published) simulcast() bool { return len(t.layerList()) > 1 }

// requestKeyframe asks the publisher for a keyframe on layer idx
// (throttled per layer).
func (t *published) requestKeyframe(idx int) {
	ls := t.layerList()
	if idx < 0 || idx >= len(ls) || ls[idx].kf == nil {
		return
	}
	ls[idx].kf.request()
}

// forward hands one layer's RTP to the subscribers' writers until the
// publisher's track ends (it left, or its connection closed).
func (t *published) forward(l *layer) {
	buf := make([]byte, 1500)
	for {
		n, _, err := l.remote.Read(buf)
		if err != nil {
			return
		}
		read := time.Now()
		l.note(n, read)
		if t.revoked.Load() {
			continue
		}
		if t.levelID != 0 {
			t.noteLevel(buf[:n])
		}
		if w := t.rec.Load(); w != nil && l.idx == t.recordedLayer(w) {
			w.push(buf[:n])
		}
		t.local.send(l.idx, buf[:n], read)
	}
}

// readRTCP serves one subscriber's RTCP for t: reading it lets the
// interceptors answer NACKs from their packet cache, and picture loss
// reports become (throttled) keyframe requests to the publisher, for the
// layer that subscriber gets.
func (t *published) readRTCP(sender *webrtc.RTPSender) {
	var ssrc uint32
	if enc := sender.GetParameters().Encodings; len(enc) > 0 {
		ssrc = uint32(enc[0].SSRC)
	}
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
				t.requestKeyframe(t.local.layerOf(ssrc))
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
