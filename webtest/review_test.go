package webtest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coopfed/coopfed/fedtest"
)

// After a fulfilled trade a member of the bakery reviews the mill from
// the trades page, a member of the mill answers, and the mill's public
// page shows its track record with the rating chart and its payment
// links; every page fits a 360 px phone.
func TestBrowserReviewAndTrackRecord(t *testing.T) {
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
		ID         int64
		IRI, State string
	}
	find := func(inst *fedtest.Instance, iri string) *trade {
		var out struct{ Items []trade }
		inst.API(t, http.MethodGet, "/api/v1/coops/"+inst.Coop.Name+"/trades", nil, &out)
		for _, it := range out.Items {
			if it.IRI == iri {
				return &it
			}
		}
		return nil
	}
	var prop trade
	fedtest.Eventually(t, 10*time.Second, "B proposes once the offer is known", func() bool {
		return b.API(t, http.MethodPost, "/api/v1/coops/bakery/trades", map[string]any{
			"listing": listing.ID, "quantity": map[string]any{"value": 5, "unit": "kilogram"}, "reciprocal": map[string]any{"credits": "4"},
		}, &prop) == http.StatusCreated
	})
	var onA *trade
	fedtest.Eventually(t, 10*time.Second, "A receives the Offer", func() bool { onA = find(a, prop.IRI); return onA != nil })
	if st := a.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/mill/trades/%d/accept", onA.ID), nil, nil); st != http.StatusOK {
		t.Fatalf("accept: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "B records the acceptance", func() bool { return find(b, prop.IRI).State == "accepted" })
	onB := find(b, prop.IRI)
	a.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/mill/trades/%d/fulfil", onA.ID), nil, nil)
	fedtest.Eventually(t, 10*time.Second, "A's confirmation reaches B", func() bool { return b.PendingDeliveries(t) == 0 && a.PendingDeliveries(t) == 0 })
	b.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/bakery/trades/%d/fulfil", onB.ID), nil, nil)
	fedtest.Eventually(t, 10*time.Second, "fulfilled on both sides", func() bool {
		return find(a, prop.IRI).State == "fulfilled" && find(b, prop.IRI).State == "fulfilled"
	})

	ctx := browser(t)
	login(t, ctx, b, "ana")
	run(t, ctx, "trades page", chromedp.Navigate(b.URL+"/coops/bakery/admin/trades"), chromedp.WaitVisible(chromedp.CSS(".review-form")))
	fits(t, ctx, "trades page with a review form")
	run(t, ctx, "review the mill",
		chromedp.SetValue(chromedp.CSS(fmt.Sprintf("#rv-rating-%d", onB.ID)), "4"),
		chromedp.SetValue(chromedp.CSS(fmt.Sprintf("#rv-text-%d", onB.ID)), "Good rye, a day late."),
		chromedp.Click(chromedp.CSS(`.review-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if text := bodyText(t, ctx); !strings.Contains(text, "Your review is published.") || strings.Contains(text, "Publish the review") {
		t.Fatalf("after the review:\n%s", text)
	}
	fedtest.Eventually(t, 10*time.Second, "the review reaches the mill", func() bool {
		var tr struct{ Reviews int }
		fedtest.GetJSON(t, a.URL+"/api/v1/coops/mill/track-record", &tr)
		return tr.Reviews == 1
	})

	ctx = browser(t)
	login(t, ctx, a, "bo")
	run(t, ctx, "answer the review", chromedp.Navigate(a.URL+"/coops/mill/admin/trades#reviews"), chromedp.WaitVisible(chromedp.CSS("#reviews textarea")),
		chromedp.SetValue(chromedp.CSS("#reviews textarea"), "The road was closed; sorry."),
		chromedp.Click(chromedp.CSS(`#reviews button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	fits(t, ctx, "trades page with the review answered")
	if st := a.API(t, http.MethodPatch, "/api/v1/coops/mill", map[string]any{"payment_links": []any{
		map[string]string{"name": "Support the mill", "href": "https://pay.example/a-rather-long-address/for-the-mill-cooperative"},
		map[string]string{"name": "Bank transfer", "href": "payto://iban/DE75512108001245126199"},
	}}, nil); st != http.StatusOK {
		t.Fatalf("payment links: %d", st)
	}
	run(t, ctx, "public page", chromedp.Navigate(a.URL+"/coops/mill"), chromedp.WaitVisible(chromedp.CSS("#track-h")),
		chromedp.WaitVisible(chromedp.CSS(".payment-links")))
	fits(t, ctx, "coop page with its track record")
	shot(t, ctx, "track-record")
	text := value(t, ctx, "track record", chromedp.Text(chromedp.CSS("#track-record")))
	for _, want := range []string{"1 trades fulfilled", "1 reviews", "average rating 4 / 5", "★★★★☆", "Good rye, a day late.", "The road was closed; sorry."} {
		if !strings.Contains(text, want) {
			t.Fatalf("track record lacks %q:\n%s", want, text)
		}
	}
	if n := value(t, ctx, "chart bars", chromedp.Evaluate[int64](`document.querySelectorAll('#track-record svg.chart rect[data-rating]').length`)); n != 5 {
		t.Fatalf("%d bars in the rating chart", n)
	}
}
