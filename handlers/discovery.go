package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/coopfed/coopfed/store"
	"github.com/gorilla/mux"
)

// Discovery of the shared market: the groups and relays this instance
// knows, and a directory of the coops seen in them, each a click away
// from a follow.

func init() {
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		api.HandleFunc("/groups", s.apiHandler(s.apiKnownGroups)).Methods(http.MethodGet)
		api.HandleFunc("/directory", s.apiHandler(s.apiDirectory)).Methods(http.MethodGet)
		r.HandleFunc(federation.RouteGroups, s.getGroups).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(federation.RouteDirectory, s.getDirectory).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(routeDashboard+"/directory/follow", s.uiPost(s.uiFollowFromDirectory)).Methods(http.MethodPost)
	})
}

// knownGroup is a group or relay as the groups page and API show it.
type knownGroup struct {
	IRI, Name, Handle, URL, Topic, Region, Kind string
	Local                                       bool
	Members, Joined, Held, Coops                int64
}

func (s *Server) knownGroups(ctx context.Context) ([]knownGroup, []store.DirectoryEntry, error) {
	list, err := s.store.KnownGroups(ctx, s.iris.Group)
	if err != nil {
		return nil, nil, err
	}
	dir, err := s.store.Directory(ctx)
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]int64{}
	for _, e := range dir {
		for _, g := range e.Groups {
			seen[g]++
		}
		for _, name := range e.MemberOf {
			if g := s.iris.Group(name); !contains(e.Groups, g) {
				seen[g]++
			}
		}
	}
	out := make([]knownGroup, 0, len(list))
	for _, k := range list {
		g := knownGroup{IRI: k.IRI, Kind: "group", Joined: k.Joined, Held: k.Held, Coops: seen[k.IRI]}
		if k.Local != nil {
			members, err := s.store.CountFollowers(ctx, k.Local.ID, coopfed.FollowAccepted)
			if err != nil {
				return nil, nil, err
			}
			g.Local, g.Name, g.Handle, g.URL, g.Topic, g.Region, g.Members = true, k.Local.Title(), k.Local.Name+"@"+s.iris.Host(), k.IRI, k.Local.Summary, k.Local.Region, members
		} else {
			a := k.Actor
			g.Name, g.Handle, g.URL, g.Region = a.Name, a.Handle(), a.URL, a.Region
			g.Topic = sanitize.PlainText(a.Summary)
			if g.Name == "" {
				g.Name = a.Handle()
			}
			if g.URL == "" {
				g.URL = a.IRI
			}
			if a.Type != "Group" {
				g.Kind = "relay"
			}
		}
		out = append(out, g)
	}
	return out, dir, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (g knownGroup) json() map[string]any {
	return map[string]any{"id": g.IRI, "name": g.Name, "handle": g.Handle, "url": g.URL, "topic": g.Topic, "region": g.Region,
		"kind": g.Kind, "local": g.Local, "members": g.Members, "joined_by_local_coops": g.Joined, "listings_held": g.Held, "coops_seen": g.Coops}
}

func (s *Server) apiKnownGroups(w http.ResponseWriter, r *http.Request) error {
	list, _, err := s.knownGroups(r.Context())
	if err != nil {
		return err
	}
	items := make([]map[string]any, 0, len(list))
	for _, g := range list {
		items = append(items, g.json())
	}
	writeJSON(w, http.StatusOK, marketJSON, map[string]any{"items": items})
	return nil
}

// directoryFilter selects entries of the directory: seen in one group,
// with words in the name, handle, region or categories, trading in one
// category.
type directoryFilter struct {
	Group, Q, Category string
}

func directoryFilterOf(q url.Values) (directoryFilter, error) {
	f := directoryFilter{Group: strings.TrimSpace(q.Get("group")), Q: strings.ToLower(strings.TrimSpace(q.Get("q"))), Category: coopfed.NormalizeCategory(q.Get("category"))}
	fields := map[string]string{}
	if len(f.Q) > 200 {
		fields["q"] = "at most 200 characters"
	}
	if f.Category != "" && !coopfed.ValidCategory(f.Category) {
		fields["category"] = "a category such as flour"
	}
	return f, coopfed.FieldErrors(fields)
}

func (s *Server) filterDirectory(dir []store.DirectoryEntry, f directoryFilter) []store.DirectoryEntry {
	var out []store.DirectoryEntry
	for _, e := range dir {
		if f.Group != "" && !contains(e.Groups, f.Group) {
			if name := s.iris.GroupName(f.Group); name == "" || !contains(e.MemberOf, name) {
				continue
			}
		}
		if f.Category != "" && !contains(e.Categories, f.Category) {
			continue
		}
		if f.Q != "" {
			hay := strings.ToLower(e.Name + " " + e.Handle + " " + e.Region + " " + strings.Join(e.Categories, " "))
			ok := true
			for _, w := range strings.Fields(f.Q) {
				if !strings.Contains(hay, w) {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

func (s *Server) directoryJSON(e store.DirectoryEntry) map[string]any {
	groups := append([]string{}, e.Groups...)
	for _, name := range e.MemberOf {
		if g := s.iris.Group(name); !contains(groups, g) {
			groups = append(groups, g)
		}
	}
	cats := e.Categories
	if cats == nil {
		cats = []string{}
	}
	return map[string]any{"id": e.IRI, "name": e.Name, "handle": e.Handle, "url": e.URL, "region": e.Region, "local": e.Local,
		"categories": cats, "offers": e.Offers, "needs": e.Needs, "groups": groups}
}

func (s *Server) apiDirectory(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := directoryFilterOf(q)
	fields := map[string]string{}
	limit, offset := pageParams(q, fields)
	if err := mergeFields(fields, err); err != nil {
		return err
	}
	dir, err := s.store.Directory(r.Context())
	if err != nil {
		return err
	}
	list := s.filterDirectory(dir, f)
	items := []map[string]any{}
	for i := offset; i < len(list) && i < offset+limit; i++ {
		items = append(items, s.directoryJSON(list[i]))
	}
	writeJSON(w, http.StatusOK, marketJSON, pageJSON(items, limit, offset))
	return nil
}

// --- pages ---

func (s *Server) getGroups(w http.ResponseWriter, r *http.Request) {
	list, _, err := s.knownGroups(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	data := map[string]any{"Groups": list}
	if sess := s.visitor(w, r, data); sess != nil && sess.Member.Role == coopfed.RoleAdmin {
		data["JoinAction"] = groupsAdminURL(sess.Coop.Name) + "/join"
		mine, err := s.memberships(r.Context(), sess.Coop)
		if err != nil {
			s.error(w, r, err)
			return
		}
		in := map[string]bool{}
		for _, m := range mine {
			in[m["actor"].(string)] = true
		}
		data["Mine"] = in
	}
	s.render(w, r, "groups", data)
}

// directoryRow is a directory entry on the page, with what the visitor
// may do about it.
type directoryRow struct {
	store.DirectoryEntry
	GroupNames []string
	Following  bool
	Report     string
}

func (s *Server) getDirectory(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	data := map[string]any{"Q": q.Get("q"), "Category": q.Get("category"), "Group": q.Get("group")}
	f, err := directoryFilterOf(q)
	if err != nil {
		var e *coopfed.Error
		if errors.As(err, &e) {
			data["Problems"] = e.Fields
		}
		s.render(w, r, "directory", data)
		return
	}
	groups, dir, err := s.knownGroups(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	names := map[string]string{}
	for _, g := range groups {
		names[g.IRI] = g.Name
	}
	data["Groups"] = groups
	sess := s.visitor(w, r, data)
	following := map[string]bool{}
	if sess != nil {
		list, err := s.store.Followings(ctx, store.FollowFilter{CoopID: sess.Coop.ID, Limit: 1000})
		if err != nil {
			s.error(w, r, err)
			return
		}
		for _, fl := range list {
			following[fl.ActorIRI] = true
		}
		data["FollowAction"] = dashboardURL(sess.Coop.Name) + "/directory/follow"
		data["CanFollow"] = sess.Member.Role == coopfed.RoleAdmin
		data["Me"] = sess.Member
	}
	list := s.filterDirectory(dir, f)
	rows := make([]directoryRow, 0, len(list))
	for i, e := range list {
		if i >= 200 {
			data["More"] = len(list) - i
			break
		}
		row := directoryRow{DirectoryEntry: e, Following: following[e.IRI] || (sess != nil && e.IRI == s.iris.Coop(sess.Coop.Name))}
		for _, g := range e.Groups {
			if n := names[g]; n != "" {
				row.GroupNames = append(row.GroupNames, n)
			}
		}
		for _, n := range e.MemberOf {
			if name := names[s.iris.Group(n)]; name != "" && !contains(row.GroupNames, name) {
				row.GroupNames = append(row.GroupNames, name)
			}
		}
		if sess != nil && !e.Local {
			row.Report = reportFormURL(sess.Coop.Name, e.IRI)
		}
		rows = append(rows, row)
	}
	data["Entries"] = rows
	data["Count"] = strconv.Itoa(len(list))
	s.render(w, r, "directory", data)
}

// uiFollowFromDirectory follows a coop of the directory in one click.
func (s *Server) uiFollowFromDirectory(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "actor")
	if !requireAdmin(sess, f) {
		return "", "follow", f, http.StatusForbidden
	}
	if f.Values["actor"] == "" {
		f.Errors["handle"] = "no coop was chosen"
		return "", "follow", f, http.StatusUnprocessableEntity
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if _, err := s.fed.Follow(ctx, sess.Coop, f.Values["actor"]); err != nil {
		status := f.absorb(err, map[string]string{"actor": "handle"})
		if f.Problem != "" {
			f.Errors["handle"], f.Problem = f.Problem, ""
		}
		return "", "follow", f, status
	}
	return "follow", "", nil, 0
}
