package federation

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
)

// TestPledgeGolden compares the documents of a commons project and its
// pledges with their golden files, and reads the Join back as an incoming
// pledge is read.
func TestPledgeGolden(t *testing.T) {
	e := newGoldenEnv(t)
	f, c := e.f, e.coop
	e.tick(time.Hour)
	p := &coopfed.Project{IRI: f.iris.Project(e.newID()), CoopID: c.ID, Title: "Shared oven",
		Description: "A wood oven for the whole street.", Currency: "EUR", Digits: 3, Unit: 1, Created: e.clock()}
	pledges := []*coopfed.Pledge{{Name: "dee", Cap: 1000}, {Name: "eve", Cap: 1}, {Name: "bakery@bakery.example", Cap: 5000}}
	docs := map[string][]byte{}
	put := func(name string, v map[string]any) {
		t.Helper()
		b, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		docs[name] = b
	}
	put("project.json", f.ProjectDocument(c, p, coopfed.Match(p.Unit, pledges)))
	put("project-note.json", f.projectNoteDoc(c, p, f.iris.Note(e.newID())))
	// The pledge as a coop of another instance sends it (here built by
	// our own code, as a local coop pledging to a remote project).
	bakery := "https://bakery.example/users/bakery"
	pl := &coopfed.Pledge{ProjectIRI: p.IRI, Pledger: bakery, Cap: 5000, Activity: "https://bakery.example/activities/join-1"}
	put("pledge-join.json", f.joinDoc(bakery, f.iris.Coop(c.Name), pl))
	put("pledge-leave.json", f.leaveDoc(bakery, f.iris.Coop(c.Name), p.IRI, "https://bakery.example/activities/leave-1"))
	compareGoldenSet(t, docs, "project.json", "project-note.json", "pledge-join.json", "pledge-leave.json")

	var j joinJSON
	if err := json.Unmarshal(docs["pledge-join.json"], &j); err != nil {
		t.Fatal(err)
	}
	if cap, err := parseCap(j.MonthlyCap); err != nil || cap != 5000 {
		t.Fatalf("the Join's cap reads back as %d, %v", cap, err)
	}
	for _, raw := range []string{`"12"`, `12`} {
		if cap, err := parseCap(json.RawMessage(raw)); err != nil || cap != 12 {
			t.Errorf("cap %s: %d, %v", raw, cap, err)
		}
	}
	for _, raw := range []string{`"0"`, `-1`, `"1e3"`, `1.5`, `"1000000000001"`, `null`, `{}`, `"12abc"`} {
		if _, err := parseCap(json.RawMessage(raw)); err == nil {
			t.Errorf("cap %s accepted", raw)
		}
	}
}
