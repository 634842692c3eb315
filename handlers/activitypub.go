package handlers

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/store"
	"github.com/gorilla/mux"
)

// activityJSON is the media type we serve ActivityStreams documents as.
const activityJSON = "application/activity+json; charset=utf-8"

// wantsActivity reports whether the client asked for ActivityStreams JSON
// (Accept: application/activity+json or application/ld+json; profile=...).
func wantsActivity(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/activity+json") || strings.Contains(accept, "application/ld+json")
}

// wantsJSON reports whether the client prefers any JSON over HTML.
func wantsJSON(r *http.Request) bool {
	return wantsActivity(r) || strings.Contains(r.Header.Get("Accept"), "application/json")
}

func (s *Server) routeActivityPub(r *mux.Router) {
	r.HandleFunc(federation.RouteSharedInbox, s.postInbox).Methods(http.MethodPost)
	r.HandleFunc(federation.RouteCoopInbox, s.postInbox).Methods(http.MethodPost)
	r.HandleFunc(federation.RouteCoopInbox, s.getInbox).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(federation.RouteInstanceActor, s.getInstanceActor).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(federation.RouteInstanceActor+"/outbox", s.getInstanceOutbox).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(federation.RouteCoopOutbox, s.getOutbox).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(federation.RouteCoopFollowers, s.getFollowCollection(true)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(federation.RouteCoopFollowing, s.getFollowCollection(false)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(federation.RouteActivity, s.getActivity).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(federation.RouteNoteActivity, s.getActivity).Methods(http.MethodGet, http.MethodHead)
}

// postInbox answers 202 to an accepted activity; see federation.PostInbox
// for the checks.
func (s *Server) postInbox(w http.ResponseWriter, r *http.Request) {
	if err := s.fed.PostInbox(r.Context(), r, mux.Vars(r)["name"]); err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// getInbox serves a coop's inbox to a GET. ActivityPub makes the inbox an
// OrderedCollection whose contents a server filters by who asks; what a
// coop received is its own business, so every reader sees it empty.
func (s *Server) getInbox(w http.ResponseWriter, r *http.Request) {
	c, err := s.store.CoopByName(r.Context(), mux.Vars(r)["name"])
	if err != nil {
		s.error(w, r, err)
		return
	}
	doc, err := s.fed.CollectionPage(s.iris.CoopInbox(c.Name), 1, 0, nil)
	if err != nil {
		s.error(w, r, err)
		return
	}
	doc["id"], doc["type"] = s.iris.CoopInbox(c.Name), "OrderedCollection"
	delete(doc, "partOf")
	s.writeActivity(w, r, doc)
}

func (s *Server) writeActivity(w http.ResponseWriter, r *http.Request, doc any) {
	body, err := federation.Marshal(doc)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", activityJSON)
	// Why: the same URL serves HTML and JSON; caches must key on Accept.
	w.Header().Add("Vary", "Accept")
	w.Write(body)
}

func (s *Server) getInstanceActor(w http.ResponseWriter, r *http.Request) {
	doc, err := s.fed.InstanceActor()
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeActivity(w, r, doc)
}

func (s *Server) getInstanceOutbox(w http.ResponseWriter, r *http.Request) {
	doc, err := s.fed.Collection(s.iris.InstanceActor()+"/outbox", 0)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeActivity(w, r, doc)
}

// getCoopActor serves the coop's actor document (for ActivityPub clients)
// or its profile page (for browsers).
func (s *Server) getCoopActor(w http.ResponseWriter, r *http.Request, c *coopfed.Coop) {
	doc, err := s.fed.CoopActor(c)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeActivity(w, r, doc)
}

// page returns the ?page= number, 0 when absent (the collection itself).
func page(r *http.Request) (int, error) {
	v := r.URL.Query().Get("page")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100000 {
		return 0, coopfed.Errorf(coopfed.EINVALID, "page must be a positive number")
	}
	return n, nil
}

func (s *Server) getOutbox(w http.ResponseWriter, r *http.Request) {
	c, err := s.store.CoopByName(r.Context(), mux.Vars(r)["name"])
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.serveOutbox(w, r, s.iris.CoopOutbox(c.Name), c.ID)
}

func (s *Server) getFollowCollection(followers bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.store.CoopByName(r.Context(), mux.Vars(r)["name"])
		if err != nil {
			s.error(w, r, err)
			return
		}
		id := s.iris.CoopFollowing(c.Name)
		if followers {
			id = s.iris.CoopFollowers(c.Name)
		}
		s.serveFollows(w, r, id, c.ID, followers)
	}
}

// getActivity serves one of our public activities by its IRI.
func (s *Server) getActivity(w http.ResponseWriter, r *http.Request) {
	iri := s.iris.Base() + r.URL.Path
	a, err := s.store.ActivityByIRI(r.Context(), iri)
	if err != nil || !a.Public {
		s.error(w, r, notFoundError("no such activity"))
		return
	}
	w.Header().Set("Content-Type", activityJSON)
	w.Write(a.JSON)
}

// getNoteDocument serves a note as ActivityStreams JSON: 410 with a
// Tombstone once deleted.
func (s *Server) getNoteDocument(w http.ResponseWriter, r *http.Request, o *store.Object) {
	if o.DeletedAt != nil {
		body, _ := federation.Marshal(s.fed.Tombstone(o.IRI, o.Type, *o.DeletedAt))
		w.Header().Set("Content-Type", activityJSON)
		w.WriteHeader(http.StatusGone)
		w.Write(body)
		return
	}
	w.Header().Set("Content-Type", activityJSON)
	w.Header().Add("Vary", "Accept")
	w.Write(o.JSON)
}
