package handlers

import (
	"net/http"
	"strings"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/gorilla/mux"
)

func (s *Server) routeDiscovery(r *mux.Router) {
	r.HandleFunc(federation.RouteWebFinger, s.getWebFinger).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(federation.RouteNodeInfoWK, s.getNodeInfoLinks).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(federation.RouteNodeInfo, s.getNodeInfo).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(federation.RouteHostMeta, s.getHostMeta).Methods(http.MethodGet, http.MethodHead)
}

// cors lets browser-based clients read discovery documents, as Mastodon
// does for WebFinger and NodeInfo.
func cors(w http.ResponseWriter) { w.Header().Set("Access-Control-Allow-Origin", "*") }

func (s *Server) getWebFinger(w http.ResponseWriter, r *http.Request) {
	cors(w)
	resource := r.URL.Query().Get("resource")
	if resource == "" {
		// WebFinger clients read JSON, whatever they send in Accept.
		writeJSON(w, http.StatusBadRequest, "application/json; charset=utf-8", map[string]any{"error": "the resource parameter is required"})
		return
	}
	name, instance := s.fed.WebFingerResource(resource)
	if instance {
		writeJSON(w, http.StatusOK, "application/jrd+json; charset=utf-8", s.fed.InstanceWebFinger())
		return
	}
	if name == "" {
		writeJSON(w, http.StatusNotFound, "application/json; charset=utf-8", map[string]any{"error": "no such account on this server"})
		return
	}
	c, err := s.store.LocalActorByName(r.Context(), name)
	if err == nil && strings.Contains(resource, "://") && s.fed.ActorIRI(c) != resource {
		// A coop's name under /groups/ (or the reverse) names nobody.
		err = coopfed.Errorf(coopfed.ENOTFOUND, "no such account on this server")
	}
	if err != nil {
		status, msg, _ := errorStatus(err)
		writeJSON(w, status, "application/json; charset=utf-8", map[string]any{"error": msg})
		return
	}
	writeJSON(w, http.StatusOK, "application/jrd+json; charset=utf-8", s.fed.WebFinger(c))
}

func (s *Server) getNodeInfoLinks(w http.ResponseWriter, r *http.Request) {
	cors(w)
	writeJSON(w, http.StatusOK, "application/json; charset=utf-8", s.fed.NodeInfoLinks())
}

func (s *Server) getNodeInfo(w http.ResponseWriter, r *http.Request) {
	cors(w)
	coops, err := s.store.Coops(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	posts, err := s.store.CountObjects(r.Context(), 0, "")
	if err != nil {
		s.error(w, r, err)
		return
	}
	st, err := s.store.InstanceStatistics(r.Context(), s.store.Now())
	if err != nil {
		s.error(w, r, err)
		return
	}
	groups, err := s.store.Groups(r.Context(), 0)
	if err != nil {
		s.error(w, r, err)
		return
	}
	doc := s.fed.NodeInfo(federation.NodeInfoUsage{Coops: int64(len(coops)), ActiveCoops: st.ActiveCoops, LocalPosts: posts, Market: st, Groups: int64(len(groups))}, false)
	writeJSON(w, http.StatusOK, `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"; charset=utf-8`, doc)
}

func (s *Server) getHostMeta(w http.ResponseWriter, r *http.Request) {
	cors(w)
	w.Header().Set("Content-Type", "application/xrd+xml; charset=utf-8")
	w.Write(s.fed.HostMeta())
}
