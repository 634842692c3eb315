package fedtest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/fedtest"
)

// listingDoc is a listing Note as a remote coop serves it, for the
// remote's SetDoc.
func listingDoc(id, actor, title string, updated string) []byte {
	doc := map[string]any{
		"@context": []any{federation.ContextActivityStreams, map[string]any{"vf": federation.NamespaceValueflows, "om2": federation.NamespaceOM2,
			"purpose": "vf:purpose", "publishes": "vf:publishes", "resourceQuantity": "vf:resourceQuantity", "hasUnit": "om2:hasUnit", "hasNumericalValue": "om2:hasNumericalValue"}},
		"id": id, "type": "Note", "attributedTo": actor, "name": title, "content": "<p>" + title + "</p>",
		"purpose":   "offer",
		"publishes": map[string]any{"type": "Intent", "id": id + "#primary", "action": "transfer", "resourceQuantity": map[string]any{"hasUnit": "kilogram", "hasNumericalValue": "5"}},
		"to":        []string{federation.PublicIRI}, "published": "2026-01-01T00:00:00Z",
	}
	if updated != "" {
		doc["updated"] = updated
	}
	b, _ := json.Marshal(doc)
	return b
}

// A group serves as a relay for Mastodon: a server subscribes with its
// instance actor's Follow of the Public collection at the group's inbox,
// is accepted, and receives the group's Announces, signed by the group;
// what an account of that server sends the group is relayed to members.
func TestGroupAsMastodonRelay(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "hub"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	group := createGroup(t, a, "market", nil)
	join(t, b, "market@"+strings.TrimPrefix(a.URL, "http://"), group)

	mastodon := fedtest.NewRemote(t)
	instance := mastodon.AddActorAt("/actor", "mastodon.example", 2, "Application")
	follow := instance.ID("follows")
	if st, body := instance.Post(a.URL+"/groups/market/inbox", map[string]any{
		"@context": federation.ContextActivityStreams, "id": follow, "type": "Follow", "actor": instance.IRI, "object": federation.PublicIRI,
	}); st != http.StatusAccepted {
		t.Fatalf("relay subscription: %d %s", st, body)
	}
	accept := mastodon.WaitFor("Accept", 1)[0]
	if accept.SignatureErr != nil {
		t.Fatal(accept.SignatureErr)
	}
	embedded := accept.Activity["object"].(map[string]any)
	if accept.Activity["actor"] != group || embedded["id"] != follow || embedded["object"] != federation.PublicIRI {
		t.Fatalf("Accept = %v", accept.Activity)
	}

	apples := postListing(t, b, offerOf("apples", 100))
	ann := mastodon.WaitFor("Announce", 1)[0]
	if ann.SignatureErr != nil || ann.Activity["actor"] != group || !strings.HasSuffix(ann.KeyID, "/groups/market#main-key") {
		t.Fatalf("Announce: %v, key %s, err %v", ann.Activity, ann.KeyID, ann.SignatureErr)
	}
	create := ann.Activity["object"].(map[string]any)
	if create["type"] != "Create" || create["actor"] != b.ActorIRI() || create["object"].(map[string]any)["id"] != apples {
		t.Fatalf("announced %v", create)
	}

	// An account of the subscribed server posts a listing to the group:
	// it reaches the group's members.
	alice := mastodon.AddActor("alice", 1)
	noteID := mastodon.URL + "/users/alice/statuses/1"
	mastodon.SetDoc("/users/alice/statuses/1", listingDoc(noteID, alice.IRI, "spare jars", ""))
	var note map[string]any
	json.Unmarshal(listingDoc(noteID, alice.IRI, "spare jars", ""), &note)
	delete(note, "@context")
	note["cc"] = []string{group}
	if st, body := alice.Post(a.URL+"/inbox", map[string]any{
		"@context": federation.ContextActivityStreams, "id": alice.ID("statuses"), "type": "Create", "actor": alice.IRI,
		"to": []string{federation.PublicIRI}, "cc": []string{group}, "object": note,
	}); st != http.StatusAccepted {
		t.Fatalf("Create: %d %s", st, body)
	}
	fedtest.Eventually(t, 10*time.Second, "alice's listing at B", func() bool { return findVia(marketWithVia(t, b, "q=jars"), noteID) != nil })
}

// LitePub relays both ways: a coop joins a relay by its actor URL and what
// the relay announces (an object by its IRI) enters the market, fetched
// from its origin; a LitePub relay that subscribes to a group is followed
// back.
func TestLitePubRelay(t *testing.T) {
	c := fedtest.Start(t, fedtest.Options{Coop: "farm"})
	remote := fedtest.NewRemote(t)
	relay := remote.AddActorAt("/relay", "relay", 3, "Application")
	origin := remote.AddActor("mill", 1)
	origin.Type = "Organization"

	if st := c.API(t, http.MethodPost, "/api/v1/coops/farm/memberships", map[string]string{"group": relay.IRI}, nil); st != http.StatusAccepted {
		t.Fatalf("join relay: %d", st)
	}
	follow := remote.WaitFor("Follow", 1)[0]
	if follow.Activity["object"] != relay.IRI {
		t.Fatalf("Follow = %v", follow.Activity)
	}
	if st, body := relay.Post(c.URL+"/inbox", map[string]any{
		"@context": federation.ContextActivityStreams, "id": relay.ID("accepts"), "type": "Accept", "actor": relay.IRI, "object": follow.Activity["id"],
	}); st != http.StatusAccepted {
		t.Fatalf("Accept: %d %s", st, body)
	}
	waitMember(t, c, relay.IRI)

	oats := remote.URL + "/listings/oats"
	remote.SetDoc("/listings/oats", listingDoc(oats, origin.IRI, "rolled oats", ""))
	if st, body := relay.Post(c.URL+"/inbox", map[string]any{
		"@context": federation.ContextActivityStreams, "id": relay.ID("announces"), "type": "Announce", "actor": relay.IRI,
		"to": []string{relay.IRI + "/followers"}, "object": oats,
	}); st != http.StatusAccepted {
		t.Fatalf("Announce: %d %s", st, body)
	}
	it := findVia(marketWithVia(t, c, "q=oats"), oats)
	if it == nil || len(it.Via) != 1 || it.Via[0].ID != relay.IRI {
		t.Fatalf("oats in the market: %+v", it)
	}

	t.Run("a LitePub relay subscribing to a group is followed back", func(t *testing.T) {
		group := createGroup(t, c, "coast", nil)
		if st, body := relay.Post(c.URL+"/groups/coast/inbox", map[string]any{
			"@context": federation.ContextActivityStreams, "id": relay.ID("follows"), "type": "Follow", "actor": relay.IRI, "object": group,
		}); st != http.StatusAccepted {
			t.Fatalf("relay follows group: %d %s", st, body)
		}
		fedtest.Eventually(t, 10*time.Second, "follow-back", func() bool {
			for _, f := range remote.ReceivedOfType("Follow") {
				if f.Activity["actor"] == group && f.Activity["object"] == relay.IRI && f.SignatureErr == nil {
					return true
				}
			}
			return false
		})
	})
}
