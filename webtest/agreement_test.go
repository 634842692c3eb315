package webtest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coopfed/coopfed/fedtest"
)

// A trade accepted between two instances; on a third, a person checks the
// agreement's signatures on the verification page, on a 360 px phone, and
// sees who signed; an address that is no agreement is refused in words.
func TestBrowserVerifyAgreement(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "mill"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	c := fedtest.Start(t, fedtest.Options{Coop: "notary"})
	b.Follow(t, a)
	var listing struct{ ID string }
	if st := a.API(t, http.MethodPost, "/api/v1/coops/mill/listings", map[string]any{
		"kind": "offer", "title": "rye flour", "category": "flour", "quantity": map[string]any{"value": 5, "unit": "kilogram"},
		"reciprocal": map[string]any{"credits": "4"},
	}, &listing); st != http.StatusCreated {
		t.Fatalf("listing: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "B's market has the offer", func() bool {
		var out struct{ Items []struct{ ID string } }
		b.API(t, http.MethodGet, "/api/v1/market?coop="+url.QueryEscape(a.Handle()), nil, &out)
		return len(out.Items) == 1
	})
	var prop struct{ IRI string }
	if st := b.API(t, http.MethodPost, "/api/v1/coops/bakery/trades", map[string]any{
		"listing": listing.ID, "quantity": map[string]any{"value": 5, "unit": "kilogram"}, "reciprocal": map[string]any{"credits": "4"},
	}, &prop); st != http.StatusCreated {
		t.Fatalf("propose: %d", st)
	}
	var onA struct {
		ID        int64
		Agreement string
	}
	fedtest.Eventually(t, 10*time.Second, "A receives the Offer", func() bool {
		var out struct {
			Items []struct {
				ID  int64
				IRI string
			}
		}
		a.API(t, http.MethodGet, "/api/v1/coops/mill/trades", nil, &out)
		for _, it := range out.Items {
			if it.IRI == prop.IRI {
				onA.ID = it.ID
				return true
			}
		}
		return false
	})
	if st := a.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/mill/trades/%d/accept", onA.ID), nil, &onA); st != http.StatusOK || onA.Agreement == "" {
		t.Fatalf("accept: %d %+v", st, onA)
	}

	ctx := browser(t)
	run(t, ctx, "verification form", chromedp.Navigate(c.URL+"/verify-agreement"), chromedp.WaitVisible(chromedp.CSS("#v-iri")))
	fits(t, ctx, "verification form")
	run(t, ctx, "verify the agreement",
		chromedp.SetValue(chromedp.CSS("#v-iri"), onA.Agreement),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".success")))
	fits(t, ctx, "verified agreement")
	shot(t, ctx, "verify-agreement")
	if text := bodyText(t, ctx); !strings.Contains(text, "Verified") || !strings.Contains(text, "Signed by") || !strings.Contains(text, a.ActorIRI()) {
		t.Fatalf("verification page:\n%s", text)
	}
	run(t, ctx, "verify something else", chromedp.Navigate(c.URL+"/verify-agreement?iri="+url.QueryEscape(a.ActorIRI())),
		chromedp.WaitVisible(chromedp.CSS(".problem")))
	fits(t, ctx, "refused verification")
	if text := bodyText(t, ctx); !strings.Contains(text, "Not verified") {
		t.Fatalf("refused verification page:\n%s", text)
	}
}
