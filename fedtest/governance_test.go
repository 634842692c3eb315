package fedtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

// skewClock runs with real time plus an offset that tests move forward, so
// deadlines pass on demand while retries and timeouts still flow.
type skewClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *skewClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *skewClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// motionView is a motion as the API lists it.
type motionView struct {
	ID          string
	State       string
	Eligible    int
	Voters      int
	Outcome     string
	OutcomeText string `json:"outcome_text"`
	OutcomeNote string `json:"outcome_note"`
	Tally       []struct {
		Option string
		Votes  int
	}
}

func (m motionView) votes(option string) int {
	for _, t := range m.Tally {
		if t.Option == option {
			return t.Votes
		}
	}
	return -1
}

func getMotion(t *testing.T, inst *fedtest.Instance, iri string) motionView {
	t.Helper()
	var list struct{ Items []motionView }
	if st := inst.API(t, http.MethodGet, "/api/v1/coops/"+inst.Coop.Name+"/motions", nil, &list); st != http.StatusOK {
		t.Fatalf("list motions: %d", st)
	}
	for _, m := range list.Items {
		if m.ID == iri {
			return m
		}
	}
	t.Fatalf("motion %s not listed", iri)
	return motionView{}
}

func addMember(t *testing.T, inst *fedtest.Instance, username string, actors ...string) {
	t.Helper()
	if actors == nil {
		actors = []string{}
	}
	body := map[string]any{"username": username, "role": "member", "actors": actors}
	if st := inst.API(t, http.MethodPost, "/api/v1/coops/"+inst.Coop.Name+"/members", body, nil); st != http.StatusCreated {
		t.Fatalf("add member %s: %d", username, st)
	}
}

func createMotion(t *testing.T, inst *fedtest.Instance, body map[string]any) string {
	t.Helper()
	var out struct{ ID string }
	if st := inst.API(t, http.MethodPost, "/api/v1/coops/"+inst.Coop.Name+"/motions", body, &out); st != http.StatusCreated || out.ID == "" {
		t.Fatalf("create motion: %d %+v", st, out)
	}
	return out.ID
}

// vote is the Create(Note) Mastodon sends for one chosen option: a Note
// with a name, inReplyTo the poll, no content, addressed to the poll's
// author.
func vote(a *fedtest.Actor, id, motion, author, option string) map[string]any {
	return map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       id + "/activity",
		"type":     "Create",
		"actor":    a.IRI,
		"to":       author,
		"object": map[string]any{
			"id": id, "type": "Note", "name": option, "attributedTo": a.IRI, "to": author, "inReplyTo": motion,
		},
	}
}

func followCoop(t *testing.T, inst *fedtest.Instance, remote *fedtest.Remote, a *fedtest.Actor) {
	t.Helper()
	follow := map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": a.ID("follows"), "type": "Follow", "actor": a.IRI, "object": inst.ActorIRI()}
	if st, body := a.Post(inst.URL+"/coops/"+inst.Coop.Name+"/inbox", follow); st != http.StatusAccepted {
		t.Fatalf("follow: %d %s", st, body)
	}
	remote.WaitFor("Accept", 1)
}

func object(r fedtest.Received) map[string]any {
	o, _ := r.Activity["object"].(map[string]any)
	return o
}

// waitForObject waits until the remote got an activity of type typ whose
// object satisfies ok, and returns that object.
func waitForObject(t *testing.T, remote *fedtest.Remote, typ, what string, ok func(o map[string]any) bool) map[string]any {
	t.Helper()
	var found map[string]any
	fedtest.Eventually(t, 15*time.Second, what, func() bool {
		for _, r := range remote.ReceivedOfType(typ) {
			if o := object(r); o != nil && ok(o) {
				if r.SignatureErr != nil {
					t.Fatalf("%s: signature: %v", what, r.SignatureErr)
				}
				found = o
				return true
			}
		}
		return false
	})
	return found
}

// The governance journey: a motion created on A reaches a Mastodon-shaped
// follower and coop B as a Question; a member votes from a linked remote
// account, a non-member's vote is ignored, local members vote through the
// API; the tally Update reaches the voter, who does not follow the coop;
// at the deadline (a fake clock moved forward) the poll closes and the
// outcome Note is delivered with a Mention of the voter.
func TestGovernanceJourney(t *testing.T) {
	clock := &skewClock{}
	a := fedtest.Start(t, fedtest.Options{Coop: "alpha", Now: clock.Now, TallyDebounce: time.Millisecond})
	b := fedtest.Start(t, fedtest.Options{Coop: "beta"})
	b.Follow(t, a)
	followers := fedtest.NewRemote(t)
	alice := followers.AddActor("alice", 1)
	followCoop(t, a, followers, alice)
	voters := fedtest.NewRemote(t)
	bob := voters.AddActor("bob", 2)
	eve := voters.AddActor("eve", 3)

	addMember(t, a, "bob", bob.IRI)
	addMember(t, a, "carol")
	addMember(t, a, "dan")
	closes := clock.Now().Add(10 * time.Minute).UTC().Truncate(time.Second)
	motion := createMotion(t, a, map[string]any{
		"title": "Buy a second oven", "text": "The old one is failing.", "kind": "choice", "options": []string{"Yes", "No"},
		"closes_at": closes.Format(time.RFC3339), "quorum": 0.5, "threshold": 0.5,
	})

	// The follower's server gets a poll it can render.
	q := waitForObject(t, followers, "Create", "Create(Question) at the follower", func(o map[string]any) bool { return o["id"] == motion })
	opts, _ := q["oneOf"].([]any)
	if q["type"] != "Question" || len(opts) != 2 || q["endTime"] != closes.Format(time.RFC3339) || q["votersCount"] != float64(0) {
		t.Fatalf("unexpected Question: %v", q)
	}
	if q["eligibility"] != a.IRIs().CoopMembers("alpha") || q["quorum"] != 0.5 || !strings.Contains(q["content"].(string), "Quorum: 50 %") {
		t.Fatalf("Question lacks its rules: %v", q)
	}
	// Coop B, which follows A, has the Question in its timeline.
	fedtest.Eventually(t, 15*time.Second, "Question in B's timeline", func() bool {
		var tl struct{ Items []struct{ ID, Type string } }
		b.API(t, http.MethodGet, "/api/v1/coops/beta/timeline", nil, &tl)
		for _, it := range tl.Items {
			if it.ID == motion && it.Type == "Question" {
				return true
			}
		}
		return false
	})

	// bob votes Yes from his linked account; eve, not a member, votes No.
	if st, body := bob.Post(a.URL+"/inbox", vote(bob, bob.IRI+"#votes/1", motion, a.ActorIRI(), "Yes")); st != http.StatusAccepted {
		t.Fatalf("bob's vote: %d %s", st, body)
	}
	before := a.Counts(t)
	if st, body := eve.Post(a.URL+"/inbox", vote(eve, eve.IRI+"#votes/1", motion, a.ActorIRI(), "No")); st != http.StatusAccepted {
		t.Fatalf("eve's vote: %d %s", st, body)
	}
	if after := a.Counts(t); after["votes"] != before["votes"] || after["inbox_seen"] != before["inbox_seen"] {
		t.Fatalf("a non-member's vote changed the database: %v -> %v", before, after)
	}
	// A reply that is not a vote is kept as the motion's discussion.
	reply := alice.ID("statuses")
	comment := map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": reply + "/activity", "type": "Create", "actor": alice.IRI,
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"},
		"object": map[string]any{"id": reply, "type": "Note", "attributedTo": alice.IRI, "inReplyTo": motion,
			"content": "<p>Can we afford it? <script>x()</script></p>", "to": []string{"https://www.w3.org/ns/activitystreams#Public"}},
	}
	if st, body := alice.Post(a.URL+"/inbox", comment); st != http.StatusAccepted {
		t.Fatalf("reply: %d %s", st, body)
	}
	resp, err := http.Get(motion)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Can we afford it?") || strings.Contains(string(page), "<script>") {
		t.Fatalf("discussion not shown, or not sanitised:\n%s", page)
	}
	// Local members vote through the API.
	for member, choice := range map[string]string{"carol": "No", "dan": "Yes"} {
		if st := a.API(t, http.MethodPost, "/api/v1/motions/vote?id="+motion, map[string]any{"member": member, "choices": []string{choice}}, nil); st != http.StatusOK {
			t.Fatalf("%s votes: %d", member, st)
		}
	}
	// dan changes his vote twice, ending where he began: it counts once.
	for _, choice := range []string{"No", "Yes"} {
		if st := a.API(t, http.MethodPost, "/api/v1/motions/vote?id="+motion, map[string]any{"member": "dan", "choices": []string{choice}, "reason": "changed to " + choice}, nil); st != http.StatusOK {
			t.Fatalf("dan changes his vote to %s: %d", choice, st)
		}
	}
	m := getMotion(t, a, motion)
	if m.Eligible != 3 || m.Voters != 3 || m.votes("Yes") != 2 || m.votes("No") != 1 {
		t.Fatalf("tally: %+v", m)
	}

	// The tally reaches bob, a voter who does not follow the coop.
	waitForObject(t, voters, "Update", "tally Update at the voter", func(o map[string]any) bool {
		return o["id"] == motion && o["votersCount"] == float64(3) && o["updated"] != nil
	})

	// The deadline passes: the poll closes and the outcome is published.
	clock.Advance(11 * time.Minute)
	closed := waitForObject(t, voters, "Update", "closed Question at the voter", func(o map[string]any) bool {
		return o["id"] == motion && o["closed"] != nil
	})
	if closed["outcome"] != "carried" {
		t.Fatalf("closed Question: %v", closed)
	}
	isOutcome := func(o map[string]any) bool { return o["type"] == "Note" && o["inReplyTo"] == motion }
	note := waitForObject(t, voters, "Create", "outcome Note at the voter", isOutcome)
	if !strings.Contains(note["content"].(string), "Carried") || !strings.Contains(note["content"].(string), "3 of 3 eligible members voted") {
		t.Fatalf("outcome Note content: %v", note["content"])
	}
	tags, _ := note["tag"].([]any)
	if len(tags) != 1 || tags[0].(map[string]any)["href"] != bob.IRI || tags[0].(map[string]any)["type"] != "Mention" {
		t.Fatalf("outcome Note does not mention the voter: %v", note["tag"])
	}
	if cc, _ := note["cc"].([]any); !containsString(cc, bob.IRI) {
		t.Fatalf("outcome Note not addressed to the voter: %v", note["cc"])
	}
	waitForObject(t, followers, "Create", "outcome Note at the follower", isOutcome)
	m = getMotion(t, a, motion)
	if m.State != "closed" || m.Outcome != "carried" || m.OutcomeNote == "" {
		t.Fatalf("closed motion: %+v", m)
	}
	// A vote after the deadline changes nothing.
	if st, _ := bob.Post(a.URL+"/inbox", vote(bob, bob.IRI+"#votes/2", motion, a.ActorIRI(), "No")); st != http.StatusAccepted {
		t.Fatalf("late vote: %d", st)
	}
	if m := getMotion(t, a, motion); m.votes("No") != 1 {
		t.Fatalf("late vote counted: %+v", m)
	}
	// The motion page shows the outcome; the Question document is closed.
	resp, err = http.Get(motion)
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Outcome: carried") {
		t.Fatalf("motion page: %d\n%s", resp.StatusCode, page)
	}
	var doc map[string]any
	if st := fedtest.GetJSON(t, motion, &doc); st != http.StatusOK || doc["closed"] == nil || doc["votersCount"] != float64(3) {
		t.Fatalf("GET Question: %d %v", st, doc)
	}
	if st := fedtest.GetJSON(t, m.OutcomeNote, nil); st != http.StatusOK {
		t.Fatalf("GET outcome note: %d", st)
	}
}

func containsString(list []any, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// 50 concurrent deliveries of the same vote, and 50 of different votes by
// the same member, on a single-choice motion: every one is answered 202
// and exactly one vote counts.
func TestGovernanceConcurrentVotes(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "alpha"})
	voters := fedtest.NewRemote(t)
	bob := voters.AddActor("bob", 2)
	addMember(t, a, "bob", bob.IRI)
	for _, tc := range []struct {
		name   string
		id     func(i int) string
		option func(i int) string
	}{
		{"same vote", func(int) string { return "same" }, func(int) string { return "Green" }},
		{"different votes", func(i int) string { return fmt.Sprintf("diff%d", i) }, func(i int) string { return []string{"Green", "Blue"}[i%2] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			motion := createMotion(t, a, map[string]any{
				"title": "Paint the shop", "kind": "choice", "options": []string{"Green", "Blue"},
				"closes_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
			})
			var reqs []*http.Request
			for i := range 50 {
				// Vote ids are unique per motion: Mastodon's are #votes/<poll vote id>.
				id := bob.IRI + "#votes/" + a.IRIs().MotionID(motion) + "/" + tc.id(i)
				req, _ := bob.NewPost(a.URL+"/inbox", vote(bob, id, motion, a.ActorIRI(), tc.option(i)))
				reqs = append(reqs, req)
			}
			statuses := make([]int, len(reqs))
			var wg sync.WaitGroup
			for i, req := range reqs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					statuses[i] = resp.StatusCode
				}()
			}
			wg.Wait()
			for i, st := range statuses {
				if st != http.StatusAccepted {
					t.Fatalf("delivery %d: status %d", i, st)
				}
			}
			m := getMotion(t, a, motion)
			if m.Voters != 1 || m.votes("Green")+m.votes("Blue") != 1 {
				t.Fatalf("counted %+v, want exactly one vote", m)
			}
		})
	}
}

// A restart between opening and the deadline: the motion is still open
// after it, and closes when the deadline passes; a deadline that passes
// while the server is down is met at the first tick after the next start.
func TestGovernanceRestart(t *testing.T) {
	clock := &skewClock{}
	a := fedtest.Start(t, fedtest.Options{Coop: "alpha", Now: clock.Now, TallyDebounce: time.Millisecond})
	followers := fedtest.NewRemote(t)
	alice := followers.AddActor("alice", 1)
	followCoop(t, a, followers, alice)
	addMember(t, a, "carol")
	body := func(title string) map[string]any {
		return map[string]any{"title": title, "kind": "consent", "quorum": 0.5,
			"closes_at": clock.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339)}
	}
	first := createMotion(t, a, body("Open on Sundays"))
	if st := a.API(t, http.MethodPost, "/api/v1/motions/vote?id="+first, map[string]any{"member": "carol", "choices": []string{"Agree"}}, nil); st != http.StatusOK {
		t.Fatalf("vote: %d", st)
	}
	restart := func() *fedtest.Instance {
		t.Helper()
		addr := strings.TrimPrefix(a.URL, "http://")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		return fedtest.Start(t, fedtest.Options{Coop: "alpha", DB: a.DB, Addr: addr, Now: clock.Now, TallyDebounce: time.Millisecond})
	}
	a = restart()
	if m := getMotion(t, a, first); m.State != "open" || m.Voters != 1 {
		t.Fatalf("after restart: %+v", m)
	}
	clock.Advance(11 * time.Minute)
	isOutcome := func(motion string) func(o map[string]any) bool {
		return func(o map[string]any) bool { return o["type"] == "Note" && o["inReplyTo"] == motion }
	}
	note := waitForObject(t, followers, "Create", "outcome of the first motion", isOutcome(first))
	if !strings.HasPrefix(note["content"].(string), "<p>Outcome of") || !strings.Contains(note["content"].(string), "carried") {
		t.Fatalf("outcome: %v", note["content"])
	}

	second := createMotion(t, a, body("Raise wages"))
	a = restart()
	_ = a.Shutdown(context.Background())
	clock.Advance(11 * time.Minute) // the deadline passes while the server is down
	a = fedtest.Start(t, fedtest.Options{Coop: "alpha", DB: a.DB, Addr: strings.TrimPrefix(a.URL, "http://"), Now: clock.Now, TallyDebounce: time.Millisecond})
	waitForObject(t, followers, "Create", "outcome of the second motion", isOutcome(second))
	if m := getMotion(t, a, second); m.State != "closed" || m.Outcome != "no_quorum" {
		t.Fatalf("second motion: %+v", m)
	}
}

// The members collection: its size is public, its list only for a GET
// signed by a member's linked account; a forged signature is refused.
func TestGovernanceMembersCollection(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "alpha"})
	remote := fedtest.NewRemote(t)
	bob := remote.AddActor("bob", 2)
	eve := remote.AddActor("eve", 3)
	addMember(t, a, "bob", bob.IRI)
	addMember(t, a, "carol")
	url := a.IRIs().CoopMembers("alpha")
	get := func(signer *fedtest.Actor, tamper bool) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Accept", "application/activity+json")
		if signer != nil {
			signer.Sign(req, nil)
		}
		if tamper {
			req.Header.Set("Date", time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc map[string]any
		json.NewDecoder(resp.Body).Decode(&doc)
		return resp.StatusCode, doc
	}
	tests := []struct {
		name   string
		signer *fedtest.Actor
		tamper bool
		status int
		items  bool
	}{
		{"unsigned", nil, false, http.StatusOK, false},
		{"signed by a member's account", bob, false, http.StatusOK, true},
		{"signed by someone else", eve, false, http.StatusOK, false},
		{"signature that does not verify", bob, true, http.StatusUnauthorized, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, doc := get(tc.signer, tc.tamper)
			if st != tc.status {
				t.Fatalf("status %d, want %d: %v", st, tc.status, doc)
			}
			if st != http.StatusOK {
				return
			}
			items, listed := doc["orderedItems"].([]any)
			if doc["totalItems"] != float64(2) || listed != tc.items || (listed && (len(items) != 1 || items[0] != bob.IRI)) {
				t.Fatalf("collection: %v", doc)
			}
		})
	}
}

// Bad API requests get a clear error and change nothing.
func TestGovernanceAPIErrors(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "alpha"})
	other := fedtest.Start(t, fedtest.Options{Coop: "other"})
	addMember(t, a, "carol")
	motion := createMotion(t, a, map[string]any{"title": "Oven", "kind": "choice", "options": []string{"Yes", "No"},
		"closes_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	later := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"motion without title", "POST", "/api/v1/coops/alpha/motions", map[string]any{"kind": "choice", "options": []string{"A", "B"}, "closes_at": later}, 422, "title"},
		{"unknown kind", "POST", "/api/v1/coops/alpha/motions", map[string]any{"title": "X", "kind": "approval", "closes_at": later}, 422, "kind"},
		{"deadline not a time", "POST", "/api/v1/coops/alpha/motions", map[string]any{"title": "X", "kind": "consent", "closes_at": "friday"}, 422, "closes_at"},
		{"threshold above 1", "POST", "/api/v1/coops/alpha/motions", map[string]any{"title": "X", "kind": "consent", "closes_at": later, "threshold": 1.5}, 422, "threshold"},
		{"unknown field", "POST", "/api/v1/coops/alpha/motions", map[string]any{"title": "X", "kind": "consent", "closes_at": later, "majority": 0.5}, 400, ""},
		{"vote for no option", "POST", "/api/v1/motions/vote?id=" + motion, map[string]any{"member": "carol", "choices": []string{"Maybe"}}, 422, "choices"},
		{"vote for two options", "POST", "/api/v1/motions/vote?id=" + motion, map[string]any{"member": "carol", "choices": []string{"Yes", "No"}}, 422, "choices"},
		{"vote by a non-member", "POST", "/api/v1/motions/vote?id=" + motion, map[string]any{"member": "zed", "choices": []string{"Yes"}}, 422, "member"},
		{"vote on an unknown motion", "POST", "/api/v1/motions/vote?id=" + motion + "x", map[string]any{"member": "carol", "choices": []string{"Yes"}}, 404, ""},
		{"extend to an earlier time", "POST", "/api/v1/motions/extend?id=" + motion, map[string]any{"closes_at": time.Now().Add(time.Minute).UTC().Format(time.RFC3339)}, 422, "closes_at"},
		{"member with a bad actor", "POST", "/api/v1/coops/alpha/members", map[string]any{"username": "dan", "actors": []string{"dan@social.example"}}, 422, "actors"},
		{"member taken", "POST", "/api/v1/coops/alpha/members", map[string]any{"username": "carol"}, 409, ""},
		{"remove an unknown member", "DELETE", "/api/v1/coops/alpha/members/zed", nil, 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := a.Counts(t)
			var out struct {
				Error  string
				Fields map[string]string
			}
			if st := a.API(t, tc.method, tc.path, tc.body, &out); st != tc.status || out.Error == "" || (tc.field != "" && out.Fields[tc.field] == "") {
				t.Fatalf("status %d %+v, want %d with a problem in %q", st, out, tc.status, tc.field)
			}
			if after := a.Counts(t); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("refused request changed the database: %v -> %v", before, after)
			}
		})
	}
	// Another coop's token cannot act on the motion.
	if st := other.APIWithToken(t, other.Token, http.MethodPost, "/api/v1/motions/close?id="+motion, nil, nil); st != http.StatusNotFound {
		t.Fatalf("close by another coop: %d", st)
	}
	if st := a.API(t, http.MethodPost, "/api/v1/motions/close?id="+motion, nil, nil); st != http.StatusOK {
		t.Fatalf("close: %d", st)
	}
	if st := a.API(t, http.MethodPost, "/api/v1/motions/close?id="+motion, nil, nil); st != http.StatusConflict {
		t.Fatalf("second close: %d", st)
	}
}
