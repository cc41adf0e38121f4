package video

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
)

const (
	// deliverChunk is the size of the upload stream's messages.
	deliverChunk = 256 << 10
	// deliverTimeout bounds one file's upload (a long meeting's camera at
	// the documents' recording limit, over a slow link).
	deliverTimeout = 30 * time.Minute
	// bookkeepingTimeout bounds the statements that keep the list of
	// undelivered files.
	bookkeepingTimeout = 5 * time.Second
)

// deliverRetryDelays are the waits before trying a transiently failed
// upload again.
var deliverRetryDelays = []time.Duration{2 * time.Second, 10 * time.Second, time.Minute}

// sourceTitles names a recorded source in a recording's title (the
// documents' language is the users': Vietnamese).
var sourceTitles = map[string]string{
	sourceCamera:     "hình",
	sourceMicrophone: "tiếng",
	sourceScreen:     "màn hình chia sẻ",
}

// undelivered is a recorded file still on the node (a row of
// undelivered_files).
type undelivered struct {
	file, recordingID, title string
	bytes                    int64
	attempts                 int32
	lastError                string
}

func (f undelivered) proto() *videov1.UndeliveredFile {
	return &videov1.UndeliveredFile{RecordingId: f.recordingID, Title: f.title, Bytes: f.bytes, Attempts: f.attempts, LastError: f.lastError}
}

// keepUndelivered lists a stopped recording's files as undelivered, so
// that they survive a refusal or a restart until they are documents.
func (s *Service) keepUndelivered(meetingID string, stopped time.Time, files []undelivered) error {
	ctx, cancel := context.WithTimeout(context.Background(), bookkeepingTimeout)
	defer cancel()
	b := &pgx.Batch{}
	for _, f := range files {
		b.Queue(`INSERT INTO undelivered_files (file_name, recording_id, meeting_id, title, bytes, stop_time)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (file_name) DO NOTHING`,
			f.file, f.recordingID, meetingID, f.title, f.bytes, stopped)
	}
	return s.d.Pool.SendBatch(ctx, b).Close()
}

// undeliveredFiles lists the meeting's files still on the node.
func (s *Service) undeliveredFiles(ctx context.Context, meetingID string) ([]undelivered, error) {
	rows, err := s.d.Pool.Query(ctx, `SELECT file_name, recording_id, title, bytes, attempts, last_error
		FROM undelivered_files WHERE meeting_id = $1 ORDER BY stop_time, file_name`, meetingID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (undelivered, error) {
		var f undelivered
		err := r.Scan(&f.file, &f.recordingID, &f.title, &f.bytes, &f.attempts, &f.lastError)
		return f, err
	})
}

// deliverRecordings uploads the meeting's undelivered files (and stopped,
// the files of a recording just stopped) to its
// documents as confidential recordings, in the background, through the
// documents service as the caller: call carries their identity, which the
// connection forwards, so the documents service applies its own rule. All
// files start at once, while that identity is fresh (it is checked when an
// upload starts, and lasts minutes); a transient failure is tried again a
// few times. A delivered file leaves the node and the list; a refused one
// (over the documents' limit, the store down for long) or one a shutdown
// interrupts stays listed, for DeliverRecordings. Files already being
// delivered are not sent twice. It returns every undelivered file of the
// meeting; the room is told the outcome (RecordingStatus).
func (s *Service) deliverRecordings(call context.Context, meetingID string, stopped ...undelivered) ([]*videov1.UndeliveredFile, error) {
	files, err := s.undeliveredFiles(call, meetingID)
	if err != nil && len(stopped) == 0 {
		return nil, err
	}
	// A stopped recording's own files go too, listed or not (the list is
	// written at stop, and a database that failed then must not cost the
	// delivery).
	for _, f := range stopped {
		if !slices.ContainsFunc(files, func(l undelivered) bool { return l.file == f.file }) {
			files = append(files, f)
		}
	}
	out := make([]*videov1.UndeliveredFile, len(files))
	for i, f := range files {
		out[i] = f.proto()
	}
	if s.life.Err() != nil {
		return out, nil // stopping: the files wait for the next run
	}
	s.deliverMu.Lock()
	var mine []undelivered
	for _, f := range files {
		if !s.delivering[f.file] {
			s.delivering[f.file] = true
			mine = append(mine, f)
		}
	}
	s.deliverMu.Unlock()
	if len(mine) == 0 {
		return out, nil
	}
	// The caller's values (its identity), not its end; the service's end
	// interrupts the uploads.
	ctx, cancel := context.WithCancel(context.WithoutCancel(call))
	unhook := context.AfterFunc(s.life, cancel)
	s.deliveries.Go(func() {
		defer cancel()
		defer unhook()
		var wg sync.WaitGroup
		for _, f := range mine {
			wg.Go(func() {
				s.deliverFile(ctx, meetingID, f)
				s.deliverMu.Lock()
				delete(s.delivering, f.file)
				s.deliverMu.Unlock()
			})
		}
		wg.Wait()
		s.tellRecording(meetingID, s.recordingStatus(meetingID))
	})
	return out, nil
}

// deliverFile uploads one file, trying again after a transient failure.
func (s *Service) deliverFile(ctx context.Context, meetingID string, f undelivered) {
	log := s.log.With("meeting_id", meetingID, "recording_id", f.recordingID, "file", f.file)
	if err := s.recordedFile(f.file); err != nil && !errors.Is(err, os.ErrNotExist) {
		// The list names files the service wrote; anything else (a row
		// someone put there) is neither sent nor deleted.
		log.Error("video: an undelivered file is not one of this service's recordings; it is not delivered", "err", err)
		return
	}
	for attempt := 0; ; attempt++ {
		id, err := s.uploadRecorded(ctx, meetingID, f.title, f.file)
		if err != nil && ctx.Err() != nil {
			return // the service stops: not a failed attempt; the file waits for the next run
		}
		bctx, cancel := context.WithTimeout(context.Background(), bookkeepingTimeout)
		switch {
		case err == nil:
			log.Info("video: recorded track delivered", "document_id", id)
			s.forget(bctx, log, f.file)
			if err := os.Remove(f.file); err != nil {
				log.Warn("video: cannot remove a delivered recording file", "err", err)
			}
			_ = os.Remove(filepath.Dir(f.file)) // the recording's own directory, once empty
		case errors.Is(err, os.ErrNotExist):
			log.Warn("video: an undelivered recording file is gone from the node; forgetting it")
			s.forget(bctx, log, f.file)
		default:
			// The status's own message (what the documents service said),
			// not the gRPC wrapping: the chair reads it.
			if _, uerr := s.d.Pool.Exec(bctx, `UPDATE undelivered_files SET attempts = attempts + 1, last_error = $2 WHERE file_name = $1`,
				f.file, status.Convert(err).Message()); uerr != nil {
				log.Warn("video: cannot note a failed delivery", "err", uerr)
			}
		}
		cancel()
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		if attempt >= len(s.retryDelays) || !transient(err) {
			log.Error("video: a recorded track was not delivered to the documents; its file stays for DeliverRecordings", "err", err)
			return
		}
		log.Warn("video: delivering a recorded track failed; trying again", "err", err, "in", s.retryDelays[attempt])
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.retryDelays[attempt]):
		}
	}
}

// deliveryKey is the idempotency key of a recorded file's upload: the
// same for every attempt, whoever makes it, so that an attempt whose
// answer was lost (the documents service committed, the reply never came)
// and is made again gets the document the first made instead of a second
// copy of the recording.
func (s *Service) deliveryKey(file string) string {
	rel, err := filepath.Rel(s.cfg.RecordingDir, file)
	if err != nil {
		rel = file
	}
	sum := sha256.Sum256([]byte(rel))
	return "rec-" + hex.EncodeToString(sum[:16])
}

// recordedFile checks that file is a regular file under the recording
// directory (not a link, not elsewhere).
func (s *Service) recordedFile(file string) error {
	rel, err := filepath.Rel(s.cfg.RecordingDir, file)
	if err != nil || rel == "." || !filepath.IsLocal(rel) {
		return fmt.Errorf("%s is not under the recording directory %s", file, s.cfg.RecordingDir)
	}
	st, err := os.Lstat(file)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", file)
	}
	return nil
}

// forget takes a file off the undelivered list.
func (s *Service) forget(ctx context.Context, log *slog.Logger, file string) {
	if _, err := s.d.Pool.Exec(ctx, `DELETE FROM undelivered_files WHERE file_name = $1`, file); err != nil {
		log.Warn("video: cannot take a file off the undelivered list", "err", err)
	}
}

// transient says whether an upload may succeed if simply tried again (the
// documents service or its store briefly away), as opposed to a refusal
// that stands (too large, not allowed) or this service stopping.
func transient(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.ResourceExhausted, codes.Internal, codes.Unknown:
		return !errors.Is(err, context.Canceled)
	}
	return false
}

// undeliveredCount is how many of the meeting's files are still on the
// node; 0 when the database cannot say.
func (s *Service) undeliveredCount(meetingID string) int32 {
	ctx, cancel := context.WithTimeout(context.Background(), bookkeepingTimeout)
	defer cancel()
	var n int32
	if err := s.d.Pool.QueryRow(ctx, `SELECT count(*) FROM undelivered_files WHERE meeting_id = $1`, meetingID).Scan(&n); err != nil {
		s.log.Warn("video: cannot count undelivered recordings", "meeting_id", meetingID, "err", err)
	}
	return n
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
		IdempotencyKey: s.deliveryKey(file),
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
