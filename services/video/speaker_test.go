package video

import "testing"

// The speaker changes only to someone clearly louder, needs enough speech
// to change at all, and stays while nobody speaks.
func TestPickSpeakerHysteresis(t *testing.T) {
	a, b := &peer{id: "a"}, &peer{id: "b"}
	ta, tb := &published{owner: a, levelID: 1}, &published{owner: b, levelID: 1}
	r := &room{peers: map[string]*peer{"a": a, "b": b}, tracks: map[*published]struct{}{ta: {}, tb: {}}}
	window := func(na, nb int64) string {
		ta.speech.Store(na)
		tb.speech.Store(nb)
		got, _ := r.pickSpeaker()
		return got
	}
	steps := []struct {
		na, nb     int64
		changed    string // "" when no change is announced
		wantNowSpk string
	}{
		{minSpeech - 1, 0, "", ""},         // too little to be speech
		{15, 3, "a", "a"},                  // a speaks
		{15, 16, "", "a"},                  // b barely louder: a stays
		{10, 10 + speakerMargin, "b", "b"}, // b clearly louder
		{0, 0, "", "b"},                    // silence: b stays
		{minSpeech, 0, "a", "a"},           // b silent, a speaks a little
	}
	for i, s := range steps {
		if got := window(s.na, s.nb); got != s.changed || r.speaker != s.wantNowSpk {
			t.Errorf("window %d (%d, %d): announced %q, speaker %q; want %q, %q", i, s.na, s.nb, got, r.speaker, s.changed, s.wantNowSpk)
		}
	}
}
