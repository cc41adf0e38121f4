package files_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// TestInProcessDocumentsService: with the documents service in the
// gateway's process (-target=all), reads are authorised and recorded by
// the same server interceptors and rules as over TCP — a confidential
// paper reaches a participant and is 404 for everyone else — and the
// access checks do not cross the network (uploads, a client stream, still
// do). With the meetings service in the process too, as in -target=all,
// the participant check the documents service makes on every read of a
// confidential paper (GetMyParticipation as the reader, forwarded) runs in
// process as well, with the same outcome; with the meetings service
// elsewhere it crosses TCP.
func TestInProcessDocumentsService(t *testing.T) {
	for _, tc := range []struct {
		name          string
		localMeetings bool
	}{
		{"meetings over TCP", false},
		{"meetings in process", true},
	} {
		t.Run(tc.name, func(t *testing.T) { testInProcessDocuments(t, tc.localMeetings) })
	}
}

func testInProcessDocuments(t *testing.T, localMeetings bool) {
	s := newStack(t, stackOptions{local: true, localMeetings: localMeetings})
	meeting := s.cellMeeting()
	pdf := testenv.PDF(2, 0)
	u := s.upload(t, secretary, uploadPath(meeting, "Nhân sự", "nhan-su.pdf", "confidential"), pdf)
	content := "/api/v1/documents/" + u.Document.ID + "/content"

	resp, body := s.request(t, &attendee, http.MethodGet, content, nil, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, pdf) {
		t.Errorf("participant: %d, %d bytes; want 200 and the paper", resp.StatusCode, len(body))
	}
	resp, body = s.request(t, &attendee, http.MethodGet, content, nil, map[string]string{"Range": "bytes=0-99"})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, pdf[:100]) {
		t.Errorf("participant, first bytes: %d, %d bytes; want 206 and 100 bytes", resp.StatusCode, len(body))
	}
	for _, c := range []identity.Claims{otherCell, bystander} {
		if resp, _ := s.request(t, &c, http.MethodGet, content, nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", c.Subject, resp.StatusCode)
		}
	}
	// The identity interceptor still applies: a call without claims is
	// refused by the service, not waved through because it is local.
	resp, _ = s.request(t, nil, http.MethodGet, content, nil, nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous: %d, want 401", resp.StatusCode)
	}
	_, err := s.docs.OpenDocumentContent(context.Background(), &documentsv1.OpenDocumentContentRequest{DocumentId: u.Document.ID, Access: documentsv1.AccessKind_ACCESS_KIND_VIEW})
	testenv.Code(t, err, codes.Unauthenticated)
	s.meetings.remove(meeting, attendee.Subject)
	if resp, _ := s.request(t, &attendee, http.MethodGet, content, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("after leaving the meeting: %d, want 404", resp.StatusCode)
	}

	var n int
	if err := s.pool.QueryRow(t.Context(), `SELECT count(*) FROM document_access WHERE document_id = $1`, u.Document.ID).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d reads recorded, want the participant's 2 (%v)", n, err)
	}
	if got := s.remote.count("/ecabinet.documents.v1.DocumentsService/OpenDocumentContent"); got != 0 {
		t.Errorf("%d access checks crossed TCP, want none", got)
	}
	// Every read above asked the meetings service whether the reader takes
	// part (uncached: the removal took effect at once), with the narrow
	// question; only the upload asked for the whole meeting (to check its
	// uploader runs it).
	asked := s.meetingsRemote.count(meetingsv1.MeetingsService_GetMyParticipation_FullMethodName)
	getMeeting := s.meetingsRemote.count(meetingsv1.MeetingsService_GetMeeting_FullMethodName)
	switch {
	case localMeetings && asked+getMeeting != 0:
		t.Errorf("%d participant checks and %d GetMeeting calls crossed TCP, want none", asked, getMeeting)
	case !localMeetings && (asked != 5 || getMeeting != 1):
		t.Errorf("%d participant checks and %d GetMeeting calls crossed TCP, want one check per read (5) and the upload's GetMeeting (1)", asked, getMeeting)
	}
}
