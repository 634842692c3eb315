package fedtest_test

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/fedtest"
)

// tradeOffer is a remote actor's FEP-0837 Offer for value unit of a
// listing, for credits in return.
func tradeOffer(a *fedtest.Actor, to, listing string, value any, unit, credits string) map[string]any {
	return map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       a.ID("offer"), "type": "Offer", "actor": a.IRI, "to": []string{to},
		"object": map[string]any{
			"type": "Agreement",
			"stipulates": map[string]any{"type": "Commitment", "satisfies": listing + "#primary",
				"resourceQuantity": map[string]any{"hasUnit": unit, "hasNumericalValue": value}},
			"stipulatesReciprocal": map[string]any{"type": "Commitment", "satisfies": listing + "#reciprocal",
				"resourceConformsTo": coopfed.CreditsConformsTo,
				"resourceQuantity":   map[string]any{"hasUnit": "one", "hasNumericalValue": credits}},
		},
	}
}

// tradeAccept is an actor's Accept of an Offer, its Agreement stipulating
// value unit.
func tradeAccept(a *fedtest.Actor, to, offer, listing string, value any, unit string) map[string]any {
	return map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       a.ID("accept"), "type": "Accept", "actor": a.IRI, "to": []string{to}, "object": offer,
		"result": map[string]any{
			"id": a.IRI + "/agreements/" + fmt.Sprint(time.Now().UnixNano()), "type": "Agreement",
			"stipulates": map[string]any{"type": "Commitment", "satisfies": listing + "#primary",
				"resourceQuantity": map[string]any{"hasUnit": unit, "hasNumericalValue": value}},
		},
	}
}

// changedTables names the tables whose contents differ, but for skip.
func changedTables(before, after map[string]fedtest.TableState, skip ...string) []string {
	var out []string
	for name, s := range before {
		if !slices.Contains(skip, name) && after[name] != s {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Hostile trade input: an Accept from a third party, mismatched units,
// negative quantities, a replayed Accept and a trade beyond the credit
// limit are each refused (or, once answered, ignored) and change nothing.
func TestTradeHostileInput(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "mill"})
	remote := fedtest.NewRemote(t)
	bakery, mallory := remote.AddActor("bakery", 1), remote.AddActor("mallory", 2)
	inbox, mill := inst.URL+"/coops/mill/inbox", inst.ActorIRI()
	var listing struct{ ID string }
	if st := inst.API(t, http.MethodPost, "/api/v1/coops/mill/listings", eggsOffer(10), &listing); st != http.StatusCreated {
		t.Fatalf("listing: %d", st)
	}
	// Both remote actors are known before the snapshots: each sends one
	// valid Offer.
	first := tradeOffer(bakery, mill, listing.ID, "2", "one", "10")
	for _, o := range []struct {
		a   *fedtest.Actor
		doc map[string]any
	}{{bakery, first}, {mallory, tradeOffer(mallory, mill, listing.ID, "1", "one", "5")}} {
		if st, body := o.a.Post(inbox, o.doc); st != http.StatusAccepted {
			t.Fatalf("valid Offer by %s: %d %s", o.a.Name, st, body)
		}
	}
	onMill := tradeByIRI(t, inst, first["id"].(string))
	if onMill == nil || onMill.State != "proposed" {
		t.Fatalf("the bakery's Offer: %+v", onMill)
	}
	// The mill counters: 3 eggs for 15 credits, sent to the bakery.
	var counter tradeOut
	if st := inst.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/mill/trades/%d/counter", onMill.ID), map[string]any{
		"quantity": map[string]any{"value": 3, "unit": "one"}, "reciprocal": map[string]any{"credits": "15"},
	}, &counter); st != http.StatusCreated {
		t.Fatalf("counter: %d", st)
	}
	remote.WaitFor("Offer", 1)
	fedtest.Eventually(t, 10*time.Second, "deliveries settle", func() bool { return inst.PendingDeliveries(t) == 0 })

	goodAccept := tradeAccept(bakery, mill, counter.IRI, listing.ID, "3", "one")
	post := func(name string, a *fedtest.Actor, doc map[string]any, want int) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			before := inst.Snapshot(t)
			st, body := a.Post(inbox, doc)
			if st != want {
				t.Fatalf("status %d, want %d (%s)", st, want, body)
			}
			skip := []string{}
			if st == http.StatusAccepted {
				skip = append(skip, "inbox_seen") // ignored: only its id is remembered
			}
			if changed := changedTables(before, inst.Snapshot(t), skip...); len(changed) > 0 {
				t.Fatalf("tables changed: %v", changed)
			}
		})
	}
	post("Accept from a third party", mallory, tradeAccept(mallory, mill, counter.IRI, listing.ID, "3", "one"), http.StatusForbidden)
	post("Accept of other terms", bakery, tradeAccept(bakery, mill, counter.IRI, listing.ID, "30", "one"), http.StatusBadRequest)
	post("Accept in another unit", bakery, tradeAccept(bakery, mill, counter.IRI, listing.ID, "3", "kilogram"), http.StatusBadRequest)
	post("Offer in another unit", bakery, tradeOffer(bakery, mill, listing.ID, "2", "kilogram", "10"), http.StatusUnprocessableEntity)
	post("Offer of a negative quantity", bakery, tradeOffer(bakery, mill, listing.ID, "-2", "one", "10"), http.StatusUnprocessableEntity)
	post("Offer of a negative quantity as a number", bakery, tradeOffer(bakery, mill, listing.ID, -2, "one", "10"), http.StatusUnprocessableEntity)
	post("Offer of zero", bakery, tradeOffer(bakery, mill, listing.ID, "0", "one", "0"), http.StatusUnprocessableEntity)
	post("Offer of negative credits", bakery, tradeOffer(bakery, mill, listing.ID, "2", "one", "-10"), http.StatusUnprocessableEntity)
	post("Offer of more than is available", bakery, tradeOffer(bakery, mill, listing.ID, "11", "one", "55"), http.StatusConflict)

	// Accepts whose Agreement carries a forged FEP-8b32 proof: the bakery
	// lists no Ed25519 key, and a proof in the mill's name was never made
	// by the mill's key.
	forged := func(vm string) map[string]any {
		doc := tradeAccept(bakery, mill, counter.IRI, listing.ID, "3", "one")
		res := doc["result"].(map[string]any)
		res["stipulates"].(map[string]any)["provider"] = mill
		res["stipulates"].(map[string]any)["receiver"] = bakery.IRI
		res["proof"] = map[string]any{"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "verificationMethod": vm,
			"proofPurpose": "assertionMethod", "created": "2026-01-01T00:00:00Z",
			"proofValue": "z3sXaxjKs4M3BRicwWA9peyNPJvJqxtGsDmpt1jjoHCjgeUf71TRFz56osPSfDErszyLp5Ks1EhYSgpDaNM977Rg2"}
		return doc
	}
	postMsg := func(name string, doc map[string]any, want int, msg string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			before := inst.Snapshot(t)
			st, body := bakery.Post(inbox, doc)
			if st != want || !strings.Contains(body, msg) {
				t.Fatalf("status %d, want %d with %q (%s)", st, want, msg, body)
			}
			if changed := changedTables(before, inst.Snapshot(t)); len(changed) > 0 {
				t.Fatalf("tables changed: %v", changed)
			}
		})
	}
	postMsg("Accept with a proof by a key the accepter does not list", forged(bakery.IRI+"#ed25519-key"), http.StatusBadRequest, "lists no such key under assertionMethod")
	postMsg("Accept with a proof forged in the mill's name", forged(mill+"#ed25519-key"), http.StatusBadRequest, "was changed after it was signed, or signed with another key")

	// The bakery's genuine Accept: the mill's listing drops to 7.
	if st, body := bakery.Post(inbox, goodAccept); st != http.StatusAccepted {
		t.Fatalf("Accept: %d %s", st, body)
	}
	if tr := tradeByIRI(t, inst, counter.IRI); tr.State != "accepted" || tr.Credits != "15" {
		t.Fatalf("the counter-offer after the Accept: %+v", tr)
	}
	if v, _ := available(t, inst, inst.Handle(), listing.ID); v != 7 {
		t.Fatalf("available %v, want 7", v)
	}
	fedtest.Eventually(t, 10*time.Second, "deliveries settle", func() bool { return inst.PendingDeliveries(t) == 0 })
	post("the same Accept replayed", bakery, goodAccept, http.StatusAccepted)
	post("another Accept of the answered Offer", bakery, tradeAccept(bakery, mill, counter.IRI, listing.ID, "3", "one"), http.StatusAccepted)
	post("Accept of an Offer the mill never sent", bakery, tradeAccept(bakery, mill, mill+"/offers/none", listing.ID, "3", "one"), http.StatusAccepted)

	// Credit limit: the mill lends the bakery at most 20 credits; it is
	// owed 15 already, so 2 more eggs (10 credits) are refused.
	if st := inst.API(t, http.MethodPut, "/api/v1/coops/mill/credit-limits", map[string]any{"partner": bakery.IRI, "limit": "20"}, nil); st != http.StatusOK {
		t.Fatalf("credit limit: %d", st)
	}
	third := tradeOffer(bakery, mill, listing.ID, "2", "one", "10")
	if st, body := bakery.Post(inbox, third); st != http.StatusAccepted {
		t.Fatalf("third Offer: %d %s", st, body)
	}
	tr := tradeByIRI(t, inst, third["id"].(string))
	before := inst.Snapshot(t)
	var e struct{ Error string }
	if st := inst.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/mill/trades/%d/accept", tr.ID), nil, &e); st != http.StatusConflict ||
		!strings.Contains(e.Error, "beyond the limit of 20") {
		t.Fatalf("accept beyond the credit limit: %d %q", st, e.Error)
	}
	if changed := changedTables(before, inst.Snapshot(t)); len(changed) > 0 {
		t.Fatalf("a refused acceptance changed tables %v", changed)
	}
	if bal := balances(t, inst); bal.Total != "15" {
		t.Fatalf("balance %+v", bal)
	}
}
