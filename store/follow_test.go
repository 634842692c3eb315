package store

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
)

// putTestActor caches a remote actor user@host with a personal inbox and,
// when shared is set, the host's shared inbox.
func putTestActor(t *testing.T, s *Store, user, host string, shared bool) *coopfed.RemoteActor {
	t.Helper()
	iri := "https://" + host + "/users/" + user
	a := &coopfed.RemoteActor{
		IRI: iri, Type: "Person", PreferredUsername: user, Host: host, Name: user,
		Inbox: iri + "/inbox", PublicKeyID: iri + "#main-key", PublicKeyPEM: "pem " + user,
	}
	if shared {
		a.SharedInbox = "https://" + host + "/inbox"
	}
	if err := s.PutRemoteActor(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

func putFollower(t *testing.T, s *Store, coopID int64, actorIRI, followIRI, state string) {
	t.Helper()
	mustUpdate(t, s, func(tx *Tx) error {
		return tx.PutFollower(&coopfed.Follower{CoopID: coopID, ActorIRI: actorIRI, FollowIRI: followIRI, State: state})
	})
}

func follower(t *testing.T, s *Store, coopID int64, actorIRI string) *coopfed.Follower {
	t.Helper()
	var f *coopfed.Follower
	mustUpdate(t, s, func(tx *Tx) error {
		var err error
		f, err = tx.Follower(coopID, actorIRI)
		return err
	})
	return f
}

func TestPutFollowerKeepsAcceptedFollowersAccepted(t *testing.T) {
	tests := []struct {
		name         string
		first, again string
		want         string
	}{
		// A repeated Follow (the follower lost our Accept, or a locked
		// coop's request arrives again) must not demote an accepted one.
		{"accepted then pending", coopfed.FollowAccepted, coopfed.FollowPending, coopfed.FollowAccepted},
		{"accepted then accepted", coopfed.FollowAccepted, coopfed.FollowAccepted, coopfed.FollowAccepted},
		{"pending then pending", coopfed.FollowPending, coopfed.FollowPending, coopfed.FollowPending},
		{"pending then accepted", coopfed.FollowPending, coopfed.FollowAccepted, coopfed.FollowAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			s := openTestStore(t, clock)
			c := createTestCoop(t, s, "bakery")
			alice := "https://social.example/users/alice"
			putFollower(t, s, c.ID, alice, "https://social.example/follows/1", tt.first)
			clock.Add(time.Minute)
			putFollower(t, s, c.ID, alice, "https://social.example/follows/2", tt.again)

			f := follower(t, s, c.ID, alice)
			if f.State != tt.want {
				t.Errorf("state = %q, want %q", f.State, tt.want)
			}
			// The latest Follow's id is kept: Accept and Reject echo it.
			if f.FollowIRI != "https://social.example/follows/2" {
				t.Errorf("follow IRI = %q, want the latest Follow's", f.FollowIRI)
			}
			if n, _ := s.CountFollowers(context.Background(), c.ID, ""); n != 1 {
				t.Errorf("%d follower rows, want 1", n)
			}
		})
	}
}

func TestFollowerStateAndRemoval(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	c := createTestCoop(t, s, "bakery")
	alice := "https://social.example/users/alice"
	putFollower(t, s, c.ID, alice, "https://social.example/follows/1", coopfed.FollowPending)

	mustUpdate(t, s, func(tx *Tx) error { return tx.SetFollowerState(c.ID, alice, coopfed.FollowAccepted) })
	if f := follower(t, s, c.ID, alice); f.State != coopfed.FollowAccepted {
		t.Errorf("state = %q after approval", f.State)
	}
	err := s.Update(ctx, func(tx *Tx) error {
		return tx.SetFollowerState(c.ID, "https://social.example/users/bob", coopfed.FollowAccepted)
	})
	wantCode(t, err, coopfed.ENOTFOUND)

	// An Undo must name the Follow it undoes: another id removes nothing.
	mustUpdate(t, s, func(tx *Tx) error {
		removed, err := tx.DeleteFollower(c.ID, alice, "https://social.example/follows/other")
		if removed {
			t.Error("a follower was removed by an Undo of another Follow")
		}
		return err
	})
	mustUpdate(t, s, func(tx *Tx) error {
		removed, err := tx.DeleteFollower(c.ID, alice, "https://social.example/follows/1")
		if !removed {
			t.Error("the Undo of the follower's Follow removed nothing")
		}
		return err
	})
	err = s.Update(ctx, func(tx *Tx) error {
		_, err := tx.Follower(c.ID, alice)
		return err
	})
	wantCode(t, err, coopfed.ENOTFOUND)

	// Without a follow id (a Reject by the coop, a Block) any row goes.
	putFollower(t, s, c.ID, alice, "https://social.example/follows/3", coopfed.FollowAccepted)
	mustUpdate(t, s, func(tx *Tx) error {
		removed, err := tx.DeleteFollower(c.ID, alice, "")
		if !removed {
			t.Error("DeleteFollower without a follow id removed nothing")
		}
		return err
	})
}

func TestFollowingLifecycle(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	bakery := createTestCoop(t, s, "bakery")
	dairy := createTestCoop(t, s, "dairy")
	mill := "https://mill.example/coops/mill"

	put := func(c *coopfed.Coop, followIRI, state string) {
		mustUpdate(t, s, func(tx *Tx) error {
			return tx.PutFollowing(&coopfed.Following{CoopID: c.ID, ActorIRI: mill, FollowIRI: followIRI, State: state})
		})
	}
	put(bakery, "https://here.example/activities/1", coopfed.FollowPending)
	put(dairy, "https://here.example/activities/2", coopfed.FollowPending)

	mustUpdate(t, s, func(tx *Tx) error {
		ids, err := tx.CoopsFollowing(mill)
		if len(ids) != 0 {
			t.Errorf("pending follows count as following: %v", ids)
		}
		return err
	})

	// The Accept names our Follow by id.
	mustUpdate(t, s, func(tx *Tx) error {
		f, err := tx.FollowingByFollowIRI("https://here.example/activities/1")
		if err != nil {
			return err
		}
		if f.CoopID != bakery.ID || f.ActorIRI != mill {
			t.Errorf("FollowingByFollowIRI = %+v", f)
		}
		return tx.SetFollowingState(f.CoopID, f.ActorIRI, coopfed.FollowAccepted)
	})
	mustUpdate(t, s, func(tx *Tx) error {
		ids, err := tx.CoopsFollowing(mill)
		if !slices.Equal(ids, []int64{bakery.ID}) {
			t.Errorf("CoopsFollowing = %v, want [%d]", ids, bakery.ID)
		}
		return err
	})

	// Following again replaces the row: a new Follow id, its state.
	put(bakery, "https://here.example/activities/3", coopfed.FollowPending)
	mustUpdate(t, s, func(tx *Tx) error {
		f, err := tx.Following(bakery.ID, mill)
		if err != nil {
			return err
		}
		if f.FollowIRI != "https://here.example/activities/3" || f.State != coopfed.FollowPending {
			t.Errorf("refollow stored %+v", f)
		}
		_, err = tx.FollowingByFollowIRI("https://here.example/activities/1")
		wantCode(t, err, coopfed.ENOTFOUND)
		return nil
	})

	err := s.Update(ctx, func(tx *Tx) error {
		return tx.SetFollowingState(bakery.ID, "https://nowhere.example/a", coopfed.FollowAccepted)
	})
	wantCode(t, err, coopfed.ENOTFOUND)

	mustUpdate(t, s, func(tx *Tx) error {
		removed, err := tx.DeleteFollowing(bakery.ID, mill)
		if !removed {
			t.Error("DeleteFollowing removed nothing")
		}
		return err
	})
	if n, _ := s.CountFollowing(ctx, bakery.ID, ""); n != 0 {
		t.Errorf("bakery still follows %d actors", n)
	}
	if n, _ := s.CountFollowing(ctx, dairy.ID, coopfed.FollowPending); n != 1 {
		t.Errorf("dairy's follow was touched: %d pending", n)
	}
}

func TestDeleteActorFollowsEndsBothDirections(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	c := createTestCoop(t, s, "bakery")
	gone := "https://social.example/users/gone"
	stays := "https://social.example/users/stays"
	putFollower(t, s, c.ID, gone, gone+"/follow", coopfed.FollowAccepted)
	putFollower(t, s, c.ID, stays, stays+"/follow", coopfed.FollowAccepted)
	mustUpdate(t, s, func(tx *Tx) error {
		return tx.PutFollowing(&coopfed.Following{CoopID: c.ID, ActorIRI: gone, FollowIRI: "https://here.example/activities/1", State: coopfed.FollowAccepted})
	})

	mustUpdate(t, s, func(tx *Tx) error { return tx.DeleteActorFollows(gone) })
	if n, _ := s.CountFollowers(ctx, c.ID, ""); n != 1 {
		t.Errorf("%d followers left, want only the other actor", n)
	}
	if n, _ := s.CountFollowing(ctx, c.ID, ""); n != 0 {
		t.Errorf("%d followings left, want 0", n)
	}
}

func TestFollowersListing(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, clock)
	ctx := context.Background()
	c := createTestCoop(t, s, "bakery")
	other := createTestCoop(t, s, "dairy")
	cached := putTestActor(t, s, "alice", "social.example", true)

	// Oldest first in, so the listing (newest first) reverses them.
	iris := []string{cached.IRI, "https://b.example/users/b", "https://c.example/users/c", "https://d.example/users/d"}
	for i, iri := range iris {
		state := coopfed.FollowAccepted
		if i == 3 {
			state = coopfed.FollowPending
		}
		putFollower(t, s, c.ID, iri, iri+"/follow", state)
		clock.Add(time.Second)
	}
	putFollower(t, s, other.ID, "https://e.example/users/e", "https://e.example/f", coopfed.FollowAccepted)

	all, err := s.Followers(ctx, FollowFilter{CoopID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range all {
		got = append(got, f.ActorIRI)
	}
	want := []string{iris[3], iris[2], iris[1], iris[0]}
	if !slices.Equal(got, want) {
		t.Errorf("Followers = %v, want newest first %v", got, want)
	}
	// The cached actor is joined; the others are not cached.
	if a := all[3].Actor; a == nil || a.Handle() != "alice@social.example" {
		t.Errorf("cached actor not joined: %+v", a)
	}
	if all[0].Actor != nil {
		t.Errorf("uncached actor came back as %+v", all[0].Actor)
	}

	accepted, err := s.Followers(ctx, FollowFilter{CoopID: c.ID, State: coopfed.FollowAccepted, Offset: 1, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(accepted) != 1 || accepted[0].ActorIRI != iris[1] {
		t.Errorf("second page of accepted followers = %+v, want %s", accepted, iris[1])
	}
	for state, want := range map[string]int64{"": 4, coopfed.FollowAccepted: 3, coopfed.FollowPending: 1} {
		if n, err := s.CountFollowers(ctx, c.ID, state); err != nil || n != want {
			t.Errorf("CountFollowers(%q) = %d, %v; want %d", state, n, err, want)
		}
	}
}

func TestFollowingsListing(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, clock)
	ctx := context.Background()
	c := createTestCoop(t, s, "bakery")
	mill := putTestActor(t, s, "mill", "mill.example", false)
	for i, iri := range []string{mill.IRI, "https://farm.example/users/farm"} {
		state := coopfed.FollowAccepted
		if i == 1 {
			state = coopfed.FollowPending
		}
		mustUpdate(t, s, func(tx *Tx) error {
			return tx.PutFollowing(&coopfed.Following{CoopID: c.ID, ActorIRI: iri, FollowIRI: iri + "/by-bakery", State: state})
		})
		clock.Add(time.Second)
	}
	list, err := s.Followings(ctx, FollowFilter{CoopID: c.ID, State: coopfed.FollowAccepted})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ActorIRI != mill.IRI || list[0].Actor == nil || list[0].Actor.Inbox != mill.Inbox {
		t.Errorf("accepted followings = %+v", list)
	}
}

func TestFollowerInboxesDedupesSharedInboxes(t *testing.T) {
	s := openTestStore(t, nil)
	c := createTestCoop(t, s, "bakery")
	other := createTestCoop(t, s, "dairy")

	// Three accounts on one host that advertises a shared inbox, one on a
	// host without one, one pending, one following another coop, and one
	// whose actor was never cached.
	alice := putTestActor(t, s, "alice", "social.example", true)
	bob := putTestActor(t, s, "bob", "social.example", true)
	carol := putTestActor(t, s, "carol", "social.example", true)
	dave := putTestActor(t, s, "dave", "small.example", false)
	erin := putTestActor(t, s, "erin", "pending.example", false)
	frank := putTestActor(t, s, "frank", "elsewhere.example", false)
	for _, a := range []*coopfed.RemoteActor{alice, bob, carol, dave} {
		putFollower(t, s, c.ID, a.IRI, a.IRI+"/follow", coopfed.FollowAccepted)
	}
	putFollower(t, s, c.ID, erin.IRI, erin.IRI+"/follow", coopfed.FollowPending)
	putFollower(t, s, other.ID, frank.IRI, frank.IRI+"/follow", coopfed.FollowAccepted)
	putFollower(t, s, c.ID, "https://unknown.example/users/u", "https://unknown.example/f", coopfed.FollowAccepted)

	var inboxes []string
	mustUpdate(t, s, func(tx *Tx) error {
		var err error
		inboxes, err = tx.FollowerInboxes(c.ID)
		return err
	})
	slices.Sort(inboxes)
	want := []string{"https://small.example/users/dave/inbox", "https://social.example/inbox"}
	if !slices.Equal(inboxes, want) {
		t.Errorf("FollowerInboxes = %v, want %v", inboxes, want)
	}
}

func TestRemoteActorCache(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, clock)
	ctx := context.Background()
	a := putTestActor(t, s, "alice", "social.example", true)
	if !a.FetchedAt.Equal(clock.Now()) {
		t.Errorf("FetchedAt = %v, want the store clock", a.FetchedAt)
	}

	// Payment links are kept with the actor.
	a.PaymentLinks = []coopfed.PaymentLink{{Name: "Give", Href: "https://pay.example/alice"}}
	if err := s.PutRemoteActor(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.RemoteActor(ctx, a.IRI)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Errorf("RemoteActor = %+v, want %+v", got, a)
	}
	if got, err := s.RemoteActorByKeyID(ctx, a.PublicKeyID); err != nil || got.IRI != a.IRI {
		t.Errorf("RemoteActorByKeyID = %v, %v", got, err)
	}
	if got, err := s.RemoteActorByHandle(ctx, "alice", "social.example"); err != nil || got.IRI != a.IRI {
		t.Errorf("RemoteActorByHandle = %v, %v", got, err)
	}

	// A refetch replaces every field, the key included (rotation).
	clock.Add(time.Hour)
	fresh := *a
	fresh.Name, fresh.PublicKeyID, fresh.PublicKeyPEM, fresh.FetchedAt = "Alice", a.IRI+"#key-2", "pem 2", time.Time{}
	if err := s.PutRemoteActor(ctx, &fresh); err != nil {
		t.Fatal(err)
	}
	got, err = s.RemoteActor(ctx, a.IRI)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Alice" || got.PublicKeyID != a.IRI+"#key-2" || !got.FetchedAt.Equal(clock.Now()) {
		t.Errorf("refreshed actor = %+v", got)
	}
	_, err = s.RemoteActorByKeyID(ctx, a.PublicKeyID)
	wantCode(t, err, coopfed.ENOTFOUND)
	_, err = s.RemoteActor(ctx, "https://social.example/users/nobody")
	wantCode(t, err, coopfed.ENOTFOUND)
}

// CoopsFollowing is cached (on SQLite): each write to following must show
// in the next answer, in a later transaction and in the same one, and a
// rolled-back write must not.
func TestCoopsFollowingSeesEveryWrite(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	bakery := createTestCoop(t, s, "bakery")
	dairy := createTestCoop(t, s, "dairy")
	mill := "https://mill.example/coops/mill"
	follow := func(c *coopfed.Coop, n string) func(tx *Tx) error {
		return func(tx *Tx) error {
			return tx.PutFollowing(&coopfed.Following{CoopID: c.ID, ActorIRI: mill, FollowIRI: "https://here.example/activities/" + n, State: coopfed.FollowAccepted})
		}
	}
	for _, step := range []struct {
		name  string
		write func(tx *Tx) error
		want  []int64
	}{
		{"nobody follows", nil, nil},
		{"bakery follows", follow(bakery, "1"), []int64{bakery.ID}},
		{"dairy follows", follow(dairy, "2"), []int64{bakery.ID, dairy.ID}},
		{"dairy's follow pending again", func(tx *Tx) error { return tx.SetFollowingState(dairy.ID, mill, coopfed.FollowPending) }, []int64{bakery.ID}},
		{"bakery unfollows", func(tx *Tx) error { _, err := tx.DeleteFollowing(bakery.ID, mill); return err }, nil},
		{"dairy accepted", func(tx *Tx) error { return tx.SetFollowingState(dairy.ID, mill, coopfed.FollowAccepted) }, []int64{dairy.ID}},
		{"the actor is deleted", func(tx *Tx) error { return tx.DeleteActorFollows(mill) }, nil},
	} {
		got := func() (ids []int64) {
			mustUpdate(t, s, func(tx *Tx) error {
				var err error
				ids, err = tx.CoopsFollowing(mill) // fills the cache
				return err
			})
			return ids
		}
		before := got()
		if step.write != nil {
			mustUpdate(t, s, func(tx *Tx) error {
				if err := step.write(tx); err != nil {
					return err
				}
				ids, err := tx.CoopsFollowing(mill)
				if !slices.Equal(ids, step.want) {
					t.Errorf("%s: in the writing transaction CoopsFollowing = %v, want %v", step.name, ids, step.want)
				}
				return err
			})
		}
		if ids := got(); !slices.Equal(ids, step.want) {
			t.Errorf("%s: CoopsFollowing = %v, want %v (before the write %v)", step.name, ids, step.want, before)
		}
	}
	// A write rolled back leaves the cached answer right.
	err := s.Update(ctx, func(tx *Tx) error {
		if err := follow(bakery, "9")(tx); err != nil {
			return err
		}
		if _, err := tx.CoopsFollowing(mill); err != nil {
			return err
		}
		return coopfed.Errorf(coopfed.EINVALID, "roll back")
	})
	wantCode(t, err, coopfed.EINVALID)
	mustUpdate(t, s, func(tx *Tx) error {
		ids, err := tx.CoopsFollowing(mill)
		if len(ids) != 0 {
			t.Errorf("after a rolled-back follow CoopsFollowing = %v, want none", ids)
		}
		return err
	})
}
