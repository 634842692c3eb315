package webtest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coopfed/coopfed/fedtest"
)

// Member classes in a phone's browser: an admin defines the classes on the
// members page and puts each member in one; a motion counted by class
// shows each class's tally as its own chart, with the classes in the
// ballots table, and fits a 360 px screen.
func TestBrowserClasses(t *testing.T) {
	ctx := browser(t)
	bakery := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	AddMember(t, bakery, "ana", "admin", password)
	AddMember(t, bakery, "bo", "member", password)
	AddMember(t, bakery, "cy", "member", password)
	login(t, ctx, bakery, "ana")
	manage := func() {
		run(t, ctx, "members page", chromedp.Navigate(bakery.URL+"/coops/bakery/admin/manage"), chromedp.WaitVisible(chromedp.CSS("#classes-h")))
	}
	for _, c := range [][2]string{{"workers", "Worker members"}, {"consumers", "Consumer members"}} {
		manage()
		run(t, ctx, "add class "+c[0],
			chromedp.SetValue(chromedp.CSS("#c-name"), c[0]),
			chromedp.SetValue(chromedp.CSS("#c-title"), c[1]),
			chromedp.Click(chromedp.CSS(`#add-class button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(".flash")))
	}
	manage()
	fits(t, ctx, "the members page with classes")
	shot(t, ctx, "manage-classes")
	for _, m := range [][2]string{{"ana", "workers"}, {"bo", "workers"}, {"cy", "consumers"}} {
		manage()
		run(t, ctx, "class of "+m[0],
			chromedp.SetValue(chromedp.CSS("#class-"+m[0]), m[1]),
			chromedp.Click(chromedp.CSS(`#member-`+m[0]+` form button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(".flash")))
	}
	var members struct {
		Items []struct{ Username, Class string }
	}
	bakery.API(t, http.MethodGet, "/api/v1/coops/bakery/members", nil, &members)
	for _, m := range members.Items {
		if want := map[string]string{"ana": "workers", "bo": "workers", "cy": "consumers"}[m.Username]; m.Class != want {
			t.Errorf("%s is in class %q, want %q", m.Username, m.Class, want)
		}
	}

	var motion struct{ ID string }
	body := map[string]any{"title": "Raise bread prices", "kind": "consent", "class_count": "separate",
		"closes_at": time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)}
	if st := bakery.API(t, http.MethodPost, "/api/v1/coops/bakery/motions", body, &motion); st != http.StatusCreated {
		t.Fatalf("create: %d", st)
	}
	for member, option := range map[string]string{"ana": "Agree", "bo": "Disagree", "cy": "Agree"} {
		if st := bakery.API(t, http.MethodPost, "/api/v1/motions/vote?id="+motion.ID, map[string]any{"member": member, "choices": []string{option}}, nil); st != http.StatusOK {
			t.Fatalf("%s votes: %d", member, st)
		}
	}
	run(t, ctx, "motion page", chromedp.Navigate(motion.ID), chromedp.WaitVisible(chromedp.CSS(`svg.chart[data-class="consumers"]`)))
	text := bodyText(t, ctx)
	for _, w := range []string{"By class", "workers: 2 of 2 voted, not carried", "consumers: 1 of 1 voted, carried", "Class"} {
		if !strings.Contains(text, w) {
			t.Errorf("motion page lacks %q:\n%s", w, text)
		}
	}
	n := value(t, ctx, "class charts", chromedp.Evaluate[int64](`document.querySelectorAll("svg.chart[data-class]").length`))
	if n != 2 {
		t.Errorf("%d class charts, want 2", n)
	}
	fits(t, ctx, "the motion page counted by class")
	shot(t, ctx, "motion-classes")
}
