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

// goldenVoter is a member's linked Mastodon account, which votes.
var goldenVoter = &coopfed.RemoteActor{
	IRI:               "https://social.example/users/bob",
	Type:              "Person",
	PreferredUsername: "bob",
	Host:              "social.example",
	Name:              "Bob",
	URL:               "https://social.example/@bob",
	Inbox:             "https://social.example/users/bob/inbox",
	SharedInbox:       "https://social.example/inbox",
	PublicKeyID:       "https://social.example/users/bob#main-key",
}

// motionGoldenDocuments drives a motion through its life on the golden
// instance (opened, voted on, tallied, closed at its deadline by the
// governance job) and returns what goes on the wire, by golden file name.
func motionGoldenDocuments(t testing.TB) map[string][]byte {
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
	bob := *goldenVoter
	bob.PublicKeyPEM, bob.FetchedAt = c.PublicKeyPEM, goldenStart
	if err := e.store.PutRemoteActor(ctx, &bob); err != nil {
		t.Fatal(err)
	}
	var members []*coopfed.Member
	err := e.store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.PutFollower(&coopfed.Follower{CoopID: c.ID, ActorIRI: goldenFollower.IRI, FollowIRI: goldenFollowIRI, State: coopfed.FollowAccepted}); err != nil {
			return err
		}
		for _, m := range []*coopfed.Member{
			{CoopID: c.ID, Username: "bob", Role: coopfed.RoleMember, Actors: []string{goldenVoter.IRI}},
			{CoopID: c.ID, Username: "carol", Role: coopfed.RoleAdmin},
			{CoopID: c.ID, Username: "dan", Role: coopfed.RoleMember},
		} {
			if err := tx.CreateMember(m); err != nil {
				return err
			}
			members = append(members, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	e.tick(time.Hour)
	m := &coopfed.Motion{Title: "Buy a second oven", Text: "The old oven fails twice a week.\nQuotes: https://riverside.example/ovens",
		Kind: coopfed.MotionChoice, Options: []string{"Yes", "No", "Abstain"}, ClosesAt: e.clock().Add(72 * time.Hour), Quorum: 0.5, Threshold: 2.0 / 3}
	if err := f.CreateMotion(ctx, c, m); err != nil {
		t.Fatal(err)
	}
	stored("motion-create.json", f.iris.Activity(e.last()))

	// bob votes from Mastodon, carol and dan through the API.
	e.tick(10 * time.Minute)
	err = e.store.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.CastBallot(&store.CastBallot{MotionID: m.ID, MemberID: members[0].ID, Choices: []string{"Yes"}, ActivityIRI: goldenVoter.IRI + "#votes/1", ActorIRI: goldenVoter.IRI}, true); err != nil {
			return err
		}
		return f.scheduleTally(tx, m)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.CastVote(ctx, c, m.IRI, "carol", coopfed.Ballot{Choices: []string{"Yes"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.CastVote(ctx, c, m.IRI, "dan", coopfed.Ballot{Choices: []string{"No"}}); err != nil {
		t.Fatal(err)
	}
	if err := runGovernance(ctx, f); err != nil {
		t.Fatal(err)
	}
	stored("motion-tally-update.json", f.iris.Activity(e.last()))

	// The deadline passes: the job closes the motion.
	e.tick(72 * time.Hour)
	if err := runGovernance(ctx, f); err != nil {
		t.Fatal(err)
	}
	closed, err := e.store.Motion(ctx, m.IRI)
	if err != nil || closed.State != coopfed.MotionClosed {
		t.Fatalf("motion not closed: %+v %v", closed, err)
	}
	// Closing makes the outcome Note's id, then the Update's.
	stored("motion-closed-update.json", f.iris.Activity(e.last()))
	stored("motion-outcome-create.json", closed.OutcomeIRI+"/activity")
	o, err := e.store.ObjectByIRI(ctx, closed.OutcomeIRI)
	if err != nil {
		t.Fatal(err)
	}
	docs["motion-outcome-note.json"] = o.JSON
	q, err := f.MotionDocument(ctx, c, closed)
	if err != nil {
		t.Fatal(err)
	}
	if docs["motion-question.json"], err = Marshal(q); err != nil {
		t.Fatal(err)
	}
	return docs
}

func TestMotionGolden(t *testing.T) {
	docs := motionGoldenDocuments(t)
	compareGoldenSet(t, docs, "motion-create.json", "motion-tally-update.json", "motion-closed-update.json", "motion-question.json", "motion-outcome-note.json", "motion-outcome-create.json")
}

// TestMotionGoldenShapes checks, beyond byte equality, what Mastodon and
// FEP-9967 rely on, so that -update cannot accept a poll they would
// misread.
func TestMotionGoldenShapes(t *testing.T) {
	docs := motionGoldenDocuments(t)
	decode := func(name string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(docs[name], &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return m
	}
	for _, name := range []string{"motion-create.json", "motion-tally-update.json", "motion-closed-update.json"} {
		q := decode(name)["object"].(map[string]any)
		opts, _ := q["oneOf"].([]any)
		if q["type"] != "Question" || len(opts) != 3 || q["endTime"] == nil || q["votersCount"] == nil {
			t.Errorf("%s: not a Mastodon poll: %v", name, q)
		}
		for _, o := range opts {
			if _, ok := o.(map[string]any)["replies"].(map[string]any)["totalItems"].(float64); !ok {
				t.Errorf("%s: option without replies.totalItems: %v", name, o)
			}
		}
		// FEP-9967: the Question of an Update carries `updated`.
		if strings.Contains(name, "update") && q["updated"] == nil {
			t.Errorf("%s: Update of a poll without updated", name)
		}
	}
	if q := decode("motion-closed-update.json")["object"].(map[string]any); q["closed"] == nil || q["outcome"] != "carried" {
		t.Errorf("closed Update: closed %v, outcome %v", q["closed"], q["outcome"])
	}
	note := decode("motion-outcome-create.json")["object"].(map[string]any)
	tags, _ := note["tag"].([]any)
	if note["inReplyTo"] != "https://coop.example/motions/golden01" || len(tags) != 1 || tags[0].(map[string]any)["type"] != "Mention" {
		t.Errorf("outcome Note: inReplyTo %v, tag %v", note["inReplyTo"], note["tag"])
	}
}

// Tally Updates are debounced: the first vote after a quiet minute is
// published at the next run of the job; votes within the minute after an
// Update share one more Update, sent when the minute is over.
func TestTallyDebounce(t *testing.T) {
	ctx := context.Background()
	e := newGoldenEnv(t)
	f, c := e.f, e.coop
	err := e.store.Update(ctx, func(tx *store.Tx) error {
		for _, name := range []string{"ana", "bo", "cy"} {
			if err := tx.CreateMember(&coopfed.Member{CoopID: c.ID, Username: name}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	m := &coopfed.Motion{Title: "Oven", Kind: coopfed.MotionConsent, ClosesAt: e.clock().Add(time.Hour), Threshold: 0.5}
	if err := f.CreateMotion(ctx, c, m); err != nil {
		t.Fatal(err)
	}
	activities := func() int64 {
		t.Helper()
		n, err := e.store.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n["activities"]
	}
	step := func(voter string, wait time.Duration, want int64) {
		t.Helper()
		if voter != "" {
			if err := f.CastVote(ctx, c, m.IRI, voter, coopfed.Ballot{Choices: []string{coopfed.ConsentAgree}}); err != nil {
				t.Fatal(err)
			}
		}
		e.tick(wait)
		if err := runGovernance(ctx, f); err != nil {
			t.Fatal(err)
		}
		if got := activities(); got != want {
			t.Fatalf("after %s's vote and %s: %d activities, want %d", voter, wait, got, want)
		}
	}
	step("", 0, 1)                // the Create
	step("ana", 0, 2)             // quiet before: published at once
	step("bo", 10*time.Second, 2) // within the minute: waits
	step("cy", 20*time.Second, 2) // shares the pending Update
	step("", 29*time.Second, 2)   // 59 s after the last Update
	step("", time.Second, 3)      // the minute is over: one Update
	step("", 10*time.Minute, 3)   // nothing pending
}

// A motion that opens later is published, and its eligible members fixed,
// when the governance job finds it due.
func TestScheduledMotionOpens(t *testing.T) {
	ctx := context.Background()
	e := newGoldenEnv(t)
	f, c := e.f, e.coop
	addMember := func(name string) {
		t.Helper()
		if err := e.store.Update(ctx, func(tx *store.Tx) error { return tx.CreateMember(&coopfed.Member{CoopID: c.ID, Username: name}) }); err != nil {
			t.Fatal(err)
		}
	}
	addMember("ana")
	m := &coopfed.Motion{Title: "Oven", Kind: coopfed.MotionConsent, OpensAt: e.clock().Add(30 * time.Minute), ClosesAt: e.clock().Add(time.Hour), Threshold: 0.5}
	if err := f.CreateMotion(ctx, c, m); err != nil {
		t.Fatal(err)
	}
	addMember("bo") // joins before voting opens: eligible
	if err := runGovernance(ctx, f); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.store.Motion(ctx, m.IRI); got.State != coopfed.MotionScheduled {
		t.Fatalf("opened early: %+v", got)
	}
	if err := f.CastVote(ctx, c, m.IRI, "ana", coopfed.Ballot{Choices: []string{coopfed.ConsentAgree}}); coopfed.ErrorCode(err) != coopfed.ECONFLICT {
		t.Fatalf("vote before opening: %v", err)
	}
	e.tick(30 * time.Minute)
	if err := runGovernance(ctx, f); err != nil {
		t.Fatal(err)
	}
	got, err := e.store.Motion(ctx, m.IRI)
	if err != nil || got.State != coopfed.MotionOpen || got.Eligible != 2 {
		t.Fatalf("after opening time: %+v %v", got, err)
	}
	if _, err := e.store.ActivityByIRI(ctx, f.iris.Activity(e.last())); err != nil {
		t.Fatalf("no Create sent at opening: %v", err)
	}
}
