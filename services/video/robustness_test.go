package video

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// recvBounded is stream.Recv with a deadlock guard: a service that never
// ends the stream fails the test instead of hanging it.
func recvBounded(t *testing.T, s videov1.VideoService_SignalClient) error {
	t.Helper()
	got := make(chan error, 1)
	go func() {
		_, err := s.Recv()
		got <- err
	}()
	select {
	case err := <-got:
		return err
	case <-time.After(waitLimit):
		t.Fatal("the service did not end the session")
		return nil
	}
}

// A session that never sends its first message (join) is closed, with a
// reason, after the join time-out; it does not hold the stream for ever.
func TestSilentSessionIsClosed(t *testing.T) {
	w := newWorldWith(t, Config{JoinTimeout: time.Second})
	_, people := w.meeting(t, meetingM, chair)
	s := w.signal(t, people[0])
	if got := reason(t, recvBounded(t, s), codes.DeadlineExceeded); got != ReasonJoinTimeout {
		t.Errorf("silent session ended with %s, want %s", got, ReasonJoinTimeout)
	}
	// A session that joins in time is not affected by the timer.
	meeting, people := w.meeting(t, meetingM, chair)
	c := w.join(t, people[0], meeting)
	if c.Joined.GetParticipantId() == "" {
		t.Fatal("joined without a participant id")
	}
	time.Sleep(1500 * time.Millisecond) // past the time-out: the seat must stay
	if err := w.wantSeated(meeting, 1); err != nil {
		t.Error(err)
	}
}

// A track its publisher stops sending leaves the room for good: it is
// gone from the room and the publisher's list, so a later permission
// change (which puts the publisher's allowed tracks back into the room)
// does not bring it back to everyone as a track that never plays.
func TestEndedTrackStaysGone(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair, memberR, memberR)
	pub := w.join(t, people[1], meeting)
	pub.Publish()
	pub.Offer()
	sub := w.join(t, people[2], meeting)
	sub.Watch()
	sub.Offer()
	pid := pub.Joined.GetParticipantId()
	sub.WaitFor("the publisher's video", func() bool {
		v := sub.Track(webrtc.RTPCodecTypeVideo, pid)
		return v != nil && v.Packets.Load() > 0
	})

	// The publisher takes its camera off the connection.
	for _, s := range pub.PC.GetSenders() {
		if tr := s.Track(); tr != nil && tr.Kind() == webrtc.RTPCodecTypeVideo {
			if err := pub.PC.RemoveTrack(s); err != nil {
				t.Fatal(err)
			}
		}
	}
	pub.Offer()
	r := w.svc.rooms.room(meeting)
	roomVideo := func() (inRoom, listed int) {
		r.mu.Lock()
		defer r.mu.Unlock()
		for tr := range r.tracks {
			if tr.owner.id == pid && tr.video() {
				inRoom++
			}
		}
		for _, tr := range r.peers[pid].published {
			if tr.video() {
				listed++
			}
		}
		return inRoom, listed
	}
	testenv.Eventually(t, waitLimit, func() error {
		if in, listed := roomVideo(); in != 0 || listed != 0 {
			return fmt.Errorf("the ended camera track: %d in the room, %d in the publisher's list", in, listed)
		}
		return nil
	})

	// Any permission change re-admits the publisher's allowed tracks.
	if _, err := w.client.SetPermissions(testenv.As(people[0]), &videov1.SetPermissionsRequest{MeetingId: meeting, ParticipantId: pid,
		Permissions: &videov1.JoinPermissions{PublishAudio: true, PublishVideo: true, PublishScreen: true}}); err != nil {
		t.Fatalf("set permissions: %v", err)
	}
	if in, listed := roomVideo(); in != 0 || listed != 0 {
		t.Errorf("after a permission change the ended camera track is back: %d in the room, %d in the publisher's list", in, listed)
	}
	// A newcomer is offered the microphone only.
	late := w.join(t, people[0], meeting)
	late.Watch()
	late.Offer()
	late.WaitFor("the publisher's audio", func() bool {
		a := late.Track(webrtc.RTPCodecTypeAudio, pid)
		return a != nil && a.Packets.Load() > 0
	})
	lp := w.svc.rooms.find(meeting, late.Joined.GetParticipantId())
	subs := make(chan []*published, 1)
	lp.do(func() {
		var ts []*published
		for tr := range lp.subs {
			ts = append(ts, tr)
		}
		subs <- ts
	})
	for _, tr := range <-subs {
		if tr.video() {
			t.Errorf("the newcomer was given the ended track %s", tr.local.ID())
		}
	}
}

// One person, one seat: joining again (not resuming) from another session
// ends the seat the person held, with a reason, before the new one is
// recorded; the others see the old seat leave; the room counts the
// person once; and the limit does not count the seat being replaced.
func TestSecondJoinReplacesTheSeat(t *testing.T) {
	w := newWorldWith(t, Config{MaxParticipants: 2})
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	other := w.join(t, people[1], meeting)
	first := w.join(t, people[0], meeting)
	firstID := first.Joined.GetParticipantId()

	// The room is full, but the second join replaces a seat.
	second := w.join(t, people[0], meeting)
	if second.Joined.GetParticipantId() == firstID {
		t.Fatal("the second join got the first one's seat id")
	}
	if got := reason(t, first.WaitEnd(), codes.FailedPrecondition); got != ReasonJoinedElsewhere {
		t.Errorf("first session ended with %s, want %s", got, ReasonJoinedElsewhere)
	}
	left := other.NextEvent(func(m *videov1.SignalResponse) bool {
		return m.GetPeerLeft() != nil && m.GetPeerLeft().GetParticipantId() == firstID
	}).GetPeerLeft()
	if left.GetReason() != "joined_elsewhere" {
		t.Errorf("others were told the first seat left with %q, want joined_elsewhere", left.GetReason())
	}
	if err := w.wantSeated(meeting, 2); err != nil {
		t.Error(err)
	}
	if w.svc.rooms.find(meeting, firstID) != nil {
		t.Error("the first seat is still in the room")
	}

	// Attendance: the old seat's departure comes before the new arrival,
	// so the person ends up present.
	c := testenv.Consumer(t, w.js, w.stream)
	testenv.Next(t, c) // room_opened
	var got []string
	for range 4 {
		msg := testenv.Next(t, c)
		var ev videov1.ParticipantJoined // ParticipantLeft has the same fields
		if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		got = append(got, lastToken(msg.Subject())+" "+ev.GetPersonId())
	}
	want := []string{"participant_joined " + people[1].Subject, "participant_joined " + people[0].Subject,
		"participant_left " + people[0].Subject, "participant_joined " + people[0].Subject}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", got, want)
	}

	// The new seat works: it can publish to the other.
	second.Publish()
	second.Offer()
	other.Watch()
	other.Offer()
	other.WaitFor("video from the new seat", func() bool {
		v := other.Track(webrtc.RTPCodecTypeVideo, second.Joined.GetParticipantId())
		return v != nil && v.Packets.Load() > 0
	})
}

// A client that stops reading its signaling is disconnected with
// SLOW_CLIENT once its queue is full, rather than holding memory.
func TestSlowClientIsDropped(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	talker := w.join(t, people[0], meeting)

	// The slow one joins by hand and then never reads again.
	ctx, cancel := context.WithCancel(testenv.As(people[1]))
	defer cancel()
	s, err := w.client.Signal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(&videov1.SignalRequest{Message: &videov1.SignalRequest_Join{Join: &videov1.Join{
		MeetingId: meeting, Token: w.token(t, people[1], meeting)}}}); err != nil {
		t.Fatal(err)
	}
	var slow *peer
	testenv.Eventually(t, waitLimit, func() error {
		r := w.svc.rooms.room(meeting)
		if r == nil {
			return fmt.Errorf("no room")
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, p := range r.peers {
			if p.person == people[1].Subject {
				slow = p
				return nil
			}
		}
		return fmt.Errorf("the slow client is not seated")
	})
	// Every media-state change of the talker is a notice to the slow
	// client; far more than its queue and the transport's buffers hold.
	for i := 0; slow.ctx.Err() == nil; i++ {
		if i > 2_000_000 {
			t.Fatal("the slow client was never dropped")
		}
		if err := talker.Send(&videov1.SignalRequest{Message: &videov1.SignalRequest_MediaState{
			MediaState: &videov1.MediaState{AudioMuted: i%2 == 0}}}); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, waitLimit, func() error { return w.wantSeated(meeting, 1) })
	if got := leaveReason(context.Cause(slow.ctx)); got != "slow_client" {
		t.Errorf("the slow client left as %q, want slow_client", got)
	}
}

// A client sending faster than its messages are handled is held back:
// while its actor is busy, at most maxInbound of its messages wait in
// memory; the rest stay unread in the transport, whose flow control holds
// the client back. Once the actor is free they are all handled.
func TestClientFloodIsHeldBack(t *testing.T) {
	w := newWorld(t)
	meeting, people := w.meeting(t, meetingM, chair, memberR)
	flood := w.join(t, people[0], meeting)
	watcher := w.join(t, people[1], meeting)
	p := w.svc.rooms.find(meeting, flood.Joined.GetParticipantId())

	busy := make(chan struct{})
	p.do(func() { <-busy })
	// Three times the limit, and fewer than the watcher's client keeps
	// (it drops events past 256).
	const sent = 3 * maxInbound
	go func() {
		for i := range sent {
			// The last one unmutes: the watcher waits for it below.
			ms := &videov1.MediaState{AudioMuted: i < sent-1}
			if err := flood.Send(&videov1.SignalRequest{Message: &videov1.SignalRequest_MediaState{MediaState: ms}}); err != nil {
				return
			}
		}
	}()
	queued := func() int {
		p.qmu.Lock()
		defer p.qmu.Unlock()
		return len(p.queue)
	}
	testenv.Eventually(t, waitLimit, func() error {
		if n := len(p.inbound); n < maxInbound {
			return fmt.Errorf("%d client messages waiting, want the limit %d", n, maxInbound)
		}
		return nil
	})
	// Give an unbounded reader the time to queue what it would.
	time.Sleep(300 * time.Millisecond)
	if n := queued(); n > maxInbound {
		t.Errorf("%d messages queued for a busy actor, want at most %d", n, maxInbound)
	}
	close(busy)
	watcher.NextEvent(func(m *videov1.SignalResponse) bool {
		ms := m.GetPeerMediaState()
		return ms != nil && !ms.GetMediaState().GetAudioMuted()
	})
}
