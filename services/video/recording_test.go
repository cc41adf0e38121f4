package video

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
	"google.golang.org/grpc/codes"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

const (
	videoKind = webrtc.RTPCodecTypeVideo
	audioKind = webrtc.RTPCodecTypeAudio
)

// The chair records the room: everyone is told; the camera goes into a
// WebM file that parses, starts with a keyframe (asked for at the start)
// and whose frames span the media time reported; the microphone into an
// Ogg file that parses. Only who runs the meeting may record.
func TestRecording(t *testing.T) {
	w := newWorldWith(t, Config{RecordingDir: t.TempDir()})
	meeting, people := w.meeting(t, meetingM, chair, memberR, memberR)
	pub := w.join(t, people[0], meeting)
	pub.Publish()
	pub.Offer()
	sub := w.join(t, people[1], meeting)
	sub.Watch()
	sub.Offer()
	from := pub.Joined.GetParticipantId()
	sub.WaitFor("the publisher's video", func() bool {
		return sub.Track(videoKind, from) != nil && sub.Track(audioKind, from) != nil
	})

	req := &videov1.StartRecordingRequest{MeetingId: meeting}
	_, err := w.client.StartRecording(testenv.As(people[1]), req)
	if got := reason(t, err, codes.PermissionDenied); got != ReasonNotRunning {
		t.Errorf("a member starts recording: %s", got)
	}
	started, err := w.client.StartRecording(testenv.As(people[0]), req)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if started.GetRecording().GetState() != videov1.RecordingState_RECORDING_STATE_RECORDING {
		t.Errorf("started = %v", started.GetRecording())
	}
	_, err = w.client.StartRecording(testenv.As(people[0]), req)
	if got := reason(t, err, codes.FailedPrecondition); got != ReasonAlreadyRecording {
		t.Errorf("second start: %s", got)
	}
	on := sub.NextEvent(func(m *videov1.SignalResponse) bool { return m.GetRecording() != nil }).GetRecording()
	if !on.GetOn() || on.GetStartTime() == nil {
		t.Errorf("recording notice %v, want on with a start time", on)
	}
	// Someone joining now is told in Joined.
	if late := w.join(t, people[2], meeting); !late.Joined.GetRecording().GetOn() {
		t.Errorf("joined while recording: %v", late.Joined.GetRecording())
	}

	// Two seconds of media, counted in the publisher's frames.
	frames := pub.Source.Frames.Load()
	pub.WaitFor("60 frames sent while recording", func() bool { return pub.Source.Frames.Load() > frames+60 })

	stopped, err := w.client.StopRecording(testenv.As(people[0]), &videov1.StopRecordingRequest{MeetingId: meeting})
	if err != nil {
		t.Fatalf("stop: %v", err)
	}
	off := sub.NextEvent(func(m *videov1.SignalResponse) bool { return m.GetRecording() != nil }).GetRecording()
	if off.GetOn() {
		t.Errorf("recording notice %v, want off", off)
	}
	_, err = w.client.StopRecording(testenv.As(people[0]), &videov1.StopRecordingRequest{MeetingId: meeting})
	if got := reason(t, err, codes.FailedPrecondition); got != ReasonNotRecording {
		t.Errorf("second stop: %s", got)
	}

	rec := stopped.GetRecording()
	if rec.GetState() != videov1.RecordingState_RECORDING_STATE_STOPPED || len(rec.GetTracks()) != 2 {
		t.Fatalf("stopped recording = %v, want 2 tracks", rec)
	}
	for _, tr := range rec.GetTracks() {
		if tr.GetParticipantId() != from || tr.GetPersonId() != people[0].Subject || tr.GetBytes() == 0 {
			t.Errorf("track %v", tr)
		}
		f, err := os.Open(tr.GetFileName())
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		switch tr.GetSource() {
		case sourceCamera:
			var doc struct {
				Header  webm.EBMLHeader `ebml:"EBML"`
				Segment webm.Segment    `ebml:"Segment"`
			}
			if err := ebml.Unmarshal(f, &doc); err != nil || doc.Header.DocType != "webm" {
				t.Fatalf("WebM (doc type %q): %v", doc.Header.DocType, err)
			}
			if tr := doc.Segment.Tracks.TrackEntry; len(tr) != 1 || tr[0].CodecID != "V_VP8" || tr[0].Video == nil || tr[0].Video.PixelWidth == 0 {
				t.Fatalf("WebM tracks %+v, want one VP8 track with its picture size", tr)
			}
			n, first := 0, true
			var last time.Duration
			for _, c := range doc.Segment.Cluster {
				for _, b := range c.SimpleBlock {
					if first && (!b.Keyframe || b.Data[0][0]&0x01 != 0) {
						t.Error("the recording does not start with a keyframe")
					}
					first = false
					n++
					last = time.Duration(int64(c.Timecode)+int64(b.Timecode)) * time.Millisecond
				}
			}
			// Frames every 33 ms: the frames' span, the reported duration
			// and the file's own (media time, not wall time) agree.
			span := last
			if n < 20 || span < time.Duration(n-2)*30*time.Millisecond || span > time.Duration(n)*40*time.Millisecond {
				t.Errorf("%d frames spanning %v", n, span)
			}
			if d := tr.GetDuration().AsDuration(); d < span-50*time.Millisecond || d > span+50*time.Millisecond {
				t.Errorf("reported duration %v, frames span %v", d, span)
			}
			if d := time.Duration(doc.Segment.Info.Duration * float64(time.Millisecond)); d < span-50*time.Millisecond || d > span+100*time.Millisecond {
				t.Errorf("the file says it lasts %v, frames span %v", d, span)
			}
		case sourceMicrophone:
			r, _, err := oggreader.NewWith(f)
			if err != nil {
				t.Fatalf("Ogg: %v", err)
			}
			pages := 0
			for {
				if _, _, err := r.ParseNextPage(); err != nil {
					break
				}
				pages++
			}
			if pages < 10 {
				t.Errorf("%d Ogg pages", pages)
			}
		default:
			t.Errorf("recorded source %q", tr.GetSource())
		}
		if !strings.HasPrefix(tr.GetFileName(), w.svc.cfg.RecordingDir) {
			t.Errorf("file %s outside the recording directory", tr.GetFileName())
		}
	}
}
