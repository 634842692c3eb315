package webtest

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

const password = "correct horse battery"

// soon is a deadline a month ahead, as the motion form takes it.
var soon = time.Now().UTC().Add(30 * 24 * time.Hour).Format("2006-01-02T15:04")

// Every form of the members' page refuses bad input with 422, shows the
// problem next to its field and changes nothing.
func TestFormValidation(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	AddMember(t, inst, "ana", "admin", password)
	c := NewClient(t, inst)
	csrf := c.Login(t, "bakery", "ana", password)
	dash := "/coops/bakery/admin"
	good := url.Values{"kind": {"offer"}, "title": {"Rye flour"}, "category": {"flour"}, "quantity_value": {"20"}, "quantity_unit": {"kilogram"}}
	with := func(base url.Values, k, v string) url.Values {
		out := url.Values{}
		for key, vals := range base {
			out[key] = vals
		}
		out.Set(k, v)
		return out
	}
	motion := url.Values{"title": {"New oven"}, "kind": {"consent"}, "closes_at": {soon}, "threshold": {"50"}}
	cases := []struct {
		name, path string
		form       url.Values
		field      string // the input whose error must follow it
		want       string
	}{
		{"empty announcement", "/announcements", url.Values{"content": {"  "}}, "content", "write something"},
		{"listing without title", "/listings", with(good, "title", ""), "title", ""},
		{"listing without quantity", "/listings", with(with(good, "quantity_value", ""), "quantity_unit", ""), "quantity_value", "quantity"},
		{"listing with a bad quantity", "/listings", with(good, "quantity_value", "lots"), "quantity_value", ""},
		{"listing of an unknown kind", "/listings", with(good, "kind", "gift"), "", "offer"},
		{"listing with a bad category", "/listings", with(good, "category", "two words!"), "category", ""},
		{"listing with a bad latitude", "/listings", with(good, "latitude", "north"), "latitude", "decimal degrees"},
		{"listing with a bad date", "/listings", with(good, "valid_until", "soon"), "valid_until", "a date"},
		{"listing with a price but no currency", "/listings", with(good, "price_amount", "3"), "price_currency", ""},
		{"motion without title", "/motions", with(motion, "title", ""), "title", "title"},
		{"motion in the past", "/motions", with(motion, "closes_at", "2001-01-01T12:00"), "closes_at", "future"},
		{"motion with a bad deadline", "/motions", with(motion, "closes_at", "friday"), "closes_at", "date and time"},
		{"choice with one option", "/motions", with(with(motion, "kind", "choice"), "options", "Only"), "options", "options"},
		{"motion with a quorum over 100", "/motions", with(motion, "quorum", "150"), "quorum", "percentage"},
		{"follow without handle", "/follow", url.Values{"handle": {""}}, "handle", "handle"},
		{"follow of a malformed handle", "/follow", url.Values{"handle": {"not a handle"}}, "handle", ""},
		{"vote without choice", "/vote", url.Values{"id": {inst.URL + "/motions/none"}}, "", "choose an option"},
	}
	before := inst.Counts(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("csrf", csrf)
			st, _, body := c.Post(t, dash+tc.path, tc.form)
			if st < 400 || st >= 500 {
				t.Fatalf("status %d, want a 4xx\n%s", st, body)
			}
			if !strings.Contains(body, "<main") || !strings.Contains(body, "<title>") {
				t.Fatalf("not a page:\n%s", body)
			}
			if tc.field != "" {
				// The error follows its own input.
				form := strings.Index(body, `action="`+dash+tc.path+`"`)
				i := strings.Index(body[max(form, 0):], `name="`+tc.field+`"`) + max(form, 0)
				if form < 0 || !strings.Contains(body[i:i+min(len(body)-i, 600)], `class="field-error"`) {
					t.Fatalf("no error next to %s:\n%s", tc.field, body)
				}
			}
			if tc.want != "" && !strings.Contains(body, tc.want) {
				t.Fatalf("page lacks %q:\n%s", tc.want, body)
			}
		})
	}
	if after := inst.Counts(t); !reflect.DeepEqual(before, after) {
		t.Fatalf("refused forms changed the database:\n%v\n%v", before, after)
	}
}

// A form posted without its session's CSRF secret, or with another one, is
// refused with a readable 403 page and changes nothing; so is a login
// without the login form's secret and a POST by someone not logged in.
func TestCSRFRefused(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	AddMember(t, inst, "ana", "admin", password)
	c := NewClient(t, inst)
	c.Login(t, "bakery", "ana", password)
	stranger := NewClient(t, inst)
	before := inst.Counts(t)
	for _, tc := range []struct {
		name   string
		client *Client
		path   string
		form   url.Values
	}{
		{"announcement without token", c, "/coops/bakery/admin/announcements", url.Values{"content": {"hello"}}},
		{"announcement with another token", c, "/coops/bakery/admin/announcements", url.Values{"content": {"hello"}, "csrf": {"forged"}}},
		{"listing without token", c, "/coops/bakery/admin/listings", url.Values{"kind": {"offer"}, "title": {"x"}}},
		{"logout without token", c, "/logout", url.Values{}},
		{"login without the login cookie", stranger, "/login", url.Values{"coop": {"bakery"}, "username": {"ana"}, "password": {password}, "csrf": {"x"}}},
		{"not logged in", stranger, "/coops/bakery/admin/announcements", url.Values{"content": {"hello"}, "csrf": {"x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := tc.client.Post(t, tc.path, tc.form)
			if st != http.StatusForbidden || !strings.Contains(body, "<h1>Forbidden</h1>") {
				t.Fatalf("status %d\n%s", st, body)
			}
		})
	}
	if after := inst.Counts(t); !reflect.DeepEqual(before, after) {
		t.Fatalf("refused forms changed the database:\n%v\n%v", before, after)
	}
	// The session still works: the refusals did not log it out.
	if st, _, _ := c.Get(t, "/coops/bakery/admin"); st != http.StatusOK {
		t.Fatalf("dashboard after refusals: %d", st)
	}
}

// Logins: wrong passwords are refused alike for unknown members, the
// sixth failure in a row is rate limited even with the right password,
// the cookie is HttpOnly and SameSite=Lax, and logout ends the session.
func TestLoginAndLogout(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	AddMember(t, inst, "ana", "admin", password)
	AddMember(t, inst, "bo", "member", password)
	c := NewClient(t, inst)
	if st, loc, _ := c.Get(t, "/coops/bakery/admin"); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?") {
		t.Fatalf("dashboard without login: %d %s", st, loc)
	}
	_, _, page := c.Get(t, "/login")
	token := CSRF(t, page)
	try := func(user, pw string) (int, string) {
		st, _, body := c.Post(t, "/login", url.Values{"csrf": {token}, "coop": {"bakery"}, "username": {user}, "password": {pw}})
		return st, body
	}
	if st, body := try("nobody", "whatever12345"); st != http.StatusUnauthorized || !strings.Contains(body, "Wrong coop, username or password") {
		t.Fatalf("unknown member: %d", st)
	}
	for i := 0; i < 5; i++ {
		if st, _ := try("ana", "wrong password"); st != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, st)
		}
	}
	if st, body := try("ana", password); st != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed attempts") {
		t.Fatalf("after 5 failures: %d", st)
	}
	// Another member from the same address is not locked out.
	resp, err := c.PostForm(inst.URL+"/login", url.Values{"csrf": {token}, "coop": {"bakery"}, "username": {"bo"}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("bo's login: %d", resp.StatusCode)
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "coopfed_session" {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" || cookie.Secure {
		t.Fatalf("session cookie: %+v", cookie)
	}
	// A member (not admin) sees the page but may not open motions.
	_, _, dash := c.Get(t, "/coops/bakery/admin")
	csrf := CSRF(t, dash)
	if strings.Contains(dash, `id="motion-h"`) {
		t.Fatal("a member is offered the motion form")
	}
	if st, _, body := c.Post(t, "/coops/bakery/admin/motions", url.Values{"csrf": {csrf}, "title": {"x"}, "kind": {"consent"}, "closes_at": {soon}}); st != http.StatusForbidden || !strings.Contains(body, "Only the coop") {
		t.Fatalf("member opening a motion: %d", st)
	}
	if st, loc, _ := c.Post(t, "/logout", url.Values{"csrf": {csrf}}); st != http.StatusSeeOther || loc != "/" {
		t.Fatalf("logout: %d %s", st, loc)
	}
	if st, _, _ := c.Get(t, "/coops/bakery/admin"); st != http.StatusSeeOther {
		t.Fatalf("dashboard after logout: %d", st)
	}
	if n := inst.Counts(t)["sessions"]; n != 0 {
		t.Fatalf("%d sessions after logout", n)
	}
}

// Posting through the forms publishes, redirects (POST-redirect-GET) and
// shows the result on the public coop page; a vote changes the motion's
// chart.
func TestFormsPublish(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	AddMember(t, inst, "ana", "admin", password)
	c := NewClient(t, inst)
	csrf := c.Login(t, "bakery", "ana", password)
	post := func(path string, form url.Values) {
		t.Helper()
		form.Set("csrf", csrf)
		st, loc, body := c.Post(t, "/coops/bakery/admin"+path, form)
		if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/coops/bakery/admin?done=") {
			t.Fatalf("%s: %d %s\n%s", path, st, loc, body)
		}
	}
	post("/listings", url.Values{"kind": {"need"}, "title": {"Spelt grain"}, "category": {"grain"}, "quantity_value": {"50"}, "quantity_unit": {"kilogram"}, "place_name": {"Leeds"}, "latitude": {"53.8"}, "longitude": {"-1.55"}})
	post("/announcements", url.Values{"content": {"Open day on Saturday"}})
	post("/motions", url.Values{"title": {"Buy a new oven"}, "kind": {"choice"}, "options": {"Gas\nWood"}, "closes_at": {soon}, "threshold": {"50"}})
	_, _, page := c.Get(t, "/coops/bakery")
	for _, want := range []string{"Spelt grain", "Open day on Saturday", "Buy a new oven"} {
		if !strings.Contains(page, want) {
			t.Fatalf("coop page lacks %q:\n%s", want, page)
		}
	}
	var motions struct {
		Items []struct{ ID string } `json:"items"`
	}
	inst.API(t, http.MethodGet, "/api/v1/coops/bakery/motions", nil, &motions)
	iri := motions.Items[0].ID
	path := strings.TrimPrefix(iri, inst.URL)
	_, _, before := c.Get(t, path)
	if !strings.Contains(before, `data-option="Wood" data-votes="0"`) {
		t.Fatalf("chart before the vote:\n%s", before)
	}
	post("/vote", url.Values{"id": {iri}, "choice": {"Wood"}})
	_, _, after := c.Get(t, path)
	if !strings.Contains(after, `data-option="Wood" data-votes="1"`) || !strings.Contains(after, "<svg") {
		t.Fatalf("chart after the vote:\n%s", after)
	}
	// Voting twice is refused on the page, next to the motion.
	st, _, body := c.Post(t, "/coops/bakery/admin/vote", url.Values{"csrf": {csrf}, "id": {iri}, "choice": {"Gas"}})
	if st != http.StatusConflict || !strings.Contains(body, `class="problem"`) {
		t.Fatalf("second vote: %d\n%s", st, body)
	}
}
