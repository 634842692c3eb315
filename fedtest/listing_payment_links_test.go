package fedtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/fedtest"
)

type paidItem struct {
	ID           string
	PaymentLinks []coopfed.PaymentLink `json:"payment_links"`
	Coop         struct {
		ID           string
		PaymentLinks []coopfed.PaymentLink `json:"payment_links"`
	}
}

func paidListing(t *testing.T, inst *fedtest.Instance, iri string) *paidItem {
	t.Helper()
	var out struct{ Items []paidItem }
	if st := inst.API(t, http.MethodGet, "/api/v1/market?limit=100", nil, &out); st != http.StatusOK {
		t.Fatalf("market: %d", st)
	}
	for i := range out.Items {
		if out.Items[i].ID == iri {
			return &out.Items[i]
		}
	}
	return nil
}

// Listings carry FEP-0ea0 payment links. A coop's listing keeps its
// https and payto: links; a peer following it keeps the https ones, and
// the coop's own links from its actor. A remote listing and actor with
// hostile links (javascript:, data:, oversized, plain http) keep only the
// good one. Local listings with bad links are refused with the database
// unchanged.
func TestListingPaymentLinks(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "mill"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	link := func(name, href string) map[string]string { return map[string]string{"name": name, "href": href} }
	if st := a.API(t, http.MethodPatch, "/api/v1/coops/mill", map[string]any{"payment_links": []any{link("Give to the mill", "https://pay.example/mill")}}, nil); st != http.StatusOK {
		t.Fatalf("coop links: %d", st)
	}
	newListing := func(links any) (int, string, string) {
		body := eggsOffer(10)
		body["payment_links"] = links
		var out struct {
			ID     string
			Error  string
			Fields map[string]string
		}
		st := a.API(t, http.MethodPost, "/api/v1/coops/mill/listings", body, &out)
		return st, out.ID, fmt.Sprint(out.Error, out.Fields)
	}
	for _, tc := range []struct {
		name  string
		links any
		want  string
	}{
		{"a javascript: link", []any{link("Pay", "javascript:alert(1)")}, "use an https:// address or a payto:// URI"},
		{"a data: link", []any{link("Pay", "data:text/html,hi")}, "use an https:// address or a payto:// URI"},
		{"an oversized link", []any{link("Pay", "https://pay.example/"+strings.Repeat("a", 1000))}, "longer than 1000 characters"},
		{"six links", []any{link("1", "https://a.example"), link("2", "https://a.example"), link("3", "https://a.example"),
			link("4", "https://a.example"), link("5", "https://a.example"), link("6", "https://a.example")}, "at most 5 payment links"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := a.Snapshot(t)
			if st, _, msg := newListing(tc.links); st != http.StatusUnprocessableEntity || !strings.Contains(msg, tc.want) {
				t.Fatalf("status %d %q, want 422 with %q", st, msg, tc.want)
			}
			if changed := changedTables(before, a.Snapshot(t)); len(changed) > 0 {
				t.Fatalf("tables changed: %v", changed)
			}
		})
	}
	b.Follow(t, a)
	st, iri, msg := newListing([]any{link("Pay for eggs", "https://pay.example/eggs"), link("Bank", "payto://iban/DE75512108001245126199")})
	if st != http.StatusCreated {
		t.Fatalf("listing: %d %s", st, msg)
	}
	var note struct {
		Attachment []struct{ Type, Name, Href, Rel string }
	}
	if st := fedtest.GetJSON(t, iri, &note); st != http.StatusOK || len(note.Attachment) != 2 || note.Attachment[0].Rel != "payment" || note.Attachment[0].Type != "Link" {
		t.Fatalf("listing document: %d %+v", st, note)
	}
	req, _ := http.NewRequest(http.MethodGet, iri, nil)
	if st, body := fedtest.Do(t, req); st != http.StatusOK || !strings.Contains(body, `href="payto://iban/DE75512108001245126199" rel="payment nofollow noopener"`) {
		t.Fatalf("listing page: %d\n%s", st, body)
	}
	var onB *paidItem
	fedtest.Eventually(t, 10*time.Second, "B has the listing", func() bool {
		onB = paidListing(t, b, iri)
		return onB != nil
	})
	if want := []coopfed.PaymentLink{{Name: "Pay for eggs", Href: "https://pay.example/eggs"}}; fmt.Sprint(onB.PaymentLinks) != fmt.Sprint(want) {
		t.Fatalf("B's copy of the links: %+v", onB.PaymentLinks)
	}
	if want := []coopfed.PaymentLink{{Name: "Give to the mill", Href: "https://pay.example/mill"}}; fmt.Sprint(onB.Coop.PaymentLinks) != fmt.Sprint(want) {
		t.Fatalf("B's copy of the mill's links: %+v", onB.Coop.PaymentLinks)
	}
	req, _ = http.NewRequest(http.MethodGet, b.URL+"/market", nil)
	if st, body := fedtest.Do(t, req); st != http.StatusOK || !strings.Contains(body, `<a href="https://pay.example/eggs" rel="payment nofollow noopener">Pay for eggs</a>`) ||
		!strings.Contains(body, `<a href="https://pay.example/mill" rel="payment nofollow noopener">Give to the mill</a>`) {
		t.Fatalf("B's market page: %d\n%s", st, body)
	}

	// A remote coop whose actor and listing mix hostile links with one
	// good one.
	remote := fedtest.NewRemote(t)
	hostile := []any{
		map[string]any{"type": "Link", "name": "Pay", "href": "javascript:alert(document.cookie)", "rel": "payment"},
		map[string]any{"type": "Link", "name": "Pay", "href": "data:text/html,<script>x</script>", "rel": "payment"},
		map[string]any{"type": "Link", "name": "Pay", "href": "http://pay.example/plain", "rel": "payment"},
		map[string]any{"type": "Link", "name": "Pay", "href": "https://pay.example/" + strings.Repeat("x", 2000), "rel": "payment"},
		map[string]any{"type": "Link", "name": "<img src=x onerror=alert(1)>Donate", "href": "https://pay.example/carol", "rel": []any{"payment"}},
	}
	carol := remote.AddActor("carol", 1)
	carol.Attachment = hostile
	b.SeedFollowing(t, []string{carol.IRI})
	var listing map[string]any
	json.Unmarshal(listingDoc(carol.IRI+"/listings/1", carol.IRI, "rye", ""), &listing)
	delete(listing, "@context")
	listing["attachment"] = hostile
	if st, body := carol.Post(b.URL+"/coops/bakery/inbox", create(carol, listing)); st != http.StatusAccepted {
		t.Fatalf("carol's listing: %d %s", st, body)
	}
	got := paidListing(t, b, carol.IRI+"/listings/1")
	want := fmt.Sprint([]coopfed.PaymentLink{{Name: "Donate", Href: "https://pay.example/carol"}})
	if got == nil || fmt.Sprint(got.PaymentLinks) != want || fmt.Sprint(got.Coop.PaymentLinks) != want {
		t.Fatalf("carol's listing on B: %+v", got)
	}
	req, _ = http.NewRequest(http.MethodGet, b.URL+"/market", nil)
	if _, body := fedtest.Do(t, req); strings.Contains(body, "javascript:") || strings.Contains(body, "data:text") || strings.Contains(body, "onerror") {
		t.Fatalf("a hostile link reached the page:\n%s", body)
	}
}
