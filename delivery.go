package coopfed

import (
	"math/rand/v2"
	"time"
)

// Delivery states.
const (
	DeliveryPending = "pending"
	DeliveryDone    = "done"
	DeliveryFailed  = "failed" // given up: permanent refusal or retries exhausted
)

// Delivery is one signed POST of one activity to one inbox, kept in the store
// until it succeeds or is given up, so that a crash or restart loses nothing.
type Delivery struct {
	ID          int64
	ActivityID  int64
	Inbox       string
	Host        string
	Attempts    int
	NextAttempt time.Time
	LastError   string
	State       string
	CreatedAt   time.Time
	// Filled when claimed for sending.
	Body   []byte
	KeyID  string
	KeyPEM string
	CoopID int64
}

// RetryPolicy decides when a failed delivery is tried again.
type RetryPolicy struct {
	Base   time.Duration // first wait
	Max    time.Duration // longest single wait, jitter included
	GiveUp time.Duration // total time after which a delivery is abandoned
}

// DefaultRetryPolicy retries for about three days, as Mastodon does, with
// waits from 30 s growing to 6 h.
var DefaultRetryPolicy = RetryPolicy{Base: 30 * time.Second, Max: 6 * time.Hour, GiveUp: 72 * time.Hour}

// Validate reports whether the policy can be used: every duration positive
// and Base no longer than Max. A zero Base would retry a dead server in a
// tight loop.
func (p RetryPolicy) Validate() error {
	fields := map[string]string{}
	if p.Base <= 0 {
		fields["base"] = "must be positive"
	}
	if p.Max < p.Base {
		fields["max"] = "must be at least the base wait"
	}
	if p.GiveUp <= 0 {
		fields["give_up"] = "must be positive"
	}
	return FieldErrors(fields)
}

// Next returns when to try again after attempt number attempts (1 for the
// first failure), or ok=false if the delivery should be given up. The wait
// doubles from Base with each attempt up to Max. Jitter (+-25 %, from rnd;
// none when rnd is nil) spreads retries so a recovering host is not hit by
// a thundering herd; the result never exceeds Max. A server's Retry-After,
// when later than our own backoff, is honoured even beyond Max: it is the
// server's explicit word, and GiveUp still bounds it.
func (p RetryPolicy) Next(now, created time.Time, attempts int, retryAfter time.Duration, rnd *rand.Rand) (time.Time, bool) {
	wait := p.Base
	for i := 1; i < attempts && wait < p.Max; i++ {
		wait *= 2
	}
	wait = min(wait, p.Max)
	if rnd != nil {
		wait += time.Duration((rnd.Float64() - 0.5) * 0.5 * float64(wait))
		// Why clamp after the jitter: Max is the operator's promise of
		// the longest pause; at the cap the jitter only shortens waits.
		wait = min(wait, p.Max)
	}
	wait = max(wait, retryAfter)
	next := now.Add(wait)
	if next.Sub(created) > p.GiveUp {
		return time.Time{}, false
	}
	return next, true
}

// Activity is an activity a local coop (or the instance actor, CoopID 0)
// sent. JSON is exactly what goes on the wire.
type Activity struct {
	ID        int64
	IRI       string
	CoopID    int64
	Type      string
	ObjectIRI string
	// Public activities are listed in the coop's outbox collection.
	Public    bool
	JSON      []byte
	Published time.Time
}

// DeliveryStats describes the delivery queue for metrics and health checks.
type DeliveryStats struct {
	Pending       int64
	OldestPending time.Time // zero when nothing is pending
	Done          int64
	Failed        int64
}
