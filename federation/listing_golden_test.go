package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
)

// goldenListing is the example offer: 200 kg of organic flour at
// 1.20 EUR/kg in Leeds until 12 December.
func goldenListing() *coopfed.Listing {
	lat, lon := 53.8008, -1.5491
	until := time.Date(2026, 12, 12, 18, 0, 0, 0, time.UTC)
	return &coopfed.Listing{
		Kind: coopfed.ListingOffer, Title: "organic flour", Description: "Stone-ground wheat flour from this year's harvest.\nCollect at the mill.",
		Category: "flour", ConformsTo: "https://www.wikidata.org/wiki/Q36465",
		Quantity:  coopfed.Quantity{Value: 1, Unit: "kilogram"},
		Available: &coopfed.Quantity{Value: 200, Unit: "kilogram"}, Minimum: &coopfed.Quantity{Value: 10, Unit: "kilogram"},
		UnitBased:  true,
		Reciprocal: &coopfed.Reciprocal{Kind: coopfed.ReciprocalPrice, Price: coopfed.Price{Amount: "1.20", Currency: "EUR"}},
		Place:      &coopfed.Place{Name: "Leeds", Latitude: &lat, Longitude: &lon},
		ValidUntil: &until,
	}
}

// listingGoldenDocuments drives a listing through its life on the golden
// instance (published, its quantity changed, closed, deleted) and returns
// the documents served and sent, by golden file name.
func listingGoldenDocuments(t testing.TB) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	e := newGoldenEnv(t)
	f, c := e.f, e.coop
	docs := map[string][]byte{}
	stored := func(name, iri string) {
		t.Helper()
		a, err := e.store.ActivityByIRI(ctx, iri)
		if err != nil {
			t.Fatalf("%s: activity %s: %v", name, iri, err)
		}
		docs[name] = a.JSON
	}
	put := func(name string, v any) {
		t.Helper()
		b, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		docs[name] = b
	}

	e.tick(time.Hour)
	l := goldenListing()
	if err := f.PublishListing(ctx, c, l); err != nil {
		t.Fatal(err)
	}
	stored("listing-create.json", f.iris.Activity(e.last()))
	put("listing-note.json", f.ListingDocument(c, l))

	e.tick(time.Hour)
	if _, err := f.EditListing(ctx, c, l.IRI, func(l *coopfed.Listing) error {
		l.Available.Value = 150
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	stored("listing-update.json", f.iris.Activity(e.last()))

	e.tick(time.Hour)
	if _, err := f.CloseListing(ctx, c, l.IRI); err != nil {
		t.Fatal(err)
	}
	stored("listing-close.json", f.iris.Activity(e.last()))

	e.tick(time.Hour)
	if err := f.DeleteListing(ctx, c, l.IRI); err != nil {
		t.Fatal(err)
	}
	stored("listing-delete.json", f.iris.Activity(e.last()))
	gone, err := e.store.ListingByIRI(ctx, l.IRI)
	if err != nil {
		t.Fatal(err)
	}
	put("listing-tombstone.json", f.ListingTombstone(gone))
	paid := goldenListing()
	paid.IRI = f.iris.Listing("golden-paid")
	paid.PaymentLinks = []coopfed.PaymentLink{{Name: "Pay for the flour", Href: "https://pay.example/flour"},
		{Name: "Bank transfer", Href: "payto://iban/DE75512108001245126199"}}
	put("listing-payment-links.json", f.ListingDocument(c, paid))
	return docs
}

var listingGoldenFiles = []string{
	"listing-note.json", "listing-create.json", "listing-update.json", "listing-close.json", "listing-delete.json", "listing-tombstone.json",
	"listing-payment-links.json",
}

// TestListingGolden compares the listing documents with their golden files
// (run with -update to rewrite them after an intended change).
func TestListingGolden(t *testing.T) {
	docs := listingGoldenDocuments(t)
	if len(docs) != len(listingGoldenFiles) {
		t.Fatalf("made %d documents, the table lists %d", len(docs), len(listingGoldenFiles))
	}
	again := listingGoldenDocuments(t)
	for _, name := range listingGoldenFiles {
		t.Run(name, func(t *testing.T) {
			if !bytes.Equal(docs[name], again[name]) {
				t.Fatalf("differs between two identical runs:\n%s\n%s", docs[name], again[name])
			}
			compareGolden(t, name, docs[name])
		})
	}
}

// TestListingGoldenShapes checks what Mastodon and FEP-0837 peers rely on,
// so that -update cannot accept a document either would misread.
func TestListingGoldenShapes(t *testing.T) {
	docs := listingGoldenDocuments(t)
	decode := func(t *testing.T, name string) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(docs[name], &m); err != nil {
			t.Fatal(err)
		}
		requireArrays(t, name, m)
		return m
	}
	coopIRI := goldenBase + "/coops/bakery"

	note := decode(t, "listing-note.json")
	t.Run("a Note Mastodon shows", func(t *testing.T) {
		if note["type"] != "Note" || note["attributedTo"] != coopIRI {
			t.Errorf("type, attributedTo = %v, %v", note["type"], note["attributedTo"])
		}
		content, _ := note["content"].(string)
		if !strings.Contains(content, "Offer: 200 kg organic flour, 1.20 EUR/kg, Leeds, until 12 Dec") ||
			!strings.Contains(content, `href="`+note["id"].(string)+`"`) || !strings.Contains(content, `class="mention hashtag" rel="tag">#<span>flour</span>`) {
			t.Errorf("content = %s", content)
		}
		if !containsValue(note["to"].([]any), PublicIRI) || !containsValue(note["cc"].([]any), coopIRI+"/followers") {
			t.Errorf("to/cc = %v / %v", note["to"], note["cc"])
		}
		var names []string
		for _, tag := range note["tag"].([]any) {
			m := tag.(map[string]any)
			if m["type"] != "Hashtag" {
				t.Errorf("tag %v is not a Hashtag", m)
			}
			names = append(names, m["name"].(string))
		}
		if strings.Join(names, " ") != "#offer #flour" {
			t.Errorf("hashtags = %v", names)
		}
	})
	t.Run("FEP-0837 properties and context", func(t *testing.T) {
		ctx, _ := note["@context"].([]any)
		if len(ctx) != 2 || ctx[0] != ContextActivityStreams {
			t.Fatalf("@context = %v", note["@context"])
		}
		terms := ctx[1].(map[string]any)
		for term, iri := range map[string]string{"vf": NamespaceValueflows, "om2": NamespaceOM2, "purpose": "vf:purpose", "publishes": "vf:publishes",
			"reciprocal": "vf:reciprocal", "unitBased": "vf:unitBased", "resourceQuantity": "vf:resourceQuantity",
			"availableQuantity": "vf:availableQuantity", "minimumQuantity": "vf:minimumQuantity", "hasUnit": "om2:hasUnit",
			"hasNumericalValue": "om2:hasNumericalValue", "Intent": "vf:Intent", "resourceConformsTo": "vf:resourceConformsTo"} {
			if terms[term] != iri {
				t.Errorf("@context %s = %v, want %s", term, terms[term], iri)
			}
		}
		if note["purpose"] != "offer" || note["unitBased"] != true || note["endTime"] != "2026-12-12T18:00:00Z" {
			t.Errorf("purpose, unitBased, endTime = %v, %v, %v", note["purpose"], note["unitBased"], note["endTime"])
		}
		pub := note["publishes"].(map[string]any)
		if pub["type"] != "Intent" || pub["id"] != note["id"].(string)+"#primary" || pub["action"] != "transfer" {
			t.Errorf("publishes = %v", pub)
		}
		if q := pub["availableQuantity"].(map[string]any); q["hasUnit"] != "kilogram" || q["hasNumericalValue"] != "200" {
			t.Errorf("availableQuantity = %v", q)
		}
		rec := note["reciprocal"].(map[string]any)
		if rec["id"] != note["id"].(string)+"#reciprocal" || rec["resourceConformsTo"] != coopfed.Currencies["EUR"] ||
			rec["resourceQuantity"].(map[string]any)["hasNumericalValue"] != "1.20" {
			t.Errorf("reciprocal = %v", rec)
		}
		loc := note["location"].(map[string]any)
		if loc["type"] != "Place" || loc["name"] != "Leeds" || loc["latitude"] != 53.8008 || loc["longitude"] != -1.5491 {
			t.Errorf("location = %v", loc)
		}
	})
	t.Run("activities", func(t *testing.T) {
		for name, typ := range map[string]string{"listing-create.json": "Create", "listing-update.json": "Update", "listing-close.json": "Update", "listing-delete.json": "Delete"} {
			m := decode(t, name)
			if m["type"] != typ || m["actor"] != coopIRI {
				t.Errorf("%s: type, actor = %v, %v", name, m["type"], m["actor"])
			}
			obj := m["object"].(map[string]any)
			if _, ok := obj["@context"]; ok {
				t.Errorf("%s: embedded object repeats @context", name)
			}
		}
		upd := decode(t, "listing-update.json")["object"].(map[string]any)
		if upd["updated"] == nil || upd["publishes"].(map[string]any)["availableQuantity"].(map[string]any)["hasNumericalValue"] != "150" {
			t.Errorf("update object = %v", upd)
		}
		closed := decode(t, "listing-close.json")["object"].(map[string]any)
		if closed["closed"] == nil {
			t.Errorf("close carries no closed: %v", closed)
		}
		tomb := decode(t, "listing-delete.json")["object"].(map[string]any)
		if tomb["type"] != "Tombstone" || tomb["formerType"] != "Note" || tomb["id"] != note["id"] {
			t.Errorf("delete object = %v", tomb)
		}
	})
}
