package federation

import (
	"sync"
	"time"
)

// Standing of a host in the inbox limiter.
const (
	// goodAfter is how many verified activities in a row a host must have
	// had accepted before its bucket stops being spent: a host in good
	// standing (a busy peer such as mastodon.social delivering to a
	// popular coop) is never answered 429 for volume alone, while new,
	// failing or abusive hosts keep the per-host limit.
	goodAfter = 100
	// standingTTL is how long a host in good standing keeps it without
	// posting; after that it starts over as an unknown host.
	standingTTL = time.Hour
)

// hostLimiter is a token bucket per remote host for inbox POSTs: each host
// earns rate tokens a second up to burst; a POST spends one, unless the
// host is in good standing (see goodAfter). An activity refused after its
// signature verified ends the host's standing and spends a token even
// from a host in good standing.
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
	// accepted counts the verified activities of the host accepted since
	// its last refused one; seen is when it last posted.
	accepted int
	seen     time.Time
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

// trusted reports whether host is in good standing: its bucket is not
// spent by the activities it gets accepted.
func (l *hostLimiter) trusted(host string, now time.Time) bool {
	if l == nil || l.rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[host]
	return ok && b.accepted >= goodAfter && now.Sub(b.seen) < standingTTL
}

// accepted records that a verified activity of host was accepted.
func (l *hostLimiter) accepted(host string, now time.Time) {
	if l == nil || l.rate <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(host, now)
	b.accepted++
	b.seen = now
}

// refused records that a verified activity of host was refused (4xx): the
// host loses its standing and spends a token, so a host sending mostly
// refused activities is held to the per-host rate.
func (l *hostLimiter) refused(host string, now time.Time) {
	if l == nil || l.rate <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(host, now)
	l.refill(b, now)
	b.accepted = 0
	b.seen = now
	b.tokens = max(b.tokens-1, 0)
}

func (l *hostLimiter) take(host string, now time.Time, spend bool) bool {
	if l == nil || l.rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.bucket(host, now)
	l.refill(b, now)
	if b.tokens < 1 {
		return false
	}
	if spend {
		b.tokens--
	}
	return true
}

// bucket returns host's bucket, a full one for a host not seen lately.
// l.mu is held.
func (l *hostLimiter) bucket(host string, now time.Time) *bucket {
	b, ok := l.buckets[host]
	if !ok {
		b = &bucket{tokens: l.burst, last: now, seen: now}
		l.buckets[host] = b
	}
	return b
}

func (l *hostLimiter) refill(b *bucket, now time.Time) {
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed*l.rate)
		b.last = now
	}
}

// sweep forgets, once a minute, buckets that are full again and whose host
// has no standing to keep, so the map holds only hosts that posted
// recently.
func (l *hostLimiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for host, b := range l.buckets {
		full := b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst
		standing := b.accepted > 0 && now.Sub(b.seen) < standingTTL
		if full && !standing {
			delete(l.buckets, host)
		}
	}
}

// wait is how long until host has a token again; 0 when it has one.
func (l *hostLimiter) wait(host string, now time.Time) time.Duration {
	if l == nil || l.rate <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(host, now)
	l.refill(b, now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// Defaults of the verification limiter: verifying an agreement by its IRI
// makes this instance fetch it, so one client may ask for a burst of
// verifyBurst and then one a second.
const (
	verifyRate  = 1
	verifyBurst = 20
)

// AllowVerify spends one of client's agreement verifications (client is
// its address). When it has none left it reports false and how long until
// the next one.
func (f *Federation) AllowVerify(client string) (bool, time.Duration) {
	now := f.now()
	if f.verifyLimiter.allow(client, now) {
		return true, 0
	}
	return false, f.verifyLimiter.wait(client, now)
}
