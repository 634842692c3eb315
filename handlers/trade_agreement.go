package handlers

import (
	"net/http"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/gorilla/mux"
)

// Agreements are served to anyone, like the listing they settle: what a
// trade took from a listing already shows in its public Update, a
// network of coops keeps its reciprocal exchange open to its members, and
// the Agreement holds no message, only the commitments both sides signed
// up to. The receipts (Notes whose context is the agreement) resolve at
// their Note IRIs (handlers/pages.go).
func init() {
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		r.HandleFunc(federation.RouteAgreement, s.getAgreement).Methods(http.MethodGet, http.MethodHead)
	})
}

// getAgreement serves an agreement made by a coop of this instance as
// ActivityStreams JSON; one that was cancelled (its counter-offer could
// not be honoured) is gone with it.
func (s *Server) getAgreement(w http.ResponseWriter, r *http.Request) {
	iri := s.iris.Agreement(mux.Vars(r)["id"])
	t, err := s.store.TradeByAgreement(r.Context(), iri)
	if err != nil {
		s.error(w, r, coopfed.Errorf(coopfed.ENOTFOUND, "no such agreement"))
		return
	}
	// Why: only an agreement a local coop made is ours to serve; a local
	// IRI can only have come from one, but the check costs nothing.
	if s.iris.CoopName(t.Recipient()) == "" {
		s.error(w, r, coopfed.Errorf(coopfed.ENOTFOUND, "no such agreement"))
		return
	}
	s.writeActivity(w, r, s.fed.AgreementDocument(t))
}
