package fedtest_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/fedtest"
)

// A coop of the group's own instance joins it without any HTTP between
// them: a remote member's listing enters its market through the group, and
// its own listing is relayed to the remote member.
func TestGroupLocalMember(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "hub"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	group := createGroup(t, a, "market", nil)
	handle := "market@" + strings.TrimPrefix(a.URL, "http://")
	cafe, token := secondCoop(t, a, "cafe", "")
	if st := a.APIWithToken(t, token, http.MethodPost, "/api/v1/coops/cafe/memberships", map[string]string{"handle": handle}, nil); st != http.StatusAccepted {
		t.Fatalf("local join: %d", st)
	}
	join(t, b, handle, group)

	bread := postListing(t, b, offerOf("bread", 12))
	fedtest.Eventually(t, 10*time.Second, "bread in A's market", func() bool {
		it := findVia(marketWithVia(t, a, "q=bread"), bread)
		return it != nil && len(it.Via) == 1 && it.Via[0].ID == group
	})
	var cake struct{ ID string }
	if st := a.APIWithToken(t, token, http.MethodPost, "/api/v1/coops/cafe/listings", offerOf("cake", 3), &cake); st != http.StatusCreated {
		t.Fatalf("cafe's listing: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "cake at B", func() bool {
		it := findVia(marketWithVia(t, b, "q=cake"), cake.ID)
		return it != nil && len(it.Via) == 1 && it.Via[0].ID == group
	})
	// The cafe's listing names the group as its audience.
	var doc map[string]any
	if st := fedtest.GetJSON(t, cake.ID, &doc); st != http.StatusOK || doc["audience"] != group {
		t.Fatalf("cake served with audience %v (%d)", doc["audience"], st)
	}
	// Leaving locally: B's bread leaves A's market, the group tells B.
	if st := a.APIWithToken(t, token, http.MethodDelete, "/api/v1/coops/cafe/memberships?group="+url.QueryEscape(group), nil, nil); st != http.StatusNoContent {
		t.Fatalf("local leave: %d", st)
	}
	if findVia(marketWithVia(t, a, "q=bread"), bread) != nil {
		t.Fatal("bread still in A's market after its only local member left")
	}
	fedtest.Eventually(t, 10*time.Second, "cake gone at B", func() bool { return findVia(marketWithVia(t, b, "q=cake"), cake.ID) == nil })
	if members, _ := a.Store.CountFollowers(context.Background(), mustGroupID(t, a, "market"), ""); members != 1 {
		t.Fatalf("%s left, the group has %d members", cafe.Name, members)
	}
}

func mustGroupID(t *testing.T, inst *fedtest.Instance, name string) int64 {
	t.Helper()
	g, err := inst.Store.GroupByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return g.ID
}

// A coop that joins a group late finds the open listings the group
// relayed before, read from the group's outbox and fetched from their
// origins; what was closed, deleted or taken out stays out.
func TestGroupBackfillOnJoin(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "hub"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	c := fedtest.Start(t, fedtest.Options{Coop: "farm"})
	group := createGroup(t, a, "market", nil)
	handle := "market@" + strings.TrimPrefix(a.URL, "http://")
	join(t, b, handle, group)
	open := postListing(t, b, offerOf("rye", 10))
	closed := postListing(t, b, offerOf("spelt", 10))
	removed := postListing(t, b, offerOf("barley", 10))
	fedtest.Eventually(t, 10*time.Second, "the group relayed three", func() bool {
		var posts struct{ Items []struct{ Object string } }
		a.API(t, http.MethodGet, "/api/v1/groups/market/posts", nil, &posts)
		return len(posts.Items) == 3
	})
	if st := b.API(t, http.MethodPost, "/api/v1/listings/close?id="+url.QueryEscape(closed), nil, nil); st != http.StatusOK {
		t.Fatalf("close: %d", st)
	}
	if st := a.API(t, http.MethodPost, "/api/v1/groups/market/remove", map[string]string{"object": removed}, nil); st != http.StatusNoContent {
		t.Fatalf("remove: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "deliveries settle", func() bool { return a.PendingDeliveries(t) == 0 && b.PendingDeliveries(t) == 0 })

	join(t, c, handle, group)
	fedtest.Eventually(t, 10*time.Second, "rye by backfill", func() bool { return findVia(marketWithVia(t, c, "q=rye"), open) != nil })
	for _, iri := range []string{closed, removed} {
		l, err := c.Store.ListingByIRI(context.Background(), iri)
		if err == nil && l.State == coopfed.ListingOpen {
			t.Fatalf("%s backfilled open", iri)
		}
	}
}

// A moderator bans a coop: its membership ends, members drop what the
// group relayed of it, nothing new of it is relayed, and it cannot join
// again until the ban is lifted. A group with approved membership keeps
// a request pending until a moderator approves it.
func TestGroupBanAndApproval(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "hub"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	c := fedtest.Start(t, fedtest.Options{Coop: "farm"})
	group := createGroup(t, a, "market", map[string]any{"membership": "approved"})
	handle := "market@" + strings.TrimPrefix(a.URL, "http://")
	for _, inst := range []*fedtest.Instance{b, c} {
		if st := inst.API(t, http.MethodPost, "/api/v1/coops/"+inst.Coop.Name+"/memberships", map[string]string{"handle": handle}, nil); st != http.StatusAccepted {
			t.Fatalf("join: %d", st)
		}
	}
	var pending struct {
		Items []struct{ Actor, State string }
	}
	fedtest.Eventually(t, 10*time.Second, "two requests", func() bool {
		a.API(t, http.MethodGet, "/api/v1/groups/market/members?state=pending", nil, &pending)
		return len(pending.Items) == 2
	})
	for _, it := range pending.Items {
		if st := a.API(t, http.MethodPost, "/api/v1/groups/market/members/approve", map[string]string{"actor": it.Actor}, nil); st != http.StatusNoContent {
			t.Fatalf("approve %s: %d", it.Actor, st)
		}
	}
	waitMember(t, b, group)
	waitMember(t, c, group)

	spam := postListing(t, b, offerOf("spam", 99))
	fedtest.Eventually(t, 10*time.Second, "spam at C", func() bool { return findVia(marketWithVia(t, c, "q=spam"), spam) != nil })
	if st := a.API(t, http.MethodPost, "/api/v1/groups/market/bans", map[string]string{"actor": b.ActorIRI(), "reason": "spam"}, nil); st != http.StatusNoContent {
		t.Fatalf("ban: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "spam gone at C", func() bool { return findVia(marketWithVia(t, c, "q=spam"), spam) == nil })
	fedtest.Eventually(t, 10*time.Second, "B told", func() bool {
		var list struct{ Items []struct{ Actor string } }
		b.API(t, http.MethodGet, "/api/v1/coops/bakery/memberships", nil, &list)
		return len(list.Items) == 0
	})
	more := postListing(t, b, offerOf("more spam", 99))
	if st := b.API(t, http.MethodPost, "/api/v1/coops/bakery/memberships", map[string]string{"handle": handle}, nil); st != http.StatusAccepted {
		t.Fatalf("rejoin request: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "rejoin refused", func() bool {
		var list struct{ Items []struct{ Actor string } }
		b.API(t, http.MethodGet, "/api/v1/coops/bakery/memberships", nil, &list)
		var members struct{ Items []struct{ Actor string } }
		a.API(t, http.MethodGet, "/api/v1/groups/market/members", nil, &members)
		return len(list.Items) == 0 && len(members.Items) == 1
	})
	fedtest.Eventually(t, 10*time.Second, "deliveries settle", func() bool { return a.PendingDeliveries(t) == 0 && b.PendingDeliveries(t) == 0 })
	if findVia(marketWithVia(t, c, "q=more"), more) != nil {
		t.Fatal("a banned coop's listing was relayed")
	}
	var bans struct {
		Items []struct{ Actor, Reason string }
	}
	if a.API(t, http.MethodGet, "/api/v1/groups/market/bans", nil, &bans); len(bans.Items) != 1 || bans.Items[0].Reason != "spam" {
		t.Fatalf("bans = %+v", bans)
	}
}
