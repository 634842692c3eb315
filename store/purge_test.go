package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/coopfed/coopfed/store"
)

func TestPurgeSeenKeepsRecentIDs(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	clock := now.Add(-40 * 24 * time.Hour)
	s, err := store.Open(filepath.Join(t.TempDir(), "db"), store.WithClock(func() time.Time { return clock }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mark := func(id string) {
		if err := s.Update(ctx, func(tx *store.Tx) error { _, err := tx.MarkSeen(id, ""); return err }); err != nil {
			t.Fatal(err)
		}
	}
	mark("https://old.example/1")
	clock = now
	mark("https://new.example/1")
	n, err := s.PurgeSeen(ctx, now.Add(-30*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("purged %d (%v), want 1", n, err)
	}
	if seen, _ := s.Seen(ctx, "https://new.example/1", ""); !seen {
		t.Fatal("a recent id was purged")
	}
	if seen, _ := s.Seen(ctx, "https://old.example/1", ""); seen {
		t.Fatal("an old id was kept")
	}
}
