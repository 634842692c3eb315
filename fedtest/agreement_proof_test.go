package fedtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

type verification struct {
	Valid     bool
	Agreement string
	Parties   []string
	Signers   []struct{ Actor, Key, Created string }
	Error     string
}

// verifyDoc posts a document to an instance's verification API.
func verifyDoc(t *testing.T, inst *fedtest.Instance, doc []byte) (int, verification) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, inst.URL+"/api/v1/agreements/verify", bytes.NewReader(doc))
	req.Header.Set("Content-Type", "application/json")
	st, body := fedtest.Do(t, req)
	var v verification
	json.Unmarshal([]byte(body), &v)
	return st, v
}

// Three instances: the bakery (B) proposes, the mill (A) accepts and signs
// the agreement, B checks A's proof and countersigns it in its ledger. A
// third instance (C), party to nothing, verifies both copies from the two
// coops' actor documents, and refuses them once one byte changed.
func TestSignedAgreementVerifiesOnAThirdInstance(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "mill"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	c := fedtest.Start(t, fedtest.Options{Coop: "notary"})
	prop, _ := acceptedTrade(t, a, b)
	agreement := tradeByIRI(t, a, prop.IRI).Agreement

	// The actors advertise their keys (FEP-521a Multikey).
	var actor struct {
		AssertionMethod []struct{ ID, Type, Controller, PublicKeyMultibase string }
	}
	if st := fedtest.GetJSON(t, a.ActorIRI(), &actor); st != http.StatusOK || len(actor.AssertionMethod) != 1 ||
		actor.AssertionMethod[0].Type != "Multikey" || actor.AssertionMethod[0].ID != a.ActorIRI()+"#ed25519-key" ||
		actor.AssertionMethod[0].Controller != a.ActorIRI() || !strings.HasPrefix(actor.AssertionMethod[0].PublicKeyMultibase, "z6Mk") {
		t.Fatalf("A's assertionMethod: %d %+v", st, actor)
	}

	// C verifies the agreement where it lives: A's proof.
	var v verification
	if st := c.API(t, http.MethodGet, "/api/v1/agreements/verify?iri="+agreement, nil, &v); st != http.StatusOK || !v.Valid ||
		v.Agreement != agreement || len(v.Signers) != 1 || v.Signers[0].Actor != a.ActorIRI() {
		t.Fatalf("C verifies A's agreement: %d %+v", st, v)
	}
	// Each ledger keeps its signed copy; B's carries both proofs.
	ledger := func(inst *fedtest.Instance) json.RawMessage {
		var led struct {
			Items []struct {
				Signed json.RawMessage `json:"signed_agreement"`
			}
		}
		inst.API(t, http.MethodGet, "/api/v1/coops/"+inst.Coop.Name+"/ledger", nil, &led)
		if len(led.Items) != 1 {
			t.Fatalf("%s ledger: %+v", inst.Coop.Name, led)
		}
		return led.Items[0].Signed
	}
	onB := ledger(b)
	st, v := verifyDoc(t, c, onB)
	if st != http.StatusOK || len(v.Signers) != 2 || v.Signers[0].Actor != a.ActorIRI() || v.Signers[1].Actor != b.ActorIRI() {
		t.Fatalf("C verifies B's countersigned copy: %d %+v", st, v)
	}
	if st, v := verifyDoc(t, c, ledger(a)); st != http.StatusOK || len(v.Signers) != 1 {
		t.Fatalf("C verifies A's ledger copy: %d %+v", st, v)
	}
	// One byte changed: 2 eggs become 3.
	tampered := bytes.Replace(onB, []byte(`"hasNumericalValue":"2"`), []byte(`"hasNumericalValue":"3"`), 1)
	if bytes.Equal(tampered, onB) {
		t.Fatalf("no quantity to change in %s", onB)
	}
	if st, v := verifyDoc(t, c, tampered); st != http.StatusUnprocessableEntity && st != http.StatusBadRequest ||
		!strings.Contains(v.Error, "does not match the document: it was changed after it was signed") {
		t.Fatalf("tampered agreement: %d %+v", st, v)
	}
	// The page says the same to a person.
	req, _ := http.NewRequest(http.MethodGet, c.URL+"/verify-agreement?iri="+agreement, nil)
	if st, body := fedtest.Do(t, req); st != http.StatusOK || !strings.Contains(body, "Verified: the agreement is as its signers signed it.") {
		t.Fatalf("verify page: %d\n%s", st, body)
	}
	// The CSV ledger names the proofs.
	req, _ = http.NewRequest(http.MethodGet, b.URL+"/api/v1/coops/bakery/ledger.csv", nil)
	req.Header.Set("Authorization", "Bearer "+b.Token)
	if st, body := fedtest.Do(t, req); st != http.StatusOK || !strings.Contains(body, ",agreement_proof\n") || strings.Count(body, " z") < 1 {
		t.Fatalf("ledger.csv: %d\n%s", st, body)
	}
}

// acceptedTrade has B (bakery) follow A (mill), A offer ten eggs, B propose
// a trade of two for credits and A accept it; it returns B's proposal and
// A's record of the trade once B has recorded the acceptance.
func acceptedTrade(t *testing.T, a, b *fedtest.Instance) (tradeOut, *tradeOut) {
	t.Helper()
	return acceptedTradeWith(t, a, b, nil)
}

// acceptedTradeWith is acceptedTrade with more fields of the proposal
// (a due date, say).
func acceptedTradeWith(t *testing.T, a, b *fedtest.Instance, extra map[string]any) (tradeOut, *tradeOut) {
	t.Helper()
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
	proposal := map[string]any{
		"listing": listing.ID, "quantity": map[string]any{"value": 2, "unit": "one"}, "reciprocal": map[string]any{"credits": "10"},
	}
	for k, v := range extra {
		proposal[k] = v
	}
	if st := b.API(t, http.MethodPost, "/api/v1/coops/bakery/trades", proposal, &prop); st != http.StatusCreated {
		t.Fatalf("propose: %d", st)
	}
	var onA *tradeOut
	fedtest.Eventually(t, 10*time.Second, "A receives the Offer", func() bool {
		onA = tradeByIRI(t, a, prop.IRI)
		return onA != nil
	})
	if st := a.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/mill/trades/%d/accept", onA.ID), nil, nil); st != http.StatusOK {
		t.Fatalf("accept: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "B records the acceptance", func() bool {
		tr := tradeByIRI(t, b, prop.IRI)
		return tr != nil && tr.State == "accepted"
	})
	return prop, onA
}
