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

// A member proposes a trade with a delivery date from the listing's
// form; once it is agreed, the member opens a dispute from the trades
// page and a member of the other coop resolves it there; the pages fit a
// 360 px phone.
func TestBrowserDueDateAndDispute(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "mill"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	AddMember(t, a, "bo", "admin", password)
	AddMember(t, b, "ana", "admin", password)
	b.Follow(t, a)
	var listing struct{ ID string }
	if st := a.API(t, http.MethodPost, "/api/v1/coops/mill/listings", map[string]any{
		"kind": "offer", "title": "rye flour", "category": "flour", "quantity": map[string]any{"value": 5, "unit": "kilogram"},
		"reciprocal": map[string]any{"credits": "4"},
	}, &listing); st != http.StatusCreated {
		t.Fatalf("listing: %d", st)
	}
	type trade struct {
		ID              int64
		IRI, State, Due string
	}
	find := func(inst *fedtest.Instance) *trade {
		var out struct{ Items []trade }
		inst.API(t, http.MethodGet, "/api/v1/coops/"+inst.Coop.Name+"/trades", nil, &out)
		if len(out.Items) == 0 {
			return nil
		}
		return &out.Items[0]
	}
	fedtest.Eventually(t, 10*time.Second, "B's market has the offer", func() bool {
		var m struct{ Items []struct{ ID string } }
		b.API(t, http.MethodGet, "/api/v1/market", nil, &m)
		return len(m.Items) == 1
	})
	due := time.Now().UTC().AddDate(0, 0, 3).Format("2006-01-02")
	ctx := browser(t)
	login(t, ctx, b, "ana")
	run(t, ctx, "propose form", chromedp.Navigate(b.URL+"/coops/bakery/admin/trades/new?"+url.Values{"listing": {listing.ID}}.Encode()), chromedp.WaitVisible(chromedp.CSS("#t-due")))
	fits(t, ctx, "proposal form with a delivery date")
	run(t, ctx, "propose with a date",
		chromedp.SetValue(chromedp.CSS("#t-due"), due),
		chromedp.Click(chromedp.CSS(`#propose button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	var onA *trade
	fedtest.Eventually(t, 10*time.Second, "A receives the Offer with its date", func() bool { onA = find(a); return onA != nil && onA.Due == due })
	if st := a.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/mill/trades/%d/accept", onA.ID), nil, nil); st != http.StatusOK {
		t.Fatalf("accept: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "B records the acceptance", func() bool { return find(b).State == "accepted" })

	run(t, ctx, "trades page", chromedp.Navigate(b.URL+"/coops/bakery/admin/trades"), chromedp.WaitVisible(chromedp.CSS("#accepted summary")))
	if text := value(t, ctx, "agreed", chromedp.Text(chromedp.CSS("#accepted"))); !strings.Contains(text, "Due by") {
		t.Fatalf("the agreed trade shows no date:\n%s", text)
	}
	run(t, ctx, "open a dispute",
		chromedp.Click(chromedp.CSS("#accepted summary")),
		chromedp.SetValue(chromedp.CSS(".dispute-form textarea"), "Two kilograms were damp."),
		chromedp.Click(chromedp.CSS(`.dispute-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	fits(t, ctx, "trades page with a dispute")
	if text := bodyText(t, ctx); !strings.Contains(text, "The dispute is open") || !strings.Contains(text, "Two kilograms were damp.") {
		t.Fatalf("after the dispute:\n%s", text)
	}
	fedtest.Eventually(t, 10*time.Second, "the mill counts the dispute", func() bool {
		var tr struct {
			Open int `json:"open_disputes"`
		}
		fedtest.GetJSON(t, a.URL+"/api/v1/coops/mill/track-record", &tr)
		return tr.Open == 1
	})

	ctx = browser(t)
	login(t, ctx, a, "bo")
	run(t, ctx, "resolve", chromedp.Navigate(a.URL+"/coops/mill/admin/trades"), chromedp.WaitVisible(chromedp.CSS(".dispute-resolve textarea")),
		chromedp.SetValue(chromedp.CSS(".dispute-resolve textarea"), "Two dry kilograms go out on Monday."),
		chromedp.Click(chromedp.CSS(`.dispute-resolve button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if text := bodyText(t, ctx); !strings.Contains(text, "The dispute is resolved.") || strings.Contains(text, "Resolve the dispute") {
		t.Fatalf("after resolving:\n%s", text)
	}
	fedtest.Eventually(t, 10*time.Second, "the bakery sees it resolved", func() bool {
		var tr struct {
			Disputes int
			Open     int `json:"open_disputes"`
		}
		fedtest.GetJSON(t, b.URL+"/api/v1/coops/bakery/track-record", &tr)
		return tr.Disputes == 1 && tr.Open == 0
	})
}
