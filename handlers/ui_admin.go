package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
	"github.com/gorilla/mux"
)

// routeManage is the admins' page: members and roles, linked accounts,
// domain and actor blocks.
const routeManage = routeDashboard + "/manage"

// manageURL is the address of a coop's admin page.
func manageURL(coop string) string { return dashboardURL(coop) + "/manage" }

// manageFlashes are the messages shown after an admin form succeeded.
var manageFlashes = map[string]string{
	"added":          "Member added.",
	"updated":        "Member updated.",
	"removed":        "Member removed.",
	"domain-blocked": "Domain blocked.",
	"domain-lifted":  "Domain block lifted.",
	"actor-blocked":  "Account blocked.",
	"actor-lifted":   "Account block lifted.",
	"class-added":    "Class added.",
	"class-removed":  "Class removed.",
}

func init() {
	flashes["unfollowed"] = "Unfollowed."
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		r.HandleFunc(routeManage, s.getManage).Methods(http.MethodGet, http.MethodHead)
		for path, h := range map[string]uiAction{
			"/members/add":          s.uiAddMember,
			"/members/update":       s.uiUpdateMember,
			"/members/remove":       s.uiRemoveMember,
			"/classes/add":          s.uiAddClass,
			"/classes/remove":       s.uiRemoveClass,
			"/blocks/domain":        s.uiBlockDomain,
			"/blocks/domain/remove": s.uiUnblockDomain,
			"/blocks/actor":         s.uiBlockActor,
			"/blocks/actor/remove":  s.uiUnblockActor,
		} {
			r.HandleFunc(routeManage+path, s.managePost(h)).Methods(http.MethodPost)
		}
		r.HandleFunc(routeDashboard+"/unfollow", s.uiPost(s.uiUnfollow)).Methods(http.MethodPost)
	})
}

// managePost wraps an admin form: session, CSRF and role checks, then
// POST-redirect-GET, or the admin page again with the form's errors.
func (s *Server) managePost(action uiAction) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.memberSession(w, r)
		if sess == nil {
			return
		}
		if sess.Member.Role != coopfed.RoleAdmin {
			s.uiError(w, r, &statusError{status: http.StatusForbidden, msg: "Only the coop's admins may do this."})
			return
		}
		// Why: blocks are instance-wide; where several coops share the
		// instance, one coop's admins must not block or unblock for the
		// others. The operator does it with `coopfed block`.
		if strings.Contains(r.URL.Path, "/blocks/") && !s.coopAdminsManageBlocks(r.Context()) {
			s.uiError(w, r, &statusError{status: http.StatusForbidden, msg: "This instance hosts several coops: its operator manages blocks with coopfed block."})
			return
		}
		done, name, f, status := action(w, r, sess)
		if f == nil {
			http.Redirect(w, r, manageURL(sess.Coop.Name)+"?done="+done, http.StatusSeeOther)
			return
		}
		if status >= 500 {
			s.log.Error("form failed", "path", r.URL.Path, "problem", f.Problem)
		}
		s.managePage(w, r, sess, status, map[string]*form{name: f})
	}
}

func (s *Server) getManage(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	if sess.Member.Role != coopfed.RoleAdmin {
		s.uiError(w, r, &statusError{status: http.StatusForbidden, msg: "Only the coop's admins may see this page."})
		return
	}
	s.managePage(w, r, sess, http.StatusOK, nil)
}

// memberRow is a member on the admin page with the form that edits it.
type memberRow struct {
	M    *coopfed.Member
	Me   bool
	Form *form
}

func (s *Server) managePage(w http.ResponseWriter, r *http.Request, sess *store.Session, status int, forms map[string]*form) {
	ctx := r.Context()
	if forms == nil {
		forms = map[string]*form{}
	}
	for _, n := range []string{"add", "members", "domain", "actor", "blocks", "classes"} {
		if forms[n] == nil {
			forms[n] = &form{Values: map[string]string{}, Errors: map[string]string{}}
		}
	}
	if forms["add"].Values["role"] == "" {
		forms["add"].Values["role"] = coopfed.RoleMember
	}
	members, err := s.store.Members(ctx, sess.Coop.ID)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	rows := make([]memberRow, 0, len(members))
	for _, m := range members {
		row := memberRow{M: m, Me: m.ID == sess.Member.ID,
			Form: &form{Values: map[string]string{"role": m.Role, "actors": strings.Join(m.Actors, "\n"), "class": m.Class}, Errors: map[string]string{}}}
		if f := forms["members"]; f.Values["username"] == m.Username {
			row.Form = f
		}
		rows = append(rows, row)
	}
	classes, err := s.store.Classes(ctx, sess.Coop.ID)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	domains, err := s.store.DomainBlockList(ctx)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	actors, err := s.store.ActorBlocks(ctx)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	s.page(w, status, "manage", map[string]any{
		"Me": sess.Member, "Coop": sess.Coop, "CSRF": sess.CSRF, "Action": manageURL(sess.Coop.Name), "DashboardURL": dashboardURL(sess.Coop.Name),
		"Forms": forms, "Members": rows, "DomainBlocks": domains, "ActorBlocks": actors, "Classes": classes,
		"CanBlock": s.coopAdminsManageBlocks(ctx),
		"Flash":    manageFlashes[r.URL.Query().Get("done")],
	})
}

// linkedActors reads the linked-accounts field: one actor IRI or handle
// (name@host, looked up by WebFinger) a line.
func (s *Server) linkedActors(ctx context.Context, text string) ([]string, error) {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "@")
		if line == "" {
			continue
		}
		if strings.Contains(line, "://") {
			out = append(out, line)
			continue
		}
		a, err := s.fed.LookupHandle(ctx, line)
		if err != nil {
			return nil, coopfed.FieldErrors(map[string]string{"actors": line + ": " + coopfed.ErrorMessage(err)})
		}
		out = append(out, a.IRI)
	}
	if out == nil {
		out = []string{} // an emptied field unlinks every account
	}
	return out, nil
}

func (s *Server) uiAddMember(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "username", "role", "actors", "password", "class")
	f.Values["password"] = "" // never sent back to the page
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	actors, err := s.linkedActors(ctx, r.PostFormValue("actors"))
	if err == nil {
		password := r.PostFormValue("password")
		m := &coopfed.Member{CoopID: sess.Coop.ID, Username: strings.ToLower(f.Values["username"]), Role: f.Values["role"], Actors: actors, Class: f.Values["class"]}
		err = s.store.Update(r.Context(), func(tx *store.Tx) error {
			if err := tx.CreateMember(m); err != nil {
				return err
			}
			if password == "" {
				return nil
			}
			if err := tx.SetPassword(sess.Coop.ID, m.Username, password); err != nil {
				return mergeFields(map[string]string{}, renameField(err, "password"))
			}
			return nil
		})
	}
	if err != nil {
		return "", "add", f, f.absorb(err, nil)
	}
	return "added", "", nil, 0
}

// renameField files a validation error without fields under field.
func renameField(err error, field string) error {
	if _, _, fields := errorStatus(err); len(fields) == 0 && coopfed.ErrorCode(err) == coopfed.EINVALID {
		return coopfed.FieldErrors(map[string]string{field: coopfed.ErrorMessage(err)})
	}
	return err
}

// selfChange refuses an admin's change of their own role or membership:
// a coop must not lose its last admin by a slip; another admin does it.
func selfChange(sess *store.Session, f *form, what string) bool {
	if strings.ToLower(f.Values["username"]) != sess.Member.Username {
		return false
	}
	f.Problem = "You cannot " + what + " yourself; ask another admin."
	return true
}

func (s *Server) uiUpdateMember(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "username", "role", "actors", "class")
	if f.Values["role"] != sess.Member.Role && selfChange(sess, f, "change the role of") {
		return "", "members", f, http.StatusConflict
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	actors, err := s.linkedActors(ctx, r.PostFormValue("actors"))
	if err == nil {
		err = s.store.Update(r.Context(), func(tx *store.Tx) error {
			if _, err := tx.UpdateMember(sess.Coop.ID, f.Values["username"], f.Values["role"], actors); err != nil {
				return err
			}
			if _, ok := r.PostForm["class"]; !ok {
				return nil // a form without the class field leaves it
			}
			_, err := tx.SetMemberClass(sess.Coop.ID, f.Values["username"], f.Values["class"])
			return err
		})
	}
	if err != nil {
		status := f.absorb(err, nil)
		if status == http.StatusNotFound {
			f.Problem = "No such member."
		}
		return "", "members", f, status
	}
	return "updated", "", nil, 0
}

func (s *Server) uiRemoveMember(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "username")
	if selfChange(sess, f, "remove") {
		return "", "members", f, http.StatusConflict
	}
	err := s.store.Update(r.Context(), func(tx *store.Tx) error { return tx.RemoveMember(sess.Coop.ID, f.Values["username"]) })
	if err != nil {
		return "", "members", f, f.absorb(err, nil)
	}
	return "removed", "", nil, 0
}

func (s *Server) uiAddClass(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "name", "title")
	c := &coopfed.MemberClass{CoopID: sess.Coop.ID, Name: f.Values["name"], Title: f.Values["title"]}
	if err := s.store.Update(r.Context(), func(tx *store.Tx) error { return tx.CreateClass(c) }); err != nil {
		return "", "classes", f, f.absorb(err, nil)
	}
	return "class-added", "", nil, 0
}

func (s *Server) uiRemoveClass(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "name")
	if err := s.store.Update(r.Context(), func(tx *store.Tx) error { return tx.DeleteClass(sess.Coop.ID, f.Values["name"]) }); err != nil {
		return "", "classes", f, f.absorb(err, nil)
	}
	return "class-removed", "", nil, 0
}

// normalDomain reads a domain to block: a bare host name, or the host of
// a URL or handle pasted in.
func normalDomain(v string) (string, bool) {
	v = strings.ToLower(strings.TrimSpace(v))
	if u, err := url.Parse(v); err == nil && u.Host != "" {
		v = u.Hostname()
	} else if _, host, ok := strings.Cut(strings.TrimPrefix(v, "@"), "@"); ok {
		v = host
	}
	v = strings.TrimSuffix(v, ".")
	if v == "" || len(v) > 253 || strings.ContainsAny(v, " /@:?#") {
		return "", false
	}
	return v, true
}

func (s *Server) uiBlockDomain(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "domain", "reason")
	domain, ok := normalDomain(f.Values["domain"])
	switch {
	case !ok:
		f.Errors["domain"] = "a domain such as spam.example"
	case domain == strings.ToLower(s.iris.Host()) || domain == strings.ToLower(s.iris.Domain()):
		// Why: blocking our own host would refuse our own coops' traffic.
		f.Errors["domain"] = "this is this instance's own domain"
	case len([]rune(f.Values["reason"])) > 500:
		f.Errors["reason"] = "at most 500 characters"
	}
	if len(f.Errors) > 0 {
		return "", "domain", f, http.StatusUnprocessableEntity
	}
	if err := s.store.Update(r.Context(), func(tx *store.Tx) error { return tx.BlockDomain(domain, f.Values["reason"]) }); err != nil {
		return "", "domain", f, f.absorb(err, nil)
	}
	return "domain-blocked", "", nil, 0
}

func (s *Server) uiUnblockDomain(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "domain")
	if f.Values["domain"] == "" {
		f.Problem = "No domain was chosen."
		return "", "blocks", f, http.StatusUnprocessableEntity
	}
	if err := s.store.Update(r.Context(), func(tx *store.Tx) error { return tx.UnblockDomain(f.Values["domain"]) }); err != nil {
		return "", "blocks", f, f.absorb(err, nil)
	}
	return "domain-lifted", "", nil, 0
}

func (s *Server) uiBlockActor(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "actor", "reason")
	if len([]rune(f.Values["reason"])) > 500 {
		f.Errors["reason"] = "at most 500 characters"
		return "", "actor", f, http.StatusUnprocessableEntity
	}
	iri := f.Values["actor"]
	if iri == "" {
		f.Errors["actor"] = "an account's handle (name@host) or actor IRI"
		return "", "actor", f, http.StatusUnprocessableEntity
	}
	if !strings.Contains(iri, "://") {
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		a, err := s.fed.LookupHandle(ctx, strings.TrimPrefix(iri, "@"))
		if err != nil {
			f.Errors["actor"] = coopfed.ErrorMessage(err)
			return "", "actor", f, http.StatusUnprocessableEntity
		}
		iri = a.IRI
	}
	if !coopfed.ValidActorIRI(iri) {
		f.Errors["actor"] = "an actor IRI such as https://social.example/users/name"
		return "", "actor", f, http.StatusUnprocessableEntity
	}
	if s.iris.IsLocal(iri) {
		// Why: a local coop is not remote traffic; blocking it would only
		// break this instance.
		f.Errors["actor"] = "this account is on this instance"
		return "", "actor", f, http.StatusUnprocessableEntity
	}
	if err := s.store.Update(r.Context(), func(tx *store.Tx) error { return tx.BlockActor(iri, f.Values["reason"]) }); err != nil {
		return "", "actor", f, f.absorb(err, nil)
	}
	return "actor-blocked", "", nil, 0
}

func (s *Server) uiUnblockActor(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "actor")
	if f.Values["actor"] == "" {
		f.Problem = "No account was chosen."
		return "", "blocks", f, http.StatusUnprocessableEntity
	}
	if err := s.store.Update(r.Context(), func(tx *store.Tx) error { return tx.UnblockActor(f.Values["actor"]) }); err != nil {
		return "", "blocks", f, f.absorb(err, nil)
	}
	return "actor-lifted", "", nil, 0
}

// uiUnfollow makes the coop stop following an actor.
func (s *Server) uiUnfollow(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "actor")
	if !requireAdmin(sess, f) {
		return "", "follow", f, http.StatusForbidden
	}
	if f.Values["actor"] == "" {
		f.Problem = "No account was chosen."
		return "", "follow", f, http.StatusUnprocessableEntity
	}
	if err := s.fed.Unfollow(r.Context(), sess.Coop, f.Values["actor"]); err != nil {
		return "", "follow", f, f.absorb(err, nil)
	}
	return "unfollowed", "", nil, 0
}

// coopAdminsManageBlocks reports whether a coop's admins may manage the
// instance's blocks: only when the instance hosts that one coop.
func (s *Server) coopAdminsManageBlocks(ctx context.Context) bool {
	coops, err := s.store.Coops(ctx)
	return err == nil && len(coops) == 1
}
