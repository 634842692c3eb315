package fedtest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

// Member classes over the API and the wire: a motion counted by class and
// open only to workers and consumers fixes each member's class when it
// opens; a supporter's vote is refused through the API (409 with the
// reason) and from the supporter's fediverse account (ignored), changing
// nothing; a later change of class moves no vote; the outcome needs a
// majority in each class. A weighted motion counts workers double.
func TestMemberClassesJourney(t *testing.T) {
	clock := &skewClock{}
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery", Now: clock.Now})
	remote := fedtest.NewRemote(t)
	sue := remote.AddActor("sue", 1)
	api := func(method, path string, body any, out any) int {
		t.Helper()
		return inst.API(t, method, "/api/v1/coops/bakery"+path, body, out)
	}
	for _, c := range []string{"workers", "consumers", "supporters"} {
		if st := api(http.MethodPost, "/classes", map[string]any{"name": c}, nil); st != http.StatusCreated {
			t.Fatalf("class %s: %d", c, st)
		}
	}
	for _, m := range []struct {
		name, class string
		actors      []string
	}{{"ana", "workers", nil}, {"bo", "workers", nil}, {"cy", "consumers", nil}, {"di", "consumers", nil}, {"sup", "supporters", []string{sue.IRI}}} {
		actors := m.actors
		if actors == nil {
			actors = []string{}
		}
		if st := api(http.MethodPost, "/members", map[string]any{"username": m.name, "class": m.class, "actors": actors}, nil); st != http.StatusCreated {
			t.Fatalf("member %s: %d", m.name, st)
		}
	}
	var bad struct {
		Error  string
		Fields map[string]string
	}
	if st := api(http.MethodPost, "/members", map[string]any{"username": "zed", "class": "guests"}, &bad); st != http.StatusUnprocessableEntity || bad.Fields["class"] == "" {
		t.Fatalf("member of an unknown class: %d %+v", st, bad)
	}
	closes := clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if st := api(http.MethodPost, "/motions", map[string]any{"title": "T", "kind": "consent", "closes_at": closes, "class_count": "separate", "classes": []string{"guests"}}, &bad); st != http.StatusUnprocessableEntity || bad.Fields["classes"] == "" {
		t.Fatalf("motion for an unknown class: %d %+v", st, bad)
	}
	separate := createMotion(t, inst, map[string]any{"title": "Raise bread prices", "kind": "consent", "closes_at": closes,
		"class_count": "separate", "classes": []string{"workers", "consumers"}, "threshold": 0.5})
	weighted := createMotion(t, inst, map[string]any{"title": "Name the loaf", "kind": "choice", "options": []string{"Rye", "Oat"}, "closes_at": closes,
		"class_count": "weighted", "weights": []map[string]any{{"class": "workers", "weight": 2}}})
	// di moves to the workers after the motions opened: both still
	// count di as a consumer.
	if st := api(http.MethodPatch, "/members/di", map[string]any{"class": "workers"}, nil); st != http.StatusOK {
		t.Fatalf("move di: %d", st)
	}

	// The supporter's votes are refused and change nothing.
	author := inst.ActorIRI()
	before := inst.Snapshot(t)
	var refusal struct{ Error string }
	if st := inst.API(t, http.MethodPost, "/api/v1/motions/vote?id="+separate, map[string]any{"member": "sup", "choices": []string{"Block"}}, &refusal); st != http.StatusConflict ||
		!strings.Contains(refusal.Error, `members of the class "supporters" do not vote on this motion; it is for workers, consumers`) {
		t.Fatalf("supporter's API vote: %d %+v", st, refusal)
	}
	if changed := changedTables(before, inst.Snapshot(t)); len(changed) > 0 {
		t.Fatalf("a refused vote changed %v", changed)
	}
	if st, body := sue.Post(inst.URL+"/coops/bakery/inbox", vote(sue, sue.IRI+"#votes/1", separate, author, "Block")); st != http.StatusAccepted {
		t.Fatalf("supporter's fediverse vote: %d %s", st, body)
	}
	if changed := changedTables(before, inst.Snapshot(t), "remote_actors"); len(changed) > 0 {
		t.Fatalf("a refused vote changed %v", changed)
	}

	for member, option := range map[string]string{"ana": "Agree", "bo": "Agree", "cy": "Agree", "di": "Disagree"} {
		if st := inst.API(t, http.MethodPost, "/api/v1/motions/vote?id="+separate, map[string]any{"member": member, "choices": []string{option}}, nil); st != http.StatusOK {
			t.Fatalf("%s votes: %d", member, st)
		}
	}
	for member, option := range map[string]string{"ana": "Rye", "cy": "Oat", "di": "Oat", "sup": "Oat"} {
		if st := inst.API(t, http.MethodPost, "/api/v1/motions/vote?id="+weighted, map[string]any{"member": member, "choices": []string{option}}, nil); st != http.StatusOK {
			t.Fatalf("%s votes: %d", member, st)
		}
	}
	clock.Advance(time.Hour + time.Minute)
	type classView struct {
		Class    string
		Voters   int
		Eligible int
		Outcome  string
	}
	var view struct {
		Items []struct {
			ID, State, Outcome string
			Eligible           int
			Tally              []struct {
				Option string
				Votes  int
			}
			ClassTally []classView `json:"class_tally"`
		}
	}
	fedtest.Eventually(t, 15*time.Second, "both motions closed", func() bool {
		api(http.MethodGet, "/motions", nil, &view)
		return len(view.Items) == 2 && view.Items[0].State == "closed" && view.Items[1].State == "closed"
	})
	for _, m := range view.Items {
		switch m.ID {
		case separate:
			// Agree 3 of 4 overall, but a tie among the consumers.
			want := []classView{{"consumers", 2, 2, "not_carried"}, {"workers", 2, 2, "carried"}}
			if m.Outcome != "not_carried" || m.Eligible != 4 || len(m.ClassTally) != 2 || m.ClassTally[0] != want[0] || m.ClassTally[1] != want[1] {
				t.Errorf("separate: %+v", m)
			}
		case weighted:
			// Rye 2 (one worker), Oat 3 (two consumers and a
			// supporter): Oat carries, 3 of 5.
			if m.Outcome != "carried" || m.Tally[0].Votes != 2 || m.Tally[1].Votes != 3 {
				t.Errorf("weighted: %+v", m)
			}
		}
	}
}
