package fedtest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/coopfed/coopfed/fedtest"
)

// An admin edits the coop's profile and locks it: followers receive the
// new actor in an Update, and later follow requests wait for approval.
func TestUpdateProfileFederatesAndLocks(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	remote := fedtest.NewRemote(t)
	alice := remote.AddActor("alice", 1)
	follow := map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": alice.ID("follows"), "type": "Follow", "actor": alice.IRI, "object": inst.ActorIRI()}
	if st, body := alice.Post(inst.URL+"/coops/bakery/inbox", follow); st != http.StatusAccepted {
		t.Fatalf("follow: %d %s", st, body)
	}
	remote.WaitFor("Accept", 1)

	var coop struct {
		DisplayName string `json:"display_name"`
		Locked      bool
	}
	body := map[string]any{"display_name": "Riverside Bakery", "summary": "Bread & pastries", "locked": true}
	if st := inst.API(t, http.MethodPatch, "/api/v1/coops/bakery", body, &coop); st != http.StatusOK || !coop.Locked || coop.DisplayName != "Riverside Bakery" {
		t.Fatalf("patch: %d %+v", st, coop)
	}
	upd := remote.WaitFor("Update", 1)[0]
	if upd.SignatureErr != nil {
		t.Fatalf("update signature: %v", upd.SignatureErr)
	}
	actor := upd.Activity["object"].(map[string]any)
	if actor["type"] != "Organization" || actor["name"] != "Riverside Bakery" || actor["manuallyApprovesFollowers"] != true {
		t.Fatalf("update carries %v", actor)
	}
	if !strings.Contains(actor["summary"].(string), "Bread &amp; pastries") {
		t.Errorf("summary not rendered as escaped HTML: %v", actor["summary"])
	}

	// Locked now: a new follower waits.
	bob := remote.AddActor("bob", 2)
	follow = map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": bob.ID("follows"), "type": "Follow", "actor": bob.IRI, "object": inst.ActorIRI()}
	if st, body := bob.Post(inst.URL+"/coops/bakery/inbox", follow); st != http.StatusAccepted {
		t.Fatalf("follow: %d %s", st, body)
	}
	var pending struct{ Items []struct{ Actor string } }
	inst.API(t, http.MethodGet, "/api/v1/coops/bakery/followers?state=pending", nil, &pending)
	if len(pending.Items) != 1 || pending.Items[0].Actor != bob.IRI {
		t.Fatalf("pending followers: %+v", pending.Items)
	}

	// Bad input changes nothing.
	var errBody struct {
		Error  string
		Fields map[string]string
	}
	long := strings.Repeat("x", 101)
	if st := inst.API(t, http.MethodPatch, "/api/v1/coops/bakery", map[string]any{"display_name": long}, &errBody); st != http.StatusUnprocessableEntity || errBody.Fields["display_name"] == "" {
		t.Fatalf("too long a name: %d %+v", st, errBody)
	}
	if st := inst.API(t, http.MethodPatch, "/api/v1/coops/bakery", map[string]any{"colour": "red"}, &errBody); st != http.StatusBadRequest {
		t.Fatalf("unknown field: %d %+v", st, errBody)
	}
	inst.API(t, http.MethodGet, "/api/v1/coops/bakery", nil, &coop)
	if coop.DisplayName != "Riverside Bakery" {
		t.Fatalf("a refused update changed the profile: %+v", coop)
	}
}
