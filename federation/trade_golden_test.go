package federation

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
)

var tradeGoldenFiles = []string{"trade-offer.json", "trade-accept.json", "trade-reject.json", "trade-receipt.json", "trade-agreement.json",
	"trade-review.json", "trade-review-answer.json", "trade-dispute.json", "trade-dispute-resolution.json"}

// tradeGoldenDocuments builds the documents of a trade on the golden
// instance: a remote bakery's 3 kg of the mill's flour for 3.60 EUR.
func tradeGoldenDocuments(t testing.TB) map[string][]byte {
	t.Helper()
	e := newGoldenEnv(t)
	f, c := e.f, e.coop
	e.tick(time.Hour)
	mill := f.iris.Coop(c.Name)
	tr := &coopfed.Trade{
		IRI: f.iris.Activity(e.newID()), ListingIRI: f.iris.Listing("01listing"), ListingKind: coopfed.ListingOffer,
		ListingTitle: "organic flour", ProposerIRI: mill, OwnerIRI: "https://bakery.example/users/bakery",
		Quantity:   coopfed.Quantity{Value: 3, Unit: "kilogram"},
		Reciprocal: &coopfed.Reciprocal{Kind: coopfed.ReciprocalPrice, Price: coopfed.Price{Amount: "3.60", Currency: "EUR"}},
		Message:    "For Saturday's bake", State: coopfed.TradeProposed, Created: e.clock(),
		Due: time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC),
	}
	docs := map[string][]byte{}
	put := func(name string, v map[string]any) {
		t.Helper()
		b, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		docs[name] = b
	}
	put("trade-offer.json", f.offerDoc(tr))
	// The answers as the owner writes them (here built by our own code).
	agreement := f.iris.Agreement(e.newID())
	accept := f.wrap("Accept", f.iris.Activity(e.newID()), mill, tr.IRI, []string{tr.OwnerIRI}, nil, e.clock())
	accept["@context"] = tradeContext
	tr.AgreementIRI = agreement
	signed, err := f.signedAgreement(context.Background(), c, tr, mill, false, e.clock())
	if err != nil {
		t.Fatal(err)
	}
	accept["result"] = json.RawMessage(signed)
	put("trade-accept.json", accept)
	reject := f.wrap("Reject", f.iris.Activity(e.newID()), mill, tr.IRI, []string{tr.OwnerIRI}, nil, e.clock())
	reject["content"] = "Not available"
	put("trade-reject.json", reject)
	tr.State, tr.AgreementIRI = coopfed.TradeFulfilled, agreement
	put("trade-receipt.json", f.receiptDoc(c, tr, mill, f.iris.Note(e.newID()), true))
	tr.AgreementJSON = signed
	put("trade-agreement.json", f.AgreementDocument(tr))
	review := &coopfed.Review{IRI: f.iris.Note(e.newID()), TradeIRI: tr.IRI, ListingTitle: tr.ListingTitle, AuthorIRI: mill,
		SubjectIRI: tr.OwnerIRI, Rating: 4, Text: "Good flour, a day late.", Created: e.clock()}
	put("trade-review.json", f.reviewDoc(c, tr, review))
	// The answer as the bakery would write it (here built by our own code).
	review.SubjectIRI, review.AuthorIRI = mill, tr.OwnerIRI
	review.Reply, review.ReplyIRI, review.Replied = "The road was closed.", f.iris.Note(e.newID()), e.clock()
	put("trade-review-answer.json", f.replyDoc(c, tr, review))
	d := &coopfed.Dispute{IRI: f.iris.Note(e.newID()), TradeIRI: tr.IRI, OpenerIRI: mill, Reason: "Only 2 kg arrived.", Created: e.clock()}
	put("trade-dispute.json", f.disputeDoc(tr, d))
	// The resolution as the bakery would write it (here built by our own code).
	d.ResolvedBy, d.Resolution, d.ResolveIRI, d.Resolved = tr.OwnerIRI, "The last kilogram came on Monday.", f.iris.Note(e.newID()), e.clock()
	put("trade-dispute-resolution.json", f.resolutionDoc(tr, d))
	return docs
}

// TestTradeGolden compares the trade documents with their golden files
// (run with -update to rewrite them after an intended change), and reads
// each back with the decoder incoming trades use.
func TestTradeGolden(t *testing.T) {
	docs := tradeGoldenDocuments(t)
	for _, name := range tradeGoldenFiles {
		t.Run(name, func(t *testing.T) {
			compareGolden(t, name, docs[name])
		})
	}
	var o offerJSON
	json.Unmarshal(docs["trade-offer.json"], &o)
	if a, err := decodeAgreement(o.Object); err != nil || a.ID != "" || a.primary().Quantity.Unit != "kilogram" {
		t.Fatalf("our Offer does not decode: %v %+v", err, a)
	}
}

// TestAgreementProof verifies the golden signed agreement with the
// coop's own key, and refuses it once a byte of it changed or its proof
// was made by a key that is not a party's.
func TestAgreementProof(t *testing.T) {
	docs := tradeGoldenDocuments(t)
	e := newGoldenEnv(t)
	doc := string(docs["trade-agreement.json"])
	check, err := e.f.VerifyAgreement(context.Background(), []byte(doc))
	if err != nil {
		t.Fatalf("the signed agreement does not verify: %v", err)
	}
	if len(check.Signers) != 1 || check.Signers[0].Actor != e.f.iris.Coop(e.coop.Name) {
		t.Fatalf("signers %+v", check.Signers)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"one byte of the quantity", `"hasNumericalValue":"3"`, `"hasNumericalValue":"4"`, "was changed after it was signed"},
		{"the reciprocal's amount", `"3.60"`, `"3.61"`, "was changed after it was signed"},
		{"a party", `"receiver":"https://coop.example/coops/bakery"`, `"receiver":"https://coop.example/coops/other"`, "not a party to this agreement"},
		{"the other party", `"provider":"https://bakery.example/users/bakery"`, `"provider":"https://bakery.example/users/bakers"`, "was changed after it was signed"},
		{"the key", `"verificationMethod":"https://coop.example/coops/bakery#ed25519-key"`, `"verificationMethod":"https://evil.example/x#k"`, "not a party to this agreement"},
		{"no proof", `"proof"`, `"prooof"`, "carries no integrity proof"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(doc, tc.from, tc.to, 1)
			if bad == doc {
				t.Fatal("the replacement changed nothing")
			}
			_, err := e.f.VerifyAgreement(context.Background(), []byte(bad))
			if coopfed.ErrorCode(err) != coopfed.EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// TestDecodeFEPAgreements reads the FEP's and Mitra's payloads, the FEP's
// misspelt "stiplulates" included.
func TestDecodeFEPAgreements(t *testing.T) {
	cases := []struct {
		file, field, unit string
	}{
		{"../testdata/fep0837/offer-agreement.json", "object", "one"},
		{"../testdata/fep0837/accept-agreement.json", "result", "one"},
		{"../testdata/mitra/offer-agreement.json", "object", "second"},
	}
	for _, c := range cases {
		b, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		var o offerJSON
		if err := json.Unmarshal(b, &o); err != nil {
			t.Fatal(err)
		}
		raw := o.Object
		if c.field == "result" {
			raw = o.Result
		}
		a, err := decodeAgreement(raw)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		q, err := a.primary().Quantity.quantity()
		if err != nil || q.Unit != c.unit || q.Value <= 0 || a.Reciprocal == nil {
			t.Fatalf("%s: %v %+v", c.file, err, q)
		}
	}
}
