package fedtest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

// A Mastodon-like account follows a coop, receives its announcement with a
// valid signature, then its deletion; the note's URL then answers 410.
func TestMastodonFollowsCoopAndReceivesAnnouncements(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	remote := fedtest.NewRemote(t)
	alice := remote.AddActor("alice", 1)

	follow := map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       alice.ID("follows"),
		"type":     "Follow",
		"actor":    alice.IRI,
		"object":   inst.ActorIRI(),
	}
	if st, body := alice.Post(inst.URL+"/coops/bakery/inbox", follow); st != http.StatusAccepted {
		t.Fatalf("follow: %d %s", st, body)
	}
	accept := remote.WaitFor("Accept", 1)[0]
	if accept.SignatureErr != nil {
		t.Fatalf("accept signature: %v", accept.SignatureErr)
	}
	obj, _ := accept.Activity["object"].(map[string]any)
	if obj["id"] != follow["id"] || obj["type"] != "Follow" {
		t.Fatalf("accept does not embed the follow: %v", accept.Activity)
	}
	if accept.Path != "/users/alice/inbox" {
		t.Errorf("accept went to %s, want the follower's inbox", accept.Path)
	}

	var created struct{ ID string }
	if st := inst.API(t, http.MethodPost, "/api/v1/coops/bakery/announcements", map[string]string{"content": "Fresh bread on Friday"}, &created); st != http.StatusCreated {
		t.Fatalf("announce: %d", st)
	}
	create := remote.WaitFor("Create", 1)[0]
	if create.SignatureErr != nil {
		t.Fatalf("create signature: %v", create.SignatureErr)
	}
	if create.Path != "/inbox" {
		t.Errorf("create went to %s, want the shared inbox", create.Path)
	}
	note := create.Activity["object"].(map[string]any)
	if note["id"] != created.ID || !strings.Contains(note["content"].(string), "Fresh bread on Friday") {
		t.Fatalf("unexpected note: %v", note)
	}
	if _, ok := create.Activity["to"].([]any); !ok {
		t.Errorf("to is not an array: %v", create.Activity["to"])
	}

	if st := fedtest.GetJSON(t, created.ID, nil); st != http.StatusOK {
		t.Fatalf("GET note: %d", st)
	}
	if st := inst.API(t, http.MethodDelete, "/api/v1/objects?id="+created.ID, nil, nil); st != http.StatusNoContent {
		t.Fatalf("delete: %d", st)
	}
	del := remote.WaitFor("Delete", 1)[0]
	if del.SignatureErr != nil {
		t.Fatalf("delete signature: %v", del.SignatureErr)
	}
	var tomb map[string]any
	if st := fedtest.GetJSON(t, created.ID, &tomb); st != http.StatusGone || tomb["type"] != "Tombstone" {
		t.Fatalf("GET deleted note: %d %v", st, tomb)
	}
}

// Coop A follows coop B on another instance by handle; B's announcements
// reach A's timeline; an unfollow stops them.
func TestCoopFollowsCoopAcrossInstances(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "alpha"})
	b := fedtest.Start(t, fedtest.Options{Coop: "beta"})
	a.Follow(t, b)

	var followers struct {
		Items []struct{ Actor, State string }
	}
	b.API(t, http.MethodGet, "/api/v1/coops/beta/followers", nil, &followers)
	if len(followers.Items) != 1 || followers.Items[0].Actor != a.ActorIRI() || followers.Items[0].State != "accepted" {
		t.Fatalf("followers of beta: %+v", followers.Items)
	}

	b.API(t, http.MethodPost, "/api/v1/coops/beta/announcements", map[string]string{"content": "Surplus apples"}, nil)
	fedtest.Eventually(t, 10*time.Second, "note in alpha's timeline", func() bool {
		var tl struct {
			Items []struct{ Content, Actor string }
		}
		a.API(t, http.MethodGet, "/api/v1/coops/alpha/timeline", nil, &tl)
		return len(tl.Items) == 1 && strings.Contains(tl.Items[0].Content, "Surplus apples") && tl.Items[0].Actor == b.ActorIRI()
	})

	if st := a.API(t, http.MethodDelete, "/api/v1/coops/alpha/following?actor="+b.ActorIRI(), nil, nil); st != http.StatusAccepted {
		t.Fatalf("unfollow: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "beta loses its follower", func() bool {
		var f struct{ Items []any }
		b.API(t, http.MethodGet, "/api/v1/coops/beta/followers", nil, &f)
		return len(f.Items) == 0
	})
}
