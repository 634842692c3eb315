package webtest

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coopfed/coopfed/fedtest"
)

// movedClock is real time plus an offset the test moves forward, so the
// review date comes on demand.
type movedClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *movedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *movedClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// The cycle of a motion in a phone's browser: an admin replies to the
// motion under discussion and amends it on its page, opens the vote;
// after the outcome she turns it into a task and marks it done; at the
// review date the dashboard shows the reminder, she records her review
// and opens a follow-up motion. Each phase's page fits a 360 px screen.
func TestBrowserMotionCycle(t *testing.T) {
	ctx := browser(t)
	clock := &movedClock{}
	bakery := fedtest.Start(t, fedtest.Options{Coop: "bakery", Now: clock.Now, TallyDebounce: time.Millisecond})
	AddMember(t, bakery, "ana", "admin", password)
	AddMember(t, bakery, "bo", "member", password)
	now := clock.Now().UTC()
	var m struct{ ID string }
	if st := bakery.API(t, http.MethodPost, "/api/v1/coops/bakery/motions", map[string]any{
		"title": "A four-day week", "text": "From May, the bakery opens four days a week.", "kind": "consent", "discussion": true,
		"opens_at": now.Add(24 * time.Hour).Format(time.RFC3339), "closes_at": now.Add(48 * time.Hour).Format(time.RFC3339),
		"review_at": now.Add(30 * 24 * time.Hour).Format(time.RFC3339),
	}, &m); st != http.StatusCreated {
		t.Fatalf("create motion: %d", st)
	}
	login(t, ctx, bakery, "ana")
	page := func(what string, ready string) string {
		t.Helper()
		run(t, ctx, what, chromedp.Navigate(m.ID), chromedp.WaitVisible(chromedp.CSS(ready)))
		return bodyText(t, ctx)
	}
	// submit sends a form and waits for what only the page after it has.
	submit := func(what, form, after string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		steps = append(steps, chromedp.Click(chromedp.CSS(form+` button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(after)))
		run(t, ctx, what, steps...)
	}

	// Discussion: a reply and an amendment.
	page("the motion under discussion", "#reply-form")
	submit("reply", "#reply-form", ".thread", chromedp.SetValue(chromedp.CSS("#reply-text"), "Which day would we close?"))
	page("the motion page", "#amend-form")
	submit("amend", "#amend-form", "#amendments",
		chromedp.SetValue(chromedp.CSS("#amend-text"), "From May, the bakery opens four days a week, closed on Mondays."),
		chromedp.SetValue(chromedp.CSS("#amend-note"), "names the day"))
	text := page("the amended motion", "#amendments")
	for _, want := range []string{"Phase: Discussion", "closed on Mondays", "Which day would we close?", "ana (member)"} {
		if !strings.Contains(text, want) {
			t.Errorf("discussion page lacks %q:\n%s", want, text)
		}
	}
	run(t, ctx, "open the history", chromedp.Click(chromedp.CSS("#amendments summary")))
	fits(t, ctx, "the motion under discussion")
	shot(t, ctx, "motion-discussion")

	// Voting, then the outcome.
	page("the motion page", "#open-form")
	submit("open voting", "#open-form", ".tally-chart")
	if text := bodyText(t, ctx); !strings.Contains(text, "Phase: Voting") || !strings.Contains(text, "Voting is open until") {
		t.Fatalf("voting page:\n%s", text)
	}
	for _, member := range []string{"ana", "bo"} {
		if st := bakery.API(t, http.MethodPost, "/api/v1/motions/vote?id="+m.ID, map[string]any{"member": member, "choices": []string{"Agree"}}, nil); st != http.StatusOK {
			t.Fatalf("%s votes: %d", member, st)
		}
	}
	if st := bakery.API(t, http.MethodPost, "/api/v1/motions/close?id="+m.ID, nil, nil); st != http.StatusOK {
		t.Fatalf("close: %d", st)
	}

	// Implementation: a task for bo, marked done by the admin.
	text = page("the motion's outcome", "#task-form")
	if !strings.Contains(text, "Outcome: carried") {
		t.Fatalf("outcome page:\n%s", text)
	}
	submit("add a task", "#task-form", ".task",
		chromedp.SetValue(chromedp.CSS("#task-title"), "Change the hours on the door"),
		chromedp.SetValue(chromedp.CSS("#task-owner"), "bo"))
	text = page("the motion in implementation", ".task")
	if !strings.Contains(text, "Phase: Implementation") || !strings.Contains(text, "Owner bo") {
		t.Fatalf("implementation page:\n%s", text)
	}
	fits(t, ctx, "the motion in implementation")
	shot(t, ctx, "motion-implementation")
	run(t, ctx, "the coop page", chromedp.Navigate(bakery.ActorIRI()), chromedp.WaitVisible(chromedp.CSS(".tasks")))
	if text := bodyText(t, ctx); !strings.Contains(text, "Change the hours on the door") {
		t.Fatalf("coop page lacks the task:\n%s", text)
	}
	fits(t, ctx, "the coop page with a task")
	page("the motion page", ".task form")
	submit("mark done", ".task form", ".task.done")
	if text := bodyText(t, ctx); !strings.Contains(text, "done") || !strings.Contains(text, "by ana") {
		t.Fatalf("task not done:\n%s", text)
	}

	// Review: the reminder on the dashboard, a review, a follow-up.
	clock.Advance(31 * 24 * time.Hour)
	login(t, ctx, bakery, "ana") // the month ended her session
	fedtest.Eventually(t, 15*time.Second, "the review reminder on the dashboard", func() bool {
		run(t, ctx, "dashboard", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#notifications-h")))
		return strings.Contains(bodyText(t, ctx), "The review of A four-day week is due")
	})
	page("the motion under review", "#review-form")
	submit("record a review", "#review-form", "#review .feed",
		chromedp.Click(chromedp.CSS(`#review-form input[value="partly"]`)),
		chromedp.SetValue(chromedp.CSS("#review-text"), "Mondays were missed by regulars"))
	page("the motion page", "#follow-up-form")
	submit("open a follow-up", "#follow-up-form", "#follow-ups .feed",
		chromedp.SetValue(chromedp.CSS("#fu-title"), "Open on Monday mornings"),
		chromedp.SetValue(chromedp.CSS("#fu-text"), "Mornings only, from 7 to 12."))
	text = page("the reviewed motion", "#follow-ups")
	for _, want := range []string{"Phase: Review", "1 partly", "Mondays were missed by regulars", "Open on Monday mornings"} {
		if !strings.Contains(text, want) {
			t.Errorf("review page lacks %q:\n%s", want, text)
		}
	}
	fits(t, ctx, "the motion under review")
	shot(t, ctx, "motion-review")
	run(t, ctx, "the follow-up", chromedp.Click(chromedp.CSS("#follow-ups .feed a")), chromedp.WaitVisible(chromedp.CSS(".follow-up-of")))
	if text := bodyText(t, ctx); !strings.Contains(text, "Follow-up of A four-day week") {
		t.Fatalf("follow-up page:\n%s", text)
	}
	fits(t, ctx, "the follow-up motion")
}
