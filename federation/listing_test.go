package federation

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
)

var listingNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// TestIncomingListingFixtures decodes the FEP-0837 examples and Mitra's
// proposals as listings, and checks that plain statuses are not taken for
// listings.
func TestIncomingListingFixtures(t *testing.T) {
	type want struct {
		kind, title, quantity, available, minimum, reciprocal string
		unitBased                                             bool
		lat, lon                                              float64
	}
	cases := []struct {
		file  string
		actor string
		want  *want // nil: not a listing
	}{
		{"fep0837/proposal-full.json", "https://market.example/users/alice",
			&want{kind: "offer", title: "Offering used bike", quantity: "1", available: "1", reciprocal: "30 USD", lat: 25, lon: -71}},
		{"fep0837/proposal-minimal.json", "https://market.example/users/alice",
			&want{kind: "offer", title: "Untitled offer", quantity: "1"}},
		{"mitra/proposal.json", "https://test.example/users/alice",
			&want{kind: "offer", title: "Pay for subscription", quantity: "1 s", minimum: "50000 s", reciprocal: "20000 of caip:19:monero:418015bb9ae982a1975da7d79277c270/slip44:128", unitBased: true}},
		{"mitra/proposal-parsed.json", "https://test.example/users/alice",
			&want{kind: "offer", title: "Pay for subscription", quantity: "1 s", reciprocal: "20000 of caip:19:monero:418015bb9ae982a1975da7d79277c270/slip44:128", unitBased: true}},
		{"mitra/note-mitra-social.json", "https://mitra.social/users/silverpill", nil},
		{"mitra/note-reply.json", "", nil},
		{"mitra/question.json", "", nil},
		{"mastodon/hashtag-note.json", "", nil},
		{"gotosocial/note.json", "", nil},
		{"fep0837/offer-agreement.json", "", nil},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			raw := readFixture(t, c.file)
			d, ok := decodeListing(raw)
			if c.want == nil {
				if ok {
					t.Fatalf("decoded as a listing: %+v", d)
				}
				return
			}
			if !ok {
				t.Fatal("not decoded as a listing")
			}
			l, err := d.listing(c.actor, listingNow, false)
			if err != nil {
				t.Fatalf("listing: %v", err)
			}
			w := c.want
			str := func(q *coopfed.Quantity) string {
				if q == nil {
					return ""
				}
				return q.String()
			}
			if l.Kind != w.kind || l.Title != w.title || l.Quantity.String() != w.quantity || str(l.Available) != w.available ||
				str(l.Minimum) != w.minimum || l.Reciprocal.String() != w.reciprocal || l.UnitBased != w.unitBased {
				t.Errorf("got kind %q title %q qty %q avail %q min %q reciprocal %q unitBased %v\nwant %+v",
					l.Kind, l.Title, l.Quantity.String(), str(l.Available), str(l.Minimum), l.Reciprocal.String(), l.UnitBased, *w)
			}
			if w.lat != 0 && (!l.Place.HasCoordinates() || *l.Place.Latitude != w.lat || *l.Place.Longitude != w.lon) {
				t.Errorf("place = %+v, want %v,%v", l.Place, w.lat, w.lon)
			}
			if l.IRI == "" || l.ActorIRI != c.actor || l.State != coopfed.ListingOpen {
				t.Errorf("iri %q actor %q state %q", l.IRI, l.ActorIRI, l.State)
			}
		})
	}
}

// proposal returns FEP-0837's full example with changes applied to its
// decoded map.
func proposal(t *testing.T, change func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readFixture(t, "fep0837/proposal-full.json"), &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func publishes(m map[string]any) map[string]any { return m["publishes"].(map[string]any) }

func TestIncomingListingNumbersAndRefusals(t *testing.T) {
	const alice = "https://market.example/users/alice"
	cases := []struct {
		name   string
		change func(m map[string]any)
		ok     bool
		check  func(t *testing.T, l *coopfed.Listing)
	}{
		{"quantities as numbers", func(m map[string]any) {
			publishes(m)["resourceQuantity"] = map[string]any{"hasUnit": "kilogram", "hasNumericalValue": 2.5}
			publishes(m)["availableQuantity"] = map[string]any{"hasUnit": "kilogram", "hasNumericalValue": 200}
		}, true, func(t *testing.T, l *coopfed.Listing) {
			if l.Quantity.Value != 2.5 || l.Available.Value != 200 {
				t.Errorf("quantities %v %v", l.Quantity, l.Available)
			}
		}},
		{"coordinates as strings", func(m map[string]any) {
			m["location"] = map[string]any{"type": "Place", "name": "Leeds", "latitude": "53.8", "longitude": "-1.55"}
		}, true, func(t *testing.T, l *coopfed.Listing) {
			if *l.Place.Latitude != 53.8 || *l.Place.Longitude != -1.55 || l.Place.Name != "Leeds" {
				t.Errorf("place %+v", l.Place)
			}
		}},
		{"request with hashtag category, closed, endTime", func(m map[string]any) {
			m["purpose"] = "request"
			m["tag"] = []any{map[string]any{"type": "Hashtag", "name": "#need"}, map[string]any{"type": "Hashtag", "name": "#Bikes"}}
			m["closed"] = "2026-02-01T00:00:00Z"
			m["endTime"] = "2026-12-12T18:00:00Z"
		}, true, func(t *testing.T, l *coopfed.Listing) {
			if l.Kind != coopfed.ListingNeed || l.Category != "bikes" || l.State != coopfed.ListingClosed || l.ValidUntil == nil {
				t.Errorf("kind %q category %q state %q until %v", l.Kind, l.Category, l.State, l.ValidUntil)
			}
		}},
		{"a closed time still ahead is a deadline", func(m map[string]any) { m["closed"] = "2027-01-01T00:00:00Z" }, true,
			func(t *testing.T, l *coopfed.Listing) {
				if l.State != coopfed.ListingOpen {
					t.Errorf("state %q", l.State)
				}
			}},
		{"HTML in the name is text", func(m map[string]any) { m["name"] = "<b>Bike</b><script>x</script>" }, true,
			func(t *testing.T, l *coopfed.Listing) {
				if strings.ContainsAny(l.Title, "<>") {
					t.Errorf("title %q", l.Title)
				}
			}},
		{"negative quantity", func(m map[string]any) {
			publishes(m)["resourceQuantity"] = map[string]any{"hasUnit": "one", "hasNumericalValue": "-1"}
		}, false, nil},
		{"NaN quantity", func(m map[string]any) {
			publishes(m)["resourceQuantity"] = map[string]any{"hasUnit": "one", "hasNumericalValue": "NaN"}
		}, false, nil},
		{"1e308 quantity", func(m map[string]any) {
			publishes(m)["availableQuantity"] = map[string]any{"hasUnit": "one", "hasNumericalValue": 1e308}
		}, false, nil},
		{"Infinity as a string", func(m map[string]any) {
			publishes(m)["resourceQuantity"] = map[string]any{"hasUnit": "one", "hasNumericalValue": "Infinity"}
		}, false, nil},
		{"negative reciprocal", func(m map[string]any) {
			m["reciprocal"].(map[string]any)["resourceQuantity"] = map[string]any{"hasUnit": "one", "hasNumericalValue": "-30"}
		}, false, nil},
		{"latitude 1e308", func(m map[string]any) {
			m["location"] = map[string]any{"type": "Place", "latitude": 1e308, "longitude": 0}
		}, false, nil},
		{"latitude NaN", func(m map[string]any) {
			m["location"] = map[string]any{"type": "Place", "latitude": "NaN", "longitude": 0}
		}, false, nil},
		{"100 KB title", func(m map[string]any) { m["name"] = strings.Repeat("a", 100<<10) }, false, nil},
		{"no resourceQuantity", func(m map[string]any) { delete(publishes(m), "resourceQuantity") }, false, nil},
		{"unit with spaces", func(m map[string]any) {
			publishes(m)["resourceQuantity"] = map[string]any{"hasUnit": "kilo gram", "hasNumericalValue": "1"}
		}, false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, ok := decodeListing(proposal(t, c.change))
			if !ok {
				t.Fatal("not decoded as a listing")
			}
			l, err := d.listing(alice, listingNow, false)
			if !c.ok {
				if err == nil || coopfed.ErrorCode(err) != coopfed.EINVALID {
					t.Fatalf("err = %v, want EINVALID", err)
				}
				var e *coopfed.Error
				if errorsAs(err, &e) && len(e.Fields) > 0 {
					t.Fatalf("refusal carries fields (the inbox would answer 422, not 400): %v", e.Fields)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, l)
		})
	}
}

func TestListingHeadline(t *testing.T) {
	until := time.Date(2026, 12, 12, 18, 0, 0, 0, time.UTC)
	base := func() *coopfed.Listing {
		return &coopfed.Listing{Kind: coopfed.ListingOffer, Title: "organic flour", Quantity: coopfed.Quantity{Value: 1, Unit: "kilogram"},
			Available: &coopfed.Quantity{Value: 200, Unit: "kilogram"}, UnitBased: true,
			Reciprocal: &coopfed.Reciprocal{Kind: coopfed.ReciprocalPrice, Price: coopfed.Price{Amount: "1.20", Currency: "EUR"}},
			Place:      &coopfed.Place{Name: "Leeds"}, ValidUntil: &until, Published: listingNow, State: coopfed.ListingOpen}
	}
	cases := []struct {
		name   string
		change func(l *coopfed.Listing)
		want   string
	}{
		{"the issue's example", func(l *coopfed.Listing) {}, "Offer: 200 kg organic flour, 1.20 EUR/kg, Leeds, until 12 Dec"},
		{"per lot", func(l *coopfed.Listing) { l.Quantity.Value = 25 }, "Offer: 200 kg organic flour, 1.20 EUR per 25 kg, Leeds, until 12 Dec"},
		{"whole lot", func(l *coopfed.Listing) { l.UnitBased, l.Available = false, nil }, "Offer: 1 kg organic flour, 1.20 EUR, Leeds, until 12 Dec"},
		{"items each", func(l *coopfed.Listing) {
			l.Title, l.Quantity, l.Available = "used bikes", coopfed.Quantity{Value: 1, Unit: "one"}, &coopfed.Quantity{Value: 3, Unit: "one"}
		}, "Offer: 3 used bikes, 1.20 EUR each, Leeds, until 12 Dec"},
		{"gift, no place, next year", func(l *coopfed.Listing) {
			l.Reciprocal, l.Place = nil, nil
			next := until.AddDate(1, 0, 0)
			l.ValidUntil = &next
		}, "Offer: 200 kg organic flour, free, until 12 Dec 2027"},
		{"need for credits, closed", func(l *coopfed.Listing) {
			l.Kind, l.State, l.ValidUntil, l.UnitBased = coopfed.ListingNeed, coopfed.ListingClosed, nil, false
			l.Reciprocal = &coopfed.Reciprocal{Kind: coopfed.ReciprocalCredits, Price: coopfed.Price{Amount: "50"}}
		}, "Need: 200 kg organic flour, 50 credits, Leeds, closed"},
	}
	for _, c := range cases {
		l := base()
		c.change(l)
		if got := ListingHeadline(l); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

// TestListingDocumentRoundTrip checks that what we send decodes back, by
// our own parser, into the listing we published.
func TestListingDocumentRoundTrip(t *testing.T) {
	e := newGoldenEnv(t)
	l := goldenListing()
	if err := e.f.PublishListing(context.Background(), e.coop, l); err != nil {
		t.Fatal(err)
	}
	raw, err := Marshal(e.f.ListingDocument(e.coop, l))
	if err != nil {
		t.Fatal(err)
	}
	d, ok := decodeListing(raw)
	if !ok {
		t.Fatalf("our own listing does not decode: %s", raw)
	}
	got, err := d.listing(l.ActorIRI, listingNow, false)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != l.Kind || got.Title != l.Title || got.Category != l.Category || got.ConformsTo != l.ConformsTo ||
		got.Quantity != l.Quantity || *got.Available != *l.Available || *got.Minimum != *l.Minimum || got.UnitBased != l.UnitBased ||
		*got.Reciprocal != *l.Reciprocal || got.Place.Name != l.Place.Name || *got.Place.Latitude != *l.Place.Latitude ||
		!got.ValidUntil.Equal(*l.ValidUntil) || !strings.Contains(got.Description, l.Description) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, l)
	}
}

// TestExpiryJobClosesAndFederates runs the periodic job with a fixed clock:
// a listing past its end closes and its Update (with closed) is queued.
func TestExpiryJobClosesAndFederates(t *testing.T) {
	ctx := context.Background()
	e := newGoldenEnv(t)
	l := goldenListing()
	soon := goldenStart.Add(time.Hour)
	l.ValidUntil = &soon
	if err := e.f.PublishListing(ctx, e.coop, l); err != nil {
		t.Fatal(err)
	}
	keep := goldenListing()
	if err := e.f.PublishListing(ctx, e.coop, keep); err != nil {
		t.Fatal(err)
	}
	if err := expireListings(ctx, e.f); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.store.ListingByIRI(ctx, l.IRI); got.State != coopfed.ListingOpen {
		t.Fatalf("closed before its end: %s", got.State)
	}
	e.tick(2 * time.Hour)
	if err := expireListings(ctx, e.f); err != nil {
		t.Fatal(err)
	}
	got, err := e.store.ListingByIRI(ctx, l.IRI)
	if err != nil || got.State != coopfed.ListingClosed {
		t.Fatalf("after its end: %+v, %v", got, err)
	}
	if other, _ := e.store.ListingByIRI(ctx, keep.IRI); other.State != coopfed.ListingOpen {
		t.Fatalf("the other listing closed too")
	}
	a, err := e.store.ActivityByIRI(ctx, e.f.iris.Activity(e.last()))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Type   string
		Object struct {
			ID     string
			Closed string
		}
	}
	if err := json.Unmarshal(a.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Type != "Update" || doc.Object.ID != l.IRI || doc.Object.Closed == "" {
		t.Fatalf("expiry activity = %s", a.JSON)
	}
	// A second run finds nothing more to do.
	before, _ := e.store.Counts(ctx)
	if err := expireListings(ctx, e.f); err != nil {
		t.Fatal(err)
	}
	if after, _ := e.store.Counts(ctx); after["activities"] != before["activities"] {
		t.Fatalf("a second run sent again: %d -> %d activities", before["activities"], after["activities"])
	}
}

// TestMatchNotificationsOncePerPair publishes a need, then an offer that
// fits it, then edits the offer: the coop owning both is told once for the
// pair, and never about an offer that does not fit.
func TestMatchNotificationsOncePerPair(t *testing.T) {
	ctx := context.Background()
	e := newGoldenEnv(t)
	// A remote need from a followed actor, as the inbox would store it.
	need := &coopfed.Listing{IRI: "https://social.example/needs/1", ActorIRI: goldenFollower.IRI, Kind: coopfed.ListingNeed,
		Title: "Flour wanted", Quantity: coopfed.Quantity{Value: 50, Unit: "kilogram"}, State: coopfed.ListingOpen, Published: goldenStart}
	err := e.store.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.PutRemoteListing(need)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	offer := goldenListing()
	if err := e.f.PublishListing(ctx, e.coop, offer); err != nil {
		t.Fatal(err)
	}
	small := goldenListing()
	small.Available = &coopfed.Quantity{Value: 20, Unit: "kilogram"}
	small.Minimum = nil
	if err := e.f.PublishListing(ctx, e.coop, small); err != nil {
		t.Fatal(err)
	}
	if _, err := e.f.EditListing(ctx, e.coop, offer.IRI, func(l *coopfed.Listing) error {
		l.Available.Value = 180
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	list, err := e.store.Notifications(ctx, store.NotificationFilter{CoopID: e.coop.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].NeedIRI != need.IRI || list[0].OfferIRI != offer.IRI {
		t.Fatalf("notifications = %+v, want one for (need, big offer)", list)
	}
}

func errorsAs(err error, target **coopfed.Error) bool {
	e, ok := err.(*coopfed.Error)
	if ok {
		*target = e
	}
	return ok
}
