package video

import (
	"fmt"
	"log/slog"
	"testing"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
)

// A burst of view sizes costs a map entry per (participant, source), the
// last one counting; past the bound the client is told, and nothing more
// is held.
func TestViewSizesPendingAreBounded(t *testing.T) {
	p := &peer{log: slog.New(slog.DiscardHandler), out: make(chan *videov1.SignalResponse, 1024)}
	for h := range int32(1000) {
		p.handleViewSize(&videov1.ViewSize{ParticipantId: "a", Source: sourceCamera, Height: h})
	}
	if len(p.views.pending) != 1 || p.views.pending[viewKey{"a", sourceCamera}] != 999 {
		t.Fatalf("pending %v, want the last of a's camera only", p.views.pending)
	}
	for i := range maxPendingViewSizes + 10 {
		p.handleViewSize(&videov1.ViewSize{ParticipantId: fmt.Sprint("p", i), Source: sourceScreen, Height: 10})
	}
	if len(p.views.pending) != maxPendingViewSizes {
		t.Errorf("%d pending, want the bound %d", len(p.views.pending), maxPendingViewSizes)
	}
	if len(p.out) != 11 {
		t.Fatalf("%d errors sent, want 11 (one per view size past the bound)", len(p.out))
	}
	if f := (<-p.out).GetError().GetField(); f != "view_size" {
		t.Errorf("error names %q, want view_size", f)
	}
	// One already pending is still updated.
	p.handleViewSize(&videov1.ViewSize{ParticipantId: "a", Source: sourceCamera, Height: 5})
	if p.views.pending[viewKey{"a", sourceCamera}] != 5 {
		t.Errorf("a's camera: %d, want 5", p.views.pending[viewKey{"a", sourceCamera}])
	}
	// Nothing received: every pending one is answered (by participant)
	// and the map emptied.
	for len(p.out) > 0 {
		<-p.out
	}
	p.applyViewSizes()
	if len(p.views.pending) != 0 {
		t.Errorf("%d still pending after the layer choice", len(p.views.pending))
	}
	if len(p.out) != maxPendingViewSizes {
		t.Errorf("%d errors, want one per pending view size", len(p.out))
	}
	if f := (<-p.out).GetError().GetField(); f != "view_size.participant_id" {
		t.Errorf("error names %q, want view_size.participant_id", f)
	}
}
