package webtest

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
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
	// Voting again changes the vote: the latest counts, once.
	post("/vote", url.Values{"id": {iri}, "choice": {"Gas"}})
	_, _, changed := c.Get(t, path)
	if !strings.Contains(changed, `data-option="Wood" data-votes="0"`) || !strings.Contains(changed, `data-option="Gas" data-votes="1"`) {
		t.Fatalf("chart after the change:\n%s", changed)
	}
	// A vote for no option of the motion is refused on the page, next to
	// the motion.
	st, _, body := c.Post(t, "/coops/bakery/admin/vote", url.Values{"csrf": {csrf}, "id": {iri}, "choice": {"Coal"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, `class="problem"`) {
		t.Fatalf("vote for no option: %d\n%s", st, body)
	}
}

// fieldError reports whether the form posting to action shows an error
// right after its input named field.
func fieldError(body, action, field string) bool {
	form := strings.Index(body, `action="`+action+`"`)
	if form < 0 {
		return false
	}
	i := strings.Index(body[form:], `name="`+field+`"`)
	if i < 0 {
		return false
	}
	i += form
	// The error stands between the input and the next field's label.
	end := strings.Index(body[i:], "<label")
	if end < 0 {
		end = len(body) - i
	}
	return strings.Contains(body[i:i+end], `class="field-error"`)
}

// tradeSetup is two coops of one instance, each with an admin logged in,
// and an offer of the bakery.
type tradeSetup struct {
	inst                 *fedtest.Instance
	ana, bo              *Client // bakery's and mill's admins
	anaCSRF, boCSRF      string
	offer, offerPath     string
	bakeryPath, millPath string
}

func newTradeSetup(t *testing.T) *tradeSetup {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	mill, err := federation.NewCoop(context.Background(), inst.Store, "mill", "The Mill")
	if err != nil {
		t.Fatal(err)
	}
	AddMember(t, inst, "ana", "admin", password)
	AddMemberOf(t, inst, mill, "bo", "admin", password)
	s := &tradeSetup{inst: inst, ana: NewClient(t, inst), bo: NewClient(t, inst), bakeryPath: "/coops/bakery/admin", millPath: "/coops/mill/admin"}
	s.anaCSRF = s.ana.Login(t, "bakery", "ana", password)
	s.boCSRF = s.bo.Login(t, "mill", "bo", password)
	st, _, body := s.ana.Post(t, s.bakeryPath+"/listings", url.Values{"csrf": {s.anaCSRF}, "kind": {"offer"}, "title": {"Rye flour"},
		"category": {"flour"}, "quantity_value": {"20"}, "quantity_unit": {"kilogram"}, "price_amount": {"30"}, "price_currency": {"EUR"}})
	if st != http.StatusSeeOther {
		t.Fatalf("offer: %d\n%s", st, body)
	}
	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	inst.API(t, http.MethodGet, "/api/v1/coops/bakery/listings", nil, &list)
	if len(list.Items) != 1 {
		t.Fatalf("listings: %+v", list)
	}
	s.offer = list.Items[0].ID
	s.offerPath = strings.TrimPrefix(s.offer, inst.URL)
	return s
}

// A member of another coop proposes a trade from the listing page; bad
// proposals come back with errors next to their fields and change
// nothing; the owner accepts on its trades page, both ledgers show the
// trade, the CSV downloads with the session, and both confirm delivery.
func TestTradeForms(t *testing.T) {
	s := newTradeSetup(t)
	// The listing page offers the form to the mill's member only.
	if _, _, page := s.bo.Get(t, s.offerPath); !strings.Contains(page, `id="propose"`) || !strings.Contains(page, `action="`+s.millPath+`/trades"`) {
		t.Fatalf("no proposal form for another coop's member:\n%s", page)
	}
	if _, _, page := s.ana.Get(t, s.offerPath); strings.Contains(page, `id="propose"`) {
		t.Fatal("the owner is offered to trade with itself")
	}
	if _, _, page := NewClient(t, s.inst).Get(t, s.offerPath); strings.Contains(page, `id="propose"`) {
		t.Fatal("a visitor is offered the proposal form")
	}
	// The market links to the proposal page.
	if _, _, page := s.bo.Get(t, "/market?q=rye"); !strings.Contains(page, `class="propose"`) {
		t.Fatalf("no proposal link in the market:\n%s", page)
	}
	good := url.Values{"listing": {s.offer}, "quantity_value": {"20"}, "quantity_unit": {"kilogram"}, "return_kind": {"price"},
		"return_amount": {"30"}, "return_currency": {"EUR"}, "message": {"Friday?"}}
	with := func(k, v string) url.Values {
		out := url.Values{}
		for key, vals := range good {
			out[key] = vals
		}
		out.Set(k, v)
		return out
	}
	action := s.millPath + "/trades"
	before := s.inst.Counts(t)
	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
		want  string
	}{
		{"no quantity", with("quantity_value", ""), "quantity_value", ""},
		{"a quantity that is not a number", with("quantity_value", "lots"), "quantity_value", ""},
		{"part of a whole lot", with("quantity_value", "5"), "quantity_value", "taken whole"},
		{"another unit", with("quantity_unit", "litre"), "quantity_unit", "kilogram"},
		{"a price without currency", with("return_currency", ""), "return_currency", ""},
		{"a price that is not a number", with("return_amount", "cheap"), "return_amount", ""},
		{"credits that are not a number", with("return_kind", "credits"), "", ""},
		{"an unknown kind of return", with("return_kind", "gold"), "return_kind", "nothing, a price or credits"},
		{"a message too long", with("message", strings.Repeat("x", 2001)), "message", "2000"},
		{"an unknown listing", with("listing", s.inst.URL+"/listings/none"), "", "no such listing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "credits that are not a number" {
				tc.form.Set("return_amount", "many")
				tc.field = "return_amount"
			}
			tc.form.Set("csrf", s.boCSRF)
			st, _, body := s.bo.Post(t, action, tc.form)
			if st < 400 || st >= 500 || !strings.Contains(body, "<main") {
				t.Fatalf("status %d, want a 4xx page\n%s", st, body)
			}
			if tc.field != "" && !fieldError(body, action, tc.field) {
				t.Fatalf("no error next to %s:\n%s", tc.field, body)
			}
			if tc.want != "" && !strings.Contains(body, tc.want) {
				t.Fatalf("page lacks %q:\n%s", tc.want, body)
			}
		})
	}
	// Forged or missing CSRF secrets, the other coop's session, and
	// strangers are refused.
	for _, tc := range []struct {
		name   string
		client *Client
		form   url.Values
	}{
		{"no token", s.bo, with("csrf", "")},
		{"a forged token", s.bo, with("csrf", "forged")},
		{"another coop's member", s.ana, with("csrf", s.anaCSRF)},
		{"not logged in", NewClient(t, s.inst), with("csrf", "x")},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			if st, _, body := tc.client.Post(t, action, tc.form); st != http.StatusForbidden || !strings.Contains(body, "<h1>Forbidden</h1>") {
				t.Fatalf("status %d\n%s", st, body)
			}
		})
	}
	if after := s.inst.Counts(t); !reflect.DeepEqual(before, after) {
		t.Fatalf("refused proposals changed the database:\n%v\n%v", before, after)
	}

	// The proposal goes through and shows on both sides.
	st, loc, body := s.bo.Post(t, action, with("csrf", s.boCSRF))
	if st != http.StatusSeeOther || loc != action+"?done=proposed" {
		t.Fatalf("proposal: %d %s\n%s", st, loc, body)
	}
	_, _, boPage := s.bo.Get(t, loc)
	if !strings.Contains(boPage, "Your proposal is sent") || !strings.Contains(boPage, "/withdraw") || !strings.Contains(boPage, "Rye flour") {
		t.Fatalf("mill's trades page:\n%s", boPage)
	}
	_, _, anaPage := s.ana.Get(t, s.bakeryPath+"/trades")
	m := regexp.MustCompile(`action="` + s.bakeryPath + `/trades/([0-9]+)/accept"`).FindStringSubmatch(anaPage)
	if m == nil || !strings.Contains(anaPage, "Friday?") || !strings.Contains(anaPage, "@mill@") {
		t.Fatalf("bakery's trades page has no proposal to accept:\n%s", anaPage)
	}
	trade := s.bakeryPath + "/trades/" + m[1]

	// Answers that do not validate, or lack their secret, change nothing.
	before = s.inst.Counts(t)
	for _, tc := range []struct {
		name, path  string
		client      *Client
		form        url.Values
		status      int
		field, want string
	}{
		{"counter without quantity", trade + "/counter", s.ana, url.Values{"csrf": {s.anaCSRF}, "quantity_unit": {"kilogram"}}, 422, "quantity_value", ""},
		{"counter with a bad price", trade + "/counter", s.ana, url.Values{"csrf": {s.anaCSRF}, "quantity_value": {"20"}, "quantity_unit": {"kilogram"}, "return_kind": {"price"}, "return_amount": {"x"}, "return_currency": {"EUR"}}, 422, "return_amount", ""},
		{"reject with a long reason", trade + "/reject", s.ana, url.Values{"csrf": {s.anaCSRF}, "reason": {strings.Repeat("n", 501)}}, 422, "reason", "500"},
		{"accept without token", trade + "/accept", s.ana, url.Values{}, 403, "", "Forbidden"},
		{"accept with a forged token", trade + "/accept", s.ana, url.Values{"csrf": {"forged"}}, 403, "", "Forbidden"},
		{"the proposer accepts its own offer", s.millPath + "/trades/" + m[1] + "/accept", s.bo, url.Values{"csrf": {s.boCSRF}}, 0, "", ""},
		{"an unknown trade", s.bakeryPath + "/trades/999999/accept", s.ana, url.Values{"csrf": {s.anaCSRF}}, 404, "", "Not Found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := tc.client.Post(t, tc.path, tc.form)
			if tc.status != 0 && st != tc.status || st < 400 || st >= 500 {
				t.Fatalf("status %d, want %d\n%s", st, tc.status, body)
			}
			if tc.field != "" && !fieldError(body, tc.path, tc.field) {
				t.Fatalf("no error next to %s:\n%s", tc.field, body)
			}
			if tc.want != "" && !strings.Contains(body, tc.want) {
				t.Fatalf("page lacks %q:\n%s", tc.want, body)
			}
		})
	}
	if after := s.inst.Counts(t); !reflect.DeepEqual(before, after) {
		t.Fatalf("refused answers changed the database:\n%v\n%v", before, after)
	}

	// The bakery accepts; both ledgers show the trade.
	if st, loc, body := s.ana.Post(t, trade+"/accept", url.Values{"csrf": {s.anaCSRF}}); st != http.StatusSeeOther || loc != s.bakeryPath+"/trades?done=accept" {
		t.Fatalf("accept: %d %s\n%s", st, loc, body)
	}
	for _, side := range []struct {
		c    *Client
		path string
	}{{s.ana, s.bakeryPath}, {s.bo, s.millPath}} {
		_, _, page := side.c.Get(t, side.path+"/trades")
		ledger := page[strings.Index(page, `id="ledger"`):]
		if !strings.Contains(ledger, "Rye flour") || !strings.Contains(ledger, "20 kg") || !strings.Contains(page, "/fulfil") {
			t.Fatalf("%s ledger:\n%s", side.path, page)
		}
	}
	resp, err := s.ana.Client.Get(s.inst.URL + s.bakeryPath + "/ledger.csv")
	if err != nil {
		t.Fatal(err)
	}
	csvBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.Contains(string(csvBody), "Rye flour") {
		t.Fatalf("ledger.csv: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), csvBody)
	}
	if st, loc, _ := NewClient(t, s.inst).Get(t, s.bakeryPath+"/ledger.csv"); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?") {
		t.Fatalf("ledger.csv without login: %d %s", st, loc)
	}
	if st, _, _ := s.bo.Get(t, s.bakeryPath+"/ledger.csv"); st != http.StatusSeeOther {
		t.Fatalf("ledger.csv of another coop: %d", st)
	}
	// Both confirm delivery: the trade is fulfilled.
	if st, _, body := s.ana.Post(t, trade+"/fulfil", url.Values{"csrf": {s.anaCSRF}}); st != http.StatusSeeOther {
		t.Fatalf("fulfil: %d\n%s", st, body)
	}
	if st, _, body := s.bo.Post(t, s.millPath+"/trades/"+m[1]+"/fulfil", url.Values{"csrf": {s.boCSRF}}); st != http.StatusSeeOther {
		t.Fatalf("fulfil: %d\n%s", st, body)
	}
	if _, _, page := s.bo.Get(t, s.millPath+"/trades"); !strings.Contains(page, "fulfilled") {
		t.Fatalf("not fulfilled:\n%s", page)
	}
}

// Members edit and close their coop's listings and admins delete its
// announcements from the members' page; bad edits come back with errors
// next to their fields, and nothing is changed by a refused form or on
// another coop's listing.
func TestListingAndAnnouncementForms(t *testing.T) {
	s := newTradeSetup(t)
	dash := s.bakeryPath
	st, _, body := s.ana.Post(t, dash+"/announcements", url.Values{"csrf": {s.anaCSRF}, "content": {"Open day & fair on Saturday"}})
	if st != http.StatusSeeOther {
		t.Fatalf("announcement: %d\n%s", st, body)
	}
	_, _, page := s.ana.Get(t, dash)
	m := regexp.MustCompile(`name="note" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "Open day &amp; fair on Saturday") || !strings.Contains(page, `href="`+dash+`/listings/edit?listing=`) {
		t.Fatalf("members' page lacks the announcement or the edit link:\n%s", page)
	}
	note := m[1]
	edit := dash + "/listings/edit"
	if st, _, page := s.ana.Get(t, edit+"?listing="+url.QueryEscape(s.offer)); st != http.StatusOK || !strings.Contains(page, `value="Rye flour"`) || !strings.Contains(page, `value="30"`) {
		t.Fatalf("edit page: %d\n%s", st, page)
	}
	good := url.Values{"listing": {s.offer}, "title": {"Rye flour, stoneground"}, "category": {"flour"}, "quantity_value": {"20"},
		"quantity_unit": {"kilogram"}, "price_amount": {"32"}, "price_currency": {"EUR"}}
	with := func(k, v string) url.Values {
		out := url.Values{"csrf": {s.anaCSRF}}
		for key, vals := range good {
			out[key] = vals
		}
		out.Set(k, v)
		return out
	}
	before := s.inst.Counts(t)
	for _, tc := range []struct {
		name, path string
		client     *Client
		form       url.Values
		status     int
		field      string
	}{
		{"edit without title", edit, s.ana, with("title", ""), 422, "title"},
		{"edit with a bad quantity", edit, s.ana, with("quantity_value", "lots"), 422, "quantity_value"},
		{"edit with a bad availability", edit, s.ana, with("available_value", "many"), 422, "available_value"},
		{"edit with a price but no currency", edit, s.ana, with("price_currency", ""), 422, "price_currency"},
		{"edit with a bad latitude", edit, s.ana, with("latitude", "north"), 422, "latitude"},
		{"edit with a bad date", edit, s.ana, with("valid_until", "soon"), 422, "valid_until"},
		{"edit with a bad category", edit, s.ana, with("category", "two words!"), 422, "category"},
		{"edit without token", edit, s.ana, with("csrf", ""), 403, ""},
		{"edit of another coop's listing", s.millPath + "/listings/edit", s.bo, url.Values{"csrf": {s.boCSRF}, "listing": {s.offer}, "title": {"Mine"}, "quantity_value": {"1"}, "quantity_unit": {"kilogram"}}, 404, ""},
		{"close without token", dash + "/listings/close", s.ana, url.Values{"listing": {s.offer}}, 403, ""},
		{"close of another coop's listing", s.millPath + "/listings/close", s.bo, url.Values{"csrf": {s.boCSRF}, "listing": {s.offer}}, 404, ""},
		{"close of nothing", dash + "/listings/close", s.ana, url.Values{"csrf": {s.anaCSRF}}, 422, ""},
		{"delete without token", dash + "/announcements/delete", s.ana, url.Values{"note": {note}}, 403, ""},
		{"delete of another coop's announcement", s.millPath + "/announcements/delete", s.bo, url.Values{"csrf": {s.boCSRF}, "note": {note}}, 404, ""},
		{"delete of a listing as an announcement", dash + "/announcements/delete", s.ana, url.Values{"csrf": {s.anaCSRF}, "note": {s.offer}}, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := tc.client.Post(t, tc.path, tc.form)
			if st != tc.status || !strings.Contains(body, "<main") {
				t.Fatalf("status %d, want %d\n%s", st, tc.status, body)
			}
			if tc.field != "" && !fieldError(body, tc.path, tc.field) {
				t.Fatalf("no error next to %s:\n%s", tc.field, body)
			}
		})
	}
	if after := s.inst.Counts(t); !reflect.DeepEqual(before, after) {
		t.Fatalf("refused forms changed the database:\n%v\n%v", before, after)
	}
	if _, _, page := s.ana.Get(t, s.offerPath); !strings.Contains(page, "Rye flour") || strings.Contains(page, "stoneground") {
		t.Fatalf("the listing changed:\n%s", page)
	}

	// A good edit, a close and a delete go through.
	if st, loc, body := s.ana.Post(t, edit, with("title", "Rye flour, stoneground")); st != http.StatusSeeOther || loc != dash+"?done=edited" {
		t.Fatalf("edit: %d %s\n%s", st, loc, body)
	}
	if _, _, page := NewClient(t, s.inst).Get(t, s.offerPath); !strings.Contains(page, "Rye flour, stoneground") || !strings.Contains(page, "32 EUR") {
		t.Fatalf("the edit is not on the listing page:\n%s", page)
	}
	if st, loc, _ := s.ana.Post(t, dash+"/listings/close", url.Values{"csrf": {s.anaCSRF}, "listing": {s.offer}}); st != http.StatusSeeOther || loc != dash+"?done=closed" {
		t.Fatalf("close: %d %s", st, loc)
	}
	if _, _, page := NewClient(t, s.inst).Get(t, "/coops/bakery"); strings.Contains(page, "stoneground") {
		t.Fatalf("a closed listing on the coop page:\n%s", page)
	}
	if st, _, body := s.ana.Post(t, dash+"/listings/close", url.Values{"csrf": {s.anaCSRF}, "listing": {s.offer}}); st != http.StatusConflict || !strings.Contains(body, "already closed") {
		t.Fatalf("second close: %d\n%s", st, body)
	}
	// A plain member may not delete announcements.
	AddMember(t, s.inst, "cy", "member", password)
	cy := NewClient(t, s.inst)
	cyCSRF := cy.Login(t, "bakery", "cy", password)
	if st, _, body := cy.Post(t, dash+"/announcements/delete", url.Values{"csrf": {cyCSRF}, "note": {note}}); st != http.StatusForbidden || !strings.Contains(body, "Only the coop") {
		t.Fatalf("member deleting: %d\n%s", st, body)
	}
	if st, loc, _ := s.ana.Post(t, dash+"/announcements/delete", url.Values{"csrf": {s.anaCSRF}, "note": {note}}); st != http.StatusSeeOther || loc != dash+"?done=deleted" {
		t.Fatalf("delete: %d %s", st, loc)
	}
	if st, _, _ := NewClient(t, s.inst).Get(t, strings.TrimPrefix(note, s.inst.URL)); st != http.StatusGone {
		t.Fatalf("deleted announcement: %d", st)
	}
}

// The admins' page manages members, roles, linked accounts and blocks;
// every form refuses bad input next to its field and changes nothing, an
// admin cannot demote or remove themselves, members may not use it, and
// a coop unfollows another from its members' page.
func TestManageForms(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	AddMember(t, inst, "ana", "admin", password)
	AddMember(t, inst, "cy", "member", password)
	ana, cy := NewClient(t, inst), NewClient(t, inst)
	csrf := ana.Login(t, "bakery", "ana", password)
	cyCSRF := cy.Login(t, "bakery", "cy", password)
	manage := "/coops/bakery/admin/manage"
	if st, _, page := ana.Get(t, manage); st != http.StatusOK || !strings.Contains(page, `id="member-cy"`) {
		t.Fatalf("admin page: %d\n%s", st, page)
	}
	if st, _, _ := cy.Get(t, manage); st != http.StatusForbidden {
		t.Fatalf("a member sees the admin page: %d", st)
	}
	form := func(kv ...string) url.Values {
		v := url.Values{"csrf": {csrf}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	before := inst.Counts(t)
	for _, tc := range []struct {
		name, path string
		client     *Client
		form       url.Values
		status     int
		field      string // the input whose error must follow it
		member     string // or: the member whose form carries the error
		want       string
	}{
		{"add with a bad username", "/members/add", ana, form("username", "Bad Name!", "role", "member"), 422, "username", "", ""},
		{"add with an unknown role", "/members/add", ana, form("username", "dee", "role", "owner"), 422, "role", "", ""},
		{"add with a bad linked account", "/members/add", ana, form("username", "dee", "role", "member", "actors", "ftp://social.example/dee"), 422, "actors", "", ""},
		{"add with a short password", "/members/add", ana, form("username", "dee", "role", "member", "password", "abc"), 422, "password", "", ""},
		{"add a taken username", "/members/add", ana, form("username", "cy", "role", "member"), 409, "", "", "already exists"},
		{"change to an unknown role", "/members/update", ana, form("username", "cy", "role", "owner"), 422, "", "cy", ""},
		{"link a bad account", "/members/update", ana, form("username", "cy", "role", "member", "actors", "ftp://x/y"), 422, "", "cy", ""},
		{"demote yourself", "/members/update", ana, form("username", "ana", "role", "member"), 409, "", "", "ask another admin"},
		{"remove yourself", "/members/remove", ana, form("username", "ana"), 409, "", "", "ask another admin"},
		{"remove nobody", "/members/remove", ana, form("username", "zed"), 404, "", "", ""},
		{"block no domain", "/blocks/domain", ana, form("domain", ""), 422, "domain", "", ""},
		{"block a malformed domain", "/blocks/domain", ana, form("domain", "two words"), 422, "domain", "", ""},
		{"block our own domain", "/blocks/domain", ana, form("domain", "127.0.0.1"), 422, "domain", "", "own domain"},
		{"block with a long reason", "/blocks/domain", ana, form("domain", "spam.example", "reason", strings.Repeat("r", 501)), 422, "reason", "", ""},
		{"block no account", "/blocks/actor", ana, form("actor", ""), 422, "actor", "", ""},
		{"block a malformed account", "/blocks/actor", ana, form("actor", "ftp://x/y"), 422, "actor", "", ""},
		{"block one of our coops", "/blocks/actor", ana, form("actor", inst.ActorIRI()), 422, "actor", "", "on this instance"},
		{"add without token", "/members/add", ana, url.Values{"username": {"dee"}}, 403, "", "", "Forbidden"},
		{"add with a forged token", "/members/add", ana, form("csrf", "forged", "username", "dee"), 403, "", "", "Forbidden"},
		{"a member adds", "/members/add", cy, url.Values{"csrf": {cyCSRF}, "username": {"dee"}}, 403, "", "", "Only the coop"},
		{"a member blocks", "/blocks/domain", cy, url.Values{"csrf": {cyCSRF}, "domain": {"spam.example"}}, 403, "", "", "Only the coop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := tc.client.Post(t, manage+tc.path, tc.form)
			if st != tc.status || !strings.Contains(body, "<main") {
				t.Fatalf("status %d, want %d\n%s", st, tc.status, body)
			}
			if tc.field != "" && !fieldError(body, manage+tc.path, tc.field) {
				t.Fatalf("no error next to %s:\n%s", tc.field, body)
			}
			if tc.member != "" {
				i := strings.Index(body, `id="member-`+tc.member+`"`)
				end := strings.Index(body[max(i, 0):], "</article>")
				if i < 0 || end < 0 || !strings.Contains(body[i:i+end], `class="field-error"`) {
					t.Fatalf("no error in %s's form:\n%s", tc.member, body)
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

	ok := func(path string, v url.Values, done string) {
		t.Helper()
		if st, loc, body := ana.Post(t, manage+path, v); st != http.StatusSeeOther || loc != manage+"?done="+done {
			t.Fatalf("%s: %d %s\n%s", path, st, loc, body)
		}
	}
	ok("/members/add", form("username", "dee", "role", "member", "actors", "https://social.example/users/dee", "password", password), "added")
	NewClient(t, inst).Login(t, "bakery", "dee", password)
	ok("/members/update", form("username", "cy", "role", "admin", "actors", "https://social.example/users/cy\nhttps://other.example/@cy"), "updated")
	ok("/members/remove", form("username", "dee"), "removed")
	var members struct {
		Items []struct {
			Username string   `json:"username"`
			Role     string   `json:"role"`
			Actors   []string `json:"actors"`
		} `json:"items"`
	}
	inst.API(t, http.MethodGet, "/api/v1/coops/bakery/members", nil, &members)
	if len(members.Items) != 2 || members.Items[1].Username != "cy" || members.Items[1].Role != "admin" || len(members.Items[1].Actors) != 2 {
		t.Fatalf("members after the forms: %+v", members.Items)
	}
	ok("/blocks/domain", form("domain", "https://Spam.Example/users/x", "reason", "spam"), "domain-blocked")
	ok("/blocks/actor", form("actor", "https://social.example/users/troll", "reason", "abuse"), "actor-blocked")
	_, _, page := ana.Get(t, manage)
	for _, want := range []string{"spam.example", "(spam)", "https://social.example/users/troll", "(abuse)"} {
		if !strings.Contains(page, want) {
			t.Fatalf("admin page lacks %q:\n%s", want, page)
		}
	}
	if blocked, err := inst.Store.DomainBlocked(context.Background(), "spam.example"); err != nil || !blocked {
		t.Fatalf("spam.example not blocked: %v %v", blocked, err)
	}
	ok("/blocks/domain/remove", form("domain", "spam.example"), "domain-lifted")
	ok("/blocks/actor/remove", form("actor", "https://social.example/users/troll"), "actor-lifted")
	if blocked, _ := inst.Store.ActorBlocked(context.Background(), "https://social.example/users/troll"); blocked {
		t.Fatal("the actor block was not lifted")
	}

	// A coop of another instance follows the bakery, then unfollows it
	// from its members' page.
	mill := fedtest.Start(t, fedtest.Options{Coop: "mill"})
	AddMember(t, mill, "bo", "admin", password)
	mill.Follow(t, inst)
	bo := NewClient(t, mill)
	boCSRF := bo.Login(t, "mill", "bo", password)
	if st, _, _ := bo.Post(t, "/coops/mill/admin/unfollow", url.Values{"actor": {inst.ActorIRI()}}); st != http.StatusForbidden {
		t.Fatalf("unfollow without token: %d", st)
	}
	if st, loc, body := bo.Post(t, "/coops/mill/admin/unfollow", url.Values{"csrf": {boCSRF}, "actor": {inst.ActorIRI()}}); st != http.StatusSeeOther || loc != "/coops/mill/admin?done=unfollowed" {
		t.Fatalf("unfollow: %d %s\n%s", st, loc, body)
	}
	fedtest.Eventually(t, 10*time.Second, "the bakery loses its follower", func() bool {
		n, err := inst.Store.CountFollowers(context.Background(), inst.Coop.ID, coopfed.FollowAccepted)
		return err == nil && n == 0
	})
}
