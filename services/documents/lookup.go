package documents

import (
	"context"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
)

// versionLookups makes concurrent reads of the same version share the
// lookup of the document and version (openVersion): a request waits for a
// lookup that has not started yet — the next one — never joins one
// already running, so what it gets was read after it arrived, exactly as
// if it had made its own query. While one lookup of a version runs, the
// requests arriving for it wait for the next, which then answers them all
// at once: a meeting's tablets opening a paper together cost PostgreSQL a
// handful of queries instead of one each (ADR 0002, "Performance: the
// first page of a paper"). A lone request runs its lookup at once.
type versionLookups struct {
	s *Service
	// query is the lookup; nil: s.openVersion (tests put a gate in front).
	query func(ctx context.Context, id string, version int32) (*documentsv1.Document, *documentsv1.DocumentVersion, string, error)

	mu   sync.Mutex
	keys map[versionKey]*versionLookup
}

type versionKey struct {
	id      string
	version int32
}

// versionLookup is the state of one version's lookups: whether one runs,
// and the one that waits to run next.
type versionLookup struct {
	running bool
	next    *lookupResult
}

type lookupResult struct {
	done chan struct{} // closed when the fields below are set
	d    *documentsv1.Document
	v    *documentsv1.DocumentVersion
	key  string
	err  error
}

// lookupTimeout bounds one shared lookup, detached from the requests that
// wait for it (one that leaves does not fail the others).
const lookupTimeout = 30 * time.Second

// open is openVersion, shared with the concurrent requests for the same
// version. The document and version are the caller's own copies.
func (l *versionLookups) open(ctx context.Context, id string, version int32) (*documentsv1.Document, *documentsv1.DocumentVersion, string, error) {
	k := versionKey{id, version}
	l.mu.Lock()
	if l.keys == nil {
		l.keys = map[versionKey]*versionLookup{}
	}
	st := l.keys[k]
	if st == nil {
		st = &versionLookup{}
		l.keys[k] = st
	}
	if st.next == nil {
		st.next = &lookupResult{done: make(chan struct{})}
	}
	r := st.next
	if !st.running {
		st.running = true
		go l.run(k, st)
	}
	l.mu.Unlock()

	select {
	case <-r.done:
	case <-ctx.Done():
		return nil, nil, "", ctx.Err()
	}
	if r.err != nil {
		return nil, nil, "", r.err
	}
	var d *documentsv1.Document
	var v *documentsv1.DocumentVersion
	if r.d != nil {
		d = proto.Clone(r.d).(*documentsv1.Document)
	}
	if r.v != nil {
		v = proto.Clone(r.v).(*documentsv1.DocumentVersion)
	}
	return d, v, r.key, nil
}

// run performs k's lookups until no request waits for one.
func (l *versionLookups) run(k versionKey, st *versionLookup) {
	for {
		l.mu.Lock()
		r := st.next
		if r == nil {
			st.running = false
			delete(l.keys, k)
			l.mu.Unlock()
			return
		}
		st.next = nil
		l.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
		query := l.query
		if query == nil {
			query = l.s.openVersion
		}
		r.d, r.v, r.key, r.err = query(ctx, k.id, k.version)
		cancel()
		close(r.done)
	}
}
