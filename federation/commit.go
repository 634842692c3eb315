package federation

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/coopfed/coopfed/store"
)

// maxCommitBatch bounds the activities one commit holds, so the last of a
// batch does not wait for too many before it.
const maxCommitBatch = 64

// groupCommit joins the writes of concurrent inbox requests into one
// store.Update: while one commit runs, the requests that arrive queue up,
// and the first of them then commits them all at once. Each write runs in
// its own savepoint, so one that fails is rolled back alone; each request
// is answered only after the commit that holds its write, so a 202 still
// means the activity is durable. With one request at a time it is a plain
// Update.
type groupCommit struct {
	store *store.Store

	mu      sync.Mutex
	pending []*commitReq
	running bool // a leader is committing; pending waits for it
}

type commitReq struct {
	fn   func(tx *store.Tx) error
	err  error
	done chan struct{}
	lead chan struct{} // closed when this request is to commit the queue
}

// do runs fn in a write transaction shared with other requests and
// returns fn's error, or the commit's.
func (g *groupCommit) do(ctx context.Context, fn func(tx *store.Tx) error) error {
	r := &commitReq{fn: fn, done: make(chan struct{}), lead: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, r)
	if !g.running {
		g.running = true
		close(r.lead)
	}
	g.mu.Unlock()
	select {
	case <-r.done:
		return r.err
	case <-r.lead:
	}
	// This request leads: it is first in the queue, so its own write is
	// in the batch it commits.
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

// commit applies a batch in one transaction and answers each request.
func (g *groupCommit) commit(ctx context.Context, batch []*commitReq) {
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
