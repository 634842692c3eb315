package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCheckpointerCopiesTheWAL checks that commits leave checkpoints to the
// background checkpointer (SQLite's automatic one is off on every store
// connection), that it copies every frame once the writes stop, and that
// what was committed is in the database file after a reopen.
func TestCheckpointerCopiesTheWAL(t *testing.T) {
	if onPostgres {
		t.Skip("PostgreSQL has no WAL file to checkpoint")
	}
	path := filepath.Join(t.TempDir(), "coopfed.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, pool := range []*db{s.write, s.read} {
		var frames int
		if err := pool.QueryRowContext(context.Background(), `PRAGMA wal_autocheckpoint`).Scan(&frames); err != nil {
			t.Fatal(err)
		}
		if frames != 0 {
			t.Fatalf("wal_autocheckpoint = %d on a store connection, want 0", frames)
		}
		var limit int
		if err := pool.QueryRowContext(context.Background(), `PRAGMA journal_size_limit`).Scan(&limit); err != nil {
			t.Fatal(err)
		}
		if limit != walSizeLimit {
			t.Fatalf("journal_size_limit = %d on a store connection, want %d", limit, walSizeLimit)
		}
	}
	// waitCopied waits until the checkpointer has copied at least min
	// frames and nothing of the WAL is left.
	waitCopied := func(min int64) CheckpointStats {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			st := s.Checkpoints()
			if st.Frames >= min && st.Pending == 0 {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("checkpoints: %+v, want %d frames copied and none pending", st, min)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	before := waitCopied(1) // the migrations' frames
	c := createTestCoop(t, s, "bakery")
	for i := range 200 {
		mustUpdate(t, s, func(tx *Tx) error {
			_, err := tx.MarkSeen(fmt.Sprintf("https://peer.example/activities/%d", i), "")
			return err
		})
	}
	// Each commit writes at least one frame, and only the checkpointer
	// copies frames.
	waitCopied(before.Frames + 200)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The last connection's close checkpoints and removes the WAL.
	if _, err := os.Stat(path + "-wal"); !os.IsNotExist(err) {
		t.Errorf("WAL file after close: %v, want none", err)
	}
	s = openTestStoreAt(t, path, nil)
	for _, id := range []string{"https://peer.example/activities/0", "https://peer.example/activities/199"} {
		if seen, err := s.Seen(context.Background(), id, ""); err != nil || !seen {
			t.Errorf("Seen(%s) after reopen = %v, %v", id, seen, err)
		}
	}
	if got, err := s.CoopByName(context.Background(), "bakery"); err != nil || got.ID != c.ID {
		t.Errorf("coop after reopen: %v, %v", got, err)
	}
}
