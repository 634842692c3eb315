package federation

import (
	"context"
	"time"
)

// Retention of bookkeeping rows. Duplicate detection must outlast every
// peer's retries (Mastodon retries for about a week at most); finished
// delivery rows are kept a while for operators to inspect.
const (
	seenRetention     = 30 * 24 * time.Hour
	deliveryRetention = 7 * 24 * time.Hour
)

func init() {
	registerPeriodic(periodicJob{name: "purge old bookkeeping", interval: time.Hour, run: purgeBookkeeping})
}

// purgeBookkeeping deletes duplicate-detection ids and finished delivery
// rows past their retention; pending deliveries are never touched.
func purgeBookkeeping(ctx context.Context, f *Federation) error {
	now := f.now()
	seen, err := f.store.PurgeSeen(ctx, now.Add(-seenRetention))
	if err != nil {
		return err
	}
	done, err := f.store.PurgeDeliveries(ctx, now.Add(-deliveryRetention))
	if err != nil {
		return err
	}
	if seen+done > 0 {
		f.log.Info("purged bookkeeping", "inbox_ids", seen, "deliveries", done)
	}
	return nil
}
