package handlers

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
	"github.com/gorilla/mux"
)

// The JSON API of market groups: a coop creates and runs groups (its token
// manages them), joins groups and relays, and moderates.

func init() {
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		api.HandleFunc("/coops/{coop}/groups", s.apiHandler(s.apiCreateGroup)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/groups", s.apiHandler(s.apiCoopGroups)).Methods(http.MethodGet)
		api.HandleFunc("/groups/{group}", s.apiHandler(s.apiGetGroup)).Methods(http.MethodGet)
		api.HandleFunc("/groups/{group}", s.apiHandler(s.apiUpdateGroup)).Methods(http.MethodPatch)
		api.HandleFunc("/groups/{group}/members", s.apiHandler(s.apiGroupMembers)).Methods(http.MethodGet)
		api.HandleFunc("/groups/{group}/members/approve", s.apiHandler(s.apiAnswerMember(true))).Methods(http.MethodPost)
		api.HandleFunc("/groups/{group}/members/reject", s.apiHandler(s.apiAnswerMember(false))).Methods(http.MethodPost)
		api.HandleFunc("/groups/{group}/posts", s.apiHandler(s.apiGroupPosts)).Methods(http.MethodGet)
		api.HandleFunc("/groups/{group}/remove", s.apiHandler(s.apiRemoveFromGroup)).Methods(http.MethodPost)
		api.HandleFunc("/groups/{group}/bans", s.apiHandler(s.apiGroupBans)).Methods(http.MethodGet)
		api.HandleFunc("/groups/{group}/bans", s.apiHandler(s.apiBan)).Methods(http.MethodPost)
		api.HandleFunc("/groups/{group}/bans", s.apiHandler(s.apiUnban)).Methods(http.MethodDelete)
		api.HandleFunc("/coops/{coop}/memberships", s.apiHandler(s.apiJoinGroup)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/memberships", s.apiHandler(s.apiMemberships)).Methods(http.MethodGet)
		api.HandleFunc("/coops/{coop}/memberships", s.apiHandler(s.apiLeaveGroup)).Methods(http.MethodDelete)
	})
}

// groupInput is the body that creates a group or changes one (absent
// fields keep their value).
type groupInput struct {
	Name        *string   `json:"name"`
	DisplayName *string   `json:"display_name"`
	Topic       *string   `json:"topic"`
	Region      *string   `json:"region"`
	Membership  *string   `json:"membership"`
	Moderators  *[]string `json:"moderators"`
}

// apply copies the input into g, resolving moderators given as handles.
func (s *Server) applyGroupInput(ctx context.Context, in groupInput, g *coopfed.Group) error {
	fields := map[string]string{}
	if in.Name != nil {
		g.Name = strings.TrimSpace(*in.Name)
	}
	if in.DisplayName != nil {
		g.DisplayName = strings.TrimSpace(*in.DisplayName)
	}
	if in.Topic != nil {
		g.Summary = strings.TrimSpace(*in.Topic)
	}
	if in.Region != nil {
		g.Region = strings.TrimSpace(*in.Region)
	}
	if in.Membership != nil {
		switch *in.Membership {
		case coopfed.MembershipOpen:
			g.Locked = false
		case coopfed.MembershipApproved:
			g.Locked = true
		default:
			fields["membership"] = "open or approved"
		}
	}
	if in.Moderators != nil {
		mods, err := s.resolveActors(ctx, *in.Moderators)
		if err != nil {
			fields["moderators"] = coopfed.ErrorMessage(err)
		}
		g.Moderators = mods
	}
	return coopfed.FieldErrors(fields)
}

// resolveActors turns handles (name@host, a local coop's included) and
// IRIs into actor IRIs.
func (s *Server) resolveActors(ctx context.Context, list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, v := range list {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		iri, err := s.resolveActor(ctx, v)
		if err != nil {
			return nil, err
		}
		out = append(out, iri)
	}
	return out, nil
}

// resolveActor turns one handle or IRI into an actor IRI.
func (s *Server) resolveActor(ctx context.Context, v string) (string, error) {
	if strings.Contains(v, "://") {
		if !coopfed.ValidActorIRI(v) {
			return "", coopfed.Errorf(coopfed.EINVALID, "%q is not an actor IRI", v)
		}
		return v, nil
	}
	h := strings.TrimPrefix(strings.TrimPrefix(v, "acct:"), "@")
	if user, host, ok := strings.Cut(h, "@"); ok && (strings.EqualFold(host, s.iris.Host()) || strings.EqualFold(host, s.iris.Domain())) {
		c, err := s.store.LocalActorByName(ctx, strings.ToLower(user))
		if err != nil {
			return "", coopfed.Errorf(coopfed.EINVALID, "no account %s on this instance", v)
		}
		return s.fed.ActorIRI(c), nil
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	a, err := s.fed.LookupHandle(lctx, h)
	if err != nil {
		return "", coopfed.Errorf(coopfed.EINVALID, "%s: %s", v, coopfed.ErrorMessage(err))
	}
	return a.IRI, nil
}

func (s *Server) groupJSON(ctx context.Context, g *coopfed.Group) map[string]any {
	mods, _ := s.fed.GroupModerators(ctx, g)
	if mods == nil {
		mods = []string{}
	}
	members, _ := s.store.CountFollowers(ctx, g.ID, coopfed.FollowAccepted)
	return map[string]any{
		"name": g.Name, "handle": g.Name + "@" + s.iris.Host(), "id": s.iris.Group(g.Name),
		"display_name": g.DisplayName, "topic": g.Summary, "region": g.Region, "membership": g.Membership(),
		"moderators": mods, "members": members, "created_at": g.CreatedAt.UTC().Format(time.RFC3339),
	}
}

func (s *Server) apiCreateGroup(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in groupInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Name == nil {
		return coopfed.FieldErrors(map[string]string{"name": "a group needs a name (its handle)"})
	}
	g := &coopfed.Group{}
	if err := s.applyGroupInput(r.Context(), in, g); err != nil {
		return err
	}
	if err := s.fed.CreateGroup(r.Context(), c, g); err != nil {
		return err
	}
	w.Header().Set("Location", s.iris.Group(g.Name))
	writeJSON(w, http.StatusCreated, marketJSON, s.groupJSON(r.Context(), g))
	return nil
}

func (s *Server) apiCoopGroups(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	groups, err := s.store.Groups(r.Context(), c.ID)
	if err != nil {
		return err
	}
	items := make([]map[string]any, 0, len(groups))
	for _, g := range groups {
		items = append(items, s.groupJSON(r.Context(), g))
	}
	writeJSON(w, http.StatusOK, marketJSON, map[string]any{"items": items})
	return nil
}

// authGroup authenticates a coop's token for the group in the path: the
// coop that runs it always; a local coop named as a moderator when
// moderate is set (moderators take listings out and ban, but only the
// owner changes the group).
func (s *Server) authGroup(r *http.Request, moderate bool) (*coopfed.Coop, *coopfed.Group, error) {
	c, err := s.authCoop(r)
	if err != nil {
		return nil, nil, err
	}
	g, err := s.store.GroupByName(r.Context(), mux.Vars(r)["group"])
	if err != nil {
		return nil, nil, err
	}
	if g.OwnerID == c.ID {
		return c, g, nil
	}
	if moderate {
		if ok, err := s.fed.IsModerator(r.Context(), g, s.iris.Coop(c.Name)); err != nil {
			return nil, nil, err
		} else if ok {
			return c, g, nil
		}
	}
	return nil, nil, coopfed.Errorf(coopfed.EFORBIDDEN, "this token's coop does not run group %s", g.Name)
}

func (s *Server) apiGetGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := s.store.GroupByName(r.Context(), mux.Vars(r)["group"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, marketJSON, s.groupJSON(r.Context(), g))
	return nil
}

func (s *Server) apiUpdateGroup(w http.ResponseWriter, r *http.Request) error {
	_, g, err := s.authGroup(r, false)
	if err != nil {
		return err
	}
	var in groupInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Name != nil && strings.TrimSpace(*in.Name) != g.Name {
		return coopfed.FieldErrors(map[string]string{"name": "a group's name is its handle and cannot change"})
	}
	if err := s.applyGroupInput(r.Context(), in, g); err != nil {
		return err
	}
	if err := s.fed.UpdateGroup(r.Context(), g); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, marketJSON, s.groupJSON(r.Context(), g))
	return nil
}

func (s *Server) apiGroupMembers(w http.ResponseWriter, r *http.Request) error {
	_, g, err := s.authGroup(r, true)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	fields := map[string]string{}
	state := q.Get("state")
	if state != "" && state != coopfed.FollowPending && state != coopfed.FollowAccepted {
		fields["state"] = "pending or accepted"
	}
	limit, offset := pageParams(q, fields)
	if err := coopfed.FieldErrors(fields); err != nil {
		return err
	}
	list, err := s.store.Followers(r.Context(), store.FollowFilter{CoopID: g.ID, State: state, Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	items := make([]map[string]any, 0, len(list))
	for _, f := range list {
		items = append(items, s.followJSON(r.Context(), f.ActorIRI, f.Actor, f.State, f.CreatedAt))
	}
	writeJSON(w, http.StatusOK, marketJSON, pageJSON(items, limit, offset))
	return nil
}

// followJSON describes an account in a followers or members list; a local
// coop is named by its handle here.
func (s *Server) followJSON(ctx context.Context, iri string, a *coopfed.RemoteActor, state string, since time.Time) map[string]any {
	out := map[string]any{"actor": iri, "state": state, "since": since.UTC().Format(time.RFC3339)}
	if a != nil {
		out["handle"], out["name"], out["type"] = a.Handle(), a.Name, a.Type
	} else if c, err := s.fed.LocalActor(ctx, iri); err == nil {
		out["handle"], out["name"], out["type"] = c.Name+"@"+s.iris.Host(), c.Title(), "Organization"
	}
	return out
}

func (s *Server) apiAnswerMember(approve bool) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		_, g, err := s.authGroup(r, true)
		if err != nil {
			return err
		}
		var in struct {
			Actor string `json:"actor"`
		}
		if err := decode(r, &in); err != nil {
			return err
		}
		if in.Actor == "" {
			return coopfed.FieldErrors(map[string]string{"actor": "the IRI of the account that asked to join"})
		}
		if err := s.fed.AnswerMember(r.Context(), g, in.Actor, approve); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *Server) apiGroupPosts(w http.ResponseWriter, r *http.Request) error {
	_, g, err := s.authGroup(r, true)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	fields := map[string]string{}
	state := q.Get("state")
	switch state {
	case "", coopfed.PostOpen, coopfed.PostClosed, coopfed.PostDeleted, coopfed.PostRemoved:
	default:
		fields["state"] = "open, closed, deleted or removed"
	}
	limit, offset := pageParams(q, fields)
	if err := coopfed.FieldErrors(fields); err != nil {
		return err
	}
	posts, err := s.store.GroupPosts(r.Context(), store.GroupPostFilter{GroupID: g.ID, State: state, Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	items := make([]map[string]any, 0, len(posts))
	for _, p := range posts {
		items = append(items, map[string]any{"object": p.ObjectIRI, "actor": p.ActorIRI, "announce": p.AnnounceIRI,
			"kind": p.Kind, "category": p.Category, "state": p.State, "changed_at": p.ChangedAt.UTC().Format(time.RFC3339)})
	}
	writeJSON(w, http.StatusOK, marketJSON, pageJSON(items, limit, offset))
	return nil
}

func (s *Server) apiRemoveFromGroup(w http.ResponseWriter, r *http.Request) error {
	_, g, err := s.authGroup(r, true)
	if err != nil {
		return err
	}
	var in struct {
		Object string `json:"object"`
		Reason string `json:"reason"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Object == "" {
		return coopfed.FieldErrors(map[string]string{"object": "the IRI of the listing to take out"})
	}
	if len([]rune(in.Reason)) > 500 {
		return coopfed.FieldErrors(map[string]string{"reason": "at most 500 characters"})
	}
	if err := s.fed.RemoveFromGroup(r.Context(), g, in.Object, in.Reason); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiGroupBans(w http.ResponseWriter, r *http.Request) error {
	_, g, err := s.authGroup(r, true)
	if err != nil {
		return err
	}
	bans, err := s.store.GroupBans(r.Context(), g.ID)
	if err != nil {
		return err
	}
	items := make([]map[string]any, 0, len(bans))
	for _, b := range bans {
		items = append(items, map[string]any{"actor": b.ActorIRI, "reason": b.Reason, "since": b.CreatedAt.UTC().Format(time.RFC3339)})
	}
	writeJSON(w, http.StatusOK, marketJSON, map[string]any{"items": items})
	return nil
}

func (s *Server) apiBan(w http.ResponseWriter, r *http.Request) error {
	_, g, err := s.authGroup(r, true)
	if err != nil {
		return err
	}
	var in struct {
		Actor  string `json:"actor"`
		Reason string `json:"reason"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if len([]rune(in.Reason)) > 500 {
		return coopfed.FieldErrors(map[string]string{"reason": "at most 500 characters"})
	}
	actor, err := s.resolveActor(r.Context(), in.Actor)
	if err != nil {
		return coopfed.FieldErrors(map[string]string{"actor": coopfed.ErrorMessage(err)})
	}
	if err := s.fed.BanFromGroup(r.Context(), g, actor, in.Reason); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiUnban(w http.ResponseWriter, r *http.Request) error {
	_, g, err := s.authGroup(r, true)
	if err != nil {
		return err
	}
	actor := r.URL.Query().Get("actor")
	if actor == "" {
		return coopfed.FieldErrors(map[string]string{"actor": "the IRI of the banned account"})
	}
	if err := s.fed.UnbanFromGroup(r.Context(), g, actor); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- a coop's memberships of groups and relays ---

func (s *Server) apiJoinGroup(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in struct {
		Handle string `json:"handle"`
		Group  string `json:"group"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	target := in.Group
	if target == "" {
		target = in.Handle
	}
	if target == "" {
		return coopfed.FieldErrors(map[string]string{"handle": "a group's handle (name@host) or the IRI of a group or relay"})
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	fl, err := s.fed.JoinGroup(ctx, c, target)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, marketJSON, map[string]any{"group": fl.ActorIRI, "state": fl.State})
	return nil
}

// membershipTypes are the actor types a membership is of: groups, and
// relays (LitePub and Mastodon relays are Applications or Services).
var membershipTypes = map[string]bool{"Group": true, "Application": true, "Service": true}

func (s *Server) apiMemberships(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	items, err := s.memberships(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, marketJSON, map[string]any{"items": items})
	return nil
}

// memberships lists the groups and relays a coop has joined or asked to.
func (s *Server) memberships(ctx context.Context, c *coopfed.Coop) ([]map[string]any, error) {
	list, err := s.store.Followings(ctx, store.FollowFilter{CoopID: c.ID, Limit: 1000})
	if err != nil {
		return nil, err
	}
	items := []map[string]any{}
	for _, f := range list {
		if f.Actor != nil && membershipTypes[f.Actor.Type] {
			items = append(items, s.followJSON(ctx, f.ActorIRI, f.Actor, f.State, f.CreatedAt))
		} else if f.Actor == nil {
			if g, err := s.fed.LocalActor(ctx, f.ActorIRI); err == nil && g.IsGroup() {
				m := s.followJSON(ctx, f.ActorIRI, nil, f.State, f.CreatedAt)
				m["type"] = "Group"
				items = append(items, m)
			}
		}
	}
	return items, nil
}

func (s *Server) apiLeaveGroup(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	group := r.URL.Query().Get("group")
	if group == "" {
		return coopfed.FieldErrors(map[string]string{"group": "the IRI of the group or relay to leave"})
	}
	if err := s.fed.LeaveGroup(r.Context(), c, group); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
