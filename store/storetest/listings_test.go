package storetest

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
	"github.com/coopfed/coopfed/store/pgtest"
)

// TestGenerateListings builds a small market and checks that it is whole:
// every row stored, the full-text index consistent with the table, and the
// triggers and indexes back, so a listing added afterwards is searchable.
func TestGenerateListings(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s, err := store.Open(filepath.Join(t.TempDir(), "gen.db"), store.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := &coopfed.Coop{Name: "gen", PublicKeyPEM: "pub", PrivateKeyPEM: "priv"}
	if err := s.Update(ctx, func(tx *store.Tx) error { return tx.CreateCoop(c) }); err != nil {
		t.Fatal(err)
	}
	if err := GenerateListings(ctx, s, Config{N: 3000, Seed: 1, CoopID: c.ID, Now: now}); err != nil {
		t.Fatal(err)
	}
	counts, err := s.Counts(ctx)
	if err != nil || counts["listings"] != 3000 {
		t.Fatalf("listings = %d, %v; want 3000", counts["listings"], err)
	}
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: s.Path()}).EscapedPath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO listings_fts(listings_fts) VALUES ('integrity-check')`); err != nil {
		t.Fatalf("FTS index: %v", err)
	}
	var indexes, triggers int
	db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE tbl_name = 'listings' AND type = 'index' AND sql IS NOT NULL`).Scan(&indexes)
	db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE tbl_name = 'listings' AND type = 'trigger'`).Scan(&triggers)
	if indexes != 8 || triggers != 3 {
		t.Fatalf("%d indexes and %d triggers after the load, want 8 and 3", indexes, triggers)
	}
	extra := &coopfed.Listing{IRI: "https://x.example/p/1", ActorIRI: "https://x.example/u", Kind: coopfed.ListingOffer, Title: "Zanzibar cloves",
		Quantity: coopfed.Quantity{Value: 1, Unit: "one"}, State: coopfed.ListingOpen}
	if err := s.Update(ctx, func(tx *store.Tx) error { return tx.InsertListing(extra) }); err != nil {
		t.Fatal(err)
	}
	hits, err := s.SearchListings(ctx, store.MarketQuery{Text: "zanzibar"})
	if err != nil || len(hits) != 1 {
		t.Fatalf("search after the load: %d hits, %v", len(hits), err)
	}
	// Same seed, same market.
	a, b := NewGenerator(Config{Seed: 7}), NewGenerator(Config{Seed: 7})
	for i := range 50 {
		if x, y := a.Listing(i), b.Listing(i); x.Title != y.Title || x.IRI != y.IRI || x.Published != y.Published {
			t.Fatalf("listing %d differs between two generators of one seed", i)
		}
	}
}

// TestGenerateListingsPostgres is TestGenerateListings on PostgreSQL: the
// COPY path stores every row and its groups, the indexes come back, and
// the id sequence continues after the generated rows.
func TestGenerateListingsPostgres(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s, err := store.Open(pgtest.NewDatabase(t), store.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := &coopfed.Coop{Name: "gen", PublicKeyPEM: "pub", PrivateKeyPEM: "priv"}
	if err := s.Update(ctx, func(tx *store.Tx) error { return tx.CreateCoop(c) }); err != nil {
		t.Fatal(err)
	}
	groups := []string{"https://north.example/groups/market", "https://south.example/groups/market"}
	if err := GenerateListings(ctx, s, Config{N: 3000, Seed: 1, CoopID: c.ID, Now: now, Groups: groups}); err != nil {
		t.Fatal(err)
	}
	counts, err := s.Counts(ctx)
	if err != nil || counts["listings"] != 3000 || counts["listing_groups"] == 0 {
		t.Fatalf("listings = %d, listing_groups = %d, %v", counts["listings"], counts["listing_groups"], err)
	}
	extra := &coopfed.Listing{IRI: "https://x.example/p/1", ActorIRI: "https://x.example/u", Kind: coopfed.ListingOffer, Title: "Zanzibar cloves",
		Quantity: coopfed.Quantity{Value: 1, Unit: "one"}, State: coopfed.ListingOpen}
	if err := s.Update(ctx, func(tx *store.Tx) error { return tx.InsertListing(extra) }); err != nil {
		t.Fatal(err)
	}
	if extra.ID <= 3000 {
		t.Errorf("a listing added after the load got id %d, inside the generated range", extra.ID)
	}
	hits, err := s.SearchListings(ctx, store.MarketQuery{Text: "zanzibar"})
	if err != nil || len(hits) != 1 {
		t.Fatalf("search after the load: %d hits, %v", len(hits), err)
	}
	if hits, err := s.SearchListings(ctx, store.MarketQuery{Group: groups[0], Limit: 5}); err != nil || len(hits) != 5 {
		t.Fatalf("group search after the load: %d hits, %v", len(hits), err)
	}
}
