package fedtest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

// tradeOut is one trade as the API returns it.
type tradeOut struct {
	ID                                  int64
	IRI, State, Reason, Agreement, Role string
	Credits, Receipt                    string
	Due                                 string
	OnTime                              bool `json:"on_time"`
	Quantity                            struct {
		Value float64
		Unit  string
	}
}

func trades(t *testing.T, inst *fedtest.Instance, query string) []tradeOut {
	t.Helper()
	var out struct{ Items []tradeOut }
	if st := inst.API(t, http.MethodGet, "/api/v1/coops/"+inst.Coop.Name+"/trades?limit=100&"+query, nil, &out); st != http.StatusOK {
		t.Fatalf("trades: status %d", st)
	}
	return out.Items
}

func tradeByIRI(t *testing.T, inst *fedtest.Instance, iri string) *tradeOut {
	for _, tr := range trades(t, inst, "") {
		if tr.IRI == iri {
			return &tr
		}
	}
	return nil
}

type balancesOut struct {
	Total    string
	Partners []struct{ Partner, Balance, Limit string }
}

func balances(t *testing.T, inst *fedtest.Instance) balancesOut {
	t.Helper()
	var out balancesOut
	if st := inst.API(t, http.MethodGet, "/api/v1/coops/"+inst.Coop.Name+"/balances", nil, &out); st != http.StatusOK {
		t.Fatalf("balances: status %d", st)
	}
	return out
}

func available(t *testing.T, inst *fedtest.Instance, coop, iri string) (float64, string) {
	for _, it := range market(t, inst, "limit=100&coop="+coop) {
		if it.ID == iri && it.Available != nil {
			return it.Available.Value, it.State
		}
	}
	return -1, "absent"
}

func eggsOffer(n int) map[string]any {
	return map[string]any{
		"kind": "offer", "title": "free range eggs", "category": "eggs",
		"quantity": map[string]any{"value": 1, "unit": "one"}, "available": map[string]any{"value": n, "unit": "one"},
		"unit_based": true, "reciprocal": map[string]any{"credits": "5"},
	}
}

// Two instances: the bakery proposes, the mill counters, the bakery
// accepts the counter-offer; the mill's listing drops on both sides, the
// ledgers and credit balances agree, both confirm delivery and the trade is
// fulfilled with a receipt.
func TestTradeProposeCounterAcceptFulfil(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "mill"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	b.Follow(t, a)
	var listing struct{ ID string }
	if st := a.API(t, http.MethodPost, "/api/v1/coops/mill/listings", eggsOffer(10), &listing); st != http.StatusCreated {
		t.Fatalf("listing: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "B's market has the offer", func() bool {
		v, _ := available(t, b, a.Handle(), listing.ID)
		return v == 10
	})

	var prop tradeOut
	st := b.API(t, http.MethodPost, "/api/v1/coops/bakery/trades", map[string]any{
		"listing": listing.ID, "quantity": map[string]any{"value": 2, "unit": "one"},
		"reciprocal": map[string]any{"credits": "10"}, "message": "For Saturday's bake",
	}, &prop)
	if st != http.StatusCreated || prop.State != "proposed" {
		t.Fatalf("propose: %d %+v", st, prop)
	}
	var onA *tradeOut
	fedtest.Eventually(t, 10*time.Second, "A receives the Offer", func() bool {
		onA = tradeByIRI(t, a, prop.IRI)
		return onA != nil
	})
	var counter tradeOut
	st = a.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/mill/trades/%d/counter", onA.ID), map[string]any{
		"quantity": map[string]any{"value": 3, "unit": "one"}, "reciprocal": map[string]any{"credits": "15"},
	}, &counter)
	if st != http.StatusCreated || counter.State != "proposed" {
		t.Fatalf("counter: %d %+v", st, counter)
	}
	var counterOnB *tradeOut
	fedtest.Eventually(t, 10*time.Second, "B receives the counter-offer; its own is countered", func() bool {
		counterOnB = tradeByIRI(t, b, counter.IRI)
		first := tradeByIRI(t, b, prop.IRI)
		return counterOnB != nil && first != nil && first.State == "countered"
	})
	if st := b.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/bakery/trades/%d/accept", counterOnB.ID), nil, nil); st != http.StatusOK {
		t.Fatalf("accept: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "A records the acceptance and the quantity drops on both sides", func() bool {
		tr := tradeByIRI(t, a, counter.IRI)
		va, _ := available(t, a, a.Handle(), listing.ID)
		vb, _ := available(t, b, a.Handle(), listing.ID)
		return tr != nil && tr.State == "accepted" && va == 7 && vb == 7
	})
	ba, bb := balances(t, a), balances(t, b)
	if ba.Total != "15" || bb.Total != "-15" || len(ba.Partners) != 1 || ba.Partners[0].Partner != b.ActorIRI() || bb.Partners[0].Partner != a.ActorIRI() {
		t.Fatalf("balances A %+v B %+v", ba, bb)
	}
	ta, tb := tradeByIRI(t, a, counter.IRI), tradeByIRI(t, b, counter.IRI)
	if ta.Agreement == "" || ta.Agreement != tb.Agreement {
		t.Fatalf("agreements differ: %q %q", ta.Agreement, tb.Agreement)
	}
	// Ledgers: one entry each, opposite directions, CSV export.
	for _, c := range []struct {
		inst *fedtest.Instance
		dir  string
	}{{a, "gave"}, {b, "received"}} {
		var led struct {
			Items []struct{ Direction, Credits, Item string }
		}
		c.inst.API(t, http.MethodGet, "/api/v1/coops/"+c.inst.Coop.Name+"/ledger", nil, &led)
		if len(led.Items) != 1 || led.Items[0].Direction != c.dir || led.Items[0].Item != "free range eggs" {
			t.Fatalf("%s ledger %+v", c.inst.Coop.Name, led)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, a.URL+"/api/v1/coops/mill/ledger.csv", nil)
	req.Header.Set("Authorization", "Bearer "+a.Token)
	if st, body := fedtest.Do(t, req); st != http.StatusOK || !strings.HasPrefix(body, "date,counterpart,direction") || !strings.Contains(body, ",gave,free range eggs,3,one,15 credits,15,accepted,") {
		t.Fatalf("ledger.csv: %d\n%s", st, body)
	}

	// Fulfilment: both confirm; the receipt reaches both.
	if st := a.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/mill/trades/%d/fulfil", ta.ID), nil, nil); st != http.StatusOK {
		t.Fatalf("fulfil A: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "B hears of A's confirmation", func() bool {
		return tradeByIRI(t, b, counter.IRI).Receipt != ""
	})
	firstConfirmation := tradeByIRI(t, b, counter.IRI).Receipt
	if st := b.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/bakery/trades/%d/fulfil", tb.ID), nil, nil); st != http.StatusOK {
		t.Fatalf("fulfil B: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "fulfilled on both sides", func() bool {
		x, y := tradeByIRI(t, a, counter.IRI), tradeByIRI(t, b, counter.IRI)
		return x.State == "fulfilled" && y.State == "fulfilled" && x.Receipt == y.Receipt
	})

	// The agreement (B made it by accepting) and both confirmations resolve
	// at their IRIs; the receipt's context is the agreement.
	var agreement struct {
		ID, Type, AttributedTo string
		Stipulates             struct {
			ResourceQuantity struct{ HasNumericalValue, HasUnit string }
		}
	}
	if st := fedtest.GetJSON(t, ta.Agreement, &agreement); st != http.StatusOK || agreement.ID != ta.Agreement ||
		agreement.Type != "Agreement" || agreement.AttributedTo != b.ActorIRI() || agreement.Stipulates.ResourceQuantity.HasNumericalValue != "3" {
		t.Fatalf("agreement %s: %d %+v", ta.Agreement, st, agreement)
	}
	if st := fedtest.GetJSON(t, strings.Replace(ta.Agreement, "/agreements/", "/agreements/x", 1), nil); st != http.StatusNotFound {
		t.Fatalf("unknown agreement: %d", st)
	}
	var receipt struct{ ID, Type, Context, AttributedTo, Content string }
	if st := fedtest.GetJSON(t, tradeByIRI(t, b, counter.IRI).Receipt, &receipt); st != http.StatusOK || receipt.Type != "Note" ||
		receipt.Context != ta.Agreement || receipt.AttributedTo != b.ActorIRI() || !strings.Contains(receipt.Content, "confirmed by both coops") {
		t.Fatalf("receipt: %d %+v", st, receipt)
	}
	if st := fedtest.GetJSON(t, firstConfirmation, &receipt); st != http.StatusOK || receipt.ID != firstConfirmation ||
		receipt.Context != ta.Agreement || receipt.AttributedTo != a.ActorIRI() {
		t.Fatalf("A's confirmation: %d %+v", st, receipt)
	}
}

// 20 proposals of one unit for a listing with 10, all accepted at once:
// exactly 10 are accepted, the rest refused with a reason, the listing is
// at 0 and closed.
func TestTradeConcurrentAcceptances(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "mill"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	b.Follow(t, a)
	var listing struct{ ID string }
	a.API(t, http.MethodPost, "/api/v1/coops/mill/listings", eggsOffer(10), &listing)
	fedtest.Eventually(t, 10*time.Second, "B's market has the offer", func() bool {
		v, _ := available(t, b, a.Handle(), listing.ID)
		return v == 10
	})
	for i := 0; i < 20; i++ {
		if st := b.API(t, http.MethodPost, "/api/v1/coops/bakery/trades", map[string]any{
			"listing": listing.ID, "quantity": map[string]any{"value": 1, "unit": "one"}, "reciprocal": map[string]any{"credits": "5"},
		}, nil); st != http.StatusCreated {
			t.Fatalf("propose %d: %d", i, st)
		}
	}
	var offers []tradeOut
	fedtest.Eventually(t, 20*time.Second, "A has 20 proposals", func() bool {
		offers = trades(t, a, "state=proposed")
		return len(offers) == 20
	})
	var mu sync.Mutex
	accepted, refused := 0, 0
	var reasons []string
	var wg sync.WaitGroup
	start := time.Now()
	for _, o := range offers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var e struct{ Error string }
			st := a.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/mill/trades/%d/accept", o.ID), nil, &e)
			mu.Lock()
			defer mu.Unlock()
			switch st {
			case http.StatusOK:
				accepted++
			case http.StatusConflict:
				refused++
				reasons = append(reasons, e.Error)
			default:
				t.Errorf("accept: status %d %v", st, e)
			}
		}()
	}
	wg.Wait()
	t.Logf("20 concurrent acceptances in %v: %d accepted, %d refused", time.Since(start), accepted, refused)
	if accepted != 10 || refused != 10 {
		t.Fatalf("accepted %d refused %d", accepted, refused)
	}
	for _, r := range reasons {
		if !strings.Contains(r, "already answered (rejected)") && !strings.Contains(r, "closed") && !strings.Contains(r, "left") {
			t.Fatalf("unclear reason %q", r)
		}
	}
	var l struct {
		State     string
		Available struct{ Value float64 }
	}
	if st := a.API(t, http.MethodGet, "/api/v1/listings?id="+listing.ID, nil, &l); st != http.StatusOK || l.State != "closed" || l.Available.Value != 0 {
		t.Fatalf("A's listing: %d %+v", st, l)
	}
	fedtest.Eventually(t, 20*time.Second, "B sees 10 accepted and 10 rejected", func() bool {
		return len(trades(t, b, "state=accepted")) == 10 && len(trades(t, b, "state=rejected")) == 10
	})
	// The ten Updates may reach B in any order, several within one second:
	// B's copy must end as A's listing is, never at an older version.
	fedtest.Eventually(t, 20*time.Second, "B's copy of the listing is at 0 and closed", func() bool {
		var c struct {
			State     string
			Available *struct{ Value float64 }
		}
		st := b.API(t, http.MethodGet, "/api/v1/listings?id="+url.QueryEscape(listing.ID), nil, &c)
		return st == http.StatusOK && c.State == "closed" && c.Available != nil && c.Available.Value == 0
	})
	if bb := balances(t, b); bb.Total != "-50" {
		t.Fatalf("B's balance %+v", bb)
	}
}

// partnerBalance returns an instance's balance with one partner, "0" when
// it has none.
func partnerBalance(b balancesOut, partner string) string {
	for _, p := range b.Partners {
		if p.Partner == partner {
			return p.Balance
		}
	}
	return "0"
}

// Three instances: the mill lists 10 eggs, the bakery and the café both
// propose; the mill accepts the bakery's Offer and counters the café's,
// the café accepts the counter-offer. All three see 5 left, and the
// ledgers and balances agree pairwise.
func TestTradeThreeInstances(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "mill"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	c := fedtest.Start(t, fedtest.Options{Coop: "cafe"})
	b.Follow(t, a)
	c.Follow(t, a)
	var listing struct{ ID string }
	if st := a.API(t, http.MethodPost, "/api/v1/coops/mill/listings", eggsOffer(10), &listing); st != http.StatusCreated {
		t.Fatalf("listing: %d", st)
	}
	propose := func(inst *fedtest.Instance, n int, credits string) tradeOut {
		t.Helper()
		fedtest.Eventually(t, 10*time.Second, inst.Coop.Name+"'s market has the offer", func() bool {
			v, _ := available(t, inst, a.Handle(), listing.ID)
			return v == 10
		})
		var out tradeOut
		if st := inst.API(t, http.MethodPost, "/api/v1/coops/"+inst.Coop.Name+"/trades", map[string]any{
			"listing": listing.ID, "quantity": map[string]any{"value": n, "unit": "one"}, "reciprocal": map[string]any{"credits": credits},
		}, &out); st != http.StatusCreated {
			t.Fatalf("%s proposes: %d", inst.Coop.Name, st)
		}
		return out
	}
	fromB, fromC := propose(b, 2, "10"), propose(c, 4, "20")
	var onA map[string]*tradeOut
	fedtest.Eventually(t, 10*time.Second, "the mill has both Offers", func() bool {
		onA = map[string]*tradeOut{"b": tradeByIRI(t, a, fromB.IRI), "c": tradeByIRI(t, a, fromC.IRI)}
		return onA["b"] != nil && onA["c"] != nil
	})
	if st := a.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/mill/trades/%d/accept", onA["b"].ID), nil, nil); st != http.StatusOK {
		t.Fatalf("accept B: %d", st)
	}
	var counter tradeOut
	if st := a.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/mill/trades/%d/counter", onA["c"].ID), map[string]any{
		"quantity": map[string]any{"value": 3, "unit": "one"}, "reciprocal": map[string]any{"credits": "15"}, "message": "Three is what we can spare",
	}, &counter); st != http.StatusCreated {
		t.Fatalf("counter C: %d", st)
	}
	var counterOnC *tradeOut
	fedtest.Eventually(t, 10*time.Second, "the café has the counter-offer", func() bool {
		counterOnC = tradeByIRI(t, c, counter.IRI)
		first := tradeByIRI(t, c, fromC.IRI)
		return counterOnC != nil && first != nil && first.State == "countered"
	})
	if st := c.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/cafe/trades/%d/accept", counterOnC.ID), nil, nil); st != http.StatusOK {
		t.Fatalf("C accepts the counter-offer: %d", st)
	}

	fedtest.Eventually(t, 15*time.Second, "5 left on all three instances; both trades accepted on both sides", func() bool {
		for _, inst := range []*fedtest.Instance{a, b, c} {
			if v, _ := available(t, inst, a.Handle(), listing.ID); v != 5 {
				return false
			}
		}
		ab, ba := tradeByIRI(t, a, fromB.IRI), tradeByIRI(t, b, fromB.IRI)
		ac, ca := tradeByIRI(t, a, counter.IRI), tradeByIRI(t, c, counter.IRI)
		return ab.State == "accepted" && ba.State == "accepted" && ac.State == "accepted" && ca.State == "accepted"
	})
	// Each pair holds the same trade: quantities and agreements agree.
	for _, p := range []struct {
		name   string
		x, y   *fedtest.Instance
		iri    string
		amount float64
		cred   string
	}{{"mill-bakery", a, b, fromB.IRI, 2, "10"}, {"mill-café", a, c, counter.IRI, 3, "15"}} {
		tx, ty := tradeByIRI(t, p.x, p.iri), tradeByIRI(t, p.y, p.iri)
		if tx.Quantity.Value != p.amount || ty.Quantity.Value != p.amount || tx.Credits != p.cred || ty.Credits != p.cred ||
			tx.Agreement == "" || tx.Agreement != ty.Agreement {
			t.Fatalf("%s: %+v vs %+v", p.name, tx, ty)
		}
	}
	if tr := tradeByIRI(t, a, fromC.IRI); tr.State != "countered" {
		t.Fatalf("the café's first Offer on the mill: %+v", tr)
	}
	// Ledgers: the mill gave twice, each buyer received once.
	ledger := func(inst *fedtest.Instance) []struct{ Direction, Counterpart, Credits string } {
		var led struct {
			Items []struct{ Direction, Counterpart, Credits string }
		}
		inst.API(t, http.MethodGet, "/api/v1/coops/"+inst.Coop.Name+"/ledger", nil, &led)
		return led.Items
	}
	if la := ledger(a); len(la) != 2 || la[0].Direction != "gave" || la[1].Direction != "gave" {
		t.Fatalf("mill's ledger %+v", la)
	}
	for _, inst := range []*fedtest.Instance{b, c} {
		if l := ledger(inst); len(l) != 1 || l[0].Direction != "received" || l[0].Counterpart != a.ActorIRI() {
			t.Fatalf("%s's ledger %+v", inst.Coop.Name, l)
		}
	}
	// Balances agree pairwise: one side's credit is the other's debit.
	ba, bb, bc := balances(t, a), balances(t, b), balances(t, c)
	for _, p := range []struct {
		name           string
		millSide, mine string
		want           string
	}{
		{"bakery", partnerBalance(ba, b.ActorIRI()), partnerBalance(bb, a.ActorIRI()), "10"},
		{"café", partnerBalance(ba, c.ActorIRI()), partnerBalance(bc, a.ActorIRI()), "15"},
	} {
		if p.millSide != p.want || p.mine != "-"+p.want {
			t.Fatalf("mill and %s: %s vs %s, want %s", p.name, p.millSide, p.mine, p.want)
		}
	}
	if ba.Total != "25" || partnerBalance(bb, c.ActorIRI()) != "0" || partnerBalance(bc, b.ActorIRI()) != "0" {
		t.Fatalf("balances: mill %+v bakery %+v café %+v", ba, bb, bc)
	}
}
