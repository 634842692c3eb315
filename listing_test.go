package coopfed

import (
	"math"
	"strings"
	"testing"
	"time"
)

func f64(v float64) *float64 { return &v }

func validListing() *Listing {
	until := time.Date(2026, 12, 12, 18, 0, 0, 0, time.UTC)
	return &Listing{
		CoopID: 1, ActorIRI: "https://a.example/coops/mill", Kind: ListingOffer, Title: "Organic flour",
		Description: "Stone-ground wheat flour.", Category: "flour", ConformsTo: "https://www.wikidata.org/wiki/Q36465",
		Quantity:  Quantity{Value: 1, Unit: "kilogram"},
		Available: &Quantity{Value: 200, Unit: "kilogram"}, Minimum: &Quantity{Value: 10, Unit: "kilogram"},
		UnitBased:  true,
		Reciprocal: &Reciprocal{Kind: ReciprocalPrice, Price: Price{Amount: "1.20", Currency: "EUR"}},
		Place:      &Place{Name: "Leeds", Latitude: f64(53.8008), Longitude: f64(-1.5491)},
		ValidUntil: &until, State: ListingOpen,
	}
}

func TestListingValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(l *Listing)
		field  string // "" for valid
	}{
		{"valid", func(l *Listing) {}, ""},
		{"remote without category", func(l *Listing) { l.CoopID, l.Category = 0, "" }, ""},
		{"gift", func(l *Listing) { l.Reciprocal = nil }, ""},
		{"credits", func(l *Listing) { l.Reciprocal = &Reciprocal{Kind: ReciprocalCredits, Price: Price{Amount: "50"}} }, ""},
		{"resource", func(l *Listing) {
			l.Reciprocal = &Reciprocal{Kind: ReciprocalResource, ConformsTo: "https://www.wikidata.org/wiki/Q93189", Name: "eggs", Quantity: Quantity{Value: 12, Unit: "one"}}
		}, ""},
		{"opaque URI resource (Mitra caip)", func(l *Listing) {
			l.Reciprocal = &Reciprocal{Kind: ReciprocalResource, ConformsTo: "caip:19:monero:418015bb/slip44:128", Quantity: Quantity{Value: 1, Unit: "one"}}
		}, ""},
		{"place by name only", func(l *Listing) { l.Place = &Place{Name: "Leeds"} }, ""},
		{"bad kind", func(l *Listing) { l.Kind = "swap" }, "kind"},
		{"empty title", func(l *Listing) { l.Title = "  " }, "title"},
		{"long title", func(l *Listing) { l.Title = strings.Repeat("é", 201) }, "title"},
		{"100 KB title", func(l *Listing) { l.Title = strings.Repeat("a", 100<<10) }, "title"},
		{"two-line title", func(l *Listing) { l.Title = "a\nb" }, "title"},
		{"long description", func(l *Listing) { l.Description = strings.Repeat("x", 5001) }, "description"},
		{"local without category", func(l *Listing) { l.Category = "" }, "category"},
		{"category with space", func(l *Listing) { l.Category = "whole wheat" }, "category"},
		{"category upper case", func(l *Listing) { l.Category = "Flour" }, "category"},
		{"relative conforms_to", func(l *Listing) { l.ConformsTo = "/wiki/Q1" }, "conforms_to"},
		{"zero quantity", func(l *Listing) { l.Quantity.Value = 0 }, "quantity"},
		{"negative quantity", func(l *Listing) { l.Quantity.Value = -1 }, "quantity"},
		{"NaN quantity", func(l *Listing) { l.Quantity.Value = math.NaN() }, "quantity"},
		{"infinite quantity", func(l *Listing) { l.Quantity.Value = math.Inf(1) }, "quantity"},
		{"1e308 quantity", func(l *Listing) { l.Quantity.Value = 1e308 }, "quantity"},
		{"no unit", func(l *Listing) { l.Quantity.Unit = "" }, "quantity"},
		{"unit with spaces", func(l *Listing) { l.Quantity.Unit = "kilo gram" }, "quantity"},
		{"available in another unit", func(l *Listing) { l.Available.Unit = "gram" }, "available"},
		{"negative available", func(l *Listing) { l.Available.Value = -5 }, "available"},
		{"zero minimum", func(l *Listing) { l.Minimum.Value = 0 }, "minimum"},
		{"minimum above available", func(l *Listing) { l.Minimum.Value = 201 }, "minimum"},
		{"price with 5 decimals", func(l *Listing) { l.Reciprocal.Price.Amount = "1.00001" }, "reciprocal.price.amount"},
		{"negative price", func(l *Listing) { l.Reciprocal.Price.Amount = "-1" }, "reciprocal.price.amount"},
		{"unknown currency", func(l *Listing) { l.Reciprocal.Price.Currency = "XXX" }, "reciprocal.price.currency"},
		{"reciprocal of no kind", func(l *Listing) { l.Reciprocal = &Reciprocal{} }, "reciprocal"},
		{"latitude 91", func(l *Listing) { l.Place.Latitude = f64(91) }, "place.latitude"},
		{"longitude -181", func(l *Listing) { l.Place.Longitude = f64(-181) }, "place.longitude"},
		{"NaN latitude", func(l *Listing) { l.Place.Latitude = f64(math.NaN()) }, "place.latitude"},
		{"latitude alone", func(l *Listing) { l.Place.Longitude = nil }, "place"},
		{"empty place", func(l *Listing) { l.Place = &Place{} }, "place"},
		{"bad state", func(l *Listing) { l.State = "sold" }, "state"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := validListing()
			c.change(l)
			err := l.Validate()
			if c.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v (%v), want nil", err, fieldsOf(err))
				}
				return
			}
			fields := fieldsOf(err)
			if fields[c.field] == "" {
				t.Fatalf("Validate() fields = %v, want a problem with %q", fields, c.field)
			}
			if ErrorCode(err) != EINVALID {
				t.Errorf("code = %s, want %s", ErrorCode(err), EINVALID)
			}
		})
	}
}

func fieldsOf(err error) map[string]string {
	if e, ok := err.(*Error); ok {
		return e.Fields
	}
	return nil
}

func TestListingValidateAt(t *testing.T) {
	l := validListing()
	if err := l.ValidateAt(l.ValidUntil.Add(-time.Hour)); err != nil {
		t.Fatalf("end ahead: %v", err)
	}
	if f := fieldsOf(l.ValidateAt(l.ValidUntil.Add(time.Second))); f["valid_until"] == "" {
		t.Fatalf("end passed: fields %v, want valid_until", f)
	}
	l.Title = ""
	if f := fieldsOf(l.ValidateAt(l.ValidUntil.Add(time.Second))); f["valid_until"] == "" || f["title"] == "" {
		t.Fatalf("fields %v, want both valid_until and title", f)
	}
}

func TestParseQuantityValue(t *testing.T) {
	cases := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"200", 200, true}, {" 1.5 ", 1.5, true}, {"0", 0, true}, {"1e3", 1000, true}, {"1000000000000", 1e12, true},
		{"-1", 0, false}, {"NaN", 0, false}, {"nan", 0, false}, {"Inf", 0, false}, {"+Inf", 0, false},
		{"1e308", 0, false}, {"1e400", 0, false}, {"0x10", 0, false}, {"", 0, false}, {"12 kg", 0, false},
		{strings.Repeat("9", 41), 0, false},
	}
	for _, c := range cases {
		got, err := ParseQuantityValue(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParseQuantityValue(%q) = %v, %v; want %v, ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestParseCoordinate(t *testing.T) {
	for in, ok := range map[string]bool{"53.8": true, "-1.55": true, "0": true, "NaN": false, "Infinity": false, "1e999": false, "": false, "1,5": false} {
		if _, err := ParseCoordinate(in); (err == nil) != ok {
			t.Errorf("ParseCoordinate(%q) error = %v, want ok=%v", in, err, ok)
		}
	}
}

func TestQuantityString(t *testing.T) {
	cases := map[Quantity]string{
		{200, "kilogram"}: "200 kg", {1.5, "litre"}: "1.5 l", {3, "one"}: "3", {2, "hour"}: "2 h", {4, "crate"}: "4 crate",
	}
	for q, want := range cases {
		if got := q.String(); got != want {
			t.Errorf("%+v.String() = %q, want %q", q, got, want)
		}
	}
}

func TestDistanceKm(t *testing.T) {
	cases := []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
		want, tolerance        float64
	}{
		{"same point", 53.8, -1.55, 53.8, -1.55, 0, 1e-9},
		{"London to Paris", 51.5074, -0.1278, 48.8566, 2.3522, 343.5, 1},
		{"Leeds to Manchester", 53.8008, -1.5491, 53.4808, -2.2426, 58.2, 1},
		{"quarter meridian", 0, 0, 90, 0, 10007.5, 1},
		{"across the antimeridian", 0, 179.5, 0, -179.5, 111.2, 0.5},
	}
	for _, c := range cases {
		if got := DistanceKm(c.lat1, c.lon1, c.lat2, c.lon2); math.Abs(got-c.want) > c.tolerance {
			t.Errorf("%s: DistanceKm = %.2f, want %.1f ± %.1f", c.name, got, c.want, c.tolerance)
		}
	}
}

func TestBoundingBoxContainsTheCircle(t *testing.T) {
	for _, c := range []struct{ lat, lon, r float64 }{{53.8, -1.55, 25}, {0, 0, 500}, {-33.9, 151.2, 100}, {89.9, 10, 50}} {
		minLat, maxLat, minLon, maxLon := BoundingBox(c.lat, c.lon, c.r)
		for bearing := 0.0; bearing < 360; bearing += 15 {
			// A point at distance r along the bearing (spherical
			// destination formula) must fall inside the box.
			d := c.r / earthRadiusKm
			b := bearing * math.Pi / 180
			la1, lo1 := c.lat*math.Pi/180, c.lon*math.Pi/180
			la2 := math.Asin(math.Sin(la1)*math.Cos(d) + math.Cos(la1)*math.Sin(d)*math.Cos(b))
			lo2 := lo1 + math.Atan2(math.Sin(b)*math.Sin(d)*math.Cos(la1), math.Cos(d)-math.Sin(la1)*math.Sin(la2))
			lat, lon := la2*180/math.Pi, lo2*180/math.Pi
			if lon > 180 {
				lon -= 360
			}
			if lat < minLat-1e-9 || lat > maxLat+1e-9 || lon < minLon-1e-9 || lon > maxLon+1e-9 {
				t.Errorf("(%v,%v r=%v): point (%.4f,%.4f) at bearing %v outside [%.4f..%.4f]x[%.4f..%.4f]", c.lat, c.lon, c.r, lat, lon, bearing, minLat, maxLat, minLon, maxLon)
			}
		}
	}
}

func TestMatchNeedOffer(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	offer := func() *Listing {
		l := validListing()
		l.ID, l.IRI = 1, "https://a.example/listings/1"
		return l
	}
	need := func() *Listing {
		return &Listing{
			ID: 2, IRI: "https://c.example/listings/2", CoopID: 3, ActorIRI: "https://c.example/coops/bakery",
			Kind: ListingNeed, Title: "Flour for our bread", Category: "baking", State: ListingOpen,
			Quantity: Quantity{Value: 50, Unit: "kilogram"},
			Place:    &Place{Name: "Bradford", Latitude: f64(53.7960), Longitude: f64(-1.7594)},
		}
	}
	cases := []struct {
		name   string
		change func(n, o *Listing)
		radius float64
		want   bool
	}{
		{"text match, enough, 14 km apart", func(n, o *Listing) {}, 100, true},
		{"same category, no shared word", func(n, o *Listing) { n.Title, n.Category = "Grain product", "flour" }, 100, true},
		{"same resource type", func(n, o *Listing) { n.Title, n.ConformsTo = "Grain product", o.ConformsTo }, 100, true},
		{"nothing in common", func(n, o *Listing) { n.Title = "Bicycle repairs" }, 100, false},
		{"only a stop word in common", func(n, o *Listing) { n.Title, o.Title = "Need the", "the offer" }, 100, false},
		{"not enough available", func(n, o *Listing) { n.Quantity.Value = 250 }, 100, false},
		{"need's minimum is enough", func(n, o *Listing) {
			n.Quantity.Value = 250
			n.Minimum = &Quantity{Value: 100, Unit: "kilogram"}
		}, 100, true},
		{"quantity without available counts", func(n, o *Listing) { o.Available = nil; o.Quantity.Value = 60; o.Minimum = nil }, 100, true},
		{"offer minimum above the need", func(n, o *Listing) { o.Minimum.Value = 60 }, 100, false},
		{"different units", func(n, o *Listing) { n.Quantity.Unit = "tonne" }, 100, false},
		{"too far", func(n, o *Listing) {}, 10, false},
		{"need has no coordinates", func(n, o *Listing) { n.Place = &Place{Name: "Bradford"} }, 10, true},
		{"offer has no place", func(n, o *Listing) { o.Place = nil }, 10, true},
		{"offer closed", func(n, o *Listing) { o.State = ListingClosed }, 100, false},
		{"offer deleted", func(n, o *Listing) { o.Deleted = true }, 100, false},
		{"offer expired", func(n, o *Listing) { past := now.Add(-time.Hour); o.ValidUntil = &past }, 100, false},
		{"need expired", func(n, o *Listing) { past := now; n.ValidUntil = &past }, 100, false},
		{"same actor", func(n, o *Listing) { n.ActorIRI = o.ActorIRI }, 100, false},
		{"two offers", func(n, o *Listing) { n.Kind = ListingOffer }, 100, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, o := need(), offer()
			c.change(n, o)
			if got := MatchNeedOffer(n, o, now, c.radius); got != c.want {
				t.Fatalf("MatchNeedOffer = %v, want %v", got, c.want)
			}
		})
	}
}

func TestMatchWords(t *testing.T) {
	got := strings.Join(MatchWords("Need: 50 kg of FLOUR, flour & oats for the bakery"), " ")
	if want := "flour oats bakery"; got != want {
		t.Fatalf("MatchWords = %q, want %q", got, want)
	}
}

func TestCurrencyOf(t *testing.T) {
	for iri, want := range map[string]string{
		"https://www.wikidata.org/wiki/Q4917":   "USD",
		"https://www.wikidata.org/entity/Q4916": "EUR",
		"https://www.wikidata.org/wiki/Q1":      "",
		"caip:19:monero:418015bb/slip44:128":    "",
	} {
		if got := CurrencyOf(iri); got != want {
			t.Errorf("CurrencyOf(%s) = %q, want %q", iri, got, want)
		}
	}
}
