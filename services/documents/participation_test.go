package documents

import (
	"testing"

	"google.golang.org/grpc/codes"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// confidentialPapers uploads n confidential papers to a new cell meeting.
func (w *world) confidentialPapers(t *testing.T, n int) (meeting string, docs []*documentsv1.Document) {
	t.Helper()
	meeting, _ = w.cellMeeting()
	for range n {
		nd := paper(meeting, "Nhân sự", "nhan-su.pdf")
		nd.Classification = documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL
		docs = append(docs, w.upload(t, secretary, nd, testenv.PDF(1, 0)))
	}
	return meeting, docs
}

// A confidential paper's reader is checked with the narrow question
// (GetMyParticipation), never the whole meeting, once per request and
// meeting, on every request: nothing is remembered between requests.
func TestConfidentialReadsAskForParticipationOnly(t *testing.T) {
	w := newWorld(t)
	meeting, docs := w.confidentialPapers(t, 2)
	getMeeting, asked := w.meetings.count("GetMeeting"), w.meetings.count("GetMyParticipation")
	read := func(c identity.Claims) error {
		t.Helper()
		_, err := w.client.GetDocument(testenv.As(c), &documentsv1.GetDocumentRequest{DocumentId: docs[0].GetId()})
		return err
	}
	expectAsked := func(what string, n int) {
		t.Helper()
		if got := w.meetings.count("GetMyParticipation") - asked; got != n {
			t.Errorf("%s: %d participation checks, want %d", what, got, n)
		}
		asked += n
	}

	for range 2 {
		if err := read(attendee); err != nil {
			t.Errorf("participant: %v", err)
		}
	}
	expectAsked("two reads by a participant", 2)
	testenv.Code(t, read(bystander), codes.NotFound)
	testenv.Code(t, read(adminA), codes.NotFound)
	expectAsked("a member and an administrator who take no part", 2)

	// A list of the meeting's papers asks once for all of them.
	list, err := w.client.ListDocuments(testenv.As(attendee), &documentsv1.ListDocumentsRequest{MeetingId: meeting})
	if err != nil || len(list.GetDocuments()) != 2 {
		t.Errorf("ListDocuments as a participant: %d papers (%v), want 2", len(list.GetDocuments()), err)
	}
	expectAsked("a list of two confidential papers", 1)

	// Removal takes effect on the next read.
	w.meetings.removeParticipant(meeting, attendee.Subject)
	testenv.Code(t, read(attendee), codes.NotFound)
	expectAsked("a read after the removal", 1)

	if got := w.meetings.count("GetMeeting") - getMeeting; got != 0 {
		t.Errorf("reads asked for the whole meeting %d times, want never", got)
	}
}

// A meetings service that predates GetMyParticipation (a cluster being
// upgraded one target at a time) is asked for the whole meeting instead,
// with the same answers: a participant reads, others and a removed
// participant get NotFound, and it being down is still Unavailable.
func TestConfidentialReadsWithAnOlderMeetingsService(t *testing.T) {
	w := newWorld(t)
	meeting, docs := w.confidentialPapers(t, 1)
	w.meetings.setOld(true)
	getMeeting := w.meetings.count("GetMeeting")
	get := func(c identity.Claims) error {
		_, err := w.client.GetDocument(testenv.As(c), &documentsv1.GetDocumentRequest{DocumentId: docs[0].GetId()})
		return err
	}
	if err := get(attendee); err != nil {
		t.Errorf("participant: %v", err)
	}
	testenv.Code(t, get(bystander), codes.NotFound)
	testenv.Code(t, get(otherCell), codes.NotFound)
	w.meetings.removeParticipant(meeting, attendee.Subject)
	testenv.Code(t, get(attendee), codes.NotFound)
	w.meetings.setDown(true)
	testenv.Code(t, get(observer), codes.Unavailable)
	if got := w.meetings.count("GetMeeting") - getMeeting; got != 5 {
		t.Errorf("%d GetMeeting calls for 5 reads, want 5 (one each)", got)
	}
	if got := w.meetings.count("GetMyParticipation"); got != 0 {
		t.Errorf("the older service answered GetMyParticipation %d times", got)
	}
}

// The meeting book reads the meeting as the caller anyway: participation
// is taken from it, not asked again — and a participant removed since gets
// none of the confidential papers all the same.
func TestMeetingBookTakesParticipationFromTheMeeting(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.confidentialPapers(t, 2)
	asked := w.meetings.count("GetMyParticipation")
	open := func(c identity.Claims) (*documentsv1.OpenMeetingBookResponse, error) {
		return w.client.OpenMeetingBook(testenv.As(c), &documentsv1.OpenMeetingBookRequest{MeetingId: meeting, Access: documentsv1.AccessKind_ACCESS_KIND_VIEW})
	}
	book, err := open(attendee)
	if err != nil || len(book.GetEntries()) != 2 {
		t.Fatalf("book as a participant: %d entries (%v), want the 2 confidential papers", len(book.GetEntries()), err)
	}
	if got := w.meetings.count("GetMyParticipation") - asked; got != 0 {
		t.Errorf("opening the book asked for participation %d times, want none (the meeting says)", got)
	}
	// Removed, a member of the cell still sees the meeting but no paper of
	// it they may read: there is no book for them.
	w.meetings.removeParticipant(meeting, attendee.Subject)
	_, err = open(attendee)
	testenv.Code(t, err, codes.FailedPrecondition)
}
