package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coopfed/coopfed/fedtest"
)

func TestWebFingerAnswers(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	host := strings.TrimPrefix(inst.URL, "http://")
	cases := []struct {
		name     string
		resource string
		status   int
		wantSelf string // href of the self link, when 200
	}{
		{"coop by acct", "acct:bakery@" + host, 200, inst.ActorIRI()},
		{"coop by actor URL", inst.ActorIRI(), 200, inst.ActorIRI()},
		{"instance actor by origin (FEP-d556)", inst.URL + "/", 200, inst.URL + "/actor"},
		{"instance actor by origin without slash", inst.URL, 200, inst.URL + "/actor"},
		{"unknown coop", "acct:nobody@" + host, 404, ""},
		{"another host", "acct:bakery@elsewhere.example", 404, ""},
		{"no resource", "", 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := inst.URL + "/.well-known/webfinger"
			if tc.resource != "" {
				u += "?resource=" + url.QueryEscape(tc.resource)
			}
			// No Accept header: WebFinger answers JSON regardless.
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if !strings.Contains(resp.Header.Get("Content-Type"), "json") {
				t.Fatalf("content type %q is not JSON", resp.Header.Get("Content-Type"))
			}
			var jrd struct {
				Subject string
				Links   []struct{ Rel, Type, Href string }
				Error   string
			}
			if err := json.NewDecoder(resp.Body).Decode(&jrd); err != nil {
				t.Fatal(err)
			}
			if tc.status != 200 {
				if jrd.Error == "" {
					t.Fatal("error answer has no message")
				}
				return
			}
			found := false
			for _, l := range jrd.Links {
				found = found || (l.Rel == "self" && l.Type == "application/activity+json" && l.Href == tc.wantSelf)
			}
			if !found {
				t.Fatalf("no self link to %s in %+v", tc.wantSelf, jrd.Links)
			}
		})
	}
}
