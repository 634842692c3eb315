package handlers

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
)

func (s *Server) routeOperations(r *mux.Router) {
	r.HandleFunc("/healthz", s.getHealthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", s.getReadyz).Methods(http.MethodGet, http.MethodHead)
	if s.metrics != nil {
		r.Handle("/metrics", s.protectMetrics(s.metrics.Handler())).Methods(http.MethodGet)
	}
}

// getHealthz answers 200 while the process serves HTTP (liveness).
func (s *Server) getHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// getReadyz answers 200 when the database answers (readiness).
func (s *Server) getReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("readiness check failed", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("database unavailable\n"))
		return
	}
	w.Write([]byte("ready\n"))
}

// protectMetrics requires the metrics token when one is configured.
func (s *Server) protectMetrics(next http.Handler) http.Handler {
	if s.metricsToken == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		// Why: constant-time comparison so the token cannot be guessed
		// byte by byte from response times.
		if subtle.ConstantTimeCompare([]byte(token), []byte(s.metricsToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "a bearer token is required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
