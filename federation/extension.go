package federation

import (
	"context"
	"time"

	"github.com/coopfed/coopfed/store"
)

// objectKind is a family of objects that mean more than a timeline post:
// market listings (FEP-0837), votes on our motions. Every object a verified
// actor creates, updates or deletes is offered to each kind; a kind claims
// the objects it understands. Kinds register themselves with
// registerObjectKind from an init function of the file that defines them.
type objectKind interface {
	// check runs before the transaction for a Create or Update (op): it
	// parses and validates the object and reports whether the kind takes
	// it. An error refuses the whole activity and nothing is stored.
	check(ctx context.Context, in *incoming, op string) (bool, error)
	// apply runs inside the activity's transaction for a claimed object.
	apply(ctx context.Context, in *incoming, op string) error
	// deleted runs inside the transaction of every Delete: of an object
	// (in.objectID) or of the actor itself (in.objectID == in.signer.IRI).
	deleted(ctx context.Context, in *incoming) error
}

// followEnder is implemented by kinds that keep what a followed actor
// sent and must forget it when a local coop stops following the actor
// (unfollow, Reject, Undo(Accept), Block). It runs in that transaction.
type followEnder interface {
	followEnded(ctx context.Context, in followChange) error
}

// followStarter is implemented by kinds that act when a follow of a
// remote actor by a local coop is accepted, after the commit (for example
// to backfill the actor's outbox). It must not block: start work in the
// background with the context given, which ends at shutdown.
type followStarter interface {
	followStarted(ctx context.Context, coopID int64, actorIRI string)
}

// followChange names a follow relation that ended, and the transaction.
type followChange struct {
	f        *Federation
	tx       *store.Tx
	coopID   int64
	actorIRI string
}

// periodicJob is work run on a schedule while the instance runs (expiring
// listings, closing motions at their deadline). Jobs keep their state in
// the database, so a restart loses nothing: a job that was due while the
// server was down runs at the next tick.
type periodicJob struct {
	name     string
	interval time.Duration
	run      func(ctx context.Context, f *Federation) error
}

var (
	objectKinds  []func(f *Federation) objectKind
	periodicJobs []periodicJob
)

// registerObjectKind adds a kind, built for each Federation.
func registerObjectKind(build func(f *Federation) objectKind) {
	objectKinds = append(objectKinds, build)
}

// registerPeriodic adds a job run every interval while the instance runs.
func registerPeriodic(j periodicJob) { periodicJobs = append(periodicJobs, j) }

// followEnded tells every kind that a local coop no longer follows actor.
func (f *Federation) followEnded(ctx context.Context, tx *store.Tx, coopID int64, actorIRI string) error {
	for _, k := range f.kinds {
		if fe, ok := k.(followEnder); ok {
			if err := fe.followEnded(ctx, followChange{f: f, tx: tx, coopID: coopID, actorIRI: actorIRI}); err != nil {
				return err
			}
		}
	}
	return nil
}

// followStarted tells every kind, after the commit, that a local coop's
// follow of actor was accepted.
func (f *Federation) followStarted(coopID int64, actorIRI string) {
	for _, k := range f.kinds {
		if fs, ok := k.(followStarter); ok {
			fs.followStarted(f.background(), coopID, actorIRI)
		}
	}
}

// background returns the context of the running instance (cancelled at
// shutdown), or a fresh one before Start.
func (f *Federation) background() context.Context {
	f.runMu.Lock()
	defer f.runMu.Unlock()
	if f.runCtx == nil {
		return context.Background()
	}
	return f.runCtx
}

// startJobs runs the registered periodic jobs until ctx ends.
func (f *Federation) startJobs(ctx context.Context) {
	// Stop ends the jobs before waiting for them: the context given to
	// Start is cancelled only after Stop returns.
	ctx, cancel := context.WithCancel(ctx)
	f.runMu.Lock()
	f.stopJobs = cancel
	f.runMu.Unlock()
	for _, j := range periodicJobs {
		f.jobs.Add(1)
		go func() {
			defer f.jobs.Done()
			t := time.NewTicker(j.interval)
			defer t.Stop()
			for {
				// Why Exclusive: processes sharing one PostgreSQL
				// database would otherwise both close a motion and
				// both send its outcome; the one that finds the job
				// running elsewhere skips this round.
				_, err := f.store.Exclusive(ctx, j.name, func() error { return j.run(ctx, f) })
				if err != nil && ctx.Err() == nil {
					f.log.Error("periodic job failed", "job", j.name, "err", err)
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
}
