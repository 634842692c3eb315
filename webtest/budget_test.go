package webtest

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coopfed/coopfed/fedtest"
)

// shiftClock is the instance's clock, moved forward to pass a deadline.
type shiftClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *shiftClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *shiftClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// A member of the mill allocates part of her share to a bucket from the
// round's page, which charts the allocations; an allocation above what is
// left of her share is refused on the page; once the deadline passes the
// round page shows the funded bucket and the ledger page its lines. Every
// page fits a 360 px phone.
func TestBrowserBudgetRound(t *testing.T) {
	clock := &shiftClock{}
	a := fedtest.Start(t, fedtest.Options{Coop: "mill", Now: clock.Now})
	AddMember(t, a, "ana", "member", password)
	AddMember(t, a, "bo", "member", password)
	var round struct {
		ID  int64
		IRI string
	}
	if st := a.API(t, http.MethodPost, "/api/v1/coops/mill/budgets", map[string]any{
		"title": "Winter fund of the mill and its friends", "description": "Shared by the members.", "pot": "200.00", "currency": "EUR",
		"closes_at": clock.Now().Add(time.Hour).UTC().Format(time.RFC3339),
	}, &round); st != http.StatusCreated {
		t.Fatalf("open round: %d", st)
	}
	for _, b := range []struct{ title, asked string }{{"A new sieve for the rye flour, stainless", "60.00"}, {"Sacks", "150"}} {
		if st := a.API(t, http.MethodPost, "/api/v1/coops/mill/buckets", map[string]any{
			"round": round.IRI, "title": b.title, "what": "What it buys.", "why": "Why it matters.", "asked": b.asked,
			"payment_links": []map[string]string{{"name": "Mill's bank", "href": "payto://iban/DE75512108001245126199"}},
		}, nil); st != http.StatusCreated {
			t.Fatalf("bucket %s: %d", b.title, st)
		}
	}
	page := a.URL + "/coops/mill/budgets/" + strconv.FormatInt(round.ID, 10)

	ctx := browser(t)
	login(t, ctx, a, "ana")
	run(t, ctx, "round page", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(".allocate-form")))
	fits(t, ctx, "round page with the allocation form")
	if text := bodyText(t, ctx); !strings.Contains(text, "each of 2 allocating members has 100.00 EUR") || !strings.Contains(text, "You have 100.00 EUR left") {
		t.Fatalf("round page:\n%s", text)
	}
	run(t, ctx, "allocate",
		chromedp.SetValue(chromedp.CSS("#al-amount"), "60"),
		chromedp.Click(chromedp.CSS(`.allocate-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if text := bodyText(t, ctx); !strings.Contains(text, "Your allocation is recorded.") || !strings.Contains(text, "You have 40.00 EUR left") {
		t.Fatalf("after allocating:\n%s", text)
	}
	bar := value(t, ctx, "chart bar", chromedp.Evaluate[string](`document.querySelector('rect[data-bucket^="A new sieve"]').getAttribute("data-value")`))
	if bar != "6000" {
		t.Errorf("the sieve's bar = %q, want 6000", bar)
	}
	fits(t, ctx, "round page after an allocation")
	run(t, ctx, "allocate above the share",
		chromedp.SetValue(chromedp.CSS("#al-amount"), "40.01"),
		chromedp.Click(chromedp.CSS(`.allocate-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".problem")))
	if text := bodyText(t, ctx); !strings.Contains(text, "above the share of 10000 (4000 left)") {
		t.Fatalf("refused allocation:\n%s", text)
	}
	fits(t, ctx, "round page with a refused allocation")

	clock.Advance(2 * time.Hour)
	fedtest.Eventually(t, 10*time.Second, "the round closes", func() bool {
		var r struct{ State string }
		fedtest.GetJSON(t, a.URL+"/api/v1/budgets/"+strconv.FormatInt(round.ID, 10), &r)
		return r.State == "closed"
	})
	run(t, ctx, "closed round page", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(".funded-total")))
	if text := bodyText(t, ctx); !strings.Contains(text, "Funded: 60.00 EUR") || !strings.Contains(text, "not funded") || !strings.Contains(text, "/members/ana: 60.00 EUR") {
		t.Fatalf("closed round:\n%s", text)
	}
	fits(t, ctx, "closed round page")
	shot(t, ctx, "budget-round")
	run(t, ctx, "ledger page", chromedp.Navigate(page+"/ledger"), chromedp.WaitVisible(chromedp.CSS("table.ledger")))
	if text := bodyText(t, ctx); !strings.Contains(text, "Income 200.00 EUR") || !strings.Contains(text, "funded 60.00 EUR") || !strings.Contains(text, "allocation") {
		t.Fatalf("ledger page:\n%s", text)
	}
	fits(t, ctx, "ledger page")
	run(t, ctx, "budgets page", chromedp.Navigate(a.URL+"/coops/mill/budgets"), chromedp.WaitVisible(chromedp.CSS(".rounds")))
	fits(t, ctx, "budgets page")
}
