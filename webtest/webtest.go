// Package webtest tests coopfed's web interface: its forms over plain HTTP
// and whole journeys in a real browser (Debian's chromium, driven by
// chromedp).
package webtest

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/fedtest"
	"github.com/coopfed/coopfed/store"
)

// AddMember makes a member of inst's first coop with a password.
func AddMember(t testing.TB, inst *fedtest.Instance, username, role, password string) {
	t.Helper()
	AddMemberOf(t, inst, inst.Coop, username, role, password)
}

// AddMemberOf makes a member of coop c of inst with a password.
func AddMemberOf(t testing.TB, inst *fedtest.Instance, c *coopfed.Coop, username, role, password string) {
	t.Helper()
	err := inst.Store.Update(context.Background(), func(tx *store.Tx) error {
		if err := tx.CreateMember(&coopfed.Member{CoopID: c.ID, Username: username, Role: role}); err != nil {
			return err
		}
		return tx.SetPassword(c.ID, username, password)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Client is a browser-like HTTP client: a cookie jar, no redirects
// followed, so tests see each 303.
type Client struct {
	*http.Client
	Base string
}

// NewClient returns a client of inst.
func NewClient(t testing.TB, inst *fedtest.Instance) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{Base: inst.URL, Client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Get fetches a page and returns its status, Location and body.
func (c *Client) Get(t testing.TB, path string) (int, string, string) {
	t.Helper()
	resp, err := c.Client.Get(c.Base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// Post posts a form and returns its status, Location and body.
func (c *Client) Post(t testing.TB, path string, form url.Values) (int, string, string) {
	t.Helper()
	resp, err := c.PostForm(c.Base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// CSRF returns the CSRF secret of the first form of a page.
func CSRF(t testing.TB, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf field in page:\n%s", body)
	}
	return m[1]
}

// Login logs the client in and returns the session's CSRF secret.
func (c *Client) Login(t testing.TB, coop, username, password string) string {
	t.Helper()
	_, _, body := c.Get(t, "/login")
	st, loc, body := c.Post(t, "/login", url.Values{"csrf": {CSRF(t, body)}, "coop": {coop}, "username": {username}, "password": {password}})
	if st != http.StatusSeeOther || !strings.HasSuffix(loc, "/coops/"+coop+"/admin") {
		t.Fatalf("login: %d %s\n%s", st, loc, body)
	}
	_, _, body = c.Get(t, loc)
	return CSRF(t, body)
}
