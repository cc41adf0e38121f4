package video

import (
	"encoding/binary"
	"os"
	"sync"
	"time"

	"github.com/at-wat/ebml-go/mkvcore"
	"github.com/at-wat/ebml-go/webm"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

const (
	// webmMaxPackets is how many packets the sample builder holds: a
	// frame must fit (a screen or HD keyframe of a few hundred KB is some
	// hundreds of packets).
	webmMaxPackets = 2048
	// webmMaxLate is how long it waits for a missing packet before it
	// gives up on the frame; a NACKed retransmission arrives well within.
	webmMaxLate = time.Second
	// webmKeyframeInterval bounds a cluster (milliseconds): clusters start
	// at keyframes, so the cues a player seeks by point at pictures.
	webmKeyframeInterval = 10_000
)

// webmWriter records a VP8 track as WebM. A sample builder puts RTP
// packets back in order and into whole frames (a frame missing a packet is
// dropped, not written broken, and so are the frames that depend on it
// until the next keyframe, which it asks for); each frame is a SimpleBlock
// timed from the first one. The file starts at the first keyframe, whose
// header gives the picture size the track entry declares; a later change
// of resolution comes with its own keyframe, which players follow.
type webmWriter struct {
	f       *sticky
	sb      *samplebuilder.SampleBuilder
	clock   uint32
	origin  uint32                // RTP timestamp of the first frame written
	track   webm.BlockWriteCloser // nil until the first keyframe
	broken  bool                  // a frame was lost: wait for a keyframe
	askKey  func()                // asks the publisher for a keyframe
	written int                   // frames written
}

// newWebMWriter creates file (which must not exist; only the service's
// user may read it); askKey is called when a lost frame leaves the
// recording waiting for a keyframe.
func newWebMWriter(file string, clock uint32, askKey func()) (*webmWriter, error) {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	return &webmWriter{
		f: &sticky{f: f}, clock: clock, askKey: askKey,
		sb: samplebuilder.New(webmMaxPackets, &codecs.VP8Packet{}, clock, samplebuilder.WithMaxTimeDelay(webmMaxLate)),
	}, nil
}

func (w *webmWriter) WriteRTP(p *rtp.Packet) error {
	w.sb.Push(p)
	return w.drain()
}

// drain writes the frames the sample builder has completed.
func (w *webmWriter) drain() error {
	for s := w.sb.Pop(); s != nil; s = w.sb.Pop() {
		w.writeFrame(s)
		if err := w.f.failed(); err != nil {
			return err
		}
	}
	return nil
}

func (w *webmWriter) writeFrame(s *media.Sample) {
	keyframe := len(s.Data) > 0 && s.Data[0]&0x01 == 0
	if s.PrevDroppedPackets > 0 && !keyframe {
		if !w.broken && w.askKey != nil {
			w.askKey()
		}
		w.broken = true
	}
	if w.broken && !keyframe {
		return // would decode against a frame that is not there
	}
	w.broken = false
	if w.track == nil {
		// A keyframe's header: 3 bytes of frame tag, the start code
		// 9d 01 2a, then 14-bit width and height (RFC 6386, 9.1).
		if !keyframe || len(s.Data) < 10 || s.Data[3] != 0x9d || s.Data[4] != 0x01 || s.Data[5] != 0x2a {
			return
		}
		width := binary.LittleEndian.Uint16(s.Data[6:8]) & 0x3fff
		height := binary.LittleEndian.Uint16(s.Data[8:10]) & 0x3fff
		tracks, err := webm.NewSimpleBlockWriter(w.f, []webm.TrackEntry{{
			Name: "Video", TrackNumber: 1, TrackUID: 1, CodecID: "V_VP8", TrackType: 1,
			Video: &webm.Video{PixelWidth: uint64(width), PixelHeight: uint64(height)},
		}}, mkvcore.WithSeekHead(true), mkvcore.WithCues(4096), mkvcore.WithMaxKeyframeInterval(1, webmKeyframeInterval),
			// Its default for both is a panic in its writer goroutine.
			mkvcore.WithOnErrorHandler(w.f.fail), mkvcore.WithOnFatalHandler(w.f.fail))
		if err != nil {
			w.f.fail(err)
			return
		}
		w.track, w.origin = tracks[0], s.PacketTimestamp
	}
	// Milliseconds (WebM's default timecode scale); the subtraction in
	// uint32 survives the RTP timestamp wrapping.
	ms := int64(s.PacketTimestamp-w.origin) * 1000 / int64(w.clock)
	if _, err := w.track.Write(keyframe, ms, s.Data); err != nil {
		w.f.fail(err)
		return
	}
	w.written++
}

// Close writes the frames still in the sample builder and ends the file
// (the block writer closes it, writing the duration and cues).
func (w *webmWriter) Close() error {
	w.sb.Flush()
	_ = w.drain()
	if w.track == nil {
		_ = w.f.Close() // sticky: an error is kept for failed
	} else {
		w.f.fail(w.track.Close())
	}
	return w.f.failed()
}

// sticky is the file under the WebM writer. It remembers the first write
// error and reports success from then on, so that ebml-go's writer
// goroutine never stops half way (a disk that fills during a meeting must
// end that track's recording, not hang its stop). The recorder reads the
// error through failed. Seek is for the cues, written at the end.
type sticky struct {
	f *os.File

	mu  sync.Mutex
	err error
}

func (s *sticky) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		_, s.err = s.f.Write(p)
	}
	return len(p), nil
}

func (s *sticky) Seek(offset int64, whence int) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return offset, nil
	}
	n, err := s.f.Seek(offset, whence)
	if err != nil {
		s.err = err
		return offset, nil
	}
	return n, nil
}

func (s *sticky) Close() error {
	s.fail(s.f.Close())
	return nil
}

func (s *sticky) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

func (s *sticky) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
