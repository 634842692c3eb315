package interop

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/fedtest"
)

// lookedUp is what the peer's /control/lookup reports of a document it
// fetched and parsed with Fedify's vocabulary.
type lookedUp struct {
	Type                      string
	ID                        string
	IsActor                   bool
	PreferredUsername         string
	Name                      string
	Inbox                     string
	Outbox                    string
	Followers                 string
	Following                 string
	SharedInbox               string
	ManuallyApprovesFollowers *bool
	PublicKey                 *struct {
		ID, Owner, Algorithm, PEM string
	}
	JSON json.RawMessage
}

// apiList is a page of the JSON API's follower, following or timeline lists.
type apiList struct {
	Items []struct {
		Actor, State, Content, ID string
	}
}

// TestFedifyLooksUpCoop has Fedify fetch a coop actor with a signed GET (an
// authenticated document loader: RFC 9421 first, draft-cavage on 401) and
// an unsigned one, parse it with its vocabulary, and resolve it through
// WebFinger by actor URL.
func TestFedifyLooksUpCoop(t *testing.T) {
	p := startPeer(t)
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	iris := inst.IRIs()

	var raw struct {
		PublicKey struct{ PublicKeyPem string }
	}
	if st := fedtest.GetJSON(t, inst.ActorIRI(), &raw); st != http.StatusOK {
		t.Fatalf("GET coop actor: %d", st)
	}

	for _, tc := range []struct {
		name   string
		signed bool
	}{{"Unsigned", false}, {"Signed", true}} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(p.requests(t))
			var doc lookedUp
			p.post(t, "/control/lookup", map[string]any{"url": inst.ActorIRI(), "signed": tc.signed}, &doc)
			if doc.Type != "Organization" || !doc.IsActor {
				t.Errorf("type %q (actor %v), want an Organization actor", doc.Type, doc.IsActor)
			}
			want := map[string][2]string{
				"id":                    {doc.ID, inst.ActorIRI()},
				"preferredUsername":     {doc.PreferredUsername, "bakery"},
				"inbox":                 {doc.Inbox, iris.CoopInbox("bakery")},
				"outbox":                {doc.Outbox, iris.CoopOutbox("bakery")},
				"followers":             {doc.Followers, iris.CoopFollowers("bakery")},
				"following":             {doc.Following, iris.CoopFollowing("bakery")},
				"endpoints.sharedInbox": {doc.SharedInbox, iris.SharedInbox()},
			}
			for field, v := range want {
				if v[0] != v[1] {
					t.Errorf("%s as Fedify parsed it: %q, want %q", field, v[0], v[1])
				}
			}
			if doc.ManuallyApprovesFollowers == nil || *doc.ManuallyApprovesFollowers {
				t.Errorf("manuallyApprovesFollowers as Fedify parsed it: %v, want false", doc.ManuallyApprovesFollowers)
			}
			if doc.PublicKey == nil {
				t.Fatalf("Fedify found no publicKey in the coop actor: %s", doc.JSON)
			}
			if doc.PublicKey.ID != iris.CoopKey("bakery") || doc.PublicKey.Owner != inst.ActorIRI() {
				t.Errorf("publicKey id %q owner %q, want %q and %q", doc.PublicKey.ID, doc.PublicKey.Owner, iris.CoopKey("bakery"), inst.ActorIRI())
			}
			if doc.PublicKey.Algorithm != "RSASSA-PKCS1-v1_5" {
				t.Errorf("publicKey algorithm as Fedify imported it: %q", doc.PublicKey.Algorithm)
			}
			if !samePublicKey(t, doc.PublicKey.PEM, raw.PublicKey.PublicKeyPem) {
				t.Errorf("Fedify's key differs from the actor's publicKeyPem:\n%s\nvs\n%s", doc.PublicKey.PEM, raw.PublicKey.PublicKeyPem)
			}

			// What went over the wire: one GET of the actor, signed or not.
			var schemes []string
			for _, r := range p.requests(t)[before:] {
				if r.Method == http.MethodGet && r.URL == inst.ActorIRI() {
					schemes = append(schemes, r.Scheme+"->"+strconv.Itoa(r.Status))
				}
			}
			t.Logf("GETs of the coop actor (scheme->status): %v", schemes)
			if len(schemes) == 0 {
				t.Fatalf("the peer sent no GET for the actor")
			}
			last := schemes[len(schemes)-1]
			if !strings.HasSuffix(last, "->200") {
				t.Errorf("last GET of the actor: %s, want 200", last)
			}
			if tc.signed && strings.HasPrefix(last, "none") {
				t.Errorf("signed lookup went out unsigned: %v", schemes)
			}
			if !tc.signed && last != "none->200" {
				t.Errorf("unsigned lookup: %v", schemes)
			}
		})
	}

	t.Run("WebFingerByActorURL", func(t *testing.T) {
		var jrd struct {
			Subject string
			Links   []struct{ Rel, Type, Href string }
		}
		p.post(t, "/control/webfinger", map[string]any{"resource": inst.ActorIRI()}, &jrd)
		if jrd.Subject != "acct:"+inst.Handle() {
			t.Errorf("subject %q, want acct:%s", jrd.Subject, inst.Handle())
		}
		self := false
		for _, l := range jrd.Links {
			if l.Rel == "self" && l.Type == "application/activity+json" && l.Href == inst.ActorIRI() {
				self = true
			}
		}
		if !self {
			t.Errorf("no self link to the actor in %+v", jrd.Links)
		}
	})
}

// TestFedifyFollowsCoop has the Fedify actor follow a coop: the coop's
// Accept must pass Fedify's signature verification, the coop's
// announcement must reach the peer as a verified Create(Note), and an
// Undo(Follow) must empty the coop's followers.
func TestFedifyFollowsCoop(t *testing.T) {
	p := startPeer(t)
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})

	var follow struct{ ID string }
	t.Run("FollowAccepted", func(t *testing.T) {
		p.post(t, "/control/follow", map[string]any{"actor": inst.ActorIRI()}, &follow)
		accept := waitForActivity(t, p, "Accept from the coop", func(r received) bool {
			return r.Type == "Accept" && r.Actor == inst.ActorIRI()
		})
		if accept.Object != follow.ID {
			t.Errorf("the Accept answers %q, want the Follow %q: %s", accept.Object, follow.ID, accept.JSON)
		}
		waitFor(t, "the peer to record the follow as accepted", func() bool {
			var list []struct{ Actor, State string }
			p.get(t, "/control/following", &list)
			return len(list) == 1 && list[0].Actor == inst.ActorIRI() && list[0].State == "accepted"
		})
		var followers apiList
		inst.API(t, http.MethodGet, "/api/v1/coops/bakery/followers", nil, &followers)
		if len(followers.Items) != 1 || followers.Items[0].Actor != p.Actor || followers.Items[0].State != coopfed.FollowAccepted {
			t.Errorf("the coop's followers: %+v, want the peer, accepted", followers.Items)
		}
		logPosts(t, p, inst.IRIs().CoopInbox("bakery"))
	})

	t.Run("AnnouncementDelivered", func(t *testing.T) {
		var created struct{ ID string }
		if st := inst.API(t, http.MethodPost, "/api/v1/coops/bakery/announcements", map[string]string{"content": "Fresh bread on Friday"}, &created); st != http.StatusCreated {
			t.Fatalf("announce: %d", st)
		}
		create := waitForActivity(t, p, "Create from the coop", func(r received) bool {
			return r.Type == "Create" && r.Actor == inst.ActorIRI()
		})
		if create.ObjectType != "Note" || create.ObjectID != created.ID {
			t.Errorf("Create of %s %q, want the Note %q: %s", create.ObjectType, create.ObjectID, created.ID, create.JSON)
		}
		if !strings.Contains(create.Content, "Fresh bread on Friday") {
			t.Errorf("note content as Fedify parsed it: %q", create.Content)
		}
		if create.AttributedTo != inst.ActorIRI() {
			t.Errorf("attributedTo %q, want the coop", create.AttributedTo)
		}
	})

	t.Run("UnfollowEmptiesFollowers", func(t *testing.T) {
		if follow.ID == "" {
			t.Skip("the follow did not happen")
		}
		p.post(t, "/control/unfollow", map[string]any{"actor": inst.ActorIRI()}, nil)
		waitFor(t, "the coop to lose its follower", func() bool {
			var followers apiList
			inst.API(t, http.MethodGet, "/api/v1/coops/bakery/followers", nil, &followers)
			return len(followers.Items) == 0
		})
	})

	assertAllVerified(t, p)
}

// TestFedifyFollowsLockedCoop follows a coop that approves followers by
// hand: the coop's Reject and, after a second Follow, its Accept must both
// pass Fedify's verification and settle the Follow they answer.
func TestFedifyFollowsLockedCoop(t *testing.T) {
	p := startPeer(t)
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery", Locked: true})

	var doc lookedUp
	p.post(t, "/control/lookup", map[string]any{"url": inst.ActorIRI()}, &doc)
	if doc.ManuallyApprovesFollowers == nil || !*doc.ManuallyApprovesFollowers {
		t.Errorf("manuallyApprovesFollowers as Fedify parsed it: %v, want true", doc.ManuallyApprovesFollowers)
	}

	answer := func(t *testing.T, how, want string) {
		t.Helper()
		var follow struct{ ID string }
		p.post(t, "/control/follow", map[string]any{"actor": inst.ActorIRI()}, &follow)
		waitFor(t, "a pending follower on the coop", func() bool {
			var followers apiList
			inst.API(t, http.MethodGet, "/api/v1/coops/bakery/followers", nil, &followers)
			return len(followers.Items) == 1 && followers.Items[0].Actor == p.Actor && followers.Items[0].State == coopfed.FollowPending
		})
		if st := inst.API(t, http.MethodPost, "/api/v1/coops/bakery/followers/"+how, map[string]string{"actor": p.Actor}, nil); st != http.StatusOK {
			t.Fatalf("%s the follower: %d", how, st)
		}
		got := waitForActivity(t, p, want+" from the coop", func(r received) bool {
			return r.Type == want && r.Actor == inst.ActorIRI() && r.Object == follow.ID
		})
		t.Logf("%s: %s", want, got.JSON)
		waitFor(t, "the peer to settle its follow", func() bool {
			var list []struct{ Actor, Follow, State string }
			p.get(t, "/control/following", &list)
			return len(list) == 1 && list[0].Follow == follow.ID && list[0].State == map[string]string{"Accept": "accepted", "Reject": "rejected"}[want]
		})
	}
	t.Run("Rejected", func(t *testing.T) { answer(t, "reject", "Reject") })
	t.Run("Approved", func(t *testing.T) { answer(t, "approve", "Accept") })

	assertAllVerified(t, p)
}

// TestCoopFollowsFedify has a coop follow the Fedify actor by actor URL:
// Fedify verifies the Follow and accepts it, the coop records the follow as
// accepted, and the peer's note reaches the coop's timeline. The coop's
// unfollow then reaches Fedify as a verified Undo.
func TestCoopFollowsFedify(t *testing.T) {
	p := startPeer(t)
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})

	t.Run("FollowAccepted", func(t *testing.T) {
		if st := inst.API(t, http.MethodPost, "/api/v1/coops/bakery/following", map[string]string{"actor": p.Actor}, nil); st != http.StatusAccepted {
			t.Fatalf("follow the peer: status %d", st)
		}
		waitForActivity(t, p, "Follow from the coop", func(r received) bool {
			return r.Type == "Follow" && r.Actor == inst.ActorIRI() && r.Object == p.Actor
		})
		waitFor(t, "the coop's follow to be accepted", func() bool {
			var following apiList
			inst.API(t, http.MethodGet, "/api/v1/coops/bakery/following", nil, &following)
			return len(following.Items) == 1 && following.Items[0].Actor == p.Actor && following.Items[0].State == coopfed.FollowAccepted
		})
		logPosts(t, p, inst.IRIs().CoopInbox("bakery"))
	})

	t.Run("NoteInTimeline", func(t *testing.T) {
		var note struct{ ID string }
		p.post(t, "/control/note", map[string]any{"content": "<p>Rye loaves from the Fedify peer</p>"}, &note)
		waitFor(t, "the peer's note in the coop's timeline", func() bool {
			var tl apiList
			inst.API(t, http.MethodGet, "/api/v1/coops/bakery/timeline", nil, &tl)
			for _, it := range tl.Items {
				if strings.Contains(it.Content, "Rye loaves from the Fedify peer") && it.Actor == p.Actor {
					return true
				}
			}
			return false
		})
		logPosts(t, p, inst.IRIs().SharedInbox())
	})

	t.Run("DirectNoteAccepted", func(t *testing.T) {
		// A note addressed to the coop alone, with a Mention tag for it, as
		// Mastodon and GoToSocial send direct messages.
		before := len(p.requests(t))
		p.post(t, "/control/note", map[string]any{"content": "<p>Can you spare rye flour?</p>", "to": []string{inst.ActorIRI()}}, nil)
		inbox := inst.IRIs().CoopInbox("bakery")
		waitFor(t, "the direct note's delivery to the coop", func() bool {
			for _, r := range p.requests(t)[before:] {
				if r.Method == http.MethodPost && r.URL == inbox && r.Status >= 200 && r.Status < 300 {
					return true
				}
			}
			return false
		})
	})

	t.Run("UnfollowReachesFedify", func(t *testing.T) {
		if st := inst.API(t, http.MethodDelete, "/api/v1/coops/bakery/following?actor="+p.Actor, nil, nil); st != http.StatusAccepted {
			t.Fatalf("unfollow: %d", st)
		}
		undo := waitForActivity(t, p, "Undo from the coop", func(r received) bool {
			return r.Type == "Undo" && r.Actor == inst.ActorIRI()
		})
		if undo.ObjectType != "Follow" {
			t.Errorf("Undo of %q, want a Follow: %s", undo.ObjectType, undo.JSON)
		}
		waitFor(t, "the peer to lose its follower", func() bool {
			var list []struct{ ID string }
			p.get(t, "/control/followers", &list)
			return len(list) == 0
		})
	})

	assertAllVerified(t, p)
}

// TestFedifyPeerFlagsUnsignedActivity checks the harness itself: an
// unsigned POST to the peer's inbox is refused by Fedify and listed as
// unverified, so "verified" in the journeys above means what it says.
func TestFedifyPeerFlagsUnsignedActivity(t *testing.T) {
	p := startPeer(t)
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	follow := map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       inst.URL + "/activities/unsigned-follow",
		"type":     "Follow",
		"actor":    inst.ActorIRI(),
		"object":   p.Actor,
	}
	body, _ := json.Marshal(follow)
	resp, err := http.Post(p.URL+"/users/peer/inbox", "application/activity+json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned POST to Fedify's inbox: %d, want 401", resp.StatusCode)
	}
	list := p.inbox(t)
	if len(list) != 1 || list[0].Verified || list[0].ID != follow["id"] {
		t.Fatalf("the peer's inbox after an unsigned POST: %+v, want one unverified Follow", list)
	}
	t.Logf("Fedify's reason: %s", list[0].Reason)
}

// waitForActivity polls the peer's inbox until an activity matches and
// returns it. A matching activity that Fedify could not verify fails the
// test at once with the reason.
func waitForActivity(t *testing.T, p *peer, what string, match func(received) bool) received {
	t.Helper()
	var found received
	waitFor(t, what+" in the Fedify peer's inbox", func() bool {
		for _, r := range p.inbox(t) {
			if !match(r) {
				continue
			}
			if !r.Verified {
				t.Fatalf("%s reached Fedify but failed verification: %s\n%s", what, r.Reason, r.JSON)
			}
			found = r
			return true
		}
		return false
	})
	return found
}

// assertAllVerified fails the test if anything reached the peer's inbox
// that Fedify could not verify, or if the peer logged delivery errors.
func assertAllVerified(t *testing.T, p *peer) {
	t.Helper()
	for _, r := range p.inbox(t) {
		if !r.Verified {
			t.Errorf("Fedify could not verify %s %s from %s: %s\n%s", r.Type, r.ID, r.Actor, r.Reason, r.JSON)
		}
	}
	var errs []struct{ Where, Activity, Error string }
	p.get(t, "/control/errors", &errs)
	for _, e := range errs {
		t.Errorf("Fedify peer %s error (%s): %s", e.Where, e.Activity, e.Error)
	}
}

// logPosts logs the peer's POSTs to a URL with the signature scheme of each
// try: Fedify signs RFC 9421 first and retries draft-cavage after a 4xx.
func logPosts(t *testing.T, p *peer, url string) {
	t.Helper()
	var tries []string
	for _, r := range p.requests(t) {
		if r.Method == http.MethodPost && r.URL == url {
			tries = append(tries, r.Scheme+"->"+strconv.Itoa(r.Status))
		}
	}
	t.Logf("Fedify POSTs to %s (scheme->status): %v", url, tries)
}

// samePublicKey tells whether two PEM-encoded SubjectPublicKeyInfo keys
// hold the same key.
func samePublicKey(t *testing.T, a, b string) bool {
	t.Helper()
	der := func(s string) []byte {
		blk, _ := pem.Decode([]byte(s))
		if blk == nil {
			t.Errorf("not PEM: %q", s)
			return nil
		}
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			t.Errorf("parsing %q: %v", s, err)
			return nil
		}
		out, _ := x509.MarshalPKIXPublicKey(k)
		return out
	}
	da, db := der(a), der(b)
	return da != nil && bytes.Equal(da, db)
}
