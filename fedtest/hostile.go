package fedtest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coopfed/coopfed/store"
)

// Helpers for hostile-input tests: a remote that logs every request it
// receives (to prove that a refused request made the instance contact
// nobody), hand-made signatures (the malformed variants a real signer never
// produces) and a snapshot of an instance's whole database (to prove that a
// refused request stored nothing).

// RequestLog records every request a counting remote receives, as
// "METHOD /path".
type RequestLog struct {
	mu   sync.Mutex
	reqs []string
}

// Len returns how many requests were received so far.
func (l *RequestLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.reqs)
}

// Since returns the requests received after the first n.
func (l *RequestLog) Since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n >= len(l.reqs) {
		return nil
	}
	return append([]string(nil), l.reqs[n:]...)
}

func (l *RequestLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r.Method+" "+r.URL.Path)
}

// NewCountingRemote is NewRemote with a log of every request the server
// receives, signed or not, whatever its method and path. The log is wired in
// before the server starts, so no request can slip past it.
func NewCountingRemote(t testing.TB) (*Remote, *RequestLog) {
	t.Helper()
	log := &RequestLog{}
	r := &Remote{t: t, actors: map[string]*Actor{}, docs: map[string][]byte{}, inboxStatus: http.StatusAccepted}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		log.add(req)
		r.serve(w, req)
	}))
	r.Server.Listener.Close()
	r.Server.Listener = l
	r.Server.Start()
	r.URL = r.Server.URL
	r.Host = strings.TrimPrefix(r.URL, "http://")
	t.Cleanup(r.Server.Close)
	return r, log
}

// Signature describes a hand-made draft-cavage signature. The zero value
// signs like Mastodon: the actor's key and keyId, rsa-sha256, the headers
// (request-target) host date digest, Date now, the query in the target.
type Signature struct {
	KeyID     string          // keyId parameter; default the actor's KeyID
	Key       *rsa.PrivateKey // signing key; default the actor's key
	Algorithm string          // algorithm parameter; default "rsa-sha256", "-" omits it
	// Headers are the signed headers in order; nil means the default list.
	Headers []string
	// NoHeadersParam omits the headers parameter (draft-cavage then means
	// "date" alone).
	NoHeadersParam bool
	Date           time.Time // Date header; default now
	// NoQuery builds (request-target) from the path alone, as some
	// servers do when the inbox URL has a query.
	NoQuery bool
}

// NewSignedPost returns a POST of body (sent as is, valid JSON or not) to
// url with Content-Type, Date and Digest set and signed as s describes.
func (a *Actor) NewSignedPost(url string, body []byte, s Signature) *http.Request {
	a.Remote.t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		a.Remote.t.Fatal(err)
	}
	req.Header.Set("Content-Type", `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`)
	sum := sha256.Sum256(body)
	req.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
	a.SignWith(req, s)
	return req
}

// SignWith sets req's Date and Signature headers as s describes, over the
// headers req carries at that moment (set Digest before calling it).
func (a *Actor) SignWith(req *http.Request, s Signature) {
	a.Remote.t.Helper()
	if s.KeyID == "" {
		s.KeyID = a.KeyID
	}
	if s.Key == nil {
		s.Key = a.Key
	}
	if s.Algorithm == "" {
		s.Algorithm = "rsa-sha256"
	}
	if s.Headers == nil {
		s.Headers = []string{"(request-target)", "host", "date", "digest"}
	}
	if s.Date.IsZero() {
		s.Date = time.Now()
	}
	req.Header.Set("Date", s.Date.UTC().Format(http.TimeFormat))
	signed := s.Headers
	if s.NoHeadersParam {
		signed = []string{"date"}
	}
	lines := make([]string, 0, len(signed))
	for _, h := range signed {
		lines = append(lines, h+": "+signedValue(req, h, s.NoQuery))
	}
	digest := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.Key, crypto.SHA256, digest[:])
	if err != nil {
		a.Remote.t.Fatal(err)
	}
	params := []string{`keyId="` + s.KeyID + `"`}
	if s.Algorithm != "-" {
		params = append(params, `algorithm="`+s.Algorithm+`"`)
	}
	if !s.NoHeadersParam {
		params = append(params, `headers="`+strings.Join(s.Headers, " ")+`"`)
	}
	params = append(params, `signature="`+base64.StdEncoding.EncodeToString(sig)+`"`)
	req.Header.Set("Signature", strings.Join(params, ","))
}

// signedValue is one header's value in the signing string, as the client
// will send it.
func signedValue(req *http.Request, name string, noQuery bool) string {
	switch name {
	case "(request-target)":
		target := req.URL.EscapedPath()
		if req.URL.RawQuery != "" && !noQuery {
			target += "?" + req.URL.RawQuery
		}
		return strings.ToLower(req.Method) + " " + target
	case "host":
		// Why: the client writes req.Host, or the URL's host, on the wire.
		if req.Host != "" {
			return req.Host
		}
		return req.URL.Host
	}
	return strings.Join(req.Header.Values(name), ", ")
}

// TableState is one table's row count and a digest of all its rows.
type TableState = store.TableDigest

// Snapshot returns, per table of the instance's database, its row count
// and a digest of its contents. Unlike Counts it also sees rows that were
// changed in place (an edited timeline item, a refreshed actor).
func (i *Instance) Snapshot(t testing.TB) map[string]TableState {
	t.Helper()
	out, err := i.Store.Digests(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return out
}
