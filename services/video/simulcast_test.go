package video

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Three layers as a browser sends them, by rate ascending; the indexes are
// their arrival order, which is not their rank.
var threeLayers = []layerRate{{idx: 2, rate: 150_000}, {idx: 0, rate: 500_000}, {idx: 1, rate: 1_500_000}}

func TestLayerChooserFirstChoiceFitsAtOnce(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, tc := range []struct {
		budget float64
		want   int
	}{
		{2_000_000, 1}, // the top fits
		{700_000, 0},   // the middle fits, the top does not
		{200_000, 2},   // only the lowest
		{50_000, 2},    // nothing fits: still the lowest, never nothing
	} {
		c := newLayerChooser()
		if got := c.choose(now, tc.budget, threeLayers); got != tc.want {
			t.Errorf("budget %v: first choice %d, want %d", tc.budget, got, tc.want)
		}
	}
	c := newLayerChooser()
	if got := c.choose(now, 1e6, nil); got != -1 {
		t.Errorf("no layers known: choice %d, want -1 (none)", got)
	}
}

func TestLayerChooserStepsDownAfterTheHold(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newLayerChooser()
	if got := c.choose(now, 2_000_000, threeLayers); got != 1 {
		t.Fatalf("start on the top: got %d", got)
	}
	// The estimate falls below the top's rate: not at the first reading…
	for i := range 3 {
		now = now.Add(300 * time.Millisecond)
		if got := c.choose(now, 600_000, threeLayers); got != 1 {
			t.Fatalf("reading %d below the top's rate: moved to %d before the hold", i, got)
		}
	}
	// …but once it has stayed below for the hold (since the first
	// reading), to the best that fits.
	now = now.Add(400 * time.Millisecond)
	if got := c.choose(now, 600_000, threeLayers); got != 0 {
		t.Fatalf("after %v below: layer %d, want the middle (0)", c.downHold, got)
	}

	// A dip that recovers within the hold moves nothing.
	c = newLayerChooser()
	c.choose(now, 2_000_000, threeLayers)
	now = now.Add(500 * time.Millisecond)
	c.choose(now, 100_000, threeLayers)
	now = now.Add(300 * time.Millisecond)
	c.choose(now, 2_000_000, threeLayers) // back up: the clock restarts
	now = now.Add(500 * time.Millisecond)
	c.choose(now, 100_000, threeLayers)
	now = now.Add(600 * time.Millisecond)
	if got := c.choose(now, 100_000, threeLayers); got != 1 {
		t.Fatalf("two short dips: moved to %d", got)
	}
	// A deep fall goes straight to the lowest, not one step.
	now = now.Add(500 * time.Millisecond)
	if got := c.choose(now, 100_000, threeLayers); got != 2 {
		t.Fatalf("deep fall held: layer %d, want the lowest (2)", got)
	}
}

func TestLayerChooserStepsUpOnlyClearlyAndAfterSeconds(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newLayerChooser()
	if got := c.choose(now, 100_000, threeLayers); got != 2 {
		t.Fatalf("start on the lowest: got %d", got)
	}
	// Just above the middle's rate is not clearly above: no step, however
	// long.
	for range 20 {
		now = now.Add(500 * time.Millisecond)
		if got := c.choose(now, 550_000, threeLayers); got != 2 {
			t.Fatalf("stepped up to %d with the budget barely above the next layer", got)
		}
	}
	// Clearly above, but only briefly: no step.
	for range 3 {
		now = now.Add(500 * time.Millisecond)
		c.choose(now, 10_000_000, threeLayers)
	}
	now = now.Add(500 * time.Millisecond)
	if got := c.choose(now, 550_000, threeLayers); got != 2 {
		t.Fatalf("stepped up to %d after a short rise", got)
	}
	// Clearly above for the hold: one layer up — not two, though the top
	// fits too.
	got := 2
	start := now
	for got == 2 {
		now = now.Add(500 * time.Millisecond)
		got = c.choose(now, 10_000_000, threeLayers)
		if now.Sub(start) > time.Minute {
			t.Fatal("never stepped up")
		}
	}
	if got != 0 || now.Sub(start) < c.upHold {
		t.Fatalf("stepped to %d after %v; want the middle (0) after at least %v", got, now.Sub(start), c.upHold)
	}
	// And the next step needs a hold of its own.
	now = now.Add(500 * time.Millisecond)
	if got := c.choose(now, 10_000_000, threeLayers); got != 0 {
		t.Fatalf("second step without its own hold: %d", got)
	}
	for range 10 {
		now = now.Add(500 * time.Millisecond)
		got = c.choose(now, 10_000_000, threeLayers)
	}
	if got != 1 {
		t.Fatalf("never reached the top: %d", got)
	}
}

func TestLayerChooserLeavesALayerThatStopped(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newLayerChooser()
	c.choose(now, 2_000_000, threeLayers)
	// The top stops (the publisher's own congestion control paused it):
	// at once to the best of the rest, no hold.
	rest := threeLayers[:2]
	if got := c.choose(now.Add(time.Millisecond), 2_000_000, rest); got != 0 {
		t.Fatalf("current layer gone: layer %d, want the middle (0)", got)
	}
	// No layers reported at all: keep the choice.
	if got := c.choose(now.Add(2*time.Millisecond), 2_000_000, nil); got != 0 {
		t.Fatalf("nothing known: changed to %d", got)
	}
}

// Layers are offered lowest picture first, and their rates need not
// ascend (a browser ramping up sends its layers at about the same rate):
// the choice is the highest that fits.
func TestLayerChooserRatesOutOfOrder(t *testing.T) {
	now := time.Unix(1000, 0)
	ramping := []layerRate{{idx: 0, pixels: 320 * 180, rate: 190_000}, {idx: 1, pixels: 640 * 360, rate: 170_000}}
	if got := newLayerChooser().choose(now, 1_000_000, ramping); got != 1 {
		t.Errorf("both fit: layer %d, want the full picture (1)", got)
	}
	if got := newLayerChooser().choose(now, 180_000, ramping); got != 1 {
		t.Errorf("only the full picture fits: layer %d, want 1", got)
	}
}

func TestKeyframePixels(t *testing.T) {
	head := []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01} // 640x360
	if got := keyframePixels(head); got != 640*360 {
		t.Errorf("pixels %d, want %d", got, 640*360)
	}
	if got := keyframePixels(head[:8]); got != 0 {
		t.Errorf("cut short: %d, want 0", got)
	}
}

func TestKeyframeStart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"keyframe start", []byte{0x10, 0x10, 0, 0, 0x9d, 0x01, 0x2a}, true},
		{"inter frame start", []byte{0x10, 0x11, 0, 0}, false},
		{"keyframe continuation", []byte{0x00, 0x10, 0, 0}, false},
		{"other partition", []byte{0x11, 0x10, 0, 0}, false},
		{"empty", nil, false},
	} {
		if got := keyframeStart(tc.payload); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// vp8Packet is an RTP packet of a VP8 frame's first packet (key or not)
// or a continuation.
func vp8Packet(t *testing.T, seq uint16, ts uint32, start, key bool) []byte {
	t.Helper()
	desc := byte(0x00)
	if start {
		desc = 0x10
	}
	tag := byte(0x11)
	if key {
		tag = 0x10
	}
	raw, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 77, SequenceNumber: seq, Timestamp: ts},
		Payload: []byte{desc, tag, 0, 0, 0x9d, 0x01, 0x2a}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// A subscriber moved to another layer gets it from that layer's next
// keyframe on, numbered on from what it had: sequence numbers without a
// gap, timestamps going forward; the old layer's packets stop, and the new
// layer's from before the switch point are not sent.
func TestFanOutSwitchesLayerAtKeyframe(t *testing.T) {
	local, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "camera-x", "x")
	if err != nil {
		t.Fatal(err)
	}
	f := newFanOut(local, newMetrics(nil))
	b := newBinding("sub", 4242, false)
	if _, err := f.Bind(b); err != nil {
		t.Fatal(err)
	}
	w := f.writerFor(4242)
	if w == nil {
		t.Fatal("no writer for the binding's SSRC")
	}
	base := time.Now()
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	// Layer 0 passes as it is, layer 1 is not taken.
	f.send(0, vp8Packet(t, 1000, 90000, true, true), at(0))
	f.send(1, vp8Packet(t, 30000, 5_000_000, true, true), at(1))
	f.send(0, vp8Packet(t, 1001, 93000, true, false), at(33))
	got := b.waitFor(t, 2)
	if got[0].SequenceNumber != 1000 || got[1].SequenceNumber != 1001 || got[1].Timestamp != 93000 {
		t.Fatalf("before any switch: %+v", got)
	}
	// Moved to layer 1: its inter frames and continuations are not a
	// place to start; old-layer packets still flow meanwhile.
	w.want.Store(1)
	f.send(1, vp8Packet(t, 30001, 5_003_000, true, false), at(34))
	f.send(1, vp8Packet(t, 30002, 5_003_000, false, false), at(35))
	f.send(0, vp8Packet(t, 1002, 96000, true, false), at(66))
	// The keyframe of layer 1 (first packet, then a continuation).
	f.send(1, vp8Packet(t, 30010, 5_006_000, true, true), at(100))
	f.send(1, vp8Packet(t, 30011, 5_006_000, false, true), at(101))
	// Stragglers: layer 0 after the switch, layer 1 from before it.
	f.send(0, vp8Packet(t, 1003, 99000, true, false), at(102))
	f.send(1, vp8Packet(t, 30009, 5_003_000, false, false), at(103))
	f.send(1, vp8Packet(t, 30012, 5_009_000, true, false), at(133))
	// One more: the writer handles its queue in order, so once this one is
	// written every packet before it has been written or left out.
	f.send(1, vp8Packet(t, 30013, 5_009_000, false, false), at(134))
	got = b.waitFor(t, 7)
	if len(got) != 7 {
		t.Fatalf("%d packets written, want 7: %+v", len(got), got)
	}
	for i := 1; i < len(got); i++ {
		if got[i].SequenceNumber != got[i-1].SequenceNumber+1 {
			t.Errorf("packet %d: seq %d after %d", i, got[i].SequenceNumber, got[i-1].SequenceNumber)
		}
		if int32(got[i].Timestamp-got[i-1].Timestamp) < 0 {
			t.Errorf("packet %d: timestamp %d after %d", i, got[i].Timestamp, got[i-1].Timestamp)
		}
		if got[i].SSRC != 4242 {
			t.Errorf("packet %d: ssrc %d", i, got[i].SSRC)
		}
	}
	// The switch: 1002 was the last of layer 0, the keyframe follows it,
	// about 34 ms (3,060 ticks) of media time later.
	if got[3].SequenceNumber != 1003 || got[3].Timestamp != 96000+3060 {
		t.Errorf("first packet of the new layer: seq %d ts %d, want 1003 and %d", got[3].SequenceNumber, got[3].Timestamp, 96000+3060)
	}
	if got[5].Timestamp != got[3].Timestamp+3000 {
		t.Errorf("the new layer's own timing is kept: %d then %d", got[3].Timestamp, got[5].Timestamp)
	}
	if w.cur.Load() != 1 || f.layerOf(4242) != 1 {
		t.Errorf("writer's layer %d, want 1", w.cur.Load())
	}
}

// Three layers with their picture heights, lowest first.
var sizedLayers = []layerRate{
	{idx: 2, pixels: 320 * 180, height: 180, rate: 150_000},
	{idx: 0, pixels: 640 * 360, height: 360, rate: 500_000},
	{idx: 1, pixels: 1280 * 720, height: 720, rate: 1_500_000},
}

// A view size bounds the choice from above: the smallest layer at least
// that tall, or less when the budget does not allow it.
func TestLayerChooserViewSizeBoundsTheChoice(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, tc := range []struct {
		height int
		budget float64
		want   int
	}{
		{200, 10_000_000, 0},  // 200 tall: the 360 layer is the smallest at least that
		{360, 10_000_000, 0},  // exactly a layer's height
		{100, 10_000_000, 2},  // a thumbnail: the lowest
		{361, 10_000_000, 1},  // just over the middle: the top
		{2000, 10_000_000, 1}, // taller than any: the top
		{720, 700_000, 0},     // the budget still rules below the bound
		{0, 10_000_000, 1},    // none: as large as the budget allows
	} {
		c := newLayerChooser()
		c.setMaxHeight(tc.height)
		if got := c.choose(now, tc.budget, sizedLayers); got != tc.want {
			t.Errorf("height %d, budget %v: layer %d, want %d", tc.height, tc.budget, got, tc.want)
		}
	}
	// Sizes not known yet (no keyframe seen): no bound can be applied.
	c := newLayerChooser()
	c.setMaxHeight(100)
	if got := c.choose(now, 10_000_000, threeLayers); got != 1 {
		t.Errorf("heights unknown: layer %d, want the top (1)", got)
	}
}

// Lowering the view size moves down at once (no hold); raising it moves
// up at once, straight to the best the budget clearly allows under the
// new bound — not a layer per up-hold.
func TestLayerChooserViewSizeChangesApplyAtOnce(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newLayerChooser()
	if got := c.choose(now, 10_000_000, sizedLayers); got != 1 {
		t.Fatalf("start: layer %d, want the top (1)", got)
	}
	now = now.Add(500 * time.Millisecond)
	c.setMaxHeight(120)
	if got := c.choose(now, 10_000_000, sizedLayers); got != 2 {
		t.Fatalf("shrunk to a thumbnail: layer %d, want the lowest (2) at once", got)
	}
	// Held there, however long the budget would allow more.
	for range 20 {
		now = now.Add(500 * time.Millisecond)
		if got := c.choose(now, 10_000_000, sizedLayers); got != 2 {
			t.Fatalf("thumbnail: moved to %d", got)
		}
	}
	// Enlarged to full view: straight to the top, within one choice.
	c.setMaxHeight(0)
	now = now.Add(500 * time.Millisecond)
	if got := c.choose(now, 10_000_000, sizedLayers); got != 1 {
		t.Fatalf("bound lifted: layer %d, want the top (1) at once", got)
	}
	// Raised to a middle size: up to the middle only.
	c = newLayerChooser()
	c.setMaxHeight(100)
	c.choose(now, 10_000_000, sizedLayers)
	c.setMaxHeight(300)
	now = now.Add(500 * time.Millisecond)
	if got := c.choose(now, 10_000_000, sizedLayers); got != 0 {
		t.Fatalf("raised to 300: layer %d, want the middle (0)", got)
	}
	// A raise the budget does not clearly allow jumps nowhere: the
	// ordinary up-hold decides.
	c = newLayerChooser()
	c.setMaxHeight(100)
	c.choose(now, 550_000, sizedLayers)
	c.setMaxHeight(0)
	now = now.Add(500 * time.Millisecond)
	if got := c.choose(now, 550_000, sizedLayers); got != 2 {
		t.Fatalf("raised with the budget barely above the middle: moved to %d", got)
	}
	// Raised with the budget clearly above the middle only: the middle.
	c = newLayerChooser()
	c.setMaxHeight(100)
	c.choose(now, 1_000_000, sizedLayers)
	c.setMaxHeight(0)
	now = now.Add(500 * time.Millisecond)
	if got := c.choose(now, 1_000_000, sizedLayers); got != 0 {
		t.Fatalf("raised with room for the middle: layer %d, want 0", got)
	}
	// The same size again is no raise.
	c = newLayerChooser()
	c.setMaxHeight(100)
	c.choose(now, 550_000, sizedLayers)
	c.setMaxHeight(100)
	if c.raised {
		t.Error("the same height again counted as a raise")
	}
}

func TestKeyframeSize(t *testing.T) {
	head := []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01} // 640x360
	if w, h := keyframeSize(head); w != 640 || h != 360 {
		t.Errorf("size %dx%d, want 640x360", w, h)
	}
}
