package coopfed_test

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
)

var (
	policy = coopfed.RetryPolicy{Base: 30 * time.Second, Max: 6 * time.Hour, GiveUp: 72 * time.Hour}
	t0     = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
)

// Without jitter the wait doubles from Base per attempt and stops at Max,
// and a Retry-After later than the backoff replaces it.
func TestRetryPolicyNext(t *testing.T) {
	tests := []struct {
		name       string
		created    time.Time
		attempts   int
		retryAfter time.Duration
		wait       time.Duration // from t0; ignored when giveUp
		giveUp     bool
	}{
		{name: "first failure waits Base", created: t0, attempts: 1, wait: 30 * time.Second},
		{name: "second doubles", created: t0, attempts: 2, wait: time.Minute},
		{name: "fifth", created: t0, attempts: 5, wait: 8 * time.Minute},
		{name: "tenth is not capped yet", created: t0, attempts: 10, wait: 30 * time.Second << 9},
		{name: "eleventh is capped", created: t0, attempts: 11, wait: 6 * time.Hour},
		{name: "huge attempt count does not overflow", created: t0, attempts: 1 << 30, wait: 6 * time.Hour},
		{name: "zero attempts counts as the first", created: t0, attempts: 0, wait: 30 * time.Second},
		{name: "later Retry-After wins", created: t0, attempts: 1, retryAfter: 10 * time.Minute, wait: 10 * time.Minute},
		{name: "earlier Retry-After is ignored", created: t0, attempts: 3, retryAfter: time.Second, wait: 2 * time.Minute},
		{name: "Retry-After beyond Max is honoured", created: t0, attempts: 1, retryAfter: 8 * time.Hour, wait: 8 * time.Hour},
		{name: "last retry inside GiveUp", created: t0.Add(-66 * time.Hour), attempts: 20, wait: 6 * time.Hour},
		{name: "next try past GiveUp gives up", created: t0.Add(-66*time.Hour - time.Second), attempts: 20, giveUp: true},
		{name: "Retry-After past GiveUp gives up", created: t0, attempts: 1, retryAfter: 73 * time.Hour, giveUp: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, ok := policy.Next(t0, tt.created, tt.attempts, tt.retryAfter, nil)
			if tt.giveUp {
				if ok {
					t.Fatalf("Next = %v, want give up", next)
				}
				return
			}
			if !ok {
				t.Fatal("gave up, want a retry")
			}
			if got := next.Sub(t0); got != tt.wait {
				t.Errorf("wait = %v, want %v", got, tt.wait)
			}
		})
	}
}

// Jitter keeps each wait within +-25 % of the backoff, never above Max,
// and actually spreads the waits.
func TestRetryPolicyJitter(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		attempts int
		lo, hi   time.Duration
	}{
		{attempts: 1, lo: 22500 * time.Millisecond, hi: 37500 * time.Millisecond},
		{attempts: 3, lo: 90 * time.Second, hi: 150 * time.Second},
		{attempts: 30, lo: 4*time.Hour + 30*time.Minute, hi: 6 * time.Hour}, // at the cap only shorter
	}
	for _, tt := range tests {
		seen := map[time.Duration]bool{}
		for range 1000 {
			next, ok := policy.Next(t0, t0, tt.attempts, 0, rnd)
			if !ok {
				t.Fatalf("attempt %d: gave up", tt.attempts)
			}
			w := next.Sub(t0)
			if w < tt.lo || w > tt.hi {
				t.Fatalf("attempt %d: wait %v outside [%v, %v]", tt.attempts, w, tt.lo, tt.hi)
			}
			seen[w] = true
		}
		if len(seen) < 100 {
			t.Errorf("attempt %d: only %d distinct waits in 1000 draws", tt.attempts, len(seen))
		}
	}
}

func TestRetryPolicyValidate(t *testing.T) {
	tests := []struct {
		name  string
		p     coopfed.RetryPolicy
		field string // "" when valid
	}{
		{"default", coopfed.DefaultRetryPolicy, ""},
		{"short", coopfed.RetryPolicy{Base: 200 * time.Millisecond, Max: 6 * time.Hour, GiveUp: 72 * time.Hour}, ""},
		{"zero base", coopfed.RetryPolicy{Max: time.Hour, GiveUp: time.Hour}, "base"},
		{"negative base", coopfed.RetryPolicy{Base: -time.Second, Max: time.Hour, GiveUp: time.Hour}, "base"},
		{"max below base", coopfed.RetryPolicy{Base: time.Hour, Max: time.Minute, GiveUp: time.Hour}, "max"},
		{"no give-up", coopfed.RetryPolicy{Base: time.Second, Max: time.Minute}, "give_up"},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var e *coopfed.Error
		if !errors.As(err, &e) || e.Code != coopfed.EINVALID || e.Fields[tt.field] == "" {
			t.Errorf("%s: err = %v, want EINVALID naming %s", tt.name, err, tt.field)
		}
	}
}
