package fedtest_test

import (
	"fmt"
	"net/http"
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
	if st := b.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/bakery/trades/%d/fulfil", tb.ID), nil, nil); st != http.StatusOK {
		t.Fatalf("fulfil B: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "fulfilled on both sides", func() bool {
		x, y := tradeByIRI(t, a, counter.IRI), tradeByIRI(t, b, counter.IRI)
		return x.State == "fulfilled" && y.State == "fulfilled" && x.Receipt == y.Receipt
	})
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
	if bb := balances(t, b); bb.Total != "-50" {
		t.Fatalf("B's balance %+v", bb)
	}
}
