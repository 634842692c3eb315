package fedtest_test

import (
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
