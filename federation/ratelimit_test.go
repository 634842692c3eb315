package federation_test

import (
	"encoding/json"
	"net/http"
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
