package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/store"
	"github.com/gorilla/mux"
)

// Reports (Flag): members report a listing in the market, a reply in a
// motion's discussion or a coop; other instances send Flags about what is
// ours. Admins resolve them, and may forward a member's report to the
// reported account's server.

// routeReports is the admins' page of reports; routeReport the form a
// member reports with.
const (
	routeReports = routeDashboard + "/reports"
	routeReport  = routeDashboard + "/report"
)

func reportsURL(coop string) string { return dashboardURL(coop) + "/reports" }

// reportFormURL is the report form for one object.
func reportFormURL(coop, object string) string {
	return dashboardURL(coop) + "/report?object=" + url.QueryEscape(object)
}

// reportsFlashes are the messages shown after a reports form succeeded.
var reportsFlashes = map[string]string{
	"resolved":  "Report resolved.",
	"forwarded": "Report forwarded to the account's server.",
}

func init() {
	flashes["reported"] = "Thank you: your report went to the coop's admins."
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		api.HandleFunc("/coops/{coop}/reports", s.apiHandler(s.apiCreateReport)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/reports", s.apiHandler(s.apiReports)).Methods(http.MethodGet)
		api.HandleFunc("/coops/{coop}/reports/{id:[0-9]+}/resolve", s.apiHandler(s.apiResolveReport)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/reports/{id:[0-9]+}/forward", s.apiHandler(s.apiForwardReport)).Methods(http.MethodPost)
		r.HandleFunc(routeReport, s.getReportForm).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(routeReport, s.postReport).Methods(http.MethodPost)
		r.HandleFunc(routeReports, s.getReports).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(routeReports+"/resolve", s.reportsPost(s.uiResolveReport)).Methods(http.MethodPost)
		r.HandleFunc(routeReports+"/forward", s.reportsPost(s.uiForwardReport)).Methods(http.MethodPost)
	})
}

// reportLink is where a logged-in member reports a listing of another
// coop; "" for the coop's own and for visitors.
func (s *Server) reportLink(sess *store.Session, l *coopfed.Listing) string {
	if sess == nil || l.CoopID == sess.Coop.ID {
		return ""
	}
	return reportFormURL(sess.Coop.Name, l.IRI)
}

// --- API ---

func (s *Server) reportJSON(r *coopfed.Report) map[string]any {
	out := map[string]any{
		"id": r.ID, "origin": r.Origin, "state": r.State, "resolution": r.Resolution, "actor": r.TargetActor,
		"objects": r.Objects, "comment": r.Comment, "reporter": r.ReporterIRI, "member": r.ReporterMember,
		"flag": r.FlagIRI, "created_at": r.CreatedAt.UTC().Format(time.RFC3339),
	}
	if r.Objects == nil {
		out["objects"] = []string{}
	}
	if r.ForwardedAt != nil {
		out["forwarded_at"] = r.ForwardedAt.UTC().Format(time.RFC3339)
	}
	if r.ResolvedAt != nil {
		out["resolved_at"] = r.ResolvedAt.UTC().Format(time.RFC3339)
	}
	return out
}

func (s *Server) apiCreateReport(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in struct {
		Actor   string   `json:"actor"`
		Objects []string `json:"objects"`
		Comment string   `json:"comment"`
		Forward bool     `json:"forward"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	rep, err := s.fed.Report(r.Context(), c, federation.ReportInput{Actor: in.Actor, Objects: in.Objects, Comment: in.Comment})
	if err != nil {
		return err
	}
	if in.Forward {
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		if err := s.fed.ForwardReport(ctx, c, rep.ID); err != nil {
			return err
		}
		if rep, err = s.reportByID(r.Context(), c, rep.ID); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusCreated, marketJSON, s.reportJSON(rep))
	return nil
}

func (s *Server) reportByID(ctx context.Context, c *coopfed.Coop, id int64) (*coopfed.Report, error) {
	var rep *coopfed.Report
	err := s.store.Update(ctx, func(tx *store.Tx) error {
		var err error
		rep, err = tx.Report(c.ID, id)
		return err
	})
	return rep, err
}

func (s *Server) apiReports(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	fields := map[string]string{}
	state := q.Get("state")
	if state != "" && state != coopfed.ReportOpen && state != coopfed.ReportResolved {
		fields["state"] = "open or resolved"
	}
	limit, offset := pageParams(q, fields)
	if err := coopfed.FieldErrors(fields); err != nil {
		return err
	}
	list, err := s.store.Reports(r.Context(), store.ReportFilter{CoopID: c.ID, State: state, Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	items := make([]map[string]any, 0, len(list))
	for _, rep := range list {
		items = append(items, s.reportJSON(rep))
	}
	writeJSON(w, http.StatusOK, marketJSON, pageJSON(items, limit, offset))
	return nil
}

func reportID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	return id
}

func (s *Server) apiResolveReport(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in struct {
		Resolution string `json:"resolution"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.fed.ResolveReport(r.Context(), c, reportID(r), in.Resolution, s.coopAdminsManageBlocks(r.Context())); err != nil {
		return err
	}
	rep, err := s.reportByID(r.Context(), c, reportID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, marketJSON, s.reportJSON(rep))
	return nil
}

func (s *Server) apiForwardReport(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if err := s.fed.ForwardReport(ctx, c, reportID(r)); err != nil {
		return err
	}
	rep, err := s.reportByID(r.Context(), c, reportID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, marketJSON, s.reportJSON(rep))
	return nil
}

// --- pages ---

// getReportForm shows a member the form that reports one object.
func (s *Server) getReportForm(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	f := &form{Values: map[string]string{"object": r.URL.Query().Get("object")}, Errors: map[string]string{}}
	s.reportFormPage(w, r, sess, http.StatusOK, f)
}

func (s *Server) reportFormPage(w http.ResponseWriter, r *http.Request, sess *store.Session, status int, f *form) {
	data := map[string]any{"Me": sess.Member, "Coop": sess.Coop, "CSRF": sess.CSRF, "Action": dashboardURL(sess.Coop.Name) + "/report",
		"DashboardURL": dashboardURL(sess.Coop.Name), "Form": f}
	if obj := f.Values["object"]; obj != "" {
		data["What"] = s.describeObject(r.Context(), obj)
	}
	s.page(w, status, "report", data)
}

// reportedObject is an object of a report as an admin reads it.
type reportedObject struct {
	IRI, Text, Kind string
}

// describeObject says what an IRI of a report is, as far as this
// instance knows it.
func (s *Server) describeObject(ctx context.Context, iri string) reportedObject {
	o := reportedObject{IRI: iri, Text: iri}
	if l, err := s.store.ListingByIRI(ctx, iri); err == nil {
		o.Kind, o.Text = "listing", federation.ListingHeadline(l)
		if l.Deleted {
			o.Text = "a deleted listing"
		}
		return o
	}
	if a, err := s.store.ReplyAuthor(ctx, iri); err == nil {
		o.Kind, o.Text = "reply", "a reply by "+s.accountOf(ctx, a, nil).Handle
		return o
	}
	if c, err := s.fed.LocalActor(ctx, iri); err == nil {
		o.Kind, o.Text = "account", c.Title()+" (@"+c.Name+"@"+s.iris.Host()+")"
		return o
	}
	if a, err := s.store.RemoteActor(ctx, iri); err == nil {
		o.Kind, o.Text = "account", s.accountOf(ctx, iri, a).Name+" (@"+a.Handle()+")"
	}
	return o
}

// postReport records a member's report, then sends the member back to
// their page; a report that does not validate shows the form again.
func (s *Server) postReport(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	f := newForm(r, "object", "comment")
	_, err := s.fed.Report(r.Context(), sess.Coop, federation.ReportInput{Member: sess.Member.Username, Objects: []string{f.Values["object"]}, Comment: f.Values["comment"]})
	if err != nil {
		status := f.absorb(err, nil)
		if status >= 500 {
			s.log.Error("form failed", "path", r.URL.Path, "problem", f.Problem)
		}
		s.reportFormPage(w, r, sess, status, f)
		return
	}
	http.Redirect(w, r, dashboardURL(sess.Coop.Name)+"?done=reported", http.StatusSeeOther)
}

// reportsPost wraps a reports form of an admin.
func (s *Server) reportsPost(action uiAction) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.memberSession(w, r)
		if sess == nil {
			return
		}
		if sess.Member.Role != coopfed.RoleAdmin {
			s.uiError(w, r, &statusError{status: http.StatusForbidden, msg: "Only the coop's admins may do this."})
			return
		}
		done, _, f, status := action(w, r, sess)
		if f == nil {
			http.Redirect(w, r, reportsURL(sess.Coop.Name)+"?done="+done, http.StatusSeeOther)
			return
		}
		if status >= 500 {
			s.log.Error("form failed", "path", r.URL.Path, "problem", f.Problem)
		}
		s.reportsPage(w, r, sess, status, f)
	}
}

func (s *Server) getReports(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	if sess.Member.Role != coopfed.RoleAdmin {
		s.uiError(w, r, &statusError{status: http.StatusForbidden, msg: "Only the coop's admins may see this page."})
		return
	}
	s.reportsPage(w, r, sess, http.StatusOK, nil)
}

// reportRow is a report on the admins' page.
type reportRow struct {
	R          *coopfed.Report
	Account    accountRow
	Objects    []reportedObject
	From       string
	CanForward bool
}

func (s *Server) reportsPage(w http.ResponseWriter, r *http.Request, sess *store.Session, status int, problem *form) {
	ctx := r.Context()
	state := r.URL.Query().Get("state")
	if state != coopfed.ReportResolved {
		state = coopfed.ReportOpen
	}
	list, err := s.store.Reports(ctx, store.ReportFilter{CoopID: sess.Coop.ID, State: state, Limit: 100})
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	rows := make([]reportRow, 0, len(list))
	for _, rep := range list {
		row := reportRow{R: rep, Account: s.accountOf(ctx, rep.TargetActor, nil)}
		for _, o := range rep.Objects {
			row.Objects = append(row.Objects, s.describeObject(ctx, o))
		}
		if rep.Origin == coopfed.ReportRemote {
			row.From = "sent by " + s.accountOf(ctx, rep.ReporterIRI, nil).Handle
		} else {
			row.From = "made here by " + rep.ReporterMember
			if rep.ReporterMember == "" {
				row.From = "made here through the API"
			}
			row.CanForward = rep.ForwardedAt == nil && rep.TargetActor != "" && !s.iris.IsLocal(rep.TargetActor)
		}
		rows = append(rows, row)
	}
	data := map[string]any{
		"Me": sess.Member, "Coop": sess.Coop, "CSRF": sess.CSRF, "Action": reportsURL(sess.Coop.Name), "DashboardURL": dashboardURL(sess.Coop.Name),
		"Reports": rows, "State": state, "CanBlock": s.coopAdminsManageBlocks(ctx), "Flash": reportsFlashes[r.URL.Query().Get("done")],
	}
	if problem != nil {
		data["Problem"] = problem.Problem
	}
	s.page(w, status, "reports", data)
}

func (s *Server) uiResolveReport(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "id", "resolution")
	id, _ := strconv.ParseInt(f.Values["id"], 10, 64)
	if err := s.fed.ResolveReport(r.Context(), sess.Coop, id, f.Values["resolution"], s.coopAdminsManageBlocks(r.Context())); err != nil {
		status := f.absorb(err, nil)
		if f.Problem == "" {
			f.Problem = "Choose what to do with the report."
		}
		return "", "", f, status
	}
	return "resolved", "", nil, 0
}

func (s *Server) uiForwardReport(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "id")
	id, _ := strconv.ParseInt(f.Values["id"], 10, 64)
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if err := s.fed.ForwardReport(ctx, sess.Coop, id); err != nil {
		return "", "", f, f.absorb(err, nil)
	}
	return "forwarded", "", nil, 0
}
