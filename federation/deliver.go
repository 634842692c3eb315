package federation

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/httpsign"
	"github.com/coopfed/coopfed/federation/transport"
	"github.com/coopfed/coopfed/store"
)

// DefaultDeliveryLease is how long a claimed row belongs to this process
// before another claim may take it: after a crash, how long the rows the
// process had claimed wait (on SQLite the restart releases them at once;
// on PostgreSQL the other processes take them when the lease lapses).
const DefaultDeliveryLease = 2 * time.Minute

// MinDeliveryLease is the shortest lease allowed: a claimed row may wait
// for a worker behind one batch of POSTs and then take one POST, each up to
// the POST timeout, and a lease that lapsed before would let a second
// process send the row too.
const MinDeliveryLease = 3 * deliveryTimeout

const (
	// deliveryTimeout bounds one POST; the shared client's own timeout
	// (transport.DefaultTimeout) is the same, so neither cuts the other.
	deliveryTimeout = transport.DefaultTimeout
	// idlePoll is how often the queue is read when nobody wakes it (for
	// retries coming due).
	idlePoll = time.Second
)

// deliverer sends queued deliveries with a bounded pool of workers.
type deliverer struct {
	f       *Federation
	client  *http.Client // f.client, but redirects are returned, not followed
	workers int
	retry   coopfed.RetryPolicy
	lease   time.Duration
	breaker *breaker

	wakeCh  chan struct{}
	jobs    chan *coopfed.Delivery
	results chan store.DeliveryResult

	mu      sync.Mutex
	cancel  context.CancelFunc
	running sync.WaitGroup // dispatcher + workers
	flushed chan struct{}  // closed when the result collector has stopped

	coopsMu sync.Mutex
	coops   map[int64]*coopfed.Coop
}

func newDeliverer(f *Federation, workers int, retry coopfed.RetryPolicy, lease time.Duration) *deliverer {
	// Why no redirects: a client following a 301/302/303 turns the POST
	// into a GET and would report the page it lands on as a delivery; a
	// 307/308 would re-send a signature whose (request-target) and host
	// name the old URL. A redirected inbox is a failed attempt, retried.
	client := *f.client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &deliverer{
		f:       f,
		client:  &client,
		workers: workers,
		retry:   retry,
		lease:   lease,
		breaker: newBreaker(retry.Base),
		wakeCh:  make(chan struct{}, 1),
		coops:   map[int64]*coopfed.Coop{},
	}
}

func (d *deliverer) wake() {
	select {
	case d.wakeCh <- struct{}{}:
	default:
	}
}

func (d *deliverer) start(parent context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cancel != nil {
		return
	}
	// Leases left by a process that died are released first, so its rows
	// are sent now rather than when the leases lapse.
	if n, err := d.f.store.ReleaseLeases(parent); err != nil {
		d.f.log.Error("release delivery leases", "err", err)
	} else if n > 0 {
		d.f.log.Info("resuming deliveries left by a previous run", "count", n)
	}
	ctx, cancel := context.WithCancel(parent)
	d.cancel = cancel
	d.jobs = make(chan *coopfed.Delivery)
	d.results = make(chan store.DeliveryResult, d.workers*4)
	d.flushed = make(chan struct{})
	d.running.Add(1 + d.workers)
	go d.dispatch(ctx)
	for range d.workers {
		go d.work()
	}
	go d.collect()
}

// stop ends claiming, lets workers finish the POSTs in flight, records their
// results and releases rows claimed but not started.
func (d *deliverer) stop(ctx context.Context) error {
	d.mu.Lock()
	cancel := d.cancel
	d.cancel = nil // a second stop finds nothing to do
	d.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	done := make(chan struct{})
	go func() {
		d.running.Wait()
		close(d.results)
		<-d.flushed
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("federation: deliveries still in flight at shutdown: %w", ctx.Err())
	}
}

func (d *deliverer) dispatch(ctx context.Context) {
	defer d.running.Done()
	defer close(d.jobs)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		batch, err := d.f.store.ClaimDeliveries(context.WithoutCancel(ctx), d.workers*2, d.lease, d.breaker.open(d.f.now()))
		if err != nil {
			d.f.log.Error("claim deliveries", "err", err)
		}
		for i, job := range batch {
			select {
			case d.jobs <- job:
			case <-ctx.Done():
				// Not started: give the rest back at once.
				var back []store.DeliveryResult
				for _, j := range batch[i:] {
					back = append(back, store.DeliveryResult{ID: j.ID, State: coopfed.DeliveryPending, Attempts: j.Attempts, Next: j.NextAttempt, Error: j.LastError})
				}
				if err := d.f.store.FinishDeliveries(context.WithoutCancel(ctx), back); err != nil {
					d.f.log.Error("release deliveries", "err", err)
				}
				return
			}
		}
		if len(batch) > 0 {
			continue
		}
		timer.Reset(idlePoll)
		select {
		case <-ctx.Done():
			return
		case <-d.wakeCh:
		case <-timer.C:
		}
	}
}

// collect records results in batches: one commit for many POSTs.
func (d *deliverer) collect() {
	defer close(d.flushed)
	var pending []store.DeliveryResult
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if err := d.f.store.FinishDeliveries(context.Background(), pending); err != nil {
			d.f.log.Error("record delivery results", "err", err, "count", len(pending))
		}
		pending = pending[:0]
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case r, ok := <-d.results:
			if !ok {
				flush()
				return
			}
			pending = append(pending, r)
			if len(pending) >= 64 {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

func (d *deliverer) work() {
	defer d.running.Done()
	// httpsig signers are not safe for concurrent use: each worker keeps
	// its own, one per signing coop.
	signers := map[int64]*httpsign.Signer{}
	rnd := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	for job := range d.jobs {
		d.results <- d.deliver(job, signers, rnd)
	}
}

func (d *deliverer) signer(coopID int64, signers map[int64]*httpsign.Signer) (*httpsign.Signer, error) {
	if s, ok := signers[coopID]; ok {
		return s, nil
	}
	var keyID string
	var key *rsa.PrivateKey
	if coopID == 0 {
		keyID, key = d.f.iris.InstanceKey(), d.f.instanceKey
	} else {
		c, err := d.coop(coopID)
		if err != nil {
			return nil, err
		}
		if key, err = d.f.coopKey(c); err != nil {
			return nil, err
		}
		keyID = d.f.actorKeyID(c)
	}
	s, err := httpsign.NewSigner(keyID, key)
	if err != nil {
		return nil, err
	}
	signers[coopID] = s
	return s, nil
}

func (d *deliverer) coop(id int64) (*coopfed.Coop, error) {
	d.coopsMu.Lock()
	defer d.coopsMu.Unlock()
	if c, ok := d.coops[id]; ok {
		return c, nil
	}
	c, err := d.f.store.CoopByID(context.Background(), id)
	if err != nil {
		return nil, err
	}
	d.coops[id] = c
	return c, nil
}

// deliver makes one attempt and decides what becomes of the row.
func (d *deliverer) deliver(job *coopfed.Delivery, signers map[int64]*httpsign.Signer, rnd *rand.Rand) store.DeliveryResult {
	started := time.Now()
	attempts := job.Attempts + 1
	status, retryAfter, err := d.post(job, signers)
	now := d.f.now()
	res := store.DeliveryResult{ID: job.ID, Attempts: attempts}
	var local *localError
	switch {
	case err == nil && status >= 200 && status <= 299:
		d.breaker.success(job.Host)
		res.State = coopfed.DeliveryDone
		d.f.metrics.Delivery("ok", time.Since(started).Seconds())
		return res
	case err == nil && status >= 400 && status <= 499 && status != 401 && status != 408 && status != 429:
		// The receiver understood and refused: retrying cannot help.
		d.breaker.success(job.Host)
		res.State, res.Error = coopfed.DeliveryFailed, fmt.Sprintf("refused with status %d", status)
		d.f.metrics.Delivery("refused", time.Since(started).Seconds())
		return res
	case errors.As(err, &local):
		// Our own failure (a key that does not parse, an inbox URL we
		// cannot build a request for) says nothing about the host.
		res.Error = err.Error()
		d.f.log.Error("delivery failed on our side", "inbox", job.Inbox, "err", err)
	case err != nil:
		res.Error = err.Error()
		d.hostFailed(job.Host, now)
	default:
		// 5xx, 401, 408, 429 and 3xx (see newDeliverer) are retried; only
		// a server in trouble counts towards opening its breaker.
		res.Error = fmt.Sprintf("status %d", status)
		if status >= 500 {
			d.hostFailed(job.Host, now)
		}
	}
	next, ok := d.retry.Next(now, job.CreatedAt, attempts, retryAfter, rnd)
	if !ok {
		res.State = coopfed.DeliveryFailed
		d.f.metrics.Delivery("given_up", time.Since(started).Seconds())
		return res
	}
	res.State, res.Next = coopfed.DeliveryPending, next
	d.f.metrics.Delivery("retry", time.Since(started).Seconds())
	return res
}

// hostFailed records a failure of host and logs when its breaker opens.
func (d *deliverer) hostFailed(host string, now time.Time) {
	if wait := d.breaker.failure(host, now); wait > 0 {
		d.f.log.Info("pausing deliveries to a failing host", "host", host, "for", wait)
	}
}

// localError wraps a failure on our side of a delivery, before anything
// was sent.
type localError struct{ err error }

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// post sends the signed POST; the Date and signature are made fresh for
// every attempt, as Mastodon refuses a Date more than an hour old.
func (d *deliverer) post(job *coopfed.Delivery, signers map[int64]*httpsign.Signer) (int, time.Duration, error) {
	signer, err := d.signer(job.CoopID, signers)
	if err != nil {
		return 0, 0, &localError{err}
	}
	ctx, cancel := context.WithTimeout(context.Background(), deliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, job.Inbox, bytes.NewReader(job.Body))
	if err != nil {
		return 0, 0, &localError{err}
	}
	req.Header.Set("Content-Type", `application/activity+json`)
	req.Header.Set("Accept", acceptActivity)
	if err := signer.SignPost(req, job.Body, d.f.now()); err != nil {
		return 0, 0, &localError{err}
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	return resp.StatusCode, parseRetryAfter(resp.Header.Get("Retry-After"), d.f.now()), nil
}

// maxRetryAfter bounds a Retry-After: far beyond any give-up time, so the
// retry policy abandons the row, yet small enough not to overflow.
const maxRetryAfter = 30 * 24 * time.Hour

// parseRetryAfter reads a Retry-After of delay seconds or an HTTP date
// (RFC 9110, section 10.2.3); 0 when absent, unparsable or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	// A number too large for int64 comes back as the largest one, capped
	// below like any long delay.
	if s, err := strconv.ParseInt(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

// breaker is a per-host circuit breaker: after breakerThreshold
// consecutive failures a host is skipped for a while that doubles with each
// failed probe, so a dead instance does not hold workers that live ones
// need. Any answer that shows the host alive (2xx, or a 4xx refusal) closes
// it. The pauses scale with the retry policy's base wait, so an operator
// who shortens retries shortens these too.
type breaker struct {
	mu    sync.Mutex
	base  time.Duration // first pause
	hosts map[string]*hostState
}

type hostState struct {
	failures  int
	openUntil time.Time
}

const (
	// breakerThreshold is how many consecutive failures open a breaker.
	breakerThreshold = 5
	// breakerMaxDoublings caps the pause at base<<7: about an hour with
	// the default 30 s base.
	breakerMaxDoublings = 7
)

func newBreaker(base time.Duration) *breaker {
	return &breaker{base: base, hosts: map[string]*hostState{}}
}

func (b *breaker) success(host string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.hosts, host)
}

// failure records a failed attempt on host and returns the pause it
// starts, or 0 when the breaker stays closed or was already open.
func (b *breaker) failure(host string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.hosts[host]
	if h == nil {
		h = &hostState{}
		b.hosts[host] = h
	}
	if now.Before(h.openUntil) {
		// Why: these attempts were sent before the breaker opened and fail
		// with the same outage; counting each would double the pause per
		// queued row, and a host down for seconds would be shut out for
		// an hour.
		return 0
	}
	h.failures++
	if h.failures < breakerThreshold {
		return 0
	}
	wait := b.base << min(h.failures-breakerThreshold, breakerMaxDoublings)
	h.openUntil = now.Add(wait)
	return wait
}

// open lists the hosts not to contact now.
func (b *breaker) open(now time.Time) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for host, h := range b.hosts {
		if now.Before(h.openUntil) {
			out = append(out, host)
		}
	}
	return out
}
