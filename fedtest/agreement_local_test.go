package fedtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/coopfed/coopfed/fedtest"
)

// Two coops of one instance trade: the accepter signs and the proposer
// countersigns at once, so both ledgers keep the agreement with both
// proofs, and it verifies.
func TestSignedAgreementBetweenLocalCoops(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	dairy, dairyToken := secondCoop(t, inst, "dairy", "Dairy Co-op")
	var listing struct{ ID string }
	if st := inst.APIWithToken(t, dairyToken, http.MethodPost, "/api/v1/coops/dairy/listings", eggsOffer(10), &listing); st != http.StatusCreated {
		t.Fatalf("listing: %d", st)
	}
	var prop tradeOut
	if st := inst.API(t, http.MethodPost, "/api/v1/coops/bakery/trades", map[string]any{
		"listing": listing.ID, "quantity": map[string]any{"value": 1, "unit": "one"}, "reciprocal": map[string]any{"credits": "5"},
	}, &prop); st != http.StatusCreated {
		t.Fatalf("propose: %d", st)
	}
	if st := inst.APIWithToken(t, dairyToken, http.MethodPost, fmt.Sprintf("/api/v1/coops/dairy/trades/%d/accept", prop.ID), nil, nil); st != http.StatusOK {
		t.Fatalf("accept: %d", st)
	}
	var led struct {
		Items []struct {
			Signed json.RawMessage `json:"signed_agreement"`
		}
	}
	inst.API(t, http.MethodGet, "/api/v1/coops/bakery/ledger", nil, &led)
	if len(led.Items) != 1 || len(led.Items[0].Signed) == 0 {
		t.Fatalf("bakery's ledger: %+v", led)
	}
	st, v := verifyDoc(t, inst, led.Items[0].Signed)
	if st != http.StatusOK || len(v.Signers) != 2 || v.Signers[0].Actor != inst.IRIs().Coop(dairy.Name) || v.Signers[1].Actor != inst.ActorIRI() {
		t.Fatalf("verify: %d %+v", st, v)
	}
}
