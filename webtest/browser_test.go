package webtest

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coopfed/coopfed/fedtest"
)

// chromiumPath is where Debian installs chromium (.ci/run installs it).
const chromiumPath = "/usr/bin/chromium"

// browser starts a headless chromium for the test, or skips the test when
// chromium is missing locally; under CI=true a missing chromium fails.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is required in CI but %s is missing", chromiumPath)
		}
		t.Skipf("browser test skipped: %s not found (apt-get install chromium)", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(360, 800), // a phone's width
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser; its context must not time out,
	// or the browser would stop with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	// A phone: 360 CSS pixels wide, scale 1, mobile layout (the viewport
	// meta tag applies). EmulateViewport sends
	// Emulation.setDeviceMetricsOverride, which lasts across navigations.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(phoneWidth, 800, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateScale(1))); err != nil {
		t.Fatalf("emulating a phone: %v", err)
	}
	return ctx
}

// phoneWidth is the narrowest screen the pages must fit without scrolling
// sideways.
const phoneWidth = 360

// fits fails the test when the page is wider than the phone's screen: a
// wide table may scroll inside its own wrapper, the page must not.
func fits(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	// The emulation must hold, or the check below proves nothing.
	if vw := value(t, ctx, "screen width", chromedp.Evaluate[int64](`window.innerWidth`)); vw != phoneWidth {
		t.Fatalf("%s: the window is %d px wide, want %d", page, vw, phoneWidth)
	}
	w := value(t, ctx, "page width", chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
	if w > phoneWidth {
		wide := value(t, ctx, "widest elements", chromedp.Evaluate[string](`Array.from(document.querySelectorAll("body *"))
			.filter(e => e.getBoundingClientRect().right > `+strconv.Itoa(phoneWidth)+`)
			.slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && e.className.baseVal === undefined ? "." + e.className : "") + " " + Math.round(e.getBoundingClientRect().right)).join(", ")`))
		t.Errorf("%s is %d px wide on a %d px screen (overflowing: %s)", page, w, phoneWidth, wide)
	}
}

// shot saves a screenshot of the page into the test's temp folder.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	// Quality 100 asks for PNG; any other value gives a JPEG.
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := os.Getenv("COOPFED_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs steps, each batch bounded in time so a missing element fails
// the test instead of hanging it.
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// value runs one action that returns a value, bounded in time.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func login(t *testing.T, ctx context.Context, inst *fedtest.Instance, username string) {
	t.Helper()
	run(t, ctx, "log in",
		chromedp.Navigate(inst.URL+"/login"),
		chromedp.SetValue(chromedp.CSS("#username"), username),
		chromedp.SetValue(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#listing-h")),
	)
}

func bodyText(t *testing.T, ctx context.Context) string {
	t.Helper()
	return value(t, ctx, "read page", chromedp.Text(chromedp.CSS("main")))
}

// A member logs in, posts an offer and finds it on the public coop page;
// a second coop follows the first from its admin page, finds the offer in
// its market and proposes a trade, which the first sees among its
// notifications and accepts; a vote changes the motion page's chart. The
// browser is a 360 px wide phone, and no page may scroll sideways.
func TestBrowserJourneys(t *testing.T) {
	ctx := browser(t)
	bakery := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	mill := fedtest.Start(t, fedtest.Options{Coop: "mill"})
	AddMember(t, bakery, "ana", "admin", password)
	AddMember(t, mill, "bo", "admin", password)

	// Log in and post an offer.
	login(t, ctx, bakery, "ana")
	run(t, ctx, "post an offer",
		chromedp.SetValue(chromedp.CSS("#l-title"), "Sourdough loaves"),
		chromedp.SetValue(chromedp.CSS("#l-category"), "bread"),
		chromedp.SetValue(chromedp.CSS("#l-qv"), "12"),
		chromedp.SetValue(chromedp.CSS("#l-qu"), "loaf"),
		chromedp.SetValue(chromedp.CSS("#l-pa"), "4.50"),
		chromedp.SetValue(chromedp.CSS("#l-pc"), "EUR"),
		chromedp.Click(chromedp.CSS(`#listing button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	fits(t, ctx, "the members' page")
	shot(t, ctx, "dashboard")
	run(t, ctx, "public page", chromedp.Navigate(bakery.URL+"/coops/bakery"), chromedp.WaitVisible(chromedp.CSS("#market-h")))
	if text := bodyText(t, ctx); !strings.Contains(text, "Sourdough loaves") {
		t.Fatalf("offer not on the public page:\n%s", text)
	}
	fits(t, ctx, "the public coop page")
	shot(t, ctx, "coop")

	// The mill follows the bakery from its admin page and finds the offer
	// in its market.
	login(t, ctx, mill, "bo")
	run(t, ctx, "follow",
		chromedp.SetValue(chromedp.CSS("#f-handle"), bakery.Handle()),
		chromedp.Click(chromedp.CSS(`#follow button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	fedtest.Eventually(t, 30*time.Second, "the offer in the mill's market", func() bool {
		run(t, ctx, "market", chromedp.Navigate(mill.URL+"/market?q=sourdough"), chromedp.WaitVisible(chromedp.CSS("main h1")))
		return strings.Contains(bodyText(t, ctx), "Sourdough loaves")
	})
	fits(t, ctx, "the market")
	shot(t, ctx, "market")
	run(t, ctx, "listing page", chromedp.Click(chromedp.CSS(`main a[href*="/listings/"]`)), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if text := bodyText(t, ctx); !strings.Contains(text, "Sourdough loaves") {
		t.Fatalf("not the offer's page:\n%s", text)
	}
	fits(t, ctx, "the listing page")
	shot(t, ctx, "listing")
	run(t, ctx, "back to the market", chromedp.Navigate(mill.URL+"/market?q=sourdough"), chromedp.WaitVisible(chromedp.CSS("main h1")))

	// The mill proposes a trade on the offer from its market; the bakery
	// accepts it on its trades page; both ledgers show it.
	run(t, ctx, "propose a trade",
		chromedp.Click(chromedp.CSS(`a.propose`)),
		chromedp.WaitVisible(chromedp.CSS("#propose")),
		chromedp.SetValue(chromedp.CSS("#t-msg"), "Can we collect on Friday?"),
		chromedp.Click(chromedp.CSS(`#propose button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if text := bodyText(t, ctx); !strings.Contains(text, "Sourdough loaves") || !strings.Contains(text, "Withdraw") {
		t.Fatalf("the proposal is not among the mill's outgoing ones:\n%s", text)
	}
	login(t, ctx, bakery, "ana")
	fedtest.Eventually(t, 30*time.Second, "the proposal among the bakery's notifications", func() bool {
		run(t, ctx, "members' page", chromedp.Navigate(bakery.URL+"/coops/bakery/admin"), chromedp.WaitVisible(chromedp.CSS("#notifications-h")))
		return strings.Contains(value(t, ctx, "notifications", chromedp.Text(chromedp.CSS("#notifications"))), "A trade proposal from @mill@")
	})
	fits(t, ctx, "the members' page with a notification")
	run(t, ctx, "follow the notification to the trades page",
		chromedp.Click(chromedp.CSS(`#notifications a[href*="/trades#trade-"]`)),
		chromedp.WaitVisible(chromedp.CSS("#incoming-h")),
	)
	fedtest.Eventually(t, 30*time.Second, "the proposal on the bakery's trades page", func() bool {
		run(t, ctx, "trades page", chromedp.Navigate(bakery.URL+"/coops/bakery/admin/trades"), chromedp.WaitVisible(chromedp.CSS("#incoming-h")))
		return strings.Contains(bodyText(t, ctx), "Can we collect on Friday?")
	})
	fits(t, ctx, "the trades page with a proposal")
	shot(t, ctx, "trade-incoming")
	run(t, ctx, "accept the trade",
		chromedp.Click(chromedp.CSS(`#incoming form[action$="/accept"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	ledger := func() string { return value(t, ctx, "ledger", chromedp.Text(chromedp.CSS("#ledger"))) }
	if text := ledger(); !strings.Contains(text, "Sourdough loaves") || !strings.Contains(text, "@mill@") {
		t.Fatalf("the bakery's ledger lacks the trade:\n%s", text)
	}
	login(t, ctx, mill, "bo")
	fedtest.Eventually(t, 30*time.Second, "the trade in the mill's ledger", func() bool {
		run(t, ctx, "trades page", chromedp.Navigate(mill.URL+"/coops/mill/admin/trades"), chromedp.WaitVisible(chromedp.CSS("#ledger-h")))
		return strings.Contains(ledger(), "Sourdough loaves")
	})
	fits(t, ctx, "the trades page with the ledger")
	shot(t, ctx, "ledger")

	// A motion of the bakery; ana votes on her page and the chart changes.
	var m struct {
		ID string `json:"id"`
	}
	if st := bakery.API(t, http.MethodPost, "/api/v1/coops/bakery/motions", map[string]any{
		"title": "Open on Sundays", "kind": "choice", "options": []string{"Yes", "No"},
		"closes_at": time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339),
	}, &m); st != http.StatusCreated {
		t.Fatalf("create motion: %d", st)
	}
	bar := func(attr string) string {
		return value(t, ctx, "chart", chromedp.AttributeValue(chromedp.CSS(`svg.chart rect[data-option="Yes"]`), attr)).Value
	}
	votes := func() string {
		run(t, ctx, "motion page", chromedp.Navigate(m.ID), chromedp.WaitVisible(chromedp.CSS("svg.chart")))
		return bar("data-votes")
	}
	if v := votes(); v != "0" {
		t.Fatalf("votes for Yes before voting: %q", v)
	}
	fits(t, ctx, "the motion page")
	before := bar("width")
	login(t, ctx, bakery, "ana")
	run(t, ctx, "vote",
		chromedp.Click(chromedp.CSS(`#votes input[value="Yes"]`)),
		chromedp.Click(chromedp.CSS(`#votes button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if v := votes(); v != "1" {
		t.Fatalf("votes for Yes after voting: %q", v)
	}
	after := bar("width")
	if after == before {
		t.Fatalf("the bar did not grow: %s", after)
	}
	shot(t, ctx, "motion")
}
