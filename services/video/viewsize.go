package video

import (
	"fmt"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
)

// View sizes: a subscriber tells the size it shows a publisher's source at
// (ViewSize), and its layer choice for that track is bounded by it (see
// layerChooser). A client sends one per tile whenever its layout changes,
// possibly many in a burst (a window being resized), so handling one
// costs a map write on the actor: the latest per (participant, source)
// waits in pending, and the next layer choice (every layerTick, which is
// when it would take effect anyway) resolves it to the track and reports
// what it cannot resolve.

// maxPendingViewSizes bounds the distinct (participant, source) pairs
// waiting for the next layer choice. Two sources per participant of the
// largest room fit several times over; more in half a second is a client
// sending nonsense.
const maxPendingViewSizes = 256

// maxViewParticipantID bounds a ViewSize's participant id (ours are
// 36-character UUIDs), so pending keys stay small.
const maxViewParticipantID = 64

type viewKey struct{ participant, source string }

// viewSizes is a subscriber's view sizes; actor-only.
type viewSizes struct {
	pending map[viewKey]int32
	// caps is the height asked for each track received; an entry goes
	// when the track is no longer received (it ended, or its publisher
	// may no longer send it).
	caps map[*published]int
}

// handleViewSize notes a client's ViewSize for the next layer choice.
func (p *peer) handleViewSize(v *videov1.ViewSize) {
	pid, src, h := v.GetParticipantId(), v.GetSource(), v.GetHeight()
	switch {
	case pid == "":
		p.sendError(&signalError{ReasonUnexpected, "view_size.participant_id", "must not be empty: the publisher's participant id"})
		return
	case len(pid) > maxViewParticipantID:
		p.sendError(&signalError{ReasonUnexpected, "view_size.participant_id", fmt.Sprintf("longer than %d bytes: not a participant id", maxViewParticipantID)})
		return
	case src != sourceCamera && src != sourceScreen:
		p.sendError(&signalError{ReasonUnexpected, "view_size.source", fmt.Sprintf("must be %q or %q", sourceCamera, sourceScreen)})
		return
	case h < 0:
		p.sendError(&signalError{ReasonUnexpected, "view_size.height", "must not be negative (0: as large as the bandwidth allows)"})
		return
	}
	if p.views.pending == nil {
		p.views.pending = map[viewKey]int32{}
	}
	k := viewKey{pid, src}
	if _, ok := p.views.pending[k]; !ok && len(p.views.pending) >= maxPendingViewSizes {
		p.sendError(&signalError{ReasonUnexpected, "view_size",
			fmt.Sprintf("more than %d different view sizes within %s", maxPendingViewSizes, layerTick)})
		return
	}
	p.views.pending[k] = h
}

// applyViewSizes resolves the pending view sizes to the tracks p receives
// and forgets those of tracks it no longer receives. On the actor.
func (p *peer) applyViewSizes() {
	for t := range p.views.caps {
		if _, ok := p.subs[t]; !ok {
			delete(p.views.caps, t)
		}
	}
	if len(p.views.pending) == 0 {
		return
	}
	for k, h := range p.views.pending {
		found, publisher := false, false
		for t := range p.subs {
			if t.owner.id != k.participant {
				continue
			}
			publisher = true
			if t.source != k.source || t.revoked.Load() {
				continue
			}
			found = true
			if p.views.caps == nil {
				p.views.caps = map[*published]int{}
			}
			if h == 0 {
				delete(p.views.caps, t)
			} else {
				p.views.caps[t] = int(h)
			}
		}
		switch {
		case !publisher:
			p.sendError(&signalError{ReasonUnexpected, "view_size.participant_id",
				fmt.Sprintf("you receive nothing from participant %s", k.participant)})
		case !found:
			p.sendError(&signalError{ReasonUnexpected, "view_size.source",
				fmt.Sprintf("you receive no %s from participant %s", k.source, k.participant)})
		}
	}
	clear(p.views.pending)
}
