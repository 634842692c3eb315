package handlers

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/store"
	"github.com/gorilla/mux"
)

// Paths of the members' trade pages.
const (
	routeTrades      = routeDashboard + "/trades"
	routeTradeNew    = routeTrades + "/new"
	routeTradeAction = routeTrades + "/{id:[0-9]+}/{action:accept|reject|counter|withdraw|fulfil}"
	routeLedgerCSV   = routeDashboard + "/ledger.csv"
)

// tradesURL is the address of a coop's trades page.
func tradesURL(coop string) string { return dashboardURL(coop) + "/trades" }

func init() {
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		r.HandleFunc(routeTrades, s.getTrades).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(routeTradeNew, s.getProposeTrade).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(routeTrades, s.uiProposeTrade).Methods(http.MethodPost)
		r.HandleFunc(routeTradeAction, s.uiTradeAction).Methods(http.MethodPost)
		r.HandleFunc(routeLedgerCSV, s.getLedgerCSV).Methods(http.MethodGet, http.MethodHead)
	})
}

// tradeFormFields are the fields of a proposal or a counter-offer.
var tradeFormFields = []string{"listing", "quantity_value", "quantity_unit", "return_kind", "return_amount", "return_currency", "message", "due"}

// tradeFields maps the domain's field names to the trade form's.
var tradeFields = map[string]string{
	"quantity": "quantity_value", "quantity.value": "quantity_value", "quantity.unit": "quantity_unit",
	"reciprocal": "return_kind", "reciprocal.price.amount": "return_amount", "reciprocal.price.currency": "return_currency",
	"reciprocal.credits": "return_amount",
}

// tradeFlashes are the messages shown after a trade form succeeded.
var tradeFlashes = map[string]string{
	"proposed": "Your proposal is sent. Its answer will show here.",
	"accept":   "Trade accepted: it is in your ledger.",
	"reject":   "Proposal rejected.",
	"counter":  "Your counter-offer is sent.",
	"withdraw": "Proposal withdrawn.",
	"fulfil":   "Delivery confirmed.",
}

// proposal turns a trade form into the API's input, so the form goes
// through the same parsing and validation as POST .../trades.
func (f *form) proposal(needListing bool) (federation.TradeProposal, error) {
	v := f.Values
	in := tradeInput{Listing: v["listing"], Message: v["message"], Due: v["due"]}
	if v["quantity_value"] != "" || v["quantity_unit"] != "" {
		in.Quantity = rawJSON(map[string]string{"value": v["quantity_value"], "unit": v["quantity_unit"]})
	}
	fields := map[string]string{}
	switch v["return_kind"] {
	case "", "nothing":
	case coopfed.ReciprocalPrice:
		in.Reciprocal = rawJSON(map[string]any{"price": map[string]string{"amount": v["return_amount"], "currency": v["return_currency"]}})
	case coopfed.ReciprocalCredits:
		in.Reciprocal = rawJSON(map[string]string{"credits": v["return_amount"]})
	default:
		fields["return_kind"] = "nothing, a price or credits"
	}
	p, err := in.proposal(needListing)
	return p, mergeFields(fields, err)
}

// newTradeForm is an empty proposal for listing l, filled with its lot
// and what it asks in return.
func newTradeForm(l *coopfed.Listing) *form {
	f := &form{Values: map[string]string{"listing": l.IRI, "return_kind": "nothing"}, Errors: map[string]string{}}
	q := l.Quantity
	if l.UnitBased && l.Minimum != nil && l.Minimum.Unit == q.Unit && l.Minimum.Value > 0 {
		q = *l.Minimum
	}
	f.Values["quantity_value"], f.Values["quantity_unit"] = coopfed.FormatNumber(q.Value), q.Unit
	if r := l.Reciprocal; r != nil && (r.Kind == coopfed.ReciprocalPrice || r.Kind == coopfed.ReciprocalCredits) {
		f.Values["return_kind"], f.Values["return_amount"], f.Values["return_currency"] = r.Kind, r.Price.Amount, r.Price.Currency
	}
	return f
}

// getProposeTrade shows the proposal form for any listing of the market,
// local or remote: ?listing= its IRI.
func (s *Server) getProposeTrade(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	l, err := s.store.ListingByIRI(r.Context(), r.URL.Query().Get("listing"))
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	s.proposePage(w, r, sess, http.StatusOK, l, newTradeForm(l))
}

func (s *Server) proposePage(w http.ResponseWriter, r *http.Request, sess *store.Session, status int, l *coopfed.Listing, f *form) {
	data := map[string]any{
		"Me": sess.Member, "Coop": sess.Coop, "CSRF": sess.CSRF, "Action": tradesURL(sess.Coop.Name), "Form": f,
	}
	if l != nil {
		data["Listing"], data["Headline"], data["Owner"] = l, federation.ListingHeadline(l), s.partyName(r, l.ActorIRI)
		data["Own"] = l.ActorIRI == s.iris.Coop(sess.Coop.Name)
	}
	s.page(w, status, "propose", data)
}

// uiProposeTrade sends a proposal; on a problem the form comes back with
// its errors next to their fields.
func (s *Server) uiProposeTrade(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	ctx := r.Context()
	f := newForm(r, tradeFormFields...)
	l, lerr := s.store.ListingByIRI(ctx, f.Values["listing"])
	p, err := f.proposal(true)
	if err == nil {
		_, err = s.fed.ProposeTrade(ctx, sess.Coop, p)
	}
	if err != nil {
		status := f.absorb(err, tradeFields)
		if msg, ok := f.Errors["listing"]; ok {
			// The listing is a hidden field: say it above the form.
			f.Problem = strings.TrimSpace(f.Problem + " The listing: " + msg + ".")
		}
		if lerr != nil {
			l = nil
		}
		s.proposePage(w, r, sess, status, l, f)
		return
	}
	http.Redirect(w, r, tradesURL(sess.Coop.Name)+"?done=proposed", http.StatusSeeOther)
}

// uiTradeAction answers or follows up a trade of the coop, through the
// same functions as the API.
func (s *Server) uiTradeAction(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	ctx := r.Context()
	vars := mux.Vars(r)
	id, _ := strconv.ParseInt(vars["id"], 10, 64)
	t, err := s.store.TradeByID(ctx, id)
	self := s.iris.Coop(sess.Coop.Name)
	// Why: a trade's number must not let a member act on another coop's
	// trade; it is reported as missing, as the API does.
	if err == nil && t.OwnerIRI != self && t.ProposerIRI != self {
		err = coopfed.Errorf(coopfed.ENOTFOUND, "trade not found")
	}
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	action := vars["action"]
	f := newForm(r, append(tradeFormFields, "reason")...)
	switch action {
	case "accept":
		_, err = s.fed.AcceptTrade(ctx, sess.Coop, t.IRI)
	case "reject":
		_, err = s.fed.RejectTrade(ctx, sess.Coop, t.IRI, f.Values["reason"])
	case "counter":
		var p federation.TradeProposal
		if p, err = f.proposal(false); err == nil {
			_, err = s.fed.CounterTrade(ctx, sess.Coop, t.IRI, p)
		}
	case "withdraw":
		_, err = s.fed.WithdrawTrade(ctx, sess.Coop, t.IRI)
	case "fulfil":
		_, err = s.fed.FulfilTrade(ctx, sess.Coop, t.IRI)
	}
	if err != nil {
		f.Values["action"] = action
		status := f.absorb(err, tradeFields)
		s.tradesPage(w, r, sess, status, t.ID, f)
		return
	}
	http.Redirect(w, r, tradesURL(sess.Coop.Name)+"?done="+action, http.StatusSeeOther)
}

// tradeRow is a trade as the trades page shows it, with the forms the
// member may use on it.
type tradeRow struct {
	T                      *coopfed.Trade
	ListingURL, Headline   string
	Counterpart, Return    string
	Incoming, Outgoing     bool
	CanConfirm, IConfirmed bool
	// CanReview is set on a fulfilled trade the coop has not reviewed.
	CanReview bool
	// Dispute is the trade's open dispute, if any; CanDispute is set on
	// an agreed trade without one.
	Dispute    *coopfed.Dispute
	CanDispute bool
	Form       *form
}

// balanceRow is the mutual-credit balance with one partner.
type balanceRow struct {
	Partner, Name, Balance, Limit string
}

// ledgerRow is one line of the ledger.
type ledgerRow struct {
	E                      coopfed.LedgerEntry
	Counterpart, Value     string
	Credits, QuantityText  string
	TradeURL, AgreementURL string
}

func (s *Server) getTrades(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	s.tradesPage(w, r, sess, http.StatusOK, 0, nil)
}

// partyName is a readable name for an actor: a local coop's handle or a
// cached remote actor's; the IRI when neither is known.
func (s *Server) partyName(r *http.Request, iri string) string {
	if name := s.iris.CoopName(iri); name != "" {
		return "@" + name + "@" + s.iris.Host()
	}
	if a, err := s.store.RemoteActor(r.Context(), iri); err == nil {
		return "@" + a.Handle()
	}
	return iri
}

// tradesPage renders the trades page; failed (the trade's number) and f
// carry a form to show again with its errors.
func (s *Server) tradesPage(w http.ResponseWriter, r *http.Request, sess *store.Session, status int, failed int64, f *form) {
	ctx := r.Context()
	c := sess.Coop
	self := s.iris.Coop(c.Name)
	trades, err := s.store.CoopTrades(ctx, c.ID, store.TradeFilter{Limit: 200})
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	names := map[string]string{}
	name := func(iri string) string {
		if n, ok := names[iri]; ok {
			return n
		}
		names[iri] = s.partyName(r, iri)
		return names[iri]
	}
	mine, err := s.store.Reviews(ctx, self, false, 1000)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	reviewed := map[int64]bool{}
	for _, rv := range mine {
		reviewed[rv.TradeID] = true
	}
	received, err := s.store.Reviews(ctx, self, true, 100)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	var incoming, outgoing, accepted, history []tradeRow
	shown := false
	for _, t := range trades {
		row := tradeRow{T: t, ListingURL: t.ListingIRI, Headline: t.ListingTitle, Counterpart: name(t.Counterpart(self)),
			Form: &form{Values: map[string]string{"return_kind": "nothing"}, Errors: map[string]string{}}}
		row.Form.Values["quantity_value"], row.Form.Values["quantity_unit"] = coopfed.FormatNumber(t.Quantity.Value), t.Quantity.Unit
		if t.Reciprocal != nil {
			row.Return = t.Reciprocal.String()
			if k := t.Reciprocal.Kind; k == coopfed.ReciprocalPrice || k == coopfed.ReciprocalCredits {
				row.Form.Values["return_kind"], row.Form.Values["return_amount"], row.Form.Values["return_currency"] = k, t.Reciprocal.Price.Amount, t.Reciprocal.Price.Currency
			}
		}
		if t.ID == failed && f != nil && t.State != coopfed.TradeRejected && t.State != coopfed.TradeWithdrawn &&
			t.State != coopfed.TradeCountered && t.State != coopfed.TradeFulfilled {
			// The trade still has forms: the problem goes next to them.
			row.Form, shown = f, true
		}
		switch {
		case t.Open() && t.Recipient() == self:
			row.Incoming = true
			incoming = append(incoming, row)
		case t.Open():
			row.Outgoing = true
			outgoing = append(outgoing, row)
		case t.State == coopfed.TradeAccepted:
			mine := t.ProposerConfirmed
			if t.OwnerIRI == self {
				mine = t.OwnerConfirmed
			}
			row.CanConfirm, row.IConfirmed = !mine, mine
			disputes, err := s.store.TradeDisputes(ctx, t.ID)
			if err != nil {
				s.uiError(w, r, err)
				return
			}
			for _, d := range disputes {
				if d.Open() {
					row.Dispute = d
				}
			}
			row.CanDispute = row.Dispute == nil
			accepted = append(accepted, row)
		default:
			row.CanReview = t.State == coopfed.TradeFulfilled && !reviewed[t.ID]
			history = append(history, row)
		}
	}
	entries, err := s.store.Ledger(ctx, c.ID)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	ledger := make([]ledgerRow, 0, len(entries))
	for _, e := range entries {
		row := ledgerRow{E: e, Counterpart: name(e.Counterpart), Credits: coopfed.FormatCredits(e.Credits), QuantityText: e.Quantity.String(),
			TradeURL: e.TradeIRI, AgreementURL: e.AgreementIRI}
		if e.Reciprocal != nil {
			row.Value = e.Reciprocal.String()
		}
		ledger = append(ledger, row)
	}
	balances, total, err := s.balances(r, c, entries, name)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	data := map[string]any{
		"Me": sess.Member, "Coop": c, "CSRF": sess.CSRF, "Action": tradesURL(c.Name), "DashboardURL": dashboardURL(c.Name),
		"Incoming": incoming, "Outgoing": outgoing, "Accepted": accepted, "History": history,
		"Ledger": ledger, "Balances": balances, "Total": coopfed.FormatCredits(total),
		"CSVURL": dashboardURL(c.Name) + "/ledger.csv", "Flash": tradeFlashes[r.URL.Query().Get("done")],
		"Reviews": reviewRows(received, name), "ReviewsAction": dashboardURL(c.Name) + "/reviews",
	}
	if f != nil && !shown {
		data["Problem"] = f.Problem
	}
	s.page(w, status, "trades", data)
}

// balances sums the ledger per partner with the credit limit that applies
// to each, as GET .../balances does.
func (s *Server) balances(r *http.Request, c *coopfed.Coop, entries []coopfed.LedgerEntry, name func(string) string) ([]balanceRow, int64, error) {
	bal := coopfed.Balances(entries)
	limits, err := s.store.CreditLimits(r.Context(), c.ID)
	if err != nil {
		return nil, 0, err
	}
	def := int64(coopfed.DefaultCreditLimit * coopfed.CreditScale)
	if v, ok := limits[""]; ok {
		def = v
	}
	partners := make([]string, 0, len(bal))
	var total int64
	for p, v := range bal {
		partners = append(partners, p)
		total += v
	}
	sort.Strings(partners)
	out := make([]balanceRow, 0, len(partners))
	for _, p := range partners {
		limit := def
		if v, ok := limits[p]; ok {
			limit = v
		}
		out = append(out, balanceRow{Partner: p, Name: name(p), Balance: coopfed.FormatCredits(bal[p]), Limit: coopfed.FormatCredits(limit)})
	}
	return out, total, nil
}

// getLedgerCSV downloads the coop's ledger for a logged-in member: the
// same file as the API's ledger.csv, without a bearer token.
func (s *Server) getLedgerCSV(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	entries, err := s.store.Ledger(r.Context(), sess.Coop.ID)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeLedgerCSV(w, sess.Coop, entries)
}

// marketTradeURL is where a logged-in member proposes a trade on a
// listing of the market.
func marketTradeURL(coop, listingIRI string) string {
	return dashboardURL(coop) + "/trades/new?" + url.Values{"listing": {listingIRI}}.Encode()
}

// visitor adds a logged-in visitor's session to a public page's data, so
// the page can offer member actions, and keeps caches from storing a page
// that carries the session's CSRF secret. It returns the session or nil.
func (s *Server) visitor(w http.ResponseWriter, r *http.Request, data map[string]any) *store.Session {
	sess := s.session(r)
	if sess == nil {
		return nil
	}
	w.Header().Set("Cache-Control", "private, no-store")
	data["Me"], data["CSRF"], data["MyCoop"] = sess.Member, sess.CSRF, sess.Coop
	return sess
}

// tradeLink is where the visitor may propose a trade on l: only members
// of another coop than the listing's, on an open listing.
func (s *Server) tradeLink(sess *store.Session, l *coopfed.Listing) string {
	if sess == nil || l.ActorIRI == s.iris.Coop(sess.Coop.Name) || !l.OpenAt(time.Now()) {
		return ""
	}
	return marketTradeURL(sess.Coop.Name, l.IRI)
}

// listingVisitor adds to a listing page the proposal form for a member of
// another coop, or the edit link for a member of the listing's coop.
func (s *Server) listingVisitor(w http.ResponseWriter, r *http.Request, l *coopfed.Listing, data map[string]any) {
	sess := s.visitor(w, r, data)
	if sess == nil {
		return
	}
	if s.tradeLink(sess, l) != "" {
		data["TradeAction"], data["TradeForm"] = tradesURL(sess.Coop.Name), newTradeForm(l)
	}
}

// reviewRow is a review as pages show it.
type reviewRow struct {
	R      *coopfed.Review
	Author string
}

func reviewRows(reviews []*coopfed.Review, name func(string) string) []reviewRow {
	out := make([]reviewRow, 0, len(reviews))
	for _, r := range reviews {
		out = append(out, reviewRow{R: r, Author: name(r.AuthorIRI)})
	}
	return out
}
