package webtest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coopfed/coopfed/fedtest"
)

// Each decision type in a phone's browser: a member ranks the options of
// a ranked motion on her dashboard and changes the ranking, spreads dots,
// picks meeting slots and states a position with a reason; each motion's
// page shows its tally as a chart and its tables (the runoff's rounds,
// the reasons, the changed vote) and fits a 360 px screen.
func TestBrowserDecisions(t *testing.T) {
	ctx := browser(t)
	bakery := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	AddMember(t, bakery, "ana", "member", password)
	AddMember(t, bakery, "bo", "member", password)
	closes := time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)
	create := func(body map[string]any) string {
		t.Helper()
		body["closes_at"] = closes
		var m struct {
			ID string `json:"id"`
		}
		if st := bakery.API(t, http.MethodPost, "/api/v1/coops/bakery/motions", body, &m); st != http.StatusCreated {
			t.Fatalf("create %v: %d", body["kind"], st)
		}
		return m.ID
	}
	ranked := create(map[string]any{"title": "Name the new bread", "kind": "ranked", "method": "irv", "options": []string{"Rye", "Spelt", "Oat"}})
	score := create(map[string]any{"title": "Spend the surplus", "kind": "score", "dots": 10, "options": []string{"Wages", "Oven"}})
	slot := time.Now().Add(96 * time.Hour).UTC().Truncate(time.Hour)
	poll := create(map[string]any{"title": "General meeting", "kind": "poll", "options": []string{slot.Format(time.RFC3339), slot.Add(24 * time.Hour).Format(time.RFC3339)}})
	advice := create(map[string]any{"title": "Open on Sundays?", "kind": "advice"})
	if st := bakery.API(t, http.MethodPost, "/api/v1/motions/vote?id="+ranked, map[string]any{"member": "bo", "choices": []string{"Oat", "Spelt"}}, nil); st != http.StatusOK {
		t.Fatalf("bo ranks: %d", st)
	}

	login(t, ctx, bakery, "ana")
	form := func(iri string) string { return `#votes form:has(input[name="id"][value="` + iri + `"]) ` }
	dashboard := func() {
		run(t, ctx, "dashboard", chromedp.Navigate(bakery.URL+"/coops/bakery/admin"), chromedp.WaitVisible(chromedp.CSS("#votes-h")))
	}
	dashboard()
	fits(t, ctx, "the dashboard with four kinds of vote")
	shot(t, ctx, "dashboard-decisions")
	submit := func(what, iri string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		dashboard()
		steps = append(steps, chromedp.Click(chromedp.CSS(form(iri)+`button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
		run(t, ctx, what, steps...)
	}
	// ana ranks Rye, Spelt; then changes her mind: Spelt first.
	submit("rank", ranked,
		chromedp.SetValue(chromedp.CSS(form(ranked)+`select[name="rank-0"]`), "1"),
		chromedp.SetValue(chromedp.CSS(form(ranked)+`select[name="rank-1"]`), "2"))
	// The form shows her ranking; she swaps the two.
	dashboard()
	if v := value(t, ctx, "rank shown", chromedp.Value(chromedp.CSS(form(ranked)+`select[name="rank-1"]`))); v != "2" {
		t.Fatalf("the form does not show the ranking in force: rank %q", v)
	}
	submit("change the ranking", ranked,
		chromedp.SetValue(chromedp.CSS(form(ranked)+`select[name="rank-1"]`), "1"),
		chromedp.SetValue(chromedp.CSS(form(ranked)+`select[name="rank-0"]`), "2"),
		chromedp.SetValue(chromedp.CSS(form(ranked)+`textarea[name="reason"]`), "spelt sells"))
	submit("dots", score,
		chromedp.SetValue(chromedp.CSS(form(score)+`input[name="dots-0"]`), "3"),
		chromedp.SetValue(chromedp.CSS(form(score)+`input[name="dots-1"]`), "7"))
	submit("slots", poll, chromedp.Click(chromedp.CSS(form(poll)+`input[type=checkbox]`)))
	submit("position", advice,
		chromedp.Click(chromedp.CSS(form(advice)+`input[value="Concerned"]`)),
		chromedp.SetValue(chromedp.CSS(form(advice)+`textarea[name="reason"]`), "who staffs it?"))
	// Dots beyond the allowance are refused on the form.
	dashboard()
	run(t, ctx, "too many dots",
		chromedp.SetValue(chromedp.CSS(form(score)+`input[name="dots-0"]`), "8"),
		chromedp.SetValue(chromedp.CSS(form(score)+`input[name="dots-1"]`), "8"),
		chromedp.Click(chromedp.CSS(form(score)+`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".problem")))
	if text := bodyText(t, ctx); !strings.Contains(text, "16 dots given; each member has 10") {
		t.Fatalf("refused dots not explained:\n%s", text)
	}

	pages := []struct {
		name, iri string
		want      []string
	}{
		{"ranked", ranked, []string{"Instant runoff, round by round", "spelt sells", "Earlier votes, replaced (1)", "Spelt > Rye", "1×"}},
		{"score", score, []string{"Dots", "Wages 3, Oven 7"}},
		{"poll", poll, []string{slot.Format("Mon 2 Jan 2006 15:04 UTC")}},
		{"advice", advice, []string{"Positions and reasons", "who staffs it?"}},
	}
	for _, p := range pages {
		run(t, ctx, p.name+" page", chromedp.Navigate(p.iri), chromedp.WaitVisible(chromedp.CSS("svg.chart")))
		text := bodyText(t, ctx)
		for _, w := range p.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s page lacks %q:\n%s", p.name, w, text)
			}
		}
		fits(t, ctx, "the "+p.name+" motion page")
		shot(t, ctx, "motion-"+p.name)
	}
}
