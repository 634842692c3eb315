package federation

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
	"github.com/coopfed/coopfed/store/pgtest"
)

// Concurrent writes joined in one commit keep their own outcome: a write
// that fails (in Go or in the database) or panics is rolled back alone, and
// every other one is committed.
// On PostgreSQL a failed statement aborts the whole transaction unless
// rolled back to a savepoint, so the test runs on both backends.
func TestGroupCommitIsolatesEachWrite(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testGroupCommit(t, filepath.Join(t.TempDir(), "c.db")) })
	if pgtest.AdminDSN() != "" {
		t.Run("postgres", func(t *testing.T) { testGroupCommit(t, pgtest.NewDatabase(t)) })
	}
}

func testGroupCommit(t *testing.T, db string) {
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	committed := 0
	g := newGroupCommit(st, func(n int) { mu.Lock(); committed += n; mu.Unlock() })
	errBad := errors.New("bad activity")
	const n = 200
	results := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := g.arrive()
			defer a.leave()
			results[i] = g.do(context.Background(), a, func(tx *store.Tx) error {
				// Every write marks its id seen first, so a failed one
				// would leave a row if it were not rolled back.
				if _, err := tx.MarkSeen(fmt.Sprintf("http://remote.example/a/%d", i), ""); err != nil {
					return err
				}
				switch i % 10 {
				case 3:
					return errBad
				case 5:
					// A write the database refuses (no such coop): on
					// PostgreSQL it aborts the transaction unless rolled
					// back to the savepoint.
					return tx.PutTimelineItem(&coopfed.TimelineItem{CoopID: 1 << 40, ActivityIRI: "x", ObjectIRI: fmt.Sprint(i), ObjectType: "Note", ActorIRI: "x", Published: time.Now()})
				case 7:
					panic("boom")
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range results {
		switch i % 10 {
		case 3:
			if !errors.Is(err, errBad) {
				t.Errorf("write %d: %v, want its own error", i, err)
			}
		case 5, 7:
			if err == nil {
				t.Errorf("write %d failed but returned nil", i)
			}
		default:
			if err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		}
	}
	if committed != n {
		t.Errorf("batches held %d writes, want %d", committed, n)
	}
	if c := g.coming.Load(); c != 0 {
		t.Errorf("%d arrivals still counted after every request ended", c)
	}
	counts, err := st.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := counts["inbox_seen"], int64(n-3*n/10); got != want {
		t.Fatalf("%d activities marked seen, want %d (only the good writes)", got, want)
	}
	for i := range n {
		err := st.Update(context.Background(), func(tx *store.Tx) error {
			fresh, err := tx.MarkSeen(fmt.Sprintf("http://remote.example/a/%d", i), "")
			if err == nil && fresh == (i%10 != 3 && i%10 != 5 && i%10 != 7) {
				err = fmt.Errorf("write %d: seen %v", i, !fresh)
			}
			return errIgnore // look only
		})
		if err != nil && !errors.Is(err, errIgnore) {
			t.Fatal(err)
		}
	}
}

// A commit waits for requests on their way only while they are: one that
// leaves without writing, or one that never comes, does not hold it.
func TestGroupCommitWaitEnds(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g := newGroupCommit(st, nil)
	write := func(i int) func(tx *store.Tx) error {
		return func(tx *store.Tx) error {
			_, err := tx.MarkSeen(fmt.Sprintf("http://remote.example/w/%d", i), "")
			return err
		}
	}
	// An arrival that leaves: the commit of the other goes on.
	a, b := g.arrive(), g.arrive()
	done := make(chan error, 1)
	go func() { done <- g.do(context.Background(), a, write(1)) }()
	b.leave()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// An arrival that never comes: the commit is bounded by maxCommitWait.
	stuck := g.arrive()
	defer stuck.leave()
	c := g.arrive()
	if err := g.do(context.Background(), c, write(2)); err != nil {
		t.Fatal(err)
	}
	if got := g.coming.Load(); got != 1 {
		t.Fatalf("coming = %d, want 1 (the arrival that never came)", got)
	}
}
