package fedtest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

// A Mastodon-like follower receives a signed Update(Note) when the coop
// edits an announcement: the same id and published, the new content and an
// `updated` after published; the Note's IRI serves the edit.
func TestMastodonReceivesEditedAnnouncement(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	remote := fedtest.NewRemote(t)
	alice := remote.AddActor("alice", 1)
	postOK(t, alice, inst.URL+"/coops/bakery/inbox", followOf(alice, inst.ActorIRI()))
	remote.WaitFor("Accept", 1)

	var created struct{ ID, Published string }
	if st := inst.API(t, http.MethodPost, "/api/v1/coops/bakery/announcements", map[string]string{"content": "Fresh bread on Friday"}, &created); st != http.StatusCreated {
		t.Fatalf("announce: %d", st)
	}
	first := remote.WaitFor("Create", 1)[0].Activity["object"].(map[string]any)

	var edited struct{ ID, Content string }
	path := "/api/v1/objects?id=" + url.QueryEscape(created.ID)
	if st := inst.API(t, http.MethodPatch, path, map[string]string{"content": "Fresh bread on Saturday"}, &edited); st != http.StatusOK ||
		edited.ID != created.ID || edited.Content != "Fresh bread on Saturday" {
		t.Fatalf("edit: %d %+v", st, edited)
	}
	update := remote.WaitFor("Update", 1)[0]
	if update.SignatureErr != nil {
		t.Fatalf("update signature: %v", update.SignatureErr)
	}
	if update.Path != "/inbox" || update.Activity["actor"] != inst.ActorIRI() || update.Activity["id"] == created.ID+"/activity" {
		t.Errorf("update: path %s activity %v", update.Path, update.Activity)
	}
	note, _ := update.Activity["object"].(map[string]any)
	if note["id"] != created.ID || note["type"] != "Note" || note["published"] != first["published"] ||
		!strings.Contains(note["content"].(string), "Fresh bread on Saturday") {
		t.Fatalf("updated note: %v", note)
	}
	published, err1 := time.Parse(time.RFC3339, first["published"].(string))
	updated, err2 := time.Parse(time.RFC3339, note["updated"].(string))
	if err1 != nil || err2 != nil || updated.Before(published) {
		t.Fatalf("published %v (%v), updated %v (%v)", first["published"], err1, note["updated"], err2)
	}

	var served map[string]any
	if st := fedtest.GetJSON(t, created.ID, &served); st != http.StatusOK || served["updated"] != note["updated"] ||
		!strings.Contains(served["content"].(string), "Saturday") {
		t.Fatalf("GET edited note: %d %v", st, served)
	}
}

// Bad edits are refused with the right status and send nothing.
func TestEditAnnouncementRefusals(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	_, otherToken := secondCoop(t, inst, "mill", "Mill")
	var live, gone struct{ ID string }
	inst.API(t, http.MethodPost, "/api/v1/coops/bakery/announcements", map[string]string{"content": "Open on Monday"}, &live)
	inst.API(t, http.MethodPost, "/api/v1/coops/bakery/announcements", map[string]string{"content": "Closed on Tuesday"}, &gone)
	if st := inst.API(t, http.MethodDelete, "/api/v1/objects?id="+url.QueryEscape(gone.ID), nil, nil); st != http.StatusNoContent {
		t.Fatalf("delete: %d", st)
	}
	before := inst.Counts(t)
	for _, tc := range []struct {
		name, token, id, content string
		want                     int
	}{
		{"no id", inst.Token, "", "x", http.StatusUnprocessableEntity},
		{"empty content", inst.Token, live.ID, "   ", http.StatusUnprocessableEntity},
		{"too long", inst.Token, live.ID, strings.Repeat("a", 5001), http.StatusUnprocessableEntity},
		{"unknown object", inst.Token, live.ID + "x", "x", http.StatusNotFound},
		{"another coop's", otherToken, live.ID, "mine now", http.StatusForbidden},
		{"deleted", inst.Token, gone.ID, "back", http.StatusGone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/api/v1/objects"
			if tc.id != "" {
				path += "?id=" + url.QueryEscape(tc.id)
			}
			if st := inst.APIWithToken(t, tc.token, http.MethodPatch, path, map[string]string{"content": tc.content}, nil); st != tc.want {
				t.Fatalf("status %d, want %d", st, tc.want)
			}
		})
	}
	if after := inst.Counts(t); after["activities"] != before["activities"] || after["objects"] != before["objects"] {
		t.Fatalf("counts changed: %v -> %v", before, after)
	}
	var served map[string]any
	if st := fedtest.GetJSON(t, live.ID, &served); st != http.StatusOK || !strings.Contains(served["content"].(string), "Open on Monday") || served["updated"] != nil {
		t.Fatalf("note changed: %d %v", st, served)
	}
}
