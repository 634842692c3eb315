package store

import (
	"context"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
)

// publishTestNote stores a note and its public Create, as publishing an
// announcement does.
func publishTestNote(t *testing.T, s *Store, c *coopfed.Coop, id string) (*Object, *coopfed.Activity) {
	t.Helper()
	iri := "https://here.example/notes/" + id
	o := &Object{IRI: iri, CoopID: c.ID, Type: "Note", Content: "text of " + id, JSON: []byte(`{"id":"` + iri + `","type":"Note"}`)}
	a := &coopfed.Activity{IRI: iri + "/activity", CoopID: c.ID, Type: "Create", ObjectIRI: iri, Public: true, JSON: []byte(`{"type":"Create"}`)}
	mustUpdate(t, s, func(tx *Tx) error {
		if err := tx.InsertObject(o); err != nil {
			return err
		}
		return tx.InsertActivity(a)
	})
	return o, a
}

func outboxIRIs(t *testing.T, s *Store, coopID int64) []string {
	t.Helper()
	acts, err := s.Outbox(context.Background(), coopID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range acts {
		out = append(out, a.IRI)
	}
	return out
}

func TestObjectRoundTrip(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, clock)
	ctx := context.Background()
	c := createTestCoop(t, s, "bakery")
	o, a := publishTestNote(t, s, c, "n1")

	got, err := s.ObjectByIRI(ctx, o.IRI)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != o.ID || got.Type != "Note" || got.Content != o.Content || string(got.JSON) != string(o.JSON) ||
		!got.Published.Equal(clock.Now()) || got.DeletedAt != nil || got.Updated != nil {
		t.Errorf("ObjectByIRI = %+v", got)
	}
	act, err := s.ActivityByIRI(ctx, a.IRI)
	if err != nil {
		t.Fatal(err)
	}
	if act.ID != a.ID || act.CoopID != c.ID || act.Type != "Create" || act.ObjectIRI != o.IRI || !act.Public || string(act.JSON) != `{"type":"Create"}` {
		t.Errorf("ActivityByIRI = %+v", act)
	}
	_, err = s.ObjectByIRI(ctx, "https://here.example/notes/none")
	wantCode(t, err, coopfed.ENOTFOUND)
	_, err = s.ActivityByIRI(ctx, "https://here.example/activities/none")
	wantCode(t, err, coopfed.ENOTFOUND)
}

func TestDeleteObjectLeavesTombstoneAndEmptiesOutbox(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, clock)
	ctx := context.Background()
	c := createTestCoop(t, s, "bakery")
	gone, create := publishTestNote(t, s, c, "gone")
	kept, _ := publishTestNote(t, s, c, "kept")
	if n, _ := s.CountOutbox(ctx, c.ID); n != 2 {
		t.Fatalf("outbox holds %d activities, want 2", n)
	}

	clock.Add(time.Minute)
	mustUpdate(t, s, func(tx *Tx) error { return tx.DeleteObject(gone.IRI) })

	tomb, err := s.ObjectByIRI(ctx, gone.IRI)
	if err != nil {
		t.Fatalf("the tombstone row is gone: %v", err)
	}
	if tomb.DeletedAt == nil || !tomb.DeletedAt.Equal(clock.Now()) {
		t.Errorf("DeletedAt = %v, want %v", tomb.DeletedAt, clock.Now())
	}
	if tomb.Content != "" || string(tomb.JSON) != "{}" {
		t.Errorf("the tombstone keeps content %q, JSON %s", tomb.Content, tomb.JSON)
	}
	// The Create leaves the public outbox; the activity row stays, private.
	if got := outboxIRIs(t, s, c.ID); len(got) != 1 || got[0] != kept.IRI+"/activity" {
		t.Errorf("outbox after delete = %v", got)
	}
	if n, _ := s.CountOutbox(ctx, c.ID); n != 1 {
		t.Errorf("CountOutbox = %d after delete, want 1", n)
	}
	if act, err := s.ActivityByIRI(ctx, create.IRI); err != nil || act.Public {
		t.Errorf("Create after delete: %+v, %v; want kept and not public", act, err)
	}
	if n, _ := s.CountObjects(ctx, c.ID, "Note"); n != 1 {
		t.Errorf("CountObjects = %d, want only the live note", n)
	}

	// Deleting twice finds nothing live to delete.
	err = s.Update(ctx, func(tx *Tx) error { return tx.DeleteObject(gone.IRI) })
	wantCode(t, err, coopfed.ENOTFOUND)
	err = s.Update(ctx, func(tx *Tx) error { return tx.DeleteObject("https://here.example/notes/none") })
	wantCode(t, err, coopfed.ENOTFOUND)
}

func TestObjectsListing(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	c := createTestCoop(t, s, "bakery")
	other := createTestCoop(t, s, "dairy")
	n1, _ := publishTestNote(t, s, c, "n1")
	n2, _ := publishTestNote(t, s, c, "n2")
	n3, _ := publishTestNote(t, s, c, "n3")
	publishTestNote(t, s, other, "elsewhere")
	mustUpdate(t, s, func(tx *Tx) error { return tx.DeleteObject(n2.IRI) })

	iris := func(f ObjectFilter) []string {
		objs, err := s.Objects(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range objs {
			out = append(out, o.IRI)
		}
		return out
	}
	if got := iris(ObjectFilter{CoopID: c.ID, Type: "Note"}); len(got) != 2 || got[0] != n3.IRI || got[1] != n1.IRI {
		t.Errorf("live notes = %v, want n3, n1", got)
	}
	if got := iris(ObjectFilter{CoopID: c.ID, Deleted: true}); len(got) != 3 || got[1] != n2.IRI {
		t.Errorf("notes with tombstones = %v", got)
	}
	if got := iris(ObjectFilter{CoopID: c.ID, Before: n3.ID, Limit: 1}); len(got) != 1 || got[0] != n1.IRI {
		t.Errorf("page before n3 = %v, want n1", got)
	}
	if got := iris(ObjectFilter{CoopID: c.ID, Type: "Question"}); len(got) != 0 {
		t.Errorf("type filter let through %v", got)
	}
	if n, _ := s.CountObjects(ctx, 0, ""); n != 3 {
		t.Errorf("CountObjects over every coop = %d, want 3", n)
	}
}

func TestOutboxListsOnlyPublicActivitiesOfTheCoop(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	c := createTestCoop(t, s, "bakery")
	other := createTestCoop(t, s, "dairy")
	publishTestNote(t, s, c, "n1")
	publishTestNote(t, s, other, "n2")
	// An Accept answers one follower: stored, delivered, never listed.
	mustUpdate(t, s, func(tx *Tx) error {
		return tx.InsertActivity(&coopfed.Activity{IRI: "https://here.example/activities/accept", CoopID: c.ID, Type: "Accept", JSON: []byte(`{}`)})
	})
	// The instance actor's activities belong to no coop.
	mustUpdate(t, s, func(tx *Tx) error {
		return tx.InsertActivity(&coopfed.Activity{IRI: "https://here.example/activities/instance", Type: "Update", Public: true, JSON: []byte(`{}`)})
	})

	if got := outboxIRIs(t, s, c.ID); len(got) != 1 || got[0] != "https://here.example/notes/n1/activity" {
		t.Errorf("outbox = %v", got)
	}
	if a, err := s.ActivityByIRI(ctx, "https://here.example/activities/instance"); err != nil || a.CoopID != 0 {
		t.Errorf("instance activity = %+v, %v; want coop id 0", a, err)
	}

	// Paging by offset, newest first.
	publishTestNote(t, s, c, "n3")
	page, err := s.Outbox(ctx, c.ID, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 1 || page[0].IRI != "https://here.example/notes/n1/activity" {
		t.Errorf("second outbox page = %+v", page)
	}
}

func TestInsertActivityRefusesDuplicateIRI(t *testing.T) {
	s := openTestStore(t, nil)
	c := createTestCoop(t, s, "bakery")
	publishTestNote(t, s, c, "n1")
	err := s.Update(context.Background(), func(tx *Tx) error {
		return tx.InsertActivity(&coopfed.Activity{IRI: "https://here.example/notes/n1/activity", CoopID: c.ID, Type: "Create", JSON: []byte(`{}`)})
	})
	if err == nil {
		t.Error("a second activity with the same IRI was stored")
	}
}
