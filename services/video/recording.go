package video

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
)

// recordQueue bounds the packets waiting for one track's file; a disk
// that cannot keep up loses packets from the recording (counted), never
// from the forwarding.
const recordQueue = 1024

// recordSettle bounds the wait for every layer of a simulcast track to be
// measured before its recorded layer is chosen (a layer is measured after
// rateWindow; one that never sends must not hold the recording back).
const recordSettle = 2 * time.Second

var (
	errRecording    = errors.New("already recording")
	errNotRecording = errors.New("not recording")
)

// recorder is one recording of a room: a writer per track. It records as
// a subscriber would receive (after the SFU), tapping the forwarding loop.
type recorder struct {
	id        string
	meetingID string
	dir       string
	start     time.Time

	mu      sync.Mutex
	writers map[*published]*trackWriter
	files   int // files opened so far
	stopped bool
}

// trackWriter writes one track's packets to its file on its own
// goroutine.
type trackWriter struct {
	t       *published
	file    string
	began   time.Time // for the choice of a simulcast track's layer
	queue   chan *rtp.Packet
	done    chan struct{}
	dropped atomic.Int64

	// closing guards queue against a push after close.
	closing sync.RWMutex
	closed  bool

	// Writer goroutine only, read after done.
	clock       uint32
	first, last uint32
	written     bool
	err         error
}

// recording returns the meeting's recording in progress, or nil.
func (s *Service) recording(meetingID string) *recorder {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return s.recs[meetingID]
}

// startRecording begins recording the meeting's room (its current tracks
// and those published while it runs).
func (s *Service) startRecording(meetingID string) (*recorder, error) {
	s.recMu.Lock()
	if s.recs[meetingID] != nil {
		s.recMu.Unlock()
		return nil, errRecording
	}
	id := newID()
	rec := &recorder{id: id, meetingID: meetingID, start: time.Now(), writers: map[*published]*trackWriter{},
		dir: filepath.Join(s.cfg.RecordingDir, meetingID, id)}
	if err := os.MkdirAll(rec.dir, 0o750); err != nil {
		s.recMu.Unlock()
		return nil, fmt.Errorf("recording directory: %w", err)
	}
	s.recs[meetingID] = rec
	s.recMu.Unlock()

	// Tracks published from now on are added by publish; these are the
	// ones already there (a track may be added both ways: add is
	// idempotent).
	if r := s.rooms.room(meetingID); r != nil {
		r.mu.Lock()
		ts := make([]*published, 0, len(r.tracks))
		for t := range r.tracks {
			ts = append(ts, t)
		}
		r.mu.Unlock()
		for _, t := range ts {
			rec.add(t)
		}
	}
	s.tellRecording(meetingID, s.recordingStatus(meetingID))
	s.log.Info("video: recording started", "meeting_id", meetingID, "recording_id", id, "dir", rec.dir)
	return rec, nil
}

// stopRecording ends the meeting's recording, closes its files, lists
// them as undelivered and describes them (also as the files to deliver:
// delivery does not depend on the list being written).
func (s *Service) stopRecording(meetingID string) (*videov1.Recording, []undelivered, error) {
	s.recMu.Lock()
	rec := s.recs[meetingID]
	delete(s.recs, meetingID)
	s.recMu.Unlock()
	if rec == nil {
		return nil, nil, errNotRecording
	}
	rec.mu.Lock()
	rec.stopped = true
	writers := rec.writers
	rec.mu.Unlock()
	out := rec.proto()
	out.State = videov1.RecordingState_RECORDING_STATE_STOPPED
	out.StopTime = timestamppb.Now()
	var files []undelivered
	for t, w := range writers {
		t.rec.CompareAndSwap(w, nil)
		w.closing.Lock()
		w.closed = true
		close(w.queue)
		w.closing.Unlock()
		<-w.done
		if w.err != nil {
			s.log.Warn("video: recording a track failed", "file", w.file, "err", w.err)
		}
		st, err := os.Stat(w.file)
		if err != nil {
			continue
		}
		if !w.written {
			// Nothing but a header (a camera that never sent a
			// keyframe, a microphone muted throughout): no recording.
			_ = os.Remove(w.file)
			continue
		}
		var d time.Duration
		if w.written && w.clock > 0 {
			d = time.Duration(w.last-w.first) * time.Second / time.Duration(w.clock)
		}
		files = append(files, undelivered{file: w.file, recordingID: rec.id, bytes: st.Size(),
			title: fmt.Sprintf("Bản ghi cuộc họp — %s (%s)", t.owner.name, sourceTitles[t.source])})
		out.Tracks = append(out.Tracks, &videov1.RecordedTrack{ParticipantId: t.owner.id, PersonId: t.owner.person,
			Source: t.source, FileName: w.file, Bytes: st.Size(), Duration: durationpb.New(d), DroppedPackets: w.dropped.Load()})
	}
	if len(out.Tracks) == 0 {
		_ = os.Remove(rec.dir) // nothing was recorded
	} else if err := s.keepUndelivered(meetingID, out.GetStopTime().AsTime(), files); err != nil {
		s.log.Error("video: cannot list a stopped recording's files for delivery; they stay on the node", "meeting_id", meetingID,
			"recording_id", rec.id, "dir", rec.dir, "err", err)
	}
	s.tellRecording(meetingID, s.recordingStatus(meetingID))
	s.log.Info("video: recording stopped", "meeting_id", meetingID, "recording_id", rec.id, "tracks", len(out.Tracks))
	return out, files, nil
}

// tellRecording tells everyone in the room the recording's state.
func (s *Service) tellRecording(meetingID string, st *videov1.RecordingStatus) {
	r := s.rooms.room(meetingID)
	if r == nil {
		return
	}
	for _, o := range r.others(nil) {
		o.do(func() {
			o.send(&videov1.SignalResponse{Message: &videov1.SignalResponse_Recording{Recording: st}})
		})
	}
}

func (rec *recorder) status() *videov1.RecordingStatus {
	return &videov1.RecordingStatus{On: true, StartTime: timestamppb.New(rec.start)}
}

func (rec *recorder) proto() *videov1.Recording {
	return &videov1.Recording{Id: rec.id, MeetingId: rec.meetingID, State: videov1.RecordingState_RECORDING_STATE_RECORDING,
		StartTime: timestamppb.New(rec.start)}
}

// add starts writing t, asking its publisher for a keyframe so the file
// starts with a picture.
func (rec *recorder) add(t *published) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.stopped || rec.writers[t] != nil {
		return
	}
	codec := t.remote.Codec()
	ext, open := "", func(string) (rtpWriter, error) { return nil, errors.New("unsupported codec") }
	switch {
	case strings.EqualFold(codec.MimeType, webrtc.MimeTypeVP8):
		ext = ".webm"
		askKey := func() {}
		if t.kf != nil {
			askKey = t.kf.request
		}
		open = func(f string) (rtpWriter, error) { return newWebMWriter(f, codec.ClockRate, askKey) }
	case strings.EqualFold(codec.MimeType, webrtc.MimeTypeOpus):
		ext = ".ogg"
		open = func(name string) (rtpWriter, error) {
			f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return nil, err
			}
			w, err := oggwriter.NewWith(f, codec.ClockRate, codec.Channels)
			if err != nil {
				f.Close()
			}
			return w, err
		}
	default:
		t.owner.log.Warn("video: track not recorded: codec not supported", "codec", codec.MimeType)
		return
	}
	// Numbered: a track published again under the same id is a new file.
	rec.files++
	file := filepath.Join(rec.dir, fmt.Sprintf("%s-%s-%s-%d%s", t.owner.id, t.source, sanitize(t.remote.ID()), rec.files, ext))
	w, err := open(file)
	if err != nil {
		t.owner.log.Error("video: cannot record a track", "file", file, "err", err)
		return
	}
	tw := &trackWriter{t: t, file: file, queue: make(chan *rtp.Packet, recordQueue), done: make(chan struct{}), clock: codec.ClockRate,
		began: time.Now()}
	rec.writers[t] = tw
	go tw.run(w)
	t.rec.Store(tw)
	if t.kf != nil {
		t.kf.request()
	}
}

// rtpWriter is what pion's Ogg writer and our WebM writer have in common.
type rtpWriter interface {
	WriteRTP(*rtp.Packet) error
	Close() error
}

func (w *trackWriter) run(out rtpWriter) {
	defer close(w.done)
	video := w.t.kf != nil
	for p := range w.queue {
		if w.err != nil {
			continue
		}
		// A video file starts at a keyframe (asked for when recording
		// began); what comes before could not be decoded.
		if video && !w.written && !startsVP8Keyframe(p) {
			continue
		}
		if err := out.WriteRTP(p); err != nil {
			w.err = err
			continue
		}
		if !w.written {
			w.first, w.written = p.Timestamp, true
		}
		w.last = p.Timestamp
	}
	if err := out.Close(); err != nil && w.err == nil {
		w.err = err
	}
}

// push queues a copy of a forwarded packet for the file, or drops it
// when the writer is behind.
func (w *trackWriter) push(raw []byte) {
	p := &rtp.Packet{}
	if err := p.Unmarshal(append([]byte(nil), raw...)); err != nil {
		return
	}
	w.closing.RLock()
	defer w.closing.RUnlock()
	if w.closed {
		return // the recording stopped as this packet came
	}
	select {
	case w.queue <- p:
	default:
		w.dropped.Add(1)
	}
}

// sanitize keeps a track id usable in a file name.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, s)
}

// recordingStatus is the meeting's recording as the room is told it: on or
// off, and how many recorded files are not yet among its documents.
func (s *Service) recordingStatus(meetingID string) *videov1.RecordingStatus {
	st := &videov1.RecordingStatus{}
	if rec := s.recording(meetingID); rec != nil {
		st = rec.status()
	}
	st.UndeliveredFiles = s.undeliveredCount(meetingID)
	return st
}

// stopAllRecordings closes every recording's files (the service stops).
func (s *Service) stopAllRecordings() {
	s.recMu.Lock()
	ids := make([]string, 0, len(s.recs))
	for id := range s.recs {
		ids = append(ids, id)
	}
	s.recMu.Unlock()
	for _, id := range ids {
		_, _, _ = s.stopRecording(id)
	}
}

// startsVP8Keyframe reports whether p is the first packet of a VP8
// keyframe.
func startsVP8Keyframe(p *rtp.Packet) bool {
	var vp8 codecs.VP8Packet
	payload, err := vp8.Unmarshal(p.Payload)
	return err == nil && vp8.S == 1 && vp8.PID == 0 && len(payload) > 0 && payload[0]&0x01 == 0
}
