package store

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
)

func ptr[T any](v T) *T { return &v }

// marketFixture is a store with one local coop and a few listings around
// Leeds (local and remote) for the market tests.
type marketFixture struct {
	s     *Store
	clock *testClock
	coop  *coopfed.Coop
	n     int // listings made, for unique IRIs
}

func newMarketFixture(t *testing.T) *marketFixture {
	t.Helper()
	clock := newTestClock()
	s := openTestStore(t, clock)
	c := &coopfed.Coop{Name: "mill", PublicKeyPEM: "pub", PrivateKeyPEM: "priv"}
	mustUpdate(t, s, func(tx *Tx) error { return tx.CreateCoop(c) })
	return &marketFixture{s: s, clock: clock, coop: c}
}

func (m *marketFixture) listing(kind, title, category string, qty float64, lat, lon *float64) *coopfed.Listing {
	m.n++
	l := &coopfed.Listing{
		IRI: fmt.Sprintf("https://a.example/listings/%d", m.n), CoopID: m.coop.ID,
		ActorIRI: "https://a.example/coops/mill", Kind: kind, Title: title, Category: category,
		Quantity: coopfed.Quantity{Value: qty, Unit: "kilogram"}, State: coopfed.ListingOpen,
	}
	if lat != nil {
		l.Place = &coopfed.Place{Name: "somewhere", Latitude: lat, Longitude: lon}
	}
	return l
}

func (m *marketFixture) insert(t *testing.T, ls ...*coopfed.Listing) {
	t.Helper()
	for _, l := range ls {
		m.clock.Add(time.Second)
		mustUpdate(t, m.s, func(tx *Tx) error { return tx.InsertListing(l) })
	}
}

func (m *marketFixture) search(t *testing.T, q MarketQuery) []string {
	t.Helper()
	hits, err := m.s.SearchListings(context.Background(), q)
	if err != nil {
		t.Fatalf("SearchListings(%+v): %v", q, err)
	}
	var titles []string
	for _, h := range hits {
		titles = append(titles, h.Title)
	}
	return titles
}

func TestListingRoundTrip(t *testing.T) {
	m := newMarketFixture(t)
	until := time.Date(2026, 12, 12, 18, 0, 0, 0, time.UTC)
	upd := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	cases := []*coopfed.Listing{
		{
			IRI: "https://a.example/listings/full", CoopID: m.coop.ID, ActorIRI: "https://a.example/coops/mill",
			Kind: coopfed.ListingOffer, Title: "Organic flour", Description: "Stone-ground", Category: "flour",
			ConformsTo: "https://www.wikidata.org/wiki/Q36465", Quantity: coopfed.Quantity{Value: 1, Unit: "kilogram"},
			Available: &coopfed.Quantity{Value: 200, Unit: "kilogram"}, Minimum: &coopfed.Quantity{Value: 10, Unit: "kilogram"},
			UnitBased: true, Reciprocal: &coopfed.Reciprocal{Kind: coopfed.ReciprocalPrice, Price: coopfed.Price{Amount: "1.20", Currency: "EUR"}},
			Place:      &coopfed.Place{Name: "Leeds", Latitude: ptr(53.8008), Longitude: ptr(-1.5491)},
			ValidUntil: &until, State: coopfed.ListingOpen, Published: m.clock.Now(), Updated: &upd,
		},
		{
			IRI: "https://b.example/proposals/1", ActorIRI: "https://b.example/users/alice",
			Kind: coopfed.ListingNeed, Title: "Eggs", Quantity: coopfed.Quantity{Value: 12, Unit: "one"},
			Reciprocal: &coopfed.Reciprocal{Kind: coopfed.ReciprocalResource, ConformsTo: "caip:19:x", Name: "coins", Quantity: coopfed.Quantity{Value: 3, Unit: "one"}},
			Place:      &coopfed.Place{Name: "York"}, State: coopfed.ListingClosed, Published: m.clock.Now(),
		},
		{
			IRI: "https://b.example/proposals/2", ActorIRI: "https://b.example/users/alice",
			Kind: coopfed.ListingOffer, Title: "Help", Quantity: coopfed.Quantity{Value: 2, Unit: "hour"},
			Reciprocal: &coopfed.Reciprocal{Kind: coopfed.ReciprocalCredits, Price: coopfed.Price{Amount: "50"}}, State: coopfed.ListingOpen, Published: m.clock.Now(),
		},
	}
	for _, want := range cases {
		m.insert(t, want)
		got, err := m.s.ListingByIRI(context.Background(), want.IRI)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", want.IRI, got, want)
		}
	}
	if _, err := m.s.ListingByIRI(context.Background(), "https://a.example/listings/none"); coopfed.ErrorCode(err) != coopfed.ENOTFOUND {
		t.Errorf("missing listing: %v, want ENOTFOUND", err)
	}
}

func TestSearchListings(t *testing.T) {
	m := newMarketFixture(t)
	leeds := [2]float64{53.8008, -1.5491}
	m.insert(t,
		m.listing(coopfed.ListingOffer, "Organic wheat flour", "flour", 200, ptr(53.80), ptr(-1.55)),       // Leeds
		m.listing(coopfed.ListingOffer, "Rye flour", "flour", 50, ptr(53.48), ptr(-2.24)),                  // Manchester, 58 km
		m.listing(coopfed.ListingNeed, "Flour for bread", "baking", 20, ptr(51.51), ptr(-0.13)),            // London
		m.listing(coopfed.ListingOffer, "Crème fraîche", "dairy", 5, nil, nil),                             // no place
		m.listing(coopfed.ListingOffer, "Closed flour", "flour", 1, ptr(53.80), ptr(-1.55)),                // closed below
		m.listing(coopfed.ListingOffer, "Expired flour", "flour", 1, ptr(53.80), ptr(-1.55)),               // past its end
		m.listing(coopfed.ListingNeed, "Wheat straw", "straw", 100, ptr(53.79), ptr(-1.76)),                // Bradford, 14 km
		m.listing(coopfed.ListingOffer, "Buckwheat groats", "grain", 10, ptr(53.9600), ptr(-1.0873)),       // York, 34 km
		m.listing(coopfed.ListingOffer, "Deleted flour listing", "flour", 1, ptr(53.80), ptr(-1.55)),       // tombstoned below
		m.listing(coopfed.ListingOffer, "Remote oat flour", "flour", 10, ptr(53.80), ptr(-1.54)),           // remote, Leeds
		m.listing(coopfed.ListingOffer, "Remote wheat flour elsewhere", "flour", 10, ptr(40.4), ptr(-3.7)), // remote, Madrid
	)
	ctx := context.Background()
	mustUpdate(t, m.s, func(tx *Tx) error {
		closed, _ := tx.ListingByIRI(m.iriOf(t, "Closed flour"))
		closed.State = coopfed.ListingClosed
		if err := tx.UpdateListing(closed); err != nil {
			return err
		}
		expired, _ := tx.ListingByIRI(m.iriOf(t, "Expired flour"))
		expired.ValidUntil = ptr(m.clock.Now().Add(-time.Minute))
		if err := tx.UpdateListing(expired); err != nil {
			return err
		}
		for _, title := range []string{"Remote oat flour", "Remote wheat flour elsewhere"} {
			r, _ := tx.ListingByIRI(m.iriOf(t, title))
			if _, err := tx.tx.ExecContext(tx.ctx, `UPDATE listings SET coop_id = NULL, actor_iri = 'https://b.example/users/alice' WHERE id = ?`, r.ID); err != nil {
				return err
			}
		}
		return tx.TombstoneListing(m.iriOf(t, "Deleted flour listing"))
	})

	cases := []struct {
		name string
		q    MarketQuery
		want []string
	}{
		{"everything open, newest first", MarketQuery{}, []string{"Remote wheat flour elsewhere", "Remote oat flour", "Buckwheat groats", "Wheat straw", "Crème fraîche", "Flour for bread", "Rye flour", "Organic wheat flour"}},
		{"text, all words", MarketQuery{Text: "wheat flour", Sort: SortRecent}, []string{"Remote wheat flour elsewhere", "Organic wheat flour"}},
		{"text ignores case and accents", MarketQuery{Text: "CREME"}, []string{"Crème fraîche"}},
		{"text with FTS5 syntax is taken literally", MarketQuery{Text: `flour" OR "straw NEAR(`, Sort: SortRecent}, nil},
		{"text matches category", MarketQuery{Text: "grain"}, []string{"Buckwheat groats"}},
		{"kind", MarketQuery{Kind: coopfed.ListingNeed}, []string{"Wheat straw", "Flour for bread"}},
		{"category", MarketQuery{Category: "flour"}, []string{"Remote wheat flour elsewhere", "Remote oat flour", "Rye flour", "Organic wheat flour"}},
		{"one coop", MarketQuery{ActorIRI: "https://b.example/users/alice"}, []string{"Remote wheat flour elsewhere", "Remote oat flour"}},
		{"near Leeds, 40 km, by distance", MarketQuery{Near: &leeds, RadiusKm: 40, Sort: SortDistance}, []string{"Organic wheat flour", "Remote oat flour", "Wheat straw", "Buckwheat groats"}},
		{"near Leeds, 100 km, flour by distance", MarketQuery{Near: &leeds, RadiusKm: 100, Category: "flour", Sort: SortDistance}, []string{"Organic wheat flour", "Remote oat flour", "Rye flour"}},
		{"near Leeds, text, recent", MarketQuery{Near: &leeds, RadiusKm: 100, Text: "flour", Sort: SortRecent}, []string{"Remote oat flour", "Rye flour", "Organic wheat flour"}},
		{"paged", MarketQuery{Limit: 2, Offset: 2}, []string{"Buckwheat groats", "Wheat straw"}},
		{"paged near", MarketQuery{Near: &leeds, RadiusKm: 40, Sort: SortDistance, Limit: 2, Offset: 1}, []string{"Remote oat flour", "Wheat straw"}},
		{"page past the end near", MarketQuery{Near: &leeds, RadiusKm: 40, Sort: SortDistance, Offset: 10}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := m.search(t, c.q); !slices.Equal(got, c.want) {
				t.Fatalf("got %q\nwant %q", got, c.want)
			}
		})
	}

	t.Run("relevance finds every match", func(t *testing.T) {
		got := m.search(t, MarketQuery{Text: "flour", Sort: SortRelevance})
		if len(got) != 5 || !slices.Contains(got, "Flour for bread") {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("distances", func(t *testing.T) {
		hits, err := m.s.SearchListings(ctx, MarketQuery{Near: &leeds, RadiusKm: 40, Sort: SortDistance})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			if h.DistanceKm == nil || *h.DistanceKm > 40 {
				t.Errorf("%s: distance %v", h.Title, h.DistanceKm)
			}
		}
		if d := *hits[len(hits)-1].DistanceKm; d < 30 || d > 40 {
			t.Errorf("York is %.1f km from Leeds, want about 34", d)
		}
	})
	t.Run("no word", func(t *testing.T) {
		if _, err := m.s.SearchListings(ctx, MarketQuery{Text: "!!! ???"}); coopfed.ErrorCode(err) != coopfed.EINVALID {
			t.Fatalf("err = %v, want EINVALID", err)
		}
	})
}

func (m *marketFixture) iriOf(t *testing.T, title string) string {
	t.Helper()
	var iri string
	if err := m.s.read.QueryRow(`SELECT iri FROM listings WHERE title = ?`, title).Scan(&iri); err != nil {
		t.Fatalf("listing %q: %v", title, err)
	}
	return iri
}

func TestFTSFollowsUpdatesAndDeletes(t *testing.T) {
	m := newMarketFixture(t)
	l := m.listing(coopfed.ListingOffer, "Spelt flour", "cereal", 5, nil, nil)
	m.insert(t, l)
	l.Title = "Spelt grain"
	mustUpdate(t, m.s, func(tx *Tx) error { return tx.UpdateListing(l) })
	if got := m.search(t, MarketQuery{Text: "flour spelt"}); got != nil {
		t.Fatalf("old title still found: %q", got)
	}
	if got := m.search(t, MarketQuery{Text: "grain"}); !slices.Equal(got, []string{"Spelt grain"}) {
		t.Fatalf("new title not found: %q", got)
	}
	mustUpdate(t, m.s, func(tx *Tx) error { return tx.TombstoneListing(l.IRI) })
	var n int
	m.s.read.QueryRow(`SELECT COUNT(*) FROM listings_fts WHERE listings_fts MATCH 'spelt'`).Scan(&n)
	if n != 0 {
		t.Fatalf("tombstone still indexed: %d rows", n)
	}
	got, err := m.s.ListingByIRI(context.Background(), l.IRI)
	if err != nil || !got.Deleted || got.Title != "" {
		t.Fatalf("tombstone = %+v, %v", got, err)
	}
	if err := m.s.Update(context.Background(), func(tx *Tx) error { return tx.TombstoneListing(l.IRI) }); coopfed.ErrorCode(err) != coopfed.ENOTFOUND {
		t.Fatalf("second tombstone: %v, want ENOTFOUND", err)
	}
	// The FTS index must agree with its content table (PostgreSQL's GIN
	// index is on an expression of the row itself: nothing to drift).
	if onPostgres {
		return
	}
	if _, err := m.s.write.Exec(`INSERT INTO listings_fts(listings_fts) VALUES ('integrity-check')`); err != nil {
		t.Fatalf("FTS integrity: %v", err)
	}
}

func TestPutRemoteListingOwnershipAndOrder(t *testing.T) {
	m := newMarketFixture(t)
	ctx := context.Background()
	t1 := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	remote := func(title string, updated *time.Time, actor string) *coopfed.Listing {
		return &coopfed.Listing{IRI: "https://b.example/proposals/1", ActorIRI: actor, Kind: coopfed.ListingOffer, Title: title,
			Quantity: coopfed.Quantity{Value: 1, Unit: "one"}, State: coopfed.ListingOpen, Published: t1, Updated: updated}
	}
	put := func(l *coopfed.Listing) bool {
		var wrote bool
		mustUpdate(t, m.s, func(tx *Tx) error {
			var err error
			wrote, err = tx.PutRemoteListing(l)
			return err
		})
		return wrote
	}
	alice, mallory := "https://b.example/users/alice", "https://b.example/users/mallory"
	steps := []struct {
		name  string
		l     *coopfed.Listing
		wrote bool
		title string
	}{
		{"created", remote("Bike", nil, alice), true, "Bike"},
		{"edited", remote("Blue bike", &t2, alice), true, "Blue bike"},
		{"older edit arrives late", remote("Old bike", &t1, alice), false, "Blue bike"},
		{"another actor", remote("Stolen bike", &t2, mallory), false, "Blue bike"},
	}
	for _, s := range steps {
		if got := put(s.l); got != s.wrote {
			t.Errorf("%s: wrote = %v, want %v", s.name, got, s.wrote)
		}
		l, err := m.s.ListingByIRI(ctx, s.l.IRI)
		if err != nil || l.Title != s.title || l.ActorIRI != alice {
			t.Errorf("%s: stored %+v, %v; want title %q by alice", s.name, l, err, s.title)
		}
	}
	local := m.listing(coopfed.ListingOffer, "Local", "flour", 1, nil, nil)
	m.insert(t, local)
	takeover := remote("Taken", &t2, alice)
	takeover.IRI = local.IRI
	if put(takeover) {
		t.Error("a remote put overwrote a local listing")
	}
	mustUpdate(t, m.s, func(tx *Tx) error {
		if n, err := tx.DeleteRemoteListing(steps[0].l.IRI, mallory); err != nil || n != 0 {
			return fmt.Errorf("mallory deleted alice's listing: %d, %v", n, err)
		}
		if n, err := tx.DeleteActorListings(alice); err != nil || n != 1 {
			return fmt.Errorf("DeleteActorListings = %d, %v; want 1", n, err)
		}
		if n, err := tx.DeleteActorListings("https://a.example/coops/mill"); err != nil || n != 0 {
			return fmt.Errorf("DeleteActorListings removed local listings: %d, %v", n, err)
		}
		return nil
	})
}

func TestMatchCandidates(t *testing.T) {
	m := newMarketFixture(t)
	offer := m.listing(coopfed.ListingOffer, "Organic wheat flour", "flour", 200, ptr(53.80), ptr(-1.55))
	farOffer := m.listing(coopfed.ListingOffer, "Wheat flour", "flour", 200, ptr(40.4), ptr(-3.7))
	otherUnit := m.listing(coopfed.ListingOffer, "Flour by the sack", "flour", 2, nil, nil)
	otherUnit.Quantity.Unit = "one"
	textOnly := m.listing(coopfed.ListingOffer, "Bread flour", "milling", 30, nil, nil)
	unrelated := m.listing(coopfed.ListingOffer, "Bicycle", "bikes", 1, nil, nil)
	m.insert(t, offer, farOffer, otherUnit, textOnly, unrelated)
	need := &coopfed.Listing{IRI: "https://c.example/listings/n1", ActorIRI: "https://c.example/coops/bakery", Kind: coopfed.ListingNeed,
		Title: "Flour for the bakery", Category: "baking", Quantity: coopfed.Quantity{Value: 20, Unit: "kilogram"}, State: coopfed.ListingOpen,
		Place: &coopfed.Place{Latitude: ptr(53.79), Longitude: ptr(-1.76)}}
	var got []string
	mustUpdate(t, m.s, func(tx *Tx) error {
		list, err := tx.MatchCandidates(need, m.clock.Now(), 100)
		for _, l := range list {
			got = append(got, l.Title)
		}
		return err
	})
	if want := []string{"Bread flour", "Organic wheat flour"}; !slices.Equal(got, want) {
		t.Fatalf("candidates for the need = %q, want %q", got, want)
	}
	// The reverse: a new offer finds the needs it may fit.
	mustUpdate(t, m.s, func(tx *Tx) error {
		need.CoopID = m.coop.ID
		return tx.InsertListing(need)
	})
	newOffer := &coopfed.Listing{IRI: "https://d.example/p/1", ActorIRI: "https://d.example/users/dan", Kind: coopfed.ListingOffer,
		Title: "Spare flour", Category: "surplus", Quantity: coopfed.Quantity{Value: 25, Unit: "kilogram"}, State: coopfed.ListingOpen}
	got = nil
	mustUpdate(t, m.s, func(tx *Tx) error {
		list, err := tx.MatchCandidates(newOffer, m.clock.Now(), 100)
		for _, l := range list {
			got = append(got, l.Title)
		}
		return err
	})
	if want := []string{"Flour for the bakery"}; !slices.Equal(got, want) {
		t.Fatalf("candidates for the offer = %q, want %q", got, want)
	}
}

func TestNotificationsOncePerPair(t *testing.T) {
	m := newMarketFixture(t)
	ctx := context.Background()
	add := func(need, offer string) bool {
		var fresh bool
		mustUpdate(t, m.s, func(tx *Tx) error {
			var err error
			fresh, err = tx.AddNotification(&coopfed.Notification{CoopID: m.coop.ID, Kind: coopfed.NotifyMatch, NeedIRI: need, OfferIRI: offer})
			return err
		})
		return fresh
	}
	if !add("n1", "o1") || add("n1", "o1") || !add("n1", "o2") {
		t.Fatal("want new, duplicate, new")
	}
	list, err := m.s.Notifications(ctx, NotificationFilter{CoopID: m.coop.ID})
	if err != nil || len(list) != 2 || list[0].OfferIRI != "o2" || list[0].Read {
		t.Fatalf("notifications = %+v, %v", list, err)
	}
	mustUpdate(t, m.s, func(tx *Tx) error {
		n, err := tx.MarkNotificationsRead(m.coop.ID, list[1].ID)
		if n != 1 {
			return fmt.Errorf("marked %d, want 1", n)
		}
		return err
	})
	unread, _ := m.s.Notifications(ctx, NotificationFilter{CoopID: m.coop.ID, Unread: true})
	if len(unread) != 1 || unread[0].ID != list[0].ID {
		t.Fatalf("unread = %+v", unread)
	}
}

func TestExpiredListings(t *testing.T) {
	m := newMarketFixture(t)
	soon := m.listing(coopfed.ListingOffer, "Soon", "flour", 1, nil, nil)
	soon.ValidUntil = ptr(m.clock.Now().Add(time.Hour))
	later := m.listing(coopfed.ListingOffer, "Later", "flour", 1, nil, nil)
	later.ValidUntil = ptr(m.clock.Now().Add(48 * time.Hour))
	never := m.listing(coopfed.ListingOffer, "Never", "flour", 1, nil, nil)
	m.insert(t, soon, later, never)
	m.clock.Add(2 * time.Hour)
	mustUpdate(t, m.s, func(tx *Tx) error {
		list, err := tx.ExpiredListings(tx.Now(), 10)
		if err != nil {
			return err
		}
		if len(list) != 1 || list[0].Title != "Soon" {
			return fmt.Errorf("expired = %v, want Soon", list)
		}
		return nil
	})
}

func TestFTSQuery(t *testing.T) {
	cases := map[string]string{
		"wheat flour":           `"wheat" "flour"`,
		`flour" OR "x NEAR(`:    `"flour" "or" "x" "near"`,
		"Crème-fraîche, 2 kg!!": `"crème" "fraîche" "2" "kg"`,
		"***":                   "",
	}
	for in, want := range cases {
		if got := FTSQuery(in, false, 10); got != want {
			t.Errorf("FTSQuery(%q) = %q, want %q", in, got, want)
		}
	}
	if got := FTSQuery("a b c", true, 2); got != `"a" OR "b"` {
		t.Errorf("FTSQuery any = %q", got)
	}
}
