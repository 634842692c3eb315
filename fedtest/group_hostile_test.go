package fedtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/fedtest"
	"github.com/coopfed/coopfed/store"
)

// groupFixture is an instance whose coop joined a remote market group,
// with the group's members and listings served by the remote.
type groupFixture struct {
	inst                  *fedtest.Instance
	remote                *fedtest.Remote
	group, evil, other    *fedtest.Actor
	bakery, mallory, mill *fedtest.Actor
}

func newGroupFixture(t *testing.T, opt fedtest.Options) *groupFixture {
	t.Helper()
	fx := &groupFixture{inst: fedtest.Start(t, opt), remote: fedtest.NewRemote(t)}
	r := fx.remote
	// The group that floods signs with the small key: the flood test
	// signs ten thousand requests.
	fx.group = r.AddActorAt("/groups/market", "market", 4, "Group")
	fx.other = r.AddActorAt("/groups/other", "other", 2, "Group")
	fx.evil = r.AddActorAt("/groups/evil", "evil", 3, "Group")
	fx.bakery, fx.mallory, fx.mill = r.AddActor("bakery", 1), r.AddActor("mallory", 2), r.AddActor("mill", 3)
	for _, g := range []*fedtest.Actor{fx.group, fx.other} {
		fx.joinRemote(t, g)
	}
	// Every actor's key is fetched once here, so that later requests
	// change no table by being the first of their sender.
	for _, a := range []*fedtest.Actor{fx.evil, fx.bakery, fx.mallory, fx.mill} {
		like := map[string]any{"@context": federation.ContextActivityStreams, "id": a.ID("likes"), "type": "Like", "actor": a.IRI, "object": fx.inst.ActorIRI()}
		if st, body := a.Post(fx.inst.URL+"/inbox", like); st != http.StatusAccepted && st != http.StatusForbidden {
			t.Fatalf("%s: %d %s", a.Name, st, body)
		}
	}
	return fx
}

// joinRemote makes the instance's coop join a remote group, answering its
// Follow with the group's Accept.
func (fx *groupFixture) joinRemote(t *testing.T, g *fedtest.Actor) {
	t.Helper()
	inst := fx.inst
	if st := inst.API(t, http.MethodPost, "/api/v1/coops/"+inst.Coop.Name+"/memberships", map[string]string{"group": g.IRI}, nil); st != http.StatusAccepted {
		t.Fatalf("join %s: %d", g.IRI, st)
	}
	var follow string
	fedtest.Eventually(t, 10*time.Second, "Follow of "+g.Name, func() bool {
		for _, f := range fx.remote.ReceivedOfType("Follow") {
			if f.Activity["object"] == g.IRI {
				follow, _ = f.Activity["id"].(string)
			}
		}
		return follow != ""
	})
	if st, body := g.Post(inst.URL+"/inbox", map[string]any{"@context": federation.ContextActivityStreams, "id": g.ID("accepts"), "type": "Accept", "actor": g.IRI, "object": follow}); st != http.StatusAccepted {
		t.Fatalf("Accept: %d %s", st, body)
	}
	waitMember(t, inst, g.IRI)
}

// serve makes the remote serve a listing of author at path and returns
// its IRI.
func (fx *groupFixture) serve(author *fedtest.Actor, path, title string) string {
	iri := fx.remote.URL + path
	fx.remote.SetDoc(path, listingDoc(iri, author.IRI, title, ""))
	return iri
}

// announce is a group's Announce of author's Create of a listing, as
// FEP-1b12 wraps it; the embedded listing may say anything.
func announce(group, author *fedtest.Actor, listing, title string) map[string]any {
	return map[string]any{
		"@context": federation.ContextActivityStreams, "id": group.ID("announces"), "type": "Announce", "actor": group.IRI,
		"to": []string{federation.PublicIRI}, "cc": []string{group.IRI + "/followers"},
		"object": map[string]any{
			"id": author.ID("creates"), "type": "Create", "actor": author.IRI, "audience": group.IRI,
			"object": map[string]any{"id": listing, "type": "Note", "attributedTo": author.IRI, "name": title, "purpose": "offer", "audience": group.IRI,
				"publishes": map[string]any{"type": "Intent", "resourceQuantity": map[string]any{"hasUnit": "one", "hasNumericalValue": "1"}}},
		},
	}
}

// What groups may not do to a member's market: each request is answered
// and leaves every table as it was.
func TestGroupHostileInput(t *testing.T) {
	fx := newGroupFixture(t, fedtest.Options{Coop: "farm"})
	inst := fx.inst
	if err := inst.Store.Update(context.Background(), func(tx *store.Tx) error { return tx.BlockActor(fx.mallory.IRI, "spam") }); err != nil {
		t.Fatal(err)
	}
	good := fx.serve(fx.bakery, "/listings/potatoes", "potatoes")
	// One genuine listing first, so every actor involved is known.
	if st, body := fx.group.Post(inst.URL+"/inbox", announce(fx.group, fx.bakery, good, "potatoes")); st != http.StatusAccepted {
		t.Fatalf("genuine Announce: %d %s", st, body)
	}
	if findVia(marketWithVia(t, inst, "q=potatoes"), good) == nil {
		t.Fatal("the genuine listing is not in the market")
	}
	fedtest.Eventually(t, 10*time.Second, "deliveries settle", func() bool { return inst.PendingDeliveries(t) == 0 })

	unchanged := func(name string, a *fedtest.Actor, doc map[string]any, want int) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			before := inst.Snapshot(t)
			st, body := a.Post(inst.URL+"/inbox", doc)
			if st != want {
				t.Fatalf("status %d, want %d (%s)", st, want, body)
			}
			if changed := changedTables(before, inst.Snapshot(t)); len(changed) > 0 {
				t.Fatalf("tables changed: %v", changed)
			}
		})
	}
	unchanged("Announce by a group the coop did not join", fx.evil, announce(fx.evil, fx.bakery, fx.serve(fx.bakery, "/listings/beans", "beans"), "beans"), http.StatusAccepted)
	unchanged("Announce of a blocked coop's listing", fx.group, announce(fx.group, fx.mallory, fx.serve(fx.mallory, "/listings/junk", "junk"), "junk"), http.StatusAccepted)
	// The Create names the bakery, but the origin says mallory wrote it.
	unchanged("Announce of a listing whose origin names a blocked author", fx.group, announce(fx.group, fx.bakery, fx.serve(fx.mallory, "/listings/disguised", "disguised"), "disguised"), http.StatusAccepted)
	unchanged("Announce of a listing its origin does not serve", fx.group, announce(fx.group, fx.bakery, fx.remote.URL+"/listings/none", "none"), http.StatusAccepted)
	unchanged("Announce of one of our own listings", fx.group, announce(fx.group, fx.bakery, inst.URL+"/listings/ours", "ours"), http.StatusAccepted)
	unchanged("Announce of a Like", fx.group, map[string]any{"@context": federation.ContextActivityStreams, "id": fx.group.ID("announces"), "type": "Announce",
		"actor": fx.group.IRI, "object": map[string]any{"id": fx.bakery.ID("likes"), "type": "Like", "actor": fx.bakery.IRI, "object": good}}, http.StatusAccepted)
	unchanged("Delete announced while the origin still serves the listing", fx.group, map[string]any{"@context": federation.ContextActivityStreams,
		"id": fx.group.ID("announces"), "type": "Announce", "actor": fx.group.IRI,
		"object": map[string]any{"id": fx.bakery.ID("deletes"), "type": "Delete", "actor": fx.bakery.IRI, "object": good}}, http.StatusAccepted)
	unchanged("Remove by a group the coop did not join", fx.evil, map[string]any{"@context": federation.ContextActivityStreams, "id": fx.evil.ID("removes"),
		"type": "Remove", "actor": fx.evil.IRI, "object": good, "target": fx.evil.IRI}, http.StatusAccepted)
	unchanged("Remove of a listing from another group's target", fx.other, map[string]any{"@context": federation.ContextActivityStreams, "id": fx.other.ID("removes"),
		"type": "Remove", "actor": fx.other.IRI, "object": good, "target": fx.group.IRI}, http.StatusAccepted)
	flag := func(a *fedtest.Actor, objects ...string) map[string]any {
		return map[string]any{"@context": federation.ContextActivityStreams, "id": a.ID("flags"), "type": "Flag", "actor": a.IRI, "object": objects, "content": "spam"}
	}
	t.Run("forged Flag", func(t *testing.T) {
		before := inst.Snapshot(t)
		body, _ := json.Marshal(flag(fx.bakery, inst.ActorIRI()))
		st, resp := fedtest.Do(t, fx.bakery.NewSignedPost(inst.URL+"/inbox", body, fedtest.Signature{Key: fx.mallory.Key}))
		if st != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401 (%s)", st, resp)
		}
		if changed := changedTables(before, inst.Snapshot(t)); len(changed) > 0 {
			t.Fatalf("tables changed: %v", changed)
		}
	})
	f := flag(fx.bakery, inst.ActorIRI())
	unchanged("Flag in another actor's name", fx.mill, f, http.StatusUnauthorized)
	unchanged("Flag about nothing of ours", fx.bakery, flag(fx.bakery, fx.mallory.IRI, good), http.StatusAccepted)
	unchanged("Flag of too many objects", fx.bakery, flag(fx.bakery, inst.ActorIRI(), "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20"), http.StatusBadRequest)

	t.Run("Announce whose embedded listing lies: the origin's copy is kept", func(t *testing.T) {
		iri := fx.serve(fx.bakery, "/listings/carrots", "carrots")
		if st, body := fx.group.Post(inst.URL+"/inbox", announce(fx.group, fx.bakery, iri, "free gold")); st != http.StatusAccepted {
			t.Fatalf("Announce: %d %s", st, body)
		}
		l, err := inst.Store.ListingByIRI(context.Background(), iri)
		if err != nil || l.Title != "carrots" || l.ActorIRI != fx.bakery.IRI {
			t.Fatalf("stored %+v (%v), want the origin's carrots", l, err)
		}
	})
}

// A flood of Announces from one group is limited (429, nothing stored for
// the refused ones), while what another group relays meanwhile is kept,
// and a refused Announce sent again later is accepted: the sender's retries
// lose nothing.
func TestGroupAnnounceFlood(t *testing.T) {
	// No per-host limit: this is the limit on Announces that cost origin
	// fetches, per announcer, which holds whatever the host's standing
	// (a verified host in good standing is not limited per host; the
	// flood's refused Announces would end that standing, see
	// TestBusyPeerInGoodStandingIsNotThrottled). Both groups live on one
	// test host, and the other group's Announce must still get through.
	fx := newGroupFixture(t, fedtest.Options{Coop: "farm", InboxRate: -1})
	inst := fx.inst
	const flood = 10000
	docs := make([]map[string]any, flood)
	for i := range docs {
		docs[i] = announce(fx.group, fx.bakery, fx.serve(fx.bakery, fmt.Sprintf("/listings/flood-%d", i), "flood"), "flood")
	}
	var accepted, limited, other atomic.Int64
	var wg sync.WaitGroup
	next := atomic.Int64{}
	start := time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= flood {
					return
				}
				req, _ := fx.group.NewPost(inst.URL+"/inbox", docs[i])
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					other.Add(1)
					continue
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusAccepted:
					accepted.Add(1)
				case http.StatusTooManyRequests:
					limited.Add(1)
				default:
					other.Add(1)
				}
			}
		}()
	}
	// A member of the other group posts meanwhile.
	legit := fx.serve(fx.mill, "/listings/honey", "honey")
	if st, body := fx.other.Post(inst.URL+"/inbox", announce(fx.other, fx.mill, legit, "honey")); st != http.StatusAccepted {
		t.Fatalf("the other group's Announce during the flood: %d %s", st, body)
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d Announces in %s: %d accepted, %d limited, %d other", flood, elapsed.Round(time.Millisecond), accepted.Load(), limited.Load(), other.Load())
	if other.Load() != 0 || limited.Load() == 0 || accepted.Load()+limited.Load() != flood {
		t.Fatalf("accepted %d, limited %d, other %d", accepted.Load(), limited.Load(), other.Load())
	}
	// The budget: a burst of 200, then 20 a second.
	if max := int64(200 + 20*elapsed.Seconds() + 20); accepted.Load() > max {
		t.Fatalf("accepted %d in %s, more than the limit allows (%d)", accepted.Load(), elapsed, max)
	}
	if findVia(marketWithVia(t, inst, "q=honey"), legit) == nil {
		t.Fatal("the other group's listing was lost")
	}
	var stored int64
	if err := inst.Store.Update(context.Background(), func(tx *store.Tx) error {
		for _, d := range docs {
			iri := d["object"].(map[string]any)["object"].(map[string]any)["id"].(string)
			if _, err := tx.ListingByIRI(iri); err == nil {
				stored++
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if stored != accepted.Load() {
		t.Fatalf("%d listings stored for %d accepted Announces", stored, accepted.Load())
	}
	// The group retries a refused one once tokens came back.
	var refused map[string]any
	for _, d := range docs {
		iri := d["object"].(map[string]any)["object"].(map[string]any)["id"].(string)
		if _, err := inst.Store.ListingByIRI(context.Background(), iri); err != nil {
			refused = d
			break
		}
	}
	time.Sleep(200 * time.Millisecond)
	if st, body := fx.group.Post(inst.URL+"/inbox", refused); st != http.StatusAccepted {
		t.Fatalf("retry: %d %s", st, body)
	}
}
