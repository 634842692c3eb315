package handlers

import (
	"net/http"
	"strconv"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/gorilla/mux"
)

// Disputes of accepted trades: a party opens one with a reason (POST
// .../trades/{id}/disputes), either party resolves it (POST
// .../disputes/{id}/resolve). A coop's track record counts them.
func init() {
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		api.HandleFunc("/coops/{coop}/trades/{id:[0-9]+}/disputes", s.apiHandler(s.apiOpenDispute)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/trades/{id:[0-9]+}/disputes", s.apiHandler(s.apiTradeDisputes)).Methods(http.MethodGet)
		api.HandleFunc("/coops/{coop}/disputes/{id:[0-9]+}/resolve", s.apiHandler(s.apiResolveDispute)).Methods(http.MethodPost)
		r.HandleFunc(routeTrades+"/{id:[0-9]+}/dispute", s.uiDispute).Methods(http.MethodPost)
		r.HandleFunc(routeTrades+"/{id:[0-9]+}/resolve", s.uiResolveDispute).Methods(http.MethodPost)
	})
	tradeFlashes["dispute"] = "The dispute is open; the other coop is told."
	tradeFlashes["resolve"] = "The dispute is resolved."
}

// memberTrade returns the trade {id} of the member's coop; another coop's
// trade is reported missing, as for every trade action.
func (s *Server) memberTrade(r *http.Request, c *coopfed.Coop) (*coopfed.Trade, error) {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	t, err := s.store.TradeByID(r.Context(), id)
	self := s.iris.Coop(c.Name)
	if err == nil && t.OwnerIRI != self && t.ProposerIRI != self {
		err = coopfed.Errorf(coopfed.ENOTFOUND, "trade not found")
	}
	return t, err
}

func (s *Server) uiDispute(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	t, err := s.memberTrade(r, sess.Coop)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	if _, err := s.fed.OpenDispute(r.Context(), sess.Coop, t.IRI, r.PostFormValue("reason")); err != nil {
		s.reviewProblem(w, r, sess, err)
		return
	}
	http.Redirect(w, r, tradesURL(sess.Coop.Name)+"?done=dispute", http.StatusSeeOther)
}

func (s *Server) uiResolveDispute(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	t, err := s.memberTrade(r, sess.Coop)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	disputes, err := s.store.TradeDisputes(r.Context(), t.ID)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	var open *coopfed.Dispute
	for _, d := range disputes {
		if d.Open() {
			open = d
		}
	}
	if open == nil {
		s.reviewProblem(w, r, sess, coopfed.Errorf(coopfed.ECONFLICT, "this trade has no open dispute"))
		return
	}
	if _, err := s.fed.ResolveDispute(r.Context(), sess.Coop, open.IRI, r.PostFormValue("resolution")); err != nil {
		s.reviewProblem(w, r, sess, err)
		return
	}
	http.Redirect(w, r, tradesURL(sess.Coop.Name)+"?done=resolve", http.StatusSeeOther)
}

func disputeOut(d *coopfed.Dispute) map[string]any {
	out := map[string]any{
		"id": d.ID, "iri": d.IRI, "trade": d.TradeIRI, "item": d.ListingTitle, "opened_by": d.OpenerIRI, "reason": d.Reason,
		"open": d.Open(), "created": d.Created.UTC().Format(time.RFC3339), "resolution": nil,
	}
	if !d.Open() {
		out["resolution"] = map[string]any{"by": d.ResolvedBy, "iri": d.ResolveIRI, "text": d.Resolution,
			"created": d.Resolved.UTC().Format(time.RFC3339)}
	}
	return out
}

func (s *Server) apiOpenDispute(w http.ResponseWriter, r *http.Request) error {
	c, t, err := s.coopTrade(r)
	if err != nil {
		return err
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	d, err := s.fed.OpenDispute(r.Context(), c, t.IRI, in.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, marketJSON, disputeOut(d))
	return nil
}

func (s *Server) apiTradeDisputes(w http.ResponseWriter, r *http.Request) error {
	_, t, err := s.coopTrade(r)
	if err != nil {
		return err
	}
	disputes, err := s.store.TradeDisputes(r.Context(), t.ID)
	if err != nil {
		return err
	}
	items := []map[string]any{}
	for _, d := range disputes {
		items = append(items, disputeOut(d))
	}
	writeJSON(w, http.StatusOK, marketJSON, map[string]any{"items": items})
	return nil
}

func (s *Server) apiResolveDispute(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	d, err := s.store.DisputeByID(r.Context(), id)
	if err != nil {
		return err
	}
	var in struct {
		Resolution string `json:"resolution"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	// ResolveDispute reports another coop's dispute as missing.
	if d, err = s.fed.ResolveDispute(r.Context(), c, d.IRI, in.Resolution); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, marketJSON, disputeOut(d))
	return nil
}
