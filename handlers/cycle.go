package handlers

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/coopfed/coopfed/store"
	"github.com/gorilla/mux"
)

// The cycle of a motion in the API and on the motion page: discussion
// (replies, amendments, opening the vote early), tasks after the outcome,
// review records and follow-up motions.

func init() {
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		api.HandleFunc("/motions/amend", s.apiHandler(s.apiAmendMotion)).Methods(http.MethodPost)
		api.HandleFunc("/motions/open", s.apiHandler(s.apiOpenVoting)).Methods(http.MethodPost)
		api.HandleFunc("/motions/reply", s.apiHandler(s.apiReplyToMotion)).Methods(http.MethodPost)
		api.HandleFunc("/motions/tasks", s.apiHandler(s.apiAddTask)).Methods(http.MethodPost)
		api.HandleFunc("/motions/tasks", s.apiHandler(s.apiListTasks)).Methods(http.MethodGet)
		api.HandleFunc("/motions/tasks/done", s.apiHandler(s.apiCompleteTask)).Methods(http.MethodPost)
		api.HandleFunc("/motions/review-date", s.apiHandler(s.apiSetReviewDate)).Methods(http.MethodPost)
		api.HandleFunc("/motions/review", s.apiHandler(s.apiRecordReview)).Methods(http.MethodPost)
		for path, h := range map[string]cycleAction{
			"reply":     s.uiReply,
			"amend":     s.uiAmend,
			"open":      s.uiOpenVoting,
			"tasks":     s.uiAddTask,
			"task-done": s.uiCompleteTask,
			"review":    s.uiRecordReview,
			"follow-up": s.uiFollowUp,
		} {
			r.HandleFunc(federation.RouteMotion+"/"+path, s.cyclePost(h)).Methods(http.MethodPost)
		}
	})
}

func (s *Server) apiAmendMotion(w http.ResponseWriter, r *http.Request) error {
	c, iri, err := s.coopMotion(r)
	if err != nil {
		return err
	}
	var in struct {
		Text   string `json:"text"`
		Note   string `json:"note"`
		Member string `json:"member"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if _, err := s.fed.AmendMotion(r.Context(), c, iri, in.Member, in.Text, in.Note); err != nil {
		return err
	}
	return s.writeMotion(w, r, iri, http.StatusOK)
}

func (s *Server) apiOpenVoting(w http.ResponseWriter, r *http.Request) error {
	c, iri, err := s.coopMotion(r)
	if err != nil {
		return err
	}
	if _, err := s.fed.OpenVoting(r.Context(), c, iri); err != nil {
		return err
	}
	return s.writeMotion(w, r, iri, http.StatusOK)
}

func (s *Server) apiReplyToMotion(w http.ResponseWriter, r *http.Request) error {
	c, iri, err := s.coopMotion(r)
	if err != nil {
		return err
	}
	var in struct {
		Member    string `json:"member"`
		Text      string `json:"text"`
		InReplyTo string `json:"in_reply_to"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Member == "" {
		return coopfed.FieldErrors(map[string]string{"member": "the username of the member who replies is required"})
	}
	rp, err := s.fed.ReplyToMotion(r.Context(), c, iri, in.Member, in.Text, in.InReplyTo)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, jsonType, map[string]any{"id": rp.ObjectIRI, "in_reply_to": rp.InReplyTo, "member": rp.Member, "content": rp.Content,
		"published": rp.Published.UTC().Format(time.RFC3339)})
	return nil
}

func taskJSON(t *coopfed.Task) map[string]any {
	out := map[string]any{"id": t.ID, "title": t.Title, "owner": t.Owner, "due_at": t.DueAt.UTC().Format(time.RFC3339), "done": t.Done()}
	if t.DoneAt != nil {
		out["done_at"], out["done_by"] = t.DoneAt.UTC().Format(time.RFC3339), t.DoneBy
	}
	return out
}

func (s *Server) apiAddTask(w http.ResponseWriter, r *http.Request) error {
	c, iri, err := s.coopMotion(r)
	if err != nil {
		return err
	}
	var in struct {
		Title string `json:"title"`
		Owner string `json:"owner"`
		DueAt string `json:"due_at"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	fields := map[string]string{}
	due := parseTimeField(fields, "due_at", in.DueAt)
	if in.Owner == "" {
		fields["owner"] = "the username of the member who owns the task is required"
	}
	if err := coopfed.FieldErrors(fields); err != nil {
		return err
	}
	t, err := s.fed.AddTask(r.Context(), c, iri, in.Title, in.Owner, due)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, jsonType, taskJSON(t))
	return nil
}

func (s *Server) apiListTasks(w http.ResponseWriter, r *http.Request) error {
	c, iri, err := s.coopMotion(r)
	if err != nil {
		return err
	}
	m, err := s.store.Motion(r.Context(), iri)
	if err != nil || m.CoopID != c.ID {
		return coopfed.Errorf(coopfed.ENOTFOUND, "motion not found")
	}
	tasks, err := s.store.Tasks(r.Context(), m.ID)
	if err != nil {
		return err
	}
	items := make([]map[string]any, 0, len(tasks))
	for _, t := range tasks {
		items = append(items, taskJSON(t))
	}
	writeJSON(w, http.StatusOK, jsonType, map[string]any{"items": items})
	return nil
}

func (s *Server) apiCompleteTask(w http.ResponseWriter, r *http.Request) error {
	c, iri, err := s.coopMotion(r)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.URL.Query().Get("task"), 10, 64)
	if err != nil {
		return coopfed.FieldErrors(map[string]string{"task": "the number of the task is required"})
	}
	var in struct {
		Member string `json:"member"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			return err
		}
	}
	var by *coopfed.Member
	if in.Member != "" {
		if by, err = s.store.Member(r.Context(), c.ID, in.Member); err != nil {
			if coopfed.ErrorCode(err) == coopfed.ENOTFOUND {
				return coopfed.FieldErrors(map[string]string{"member": "no member named " + in.Member})
			}
			return err
		}
	}
	t, err := s.fed.CompleteTask(r.Context(), c, iri, id, by)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, jsonType, taskJSON(t))
	return nil
}

func (s *Server) apiSetReviewDate(w http.ResponseWriter, r *http.Request) error {
	c, iri, err := s.coopMotion(r)
	if err != nil {
		return err
	}
	var in struct {
		ReviewAt string `json:"review_at"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	fields := map[string]string{}
	at := parseTimeField(fields, "review_at", in.ReviewAt)
	if err := coopfed.FieldErrors(fields); err != nil {
		return err
	}
	if _, err := s.fed.SetReviewDate(r.Context(), c, iri, at); err != nil {
		return err
	}
	return s.writeMotion(w, r, iri, http.StatusOK)
}

func (s *Server) apiRecordReview(w http.ResponseWriter, r *http.Request) error {
	c, iri, err := s.coopMotion(r)
	if err != nil {
		return err
	}
	var in struct {
		Member  string `json:"member"`
		Verdict string `json:"verdict"`
		Text    string `json:"text"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Member == "" {
		return coopfed.FieldErrors(map[string]string{"member": "the username of the member who reviews is required"})
	}
	rec, err := s.fed.RecordReview(r.Context(), c, iri, in.Member, in.Verdict, in.Text)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, jsonType, map[string]any{"member": rec.Member, "verdict": rec.Verdict, "text": rec.Text})
	return nil
}

// cycleAction handles one form of the motion page for a logged-in member
// of the motion's coop; it returns the fragment of the page to go back to.
type cycleAction func(r *http.Request, sess *store.Session, m *coopfed.Motion) (fragment string, err error)

// cyclePost wraps a motion page form: the member's session for the
// motion's coop, the CSRF check, then POST-redirect-GET to the motion
// page, or an error page with the status and the problem.
func (s *Server) cyclePost(action cycleAction) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m, err := s.store.Motion(r.Context(), s.iris.Motion(mux.Vars(r)["id"]))
		if err != nil {
			s.uiError(w, r, err)
			return
		}
		if err := parseForm(w, r); err != nil {
			s.uiError(w, r, err)
			return
		}
		sess := s.session(r)
		if sess == nil || sess.Coop.ID != m.CoopID {
			s.uiError(w, r, &statusError{status: http.StatusForbidden, msg: "Log in as a member of this coop to do this."})
			return
		}
		if !validCSRF(r, sess.CSRF) {
			s.uiError(w, r, errCSRF)
			return
		}
		fragment, err := action(r, sess, m)
		if err != nil {
			s.uiError(w, r, withFields(err))
			return
		}
		http.Redirect(w, r, motionPath(m)+"#"+fragment, http.StatusSeeOther)
	}
}

// withFields folds the field problems of a validation error into its
// message, for the error page, which has no form to show them beside.
func withFields(err error) error {
	status, msg, fields := errorStatus(err)
	if len(fields) == 0 {
		return err
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+fields[k])
	}
	return &statusError{status: status, msg: msg + ": " + strings.Join(parts, "; ") + "."}
}

// motionPath is the path of a motion's page on this instance.
func motionPath(m *coopfed.Motion) string {
	if u, err := url.Parse(m.IRI); err == nil {
		return u.Path
	}
	return "/"
}

func adminOnly(sess *store.Session) error {
	if sess.Member.Role != coopfed.RoleAdmin {
		return &statusError{status: http.StatusForbidden, msg: "Only the coop's admins may do this."}
	}
	return nil
}

func (s *Server) uiReply(r *http.Request, sess *store.Session, m *coopfed.Motion) (string, error) {
	rp, err := s.fed.ReplyToMotion(r.Context(), sess.Coop, m.IRI, sess.Member.Username, r.PostFormValue("text"), strings.TrimSpace(r.PostFormValue("in_reply_to")))
	if err != nil {
		return "", err
	}
	return "reply-" + strconv.FormatInt(rp.ID, 10), nil
}

func (s *Server) uiAmend(r *http.Request, sess *store.Session, m *coopfed.Motion) (string, error) {
	if err := adminOnly(sess); err != nil {
		return "", err
	}
	if _, err := s.fed.AmendMotion(r.Context(), sess.Coop, m.IRI, sess.Member.Username, r.PostFormValue("text"), r.PostFormValue("note")); err != nil {
		return "", err
	}
	return "amendments", nil
}

func (s *Server) uiOpenVoting(r *http.Request, sess *store.Session, m *coopfed.Motion) (string, error) {
	if err := adminOnly(sess); err != nil {
		return "", err
	}
	if _, err := s.fed.OpenVoting(r.Context(), sess.Coop, m.IRI); err != nil {
		return "", err
	}
	return "phases", nil
}

// formTime reads a form's datetime-local field, in UTC.
func formTime(r *http.Request, name string) (time.Time, error) {
	v := strings.TrimSpace(r.PostFormValue(name))
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, coopfed.FieldErrors(map[string]string{name: "a date and time, such as 2026-06-01T18:00 (UTC)"})
}

func (s *Server) uiAddTask(r *http.Request, sess *store.Session, m *coopfed.Motion) (string, error) {
	if err := adminOnly(sess); err != nil {
		return "", err
	}
	due, err := formTime(r, "due_at")
	if err != nil {
		return "", err
	}
	if _, err := s.fed.AddTask(r.Context(), sess.Coop, m.IRI, r.PostFormValue("title"), strings.TrimSpace(r.PostFormValue("owner")), due); err != nil {
		return "", err
	}
	return "tasks", nil
}

func (s *Server) uiCompleteTask(r *http.Request, sess *store.Session, m *coopfed.Motion) (string, error) {
	id, err := strconv.ParseInt(r.PostFormValue("task"), 10, 64)
	if err != nil {
		return "", coopfed.FieldErrors(map[string]string{"task": "no such task"})
	}
	if _, err := s.fed.CompleteTask(r.Context(), sess.Coop, m.IRI, id, sess.Member); err != nil {
		return "", err
	}
	return "tasks", nil
}

func (s *Server) uiRecordReview(r *http.Request, sess *store.Session, m *coopfed.Motion) (string, error) {
	if _, err := s.fed.RecordReview(r.Context(), sess.Coop, m.IRI, sess.Member.Username, r.PostFormValue("verdict"), r.PostFormValue("text")); err != nil {
		return "", err
	}
	return "review", nil
}

// uiFollowUp opens a follow-up motion from a review: a consent motion put
// to discussion until opens_at, voted on until closes_at.
func (s *Server) uiFollowUp(r *http.Request, sess *store.Session, m *coopfed.Motion) (string, error) {
	if err := adminOnly(sess); err != nil {
		return "", err
	}
	opens, err := formTime(r, "opens_at")
	if err != nil {
		return "", err
	}
	closes, err := formTime(r, "closes_at")
	if err != nil {
		return "", err
	}
	f := &coopfed.Motion{Title: r.PostFormValue("title"), Text: r.PostFormValue("text"), Kind: coopfed.MotionConsent, Threshold: 0.5,
		OpensAt: opens, ClosesAt: closes, Discussed: true, FollowUpOf: m.IRI}
	if err := s.fed.CreateMotion(r.Context(), sess.Coop, f); err != nil {
		return "", err
	}
	return "follow-ups", nil
}

// Rows of the motion page's cycle.
type (
	phaseRow struct {
		Name, Words   string
		Current, Past bool
		Number        int
	}
	threadNode struct {
		ID               int64
		IRI, Author, URL string
		AuthorURL, HTML  string
		Member           bool
		Published        time.Time
		Children         []*threadNode
	}
	taskRow struct {
		T       *coopfed.Task
		Overdue bool
		CanDone bool
	}
	reviewTotals struct{ Yes, Partly, No int }
)

// maxThreadDepth bounds the nesting the page shows; deeper replies are
// shown at this depth, so a long thread stays readable on a phone.
const maxThreadDepth = 4

// cycleData adds the motion's cycle to the motion page's data: the
// phases, amendments, the threaded discussion, tasks, reviews, follow-ups
// and, for a logged-in member of the coop, the forms of the phase.
func (s *Server) cycleData(ctx context.Context, r *http.Request, c *coopfed.Coop, m *coopfed.Motion, replies []*coopfed.MotionReply, data map[string]any) error {
	current := 0
	for i, p := range coopfed.Phases {
		if p == m.Phase {
			current = i
		}
	}
	phases := make([]phaseRow, 0, len(coopfed.Phases))
	for i, p := range coopfed.Phases {
		phases = append(phases, phaseRow{Name: p, Words: coopfed.PhaseWords(p), Current: i == current, Past: i < current, Number: i + 1})
	}
	data["Phases"], data["PhaseWords"] = phases, coopfed.PhaseWords(m.Phase)

	amendments, err := s.store.Amendments(ctx, m.ID)
	if err != nil {
		return err
	}
	data["Amendments"] = amendments
	if len(amendments) > 0 {
		data["OriginalHTML"] = sanitize.Text(amendments[0].Previous)
	}

	// The thread: each reply under what it answers; a reply whose parent
	// is gone (deleted) answers the motion. Parents are found by IRI, not
	// by order, since a peer's published time may precede its parent's.
	nodes := map[string]*threadNode{}
	for _, rp := range replies {
		n := &threadNode{ID: rp.ID, IRI: rp.ObjectIRI, URL: rp.URL, HTML: rp.Content, Published: rp.Published, Member: rp.Member != ""}
		if rp.Member != "" {
			n.Author, n.AuthorURL = rp.Member+" (member)", rp.ObjectIRI
		} else {
			acc := s.accountOf(ctx, rp.ActorIRI, nil)
			n.Author, n.AuthorURL = acc.Handle, acc.URL
			if acc.Handle != acc.IRI {
				n.Author = "@" + acc.Handle
			}
		}
		nodes[rp.ObjectIRI] = n
	}
	children := map[string][]*threadNode{}
	var roots []*threadNode
	for _, rp := range replies {
		if _, ok := nodes[rp.InReplyTo]; ok && rp.InReplyTo != rp.ObjectIRI {
			children[rp.InReplyTo] = append(children[rp.InReplyTo], nodes[rp.ObjectIRI])
		} else {
			roots = append(roots, nodes[rp.ObjectIRI])
		}
	}
	placed := map[string]bool{}
	var flatten func(n *threadNode, into *[]*threadNode)
	flatten = func(n *threadNode, into *[]*threadNode) {
		for _, c := range children[n.IRI] {
			if !placed[c.IRI] {
				placed[c.IRI] = true
				*into = append(*into, c)
				flatten(c, into)
			}
		}
	}
	var build func(n *threadNode, depth int)
	build = func(n *threadNode, depth int) {
		if depth+1 >= maxThreadDepth {
			// Deeper replies are shown at this depth, in thread order.
			flatten(n, &n.Children)
			return
		}
		for _, c := range children[n.IRI] {
			if !placed[c.IRI] {
				placed[c.IRI] = true
				n.Children = append(n.Children, c)
				build(c, depth+1)
			}
		}
	}
	for _, n := range roots {
		placed[n.IRI] = true
	}
	for _, n := range roots {
		build(n, 1)
	}
	data["Thread"] = roots

	now := s.fed.Now()
	tasks, err := s.store.Tasks(ctx, m.ID)
	if err != nil {
		return err
	}
	sess := s.session(r)
	if sess != nil && sess.Coop.ID != c.ID {
		sess = nil
	}
	rows := make([]taskRow, 0, len(tasks))
	for _, t := range tasks {
		row := taskRow{T: t, Overdue: !t.Done() && now.After(t.DueAt)}
		row.CanDone = sess != nil && !t.Done() && (sess.Member.ID == t.OwnerID || sess.Member.Role == coopfed.RoleAdmin)
		rows = append(rows, row)
	}
	data["Tasks"] = rows

	reviews, err := s.store.OutcomeReviews(ctx, m.ID)
	if err != nil {
		return err
	}
	var totals reviewTotals
	for _, rv := range reviews {
		switch rv.Verdict {
		case coopfed.VerdictYes:
			totals.Yes++
		case coopfed.VerdictPartly:
			totals.Partly++
		case coopfed.VerdictNo:
			totals.No++
		}
	}
	data["Reviews"], data["ReviewTotals"] = reviews, totals
	followUps, err := s.store.FollowUps(ctx, m.ID)
	if err != nil {
		return err
	}
	data["FollowUps"] = followUps
	if m.FollowUpOf != "" {
		if orig, err := s.store.Motion(ctx, m.FollowUpOf); err == nil {
			data["Original"] = orig
		}
	}

	if sess != nil {
		admin := sess.Member.Role == coopfed.RoleAdmin
		members, err := s.store.Members(ctx, c.ID)
		if err != nil {
			return err
		}
		data["Session"] = map[string]any{
			"Member": sess.Member.Username, "Admin": admin, "CSRF": sess.CSRF, "Action": motionPath(m),
			"CanAmend":     admin && m.Discussed && m.CanAmend() == "",
			"CanOpen":      admin && m.State == coopfed.MotionScheduled,
			"CanAddTask":   admin && m.CanAddTask() == "",
			"CanReview":    m.CanReview(now) == "",
			"CanFollowUp":  admin && m.Phase == coopfed.PhaseReview,
			"Members":      members,
			"DefaultDue":   now.Add(14 * 24 * time.Hour).UTC().Format("2006-01-02T15:04"),
			"DefaultOpen":  now.Add(3 * 24 * time.Hour).UTC().Format("2006-01-02T15:04"),
			"DefaultClose": now.Add(7 * 24 * time.Hour).UTC().Format("2006-01-02T15:04"),
		}
	}
	return nil
}

// coopTasks adds the coop's open tasks to its page, with the motion each
// comes from.
func (s *Server) coopTasks(ctx context.Context, c *coopfed.Coop, data map[string]any) error {
	tasks, err := s.store.CoopTasks(ctx, c.ID, 20)
	if err != nil {
		return err
	}
	type row struct {
		T                      *coopfed.Task
		MotionURL, MotionTitle string
		Overdue                bool
	}
	now := s.fed.Now()
	rows := make([]row, 0, len(tasks))
	titles := map[int64]*coopfed.Motion{}
	for _, t := range tasks {
		m, ok := titles[t.MotionID]
		if !ok {
			list, err := s.store.Motions(ctx, c.ID, 200)
			if err != nil {
				return err
			}
			for _, x := range list {
				titles[x.ID] = x
			}
			m = titles[t.MotionID]
		}
		r := row{T: t, Overdue: now.After(t.DueAt)}
		if m != nil {
			r.MotionURL, r.MotionTitle = m.IRI, m.Title
		}
		rows = append(rows, r)
	}
	data["Tasks"] = rows
	return nil
}
