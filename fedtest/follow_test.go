package fedtest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/fedtest"
)

// Follow-state journeys over real HTTP: a remote (Mastodon-like) actor or
// another instance's coop follows, is approved or rejected, undoes, and the
// followers collection tells the world only about accepted followers.

// followOf returns a fresh Follow by a of object.
func followOf(a *fedtest.Actor, object string) map[string]any {
	return map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       a.ID("follows"),
		"type":     "Follow",
		"actor":    a.IRI,
		"object":   object,
	}
}

// postOK sends a signed activity and fails unless the inbox answers 202.
func postOK(t *testing.T, a *fedtest.Actor, inbox string, activity map[string]any) {
	t.Helper()
	if st, body := a.Post(inbox, activity); st != http.StatusAccepted {
		t.Fatalf("POST %s %s: %d %s", activity["type"], inbox, st, body)
	}
}

// followEntry is one row of the API's followers or following list.
type followEntry struct {
	Actor string `json:"actor"`
	State string `json:"state"`
}

// apiFollowList lists a coop's followers or following through the admin
// API, optionally filtered by state ("" for all).
func apiFollowList(t *testing.T, inst *fedtest.Instance, token, coop, which, state string) []followEntry {
	t.Helper()
	path := "/api/v1/coops/" + coop + "/" + which
	if state != "" {
		path += "?state=" + state
	}
	var out struct{ Items []followEntry }
	if st := inst.APIWithToken(t, token, http.MethodGet, path, nil, &out); st != http.StatusOK {
		t.Fatalf("GET %s: %d", path, st)
	}
	return out.Items
}

// collectionDoc is what we read of a collection or one of its pages.
type collectionDoc struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	TotalItems   int    `json:"totalItems"`
	First        string `json:"first"`
	Next         string `json:"next"`
	Prev         string `json:"prev"`
	PartOf       string `json:"partOf"`
	OrderedItems []any  `json:"orderedItems"`
}

func getCollection(t *testing.T, u string) collectionDoc {
	t.Helper()
	var c collectionDoc
	if st := fedtest.GetJSON(t, u, &c); st != http.StatusOK {
		t.Fatalf("GET %s: %d", u, st)
	}
	return c
}

// checkAnswer checks an Accept or Reject received by the remote: signed by
// the coop's key, sent to the follower's own inbox, embedding the Follow.
func checkAnswer(t *testing.T, got fedtest.Received, coopIRI string, follow map[string]any) {
	t.Helper()
	if got.SignatureErr != nil {
		t.Errorf("%s signature: %v", got.Type(), got.SignatureErr)
	}
	if got.KeyID != coopIRI+"#main-key" {
		t.Errorf("%s signed with %s, want the coop's key", got.Type(), got.KeyID)
	}
	if got.Activity["actor"] != coopIRI {
		t.Errorf("%s actor = %v", got.Type(), got.Activity["actor"])
	}
	obj, ok := got.Activity["object"].(map[string]any)
	if !ok || obj["type"] != "Follow" || obj["id"] != follow["id"] || obj["actor"] != follow["actor"] || obj["object"] != coopIRI {
		t.Errorf("%s does not embed the Follow %v: %v", got.Type(), follow["id"], got.Activity["object"])
	}
}

// A locked coop keeps a Follow pending: the API lists it as pending, the
// public collection does not count it and no answer is sent. The admin's
// approval sends a signed Accept embedding the Follow; the follower then
// counts. A later Follow from the accepted follower is answered at once.
func TestLockedCoopApprovesFollowRequest(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery", Locked: true})
	remote := fedtest.NewRemote(t)
	alice := remote.AddActor("alice", 1)
	coop := inst.ActorIRI()
	followers := inst.IRIs().CoopFollowers("bakery")

	follow := followOf(alice, coop)
	postOK(t, alice, inst.URL+"/coops/bakery/inbox", follow)

	pending := apiFollowList(t, inst, inst.Token, "bakery", "followers", coopfed.FollowPending)
	if len(pending) != 1 || pending[0].Actor != alice.IRI {
		t.Fatalf("pending followers = %+v, want alice", pending)
	}
	if acc := apiFollowList(t, inst, inst.Token, "bakery", "followers", coopfed.FollowAccepted); len(acc) != 0 {
		t.Fatalf("accepted followers before approval: %+v", acc)
	}
	if c := getCollection(t, followers); c.TotalItems != 0 {
		t.Fatalf("followers totalItems = %d before approval, want 0", c.TotalItems)
	}
	// Nothing was queued for alice: the request waits for a person.
	if n := inst.Counts(t)["activities"]; n != 0 {
		t.Fatalf("%d activities stored for a pending request, want none", n)
	}

	var answer struct{ Actor, State string }
	if st := inst.API(t, http.MethodPost, "/api/v1/coops/bakery/followers/approve", map[string]string{"actor": alice.IRI}, &answer); st != http.StatusOK || answer.State != coopfed.FollowAccepted {
		t.Fatalf("approve: %d %+v", st, answer)
	}
	accept := remote.WaitFor("Accept", 1)[0]
	checkAnswer(t, accept, coop, follow)
	if accept.Path != "/users/alice/inbox" {
		t.Errorf("Accept went to %s, want alice's own inbox", accept.Path)
	}
	if c := getCollection(t, followers); c.TotalItems != 1 {
		t.Errorf("followers totalItems = %d after approval, want 1", c.TotalItems)
	}
	if page := getCollection(t, followers+"?page=1"); !slices.Equal(page.OrderedItems, []any{alice.IRI}) {
		t.Errorf("followers page = %v, want [alice]", page.OrderedItems)
	}
	if p := apiFollowList(t, inst, inst.Token, "bakery", "followers", coopfed.FollowPending); len(p) != 0 {
		t.Errorf("still pending after approval: %+v", p)
	}
	// Approving twice is a conflict, not a second Accept.
	if st := inst.API(t, http.MethodPost, "/api/v1/coops/bakery/followers/approve", map[string]string{"actor": alice.IRI}, nil); st != http.StatusConflict {
		t.Errorf("second approval: %d, want 409", st)
	}

	// Mastodon re-sends a Follow (new id) when it thinks the relation
	// is lost; an accepted follower is answered again, not made pending.
	again := followOf(alice, coop)
	postOK(t, alice, inst.URL+"/inbox", again)
	accepts := remote.WaitFor("Accept", 2)
	checkAnswer(t, accepts[1], coop, again)
	if acc := apiFollowList(t, inst, inst.Token, "bakery", "followers", coopfed.FollowAccepted); len(acc) != 1 {
		t.Errorf("accepted followers after a repeated Follow: %+v", acc)
	}
	if c := getCollection(t, followers); c.TotalItems != 1 {
		t.Errorf("followers totalItems = %d after a repeated Follow, want 1", c.TotalItems)
	}
}

// Rejecting a follow request sends a signed Reject embedding the Follow
// and forgets the request.
func TestLockedCoopRejectsFollowRequest(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery", Locked: true})
	remote := fedtest.NewRemote(t)
	bob := remote.AddActor("bob", 2)
	follow := followOf(bob, inst.ActorIRI())
	postOK(t, bob, inst.URL+"/coops/bakery/inbox", follow)
	if p := apiFollowList(t, inst, inst.Token, "bakery", "followers", coopfed.FollowPending); len(p) != 1 {
		t.Fatalf("pending = %+v", p)
	}

	var answer struct{ Actor, State string }
	if st := inst.API(t, http.MethodPost, "/api/v1/coops/bakery/followers/reject", map[string]string{"actor": bob.IRI}, &answer); st != http.StatusOK || answer.State != "rejected" {
		t.Fatalf("reject: %d %+v", st, answer)
	}
	checkAnswer(t, remote.WaitFor("Reject", 1)[0], inst.ActorIRI(), follow)
	if all := apiFollowList(t, inst, inst.Token, "bakery", "followers", ""); len(all) != 0 {
		t.Errorf("followers after reject: %+v", all)
	}
	if c := getCollection(t, inst.IRIs().CoopFollowers("bakery")); c.TotalItems != 0 {
		t.Errorf("followers totalItems = %d after reject", c.TotalItems)
	}
	if got := remote.ReceivedOfType("Accept"); len(got) != 0 {
		t.Errorf("an Accept was sent for a rejected request: %v", got[0].Activity)
	}
}

// Undo(Follow) removes the follower, whether the Follow is embedded (as
// Mastodon and GoToSocial send it) or only named by its id.
func TestUndoFollowRemovesFollower(t *testing.T) {
	for _, tc := range []struct {
		name     string
		embedded bool
	}{{"embedded Follow", true}, {"Follow IRI", false}} {
		t.Run(tc.name, func(t *testing.T) {
			inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
			remote := fedtest.NewRemote(t)
			alice := remote.AddActor("alice", 1)
			follow := followOf(alice, inst.ActorIRI())
			postOK(t, alice, inst.URL+"/inbox", follow)
			checkAnswer(t, remote.WaitFor("Accept", 1)[0], inst.ActorIRI(), follow)
			if c := getCollection(t, inst.IRIs().CoopFollowers("bakery")); c.TotalItems != 1 {
				t.Fatalf("totalItems = %d after an auto-accepted Follow", c.TotalItems)
			}

			var object any = follow["id"]
			if tc.embedded {
				embedded := maps(follow)
				delete(embedded, "@context")
				object = embedded
			}
			postOK(t, alice, inst.URL+"/inbox", map[string]any{
				"@context": "https://www.w3.org/ns/activitystreams",
				"id":       alice.ID("undo"),
				"type":     "Undo",
				"actor":    alice.IRI,
				"object":   object,
			})
			if all := apiFollowList(t, inst, inst.Token, "bakery", "followers", ""); len(all) != 0 {
				t.Errorf("followers after Undo: %+v", all)
			}
			if c := getCollection(t, inst.IRIs().CoopFollowers("bakery")); c.TotalItems != 0 {
				t.Errorf("totalItems = %d after Undo", c.TotalItems)
			}
		})
	}
}

func maps(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// A coop follows a locked coop on another instance, whose admin rejects
// the request: the Reject removes the pending following on our side.
func TestCoopFollowRejectedByOtherCoop(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "alpha"})
	b := fedtest.Start(t, fedtest.Options{Coop: "beta", Locked: true})

	if st := a.API(t, http.MethodPost, "/api/v1/coops/alpha/following", map[string]string{"handle": b.Handle()}, nil); st != http.StatusAccepted {
		t.Fatalf("follow: %d", st)
	}
	if f := apiFollowList(t, a, a.Token, "alpha", "following", ""); len(f) != 1 || f[0].Actor != b.ActorIRI() || f[0].State != coopfed.FollowPending {
		t.Fatalf("alpha's following = %+v, want beta pending", f)
	}
	fedtest.Eventually(t, 10*time.Second, "beta receives alpha's request", func() bool {
		p := apiFollowList(t, b, b.Token, "beta", "followers", coopfed.FollowPending)
		return len(p) == 1 && p[0].Actor == a.ActorIRI()
	})
	if st := b.API(t, http.MethodPost, "/api/v1/coops/beta/followers/reject", map[string]string{"actor": a.ActorIRI()}, nil); st != http.StatusOK {
		t.Fatalf("reject: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "alpha drops its pending follow", func() bool {
		return len(apiFollowList(t, a, a.Token, "alpha", "following", "")) == 0
	})
	if c := getCollection(t, a.IRIs().CoopFollowing("alpha")); c.TotalItems != 0 {
		t.Errorf("alpha's following totalItems = %d", c.TotalItems)
	}
}

// The followed actor takes back its Accept with Undo(Accept): our coop no
// longer follows it.
func TestUndoAcceptDropsFollowing(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	remote := fedtest.NewRemote(t)
	alice := remote.AddActor("alice", 1)

	if st := inst.API(t, http.MethodPost, "/api/v1/coops/bakery/following", map[string]string{"actor": alice.IRI}, nil); st != http.StatusAccepted {
		t.Fatalf("follow: %d", st)
	}
	follow := remote.WaitFor("Follow", 1)[0]
	if follow.SignatureErr != nil || follow.Activity["object"] != alice.IRI || follow.Activity["actor"] != inst.ActorIRI() {
		t.Fatalf("Follow received: %v (signature: %v)", follow.Activity, follow.SignatureErr)
	}
	followID, _ := follow.Activity["id"].(string)

	accept := map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       alice.ID("accepts"),
		"type":     "Accept",
		"actor":    alice.IRI,
		"object":   map[string]any{"id": followID, "type": "Follow", "actor": inst.ActorIRI(), "object": alice.IRI},
	}
	postOK(t, alice, inst.URL+"/inbox", accept)
	if f := apiFollowList(t, inst, inst.Token, "bakery", "following", coopfed.FollowAccepted); len(f) != 1 || f[0].Actor != alice.IRI {
		t.Fatalf("following after Accept = %+v", f)
	}

	undoAccept := maps(accept)
	delete(undoAccept, "@context")
	postOK(t, alice, inst.URL+"/inbox", map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       alice.ID("undo"),
		"type":     "Undo",
		"actor":    alice.IRI,
		"object":   undoAccept,
	})
	if f := apiFollowList(t, inst, inst.Token, "bakery", "following", ""); len(f) != 0 {
		t.Errorf("following after Undo(Accept) = %+v", f)
	}
}

// The followers collection pages by 40, newest first: 45 followers make a
// full first page with a next link and a second page of 5 with prev.
func TestFollowersCollectionPaging(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	remote := fedtest.NewRemote(t)
	const n = 45
	var iris []string
	for i := range n {
		// Three fixed keys shared by many actors: each actor has its own
		// keyId, which is what the instance caches.
		a := remote.AddActor(fmt.Sprintf("member%02d", i), 1+i%3)
		postOK(t, a, inst.URL+"/inbox", followOf(a, inst.ActorIRI()))
		iris = append(iris, a.IRI)
	}
	id := inst.IRIs().CoopFollowers("bakery")
	c := getCollection(t, id)
	if c.Type != "OrderedCollection" || c.TotalItems != n || c.First != id+"?page=1" {
		t.Fatalf("collection = %+v", c)
	}
	p1 := getCollection(t, c.First)
	if len(p1.OrderedItems) != 40 || p1.Next != id+"?page=2" || p1.Prev != "" || p1.PartOf != id || p1.TotalItems != n {
		t.Fatalf("page 1: %d items, next %q, prev %q, partOf %q", len(p1.OrderedItems), p1.Next, p1.Prev, p1.PartOf)
	}
	p2 := getCollection(t, p1.Next)
	if len(p2.OrderedItems) != 5 || p2.Prev != id+"?page=1" || p2.Next != "" {
		t.Fatalf("page 2: %d items, next %q, prev %q", len(p2.OrderedItems), p2.Next, p2.Prev)
	}
	var seen []string
	for _, it := range append(p1.OrderedItems, p2.OrderedItems...) {
		s, _ := it.(string)
		seen = append(seen, s)
	}
	slices.Sort(seen)
	if !slices.Equal(seen, iris) { // member00..member44 sort like they were made
		t.Errorf("pages hold %v, want every follower once", seen)
	}
	// The newest follower comes first, as on Mastodon.
	if p1.OrderedItems[0] != iris[n-1] {
		t.Errorf("first item %v, want the newest follower %s", p1.OrderedItems[0], iris[n-1])
	}
	if p3 := getCollection(t, id+"?page=3"); len(p3.OrderedItems) != 0 || p3.Next != "" {
		t.Errorf("page 3: %+v, want an empty page", p3)
	}
	if st := fedtest.GetJSON(t, id+"?page="+url.QueryEscape("-1"), nil); st != http.StatusBadRequest {
		t.Errorf("page -1: %d, want 400", st)
	}
}
