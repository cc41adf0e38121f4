package video

import (
	"testing"
	"time"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/video/videotest"
)

func viewSize(participant, source string, height int32) *videov1.SignalRequest {
	return &videov1.SignalRequest{Message: &videov1.SignalRequest_ViewSize{ViewSize: &videov1.ViewSize{
		ParticipantId: participant, Source: source, Height: height}}}
}

// viewCaps is what the service holds as sub's view sizes, by publisher
// and source (read on sub's actor).
func viewCaps(t *testing.T, w *world, meeting, participant string) map[string]int {
	t.Helper()
	p := w.svc.rooms.find(meeting, participant)
	if p == nil {
		t.Fatalf("no seat %s", participant)
	}
	got := make(chan map[string]int, 1)
	p.do(func() {
		m := map[string]int{}
		for tr, h := range p.views.caps {
			m[tr.owner.id+"/"+tr.source] = h
		}
		got <- m
	})
	select {
	case m := <-got:
		return m
	case <-time.After(videotest.Wait):
		t.Fatal("the subscriber's actor did not answer")
		return nil
	}
}

// A subscriber on a free link gets a simulcast camera's top layer; once it
// says it shows that camera as a thumbnail it gets the lowest layer, and
// the top again once it lifts the size (0). Malformed view sizes are
// answered with a SignalError naming the field, and the session goes on.
// The size stays with the subscriber's seat across a resume, and goes
// with the track when the publisher leaves.
func TestViewSizeBoundsTheSubscribersLayer(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	pub := w.join(t, people[0], meeting)
	// Pictures 160x120, 320x240, 640x480 (videotest.Simulcast).
	src := pub.PublishSimulcast(100_000, 300_000, 800_000)
	pub.Offer()
	sub, breakStream := w.joinBreakable(t, people[1], meeting)
	log := &layerLog{}
	sub.Sink.OnPacket = log.onPacket
	sub.Watch()
	sub.Offer()
	pid := pub.Joined.GetParticipantId()

	waitLayer := func(what string, want int) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for log.current(60) != want {
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting for %s: receiving layer %d (-1: mixed or none) after %d packets; keyframe requests per layer %s",
					what, log.current(60), log.len(), plis(src))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitLayer("the top layer on a free link", 2)

	for _, tc := range []struct {
		m     *videov1.SignalRequest
		field string
	}{
		{viewSize(pid, sourceCamera, -1), "view_size.height"},
		{viewSize("", sourceCamera, 100), "view_size.participant_id"},
		{viewSize(pid, "microphone", 100), "view_size.source"},
		{viewSize(newID(), sourceCamera, 100), "view_size.participant_id"}, // nobody sending
		{viewSize(pid, sourceScreen, 100), "view_size.source"},             // it shares no screen
	} {
		if err := sub.Send(tc.m); err != nil {
			t.Fatal(err)
		}
		if e := sub.NextError(); e.GetField() != tc.field {
			t.Errorf("%v: error %v, want one naming %s", tc.m.GetViewSize(), e, tc.field)
		}
	}

	// A thumbnail 100 pixels tall: the 120-line layer is the smallest at
	// least that tall.
	if err := sub.Send(viewSize(pid, sourceCamera, 100)); err != nil {
		t.Fatal(err)
	}
	waitLayer("the lowest layer for a thumbnail", 0)
	if got := viewCaps(t, w, meeting, sub.Joined.GetParticipantId()); got[pid+"/camera"] != 100 {
		t.Fatalf("view sizes held %v, want %s/camera: 100", got, pid)
	}

	// The seat is resumed over a new stream: the size is still the
	// subscriber's.
	breakStream()
	<-sub.Done
	if err := sub.Resume(w.signal(t, people[1]), meeting, w.token(t, people[1], meeting)); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if got := viewCaps(t, w, meeting, sub.Joined.GetParticipantId()); got[pid+"/camera"] != 100 {
		t.Fatalf("after the resume the view sizes are %v, want %s/camera: 100", got, pid)
	}

	// Lifted: the top again, without waiting out an up-hold per layer.
	n := log.len()
	if err := sub.Send(viewSize(pid, sourceCamera, 0)); err != nil {
		t.Fatal(err)
	}
	waitLayer("the top layer once the size is lifted", 2)
	for _, s := range log.switches() {
		if s.arrived >= n && s.to != 2 {
			t.Errorf("switch %+v after the size was lifted; want one, straight to the top", s)
		}
	}

	// The publisher's camera goes with its seat, and the size with it.
	if err := sub.Send(viewSize(pid, sourceCamera, 200)); err != nil {
		t.Fatal(err)
	}
	sub.WaitFor("the new size to be held", func() bool {
		return viewCaps(t, w, meeting, sub.Joined.GetParticipantId())[pid+"/camera"] == 200
	})
	if err := pub.Send(&videov1.SignalRequest{Message: &videov1.SignalRequest_Leave{Leave: &videov1.Leave{}}}); err != nil {
		t.Fatal(err)
	}
	sub.WaitFor("the size to go with the publisher's track", func() bool {
		return len(viewCaps(t, w, meeting, sub.Joined.GetParticipantId())) == 0
	})
}
