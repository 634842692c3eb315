package handlers

import (
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/gorilla/mux"
)

// Commons projects with crowdmatched pledges. A coop opens a project (POST
// .../projects); its members pledge on the project's page, the coop
// records a member's pledge by API, and a coop pledges to any project,
// here or on another instance (POST .../pledges). The project, with its
// month as the crowdmatching rule makes it, is public: its page and GET
// /api/v1/projects/{id}.
func init() {
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		api.HandleFunc("/coops/{coop}/projects", s.apiHandler(s.apiOpenProject)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/projects", s.apiHandler(s.apiListProjects)).Methods(http.MethodGet)
		api.HandleFunc("/projects/{id}", s.apiHandler(s.apiGetProject)).Methods(http.MethodGet)
		api.HandleFunc("/coops/{coop}/projects/{id}/pledges", s.apiHandler(s.apiMemberPledge)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/projects/{id}/pledges", s.apiHandler(s.apiWithdrawMemberPledge)).Methods(http.MethodDelete)
		api.HandleFunc("/coops/{coop}/pledges", s.apiHandler(s.apiCoopPledge)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/pledges", s.apiHandler(s.apiWithdrawCoopPledge)).Methods(http.MethodDelete)
		api.HandleFunc("/coops/{coop}/pledges", s.apiHandler(s.apiCoopPledges)).Methods(http.MethodGet)
		r.HandleFunc(federation.RouteProject, s.getProject).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(federation.RouteCoop+"/projects/{id}/pledge", s.uiPledge).Methods(http.MethodPost)
		r.HandleFunc(federation.RouteCoop+"/projects/{id}/withdraw", s.uiWithdrawPledge).Methods(http.MethodPost)
	})
}

// projectFromPath returns the local project named by the path's {id}.
func (s *Server) projectFromPath(r *http.Request) (*coopfed.Project, *coopfed.Coop, error) {
	p, err := s.store.ProjectByIRI(r.Context(), s.iris.Project(mux.Vars(r)["id"]))
	if err != nil {
		return nil, nil, err
	}
	c, err := s.store.CoopByID(r.Context(), p.CoopID)
	if err != nil {
		return nil, nil, err
	}
	return p, c, nil
}

// ownProject returns the project {id} of the token's coop; another coop's
// project is reported missing.
func (s *Server) ownProject(r *http.Request) (*coopfed.Project, *coopfed.Coop, error) {
	c, err := s.authFor(r)
	if err != nil {
		return nil, nil, err
	}
	p, pc, err := s.projectFromPath(r)
	if err == nil && pc.ID != c.ID {
		err = coopfed.Errorf(coopfed.ENOTFOUND, "project not found")
	}
	return p, c, err
}

func (s *Server) projectOut(r *http.Request, p *coopfed.Project, c *coopfed.Coop) (map[string]any, coopfed.Crowdmatch, error) {
	pledges, err := s.store.Pledges(r.Context(), p.IRI)
	if err != nil {
		return nil, coopfed.Crowdmatch{}, err
	}
	m := coopfed.Match(p.Unit, pledges)
	shares := []map[string]any{}
	for _, sh := range m.Shares {
		shares = append(shares, map[string]any{"name": sh.Pledge.Name, "monthly": sh.Monthly, "capped": sh.Capped,
			"since": sh.Pledge.Created.UTC().Format(time.RFC3339)})
	}
	amount := func(v int64) string { return coopfed.FormatMinor(v, p.Digits) }
	return map[string]any{
		"id": strings.TrimPrefix(p.IRI, s.iris.Project("")), "iri": p.IRI, "coop": s.iris.Coop(c.Name), "title": p.Title,
		"description": p.Description, "currency": p.Currency, "digits": p.Digits, "unit": p.Unit, "unit_text": amount(p.Unit),
		"pledgers": m.Pledgers, "capped": m.Capped, "each": m.Each, "each_text": amount(m.Each),
		"total": m.Total, "total_text": amount(m.Total), "next": m.Next, "next_text": amount(m.Next),
		"pledges": shares, "created": p.Created.UTC().Format(time.RFC3339),
	}, m, nil
}

func (s *Server) apiOpenProject(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		Currency    string `json:"currency"`
		Digits      int    `json:"digits"`
		Unit        int64  `json:"unit"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	p := &coopfed.Project{Title: in.Title, Description: in.Description, Currency: in.Currency, Digits: in.Digits, Unit: in.Unit}
	if err := s.fed.OpenProject(r.Context(), c, p); err != nil {
		return err
	}
	out, _, err := s.projectOut(r, p, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, marketJSON, out)
	return nil
}

func (s *Server) apiListProjects(w http.ResponseWriter, r *http.Request) error {
	c, err := s.store.CoopByName(r.Context(), mux.Vars(r)["coop"])
	if err != nil {
		return err
	}
	projects, err := s.store.Projects(r.Context(), c.ID)
	if err != nil {
		return err
	}
	items := []map[string]any{}
	for _, p := range projects {
		out, _, err := s.projectOut(r, p, c)
		if err != nil {
			return err
		}
		items = append(items, out)
	}
	writeJSON(w, http.StatusOK, marketJSON, map[string]any{"items": items})
	return nil
}

func (s *Server) apiGetProject(w http.ResponseWriter, r *http.Request) error {
	p, c, err := s.projectFromPath(r)
	if err != nil {
		return err
	}
	out, _, err := s.projectOut(r, p, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, marketJSON, out)
	return nil
}

type pledgeInput struct {
	Member     string `json:"member"`
	Project    string `json:"project"`
	MonthlyCap int64  `json:"monthly_cap"`
}

func pledgeOut(pl *coopfed.Pledge) map[string]any {
	return map[string]any{"project": pl.ProjectIRI, "pledger": pl.Pledger, "name": pl.Name, "monthly_cap": pl.Cap,
		"since": pl.Created.UTC().Format(time.RFC3339)}
}

// apiMemberPledge records a member's pledge to one of the coop's
// projects, for a member who asked the coop to.
func (s *Server) apiMemberPledge(w http.ResponseWriter, r *http.Request) error {
	p, c, err := s.ownProject(r)
	if err != nil {
		return err
	}
	var in pledgeInput
	if err := decode(r, &in); err != nil {
		return err
	}
	m, err := s.store.Member(r.Context(), c.ID, strings.TrimSpace(in.Member))
	if err != nil {
		return err
	}
	pl, err := s.fed.PledgeMember(r.Context(), p, m, in.MonthlyCap)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, marketJSON, pledgeOut(pl))
	return nil
}

func (s *Server) apiWithdrawMemberPledge(w http.ResponseWriter, r *http.Request) error {
	p, c, err := s.ownProject(r)
	if err != nil {
		return err
	}
	m, err := s.store.Member(r.Context(), c.ID, strings.TrimSpace(r.URL.Query().Get("member")))
	if err != nil {
		return err
	}
	if err := s.fed.WithdrawMemberPledge(r.Context(), p, m); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiCoopPledge(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in pledgeInput
	if err := decode(r, &in); err != nil {
		return err
	}
	project := strings.TrimSpace(in.Project)
	if !coopfed.ValidActorIRI(project) {
		return coopfed.FieldErrors(map[string]string{"project": "the IRI of a commons project"})
	}
	pl, err := s.fed.PledgeCoop(r.Context(), c, project, in.MonthlyCap)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, marketJSON, pledgeOut(pl))
	return nil
}

func (s *Server) apiWithdrawCoopPledge(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	if err := s.fed.WithdrawCoopPledge(r.Context(), c, strings.TrimSpace(r.URL.Query().Get("project"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiCoopPledges(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	pledges, err := s.store.PledgesBy(r.Context(), s.iris.Coop(c.Name))
	if err != nil {
		return err
	}
	items := []map[string]any{}
	for _, pl := range pledges {
		items = append(items, pledgeOut(pl))
	}
	writeJSON(w, http.StatusOK, marketJSON, map[string]any{"items": items})
	return nil
}

// shareView is one pledge as the project page shows it.
type shareView struct {
	Name    string
	Monthly string
	Capped  bool
}

// getProject serves a project: its ActivityStreams document, or its page
// with the month, the matching, a chart of what each pledger gives and,
// for a member of the coop, the pledge form.
func (s *Server) getProject(w http.ResponseWriter, r *http.Request) {
	p, c, err := s.projectFromPath(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.projectPage(w, r, p, c, http.StatusOK, "")
}

// projectPage renders a project with status, and problem (a refused
// pledge) above the form.
func (s *Server) projectPage(w http.ResponseWriter, r *http.Request, p *coopfed.Project, c *coopfed.Coop, status int, problem string) {
	pledges, err := s.store.Pledges(r.Context(), p.IRI)
	if err != nil {
		s.error(w, r, err)
		return
	}
	m := coopfed.Match(p.Unit, pledges)
	if wantsActivity(r) && r.Method != http.MethodPost {
		s.writeActivity(w, r, s.fed.ProjectDocument(c, p, m))
		return
	}
	amount := func(v int64) string { return coopfed.FormatMinor(v, p.Digits) + " " + p.Currency }
	shares := make([]shareView, 0, len(m.Shares))
	for _, sh := range m.Shares {
		shares = append(shares, shareView{Name: sh.Pledge.Name, Monthly: amount(sh.Monthly), Capped: sh.Capped})
	}
	data := map[string]any{
		"P": p, "Coop": c, "CoopURL": s.iris.Coop(c.Name), "Handle": c.Name + "@" + s.iris.Host(),
		"DescriptionHTML": sanitize.Text(p.Description), "M": m, "Shares": shares,
		"Unit": amount(p.Unit), "Each": amount(m.Each), "Total": amount(m.Total), "Next": amount(m.Next),
	}
	if len(m.Shares) > 0 {
		data["Chart"] = pledgeChart(p, m)
	}
	sess := s.visitor(w, r, data)
	if sess != nil && sess.Coop.ID == c.ID {
		data["Action"] = s.iris.Coop(c.Name) + "/projects/" + strings.TrimPrefix(p.IRI, s.iris.Project(""))
		if mine, err := s.store.PledgeOf(r.Context(), p.IRI, coopfed.MemberPledger(sess.Member.ID)); err == nil {
			data["Mine"] = coopfed.FormatMinor(mine.Cap, p.Digits)
		}
		data["Problem"] = problem
	}
	if status != http.StatusOK {
		s.page(w, status, "project", data)
		return
	}
	s.render(w, r, "project", data)
}

// pledgeChart draws what each pledger gives this month (data-monthly in
// minor units); a capped pledge shows as capped.
func pledgeChart(p *coopfed.Project, m coopfed.Crowdmatch) template.HTML {
	bars := make([]chartBar, 0, len(m.Shares))
	for _, sh := range m.Shares {
		text := coopfed.FormatMinor(sh.Monthly, p.Digits)
		if sh.Capped {
			text = "capped"
		}
		// The bars' values are minor units, exact as integers; the text
		// after each bar is the amount in the currency.
		bars = append(bars, chartBar{Name: sh.Pledge.Name, Value: float64(sh.Monthly), Text: text})
	}
	return barChartAttrs("What each pledger gives a month, in "+p.Currency, bars, "data-pledger", "data-monthly")
}

func (s *Server) uiPledge(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	p, c, err := s.projectFromPath(r)
	if err == nil && c.ID != sess.Coop.ID {
		err = coopfed.Errorf(coopfed.ENOTFOUND, "project not found")
	}
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	cap, err := coopfed.ParseMinor(r.PostFormValue("monthly_cap"), p.Digits)
	if err == nil {
		_, err = s.fed.PledgeMember(r.Context(), p, sess.Member, cap)
	}
	if err != nil {
		status, msg, fields := errorStatus(err)
		if f, ok := fields["monthly_cap"]; ok {
			msg = "Monthly cap: " + f + "."
		}
		s.projectPage(w, r, p, c, status, msg)
		return
	}
	http.Redirect(w, r, p.IRI, http.StatusSeeOther)
}

func (s *Server) uiWithdrawPledge(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	p, c, err := s.projectFromPath(r)
	if err == nil && c.ID != sess.Coop.ID {
		err = coopfed.Errorf(coopfed.ENOTFOUND, "project not found")
	}
	if err == nil {
		err = s.fed.WithdrawMemberPledge(r.Context(), p, sess.Member)
	}
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	http.Redirect(w, r, p.IRI, http.StatusSeeOther)
}
