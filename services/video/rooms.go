package video

import (
	"errors"
	"slices"
	"sync"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
)

var (
	errTooManyRooms = errors.New("too many rooms")
	errRoomFull     = errors.New("room full")
)

// rooms is the live state of this node: who is connected to which room and
// which tracks they publish. It is memory only; the database keeps who is
// in a room for the attendance events.
type rooms struct {
	maxRooms, maxParticipants int

	mu        sync.Mutex
	byMeeting map[string]*room
}

// room is one meeting's media. Lock order: rooms.mu before room.mu; no
// peer's actor is ever waited for while holding either.
type room struct {
	meetingID string
	org       string

	mu      sync.Mutex
	peers   map[string]*peer
	tracks  map[*published]struct{}
	speaker string // participant id of the active speaker
}

func newRooms(maxRooms, maxParticipants int) *rooms {
	return &rooms{maxRooms: maxRooms, maxParticipants: maxParticipants, byMeeting: map[string]*room{}}
}

// admit seats p in the meeting's room (creating the room) and returns the
// peers already there, or refuses when a limit is reached. displaced are
// the seats p's person already holds there (one person, one seat): the
// caller ends them; they do not count against the limit.
func (rs *rooms) admit(meetingID, org string, p *peer) (present []*videov1.Peer, displaced []*peer, err error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.byMeeting[meetingID]
	if r == nil {
		if len(rs.byMeeting) >= rs.maxRooms {
			return nil, nil, errTooManyRooms
		}
		r = &room{meetingID: meetingID, org: org, peers: map[string]*peer{}, tracks: map[*published]struct{}{}}
		rs.byMeeting[meetingID] = r
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.peers {
		if o.person == p.person {
			displaced = append(displaced, o)
		}
	}
	if len(r.peers)-len(displaced) >= rs.maxParticipants {
		return nil, nil, errRoomFull
	}
	// The displaced are still listed: the newcomer then hears them leave
	// like anyone else.
	present = make([]*videov1.Peer, 0, len(r.peers))
	for _, o := range r.peers {
		present = append(present, o.describe())
	}
	r.peers[p.id] = p
	p.room = r
	return present, displaced, nil
}

// remove takes p out of its room (dropping the room when it empties) and
// returns the peers left and the tracks p published.
func (rs *rooms) remove(p *peer) (others []*peer, owned []*published) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := p.room
	if r == nil {
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.peers[p.id] != p {
		return nil, nil
	}
	delete(r.peers, p.id)
	for t := range r.tracks {
		if t.owner == p {
			delete(r.tracks, t)
			owned = append(owned, t)
		}
	}
	for _, o := range r.peers {
		others = append(others, o)
	}
	if len(r.peers) == 0 && rs.byMeeting[r.meetingID] == r {
		delete(rs.byMeeting, r.meetingID)
	}
	return others, owned
}

// count is the number of people connected to the meeting's room.
func (rs *rooms) count(meetingID string) int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.byMeeting[meetingID]
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.peers)
}

// others lists the room's peers but p.
func (r *room) others(p *peer) []*peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*peer, 0, len(r.peers))
	for _, o := range r.peers {
		if o != p {
			out = append(out, o)
		}
	}
	return out
}

// addTrack records t and returns the peers that should receive it now:
// those whose first negotiation is done (the others get it then, from
// start).
func (r *room) addTrack(t *published) []*peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.peers[t.owner.id] != t.owner {
		return nil // the owner left while the track was arriving
	}
	r.tracks[t] = struct{}{}
	t.owner.published = append(t.owner.published, t)
	var subs []*peer
	for _, o := range r.peers {
		if o != t.owner && o.started {
			subs = append(subs, o)
		}
	}
	return subs
}

// removeTrack forgets t, which ended (its owner stopped sending it, or
// left), and returns the peers that may have received it.
func (r *room) removeTrack(t *published) []*peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Out of the owner's list too: a permission change puts the owner's
	// allowed tracks back into the room, and an ended one would come
	// back to everyone as a track that never plays.
	t.owner.published = slices.DeleteFunc(t.owner.published, func(o *published) bool { return o == t })
	if _, ok := r.tracks[t]; !ok {
		return nil
	}
	delete(r.tracks, t)
	var subs []*peer
	for _, o := range r.peers {
		if o != t.owner {
			subs = append(subs, o)
		}
	}
	return subs
}

// start marks p's first negotiation done and returns the tracks it should
// now receive.
func (r *room) start(p *peer) []*published {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.started {
		return nil
	}
	p.started = true
	var ts []*published
	for t := range r.tracks {
		if t.owner != p {
			ts = append(ts, t)
		}
	}
	return ts
}

// setMedia records p's microphone/camera state and returns who to tell.
func (r *room) setMedia(p *peer, ms *videov1.MediaState) []*peer {
	r.mu.Lock()
	p.media = ms
	r.mu.Unlock()
	return r.others(p)
}

// permissions is what p may publish now.
func (r *room) permissions(p *peer) *videov1.JoinPermissions {
	r.mu.Lock()
	defer r.mu.Unlock()
	return p.perms
}

// describe is p as others see it.
func (r *room) describe(p *peer) *videov1.Peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return p.describe()
}

// setHand records p's raised hand and returns who to tell.
func (r *room) setHand(p *peer, raised bool) []*peer {
	r.mu.Lock()
	p.hand = raised
	r.mu.Unlock()
	return r.others(p)
}

// permissionChange is what SetPermissions must do after the room changed.
type permissionChange struct {
	peer     *peer
	everyone []*peer      // to tell, p included
	added    []*published // forward again, to subs
	subs     []*peer      // started peers but p
	removed  []*published // stop forwarding, to everyone but p
}

// setPermissions changes what the participant may publish: tracks it no
// longer may send leave the room, tracks it may send again return.
func (r *room) setPermissions(participantID string, perms *videov1.JoinPermissions) (permissionChange, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.peers[participantID]
	if p == nil {
		return permissionChange{}, false
	}
	p.perms = perms
	ch := permissionChange{peer: p}
	for _, t := range p.published {
		_, in := r.tracks[t]
		switch allowed := mayPublish(perms, t.source); {
		case allowed && !in:
			r.tracks[t] = struct{}{}
			t.revoked.Store(false)
			ch.added = append(ch.added, t)
		case !allowed && in:
			delete(r.tracks, t)
			t.revoked.Store(true)
			ch.removed = append(ch.removed, t)
		}
	}
	for _, o := range r.peers {
		ch.everyone = append(ch.everyone, o)
		if o != p && o.started {
			ch.subs = append(ch.subs, o)
		}
	}
	return ch, true
}

// room is the meeting's room on this node, nil when nobody is in it.
func (rs *rooms) room(meetingID string) *room {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.byMeeting[meetingID]
}

// find is a participant of the meeting's room on this node, or nil.
func (rs *rooms) find(meetingID, participantID string) *peer {
	r := rs.room(meetingID)
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peers[participantID]
}
