package store

import (
	"context"
	"testing"
)

// The block lists carry each block's reason, sorted by target; an
// unblocked target leaves its list.
func TestBlockLists(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	mustUpdate(t, s, func(tx *Tx) error { return tx.BlockDomain("zz.example", "spam") })
	mustUpdate(t, s, func(tx *Tx) error { return tx.BlockDomain("aa.example", "") })
	mustUpdate(t, s, func(tx *Tx) error { return tx.BlockActor("https://x.example/users/troll", "abuse") })

	domains, err := s.DomainBlockList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(domains) != 2 || domains[0].Target != "aa.example" || domains[1].Target != "zz.example" || domains[1].Reason != "spam" || domains[0].Created.IsZero() {
		t.Fatalf("domain blocks: %+v", domains)
	}
	actors, err := s.ActorBlocks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(actors) != 1 || actors[0].Target != "https://x.example/users/troll" || actors[0].Reason != "abuse" {
		t.Fatalf("actor blocks: %+v", actors)
	}
	mustUpdate(t, s, func(tx *Tx) error { return tx.UnblockActor("https://x.example/users/troll") })
	if actors, err = s.ActorBlocks(ctx); err != nil || len(actors) != 0 {
		t.Fatalf("after unblock: %+v %v", actors, err)
	}
}
