package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
)

func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.Open(filepath.Join(dir, "live.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	put := func(name string) error {
		return s.Update(ctx, func(tx *store.Tx) error {
			return tx.CreateCoop(&coopfed.Coop{Name: name, PublicKeyPEM: "pub", PrivateKeyPEM: "priv"})
		})
	}
	if err := put("first"); err != nil {
		t.Fatal(err)
	}
	// A writer keeps committing while the backup runs.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 200 {
			if err := put(fmt.Sprintf("w%d", i)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	dest := filepath.Join(dir, "backup.db")
	pages, err := store.Backup(ctx, s.Path(), dest)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if pages == 0 {
		t.Fatal("backup copied no pages")
	}
	b, err := store.Open(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CoopByName(ctx, "first"); err != nil {
		t.Fatalf("backup lacks the coop written before it: %v", err)
	}
	if _, err := store.Backup(ctx, s.Path(), dest); err == nil {
		t.Fatal("backup overwrote an existing file")
	}
}
