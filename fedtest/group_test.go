package fedtest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/fedtest"
)

// marketVia is a market result with the groups it came through.
type marketVia struct {
	ID, Title, State string
	Via              []struct{ ID, Name, Handle string }
}

func marketWithVia(t *testing.T, inst *fedtest.Instance, query string) []marketVia {
	t.Helper()
	var out struct{ Items []marketVia }
	if st := inst.API(t, http.MethodGet, "/api/v1/market?"+query, nil, &out); st != http.StatusOK {
		t.Fatalf("market?%s: status %d", query, st)
	}
	return out.Items
}

func findVia(items []marketVia, iri string) *marketVia {
	for i := range items {
		if items[i].ID == iri {
			return &items[i]
		}
	}
	return nil
}

// createGroup makes the instance's coop run a market group.
func createGroup(t *testing.T, inst *fedtest.Instance, name string, body map[string]any) string {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	body["name"] = name
	var out struct{ ID, Handle string }
	if st := inst.API(t, http.MethodPost, "/api/v1/coops/"+inst.Coop.Name+"/groups", body, &out); st != http.StatusCreated {
		t.Fatalf("create group %s: status %d", name, st)
	}
	return out.ID
}

// join makes the instance's coop join a group by handle and waits until
// the membership is accepted.
func join(t *testing.T, inst *fedtest.Instance, handle, groupIRI string) {
	t.Helper()
	if st := inst.API(t, http.MethodPost, "/api/v1/coops/"+inst.Coop.Name+"/memberships", map[string]string{"handle": handle}, nil); st != http.StatusAccepted {
		t.Fatalf("join %s: status %d", handle, st)
	}
	waitMember(t, inst, groupIRI)
}

// waitMember waits until the instance's coop is an accepted member of a
// group or relay.
func waitMember(t *testing.T, inst *fedtest.Instance, groupIRI string) {
	t.Helper()
	fedtest.Eventually(t, 10*time.Second, inst.Coop.Name+" in "+groupIRI, func() bool {
		var list struct {
			Items []struct{ Actor, State string }
		}
		inst.API(t, http.MethodGet, "/api/v1/coops/"+inst.Coop.Name+"/memberships", nil, &list)
		for _, it := range list.Items {
			if it.Actor == groupIRI && it.State == coopfed.FollowAccepted {
				return true
			}
		}
		return false
	})
}

func postListing(t *testing.T, inst *fedtest.Instance, body map[string]any) string {
	t.Helper()
	var out struct{ ID string }
	if st := inst.API(t, http.MethodPost, "/api/v1/coops/"+inst.Coop.Name+"/listings", body, &out); st != http.StatusCreated {
		t.Fatalf("post listing: status %d", st)
	}
	return out.ID
}

func offerOf(title string, amount int) map[string]any {
	return map[string]any{
		"kind": "offer", "title": title, "description": "Surplus from this season.", "category": "produce",
		"quantity":   map[string]any{"value": 1, "unit": "kilogram"},
		"available":  map[string]any{"value": amount, "unit": "kilogram"},
		"unit_based": true,
		"reciprocal": map[string]any{"price": map[string]any{"amount": "2.00", "currency": "EUR"}},
	}
}

// The shared market over three instances: A hosts a group, B and C join
// it; B's offer reaches C's market without C following B, and so do its
// update, closing and deletion; a listing reached through two groups is one
// listing; a moderator's removal drops a listing from every member's
// market; when B leaves, its listings leave C's market.
func TestMarketGroupThreeInstances(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "hub"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	c := fedtest.Start(t, fedtest.Options{Coop: "farm"})
	d := fedtest.Start(t, fedtest.Options{Coop: "depot"})

	group := createGroup(t, a, "market", map[string]any{"display_name": "Northern market", "topic": "Food surplus between coops", "region": "Yorkshire"})
	handle := "market@" + strings.TrimPrefix(a.URL, "http://")
	join(t, b, handle, group)
	join(t, c, handle, group)

	var groupDoc map[string]any
	if st := fedtest.GetJSON(t, group, &groupDoc); st != http.StatusOK || groupDoc["type"] != "Group" || groupDoc["attributedTo"] != group+"/moderators" {
		t.Fatalf("group actor: %d %v", st, groupDoc)
	}

	apples := postListing(t, b, offerOf("apples", 100))
	t.Run("B's offer reaches C through the group", func(t *testing.T) {
		fedtest.Eventually(t, 10*time.Second, "apples in C's market", func() bool {
			it := findVia(marketWithVia(t, c, "q=apples"), apples)
			return it != nil && len(it.Via) == 1 && it.Via[0].ID == group
		})
		// C follows nobody: the group brought it.
		var following struct{ Items []struct{ Actor string } }
		c.API(t, http.MethodGet, "/api/v1/coops/farm/following", nil, &following)
		for _, f := range following.Items {
			if f.Actor == b.ActorIRI() {
				t.Fatal("C follows B")
			}
		}
	})
	t.Run("the page says via which group", func(t *testing.T) {
		resp, err := http.Get(c.URL + "/market?q=apples")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var sb strings.Builder
		buf := make([]byte, 1<<16)
		for {
			n, err := resp.Body.Read(buf)
			sb.Write(buf[:n])
			if err != nil {
				break
			}
		}
		if !strings.Contains(sb.String(), "via group Northern market") {
			t.Fatalf("market page does not name the group:\n%s", sb.String())
		}
	})
	t.Run("update, close and delete reach C", func(t *testing.T) {
		if st := b.API(t, http.MethodPatch, "/api/v1/listings?id="+url.QueryEscape(apples), map[string]any{"title": "red apples"}, nil); st != http.StatusOK {
			t.Fatalf("patch: %d", st)
		}
		fedtest.Eventually(t, 10*time.Second, "update at C", func() bool {
			it := findVia(marketWithVia(t, c, "q=apples"), apples)
			return it != nil && it.Title == "red apples"
		})
		if st := b.API(t, http.MethodPost, "/api/v1/listings/close?id="+url.QueryEscape(apples), nil, nil); st != http.StatusOK {
			t.Fatalf("close: %d", st)
		}
		fedtest.Eventually(t, 10*time.Second, "closed at C", func() bool { return findVia(marketWithVia(t, c, "q=apples"), apples) == nil })
		pears := postListing(t, b, offerOf("pears", 40))
		fedtest.Eventually(t, 10*time.Second, "pears at C", func() bool { return findVia(marketWithVia(t, c, "q=pears"), pears) != nil })
		if st := b.API(t, http.MethodDelete, "/api/v1/listings?id="+url.QueryEscape(pears), nil, nil); st != http.StatusNoContent {
			t.Fatalf("delete: %d", st)
		}
		fedtest.Eventually(t, 10*time.Second, "deleted at C", func() bool {
			return findVia(marketWithVia(t, c, "q=pears"), pears) == nil
		})
	})

	t.Run("a listing reached through two groups is one listing", func(t *testing.T) {
		group2 := createGroup(t, d, "exchange", nil)
		handle2 := "exchange@" + strings.TrimPrefix(d.URL, "http://")
		join(t, b, handle2, group2)
		join(t, c, handle2, group2)
		plums := postListing(t, b, offerOf("plums", 30))
		fedtest.Eventually(t, 10*time.Second, "plums via both groups", func() bool {
			it := findVia(marketWithVia(t, c, "q=plums"), plums)
			return it != nil && len(it.Via) == 2
		})
		n := 0
		for _, it := range marketWithVia(t, c, "q=plums") {
			if it.ID == plums {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("plums listed %d times", n)
		}
		// Leaving one group keeps it: the other still carries it.
		if st := c.API(t, http.MethodDelete, "/api/v1/coops/farm/memberships?group="+url.QueryEscape(group2), nil, nil); st != http.StatusNoContent {
			t.Fatalf("leave: %d", st)
		}
		it := findVia(marketWithVia(t, c, "q=plums"), plums)
		if it == nil || len(it.Via) != 1 || it.Via[0].ID != group {
			t.Fatalf("after leaving one group: %+v", it)
		}
	})

	t.Run("a moderator's removal drops the listing from members' markets", func(t *testing.T) {
		cherries := postListing(t, b, offerOf("cherries", 20))
		fedtest.Eventually(t, 10*time.Second, "cherries at C", func() bool { return findVia(marketWithVia(t, c, "q=cherries"), cherries) != nil })
		if st := a.API(t, http.MethodPost, "/api/v1/groups/market/remove", map[string]string{"object": cherries, "reason": "not food"}, nil); st != http.StatusNoContent {
			t.Fatalf("remove: %d", st)
		}
		fedtest.Eventually(t, 10*time.Second, "cherries gone at C", func() bool { return findVia(marketWithVia(t, c, "q=cherries"), cherries) == nil })
		// B still has its own listing.
		if findVia(marketWithVia(t, b, "q=cherries"), cherries) == nil {
			t.Fatal("B lost its own listing")
		}
	})

	t.Run("C trades on an offer it found through the group", func(t *testing.T) {
		quinces := offerOf("quinces", 50)
		quinces["reciprocal"] = map[string]any{"credits": "2"}
		iri := postListing(t, b, quinces)
		fedtest.Eventually(t, 10*time.Second, "quinces at C", func() bool { return findVia(marketWithVia(t, c, "q=quinces"), iri) != nil })
		var prop tradeOut
		if st := c.API(t, http.MethodPost, "/api/v1/coops/farm/trades", map[string]any{
			"listing": iri, "quantity": map[string]any{"value": 5, "unit": "kilogram"}, "reciprocal": map[string]any{"credits": "10"},
		}, &prop); st != http.StatusCreated {
			t.Fatalf("propose: %d", st)
		}
		var onB *tradeOut
		fedtest.Eventually(t, 10*time.Second, "B receives the Offer", func() bool { onB = tradeByIRI(t, b, prop.IRI); return onB != nil })
		if st := b.API(t, http.MethodPost, fmt.Sprintf("/api/v1/coops/bakery/trades/%d/accept", onB.ID), nil, nil); st != http.StatusOK {
			t.Fatalf("accept: %d", st)
		}
		// The lower quantity reaches C through the group too.
		fedtest.Eventually(t, 10*time.Second, "45 kg left at C", func() bool {
			tr := tradeByIRI(t, c, prop.IRI)
			l, err := c.Store.ListingByIRI(context.Background(), iri)
			return tr != nil && tr.State == "accepted" && err == nil && l.Available != nil && l.Available.Value == 45
		})
	})

	t.Run("when B leaves, its listings leave C's market", func(t *testing.T) {
		figs := postListing(t, b, offerOf("figs", 10))
		fedtest.Eventually(t, 10*time.Second, "figs at C", func() bool { return findVia(marketWithVia(t, c, "q=figs"), figs) != nil })
		if st := b.API(t, http.MethodDelete, "/api/v1/coops/bakery/memberships?group="+url.QueryEscape(group), nil, nil); st != http.StatusNoContent {
			t.Fatalf("leave: %d", st)
		}
		fedtest.Eventually(t, 10*time.Second, "figs gone at C", func() bool { return findVia(marketWithVia(t, c, "q=figs"), figs) == nil })
	})
}
