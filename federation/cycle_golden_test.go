package federation

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
)

// cycleGoldenDocuments drives a motion through its whole cycle on the
// golden instance: published for discussion, a member's reply, amended,
// opened by the governance job, voted on and closed, turned into a task,
// reviewed at its review date, and followed up; it returns what goes on
// the wire, by golden file name.
func cycleGoldenDocuments(t testing.TB) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	e := newGoldenEnv(t)
	f, c := e.f, e.coop
	docs := map[string][]byte{}
	stored := func(name, iri string) {
		t.Helper()
		a, err := e.store.ActivityByIRI(ctx, iri)
		if err != nil {
			t.Fatalf("%s: activity %s: %v", name, iri, err)
		}
		docs[name] = a.JSON
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.PutFollower(&coopfed.Follower{CoopID: c.ID, ActorIRI: goldenFollower.IRI, FollowIRI: goldenFollowIRI, State: coopfed.FollowAccepted}); err != nil {
			return err
		}
		for _, m := range []*coopfed.Member{
			{CoopID: c.ID, Username: "ana", Role: coopfed.RoleAdmin},
			{CoopID: c.ID, Username: "bo", Role: coopfed.RoleMember},
		} {
			if err := tx.CreateMember(m); err != nil {
				return err
			}
		}
		return nil
	}))
	e.tick(time.Hour)
	review := e.clock().Add(30 * 24 * time.Hour)
	m := &coopfed.Motion{Title: "A four-day week", Text: "From May, the bakery opens four days a week.", Kind: coopfed.MotionConsent,
		OpensAt: e.clock().Add(24 * time.Hour), ClosesAt: e.clock().Add(72 * time.Hour), Threshold: 0.5, Discussed: true, ReviewAt: &review}
	must(f.CreateMotion(ctx, c, m))
	stored("cycle-discussion-create.json", f.iris.Activity(e.last()))

	e.tick(time.Minute)
	reply, err := f.ReplyToMotion(ctx, c, m.IRI, "bo", "Which day do we close?", "")
	must(err)
	stored("cycle-member-reply.json", reply.ObjectIRI+"/activity")
	e.tick(time.Minute)
	amend, err := f.AmendMotion(ctx, c, m.IRI, "ana", "From May, the bakery opens four days a week, closed on Mondays.", "names the day")
	must(err)
	stored("cycle-amendment-update.json", amend.ActivityIRI)

	e.tick(24 * time.Hour)
	must(runGovernance(ctx, f))
	stored("cycle-voting-update.json", f.iris.Activity(e.last()))
	e.tick(time.Minute)
	must(f.CastVote(ctx, c, m.IRI, "ana", coopfed.Ballot{Choices: []string{coopfed.ConsentAgree}}))
	must(f.CastVote(ctx, c, m.IRI, "bo", coopfed.Ballot{Choices: []string{coopfed.ConsentAgree}}))
	e.tick(time.Hour)
	_, err = f.CloseMotion(ctx, c, m.IRI)
	must(err)
	stored("cycle-outcome-update.json", f.iris.Activity(e.last()))

	e.tick(time.Hour)
	_, err = f.AddTask(ctx, c, m.IRI, "Change the opening hours on the door", "bo", e.clock().Add(7*24*time.Hour))
	must(err)
	stored("cycle-implementation-update.json", f.iris.Activity(e.last()))

	e.tick(30 * 24 * time.Hour)
	must(runGovernance(ctx, f))
	stored("cycle-review-update.json", f.iris.Activity(e.last()))
	reviewed, err := e.store.Motion(ctx, m.IRI)
	must(err)
	stored("cycle-review-note.json", reviewed.ReviewIRI+"/activity")

	e.tick(time.Hour)
	fu := &coopfed.Motion{Title: "Back to five days in December", Kind: coopfed.MotionConsent, OpensAt: e.clock().Add(24 * time.Hour),
		ClosesAt: e.clock().Add(72 * time.Hour), Threshold: 0.5, Discussed: true, FollowUpOf: m.IRI}
	must(f.CreateMotion(ctx, c, fu))
	stored("cycle-follow-up-create.json", f.iris.Activity(e.last()))
	return docs
}

var cycleGoldenNames = []string{"cycle-discussion-create.json", "cycle-member-reply.json", "cycle-amendment-update.json", "cycle-voting-update.json",
	"cycle-outcome-update.json", "cycle-implementation-update.json", "cycle-review-update.json", "cycle-review-note.json", "cycle-follow-up-create.json"}

func TestCycleGolden(t *testing.T) {
	compareGoldenSet(t, cycleGoldenDocuments(t), cycleGoldenNames...)
}

// TestCycleGoldenShapes checks what peers rely on: each phase travels in
// coopfed:phase on the Question, the amendment carries the new text, the
// replies and the review reminder are Notes inReplyTo the motion, and the
// follow-up names the motion it follows up.
func TestCycleGoldenShapes(t *testing.T) {
	docs := cycleGoldenDocuments(t)
	object := func(name string) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(docs[name], &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return m["object"].(map[string]any)
	}
	for name, phase := range map[string]string{
		"cycle-discussion-create.json": "discussion", "cycle-amendment-update.json": "discussion", "cycle-voting-update.json": "voting",
		"cycle-outcome-update.json": "outcome", "cycle-implementation-update.json": "implementation", "cycle-review-update.json": "review",
		"cycle-follow-up-create.json": "discussion",
	} {
		if o := object(name); o["type"] != "Question" || o["phase"] != phase {
			t.Errorf("%s: want a Question in phase %s: %v", name, phase, o)
		}
	}
	if o := object("cycle-discussion-create.json"); o["votingOpens"] == nil || o["reviewDate"] == nil {
		t.Errorf("discussion Question lacks votingOpens or reviewDate: %v", o)
	}
	if o := object("cycle-amendment-update.json"); !strings.Contains(o["content"].(string), "closed on Mondays") || o["updated"] == nil {
		t.Errorf("amendment Update lacks the new text: %v", o)
	}
	question := object("cycle-discussion-create.json")["id"]
	for _, name := range []string{"cycle-member-reply.json", "cycle-review-note.json"} {
		if o := object(name); o["type"] != "Note" || o["inReplyTo"] != question {
			t.Errorf("%s: want a Note inReplyTo the motion: %v", name, o)
		}
	}
	if o := object("cycle-follow-up-create.json"); o["followUpOf"] != question {
		t.Errorf("follow-up does not name the motion reviewed: %v", o)
	}
}
