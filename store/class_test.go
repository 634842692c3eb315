package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
)

// Classes: defined per coop, refused twice or while in use; a motion that
// names classes fixes its eligible members and their classes at opening,
// and a later change of class moves no vote between counts.
func TestMemberClasses(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, newTestClock())
	c := newGovernanceCoop(t, s)
	for _, name := range []string{"workers", "consumers", "supporters"} {
		if err := s.Update(ctx, func(tx *Tx) error { return tx.CreateClass(&coopfed.MemberClass{CoopID: c.ID, Name: name}) }); err != nil {
			t.Fatal(err)
		}
	}
	refusals := []struct {
		name string
		fn   func(tx *Tx) error
		code string
	}{
		{"class twice", func(tx *Tx) error { return tx.CreateClass(&coopfed.MemberClass{CoopID: c.ID, Name: "Workers"}) }, coopfed.ECONFLICT},
		{"bad class name", func(tx *Tx) error { return tx.CreateClass(&coopfed.MemberClass{CoopID: c.ID, Name: "no spaces"}) }, coopfed.EINVALID},
		{"member of an unknown class", func(tx *Tx) error {
			return tx.CreateMember(&coopfed.Member{CoopID: c.ID, Username: "zed", Class: "guests"})
		}, coopfed.EINVALID},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := s.Counts(ctx)
			err := s.Update(ctx, tc.fn)
			if coopfed.ErrorCode(err) != tc.code {
				t.Fatalf("error %v, want %s", err, tc.code)
			}
			if after, _ := s.Counts(ctx); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("refusal changed counts: %v -> %v", before, after)
			}
		})
	}
	member := func(name, class string) *coopfed.Member {
		m := &coopfed.Member{CoopID: c.ID, Username: name, Class: class}
		if err := s.Update(ctx, func(tx *Tx) error { return tx.CreateMember(m) }); err != nil {
			t.Fatal(err)
		}
		return m
	}
	wen, wil, con, sup := member("wen", "workers"), member("wil", "workers"), member("con", "consumers"), member("sup", "supporters")
	if err := s.Update(ctx, func(tx *Tx) error { return tx.DeleteClass(c.ID, "supporters") }); coopfed.ErrorCode(err) != coopfed.ECONFLICT {
		t.Fatalf("delete a class in use: %v", err)
	}
	now := s.Now()
	m := &coopfed.Motion{IRI: "https://coop.example/motions/classes", CoopID: c.ID, Title: "Prices", Kind: coopfed.MotionConsent, Options: coopfed.ConsentOptions,
		OpensAt: now, ClosesAt: now.Add(time.Hour), Threshold: 0.5, ClassCount: coopfed.CountByClass, Classes: []string{"workers", "consumers"}}
	if err := s.Update(ctx, func(tx *Tx) error {
		if err := tx.CreateMotion(m); err != nil {
			return err
		}
		_, err := tx.OpenMotion(m)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := []coopfed.ClassEligible{{Class: "consumers", Eligible: 1}, {Class: "workers", Eligible: 2}}
	if m.Eligible != 3 || !slices.Equal(m.ClassEligible, want) {
		t.Fatalf("eligible %d %v, want 3 %v", m.Eligible, m.ClassEligible, want)
	}
	// wil moves to the consumers after opening: the motion still counts
	// wil as a worker.
	if err := s.Update(ctx, func(tx *Tx) error { _, err := tx.SetMemberClass(c.ID, "wil", "consumers"); return err }); err != nil {
		t.Fatal(err)
	}
	cast := func(mem *coopfed.Member, option string) error {
		return s.Update(ctx, func(tx *Tx) error {
			_, err := tx.CastBallot(&CastBallot{MotionID: m.ID, MemberID: mem.ID, Choices: []string{option}}, true)
			return err
		})
	}
	for _, b := range []struct {
		m      *coopfed.Member
		option string
	}{{wen, "Agree"}, {wil, "Agree"}, {con, "Agree"}} {
		if err := cast(b.m, b.option); err != nil {
			t.Fatal(err)
		}
	}
	// A supporter is not eligible: the database refuses the vote.
	before, _ := s.Digests(ctx)
	if err := cast(sup, "Disagree"); coopfed.ErrorCode(err) != coopfed.ECONFLICT {
		t.Fatalf("supporter's vote: %v", err)
	}
	if after, _ := s.Digests(ctx); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("a refused vote changed the database")
	}
	loaded, err := s.Motion(ctx, m.IRI)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.ClassCount != coopfed.CountByClass || !slices.Equal(loaded.Classes, m.Classes) || !slices.Equal(loaded.ClassEligible, want) {
		t.Fatalf("loaded %+v", loaded)
	}
	ballots, err := s.Ballots(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	r := coopfed.Tally(loaded, loaded.Eligible, ballots)
	if len(r.Classes) != 2 || r.Classes[1].Class != "workers" || r.Classes[1].Voters != 2 || r.Classes[0].Voters != 1 || r.Outcome != coopfed.OutcomeCarried {
		t.Fatalf("tally by class %+v", r)
	}
	infos, err := s.BallotInfos(ctx, m.ID)
	if err != nil || len(infos) != 3 || infos[2].Username != "wil" || infos[2].Class != "workers" {
		t.Fatalf("ballot infos %+v %v", infos, err)
	}
}
