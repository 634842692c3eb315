package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
)

func newGovernanceCoop(t *testing.T, s *Store) *coopfed.Coop {
	t.Helper()
	c := &coopfed.Coop{Name: "bakery", PublicKeyPEM: "pub", PrivateKeyPEM: "priv"}
	if err := s.Update(context.Background(), func(tx *Tx) error { return tx.CreateCoop(c) }); err != nil {
		t.Fatal(err)
	}
	return c
}

func addMember(t *testing.T, s *Store, c *coopfed.Coop, name string, actors ...string) *coopfed.Member {
	t.Helper()
	m := &coopfed.Member{CoopID: c.ID, Username: name, Role: coopfed.RoleMember, Actors: actors}
	if err := s.Update(context.Background(), func(tx *Tx) error { return tx.CreateMember(m) }); err != nil {
		t.Fatalf("add member %s: %v", name, err)
	}
	return m
}

var motionSeq atomic.Int64

func openMotion(t *testing.T, s *Store, c *coopfed.Coop, kind string, options ...string) *coopfed.Motion {
	t.Helper()
	now := s.Now()
	m := &coopfed.Motion{IRI: fmt.Sprintf("https://coop.example/motions/%d", motionSeq.Add(1)), CoopID: c.ID, Title: "Oven", Kind: kind, Options: options,
		OpensAt: now, ClosesAt: now.Add(time.Hour), Quorum: 0.5, Threshold: 0.5}
	err := s.Update(context.Background(), func(tx *Tx) error {
		if err := tx.CreateMotion(m); err != nil {
			return err
		}
		_, err := tx.OpenMotion(m)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMembers(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, newTestClock())
	c := newGovernanceCoop(t, s)
	ana := addMember(t, s, c, "ana", "https://social.example/users/ana")

	tests := []struct {
		name string
		m    coopfed.Member
		code string
	}{
		{"username taken", coopfed.Member{CoopID: c.ID, Username: "ana", Role: coopfed.RoleMember}, coopfed.ECONFLICT},
		{"actor linked to another member", coopfed.Member{CoopID: c.ID, Username: "bo", Role: coopfed.RoleMember, Actors: []string{"https://social.example/users/ana"}}, coopfed.ECONFLICT},
		{"bad role", coopfed.Member{CoopID: c.ID, Username: "bo", Role: "boss"}, coopfed.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := s.Counts(ctx)
			m := tc.m
			err := s.Update(ctx, func(tx *Tx) error { return tx.CreateMember(&m) })
			if coopfed.ErrorCode(err) != tc.code {
				t.Fatalf("error %v, want code %s", err, tc.code)
			}
			after, _ := s.Counts(ctx)
			if before["members"] != after["members"] || before["member_actors"] != after["member_actors"] {
				t.Fatalf("a refused member changed the tables: %v -> %v", before, after)
			}
		})
	}

	var got *coopfed.Member
	err := s.Update(ctx, func(tx *Tx) error {
		var err error
		got, err = tx.UpdateMember(c.ID, "ana", coopfed.RoleAdmin, []string{"https://other.example/@ana", "https://social.example/users/ana"})
		return err
	})
	if err != nil || got.Role != coopfed.RoleAdmin || len(got.Actors) != 2 {
		t.Fatalf("update: %+v %v", got, err)
	}
	if ok, _ := s.IsMemberActor(ctx, c.ID, "https://other.example/@ana"); !ok {
		t.Fatal("new actor not linked")
	}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.RemoveMember(c.ID, "ana") }); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.IsMemberActor(ctx, c.ID, "https://social.example/users/ana"); ok {
		t.Fatal("a removed member's actor still speaks for it")
	}
	// The username is free again, under a new member row.
	again := addMember(t, s, c, "ana")
	if again.ID == ana.ID {
		t.Fatal("re-added member reuses the removed row")
	}
	if n, _ := s.CountMembers(ctx, c.ID); n != 1 {
		t.Fatalf("count %d, want 1", n)
	}
}

func TestMotionEligibilityIsFixedAtOpening(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, newTestClock())
	c := newGovernanceCoop(t, s)
	ana := addMember(t, s, c, "ana")
	m := openMotion(t, s, c, coopfed.MotionChoice, "Yes", "No")
	late := addMember(t, s, c, "late")
	if m.Eligible != 1 {
		t.Fatalf("eligible %d, want 1", m.Eligible)
	}
	err := s.Update(ctx, func(tx *Tx) error {
		_, err := tx.CastBallot(&CastBallot{MotionID: m.ID, MemberID: late.ID, Choices: []string{"Yes"}}, true)
		return err
	})
	if coopfed.ErrorCode(err) != coopfed.ECONFLICT {
		t.Fatalf("a member added after opening voted: %v", err)
	}
	if err := s.Update(ctx, func(tx *Tx) error {
		_, err := tx.CastBallot(&CastBallot{MotionID: m.ID, MemberID: ana.ID, Choices: []string{"Yes"}}, true)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Motion(ctx, m.IRI)
	if err != nil || got.Eligible != 1 || got.State != coopfed.MotionOpen {
		t.Fatalf("reloaded %+v %v", got, err)
	}
}

// The database, not the caller, refuses what breaks the voting rules, and
// nothing of a refused ballot stays.
func TestCastBallotConstraints(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, newTestClock())
	c := newGovernanceCoop(t, s)
	ana := addMember(t, s, c, "ana")
	single := openMotion(t, s, c, coopfed.MotionChoice, "Yes", "No")
	multi := openMotion(t, s, c, coopfed.MotionMultiple, "A", "B")
	score := &coopfed.Motion{IRI: "https://coop.example/motions/dots", CoopID: c.ID, Title: "Dots", Kind: coopfed.MotionScore, Dots: 5, Options: []string{"A", "B"},
		OpensAt: s.Now(), ClosesAt: s.Now().Add(time.Hour), Threshold: 0.5}
	if err := s.Update(ctx, func(tx *Tx) error {
		if err := tx.CreateMotion(score); err != nil {
			return err
		}
		_, err := tx.OpenMotion(score)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	cast := func(b CastBallot, one bool) error {
		return s.Update(ctx, func(tx *Tx) error { _, err := tx.CastBallot(&b, one); return err })
	}
	if err := cast(CastBallot{MotionID: single.ID, MemberID: ana.ID, Choices: []string{"Yes"}, ActivityIRI: "https://social.example/users/ana#votes/1"}, true); err != nil {
		t.Fatal(err)
	}
	if err := cast(CastBallot{MotionID: multi.ID, MemberID: ana.ID, Choices: []string{"A"}}, false); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		b    CastBallot
		one  bool
	}{
		{"two options on a single choice", CastBallot{MotionID: single.ID, MemberID: ana.ID, Choices: []string{"Yes", "No"}}, true},
		{"same option twice", CastBallot{MotionID: multi.ID, MemberID: ana.ID, Choices: []string{"B", "B"}}, false},
		{"vote id seen before", CastBallot{MotionID: multi.ID, MemberID: ana.ID, Choices: []string{"B"}, ActivityIRI: "https://social.example/users/ana#votes/1"}, false},
		{"single flag against the kind", CastBallot{MotionID: single.ID, MemberID: ana.ID, Choices: []string{"No"}}, false},
		{"dots beyond the allowance", CastBallot{MotionID: score.ID, MemberID: ana.ID, Choices: []string{"A", "B"}, Points: []int{3, 3}}, false},
		{"older than the ballot in force", CastBallot{MotionID: single.ID, MemberID: ana.ID, Choices: []string{"No"}, CastAt: s.Now().Add(-time.Minute)}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, err := s.Counts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := cast(tc.b, tc.one); coopfed.ErrorCode(err) != coopfed.ECONFLICT {
				t.Fatalf("error %v, want conflict", err)
			}
			after, _ := s.Counts(ctx)
			for _, table := range []string{"votes", "ballots", "vote_changes"} {
				if before[table] != after[table] {
					t.Errorf("%s: %d rows, were %d", table, after[table], before[table])
				}
			}
		})
	}
	if err := cast(CastBallot{MotionID: score.ID, MemberID: ana.ID, Choices: []string{"A", "B"}, Points: []int{2, 3}, Reason: "B is nearer"}, false); err != nil {
		t.Fatalf("dots within the allowance: %v", err)
	}
	if b, err := s.Ballots(ctx, score.ID); err != nil || len(b) != 1 || fmt.Sprintf("%v %v %s", b[0].Choices, b[0].Points, b[0].Reason) != "[A B] [2 3] B is nearer" {
		t.Fatalf("score ballots %+v %v", b, err)
	}
	// Mastodon answers a multiple choice with one Note per option.
	if err := cast(CastBallot{MotionID: multi.ID, MemberID: ana.ID, Choices: []string{"B"}, Add: true}, false); err != nil {
		t.Fatalf("second option of a multiple choice: %v", err)
	}
	b, err := s.Ballots(ctx, multi.ID)
	if err != nil || len(b) != 1 || len(b[0].Choices) != 2 {
		t.Fatalf("ballots %+v %v", b, err)
	}
	// A closed motion takes no votes.
	single.Outcome = coopfed.OutcomeCarried
	if err := s.Update(ctx, func(tx *Tx) error { _, err := tx.CloseMotion(single); return err }); err != nil {
		t.Fatal(err)
	}
	bo := addMember(t, s, c, "bo")
	if err := cast(CastBallot{MotionID: single.ID, MemberID: bo.ID, Choices: []string{"No"}}, true); coopfed.ErrorCode(err) != coopfed.ECONFLICT {
		t.Fatalf("vote on a closed motion: %v", err)
	}
}

// A member changes a ranked vote twice: the latest ranking counts, once,
// and the two earlier ones are kept as changes.
func TestCastBallotChanges(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, clock)
	c := newGovernanceCoop(t, s)
	ana := addMember(t, s, c, "ana")
	m := openMotion(t, s, c, coopfed.MotionRanked, "A", "B", "C")
	for i, order := range [][]string{{"A", "B"}, {"C"}, {"B", "C", "A"}} {
		clock.Add(time.Minute)
		var replaced bool
		err := s.Update(ctx, func(tx *Tx) (err error) {
			replaced, err = tx.CastBallot(&CastBallot{MotionID: m.ID, MemberID: ana.ID, Choices: order, Ranked: true, Reason: fmt.Sprint("take ", i)}, false)
			return err
		})
		if err != nil || replaced != (i > 0) {
			t.Fatalf("ballot %d: replaced %v, %v", i, replaced, err)
		}
	}
	b, err := s.Ballots(ctx, m.ID)
	if err != nil || len(b) != 1 || fmt.Sprintf("%v %s", b[0].Choices, b[0].Reason) != "[B C A] take 2" {
		t.Fatalf("ballots %+v %v", b, err)
	}
	changes, err := s.VoteChanges(ctx, m.ID)
	if err != nil || len(changes) != 2 || changes[0].Reason != "take 0" || fmt.Sprint(changes[1].Choices) != "[{C 1}]" {
		t.Fatalf("changes %+v %v", changes, err)
	}
	infos, err := s.BallotInfos(ctx, m.ID)
	if err != nil || len(infos) != 1 || infos[0].Changes != 2 || infos[0].Username != "ana" {
		t.Fatalf("infos %+v %v", infos, err)
	}
}

// Many writers racing to vote for one member: every vote is applied, one
// after the other, and exactly one ballot is in force at the end; the
// others are kept as changes.
func TestCastBallotConcurrent(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, newTestClock())
	c := newGovernanceCoop(t, s)
	ana := addMember(t, s, c, "ana")
	m := openMotion(t, s, c, coopfed.MotionRanked, "A", "B", "C")
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			order := [][]string{{"A", "B"}, {"C", "A", "B"}}[i%2]
			err := s.Update(ctx, func(tx *Tx) error {
				_, err := tx.CastBallot(&CastBallot{MotionID: m.ID, MemberID: ana.ID, Choices: order, Ranked: true, ActivityIRI: fmt.Sprintf("https://social.example/v/%d", i)}, false)
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
	b, _ := s.Ballots(ctx, m.ID)
	if ok.Load() != 50 || len(b) != 1 || (len(b[0].Choices) != 2 && len(b[0].Choices) != 3) {
		t.Fatalf("%d votes accepted, ballots %+v", ok.Load(), b)
	}
	changes, _ := s.VoteChanges(ctx, m.ID)
	infos, _ := s.BallotInfos(ctx, m.ID)
	if len(changes) != 49 || len(infos) != 1 || infos[0].Changes != 49 {
		t.Fatalf("%d changes kept, ballot %+v", len(changes), infos)
	}
}

func TestMotionSchedule(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, clock)
	c := newGovernanceCoop(t, s)
	addMember(t, s, c, "ana")
	m := openMotion(t, s, c, coopfed.MotionConsent, coopfed.ConsentOptions...)
	later := &coopfed.Motion{IRI: "https://coop.example/motions/later", CoopID: c.ID, Title: "Later", Kind: coopfed.MotionChoice, Options: []string{"A", "B"},
		OpensAt: clock.Now().Add(30 * time.Minute), ClosesAt: clock.Now().Add(2 * time.Hour), Quorum: 0, Threshold: 0.5}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.CreateMotion(later) }); err != nil {
		t.Fatal(err)
	}
	due := func() []int64 {
		t.Helper()
		ids, err := s.DueMotions(ctx, clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if ids := due(); len(ids) != 0 {
		t.Fatalf("due at start: %v", ids)
	}
	// Two votes' schedules: the first wins, the second shares it.
	err := s.Update(ctx, func(tx *Tx) error {
		if err := tx.ScheduleTally(m.ID, clock.Now().Add(time.Minute)); err != nil {
			return err
		}
		return tx.ScheduleTally(m.ID, clock.Now().Add(2*time.Minute))
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Motion(ctx, m.IRI)
	if got.NextTally == nil || !got.NextTally.Equal(clock.Now().Add(time.Minute)) {
		t.Fatalf("next tally %v", got.NextTally)
	}
	clock.Add(time.Minute)
	if ids := due(); len(ids) != 1 || ids[0] != m.ID {
		t.Fatalf("due after a minute: %v", ids)
	}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.TallySent(m.ID) }); err != nil {
		t.Fatal(err)
	}
	clock.Add(30 * time.Minute)
	if ids := due(); len(ids) != 1 || ids[0] != later.ID {
		t.Fatalf("due at opening time: %v", ids)
	}
	clock.Add(time.Hour)
	if ids := due(); len(ids) != 2 {
		t.Fatalf("due past the deadline: %v", ids)
	}
	// A motion closes once.
	var first, second bool
	err = s.Update(ctx, func(tx *Tx) error {
		m.Outcome = coopfed.OutcomeNoQuorum
		if first, err = tx.CloseMotion(m); err != nil {
			return err
		}
		second, err = tx.CloseMotion(m)
		return err
	})
	if err != nil || !first || second {
		t.Fatalf("close: %v %v %v", first, second, err)
	}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.ExtendMotion(m, clock.Now().Add(time.Hour)) }); coopfed.ErrorCode(err) != coopfed.ECONFLICT {
		t.Fatalf("extending a closed motion: %v", err)
	}
}

func TestMotionReplies(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, newTestClock())
	c := newGovernanceCoop(t, s)
	m := openMotion(t, s, c, coopfed.MotionChoice, "Yes", "No")
	r := &coopfed.MotionReply{MotionID: m.ID, ObjectIRI: "https://social.example/notes/1", ActorIRI: "https://social.example/users/ana", Content: "<p>Why?</p>", Published: s.Now()}
	put := func(r coopfed.MotionReply) {
		t.Helper()
		if err := s.Update(ctx, func(tx *Tx) error { return tx.PutMotionReply(&r) }); err != nil {
			t.Fatal(err)
		}
	}
	put(*r)
	edit := *r
	edit.Content = "<p>Why now?</p>"
	put(edit)
	forged := *r
	forged.ActorIRI, forged.Content = "https://social.example/users/eve", "<p>forged</p>"
	put(forged)
	list, err := s.MotionReplies(ctx, m.ID)
	if err != nil || len(list) != 1 || list[0].Content != "<p>Why now?</p>" {
		t.Fatalf("replies %+v %v", list, err)
	}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.DeleteMotionReplies(r.ActorIRI, "") }); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.MotionReplies(ctx, m.ID); len(list) != 0 {
		t.Fatalf("replies left: %+v", list)
	}
}
