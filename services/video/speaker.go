package video

import (
	"context"
	"time"

	"github.com/pion/rtp"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
)

// Active speaker: publishers' audio packets carry their level (RFC 6464,
// 0 loudest … 127 silence, in -dBov). Every speakerWindow the room's
// speaker is the participant with the most packets at least as loud as
// speechLevel, if they are enough to be speech; the speaker changes only to
// someone clearly louder (hysteresis), and stays while nobody speaks.
const (
	speakerWindow = 400 * time.Millisecond
	speechLevel   = 50 // -50 dBov: quiet speech still counts
	// minSpeech: packets of speech in a window (20 ms packets: 20 in
	// 400 ms) for it to count as someone speaking.
	minSpeech = 5
	// speakerMargin: how many more loud packets a challenger needs.
	speakerMargin = 3
)

// noteLevel counts an audio packet as speech when its level says so.
func (t *published) noteLevel(raw []byte) {
	var h rtp.Header
	if _, err := h.Unmarshal(raw); err != nil {
		return
	}
	ext := h.GetExtension(t.levelID)
	if ext == nil {
		return
	}
	var al rtp.AudioLevelExtension
	if err := al.Unmarshal(ext); err != nil {
		return
	}
	if al.Level <= speechLevel {
		t.speech.Add(1)
	}
}

// watchSpeakers updates every room's active speaker until ctx ends.
func (s *Service) watchSpeakers(ctx context.Context) {
	tick := time.NewTicker(speakerWindow)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s.rooms.mu.Lock()
		rs := make([]*room, 0, len(s.rooms.byMeeting))
		for _, r := range s.rooms.byMeeting {
			rs = append(rs, r)
		}
		s.rooms.mu.Unlock()
		for _, r := range rs {
			speaker, tell := r.pickSpeaker()
			for _, o := range tell {
				o.do(func() {
					o.send(&videov1.SignalResponse{Message: &videov1.SignalResponse_ActiveSpeaker{
						ActiveSpeaker: &videov1.ActiveSpeaker{ParticipantId: speaker}}})
				})
			}
		}
	}
}

// pickSpeaker closes a window: it reads and resets the speech counts and
// returns the new speaker and who to tell, if the speaker changed.
func (r *room) pickSpeaker() (string, []*peer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	counts := map[string]int64{}
	for t := range r.tracks {
		if t.levelID != 0 {
			counts[t.owner.id] += t.speech.Swap(0)
		}
	}
	best, most := "", int64(0)
	for id, n := range counts {
		if n > most || (n == most && id < best) {
			best, most = id, n
		}
	}
	if most < minSpeech || best == r.speaker {
		return "", nil
	}
	if cur, ok := counts[r.speaker]; ok && cur >= minSpeech && most < cur+speakerMargin {
		return "", nil
	}
	r.speaker = best
	tell := make([]*peer, 0, len(r.peers))
	for _, o := range r.peers {
		tell = append(tell, o)
	}
	return best, tell
}
