package federation

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
)

// decisionGoldenDocuments opens one motion of each new decision type on
// the golden instance, has members vote (and change a vote), closes them
// and returns what goes on the wire, by golden file name.
func decisionGoldenDocuments(t testing.TB) map[string][]byte {
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
	err := e.store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.PutFollower(&coopfed.Follower{CoopID: c.ID, ActorIRI: goldenFollower.IRI, FollowIRI: goldenFollowIRI, State: coopfed.FollowAccepted}); err != nil {
			return err
		}
		for _, name := range []string{"ana", "bo", "cy", "di", "ed"} {
			if err := tx.CreateMember(&coopfed.Member{CoopID: c.ID, Username: name, Role: coopfed.RoleMember}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.tick(time.Hour)
	open := func(name string, m *coopfed.Motion) *coopfed.Motion {
		t.Helper()
		m.ClosesAt, m.Quorum, m.Threshold = e.clock().Add(48*time.Hour), 0.5, 0.5
		if err := f.CreateMotion(ctx, c, m); err != nil {
			t.Fatal(err)
		}
		stored(name, f.iris.Activity(e.last()))
		return m
	}
	vote := func(m *coopfed.Motion, member string, b coopfed.Ballot) {
		t.Helper()
		e.tick(time.Minute)
		if err := f.CastVote(ctx, c, m.IRI, member, b); err != nil {
			t.Fatalf("%s on %s: %v", member, m.Title, err)
		}
	}
	ranked := open("ranked-create.json", &coopfed.Motion{Title: "Name the new bread", Kind: coopfed.MotionRanked, Method: coopfed.MethodIRV, Options: []string{"Rye", "Spelt", "Oat"}})
	score := open("score-create.json", &coopfed.Motion{Title: "Where to spend the surplus", Kind: coopfed.MotionScore, Dots: 10, Options: []string{"Wages", "Oven", "Reserve"}})
	open("poll-create.json", &coopfed.Motion{Title: "General meeting", Kind: coopfed.MotionPoll, Options: []string{"2026-03-10T18:00:00Z", "2026-03-11T18:00:00Z"}})
	advice := open("advice-create.json", &coopfed.Motion{Title: "Open on Sundays?", Text: "A sense check before a proposal.", Kind: coopfed.MotionAdvice})

	vote(ranked, "ana", coopfed.Ballot{Choices: []string{"Rye", "Spelt"}, Reason: "Rye sells best"})
	vote(ranked, "di", coopfed.Ballot{Choices: []string{"Rye"}})
	vote(ranked, "bo", coopfed.Ballot{Choices: []string{"Spelt", "Rye"}})
	vote(ranked, "ed", coopfed.Ballot{Choices: []string{"Oat", "Spelt"}})
	vote(ranked, "cy", coopfed.Ballot{Choices: []string{"Oat", "Spelt"}})
	vote(ranked, "cy", coopfed.Ballot{Choices: []string{"Oat"}, Reason: "only oat"}) // a change
	vote(score, "ana", coopfed.Ballot{Choices: []string{"Wages", "Oven"}, Points: []int{7, 3}})
	vote(score, "bo", coopfed.Ballot{Choices: []string{"Reserve"}, Points: []int{10}})
	vote(score, "cy", coopfed.Ballot{Choices: []string{"Wages"}, Points: []int{10}})
	if err := runGovernance(ctx, f); err != nil {
		t.Fatal(err)
	}
	// The job sends the motions' tallies in id order: the score vote's
	// comes last.
	stored("score-tally-update.json", f.iris.Activity(e.last()))
	vote(advice, "ana", coopfed.Ballot{Choices: []string{"Concerned"}, Reason: "Who staffs it?"})
	vote(advice, "bo", coopfed.Ballot{Choices: []string{"Looks good"}})

	closeAndStore := func(prefix string, m *coopfed.Motion) {
		t.Helper()
		if _, err := f.CloseMotion(ctx, c, m.IRI); err != nil {
			t.Fatal(err)
		}
		stored(prefix+"-closed-update.json", f.iris.Activity(e.last()))
		closed, err := e.store.Motion(ctx, m.IRI)
		if err != nil {
			t.Fatal(err)
		}
		o, err := e.store.ObjectByIRI(ctx, closed.OutcomeIRI)
		if err != nil {
			t.Fatal(err)
		}
		docs[prefix+"-outcome-note.json"] = o.JSON
	}
	e.tick(time.Hour)
	closeAndStore("ranked", ranked)
	closeAndStore("advice", advice)
	return docs
}

func TestDecisionGolden(t *testing.T) {
	docs := decisionGoldenDocuments(t)
	compareGoldenSet(t, docs, "ranked-create.json", "score-create.json", "poll-create.json", "advice-create.json", "score-tally-update.json",
		"ranked-closed-update.json", "ranked-outcome-note.json", "advice-closed-update.json", "advice-outcome-note.json")
}

// TestDecisionGoldenShapes checks what Mastodon relies on: a ranked or
// score motion is no poll it could vote on, a time poll and an advice
// motion are, and the outcome of a runoff says how it was reached.
func TestDecisionGoldenShapes(t *testing.T) {
	docs := decisionGoldenDocuments(t)
	object := func(name string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(docs[name], &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if o, ok := m["object"].(map[string]any); ok {
			return o
		}
		return m
	}
	for _, name := range []string{"ranked-create.json", "score-create.json", "score-tally-update.json", "ranked-closed-update.json"} {
		o := object(name)
		opts, _ := o["ballotOptions"].([]any)
		if o["type"] != "Note" || o["oneOf"] != nil || o["anyOf"] != nil || len(opts) != 3 {
			t.Errorf("%s: a ranked or score motion must be a Note with ballotOptions: %v", name, o)
		}
	}
	if o := object("score-tally-update.json"); o["dots"] != float64(10) || o["ballotOptions"].([]any)[0].(map[string]any)["points"] != float64(17) {
		t.Errorf("score tally: %v", o)
	}
	if o := object("poll-create.json"); o["type"] != "Question" || len(o["anyOf"].([]any)) != 2 {
		t.Errorf("time poll: %v", o)
	}
	if o := object("advice-create.json"); o["type"] != "Question" || len(o["oneOf"].([]any)) != 3 {
		t.Errorf("advice: %v", o)
	}
	if o := object("advice-closed-update.json"); o["outcome"] != nil || o["closed"] == nil {
		t.Errorf("closed advice carries an outcome: %v", o)
	}
	if o := object("ranked-outcome-note.json"); o["inReplyTo"] == nil {
		t.Errorf("outcome note: %v", o)
	}
}
