package voting

import (
	"sync"
	"sync/atomic"

	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"google.golang.org/protobuf/proto"
)

// maxDefs bounds the cache of open polls' definitions; past it the cache
// starts over (a few reads refill it).
const maxDefs = 10000

// pollDef is an open poll's definition as casting needs it: what does not
// change once a poll is open (kind, choices, rules, secrecy, deadline),
// so the fast path of CastBallot need not read the poll before writing.
// Whether it is still open is checked by the write itself.
type pollDef struct {
	row *pollRow
	// cast is the ballots cast as last known here: exact after each
	// VoteProgress count, then one more per ballot this process writes.
	// Only for the answer to the voter; events carry the exact count.
	cast atomic.Int32
}

// answer is the poll as the voter who just voted sees it.
func (d *pollDef) answer(cast int32) *votingv1.Poll {
	p := proto.Clone(d.row.p).(*votingv1.Poll)
	p.BallotsCast = cast
	p.MyStatus = &votingv1.VoterStatus{Entitled: true, Voted: true}
	return p
}

type defCache struct {
	mu   sync.Mutex
	defs map[string]*pollDef
}

func (c *defCache) get(id string) *pollDef {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.defs[id]
}

// put remembers an open poll read by the slow path (keeping an entry
// already there) and returns its entry.
func (c *defCache) put(r *pollRow) *pollDef {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := r.p.GetId()
	if d, ok := c.defs[id]; ok {
		return d
	}
	if c.defs == nil || len(c.defs) >= maxDefs {
		c.defs = map[string]*pollDef{}
	}
	row := *r
	row.p = proto.Clone(r.p).(*votingv1.Poll)
	row.p.MyStatus = nil
	row.onRoll, row.role, row.myVoted = false, "", false
	d := &pollDef{row: &row}
	d.cast.Store(r.p.GetBallotsCast())
	c.defs[id] = d
	return d
}

// counted records an exact count (from a VoteProgress).
func (c *defCache) counted(id string, cast int32) {
	if d := c.get(id); d != nil {
		d.cast.Store(cast)
	}
}

func (c *defCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.defs, id)
}
