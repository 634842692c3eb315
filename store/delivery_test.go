package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store/pgtest"
)

// queueTestActivity stores an activity of c (or of the instance actor when
// c is nil) and queues it for inboxes, returning it and the rows enqueued.
func queueTestActivity(t *testing.T, s *Store, c *coopfed.Coop, iri string, inboxes ...string) (*coopfed.Activity, int) {
	t.Helper()
	a := &coopfed.Activity{IRI: iri, Type: "Create", JSON: []byte(`{"id":"` + iri + `"}`)}
	if c != nil {
		a.CoopID = c.ID
	}
	var n int
	mustUpdate(t, s, func(tx *Tx) error {
		if err := tx.InsertActivity(a); err != nil {
			return err
		}
		var err error
		n, err = tx.EnqueueDeliveries(a.ID, inboxes)
		return err
	})
	return a, n
}

func claim(t *testing.T, s *Store, limit int, lease time.Duration, skip ...string) []*coopfed.Delivery {
	t.Helper()
	ds, err := s.ClaimDeliveries(context.Background(), limit, lease, skip)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func inboxesOf(ds []*coopfed.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Inbox)
	}
	slices.Sort(out)
	return out
}

func finish(t *testing.T, s *Store, results ...DeliveryResult) {
	t.Helper()
	if err := s.FinishDeliveries(context.Background(), results); err != nil {
		t.Fatal(err)
	}
}

func TestEnqueueDeliveriesSkipsDuplicatesAndBrokenInboxes(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, clock)
	ctx := context.Background()
	c := createTestCoop(t, s, "bakery")
	a, n := queueTestActivity(t, s, c, "https://here.example/activities/1",
		"https://social.example/inbox",
		"https://Mill.Example/coops/mill/inbox",
		"https://social.example/inbox", // twice: one row
		"not a url",
		"/relative/inbox",
	)
	if n != 2 {
		t.Errorf("enqueued %d rows, want 2", n)
	}
	// Enqueueing the same inboxes again adds nothing.
	mustUpdate(t, s, func(tx *Tx) error {
		again, err := tx.EnqueueDeliveries(a.ID, []string{"https://social.example/inbox"})
		if again != 0 {
			t.Errorf("re-enqueue added %d rows", again)
		}
		return err
	})
	mustUpdate(t, s, func(tx *Tx) error {
		none, err := tx.EnqueueDeliveries(a.ID, nil)
		if none != 0 {
			t.Errorf("enqueueing no inboxes added %d rows", none)
		}
		return err
	})

	ds, err := s.Deliveries(ctx, a.IRI)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 {
		t.Fatalf("Deliveries = %d rows, want 2", len(ds))
	}
	for _, d := range ds {
		if d.State != coopfed.DeliveryPending || d.Attempts != 0 || !d.NextAttempt.Equal(clock.Now()) || !d.CreatedAt.Equal(clock.Now()) {
			t.Errorf("new delivery %+v: want pending, no attempts, due now", d)
		}
	}
	// The host is kept lower-case, so circuit breakers match it.
	if ds[1].Host != "mill.example" {
		t.Errorf("host = %q, want mill.example", ds[1].Host)
	}
}

func TestClaimDeliveriesLeasesRows(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, clock)
	c := createTestCoop(t, s, "bakery")
	a, _ := queueTestActivity(t, s, c, "https://here.example/activities/1", "https://a.example/inbox", "https://b.example/inbox")

	first := claim(t, s, 10, time.Minute)
	if got := inboxesOf(first); !slices.Equal(got, []string{"https://a.example/inbox", "https://b.example/inbox"}) {
		t.Fatalf("claimed %v", got)
	}
	for _, d := range first {
		if string(d.Body) != string(a.JSON) || d.CoopID != c.ID || d.ActivityID != a.ID || d.State != coopfed.DeliveryPending {
			t.Errorf("claimed delivery lacks what a worker needs: %+v", d)
		}
	}
	// A leased row is not handed to a second worker.
	if again := claim(t, s, 10, time.Minute); len(again) != 0 {
		t.Errorf("leased rows claimed again: %v", inboxesOf(again))
	}
	clock.Add(59 * time.Second)
	if again := claim(t, s, 10, time.Minute); len(again) != 0 {
		t.Errorf("rows claimed before their lease lapsed: %v", inboxesOf(again))
	}
	// A worker that died holding the lease only delays the row.
	clock.Add(time.Second)
	if lapsed := claim(t, s, 10, time.Minute); len(lapsed) != 2 {
		t.Errorf("claimed %d rows after the lease lapsed, want 2", len(lapsed))
	}
}

func TestReleaseLeasesFreesClaimedRows(t *testing.T) {
	if onPostgres {
		t.Skip("on PostgreSQL leases lapse on their own (TestClaimAcrossProcesses)")
	}
	clock := newTestClock()
	s := openTestStore(t, clock)
	ctx := context.Background()
	c := createTestCoop(t, s, "bakery")
	a, _ := queueTestActivity(t, s, c, "https://here.example/activities/1", "https://a.example/inbox", "https://b.example/inbox")
	claimed := claim(t, s, 10, time.Hour)
	finish(t, s, DeliveryResult{ID: claimed[0].ID, State: coopfed.DeliveryDone, Attempts: 1})

	// At start-up the server releases what a dead process held.
	n, err := s.ReleaseLeases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("ReleaseLeases freed %d rows, want the one still pending", n)
	}
	again := claim(t, s, 10, time.Hour)
	if len(again) != 1 || again[0].ID != claimed[1].ID {
		t.Errorf("after release claimed %v, want the unfinished row", inboxesOf(again))
	}
	if n, _ := s.ReleaseLeases(ctx); n != 1 {
		t.Errorf("second release freed %d rows", n)
	}
	if n, _ := s.ReleaseLeases(ctx); n != 0 {
		t.Errorf("release with nothing leased freed %d rows", n)
	}
	if ds, _ := s.Deliveries(ctx, a.IRI); len(ds) != 2 {
		t.Errorf("release changed the number of rows to %d", len(ds))
	}
}

func TestClaimDeliveriesHonoursSkipHostsAndLimit(t *testing.T) {
	s := openTestStore(t, nil)
	c := createTestCoop(t, s, "bakery")
	queueTestActivity(t, s, c, "https://here.example/activities/1",
		"https://dead.example/inbox", "https://dead.example/users/x/inbox", "https://down.example/inbox", "https://live.example/inbox")

	got := claim(t, s, 10, time.Minute, "dead.example", "down.example")
	if inboxes := inboxesOf(got); !slices.Equal(inboxes, []string{"https://live.example/inbox"}) {
		t.Errorf("with open breakers claimed %v, want only the live host", inboxes)
	}
	if got := claim(t, s, 2, time.Minute); len(got) != 2 {
		t.Errorf("limit 2 claimed %d rows", len(got))
	}
	if got := claim(t, s, 2, time.Minute); len(got) != 1 {
		t.Errorf("last claim got %d rows, want the one left", len(got))
	}
}

func TestClaimDeliveriesOfTheInstanceActor(t *testing.T) {
	s := openTestStore(t, nil)
	queueTestActivity(t, s, nil, "https://here.example/activities/instance", "https://a.example/inbox")
	got := claim(t, s, 10, time.Minute)
	if len(got) != 1 || got[0].CoopID != 0 {
		t.Errorf("instance actor delivery claimed as %+v, want coop id 0", got)
	}
}

func TestFinishDeliveriesStates(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, clock)
	ctx := context.Background()
	c := createTestCoop(t, s, "bakery")
	a, _ := queueTestActivity(t, s, c, "https://here.example/activities/1",
		"https://done.example/inbox", "https://failed.example/inbox", "https://retry.example/inbox")
	byHost := map[string]int64{}
	for _, d := range claim(t, s, 10, time.Minute) {
		byHost[d.Host] = d.ID
	}

	retryAt := clock.Now().Add(10 * time.Minute)
	finish(t, s,
		DeliveryResult{ID: byHost["done.example"], State: coopfed.DeliveryDone, Attempts: 1},
		DeliveryResult{ID: byHost["failed.example"], State: coopfed.DeliveryFailed, Attempts: 1, Error: "refused with status 403"},
		DeliveryResult{ID: byHost["retry.example"], State: coopfed.DeliveryPending, Attempts: 1, Next: retryAt, Error: "status 503"},
	)
	if err := s.FinishDeliveries(ctx, nil); err != nil {
		t.Errorf("finishing nothing: %v", err)
	}

	ds, err := s.Deliveries(ctx, a.IRI)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*coopfed.Delivery{}
	for _, d := range ds {
		got[d.Host] = d
	}
	if d := got["done.example"]; d.State != coopfed.DeliveryDone || d.Attempts != 1 || d.LastError != "" {
		t.Errorf("done row = %+v", d)
	}
	if d := got["failed.example"]; d.State != coopfed.DeliveryFailed || d.LastError != "refused with status 403" {
		t.Errorf("failed row = %+v", d)
	}
	if d := got["retry.example"]; d.State != coopfed.DeliveryPending || d.Attempts != 1 || !d.NextAttempt.Equal(retryAt) || d.LastError != "status 503" {
		t.Errorf("retry row = %+v", d)
	}

	// Finishing releases the lease, yet a retry waits for its time; done
	// and failed rows are never claimed again.
	if early := claim(t, s, 10, time.Minute); len(early) != 0 {
		t.Errorf("claimed %v before the retry was due", inboxesOf(early))
	}
	clock.Add(10 * time.Minute)
	due := claim(t, s, 10, time.Minute)
	if len(due) != 1 || due[0].Host != "retry.example" || due[0].Attempts != 1 || due[0].LastError != "status 503" {
		t.Errorf("due claim = %+v, want the retry with its attempt count", due)
	}
}

func TestDeliveryStats(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, clock)
	ctx := context.Background()

	st, err := s.DeliveryStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st != (coopfed.DeliveryStats{}) {
		t.Errorf("stats of an empty queue = %+v", st)
	}

	c := createTestCoop(t, s, "bakery")
	oldest := clock.Now()
	queueTestActivity(t, s, c, "https://here.example/activities/1", "https://a.example/inbox", "https://b.example/inbox")
	clock.Add(time.Hour)
	queueTestActivity(t, s, c, "https://here.example/activities/2", "https://c.example/inbox", "https://d.example/inbox")
	ids := map[string]int64{}
	for _, d := range claim(t, s, 10, time.Minute) {
		ids[d.Host] = d.ID
	}
	finish(t, s,
		DeliveryResult{ID: ids["a.example"], State: coopfed.DeliveryDone, Attempts: 1},
		DeliveryResult{ID: ids["c.example"], State: coopfed.DeliveryFailed, Attempts: 3, Error: "gone"},
	)

	st, err = s.DeliveryStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := coopfed.DeliveryStats{Pending: 2, OldestPending: oldest, Done: 1, Failed: 1}
	if st != want {
		t.Errorf("DeliveryStats = %+v, want %+v", st, want)
	}
}

func TestPurgeDeliveriesKeepsPendingRows(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, clock)
	ctx := context.Background()
	c := createTestCoop(t, s, "bakery")
	a, _ := queueTestActivity(t, s, c, "https://here.example/activities/1", "https://done.example/inbox", "https://failed.example/inbox", "https://pending.example/inbox")
	ids := map[string]int64{}
	for _, d := range claim(t, s, 10, time.Minute) {
		ids[d.Host] = d.ID
	}
	finish(t, s,
		DeliveryResult{ID: ids["done.example"], State: coopfed.DeliveryDone, Attempts: 1},
		DeliveryResult{ID: ids["failed.example"], State: coopfed.DeliveryFailed, Attempts: 1},
	)

	// Rows finished at or after the cut-off stay.
	if n, err := s.PurgeDeliveries(ctx, clock.Now()); err != nil || n != 0 {
		t.Errorf("purge before anything was old removed %d rows (%v)", n, err)
	}
	clock.Add(time.Hour)
	n, err := s.PurgeDeliveries(ctx, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("purged %d rows, want the done and the failed one", n)
	}
	ds, err := s.Deliveries(ctx, a.IRI)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Host != "pending.example" {
		t.Errorf("after purge %+v remain, want only the pending row", ds)
	}
}

// TestClaimAcrossProcesses opens the database twice, as two coopfed
// processes would, and has both claim the same queue at once from several
// goroutines: every row is handed out exactly once.
func TestClaimAcrossProcesses(t *testing.T) {
	clock := newTestClock()
	path := filepath.Join(t.TempDir(), "coopfed.db")
	if onPostgres {
		path = pgtest.NewDatabase(t)
	}
	a := openTestStoreAt(t, path, clock)
	b := openTestStoreAt(t, path, clock)
	c := createTestCoop(t, a, "bakery")
	var inboxes []string
	for i := range 300 {
		inboxes = append(inboxes, fmt.Sprintf("https://h%d.example/inbox", i))
	}
	queueTestActivity(t, a, c, "https://here.example/activities/1", inboxes...)

	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for w := range 8 {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := s.ClaimDeliveries(context.Background(), 7, time.Hour, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != len(inboxes) {
		t.Errorf("claimed %d distinct rows, want %d", len(seen), len(inboxes))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("row %d claimed %d times", id, n)
		}
	}
	// The rows of a process that died holding them come back once their
	// lease lapses, to the other process.
	clock.Add(time.Hour)
	if got := claim(t, b, 1000, time.Hour); len(got) != len(inboxes) {
		t.Errorf("after the leases lapsed the other process claimed %d rows, want %d", len(got), len(inboxes))
	}
}
