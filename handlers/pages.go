package handlers

import (
	"html/template"
	"net/http"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/coopfed/coopfed/store"
	"github.com/coopfed/coopfed/templates"
	"github.com/gorilla/mux"
)

func (s *Server) routePages(r *mux.Router) {
	r.PathPrefix("/static/").Handler(http.StripPrefix("/static/", http.FileServerFS(templates.Static())))
	r.HandleFunc("/", s.getHome).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(federation.RouteCoop, s.getCoop).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(federation.RouteCoopAvatar, s.getAvatar).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(federation.RouteNote, s.getNote).Methods(http.MethodGet, http.MethodHead)
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, data map[string]any) {
	data["Site"] = s.iris.Domain()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Add("Vary", "Accept")
	if err := s.tmpl.Render(w, name, data); err != nil {
		s.error(w, r, err)
	}
}

type coopCard struct {
	Title, Handle, URL, Summary string
}

func (s *Server) getHome(w http.ResponseWriter, r *http.Request) {
	coops, err := s.store.Coops(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	cards := make([]coopCard, 0, len(coops))
	for _, c := range coops {
		cards = append(cards, coopCard{Title: c.Title(), Handle: c.Name + "@" + s.iris.Host(), URL: s.iris.Coop(c.Name), Summary: c.Summary})
	}
	s.render(w, r, "home", map[string]any{"Coops": cards})
}

type notePost struct {
	IRI       string
	HTML      string
	Published time.Time
}

func (s *Server) getCoop(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := s.store.CoopByName(ctx, mux.Vars(r)["name"])
	if err != nil {
		s.error(w, r, err)
		return
	}
	if wantsActivity(r) {
		s.getCoopActor(w, r, c)
		return
	}
	followers, err1 := s.store.CountFollowers(ctx, c.ID, coopfed.FollowAccepted)
	following, err2 := s.store.CountFollowing(ctx, c.ID, coopfed.FollowAccepted)
	posts, err3 := s.store.CountObjects(ctx, c.ID, "Note")
	objs, err4 := s.store.Objects(ctx, store.ObjectFilter{CoopID: c.ID, Type: "Note", Limit: 20})
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			s.error(w, r, err)
			return
		}
	}
	notes := make([]notePost, 0, len(objs))
	for _, o := range objs {
		notes = append(notes, notePost{IRI: o.IRI, HTML: sanitize.Text(o.Content), Published: o.Published})
	}
	summary := ""
	if c.Summary != "" {
		summary = sanitize.Text(c.Summary)
	}
	data := map[string]any{
		"Coop": c, "Handle": c.Name + "@" + s.iris.Host(), "ActorURL": s.iris.Coop(c.Name), "SummaryHTML": summary,
		"Followers": followers, "Following": following, "Posts": posts, "Notes": notes,
	}
	if err := s.coopActivity(ctx, c, data); err != nil {
		s.error(w, r, err)
		return
	}
	track, reviews, err := s.trackRecord(ctx, c)
	if err != nil {
		s.error(w, r, err)
		return
	}
	names := map[string]string{}
	data["Track"], data["Reviews"] = track, reviewRows(reviews, func(iri string) string {
		if n, ok := names[iri]; ok {
			return n
		}
		names[iri] = s.partyName(r, iri)
		return names[iri]
	})
	data["PaymentLinks"] = paymentLinkViews(c.PaymentLinks)
	projects, err := s.store.Projects(ctx, c.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	data["Projects"] = projects
	if track.Reviews > 0 {
		data["RatingChart"] = ratingChart(reviews)
	}
	s.render(w, r, "coop", data)
}

func (s *Server) getNote(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	iri := s.iris.Note(mux.Vars(r)["id"])
	o, err := s.store.ObjectByIRI(ctx, iri)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if wantsActivity(r) {
		s.getNoteDocument(w, r, o)
		return
	}
	if o.DeletedAt != nil {
		s.error(w, r, coopfed.Errorf(coopfed.EGONE, "this announcement was deleted"))
		return
	}
	c, err := s.store.CoopByID(ctx, o.CoopID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, "note", map[string]any{
		"Coop": c, "Handle": c.Name + "@" + s.iris.Host(), "CoopURL": s.iris.Coop(c.Name),
		"IRI": o.IRI, "HTML": sanitize.Text(o.Content), "Published": o.Published,
	})
}

// paymentLinkView is a payment link as the coop page shows it.
type paymentLinkView struct {
	Name string
	// Href was checked when the coop saved it (https, http or payto), so
	// it is marked safe: html/template would otherwise blank payto: URIs.
	Href template.URL
}

func paymentLinkViews(links []coopfed.PaymentLink) []paymentLinkView {
	out := make([]paymentLinkView, 0, len(links))
	for _, l := range links {
		out = append(out, paymentLinkView{Name: l.Name, Href: template.URL(l.Href)})
	}
	return out
}
