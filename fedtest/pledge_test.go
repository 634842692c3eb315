package fedtest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

type projectView struct {
	ID        string
	IRI       string
	Title     string
	Pledgers  int
	Capped    int
	Each      int64
	Total     int64
	TotalText string `json:"total_text"`
	Next      int64
	Pledges   []struct {
		Name    string
		Monthly int64
		Capped  bool
	}
}

func getProject(t *testing.T, inst *fedtest.Instance, id string) projectView {
	t.Helper()
	var p projectView
	if st := fedtest.GetJSON(t, inst.URL+"/api/v1/projects/"+id, &p); st != http.StatusOK {
		t.Fatalf("project %s: %d", id, st)
	}
	return p
}

// A coop opens a commons project: its Mastodon-shaped follower gets a
// readable Note; two members pledge (one with a cap too low to be
// counted), a coop of another instance pledges with a Join, and a remote
// person too; each counted pledger gives one unit per other pledger
// counted, and the capped member gives nothing. Pledges are withdrawn
// with Leave or through the API. Pledges of no cap, a negative or
// oversized cap, to an unknown project, or from an activity on another
// host are refused with both databases unchanged.
func TestCommonsProjectPledges(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "commons"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	followers := fedtest.NewRemote(t)
	alice := followers.AddActor("alice", 1)
	followCoop(t, a, followers, alice)

	var opened projectView
	if st := a.API(t, http.MethodPost, "/api/v1/coops/commons/projects", map[string]any{
		"title": "Shared oven", "description": "A wood oven for the whole street.", "currency": "EUR", "digits": 3, "unit": 1,
	}, &opened); st != http.StatusCreated || opened.Pledgers != 0 {
		t.Fatalf("open project: %d %+v", st, opened)
	}
	note := waitForObject(t, followers, "Create", "the follower gets the project's Note", func(o map[string]any) bool {
		return o["type"] == "Note" && o["context"] == opened.IRI
	})
	if c, _ := note["content"].(string); !strings.Contains(c, "New commons project: Shared oven") || !strings.Contains(c, "0.001 EUR a month for every other pledger") {
		t.Fatalf("note content: %q", c)
	}

	for _, name := range []string{"dee", "eve"} {
		if st := a.API(t, http.MethodPost, "/api/v1/coops/commons/members", map[string]any{"username": name}, nil); st != http.StatusCreated {
			t.Fatalf("add member %s: %d", name, st)
		}
	}
	memberPledge := func(name string, cap any) (int, string) {
		var e struct {
			Error  string
			Fields map[string]string
		}
		st := a.API(t, http.MethodPost, "/api/v1/coops/commons/projects/"+opened.ID+"/pledges", map[string]any{"member": name, "monthly_cap": cap}, &e)
		return st, fmt.Sprint(e.Error, e.Fields)
	}
	if st, msg := memberPledge("dee", 1000); st != http.StatusOK {
		t.Fatalf("dee pledges: %d %s", st, msg)
	}
	if st, msg := memberPledge("eve", 1); st != http.StatusOK {
		t.Fatalf("eve pledges: %d %s", st, msg)
	}
	if st := b.API(t, http.MethodPost, "/api/v1/coops/bakery/pledges", map[string]any{"project": opened.IRI, "monthly_cap": 5000}, nil); st != http.StatusOK {
		t.Fatalf("bakery pledges: %d", st)
	}
	// bakery 5000 and dee 1000 are counted (1 each); eve's cap of 1 is
	// below the 2 a crowd of three would ask of her.
	fedtest.Eventually(t, 10*time.Second, "the bakery's Join arrives", func() bool {
		p := getProject(t, a, opened.ID)
		return p.Pledgers == 2 && p.Capped == 1 && p.Total == 2
	})

	pledgers := fedtest.NewRemote(t)
	mallory := pledgers.AddActor("mallory", 2)
	join := func(id string, object string, cap any) map[string]any {
		j := map[string]any{"@context": []any{"https://www.w3.org/ns/activitystreams", map[string]any{"monthlyCap": "https://coopfed.org/ns#monthlyCap"}},
			"id": id, "type": "Join", "actor": mallory.IRI, "object": object, "to": []string{a.ActorIRI()}}
		if cap != nil {
			j["monthlyCap"] = cap
		}
		return j
	}
	inbox := a.URL + "/coops/commons/inbox"
	if st, body := mallory.Post(inbox, join(mallory.ID("join"), opened.IRI, "3")); st != http.StatusAccepted {
		t.Fatalf("mallory joins: %d %s", st, body)
	}
	p := getProject(t, a, opened.ID)
	if p.Pledgers != 3 || p.Each != 2 || p.Total != 6 || p.Capped != 1 || p.TotalText != "0.006" || p.Next != 6 {
		t.Fatalf("with mallory: %+v", p)
	}
	for _, sh := range p.Pledges {
		if (sh.Name == "eve") != sh.Capped || (sh.Capped && sh.Monthly != 0) || (!sh.Capped && sh.Monthly != 2) {
			t.Fatalf("share: %+v", sh)
		}
	}

	refused := func(name string, want int, msg string, call func() (int, string)) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			fedtest.Eventually(t, 10*time.Second, "deliveries settle", func() bool {
				return a.PendingDeliveries(t) == 0 && b.PendingDeliveries(t) == 0
			})
			beforeA, beforeB := a.Snapshot(t), b.Snapshot(t)
			st, body := call()
			if st != want || !strings.Contains(body, msg) {
				t.Fatalf("status %d, want %d with %q: %s", st, want, msg, body)
			}
			if changed := changedTables(beforeA, a.Snapshot(t)); len(changed) > 0 {
				t.Fatalf("A's tables changed: %v", changed)
			}
			if changed := changedTables(beforeB, b.Snapshot(t)); len(changed) > 0 {
				t.Fatalf("B's tables changed: %v", changed)
			}
		})
	}
	const capMsg = "a whole number of minor units from 1 to 1000000000000"
	refused("a member's pledge of no cap", http.StatusUnprocessableEntity, capMsg, func() (int, string) { return memberPledge("dee", 0) })
	refused("a member's negative pledge", http.StatusUnprocessableEntity, capMsg, func() (int, string) { return memberPledge("dee", -5) })
	refused("a member's pledge above the limit", http.StatusUnprocessableEntity, capMsg, func() (int, string) { return memberPledge("dee", int64(1_000_000_000_001)) })
	refused("a coop's pledge of zero", http.StatusUnprocessableEntity, capMsg, func() (int, string) {
		var e struct {
			Error  string
			Fields map[string]string
		}
		st := b.API(t, http.MethodPost, "/api/v1/coops/bakery/pledges", map[string]any{"project": opened.IRI, "monthly_cap": 0}, &e)
		return st, fmt.Sprint(e.Error, e.Fields)
	})
	refused("a coop's pledge to an unknown project", http.StatusNotFound, "not found", func() (int, string) {
		var e struct{ Error string }
		st := b.API(t, http.MethodPost, "/api/v1/coops/bakery/pledges", map[string]any{"project": a.URL + "/projects/nothing", "monthly_cap": 10}, &e)
		return st, e.Error
	})
	refused("a Join of no cap", http.StatusUnprocessableEntity, "monthlyCap", func() (int, string) {
		return mallory.Post(inbox, join(mallory.ID("join"), opened.IRI, nil))
	})
	refused("a Join of a negative cap", http.StatusUnprocessableEntity, "monthlyCap", func() (int, string) {
		return mallory.Post(inbox, join(mallory.ID("join"), opened.IRI, -3))
	})
	refused("a Join above the limit", http.StatusUnprocessableEntity, "monthlyCap", func() (int, string) {
		return mallory.Post(inbox, join(mallory.ID("join"), opened.IRI, "1000000000001"))
	})
	refused("a Join of an unknown project", http.StatusNotFound, "no commons project", func() (int, string) {
		return mallory.Post(inbox, join(mallory.ID("join"), a.URL+"/projects/nothing", "3"))
	})
	refused("a Join whose id is on another host", http.StatusForbidden, "is not on the actor's host", func() (int, string) {
		return mallory.Post(inbox, join("https://elsewhere.example/join/1", opened.IRI, "3"))
	})

	// The project's document and page.
	var doc struct {
		Type, Name, MatchingUnit, Currency, MonthlyTotal string
		Pledgers, Capped, MinorDigits                    int
	}
	if st := fedtest.GetJSON(t, opened.IRI, &doc); st != http.StatusOK || doc.Type != "CommonsProject" || doc.MatchingUnit != "1" ||
		doc.MinorDigits != 3 || doc.Pledgers != 3 || doc.MonthlyTotal != "6" {
		t.Fatalf("project document: %d %+v", st, doc)
	}
	req, _ := http.NewRequest(http.MethodGet, opened.IRI, nil)
	if st, body := fedtest.Do(t, req); st != http.StatusOK || !strings.Contains(body, "0.006 EUR a month") || !strings.Contains(body, "<strong>capped</strong>") ||
		!strings.Contains(body, `data-pledger="eve" data-monthly="0"`) || !strings.Contains(body, `data-pledger="dee" data-monthly="2"`) {
		t.Fatalf("project page: %d\n%s", st, body)
	}

	// Withdrawals: mallory leaves, the bakery withdraws through its API.
	leave := map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": mallory.ID("leave"), "type": "Leave", "actor": mallory.IRI, "object": opened.IRI}
	if st, body := mallory.Post(inbox, leave); st != http.StatusAccepted {
		t.Fatalf("mallory leaves: %d %s", st, body)
	}
	if st := b.API(t, http.MethodDelete, "/api/v1/coops/bakery/pledges?project="+url.QueryEscape(opened.IRI), nil, nil); st != http.StatusNoContent {
		t.Fatalf("bakery withdraws: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "the bakery's Leave arrives", func() bool {
		p := getProject(t, a, opened.ID)
		// dee and eve: a crowd of two asks 1 of each, which eve's cap allows.
		return p.Pledgers == 2 && p.Capped == 0 && p.Total == 2
	})
	var mine struct{ Items []any }
	if b.API(t, http.MethodGet, "/api/v1/coops/bakery/pledges", nil, &mine); len(mine.Items) != 0 {
		t.Fatalf("the bakery's pledges after withdrawing: %+v", mine.Items)
	}
}
