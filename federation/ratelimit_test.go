package federation_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/coopfed/coopfed/fedtest"
)

// Requests whose signature does not verify spend nothing of the host's
// rate limit: a forger naming a peer's keyId cannot get the peer's real
// deliveries refused with 429.
func TestForgedSignaturesDoNotSpendTheHostsBudget(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery", InboxRate: 1, InboxBurst: 3})
	remote := fedtest.NewRemote(t)
	victim := remote.AddActor("victim", 1)
	forger := remote.AddActor("forger", 2)
	note := func(a *fedtest.Actor) map[string]any {
		return map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams", "id": a.ID("activities"), "type": "Create", "actor": a.IRI,
			"object": map[string]any{"id": a.ID("statuses"), "type": "Note", "attributedTo": a.IRI, "content": "<p>hi</p>",
				"to": []string{"https://www.w3.org/ns/activitystreams#Public"}},
		}
	}
	// Warm the victim's key, then forge ten requests with its keyId but
	// the forger's key.
	if st, body := victim.Post(inst.URL+"/inbox", note(victim)); st != http.StatusAccepted {
		t.Fatalf("first post: %d %s", st, body)
	}
	for range 10 {
		body, _ := json.Marshal(note(victim))
		req := forger.NewSignedPost(inst.URL+"/inbox", body, fedtest.Signature{KeyID: victim.KeyID})
		if st, _ := fedtest.Do(t, req); st != http.StatusUnauthorized {
			t.Fatalf("forged post: %d, want 401", st)
		}
	}
	if st, body := victim.Post(inst.URL+"/inbox", note(victim)); st != http.StatusAccepted {
		t.Fatalf("the victim's real post after the forgeries: %d %s", st, body)
	}
	// Real posts still spend the budget: the burst of 3 is used up.
	victim.Post(inst.URL+"/inbox", note(victim))
	if st, _ := victim.Post(inst.URL+"/inbox", note(victim)); st != http.StatusTooManyRequests {
		t.Fatalf("fourth real post in a burst of 3: %d, want 429", st)
	}
}

// A busy peer whose verified activities are all accepted earns good
// standing and is no longer throttled for volume, far past its burst; one
// refused activity ends the standing, and the host is held to its bucket
// again until it earns it back.
func TestBusyPeerInGoodStandingIsNotThrottled(t *testing.T) {
	const burst = 150 // more than goodAfter (100), so the standing can be earned
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery", InboxRate: 1, InboxBurst: burst})
	remote := fedtest.NewRemote(t)
	busy := remote.AddActor("busy", 1)
	note := func() map[string]any {
		return map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams", "id": busy.ID("activities"), "type": "Create", "actor": busy.IRI,
			"object": map[string]any{"id": busy.ID("statuses"), "type": "Note", "attributedTo": busy.IRI, "content": "<p>hi</p>",
				"to": []string{"https://www.w3.org/ns/activitystreams#Public"}},
		}
	}
	// Three bursts' worth, one after the other: none is refused.
	for i := range 3 * burst {
		if st, body := busy.Post(inst.URL+"/inbox", note()); st != http.StatusAccepted {
			t.Fatalf("post %d of a peer in good standing: %d %s", i, st, body)
		}
	}
	// An activity refused after its signature verified (its id is on
	// another host) ends the standing.
	bad := note()
	bad["id"] = "http://elsewhere.example/activities/1"
	if st, body := busy.Post(inst.URL+"/inbox", bad); st != http.StatusForbidden || !strings.Contains(body, "not on the actor's host") {
		t.Fatalf("refused activity: %d %s, want 403", st, body)
	}
	// The first 100 spent tokens before the standing was earned and the
	// refusal spent one: about 49 are left (plus one a second of the
	// test's run), then 429.
	limited := -1
	for i := range burst {
		st, body := busy.Post(inst.URL+"/inbox", note())
		if st == http.StatusTooManyRequests {
			if !strings.Contains(body, "too many requests from") {
				t.Fatalf("429 message: %s", body)
			}
			limited = i
			break
		}
		if st != http.StatusAccepted {
			t.Fatalf("post %d after the refusal: %d %s", i, st, body)
		}
	}
	if limited < 40 || limited > 90 {
		t.Fatalf("after losing its standing the host was limited after %d posts, want about 49", limited)
	}
}
