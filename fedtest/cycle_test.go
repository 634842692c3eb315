package fedtest_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
	"github.com/coopfed/coopfed/store"
)

// reply is the Create(Note) Mastodon sends for a reply to a status: public,
// copied to the author replied to, with content and inReplyTo.
func reply(a *fedtest.Actor, id, inReplyTo, to, content string) map[string]any {
	return map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": id + "/activity", "type": "Create", "actor": a.IRI,
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"}, "cc": []string{to},
		"object": map[string]any{"id": id, "type": "Note", "attributedTo": a.IRI, "inReplyTo": inReplyTo, "content": content,
			"published": time.Now().UTC().Format(time.RFC3339), "url": id,
			"to": []string{"https://www.w3.org/ns/activitystreams#Public"}, "cc": []string{to}},
	}
}

// apiRefusal is one API request that a phase forbids: the status, the
// message and, for a field error, the field.
type apiRefusal struct {
	name, path string
	body       map[string]any
	status     int
	message    string
}

// refuse sends each request and checks the status, the message and that
// the database is unchanged.
func refuse(t *testing.T, a *fedtest.Instance, rows []apiRefusal) {
	t.Helper()
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			before := a.Snapshot(t)
			var out struct {
				Error  string
				Fields map[string]string
			}
			st := a.API(t, http.MethodPost, tc.path, tc.body, &out)
			msg := out.Error
			for _, v := range out.Fields {
				msg += " " + v
			}
			if st != tc.status || !strings.Contains(msg, tc.message) {
				t.Fatalf("status %d %+v, want %d with %q", st, out, tc.status, tc.message)
			}
			if changed := changedTables(before, a.Snapshot(t)); len(changed) > 0 {
				t.Fatalf("refused request changed %v", changed)
			}
		})
	}
}

// The cycle of a motion over real instances: a motion put to discussion
// reaches a Mastodon-shaped follower; the follower replies, a member
// answers the reply through the API and the follower answers back (a
// thread of three); a stranger's and a blocked actor's replies are not
// kept; the text is amended twice and the follower gets both Updates;
// voting opens at its time, members vote, the outcome is published, the
// outcome becomes tasks with owners (one marked done by its owner, not by
// another member); at the review date (a fixed clock moved forward) the
// admins are notified and the follower gets the review Note; members
// record their review and a follow-up motion is opened from it, linked
// both ways. Each step a phase forbids is refused with its status and
// message and changes nothing.
func TestMotionCycleJourney(t *testing.T) {
	clock := &skewClock{}
	a := fedtest.Start(t, fedtest.Options{Coop: "alpha", Now: clock.Now, TallyDebounce: time.Millisecond})
	followers := fedtest.NewRemote(t)
	alice := followers.AddActor("alice", 1)
	followCoop(t, a, followers, alice)
	strangers := fedtest.NewRemote(t)
	eve := strangers.AddActor("eve", 3)
	mallory := strangers.AddActor("mallory", 4)
	followCoop(t, a, strangers, mallory)
	if err := a.Store.Update(context.Background(), func(tx *store.Tx) error { return tx.BlockActor(mallory.IRI, "spam") }); err != nil {
		t.Fatal(err)
	}
	addMember(t, a, "ana")
	addMember(t, a, "bo")
	now := clock.Now().UTC().Truncate(time.Second)
	opens, closes, review := now.Add(10*time.Minute), now.Add(20*time.Minute), now.Add(30*time.Minute)
	motion := createMotion(t, a, map[string]any{
		"title": "A four-day week", "text": "From May, the bakery opens four days a week.", "kind": "consent", "discussion": true,
		"opens_at": opens.Format(time.RFC3339), "closes_at": closes.Format(time.RFC3339), "review_at": review.Format(time.RFC3339), "threshold": 0.5,
	})
	isMotion := func(phase string) func(o map[string]any) bool {
		return func(o map[string]any) bool { return o["id"] == motion && o["phase"] == phase }
	}
	q := waitForObject(t, followers, "Create", "the Question under discussion at the follower", isMotion("discussion"))
	if q["type"] != "Question" || q["votingOpens"] != opens.Format(time.RFC3339) || !strings.Contains(q["content"].(string), "Under discussion") {
		t.Fatalf("Question under discussion: %v", q)
	}

	// Discussion: alice replies to the poll, ana answers her through the
	// API, alice answers ana's Note.
	first := alice.ID("statuses")
	if st, body := alice.Post(a.URL+"/inbox", reply(alice, first, motion, a.ActorIRI(), `<p>Which day would we close? <script>x()</script></p>`)); st != http.StatusAccepted {
		t.Fatalf("alice's reply: %d %s", st, body)
	}
	var answer struct {
		ID        string
		InReplyTo string `json:"in_reply_to"`
	}
	fedtest.Eventually(t, 10*time.Second, "alice's reply kept", func() bool {
		return a.API(t, http.MethodPost, "/api/v1/motions/reply?id="+motion, map[string]any{"member": "ana", "text": "Monday, the quietest day.", "in_reply_to": first}, &answer) == http.StatusCreated
	})
	if answer.InReplyTo != first {
		t.Fatalf("ana's reply: %+v", answer)
	}
	note := waitForObject(t, followers, "Create", "ana's reply at the follower", func(o map[string]any) bool { return o["id"] == answer.ID })
	if note["type"] != "Note" || note["inReplyTo"] != first || !strings.Contains(note["content"].(string), "Monday") {
		t.Fatalf("ana's reply Note: %v", note)
	}
	third := alice.ID("statuses")
	if st, body := alice.Post(a.URL+"/inbox", reply(alice, third, answer.ID, a.ActorIRI(), "<p>Monday suits me.</p>")); st != http.StatusAccepted {
		t.Fatalf("alice's answer: %d %s", st, body)
	}
	fedtest.Eventually(t, 10*time.Second, "the thread on the motion page", func() bool {
		return strings.Contains(pageOf(t, motion), "Monday suits me.")
	})
	page := pageOf(t, motion)
	i, j, k := strings.Index(page, "Which day would we close?"), strings.Index(page, "Monday, the quietest day."), strings.Index(page, "Monday suits me.")
	if strings.Contains(page, "<script>x()") || i < 0 || !(i < j && j < k) || strings.Count(page, `<ol class="feed thread">`) != 3 {
		t.Fatalf("the discussion is not a sanitised thread of three levels:\n%s", page)
	}

	// A stranger's reply and a blocked follower's are not kept.
	fedtest.Eventually(t, 15*time.Second, "deliveries done", func() bool { return a.PendingDeliveries(t) == 0 })
	for _, tc := range []struct {
		name string
		who  *fedtest.Actor
	}{{"a reply from an actor who does not follow", eve}, {"a reply from a blocked actor", mallory}} {
		t.Run(tc.name, func(t *testing.T) {
			before := a.Snapshot(t)
			st, body := tc.who.Post(a.URL+"/inbox", reply(tc.who, tc.who.ID("statuses"), motion, a.ActorIRI(), "<p>Buy my pills</p>"))
			if st >= 500 {
				t.Fatalf("status %d %s", st, body)
			}
			// The signer's key is cached and the activity id remembered;
			// nothing of the reply is kept.
			if changed := changedTables(before, a.Snapshot(t), "remote_actors", "inbox_seen"); len(changed) > 0 {
				t.Fatalf("a refused reply changed %v", changed)
			}
		})
	}

	// The proposal is amended twice; the follower gets both Updates.
	for _, text := range []string{"From May, the bakery opens four days a week, closed on Mondays.", "From May, the bakery opens four days a week, closed on Mondays, wages kept."} {
		if st := a.API(t, http.MethodPost, "/api/v1/motions/amend?id="+motion, map[string]any{"text": text, "note": "after the discussion"}, nil); st != http.StatusOK {
			t.Fatalf("amend: %d", st)
		}
		waitForObject(t, followers, "Update", "the amendment at the follower", func(o map[string]any) bool {
			return o["id"] == motion && strings.Contains(o["content"].(string), text)
		})
	}
	fedtest.Eventually(t, 15*time.Second, "deliveries done", func() bool { return a.PendingDeliveries(t) == 0 })
	refuse(t, a, []apiRefusal{
		{"a task before the outcome", "/api/v1/motions/tasks?id=" + motion, map[string]any{"title": "Paint the door", "owner": "bo", "due_at": review.Format(time.RFC3339)}, http.StatusConflict, "tasks follow the outcome"},
		{"a review before the review date", "/api/v1/motions/review?id=" + motion, map[string]any{"member": "ana", "verdict": "yes"}, http.StatusConflict, "the review opens on"},
		{"a follow-up of a motion not in review", "/api/v1/coops/alpha/motions", map[string]any{"title": "Again", "kind": "consent", "closes_at": review.Format(time.RFC3339), "follow_up_of": motion}, http.StatusConflict, "opened from a review"},
		{"an amendment without text", "/api/v1/motions/amend?id=" + motion, map[string]any{"text": " "}, http.StatusUnprocessableEntity, "give the amended text"},
		{"a reply to another thread", "/api/v1/motions/reply?id=" + motion, map[string]any{"member": "bo", "text": "hi", "in_reply_to": "https://elsewhere.example/notes/1"}, http.StatusUnprocessableEntity, "not a reply in this motion's discussion"},
	})

	// Voting opens at its time: an Update in the voting phase.
	clock.Advance(11 * time.Minute)
	waitForObject(t, followers, "Update", "the voting phase at the follower", isMotion("voting"))
	fedtest.Eventually(t, 15*time.Second, "deliveries done", func() bool { return a.PendingDeliveries(t) == 0 })
	refuse(t, a, []apiRefusal{
		{"an amendment after voting opened", "/api/v1/motions/amend?id=" + motion, map[string]any{"text": "Three days."}, http.StatusConflict, "amended only during its discussion"},
	})
	for _, member := range []string{"ana", "bo"} {
		if st := a.API(t, http.MethodPost, "/api/v1/motions/vote?id="+motion, map[string]any{"member": member, "choices": []string{"Agree"}}, nil); st != http.StatusOK {
			t.Fatalf("%s votes: %d", member, st)
		}
	}

	// The outcome.
	clock.Advance(10 * time.Minute)
	waitForObject(t, followers, "Update", "the outcome phase at the follower", isMotion("outcome"))
	waitForObject(t, followers, "Create", "the outcome Note", func(o map[string]any) bool {
		return o["type"] == "Note" && o["inReplyTo"] == motion && strings.Contains(o["content"].(string), "Outcome of")
	})

	// Implementation: tasks with owners.
	var task struct {
		ID    int64
		Owner string
	}
	if st := a.API(t, http.MethodPost, "/api/v1/motions/tasks?id="+motion, map[string]any{"title": "Change the hours on the door", "owner": "bo", "due_at": clock.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339)}, &task); st != http.StatusCreated || task.Owner != "bo" {
		t.Fatalf("add task: %d %+v", st, task)
	}
	if st := a.API(t, http.MethodPost, "/api/v1/motions/tasks?id="+motion, map[string]any{"title": "Tell the customers", "owner": "ana", "due_at": clock.Now().Add(3 * 24 * time.Hour).UTC().Format(time.RFC3339)}, nil); st != http.StatusCreated {
		t.Fatalf("add a second task: %d", st)
	}
	waitForObject(t, followers, "Update", "the implementation phase at the follower", isMotion("implementation"))
	if coopPage := pageOf(t, a.ActorIRI()); !strings.Contains(coopPage, "Change the hours on the door") || !strings.Contains(coopPage, "Tell the customers") {
		t.Fatalf("the coop page lacks the tasks:\n%s", coopPage)
	}
	fedtest.Eventually(t, 15*time.Second, "deliveries done", func() bool { return a.PendingDeliveries(t) == 0 })
	taskPath := "/api/v1/motions/tasks/done?id=" + motion + "&task=" + strconv.FormatInt(task.ID, 10)
	refuse(t, a, []apiRefusal{
		{"a task marked done by a member who does not own it", taskPath, map[string]any{"member": "ana"}, http.StatusForbidden, "only the task's owner (bo) or an admin"},
		{"a task owned by no member", "/api/v1/motions/tasks?id=" + motion, map[string]any{"title": "x", "owner": "zed", "due_at": review.Format(time.RFC3339)}, http.StatusUnprocessableEntity, "no member named zed"},
	})
	if st := a.API(t, http.MethodPost, taskPath, map[string]any{"member": "bo"}, nil); st != http.StatusOK {
		t.Fatalf("bo marks his task done: %d", st)
	}
	refuse(t, a, []apiRefusal{
		{"a task marked done twice", taskPath, map[string]any{"member": "bo"}, http.StatusConflict, "already done"},
		{"a review before its date, after the outcome", "/api/v1/motions/review?id=" + motion, map[string]any{"member": "ana", "verdict": "yes"}, http.StatusConflict, "the review opens on"},
	})

	// The review date comes: the admins are notified, the follower gets
	// the review Note and the review phase.
	clock.Advance(10 * time.Minute)
	rnote := waitForObject(t, followers, "Create", "the review Note at the follower", func(o map[string]any) bool {
		return o["type"] == "Note" && o["inReplyTo"] == motion && strings.Contains(o["content"].(string), "Review of")
	})
	waitForObject(t, followers, "Update", "the review phase at the follower", isMotion("review"))
	var notes struct {
		Items []struct{ Kind, Motion, Note string }
	}
	if st := a.API(t, http.MethodGet, "/api/v1/coops/alpha/notifications", nil, &notes); st != http.StatusOK || len(notes.Items) == 0 ||
		notes.Items[0].Kind != "motion_review" || notes.Items[0].Motion != motion || notes.Items[0].Note != rnote["id"] {
		t.Fatalf("review notification: %d %+v", st, notes)
	}
	for member, verdict := range map[string]string{"ana": "yes", "bo": "partly"} {
		if st := a.API(t, http.MethodPost, "/api/v1/motions/review?id="+motion, map[string]any{"member": member, "verdict": verdict, "text": member + " says " + verdict}, nil); st != http.StatusOK {
			t.Fatalf("%s reviews: %d", member, st)
		}
	}
	fedtest.Eventually(t, 15*time.Second, "deliveries done", func() bool { return a.PendingDeliveries(t) == 0 })
	refuse(t, a, []apiRefusal{
		{"a review with an unknown verdict", "/api/v1/motions/review?id=" + motion, map[string]any{"member": "ana", "verdict": "maybe"}, http.StatusUnprocessableEntity, "yes, partly or no"},
	})

	// A follow-up motion from the review, linked both ways.
	followUp := createMotion(t, a, map[string]any{
		"title": "Back to five days in December", "kind": "consent", "discussion": true, "follow_up_of": motion,
		"opens_at": clock.Now().Add(time.Hour).UTC().Format(time.RFC3339), "closes_at": clock.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339),
	})
	fq := waitForObject(t, followers, "Create", "the follow-up at the follower", func(o map[string]any) bool { return o["id"] == followUp })
	if fq["followUpOf"] != motion || fq["phase"] != "discussion" {
		t.Fatalf("follow-up Question: %v", fq)
	}
	page = pageOf(t, motion)
	for _, want := range []string{"Back to five days in December", "ana says yes", "bo says partly", "1 yes", "1 partly", "Amendment 2", "Original text", "Change the hours on the door"} {
		if !strings.Contains(page, want) {
			t.Errorf("the motion page lacks %q", want)
		}
	}
	if fpage := pageOf(t, followUp); !strings.Contains(fpage, "Follow-up of") || !strings.Contains(fpage, `href="`+motion+`"`) {
		t.Errorf("the follow-up page does not link to the motion reviewed:\n%s", fpage)
	}
}
