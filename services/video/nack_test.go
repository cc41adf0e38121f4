package video

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// sent records what the responder writes below itself.
type sent struct {
	mu   sync.Mutex
	pkts []rtp.Packet
}

func (s *sent) Write(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pkts = append(s.pkts, rtp.Packet{Header: *h, Payload: append([]byte(nil), payload...)})
	return len(payload), nil
}

func (s *sent) take() []rtp.Packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.pkts
	s.pkts = nil
	return out
}

// nackFrom is a reader that returns one NACK for the seqs given.
func nackFrom(t *testing.T, media uint32, seqs ...uint16) interceptor.RTCPReader {
	t.Helper()
	raw, err := rtcp.Marshal([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: media, Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)}})
	if err != nil {
		t.Fatal(err)
	}
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, raw), a, nil
	})
}

func nackStreamInfo(rtx bool) *interceptor.StreamInfo {
	info := &interceptor.StreamInfo{SSRC: 1000, RTCPFeedback: []interceptor.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}}
	if rtx {
		info.SSRCRetransmission, info.PayloadTypeRetransmission = 2000, 97
	}
	return info
}

// Packets written are answered from the cache: on the RTX stream when one
// is negotiated (own SSRC, payload type and sequence, the original
// sequence number before the payload, no padding), at most once per
// resendGap, and only while the packet is still held.
func TestNACKResponderRetransmitsOnRTX(t *testing.T) {
	clock := time.Unix(1_000_000, 0)
	n := &nackResponder{now: func() time.Time { return clock }, streams: map[uint32]*nackStream{}}
	below := &sent{}
	w := n.BindLocalStream(nackStreamInfo(true), below)
	for seq := uint16(65530); seq != 10; seq++ { // across the wrap
		h := &rtp.Header{Version: 2, SSRC: 1000, PayloadType: 96, SequenceNumber: seq, Timestamp: 90 * uint32(seq), Padding: seq == 65535, PaddingSize: 4}
		if _, err := w.Write(h, []byte{byte(seq), 1, 2, 3}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(below.take()); got != 16 {
		t.Fatalf("%d packets passed through, want 16", got)
	}
	// Held by reference, not copied (the point of this responder).
	h := &rtp.Header{Version: 2, SSRC: 1000, SequenceNumber: 10}
	payload := []byte{10}
	if _, err := w.Write(h, payload, nil); err != nil {
		t.Fatal(err)
	}
	below.take()
	if c := n.streams[1000].pkt[10%nackCacheSize]; c.header != h || &c.payload[0] != &payload[0] {
		t.Error("the packet written was copied into the cache, not kept")
	}
	buf := make([]byte, 1500)
	read := func(seqs ...uint16) []rtp.Packet {
		t.Helper()
		if _, _, err := n.BindRTCPReader(nackFrom(t, 1000, seqs...)).Read(buf, nil); err != nil {
			t.Fatal(err)
		}
		return below.take()
	}
	got := read(65535, 3)
	if len(got) != 2 {
		t.Fatalf("%d retransmissions, want 2", len(got))
	}
	first := got[0].SequenceNumber
	for i, want := range []uint16{65535, 3} {
		p := got[i]
		if p.SSRC != 2000 || p.PayloadType != 97 || p.SequenceNumber != first+uint16(i) || p.Padding || p.PaddingSize != 0 {
			t.Errorf("retransmission %d: ssrc %d pt %d seq %d padding %v/%d; want the RTX stream (2000, 97), seq %d, no padding",
				i, p.SSRC, p.PayloadType, p.SequenceNumber, p.Padding, p.PaddingSize, first+uint16(i))
		}
		if len(p.Payload) != 6 || binary.BigEndian.Uint16(p.Payload) != want || p.Payload[2] != byte(want) || p.Timestamp != 90*uint32(want) {
			t.Errorf("retransmission %d: payload % x ts %d; want original seq %d then the original payload", i, p.Payload, p.Timestamp, want)
		}
	}
	if again := read(3); len(again) != 0 {
		t.Errorf("a repeated NACK within %v was answered again", resendGap)
	}
	clock = clock.Add(resendGap)
	if again := read(3); len(again) != 1 || again[0].SequenceNumber != first+1 {
		t.Errorf("a NACK after %v: %d retransmissions, want 1 with the RTX sequence number of its first", resendGap, len(again))
	}
	if next := read(2); len(next) != 1 || next[0].SequenceNumber != first+2 {
		t.Errorf("another packet's first retransmission: %d, want 1 with the next RTX sequence number", len(next))
	}
	// Overwritten by a packet nackCacheSize later: no longer held.
	h = &rtp.Header{Version: 2, SSRC: 1000, SequenceNumber: 5 + nackCacheSize}
	if _, err := w.Write(h, []byte{9}, nil); err != nil {
		t.Fatal(err)
	}
	below.take()
	if got := read(5); len(got) != 0 {
		t.Errorf("a packet no longer held was retransmitted")
	}
	// Another SSRC's NACK, and one for an unbound stream, are not ours.
	if _, _, err := n.BindRTCPReader(nackFrom(t, 4242, 4)).Read(buf, nil); err != nil {
		t.Fatal(err)
	}
	n.UnbindLocalStream(nackStreamInfo(true))
	if got := read(4); len(got) != 0 {
		t.Errorf("NACKs answered for another or an unbound stream: %d", len(got))
	}
}

// Without RTX the packet goes again as it was sent; a stream without NACK
// feedback is not cached at all.
func TestNACKResponderWithoutRTX(t *testing.T) {
	n := &nackResponder{now: time.Now, streams: map[uint32]*nackStream{}}
	below := &sent{}
	w := n.BindLocalStream(nackStreamInfo(false), below)
	h := &rtp.Header{Version: 2, SSRC: 1000, PayloadType: 96, SequenceNumber: 7}
	if _, err := w.Write(h, []byte{7, 7}, nil); err != nil {
		t.Fatal(err)
	}
	below.take()
	if _, _, err := n.BindRTCPReader(nackFrom(t, 1000, 7)).Read(make([]byte, 1500), nil); err != nil {
		t.Fatal(err)
	}
	got := below.take()
	if len(got) != 1 || got[0].SSRC != 1000 || got[0].SequenceNumber != 7 || string(got[0].Payload) != "\x07\x07" {
		t.Fatalf("retransmission without RTX: %+v; want the packet as sent", got)
	}
	plain := &interceptor.StreamInfo{SSRC: 3000}
	if w := n.BindLocalStream(plain, below); w != interceptor.RTPWriter(below) {
		t.Error("a stream without NACK feedback was wrapped")
	}
}

// A subscriber that NACKs everything it was sent, again and again, gets at
// most the resend budget (resendBurst at once, resendRate a second after):
// the cache cannot be turned into a flood.
func TestNACKResponderBudget(t *testing.T) {
	clock := time.Unix(1_000_000, 0)
	n := &nackResponder{now: func() time.Time { return clock }, streams: map[uint32]*nackStream{}}
	below := &sent{}
	w := n.BindLocalStream(nackStreamInfo(true), below)
	all := make([]uint16, nackCacheSize)
	for seq := range uint16(nackCacheSize) {
		all[seq] = seq
		if _, err := w.Write(&rtp.Header{Version: 2, SSRC: 1000, SequenceNumber: seq}, []byte{1}, nil); err != nil {
			t.Fatal(err)
		}
	}
	below.take()
	buf := make([]byte, 1500)
	nackAll := func() int {
		t.Helper()
		if _, _, err := n.BindRTCPReader(nackFrom(t, 1000, all...)).Read(buf, nil); err != nil {
			t.Fatal(err)
		}
		return len(below.take())
	}
	if got := nackAll(); got != resendBurst {
		t.Errorf("the first NACK of all %d packets: %d retransmissions, want the burst %d", nackCacheSize, got, resendBurst)
	}
	clock = clock.Add(resendGap)
	if got := nackAll(); got != resendRate*int(resendGap/time.Millisecond)/1000 {
		t.Errorf("again %v later: %d retransmissions, want what the budget refilled (%d)", resendGap, got, resendRate*int(resendGap/time.Millisecond)/1000)
	}
	clock = clock.Add(time.Second)
	if got := nackAll(); got != resendBurst {
		t.Errorf("a second later: %d retransmissions, want the burst %d again", got, resendBurst)
	}
}
