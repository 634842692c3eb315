package federation

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
	"github.com/coopfed/coopfed/store/storetest"
)

// BenchmarkMarket measures market search and matching on synthetic markets
// of 100k and 1M listings (storetest.GenerateListings: 30 categories, 70%
// offers, 60% of listings clustered around 30 European cities, 20%
// elsewhere in Europe, 20% without coordinates). Each database is built
// once, in a temp dir, and shared by its sub-benchmarks. Latencies are
// reported as p50-ms and p99-ms over the iterations, each iteration one
// query of a rotating set:
//
//	go test -tags sqlite_fts5 -run '^$' -bench Market -benchtime 200x ./federation
func BenchmarkMarket(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("listings=%d", n), func(b *testing.B) {
			ctx := context.Background()
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			st, err := store.Open(filepath.Join(b.TempDir(), "market.db"), store.WithClock(func() time.Time { return now }))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			coop, err := NewCoop(ctx, st, "gen", "Generated")
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if err := storetest.GenerateListings(ctx, st, storetest.Config{N: n, Seed: 1, CoopID: coop.ID, BaseURL: "https://coop.example", Now: now}); err != nil {
				b.Fatal(err)
			}
			b.Logf("generated %d listings in %s", n, time.Since(start).Round(time.Millisecond))
			f, err := New(ctx, Config{BaseURL: "https://coop.example", Store: st, Now: func() time.Time { return now }})
			if err != nil {
				b.Fatal(err)
			}
			g := storetest.NewGenerator(storetest.Config{Seed: 2})
			rng := rand.New(rand.NewPCG(3, 4))
			texts := []string{"organic flour", "honey", "bike repair", "fresh eggs", "oak planks", "cold storage", "seed potatoes", "olive oil"}

			latency(b, "text", func(i int) error {
				_, err := st.SearchListings(ctx, store.MarketQuery{Text: texts[i%len(texts)], Sort: store.SortRelevance, Limit: 20, Now: now})
				return err
			})
			latency(b, "text-recent", func(i int) error {
				_, err := st.SearchListings(ctx, store.MarketQuery{Text: texts[i%len(texts)], Sort: store.SortRecent, Limit: 20, Now: now})
				return err
			})
			latency(b, "category", func(i int) error {
				_, err := st.SearchListings(ctx, store.MarketQuery{Category: g.Category(i), Kind: coopfed.ListingOffer, Sort: store.SortRecent, Limit: 20, Now: now})
				return err
			})
			latency(b, "distance", func(i int) error {
				c := storetest.Cities[i%len(storetest.Cities)]
				near := [2]float64{c[0] + rng.NormFloat64()*0.2, c[1] + rng.NormFloat64()*0.2}
				_, err := st.SearchListings(ctx, store.MarketQuery{Near: &near, RadiusKm: 25, Sort: store.SortDistance, Limit: 20, Now: now})
				return err
			})
			latency(b, "distance-category", func(i int) error {
				c := storetest.Cities[i%len(storetest.Cities)]
				near := [2]float64{c[0], c[1]}
				_, err := st.SearchListings(ctx, store.MarketQuery{Near: &near, RadiusKm: 50, Category: g.Category(i), Sort: store.SortDistance, Limit: 20, Now: now})
				return err
			})
			// Matching one new need against the market (about 70% offers):
			// the candidate query, the rule and the notifications, in a
			// transaction rolled back so every iteration starts alike.
			errRollback := errors.New("rollback")
			latency(b, "match-need", func(i int) error {
				c := storetest.Cities[i%len(storetest.Cities)]
				lat, lon := c[0], c[1]
				need := &coopfed.Listing{IRI: fmt.Sprintf("https://coop.example/listings/need%d", i), CoopID: coop.ID, ActorIRI: "https://coop.example/coops/other",
					Kind: coopfed.ListingNeed, Title: "organic flour for bread", Category: g.Category(i), State: coopfed.ListingOpen,
					Quantity: coopfed.Quantity{Value: 20, Unit: "kilogram"}, Published: now,
					Place: &coopfed.Place{Latitude: &lat, Longitude: &lon}}
				err := st.Update(ctx, func(tx *store.Tx) error {
					if err := tx.InsertListing(need); err != nil {
						return err
					}
					if err := f.notifyMatches(tx, need); err != nil {
						return err
					}
					return errRollback
				})
				if errors.Is(err, errRollback) {
					return nil
				}
				return err
			})
		})
	}
}

// latency runs op b.N times as a sub-benchmark and reports the median and
// the 99th percentile of its durations.
func latency(b *testing.B, name string, op func(i int) error) {
	b.Run(name, func(b *testing.B) {
		d := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			if err := op(i); err != nil {
				b.Fatal(err)
			}
			d = append(d, time.Since(t0))
		}
		b.StopTimer()
		slices.Sort(d)
		pct := func(p float64) float64 {
			return float64(d[min(len(d)-1, int(float64(len(d))*p))].Microseconds()) / 1000
		}
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
	})
}
