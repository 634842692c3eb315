package store

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
)

func markSeen(t *testing.T, s *Store, activityIRI, version string) bool {
	t.Helper()
	var fresh bool
	mustUpdate(t, s, func(tx *Tx) error {
		var err error
		fresh, err = tx.MarkSeen(activityIRI, version)
		return err
	})
	return fresh
}

func TestMarkSeenDistinguishesVersions(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	update := "https://gts.example/users/a/statuses/1/update" // GoToSocial reuses it for every edit

	if !markSeen(t, s, update, "2026-03-01T10:00:00Z") {
		t.Fatal("first delivery reported as a duplicate")
	}
	if markSeen(t, s, update, "2026-03-01T10:00:00Z") {
		t.Error("a replay of the same activity and version reported as new")
	}
	if !markSeen(t, s, update, "2026-03-01T10:05:00Z") {
		t.Error("a later edit under the same Update id reported as a duplicate")
	}
	if !markSeen(t, s, "https://social.example/activities/1", "") {
		t.Error("an unversioned activity reported as a duplicate")
	}
	if markSeen(t, s, "https://social.example/activities/1", "") {
		t.Error("a replayed unversioned activity reported as new")
	}

	for _, c := range []struct {
		iri, version string
		want         bool
	}{
		{update, "2026-03-01T10:00:00Z", true},
		{update, "2026-03-01T10:05:00Z", true},
		{update, "", false},
		{"https://social.example/activities/2", "", false},
	} {
		if got, err := s.Seen(ctx, c.iri, c.version); err != nil || got != c.want {
			t.Errorf("Seen(%s, %q) = %v, %v; want %v", c.iri, c.version, got, err, c.want)
		}
	}
}

func TestMarkSeenRolledBackWithItsTransaction(t *testing.T) {
	// The duplicate record commits with the activity's effects or not at
	// all, so an activity that failed to apply can be retried by its sender.
	s := openTestStore(t, nil)
	ctx := context.Background()
	failed := errors.New("apply failed")
	err := s.Update(ctx, func(tx *Tx) error {
		if _, err := tx.MarkSeen("https://social.example/activities/1", ""); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("Update = %v", err)
	}
	if seen, _ := s.Seen(ctx, "https://social.example/activities/1", ""); seen {
		t.Error("an activity whose transaction rolled back is recorded as seen")
	}
	if !markSeen(t, s, "https://social.example/activities/1", "") {
		t.Error("the retried activity is refused as a duplicate")
	}
}

const (
	mill     = "https://mill.example/coops/mill"
	impostor = "https://evil.example/users/impostor"
	noteIRI  = "https://mill.example/notes/1"
)

func timelineItem(coopID int64, actor, content string, updated *time.Time) *coopfed.TimelineItem {
	return &coopfed.TimelineItem{
		CoopID: coopID, ActivityIRI: noteIRI + "/activity", ObjectIRI: noteIRI, ObjectType: "Note",
		ActorIRI: actor, Content: content, URL: noteIRI, Published: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), Updated: updated,
	}
}

func timelineContents(t *testing.T, s *Store, coopID int64) []string {
	t.Helper()
	items, err := s.Timeline(context.Background(), TimelineFilter{CoopID: coopID})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		out = append(out, it.Content)
	}
	return out
}

func TestTimelinePutIsOneRowPerObjectAndKeepsTheAuthor(t *testing.T) {
	s := openTestStore(t, nil)
	c := createTestCoop(t, s, "bakery")
	mustUpdate(t, s, func(tx *Tx) error { return tx.PutTimelineItem(timelineItem(c.ID, mill, "<p>first</p>", nil)) })

	// The same object again from its author refreshes the row.
	mustUpdate(t, s, func(tx *Tx) error { return tx.PutTimelineItem(timelineItem(c.ID, mill, "<p>again</p>", nil)) })
	if got := timelineContents(t, s, c.ID); !slices.Equal(got, []string{"<p>again</p>"}) {
		t.Errorf("timeline = %v, want one refreshed item", got)
	}
	// Another actor cannot take over the object's row.
	mustUpdate(t, s, func(tx *Tx) error { return tx.PutTimelineItem(timelineItem(c.ID, impostor, "<p>hijacked</p>", nil)) })
	if got := timelineContents(t, s, c.ID); !slices.Equal(got, []string{"<p>again</p>"}) {
		t.Errorf("timeline = %v after another actor's Create of the same id", got)
	}
}

func TestTimelineUpdateOnlyByTheAuthorAndNeverBackwards(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	bakery := createTestCoop(t, s, "bakery")
	dairy := createTestCoop(t, s, "dairy")
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []*coopfed.Coop{bakery, dairy} {
		mustUpdate(t, s, func(tx *Tx) error { return tx.PutTimelineItem(timelineItem(c.ID, mill, "<p>v1</p>", nil)) })
	}

	update := func(actor, content string, at time.Time) int64 {
		var n int64
		mustUpdate(t, s, func(tx *Tx) error {
			var err error
			n, err = tx.UpdateTimelineObject(timelineItem(0, actor, content, &at))
			return err
		})
		return n
	}
	if n := update(impostor, "<p>forged</p>", t0); n != 0 {
		t.Errorf("another actor's Update changed %d rows", n)
	}
	// The author's edit reaches every coop's copy.
	if n := update(mill, "<p>v2</p>", t0.Add(time.Minute)); n != 2 {
		t.Errorf("author's Update changed %d rows, want 2", n)
	}
	// An older edit arriving late does not undo a newer one.
	if n := update(mill, "<p>stale</p>", t0); n != 0 {
		t.Errorf("a stale Update changed %d rows", n)
	}
	for _, c := range []*coopfed.Coop{bakery, dairy} {
		if got := timelineContents(t, s, c.ID); !slices.Equal(got, []string{"<p>v2</p>"}) {
			t.Errorf("coop %s timeline = %v, want [<p>v2</p>]", c.Name, got)
		}
	}
	items, err := s.Timeline(ctx, TimelineFilter{CoopID: bakery.ID})
	if err != nil {
		t.Fatal(err)
	}
	if u := items[0].Updated; u == nil || !u.Equal(t0.Add(time.Minute)) {
		t.Errorf("Updated = %v, want the edit's time", u)
	}
}

func TestTimelineDeleteOnlyByTheAuthor(t *testing.T) {
	s := openTestStore(t, nil)
	c := createTestCoop(t, s, "bakery")
	mustUpdate(t, s, func(tx *Tx) error { return tx.PutTimelineItem(timelineItem(c.ID, mill, "<p>v1</p>", nil)) })

	del := func(actor string) int64 {
		var n int64
		mustUpdate(t, s, func(tx *Tx) error {
			var err error
			n, err = tx.DeleteTimelineObject(noteIRI, actor)
			return err
		})
		return n
	}
	if n := del(impostor); n != 0 {
		t.Errorf("another actor's Delete changed %d rows", n)
	}
	if got := timelineContents(t, s, c.ID); len(got) != 1 {
		t.Fatalf("timeline = %v after a forged Delete", got)
	}
	if n := del(mill); n != 1 {
		t.Errorf("author's Delete changed %d rows, want 1", n)
	}
	if got := timelineContents(t, s, c.ID); len(got) != 0 {
		t.Errorf("timeline = %v after the author's Delete", got)
	}

	// A deleted object stays deleted: neither a replayed Create nor an
	// Update brings it back.
	mustUpdate(t, s, func(tx *Tx) error { return tx.PutTimelineItem(timelineItem(c.ID, mill, "<p>back</p>", nil)) })
	later := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	mustUpdate(t, s, func(tx *Tx) error {
		_, err := tx.UpdateTimelineObject(timelineItem(0, mill, "<p>back</p>", &later))
		return err
	})
	if got := timelineContents(t, s, c.ID); len(got) != 0 {
		t.Errorf("deleted object came back: %v", got)
	}
	var content string
	if err := s.read.QueryRow(`SELECT content FROM timeline WHERE object_iri = ?`, noteIRI).Scan(&content); err != nil || content != "" {
		t.Errorf("deleted row keeps content %q (%v)", content, err)
	}
}

func TestDeleteActorTimeline(t *testing.T) {
	s := openTestStore(t, nil)
	c := createTestCoop(t, s, "bakery")
	mustUpdate(t, s, func(tx *Tx) error {
		if err := tx.PutTimelineItem(timelineItem(c.ID, mill, "<p>mill</p>", nil)); err != nil {
			return err
		}
		other := timelineItem(c.ID, "https://farm.example/users/farm", "<p>farm</p>", nil)
		other.ObjectIRI = "https://farm.example/notes/1"
		return tx.PutTimelineItem(other)
	})
	mustUpdate(t, s, func(tx *Tx) error { return tx.DeleteActorTimeline(mill) })
	if got := timelineContents(t, s, c.ID); !slices.Equal(got, []string{"<p>farm</p>"}) {
		t.Errorf("timeline = %v, want only the other actor's item", got)
	}
}

func TestTimelinePaging(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	c := createTestCoop(t, s, "bakery")
	other := createTestCoop(t, s, "dairy")
	for i := range 5 {
		it := timelineItem(c.ID, mill, string(rune('a'+i)), nil)
		it.ObjectIRI = it.ObjectIRI + string(rune('a'+i))
		mustUpdate(t, s, func(tx *Tx) error { return tx.PutTimelineItem(it) })
	}
	mustUpdate(t, s, func(tx *Tx) error { return tx.PutTimelineItem(timelineItem(other.ID, mill, "other coop", nil)) })

	first, err := s.Timeline(ctx, TimelineFilter{CoopID: c.ID, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Timeline(ctx, TimelineFilter{CoopID: c.ID, Limit: 2, Before: first[len(first)-1].ID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range append(first, second...) {
		got = append(got, it.Content)
	}
	if !slices.Equal(got, []string{"e", "d", "c", "b"}) {
		t.Errorf("two pages = %v, want newest first e d c b", got)
	}
}

func TestDomainBlocks(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	mustUpdate(t, s, func(tx *Tx) error { return tx.BlockDomain(" Bad.Example ", "spam") })
	mustUpdate(t, s, func(tx *Tx) error { return tx.BlockDomain("127.0.0.1", "loopback test") })

	tests := []struct {
		host    string
		blocked bool
	}{
		{"bad.example", true},
		{"BAD.EXAMPLE", true},
		{"sub.bad.example", true},
		{"deep.sub.bad.example", true},
		{"bad.example:8443", true}, // a block names a domain, whatever the port
		{"sub.bad.example:443", true},
		{"notbad.example", false}, // a suffix is not a subdomain
		{"bad.example.org", false},
		{"example", false},
		{"good.example", false},
		{"127.0.0.1:8080", true},
		{"127.0.0.2:8080", false},
	}
	for _, tt := range tests {
		got, err := s.DomainBlocked(ctx, tt.host)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.blocked {
			t.Errorf("DomainBlocked(%q) = %v, want %v", tt.host, got, tt.blocked)
		}
	}

	list, err := s.DomainBlocks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(list, []string{"127.0.0.1", "bad.example"}) {
		t.Errorf("DomainBlocks = %v, want names trimmed and lower-cased", list)
	}

	mustUpdate(t, s, func(tx *Tx) error { return tx.UnblockDomain("BAD.example") })
	if blocked, _ := s.DomainBlocked(ctx, "sub.bad.example"); blocked {
		t.Error("still blocked after UnblockDomain")
	}
}

func TestActorBlocks(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	mustUpdate(t, s, func(tx *Tx) error { return tx.BlockActor(impostor, "abuse") })
	mustUpdate(t, s, func(tx *Tx) error { return tx.BlockActor(impostor, "abuse, again") })
	if blocked, err := s.ActorBlocked(ctx, impostor); err != nil || !blocked {
		t.Errorf("ActorBlocked = %v, %v; want true", blocked, err)
	}
	if blocked, _ := s.ActorBlocked(ctx, mill); blocked {
		t.Error("an actor never blocked is blocked")
	}
	mustUpdate(t, s, func(tx *Tx) error { return tx.UnblockActor(impostor) })
	if blocked, _ := s.ActorBlocked(ctx, impostor); blocked {
		t.Error("still blocked after UnblockActor")
	}
}

func TestBlocksWrittenByAnotherProcessApply(t *testing.T) {
	// The server keeps block lists in memory. A block added by another
	// process on the same database (the CLI) applies once the lists'
	// lifetime has passed; one added through the server's own Store, at once.
	clock := newTestClock()
	path := filepath.Join(t.TempDir(), "coopfed.db")
	server := openTestStoreAt(t, path, clock)
	cli := openTestStoreAt(t, path, clock)
	ctx := context.Background()
	if blocked, _ := server.DomainBlocked(ctx, "bad.example"); blocked { // loads the lists
		t.Fatal("blocked before any block")
	}

	mustUpdate(t, cli, func(tx *Tx) error { return tx.BlockDomain("bad.example", "") })
	mustUpdate(t, cli, func(tx *Tx) error { return tx.BlockActor(impostor, "") })
	clock.Add(blockTTL)
	if blocked, _ := server.DomainBlocked(ctx, "sub.bad.example"); !blocked {
		t.Error("a domain blocked by another process is not blocked after the cache lifetime")
	}
	if blocked, _ := server.ActorBlocked(ctx, impostor); !blocked {
		t.Error("an actor blocked by another process is not blocked after the cache lifetime")
	}

	mustUpdate(t, server, func(tx *Tx) error { return tx.UnblockDomain("bad.example") })
	if blocked, _ := server.DomainBlocked(ctx, "bad.example"); blocked {
		t.Error("the server's own unblock did not apply at once")
	}
}

func TestRolledBackBlockDoesNotApply(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	failed := errors.New("later step failed")
	err := s.Update(ctx, func(tx *Tx) error {
		if err := tx.BlockDomain("bad.example", ""); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("Update = %v", err)
	}
	if blocked, _ := s.DomainBlocked(ctx, "bad.example"); blocked {
		t.Error("a block whose transaction rolled back applies")
	}
}
