package fedtest_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

// notificationOut is one notification as the API returns it.
type notificationOut struct {
	ID                 int64
	Kind, Trade, Actor string
	Follow             string
	Listing            struct{ ID string }
}

func notificationsOf(t *testing.T, inst *fedtest.Instance, kind string) []notificationOut {
	t.Helper()
	var out struct{ Items []notificationOut }
	if st := inst.API(t, http.MethodGet, "/api/v1/coops/"+inst.Coop.Name+"/notifications?limit=200", nil, &out); st != http.StatusOK {
		t.Fatalf("notifications: status %d", st)
	}
	var list []notificationOut
	for _, n := range out.Items {
		if n.Kind == kind {
			list = append(list, n)
		}
	}
	return list
}

// A proposal tells the listing's owner once and the proposer not at all;
// a counter-offer tells the proposer once, the owner nothing more.
func TestTradeProposalNotifiesOwner(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "mill"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	b.Follow(t, a)
	var listing struct{ ID string }
	if st := a.API(t, http.MethodPost, "/api/v1/coops/mill/listings", eggsOffer(10), &listing); st != http.StatusCreated {
		t.Fatalf("listing: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "B's market has the offer", func() bool {
		v, _ := available(t, b, a.Handle(), listing.ID)
		return v == 10
	})
	var prop tradeOut
	if st := b.API(t, http.MethodPost, "/api/v1/coops/bakery/trades", map[string]any{
		"listing": listing.ID, "quantity": map[string]any{"value": 2, "unit": "one"}, "reciprocal": map[string]any{"credits": "10"},
	}, &prop); st != http.StatusCreated {
		t.Fatalf("propose: %d", st)
	}
	var onA *tradeOut
	fedtest.Eventually(t, 10*time.Second, "A receives the Offer", func() bool {
		onA = tradeByIRI(t, a, prop.IRI)
		return onA != nil
	})
	got := notificationsOf(t, a, "trade")
	if len(got) != 1 || got[0].Trade != prop.IRI || got[0].Listing.ID != listing.ID || got[0].Actor != b.ActorIRI() {
		t.Fatalf("owner's trade notifications = %+v, want one for %s", got, prop.IRI)
	}
	if got := notificationsOf(t, b, "trade"); len(got) != 0 {
		t.Fatalf("proposer's trade notifications = %+v, want none", got)
	}

	var counter tradeOut
	if st := a.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/mill/trades/%d/counter", onA.ID), map[string]any{
		"quantity": map[string]any{"value": 3, "unit": "one"}, "reciprocal": map[string]any{"credits": "15"},
	}, &counter); st != http.StatusCreated {
		t.Fatalf("counter: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "B receives the counter-offer", func() bool {
		return tradeByIRI(t, b, counter.IRI) != nil
	})
	if got := notificationsOf(t, b, "trade"); len(got) != 1 || got[0].Trade != counter.IRI || got[0].Actor != a.ActorIRI() {
		t.Fatalf("proposer's notifications after the counter = %+v, want one for %s", got, counter.IRI)
	}
	if got := notificationsOf(t, a, "trade"); len(got) != 1 {
		t.Fatalf("owner's notifications after its counter = %+v, want still one", got)
	}
}

// Two coops of one instance share the trade record; the owner is told all
// the same, the proposer is not.
func TestLocalTradeProposalNotifiesOwner(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "mill"})
	bakery, token := secondCoop(t, inst, "bakery", "Bakery")
	var listing struct{ ID string }
	if st := inst.API(t, http.MethodPost, "/api/v1/coops/mill/listings", eggsOffer(10), &listing); st != http.StatusCreated {
		t.Fatalf("listing: %d", st)
	}
	var prop tradeOut
	if st := inst.APIWithToken(t, token, http.MethodPost, "/api/v1/coops/bakery/trades", map[string]any{
		"listing": listing.ID, "quantity": map[string]any{"value": 1, "unit": "one"}, "reciprocal": map[string]any{"credits": "5"},
	}, &prop); st != http.StatusCreated {
		t.Fatalf("propose: %d", st)
	}
	if got := notificationsOf(t, inst, "trade"); len(got) != 1 || got[0].Trade != prop.IRI {
		t.Fatalf("owner's trade notifications = %+v, want one for %s", got, prop.IRI)
	}
	var mine struct{ Items []notificationOut }
	if st := inst.APIWithToken(t, token, http.MethodGet, "/api/v1/coops/"+bakery.Name+"/notifications", nil, &mine); st != http.StatusOK || len(mine.Items) != 0 {
		got := mine.Items
		t.Fatalf("proposer's trade notifications = %+v, want none", got)
	}
}

// A Follow of a locked coop tells it once, however often it is delivered;
// an open coop accepts at once and is told nothing.
func TestFollowRequestNotifiesLockedCoop(t *testing.T) {
	locked := fedtest.Start(t, fedtest.Options{Coop: "bakery", Locked: true})
	open := fedtest.Start(t, fedtest.Options{Coop: "mill"})
	remote := fedtest.NewRemote(t)
	alice := remote.AddActor("alice", 1)

	follow := followOf(alice, locked.ActorIRI())
	postOK(t, alice, locked.URL+"/coops/bakery/inbox", follow)
	postOK(t, alice, locked.URL+"/coops/bakery/inbox", follow)
	got := notificationsOf(t, locked, "follow_request")
	if len(got) != 1 || got[0].Actor != alice.IRI || got[0].Follow != follow["id"] {
		t.Fatalf("locked coop's notifications = %+v, want one for alice's Follow", got)
	}

	postOK(t, alice, open.URL+"/coops/mill/inbox", followOf(alice, open.ActorIRI()))
	remote.WaitFor("Accept", 1)
	if got := notificationsOf(t, open, "follow_request"); len(got) != 0 {
		t.Fatalf("open coop's notifications = %+v, want none", got)
	}
}
