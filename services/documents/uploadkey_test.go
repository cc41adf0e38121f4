package documents

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// keyed is a paper uploaded with an idempotency key.
func keyed(meetingID, fileName, key string) *documentsv1.NewDocument {
	nd := paper(meetingID, "Báo cáo", fileName)
	nd.IdempotencyKey = key
	return nd
}

// An upload retried with its key (its answer lost on the way) gets the
// document its first attempt made — even while object storage is down —
// and makes neither a second document, object nor event.
func TestUploadRetriedWithItsKeyMakesOneDocument(t *testing.T) {
	direct := testenv.Blob(t)
	proxy := newFaultProxy(t, os.Getenv("S3_ENDPOINT"))
	w := newWorldWith(t, worldOptions{store: storeBehind(t, direct, proxy.addr), inspect: direct})
	meeting, _ := w.cellMeeting()
	pdf := testenv.PDF(2, 0)
	first := w.upload(t, secretary, keyed(meeting, "bao-cao.pdf", "rec-42"), pdf)
	events := func() uint64 { return testenv.StreamMsgs(t, w.js, w.stream) }
	testenv.Eventually(t, waitLimit, func() error {
		if n := events(); n != 1 {
			return fmt.Errorf("%d events for the first upload, want 1", n)
		}
		return nil
	})

	again := w.upload(t, secretary, keyed(meeting, "bao-cao.pdf", "rec-42"), pdf)
	if again.GetId() != first.GetId() {
		t.Errorf("the retry made document %s; want the first attempt's %s", again.GetId(), first.GetId())
	}
	proxy.Block()
	whileDown := w.upload(t, secretary, keyed(meeting, "bao-cao.pdf", "rec-42"), pdf)
	proxy.Unblock()
	if whileDown.GetId() != first.GetId() {
		t.Errorf("the retry with storage down made document %s; want %s", whileDown.GetId(), first.GetId())
	}
	w.nothingLeft(t, 1)

	// The key is the meeting's: the chair retrying the secretary's upload
	// (delivering a recording again, say) gets the same document; another
	// meeting's key of the same spelling is its own. Its event is relayed
	// after any the retries would have made (the outbox keeps order): two
	// events in all, not more.
	byChair := w.upload(t, chair, keyed(meeting, "bao-cao.pdf", "rec-42"), pdf)
	if byChair.GetId() != first.GetId() {
		t.Errorf("the chair's retry made document %s; want %s", byChair.GetId(), first.GetId())
	}
	otherMeeting, _ := w.cellMeeting()
	other := w.upload(t, secretary, keyed(otherMeeting, "bao-cao.pdf", "rec-42"), pdf)
	if other.GetId() == first.GetId() {
		t.Errorf("another meeting's upload got document %s of the first meeting", first.GetId())
	}
	w.nothingLeft(t, 2)
	testenv.Eventually(t, waitLimit, func() error {
		if n := events(); n < 2 {
			return fmt.Errorf("%d events, want the other meeting's upload's too", n)
		}
		return nil
	})
	if n := events(); n != 2 {
		t.Errorf("%d events for two documents: a retry announced a document again", n)
	}
}

// Two attempts of one upload in flight at once (both past the check for
// an earlier one) make one document: the second to commit answers with
// the first's, and its object is removed.
func TestConcurrentAttemptsOfOneUploadMakeOneDocument(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	pdf := testenv.PDF(3, 0)
	streams := make([]documentsv1.DocumentsService_UploadDocumentClient, 2)
	for i := range streams {
		s, err := w.client.UploadDocument(testenv.As(secretary))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(newDocument(keyed(meeting, "nghi-quyet.pdf", "twice"))); err != nil {
			t.Fatal(err)
		}
		// The ready header: this attempt has looked for an earlier one
		// and found none.
		if md, err := s.Header(); err != nil || len(md.Get(UploadReadyHeader)) == 0 {
			t.Fatalf("attempt %d not asked for its bytes: %v %v", i, md, err)
		}
		streams[i] = s
	}
	ids := make([]string, len(streams))
	var wg sync.WaitGroup
	for i, s := range streams {
		wg.Go(func() {
			if err := s.Send(&documentsv1.UploadDocumentRequest{Part: &documentsv1.UploadDocumentRequest_Chunk{Chunk: pdf}}); err != nil {
				t.Errorf("attempt %d: send: %v", i, err)
			}
			resp, err := s.CloseAndRecv()
			if err != nil {
				t.Errorf("attempt %d: %v", i, err)
				return
			}
			ids[i] = resp.GetDocument().GetId()
		})
	}
	wg.Wait()
	if ids[0] == "" || ids[0] != ids[1] {
		t.Errorf("the two attempts answered documents %q and %q; want one", ids[0], ids[1])
	}
	w.nothingLeft(t, 1)
}

// A key that made a document is refused for another upload (naming the
// field), and a malformed key is refused before anything is stored.
func TestUploadKeyRefusals(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	w.upload(t, secretary, keyed(meeting, "to-trinh.pdf", "k1"), testenv.PDF(1, 0))
	for _, tc := range []struct {
		name string
		nd   *documentsv1.NewDocument
		want string
	}{
		{"same key, another file", keyed(meeting, "khac.pdf", "k1"), ReasonKeyReused},
		{"a space in the key", keyed(meeting, "a.pdf", "k 1"), "INVALID_FORMAT"},
		{"65 characters", keyed(meeting, "a.pdf", strings.Repeat("k", 65)), "INVALID_FORMAT"},
		{"a slash", keyed(meeting, "a.pdf", "rec/1"), "INVALID_FORMAT"},
	} {
		_, err := w.sendUpload(testenv.As(secretary), newDocument(tc.nd), testenv.PDF(1, 0))
		if diff := cmp.Diff(map[string]string{"new_document.idempotency_key": tc.want}, testenv.ViolationReasons(t, err)); diff != "" {
			t.Errorf("%s: violations (-want +got):\n%s", tc.name, diff)
		}
	}
	w.nothingLeft(t, 1)

	// A key whose document was withdrawn says so.
	d := w.upload(t, secretary, keyed(meeting, "rut.pdf", "k2"), testenv.PDF(1, 0))
	if _, err := w.client.WithdrawDocument(testenv.As(secretary), &documentsv1.WithdrawDocumentRequest{DocumentId: d.GetId(), Reason: "nhầm"}); err != nil {
		t.Fatal(err)
	}
	_, err := w.sendUpload(testenv.As(secretary), newDocument(keyed(meeting, "rut.pdf", "k2")), testenv.PDF(1, 0))
	testenv.Code(t, err, codes.FailedPrecondition)
}
