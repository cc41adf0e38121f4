package video

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// fakeDocuments takes uploads as the documents service would, recording
// who sent what; refuse, when set, may refuse one (its attempt counts the
// earlier uploads of the same file, from 0).
type fakeDocuments struct {
	documentsv1.UnimplementedDocumentsServiceServer

	mu      sync.Mutex
	uploads []fakeUpload
	refuse  func(fileName string, attempt int) error
}

// overLimit refuses Ogg files as the documents service refuses a file
// over its limit.
func overLimit(fileName string, _ int) error {
	if strings.HasSuffix(fileName, ".ogg") {
		return status.Error(codes.InvalidArgument, "documents: the file is larger than the limit")
	}
	return nil
}

type fakeUpload struct {
	caller string
	doc    *documentsv1.NewDocument
	bytes  int
}

func (f *fakeDocuments) UploadDocument(stream documentsv1.DocumentsService_UploadDocumentServer) error {
	c, _ := identity.FromContext(stream.Context())
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	up := fakeUpload{caller: c.Subject, doc: first.GetNewDocument()}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		up.bytes += len(msg.GetChunk())
	}
	f.mu.Lock()
	attempt := 0
	for _, u := range f.uploads {
		if u.doc.GetFileName() == up.doc.GetFileName() {
			attempt++
		}
	}
	f.uploads = append(f.uploads, up)
	refuse := f.refuse
	f.mu.Unlock()
	if refuse != nil {
		if err := refuse(up.doc.GetFileName(), attempt); err != nil {
			return err
		}
	}
	return stream.SendAndClose(&documentsv1.UploadDocumentResponse{Document: &documentsv1.Document{Id: "doc-" + up.doc.GetFileName()}})
}

func (f *fakeDocuments) seen() []fakeUpload {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeUpload(nil), f.uploads...)
}

func (f *fakeDocuments) setRefuse(refuse func(string, int) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refuse = refuse
}

// documents serves a stand-in documents service behind the real identity
// check and gives it to the service, before any recording.
func (w *world) documents(t *testing.T, refuse func(string, int) error) *fakeDocuments {
	t.Helper()
	docs := &fakeDocuments{refuse: refuse}
	gs := grpc.NewServer(grpc.ChainStreamInterceptor(identity.StreamServerInterceptor(identity.NewVerifier(w.signer.PublicKey()))))
	documentsv1.RegisterDocumentsServiceServer(gs, docs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := identity.DialForwarding(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	w.svc.d.Documents = documentsv1.NewDocumentsServiceClient(conn)
	return docs
}

// record has people[0] record the meeting while it publishes (60 frames)
// and returns the stopped recording's files. stop ends the recording: the
// StopRecording call, or what a shutdown does.
func (w *world) record(t *testing.T, meeting string, chair identity.Claims, stop func()) {
	t.Helper()
	pub := w.join(t, chair, meeting)
	pub.Publish()
	pub.Offer()
	if _, err := w.client.StartRecording(testenv.As(chair), &videov1.StartRecordingRequest{MeetingId: meeting}); err != nil {
		t.Fatalf("start: %v", err)
	}
	frames := pub.Source.Frames.Load()
	pub.WaitFor("60 frames sent while recording", func() bool { return pub.Source.Frames.Load() > frames+60 })
	stop()
}

// undelivered lists the meeting's files the service still has to deliver.
func (w *world) undelivered(t *testing.T, meeting string) []undelivered {
	t.Helper()
	files, err := w.svc.undeliveredFiles(context.Background(), meeting)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// When the chair stops a recording, every track goes to the meeting's
// documents as a confidential recording, uploaded as the chair; a
// delivered file leaves the video node; a refused one stays, listed as
// undelivered (the room is told), until the chair has it delivered again.
func TestStoppedRecordingIsDeliveredToTheDocuments(t *testing.T) {
	w := newWorldWith(t, Config{RecordingDir: t.TempDir()})
	docs := w.documents(t, overLimit)
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	watcher := w.join(t, people[1], meeting)
	var tracks []*videov1.RecordedTrack
	w.record(t, meeting, people[0], func() {
		stopped, err := w.client.StopRecording(testenv.As(people[0]), &videov1.StopRecordingRequest{MeetingId: meeting})
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
		tracks = stopped.GetRecording().GetTracks()
	})
	if len(tracks) != 2 {
		t.Fatalf("stopped with %d tracks, want 2", len(tracks))
	}

	testenv.Eventually(t, waitLimit, func() error {
		if n := len(docs.seen()); n < 2 {
			return errors.New("uploads still to come")
		}
		return nil
	})
	for _, up := range docs.seen() {
		d := up.doc
		if up.caller != people[0].Subject || d.GetMeetingId() != meeting || d.GetKind() != documentsv1.DocumentKind_DOCUMENT_KIND_RECORDING ||
			d.GetClassification() != documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL || !strings.Contains(d.GetTitle(), people[0].Name) ||
			up.bytes == 0 || int64(up.bytes) != d.GetDeclaredSize() {
			t.Errorf("upload by %s: %v (%d bytes)", up.caller, d, up.bytes)
		}
	}
	// The delivered WebM is gone from the node; the refused Ogg stays,
	// and so does the recording's directory.
	var ogg string
	testenv.Eventually(t, waitLimit, func() error {
		for _, tr := range tracks {
			_, err := os.Stat(tr.GetFileName())
			if gone := errors.Is(err, os.ErrNotExist); gone != strings.HasSuffix(tr.GetFileName(), ".webm") {
				return errors.New(tr.GetFileName() + ": not yet as expected")
			}
			if !strings.HasSuffix(tr.GetFileName(), ".webm") {
				ogg = tr.GetFileName()
			}
		}
		return nil
	})
	if _, err := os.Stat(filepath.Dir(ogg)); err != nil {
		t.Errorf("the recording's directory, holding the refused file: %v", err)
	}
	// The refusal is not retried (it stands) and is listed with its reason;
	// the room learns a file is still to deliver.
	left := w.undelivered(t, meeting)
	if len(left) != 1 || left[0].file != ogg || left[0].attempts != 1 || !strings.Contains(left[0].lastError, "larger than the limit") ||
		!strings.Contains(left[0].title, people[0].Name) {
		t.Fatalf("undelivered = %+v, want the Ogg file after one refused attempt", left)
	}
	watcher.NextEvent(func(m *videov1.SignalResponse) bool { return m.GetRecording().GetUndeliveredFiles() == 1 })

	// Only who runs the meeting may have it delivered again.
	_, err := w.client.DeliverRecordings(testenv.As(people[1]), &videov1.DeliverRecordingsRequest{MeetingId: meeting})
	if got := reason(t, err, codes.PermissionDenied); got != ReasonNotRunning {
		t.Errorf("a member delivering: reason %s", got)
	}
	_, err = w.client.DeliverRecordings(testenv.As(people[0]), &videov1.DeliverRecordingsRequest{MeetingId: "not-a-uuid"})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "meeting_id") {
		t.Errorf("a malformed meeting id: %v", err)
	}

	// The documents accept it now (say the limit was raised): the chair's
	// retry delivers it, as the chair, and the node is clean.
	docs.setRefuse(nil)
	resp, err := w.client.DeliverRecordings(testenv.As(people[0]), &videov1.DeliverRecordingsRequest{MeetingId: meeting})
	if err != nil {
		t.Fatalf("DeliverRecordings: %v", err)
	}
	if fs := resp.GetFiles(); len(fs) != 1 || fs[0].GetAttempts() != 1 || fs[0].GetBytes() == 0 {
		t.Errorf("delivering %v, want the one Ogg file", fs)
	}
	watcher.NextEvent(func(m *videov1.SignalResponse) bool {
		return m.GetRecording() != nil && m.GetRecording().GetUndeliveredFiles() == 0
	})
	if left := w.undelivered(t, meeting); len(left) != 0 {
		t.Errorf("still undelivered: %+v", left)
	}
	ups := docs.seen()
	if last := ups[len(ups)-1]; last.doc.GetFileName() != filepath.Base(ogg) || last.caller != people[0].Subject || last.bytes == 0 {
		t.Errorf("last upload %+v, want the Ogg file by the chair", last)
	}
	if _, err := os.Stat(filepath.Dir(ogg)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the recording's directory after every file was delivered: %v", err)
	}
}

// A documents service briefly away does not cost the recording: the
// upload is tried again by itself.
func TestRecordingDeliveryRetriesATransientFailure(t *testing.T) {
	w := newWorldWith(t, Config{RecordingDir: t.TempDir()})
	w.svc.retryDelays = []time.Duration{50 * time.Millisecond, 50 * time.Millisecond}
	docs := w.documents(t, func(_ string, attempt int) error {
		if attempt < 2 {
			return status.Error(codes.Unavailable, "documents: the object store is unavailable")
		}
		return nil
	})
	meeting, people := w.meeting(t, meetingM, chair)
	w.record(t, meeting, people[0], func() {
		if _, err := w.client.StopRecording(testenv.As(people[0]), &videov1.StopRecordingRequest{MeetingId: meeting}); err != nil {
			t.Fatalf("stop: %v", err)
		}
	})
	testenv.Eventually(t, waitLimit, func() error {
		if left := w.undelivered(t, meeting); len(left) != 0 {
			return fmt.Errorf("still undelivered: %+v", left)
		}
		return nil
	})
	byFile := map[string]int{}
	keys := map[string]map[string]bool{} // file -> the idempotency keys its attempts carried
	for _, up := range docs.seen() {
		f := up.doc.GetFileName()
		byFile[f]++
		if keys[f] == nil {
			keys[f] = map[string]bool{}
		}
		keys[f][up.doc.GetIdempotencyKey()] = true
	}
	if len(byFile) != 2 {
		t.Errorf("uploads %v, want the two tracks", byFile)
	}
	for f, n := range byFile {
		if n != 3 {
			t.Errorf("%s uploaded %d times, want 3 (two refusals, then delivered)", f, n)
		}
	}
	// Every attempt of a file says the same key (a refusal may have come
	// after the documents service committed: the next attempt then gets
	// that document instead of a second copy), and each file its own.
	seenKeys := map[string]bool{}
	for f, ks := range keys {
		if len(ks) != 1 || ks[""] {
			t.Errorf("%s: attempts carried idempotency keys %v; want one, the same each time", f, ks)
		}
		for k := range ks {
			if seenKeys[k] {
				t.Errorf("%s shares its idempotency key %q with another file", f, k)
			}
			seenKeys[k] = true
		}
	}
}

// A recording the service's shutdown interrupts keeps its files listed:
// the chair has them delivered afterwards.
func TestRecordingInterruptedByShutdownIsDeliveredLater(t *testing.T) {
	w := newWorldWith(t, Config{RecordingDir: t.TempDir()})
	meeting, people := w.meeting(t, meetingM, chair)
	w.record(t, meeting, people[0], w.svc.stopAllRecordings) // what Run does on its way out
	left := w.undelivered(t, meeting)
	if len(left) != 2 {
		t.Fatalf("undelivered after the shutdown: %+v, want the two tracks", left)
	}
	for _, f := range left {
		if f.attempts != 0 || f.bytes == 0 {
			t.Errorf("undelivered %+v: want never tried, with its size", f)
		}
	}

	// This node had no documents service then; it has one now.
	_, err := w.client.DeliverRecordings(testenv.As(people[0]), &videov1.DeliverRecordingsRequest{MeetingId: meeting})
	if st := status.Convert(err); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "DOCUMENTS_ADDR") {
		t.Errorf("delivering without a documents service: %v", err)
	}
	docs := w.documents(t, nil)
	if _, err := w.client.DeliverRecordings(testenv.As(people[0]), &videov1.DeliverRecordingsRequest{MeetingId: meeting}); err != nil {
		t.Fatalf("DeliverRecordings: %v", err)
	}
	testenv.Eventually(t, waitLimit, func() error {
		if left := w.undelivered(t, meeting); len(left) != 0 {
			return fmt.Errorf("still undelivered: %+v", left)
		}
		return nil
	})
	if ups := docs.seen(); len(ups) != 2 {
		t.Errorf("%d uploads, want the two tracks once each", len(ups))
	}
	for _, f := range left {
		if _, err := os.Stat(f.file); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after delivery: %v", f.file, err)
		}
	}
}

// A database that fails when the recording stops (the list of undelivered
// files cannot be written) does not cost the delivery: the stopped
// recording's files are uploaded all the same.
func TestStoppedRecordingIsDeliveredWhenItCannotBeListed(t *testing.T) {
	w := newWorldWith(t, Config{RecordingDir: t.TempDir()})
	docs := w.documents(t, nil)
	meeting, people := w.meeting(t, meetingM, chair)
	ctx := context.Background()
	w.record(t, meeting, people[0], func() {
		if _, err := w.pool.Exec(ctx, `ALTER TABLE undelivered_files RENAME TO undelivered_files_away`); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if _, err := w.pool.Exec(ctx, `ALTER TABLE undelivered_files_away RENAME TO undelivered_files`); err != nil {
				t.Fatal(err)
			}
		}()
		if _, err := w.client.StopRecording(testenv.As(people[0]), &videov1.StopRecordingRequest{MeetingId: meeting}); err != nil {
			t.Fatalf("stop: %v", err)
		}
		testenv.Eventually(t, waitLimit, func() error {
			if n := len(docs.seen()); n < 2 {
				return fmt.Errorf("%d uploads, want the two tracks", n)
			}
			return nil
		})
	})
}

// The list names files; only the service's own recordings under its
// directory are ever sent or deleted — not a file a row elsewhere names.
func TestOnlyRecordedFilesAreDelivered(t *testing.T) {
	w := newWorldWith(t, Config{RecordingDir: t.TempDir()})
	docs := w.documents(t, nil)
	meeting, people := w.meeting(t, meetingM, chair)
	secret := filepath.Join(t.TempDir(), "secret.env")
	if err := os.WriteFile(secret, []byte("KEY=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(w.svc.cfg.RecordingDir, meeting, "link.webm")
	if err := os.MkdirAll(filepath.Dir(link), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{secret, link, filepath.Join(w.svc.cfg.RecordingDir, "..", "escape.webm")} {
		if _, err := w.pool.Exec(context.Background(), `INSERT INTO undelivered_files (file_name, recording_id, meeting_id, title, bytes, stop_time)
			VALUES ($1, gen_random_uuid(), $2, 'x', 6, now())`, f, meeting); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := w.client.DeliverRecordings(testenv.As(people[0]), &videov1.DeliverRecordingsRequest{MeetingId: meeting})
	if err != nil || len(resp.GetFiles()) != 3 {
		t.Fatalf("DeliverRecordings: %v, %v", resp.GetFiles(), err)
	}
	// The deliveries run in the background: wait until none is in flight.
	testenv.Eventually(t, waitLimit, func() error {
		w.svc.deliverMu.Lock()
		defer w.svc.deliverMu.Unlock()
		if n := len(w.svc.delivering); n > 0 {
			return fmt.Errorf("%d deliveries in flight", n)
		}
		return nil
	})
	if ups := docs.seen(); len(ups) != 0 {
		t.Errorf("uploaded %d files that are not recordings", len(ups))
	}
	if b, err := os.ReadFile(secret); err != nil || string(b) != "KEY=1\n" {
		t.Errorf("the file a row named was touched: %q, %v", b, err)
	}
}
