package federation

import (
	"context"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
)

// governanceInterval is how often the governance job looks for motions to
// open, close, re-tally or review. Its state is in the motions table
// (opens_at, closes_at, next_tally_update, review_at and reminded_at), so a restart loses nothing: what fell due
// while the server was down is done at the first tick.
const governanceInterval = time.Second

func init() {
	registerPeriodic(periodicJob{name: "governance", interval: governanceInterval, run: runGovernance})
}

// runGovernance acts on every due motion, each in its own transaction, so
// one failing motion does not hold up the others.
func runGovernance(ctx context.Context, f *Federation) error {
	ids, err := f.store.DueMotions(ctx, f.now())
	if err != nil {
		return err
	}
	acted := false
	for _, id := range ids {
		if err := f.actOnMotion(ctx, id); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			f.log.Error("governance: motion", "motion", id, "err", err)
			continue
		}
		acted = true
	}
	if acted {
		f.delivery.wake()
	}
	return nil
}

// actOnMotion opens a motion whose voting starts, closes one past its
// deadline (publishing the outcome), sends a due tally Update, and starts
// the review of a closed motion whose review date came. The
// state checks are repeated inside the transaction, so a motion an admin
// closed meanwhile is left alone.
func (f *Federation) actOnMotion(ctx context.Context, id int64) error {
	return f.store.Update(ctx, func(tx *store.Tx) error {
		m, err := tx.MotionByID(id)
		if err != nil {
			return err
		}
		c, err := f.store.CoopByID(ctx, m.CoopID)
		if err != nil {
			return err
		}
		now := tx.Now()
		if m.State == coopfed.MotionScheduled && !now.Before(m.OpensAt) {
			if err := f.openMotion(tx, c, m); err != nil {
				return err
			}
		}
		if m.State == coopfed.MotionOpen && !now.Before(m.ClosesAt) {
			// Closing publishes the final tally with the outcome; no
			// separate tally Update is needed.
			return f.closeMotion(tx, c, m)
		}
		if m.NextTally != nil && !now.Before(*m.NextTally) {
			if m.State != coopfed.MotionOpen {
				if err := tx.TallySent(m.ID); err != nil {
					return err
				}
			} else if err := f.publishTally(tx, c, m); err != nil {
				return err
			}
		}
		if m.State == coopfed.MotionClosed && m.ReviewAt != nil && m.RemindedAt == nil && !now.Before(*m.ReviewAt) {
			return f.startReview(tx, c, m)
		}
		return nil
	})
}
