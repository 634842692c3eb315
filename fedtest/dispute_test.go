package fedtest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

type trackCounts struct {
	WithDue      int64 `json:"trades_with_due_date"`
	OnTime       int64 `json:"on_time"`
	Disputes     int64
	OpenDisputes int64 `json:"open_disputes"`
}

func trackCountsOf(t *testing.T, inst *fedtest.Instance, coop string) trackCounts {
	t.Helper()
	var out trackCounts
	if st := fedtest.GetJSON(t, inst.URL+"/api/v1/coops/"+coop+"/track-record", &out); st != http.StatusOK {
		t.Fatalf("track record: %d", st)
	}
	return out
}

// A trade proposed with a delivery date crosses to the other instance
// with it; fulfilled by then, it counts on time in both coops' records.
// The bakery disputes the accepted trade, both instances count the
// dispute, and the mill resolves it. A dispute by a stranger, a second
// open dispute, an empty reason and a second resolution are refused with
// both databases unchanged.
func TestTradeDisputesAndOnTime(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "mill"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	due := time.Now().UTC().AddDate(0, 0, 2).Format("2006-01-02")
	prop, onA := acceptedTradeWith(t, a, b, map[string]any{"due": due})
	if onA.Due != due || prop.Due != due {
		t.Fatalf("due date: proposer %q, owner %q, want %q", prop.Due, onA.Due, due)
	}
	tb := tradeByIRI(t, b, prop.IRI)

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
	api := func(inst *fedtest.Instance, path string, body any) func() (int, string) {
		return func() (int, string) {
			var e struct {
				Error  string
				Fields map[string]string
			}
			st := inst.API(t, http.MethodPost, path, body, &e)
			return st, fmt.Sprint(e.Error, e.Fields)
		}
	}
	disputePathB := fmt.Sprintf("/api/v1/coops/bakery/trades/%d/disputes", tb.ID)
	disputePathA := fmt.Sprintf("/api/v1/coops/mill/trades/%d/disputes", onA.ID)
	refused("a dispute without a reason", http.StatusUnprocessableEntity, "say why", api(b, disputePathB, map[string]any{"reason": " "}))
	var opened struct {
		IRI  string
		Open bool
	}
	if st := b.API(t, http.MethodPost, disputePathB, map[string]any{"reason": "Two eggs were broken."}, &opened); st != http.StatusCreated || !opened.Open {
		t.Fatalf("B disputes: %d %+v", st, opened)
	}
	fedtest.Eventually(t, 10*time.Second, "A counts B's dispute", func() bool {
		c := trackCountsOf(t, a, "mill")
		return c.Disputes == 1 && c.OpenDisputes == 1
	})
	refused("a second open dispute by the same party", http.StatusConflict, "already has an open dispute",
		api(b, disputePathB, map[string]any{"reason": "and more"}))
	refused("a second open dispute by the other party", http.StatusConflict, "already has an open dispute",
		api(a, disputePathA, map[string]any{"reason": "they paid late"}))

	remote := fedtest.NewRemote(t)
	mallory := remote.AddActor("mallory", 2)
	mallory.Post(a.URL+"/coops/mill/inbox", map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
		"id": mallory.ID("follow"), "type": "Follow", "actor": mallory.IRI, "object": a.ActorIRI()})
	agreement := tradeByIRI(t, a, prop.IRI).Agreement
	refused("a dispute by a stranger", http.StatusForbidden, "only a party to the trade can open or resolve a dispute", func() (int, string) {
		id := mallory.ID("note")
		return mallory.Post(a.URL+"/coops/mill/inbox", map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams", "id": id + "/activity", "type": "Create", "actor": mallory.IRI,
			"to": []string{a.ActorIRI()},
			"object": map[string]any{"id": id, "type": "Note", "attributedTo": mallory.IRI, "context": agreement,
				"inReplyTo": prop.IRI, "content": "<p>fraud</p>", "disputeReason": "fraud", "to": []string{a.ActorIRI()}},
		})
	})

	var onADisputes struct {
		Items []struct {
			ID   int64
			IRI  string
			Open bool
		}
	}
	if st := a.API(t, http.MethodGet, disputePathA, nil, &onADisputes); st != http.StatusOK || len(onADisputes.Items) != 1 || onADisputes.Items[0].IRI != opened.IRI {
		t.Fatalf("A's disputes: %d %+v", st, onADisputes)
	}
	resolvePath := fmt.Sprintf("/api/v1/coops/mill/disputes/%d/resolve", onADisputes.Items[0].ID)
	if st := a.API(t, http.MethodPost, resolvePath, map[string]any{"resolution": "Two eggs more went with the next delivery."}, nil); st != http.StatusOK {
		t.Fatalf("A resolves: %d", st)
	}
	refused("a second resolution", http.StatusConflict, "already resolved", api(a, resolvePath, map[string]any{"resolution": "again"}))
	fedtest.Eventually(t, 10*time.Second, "B records the resolution", func() bool {
		d, err := b.Store.DisputeByIRI(t.Context(), opened.IRI)
		return err == nil && !d.Open() && d.ResolvedBy == a.ActorIRI()
	})

	for _, side := range []struct {
		inst *fedtest.Instance
		id   int64
	}{{a, onA.ID}, {b, tb.ID}} {
		if st := side.inst.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/%s/trades/%d/fulfil", side.inst.Coop.Name, side.id), nil, nil); st != http.StatusOK {
			t.Fatalf("fulfil %s: %d", side.inst.Coop.Name, st)
		}
		fedtest.Eventually(t, 10*time.Second, "deliveries settle", func() bool {
			return a.PendingDeliveries(t) == 0 && b.PendingDeliveries(t) == 0
		})
	}
	fedtest.Eventually(t, 10*time.Second, "on time on both sides", func() bool {
		ca, cb := trackCountsOf(t, a, "mill"), trackCountsOf(t, b, "bakery")
		return ca == trackCounts{1, 1, 1, 0} && cb == trackCounts{1, 1, 1, 0}
	})
	if tr := tradeByIRI(t, a, prop.IRI); tr.State != "fulfilled" || !tr.OnTime {
		t.Fatalf("A's trade: %+v", tr)
	}
	req, _ := http.NewRequest(http.MethodGet, a.URL+"/coops/mill", nil)
	if st, body := fedtest.Do(t, req); st != http.StatusOK || !strings.Contains(body, "1 of 1 on time") || !strings.Contains(body, "1 disputes") {
		t.Fatalf("coop page: %d\n%s", st, body)
	}
}
