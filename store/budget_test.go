package store

import (
	"context"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
)

// Allocate spends a share and a bucket's ask only within their limits,
// counts a redelivered allocation once, and lets a coop allocate for no
// more members than it had when the round opened. A refused allocation
// leaves nothing behind (the transaction is rolled back).
func TestAllocateLimits(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, clock)
	c := createTestCoop(t, s, "mill")
	here, remote := "https://here.example/coops/mill", "https://b.example/coops/bakery"
	r := &coopfed.BudgetRound{IRI: "https://here.example/budgets/1", CoopID: c.ID, OwnerIRI: here, Title: "Fund", Pot: 30000, Currency: "EUR",
		Decimals: 2, Model: coopfed.BudgetAllocate, AllocatorCoops: []coopfed.AllocatorCoop{{Coop: here, Members: 2}, {Coop: remote, Members: 1}},
		Allocators: 3, Share: 10000, ClosesAt: clock.Now().Add(time.Hour), State: coopfed.RoundOpen}
	var b *coopfed.Bucket
	mustUpdate(t, s, func(tx *Tx) error {
		if err := tx.InsertRound(r); err != nil {
			return err
		}
		b = &coopfed.Bucket{IRI: "https://b.example/buckets/1", RoundID: r.ID, AuthorIRI: remote, Title: "Oven", Asked: 25000}
		return tx.InsertBucket(b)
	})
	tests := []struct {
		name      string
		allocator string
		coop      string
		amount    int64
		activity  string
		counted   bool
		code      string
	}{
		{"within the share", here + "/members/ana", here, 6000, "", true, ""},
		{"the rest of the share", here + "/members/ana", here, 4000, "", true, ""},
		{"past the share", here + "/members/ana", here, 1, "", false, coopfed.ECONFLICT},
		{"a remote member", remote + "/members/cy", remote, 10000, "https://b.example/allocations/1", true, ""},
		{"the same allocation again", remote + "/members/cy", remote, 10000, "https://b.example/allocations/1", false, ""},
		{"a second member of a one-member coop", remote + "/members/dee", remote, 100, "https://b.example/allocations/2", false, coopfed.ECONFLICT},
		{"more than the bucket needs", here + "/members/bo", here, 5001, "", false, coopfed.ECONFLICT},
		{"what the bucket needs", here + "/members/bo", here, 5000, "", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var counted bool
			err := s.Update(context.Background(), func(tx *Tx) error {
				var err error
				counted, err = tx.Allocate(&coopfed.Allocation{RoundID: r.ID, BucketID: b.ID, AllocatorIRI: tt.allocator, CoopIRI: tt.coop,
					Amount: tt.amount, ActivityIRI: tt.activity}, r.Share, r.Seats(tt.coop))
				return err
			})
			if coopfed.ErrorCode(err) != tt.code || counted != tt.counted {
				t.Fatalf("counted %v, err %v; want %v, code %q", counted, err, tt.counted, tt.code)
			}
		})
	}
	got, err := s.Bucket(context.Background(), b.IRI)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := s.Allocations(context.Background(), r.ID)
	if got.Allocated != 25000 || len(all) != 4 {
		t.Errorf("allocated %d in %d allocations, want 25000 in 4", got.Allocated, len(all))
	}
	if spent, _ := s.AllocatorSpent(context.Background(), r.ID, here+"/members/ana"); spent != 10000 {
		t.Errorf("ana spent %d, want 10000", spent)
	}
}

// A round takes at most MaxRoundBuckets buckets, a motion round
// MaxMotionOptions (one option of its funding motion each).
func TestBucketLimits(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, clock)
	c := createTestCoop(t, s, "mill")
	for _, tt := range []struct {
		model string
		limit int
	}{{coopfed.BudgetAllocate, coopfed.MaxRoundBuckets}, {coopfed.BudgetMotion, coopfed.MaxMotionOptions}} {
		t.Run(tt.model, func(t *testing.T) {
			r := &coopfed.BudgetRound{IRI: "https://here.example/budgets/" + tt.model, CoopID: c.ID, OwnerIRI: "https://here.example/coops/mill",
				Title: "Fund", Pot: 100, Currency: "EUR", Decimals: 2, Model: tt.model, ClosesAt: clock.Now().Add(time.Hour), State: coopfed.RoundOpen}
			mustUpdate(t, s, func(tx *Tx) error { return tx.InsertRound(r) })
			for i := 0; i <= tt.limit; i++ {
				err := s.Update(context.Background(), func(tx *Tx) error {
					return tx.InsertBucket(&coopfed.Bucket{IRI: r.IRI + "/b/" + time.Duration(i).String(), RoundID: r.ID, AuthorIRI: r.OwnerIRI, Title: "B", Asked: 1})
				})
				if want := i < tt.limit; (err == nil) != want {
					t.Fatalf("bucket %d: %v", i+1, err)
				}
				if i == tt.limit && coopfed.ErrorCode(err) != coopfed.ECONFLICT {
					t.Fatalf("bucket %d: %v, want a conflict", i+1, err)
				}
			}
		})
	}
}
