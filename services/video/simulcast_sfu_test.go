package video

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/ecabinet/ecabinet/services/video/videotest"
)

// layerLog records, for one subscriber, every video packet it received:
// the sequence number and timestamp it was given and the layer (and
// key-ness) its payload carries (see videotest.Simulcast).
type layerLog struct {
	mu   sync.Mutex
	pkts []seenPacket
}

type seenPacket struct {
	seq   uint16
	ts    uint32
	layer int
	key   bool // part of a keyframe
	start bool // first packet of a frame
}

func (l *layerLog) onPacket(r *videotest.Received, p *rtp.Packet) {
	if r.Kind != webrtc.RTPCodecTypeVideo || len(p.Payload) == 0 {
		return
	}
	layer, key, ok := videotest.ParseMark(p.Payload[len(p.Payload)-1])
	if !ok {
		return
	}
	var vp8 codecs.VP8Packet
	_, err := vp8.Unmarshal(p.Payload)
	l.mu.Lock()
	l.pkts = append(l.pkts, seenPacket{seq: p.SequenceNumber, ts: p.Timestamp, layer: layer, key: key, start: err == nil && vp8.S == 1})
	l.mu.Unlock()
}

// current is the layer of the last n packets received, or -1 when they
// are not all of one layer (or fewer came).
func (l *layerLog) current(n int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pkts) < n {
		return -1
	}
	last := l.pkts[len(l.pkts)-n:]
	for _, p := range last {
		if p.layer != last[0].layer {
			return -1
		}
	}
	return last[0].layer
}

// switchCheck is one change of layer in sequence-number order.
type switchCheck struct {
	from, to       int
	seqGap         int   // new layer's first sequence number minus the old one's last
	tsGap          int64 // the same for timestamps
	firstKey       bool  // the new layer's first packet belongs to a keyframe
	firstFrameHead bool  // …and is that keyframe's first packet
	arrived        int   // when that packet arrived (index in the log)
}

// switches lists the layer changes in everything received, ordered by
// (extended) sequence number with duplicates removed: retransmissions
// arrive late, but a subscriber's jitter buffer orders by sequence
// number, and that order is what must be continuous.
func (l *layerLog) switches() []switchCheck {
	l.mu.Lock()
	pkts := append([]seenPacket(nil), l.pkts...)
	l.mu.Unlock()
	type ext struct {
		seq     int64
		arrived int
		seenPacket
	}
	var all []ext
	seen := map[int64]bool{}
	var last int64 = -1
	for i, p := range pkts {
		e := int64(p.seq)
		if last >= 0 {
			// The extension nearest the last one.
			e = last + int64(int16(p.seq-uint16(last)))
		}
		if last < 0 || e > last {
			last = e
		}
		if !seen[e] {
			seen[e] = true
			all = append(all, ext{e, i, p})
		}
	}
	slices.SortFunc(all, func(a, b ext) int { return int(a.seq - b.seq) })
	var out []switchCheck
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.layer != b.layer {
			out = append(out, switchCheck{from: a.layer, to: b.layer, seqGap: int(b.seq - a.seq),
				tsGap: int64(int32(b.ts - a.ts)), firstKey: b.key, firstFrameHead: b.start, arrived: b.arrived})
		}
	}
	return out
}

func (l *layerLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pkts)
}

// A publisher sends three simulcast layers; a subscriber gets the top one
// while its link is free, a lower one while its link is held to a rate
// the top does not fit (its transport-wide feedback reports the loss to
// the SFU's bandwidth estimator), and the top again once the link is
// free. Across every switch its sequence numbers go on without a jump,
// its timestamps go forward, and the new layer starts with a keyframe.
func TestSimulcastLayerFollowsSubscriberBandwidth(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	pub := w.join(t, people[0], meeting)
	rates := []int{100_000, 300_000, 800_000}
	src := pub.PublishSimulcast(rates...)
	pub.Offer()

	api, link := videotest.LimitedAPI(t)
	sub := videotest.New(t, api, w.signal(t, people[1]))
	log := &layerLog{}
	sub.Sink.OnPacket = log.onPacket
	if err := sub.Join(meeting, w.token(t, people[1], meeting)); err != nil {
		t.Fatal(err)
	}
	sub.Watch()
	sub.Offer()

	top, window := len(rates)-1, 60
	// Generous deadlines: the estimate needs seconds to move, the chooser
	// holds before stepping up, and the machine is shared.
	waitLayer := func(what string, ok func(int) bool) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			if ok(log.current(window)) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting for %s: receiving layer %d (-1: mixed or none) after %d packets; keyframe requests per layer %v",
					what, log.current(window), log.len(), plis(src))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitLayer("the top layer on a free link", func(l int) bool { return l == top })

	// Hold the link to 200 kbit/s: the lowest layer fits, the others do not.
	link.SetRate(200_000)
	waitLayer("a lower layer on a slow link", func(l int) bool { return l >= 0 && l < top })
	t.Logf("slow link: moved down; %d packets dropped by the link", link.Dropped.Load())

	free := log.len()
	link.SetRate(0)
	waitLayer("the top layer once the link is free again", func(l int) bool { return l == top })

	var downs, ups int
	for _, s := range log.switches() {
		if s.to < s.from {
			downs++
		} else {
			ups++
		}
		if s.arrived < free {
			// The link dropped packets, some for good, so a few numbers
			// may be missing around a switch; a switch without
			// renumbering would jump by thousands (the layers' numbers
			// are 20,000 apart) or go back.
			if s.seqGap < 1 || s.seqGap > 100 || s.tsGap <= 0 || s.tsGap > 90000 {
				t.Errorf("switch %+v: want numbering that goes on", s)
			}
			// Where nothing around the switch was lost, the first packet
			// of the new layer is there to see: a keyframe's.
			if s.seqGap == 1 && !s.firstKey {
				t.Errorf("switch %+v: the new layer did not start with a keyframe", s)
			}
			continue
		}
		// Nothing is lost on the free link: the numbers follow on exactly.
		if s.seqGap != 1 || s.tsGap <= 0 || s.tsGap > 90000 || !s.firstKey || !s.firstFrameHead {
			t.Errorf("switch on the free link %+v: want the next sequence number, a later timestamp, and a keyframe's first packet", s)
		}
		t.Logf("switch %d→%d at packet %d (free link from %d)", s.from, s.to, s.arrived, free)
	}
	if downs == 0 || ups == 0 {
		t.Errorf("%d switches down and %d up; want some each way", downs, ups)
	}
	// The switches were asked for: a keyframe request on the layer
	// switched to (besides the publisher's periodic keyframes).
	if src.PLIs[top].Load() == 0 {
		t.Errorf("no keyframe request reached the top layer; requests per layer %s", plis(src))
	}
}

func plis(s *videotest.Simulcast) string {
	out := ""
	for i := range s.PLIs {
		out += fmt.Sprintf(" %s:%d", videotest.SimulcastRIDs[i], s.PLIs[i].Load())
	}
	return out
}

// A recording of a simulcast camera keeps one layer, the best one sending
// when it starts: the file's picture is the top layer's size and every
// frame in it is the top layer's.
func TestRecordingKeepsTheTopSimulcastLayer(t *testing.T) {
	w := newWorldWith(t, Config{RecordingDir: t.TempDir()})
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	pub := w.join(t, people[0], meeting)
	src := pub.PublishSimulcast(100_000, 300_000, 800_000)
	pub.Offer()
	sub := w.join(t, people[1], meeting)
	log := &layerLog{}
	sub.Sink.OnPacket = log.onPacket
	sub.Watch()
	sub.Offer()
	// Once the subscriber gets the top layer, every layer has been measured.
	sub.WaitFor("the top layer", func() bool { return log.current(30) == 2 })

	if _, err := w.client.StartRecording(testenv.As(people[0]), &videov1.StartRecordingRequest{MeetingId: meeting}); err != nil {
		t.Fatalf("start: %v", err)
	}
	n := log.len()
	sub.WaitFor("four seconds of media while recording", func() bool { return log.len() > n+400 })
	stopped, err := w.client.StopRecording(testenv.As(people[0]), &videov1.StopRecordingRequest{MeetingId: meeting})
	if err != nil {
		t.Fatalf("stop: %v", err)
	}
	var file string
	for _, tr := range stopped.GetRecording().GetTracks() {
		if tr.GetSource() == sourceCamera {
			file = tr.GetFileName()
		}
	}
	if file == "" {
		t.Fatalf("no camera file in %v", stopped.GetRecording())
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var doc struct {
		Header  webm.EBMLHeader `ebml:"EBML"`
		Segment webm.Segment    `ebml:"Segment"`
	}
	if err := ebml.Unmarshal(f, &doc); err != nil {
		t.Fatalf("WebM: %v", err)
	}
	if tr := doc.Segment.Tracks.TrackEntry; len(tr) != 1 || tr[0].Video == nil || tr[0].Video.PixelWidth != 640 || tr[0].Video.PixelHeight != 480 {
		t.Fatalf("WebM tracks %+v, want one of the top layer's 640x480", tr)
	}
	frames := 0
	for _, c := range doc.Segment.Cluster {
		for _, b := range c.SimpleBlock {
			for _, d := range b.Data {
				if layer, _, ok := videotest.ParseMark(d[len(d)-1]); !ok || layer != 2 {
					t.Fatalf("frame %d of the recording is not the top layer's (mark %q)", frames, d[len(d)-1])
				}
				frames++
			}
		}
	}
	if frames < 30 {
		t.Errorf("%d frames recorded, want about two seconds' worth; keyframe requests per layer %s", frames, plis(src))
	}
}
