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

// routeGroupsAdmin is the admins' page of the shared market: the groups
// and relays the coop has joined, and the groups it runs or moderates.
const routeGroupsAdmin = routeDashboard + "/groups"

// groupsAdminURL is the address of a coop's groups page.
func groupsAdminURL(coop string) string { return dashboardURL(coop) + "/groups" }

// groupsFlashes are the messages shown after a groups form succeeded.
var groupsFlashes = map[string]string{
	"joined":   "Request to join sent.",
	"left":     "The coop left the group.",
	"created":  "Group created.",
	"saved":    "Group saved.",
	"approved": "Member approved.",
	"rejected": "Request refused.",
	"banned":   "Coop banned from the group.",
	"unbanned": "Ban lifted.",
	"removed":  "Listing taken out of the group.",
}

func init() {
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		r.HandleFunc(routeGroupsAdmin, s.getGroupsAdmin).Methods(http.MethodGet, http.MethodHead)
		for path, h := range map[string]uiAction{
			"/join":    s.uiJoinGroup,
			"/leave":   s.uiLeaveGroup,
			"/create":  s.uiCreateGroup,
			"/update":  s.uiUpdateGroup,
			"/approve": s.uiAnswerMember(true),
			"/reject":  s.uiAnswerMember(false),
			"/ban":     s.uiBan,
			"/unban":   s.uiUnban,
			"/remove":  s.uiRemoveFromGroup,
		} {
			r.HandleFunc(routeGroupsAdmin+path, s.groupsPost(h)).Methods(http.MethodPost)
		}
	})
}

// groupsPost wraps a groups form: session, CSRF and admin checks, then
// POST-redirect-GET, or the page again with the form's errors.
func (s *Server) groupsPost(action uiAction) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.memberSession(w, r)
		if sess == nil {
			return
		}
		if sess.Member.Role != coopfed.RoleAdmin {
			s.uiError(w, r, &statusError{status: http.StatusForbidden, msg: "Only the coop's admins may do this."})
			return
		}
		done, name, f, status := action(w, r, sess)
		if f == nil {
			http.Redirect(w, r, groupsAdminURL(sess.Coop.Name)+"?done="+done, http.StatusSeeOther)
			return
		}
		if status >= 500 {
			s.log.Error("form failed", "path", r.URL.Path, "problem", f.Problem)
		}
		if status == http.StatusForbidden && f.Problem != "" {
			s.uiError(w, r, &statusError{status: status, msg: f.Problem})
			return
		}
		s.groupsAdminPage(w, r, sess, status, map[string]*form{name: f})
	}
}

func (s *Server) getGroupsAdmin(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	if sess.Member.Role != coopfed.RoleAdmin {
		s.uiError(w, r, &statusError{status: http.StatusForbidden, msg: "Only the coop's admins may see this page."})
		return
	}
	s.groupsAdminPage(w, r, sess, http.StatusOK, nil)
}

// runGroup is a group the coop runs or moderates, with what its
// moderators act on.
type runGroup struct {
	G       *coopfed.Group
	Owner   bool
	Form    *form
	Pending []accountRow
	Members []accountRow
	Posts   []*coopfed.GroupPost
	Bans    []*coopfed.GroupBan
}

func groupForm(g *coopfed.Group) *form {
	return &form{Values: map[string]string{"group": g.Name, "display_name": g.DisplayName, "topic": g.Summary, "region": g.Region,
		"membership": g.Membership(), "moderators": strings.Join(g.Moderators, "\n")}, Errors: map[string]string{}}
}

func (s *Server) groupsAdminPage(w http.ResponseWriter, r *http.Request, sess *store.Session, status int, forms map[string]*form) {
	ctx := r.Context()
	if forms == nil {
		forms = map[string]*form{}
	}
	for _, n := range []string{"join", "memberships", "create", "group", "moderate"} {
		if forms[n] == nil {
			forms[n] = &form{Values: map[string]string{}, Errors: map[string]string{}}
		}
	}
	if forms["create"].Values["membership"] == "" {
		forms["create"].Values["membership"] = coopfed.MembershipOpen
	}
	mine, err := s.memberships(ctx, sess.Coop)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	groups, err := s.store.Groups(ctx, 0)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	me := s.iris.Coop(sess.Coop.Name)
	var run []runGroup
	for _, g := range groups {
		owner := g.OwnerID == sess.Coop.ID
		if !owner {
			if ok, err := s.fed.IsModerator(ctx, g, me); err != nil || !ok {
				continue
			}
		}
		rg, err := s.runGroup(ctx, g, owner)
		if err != nil {
			s.uiError(w, r, err)
			return
		}
		if f := forms["group"]; f.Values["group"] == g.Name {
			rg.Form = f
		}
		run = append(run, rg)
	}
	s.page(w, status, "groups_admin", map[string]any{
		"Me": sess.Member, "Coop": sess.Coop, "CSRF": sess.CSRF, "Action": groupsAdminURL(sess.Coop.Name), "DashboardURL": dashboardURL(sess.Coop.Name),
		"Forms": forms, "Memberships": mine, "Run": run, "Host": s.iris.Host(),
		"Flash": groupsFlashes[r.URL.Query().Get("done")],
	})
}

func (s *Server) runGroup(ctx context.Context, g *coopfed.Group, owner bool) (runGroup, error) {
	rg := runGroup{G: g, Owner: owner, Form: groupForm(g)}
	followers, err := s.store.Followers(ctx, store.FollowFilter{CoopID: g.ID, Limit: 500})
	if err != nil {
		return rg, err
	}
	for _, f := range followers {
		row := s.accountOf(ctx, f.ActorIRI, f.Actor)
		if f.State == coopfed.FollowPending {
			rg.Pending = append(rg.Pending, row)
		} else {
			rg.Members = append(rg.Members, row)
		}
	}
	if rg.Posts, err = s.store.GroupPosts(ctx, store.GroupPostFilter{GroupID: g.ID, State: coopfed.PostOpen, Limit: 100}); err != nil {
		return rg, err
	}
	rg.Bans, err = s.store.GroupBans(ctx, g.ID)
	return rg, err
}

// formGroup returns the group a moderation form names, when the coop may
// moderate it (owner set: only when it runs it).
func (s *Server) formGroup(ctx context.Context, sess *store.Session, f *form, owner bool) (*coopfed.Group, bool) {
	g, err := s.store.GroupByName(ctx, f.Values["group"])
	if err != nil {
		f.Problem = "No such group."
		return nil, false
	}
	if g.OwnerID == sess.Coop.ID {
		return g, true
	}
	if !owner {
		if ok, err := s.fed.IsModerator(ctx, g, s.iris.Coop(sess.Coop.Name)); err == nil && ok {
			return g, true
		}
	}
	f.Problem = "This coop does not run that group."
	return nil, false
}

func (s *Server) uiJoinGroup(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "handle")
	if f.Values["handle"] == "" {
		f.Errors["handle"] = "a group's handle such as market@coop.example, or a relay's actor URL"
		return "", "join", f, http.StatusUnprocessableEntity
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if _, err := s.fed.JoinGroup(ctx, sess.Coop, f.Values["handle"]); err != nil {
		status := f.absorb(err, map[string]string{"actor": "handle"})
		if f.Problem != "" && len(f.Errors) == 0 {
			f.Errors["handle"], f.Problem = f.Problem, ""
		}
		return "", "join", f, status
	}
	return "joined", "", nil, 0
}

func (s *Server) uiLeaveGroup(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "group")
	if f.Values["group"] == "" {
		f.Problem = "No group was chosen."
		return "", "memberships", f, http.StatusUnprocessableEntity
	}
	if err := s.fed.LeaveGroup(r.Context(), sess.Coop, f.Values["group"]); err != nil {
		return "", "memberships", f, f.absorb(err, nil)
	}
	return "left", "", nil, 0
}

// groupInputOf reads the create and edit forms.
func groupInputOf(f *form) groupInput {
	in := groupInput{}
	for k, p := range map[string]**string{"display_name": &in.DisplayName, "topic": &in.Topic, "region": &in.Region, "membership": &in.Membership} {
		v := f.Values[k]
		*p = &v
	}
	mods := strings.FieldsFunc(f.Values["moderators"], func(r rune) bool { return r == '\n' || r == '\r' || r == ',' })
	in.Moderators = &mods
	return in
}

func (s *Server) uiCreateGroup(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "name", "display_name", "topic", "region", "membership", "moderators")
	g := &coopfed.Group{Coop: coopfed.Coop{Name: f.Values["name"]}}
	if err := s.applyGroupInput(r.Context(), groupInputOf(f), g); err != nil {
		return "", "create", f, f.absorb(err, map[string]string{"summary": "topic"})
	}
	if err := s.fed.CreateGroup(r.Context(), sess.Coop, g); err != nil {
		return "", "create", f, f.absorb(err, map[string]string{"summary": "topic"})
	}
	return "created", "", nil, 0
}

func (s *Server) uiUpdateGroup(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "group", "display_name", "topic", "region", "membership", "moderators")
	g, ok := s.formGroup(r.Context(), sess, f, true)
	if !ok {
		return "", "group", f, http.StatusForbidden
	}
	if err := s.applyGroupInput(r.Context(), groupInputOf(f), g); err != nil {
		return "", "group", f, f.absorb(err, map[string]string{"summary": "topic"})
	}
	if err := s.fed.UpdateGroup(r.Context(), g); err != nil {
		return "", "group", f, f.absorb(err, map[string]string{"summary": "topic"})
	}
	return "saved", "", nil, 0
}

func (s *Server) uiAnswerMember(approve bool) uiAction {
	return func(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
		f := newForm(r, "group", "actor")
		g, ok := s.formGroup(r.Context(), sess, f, false)
		if !ok {
			return "", "moderate", f, http.StatusForbidden
		}
		if err := s.fed.AnswerMember(r.Context(), g, f.Values["actor"], approve); err != nil {
			return "", "moderate", f, f.absorb(err, nil)
		}
		if approve {
			return "approved", "", nil, 0
		}
		return "rejected", "", nil, 0
	}
}

func (s *Server) uiBan(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "group", "actor", "reason")
	g, ok := s.formGroup(r.Context(), sess, f, false)
	if !ok {
		return "", "moderate", f, http.StatusForbidden
	}
	if len([]rune(f.Values["reason"])) > 500 {
		f.Problem = "The reason is at most 500 characters."
		return "", "moderate", f, http.StatusUnprocessableEntity
	}
	actor, err := s.resolveActor(r.Context(), f.Values["actor"])
	if err != nil {
		f.Problem = coopfed.ErrorMessage(err)
		return "", "moderate", f, http.StatusUnprocessableEntity
	}
	if err := s.fed.BanFromGroup(r.Context(), g, actor, f.Values["reason"]); err != nil {
		return "", "moderate", f, f.absorb(err, nil)
	}
	return "banned", "", nil, 0
}

func (s *Server) uiUnban(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "group", "actor")
	g, ok := s.formGroup(r.Context(), sess, f, false)
	if !ok {
		return "", "moderate", f, http.StatusForbidden
	}
	if err := s.fed.UnbanFromGroup(r.Context(), g, f.Values["actor"]); err != nil {
		return "", "moderate", f, f.absorb(err, nil)
	}
	return "unbanned", "", nil, 0
}

func (s *Server) uiRemoveFromGroup(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "group", "object", "reason")
	g, ok := s.formGroup(r.Context(), sess, f, false)
	if !ok {
		return "", "moderate", f, http.StatusForbidden
	}
	if len([]rune(f.Values["reason"])) > 500 {
		f.Problem = "The reason is at most 500 characters."
		return "", "moderate", f, http.StatusUnprocessableEntity
	}
	if err := s.fed.RemoveFromGroup(r.Context(), g, f.Values["object"], f.Values["reason"]); err != nil {
		return "", "moderate", f, f.absorb(err, nil)
	}
	return "removed", "", nil, 0
}
