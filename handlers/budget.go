package handlers

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"html/template"
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

// Participatory budgets. A coop opens a round (POST
// /coops/{coop}/budgets); coops that follow it propose buckets (POST
// /coops/{coop}/buckets, for a round of their own or of a coop they
// follow); members allocate their share (POST /coops/{coop}/allocations,
// for a member of the coop the token is for); the round's coop records
// what it paid out (POST .../buckets/{id}/spends). Rounds, buckets and the
// ledger are public: JSON under /api/v1/budgets, CSV, and pages.
func init() {
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		api.HandleFunc("/coops/{coop}/budgets", s.apiHandler(s.apiOpenRound)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/budgets", s.apiHandler(s.apiCoopRounds)).Methods(http.MethodGet)
		api.HandleFunc("/coops/{coop}/budget-ledger", s.apiHandler(s.apiCoopBudgetLedger(false))).Methods(http.MethodGet)
		api.HandleFunc("/coops/{coop}/budget-ledger.csv", s.apiHandler(s.apiCoopBudgetLedger(true))).Methods(http.MethodGet)
		api.HandleFunc("/coops/{coop}/buckets", s.apiHandler(s.apiProposeBucket)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/buckets/{id:[0-9]+}", s.apiHandler(s.apiEditBucket)).Methods(http.MethodPatch)
		api.HandleFunc("/coops/{coop}/buckets/{id:[0-9]+}/spends", s.apiHandler(s.apiRecordSpend)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/allocations", s.apiHandler(s.apiAllocate)).Methods(http.MethodPost)
		api.HandleFunc("/budgets", s.apiHandler(s.apiRoundByIRI)).Methods(http.MethodGet)
		api.HandleFunc("/budgets/{id:[0-9]+}", s.apiHandler(s.apiRound)).Methods(http.MethodGet)
		api.HandleFunc("/budgets/{id:[0-9]+}/ledger", s.apiHandler(s.apiRoundLedger(false))).Methods(http.MethodGet)
		api.HandleFunc("/budgets/{id:[0-9]+}/ledger.csv", s.apiHandler(s.apiRoundLedger(true))).Methods(http.MethodGet)
		r.HandleFunc(federation.RouteRound, s.getRound).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(federation.RouteBucket, s.getBucket).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(routeBudgets, s.getBudgets).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(routeBudgets+"/{id:[0-9]+}", s.getRoundPage).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(routeBudgets+"/{id:[0-9]+}/ledger", s.getLedgerPage).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(routeBudgets+"/{id:[0-9]+}/allocate", s.uiAllocate).Methods(http.MethodPost)
	})
}

// routeBudgets lists the rounds a coop holds or takes part in.
const routeBudgets = "/coops/{name}/budgets"

func budgetsURL(coop string) string { return "/coops/" + url.PathEscape(coop) + "/budgets" }

// amountIn is an amount as the API takes it: a decimal string ("12.50")
// or a JSON number, in the round's currency.
type amountIn = json.Number

func parseAmountIn(v amountIn, decimals int, field string) (int64, error) {
	n, err := coopfed.ParseAmount(string(v), decimals)
	if err != nil {
		return 0, coopfed.FieldErrors(map[string]string{field: "an amount such as 12.50, with at most " + strconv.Itoa(decimals) + " decimal places"})
	}
	return n, nil
}

func optTime(s, field string) (time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, coopfed.FieldErrors(map[string]string{field: "a date and time such as 2026-12-31T18:00:00Z"})
	}
	return t, nil
}

func roundOut(r *coopfed.BudgetRound, buckets []*coopfed.Bucket) map[string]any {
	out := map[string]any{
		"id": r.ID, "iri": r.IRI, "coop": r.OwnerIRI, "title": r.Title, "description": r.Description, "model": r.Model,
		"pot": coopfed.FormatAmount(r.Pot, r.Decimals), "pot_minor": r.Pot, "currency": r.Currency, "decimals": r.Decimals,
		"allocators": r.Allocators, "share": coopfed.FormatAmount(r.Share, r.Decimals), "share_minor": r.Share,
		"remainder_minor": r.Remainder(), "allocator_coops": r.AllocatorCoops, "state": r.State,
		"closes_at": r.ClosesAt.UTC().Format(time.RFC3339), "motion": r.MotionIRI, "closed_at": nil, "voting_closes_at": nil,
	}
	if r.AllocatorCoops == nil {
		out["allocator_coops"] = []coopfed.AllocatorCoop{}
	}
	if !r.ClosedAt.IsZero() {
		out["closed_at"] = r.ClosedAt.UTC().Format(time.RFC3339)
	}
	if !r.VotingClosesAt.IsZero() {
		out["voting_closes_at"] = r.VotingClosesAt.UTC().Format(time.RFC3339)
	}
	if buckets != nil {
		items := []map[string]any{}
		var funded int64
		for _, b := range buckets {
			items = append(items, bucketOut(r, b))
			funded += b.FundedAmount
		}
		out["buckets"] = items
		out["funded_minor"] = funded
	}
	return out
}

func bucketOut(r *coopfed.BudgetRound, b *coopfed.Bucket) map[string]any {
	out := map[string]any{
		"id": b.ID, "iri": b.IRI, "round": b.RoundIRI, "coop": b.AuthorIRI, "title": b.Title, "what": b.What, "why": b.Why,
		"asked": coopfed.FormatAmount(b.Asked, r.Decimals), "asked_minor": b.Asked, "allocated_minor": b.Allocated, "votes": b.Votes,
		"funded": b.Funded, "funded_minor": b.FundedAmount, "spent_minor": b.Spent, "payment_links": paymentLinksOut(b.PaymentLinks), "needed_by": nil,
	}
	if !b.NeededBy.IsZero() {
		out["needed_by"] = b.NeededBy.UTC().Format(time.RFC3339)
	}
	return out
}

type roundInput struct {
	Title          string   `json:"title"`
	Description    string   `json:"description"`
	Pot            amountIn `json:"pot"`
	Currency       string   `json:"currency"`
	Model          string   `json:"model"`
	ClosesAt       string   `json:"closes_at"`
	VotingClosesAt string   `json:"voting_closes_at"`
	EligibleCoops  []string `json:"eligible_coops"`
}

func (s *Server) apiOpenRound(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in roundInput
	if err := decode(r, &in); err != nil {
		return err
	}
	rd := &coopfed.BudgetRound{Title: in.Title, Description: in.Description, Currency: in.Currency, Model: in.Model, EligibleCoops: in.EligibleCoops}
	rd.Normalize()
	fields := map[string]string{}
	if rd.Pot, err = parseAmountIn(in.Pot, coopfed.CurrencyDecimals(rd.Currency), "pot"); err != nil {
		fields["pot"] = err.(*coopfed.Error).Fields["pot"]
	}
	if rd.ClosesAt, err = optTime(in.ClosesAt, "closes_at"); err != nil || rd.ClosesAt.IsZero() {
		fields["closes_at"] = "a date and time such as 2026-12-31T18:00:00Z"
	}
	if rd.VotingClosesAt, err = optTime(in.VotingClosesAt, "voting_closes_at"); err != nil {
		fields["voting_closes_at"] = "a date and time such as 2026-12-31T18:00:00Z"
	}
	if len(fields) > 0 {
		return coopfed.FieldErrors(fields)
	}
	if err := s.fed.OpenRound(r.Context(), c, rd); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, jsonType, roundOut(rd, []*coopfed.Bucket{}))
	return nil
}

func (s *Server) apiCoopRounds(w http.ResponseWriter, r *http.Request) error {
	c, err := s.store.CoopByName(r.Context(), mux.Vars(r)["coop"])
	if err != nil {
		return err
	}
	rounds, err := s.coopRounds(r.Context(), c)
	if err != nil {
		return err
	}
	items := []map[string]any{}
	for _, rd := range rounds {
		items = append(items, roundOut(rd, nil))
	}
	writeJSON(w, http.StatusOK, jsonType, map[string]any{"items": items})
	return nil
}

// coopRounds returns a coop's own rounds and those of the coops it
// follows that this instance knows.
func (s *Server) coopRounds(ctx context.Context, c *coopfed.Coop) ([]*coopfed.BudgetRound, error) {
	own, err := s.store.Rounds(ctx, c.ID, "")
	if err != nil {
		return nil, err
	}
	following, err := s.store.Followings(ctx, store.FollowFilter{CoopID: c.ID, State: coopfed.FollowAccepted, Limit: 200})
	if err != nil {
		return nil, err
	}
	for _, f := range following {
		list, err := s.store.Rounds(ctx, 0, f.ActorIRI)
		if err != nil {
			return nil, err
		}
		for _, rd := range list {
			if !rd.Local() {
				own = append(own, rd)
			}
		}
	}
	return own, nil
}

// roundByNumber returns the round a path's id names, with its buckets.
func (s *Server) roundByNumber(ctx context.Context, id string) (*coopfed.BudgetRound, []*coopfed.Bucket, error) {
	n, _ := strconv.ParseInt(id, 10, 64)
	rd, err := s.store.RoundByID(ctx, n)
	if err != nil {
		return nil, nil, err
	}
	buckets, err := s.store.Buckets(ctx, rd.ID)
	return rd, buckets, err
}

func (s *Server) apiRound(w http.ResponseWriter, r *http.Request) error {
	rd, buckets, err := s.roundByNumber(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, jsonType, roundOut(rd, buckets))
	return nil
}

func (s *Server) apiRoundByIRI(w http.ResponseWriter, r *http.Request) error {
	rd, err := s.store.Round(r.Context(), r.URL.Query().Get("iri"))
	if err != nil {
		return err
	}
	buckets, err := s.store.Buckets(r.Context(), rd.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, jsonType, roundOut(rd, buckets))
	return nil
}

type bucketInput struct {
	Round        string                `json:"round"`
	Title        string                `json:"title"`
	What         string                `json:"what"`
	Why          string                `json:"why"`
	Asked        amountIn              `json:"asked"`
	NeededBy     string                `json:"needed_by"`
	PaymentLinks []coopfed.PaymentLink `json:"payment_links"`
}

func (in bucketInput) proposal(rd *coopfed.BudgetRound) (federation.BucketProposal, error) {
	p := federation.BucketProposal{Title: in.Title, What: in.What, Why: in.Why, PaymentLinks: in.PaymentLinks}
	var err error
	if p.Asked, err = parseAmountIn(in.Asked, rd.Decimals, "asked"); err != nil {
		return p, err
	}
	p.NeededBy, err = optTime(in.NeededBy, "needed_by")
	return p, err
}

func (s *Server) apiProposeBucket(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in bucketInput
	if err := decode(r, &in); err != nil {
		return err
	}
	rd, err := s.store.Round(r.Context(), in.Round)
	if err != nil {
		return err
	}
	p, err := in.proposal(rd)
	if err != nil {
		return err
	}
	b, err := s.fed.ProposeBucket(r.Context(), c, rd.IRI, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, jsonType, bucketOut(rd, b))
	return nil
}

// coopBucket returns the bucket a path's id names; another coop's is
// reported missing.
func (s *Server) coopBucket(r *http.Request, c *coopfed.Coop, author bool) (*coopfed.Bucket, *coopfed.BudgetRound, error) {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	b, err := s.store.BucketByID(r.Context(), id)
	if err != nil {
		return nil, nil, err
	}
	rd, err := s.store.RoundByID(r.Context(), b.RoundID)
	if err != nil {
		return nil, nil, err
	}
	if (author && b.AuthorIRI != s.iris.Coop(c.Name)) || (!author && rd.CoopID != c.ID) {
		return nil, nil, coopfed.Errorf(coopfed.ENOTFOUND, "bucket not found")
	}
	return b, rd, nil
}

func (s *Server) apiEditBucket(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	b, rd, err := s.coopBucket(r, c, true)
	if err != nil {
		return err
	}
	var in bucketInput
	if err := decode(r, &in); err != nil {
		return err
	}
	p, err := in.proposal(rd)
	if err != nil {
		return err
	}
	if b, err = s.fed.EditBucket(r.Context(), c, b.IRI, p); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, jsonType, bucketOut(rd, b))
	return nil
}

func (s *Server) apiAllocate(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in struct {
		Round  string   `json:"round"`
		Bucket string   `json:"bucket"`
		Member string   `json:"member"`
		Amount amountIn `json:"amount"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	rd, err := s.store.Round(r.Context(), in.Round)
	if err != nil {
		return err
	}
	amount, err := parseAmountIn(in.Amount, rd.Decimals, "amount")
	if err != nil {
		return err
	}
	a, err := s.fed.Allocate(r.Context(), c, rd.IRI, in.Bucket, in.Member, amount)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, jsonType, allocationOut(rd, a))
	return nil
}

func allocationOut(rd *coopfed.BudgetRound, a *coopfed.Allocation) map[string]any {
	return map[string]any{"round": rd.IRI, "bucket": a.BucketIRI, "allocator": a.AllocatorIRI, "coop": a.CoopIRI,
		"amount": coopfed.FormatAmount(a.Amount, rd.Decimals), "amount_minor": a.Amount, "created": a.Created.UTC().Format(time.RFC3339)}
}

func (s *Server) apiRecordSpend(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	b, rd, err := s.coopBucket(r, c, false)
	if err != nil {
		return err
	}
	var in struct {
		Amount    amountIn `json:"amount"`
		Reference string   `json:"reference"`
		Note      string   `json:"note"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	sp := &coopfed.Spend{Reference: in.Reference, Note: in.Note}
	if sp.Amount, err = parseAmountIn(in.Amount, rd.Decimals, "amount"); err != nil {
		return err
	}
	if err := s.fed.RecordSpend(r.Context(), c, b.IRI, sp); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, jsonType, map[string]any{"id": sp.ID, "bucket": b.IRI, "amount_minor": sp.Amount,
		"reference": sp.Reference, "note": sp.Note})
	return nil
}

// --- the ledger ---

// roundLedger lists a round's income, allocations, what was funded or
// went back, and spends, oldest first.
func (s *Server) roundLedger(ctx context.Context, rd *coopfed.BudgetRound, buckets []*coopfed.Bucket) ([]coopfed.BudgetEntry, error) {
	allocations, err := s.store.Allocations(ctx, rd.ID)
	if err != nil {
		return nil, err
	}
	spends, err := s.store.Spends(ctx, rd.ID)
	if err != nil {
		return nil, err
	}
	entry := func(at time.Time, kind, bucket, who string, amount int64, ref string) coopfed.BudgetEntry {
		return coopfed.BudgetEntry{Date: at, RoundIRI: rd.IRI, Round: rd.Title, Kind: kind, Bucket: bucket, Who: who, Amount: amount,
			Currency: rd.Currency, Decimals: rd.Decimals, Reference: ref}
	}
	out := []coopfed.BudgetEntry{entry(rd.Created, coopfed.BudgetIncome, "", rd.OwnerIRI, rd.Pot, rd.IRI)}
	for _, a := range allocations {
		out = append(out, entry(a.Created, coopfed.BudgetAllocation, a.BucketTitle, a.AllocatorIRI, a.Amount, a.BucketIRI))
	}
	if rd.State == coopfed.RoundClosed {
		for _, b := range buckets {
			switch {
			case b.Funded:
				out = append(out, entry(rd.ClosedAt, coopfed.BudgetFunded, b.Title, b.AuthorIRI, b.FundedAmount, b.IRI))
			case b.Allocated > 0:
				out = append(out, entry(rd.ClosedAt, coopfed.BudgetReturned, b.Title, b.AuthorIRI, b.Allocated, b.IRI))
			}
		}
	}
	for _, sp := range spends {
		ref := sp.Reference
		if sp.Note != "" {
			ref = strings.TrimSpace(ref + " " + sp.Note)
		}
		out = append(out, entry(sp.Created, coopfed.BudgetSpend, sp.BucketTitle, "", sp.Amount, ref))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out, nil
}

func budgetEntryOut(e coopfed.BudgetEntry) map[string]any {
	return map[string]any{"date": e.Date.UTC().Format(time.RFC3339), "round": e.RoundIRI, "round_title": e.Round, "kind": e.Kind,
		"bucket": e.Bucket, "who": e.Who, "amount": coopfed.FormatAmount(e.Amount, e.Decimals), "amount_minor": e.Amount,
		"currency": e.Currency, "reference": e.Reference}
}

// writeBudgetLedger answers a ledger as JSON or as a CSV download.
func writeBudgetLedger(w http.ResponseWriter, name string, entries []coopfed.BudgetEntry, asCSV bool) {
	if !asCSV {
		items := []map[string]any{}
		for _, e := range entries {
			items = append(items, budgetEntryOut(e))
		}
		writeJSON(w, http.StatusOK, jsonType, map[string]any{"items": items})
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`-budget-ledger.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"date", "round", "round_title", "kind", "bucket", "who", "amount", "currency", "reference"})
	for _, e := range entries {
		// Why csvSafe: titles, names and references come from members
		// and peers; a spreadsheet must not read one as a formula.
		cw.Write([]string{e.Date.UTC().Format(time.RFC3339), e.RoundIRI, csvSafe(e.Round), e.Kind, csvSafe(e.Bucket), csvSafe(e.Who),
			coopfed.FormatAmount(e.Amount, e.Decimals), e.Currency, csvSafe(e.Reference)})
	}
	cw.Flush()
}

func (s *Server) apiRoundLedger(asCSV bool) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		rd, buckets, err := s.roundByNumber(r.Context(), mux.Vars(r)["id"])
		if err != nil {
			return err
		}
		entries, err := s.roundLedger(r.Context(), rd, buckets)
		if err != nil {
			return err
		}
		writeBudgetLedger(w, "round-"+strconv.FormatInt(rd.ID, 10), entries, asCSV)
		return nil
	}
}

func (s *Server) apiCoopBudgetLedger(asCSV bool) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.store.CoopByName(r.Context(), mux.Vars(r)["coop"])
		if err != nil {
			return err
		}
		rounds, err := s.store.Rounds(r.Context(), c.ID, "")
		if err != nil {
			return err
		}
		var all []coopfed.BudgetEntry
		for _, rd := range rounds {
			buckets, err := s.store.Buckets(r.Context(), rd.ID)
			if err != nil {
				return err
			}
			entries, err := s.roundLedger(r.Context(), rd, buckets)
			if err != nil {
				return err
			}
			all = append(all, entries...)
		}
		sort.SliceStable(all, func(i, j int) bool { return all[i].Date.Before(all[j].Date) })
		writeBudgetLedger(w, c.Name, all, asCSV)
		return nil
	}
}

// --- ActivityPub documents and pages ---

func (s *Server) getRound(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rd, err := s.store.Round(ctx, s.iris.Round(mux.Vars(r)["id"]))
	if err != nil {
		s.error(w, r, err)
		return
	}
	if wantsActivity(r) {
		doc, err := s.fed.RoundDocument(ctx, rd)
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.writeActivity(w, r, doc)
		return
	}
	c, err := s.store.CoopByID(ctx, rd.CoopID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	http.Redirect(w, r, budgetsURL(c.Name)+"/"+strconv.FormatInt(rd.ID, 10), http.StatusSeeOther)
}

func (s *Server) getBucket(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	b, err := s.store.Bucket(ctx, s.iris.Bucket(mux.Vars(r)["id"]))
	if err != nil {
		s.error(w, r, err)
		return
	}
	if wantsActivity(r) {
		doc, err := s.fed.BucketDocument(ctx, b)
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.writeActivity(w, r, doc)
		return
	}
	c, err := s.store.CoopByName(ctx, s.iris.CoopName(b.AuthorIRI))
	if err != nil {
		s.error(w, r, err)
		return
	}
	http.Redirect(w, r, budgetsURL(c.Name)+"/"+strconv.FormatInt(b.RoundID, 10)+"#bucket-"+strconv.FormatInt(b.ID, 10), http.StatusSeeOther)
}

// budgetCoop returns the coop a page's path names.
func (s *Server) budgetCoop(w http.ResponseWriter, r *http.Request) *coopfed.Coop {
	c, err := s.store.CoopByName(r.Context(), mux.Vars(r)["name"])
	if err != nil {
		s.uiError(w, r, err)
		return nil
	}
	return c
}

type roundView struct {
	R   *coopfed.BudgetRound
	URL string
}

func (s *Server) getBudgets(w http.ResponseWriter, r *http.Request) {
	c := s.budgetCoop(w, r)
	if c == nil {
		return
	}
	rounds, err := s.coopRounds(r.Context(), c)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	views := make([]roundView, 0, len(rounds))
	for _, rd := range rounds {
		views = append(views, roundView{R: rd, URL: budgetsURL(c.Name) + "/" + strconv.FormatInt(rd.ID, 10)})
	}
	s.render(w, r, "budgets", map[string]any{"Coop": c, "CoopURL": s.iris.Coop(c.Name), "Rounds": views,
		"JSONURL": "/api/v1/coops/" + c.Name + "/budgets", "LedgerURL": "/api/v1/coops/" + c.Name + "/budget-ledger.csv"})
}

type bucketView struct {
	B                             *coopfed.Bucket
	Asked, Allocated, Funded      string
	Spent, NeededBy, State, Title string
	Links                         []paymentLinkView
	Allocations                   []string
}

// allocationChart draws allocations per bucket against what each asked.
func allocationChart(rd *coopfed.BudgetRound, buckets []*coopfed.Bucket) template.HTML {
	bars := make([]chartBar, 0, len(buckets))
	for _, b := range buckets {
		v := b.Allocated
		if rd.Model == coopfed.BudgetMotion {
			bars = append(bars, chartBar{Name: b.Title, Value: float64(b.Votes), Text: strconv.FormatInt(b.Votes, 10)})
			continue
		}
		bars = append(bars, chartBar{Name: b.Title, Value: float64(v), Text: coopfed.FormatAmount(v, rd.Decimals)})
	}
	label := "Allocations per bucket, in " + rd.Currency
	if rd.Model == coopfed.BudgetMotion {
		label = "Votes per bucket"
	}
	return barChartAttrs(label, bars, "data-bucket", "data-value")
}

// roundPage gathers what the round and ledger pages show.
func (s *Server) roundPage(w http.ResponseWriter, r *http.Request) (*coopfed.Coop, *coopfed.BudgetRound, []*coopfed.Bucket, map[string]any) {
	c := s.budgetCoop(w, r)
	if c == nil {
		return nil, nil, nil, nil
	}
	rd, buckets, err := s.roundByNumber(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.uiError(w, r, err)
		return nil, nil, nil, nil
	}
	page := budgetsURL(c.Name) + "/" + strconv.FormatInt(rd.ID, 10)
	data := map[string]any{"Coop": c, "Round": rd, "BudgetsURL": budgetsURL(c.Name), "PageURL": page, "LedgerPage": page + "/ledger",
		"JSONURL":   "/api/v1/budgets/" + strconv.FormatInt(rd.ID, 10),
		"LedgerCSV": "/api/v1/budgets/" + strconv.FormatInt(rd.ID, 10) + "/ledger.csv",
		"Pot":       rd.Amount(rd.Pot), "Share": rd.Amount(rd.Share), "Remainder": rd.Amount(rd.Remainder())}
	return c, rd, buckets, data
}

func (s *Server) getRoundPage(w http.ResponseWriter, r *http.Request) {
	s.renderRoundPage(w, r, http.StatusOK, "")
}

// renderRoundPage shows a round with its buckets and chart; problem, when
// set, is why the member's allocation was refused (status says how).
func (s *Server) renderRoundPage(w http.ResponseWriter, r *http.Request, status int, problem string) {
	c, rd, buckets, data := s.roundPage(w, r)
	if data == nil {
		return
	}
	if r.Method == http.MethodGet && wantsJSON(r) {
		writeJSON(w, http.StatusOK, jsonType, roundOut(rd, buckets))
		return
	}
	var allocations []*coopfed.Allocation
	var err error
	if rd.State == coopfed.RoundClosed {
		if allocations, err = s.store.Allocations(r.Context(), rd.ID); err != nil {
			s.uiError(w, r, err)
			return
		}
	}
	views := make([]bucketView, 0, len(buckets))
	var funded int64
	for _, b := range buckets {
		v := bucketView{B: b, Title: b.Title, Asked: rd.Amount(b.Asked), Allocated: rd.Amount(b.Allocated), Funded: rd.Amount(b.FundedAmount),
			Spent: rd.Amount(b.Spent), Links: paymentLinkViews(b.PaymentLinks), State: "open"}
		if !b.NeededBy.IsZero() {
			v.NeededBy = b.NeededBy.UTC().Format("2 Jan 2006")
		}
		switch {
		case b.Funded:
			v.State = "funded"
		case rd.State == coopfed.RoundClosed:
			v.State = "not funded"
		case b.Fundable():
			v.State = "fully allocated"
		}
		for _, a := range allocations {
			if a.BucketID == b.ID {
				v.Allocations = append(v.Allocations, a.AllocatorIRI+": "+rd.Amount(a.Amount))
			}
		}
		funded += b.FundedAmount
		views = append(views, v)
	}
	data["Buckets"] = views
	data["Chart"] = allocationChart(rd, buckets)
	data["FundedTotal"] = rd.Amount(funded)
	// A member of a coop that allocates in the round gets the form.
	if sess := s.session(r); sess != nil && sess.Coop.ID == c.ID && rd.Model == coopfed.BudgetAllocate && rd.OpenAt(time.Now()) && rd.Seats(s.iris.Coop(c.Name)) > 0 {
		spent, err := s.store.AllocatorSpent(r.Context(), rd.ID, coopfed.MemberIRI(s.iris.Coop(c.Name), sess.Member.Username))
		if err != nil {
			s.uiError(w, r, err)
			return
		}
		data["CanAllocate"], data["CSRF"], data["Left"] = true, sess.CSRF, rd.Amount(rd.Share-spent)
		data["Action"] = data["PageURL"].(string) + "/allocate"
	}
	switch r.URL.Query().Get("done") {
	case "allocated":
		data["Flash"] = "Your allocation is recorded."
	}
	if problem != "" {
		data["Problem"] = problem
	}
	s.page(w, status, "budget", data)
}

func (s *Server) getLedgerPage(w http.ResponseWriter, r *http.Request) {
	_, rd, buckets, data := s.roundPage(w, r)
	if data == nil {
		return
	}
	entries, err := s.roundLedger(r.Context(), rd, buckets)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	type line struct {
		Date                                     time.Time
		Kind, Bucket, Who, Amount, Reference, In string
	}
	lines := make([]line, 0, len(entries))
	var in, out, spent int64
	for _, e := range entries {
		lines = append(lines, line{Date: e.Date, Kind: e.Kind, Bucket: e.Bucket, Who: e.Who, Amount: rd.Amount(e.Amount), Reference: e.Reference})
		switch e.Kind {
		case coopfed.BudgetIncome:
			in += e.Amount
		case coopfed.BudgetFunded:
			out += e.Amount
		case coopfed.BudgetSpend:
			spent += e.Amount
		}
	}
	data["Lines"], data["Income"], data["FundedTotal"], data["SpentTotal"] = lines, rd.Amount(in), rd.Amount(out), rd.Amount(spent)
	data["LedgerJSON"] = "/api/v1/budgets/" + strconv.FormatInt(rd.ID, 10) + "/ledger"
	s.render(w, r, "budget_ledger", data)
}

// uiAllocate takes a member's allocation from the round page.
func (s *Server) uiAllocate(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	ctx := r.Context()
	rd, _, err := s.roundByNumber(ctx, mux.Vars(r)["id"])
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	page := budgetsURL(sess.Coop.Name) + "/" + strconv.FormatInt(rd.ID, 10)
	amount, err := coopfed.ParseAmount(r.PostFormValue("amount"), rd.Decimals)
	if err == nil {
		_, err = s.fed.Allocate(ctx, sess.Coop, rd.IRI, r.PostFormValue("bucket"), sess.Member.Username, amount)
	} else {
		err = coopfed.FieldErrors(map[string]string{"amount": "an amount such as 12.50"})
	}
	if err != nil {
		status, msg, _ := errorStatus(err)
		if status >= 500 {
			s.uiError(w, r, err)
			return
		}
		if e, ok := err.(*coopfed.Error); ok && len(e.Fields) > 0 {
			for k, v := range e.Fields {
				msg = k + ": " + v
			}
		}
		s.renderRoundPage(w, r, status, msg)
		return
	}
	http.Redirect(w, r, page+"?done=allocated", http.StatusSeeOther)
}
