package videotest

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Source paces synthetic media into two tracks: VP8 at 30 frames a second,
// with a keyframe first and whenever a keyframe request arrives (never
// otherwise, so a keyframe downstream proves the request went through),
// and 20 ms Opus packets carrying an audio level (RFC 6464) once the
// extension is negotiated (SetAudioSender).
type Source struct {
	Video *webrtc.TrackLocalStaticSample
	Audio *webrtc.TrackLocalStaticRTP
	// AudioLevel is the level the audio packets say, in -dBov: 0 loudest,
	// 127 (the start) silence.
	AudioLevel atomic.Uint32
	// FrameBytes is the size of an inter frame (1,200 unless set before
	// Start; 6,250 makes about 1.5 Mbit/s). Keyframes are 3× larger.
	FrameBytes int
	// Stamp puts the send time in each video frame, for Sink's latency.
	Stamp bool

	PLIs     atomic.Int64 // keyframe requests received
	Frames   atomic.Int64 // video frames sent
	keyframe atomic.Bool
	stop     chan struct{}
	once     sync.Once
	started  atomic.Bool

	copies      []chan media.Sample // VideoCopy's, set before Start
	audioSender atomic.Pointer[webrtc.RTPSender]
	levelID     uint8 // pacing goroutine only
	seq         uint16
	ts          uint32
}

// NewSource makes the tracks (ids "camera" and "microphone").
func NewSource(tb testing.TB) *Source {
	tb.Helper()
	vt, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "camera", "me")
	if err != nil {
		tb.Fatal(err)
	}
	at, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "microphone", "me")
	if err != nil {
		tb.Fatal(err)
	}
	s := &Source{Video: vt, Audio: at, FrameBytes: 1200, stop: make(chan struct{})}
	s.AudioLevel.Store(127)
	return s
}

// SetAudioSender tells the source the sender of its audio track, whose
// negotiated parameters name the audio level extension's id.
func (s *Source) SetAudioSender(sender *webrtc.RTPSender) { s.audioSender.Store(sender) }

// audioPacket is the next 20 ms of Opus, with its level when negotiated.
func (s *Source) audioPacket() *rtp.Packet {
	if s.levelID == 0 {
		if sender := s.audioSender.Load(); sender != nil {
			for _, ext := range sender.GetParameters().HeaderExtensions {
				if ext.URI == sdp.AudioLevelURI {
					s.levelID = uint8(ext.ID)
				}
			}
		}
	}
	s.seq++
	s.ts += 960
	p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: s.seq, Timestamp: s.ts}, Payload: opusFrame}
	if s.levelID != 0 {
		level, _ := rtp.AudioLevelExtension{Level: uint8(s.AudioLevel.Load()), Voice: true}.Marshal()
		_ = p.SetExtension(s.levelID, level)
	}
	return p
}

// Start begins sending; it runs until Stop.
func (s *Source) Start() {
	if s.started.Swap(true) {
		return
	}
	s.keyframe.Store(true)
	go s.pace(33*time.Millisecond, func() {
		sample := media.Sample{Data: s.frame(s.keyframe.Swap(false)), Duration: 33 * time.Millisecond}
		for _, c := range s.copies {
			select {
			case c <- sample:
			default: // its writer is behind: the copy loses the frame
			}
		}
		_ = s.Video.WriteSample(sample)
		s.Frames.Add(1)
	})
	go s.pace(20*time.Millisecond, func() {
		_ = s.Audio.WriteRTP(s.audioPacket())
	})
}

// VideoCopy is one more video track with Video's frames, written by a
// goroutine of its own as each frame is made: with a copy per receiver, a
// sender delivering to many at once on every core, which pion's own track
// (one goroutine, each binding in turn) is not. Call it before Start.
func (s *Source) VideoCopy(tb testing.TB) *webrtc.TrackLocalStaticSample {
	tb.Helper()
	vt, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "camera", "me")
	if err != nil {
		tb.Fatal(err)
	}
	c := make(chan media.Sample, 4)
	s.copies = append(s.copies, c)
	go func() {
		for {
			select {
			case <-s.stop:
				return
			case sample := <-c:
				_ = vt.WriteSample(sample)
			}
		}
	}()
	return vt
}

// Stop stops sending.
func (s *Source) Stop() { s.once.Do(func() { close(s.stop) }) }

// ReadRTCP serves the video sender's RTCP: keyframe requests make the
// next frame a keyframe.
func (s *Source) ReadRTCP(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				s.PLIs.Add(1)
				s.keyframe.Store(true)
			}
		}
	}
}

func (s *Source) pace(every time.Duration, f func()) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			f()
		}
	}
}

// stampMagic marks a frame that carries its send time at stampAt.
var stampMagic = [4]byte{'E', 'C', 'T', 'S'}

const stampAt = 10

// frame is a synthetic VP8 frame: a valid frame tag (and, for a keyframe,
// start code and a 320x240 size), then filler. Nobody decodes it;
// receivers tell keyframes by the tag.
func (s *Source) frame(key bool) []byte {
	n := s.FrameBytes
	if n < stampAt+12 {
		n = stampAt + 12
	}
	if key {
		n *= 3
	}
	f := make([]byte, n)
	if key {
		f[0] = 0x10 // P=0 (key), version 0, show_frame
		f[3], f[4], f[5] = 0x9d, 0x01, 0x2a
		f[6], f[7] = 0x40, 0x01 // width 320
		f[8], f[9] = 0xf0, 0x00 // height 240
	} else {
		f[0] = 0x11 // P=1 (inter), show_frame
	}
	for i := stampAt; i < len(f); i++ {
		f[i] = byte(i)
	}
	if s.Stamp {
		copy(f[stampAt:], stampMagic[:])
		binary.BigEndian.PutUint64(f[stampAt+4:], uint64(time.Now().UnixNano()))
	}
	return f
}

// opusFrame is a 20 ms Opus packet (TOC for SILK 20 ms, mono) with filler.
var opusFrame = append([]byte{0x78}, make([]byte, 60)...)

// Received counts what arrived on one remote track.
type Received struct {
	Kind      webrtc.RTPCodecType
	ID        string // the forwarded track id: "<source>-<participant>-<id>"
	StreamID  string // the publisher's participant id
	Packets   atomic.Int64
	Keyframes atomic.Int64

	mu       sync.Mutex
	seqs     map[uint64]struct{} // extended sequence numbers seen
	last     uint64
	latency  []time.Duration // stamped frames: sent → last packet received
	first    []time.Duration // stamped frames: sent → first packet received
	measured bool

	// The stamped frame whose last packet is awaited (Receive's goroutine
	// only).
	stampTS   uint32
	stampSent time.Time
	stampOpen bool
}

// Sink receives remote tracks and counts them.
type Sink struct {
	// Measure keeps every extended sequence number and the latency of
	// stamped frames (set before tracks arrive).
	Measure bool
	// OnPacket, if set (before tracks arrive), sees every packet received,
	// on the track's reading goroutine.
	OnPacket func(r *Received, p *rtp.Packet)

	mu       sync.Mutex
	received []*Received
}

// OnTrack is a PeerConnection.OnTrack handler that asks for no keyframe.
func (s *Sink) OnTrack(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	s.Receive(remote, nil)
}

// pliEvery is how often a receiver that has video but no picture yet asks
// for a keyframe, as a browser's decoder does: the keyframe sent when it
// subscribed may have been lost for good (its retransmission lost too).
const pliEvery = time.Second

// Receive reads remote until it ends, counting what arrives; pli, if not
// nil, asks the sender for a keyframe.
func (s *Sink) Receive(remote *webrtc.TrackRemote, pli func()) {
	r := &Received{Kind: remote.Kind(), ID: remote.ID(), StreamID: remote.StreamID(), measured: s.Measure, seqs: map[uint64]struct{}{}}
	s.mu.Lock()
	s.received = append(s.received, r)
	s.mu.Unlock()
	buf := make([]byte, 1500)
	var p rtp.Packet
	lastPLI := time.Now() // the service asks for one when it binds the track
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			return
		}
		now := time.Now()
		r.Packets.Add(1)
		if err := p.Unmarshal(buf[:n]); err != nil {
			continue
		}
		if r.measured {
			r.record(p.SequenceNumber)
		}
		if s.OnPacket != nil {
			s.OnPacket(r, &p)
		}
		if remote.Kind() != webrtc.RTPCodecTypeVideo {
			continue
		}
		if pli != nil && r.Keyframes.Load() == 0 && now.Sub(lastPLI) > pliEvery {
			lastPLI = now
			pli()
		}
		r.video(&p, now)
	}
}

// video counts a keyframe's first packet and, measuring, times stamped
// frames. A frame is usable when its last packet (RTP marker) is in, so
// that is the latency that counts; the first packet's is kept beside it
// (it hides whatever delays the rest of a frame, e.g. a forwarder that
// sends each packet to every subscriber before reading the next).
func (r *Received) video(p *rtp.Packet, now time.Time) {
	var vp8 codecs.VP8Packet
	payload, err := vp8.Unmarshal(p.Payload)
	if err == nil && vp8.S == 1 && vp8.PID == 0 && len(payload) > 0 {
		if payload[0]&0x01 == 0 {
			r.Keyframes.Add(1)
		}
		if r.measured && len(payload) >= stampAt+12 && [4]byte(payload[stampAt:stampAt+4]) == stampMagic {
			sent := time.Unix(0, int64(binary.BigEndian.Uint64(payload[stampAt+4:])))
			r.stampTS, r.stampSent, r.stampOpen = p.Timestamp, sent, true
			r.mu.Lock()
			r.first = append(r.first, now.Sub(sent))
			r.mu.Unlock()
		}
	}
	if r.stampOpen && p.Marker && p.Timestamp == r.stampTS {
		r.stampOpen = false
		r.mu.Lock()
		r.latency = append(r.latency, now.Sub(r.stampSent))
		r.mu.Unlock()
	}
}

// record notes a sequence number, extended past 16-bit wrap-around.
func (r *Received) record(seq uint16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ext := uint64(seq)
	if r.last != 0 {
		// The extension nearest the last one seen.
		base := r.last &^ 0xffff
		best := base | ext
		for _, c := range []uint64{best - 0x10000, best + 0x10000} {
			if dist(c, r.last) < dist(best, r.last) {
				best = c
			}
		}
		ext = best
	} else {
		ext |= 1 << 32 // room below for a wrap backwards
	}
	r.seqs[ext] = struct{}{}
	if ext > r.last {
		r.last = ext
	}
}

func dist(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}

// Loss is the share of packets missing between the first and last
// sequence numbers seen (Measure only), and how many were expected.
func (r *Received) Loss() (float64, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.seqs) == 0 {
		return 0, 0
	}
	lo := r.last
	for s := range r.seqs {
		lo = min(lo, s)
	}
	expected := int(r.last-lo) + 1
	return 1 - float64(len(r.seqs))/float64(expected), expected
}

// Reset forgets the sequence numbers and latencies seen so far (the start
// of a measurement).
func (r *Received) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seqs = map[uint64]struct{}{}
	r.last = 0
	r.latency = nil
	r.first = nil
}

// Latencies returns the times from sending a stamped frame to receiving
// its last packet so far, and forgets them.
func (r *Received) Latencies() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.latency
	r.latency = nil
	return out
}

// FirstPacketLatencies returns the times from sending a stamped frame to
// receiving its first packet so far, and forgets them.
func (r *Received) FirstPacketLatencies() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.first
	r.first = nil
	return out
}

// Received returns the tracks that have arrived so far.
func (s *Sink) Received() []*Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Received(nil), s.received...)
}
