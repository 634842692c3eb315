package fedtest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

type trackOut struct {
	TradesAccepted  int64  `json:"trades_accepted"`
	TradesFulfilled int64  `json:"trades_fulfilled"`
	Reviews         int64  `json:"reviews"`
	AverageRating   string `json:"average_rating"`
	Items           []struct {
		ID                   int64
		IRI, Author, Subject string
		Rating               int
		Text                 string
		Answer               *struct{ IRI, Text string }
	}
}

func trackRecord(t *testing.T, inst *fedtest.Instance, coop string) trackOut {
	t.Helper()
	var out trackOut
	if st := fedtest.GetJSON(t, inst.URL+"/api/v1/coops/"+coop+"/track-record", &out); st != http.StatusOK {
		t.Fatalf("track record: %d", st)
	}
	return out
}

// A fulfilled trade between two instances: each side reviews the other
// once, the mill answers the bakery's review once, and both instances show
// the same reviews. Reviews before fulfilment, twice, by a stranger, with
// a rating out of range, and answers by the wrong coop or twice are
// refused with the database unchanged.
func TestReviewsAfterFulfilledTrade(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "mill"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	prop, onA := acceptedTrade(t, a, b)

	// refused runs a call that must fail with status and message, and
	// leave both databases as they were.
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
	tb := tradeByIRI(t, b, prop.IRI)
	reviewPath := fmt.Sprintf("/api/v1/coops/bakery/trades/%d/review", tb.ID)
	refused("review before fulfilment", http.StatusConflict, "only a fulfilled trade can be reviewed (this one is accepted)",
		api(b, reviewPath, map[string]any{"rating": 5, "text": "fast"}))

	for _, side := range []struct {
		inst *fedtest.Instance
		id   int64
	}{{a, onA.ID}, {b, tb.ID}} {
		if st := side.inst.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/%s/trades/%d/fulfil", side.inst.Coop.Name, side.id), nil, nil); st != http.StatusOK {
			t.Fatalf("fulfil %s: %d", side.inst.Coop.Name, st)
		}
		time.Sleep(50 * time.Millisecond)
		fedtest.Eventually(t, 10*time.Second, "deliveries settle", func() bool {
			return a.PendingDeliveries(t) == 0 && b.PendingDeliveries(t) == 0
		})
	}
	fedtest.Eventually(t, 10*time.Second, "fulfilled on both sides", func() bool {
		return tradeByIRI(t, a, prop.IRI).State == "fulfilled" && tradeByIRI(t, b, prop.IRI).State == "fulfilled"
	})

	refused("a rating of 6", http.StatusUnprocessableEntity, "from 1 to 5", api(b, reviewPath, map[string]any{"rating": 6}))
	refused("a text too long", http.StatusUnprocessableEntity, "at most 500 characters",
		api(b, reviewPath, map[string]any{"rating": 4, "text": strings.Repeat("x", 501)}))

	var rv struct {
		ID     int64
		IRI    string
		Rating int
	}
	if st := b.API(t, http.MethodPost, reviewPath, map[string]any{"rating": 4, "text": "Fresh eggs, one day late."}, &rv); st != http.StatusCreated || rv.Rating != 4 {
		t.Fatalf("B reviews A: %d %+v", st, rv)
	}
	refused("a second review by the same coop", http.StatusConflict, "already reviewed this trade",
		api(b, reviewPath, map[string]any{"rating": 1, "text": "changed my mind"}))
	fedtest.Eventually(t, 10*time.Second, "A receives B's review", func() bool {
		tr := trackRecord(t, a, "mill")
		return tr.Reviews == 1 && tr.AverageRating == "4" && tr.TradesFulfilled == 1
	})
	if st := a.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/mill/trades/%d/review", onA.ID), map[string]any{"rating": 5, "text": "Paid at once."}, nil); st != http.StatusCreated {
		t.Fatalf("A reviews B: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "B receives A's review", func() bool {
		return trackRecord(t, b, "bakery").Reviews == 1
	})

	// Answers: the mill answers the review about it, once; the bakery
	// cannot answer its own review of the mill.
	onAReview := trackRecord(t, a, "mill").Items[0]
	if onAReview.Author != b.ActorIRI() || onAReview.Subject != a.ActorIRI() || onAReview.Text != "Fresh eggs, one day late." {
		t.Fatalf("the review on A: %+v", onAReview)
	}
	refused("an answer by the reviewer", http.StatusNotFound, "review not found",
		api(b, fmt.Sprintf("/api/v1/coops/bakery/reviews/%d/answer", rv.ID), map[string]any{"text": "me again"}))
	answerPath := fmt.Sprintf("/api/v1/coops/mill/reviews/%d/answer", onAReview.ID)
	if st := a.API(t, http.MethodPost, answerPath, map[string]any{"text": "The road was closed; sorry."}, nil); st != http.StatusOK {
		t.Fatalf("A answers: %d", st)
	}
	refused("a second answer", http.StatusConflict, "already answered", api(a, answerPath, map[string]any{"text": "again"}))
	fedtest.Eventually(t, 10*time.Second, "B keeps A's answer with its review", func() bool {
		r, err := b.Store.ReviewByIRI(t.Context(), rv.IRI)
		return err == nil && r.Reply == "The road was closed; sorry."
	})

	// A stranger, party to nothing, sends a review of the mill's trade.
	remote := fedtest.NewRemote(t)
	mallory := remote.AddActor("mallory", 2)
	agreement := tradeByIRI(t, a, prop.IRI).Agreement
	strangerReview := func() map[string]any {
		id := mallory.ID("note")
		return map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams", "id": id + "/activity", "type": "Create", "actor": mallory.IRI,
			"to": []string{"https://www.w3.org/ns/activitystreams#Public"},
			"object": map[string]any{"id": id, "type": "Note", "attributedTo": mallory.IRI, "context": agreement,
				"inReplyTo": prop.IRI, "content": "<p>terrible</p>", "rating": 1, "reviewText": "terrible",
				"to": []string{"https://www.w3.org/ns/activitystreams#Public"}},
		}
	}
	// Mallory is known to A before the snapshots.
	mallory.Post(a.URL+"/coops/mill/inbox", map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
		"id": mallory.ID("follow"), "type": "Follow", "actor": mallory.IRI, "object": a.ActorIRI()})
	refused("a review by a stranger", http.StatusForbidden, "only a party to the trade can review it", func() (int, string) {
		return mallory.Post(a.URL+"/coops/mill/inbox", strangerReview())
	})
	if tr := trackRecord(t, a, "mill"); tr.Reviews != 1 {
		t.Fatalf("A's record after the stranger: %+v", tr)
	}
	// The coop page shows the track record.
	req, _ := http.NewRequest(http.MethodGet, a.URL+"/coops/mill", nil)
	if st, body := fedtest.Do(t, req); st != http.StatusOK || !strings.Contains(body, "1 trades fulfilled") ||
		!strings.Contains(body, "★★★★☆") || !strings.Contains(body, "The road was closed; sorry.") || !strings.Contains(body, `data-rating="4 stars" data-count="1"`) {
		t.Fatalf("coop page: %d\n%s", st, body)
	}
}
