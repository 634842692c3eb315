package fedtest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/coopfed/coopfed/fedtest"
)

// A document fetched from a real host counts as an actor, key or object only
// when it is served as ActivityPub (Mastodon's rule): an uploaded file the
// host serves as HTML or plain JSON must never pass as an actor. Following
// such an actor fails with a readable 502 and stores nothing.
func TestFollowRefusesActorNotServedAsActivityPub(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	remote := fedtest.NewRemote(t)
	cases := []struct {
		name, ct string
		byHandle bool
	}{
		{"text/html", "text/html; charset=utf-8", false},
		{"application/json", "application/json", false},
		{"text/plain by handle", "text/plain", true},
		{"ld+json without a profile", "application/ld+json", true},
		{"ld+json with another profile", `application/ld+json; profile="https://schema.org/"`, false},
		{"no Content-Type", "", false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := remote.AddActor("upload"+string(rune('a'+i)), 4)
			remote.SetContentType("/users/"+a.Name, c.ct)
			req := map[string]string{"actor": a.IRI}
			if c.byHandle {
				req = map[string]string{"handle": a.Name + "@" + remote.Host}
			}
			before := inst.Snapshot(t)
			var answer struct{ Error string }
			st := inst.API(t, http.MethodPost, "/api/v1/coops/bakery/following", req, &answer)
			if st != http.StatusBadGateway {
				t.Errorf("status %d, want 502 (%s)", st, answer.Error)
			}
			if !strings.Contains(answer.Error, "not an ActivityPub document") {
				t.Errorf("answer %q does not say why", answer.Error)
			}
			if changed := changedTables(before, inst.Snapshot(t)); len(changed) > 0 {
				t.Errorf("refused follow changed tables %v", changed)
			}
			if got := remote.ReceivedOfType("Follow"); len(got) > 0 {
				t.Errorf("a Follow was sent: %v", got)
			}
		})
	}

	// The two media types peers serve, with the parameter spellings seen in
	// the wild, are accepted.
	for i, ct := range []string{
		"application/activity+json; charset=utf-8",
		`application/ld+json;profile=https://www.w3.org/ns/activitystreams`,
	} {
		a := remote.AddActor("fine"+string(rune('a'+i)), 4)
		remote.SetContentType("/users/"+a.Name, ct)
		var answer struct{ Error string }
		if st := inst.API(t, http.MethodPost, "/api/v1/coops/bakery/following", map[string]string{"actor": a.IRI}, &answer); st != http.StatusAccepted {
			t.Errorf("actor served as %q: status %d (%s)", ct, st, answer.Error)
		}
	}
}

// A handle resolves to an actor on another host only when that host
// confirms it: a server may delegate its handles (Mastodon's LOCAL_DOMAIN
// and WEB_DOMAIN), but must not claim another server's actor as its own.
func TestFollowByHandleChecksWebFingerDelegation(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	claimer, owner := fedtest.NewRemote(t), fedtest.NewRemote(t)

	// claimer says boss@claimer is owner's mallory; owner's WebFinger
	// names mallory@owner only.
	mallory := owner.AddActor("mallory", 4)
	claimer.SetWebFinger("acct:boss@"+claimer.Host, mallory.IRI, "acct:boss@"+claimer.Host)
	before := inst.Snapshot(t)
	var answer struct{ Error string }
	st := inst.API(t, http.MethodPost, "/api/v1/coops/bakery/following", map[string]string{"handle": "boss@" + claimer.Host}, &answer)
	if st != http.StatusForbidden || !strings.Contains(answer.Error, "does not confirm") {
		t.Errorf("unconfirmed delegation: status %d (%s), want 403 saying why", st, answer.Error)
	}
	if changed := changedTables(before, inst.Snapshot(t)); len(changed) > 0 {
		t.Errorf("refused follow changed tables %v", changed)
	}
	if got := owner.ReceivedOfType("Follow"); len(got) > 0 {
		t.Errorf("a Follow was sent: %v", got)
	}

	// A real delegation: ana@claimer lives on owner, whose WebFinger for
	// ana@owner links back to her and gives ana@claimer as the subject.
	ana := owner.AddActor("ana", 4)
	claimer.SetWebFinger("acct:ana@"+claimer.Host, ana.IRI, "acct:ana@"+claimer.Host)
	owner.SetWebFinger("acct:ana@"+owner.Host, ana.IRI, "acct:ana@"+claimer.Host)
	if st := inst.API(t, http.MethodPost, "/api/v1/coops/bakery/following", map[string]string{"handle": "ana@" + claimer.Host}, &answer); st != http.StatusAccepted {
		t.Errorf("confirmed delegation: status %d (%s)", st, answer.Error)
	}
}

// An outbox whose pages never end, or whose next page is on another
// host, is read only up to the page cap and never off its own host: the
// collection paging and reply-chain advisories of Mastodon and GoToSocial
// (a remote collection made to be walked forever). The refused pages
// store nothing.
func TestBackfillStopsAtThePageCapAndTheOutboxHost(t *testing.T) {
	ctx := context.Background()
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	remote, log := fedtest.NewCountingRemote(t)
	elsewhere, elsewhereLog := fedtest.NewCountingRemote(t)
	cases := []struct {
		name  string
		next  func(page int) string // URL of the page after page
		pages int                   // pages the remote may be asked for, at most
	}{
		{"pages without end", func(n int) string { return fmt.Sprintf("%s/users/%%s/outbox/%d", remote.URL, n+1) }, 1 + 5},
		{"next page on another host", func(n int) string { return elsewhere.URL + "/outbox/page" }, 1},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := remote.AddActor(fmt.Sprintf("pager%d", i), 4)
			page := func(n int) []byte {
				next := c.next(n)
				if strings.Contains(next, "%s") {
					next = fmt.Sprintf(next, a.Name)
				}
				return []byte(fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":"%s/outbox/%d","type":"OrderedCollectionPage","orderedItems":[],"next":%q}`, a.IRI, n, next))
			}
			remote.SetDoc("/users/"+a.Name+"/outbox", []byte(fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":"%s/outbox","type":"OrderedCollection","totalItems":1000000,"first":"%s/outbox/1"}`, a.IRI, a.IRI)))
			for n := 1; n <= 50; n++ {
				remote.SetDoc(fmt.Sprintf("/users/%s/outbox/%d", a.Name, n), page(n))
			}
			elsewhere.SetDoc("/outbox/page", page(2))
			if _, err := inst.Federation.FetchActor(ctx, a.IRI); err != nil {
				t.Fatal(err)
			}
			before, seen, seenElsewhere := inst.Snapshot(t), log.Len(), elsewhereLog.Len()
			n, err := inst.Federation.BackfillListings(ctx, a.IRI)
			if err != nil || n != 0 {
				t.Fatalf("backfill: %d listings, %v; want 0, nil", n, err)
			}
			var pages int
			for _, r := range log.Since(seen) {
				if strings.Contains(r, "/outbox/") {
					pages++
				}
			}
			if pages > c.pages || pages == 0 {
				t.Errorf("%d outbox pages fetched, want 1 to %d: %v", pages, c.pages, log.Since(seen))
			}
			if got := elsewhereLog.Since(seenElsewhere); len(got) > 0 {
				t.Errorf("a page on another host was fetched: %v", got)
			}
			if changed := changedTables(before, inst.Snapshot(t)); len(changed) > 0 {
				t.Errorf("backfill of empty pages changed tables %v", changed)
			}
		})
	}
}
