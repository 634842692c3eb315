package fedtest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

// extVote is a vote Note carrying the coopfed extension terms, as a server
// that knows them sends it: a ranking, or scores, and a reason.
func extVote(a *fedtest.Actor, id, motion, author, name string, ext map[string]any) map[string]any {
	v := vote(a, id, motion, author, name)
	o := v["object"].(map[string]any)
	for k, x := range ext {
		o[k] = x
	}
	v["@context"] = []any{"https://www.w3.org/ns/activitystreams", map[string]any{
		"coopfed": "https://coopfed.org/ns#", "ranking": map[string]any{"@id": "coopfed:ranking", "@container": "@list"},
		"scores": "coopfed:scores", "points": "coopfed:points", "voteReason": "coopfed:voteReason"}}
	return v
}

// updateVote is the Update a server sends when a member edits the vote
// Note: the same id, a new option, a later updated time.
func updateVote(a *fedtest.Actor, id, motion, author, option string, at time.Time) map[string]any {
	v := vote(a, id, motion, author, option)
	v["id"], v["type"] = id+"/update/"+option, "Update"
	o := v["object"].(map[string]any)
	o["published"], o["updated"] = at.Add(-time.Minute).UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339)
	return v
}

type decisionView struct {
	State, Outcome, Method string
	Voters, Exhausted      int
	Dots                   int
	DotsGiven              int `json:"dots_given"`
	Tally                  []struct {
		Option        string
		Votes, Points int
	}
	Rounds []struct {
		Round      int
		Elected    string
		Eliminated []string
	}
}

func getDecision(t *testing.T, inst *fedtest.Instance, iri string) decisionView {
	t.Helper()
	var list struct {
		Items []struct {
			ID string
			decisionView
		}
	}
	if st := inst.API(t, http.MethodGet, "/api/v1/coops/"+inst.Coop.Name+"/motions", nil, &list); st != http.StatusOK {
		t.Fatalf("list motions: %d", st)
	}
	for _, m := range list.Items {
		if m.ID == iri {
			return m.decisionView
		}
	}
	t.Fatalf("motion %s not listed", iri)
	return decisionView{}
}

func pageOf(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return string(b)
}

// Ranked and score motions reach a Mastodon-shaped follower as a Note that
// links to the page, not as a poll; a server that knows the extension
// terms votes with a ranking or scores; a plain poll vote, duplicates,
// unknown options and dots beyond the allowance are refused with the
// database unchanged; a vote changed twice (an Update of the vote Note,
// then a new vote) counts once.
func TestGovernanceDecisionTypes(t *testing.T) {
	clock := &skewClock{}
	a := fedtest.Start(t, fedtest.Options{Coop: "alpha", Now: clock.Now, TallyDebounce: time.Millisecond})
	followers := fedtest.NewRemote(t)
	alice := followers.AddActor("alice", 1)
	followCoop(t, a, followers, alice)
	voters := fedtest.NewRemote(t)
	bob := voters.AddActor("bob", 2)
	pia := voters.AddActor("pia", 3)
	eve := voters.AddActor("eve", 4)
	addMember(t, a, "bob", bob.IRI)
	addMember(t, a, "pia", pia.IRI)
	addMember(t, a, "carol")
	addMember(t, a, "dan")
	closes := clock.Now().Add(10 * time.Minute).UTC().Truncate(time.Second).Format(time.RFC3339)

	ranked := createMotion(t, a, map[string]any{"title": "Name the bread", "kind": "ranked", "method": "irv", "options": []string{"Rye", "Spelt", "Oat"}, "closes_at": closes, "quorum": 0.5, "threshold": 0.6})
	score := createMotion(t, a, map[string]any{"title": "Spend the surplus", "kind": "score", "dots": 10, "options": []string{"Wages", "Oven"}, "closes_at": closes})
	choice := createMotion(t, a, map[string]any{"title": "Paint the shop", "kind": "choice", "options": []string{"Green", "Blue"}, "closes_at": closes})

	note := waitForObject(t, followers, "Create", "ranked motion at the follower", func(o map[string]any) bool { return o["id"] == ranked })
	if note["type"] != "Note" || note["oneOf"] != nil || note["anyOf"] != nil || !strings.Contains(note["content"].(string), `href="`+ranked+`"`) {
		t.Fatalf("a ranked motion must reach Mastodon as a Note linking to its page: %v", note)
	}
	if opts, _ := note["ballotOptions"].([]any); len(opts) != 3 || note["method"] != "irv" {
		t.Fatalf("ranked Note lacks its extension terms: %v", note)
	}

	post := func(who *fedtest.Actor, activity map[string]any) {
		t.Helper()
		if st, body := who.Post(a.URL+"/inbox", activity); st != http.StatusAccepted {
			t.Fatalf("delivery: %d %s", st, body)
		}
	}
	author := a.ActorIRI()
	hostile := []struct {
		name string
		who  *fedtest.Actor
		act  map[string]any
	}{
		{"a plain poll vote on a ranked motion", bob, vote(bob, bob.IRI+"#votes/r0", ranked, author, "Rye")},
		{"a ranking with a duplicate", pia, extVote(pia, pia.IRI+"#votes/r1", ranked, author, "Rye", map[string]any{"ranking": []string{"Rye", "Oat", "Rye"}})},
		{"a ranking with an unknown option", pia, extVote(pia, pia.IRI+"#votes/r2", ranked, author, "Rye", map[string]any{"ranking": []string{"Rye", "Barley"}})},
		{"a ranking from a non-member", eve, extVote(eve, eve.IRI+"#votes/r3", ranked, author, "Rye", map[string]any{"ranking": []string{"Rye"}})},
		{"scores beyond the allowance", pia, extVote(pia, pia.IRI+"#votes/s1", score, author, "Wages", map[string]any{"scores": []any{map[string]any{"name": "Wages", "points": 8}, map[string]any{"name": "Oven", "points": 5}}})},
		{"negative scores", pia, extVote(pia, pia.IRI+"#votes/s2", score, author, "Wages", map[string]any{"scores": []any{map[string]any{"name": "Wages", "points": 15}, map[string]any{"name": "Oven", "points": -5}}})},
		{"a score vote without scores", bob, vote(bob, bob.IRI+"#votes/s3", score, author, "Wages")},
	}
	// The motions' Creates are delivered first, so that the snapshots
	// below see only what a vote would write.
	fedtest.Eventually(t, 15*time.Second, "deliveries done", func() bool { return a.PendingDeliveries(t) == 0 })
	for _, tc := range hostile {
		t.Run(tc.name, func(t *testing.T) {
			before := a.Snapshot(t)
			post(tc.who, tc.act)
			// remote_actors caches the signer's key, fetched to check the
			// signature before the vote is looked at.
			if changed := changedTables(before, a.Snapshot(t), "remote_actors"); len(changed) > 0 {
				t.Fatalf("refused vote changed %v", changed)
			}
		})
	}
	apiHostile := []struct {
		name  string
		body  map[string]any
		field string
		path  string
	}{
		{"API: a ranking with a duplicate", map[string]any{"member": "carol", "choices": []string{"Oat", "Oat"}}, "choices", ranked},
		{"API: dots beyond the allowance", map[string]any{"member": "carol", "scores": []any{map[string]any{"option": "Wages", "points": 11}}}, "scores", score},
		{"API: dots on an unknown option", map[string]any{"member": "carol", "scores": []any{map[string]any{"option": "Bonus", "points": 1}}}, "scores", score},
		{"API: a reason too long", map[string]any{"member": "carol", "choices": []string{"Green"}, "reason": strings.Repeat("x", 1001)}, "reason", choice},
	}
	for _, tc := range apiHostile {
		t.Run(tc.name, func(t *testing.T) {
			before := a.Snapshot(t)
			var out struct {
				Error  string
				Fields map[string]string
			}
			if st := a.API(t, http.MethodPost, "/api/v1/motions/vote?id="+tc.path, tc.body, &out); st != http.StatusUnprocessableEntity || out.Fields[tc.field] == "" {
				t.Fatalf("status %d %+v, want 422 with a problem in %s", st, out, tc.field)
			}
			if changed := changedTables(before, a.Snapshot(t)); len(changed) > 0 {
				t.Fatalf("refused vote changed %v", changed)
			}
		})
	}

	// Valid ballots: pia ranks from her server, bob and carol through the
	// API (bob's account cannot carry a ranking).
	post(pia, extVote(pia, pia.IRI+"#votes/r10", ranked, author, "Oat", map[string]any{"ranking": []string{"Oat", "Spelt"}, "voteReason": "oat keeps"}))
	for member, order := range map[string][]string{"bob": {"Spelt", "Rye"}, "carol": {"Rye", "Spelt"}, "dan": {"Rye"}} {
		if st := a.API(t, http.MethodPost, "/api/v1/motions/vote?id="+ranked, map[string]any{"member": member, "choices": order}, nil); st != http.StatusOK {
			t.Fatalf("%s ranks: %d", member, st)
		}
	}
	post(pia, extVote(pia, pia.IRI+"#votes/s10", score, author, "Wages", map[string]any{"scores": []any{map[string]any{"name": "Wages", "points": 6}, map[string]any{"name": "Oven", "points": 4}}}))
	if st := a.API(t, http.MethodPost, "/api/v1/motions/vote?id="+score, map[string]any{"member": "carol", "scores": []any{map[string]any{"option": "Oven", "points": 10}}, "reason": "the oven is failing"}, nil); st != http.StatusOK {
		t.Fatalf("carol's dots: %d", st)
	}

	// bob votes Green from Mastodon, edits the vote Note to Blue, then
	// votes Green again with a new Note: one vote, Green.
	post(bob, vote(bob, bob.IRI+"#votes/c1", choice, author, "Green"))
	post(bob, updateVote(bob, bob.IRI+"#votes/c1", choice, author, "Blue", clock.Now().Add(time.Second)))
	if m := getMotion(t, a, choice); m.Voters != 1 || m.votes("Blue") != 1 || m.votes("Green") != 0 {
		t.Fatalf("after the edit: %+v", m)
	}
	clock.Advance(2 * time.Second)
	post(bob, vote(bob, bob.IRI+"#votes/c2", choice, author, "Green"))
	// The same vote Note again, in a new activity, is not a third change.
	// The tally job may meanwhile send the last vote's Update, which
	// writes activities, deliveries and the motion's tally times.
	before := a.Snapshot(t)
	again := vote(bob, bob.IRI+"#votes/c2", choice, author, "Green")
	again["id"] = bob.IRI + "#votes/c2/again"
	post(bob, again)
	if changed := changedTables(before, a.Snapshot(t), "activities", "deliveries", "motions"); len(changed) > 0 {
		t.Fatalf("a redelivered vote changed %v", changed)
	}
	if m := getMotion(t, a, choice); m.Voters != 1 || m.votes("Green") != 1 || m.votes("Blue") != 0 {
		t.Fatalf("a vote changed twice: %+v", m)
	}

	r := getDecision(t, a, ranked)
	// Round 1: Rye 2, Spelt 1, Oat 1, below 60 %; Spelt and Oat tie for
	// fewest and both go. Round 2: Rye 3 of 3, pia's ballot exhausted.
	if r.Voters != 4 || len(r.Rounds) != 2 || strings.Join(r.Rounds[0].Eliminated, ",") != "Spelt,Oat" || r.Rounds[1].Elected != "Rye" || r.Exhausted != 1 {
		t.Fatalf("runoff: %+v", r)
	}
	if s := getDecision(t, a, score); s.DotsGiven != 20 || s.Tally[0].Points != 6 || s.Tally[1].Points != 14 {
		t.Fatalf("dots: %+v", s)
	}
	page := pageOf(t, ranked)
	for _, want := range []string{"Instant runoff, round by round", "Spelt, Oat eliminated", "Rye elected", "all tied options are eliminated", "oat keeps", `class="chart"`} {
		if !strings.Contains(page, want) {
			t.Errorf("ranked page lacks %q", want)
		}
	}
	if page := pageOf(t, choice); !strings.Contains(page, "Earlier votes, replaced (2)") || !strings.Contains(page, "2×") {
		t.Errorf("choice page does not show the vote changes")
	}

	// The deadline: the runoff's outcome reaches the follower.
	clock.Advance(11 * time.Minute)
	outcome := waitForObject(t, followers, "Create", "ranked outcome at the follower", func(o map[string]any) bool {
		return o["type"] == "Note" && o["inReplyTo"] == ranked
	})
	if !strings.Contains(outcome["content"].(string), "won the instant runoff in round 2") {
		t.Fatalf("outcome: %v", outcome["content"])
	}
}
