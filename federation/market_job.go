package federation

import (
	"context"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
)

// expiryInterval is how often local listings past their end are closed.
const expiryInterval = time.Minute

// expiryBatch is how many listings one transaction closes.
const expiryBatch = 50

func init() {
	registerPeriodic(periodicJob{name: "market-expiry", interval: expiryInterval, run: expireListings})
}

// expireListings closes every local listing whose valid_until has passed
// and federates the change as Update, so followers' markets drop it too.
// The state lives in the listings table: a listing that expired while the
// server was down is closed at the next run.
func expireListings(ctx context.Context, f *Federation) error {
	coops := map[int64]*coopfed.Coop{}
	for {
		n := 0
		err := f.store.Update(ctx, func(tx *store.Tx) error {
			list, err := tx.ExpiredListings(tx.Now(), expiryBatch)
			if err != nil {
				return err
			}
			n = len(list)
			for _, l := range list {
				c := coops[l.CoopID]
				if c == nil {
					if c, err = f.store.CoopByID(ctx, l.CoopID); err != nil {
						return err
					}
					coops[l.CoopID] = c
				}
				l.State = coopfed.ListingClosed
				if err := f.updateListing(tx, c, l); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if n > 0 {
			f.delivery.wake()
		}
		if n < expiryBatch || ctx.Err() != nil {
			return ctx.Err()
		}
	}
}
