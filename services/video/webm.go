package video

import (
	"encoding/binary"
	"os"

	"github.com/at-wat/ebml-go/mkvcore"
	"github.com/at-wat/ebml-go/webm"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// webmMaxLate is how many packets the sample builder waits for a missing
// one before it gives up on the frame (about a second of 1.5 Mbps video):
// a NACKed retransmission arrives well within it.
const webmMaxLate = 128

// webmWriter records a VP8 track as WebM. A sample builder puts RTP
// packets back in order and into whole frames (a frame missing a packet is
// dropped, not written broken); each frame is a SimpleBlock timed from the
// first one. The file starts at the first keyframe, whose header gives the
// picture size the track entry declares; a later change of resolution
// comes with its own keyframe, which players follow.
type webmWriter struct {
	f      *os.File
	sb     *samplebuilder.SampleBuilder
	clock  uint32
	origin uint32                // RTP timestamp of the first frame written
	track  webm.BlockWriteCloser // nil until the first keyframe
}

func newWebMWriter(file string, clock uint32) (*webmWriter, error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	return &webmWriter{f: f, clock: clock, sb: samplebuilder.New(webmMaxLate, &codecs.VP8Packet{}, clock)}, nil
}

func (w *webmWriter) WriteRTP(p *rtp.Packet) error {
	w.sb.Push(p)
	for s := w.sb.Pop(); s != nil; s = w.sb.Pop() {
		if err := w.writeFrame(s); err != nil {
			return err
		}
	}
	return nil
}

func (w *webmWriter) writeFrame(s *media.Sample) error {
	keyframe := len(s.Data) > 0 && s.Data[0]&0x01 == 0
	if w.track == nil {
		// A keyframe's header: 3 bytes of frame tag, the start code
		// 9d 01 2a, then 14-bit width and height (RFC 6386, 9.1).
		if !keyframe || len(s.Data) < 10 || s.Data[3] != 0x9d || s.Data[4] != 0x01 || s.Data[5] != 0x2a {
			return nil
		}
		width := binary.LittleEndian.Uint16(s.Data[6:8]) & 0x3fff
		height := binary.LittleEndian.Uint16(s.Data[8:10]) & 0x3fff
		tracks, err := webm.NewSimpleBlockWriter(w.f, []webm.TrackEntry{{
			Name: "Video", TrackNumber: 1, TrackUID: 1, CodecID: "V_VP8", TrackType: 1,
			Video: &webm.Video{PixelWidth: uint64(width), PixelHeight: uint64(height)},
		}}, mkvcore.WithSeekHead(true), mkvcore.WithCues(4096))
		if err != nil {
			return err
		}
		w.track, w.origin = tracks[0], s.PacketTimestamp
	}
	// Milliseconds (WebM's default timecode scale); the subtraction in
	// uint32 survives the RTP timestamp wrapping.
	ms := int64(s.PacketTimestamp-w.origin) * 1000 / int64(w.clock)
	_, err := w.track.Write(keyframe, ms, s.Data)
	return err
}

// Close ends the file (the block writer closes it, writing the duration
// and cues).
func (w *webmWriter) Close() error {
	if w.track == nil {
		return w.f.Close()
	}
	return w.track.Close()
}
