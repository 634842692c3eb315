package webtest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coopfed/coopfed/fedtest"
)

// The shared market in a phone's browser: a coop starts a market group
// from its admin page; a second coop joins it by handle and posts an
// offer; a third joins, finds the offer in its market (via the group),
// follows the second from the directory in one click and reports the
// offer; the group's moderator takes it out. The groups, directory,
// statistics, group, report and reports pages all fit a 360 px screen.
func TestBrowserSharedMarket(t *testing.T) {
	ctx := browser(t)
	hub := fedtest.Start(t, fedtest.Options{Coop: "hub"})
	bakery := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	farm := fedtest.Start(t, fedtest.Options{Coop: "farm"})
	AddMember(t, hub, "ana", "admin", password)
	AddMember(t, bakery, "bo", "admin", password)
	AddMember(t, farm, "cy", "admin", password)
	handle := "market@" + strings.TrimPrefix(hub.URL, "http://")

	login(t, ctx, hub, "ana")
	run(t, ctx, "start a group",
		chromedp.Navigate(hub.URL+"/coops/hub/admin/groups"),
		chromedp.WaitVisible(chromedp.CSS("#create-h")),
		chromedp.SetValue(chromedp.CSS("#c-name"), "market"),
		chromedp.SetValue(chromedp.CSS("#c-dn"), "Valley market"),
		chromedp.SetValue(chromedp.CSS("#c-topic"), "Surplus food and tools between the valley's coops"),
		chromedp.SetValue(chromedp.CSS("#c-region"), "Calder Valley"),
		chromedp.Click(chromedp.CSS(`#create button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if text := bodyText(t, ctx); !strings.Contains(text, "Group created.") || !strings.Contains(text, "Valley market") {
		t.Fatalf("after creating the group:\n%s", text)
	}
	fits(t, ctx, "the shared market page")

	joinWith := func(inst *fedtest.Instance, coop, user string) {
		t.Helper()
		login(t, ctx, inst, user)
		run(t, ctx, coop+" joins",
			chromedp.Navigate(inst.URL+"/coops/"+coop+"/admin/groups"),
			chromedp.WaitVisible(chromedp.CSS("#join-h")),
			chromedp.SetValue(chromedp.CSS("#j-handle"), handle),
			chromedp.Click(chromedp.CSS(`#join button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(".flash")),
		)
		fedtest.Eventually(t, 10*time.Second, coop+" a member", func() bool {
			run(t, ctx, "memberships", chromedp.Navigate(inst.URL+"/coops/"+coop+"/admin/groups"), chromedp.WaitVisible(chromedp.CSS("#memberships-h")))
			return strings.Contains(value(t, ctx, "memberships", chromedp.Text(chromedp.CSS("#memberships"))), "accepted")
		})
	}
	joinWith(bakery, "bakery", "bo")
	run(t, ctx, "post an offer",
		chromedp.Navigate(bakery.URL+"/coops/bakery/admin"),
		chromedp.WaitVisible(chromedp.CSS("#listing-h")),
		chromedp.SetValue(chromedp.CSS("#l-title"), "Rye loaves"),
		chromedp.SetValue(chromedp.CSS("#l-category"), "bread"),
		chromedp.SetValue(chromedp.CSS("#l-qv"), "30"),
		chromedp.SetValue(chromedp.CSS("#l-qu"), "loaf"),
		chromedp.Click(chromedp.CSS(`#listing button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)

	joinWith(farm, "farm", "cy")
	fedtest.Eventually(t, 10*time.Second, "the offer in the farm's market, via the group", func() bool {
		run(t, ctx, "market", chromedp.Navigate(farm.URL+"/market?q=rye"), chromedp.WaitVisible(chromedp.CSS("main h1")))
		return strings.Contains(bodyText(t, ctx), "via group Valley market")
	})
	fits(t, ctx, "the market with a listing through a group")
	shot(t, ctx, "market-group")

	run(t, ctx, "the groups page", chromedp.Navigate(farm.URL+"/groups"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if text := bodyText(t, ctx); !strings.Contains(text, "Valley market") || !strings.Contains(text, "1 coops seen") {
		t.Fatalf("groups page:\n%s", text)
	}
	fits(t, ctx, "the groups page")

	run(t, ctx, "follow from the directory",
		chromedp.Navigate(farm.URL+"/directory"),
		chromedp.WaitVisible(chromedp.CSS("main h1")),
	)
	if text := bodyText(t, ctx); !strings.Contains(text, "1 offers") || !strings.Contains(text, "#bread") || !strings.Contains(text, "In Valley market") {
		t.Fatalf("directory:\n%s", text)
	}
	fits(t, ctx, "the directory")
	run(t, ctx, "one click",
		chromedp.Click(chromedp.CSS(`main li.post form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if text := bodyText(t, ctx); !strings.Contains(text, "Follow request sent.") {
		t.Fatalf("after the follow:\n%s", text)
	}

	run(t, ctx, "report the offer",
		chromedp.Navigate(farm.URL+"/market?q=rye"),
		chromedp.WaitVisible(chromedp.CSS("a.report")),
		chromedp.Click(chromedp.CSS("a.report")),
		chromedp.WaitVisible(chromedp.CSS("#r-comment")),
	)
	fits(t, ctx, "the report form")
	run(t, ctx, "send the report",
		chromedp.SetValue(chromedp.CSS("#r-comment"), "Not bread at all."),
		chromedp.Click(chromedp.CSS(`main form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	run(t, ctx, "the reports page", chromedp.Navigate(farm.URL+"/coops/farm/admin/reports"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if text := bodyText(t, ctx); !strings.Contains(text, "Not bread at all.") || !strings.Contains(text, "Rye loaves") {
		t.Fatalf("reports page:\n%s", text)
	}
	fits(t, ctx, "the reports page")

	run(t, ctx, "statistics", chromedp.Navigate(bakery.URL+"/statistics"), chromedp.WaitVisible(chromedp.CSS("svg.chart")))
	fits(t, ctx, "the statistics page")
	run(t, ctx, "the group's page", chromedp.Navigate(hub.URL+"/groups/market"), chromedp.WaitVisible(chromedp.CSS("#listings-h")))
	if text := bodyText(t, ctx); !strings.Contains(text, "Rye loaves") || !strings.Contains(text, "2 member coops") {
		t.Fatalf("group page:\n%s", text)
	}
	fits(t, ctx, "the group's page")
	run(t, ctx, "the group's statistics", chromedp.Navigate(hub.URL+"/groups/market/statistics"), chromedp.WaitVisible(chromedp.CSS("svg.chart")))
	fits(t, ctx, "the group's statistics")

	// The moderator takes the offer out of the group; the farm now
	// follows the bakery, so the offer stays in its market, no longer
	// through the group.
	login(t, ctx, hub, "ana")
	run(t, ctx, "take the offer out",
		chromedp.Navigate(hub.URL+"/coops/hub/admin/groups"),
		chromedp.WaitVisible(chromedp.CSS("#run-h")),
		chromedp.Click(chromedp.CSS(`form[action$="/remove"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	fedtest.Eventually(t, 10*time.Second, "the offer out of the group at the farm", func() bool {
		run(t, ctx, "market", chromedp.Navigate(farm.URL+"/market?q=rye"), chromedp.WaitVisible(chromedp.CSS("main h1")))
		text := bodyText(t, ctx)
		return strings.Contains(text, "Rye loaves") && !strings.Contains(text, "via group Valley market")
	})
}
