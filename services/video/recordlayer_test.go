package video

import (
	"testing"
	"time"
)

// A simulcast publisher whose layers are not yet measured when its
// recording begins (it joined a meeting already being recorded) is
// recorded from its best layer once they are — not pinned to whichever
// was measured first, the smallest as browsers start low. Until then
// nothing is recorded (-1).
func TestRecordedLayerWaitsForTheLayersToBeMeasured(t *testing.T) {
	tp := &published{}
	low, top := &layer{}, &layer{}
	tp.addLayer(low)
	tp.addLayer(top)
	w := &trackWriter{began: time.Now()}

	now := time.Now()
	low.note(1200, now)
	top.note(1200, now)
	if got := tp.recordedLayer(w); got != -1 {
		t.Fatalf("recorded layer %d before any layer was measured, want none yet (-1)", got)
	}
	// Half a second of media: the low layer a tenth of the top one.
	for range 50 {
		low.note(200, time.Now())
		top.note(2000, time.Now())
		time.Sleep(rateWindow / 40)
	}
	waitForChoice(t, func() bool { return tp.recordedLayer(w) != -1 })
	if got := tp.recordedLayer(w); got != top.idx {
		t.Errorf("recorded layer %d, want the top layer %d", got, top.idx)
	}
	// Chosen once: it stays for the recording's whole length.
	for range 20 {
		low.note(20000, time.Now())
	}
	if got := tp.recordedLayer(w); got != top.idx {
		t.Errorf("recorded layer moved to %d", got)
	}
}

// waitForChoice polls cond for up to recordSettle plus a margin
// (the choice is made at the latest recordSettle after the writer began).
func waitForChoice(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(recordSettle + 2*time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("no layer chosen for the recording")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
