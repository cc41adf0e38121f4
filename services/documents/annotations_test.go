package documents

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

func note(documentID string, page int32, text string) *documentsv1.Annotation {
	return &documentsv1.Annotation{Id: uuid.NewString(), DocumentId: documentID, Page: page, Kind: documentsv1.AnnotationKind_ANNOTATION_KIND_NOTE,
		Area: &documentsv1.PageArea{X: 0.1, Y: 0.2, Width: 0.3, Height: 0.05}, Text: text, Color: "#FFDD00"}
}

func TestAnnotationsArePrivate(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	nd := paper(meeting, "Nghị quyết", "nq.pdf")
	nd.Classification = documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL
	d := w.upload(t, secretary, nd, testenv.PDF(3, 0))
	events := testenv.Consumer(t, w.js, w.stream)
	testenv.Next(t, events) // added

	mine := note(d.GetId(), 2, "  Cần làm rõ số liệu  ")
	saved, err := w.client.SaveAnnotation(testenv.As(attendee), &documentsv1.SaveAnnotationRequest{Annotation: mine})
	if err != nil {
		t.Fatalf("SaveAnnotation: %v", err)
	}
	a := saved.GetAnnotation()
	if a.GetText() != "Cần làm rõ số liệu" || a.GetColor() != "#ffdd00" || a.GetVersion() != 1 || a.GetDocumentVersion() != 1 || a.GetId() != mine.GetId() {
		t.Errorf("saved = %v", a)
	}
	msg := testenv.Next(t, events)
	var ev documentsv1.AnnotationsChanged
	if err := proto.Unmarshal(msg.Data(), &ev); err != nil || ev.GetPersonId() != attendee.Subject || ev.GetDocumentId() != d.GetId() {
		t.Errorf("event = %v (%v)", &ev, err)
	}
	// Only the author's devices hear of it: no organisation header.
	if h := msg.Headers(); h.Get("Ecabinet-Org") != "" || h.Get("Ecabinet-Audience") != attendee.Subject {
		t.Errorf("headers org %q audience %q, want none and the author alone", h.Get("Ecabinet-Org"), h.Get("Ecabinet-Audience"))
	}

	if _, err := w.client.SaveAnnotation(testenv.As(chair), &documentsv1.SaveAnnotationRequest{Annotation: note(d.GetId(), 1, "của chủ trì")}); err != nil {
		t.Fatalf("the chair's note: %v", err)
	}
	list, err := w.client.ListMyAnnotations(testenv.As(attendee), &documentsv1.ListMyAnnotationsRequest{DocumentId: d.GetId()})
	if err != nil || len(list.GetAnnotations()) != 1 || list.GetAnnotations()[0].GetText() != "Cần làm rõ số liệu" {
		t.Fatalf("attendee's annotations = %v (%v), want their one note", list.GetAnnotations(), err)
	}

	// Editing: the version moves on; a stale version is refused.
	mine.Text = "Đã rõ"
	if _, err := w.client.SaveAnnotation(testenv.As(attendee), &documentsv1.SaveAnnotationRequest{Annotation: mine, ExpectedVersion: 1}); err != nil {
		t.Fatalf("update: %v", err)
	}
	if _, err := w.client.SaveAnnotation(testenv.As(attendee), &documentsv1.SaveAnnotationRequest{Annotation: mine, ExpectedVersion: 1}); status.Code(err) != codes.Aborted {
		t.Errorf("update with a stale version: %v, want Aborted", err)
	}
	// Another person cannot overwrite it, or delete it.
	if _, err := w.client.SaveAnnotation(testenv.As(chair), &documentsv1.SaveAnnotationRequest{Annotation: mine}); status.Code(err) != codes.AlreadyExists {
		t.Errorf("the chair saving under the attendee's id: %v, want AlreadyExists", err)
	}
	// Nor can the author move it to another document.
	other := w.upload(t, secretary, paper(meeting, "Phụ lục", "pl.pdf"), testenv.PDF(1, 0))
	moved := proto.CloneOf(mine)
	moved.DocumentId, moved.Page = other.GetId(), 1
	if _, err := w.client.SaveAnnotation(testenv.As(attendee), &documentsv1.SaveAnnotationRequest{Annotation: moved}); status.Code(err) != codes.AlreadyExists {
		t.Errorf("saving a note under its id on another document: %v, want AlreadyExists", err)
	}
	if _, err := w.client.DeleteAnnotation(testenv.As(chair), &documentsv1.DeleteAnnotationRequest{AnnotationId: mine.GetId()}); status.Code(err) != codes.NotFound {
		t.Errorf("the chair deleting the attendee's note: %v, want NotFound", err)
	}
	// A reader who is no longer a participant loses the paper and their
	// notes on it.
	w.meetings.removeParticipant(meeting, attendee.Subject)
	if _, err := w.client.ListMyAnnotations(testenv.As(attendee), &documentsv1.ListMyAnnotationsRequest{DocumentId: d.GetId()}); status.Code(err) != codes.NotFound {
		t.Errorf("annotations of a removed participant: %v, want NotFound", err)
	}
	if _, err := w.client.DeleteAnnotation(testenv.As(attendee), &documentsv1.DeleteAnnotationRequest{AnnotationId: mine.GetId()}); err != nil {
		t.Errorf("deleting one's own note: %v", err)
	}
	if n := w.count(t, "annotations"); n != 1 {
		t.Errorf("%d annotations left, want the chair's", n)
	}
}

func TestAnnotationValidation(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	d := w.upload(t, secretary, paper(meeting, "Báo cáo", "bc.pdf"), testenv.PDF(2, 0))
	bad := note(d.GetId(), 0, strings.Repeat("x", 4001))
	bad.Id = "not-a-uuid"
	bad.Kind = 0
	bad.Color = "red"
	bad.Area = &documentsv1.PageArea{X: 0.9, Y: 0, Width: 0.2, Height: 0.1}
	_, err := w.client.SaveAnnotation(testenv.As(attendee), &documentsv1.SaveAnnotationRequest{Annotation: bad})
	want := []string{"annotation.id", "annotation.page", "annotation.kind", "annotation.area", "annotation.text", "annotation.color"}
	if got := testenv.ViolatedFields(t, err); !slices.Equal(got, want) {
		t.Errorf("violations = %v, want %v", got, want)
	}
	_, err = w.client.SaveAnnotation(testenv.As(attendee), &documentsv1.SaveAnnotationRequest{Annotation: note(d.GetId(), 3, "")})
	if got := testenv.ViolatedFields(t, err); !slices.Equal(got, []string{"annotation.page"}) {
		t.Errorf("page 3 of 2: violations %v", got)
	}
	_, err = w.client.SaveAnnotation(testenv.As(otherCell), &documentsv1.SaveAnnotationRequest{Annotation: note(d.GetId(), 1, "")})
	if status.Code(err) != codes.NotFound {
		t.Errorf("annotating a paper one may not read: %v, want NotFound", err)
	}
	if n := w.count(t, "annotations"); n != 0 {
		t.Errorf("%d annotations after refusals", n)
	}
}

func TestPresenterPage(t *testing.T) {
	w := newWorld(t)
	meeting, item := w.cellMeeting()
	nd := paper(meeting, "Báo cáo", "bc.pdf")
	nd.AgendaItemId = item
	d := w.upload(t, secretary, nd, testenv.PDF(5, 0))
	events := testenv.Consumer(t, w.js, w.stream)
	testenv.Next(t, events) // added

	if _, err := w.client.GetPresenterPage(testenv.As(attendee), &documentsv1.GetPresenterPageRequest{MeetingId: meeting}); status.Code(err) != codes.NotFound {
		t.Errorf("before anyone presents: %v, want NotFound", err)
	}
	if _, err := w.client.SetPresenterPage(testenv.As(chair), &documentsv1.SetPresenterPageRequest{DocumentId: d.GetId(), Page: 3}); err != nil {
		t.Fatalf("the chair presents page 3: %v", err)
	}
	var ev documentsv1.PresenterPageTurned
	msg := testenv.Next(t, events)
	if err := proto.Unmarshal(msg.Data(), &ev); err != nil || ev.GetPresenterPage().GetPage() != 3 || ev.GetPresenterPage().GetDocumentId() != d.GetId() ||
		msg.Subject() != w.prefix+"ecabinet.documents.v1."+meeting+".presenter_page" {
		t.Errorf("event on %s = %v (%v)", msg.Subject(), &ev, err)
	}
	got, err := w.client.GetPresenterPage(testenv.As(attendee), &documentsv1.GetPresenterPageRequest{MeetingId: meeting})
	if err != nil || got.GetPresenterPage().GetPage() != 3 || got.GetPresenterPage().GetPresenterId() != chair.Subject {
		t.Errorf("GetPresenterPage = %v (%v)", got.GetPresenterPage(), err)
	}
	// A member presents only the item they present.
	if _, err := w.client.SetPresenterPage(testenv.As(attendee), &documentsv1.SetPresenterPageRequest{DocumentId: d.GetId(), Page: 4}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a member presenting: %v, want PermissionDenied", err)
	}
	w.meetings.setPresenter(meeting, item, attendee.Subject)
	if _, err := w.client.SetPresenterPage(testenv.As(attendee), &documentsv1.SetPresenterPageRequest{DocumentId: d.GetId(), Page: 4}); err != nil {
		t.Errorf("the item's presenter presenting: %v", err)
	}
	_, err = w.client.SetPresenterPage(testenv.As(chair), &documentsv1.SetPresenterPageRequest{DocumentId: d.GetId(), Page: 6})
	if got := testenv.ViolatedFields(t, err); !slices.Equal(got, []string{"page"}) {
		t.Errorf("page 6 of 5: violations %v", got)
	}
	if _, err := w.client.GetPresenterPage(testenv.As(otherCell), &documentsv1.GetPresenterPageRequest{MeetingId: meeting}); status.Code(err) != codes.NotFound {
		t.Errorf("another cell asking what is presented: %v, want NotFound", err)
	}
}
