package video

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// binding is a subscriber's connection as fanOut sees it: a write stream
// that records packets and can be made to hang (a writer starved of CPU,
// or a full socket).
type binding struct {
	id   string
	ssrc webrtc.SSRC
	gate chan struct{} // nil: writes return at once; else each waits for it

	mu   sync.Mutex
	got  []rtp.Header
	cond *sync.Cond
}

func newBinding(id string, ssrc webrtc.SSRC, hang bool) *binding {
	b := &binding{id: id, ssrc: ssrc}
	if hang {
		b.gate = make(chan struct{})
	}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *binding) CodecParameters() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}}
}
func (b *binding) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return nil }
func (b *binding) SSRC() webrtc.SSRC                                      { return b.ssrc }
func (b *binding) SSRCRetransmission() webrtc.SSRC                        { return 0 }
func (b *binding) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (b *binding) WriteStream() webrtc.TrackLocalWriter                   { return b }
func (b *binding) ID() string                                             { return b.id }
func (b *binding) RTCPReader() interceptor.RTCPReader                     { return nil }
func (b *binding) Write(p []byte) (int, error)                            { return len(p), nil }

func (b *binding) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	if b.gate != nil {
		<-b.gate
	}
	b.mu.Lock()
	b.got = append(b.got, *h)
	b.cond.Broadcast()
	b.mu.Unlock()
	return len(payload), nil
}

// waitFor waits until n packets were written (bounded by the test's
// deadline: a hang fails the test rather than asserting on time).
func (b *binding) waitFor(t *testing.T, n int) []rtp.Header {
	t.Helper()
	done := make(chan []rtp.Header, 1)
	go func() {
		b.mu.Lock()
		for len(b.got) < n {
			b.cond.Wait()
		}
		done <- append([]rtp.Header(nil), b.got...)
		b.mu.Unlock()
	}()
	select {
	case got := <-done:
		return got
	case <-time.After(30 * time.Second):
		b.mu.Lock()
		have := len(b.got)
		b.mu.Unlock()
		t.Fatalf("binding %s: %d packets written, want %d", b.id, have, n)
		return nil
	}
}

func rtpPacket(t *testing.T, seq uint16) []byte {
	t.Helper()
	raw, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SSRC: 1234, SequenceNumber: seq, Timestamp: 90 * uint32(seq)},
		Payload: []byte{0x10, 1, 2, 3}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// A subscriber whose writes hang holds up nobody: the others get every
// packet (a single writer for all subscribers would stop at the hung one),
// and what overflows the hung one's queue is dropped for it alone,
// counted, and answered with a keyframe request.
func TestFanOutSubscriberDoesNotWaitForOthers(t *testing.T) {
	local, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "camera-x", "x")
	if err != nil {
		t.Fatal(err)
	}
	m := newMetrics(nil)
	f := newFanOut(local, m)
	var mu sync.Mutex
	binds, drops := 0, 0
	f.onBind = func(int) { mu.Lock(); binds++; mu.Unlock() }
	f.onDrop = func(int) { mu.Lock(); drops++; mu.Unlock() }

	hung := newBinding("hung", 1111, true)
	fast := newBinding("fast", 2222, false)
	for _, b := range []*binding{hung, fast} {
		if _, err := f.Bind(b); err != nil {
			t.Fatal(err)
		}
	}
	// One packet at a time, each waited for by the fast subscriber (so its
	// own queue never fills) while the hung one takes none.
	const n = subscriberQueue * 3
	var got []rtp.Header
	for i := range n {
		f.send(0, rtpPacket(t, uint16(i)), time.Now())
		got = fast.waitFor(t, i+1)
	}
	for i, h := range got {
		if h.SequenceNumber != uint16(i) || h.SSRC != 2222 || h.PayloadType != 96 {
			t.Fatalf("fast subscriber's packet %d: seq %d ssrc %d pt %d; want seq %d, its own ssrc 2222 and pt 96",
				i, h.SequenceNumber, h.SSRC, h.PayloadType, i)
		}
	}
	// The hung writer holds one packet and its queue is full; the rest
	// were dropped.
	wantDropped := float64(n - subscriberQueue - 1)
	if d := testutil.ToFloat64(m.dropped); d < wantDropped || d > wantDropped+1 {
		t.Errorf("dropped %v packets for the hung subscriber, want %v (±1: it may not have taken its first yet)", d, wantDropped)
	}
	mu.Lock()
	if binds != 2 || drops == 0 {
		t.Errorf("onBind ran %d times (want 2), onDrop %d (want some)", binds, drops)
	}
	mu.Unlock()

	// Released, the hung subscriber gets what was queued, in order, with
	// its own SSRC.
	close(hung.gate)
	got = hung.waitFor(t, subscriberQueue)
	for i := 1; i < len(got); i++ {
		if got[i].SequenceNumber <= got[i-1].SequenceNumber || got[i].SSRC != 1111 {
			t.Fatalf("hung subscriber's packets out of order or with another's SSRC: %+v then %+v", got[i-1], got[i])
		}
	}

	// Unbinding stops the writer; closing stops the rest.
	if err := f.Unbind(fast); err != nil {
		t.Fatal(err)
	}
	if f.writers() != 1 {
		t.Errorf("%d writers after one unbind, want 1", f.writers())
	}
	f.closeAll()
	if f.writers() != 0 {
		t.Errorf("%d writers after closeAll, want 0", f.writers())
	}
	f.send(0, rtpPacket(t, 9999), time.Now()) // no writer left: nothing happens
}
