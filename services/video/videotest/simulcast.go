package videotest

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// SimulcastRIDs are the stream ids of a Simulcast source's layers, lowest
// first (as the web app names them).
var SimulcastRIDs = []string{"q", "h", "f"}

// Simulcast sends one synthetic VP8 camera as several layers (encodings
// of one track, told apart by RID), each paced in real time at 30 frames
// a second at its own rate. Every byte of a frame after its VP8 header is
// the layer's mark (LayerMark), so any packet a subscriber receives says
// which layer it came from and whether it belongs to a keyframe. Each
// layer sends a keyframe first, every KeyframeEvery, and when a keyframe
// request for its SSRC arrives.
type Simulcast struct {
	Tracks []*webrtc.TrackLocalStaticRTP
	// Rates are the layers' bit rates (set before Start).
	Rates         []int
	KeyframeEvery time.Duration
	// PLIs counts keyframe requests per layer.
	PLIs []atomic.Int64

	sender *webrtc.RTPSender
	pc     *webrtc.PeerConnection
	key    []atomic.Bool
	stop   chan struct{}
	once   sync.Once
}

// LayerMark is the filler byte of layer i's frames: 'A'+i in inter
// frames, 'a'+i in keyframes.
func LayerMark(i int, key bool) byte {
	if key {
		return byte('a' + i)
	}
	return byte('A' + i)
}

// ParseMark says which layer a payload byte marks and whether it was a
// keyframe's; ok is false for any other byte.
func ParseMark(b byte) (layer int, key, ok bool) {
	switch {
	case b >= 'A' && b < 'A'+byte(len(SimulcastRIDs)):
		return int(b - 'A'), false, true
	case b >= 'a' && b < 'a'+byte(len(SimulcastRIDs)):
		return int(b - 'a'), true, true
	}
	return 0, false, false
}

// PublishSimulcast adds a camera track sent as len(rates) layers (at most
// len(SimulcastRIDs)) and starts sending once negotiated. Call Offer
// after.
func (c *Client) PublishSimulcast(rates ...int) *Simulcast {
	c.tb.Helper()
	s := &Simulcast{Rates: rates, KeyframeEvery: 3 * time.Second, PLIs: make([]atomic.Int64, len(rates)),
		pc: c.PC, key: make([]atomic.Bool, len(rates)), stop: make(chan struct{})}
	for i := range rates {
		t, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "camera", "me",
			webrtc.WithRTPStreamID(SimulcastRIDs[i]))
		if err != nil {
			c.tb.Fatal(err)
		}
		s.Tracks = append(s.Tracks, t)
	}
	sender, err := c.PC.AddTrack(s.Tracks[0])
	if err != nil {
		c.tb.Fatal(err)
	}
	for _, t := range s.Tracks[1:] {
		if err := sender.AddEncoding(t); err != nil {
			c.tb.Fatal(err)
		}
	}
	s.sender = sender
	for i := range rates {
		s.key[i].Store(true)
		go s.readRTCP(i)
		go s.pace(i)
	}
	c.tb.Cleanup(s.Stop)
	return s
}

// Stop stops sending.
func (s *Simulcast) Stop() { s.once.Do(func() { close(s.stop) }) }

// readRTCP serves layer i's RTCP (pion delivers each encoding's apart):
// a keyframe request makes its next frame a keyframe.
func (s *Simulcast) readRTCP(i int) {
	for {
		pkts, _, err := s.sender.ReadSimulcastRTCP(SimulcastRIDs[i])
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				s.PLIs[i].Add(1)
				s.key[i].Store(true)
			}
		}
	}
}

// pace sends layer i's frames until Stop. Packets carry the mid and RID
// header extensions, by which the receiver tells the layers apart.
func (s *Simulcast) pace(i int) {
	tick := time.NewTicker(33 * time.Millisecond)
	defer tick.Stop()
	var pay codecs.VP8Payloader
	// Each layer numbers and times its packets from far apart, so a
	// forwarder that did not renumber at a switch would show a jump.
	seq := uint16(i * 20000)
	ts := uint32(i * 1_000_000)
	lastKey := time.Now()
	var midID, ridID uint8
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		ts += 3000
		mid := ""
		for _, tr := range s.pc.GetTransceivers() {
			if tr.Sender() == s.sender {
				mid = tr.Mid()
			}
		}
		if midID == 0 || ridID == 0 {
			for _, ext := range s.sender.GetParameters().HeaderExtensions {
				switch ext.URI {
				case sdp.SDESMidURI:
					midID = uint8(ext.ID)
				case sdp.SDESRTPStreamIDURI:
					ridID = uint8(ext.ID)
				}
			}
		}
		if mid == "" || midID == 0 || ridID == 0 {
			continue // not negotiated yet
		}
		key := s.key[i].Swap(false) || time.Since(lastKey) >= s.KeyframeEvery
		if key {
			lastKey = time.Now()
		}
		payloads := pay.Payload(1100, s.frame(i, key))
		for n, payload := range payloads {
			seq++
			p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: n == len(payloads)-1}, Payload: payload}
			_ = p.SetExtension(midID, []byte(mid))
			_ = p.SetExtension(ridID, []byte(SimulcastRIDs[i]))
			_ = s.Tracks[i].WriteRTP(p)
		}
	}
}

// frame is one frame of layer i: a VP8 frame tag (and, for a keyframe, the
// start code and the layer's picture size), then the layer's mark. Keyframes are 3×
// an inter frame.
func (s *Simulcast) frame(i int, key bool) []byte {
	n := max(s.Rates[i]/8/30, 40)
	if key {
		n *= 3
	}
	f := make([]byte, n)
	mark := LayerMark(i, key)
	for j := range f {
		f[j] = mark
	}
	if key {
		f[0], f[1], f[2] = 0x10, 0, 0
		// 160x120, 320x240, 640x480…: the SFU ranks layers by size.
		f[3], f[4], f[5] = 0x9d, 0x01, 0x2a
		binary.LittleEndian.PutUint16(f[6:], uint16(160<<i))
		binary.LittleEndian.PutUint16(f[8:], uint16(120<<i))
	} else {
		f[0], f[1], f[2] = 0x11, 0, 0
	}
	return f
}
