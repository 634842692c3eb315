package store

import (
	"context"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
)

func createTestGroup(t *testing.T, s *Store, owner *coopfed.Coop, name string, mods ...string) *coopfed.Group {
	t.Helper()
	g := &coopfed.Group{Coop: coopfed.Coop{Name: name, PublicKeyPEM: "public " + name, PrivateKeyPEM: "private " + name}, OwnerID: owner.ID, Moderators: mods}
	mustUpdate(t, s, func(tx *Tx) error { return tx.CreateGroup(g) })
	return g
}

// A group is a local actor in the coops' namespace, but never a coop.
func TestGroupsShareTheNamespaceButAreNotCoops(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	owner := createTestCoop(t, s, "hub")
	g := createTestGroup(t, s, owner, "market", "https://social.example/users/mod")

	got, err := s.GroupByName(ctx, "market")
	if err != nil || got.ID != g.ID || got.OwnerID != owner.ID || got.Kind != coopfed.KindGroup || len(got.Moderators) != 1 {
		t.Fatalf("GroupByName = %+v, %v", got, err)
	}
	if _, err := s.CoopByName(ctx, "market"); coopfed.ErrorCode(err) != coopfed.ENOTFOUND {
		t.Fatalf("CoopByName of a group: %v", err)
	}
	if _, err := s.GroupByName(ctx, "hub"); coopfed.ErrorCode(err) != coopfed.ENOTFOUND {
		t.Fatalf("GroupByName of a coop: %v", err)
	}
	if a, err := s.LocalActorByName(ctx, "market"); err != nil || !a.IsGroup() {
		t.Fatalf("LocalActorByName = %+v, %v", a, err)
	}
	coops, err := s.Coops(ctx)
	if err != nil || len(coops) != 1 || coops[0].Name != "hub" {
		t.Fatalf("Coops = %+v, %v", coops, err)
	}
	// The name is taken for a coop as for a group, either way round.
	err = s.Update(ctx, func(tx *Tx) error {
		return tx.CreateCoop(&coopfed.Coop{Name: "market", PublicKeyPEM: "p", PrivateKeyPEM: "q"})
	})
	wantCode(t, err, coopfed.ECONFLICT)
	err = s.Update(ctx, func(tx *Tx) error {
		return tx.CreateGroup(&coopfed.Group{Coop: coopfed.Coop{Name: "hub", PublicKeyPEM: "p", PrivateKeyPEM: "q"}, OwnerID: owner.ID})
	})
	wantCode(t, err, coopfed.ECONFLICT)
}

// A remote listing stays in the market while a coop follows its author or
// a group brought it; it leaves when the last of these ends.
func TestListingViasKeepAndPrune(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	c := createTestCoop(t, s, "farm")
	const author, groupA, groupB = "https://bakery.example/coops/bakery", "https://a.example/groups/m", "https://b.example/groups/x"
	l := &coopfed.Listing{IRI: "https://bakery.example/listings/1", ActorIRI: author, Kind: coopfed.ListingOffer, Title: "bread",
		Quantity: coopfed.Quantity{Value: 1, Unit: "one"}, State: coopfed.ListingOpen, Published: time.Now()}
	mustUpdate(t, s, func(tx *Tx) error {
		if _, err := tx.PutRemoteListing(l); err != nil {
			return err
		}
		for _, g := range []string{groupA, groupB} {
			if _, err := tx.AddListingVia(l.ID, g, g+"/announce/1"); err != nil {
				return err
			}
		}
		// The coop also follows the author.
		return tx.PutFollowing(&coopfed.Following{CoopID: c.ID, ActorIRI: author, FollowIRI: "https://farm.example/follow/1", State: coopfed.FollowAccepted})
	})
	held := func() bool {
		_, err := s.ListingByIRI(ctx, l.IRI)
		return err == nil
	}
	steps := []struct {
		name string
		do   func(tx *Tx) error
		want bool
	}{
		{"one group drops it", func(tx *Tx) error { _, err := tx.DropListingVia(l.IRI, groupA); return err }, true},
		{"the follow ends", func(tx *Tx) error {
			if _, err := tx.DeleteFollowing(c.ID, author); err != nil {
				return err
			}
			_, err := tx.PruneActorListings(author)
			return err
		}, true},
		{"the other group's Announce is undone", func(tx *Tx) error { _, err := tx.DropViaByAnnounce(groupB, groupB+"/announce/1"); return err }, false},
	}
	for _, st := range steps {
		mustUpdate(t, s, st.do)
		if got := held(); got != st.want {
			t.Fatalf("after %s: held %v, want %v", st.name, got, st.want)
		}
	}
	// Taken out of the market, it does not come back.
	mustUpdate(t, s, func(tx *Tx) error {
		if _, err := tx.RemoveFromMarket(l.IRI, "report 1"); err != nil {
			return err
		}
		removed, err := tx.RemovedFromMarket(l.IRI)
		if !removed {
			t.Error("RemovedFromMarket = false")
		}
		return err
	})
}

// A moderator's removal outlives a member's edits of the post.
func TestGroupPostRemovalSticks(t *testing.T) {
	s := openTestStore(t, nil)
	owner := createTestCoop(t, s, "hub")
	g := createTestGroup(t, s, owner, "market")
	p := &coopfed.GroupPost{GroupID: g.ID, ObjectIRI: "https://b.example/listings/1", ActorIRI: "https://b.example/coops/b", AnnounceIRI: "https://hub.example/activities/1",
		Kind: coopfed.ListingOffer, Category: "bread", Title: "bread", State: coopfed.PostOpen}
	mustUpdate(t, s, func(tx *Tx) error { return tx.PutGroupPost(p) })
	mustUpdate(t, s, func(tx *Tx) error { return tx.SetGroupPostState(g.ID, p.ObjectIRI, coopfed.PostRemoved) })
	err := s.Update(context.Background(), func(tx *Tx) error { return tx.PutGroupPost(p) })
	wantCode(t, err, coopfed.ECONFLICT)
	mustUpdate(t, s, func(tx *Tx) error {
		got, err := tx.GroupPost(g.ID, p.ObjectIRI)
		if err == nil && got.State != coopfed.PostRemoved {
			t.Errorf("state %s, want removed", got.State)
		}
		return err
	})
}

// Reports are kept per coop, resolved once, forwarded once.
func TestReports(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	c := createTestCoop(t, s, "hub")
	r := &coopfed.Report{CoopID: c.ID, Origin: coopfed.ReportLocal, ReporterMember: "mo", TargetActor: "https://b.example/coops/b",
		Objects: []string{"https://b.example/listings/1"}, Comment: "  spam  "}
	mustUpdate(t, s, func(tx *Tx) error { return tx.AddReport(r) })
	if r.Comment != "spam" || r.State != coopfed.ReportOpen {
		t.Fatalf("stored %+v", r)
	}
	list, err := s.Reports(ctx, ReportFilter{CoopID: c.ID, State: coopfed.ReportOpen})
	if err != nil || len(list) != 1 || list[0].Objects[0] != r.Objects[0] {
		t.Fatalf("Reports = %+v, %v", list, err)
	}
	if other, _ := s.Reports(ctx, ReportFilter{CoopID: 0}); len(other) != 0 {
		t.Fatalf("the operator sees a coop's report: %+v", other)
	}
	mustUpdate(t, s, func(tx *Tx) error { return tx.ReportForwarded(r.ID, "https://hub.example/activities/flag") })
	wantCode(t, s.Update(ctx, func(tx *Tx) error { return tx.ReportForwarded(r.ID, "x") }), coopfed.ECONFLICT)
	mustUpdate(t, s, func(tx *Tx) error { return tx.ResolveReport(r.ID, coopfed.ResolveDismiss) })
	wantCode(t, s.Update(ctx, func(tx *Tx) error { return tx.ResolveReport(r.ID, coopfed.ResolveDismiss) }), coopfed.ECONFLICT)
	for _, bad := range []*coopfed.Report{
		{CoopID: c.ID, Origin: coopfed.ReportLocal},
		{CoopID: c.ID, Origin: "elsewhere", TargetActor: "https://b.example/x"},
		{CoopID: c.ID, Origin: coopfed.ReportLocal, TargetActor: "https://b.example/x", Comment: string(make([]byte, 1001))},
	} {
		wantCode(t, s.Update(ctx, func(tx *Tx) error { return tx.AddReport(bad) }), coopfed.EINVALID)
	}
}

// The instance's figures: coops and active ones, open listings by
// category, trades per month (one trade between two local coops counts
// once), quantity by unit, motions and turnout.
func TestInstanceStatistics(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, clock)
	ctx := context.Background()
	hub, farm := createTestCoop(t, s, "hub"), createTestCoop(t, s, "farm")
	now := clock.Now()
	march, feb := ms(now), ms(now.AddDate(0, -1, 0))
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.write.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO activities (iri, coop_id, type, json, published) VALUES ('https://x/a/1', ?, 'Create', '{}', ?)`, hub.ID, march)
	for i, l := range []struct{ kind, cat, state string }{{"offer", "bread", "open"}, {"offer", "bread", "open"}, {"need", "flour", "open"}, {"offer", "bread", "closed"}} {
		exec(`INSERT INTO listings (iri, coop_id, actor_iri, kind, title, category, quantity_value, quantity_unit, state, published) VALUES (?, ?, 'a', ?, 't', ?, 1, 'one', ?, ?)`,
			"https://x/l/"+string(rune('a'+i)), hub.ID, l.kind, l.cat, l.state, march)
	}
	// A trade between hub and farm (two ledger entries) agreed in
	// February and fulfilled in March; one with a remote coop, agreed in
	// March.
	exec(`INSERT INTO trades (id, iri, listing_iri, listing_kind, proposer_iri, proposer_coop_id, owner_iri, owner_coop_id, quantity_value, quantity_unit, state, created_at, updated_at)
		VALUES (1, 'https://x/t/1', 'l', 'offer', 'p', ?, 'o', ?, 5, 'kilogram', 'fulfilled', ?, ?)`, farm.ID, hub.ID, feb, march)
	exec(`INSERT INTO trades (id, iri, listing_iri, listing_kind, proposer_iri, owner_iri, owner_coop_id, quantity_value, quantity_unit, state, created_at, updated_at)
		VALUES (2, 'https://x/t/2', 'l', 'offer', 'p', 'o', ?, 2, 'kilogram', 'accepted', ?, ?)`, hub.ID, march, march)
	exec(`INSERT INTO ledger_entries (coop_id, trade_id, counterpart_iri, direction, created_at) VALUES (?, 1, 'x', 'gave', ?), (?, 1, 'y', 'received', ?), (?, 2, 'z', 'gave', ?)`,
		hub.ID, feb, farm.ID, feb, hub.ID, march)
	// Two motions closed in March: 1 of 2 and 2 of 2 members voted.
	exec(`INSERT INTO members (id, coop_id, username, role, created_at) VALUES (1, ?, 'ana', 'admin', ?), (2, ?, 'bo', 'member', ?)`, hub.ID, march, hub.ID, march)
	for _, m := range []struct {
		id     int
		voters []int
	}{{1, []int{1}}, {2, []int{1, 2}}} {
		exec(`INSERT INTO motions (id, iri, coop_id, title, kind, options, quorum, threshold, opens_at, closes_at, state, eligible, closed_at, created_at)
			VALUES (?, ?, ?, 't', 'choice', '["a","b"]', 0, 0.5, ?, ?, 'open', 2, NULL, ?)`, m.id, "https://x/m/"+string(rune('0'+m.id)), hub.ID, feb, march, feb)
		exec(`INSERT INTO motion_eligible (motion_id, member_id) VALUES (?, 1), (?, 2)`, m.id, m.id)
		for _, v := range m.voters {
			exec(`INSERT INTO votes (motion_id, member_id, option, single, created_at) VALUES (?, ?, 'a', 1, ?)`, m.id, v, march)
		}
		exec(`UPDATE motions SET state = 'closed', closed_at = ? WHERE id = ?`, march, m.id)
	}

	st, err := s.InstanceStatistics(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if st.Coops != 2 || st.ActiveCoops != 1 {
		t.Fatalf("coops %d active %d", st.Coops, st.ActiveCoops)
	}
	offers, needs := st.OpenTotals()
	if offers != 2 || needs != 1 || st.Open[0] != (coopfed.CategoryCount{Kind: "offer", Category: "bread", Count: 2}) {
		t.Fatalf("open %+v", st.Open)
	}
	if len(st.Months) != StatsMonths {
		t.Fatalf("%d months", len(st.Months))
	}
	last, prev := st.Months[len(st.Months)-1], st.Months[len(st.Months)-2]
	if last.Month != "2026-03" || last.Agreed != 1 || last.Fulfilled != 1 || last.Motions != 2 || last.Turnout != 0.75 {
		t.Fatalf("March %+v", last)
	}
	if prev.Month != "2026-02" || prev.Agreed != 1 || prev.Fulfilled != 0 {
		t.Fatalf("February %+v", prev)
	}
	if len(st.Volume) != 1 || st.Volume[0] != (coopfed.UnitVolume{Unit: "kilogram", Quantity: 7, Trades: 2}) {
		t.Fatalf("volume %+v", st.Volume)
	}
}
