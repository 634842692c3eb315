package fedtest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/fedtest"
)

// Several coops on one instance are separate actors: each has its own
// document, WebFinger entry, inbox, key and followers, and sees only what
// is meant for it.

// secondCoop adds a coop to a running instance and returns it with an
// admin token of its own.
func secondCoop(t *testing.T, inst *fedtest.Instance, name, title string) (*coopfed.Coop, string) {
	t.Helper()
	c, err := federation.NewCoop(context.Background(), inst.Store, name, title)
	if err != nil {
		t.Fatal(err)
	}
	return c, inst.NewToken(t, c)
}

// actorDocument is what we read of a coop's actor document.
type actorDocument struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Inbox     string `json:"inbox"`
	Followers string `json:"followers"`
	Endpoints struct {
		SharedInbox string `json:"sharedInbox"`
	} `json:"endpoints"`
	PublicKey struct {
		ID           string `json:"id"`
		Owner        string `json:"owner"`
		PublicKeyPem string `json:"publicKeyPem"`
	} `json:"publicKey"`
}

// webfingerSelf resolves acct:name@host on the instance and returns the
// ActivityPub actor it links to.
func webfingerSelf(t *testing.T, inst *fedtest.Instance, acct string) string {
	t.Helper()
	resp, err := http.Get(inst.URL + "/.well-known/webfinger?resource=" + url.QueryEscape("acct:"+acct))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webfinger %s: %d %s", acct, resp.StatusCode, body)
	}
	var jrd struct {
		Subject string
		Links   []struct{ Rel, Type, Href string }
	}
	if err := json.Unmarshal(body, &jrd); err != nil {
		t.Fatal(err)
	}
	if jrd.Subject != "acct:"+acct {
		t.Errorf("subject = %q, want acct:%s", jrd.Subject, acct)
	}
	for _, l := range jrd.Links {
		if l.Rel == "self" && l.Type == "application/activity+json" {
			return l.Href
		}
	}
	t.Fatalf("webfinger %s: no self link in %s", acct, body)
	return ""
}

// timelineObjects lists the object ids in a coop's timeline.
func timelineObjects(t *testing.T, inst *fedtest.Instance, token, coop string) []string {
	t.Helper()
	var tl struct {
		Items []struct{ ID string }
	}
	if st := inst.APIWithToken(t, token, http.MethodGet, "/api/v1/coops/"+coop+"/timeline", nil, &tl); st != http.StatusOK {
		t.Fatalf("timeline of %s: %d", coop, st)
	}
	var ids []string
	for _, it := range tl.Items {
		ids = append(ids, it.ID)
	}
	return ids
}

// noteTo is a Create(Note) by a addressed to the given IRIs only, with a
// Mention of each actor among them, as Mastodon sends a direct message.
func noteTo(a *fedtest.Actor, n int, content string, to ...string) (map[string]any, string) {
	id := a.IRI + "/statuses/" + strings.Repeat("9", n)
	var tags []any
	for _, iri := range to {
		if iri != federation.PublicIRI {
			tags = append(tags, map[string]any{"type": "Mention", "href": iri})
		}
	}
	note := map[string]any{
		"id":           id,
		"type":         "Note",
		"attributedTo": a.IRI,
		"content":      "<p>" + content + "</p>",
		"to":           to,
		"tag":          tags,
		"published":    "2026-03-01T10:00:00Z",
	}
	return map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       id + "/activity",
		"type":     "Create",
		"actor":    a.IRI,
		"to":       to,
		"object":   note,
	}, id
}

func TestTwoCoopsOnOneInstance(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	dairy, dairyToken := secondCoop(t, inst, "dairy", "Dairy Co-op")
	host := strings.TrimPrefix(inst.URL, "http://")
	bakeryIRI, dairyIRI := inst.ActorIRI(), inst.IRIs().Coop(dairy.Name)

	t.Run("separate actors", func(t *testing.T) {
		var b, d actorDocument
		if st := fedtest.GetJSON(t, bakeryIRI, &b); st != http.StatusOK {
			t.Fatalf("GET bakery: %d", st)
		}
		if st := fedtest.GetJSON(t, dairyIRI, &d); st != http.StatusOK {
			t.Fatalf("GET dairy: %d", st)
		}
		if b.ID != bakeryIRI || d.ID != dairyIRI || d.Type != "Organization" {
			t.Errorf("ids %s, %s (%s)", b.ID, d.ID, d.Type)
		}
		if b.Inbox == d.Inbox || b.Followers == d.Followers {
			t.Errorf("coops share an inbox or followers: %s %s", b.Inbox, b.Followers)
		}
		if b.PublicKey.ID != bakeryIRI+"#main-key" || d.PublicKey.ID != dairyIRI+"#main-key" || d.PublicKey.Owner != dairyIRI {
			t.Errorf("key ids %s, %s", b.PublicKey.ID, d.PublicKey.ID)
		}
		if b.PublicKey.PublicKeyPem == d.PublicKey.PublicKeyPem || d.PublicKey.PublicKeyPem != dairy.PublicKeyPEM {
			t.Error("the coops share a key, or dairy serves another key than its own")
		}
		// One instance, one shared inbox.
		if b.Endpoints.SharedInbox != inst.URL+"/inbox" || d.Endpoints.SharedInbox != b.Endpoints.SharedInbox {
			t.Errorf("shared inboxes %s, %s", b.Endpoints.SharedInbox, d.Endpoints.SharedInbox)
		}
		if got := webfingerSelf(t, inst, "bakery@"+host); got != bakeryIRI {
			t.Errorf("webfinger bakery -> %s", got)
		}
		if got := webfingerSelf(t, inst, "dairy@"+host); got != dairyIRI {
			t.Errorf("webfinger dairy -> %s", got)
		}
		// A token acts for its own coop only.
		if st := inst.APIWithToken(t, dairyToken, http.MethodGet, "/api/v1/coops/bakery/followers", nil, nil); st != http.StatusForbidden {
			t.Errorf("dairy's token on bakery: %d, want 403", st)
		}
	})

	remote := fedtest.NewRemote(t)
	alice := remote.AddActor("alice", 1)

	t.Run("a follower of one coop does not follow the other", func(t *testing.T) {
		follow := followOf(alice, bakeryIRI)
		postOK(t, alice, inst.URL+"/coops/bakery/inbox", follow)
		accept := remote.WaitFor("Accept", 1)[0]
		checkAnswer(t, accept, bakeryIRI, follow)

		if f := apiFollowList(t, inst, inst.Token, "bakery", "followers", ""); len(f) != 1 || f[0].Actor != alice.IRI {
			t.Errorf("bakery's followers = %+v", f)
		}
		if f := apiFollowList(t, inst, dairyToken, "dairy", "followers", ""); len(f) != 0 {
			t.Errorf("dairy's followers = %+v, want none", f)
		}
		if c := getCollection(t, inst.IRIs().CoopFollowers("dairy")); c.TotalItems != 0 {
			t.Errorf("dairy's followers totalItems = %d", c.TotalItems)
		}
		// A Follow of bakery posted to dairy's inbox is refused.
		if st, body := alice.Post(inst.URL+"/coops/dairy/inbox", followOf(alice, bakeryIRI)); st != http.StatusBadRequest {
			t.Errorf("Follow of bakery at dairy's inbox: %d %s, want 400", st, body)
		}
	})

	// Bakery now follows alice, dairy does not.
	followRemote(t, inst, inst.Token, "bakery", alice, 1)

	t.Run("a note to dairy from an actor dairy does not follow", func(t *testing.T) {
		create, id := noteTo(alice, 1, "Do you sell cheese?", dairyIRI)
		postOK(t, alice, inst.URL+"/inbox", create)
		// Why: addressing a coop must not let any actor write into its
		// timeline; the timeline holds what the coop chose to follow.
		if slices.Contains(timelineObjects(t, inst, dairyToken, "dairy"), id) {
			t.Errorf("dairy's timeline holds %s, from an actor dairy does not follow", id)
		}
		// Bakery follows alice, but the note was not addressed to it.
		if slices.Contains(timelineObjects(t, inst, inst.Token, "bakery"), id) {
			t.Errorf("bakery's timeline holds %s, addressed to dairy only", id)
		}
	})

	followRemote(t, inst, dairyToken, "dairy", alice, 2)

	t.Run("a note to dairy once dairy follows the author", func(t *testing.T) {
		create, id := noteTo(alice, 2, "Cheese for bread?", dairyIRI)
		postOK(t, alice, inst.URL+"/inbox", create)
		if !slices.Contains(timelineObjects(t, inst, dairyToken, "dairy"), id) {
			t.Errorf("dairy's timeline lacks %s", id)
		}
		if slices.Contains(timelineObjects(t, inst, inst.Token, "bakery"), id) {
			t.Errorf("bakery's timeline holds %s, addressed to dairy only", id)
		}
	})

	t.Run("a public note reaches both followers", func(t *testing.T) {
		create, id := noteTo(alice, 3, "Market on Saturday", federation.PublicIRI)
		create["cc"] = []string{alice.IRI + "/followers"}
		postOK(t, alice, inst.URL+"/inbox", create)
		for coop, token := range map[string]string{"bakery": inst.Token, "dairy": dairyToken} {
			if ids := timelineObjects(t, inst, token, coop); !slices.Contains(ids, id) {
				t.Errorf("%s's timeline %v lacks the public note %s", coop, ids, id)
			}
		}
	})
}

// followRemote makes a coop follow a remote actor and has the actor accept,
// as Mastodon does for an unlocked account. n is how many Follows the
// remote has received once this one arrives.
func followRemote(t *testing.T, inst *fedtest.Instance, token, coop string, a *fedtest.Actor, n int) {
	t.Helper()
	if st := inst.APIWithToken(t, token, http.MethodPost, "/api/v1/coops/"+coop+"/following", map[string]string{"actor": a.IRI}, nil); st != http.StatusAccepted {
		t.Fatalf("%s follows %s: %d", coop, a.IRI, st)
	}
	follow := a.Remote.WaitFor("Follow", n)[n-1]
	if follow.SignatureErr != nil || follow.Activity["actor"] != inst.IRIs().Coop(coop) {
		t.Fatalf("Follow received: %v (signature: %v)", follow.Activity, follow.SignatureErr)
	}
	postOK(t, a, inst.URL+"/inbox", map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       a.ID("accepts"),
		"type":     "Accept",
		"actor":    a.IRI,
		"object":   follow.Activity["id"],
	})
	f := apiFollowList(t, inst, token, coop, "following", coopfed.FollowAccepted)
	if len(f) != 1 || f[0].Actor != a.IRI {
		t.Fatalf("%s's following after Accept = %+v", coop, f)
	}
}
