package federation

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

var retryAfterNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{" 5 ", 5 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"1.5", 0},
		{"soon", 0},
		{retryAfterNow.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{retryAfterNow.Add(-time.Minute).Format(http.TimeFormat), 0}, // a date in the past
		{"Sun, 01 Mar 2025 12:00:30 GMT", 30 * time.Second},
		{"Sunday, 01-Mar-25 12:00:30 GMT", 30 * time.Second}, // RFC 850, which HTTP dates also allow
		{"2025-03-01T12:00:30Z", 0},                          // ISO 8601 is not an HTTP date
		{"99999999999999999999", maxRetryAfter},              // overflows int64
		{"-99999999999999999999", 0},
		{"9223372036", maxRetryAfter}, // overflows time.Duration
		{retryAfterNow.AddDate(1, 0, 0).Format(http.TimeFormat), maxRetryAfter},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, retryAfterNow); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// The breaker opens after breakerThreshold consecutive failures, lists the
// host as skipped for base, doubles the pause for each failed probe up to
// its cap, and closes on success.
func TestBreaker(t *testing.T) {
	const base = 30 * time.Second
	b := newBreaker(base)
	now := retryAfterNow
	for i := 1; i < breakerThreshold; i++ {
		if wait := b.failure("dead.example", now); wait != 0 {
			t.Fatalf("failure %d opened the breaker for %v", i, wait)
		}
	}
	if open := b.open(now); len(open) != 0 {
		t.Fatalf("open before the threshold: %v", open)
	}
	if wait := b.failure("dead.example", now); wait != base {
		t.Fatalf("failure %d: pause %v, want %v", breakerThreshold, wait, base)
	}
	if open := b.open(now); !slices.Equal(open, []string{"dead.example"}) {
		t.Fatalf("open = %v, want [dead.example]", open)
	}

	// Attempts already in flight when it opened fail too, but are the same
	// outage: they must not lengthen the pause.
	for range 20 {
		if wait := b.failure("dead.example", now.Add(time.Second)); wait != 0 {
			t.Fatalf("in-flight failure reopened the breaker for %v", wait)
		}
	}
	if open := b.open(now.Add(base - time.Millisecond)); len(open) != 1 {
		t.Fatalf("breaker closed early: %v", open)
	}
	// Half-open: the pause is over, a probe may go.
	now = now.Add(base)
	if open := b.open(now); len(open) != 0 {
		t.Fatalf("open after the pause: %v", open)
	}
	// Each failed probe doubles the pause, up to base<<breakerMaxDoublings.
	want := base
	for range breakerMaxDoublings + 3 {
		want = min(want*2, base<<breakerMaxDoublings)
		wait := b.failure("dead.example", now)
		if wait != want {
			t.Fatalf("probe failure: pause %v, want %v", wait, want)
		}
		now = now.Add(wait)
	}

	// Another host is not affected.
	b.failure("other.example", now.Add(-time.Second))
	if open := b.open(now.Add(-time.Second)); !slices.Equal(open, []string{"dead.example"}) {
		t.Fatalf("open = %v, want only dead.example", open)
	}

	// A success closes the breaker and forgets the failures: the host
	// again needs breakerThreshold failures to be skipped.
	b.success("dead.example")
	if open := b.open(now.Add(-time.Second)); len(open) != 0 {
		t.Fatalf("open after success: %v", open)
	}
	for i := 1; i < breakerThreshold; i++ {
		if wait := b.failure("dead.example", now); wait != 0 {
			t.Fatalf("after success, failure %d opened the breaker", i)
		}
	}
	if wait := b.failure("dead.example", now); wait != base {
		t.Fatalf("after success, pause %v, want %v again", wait, base)
	}
}
