package federation

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/coopfed/coopfed/store"
)

// Concurrent writes joined in one commit keep their own outcome: a write
// that fails or panics is rolled back alone, and every other one is
// committed.
func TestGroupCommitIsolatesEachWrite(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g := &groupCommit{store: st}
	errBad := errors.New("bad activity")
	const n = 200
	results := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = g.do(context.Background(), func(tx *store.Tx) error {
				// Every write marks its id seen first, so a failed one
				// would leave a row if it were not rolled back.
				if _, err := tx.MarkSeen(fmt.Sprintf("http://remote.example/a/%d", i), ""); err != nil {
					return err
				}
				switch i % 10 {
				case 3:
					return errBad
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
		case 7:
			if err == nil {
				t.Errorf("write %d panicked but returned nil", i)
			}
		default:
			if err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		}
	}
	counts, err := st.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := counts["inbox_seen"], int64(n-2*n/10); got != want {
		t.Fatalf("%d activities marked seen, want %d (only the good writes)", got, want)
	}
	for i := range n {
		err := st.Update(context.Background(), func(tx *store.Tx) error {
			fresh, err := tx.MarkSeen(fmt.Sprintf("http://remote.example/a/%d", i), "")
			if err == nil && fresh == (i%10 != 3 && i%10 != 7) {
				err = fmt.Errorf("write %d: seen %v", i, !fresh)
			}
			return errIgnore // look only
		})
		if err != nil && !errors.Is(err, errIgnore) {
			t.Fatal(err)
		}
	}
}
