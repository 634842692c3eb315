package federation

import (
	"sync"
	"time"
)

// hostLimiter is a token bucket per remote host for inbox POSTs: each host
// earns rate tokens a second up to burst; a POST spends one.
type hostLimiter struct {
	rate  float64
	burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// newHostLimiter returns a limiter; rate <= 0 disables it.
func newHostLimiter(rate float64, burst int) *hostLimiter {
	if burst < 1 {
		burst = 1
	}
	return &hostLimiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}}
}

// allow spends a token of host, reporting false when it has none left.
func (l *hostLimiter) allow(host string, now time.Time) bool {
	return l.take(host, now, true)
}

// available reports whether host has a token left, without spending it.
func (l *hostLimiter) available(host string, now time.Time) bool {
	return l.take(host, now, false)
}

func (l *hostLimiter) take(host string, now time.Time, spend bool) bool {
	if l == nil || l.rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b, ok := l.buckets[host]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[host] = b
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	if spend {
		b.tokens--
	}
	return true
}

// sweep forgets buckets that are full again, once a minute, so the map
// holds only hosts that posted recently.
func (l *hostLimiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for host, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, host)
		}
	}
}
