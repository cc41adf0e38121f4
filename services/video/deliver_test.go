package video

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// fakeDocuments takes uploads as the documents service would, recording
// who sent what, and refuses Ogg files (as if over its limit).
type fakeDocuments struct {
	documentsv1.UnimplementedDocumentsServiceServer

	mu      sync.Mutex
	uploads []fakeUpload
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
	f.uploads = append(f.uploads, up)
	f.mu.Unlock()
	if strings.HasSuffix(up.doc.GetFileName(), ".ogg") {
		return status.Error(codes.InvalidArgument, "documents: the file is larger than the limit")
	}
	return stream.SendAndClose(&documentsv1.UploadDocumentResponse{Document: &documentsv1.Document{Id: "doc-" + up.doc.GetFileName()}})
}

func (f *fakeDocuments) seen() []fakeUpload {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeUpload(nil), f.uploads...)
}

// When the chair stops a recording, every track goes to the meeting's
// documents as a confidential recording, uploaded as the chair; a
// delivered file leaves the video node, a refused one stays there.
func TestStoppedRecordingIsDeliveredToTheDocuments(t *testing.T) {
	w := newWorldWith(t, Config{RecordingDir: t.TempDir()})
	docs := &fakeDocuments{}
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
	w.svc.d.Documents = documentsv1.NewDocumentsServiceClient(conn) // before any recording

	meeting, people := w.meeting(t, meetingM, chair)
	pub := w.join(t, people[0], meeting)
	pub.Publish()
	pub.Offer()
	if _, err := w.client.StartRecording(testenv.As(people[0]), &videov1.StartRecordingRequest{MeetingId: meeting}); err != nil {
		t.Fatalf("start: %v", err)
	}
	frames := pub.Source.Frames.Load()
	pub.WaitFor("60 frames sent while recording", func() bool { return pub.Source.Frames.Load() > frames+60 })
	stopped, err := w.client.StopRecording(testenv.As(people[0]), &videov1.StopRecordingRequest{MeetingId: meeting})
	if err != nil {
		t.Fatalf("stop: %v", err)
	}
	tracks := stopped.GetRecording().GetTracks()
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
	testenv.Eventually(t, waitLimit, func() error {
		for _, tr := range tracks {
			_, err := os.Stat(tr.GetFileName())
			if gone := errors.Is(err, os.ErrNotExist); gone != strings.HasSuffix(tr.GetFileName(), ".webm") {
				return errors.New(tr.GetFileName() + ": not yet as expected")
			}
		}
		return nil
	})
	if _, err := os.Stat(filepath.Dir(tracks[0].GetFileName())); err != nil {
		t.Errorf("the recording's directory, holding the refused file: %v", err)
	}
}
