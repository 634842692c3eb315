// Package app assembles one coopfed instance from its parts (store,
// federation, handlers, templates) and runs it. The command and the
// federation test harness both use it, so tests boot exactly what the
// binary runs.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/handlers"
	"github.com/coopfed/coopfed/store"
	"github.com/coopfed/coopfed/templates"
)

// Config is everything an instance is started with.
type Config struct {
	Addr         string // listen address, e.g. 127.0.0.1:8080
	URL          string // public base URL used in every IRI
	DB           string // SQLite file, or a postgres:// URL
	Coop         string // name of the first coop, created when there is none
	AllowPrivate bool   // fetch from and deliver to private addresses over http
	Workers      int    // delivery workers
	Logger       *slog.Logger
	// Now and NewID fix the clock and ids (tests); nil for the real ones.
	Now   func() time.Time
	NewID func() string
	// Retry overrides the delivery retry policy (tests shorten it).
	Retry *coopfed.RetryPolicy
	// DeliveryLease is how long a claimed delivery belongs to this process
	// (see federation.Config); 0 for the default.
	DeliveryLease time.Duration
	// InboxRate and InboxBurst limit inbox POSTs per remote host (see
	// federation.Config); 0 for the defaults, a negative rate for none.
	InboxRate  float64
	InboxBurst int
	// MetricsToken protects /metrics when set.
	MetricsToken string
	// TallyDebounce is the least time between two tally Updates of a
	// motion (see federation.Config); 0 for the default.
	TallyDebounce time.Duration
	// FirstAdmin, when set, is the username of an admin member created
	// with the first coop, given a random password (FirstAdminPassword).
	FirstAdmin string
	// Follow lists actors (name@host or IRIs) the first coop follows once
	// the server runs; tried until they answer, so peers may start later.
	Follow []string
}

// App is a running instance.
type App struct {
	Config     Config
	Store      *store.Store
	Federation *federation.Federation
	Handler    http.Handler

	server   *http.Server
	listener net.Listener
	cancel   context.CancelFunc
	served   chan error

	shutdownOnce sync.Once
	shutdownErr  error

	// FirstAdminPassword is the password EnsureFirstCoop gave the first
	// admin member, for the command to print once; only its hash is kept.
	FirstAdminPassword string
}

// Open opens the database, creates the first coop when there is none and
// builds the federation and HTTP layers. It does not listen yet.
func Open(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var opts []store.Option
	if cfg.Now != nil {
		opts = append(opts, store.WithClock(cfg.Now))
	}
	st, err := store.Open(cfg.DB, opts...)
	if err != nil {
		return nil, err
	}
	metrics := handlers.NewMetrics(st)
	fed, err := federation.New(ctx, federation.Config{
		BaseURL: cfg.URL, Store: st, Logger: cfg.Logger, AllowPrivate: cfg.AllowPrivate,
		Now: cfg.Now, NewID: cfg.NewID, Workers: cfg.Workers, Retry: cfg.Retry, DeliveryLease: cfg.DeliveryLease, Metrics: metrics,
		InboxRate: cfg.InboxRate, InboxBurst: cfg.InboxBurst, TallyDebounce: cfg.TallyDebounce,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	tmpl, err := templates.Parse()
	if err != nil {
		st.Close()
		return nil, err
	}
	a := &App{Config: cfg, Store: st, Federation: fed}
	a.Handler = handlers.New(handlers.Config{Store: st, Federation: fed, Templates: tmpl, Logger: cfg.Logger, Metrics: metrics, MetricsToken: cfg.MetricsToken}).Handler()
	return a, nil
}

// EnsureFirstCoop creates the coop named in the config when the instance
// has no coop yet, with an admin API token, and returns both; it returns a
// nil coop when coops already exist.
func (a *App) EnsureFirstCoop(ctx context.Context) (*coopfed.Coop, string, error) {
	coops, err := a.Store.Coops(ctx)
	if err != nil || len(coops) > 0 {
		return nil, "", err
	}
	name := a.Config.Coop
	if name == "" {
		name = "coop"
	}
	c, err := federation.NewCoop(ctx, a.Store, name, "")
	if coopfed.ErrorCode(err) == coopfed.ECONFLICT {
		// Another process on the same PostgreSQL database created it
		// between our look and our insert.
		if _, ferr := a.Store.CoopByName(ctx, name); ferr == nil {
			return nil, "", nil
		}
	}
	if err != nil {
		return nil, "", err
	}
	var token string
	err = a.Store.Update(ctx, func(tx *store.Tx) error {
		if token, err = tx.CreateToken(c.ID, "first admin"); err != nil || a.Config.FirstAdmin == "" {
			return err
		}
		if err := tx.CreateMember(&coopfed.Member{CoopID: c.ID, Username: a.Config.FirstAdmin, Role: coopfed.RoleAdmin}); err != nil {
			return err
		}
		password := store.NewPassword()
		if err := tx.SetPassword(c.ID, a.Config.FirstAdmin, password); err != nil {
			return err
		}
		a.FirstAdminPassword = password
		return nil
	})
	return c, token, err
}

// Start listens on the configured address (or on l when given) and starts
// serving and delivering in the background.
func (a *App) Start(ctx context.Context, l net.Listener) error {
	if l == nil {
		var err error
		if l, err = net.Listen("tcp", a.Config.Addr); err != nil {
			return fmt.Errorf("app: listen: %w", err)
		}
	}
	a.listener = l
	ctx, a.cancel = context.WithCancel(ctx)
	a.Federation.Start(ctx)
	a.server = &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Config.Logger.Handler(), slog.LevelWarn),
	}
	a.served = make(chan error, 1)
	go func() { a.served <- a.server.Serve(l) }()
	if len(a.Config.Follow) > 0 {
		go a.bootstrapFollows(ctx)
	}
	return nil
}

// bootstrapFollows makes the first coop follow the configured actors,
// retrying each with backoff for up to an hour while the peer is not up.
func (a *App) bootstrapFollows(ctx context.Context) {
	c, err := a.Store.CoopByName(ctx, a.Config.Coop)
	if err != nil {
		a.Config.Logger.Error("no coop to follow from", "coop", a.Config.Coop, "err", err)
		return
	}
	for _, target := range a.Config.Follow {
		wait := 2 * time.Second
		for deadline := time.Now().Add(time.Hour); time.Now().Before(deadline); {
			fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err := a.Federation.Follow(fctx, c, target)
			cancel()
			if err == nil {
				a.Config.Logger.Info("following", "coop", c.Name, "actor", target)
				break
			}
			a.Config.Logger.Info("cannot follow yet, will retry", "coop", c.Name, "actor", target, "err", err, "in", wait)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(wait*2, time.Minute)
		}
	}
}

// Addr returns the address the instance listens on.
func (a *App) Addr() string { return a.listener.Addr().String() }

// Wait blocks until the server stops serving.
func (a *App) Wait() error {
	err := <-a.served
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting requests, lets requests and deliveries in
// flight finish within ctx, leaves the rest queued for the next start and
// closes the database.
func (a *App) Shutdown(ctx context.Context) error {
	a.shutdownOnce.Do(func() { a.shutdownErr = a.shutdown(ctx) })
	return a.shutdownErr
}

func (a *App) shutdown(ctx context.Context) error {
	var errs []error
	if a.server != nil {
		errs = append(errs, a.server.Shutdown(ctx))
		// Why: Shutdown closes only the listeners Serve has begun to
		// track, and Serve runs in a goroutine that may not have started
		// yet; the port must be free when Shutdown returns, for a restart
		// on the same address. A second Close by Serve is harmless.
		if err := a.listener.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, a.Federation.Stop(ctx))
	if a.cancel != nil {
		a.cancel()
	}
	errs = append(errs, a.Store.Close())
	return errors.Join(errs...)
}
