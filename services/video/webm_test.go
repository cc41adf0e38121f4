package video

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// vp8Frame is an encoded frame's stand-in of n bytes: a keyframe's header
// (frame tag, start code, 640×480) or a delta frame's tag.
func vp8Frame(keyframe bool, n int) []byte {
	b := bytes.Repeat([]byte{0x55}, n)
	if keyframe {
		copy(b, []byte{0x50, 0x2a, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01})
	} else {
		b[0] = 0x51
	}
	return b
}

// packets cuts frames (33 ms apart) into RTP packets as a publisher would.
func packets(frames ...[]byte) [][]*rtp.Packet {
	p := rtp.NewPacketizer(1200, 96, 1, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewFixedSequencer(1000), 90000)
	var out [][]*rtp.Packet
	for _, f := range frames {
		out = append(out, p.Packetize(f, 3000))
	}
	return out
}

func recordWebM(t *testing.T, w *webmWriter, frames [][]*rtp.Packet, skip func(frame, packet int) bool) error {
	t.Helper()
	var err error
	for i, f := range frames {
		for j, pkt := range f {
			if skip != nil && skip(i, j) {
				continue
			}
			if e := w.WriteRTP(pkt); e != nil && err == nil {
				err = e
			}
		}
	}
	if e := w.Close(); e != nil && err == nil {
		err = e
	}
	return err
}

// webmSegment parses a WebM file's segment.
func webmSegment(t *testing.T, file string) webm.Segment {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var doc struct {
		Segment webm.Segment `ebml:"Segment"`
	}
	if err := ebml.Unmarshal(f, &doc); err != nil {
		t.Fatalf("WebM: %v", err)
	}
	return doc.Segment
}

func readWebM(t *testing.T, file string) (blocks, keyframes int) {
	t.Helper()
	for _, c := range webmSegment(t, file).Cluster {
		for _, b := range c.SimpleBlock {
			blocks++
			if b.Keyframe {
				keyframes++
			}
		}
	}
	return blocks, keyframes
}

// A keyframe of several hundred packets (a shared screen, an HD camera) is
// recorded, and so is the last frame (flushed at close).
func TestWebMKeepsLargeKeyframes(t *testing.T) {
	file := filepath.Join(t.TempDir(), "screen.webm")
	w, err := newWebMWriter(file, 90000, nil)
	if err != nil {
		t.Fatal(err)
	}
	frames := packets(vp8Frame(true, 400_000), vp8Frame(false, 5000), vp8Frame(false, 5000))
	if len(frames[0]) < 300 {
		t.Fatalf("the keyframe is %d packets, want several hundred", len(frames[0]))
	}
	if err := recordWebM(t, w, frames, nil); err != nil {
		t.Fatal(err)
	}
	if blocks, keys := readWebM(t, file); blocks != 3 || keys != 1 {
		t.Errorf("%d frames (%d keyframes) recorded, want 3 (1)", blocks, keys)
	}
}

// A frame that lost a packet is not written, nor the frames that depend on
// it; a keyframe is asked for and the recording goes on from it.
func TestWebMSkipsToTheNextKeyframeAfterALoss(t *testing.T) {
	file := filepath.Join(t.TempDir(), "camera.webm")
	asked := 0
	w, err := newWebMWriter(file, 90000, func() { asked++ })
	if err != nil {
		t.Fatal(err)
	}
	// A keyframe, 40 frames (the second loses a packet), a keyframe, 40
	// frames: over a second each, so the builder gives up on the packet.
	stream := [][]byte{vp8Frame(true, 3000)}
	for range 40 {
		stream = append(stream, vp8Frame(false, 3000))
	}
	stream = append(stream, vp8Frame(true, 3000))
	for range 40 {
		stream = append(stream, vp8Frame(false, 3000))
	}
	if err := recordWebM(t, w, packets(stream...), func(frame, packet int) bool { return frame == 1 && packet == 1 }); err != nil {
		t.Fatal(err)
	}
	if blocks, keys := readWebM(t, file); blocks != 42 || keys != 2 {
		t.Errorf("%d frames (%d keyframes) recorded, want 42 (2): the first keyframe, then the second and the 40 frames after it", blocks, keys)
	}
	if asked != 1 {
		t.Errorf("%d keyframe requests, want 1", asked)
	}
}

// A disk that refuses writes ends the track's recording with an error —
// from the write or from Close — rather than hanging it.
func TestWebMWriteErrorEndsTheTrack(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full here")
	}
	w, err := newWebMWriter(filepath.Join(t.TempDir(), "x.webm"), 90000, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.f.f.Close()
	w.f.f = full
	frames := packets(vp8Frame(true, 3000), vp8Frame(false, 3000), vp8Frame(false, 3000))
	if err := recordWebM(t, w, frames, nil); err == nil {
		t.Error("writing to a full disk reported no error")
	}
}

// vp8KeyframeOf is a keyframe's stand-in of n bytes whose header says
// width×height.
func vp8KeyframeOf(width, height uint16, n int) []byte {
	b := vp8Frame(true, n)
	binary.LittleEndian.PutUint16(b[6:8], width)
	binary.LittleEndian.PutUint16(b[8:10], height)
	return b
}

// A publisher that changes resolution (a browser adapting to its CPU or
// bandwidth, or the SFU switching a simulcast layer) sends a keyframe of
// the new size: the recording keeps every frame across the change, in
// order, the new size's first frame a keyframe carrying its size, so a
// player resizes there. The track entry keeps the first size.
func TestWebMFollowsAResolutionChange(t *testing.T) {
	file := filepath.Join(t.TempDir(), "camera.webm")
	w, err := newWebMWriter(file, 90000, nil)
	if err != nil {
		t.Fatal(err)
	}
	stream := [][]byte{vp8KeyframeOf(640, 480, 6000)}
	for range 20 {
		stream = append(stream, vp8Frame(false, 2000))
	}
	stream = append(stream, vp8KeyframeOf(320, 240, 3000))
	for range 20 {
		stream = append(stream, vp8Frame(false, 1000))
	}
	if err := recordWebM(t, w, packets(stream...), nil); err != nil {
		t.Fatal(err)
	}

	seg := webmSegment(t, file)
	if v := seg.Tracks.TrackEntry[0].Video; v.PixelWidth != 640 || v.PixelHeight != 480 {
		t.Errorf("track entry %d×%d, want the first picture's 640×480", v.PixelWidth, v.PixelHeight)
	}
	var sizes []string
	last := int64(-1)
	n := 0
	for _, c := range seg.Cluster {
		for _, b := range c.SimpleBlock {
			at := int64(c.Timecode) + int64(b.Timecode)
			if at <= last {
				t.Errorf("frame %d at %d ms, not after %d ms", n, at, last)
			}
			last = at
			if b.Keyframe {
				d := b.Data[0]
				sizes = append(sizes, fmt.Sprintf("%d:%dx%d", n, binary.LittleEndian.Uint16(d[6:8])&0x3fff, binary.LittleEndian.Uint16(d[8:10])&0x3fff))
			}
			n++
		}
	}
	if n != len(stream) {
		t.Errorf("%d frames recorded, want all %d", n, len(stream))
	}
	if got, want := strings.Join(sizes, " "), "0:640x480 21:320x240"; got != want {
		t.Errorf("keyframes (frame:size) %q, want %q", got, want)
	}
}
