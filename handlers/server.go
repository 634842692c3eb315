// Package handlers serves coopfed over HTTP: ActivityPub documents and
// inboxes, discovery endpoints, the JSON API and the HTML pages, on one
// gorilla/mux router. One URL answers HTML or ActivityStreams JSON by the
// request's Accept header.
package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/store"
	"github.com/coopfed/coopfed/templates"
	"github.com/gorilla/mux"
)

// Config configures a Server.
type Config struct {
	Store      *store.Store
	Federation *federation.Federation
	Templates  *templates.Templates
	Logger     *slog.Logger
	// Metrics is served at /metrics; nil for none.
	Metrics *Metrics
	// MetricsToken, when set, must be presented as a bearer token to read
	// /metrics.
	MetricsToken string
}

// Server holds what the handlers need.
type Server struct {
	store *store.Store
	fed   *federation.Federation
	iris  *federation.IRIs
	tmpl  *templates.Templates
	log   *slog.Logger

	metrics      *Metrics
	metricsToken string

	ui uiState // the web interface's login limiter
}

// New returns a Server.
func New(cfg Config) *Server {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{store: cfg.Store, fed: cfg.Federation, iris: cfg.Federation.IRIs(), tmpl: cfg.Templates, log: log, metrics: cfg.Metrics, metricsToken: cfg.MetricsToken}
}

// Handler returns the instance's router wrapped in logging and recovery.
func (s *Server) Handler() http.Handler {
	r := mux.NewRouter()
	r.StrictSlash(false)
	s.routeOperations(r)
	s.routeDiscovery(r)
	s.routeActivityPub(r)
	api := r.PathPrefix("/api/v1").Subrouter()
	s.routeAPI(api)
	for _, add := range featureRoutes {
		add(s, r, api)
	}
	s.routePages(r)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.error(w, r, notFoundError("no such page"))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.error(w, r, &statusError{status: http.StatusMethodNotAllowed, msg: "method not allowed"})
	})
	return s.recover(s.logRequests(r))
}

// logRequests logs each request with an id (also returned in X-Request-Id).
// Only method, path and status are logged: never headers, so no signature
// or bearer token reaches the log.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			var b [8]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if s.metrics != nil {
			s.metrics.request(rec.status)
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Duration("took", time.Since(start)))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// featureRoutes are added by the files of features (market, governance):
// each registers, from an init function, a function that adds its page
// routes to r and its API routes to api.
var featureRoutes []func(s *Server, r, api *mux.Router)
