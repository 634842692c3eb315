package handlers

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
	"github.com/gorilla/mux"
)

// Paths of the web interface's pages. They are not ActivityPub IRIs, so
// they live here rather than in federation/iri.go.
const (
	routeLogin     = "/login"
	routeLogout    = "/logout"
	routeDashboard = "/coops/{name}/admin"
)

// dashboardURL is the member pages' address for a coop.
func dashboardURL(coop string) string { return "/coops/" + url.PathEscape(coop) + "/admin" }

const (
	sessionCookie = "coopfed_session"
	// loginCookie carries the login form's CSRF secret before there is a
	// session (double submit): it stops another site from logging a
	// visitor in to an account of its choosing.
	loginCookie = "coopfed_login"
	sessionTTL  = 14 * 24 * time.Hour
	// maxFormBody bounds the body of every form POST.
	maxFormBody = 64 << 10
)

// Failed logins are limited per username and client address: after
// maxLoginFailures within loginWindow the pair must wait for the window to
// pass, so a password cannot be guessed online.
const (
	maxLoginFailures = 5
	loginWindow      = 15 * time.Minute
	maxLoginEntries  = 10000
)

// uiState is the web interface's in-memory state; its zero value is ready.
type uiState struct {
	mu       sync.Mutex
	failures map[string]*loginFailures
}

type loginFailures struct {
	n     int
	since time.Time
}

// maxAddressFailures bounds failed logins from one address, whatever the
// accounts tried, so that spraying many usernames is limited too.
const maxAddressFailures = 50

// loginBlocked reports whether key has used up its limit of failed
// attempts.
func (u *uiState) loginBlocked(key string, limit int, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	f := u.failures[key]
	if f == nil || now.Sub(f.since) > loginWindow {
		// Why: when the table is full of live counters a new key cannot
		// be counted; refusing it fails closed instead of letting an
		// attacker who filled the table guess without limit.
		return f == nil && len(u.failures) >= maxLoginEntries
	}
	return f.n >= limit
}

// loginFailed counts a failed attempt of key.
func (u *uiState) loginFailed(key string, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.failures == nil {
		u.failures = map[string]*loginFailures{}
	}
	if len(u.failures) >= maxLoginEntries {
		// Bound the memory an attacker can make us hold: drop the
		// entries whose window has passed. Live counters are never
		// dropped (that would reset a victim's lockout); while the table
		// stays full, new keys are refused by loginBlocked.
		for k, f := range u.failures {
			if now.Sub(f.since) > loginWindow {
				delete(u.failures, k)
			}
		}
		if _, ok := u.failures[key]; !ok && len(u.failures) >= maxLoginEntries {
			return
		}
	}
	f := u.failures[key]
	if f == nil || now.Sub(f.since) > loginWindow {
		f = &loginFailures{since: now}
		u.failures[key] = f
	}
	f.n++
}

// loginSucceeded forgets key's failures.
func (u *uiState) loginSucceeded(key string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.failures, key)
}

func init() {
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		r.HandleFunc(routeLogin, s.getLogin).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(routeLogin, s.postLogin).Methods(http.MethodPost)
		r.HandleFunc(routeLogout, s.postLogout).Methods(http.MethodPost)
	})
}

// secureCookies reports whether cookies get the Secure flag: whenever the
// instance is served over https, so a session never travels in clear.
func (s *Server) secureCookies() bool { return strings.HasPrefix(s.iris.Base(), "https://") }

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		// HttpOnly: no script reads the session; Lax: other sites'
		// forms do not send it on POST.
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(),
	})
}

// session returns the request's live session, or nil.
func (s *Server) session(r *http.Request) *store.Session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return nil
	}
	sess, err := s.store.SessionByToken(r.Context(), c.Value)
	if err != nil {
		return nil
	}
	return sess
}

// validCSRF reports whether the form's csrf field equals secret, in
// constant time.
func validCSRF(r *http.Request, secret string) bool {
	got := r.PostFormValue("csrf")
	return secret != "" && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(secret)) == 1
}

// parseForm reads a form body of bounded size.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		return &statusError{status: http.StatusRequestEntityTooLarge, msg: "the form could not be read: it may be too large"}
	}
	return nil
}

// page renders an HTML page with a status; unlike s.error it answers HTML
// to a POST too, since forms are filled in by people.
func (s *Server) page(w http.ResponseWriter, status int, name string, data map[string]any) {
	data["Site"] = s.iris.Domain()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := s.tmpl.Render(w, name, data); err != nil {
		s.log.Error("render", "page", name, "err", err)
	}
}

// uiError answers a browser with a readable error page.
func (s *Server) uiError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg, _ := errorStatus(err)
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	s.page(w, status, "error", map[string]any{"Status": status, "StatusText": http.StatusText(status), "Message": msg})
}

// errCSRF refuses a form that does not carry its session's secret: it may
// have been posted by another site in the visitor's name.
var errCSRF = &statusError{status: http.StatusForbidden, msg: "This form has expired or did not come from this site. Go back, reload the page and try again."}

// safeNext returns next when it is a path on this site, else "".
func safeNext(next string) string {
	// Why: an open redirect after login would let a link send a member
	// anywhere with our name on it; only local paths are followed.
	// Browsers drop tabs and newlines from URLs and read a backslash as a
	// slash, so "/\t/evil.example" would become "//evil.example": refuse
	// control characters and backslashes outright, then parse.
	if len(next) > 500 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return ""
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" {
		return ""
	}
	return next
}

func randomSecret() string {
	buf := make([]byte, 32)
	rand.Read(buf)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// loginCSRF returns the login form's secret, setting its cookie if needed.
func (s *Server) loginCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	v := randomSecret()
	s.setCookie(w, loginCookie, v, 3600)
	return v
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, status int, coop, username, next, problem string) {
	coops, err := s.store.Coops(r.Context())
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	names := make([]string, 0, len(coops))
	for _, c := range coops {
		names = append(names, c.Name)
	}
	if coop == "" && len(names) == 1 {
		coop = names[0]
	}
	s.page(w, status, "login", map[string]any{
		"Coops": names, "Coop": coop, "Username": username, "Next": next, "Problem": problem, "CSRF": s.loginCSRF(w, r),
	})
}

func (s *Server) getLogin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.loginPage(w, r, http.StatusOK, q.Get("coop"), "", safeNext(q.Get("next")), "")
}

// clientIP is the request's peer address without its port.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) postLogin(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.uiError(w, r, err)
		return
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || !validCSRF(r, c.Value) {
		s.uiError(w, r, errCSRF)
		return
	}
	coopName := strings.TrimSpace(r.PostFormValue("coop"))
	username := strings.ToLower(strings.TrimSpace(r.PostFormValue("username")))
	password := r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	now := time.Now()
	key := coopName + "\x00" + username + "\x00" + clientIP(r)
	addrKey := "\x00" + clientIP(r)
	if s.ui.loginBlocked(key, maxLoginFailures, now) || s.ui.loginBlocked(addrKey, maxAddressFailures, now) {
		s.loginPage(w, r, http.StatusTooManyRequests, coopName, username, next, "Too many failed attempts for this account from your address. Wait 15 minutes and try again.")
		return
	}
	if coopName == "" || username == "" || password == "" {
		s.loginPage(w, r, http.StatusUnprocessableEntity, coopName, username, next, "Give your coop, username and password.")
		return
	}
	coop, err := s.store.CoopByName(r.Context(), coopName)
	var m *coopfed.Member
	if err == nil {
		m, err = s.store.CheckPassword(r.Context(), coop.ID, username, password)
	}
	if code := coopfed.ErrorCode(err); code == coopfed.ENOTFOUND || code == coopfed.EUNAUTHORIZED {
		s.ui.loginFailed(key, now)
		s.ui.loginFailed(addrKey, now)
		s.loginPage(w, r, http.StatusUnauthorized, coopName, username, next, "Wrong coop, username or password.")
		return
	} else if err != nil {
		s.uiError(w, r, err)
		return
	}
	s.ui.loginSucceeded(key)
	var token string
	err = s.store.Update(r.Context(), func(tx *store.Tx) error {
		var err error
		token, _, err = tx.CreateSession(m, sessionTTL)
		return err
	})
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	s.setCookie(w, sessionCookie, token, int(sessionTTL/time.Second))
	s.setCookie(w, loginCookie, "", -1)
	if next == "" {
		next = dashboardURL(coop.Name)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) postLogout(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.uiError(w, r, err)
		return
	}
	sess := s.session(r)
	if sess == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if !validCSRF(r, sess.CSRF) {
		s.uiError(w, r, errCSRF)
		return
	}
	c, _ := r.Cookie(sessionCookie)
	if err := s.store.Update(r.Context(), func(tx *store.Tx) error { return tx.DeleteSession(c.Value) }); err != nil {
		s.uiError(w, r, err)
		return
	}
	s.setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// memberSession returns the session of a member of the coop named in the
// path. A visitor who is not logged in to that coop is sent to the login
// page (GET) or refused (POST); a POST must carry the session's CSRF
// secret.
func (s *Server) memberSession(w http.ResponseWriter, r *http.Request) *store.Session {
	name := mux.Vars(r)["name"]
	if _, err := s.store.CoopByName(r.Context(), name); err != nil {
		s.uiError(w, r, err)
		return nil
	}
	sess := s.session(r)
	if r.Method == http.MethodPost {
		if err := parseForm(w, r); err != nil {
			s.uiError(w, r, err)
			return nil
		}
	}
	if sess == nil || sess.Coop.Name != name {
		if r.Method == http.MethodPost {
			s.uiError(w, r, &statusError{status: http.StatusForbidden, msg: "Log in as a member of this coop to do this."})
			return nil
		}
		http.Redirect(w, r, routeLogin+"?"+url.Values{"coop": {name}, "next": {r.URL.Path}}.Encode(), http.StatusSeeOther)
		return nil
	}
	if r.Method == http.MethodPost && !validCSRF(r, sess.CSRF) {
		s.uiError(w, r, errCSRF)
		return nil
	}
	return sess
}
