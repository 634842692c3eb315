package handlers

import (
	"net/http"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/store"
	"github.com/gorilla/mux"
)

// The ActivityPub side of market groups: the Group actor (a page for
// browsers), its inbox, outbox of Announces, members (followers),
// following (relays) and moderators.

func init() {
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		r.HandleFunc(federation.RouteGroup, s.getGroup).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(federation.RouteGroupInbox, s.postGroupInbox).Methods(http.MethodPost)
		r.HandleFunc(federation.RouteGroupInbox, s.getGroupInbox).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(federation.RouteGroupOutbox, s.getGroupOutbox).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(federation.RouteGroupFollowers, s.getGroupFollows(true)).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(federation.RouteGroupFollowing, s.getGroupFollows(false)).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(federation.RouteGroupModerators, s.getGroupModerators).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(federation.RouteGroupAvatar, s.getGroupAvatar).Methods(http.MethodGet, http.MethodHead)
	})
}

// group returns the local group named in the path.
func (s *Server) group(r *http.Request) (*coopfed.Group, error) {
	return s.store.GroupByName(r.Context(), mux.Vars(r)["name"])
}

// getGroup serves the group's actor document to ActivityPub clients and
// its page to browsers.
func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) {
	g, err := s.group(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if !wantsActivity(r) {
		s.groupPage(w, r, g)
		return
	}
	doc, err := s.fed.GroupActor(g)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeActivity(w, r, doc)
}

func (s *Server) postGroupInbox(w http.ResponseWriter, r *http.Request) {
	if err := s.fed.PostGroupInbox(r.Context(), r, mux.Vars(r)["name"]); err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// getGroupInbox answers a GET of the inbox with an empty collection, as a
// coop's does: what a group received is its own business.
func (s *Server) getGroupInbox(w http.ResponseWriter, r *http.Request) {
	g, err := s.group(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	doc, err := s.fed.CollectionPage(s.iris.GroupInbox(g.Name), 1, 0, nil)
	if err != nil {
		s.error(w, r, err)
		return
	}
	doc["id"], doc["type"] = s.iris.GroupInbox(g.Name), "OrderedCollection"
	delete(doc, "partOf")
	s.writeActivity(w, r, doc)
}

// getGroupOutbox serves the group's Announces, newest first; members
// that join read it to fill their market.
func (s *Server) getGroupOutbox(w http.ResponseWriter, r *http.Request) {
	g, err := s.group(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.serveOutbox(w, r, s.iris.GroupOutbox(g.Name), g.ID)
}

// serveOutbox serves the public activities of a local actor as a paged
// OrderedCollection.
func (s *Server) serveOutbox(w http.ResponseWriter, r *http.Request, id string, actorID int64) {
	ctx := r.Context()
	n, err := page(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	total, err := s.store.CountOutbox(ctx, actorID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if n == 0 {
		doc, err := s.fed.Collection(id, total)
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.writeActivity(w, r, doc)
		return
	}
	acts, err := s.store.Outbox(ctx, actorID, (n-1)*federation.PageSize, federation.PageSize)
	if err != nil {
		s.error(w, r, err)
		return
	}
	items := make([]any, 0, len(acts))
	for _, a := range acts {
		doc, err := federation.StoredDocument(a.JSON)
		if err != nil {
			s.error(w, r, err)
			return
		}
		items = append(items, doc)
	}
	doc, err := s.fed.CollectionPage(id, n, total, items)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeActivity(w, r, doc)
}

// getGroupFollows serves a group's members (followers) or the relays it
// follows, accepted ones only.
func (s *Server) getGroupFollows(followers bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		g, err := s.group(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		id := s.iris.GroupFollowing(g.Name)
		if followers {
			id = s.iris.GroupFollowers(g.Name)
		}
		s.serveFollows(w, r, id, g.ID, followers)
	}
}

// serveFollows serves the accepted followers (or following) of a local
// actor as a paged OrderedCollection of actor IRIs.
func (s *Server) serveFollows(w http.ResponseWriter, r *http.Request, id string, actorID int64, followers bool) {
	ctx := r.Context()
	n, err := page(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	count := s.store.CountFollowing
	if followers {
		count = s.store.CountFollowers
	}
	// Only accepted relations are public; pending requests are the
	// actor's business.
	total, err := count(ctx, actorID, coopfed.FollowAccepted)
	if err != nil {
		s.error(w, r, err)
		return
	}
	var doc map[string]any
	if n == 0 {
		doc, err = s.fed.Collection(id, total)
	} else {
		var items []any
		filter := store.FollowFilter{CoopID: actorID, State: coopfed.FollowAccepted, Offset: (n - 1) * federation.PageSize, Limit: federation.PageSize}
		if followers {
			list, lerr := s.store.Followers(ctx, filter)
			err = lerr
			for _, f := range list {
				items = append(items, f.ActorIRI)
			}
		} else {
			list, lerr := s.store.Followings(ctx, filter)
			err = lerr
			for _, f := range list {
				items = append(items, f.ActorIRI)
			}
		}
		if err == nil {
			doc, err = s.fed.CollectionPage(id, n, total, items)
		}
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeActivity(w, r, doc)
}

func (s *Server) getGroupModerators(w http.ResponseWriter, r *http.Request) {
	g, err := s.group(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	doc, err := s.fed.ModeratorsCollection(r.Context(), g)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeActivity(w, r, doc)
}

func (s *Server) getGroupAvatar(w http.ResponseWriter, r *http.Request) {
	g, err := s.group(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(identicon("group:" + g.Name))
}
