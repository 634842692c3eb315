package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store/pgtest"
)

// openTwice opens the test database twice, as two coopfed processes
// sharing it would (on SQLite two processes on one file, as a CLI run
// beside the server): each Store has its own pools and cache.
func openTwice(t *testing.T, clock *testClock) (a, b *Store) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "coopfed.db")
	if onPostgres {
		path = pgtest.NewDatabase(t)
	}
	return openTestStoreAt(t, path, clock), openTestStoreAt(t, path, clock)
}

// TestInvariantsAcrossProcesses races writers of two processes on the
// invariants the store's transactions keep: one ballot in force per member
// however many votes race (each replaces the one before, and each replaced
// ballot is kept once), and a listing's quantity never taken twice.
func TestInvariantsAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	a, b := openTwice(t, clock)
	both := func(i int) *Store {
		if i%2 == 0 {
			return a
		}
		return b
	}

	t.Run("one ballot per member", func(t *testing.T) {
		c := newGovernanceCoop(t, a)
		ana := addMember(t, a, c, "ana")
		m := openMotion(t, a, c, coopfed.MotionChoice, "Yes", "No")
		var ok atomic.Int32
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := both(i).Update(ctx, func(tx *Tx) error {
					_, err := tx.CastBallot(&CastBallot{MotionID: m.ID, MemberID: ana.ID, Choices: []string{[]string{"Yes", "No"}[i%2]}, ActivityIRI: fmt.Sprintf("https://social.example/v/%d", i)}, true)
					return err
				})
				if err == nil {
					ok.Add(1)
				} else {
					t.Errorf("vote %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		for _, s := range []*Store{a, b} {
			bl, _ := s.Ballots(ctx, m.ID)
			changes, _ := s.VoteChanges(ctx, m.ID)
			if ok.Load() != 40 || len(bl) != 1 || len(bl[0].Choices) != 1 || len(changes) != 39 {
				t.Fatalf("%d votes accepted, ballots %+v, %d changes kept", ok.Load(), bl, len(changes))
			}
		}
	})

	t.Run("a quantity is taken once", func(t *testing.T) {
		c := &coopfed.Coop{Name: "mill", PublicKeyPEM: "pub", PrivateKeyPEM: "priv"}
		mustUpdate(t, a, func(tx *Tx) error { return tx.CreateCoop(c) })
		l := &coopfed.Listing{IRI: "https://a.example/listings/flour", CoopID: c.ID, ActorIRI: "https://a.example/coops/mill",
			Kind: coopfed.ListingOffer, Title: "Flour", Quantity: coopfed.Quantity{Value: 25, Unit: "kilogram"}, State: coopfed.ListingOpen}
		mustUpdate(t, a, func(tx *Tx) error { return tx.InsertListing(l) })
		var ok atomic.Int32
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := both(i).Update(ctx, func(tx *Tx) error {
					_, err := tx.TakeFromListing(l.IRI, coopfed.Quantity{Value: 1, Unit: "kilogram"})
					return err
				})
				if err == nil {
					ok.Add(1)
				} else if coopfed.ErrorCode(err) != coopfed.ECONFLICT {
					t.Errorf("take %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		got, err := b.ListingByIRI(ctx, l.IRI)
		if err != nil {
			t.Fatal(err)
		}
		if ok.Load() != 25 || got.Available == nil || got.Available.Value != 0 || got.State != coopfed.ListingClosed {
			t.Fatalf("%d takes accepted, listing left %+v in state %s; want 25 taken, 0 left, closed", ok.Load(), got.Available, got.State)
		}
	})

	// A read-then-write invariant, which only the one-writer-at-a-time
	// rule keeps: each transaction reads the balance and adds a debit
	// only while the partner's credit limit allows it.
	t.Run("a credit limit holds", func(t *testing.T) {
		c := &coopfed.Coop{Name: "dairy", PublicKeyPEM: "pub", PrivateKeyPEM: "priv"}
		mustUpdate(t, a, func(tx *Tx) error { return tx.CreateCoop(c) })
		const partner, limit = "https://b.example/coops/cannery", 10
		trades := make([]*coopfed.Trade, 40)
		mustUpdate(t, a, func(tx *Tx) error {
			for i := range trades {
				trades[i] = &coopfed.Trade{IRI: fmt.Sprintf("https://b.example/offers/%d", i), ListingIRI: "https://a.example/listings/milk", ListingKind: coopfed.ListingOffer,
					ProposerIRI: partner, OwnerIRI: "https://a.example/coops/dairy", OwnerCoopID: c.ID, Quantity: coopfed.Quantity{Value: 1, Unit: "litre"}, State: coopfed.TradeProposed}
				if err := tx.InsertTrade(trades[i]); err != nil {
					return err
				}
			}
			return nil
		})
		var ok atomic.Int32
		var wg sync.WaitGroup
		for i := range trades {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := both(i).Update(ctx, func(tx *Tx) error {
					bal, err := tx.Balance(c.ID, partner)
					if err != nil {
						return err
					}
					if bal-1 < -limit {
						return coopfed.Errorf(coopfed.ECONFLICT, "over the credit limit")
					}
					return tx.InsertLedgerEntry(trades[i].ID, coopfed.LedgerEntry{CoopID: c.ID, Counterpart: partner, Direction: "received", Credits: -1})
				})
				if err == nil {
					ok.Add(1)
				} else if coopfed.ErrorCode(err) != coopfed.ECONFLICT {
					t.Errorf("debit %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		var bal int64
		mustUpdate(t, b, func(tx *Tx) (err error) { bal, err = tx.Balance(c.ID, partner); return err })
		if ok.Load() != limit || bal != -limit {
			t.Fatalf("%d debits accepted, balance %d; want %d and %d", ok.Load(), bal, limit, -limit)
		}
	})
}
