package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coopfed/coopfed/federation/httpsign"
)

// maxHosts bounds the fake hosts: one listener (one file) each, on
// 127.0.a.b with a from 1 to 64 and b from 1 to 254.
const maxHosts = 64 * 254

// fakeKey is an RSA key shared by several fake actors.
type fakeKey struct {
	priv   *rsa.PrivateKey
	pubPEM string
}

// generateKeys makes n RSA-2048 keys on all cores (about 60 ms each).
func generateKeys(n int) ([]*fakeKey, error) {
	keys := make([]*fakeKey, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				errs[i] = err
				return
			}
			k.Precompute()
			pem, err := httpsign.EncodePublicKeyPEM(&k.PublicKey)
			keys[i], errs[i] = &fakeKey{priv: k, pubPEM: pem}, err
		}()
	}
	wg.Wait()
	return keys, errors.Join(errs...)
}

// fakeActor is an account on a fake host.
type fakeActor struct {
	host   *fakeHost
	index  int // in fakeNet.actors
	name   string
	iri    string
	keyID  string
	key    *fakeKey
	shared bool // advertises the host's shared inbox

	followID string // id of the Follow it sends (fan-out) or receives (inbox)
}

func (a *fakeActor) inbox() string { return a.iri + "/inbox" }

// document is the actor shaped as Mastodon 4 serves it.
func (a *fakeActor) document() map[string]any {
	doc := map[string]any{
		"@context": []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1",
			map[string]any{"manuallyApprovesFollowers": "as:manuallyApprovesFollowers", "toot": "http://joinmastodon.org/ns#", "discoverable": "toot:discoverable"}},
		"id":                        a.iri,
		"type":                      "Person",
		"following":                 a.iri + "/following",
		"followers":                 a.iri + "/followers",
		"inbox":                     a.inbox(),
		"outbox":                    a.iri + "/outbox",
		"preferredUsername":         a.name,
		"name":                      "Load " + a.name,
		"summary":                   "<p>Simulated member of a coop.</p>",
		"url":                       a.host.url + "/@" + a.name,
		"manuallyApprovesFollowers": false,
		"discoverable":              true,
		"published":                 "2024-01-01T00:00:00Z",
		"publicKey":                 map[string]any{"id": a.keyID, "owner": a.iri, "publicKeyPem": a.key.pubPEM},
	}
	if a.shared {
		doc["endpoints"] = map[string]any{"sharedInbox": a.host.url + "/inbox"}
	}
	return doc
}

// fakeHost is one fake server: one loopback address, one listener.
type fakeHost struct {
	index    int
	hostport string // 127.0.a.b:PORT, the Host header and IRI authority
	url      string // http://127.0.a.b:PORT
	actors   map[string]*fakeActor
}

// received is one POST to a fake inbox, decoded.
type received struct {
	host     *fakeHost
	actor    *fakeActor // nil for the host's shared inbox
	typ      string
	id       string
	from     string // the activity's actor
	objectID string // the object's id, embedded or a bare IRI
	object   json.RawMessage
	at       time.Time
}

// fakeNet is the set of fake hosts of one scenario. Every listener is on a
// 127.0.0.0/8 address and all share one port.
type fakeNet struct {
	hosts  []*fakeHost
	actors []*fakeActor
	byHost map[string]*fakeHost
	srv    *http.Server
	sink   func(*received)

	verifyKey   *rsa.PublicKey // the coop's key: what deliveries are signed with
	verifyKeyID string
	verifyEvery int64

	posts       atomic.Int64 // POSTs to inboxes
	gets        atomic.Int64 // actor and WebFinger GETs answered
	bad         atomic.Int64 // requests to unknown hosts or paths
	digestFail  atomic.Int64 // POSTs whose Digest did not match the body
	sigChecked  atomic.Int64 // signatures verified (a sample)
	sigFail     atomic.Int64
	firstSigErr atomic.Value // string
	firstBad    atomic.Value // string: method, host and path of the first bad request
}

// badRequest counts a request to no known host, actor or route.
func (n *fakeNet) badRequest(r *http.Request) {
	n.bad.Add(1)
	n.firstBad.CompareAndSwap(nil, r.Method+" "+r.Host+r.URL.RequestURI())
}

// hostAddr returns the loopback address of host i: 127.0.1.1, 127.0.1.2
// ... 127.0.1.254, 127.0.2.1 ...
func hostAddr(i int) string {
	return fmt.Sprintf("127.0.%d.%d", 1+i/254, 1+i%254)
}

// netSpec says how many hosts and actors to serve and how.
type netSpec struct {
	hosts       int
	actors      int
	keys        []*fakeKey
	shared      bool // actors advertise their host's shared inbox
	namePrefix  string
	coop        *coopDoc
	verifyEvery int
	sink        func(*received)
}

// newFakeNet starts the hosts; actor i lives on host i%hosts (so
// consecutive actors are on different hosts, as a real coop's followers
// are) and uses key i%len(keys). Close stops everything.
func newFakeNet(spec netSpec) (*fakeNet, error) {
	if spec.hosts < 1 || spec.hosts > maxHosts {
		return nil, fmt.Errorf("fake hosts: %d out of range", spec.hosts)
	}
	n := &fakeNet{byHost: map[string]*fakeHost{}, sink: spec.sink, verifyEvery: int64(spec.verifyEvery)}
	if spec.coop != nil {
		n.verifyKey, n.verifyKeyID = spec.coop.Key, spec.coop.KeyID
	}
	listeners, port, err := listenShared(spec.hosts)
	if err != nil {
		return nil, err
	}
	for i := range spec.hosts {
		hp := hostAddr(i) + ":" + strconv.Itoa(port)
		h := &fakeHost{index: i, hostport: hp, url: "http://" + hp, actors: map[string]*fakeActor{}}
		n.hosts = append(n.hosts, h)
		n.byHost[hp] = h
	}
	for i := range spec.actors {
		h := n.hosts[i%spec.hosts]
		name := fmt.Sprintf("%s%d", spec.namePrefix, i)
		a := &fakeActor{host: h, index: i, name: name, iri: h.url + "/users/" + name, key: spec.keys[i%len(spec.keys)], shared: spec.shared}
		a.keyID = a.iri + "#main-key"
		h.actors[name] = a
		n.actors = append(n.actors, a)
	}
	n.srv = &http.Server{
		Handler:           n,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	for _, l := range listeners {
		go n.srv.Serve(l)
	}
	return n, nil
}

// listenShared opens one listener per host address, all on one port
// (tried a few times in case the port is taken on some address).
func listenShared(hosts int) ([]net.Listener, int, error) {
	var lastErr error
	for range 8 {
		first, err := net.Listen("tcp", hostAddr(0)+":0")
		if err != nil {
			return nil, 0, fmt.Errorf("listening on %s (is 127.0.0.0/8 routed to lo?): %w", hostAddr(0), err)
		}
		port := first.Addr().(*net.TCPAddr).Port
		ls := []net.Listener{first}
		for i := 1; i < hosts; i++ {
			l, err := net.Listen("tcp", hostAddr(i)+":"+strconv.Itoa(port))
			if err != nil {
				lastErr = err
				break
			}
			ls = append(ls, l)
		}
		if len(ls) == hosts {
			return ls, port, nil
		}
		for _, l := range ls {
			l.Close()
		}
		if !errors.Is(lastErr, syscall.EADDRINUSE) {
			return nil, 0, lastErr
		}
	}
	return nil, 0, fmt.Errorf("no port free on all %d fake host addresses: %w", hosts, lastErr)
}

// Close stops the listeners and closes every connection.
func (n *fakeNet) Close() error { return n.srv.Close() }

// ServeHTTP dispatches on the Host header (the name the server signed).
func (n *fakeNet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := n.byHost[r.Host]
	if h == nil {
		n.badRequest(r)
		http.Error(w, "unknown host", http.StatusMisdirectedRequest)
		return
	}
	path := r.URL.Path
	switch {
	case r.Method == http.MethodPost && path == "/inbox":
		n.postInbox(w, r, h, nil)
	case r.Method == http.MethodPost && strings.HasPrefix(path, "/users/") && strings.HasSuffix(path, "/inbox"):
		a := h.actors[strings.TrimSuffix(strings.TrimPrefix(path, "/users/"), "/inbox")]
		if a == nil {
			n.badRequest(r)
			http.NotFound(w, r)
			return
		}
		n.postInbox(w, r, h, a)
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		n.badRequest(r)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	case path == "/.well-known/webfinger":
		n.webfinger(w, r, h)
	case strings.HasPrefix(path, "/users/"):
		name, coll, _ := strings.Cut(strings.TrimPrefix(path, "/users/"), "/")
		a := h.actors[name]
		var doc map[string]any
		switch {
		case a == nil:
		case coll == "":
			doc = a.document()
		case coll == "outbox" || coll == "followers" || coll == "following":
			doc = emptyCollection(a.iri+"/"+coll, r.URL.Query().Get("page") != "")
		}
		if doc == nil {
			n.badRequest(r)
			http.NotFound(w, r)
			return
		}
		n.gets.Add(1)
		w.Header().Set("Content-Type", "application/activity+json")
		json.NewEncoder(w).Encode(doc)
	default:
		n.badRequest(r)
		http.NotFound(w, r)
	}
}

// emptyCollection is an empty collection shaped as Mastodon serves one:
// the collection points at its first page, which has no items.
func emptyCollection(id string, page bool) map[string]any {
	if page {
		return map[string]any{"@context": contextAS, "id": id + "?page=true", "type": "OrderedCollectionPage",
			"partOf": id, "orderedItems": []any{}}
	}
	return map[string]any{"@context": contextAS, "id": id, "type": "OrderedCollection", "totalItems": 0,
		"first": id + "?page=true", "last": id + "?min_id=0&page=true"}
}

func (n *fakeNet) webfinger(w http.ResponseWriter, r *http.Request, h *fakeHost) {
	res := r.URL.Query().Get("resource")
	name, host, _ := strings.Cut(strings.TrimPrefix(res, "acct:"), "@")
	a := h.actors[name]
	if a == nil || host != h.hostport {
		n.badRequest(r)
		http.NotFound(w, r)
		return
	}
	n.gets.Add(1)
	w.Header().Set("Content-Type", "application/jrd+json")
	json.NewEncoder(w).Encode(map[string]any{
		"subject": "acct:" + name + "@" + h.hostport,
		"aliases": []string{a.iri},
		"links":   []map[string]any{{"rel": "self", "type": "application/activity+json", "href": a.iri}},
	})
}

// postInbox reads a delivery, checks its Digest (always) and signature (a
// sample), hands it to the scenario and answers 202.
func (n *fakeNet) postInbox(w http.ResponseWriter, r *http.Request, h *fakeHost, a *fakeActor) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	at := time.Now()
	if err != nil {
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	seq := n.posts.Add(1) - 1
	if !digestMatches(r.Header.Get("Digest"), body) {
		n.digestFail.Add(1)
	}
	if n.verifyKey != nil && seq%n.verifyEvery == 0 {
		n.sigChecked.Add(1)
		if err := n.verify(r, body); err != nil {
			n.sigFail.Add(1)
			n.firstSigErr.CompareAndSwap(nil, err.Error())
		}
	}
	var doc struct {
		ID     string          `json:"id"`
		Type   string          `json:"type"`
		Actor  string          `json:"actor"`
		Object json.RawMessage `json:"object"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		n.badRequest(r)
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	rec := &received{host: h, actor: a, typ: doc.Type, id: doc.ID, from: doc.Actor, object: doc.Object, objectID: objectID(doc.Object), at: at}
	w.WriteHeader(http.StatusAccepted)
	if n.sink != nil {
		n.sink(rec)
	}
}

// verify checks a delivery's draft-cavage signature against the coop's key.
func (n *fakeNet) verify(r *http.Request, body []byte) error {
	p, err := httpsign.Check(r, body, time.Now(), time.Hour)
	if err != nil {
		return err
	}
	if p.KeyID != n.verifyKeyID {
		return fmt.Errorf("signed with key %q, want the coop's %q", p.KeyID, n.verifyKeyID)
	}
	return p.Verify(r, n.verifyKey)
}

// digestMatches reports whether a Digest header holds the SHA-256 of body.
func digestMatches(header string, body []byte) bool {
	sum := sha256.Sum256(body)
	want := base64.StdEncoding.EncodeToString(sum[:])
	for _, item := range strings.Split(header, ",") {
		alg, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if ok && strings.EqualFold(alg, "SHA-256") && val == want {
			return true
		}
	}
	return false
}

// objectID returns the id of an embedded object or a bare IRI.
func objectID(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	if raw[0] == '"' {
		var s string
		json.Unmarshal(raw, &s)
		return s
	}
	var o struct {
		ID string `json:"id"`
	}
	json.Unmarshal(raw, &o)
	return o.ID
}

// preparedPost is a POST signed ahead of time, sent later once.
type preparedPost struct {
	url    string
	header http.Header
	body   []byte
}

// request returns the request to send; the header map is handed over as
// is, so each prepared post is sent once.
func (p *preparedPost) request(ctx context.Context) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(p.body))
	if err != nil {
		return nil, err
	}
	req.Header = p.header
	return req, nil
}

// signers keeps one httpsign.Signer per actor for one goroutine (a Signer
// is not safe for concurrent use).
type signers map[*fakeActor]*httpsign.Signer

// prepare signs body as the actor's POST to url, dated at, as Mastodon
// does: Digest, (request-target) host date digest content-type, the
// algorithm written as hs2019.
func (s signers) prepare(a *fakeActor, url string, body []byte, at time.Time) (*preparedPost, error) {
	sg := s[a]
	if sg == nil {
		var err error
		if sg, err = httpsign.NewSigner(a.keyID, a.key.priv); err != nil {
			return nil, err
		}
		s[a] = sg
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`)
	if err := sg.SignPost(req, body, at); err != nil {
		return nil, err
	}
	// The algorithm parameter is not signed; Mastodon 4 writes hs2019.
	req.Header.Set("Signature", strings.Replace(req.Header.Get("Signature"), `algorithm="rsa-sha256"`, `algorithm="hs2019"`, 1))
	// The client writes Host from the URL; the signed copy must not be
	// sent twice.
	req.Header.Del("Host")
	return &preparedPost{url: url, header: req.Header, body: body}, nil
}

// prepareAll signs n posts on all cores; build returns the actor, URL and
// body of post i. It stops at the first error or when ctx ends.
func prepareAll(ctx context.Context, n int, at time.Time, build func(i int) (*fakeActor, string, []byte)) ([]*preparedPost, error) {
	out := make([]*preparedPost, n)
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := signers{}
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				a, url, body := build(i)
				p, err := s.prepare(a, url, body, at)
				if err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
					next.Store(int64(n)) // stop the others
					return
				}
				out[i] = p
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, ctx.Err()
}
