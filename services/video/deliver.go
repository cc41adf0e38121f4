package video

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
)

const (
	// deliverChunk is the size of the upload stream's messages.
	deliverChunk = 256 << 10
	// deliverTimeout bounds one file's upload (a long meeting's camera at
	// the documents' recording limit, over a slow link).
	deliverTimeout = 30 * time.Minute
)

// sourceTitles names a recorded source in a recording's title (the
// documents' language is the users': Vietnamese).
var sourceTitles = map[string]string{
	sourceCamera:     "hình",
	sourceMicrophone: "tiếng",
	sourceScreen:     "màn hình chia sẻ",
}

// deliverRecording uploads the files of a stopped recording to the
// meeting's documents as confidential recordings, in the background,
// through the documents service as the person who stopped it: call carries
// their identity, which the connection forwards, so the documents service
// applies its own rule. All files start at once, while that identity is
// fresh (it is checked when an upload starts, and lasts minutes). A
// delivered file is removed from the video node; a refused one (over the
// documents' limit, the store down) or one a shutdown interrupts stays,
// logged with the reason.
func (s *Service) deliverRecording(call context.Context, rec *videov1.Recording, names map[string]string) {
	if s.life.Err() != nil {
		s.log.Warn("video: the service is stopping; the recording stays on disk", "meeting_id", rec.GetMeetingId(), "recording_id", rec.GetId())
		return
	}
	// The caller's values (its identity), not its end; the service's end
	// interrupts the uploads.
	ctx, cancel := context.WithCancel(context.WithoutCancel(call))
	unhook := context.AfterFunc(s.life, cancel)
	s.deliveries.Go(func() {
		defer cancel()
		defer unhook()
		var wg sync.WaitGroup
		var failed atomic.Int32
		for _, tr := range rec.GetTracks() {
			wg.Go(func() {
				title := fmt.Sprintf("Bản ghi cuộc họp — %s (%s)", names[tr.GetParticipantId()], sourceTitles[tr.GetSource()])
				id, err := s.uploadRecorded(ctx, rec.GetMeetingId(), title, tr.GetFileName())
				if err != nil {
					failed.Add(1)
					s.log.Error("video: a recorded track was not delivered to the documents; its file stays", "meeting_id", rec.GetMeetingId(),
						"recording_id", rec.GetId(), "file", tr.GetFileName(), "err", err)
					return
				}
				s.log.Info("video: recorded track delivered", "meeting_id", rec.GetMeetingId(), "recording_id", rec.GetId(), "document_id", id)
				if err := os.Remove(tr.GetFileName()); err != nil {
					s.log.Warn("video: cannot remove a delivered recording file", "file", tr.GetFileName(), "err", err)
				}
			})
		}
		wg.Wait()
		if failed.Load() == 0 && len(rec.GetTracks()) > 0 {
			_ = os.Remove(filepath.Dir(rec.GetTracks()[0].GetFileName())) // the recording's own directory, now empty
		}
	})
}

// uploadRecorded streams one file to DocumentsService.UploadDocument.
func (s *Service) uploadRecorded(ctx context.Context, meetingID, title, file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	// Cancelled on a read error, so that the service drops the upload
	// rather than keep a file cut short.
	ctx, cancel := context.WithTimeout(ctx, deliverTimeout)
	defer cancel()
	stream, err := s.d.Documents.UploadDocument(ctx)
	if err != nil {
		return "", err
	}
	if err := stream.Send(&documentsv1.UploadDocumentRequest{Part: &documentsv1.UploadDocumentRequest_NewDocument{NewDocument: &documentsv1.NewDocument{
		MeetingId:      meetingID,
		Title:          title,
		Kind:           documentsv1.DocumentKind_DOCUMENT_KIND_RECORDING,
		Classification: documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL,
		FileName:       filepath.Base(file),
		DeclaredSize:   st.Size(),
	}}}); err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	buf := make([]byte, deliverChunk)
	for {
		n, rerr := f.Read(buf)
		if n > 0 {
			if err := stream.Send(&documentsv1.UploadDocumentRequest{Part: &documentsv1.UploadDocumentRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				break // the service ended the stream: CloseAndRecv says why
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return "", rerr
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return "", err
	}
	return resp.GetDocument().GetId(), nil
}
