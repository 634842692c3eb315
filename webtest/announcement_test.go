package webtest

import (
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// An admin edits an announcement from the members' page: bad text comes
// back with the error next to the field and the form open, forged or
// missing tokens and other coops' objects are refused, nothing changes
// until a good edit, which the public note page then shows.
func TestEditAnnouncementForm(t *testing.T) {
	s := newTradeSetup(t)
	dash := s.bakeryPath
	if st, _, body := s.ana.Post(t, dash+"/announcements", url.Values{"csrf": {s.anaCSRF}, "content": {"Open day on Saturday"}}); st != http.StatusSeeOther {
		t.Fatalf("announcement: %d\n%s", st, body)
	}
	_, _, page := s.ana.Get(t, dash)
	m := regexp.MustCompile(`name="note" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `action="`+dash+`/announcements/edit"`) || !strings.Contains(page, ">Open day on Saturday</textarea>") {
		t.Fatalf("members' page lacks the edit form:\n%s", page)
	}
	note := m[1]
	edit := dash + "/announcements/edit"
	AddMember(t, s.inst, "cy", "member", password)
	cy := NewClient(t, s.inst)
	cyCSRF := cy.Login(t, "bakery", "cy", password)

	before := s.inst.Counts(t)
	for _, tc := range []struct {
		name, path string
		client     *Client
		form       url.Values
		status     int
		field      string
	}{
		{"empty text", edit, s.ana, url.Values{"csrf": {s.anaCSRF}, "note": {note}, "content": {"  "}}, 422, "content"},
		{"too long", edit, s.ana, url.Values{"csrf": {s.anaCSRF}, "note": {note}, "content": {strings.Repeat("a", 5001)}}, 422, "content"},
		{"without token", edit, s.ana, url.Values{"note": {note}, "content": {"Closed"}}, 403, ""},
		{"with a forged token", edit, s.ana, url.Values{"csrf": {"forged"}, "note": {note}, "content": {"Closed"}}, 403, ""},
		{"by a plain member", edit, cy, url.Values{"csrf": {cyCSRF}, "note": {note}, "content": {"Closed"}}, 403, ""},
		{"of another coop's announcement", s.millPath + "/announcements/edit", s.bo, url.Values{"csrf": {s.boCSRF}, "note": {note}, "content": {"Mine"}}, 404, ""},
		{"of a listing", edit, s.ana, url.Values{"csrf": {s.anaCSRF}, "note": {s.offer}, "content": {"Cheap"}}, 404, ""},
		{"of nothing", edit, s.ana, url.Values{"csrf": {s.anaCSRF}, "content": {"Cheap"}}, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := tc.client.Post(t, tc.path, tc.form)
			if st != tc.status || !strings.Contains(body, "<main") {
				t.Fatalf("status %d, want %d\n%s", st, tc.status, body)
			}
			if tc.field != "" && (!fieldError(body, tc.path, tc.field) || !strings.Contains(body, `<details class="edit" open>`)) {
				t.Fatalf("no error next to %s in an open edit form:\n%s", tc.field, body)
			}
		})
	}
	if after := s.inst.Counts(t); !reflect.DeepEqual(before, after) {
		t.Fatalf("refused forms changed the database:\n%v\n%v", before, after)
	}

	if st, loc, body := s.ana.Post(t, edit, url.Values{"csrf": {s.anaCSRF}, "note": {note}, "content": {"Open day on Sunday"}}); st != http.StatusSeeOther || loc != dash+"?done=announcement-edited" {
		t.Fatalf("edit: %d %s\n%s", st, loc, body)
	}
	if _, _, page := s.ana.Get(t, dash+"?done=announcement-edited"); !strings.Contains(page, "followers see the edit") || !strings.Contains(page, ">Open day on Sunday</textarea>") {
		t.Fatalf("members' page after the edit:\n%s", page)
	}
	if _, _, page := NewClient(t, s.inst).Get(t, strings.TrimPrefix(note, s.inst.URL)); !strings.Contains(page, "Open day on Sunday") || strings.Contains(page, "Saturday") {
		t.Fatalf("public note page after the edit:\n%s", page)
	}
}
