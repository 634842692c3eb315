package handlers

import (
	"context"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
	"github.com/gorilla/mux"
)

// Reviews after fulfilled trades: a party reviews its counterpart once
// (POST .../trades/{id}/review), the coop reviewed answers once (POST
// .../reviews/{id}/answer); a coop's track record and the reviews it
// received are public (GET .../track-record), as on its page.
func init() {
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		api.HandleFunc("/coops/{coop}/trades/{id:[0-9]+}/review", s.apiHandler(s.apiReviewTrade)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/reviews/{id:[0-9]+}/answer", s.apiHandler(s.apiAnswerReview)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/track-record", s.apiHandler(s.apiTrackRecord)).Methods(http.MethodGet)
		r.HandleFunc(routeTrades+"/{id:[0-9]+}/review", s.uiReviewTrade).Methods(http.MethodPost)
		r.HandleFunc(routeDashboard+"/reviews/{id:[0-9]+}/answer", s.uiAnswerReview).Methods(http.MethodPost)
	})
	tradeFlashes["review"] = "Your review is published."
	tradeFlashes["answer"] = "Your answer is published."
}

type reviewInput struct {
	Rating int    `json:"rating"`
	Text   string `json:"text"`
}

func reviewOut(r *coopfed.Review) map[string]any {
	out := map[string]any{
		"id": r.ID, "iri": r.IRI, "trade": r.TradeIRI, "item": r.ListingTitle, "author": r.AuthorIRI, "subject": r.SubjectIRI,
		"rating": r.Rating, "text": r.Text, "created": r.Created.UTC().Format(time.RFC3339), "answer": nil,
	}
	if r.ReplyIRI != "" {
		out["answer"] = map[string]any{"iri": r.ReplyIRI, "text": r.Reply, "created": r.Replied.UTC().Format(time.RFC3339)}
	}
	return out
}

func (s *Server) apiReviewTrade(w http.ResponseWriter, r *http.Request) error {
	c, t, err := s.coopTrade(r)
	if err != nil {
		return err
	}
	var in reviewInput
	if err := decode(r, &in); err != nil {
		return err
	}
	rv, err := s.fed.ReviewTrade(r.Context(), c, t.IRI, in.Rating, in.Text)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, marketJSON, reviewOut(rv))
	return nil
}

func (s *Server) apiAnswerReview(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	rv, err := s.store.ReviewByID(r.Context(), id)
	// Why: a review's number must not reveal or touch a review this coop
	// is not the subject of; it is reported as missing.
	if err == nil && rv.SubjectIRI != s.iris.Coop(c.Name) {
		err = coopfed.Errorf(coopfed.ENOTFOUND, "review not found")
	}
	if err != nil {
		return err
	}
	var in reviewInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if rv, err = s.fed.AnswerReview(r.Context(), c, rv.IRI, in.Text); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, marketJSON, reviewOut(rv))
	return nil
}

// trackRecord gathers a coop's track record and the reviews it received.
func (s *Server) trackRecord(ctx context.Context, c *coopfed.Coop) (coopfed.TrackRecord, []*coopfed.Review, error) {
	self := s.iris.Coop(c.Name)
	tr, err := s.store.TrackRecord(ctx, c.ID, self)
	if err != nil {
		return tr, nil, err
	}
	reviews, err := s.store.Reviews(ctx, self, true, 50)
	return tr, reviews, err
}

func (s *Server) apiTrackRecord(w http.ResponseWriter, r *http.Request) error {
	c, err := s.store.CoopByName(r.Context(), mux.Vars(r)["coop"])
	if err != nil {
		return err
	}
	tr, reviews, err := s.trackRecord(r.Context(), c)
	if err != nil {
		return err
	}
	items := []map[string]any{}
	for _, rv := range reviews {
		items = append(items, reviewOut(rv))
	}
	writeJSON(w, http.StatusOK, marketJSON, map[string]any{
		"trades_accepted": tr.Accepted, "trades_fulfilled": tr.Fulfilled, "reviews": tr.Reviews,
		"average_rating": tr.Average(), "trades_with_due_date": tr.WithDue, "on_time": tr.OnTime,
		"disputes": tr.Disputes, "open_disputes": tr.OpenDisputes, "items": items,
	})
	return nil
}

func (s *Server) uiReviewTrade(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	ctx := r.Context()
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	t, err := s.store.TradeByID(ctx, id)
	self := s.iris.Coop(sess.Coop.Name)
	// Why: as for every trade action, another coop's trade is missing.
	if err == nil && t.OwnerIRI != self && t.ProposerIRI != self {
		err = coopfed.Errorf(coopfed.ENOTFOUND, "trade not found")
	}
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	f := newForm(r, "rating", "text")
	rating, _ := strconv.Atoi(f.Values["rating"])
	if _, err := s.fed.ReviewTrade(ctx, sess.Coop, t.IRI, rating, f.Values["text"]); err != nil {
		s.reviewProblem(w, r, sess, err)
		return
	}
	http.Redirect(w, r, tradesURL(sess.Coop.Name)+"?done=review", http.StatusSeeOther)
}

func (s *Server) uiAnswerReview(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	ctx := r.Context()
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	rv, err := s.store.ReviewByID(ctx, id)
	if err == nil && rv.SubjectIRI != s.iris.Coop(sess.Coop.Name) {
		err = coopfed.Errorf(coopfed.ENOTFOUND, "review not found")
	}
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	f := newForm(r, "text")
	if _, err := s.fed.AnswerReview(ctx, sess.Coop, rv.IRI, f.Values["text"]); err != nil {
		s.reviewProblem(w, r, sess, err)
		return
	}
	http.Redirect(w, r, tradesURL(sess.Coop.Name)+"?done=answer", http.StatusSeeOther)
}

// reviewProblem shows the trades page again with what was wrong with a
// review or an answer, field errors included, at the top of the page.
func (s *Server) reviewProblem(w http.ResponseWriter, r *http.Request, sess *store.Session, err error) {
	pf := &form{Values: map[string]string{}, Errors: map[string]string{}}
	status := pf.absorb(err, nil)
	s.tradesPage(w, r, sess, status, 0, pf)
}

// ratingChart draws how many reviews gave each rating, 5 stars first.
func ratingChart(reviews []*coopfed.Review) template.HTML {
	counts := make([]float64, coopfed.MaxRating+1)
	for _, r := range reviews {
		if r.Rating >= coopfed.MinRating && r.Rating <= coopfed.MaxRating {
			counts[r.Rating]++
		}
	}
	bars := make([]chartBar, 0, coopfed.MaxRating)
	for n := coopfed.MaxRating; n >= coopfed.MinRating; n-- {
		bars = append(bars, chartBar{Name: strconv.Itoa(n) + " stars", Value: counts[n]})
	}
	return barChartAttrs("Reviews by rating", bars, "data-rating", "data-count")
}
