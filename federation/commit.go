package federation

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coopfed/coopfed/store"
)

const (
	// maxCommitBatch bounds the activities one commit holds, so the last
	// of a batch does not wait for too many before it.
	maxCommitBatch = 64
	// maxCommitWait bounds how long a commit waits for requests that are
	// still being verified to join it (PostgreSQL's commit_delay, made
	// adaptive): it adds at most this to a request's latency, and only
	// while other requests are on their way.
	maxCommitWait = time.Millisecond
)

// groupCommit joins the writes of concurrent inbox requests into one
// store.Update: while one commit runs, the requests that arrive queue up,
// and the first of them then commits them all at once. Each write runs in
// its own savepoint, so one that fails is rolled back alone; each request
// is answered only after the commit that holds its write, so a 202 still
// means the activity is durable. With one request at a time it is a plain
// Update.
//
// A commit's fixed cost (about 80 us on SQLite, an fsync on PostgreSQL) is
// several times that of one activity's rows, and under load the requests
// reach the commit spread out: they spend most of their time verifying
// and parsing, not in the queue, so without waiting a batch held about two.
// The leader therefore waits, up to maxCommitWait, while requests that
// have begun (arrive) have neither joined the queue nor left.
type groupCommit struct {
	store *store.Store
	// observe, if set, is told the size of each committed batch.
	observe func(activities int)

	mu      sync.Mutex
	pending []*commitReq
	running bool // a leader is committing; pending waits for it

	coming atomic.Int64  // requests begun and neither queued nor gone
	nudge  chan struct{} // signalled (cap 1) when coming falls or pending grows
}

func newGroupCommit(st *store.Store, observe func(int)) *groupCommit {
	return &groupCommit{store: st, observe: observe, nudge: make(chan struct{}, 1)}
}

// arrival is one request on its way to the commit.
type arrival struct {
	g    *groupCommit
	done bool
}

// arrive records a request that may write: commits started meanwhile wait
// a little for it. The caller must call leave when it is done, whether
// or not it wrote.
func (g *groupCommit) arrive() *arrival {
	g.coming.Add(1)
	return &arrival{g: g}
}

// leave ends the arrival; it is a no-op once the request has joined the
// queue.
func (a *arrival) leave() {
	if a == nil || a.done {
		return
	}
	a.done = true
	a.g.coming.Add(-1)
	a.g.poke()
}

func (g *groupCommit) poke() {
	select {
	case g.nudge <- struct{}{}:
	default:
	}
}

type commitReq struct {
	fn   func(tx *store.Tx) error
	err  error
	done chan struct{}
	lead chan struct{} // closed when this request is to commit the queue
}

// do runs fn in a write transaction shared with other requests and
// returns fn's error, or the commit's. a, if not nil, is the request's
// arrival, which joining the queue ends.
func (g *groupCommit) do(ctx context.Context, a *arrival, fn func(tx *store.Tx) error) error {
	r := &commitReq{fn: fn, done: make(chan struct{}), lead: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, r)
	if !g.running {
		g.running = true
		close(r.lead)
	}
	g.mu.Unlock()
	if a != nil && !a.done {
		a.done = true
		g.coming.Add(-1)
	}
	g.poke()
	select {
	case <-r.done:
		return r.err
	case <-r.lead:
	}
	// This request leads: it is first in the queue, so its own write is
	// in the batch it commits.
	g.gather()
	g.mu.Lock()
	n := min(len(g.pending), maxCommitBatch)
	batch := make([]*commitReq, n)
	copy(batch, g.pending)
	g.pending = append(g.pending[:0], g.pending[n:]...)
	g.mu.Unlock()

	g.commit(context.WithoutCancel(ctx), batch)

	g.mu.Lock()
	if len(g.pending) > 0 {
		close(g.pending[0].lead)
	} else {
		g.running = false
	}
	g.mu.Unlock()
	<-r.done
	return r.err
}

// gather waits, up to maxCommitWait, while requests are on their way and
// the queue is not full.
func (g *groupCommit) gather() {
	if g.coming.Load() <= 0 {
		return
	}
	timer := time.NewTimer(maxCommitWait)
	defer timer.Stop()
	for g.coming.Load() > 0 {
		g.mu.Lock()
		full := len(g.pending) >= maxCommitBatch
		g.mu.Unlock()
		if full {
			return
		}
		select {
		case <-g.nudge:
		case <-timer.C:
			return
		}
	}
}

// commit applies a batch in one transaction and answers each request.
func (g *groupCommit) commit(ctx context.Context, batch []*commitReq) {
	if g.observe != nil {
		g.observe(len(batch))
	}
	if len(batch) == 1 {
		// Alone, the write needs no savepoint: its failure is the
		// transaction's.
		r := batch[0]
		r.err = g.store.Update(ctx, func(tx *store.Tx) error { return runGuarded(r.fn, tx) })
		close(r.done)
		return
	}
	err := g.store.Update(ctx, func(tx *store.Tx) error {
		for _, r := range batch {
			r.err = tx.Savepoint(func() error { return runGuarded(r.fn, tx) })
			var spErr *store.SavepointError
			if errors.As(r.err, &spErr) {
				return spErr
			}
		}
		return nil
	})
	for _, r := range batch {
		if err != nil {
			// Nothing of the batch was committed.
			r.err = err
		}
		close(r.done)
	}
}

// runGuarded turns a panic of one request's write into its error, so the
// other requests of its batch are still answered.
func runGuarded(fn func(tx *store.Tx) error, tx *store.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("federation: panic applying an activity: %v", p)
		}
	}()
	return fn(tx)
}
