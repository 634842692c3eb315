package webtest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/coopfed/coopfed/fedtest"
)

// A member pledges to the coop's commons project from its page on a
// 360 px phone: a cap the form cannot read is refused on the page, a
// good one counts, the page shows the month, the capped pledge and the
// chart, and the member withdraws.
func TestBrowserPledge(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "commons"})
	AddMember(t, a, "dee", "member", password)
	AddMember(t, a, "eve", "member", password)
	AddMember(t, a, "fay", "member", password)
	var p struct{ ID, IRI string }
	if st := a.API(t, http.MethodPost, "/api/v1/coops/commons/projects", map[string]any{
		"title": "Shared oven", "description": "A wood oven for the whole street.", "currency": "EUR", "digits": 3, "unit": 1,
	}, &p); st != http.StatusCreated {
		t.Fatalf("open project: %d", st)
	}
	for _, pl := range []struct {
		member string
		cap    int64
	}{{"eve", 1}, {"fay", 5000}} {
		if st := a.API(t, http.MethodPost, "/api/v1/coops/commons/projects/"+p.ID+"/pledges", map[string]any{"member": pl.member, "monthly_cap": pl.cap}, nil); st != http.StatusOK {
			t.Fatalf("pledge of %s: %d", pl.member, st)
		}
	}

	ctx := browser(t)
	login(t, ctx, a, "dee")
	run(t, ctx, "project page", chromedp.Navigate(p.IRI), chromedp.WaitVisible(chromedp.CSS("#pledge-cap")))
	fits(t, ctx, "project page before pledging")
	run(t, ctx, "a cap with too many decimals",
		chromedp.SetValue(chromedp.CSS("#pledge-cap"), "0.0001"),
		chromedp.Click(chromedp.CSS(`form[action$="/pledge"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".problem")))
	if text := bodyText(t, ctx); !strings.Contains(text, "at most 3 decimals") {
		t.Fatalf("after a bad cap:\n%s", text)
	}
	run(t, ctx, "pledge",
		chromedp.SetValue(chromedp.CSS("#pledge-cap"), "1.5"),
		chromedp.Click(chromedp.CSS(`form[action$="/pledge"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/withdraw"]`)))
	fits(t, ctx, "project page with the pledge")
	shot(t, ctx, "pledge")
	// fay (5000) and dee (1500) give 1 each; eve's cap of 1 is below the
	// 2 a crowd of three asks.
	month := value(t, ctx, "the month", chromedp.Text(chromedp.CSS("#project-month")))
	for _, want := range []string{"0.002 EUR a month", "2 pledgers", "each gives 0.001 EUR", "1 capped"} {
		if !strings.Contains(month, want) {
			t.Fatalf("the month lacks %q: %s", want, month)
		}
	}
	if text := bodyText(t, ctx); !strings.Contains(text, "eve: capped, not counted") || !strings.Contains(text, "dee: 0.001 EUR a month") {
		t.Fatalf("pledges:\n%s", text)
	}
	if n := value(t, ctx, "chart bars", chromedp.Evaluate[int64](`document.querySelectorAll('svg.chart rect[data-pledger]').length`)); n != 3 {
		t.Fatalf("%d bars in the pledge chart", n)
	}
	run(t, ctx, "withdraw", chromedp.Click(chromedp.CSS(`form[action$="/withdraw"] button[type=submit]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`form[action$="/withdraw"]`)), chromedp.WaitVisible(chromedp.CSS("#project-month")))
	if month := value(t, ctx, "the month after", chromedp.Text(chromedp.CSS("#project-month"))); !strings.Contains(month, "2 pledgers") || strings.Contains(month, "capped") {
		t.Fatalf("after withdrawing: %s", month)
	}
}
