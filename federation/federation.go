// Package federation speaks ActivityPub for coopfed: it builds the documents
// we serve and send (with go-fed's vocabulary), verifies and applies what
// arrives in inboxes, fetches remote actors with signed GETs and delivers
// our activities through a durable queue.
package federation

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/httpsign"
	"github.com/coopfed/coopfed/federation/transport"
	"github.com/coopfed/coopfed/store"
)

// Software identifies the server in NodeInfo and User-Agent.
const (
	SoftwareName    = "coopfed"
	SoftwareVersion = "0.1.0"
)

// Config configures a Federation.
type Config struct {
	BaseURL string // public base URL, e.g. https://coop.example
	Store   *store.Store
	Logger  *slog.Logger
	// AllowPrivate lets the instance fetch from and deliver to loopback and
	// private addresses over plain http (development and tests).
	AllowPrivate bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// NewID makes object ids; NewID(Now()) when nil. Tests fix it for
	// golden documents.
	NewID func() string
	// Workers is the size of the delivery worker pool (default 16).
	Workers int
	// Retry is the delivery retry policy (default DefaultRetryPolicy).
	Retry *coopfed.RetryPolicy
	// DeliveryLease is how long a claimed delivery belongs to this process
	// (default DefaultDeliveryLease; at least MinDeliveryLease).
	DeliveryLease time.Duration
	// Client overrides the HTTP client for remote requests.
	Client *http.Client
	// Metrics receives counters; nil for none.
	Metrics Metrics
	// SignatureWindow is how far a signed Date may be from now (default 1 h,
	// Mastodon's window).
	SignatureWindow time.Duration
	// ActorTTL is how long a cached remote actor is trusted before a refetch
	// on use (default 24 h).
	ActorTTL time.Duration
	// InboxRate and InboxBurst limit inbox POSTs per remote host (token
	// bucket; defaults 50/s with bursts of 500). A negative rate disables
	// the limit.
	InboxRate  float64
	InboxBurst int
	// TallyDebounce is the least time between two tally Updates of one
	// motion (default one minute); votes in between share one Update.
	TallyDebounce time.Duration
	// AnnounceRate and AnnounceBurst limit, per group or relay, the
	// Announces that make us fetch a listing from its origin (token
	// bucket; defaults 20/s with bursts of 200). A negative rate
	// disables the limit.
	AnnounceRate  float64
	AnnounceBurst int
}

// Metrics receives what federation counts; handlers' Prometheus registry
// implements it. Every method must be safe for concurrent use.
type Metrics interface {
	InboxResult(result string)
	SignatureFailure(reason string)
	Delivery(outcome string, seconds float64)
	RemoteFetch(result string)
	// InboxCommit observes how many inbox activities one commit held.
	InboxCommit(activities int)
}

type noMetrics struct{}

func (noMetrics) InboxResult(string)       {}
func (noMetrics) SignatureFailure(string)  {}
func (noMetrics) Delivery(string, float64) {}
func (noMetrics) RemoteFetch(string)       {}
func (noMetrics) InboxCommit(int)          {}

// Federation is the ActivityPub side of one instance.
type Federation struct {
	iris         *IRIs
	store        *store.Store
	log          *slog.Logger
	client       *http.Client
	allowPrivate bool
	now          func() time.Time
	newID        func() string
	metrics      Metrics
	window       time.Duration
	actorTTL     time.Duration
	debounce     time.Duration // see Config.TallyDebounce

	instanceKey    *rsa.PrivateKey
	instanceKeyPEM string

	keysMu sync.Mutex
	keys   map[int64]*rsa.PrivateKey // coop id -> parsed private key

	signerKeys keyCache // verified remote keys
	limiter    *hostLimiter
	// announceLimiter bounds, per announcing actor, the Announces that
	// cost an origin fetch (announce.go).
	announceLimiter *hostLimiter
	// verifyLimiter bounds, per client address, the agreement
	// verifications asked of this instance (AllowVerify).
	verifyLimiter *hostLimiter
	// commits joins the writes of concurrent inbox requests (commit.go).
	commits *groupCommit

	fetchMu sync.Mutex
	fetches map[string]*fetchCall // in-flight actor fetches, deduplicated

	delivery *deliverer
	kinds    []objectKind // see extension.go

	runMu  sync.Mutex
	runCtx context.Context // the running instance's context, for background work
	jobs   sync.WaitGroup  // periodic jobs
	// stopJobs ends the periodic jobs (set by Start).
	stopJobs context.CancelFunc
}

// instanceKeySetting names the settings row holding the instance actor key.
const instanceKeySetting = "instance_actor_private_key"

// New returns a Federation over the store. It creates the instance actor's
// key on first use; keys never change afterwards, since peers cache them.
func New(ctx context.Context, cfg Config) (*Federation, error) {
	iris, err := NewIRIs(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	f := &Federation{
		iris:         iris,
		store:        cfg.Store,
		log:          cfg.Logger,
		client:       cfg.Client,
		allowPrivate: cfg.AllowPrivate,
		now:          cfg.Now,
		newID:        cfg.NewID,
		metrics:      cfg.Metrics,
		window:       cfg.SignatureWindow,
		actorTTL:     cfg.ActorTTL,
		keys:         map[int64]*rsa.PrivateKey{},
		fetches:      map[string]*fetchCall{},
		commits:      newGroupCommit(cfg.Store, nil),
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.newID == nil {
		f.newID = func() string { return NewID(f.now()) }
	}
	if f.metrics == nil {
		f.metrics = noMetrics{}
	}
	f.commits.observe = f.metrics.InboxCommit
	if f.window == 0 {
		f.window = httpsign.DefaultWindow
	}
	rate, burst := cfg.InboxRate, cfg.InboxBurst
	if rate == 0 {
		rate = 50
	}
	if burst == 0 {
		burst = 500
	}
	f.limiter = newHostLimiter(rate, burst)
	arate, aburst := cfg.AnnounceRate, cfg.AnnounceBurst
	if arate == 0 {
		arate = defaultAnnounceRate
	}
	if aburst == 0 {
		aburst = defaultAnnounceBurst
	}
	f.announceLimiter = newHostLimiter(arate, aburst)
	f.verifyLimiter = newHostLimiter(verifyRate, verifyBurst)
	if f.actorTTL == 0 {
		f.actorTTL = 24 * time.Hour
	}
	if f.debounce = cfg.TallyDebounce; f.debounce <= 0 {
		f.debounce = time.Minute
	}
	if f.client == nil {
		f.client = transport.NewClient(transport.Config{
			AllowPrivate: cfg.AllowPrivate,
			UserAgent:    fmt.Sprintf("%s/%s (+%s)", SoftwareName, SoftwareVersion, iris.Base()),
		})
	}
	if err := f.loadInstanceKey(ctx); err != nil {
		return nil, err
	}
	retry := coopfed.DefaultRetryPolicy
	if cfg.Retry != nil {
		retry = *cfg.Retry
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = 16
	}
	lease := cfg.DeliveryLease
	if lease == 0 {
		lease = DefaultDeliveryLease
	}
	if lease < MinDeliveryLease {
		return nil, fmt.Errorf("federation: the delivery lease must be at least %v", MinDeliveryLease)
	}
	f.delivery = newDeliverer(f, workers, retry, lease)
	// Another process on the same PostgreSQL database may queue a
	// fan-out: its NOTIFY wakes this process's workers too.
	cfg.Store.OnDeliveriesQueued(f.delivery.wake)
	for _, build := range objectKinds {
		f.kinds = append(f.kinds, build(f))
	}
	return f, nil
}

// IRIs returns the instance's IRI builder.
func (f *Federation) IRIs() *IRIs { return f.iris }

// AllowPrivate reports whether private addresses may be contacted.
func (f *Federation) AllowPrivate() bool { return f.allowPrivate }

func (f *Federation) loadInstanceKey(ctx context.Context) error {
	pemText, err := f.store.Setting(ctx, instanceKeySetting)
	if coopfed.ErrorCode(err) == coopfed.ENOTFOUND {
		key, err := httpsign.GenerateKey()
		if err != nil {
			return err
		}
		if pemText, err = httpsign.EncodePrivateKeyPEM(key); err != nil {
			return err
		}
		// Insert only if absent: two processes starting at once must agree
		// on one key.
		err = f.store.Update(ctx, func(tx *store.Tx) error {
			if existing, err := tx.Setting(instanceKeySetting); err == nil {
				pemText = existing
				return nil
			}
			return tx.PutSetting(instanceKeySetting, pemText)
		})
		if err != nil {
			return fmt.Errorf("federation: store instance key: %w", err)
		}
	} else if err != nil {
		return err
	}
	key, err := httpsign.ParsePrivateKeyPEM(pemText)
	if err != nil {
		return fmt.Errorf("federation: instance key: %w", err)
	}
	f.instanceKey = key
	f.instanceKeyPEM, err = httpsign.EncodePublicKeyPEM(&key.PublicKey)
	return err
}

// coopKey returns the parsed private key of a coop, cached.
func (f *Federation) coopKey(c *coopfed.Coop) (*rsa.PrivateKey, error) {
	f.keysMu.Lock()
	defer f.keysMu.Unlock()
	if k, ok := f.keys[c.ID]; ok {
		return k, nil
	}
	k, err := httpsign.ParsePrivateKeyPEM(c.PrivateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("federation: key of coop %s: %w", c.Name, err)
	}
	f.keys[c.ID] = k
	return k, nil
}

// NewCoop validates and stores a new coop with a fresh RSA-2048 key pair.
func NewCoop(ctx context.Context, s *store.Store, name, displayName string) (*coopfed.Coop, error) {
	if err := coopfed.ValidateCoopName(name); err != nil {
		return nil, err
	}
	key, err := httpsign.GenerateKey()
	if err != nil {
		return nil, err
	}
	c := &coopfed.Coop{Name: name, DisplayName: displayName}
	if c.PrivateKeyPEM, err = httpsign.EncodePrivateKeyPEM(key); err != nil {
		return nil, err
	}
	if c.PublicKeyPEM, err = httpsign.EncodePublicKeyPEM(&key.PublicKey); err != nil {
		return nil, err
	}
	if err := s.Update(ctx, func(tx *store.Tx) error { return tx.CreateCoop(c) }); err != nil {
		return nil, err
	}
	return c, nil
}

// Start runs the delivery workers until ctx ends or Stop is called.
func (f *Federation) Start(ctx context.Context) {
	f.runMu.Lock()
	f.runCtx = ctx
	f.runMu.Unlock()
	f.delivery.start(ctx)
	f.startJobs(ctx)
}

// Stop stops taking new deliveries and waits, up to ctx's deadline, for the
// ones in flight; rows not finished stay pending and resume on next start.
func (f *Federation) Stop(ctx context.Context) error {
	err := f.delivery.stop(ctx)
	// Periodic jobs end with the context given to Start, or here; wait
	// for them.
	f.runMu.Lock()
	if f.stopJobs != nil {
		f.stopJobs()
	}
	f.runMu.Unlock()
	done := make(chan struct{})
	go func() { f.jobs.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return err
}

// WakeDelivery tells the delivery workers that new rows are due.
func (f *Federation) WakeDelivery() { f.delivery.wake() }

var errStopped = errors.New("federation: stopped")
