package handlers

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/store"
	"github.com/gorilla/mux"
)

// Trades are addressed in paths by their local number (the "id" of every
// answer); the Offer's IRI is given as "iri".
func init() {
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		api.HandleFunc("/coops/{coop}/trades", s.apiHandler(s.apiProposeTrade)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/trades", s.apiHandler(s.apiTrades)).Methods(http.MethodGet)
		api.HandleFunc("/coops/{coop}/trades/{id:[0-9]+}", s.apiHandler(s.apiTrade)).Methods(http.MethodGet)
		api.HandleFunc("/coops/{coop}/trades/{id:[0-9]+}/{action:accept|reject|counter|withdraw|fulfil}", s.apiHandler(s.apiTradeAction)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/ledger", s.apiHandler(s.apiLedger)).Methods(http.MethodGet)
		api.HandleFunc("/coops/{coop}/ledger.csv", s.apiHandler(s.apiLedgerCSV)).Methods(http.MethodGet)
		api.HandleFunc("/coops/{coop}/balances", s.apiHandler(s.apiBalances)).Methods(http.MethodGet)
		api.HandleFunc("/coops/{coop}/credit-limits", s.apiHandler(s.apiSetCreditLimit)).Methods(http.MethodPut)
	})
}

// tradeInput is the body of a proposal or a counter-offer.
type tradeInput struct {
	Listing    string          `json:"listing"`
	Quantity   json.RawMessage `json:"quantity"`
	Reciprocal json.RawMessage `json:"reciprocal"`
	Message    string          `json:"message"`
	// Due is the delivery date, YYYY-MM-DD (UTC); "" for none.
	Due string `json:"due"`
}

func (in *tradeInput) proposal(needListing bool) (federation.TradeProposal, error) {
	fields := map[string]string{}
	p := federation.TradeProposal{ListingIRI: strings.TrimSpace(in.Listing), Message: in.Message}
	if needListing && p.ListingIRI == "" {
		fields["listing"] = "the IRI of the listing"
	}
	if len(in.Quantity) == 0 {
		fields["quantity"] = `give a quantity {"value": 2, "unit": "kilogram"}`
	} else if q := parseQuantity(in.Quantity, "quantity", fields); q != nil {
		p.Quantity = *q
	}
	if len(in.Reciprocal) > 0 && !isNull(in.Reciprocal) {
		p.Reciprocal = parseReciprocal(in.Reciprocal, fields)
	}
	if due := strings.TrimSpace(in.Due); due != "" {
		d, err := time.Parse("2006-01-02", due)
		if err != nil || d.Year() > 9999 {
			fields["due"] = "a date, YYYY-MM-DD"
		} else {
			p.Due = d
		}
	}
	return p, coopfed.FieldErrors(fields)
}

func (s *Server) tradeOut(t *coopfed.Trade, self string) map[string]any {
	role := "proposer"
	if t.OwnerIRI == self {
		role = "owner"
	}
	var rec any
	if t.Reciprocal != nil {
		rec = map[string]any{"kind": t.Reciprocal.Kind, "text": t.Reciprocal.String()}
	}
	return map[string]any{
		"id": t.ID, "iri": t.IRI, "listing": t.ListingIRI, "listing_title": t.ListingTitle, "listing_kind": t.ListingKind,
		"role": role, "counterpart": t.Counterpart(self), "proposer": t.ProposerIRI, "owner": t.OwnerIRI,
		"sent_by": t.Sender(), "awaiting_answer_from": map[bool]string{true: t.Recipient(), false: ""}[t.Open()],
		"in_reply_to": t.InReplyTo,
		"quantity":    map[string]any{"value": t.Quantity.Value, "unit": t.Quantity.Unit},
		"reciprocal":  rec, "credits": coopfed.FormatCredits(t.Credits()), "message": t.Message,
		"state": t.State, "reason": t.Reason, "agreement": t.AgreementIRI,
		"owner_confirmed": t.OwnerConfirmed, "proposer_confirmed": t.ProposerConfirmed, "receipt": t.ReceiptIRI,
		"due": dateOrEmpty(t.Due), "fulfilled_at": timeOrEmpty(t.FulfilledAt), "on_time": t.OnTime(),
		"created": t.Created.Format(time.RFC3339), "updated": t.Updated.Format(time.RFC3339),
	}
}

// dateOrEmpty writes a day as YYYY-MM-DD, "" for none.
func dateOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

// timeOrEmpty writes a time as RFC 3339, "" for none.
func timeOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func (s *Server) apiProposeTrade(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in tradeInput
	if err := decode(r, &in); err != nil {
		return err
	}
	p, err := in.proposal(true)
	if err != nil {
		return err
	}
	t, err := s.fed.ProposeTrade(r.Context(), c, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, marketJSON, s.tradeOut(t, s.iris.Coop(c.Name)))
	return nil
}

func (s *Server) apiTrades(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	fields := map[string]string{}
	limit, offset := pageParams(q, fields)
	state := q.Get("state")
	switch state {
	case "", coopfed.TradeProposed, coopfed.TradeCountered, coopfed.TradeAccepted, coopfed.TradeRejected, coopfed.TradeWithdrawn, coopfed.TradeFulfilled:
	default:
		fields["state"] = "proposed, countered, accepted, rejected, withdrawn or fulfilled"
	}
	if err := coopfed.FieldErrors(fields); err != nil {
		return err
	}
	ts, err := s.store.CoopTrades(r.Context(), c.ID, store.TradeFilter{State: state, Listing: q.Get("listing"), Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	self := s.iris.Coop(c.Name)
	items := []map[string]any{}
	for _, t := range ts {
		items = append(items, s.tradeOut(t, self))
	}
	writeJSON(w, http.StatusOK, marketJSON, pageJSON(items, limit, offset))
	return nil
}

// coopTrade loads a trade of the authenticated coop by its local number.
func (s *Server) coopTrade(r *http.Request) (*coopfed.Coop, *coopfed.Trade, error) {
	c, err := s.authFor(r)
	if err != nil {
		return nil, nil, err
	}
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		return nil, nil, coopfed.Errorf(coopfed.ENOTFOUND, "trade not found")
	}
	t, err := s.store.TradeByID(r.Context(), id)
	if err != nil {
		return nil, nil, err
	}
	self := s.iris.Coop(c.Name)
	if t.OwnerIRI != self && t.ProposerIRI != self {
		return nil, nil, coopfed.Errorf(coopfed.ENOTFOUND, "trade not found")
	}
	return c, t, nil
}

func (s *Server) apiTrade(w http.ResponseWriter, r *http.Request) error {
	c, t, err := s.coopTrade(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, marketJSON, s.tradeOut(t, s.iris.Coop(c.Name)))
	return nil
}

func (s *Server) apiTradeAction(w http.ResponseWriter, r *http.Request) error {
	c, t, err := s.coopTrade(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	status := http.StatusOK
	switch mux.Vars(r)["action"] {
	case "accept":
		t, err = s.fed.AcceptTrade(ctx, c, t.IRI)
	case "reject":
		var in struct {
			Reason string `json:"reason"`
		}
		if r.ContentLength != 0 {
			if err := decode(r, &in); err != nil {
				return err
			}
		}
		t, err = s.fed.RejectTrade(ctx, c, t.IRI, in.Reason)
	case "counter":
		var in tradeInput
		if err := decode(r, &in); err != nil {
			return err
		}
		var p federation.TradeProposal
		if p, err = in.proposal(false); err == nil {
			t, err = s.fed.CounterTrade(ctx, c, t.IRI, p)
			status = http.StatusCreated
		}
	case "withdraw":
		t, err = s.fed.WithdrawTrade(ctx, c, t.IRI)
	case "fulfil":
		t, err = s.fed.FulfilTrade(ctx, c, t.IRI)
	}
	if err != nil {
		return err
	}
	if status == http.StatusCreated {
		// The counter-offer is stored under its own number.
		if fresh, ferr := s.store.TradeByIRI(ctx, t.IRI); ferr == nil {
			t = fresh
		}
	}
	writeJSON(w, status, marketJSON, s.tradeOut(t, s.iris.Coop(c.Name)))
	return nil
}

func ledgerOut(e coopfed.LedgerEntry) map[string]any {
	rec := ""
	if e.Reciprocal != nil {
		rec = e.Reciprocal.String()
	}
	return map[string]any{
		"date": e.Date.Format(time.RFC3339), "trade": e.TradeIRI, "counterpart": e.Counterpart, "direction": e.Direction,
		"item": e.Item, "listing": e.ListingIRI, "quantity": map[string]any{"value": e.Quantity.Value, "unit": e.Quantity.Unit},
		"value": rec, "credits": coopfed.FormatCredits(e.Credits), "state": e.State, "agreement": e.AgreementIRI,
		"signed_agreement": signedAgreement(e.AgreementJSON),
	}
}

// signedAgreement is the kept signed Agreement as JSON, or null.
func signedAgreement(doc string) any {
	if doc == "" {
		return nil
	}
	return json.RawMessage(doc)
}

// agreementProofs returns the proofValues of a signed Agreement, space
// separated, for the ledger's CSV: enough to match a row with the
// document that a verifier checks.
func agreementProofs(doc string) string {
	var d struct {
		Proof json.RawMessage `json:"proof"`
	}
	if doc == "" || json.Unmarshal([]byte(doc), &d) != nil || len(d.Proof) == 0 {
		return ""
	}
	var proofs []struct {
		ProofValue string `json:"proofValue"`
	}
	raw := d.Proof
	if raw[0] == '{' {
		raw = append(append([]byte{'['}, raw...), ']')
	}
	json.Unmarshal(raw, &proofs)
	var vals []string
	for _, p := range proofs {
		vals = append(vals, p.ProofValue)
	}
	return strings.Join(vals, " ")
}

func (s *Server) apiLedger(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	entries, err := s.store.Ledger(r.Context(), c.ID)
	if err != nil {
		return err
	}
	items := []map[string]any{}
	for _, e := range entries {
		items = append(items, ledgerOut(e))
	}
	writeJSON(w, http.StatusOK, marketJSON, map[string]any{"items": items})
	return nil
}

func (s *Server) apiLedgerCSV(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	entries, err := s.store.Ledger(r.Context(), c.ID)
	if err != nil {
		return err
	}
	writeLedgerCSV(w, c, entries)
	return nil
}

// writeLedgerCSV writes a coop's ledger as a CSV download.
func writeLedgerCSV(w http.ResponseWriter, c *coopfed.Coop, entries []coopfed.LedgerEntry) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+c.Name+`-ledger.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"date", "counterpart", "direction", "item", "quantity", "unit", "value", "credits", "state", "trade", "agreement", "agreement_proof"})
	for _, e := range entries {
		rec := ""
		if e.Reciprocal != nil {
			rec = e.Reciprocal.String()
		}
		cw.Write([]string{e.Date.Format(time.RFC3339), e.Counterpart, e.Direction, csvSafe(e.Item), coopfed.FormatNumber(e.Quantity.Value),
			e.Quantity.Unit, csvSafe(rec), coopfed.FormatCredits(e.Credits), e.State, e.TradeIRI, e.AgreementIRI, csvSafe(agreementProofs(e.AgreementJSON))})
	}
	cw.Flush()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (s *Server) apiBalances(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	entries, err := s.store.Ledger(r.Context(), c.ID)
	if err != nil {
		return err
	}
	bal := coopfed.Balances(entries)
	limits, err := s.store.CreditLimits(r.Context(), c.ID)
	if err != nil {
		return err
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
	for p := range limits {
		if _, ok := bal[p]; !ok && p != "" {
			partners = append(partners, p)
		}
	}
	sort.Strings(partners)
	items := []map[string]any{}
	for _, p := range partners {
		limit := def
		if v, ok := limits[p]; ok {
			limit = v
		}
		items = append(items, map[string]any{"partner": p, "balance": coopfed.FormatCredits(bal[p]), "limit": coopfed.FormatCredits(limit)})
	}
	writeJSON(w, http.StatusOK, marketJSON, map[string]any{"total": coopfed.FormatCredits(total), "default_limit": coopfed.FormatCredits(def), "partners": items})
	return nil
}

func (s *Server) apiSetCreditLimit(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in struct {
		Partner string          `json:"partner"`
		Limit   json.RawMessage `json:"limit"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	v, err := coopfed.ParseCredits(text(in.Limit))
	if err != nil {
		return coopfed.FieldErrors(map[string]string{"limit": coopfed.ErrorMessage(err)})
	}
	partner := strings.TrimSpace(in.Partner)
	if partner != "" && !strings.HasPrefix(partner, "https://") && !strings.HasPrefix(partner, "http://") {
		return coopfed.FieldErrors(map[string]string{"partner": "the partner's actor IRI, or empty for the default"})
	}
	if err := s.store.Update(r.Context(), func(tx *store.Tx) error { return tx.SetCreditLimit(c.ID, partner, v) }); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, marketJSON, map[string]any{"partner": partner, "limit": coopfed.FormatCredits(v)})
	return nil
}
