package federation_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/fedtest"
	"github.com/coopfed/coopfed/store"
	"github.com/coopfed/coopfed/store/pgtest"
	"github.com/coopfed/coopfed/store/storetest"
)

// BenchmarkGroupRelay1000 measures a market group of 1,000 member coops
// relaying one listing: a member of the group's instance publishes an
// offer and the group announces it to the 999 others, each on its own
// inbox (ten loopback servers of a hundred). The figure is deliveries a
// second against the RSA signing floor of the same run, as for
// BenchmarkFanOut1000: relaying is one signed POST per member.
//
//	go test -tags sqlite_fts5 -run '^$' -bench GroupRelay1000 -benchtime 3x ./federation
func BenchmarkGroupRelay1000(b *testing.B) {
	ctx := context.Background()
	inst := fedtest.Start(b, fedtest.Options{Coop: "coop"})
	farm := fedtest.NewInboxFarm(b, fanServers, fanPerServer-1)
	members := farm.Actors(fedtest.FixedPublicKeyPEM(1))
	g := &coopfed.Group{Coop: coopfed.Coop{Name: "market"}}
	if err := inst.Federation.CreateGroup(ctx, inst.Coop, g); err != nil {
		b.Fatal(err)
	}
	inst.SeedFollowersOf(b, g.ID, members)
	if _, err := inst.Federation.JoinGroup(ctx, inst.Coop, "market@"+inst.Federation.IRIs().Host()); err != nil {
		b.Fatal(err)
	}
	remote := len(members)
	offer := func(i int) *coopfed.Listing {
		return &coopfed.Listing{Kind: coopfed.ListingOffer, Title: fmt.Sprintf("surplus apples, lot %d", i), Category: "fruit",
			Description: strings.Repeat("Crisp eating apples from the orchard, boxed; collect from the farm gate or ask for delivery. ", 4),
			Quantity:    coopfed.Quantity{Value: 1, Unit: "kilogram"}, Available: &coopfed.Quantity{Value: 400, Unit: "kilogram"}, UnitBased: true}
	}

	meter := startCPU()
	b.ResetTimer()
	for i := range b.N {
		if err := inst.Federation.PublishListing(ctx, inst.Coop, offer(i)); err != nil {
			b.Fatal(err)
		}
		if !farm.WaitTotal(int64(remote*(i+1)), 2*time.Minute) {
			b.Fatalf("iteration %d: %d POSTs arrived, want %d", i, farm.Total(), remote*(i+1))
		}
	}
	b.StopTimer()
	cpu, cores := meter.stop()
	floor := signFloorRate()
	fedtest.Eventually(b, 10*time.Second, "delivery results recorded", func() bool {
		st, err := inst.Store.DeliveryStats(ctx)
		return err == nil && st.Pending == 0 && st.Done == int64(remote*b.N)
	})
	if farm.Bad() != 0 || farm.Total() != int64(remote*b.N) {
		b.Fatalf("inboxes got %d POSTs (%d to unknown paths), want %d", farm.Total(), farm.Bad(), remote*b.N)
	}
	for i, n := range farm.Counts() {
		if n != int64(b.N) {
			b.Fatalf("member %d got %d Announces, want %d", i, n, b.N)
		}
	}
	rate := float64(remote*b.N) / b.Elapsed().Seconds()
	cpuDel := cpu / time.Duration(remote*b.N)
	b.ReportMetric(rate, "deliveries/s")
	b.ReportMetric(floor.perSec, "floor-signs/s")
	b.ReportMetric(100*rate/floor.perSec, "%floor")
	b.ReportMetric(float64(cpuDel.Microseconds()), "cpu-us/delivery")
	b.ReportMetric(100*floor.cpuOp.Seconds()/cpuDel.Seconds(), "%floor-cpu")
	b.ReportMetric(cores, "cores")
	b.ReportMetric(float64(farm.Bytes())/float64(farm.Total()), "B/delivery")
}

// BenchmarkMarketThroughGroups measures the market's queries on 1M
// listings of which the nine tenths that are remote arrived through four
// market groups (a fifth of them through two): text, category, distance
// and group searches, each with the page's lookup of the groups every
// result came through, as /market runs them. Latencies are p50-ms and
// p99-ms over the iterations:
//
//	go test -tags sqlite_fts5 -run '^$' -bench MarketThroughGroups -benchtime 200x ./federation
//
// With COOPFED_TEST_POSTGRES set, the same market is built and searched on
// PostgreSQL too (db=postgres), side by side with SQLite (db=sqlite).
func BenchmarkMarketThroughGroups(b *testing.B) {
	for _, bb := range benchBackends() {
		if bb.procs > 1 {
			continue // one store: processes change nothing here
		}
		b.Run("db="+bb.name, func(b *testing.B) {
			dsn := filepath.Join(b.TempDir(), "market.db")
			if bb.pg {
				dsn = pgtest.NewDatabase(b)
			}
			benchMarketThroughGroups(b, dsn)
		})
	}
}

func benchMarketThroughGroups(b *testing.B, dsn string) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st, err := store.Open(dsn, store.WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	coop, err := federation.NewCoop(ctx, st, "gen", "Generated")
	if err != nil {
		b.Fatal(err)
	}
	groups := []string{"https://north.example/groups/market", "https://south.example/groups/market", "https://east.example/groups/food", "https://west.example/groups/tools"}
	const n = 1_000_000
	start := time.Now()
	if err := storetest.GenerateListings(ctx, st, storetest.Config{N: n, Seed: 1, CoopID: coop.ID, BaseURL: "https://coop.example", Now: now, Groups: groups}); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d listings through %d groups in %s", n, len(groups), time.Since(start).Round(time.Millisecond))
	gen := storetest.NewGenerator(storetest.Config{Seed: 2})
	rng := rand.New(rand.NewPCG(3, 4))
	texts := []string{"organic flour", "honey", "bike repair", "fresh eggs", "oak planks", "cold storage", "seed potatoes", "olive oil"}
	page := func(q store.MarketQuery) error {
		q.Limit, q.Now = 20, now
		hits, err := st.SearchListings(ctx, q)
		if err != nil {
			return err
		}
		ids := make([]int64, len(hits))
		for i, h := range hits {
			ids[i] = h.ID
		}
		_, err = st.ListingVias(ctx, ids)
		return err
	}
	for _, c := range []struct {
		name string
		q    func(i int) store.MarketQuery
	}{
		{"text", func(i int) store.MarketQuery {
			return store.MarketQuery{Text: texts[i%len(texts)], Sort: store.SortRelevance}
		}},
		{"category", func(i int) store.MarketQuery {
			return store.MarketQuery{Category: gen.Category(i), Kind: coopfed.ListingOffer, Sort: store.SortRecent}
		}},
		{"distance", func(i int) store.MarketQuery {
			c := storetest.Cities[i%len(storetest.Cities)]
			near := [2]float64{c[0] + rng.NormFloat64()*0.2, c[1] + rng.NormFloat64()*0.2}
			return store.MarketQuery{Near: &near, RadiusKm: 25, Sort: store.SortDistance}
		}},
		{"group", func(i int) store.MarketQuery {
			return store.MarketQuery{Group: groups[i%len(groups)], Sort: store.SortRecent}
		}},
		{"group-category", func(i int) store.MarketQuery {
			return store.MarketQuery{Group: groups[i%len(groups)], Category: gen.Category(i), Sort: store.SortRecent}
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			d := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if err := page(c.q(i)); err != nil {
					b.Fatal(err)
				}
				d = append(d, time.Since(t0))
			}
			slices.Sort(d)
			pct := func(p float64) float64 {
				return float64(d[min(len(d)-1, int(float64(len(d))*p))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}
