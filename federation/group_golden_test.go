package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
)

// groupGoldenDocuments drives a market group on the golden instance: the
// bakery runs group "market" (with the golden key, so its document is
// stable), joins it, and alice (remote) is a member; the bakery's offer is
// relayed to alice, a moderator takes it out, alice is banned; a relay
// subscription is accepted; a report is forwarded as a Flag.
func groupGoldenDocuments(t testing.TB) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	e := newGoldenEnv(t)
	f, c := e.f, e.coop
	docs := map[string][]byte{}
	put := func(name string, v any) {
		t.Helper()
		b, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		docs[name] = b
	}
	stored := func(name, iri string) {
		t.Helper()
		a, err := e.store.ActivityByIRI(ctx, iri)
		if err != nil {
			t.Fatalf("%s: activity %s: %v", name, iri, err)
		}
		docs[name] = a.JSON
	}
	lastOfType := func(name string, actorID int64, typ string) {
		t.Helper()
		acts, err := e.store.ActivitiesOf(ctx, actorID, typ)
		if err != nil || len(acts) == 0 {
			t.Fatalf("%s: no %s of actor %d: %v", name, typ, actorID, err)
		}
		docs[name] = acts[len(acts)-1].JSON
	}

	g := &coopfed.Group{Coop: coopfed.Coop{Name: "market", DisplayName: "Riverside market", Summary: "Surplus food between coops of the valley.",
		Region: "Calder Valley", PublicKeyPEM: c.PublicKeyPEM, PrivateKeyPEM: c.PrivateKeyPEM}, OwnerID: c.ID,
		Moderators: []string{"https://social.example/users/mod"}}
	if err := e.store.Update(ctx, func(tx *store.Tx) error { return tx.CreateGroup(g) }); err != nil {
		t.Fatal(err)
	}
	actor, err := f.GroupActor(g)
	if err != nil {
		t.Fatal(err)
	}
	put("group-actor.json", actor)
	mods, err := f.ModeratorsCollection(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	put("group-moderators.json", mods)
	put("webfinger-group.json", f.WebFinger(&g.Coop))

	e.tick(time.Minute)
	if err := e.store.Update(ctx, func(tx *store.Tx) error {
		return tx.PutFollower(&coopfed.Follower{CoopID: g.ID, ActorIRI: goldenFollower.IRI, FollowIRI: goldenFollowIRI, State: coopfed.FollowAccepted})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.JoinGroup(ctx, c, "market@coop.example"); err != nil {
		t.Fatal(err)
	}

	e.tick(time.Hour)
	l := goldenListing()
	if err := f.PublishListing(ctx, c, l); err != nil {
		t.Fatal(err)
	}
	lastOfType("group-listing-create.json", c.ID, "Create")
	lastOfType("group-announce.json", g.ID, "Announce")

	e.tick(time.Hour)
	if err := f.RemoveFromGroup(ctx, g, l.IRI, "Sold elsewhere"); err != nil {
		t.Fatal(err)
	}
	stored("group-remove-listing.json", f.iris.Activity(e.last()))

	e.tick(time.Hour)
	if err := e.store.Update(ctx, func(tx *store.Tx) error {
		return f.sendAnswerOf(tx, &g.Coop, "Accept", "https://social.example/relay-follow", PublicIRI, goldenFollower)
	}); err != nil {
		t.Fatal(err)
	}
	stored("group-accept-relay.json", f.iris.Activity(e.last()))

	e.tick(time.Hour)
	if err := f.BanFromGroup(ctx, g, goldenFollower.IRI, "spam"); err != nil {
		t.Fatal(err)
	}
	lastOfType("group-remove-member.json", g.ID, "Remove")

	e.tick(time.Hour)
	put("flag.json", f.flagDocument(&coopfed.Report{TargetActor: goldenFollower.IRI, Comment: "Sells fake medicine.",
		Objects: []string{"https://social.example/users/alice/statuses/1", "https://third.example/notes/2"}}, goldenFollower.Host))
	return docs
}

var groupGoldenFiles = []string{
	"group-actor.json", "group-moderators.json", "webfinger-group.json", "group-listing-create.json", "group-announce.json",
	"group-remove-listing.json", "group-accept-relay.json", "group-remove-member.json", "flag.json",
}

// TestGroupGolden compares the market group's documents with their golden
// files (run with -update to rewrite them after an intended change), and
// checks what FEP-1b12 peers, Mastodon and LitePub relays rely on.
func TestGroupGolden(t *testing.T) {
	docs := groupGoldenDocuments(t)
	if len(docs) != len(groupGoldenFiles) {
		t.Fatalf("made %d documents, the table lists %d", len(docs), len(groupGoldenFiles))
	}
	again := groupGoldenDocuments(t)
	for _, name := range groupGoldenFiles {
		t.Run(name, func(t *testing.T) {
			if !bytes.Equal(docs[name], again[name]) {
				t.Fatalf("differs between two identical runs:\n%s\n%s", docs[name], again[name])
			}
			compareGolden(t, name, docs[name])
		})
	}
	decode := func(name string) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(docs[name], &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	group := goldenBase + "/groups/market"
	t.Run("shapes", func(t *testing.T) {
		a := decode("group-actor.json")
		if a["type"] != "Group" || a["id"] != group || a["attributedTo"] != group+"/moderators" || a["followers"] != group+"/followers" ||
			a["region"] != "Calder Valley" || a["endpoints"].(map[string]any)["sharedInbox"] != goldenBase+"/inbox" {
			t.Errorf("group actor = %v", a)
		}
		if items := decode("group-moderators.json")["orderedItems"].([]any); len(items) != 2 || items[0] != goldenBase+"/coops/bakery" {
			t.Errorf("moderators = %v", items)
		}
		create := decode("group-listing-create.json")
		if create["audience"] != group || !containsValue(create["cc"].([]any), group) || create["object"].(map[string]any)["audience"] != group {
			t.Errorf("the member's Create does not address the group: %v", create)
		}
		ann := decode("group-announce.json")
		inner := ann["object"].(map[string]any)
		// FEP-1b12: the member's activity, exactly as sent.
		var sent map[string]any
		json.Unmarshal(docs["group-listing-create.json"], &sent)
		if ann["actor"] != group || inner["id"] != sent["id"] || inner["type"] != "Create" || len(inner) != len(sent) {
			t.Errorf("Announce = %v", ann)
		}
		rl := decode("group-remove-listing.json")
		if rl["type"] != "Remove" || rl["actor"] != group || rl["target"] != group || rl["object"] != inner["object"].(map[string]any)["id"] || rl["summary"] != "Sold elsewhere" {
			t.Errorf("Remove of the listing = %v", rl)
		}
		rm := decode("group-remove-member.json")
		if rm["type"] != "Remove" || rm["object"] != goldenFollower.IRI || rm["target"] != group+"/followers" {
			t.Errorf("Remove of the member = %v", rm)
		}
		acc := decode("group-accept-relay.json")
		if acc["actor"] != group || acc["object"].(map[string]any)["object"] != PublicIRI {
			t.Errorf("relay Accept = %v", acc)
		}
		flag := decode("flag.json")
		if flag["type"] != "Flag" || flag["actor"] != goldenBase+"/actor" || len(flag["object"].([]any)) != 2 || flag["content"] != "Sells fake medicine." {
			t.Errorf("Flag = %v", flag)
		}
	})
}
