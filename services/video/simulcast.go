package video

import (
	"cmp"
	"encoding/binary"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Simulcast: a publisher may send one video source as several encodings
// (layers, told apart by their RTP stream id), and each subscriber gets
// the one its bandwidth allows. The SFU never decodes; it picks.
//
// Layers are known by the order they arrived in (index 0 first) and ranked
// by the picture size their keyframes give, then by the rate they are
// measured to carry — not by their names: browsers name them as the page
// likes ("q/h/f", "l/m/h", "0/1/2"). A layer the browser paused under its
// own congestion control carries nothing and is not offered.

// Layer choice timings (see layerChooser).
const (
	// layerDownHold: how long the estimate must stay below the current
	// layer's rate before stepping down. Short — a subscriber that cannot
	// take what it gets is losing packets now — but not one estimate: a
	// single low reading is often a burst of feedback.
	layerDownHold = time.Second
	// layerUpHold and layerUpMargin: stepping up needs the estimate to stay
	// a clear margin above the next layer's rate for several seconds. A
	// switch costs a keyframe (several times a normal frame) and an
	// estimate that has only just crept over a layer's rate would push the
	// subscriber straight back down: the see-saw hysteresis is there to
	// prevent.
	layerUpHold   = 4 * time.Second
	layerUpMargin = 1.25
	// layerTick is how often each subscriber's layers are chosen again.
	layerTick = 500 * time.Millisecond
	// layerIdle: a layer that has sent nothing for this long is not
	// offered (the publisher paused it or stopped).
	layerIdle = 1500 * time.Millisecond
	// rateWindow is the least span a layer's rate is measured over.
	rateWindow = 500 * time.Millisecond
)

// layer is one encoding of a published track (the only one for a
// publisher that does not simulcast).
type layer struct {
	idx    int // arrival order within its track
	rid    string
	remote *webrtc.TrackRemote
	kf     *keyframes // nil for audio

	// pixels is the picture size of the layer's last keyframe (0: none
	// seen yet); layers are ranked by it. height is that picture's, for
	// the subscribers' view sizes (ViewSize).
	pixels atomic.Int64
	height atomic.Int32
	bytes  atomic.Int64 // RTP bytes read so far
	first  atomic.Int64 // unix ns of the first packet read
	last   atomic.Int64 // unix ns of the last packet read

	mu       sync.Mutex
	rateAt   time.Time
	rateFrom int64
	bps      float64 // smoothed bits per second
}

// note counts a packet of n bytes read at now.
func (l *layer) note(n int, now time.Time) {
	ns := now.UnixNano()
	if l.first.Load() == 0 {
		l.first.CompareAndSwap(0, ns)
	}
	l.bytes.Add(int64(n))
	l.last.Store(ns)
}

// rate is the layer's smoothed bit rate, updated at most once per
// rateWindow whoever asks (every subscriber's chooser does).
func (l *layer) rate(now time.Time) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rateAt.IsZero() {
		// Measured from the first packet, so a layer's rate is known as
		// soon as the first subscriber asks (it starts on the lowest).
		first := l.first.Load()
		if first == 0 {
			return 0
		}
		l.rateAt = time.Unix(0, first)
	}
	if d := now.Sub(l.rateAt); d >= rateWindow {
		b := l.bytes.Load()
		inst := float64(b-l.rateFrom) * 8 / d.Seconds()
		if l.bps == 0 {
			l.bps = inst
		} else {
			// Half-weight smoothing over ~1 s: periodic keyframes (several
			// frames' worth at once) should not make a layer look twice its
			// size for one window.
			l.bps = (l.bps + inst) / 2
		}
		l.rateAt, l.rateFrom = now, b
	}
	return l.bps
}

// sending reports whether the layer carried anything lately.
func (l *layer) sending(now time.Time) bool {
	last := l.last.Load()
	return last != 0 && now.Sub(time.Unix(0, last)) < layerIdle
}

// layerRate is a layer offered to the chooser.
type layerRate struct {
	idx    int
	pixels int64   // picture size (0: not known yet)
	height int     // picture height (0: not known yet)
	rate   float64 // bits per second
}

// available lists the layers of t that are sending, lowest first: by
// picture size, then by rate. Not by rate alone: while a browser's own
// estimate ramps up after it starts, its layers carry about the same, and
// the full picture briefly measured below the half one, so a newcomer
// started on the full picture and was "moved up" to the half.
func (t *published) available(now time.Time) []layerRate {
	ls := t.layerList()
	out := make([]layerRate, 0, len(ls))
	for _, l := range ls {
		r := l.rate(now)
		if r > 0 && l.sending(now) {
			out = append(out, layerRate{idx: l.idx, pixels: l.pixels.Load(), height: int(l.height.Load()), rate: r})
		}
	}
	slices.SortFunc(out, func(a, b layerRate) int {
		switch {
		case a.pixels != b.pixels:
			return cmp.Compare(a.pixels, b.pixels)
		case a.rate != b.rate:
			return cmp.Compare(a.rate, b.rate)
		}
		return a.idx - b.idx
	})
	return out
}

// noteKeyframe records the picture size of a keyframe of layer idx.
func (t *published) noteKeyframe(idx int, head []byte) {
	ls := t.layerList()
	if w, h := keyframeSize(head); w*h > 0 && idx < len(ls) {
		ls[idx].pixels.Store(int64(w * h))
		ls[idx].height.Store(int32(h))
	}
}

// startLayer is the layer a new subscriber starts on: the lowest sending,
// or the first when none is measured yet.
func (t *published) startLayer() int {
	if avail := t.available(time.Now()); len(avail) > 0 {
		return avail[0].idx
	}
	return 0
}

// layerChooser decides one subscriber's layer of one simulcast track from
// the bandwidth it has for it. It is pure (the clock is passed in) so the
// rule is tested on its own:
//
//   - the first choice (or when the current layer stops) is the best layer
//     that fits at once;
//   - down: when the budget has stayed below the current layer's rate for
//     downHold, to the best layer that fits (the lowest if none does: a
//     subscriber always gets a picture);
//   - up: one layer at a time, when the budget has stayed above the next
//     layer's rate × upMargin for upHold.
//
// The subscriber's view size (maxHeight, from ViewSize) bounds all this
// from above: layers taller than the smallest one at least maxHeight tall
// are not offered at all. Lowering it is a layer stopping: at once to the
// best that fits below it. Raising it (or lifting it, 0) moves up at once,
// straight to the best layer the budget clearly allows (× upMargin) under
// the new bound, without the up-hold: someone enlarged a tile and looks
// at it now; four seconds per layer would be a blurred picture for
// eight. The hold's reasons do not apply the same way: the jump costs one
// keyframe however many layers it climbs (stepping costs one per step),
// and an estimate that turns out too high is corrected after downHold,
// as for a newcomer's first choice. Without the margin no jump is made
// and the ordinary up-hold goes on from there.
type layerChooser struct {
	downHold, upHold time.Duration
	upMargin         float64

	cur   int       // chosen layer (arrival index); -1 before the first choice
	below time.Time // since when the budget is below cur's rate (zero: it is not)
	above time.Time // since when it is clearly above the next layer's

	maxHeight int  // the subscriber's view size (0: none)
	raised    bool // maxHeight was raised or lifted since the last choice
}

// setMaxHeight sets the subscriber's view size (0: none).
func (c *layerChooser) setMaxHeight(h int) {
	if h != c.maxHeight && (h == 0 || (c.maxHeight != 0 && h > c.maxHeight)) {
		c.raised = true
	}
	c.maxHeight = h
}

// underHeight is avail (lowest first) without the layers above the
// smallest one at least h tall; all of them when none is, or h is 0.
// Layers whose size is not known yet (no keyframe seen) rank lowest and
// are kept.
func underHeight(avail []layerRate, h int) []layerRate {
	if h <= 0 {
		return avail
	}
	for i, l := range avail {
		if l.height >= h {
			return avail[:i+1]
		}
	}
	return avail
}

func newLayerChooser() *layerChooser {
	return &layerChooser{downHold: layerDownHold, upHold: layerUpHold, upMargin: layerUpMargin, cur: -1}
}

// choose returns the layer to send, given the budget (bits per second)
// and the available layers, lowest first (see available; their rates need
// not ascend). With none available it
// keeps its choice (-1 before any).
func (c *layerChooser) choose(now time.Time, budget float64, avail []layerRate) int {
	if len(avail) == 0 {
		return c.cur
	}
	avail = underHeight(avail, c.maxHeight)
	raised := c.raised
	c.raised = false
	pos := slices.IndexFunc(avail, func(l layerRate) bool { return l.idx == c.cur })
	if pos < 0 {
		return c.set(avail[fitting(avail, budget)].idx)
	}
	if raised {
		if best := fitting(avail, budget/c.upMargin); best > pos {
			return c.set(avail[best].idx)
		}
	}
	if pos > 0 && budget < avail[pos].rate {
		if c.below.IsZero() {
			c.below = now
		}
		if now.Sub(c.below) >= c.downHold {
			return c.set(avail[fitting(avail[:pos], budget)].idx)
		}
	} else {
		c.below = time.Time{}
	}
	if pos+1 < len(avail) && budget > avail[pos+1].rate*c.upMargin {
		if c.above.IsZero() {
			c.above = now
		}
		if now.Sub(c.above) >= c.upHold {
			return c.set(avail[pos+1].idx)
		}
	} else {
		c.above = time.Time{}
	}
	return c.cur
}

func (c *layerChooser) set(idx int) int {
	c.cur = idx
	c.below, c.above = time.Time{}, time.Time{}
	return idx
}

// fitting is the position of the best layer whose rate fits the budget,
// or 0 (the lowest) when none does.
func fitting(avail []layerRate, budget float64) int {
	best := 0
	for i, l := range avail {
		if l.rate <= budget {
			best = i
		}
	}
	return best
}

// keyframeStart reports whether a VP8 RTP payload starts a keyframe: the
// first packet of a frame (S bit, partition 0) whose frame tag says key
// (P bit clear). Only there may a subscriber be moved to another layer.
func keyframeStart(payload []byte) bool {
	_, ok := keyframeHead(payload)
	return ok
}

// keyframeHead is the start of the VP8 frame when payload starts a
// keyframe.
func keyframeHead(payload []byte) ([]byte, bool) {
	var vp8 codecs.VP8Packet
	frame, err := vp8.Unmarshal(payload)
	if err != nil || vp8.S != 1 || vp8.PID != 0 || len(frame) == 0 || frame[0]&0x01 != 0 {
		return nil, false
	}
	return frame, true
}

// keyframePixels is the picture size (width × height) a VP8 keyframe's
// header gives, or 0 when the header is cut short.
func keyframePixels(frame []byte) int {
	w, h := keyframeSize(frame)
	return w * h
}

// keyframeSize is the width and height a VP8 keyframe's header gives
// (RFC 6386 9.1: the 3-byte tag, the start code, then 14-bit width and
// height), or zeros when the header is cut short.
func keyframeSize(frame []byte) (w, h int) {
	if len(frame) < 10 || frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return 0, 0
	}
	w = int(binary.LittleEndian.Uint16(frame[6:8]) & 0x3fff)
	h = int(binary.LittleEndian.Uint16(frame[8:10]) & 0x3fff)
	return w, h
}

// Send-side bandwidth estimation (pion's Google Congestion Control from the
// subscribers' transport-wide feedback). The estimate starts at
// bweInitial — enough for a middle layer at once, so a newcomer does not
// start on a thumbnail — and is capped at bweMax: when the SFU sends less
// than the estimate (a subscriber on a low layer), GCC lets it grow, and
// from a needlessly high value a real loss takes seconds to bring it down.
const (
	bweInitial = 1_000_000
	bweMin     = 50_000
	bweMax     = 10_000_000
)

// switchableBWE is gcc's estimator run only while it is needed. Feeding it
// costs, per packet and subscriber, a record of the packet sent, and per
// feedback report the whole delay and loss machinery: in the fan-out
// benchmark (100 subscribers of a camera that does not simulcast) the
// SFU's CPU went from ~20 % to ~36 % of a core with it always on. A
// subscriber's estimate matters only while it receives a simulcast track,
// so until then (and whenever it no longer does) packets go past it and
// feedback is not read; it takes up from where it was when switched on.
type switchableBWE struct {
	*gcc.SendSideBWE
	on atomic.Bool
}

// AddStream implements cc.BandwidthEstimator. A packet goes through the
// estimator only when it carries a transport-wide number (twccWhenOn adds
// them while e is on; one sent as e switches may not).
func (e *switchableBWE) AddStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	est := e.SendSideBWE.AddStream(info, writer)
	id := transportCCID(info)
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if id != 0 && e.on.Load() && h.GetExtension(id) != nil {
			return est.Write(h, payload, a)
		}
		return writer.Write(h, payload, a)
	})
}

// transportCCID is the negotiated id of the transport-wide sequence number
// extension on a stream (0: none).
func transportCCID(info *interceptor.StreamInfo) uint8 {
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI {
			return uint8(e.ID)
		}
	}
	return 0
}

// twccWhenOn numbers what the SFU sends with transport-wide sequence
// numbers (the header extension subscribers answer with feedback), as
// pion's twcc.HeaderExtensionInterceptor does, but only while the
// connection's estimator is on: numbered packets make the subscriber send
// feedback reports (about ten a second) that the SFU must decrypt and
// read, and each number is an allocation per packet and subscriber — for
// nothing when no simulcast track is received.
type twccWhenOn struct {
	interceptor.NoOp
	bwe *switchableBWE
	seq atomic.Uint32
}

// twccWhenOnFactory makes a twccWhenOn per connection, bound to the
// estimator the cc factory registered just before for the same id.
type twccWhenOnFactory struct{}

// NewInterceptor implements interceptor.Factory.
func (twccWhenOnFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	v, _ := estimators.Load(id)
	e, _ := v.(*switchableBWE)
	return &twccWhenOn{bwe: e}, nil
}

// BindLocalStream implements interceptor.Interceptor.
func (t *twccWhenOn) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	id := transportCCID(info)
	if id == 0 || t.bwe == nil {
		return writer
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if t.bwe.on.Load() {
			ext, err := (&rtp.TransportCCExtension{TransportSequence: uint16(t.seq.Add(1) - 1)}).Marshal()
			if err == nil {
				_ = h.SetExtension(id, ext)
			}
		}
		return writer.Write(h, payload, a)
	})
}

// WriteRTCP implements cc.BandwidthEstimator. Its error is dropped: the
// cc interceptor would return it from the RTCP read, which ends the loop
// serving the subscriber's NACKs and keyframe requests (readRTCP) over
// one malformed feedback report the estimator can do without.
func (e *switchableBWE) WriteRTCP(pkts []rtcp.Packet, a interceptor.Attributes) error {
	if e.on.Load() {
		_ = e.SendSideBWE.WriteRTCP(pkts, a)
	}
	return nil
}

// setActive switches e on or off (est is what takeEstimator gave; other
// estimators are always on).
func setActive(est cc.BandwidthEstimator, on bool) {
	if e, ok := est.(*switchableBWE); ok {
		e.on.Store(on)
	}
}

// estimators hands each peer connection's estimator from the interceptor
// factory (which makes it inside NewPeerConnection) to newPeer, by the
// connection's id.
var estimators sync.Map // string → cc.BandwidthEstimator

// takeEstimator is the estimator made for the connection id, if any.
func takeEstimator(id string) cc.BandwidthEstimator {
	if v, ok := estimators.LoadAndDelete(id); ok {
		return v.(cc.BandwidthEstimator)
	}
	return nil
}

// chooseLayersEvery runs p's layer choice on its actor every layerTick
// until p ends.
func (p *peer) chooseLayersEvery() {
	tick := time.NewTicker(layerTick)
	defer tick.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-tick.C:
			p.do(p.chooseLayers)
		}
	}
}

// chooseLayers picks the layer of every simulcast track p receives. The
// budget is the estimate less what p's single-layer tracks (audio, screen,
// cameras that do not simulcast) carry, shared equally between its
// simulcast tracks. On the actor (p.subs is the actor's).
func (p *peer) chooseLayers() {
	p.applyViewSizes()
	if p.bwe == nil {
		return
	}
	now := time.Now()
	var layered []*published
	fixed := 0.0
	for t := range p.subs {
		if t.revoked.Load() {
			continue
		}
		if t.simulcast() {
			layered = append(layered, t)
			continue
		}
		for _, l := range t.layerList() {
			fixed += l.rate(now)
		}
	}
	setActive(p.bwe, len(layered) > 0)
	if len(layered) == 0 {
		return
	}
	budget := (float64(p.bwe.GetTargetBitrate()) - fixed) / float64(len(layered))
	for _, t := range layered {
		enc := p.subs[t].GetParameters().Encodings
		if len(enc) == 0 {
			continue
		}
		w := t.local.writerFor(uint32(enc[0].SSRC))
		if w == nil {
			continue // not bound yet
		}
		c := p.choosers[t]
		if c == nil {
			c = newLayerChooser()
			p.choosers[t] = c
		}
		c.setMaxHeight(p.views.caps[t])
		idx := c.choose(now, budget, t.available(now))
		if idx < 0 {
			continue
		}
		if w.want.Swap(int32(idx)) != int32(idx) {
			p.log.Debug("video: layer chosen", "track", t.local.ID(), "layer", idx, "budget", int(budget))
		}
		if w.cur.Load() != int32(idx) {
			// Asked again each tick until the switch happens (the request
			// is throttled per layer; a keyframe may be lost).
			t.requestKeyframe(idx)
		}
	}
}
