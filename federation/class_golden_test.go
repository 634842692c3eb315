package federation

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
)

// goldenFederation is a federation (a coop of coops) on another server
// that the golden coop is a member of.
var goldenFederation = &coopfed.RemoteActor{
	IRI:               "https://federation.example/coops/bakeries",
	Type:              "Organization",
	PreferredUsername: "bakeries",
	Host:              "federation.example",
	Name:              "Bakeries federation",
	Inbox:             "https://federation.example/coops/bakeries/inbox",
	PublicKeyID:       "https://federation.example/coops/bakeries#main-key",
}

// classGoldenDocuments opens a motion counted by class and a weighted one,
// closes the first (carried overall, tied among the consumers, so not
// carried), and closes an internal motion of a federation's
// Question, whose outcome is cast as the coop's vote; it returns what goes
// on the wire, by golden file name.
func classGoldenDocuments(t testing.TB) map[string][]byte {
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
	fed := *goldenFederation
	fed.PublicKeyPEM, fed.FetchedAt = c.PublicKeyPEM, goldenStart
	if err := e.store.PutRemoteActor(ctx, &fed); err != nil {
		t.Fatal(err)
	}
	err := e.store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.PutFollower(&coopfed.Follower{CoopID: c.ID, ActorIRI: goldenFollower.IRI, FollowIRI: goldenFollowIRI, State: coopfed.FollowAccepted}); err != nil {
			return err
		}
		for _, name := range []string{"workers", "consumers", "supporters"} {
			if err := tx.CreateClass(&coopfed.MemberClass{CoopID: c.ID, Name: name}); err != nil {
				return err
			}
		}
		for _, m := range [][2]string{{"ana", "workers"}, {"bo", "workers"}, {"cy", "consumers"}, {"di", "consumers"}, {"ed", "supporters"}} {
			if err := tx.CreateMember(&coopfed.Member{CoopID: c.ID, Username: m[0], Class: m[1]}); err != nil {
				return err
			}
		}
		return tx.AddFederation(c.ID, fed.IRI)
	})
	if err != nil {
		t.Fatal(err)
	}
	e.tick(time.Hour)
	open := func(name string, m *coopfed.Motion) *coopfed.Motion {
		t.Helper()
		m.ClosesAt, m.Threshold = e.clock().Add(48*time.Hour), 0.5
		if err := f.CreateMotion(ctx, c, m); err != nil {
			t.Fatal(err)
		}
		if name != "" {
			stored(name, f.iris.Activity(e.last()))
		}
		return m
	}
	vote := func(m *coopfed.Motion, member, option string) {
		t.Helper()
		e.tick(time.Minute)
		if err := f.CastVote(ctx, c, m.IRI, member, coopfed.Ballot{Choices: []string{option}}); err != nil {
			t.Fatalf("%s on %s: %v", member, m.Title, err)
		}
	}
	separate := open("class-separate-create.json", &coopfed.Motion{Title: "Raise bread prices by 5 %", Kind: coopfed.MotionConsent,
		ClassCount: coopfed.CountByClass, Classes: []string{"workers", "consumers"}})
	open("class-weighted-create.json", &coopfed.Motion{Title: "Name the new loaf", Kind: coopfed.MotionChoice, Options: []string{"Riverside", "Old Mill"},
		ClassCount: coopfed.CountWeighted, Weights: []coopfed.ClassWeight{{Class: "workers", Weight: 2}, {Class: "consumers", Weight: 1}}})
	internal := open("", &coopfed.Motion{Title: "Join the regional flour pool", Kind: coopfed.MotionConsent,
		MirrorOf: "https://federation.example/motions/pool", MirrorActor: fed.IRI})
	for _, v := range [][2]string{{"ana", "Agree"}, {"bo", "Agree"}, {"cy", "Agree"}, {"di", "Disagree"}} {
		vote(separate, v[0], v[1])
		vote(internal, v[0], v[1])
	}
	e.tick(48 * time.Hour)
	if err := runGovernance(ctx, f); err != nil {
		t.Fatal(err)
	}
	closed, err := e.store.Motion(ctx, separate.IRI)
	if err != nil || closed.State != coopfed.MotionClosed {
		t.Fatalf("motion not closed: %+v %v", closed, err)
	}
	q, err := f.MotionDocument(ctx, c, closed)
	if err != nil {
		t.Fatal(err)
	}
	if docs["class-separate-question.json"], err = Marshal(q); err != nil {
		t.Fatal(err)
	}
	cast, err := e.store.Motion(ctx, internal.IRI)
	if err != nil || cast.CastIRI == "" {
		t.Fatalf("internal motion cast nothing: %+v %v", cast, err)
	}
	stored("federation-vote-create.json", cast.CastIRI+"/activity")
	return docs
}

func TestClassGolden(t *testing.T) {
	docs := classGoldenDocuments(t)
	compareGoldenSet(t, docs, "class-separate-create.json", "class-weighted-create.json", "class-separate-question.json", "federation-vote-create.json")
}

// TestClassGoldenShapes checks what peers rely on beyond byte equality:
// the class terms of a Question, and a cast vote a Mastodon server would
// count (a Note with the option's name, inReplyTo the Question, no
// content, attributed to the coop).
func TestClassGoldenShapes(t *testing.T) {
	docs := classGoldenDocuments(t)
	decode := func(name string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(docs[name], &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return m
	}
	q := decode("class-separate-question.json")
	classes, _ := q["memberClasses"].([]any)
	if q["classCount"] != "separate" || len(classes) != 2 || q["outcome"] != "not_carried" {
		t.Fatalf("question: classCount %v, memberClasses %v, outcome %v", q["classCount"], q["memberClasses"], q["outcome"])
	}
	if w := decode("class-weighted-create.json")["object"].(map[string]any)["memberClasses"].([]any)[0].(map[string]any); w["weight"] != 2.0 || w["name"] != "workers" {
		t.Errorf("weighted class: %v", w)
	}
	create := decode("federation-vote-create.json")
	note := create["object"].(map[string]any)
	if note["type"] != "Note" || note["name"] != "Agree" || note["inReplyTo"] != "https://federation.example/motions/pool" || note["content"] != nil ||
		note["attributedTo"] != create["actor"] || create["actor"] != "https://coop.example/coops/bakery" {
		t.Errorf("cast vote: %v", create)
	}
}
