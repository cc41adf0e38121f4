package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"

	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/video/videotest"
)

// The chair records two seconds of the room and stops: the recording
// appears among the meeting's documents — a WebM of the camera that parses
// and lasts those seconds, an Ogg of the microphone — for the meeting's
// participants, and not for a member of the organisation who is not one.
func TestVideoRecordingBecomesMeetingDocuments(t *testing.T) {
	p, logins := startWithDemo(t)
	taker := newAuthClient(t, p)
	taker.login(logins["minute-taker"])
	m := taker.startTodaysMeeting()
	id, base := m.ID, "/api/v1/meetings/"+m.ID
	var chairID, chairName string
	for _, pt := range m.Participants {
		if pt.Role == "PARTICIPANT_ROLE_CHAIR" {
			chairID, chairName = pt.PersonID, pt.FullName
		}
	}
	chair := p.Token(t, identity.Claims{Subject: chairID, Name: chairName, Orgs: []string{m.OrganizationID}})
	admin := p.Token(t, identity.Claims{Subject: "e2e-recording-admin", Name: "Quản trị", Orgs: []string{m.OrganizationID}, AdminOrgs: []string{m.OrganizationID}})
	if code := p.Do(t, http.MethodPost, base+"/room", admin, map[string]any{"organizationId": m.OrganizationID, "mode": "ROOM_MODE_MEETING"}, nil); code != http.StatusOK {
		t.Fatalf("open the room: %d", code)
	}
	var tok joinTokenBody
	if code := p.Do(t, http.MethodPost, base+"/video/join-token", chair, map[string]any{}, &tok); code != http.StatusOK {
		t.Fatalf("join token: %d", code)
	}
	ws, code := dialSignal(t, p, id, chair)
	if code != http.StatusSwitchingProtocols {
		t.Fatalf("dial: %d", code)
	}
	pub := videotest.New(t, videotest.API(t), ws)
	if err := pub.Join(id, tok.Token); err != nil {
		t.Fatalf("join: %v", err)
	}
	pub.Publish()
	pub.Offer()

	if code := p.Do(t, http.MethodPost, base+"/video:startRecording", chair, map[string]any{}, nil); code != http.StatusOK {
		t.Fatalf("start recording: %d", code)
	}
	frames := pub.Source.Frames.Load()
	pub.WaitFor("two seconds of frames sent while recording", func() bool { return pub.Source.Frames.Load() > frames+60 })
	if code := p.Do(t, http.MethodPost, base+"/video:stopRecording", chair, map[string]any{}, nil); code != http.StatusOK {
		t.Fatalf("stop recording: %d", code)
	}

	type doc struct {
		ID             string `json:"id"`
		Title          string `json:"title"`
		Kind           string `json:"kind"`
		Classification string `json:"classification"`
		ContentType    string `json:"contentType"`
	}
	var recordings []doc
	deadline := time.Now().Add(videotest.Wait)
	for len(recordings) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d recordings among the meeting's documents, want 2 (camera and microphone)", len(recordings))
		}
		time.Sleep(200 * time.Millisecond)
		var list struct {
			Documents []doc `json:"documents"`
		}
		if code := p.Do(t, http.MethodGet, base+"/documents", chair, nil, &list); code != http.StatusOK {
			t.Fatalf("list documents: %d", code)
		}
		recordings = recordings[:0]
		for _, d := range list.Documents {
			if d.Kind == "DOCUMENT_KIND_RECORDING" {
				recordings = append(recordings, d)
			}
		}
	}
	types := map[string]bool{}
	for _, d := range recordings {
		types[d.ContentType] = true
		if d.Classification != "CLASSIFICATION_CONFIDENTIAL" || !strings.Contains(d.Title, chairName) {
			t.Errorf("recording %+v, want confidential and titled with the chair's name", d)
		}
		if d.ContentType != "video/webm" {
			continue
		}
		res := tokenClient(t, p, identity.Claims{Subject: chairID, Name: chairName, Orgs: []string{m.OrganizationID}}).get("/api/v1/documents/"+d.ID+"/content", nil)
		if res.code != http.StatusOK {
			t.Fatalf("download the recording: %d", res.code)
		}
		var file struct {
			Header  webm.EBMLHeader `ebml:"EBML"`
			Segment webm.Segment    `ebml:"Segment"`
		}
		if err := ebml.Unmarshal(bytes.NewReader(res.body), &file); err != nil {
			t.Fatalf("the recording is not WebM: %v", err)
		}
		if d := time.Duration(file.Segment.Info.Duration * float64(time.Millisecond)); d < 1500*time.Millisecond || d > 10*time.Second {
			t.Errorf("the recording lasts %v, want about the two seconds recorded", d)
		}
	}
	if !types["video/webm"] || !types["audio/ogg"] {
		t.Errorf("recordings of types %v, want video/webm and audio/ogg", types)
	}
	outsider := p.Token(t, identity.Claims{Subject: "00000000-0000-4000-8000-0000000000bb", Name: "Đảng viên", Orgs: []string{m.OrganizationID}})
	if code := p.Do(t, http.MethodGet, "/api/v1/documents/"+recordings[0].ID, outsider, nil, nil); code != http.StatusNotFound {
		t.Errorf("a member who does not take part reads the recording: %d, want 404", code)
	}

	// Both files arrived: nothing is left to deliver again, and only who
	// runs the meeting may ask.
	var left struct {
		Files []struct {
			Title string `json:"title"`
		} `json:"files"`
	}
	if code := p.Do(t, http.MethodPost, base+"/video:deliverRecordings", chair, map[string]any{}, &left); code != http.StatusOK || len(left.Files) != 0 {
		t.Errorf("deliver again: %d, %d files left, want 200 and none", code, len(left.Files))
	}
	asked := false
	for _, pt := range m.Participants {
		if pt.Role != "PARTICIPANT_ROLE_MEMBER" || asked {
			continue
		}
		asked = true
		member := p.Token(t, identity.Claims{Subject: pt.PersonID, Name: pt.FullName, Orgs: []string{m.OrganizationID}})
		if code := p.Do(t, http.MethodPost, base+"/video:deliverRecordings", member, map[string]any{}, nil); code != http.StatusForbidden {
			t.Errorf("a member asks to deliver the recordings: %d, want 403", code)
		}
	}
	if !asked {
		t.Error("the demo meeting has no member to ask")
	}
}
