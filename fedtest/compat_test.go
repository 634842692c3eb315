package fedtest_test

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

// Every GET we make of a remote actor or object is signed: GoToSocial and
// Mastodon in secure mode answer 401 to unsigned ones.
func TestEveryOutgoingGetIsSigned(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	remote := fedtest.NewRemote(t)
	remote.RequireSignedFetch = true
	bob := remote.AddActor("bob", 2)

	// Follow by handle: WebFinger (public), then the actor (signed GET).
	if st := inst.API(t, http.MethodPost, "/api/v1/coops/bakery/following", map[string]string{"handle": "bob@" + remote.Host}, nil); st != http.StatusAccepted {
		t.Fatalf("follow: %d", st)
	}
	follow := remote.WaitFor("Follow", 1)[0]
	if follow.SignatureErr != nil {
		t.Fatalf("follow signature: %v", follow.SignatureErr)
	}
	// The remote posts; verifying it makes the instance fetch bob's key.
	note := map[string]any{
		"id": bob.ID("statuses"), "type": "Note", "attributedTo": bob.IRI, "content": "<p>hello</p>",
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"},
	}
	create := map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": bob.ID("activities"), "type": "Create", "actor": bob.IRI, "object": note}
	if st, body := bob.Post(inst.URL+"/inbox", create); st != http.StatusAccepted {
		t.Fatalf("create: %d %s", st, body)
	}
	if got := remote.UnsignedFetches(); len(got) != 0 {
		t.Fatalf("unsigned GETs reached the remote: %v", got)
	}
}

// Keys stay the same across restarts: peers cache them and may never
// refetch, so a new key would make every later signature fail.
func TestKeysStableAcrossRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "coopfed.db")
	keys := func() (coop, instance string) {
		inst := fedtest.Start(t, fedtest.Options{Coop: "bakery", DB: db})
		var actor, app struct {
			PublicKey struct{ ID, PublicKeyPem string }
		}
		if st := fedtest.GetJSON(t, inst.ActorIRI(), &actor); st != http.StatusOK {
			t.Fatalf("actor: %d", st)
		}
		if st := fedtest.GetJSON(t, inst.URL+"/actor", &app); st != http.StatusOK {
			t.Fatalf("instance actor: %d", st)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := inst.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		return actor.PublicKey.PublicKeyPem, app.PublicKey.PublicKeyPem
	}
	coop1, inst1 := keys()
	coop2, inst2 := keys()
	if coop1 == "" || inst1 == "" {
		t.Fatal("an actor has no key")
	}
	if coop1 != coop2 || inst1 != inst2 {
		t.Fatal("a key changed across a restart")
	}
}
