package fedtest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

// fetchPage returns the HTML page at url.
func fetchPage(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	st, body := fedtest.Do(t, req)
	if st != http.StatusOK {
		t.Fatalf("GET %s: %d", url, st)
	}
	return body
}

// mirrorOf returns the internal motion an instance opened for a
// federation's Question, waiting for it.
func mirrorOf(t *testing.T, inst *fedtest.Instance, question string) string {
	t.Helper()
	var id string
	fedtest.Eventually(t, 15*time.Second, inst.Coop.Name+"'s internal motion", func() bool {
		var list struct {
			Items []struct {
				ID       string
				MirrorOf string `json:"mirror_of"`
				State    string
			}
		}
		inst.API(t, http.MethodGet, "/api/v1/coops/"+inst.Coop.Name+"/motions", nil, &list)
		for _, m := range list.Items {
			if m.MirrorOf == question && m.State == "open" {
				id = m.ID
				return true
			}
		}
		return false
	})
	return id
}

// Coops of coops over three real instances: coops C and D are members of
// the federation F. F's motion opens an internal motion at C and at D;
// their members vote (one changes her vote twice, which counts once);
// each internal outcome is cast into F as the coop's vote, signed by the
// coop; F's outcome reaches its Mastodon-shaped follower, and F shows which
// member coop voted what. Votes a member coop casts for another coop, or
// by an actor that is no member coop, are refused and change nothing.
func TestCoopsOfCoops(t *testing.T) {
	clock := &skewClock{}
	fed := fedtest.Start(t, fedtest.Options{Coop: "bakeries", Now: clock.Now, TallyDebounce: time.Millisecond})
	cc := fedtest.Start(t, fedtest.Options{Coop: "riverside", Now: clock.Now, TallyDebounce: time.Millisecond})
	dd := fedtest.Start(t, fedtest.Options{Coop: "oldmill", Now: clock.Now, TallyDebounce: time.Millisecond})
	remote := fedtest.NewRemote(t)
	masto := remote.AddActor("masto", 1)
	followCoop(t, fed, remote, masto)

	// C and D join F: each follows F and records the membership; F's
	// admin accepts them as member coops.
	for _, member := range []*fedtest.Instance{cc, dd} {
		var out struct{ Actor string }
		if st := member.API(t, http.MethodPost, "/api/v1/coops/"+member.Coop.Name+"/federations", map[string]any{"actor": fed.ActorIRI()}, &out); st != http.StatusCreated || out.Actor != fed.ActorIRI() {
			t.Fatalf("%s joins: %d %+v", member.Coop.Name, st, out)
		}
		body := map[string]any{"username": member.Coop.Name, "kind": "coop", "actors": []string{member.ActorIRI()}}
		if st := fed.API(t, http.MethodPost, "/api/v1/coops/bakeries/members", body, nil); st != http.StatusCreated {
			t.Fatalf("F accepts %s: %d", member.Coop.Name, st)
		}
	}
	fedtest.Eventually(t, 15*time.Second, "C and D follow F", func() bool { return fed.Counts(t)["followers"] == 3 })
	for _, name := range []string{"ana", "bo", "cy"} {
		addMember(t, cc, name)
	}
	for _, name := range []string{"di", "ed"} {
		addMember(t, dd, name)
	}

	question := createMotion(t, fed, map[string]any{"title": "Join the regional flour pool", "kind": "consent",
		"closes_at": clock.Now().Add(40 * time.Minute).UTC().Format(time.RFC3339), "quorum": 0.5, "threshold": 0.5})
	internalC, internalD := mirrorOf(t, cc, question), mirrorOf(t, dd, question)

	apiVote := func(inst *fedtest.Instance, motion, member, option string) {
		t.Helper()
		if st := inst.API(t, http.MethodPost, "/api/v1/motions/vote?id="+motion, map[string]any{"member": member, "choices": []string{option}}, nil); st != http.StatusOK {
			t.Fatalf("%s votes %s: %d", member, option, st)
		}
	}
	// At C: ana agrees, bo changes her vote twice and ends agreeing, cy
	// disagrees: carried, 2 of 3. At D: a tie, not carried.
	apiVote(cc, internalC, "ana", "Agree")
	for _, o := range []string{"Disagree", "Block", "Agree"} {
		apiVote(cc, internalC, "bo", o)
	}
	apiVote(cc, internalC, "cy", "Disagree")
	apiVote(dd, internalD, "di", "Agree")
	apiVote(dd, internalD, "ed", "Disagree")
	if m := getMotion(t, cc, internalC); m.Voters != 3 || m.votes("Agree") != 2 || m.votes("Disagree") != 1 || m.votes("Block") != 0 {
		t.Fatalf("a vote changed twice counts once: %+v", m)
	}

	// Hostile votes at F, each with a real signature, each changing
	// nothing: C's key signing a vote for D; a vote whose activity names D
	// but is signed by C; and an account that is no member coop.
	asC := cc.AsActor(remote)
	stranger := remote.AddActor("stranger", 2)
	fedtest.Eventually(t, 15*time.Second, "deliveries done", func() bool { return fed.PendingDeliveries(t) == 0 })
	inbox := fed.URL + "/coops/bakeries/inbox"
	forged := vote(asC, cc.ActorIRI()+"#forged/1", question, fed.ActorIRI(), "Block")
	forged["object"].(map[string]any)["attributedTo"] = dd.ActorIRI()
	forgedActor := vote(asC, dd.ActorIRI()+"#forged/2", question, fed.ActorIRI(), "Block")
	forgedActor["actor"] = dd.ActorIRI()
	forgedActor["object"].(map[string]any)["attributedTo"] = dd.ActorIRI()
	hostile := []struct {
		name   string
		who    *fedtest.Actor
		act    map[string]any
		status int
		msg    string
	}{
		{"a member coop votes for another coop", asC, forged, http.StatusForbidden, "attributed to another actor"},
		{"a vote whose actor is another coop", asC, forgedActor, http.StatusUnauthorized, ""},
		{"an actor that is no member coop", stranger, vote(stranger, stranger.IRI+"#votes/1", question, fed.ActorIRI(), "Block"), http.StatusAccepted, ""},
	}
	for _, tc := range hostile {
		t.Run(tc.name, func(t *testing.T) {
			before := fed.Snapshot(t)
			st, body := tc.who.Post(inbox, tc.act)
			if st != tc.status || !strings.Contains(body, tc.msg) {
				t.Fatalf("status %d %q, want %d %q", st, body, tc.status, tc.msg)
			}
			if changed := changedTables(before, fed.Snapshot(t), "remote_actors"); len(changed) > 0 {
				t.Fatalf("refused vote changed %v", changed)
			}
		})
	}

	// C's and D's deadlines (a tenth of the time left before F's) pass:
	// each casts its outcome into F.
	clock.Advance(37 * time.Minute)
	fedtest.Eventually(t, 20*time.Second, "both member coops voted at F", func() bool {
		m := getMotion(t, fed, question)
		return m.Voters == 2
	})
	if m := getMotion(t, fed, question); m.votes("Agree") != 1 || m.votes("Disagree") != 1 || m.State != "open" {
		t.Fatalf("F's tally: %+v", m)
	}
	page := fetchPage(t, question)
	for _, want := range []string{"riverside", "oldmill", "member coop"} {
		if !strings.Contains(page, want) {
			t.Errorf("F's motion page does not show %q", want)
		}
	}

	// F's deadline passes: the outcome reaches the Mastodon-shaped
	// follower as a Note replying to the Question.
	clock.Advance(4 * time.Minute)
	note := waitForObject(t, remote, "Create", "F's outcome", func(o map[string]any) bool { return o["inReplyTo"] == question })
	if content, _ := note["content"].(string); !strings.Contains(content, "not carried") {
		t.Fatalf("outcome: %v", note["content"])
	}
	if m := getMotion(t, fed, question); m.State != "closed" || m.Outcome != "not_carried" {
		t.Fatalf("F's motion: %+v", m)
	}
}
