package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store/pgtest"
)

// twoProcesses opens one PostgreSQL database twice, as two coopfed
// processes would: each Store has its own pool, cache and listener.
func twoProcesses(t testing.TB) (a, b *Store) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	var err error
	if a, err = Open(dsn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if b, err = Open(dsn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// waitFor polls cond for up to five seconds.
func waitFor(t testing.TB, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("after 5s: %s", what)
		}
		time.Sleep(200 * time.Microsecond)
	}
	return time.Since(start)
}

// TestCacheInvalidatedAcrossProcesses: a coop or a block changed through
// one process is seen by the other at once, not when a TTL lapses: the
// commit's NOTIFY drops the other process's cache.
func TestCacheInvalidatedAcrossProcesses(t *testing.T) {
	if !onPostgres {
		t.Skip("one process owns a SQLite database")
	}
	ctx := context.Background()
	a, b := twoProcesses(t)
	c := createTestCoop(t, a, "bakery")
	if got, err := b.CoopByName(ctx, "bakery"); err != nil || got.DisplayName != "" {
		t.Fatalf("b reads %+v, %v", got, err)
	}
	// b now holds the coop in its cache; a renames it.
	c.DisplayName = "The Bakery"
	mustUpdate(t, a, func(tx *Tx) error { return tx.UpdateCoopProfile(c) })
	waitFor(t, "b still serves the old profile from its cache", func() bool {
		got, err := b.CoopByName(ctx, "bakery")
		return err == nil && got.DisplayName == "The Bakery"
	})
	// Blocks: b loaded the (empty) block lists; a blocks a domain.
	if blocked, _ := b.DomainBlocked(ctx, "spam.example"); blocked {
		t.Fatal("blocked before any block")
	}
	mustUpdate(t, a, func(tx *Tx) error { return tx.BlockDomain("spam.example", "spam") })
	waitFor(t, "b lets the blocked domain in from its cached block list", func() bool {
		blocked, err := b.DomainBlocked(ctx, "spam.example")
		return err == nil && blocked
	})
}

// BenchmarkCacheInvalidation measures how long a coop changed through one
// process stays stale in another's cache: from the commit to the first
// read in the other process that sees the change.
//
//	COOPFED_TEST_POSTGRES=... go test -tags sqlite_fts5 -run '^$' -bench CacheInvalidation -benchtime 300x ./store
func BenchmarkCacheInvalidation(b *testing.B) {
	if !onPostgres {
		b.Skip("PostgreSQL only: one process owns a SQLite database")
	}
	ctx := context.Background()
	p1, p2 := twoProcesses(b)
	c := &coopfed.Coop{Name: "bakery", PublicKeyPEM: "public", PrivateKeyPEM: "private"}
	if err := p1.Update(ctx, func(tx *Tx) error { return tx.CreateCoop(c) }); err != nil {
		b.Fatal(err)
	}
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		if _, err := p2.CoopByName(ctx, "bakery"); err != nil { // cached in p2
			b.Fatal(err)
		}
		c.DisplayName = fmt.Sprintf("v%d", i)
		if err := p1.Update(ctx, func(tx *Tx) error { return tx.UpdateCoopProfile(c) }); err != nil {
			b.Fatal(err)
		}
		d = append(d, waitFor(b, "the change never reached the other process", func() bool {
			got, err := p2.CoopByName(ctx, "bakery")
			return err == nil && got.DisplayName == c.DisplayName
		}))
	}
	b.StopTimer()
	slices.Sort(d)
	pct := func(p float64) float64 {
		return float64(d[min(len(d)-1, int(float64(len(d))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "stale-p50-ms")
	b.ReportMetric(pct(0.99), "stale-p99-ms")
}
