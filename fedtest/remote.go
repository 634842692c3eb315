package fedtest

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coopfed/coopfed/federation/httpsign"
)

// Remote is a fake fediverse server on 127.0.0.1 that behaves like
// Mastodon: it serves actors and WebFinger, signs what its actors send
// (hs2019 or rsa-sha256, Mastodon's header list) and verifies the
// signature of everything posted to its inboxes by fetching the sender's
// key, as a real server would.
type Remote struct {
	t      testing.TB
	Server *httptest.Server
	URL    string
	Host   string

	// RequireSignedFetch makes actor and object GETs without a valid
	// signature answer 401, as GoToSocial and Mastodon's secure mode do.
	RequireSignedFetch bool

	mu          sync.Mutex
	actors      map[string]*Actor
	byPath      map[string]*Actor // actors served at paths of their own
	docs        map[string][]byte
	redirects   map[string]string // GETs of a path answered 302 to a URL (SetRedirect)
	received    []Received
	inboxStatus int
	types       map[string]string    // Content-Type served at a path instead of application/activity+json
	webfingers  map[string][2]string // WebFinger answers set by SetWebFinger: self link and subject, by resource
	unsigned    []string             // paths fetched without a signature
}

// Received is one POST to one of the remote's inboxes.
type Received struct {
	Path         string
	Header       http.Header
	Body         []byte
	Activity     map[string]any
	KeyID        string
	SignatureErr error // nil when the signature verified
}

// Type returns the received activity's type.
func (r Received) Type() string { s, _ := r.Activity["type"].(string); return s }

// Actor is an account on a Remote.
type Actor struct {
	Remote *Remote
	Name   string
	IRI    string
	KeyID  string
	Key    *rsa.PrivateKey
	// Algorithm is written in the Signature header: "hs2019" (Mastodon
	// since 4.x) or "rsa-sha256".
	Algorithm string
	// SharedInbox, when true (default), advertises the remote's /inbox.
	SharedInbox bool
	// Type is the actor's type: Person by default; Application for an
	// instance actor or a relay.
	Type string
	// Attachment, when set, is the document's attachment (profile fields,
	// FEP-0ea0 payment links).
	Attachment []any
}

// NewRemote starts a fake server; it stops when the test ends.
func NewRemote(t testing.TB) *Remote {
	t.Helper()
	r := &Remote{t: t, actors: map[string]*Actor{}, byPath: map[string]*Actor{}, docs: map[string][]byte{}, inboxStatus: http.StatusAccepted}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.Server.Listener.Close()
	r.Server.Listener = l
	r.Server.Start()
	r.URL = r.Server.URL
	r.Host = strings.TrimPrefix(r.URL, "http://")
	t.Cleanup(r.Server.Close)
	return r
}

// AddActor creates an actor with fixed key number n (1 to 4; keys 1 to 3
// are RSA-2048 as Mastodon's, 4 is RSA-1024 for tests that sign thousands
// of requests).
func (r *Remote) AddActor(name string, n int) *Actor {
	key, err := httpsign.ParsePrivateKeyPEM(fixedKeyPEM(n))
	if err != nil {
		r.t.Fatal(err)
	}
	a := &Actor{Remote: r, Name: name, IRI: r.URL + "/users/" + name, Key: key, Algorithm: "hs2019", SharedInbox: true, Type: "Person"}
	a.KeyID = a.IRI + "#main-key"
	r.mu.Lock()
	r.actors[name] = a
	r.mu.Unlock()
	return a
}

// AddActorAt creates an actor of type typ served at path (such as a
// Mastodon instance actor, an Application at /actor, or a LitePub relay at
// /relay), with fixed key number n.
func (r *Remote) AddActorAt(path, name string, n int, typ string) *Actor {
	key, err := httpsign.ParsePrivateKeyPEM(fixedKeyPEM(n))
	if err != nil {
		r.t.Fatal(err)
	}
	a := &Actor{Remote: r, Name: name, IRI: r.URL + path, Key: key, Algorithm: "hs2019", SharedInbox: true, Type: typ}
	a.KeyID = a.IRI + "#main-key"
	r.mu.Lock()
	r.byPath[path] = a
	r.mu.Unlock()
	return a
}

// SetDoc serves body at path (for objects the instance may fetch).
func (r *Remote) SetDoc(path string, body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.docs[path] = body
}

// SetRedirect makes GETs of path answer 302 Found to location (a URL,
// possibly on another server), as a server moving or hijacking a document
// does; an empty location removes it.
func (r *Remote) SetRedirect(path, location string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.redirects == nil {
		r.redirects = map[string]string{}
	}
	if location == "" {
		delete(r.redirects, path)
		return
	}
	r.redirects[path] = location
}

// SetContentType makes GETs of path answer with Content-Type ct instead of
// application/activity+json (a file served as HTML, plain JSON...).
func (r *Remote) SetContentType(path, ct string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.types == nil {
		r.types = map[string]string{}
	}
	r.types[path] = ct
}

// SetInboxStatus sets the status the inboxes answer (default 202).
func (r *Remote) SetInboxStatus(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inboxStatus = code
}

// Received returns what the inboxes got so far.
func (r *Remote) Received() []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Received(nil), r.received...)
}

// ReceivedOfType returns the received activities of one type.
func (r *Remote) ReceivedOfType(typ string) []Received {
	var out []Received
	for _, x := range r.Received() {
		if x.Type() == typ {
			out = append(out, x)
		}
	}
	return out
}

// UnsignedFetches lists paths that were fetched without a signature.
func (r *Remote) UnsignedFetches() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.unsigned...)
}

// Inbox returns the actor's personal inbox URL.
func (a *Actor) Inbox() string { return a.IRI + "/inbox" }

// Document returns the actor document, shaped as Mastodon 4 serves it.
func (a *Actor) Document() map[string]any {
	pub, _ := httpsign.EncodePublicKeyPEM(&a.Key.PublicKey)
	doc := map[string]any{
		"@context": []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1",
			map[string]any{"manuallyApprovesFollowers": "as:manuallyApprovesFollowers", "toot": "http://joinmastodon.org/ns#", "discoverable": "toot:discoverable"}},
		"id":                        a.IRI,
		"type":                      a.Type,
		"following":                 a.IRI + "/following",
		"followers":                 a.IRI + "/followers",
		"inbox":                     a.Inbox(),
		"outbox":                    a.IRI + "/outbox",
		"preferredUsername":         a.Name,
		"name":                      strings.ToUpper(a.Name[:1]) + a.Name[1:],
		"summary":                   "<p>Member of a coop.</p>",
		"url":                       a.Remote.URL + "/@" + a.Name,
		"manuallyApprovesFollowers": false,
		"discoverable":              true,
		"published":                 "2024-01-01T00:00:00Z",
		"publicKey":                 map[string]any{"id": a.KeyID, "owner": a.IRI, "publicKeyPem": pub},
	}
	if a.SharedInbox {
		doc["endpoints"] = map[string]any{"sharedInbox": a.Remote.URL + "/inbox"}
	}
	if a.Attachment != nil {
		doc["attachment"] = a.Attachment
	}
	return doc
}

// Sign signs req as this actor would: for a POST the Digest and Mastodon's
// header list, for a GET (request-target) host date.
func (a *Actor) Sign(req *http.Request, body []byte) {
	a.Remote.t.Helper()
	s, err := httpsign.NewSigner(a.KeyID, a.Key)
	if err != nil {
		a.Remote.t.Fatal(err)
	}
	if req.Method == http.MethodGet {
		err = s.SignGet(req, time.Now())
	} else {
		err = s.SignPost(req, body, time.Now())
	}
	if err != nil {
		a.Remote.t.Fatal(err)
	}
	if a.Algorithm != "" {
		// The algorithm parameter is not part of the signed string;
		// Mastodon writes hs2019 since 4.x.
		sig := req.Header.Get("Signature")
		sig = strings.Replace(sig, `algorithm="rsa-sha256"`, `algorithm="`+a.Algorithm+`"`, 1)
		req.Header.Set("Signature", sig)
	}
}

// NewPost returns a signed POST of activity to url, ready to send.
func (a *Actor) NewPost(url string, activity any) (*http.Request, []byte) {
	a.Remote.t.Helper()
	body, err := json.Marshal(activity)
	if err != nil {
		a.Remote.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		a.Remote.t.Fatal(err)
	}
	req.Header.Set("Content-Type", `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`)
	a.Sign(req, body)
	return req, body
}

// Post sends a signed activity to url and returns the status and body.
func (a *Actor) Post(url string, activity any) (int, string) {
	a.Remote.t.Helper()
	req, _ := a.NewPost(url, activity)
	return Do(a.Remote.t, req)
}

// Do sends a request and returns the status and body.
func Do(t testing.TB, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// ID returns a fresh activity id on the remote for this actor.
func (a *Actor) ID(kind string) string {
	return fmt.Sprintf("%s/%s/%d", a.IRI, kind, time.Now().UnixNano())
}

func (r *Remote) serve(w http.ResponseWriter, req *http.Request) {
	path := req.URL.Path
	switch {
	case req.Method == http.MethodPost && (path == "/inbox" || strings.HasSuffix(path, "/inbox")):
		r.postInbox(w, req)
		return
	case path == "/.well-known/webfinger":
		r.webfinger(w, req)
		return
	case req.Method != http.MethodGet:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if req.Header.Get("Signature") == "" {
		r.mu.Lock()
		r.unsigned = append(r.unsigned, path)
		r.mu.Unlock()
		if r.RequireSignedFetch {
			http.Error(w, "signature required", http.StatusUnauthorized)
			return
		}
	} else if r.RequireSignedFetch {
		if _, err := r.verify(req, nil); err != nil {
			http.Error(w, "bad signature: "+err.Error(), http.StatusUnauthorized)
			return
		}
	}
	r.mu.Lock()
	loc, redirect := r.redirects[path]
	doc, ok := r.docs[path]
	actor := r.byPath[path]
	if name, found := strings.CutPrefix(path, "/users/"); found {
		actor = r.actors[name]
	}
	ct, custom := r.types[path]
	r.mu.Unlock()
	if !custom {
		ct = "application/activity+json"
	}
	switch {
	case redirect:
		http.Redirect(w, req, loc, http.StatusFound)
	case ok:
		w.Header().Set("Content-Type", ct)
		w.Write(doc)
	case actor != nil:
		w.Header().Set("Content-Type", ct)
		json.NewEncoder(w).Encode(actor.Document())
	default:
		http.NotFound(w, req)
	}
}

// SetWebFinger makes the remote answer WebFinger for resource (an
// acct: URI) with the given self link and subject, as a server delegating
// its handles to another host (or lying about them) does.
func (r *Remote) SetWebFinger(resource, href, subject string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.webfingers == nil {
		r.webfingers = map[string][2]string{}
	}
	r.webfingers[resource] = [2]string{href, subject}
}

func (r *Remote) webfinger(w http.ResponseWriter, req *http.Request) {
	res := req.URL.Query().Get("resource")
	name, host, _ := strings.Cut(strings.TrimPrefix(res, "acct:"), "@")
	r.mu.Lock()
	a := r.actors[name]
	set, isSet := r.webfingers[res]
	r.mu.Unlock()
	if isSet {
		w.Header().Set("Content-Type", "application/jrd+json")
		json.NewEncoder(w).Encode(map[string]any{
			"subject": set[1],
			"links":   []map[string]any{{"rel": "self", "type": "application/activity+json", "href": set[0]}},
		})
		return
	}
	if a == nil || host != r.Host {
		http.NotFound(w, req)
		return
	}
	w.Header().Set("Content-Type", "application/jrd+json")
	json.NewEncoder(w).Encode(map[string]any{
		"subject": "acct:" + name + "@" + r.Host,
		"links":   []map[string]any{{"rel": "self", "type": "application/activity+json", "href": a.IRI}},
	})
}

// verify checks a request's signature against the key its keyId names,
// fetched from the sender like a real server (unsigned GET: our instance
// actor and coop actors answer unsigned).
func (r *Remote) verify(req *http.Request, body []byte) (string, error) {
	params, err := httpsign.Check(req, body, time.Now(), time.Hour)
	if err != nil {
		return "", err
	}
	keyURL, _, _ := strings.Cut(params.KeyID, "#")
	greq, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, keyURL, nil)
	greq.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(greq)
	if err != nil {
		return params.KeyID, err
	}
	defer resp.Body.Close()
	var doc struct {
		ID        string `json:"id"`
		PublicKey struct {
			ID           string `json:"id"`
			Owner        string `json:"owner"`
			PublicKeyPem string `json:"publicKeyPem"`
		} `json:"publicKey"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return params.KeyID, err
	}
	if doc.PublicKey.ID != params.KeyID || doc.PublicKey.Owner != doc.ID {
		return params.KeyID, fmt.Errorf("key %s not found in %s", params.KeyID, keyURL)
	}
	pub, err := httpsign.ParsePublicKeyPEM(doc.PublicKey.PublicKeyPem)
	if err != nil {
		return params.KeyID, err
	}
	return params.KeyID, params.Verify(req, pub)
}

func (r *Remote) postInbox(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	keyID, err := r.verify(req, body)
	rec := Received{Path: req.URL.Path, Header: req.Header.Clone(), Body: body, KeyID: keyID, SignatureErr: err}
	json.Unmarshal(body, &rec.Activity)
	r.mu.Lock()
	r.received = append(r.received, rec)
	status := r.inboxStatus
	r.mu.Unlock()
	if err != nil {
		http.Error(w, "signature: "+err.Error(), http.StatusUnauthorized)
		return
	}
	w.WriteHeader(status)
}

// WaitFor waits until the remote has received n activities of a type and
// returns them.
func (r *Remote) WaitFor(typ string, n int) []Received {
	r.t.Helper()
	var got []Received
	Eventually(r.t, 15*time.Second, fmt.Sprintf("%d %s at %s", n, typ, r.Host), func() bool {
		got = r.ReceivedOfType(typ)
		return len(got) >= n
	})
	return got
}
