package httpsign

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fixed clock: every test signs and checks relative to this instant.
var now = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

const (
	aliceID  = "https://coop.example/users/alice#main-key"
	inboxURL = "https://remote.example/users/bob/inbox"
)

var (
	keysOnce             sync.Once
	aliceKey, malloryKey *rsa.PrivateKey
	keysErr              error
)

// testKeys loads the fixed RSA keys from testdata (no key generation, so
// runs are fast and deterministic).
func testKeys(tb testing.TB) (alice, mallory *rsa.PrivateKey) {
	tb.Helper()
	keysOnce.Do(func() {
		load := func(name string) *rsa.PrivateKey {
			b, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				keysErr = err
				return nil
			}
			k, err := ParsePrivateKeyPEM(string(b))
			if err != nil {
				keysErr = err
			}
			return k
		}
		aliceKey, malloryKey = load("alice.pem"), load("mallory.pem")
	})
	if keysErr != nil {
		tb.Fatal(keysErr)
	}
	return aliceKey, malloryKey
}

func newSigner(tb testing.TB) *Signer {
	tb.Helper()
	alice, _ := testKeys(tb)
	s, err := NewSigner(aliceID, alice)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func newReq(tb testing.TB, method, target string, body []byte) *http.Request {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		tb.Fatal(err)
	}
	return req
}

// overWire serialises a client request exactly as net/http sends it and
// parses it back as a server would (Host moves out of Header, URL becomes
// the request-URI), returning the server-side request and its body.
func overWire(tb testing.TB, req *http.Request) (*http.Request, []byte) {
	tb.Helper()
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		tb.Fatal(err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		tb.Fatal(err)
	}
	body, err := io.ReadAll(sr.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if _, ok := sr.Header["Host"]; ok {
		tb.Fatal("server-side request unexpectedly has Host in Header")
	}
	return sr, body
}

func digestOf(body []byte) string {
	sum := sha256.Sum256(body)
	return "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
}

// manual signs req with an independent draft-cavage implementation, so the
// package is tested against the spec and not only against itself. Each field
// lets a test produce a particular (possibly bad) header.
type manual struct {
	key     *rsa.PrivateKey
	keyID   string
	alg     string // "" omits the parameter
	headers []string
	noHdrs  bool   // omit the headers parameter
	target  string // (request-target) path+query; "" = escaped path and query
	sep     string // parameter separator, default ","
	created int64
	expires int64
	auth    bool // use "Authorization: Signature" instead of Signature
}

func (m manual) sign(tb testing.TB, req *http.Request) {
	tb.Helper()
	target := m.target
	if target == "" {
		target = req.URL.EscapedPath()
		if req.URL.RawQuery != "" {
			target += "?" + req.URL.RawQuery
		}
	}
	var lines []string
	for _, h := range m.headers {
		var v string
		switch h {
		case "(request-target)":
			v = strings.ToLower(req.Method) + " " + target
		case "(created)":
			v = strconv.FormatInt(m.created, 10)
		case "(expires)":
			v = strconv.FormatInt(m.expires, 10)
		case "host":
			v = req.Host
			if v == "" {
				v = req.URL.Host
			}
		default:
			var vs []string
			for _, x := range req.Header.Values(h) {
				vs = append(vs, strings.TrimSpace(x))
			}
			v = strings.Join(vs, ", ")
		}
		lines = append(lines, h+": "+v)
	}
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	sig, err := rsa.SignPKCS1v15(nil, m.key, crypto.SHA256, sum[:])
	if err != nil {
		tb.Fatal(err)
	}
	sep := m.sep
	if sep == "" {
		sep = ","
	}
	params := []string{`keyId="` + m.keyID + `"`}
	if m.alg != "" {
		params = append(params, `algorithm="`+m.alg+`"`)
	}
	if m.created != 0 {
		params = append(params, "created="+strconv.FormatInt(m.created, 10))
	}
	if m.expires != 0 {
		params = append(params, "expires="+strconv.FormatInt(m.expires, 10))
	}
	if !m.noHdrs {
		params = append(params, `headers="`+strings.Join(m.headers, " ")+`"`)
	}
	params = append(params, `signature="`+base64.StdEncoding.EncodeToString(sig)+`"`)
	v := strings.Join(params, sep)
	if m.auth {
		req.Header.Set("Authorization", "Signature "+v)
	} else {
		req.Header.Set("Signature", v)
	}
}

// mastodonPost prepares a POST the way Mastodon sends it (Host, Date,
// Digest, Content-Type all set) without signing it.
func mastodonPost(tb testing.TB, target string, body []byte, at time.Time) *http.Request {
	tb.Helper()
	req := newReq(tb, http.MethodPost, target, body)
	req.Header.Set("Content-Type", "application/activity+json")
	req.Header.Set("Host", req.URL.Host)
	req.Header.Set("Date", at.UTC().Format(http.TimeFormat))
	req.Header.Set("Digest", digestOf(body))
	return req
}

func mastodonGet(tb testing.TB, target string, at time.Time) *http.Request {
	tb.Helper()
	req := newReq(tb, http.MethodGet, target, nil)
	req.Header.Set("Accept", "application/activity+json")
	req.Header.Set("Host", req.URL.Host)
	req.Header.Set("Date", at.UTC().Format(http.TimeFormat))
	return req
}

var (
	postHeaders = []string{"(request-target)", "host", "date", "digest", "content-type"}
	getHeaders  = []string{"(request-target)", "host", "date"}
	activity    = []byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Follow","actor":"https://coop.example/users/alice","object":"https://remote.example/users/bob"}`)
)

// checkAndVerify is what an inbox handler does.
func checkAndVerify(r *http.Request, body []byte, pub crypto.PublicKey) error {
	p, err := Check(r, body, now, time.Hour)
	if err != nil {
		return err
	}
	return p.Verify(r, pub)
}

func TestSignerRoundTrip(t *testing.T) {
	s := newSigner(t)
	alice, _ := testKeys(t)
	tests := []struct {
		name        string
		method, url string
		body        []byte
		contentType string
		wantHeaders string
	}{
		{"get", http.MethodGet, "https://remote.example/users/bob", nil, "", "(request-target) host date"},
		{"get with query", http.MethodGet, "https://remote.example/users/bob/outbox?page=true&min_id=0", nil, "", "(request-target) host date"},
		{"get escaped path", http.MethodGet, "https://remote.example/tags/%E6%97%A5%E6%9C%AC", nil, "", "(request-target) host date"},
		{"get escaped at", http.MethodGet, "https://remote.example/users/%40bob", nil, "", "(request-target) host date"},
		{"get host with port", http.MethodGet, "http://remote.example:8080/users/bob", nil, "", "(request-target) host date"},
		{"post with content-type", http.MethodPost, inboxURL, activity, "application/activity+json", "(request-target) host date digest content-type"},
		{"post without content-type", http.MethodPost, inboxURL, activity, "", "(request-target) host date digest"},
		{"post empty body", http.MethodPost, inboxURL, []byte{}, "application/activity+json", "(request-target) host date digest content-type"},
		{"post with query", http.MethodPost, inboxURL + "?x=1", activity, "application/activity+json", "(request-target) host date digest content-type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newReq(t, tt.method, tt.url, tt.body)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			var err error
			if tt.method == http.MethodGet {
				err = s.SignGet(req, now)
			} else {
				err = s.SignPost(req, tt.body, now)
			}
			if err != nil {
				t.Fatal(err)
			}
			sig := req.Header.Get("Signature")
			wantPrefix := `keyId="` + aliceID + `",algorithm="rsa-sha256",headers="` + tt.wantHeaders + `",signature="`
			if !strings.HasPrefix(sig, wantPrefix) {
				t.Fatalf("Signature = %q, want prefix %q", sig, wantPrefix)
			}
			if got := req.Header.Get("Date"); got != "Wed, 01 May 2024 12:00:00 GMT" {
				t.Errorf("Date = %q", got)
			}
			if tt.method == http.MethodPost {
				if got := req.Header.Get("Digest"); got != digestOf(tt.body) {
					t.Errorf("Digest = %q, want %q", got, digestOf(tt.body))
				}
			}

			// The signature must equal the one an independent
			// implementation produces (PKCS#1 v1.5 is deterministic).
			ref := req.Clone(req.Context())
			manual{key: alice, keyID: aliceID, alg: "rsa-sha256", headers: strings.Fields(tt.wantHeaders)}.sign(t, ref)
			if ref.Header.Get("Signature") != sig {
				t.Errorf("signature differs from reference implementation:\n got %s\nwant %s", sig, ref.Header.Get("Signature"))
			}

			sr, body := overWire(t, req)
			if err := checkAndVerify(sr, body, &alice.PublicKey); err != nil {
				t.Fatalf("verify: %v", err)
			}
		})
	}
}

func TestSignerRetry(t *testing.T) {
	s := newSigner(t)
	alice, _ := testKeys(t)
	later := now.Add(90 * time.Second)

	post := newReq(t, http.MethodPost, inboxURL, activity)
	post.Header.Set("Content-Type", "application/activity+json")
	get := newReq(t, http.MethodGet, "https://remote.example/users/bob", nil)
	for i, at := range []time.Time{now, later} {
		if err := s.SignPost(post, activity, at); err != nil {
			t.Fatalf("SignPost #%d: %v", i+1, err)
		}
		if err := s.SignGet(get, at); err != nil {
			t.Fatalf("SignGet #%d: %v", i+1, err)
		}
	}
	for _, req := range []*http.Request{post, get} {
		for _, h := range []string{"Signature", "Date", "Host"} {
			if n := len(req.Header.Values(h)); n != 1 {
				t.Errorf("%s %s: %d values after re-signing", req.Method, h, n)
			}
		}
		if req.Header.Get("Date") != later.Format(http.TimeFormat) {
			t.Errorf("%s: Date not refreshed: %q", req.Method, req.Header.Get("Date"))
		}
	}
	if n := len(post.Header.Values("Digest")); n != 1 {
		t.Errorf("POST: %d Digest values after re-signing", n)
	}
	// Re-signing for a different body must also replace Digest.
	other := []byte(`{"type":"Undo"}`)
	post.Body = io.NopCloser(bytes.NewReader(other))
	post.ContentLength = int64(len(other))
	if err := s.SignPost(post, other, later); err != nil {
		t.Fatal(err)
	}
	if post.Header.Get("Digest") != digestOf(other) {
		t.Errorf("Digest not replaced on re-sign")
	}
	for _, req := range []*http.Request{post, get} {
		sr, body := overWire(t, req)
		p, err := Check(sr, body, later, time.Hour)
		if err == nil {
			err = p.Verify(sr, &alice.PublicKey)
		}
		if err != nil {
			t.Errorf("%s after retry: %v", req.Method, err)
		}
	}
}

func TestNewSignerErrors(t *testing.T) {
	alice, _ := testKeys(t)
	for _, tt := range []struct {
		name  string
		keyID string
		key   *rsa.PrivateKey
	}{
		{"empty id", "", alice},
		{"quote in id", `https://x/"a`, alice},
		{"newline in id", "https://x/a\n", alice},
		{"nil key", aliceID, nil},
	} {
		if _, err := NewSigner(tt.keyID, tt.key); err == nil {
			t.Errorf("%s: expected error", tt.name)
		}
	}
	s, err := NewSigner(aliceID, alice)
	if err != nil || s.KeyID() != aliceID {
		t.Fatalf("NewSigner = %v, %v", s, err)
	}
}

func TestParse(t *testing.T) {
	const sig = "c2lnbmF0dXJl" // base64("signature")
	tests := []struct {
		name   string
		header string // Signature header value
		auth   string // Authorization header value
		want   *Params
		reason string
	}{
		{
			name:   "compact",
			header: `keyId="https://a.example/u#k",algorithm="rsa-sha256",headers="(request-target) host date",signature="` + sig + `"`,
			want:   &Params{KeyID: "https://a.example/u#k", Algorithm: "rsa-sha256", Headers: []string{"(request-target)", "host", "date"}, Signature: sig},
		},
		{
			name:   "spaces after commas, any order, upper-case names",
			header: `signature="` + sig + `", headers="(request-target)  Host DATE",	keyId="https://a.example/u#k" ,algorithm="HS2019"`,
			want:   &Params{KeyID: "https://a.example/u#k", Algorithm: "hs2019", Headers: []string{"(request-target)", "host", "date"}, Signature: sig},
		},
		{
			name:   "created and expires, quoted and bare",
			header: `keyId="k",created=1714564800,expires="1714565100",headers="(request-target) (created) (expires)",signature="` + sig + `"`,
			want:   &Params{KeyID: "k", Headers: []string{"(request-target)", "(created)", "(expires)"}, Signature: sig, Created: 1714564800, Expires: 1714565100},
		},
		{
			name:   "keyId with comma and escaped quote",
			header: `keyId="https://a.example/u,v#k\"",signature="` + sig + `"`,
			want:   &Params{KeyID: `https://a.example/u,v#k"`, Headers: []string{"date"}, Signature: sig},
		},
		{
			name:   "unknown params ignored, empty list elements tolerated",
			header: `, keyId="k",,foo=bar, signature="` + sig + `",`,
			want:   &Params{KeyID: "k", Headers: []string{"date"}, Signature: sig},
		},
		{
			name: "authorization scheme",
			auth: `Signature keyId="k", headers="date", signature="` + sig + `"`,
			want: &Params{KeyID: "k", Headers: []string{"date"}, Signature: sig},
		},
		{name: "nothing", reason: ReasonMissing},
		{name: "bearer auth only", auth: "Bearer abc", reason: ReasonMissing},
		{name: "blank", header: "  ", reason: ReasonMissing},
		{name: "garbage", header: "garbage", reason: ReasonMalformed},
		{name: "missing keyId", header: `signature="` + sig + `"`, reason: ReasonMalformed},
		{name: "missing signature", header: `keyId="k"`, reason: ReasonMalformed},
		{name: "empty keyId", header: `keyId="",signature="` + sig + `"`, reason: ReasonMalformed},
		{name: "bad base64", header: `keyId="k",signature="not base64!"`, reason: ReasonMalformed},
		{name: "duplicate keyId", header: `keyId="a",keyId="b",signature="` + sig + `"`, reason: ReasonMalformed},
		{name: "duplicate signature", header: `keyId="a",signature="` + sig + `",signature="` + sig + `"`, reason: ReasonMalformed},
		{name: "unterminated quote", header: `keyId="k,signature="` + sig, reason: ReasonMalformed},
		{name: "missing comma", header: `keyId="k" signature="` + sig + `"`, reason: ReasonMalformed},
		{name: "no value", header: `keyId,signature="` + sig + `"`, reason: ReasonMalformed},
		{name: "empty headers", header: `keyId="k",headers="",signature="` + sig + `"`, reason: ReasonMalformed},
		{name: "bad header name", header: `keyId="k",headers="host da,te",signature="` + sig + `"`, reason: ReasonMalformed},
		{name: "bad created", header: `keyId="k",created=soon,signature="` + sig + `"`, reason: ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set("Signature", tt.header)
			}
			if tt.auth != "" {
				h.Set("Authorization", tt.auth)
			}
			p, err := Parse(h)
			if tt.reason != "" {
				if ReasonOf(err) != tt.reason {
					t.Fatalf("Parse = %+v, %v; want reason %q", p, err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.KeyID != tt.want.KeyID || p.Algorithm != tt.want.Algorithm || p.Signature != tt.want.Signature ||
				p.Created != tt.want.Created || p.Expires != tt.want.Expires ||
				strings.Join(p.Headers, "|") != strings.Join(tt.want.Headers, "|") {
				t.Fatalf("Parse = %+v, want %+v", p, tt.want)
			}
		})
	}
	t.Run("two signature headers", func(t *testing.T) {
		h := http.Header{"Signature": {`keyId="a",signature="` + sig + `"`, `keyId="b",signature="` + sig + `"`}}
		if _, err := Parse(h); ReasonOf(err) != ReasonMalformed {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestVerifyInterop covers headers other implementations produce.
func TestVerifyInterop(t *testing.T) {
	alice, _ := testKeys(t)
	tests := []struct {
		name  string
		build func(t *testing.T) *http.Request
	}{
		{"mastodon post", func(t *testing.T) *http.Request {
			req := mastodonPost(t, inboxURL, activity, now)
			manual{key: alice, keyID: "https://mastodon.example/users/alice#main-key", alg: "rsa-sha256", headers: postHeaders}.sign(t, req)
			want := `keyId="https://mastodon.example/users/alice#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest content-type",signature="`
			if !strings.HasPrefix(req.Header.Get("Signature"), want) {
				t.Fatalf("test helper produced %q", req.Header.Get("Signature"))
			}
			return req
		}},
		{"mastodon get with accept", func(t *testing.T) *http.Request {
			req := mastodonGet(t, "https://remote.example/users/bob", now)
			manual{key: alice, keyID: aliceID, alg: "rsa-sha256", headers: []string{"(request-target)", "host", "date", "accept"}}.sign(t, req)
			return req
		}},
		{"spaces after commas", func(t *testing.T) *http.Request {
			req := mastodonPost(t, inboxURL, activity, now)
			manual{key: alice, keyID: aliceID, alg: "rsa-sha256", headers: postHeaders, sep: ", "}.sign(t, req)
			return req
		}},
		{"hs2019", func(t *testing.T) *http.Request {
			req := mastodonPost(t, inboxURL, activity, now)
			manual{key: alice, keyID: aliceID, alg: "hs2019", headers: postHeaders}.sign(t, req)
			return req
		}},
		{"no algorithm param", func(t *testing.T) *http.Request {
			req := mastodonPost(t, inboxURL, activity, now)
			manual{key: alice, keyID: aliceID, headers: postHeaders}.sign(t, req)
			return req
		}},
		{"authorization header", func(t *testing.T) *http.Request {
			req := mastodonPost(t, inboxURL, activity, now)
			manual{key: alice, keyID: aliceID, alg: "rsa-sha256", headers: postHeaders, auth: true}.sign(t, req)
			return req
		}},
		{"keyId with comma", func(t *testing.T) *http.Request {
			req := mastodonGet(t, "https://remote.example/users/bob", now)
			manual{key: alice, keyID: "https://a.example/key?x=1,2", alg: "rsa-sha256", headers: getHeaders}.sign(t, req)
			return req
		}},
		{"signed with query, url has query", func(t *testing.T) *http.Request {
			req := mastodonGet(t, "https://remote.example/users/bob/outbox?page=true", now)
			manual{key: alice, keyID: aliceID, alg: "rsa-sha256", headers: getHeaders, target: "/users/bob/outbox?page=true"}.sign(t, req)
			return req
		}},
		{"signed without query, url has query", func(t *testing.T) *http.Request {
			req := mastodonGet(t, "https://remote.example/users/bob/outbox?page=true", now)
			manual{key: alice, keyID: aliceID, alg: "rsa-sha256", headers: getHeaders, target: "/users/bob/outbox"}.sign(t, req)
			return req
		}},
		{"signed with decoded path (go-fed style)", func(t *testing.T) *http.Request {
			req := mastodonGet(t, "https://remote.example/tags/%E6%97%A5%E6%9C%AC", now)
			manual{key: alice, keyID: aliceID, alg: "rsa-sha256", headers: getHeaders, target: "/tags/日本"}.sign(t, req)
			return req
		}},
		{"sha-512 digest", func(t *testing.T) *http.Request {
			req := mastodonPost(t, inboxURL, activity, now)
			sum := sha512.Sum512(activity)
			req.Header.Set("Digest", "SHA-512="+base64.StdEncoding.EncodeToString(sum[:]))
			manual{key: alice, keyID: aliceID, alg: "rsa-sha256", headers: postHeaders}.sign(t, req)
			return req
		}},
		{"sha-256 and sha-512 digest, lower-case, unknown entry", func(t *testing.T) *http.Request {
			req := mastodonPost(t, inboxURL, activity, now)
			s512 := sha512.Sum512(activity)
			req.Header.Set("Digest", "md5=AAAA, sha-512="+base64.StdEncoding.EncodeToString(s512[:])+", "+strings.ToLower(digestOf(activity)[:7])+digestOf(activity)[7:])
			manual{key: alice, keyID: aliceID, alg: "rsa-sha256", headers: postHeaders}.sign(t, req)
			return req
		}},
		{"date 59 minutes old", func(t *testing.T) *http.Request {
			req := mastodonPost(t, inboxURL, activity, now.Add(-59*time.Minute))
			manual{key: alice, keyID: aliceID, alg: "rsa-sha256", headers: postHeaders}.sign(t, req)
			return req
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sr, body := overWire(t, tt.build(t))
			if err := checkAndVerify(sr, body, &alice.PublicKey); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestFailureReasons produces each failure reason from a specific bad request.
func TestFailureReasons(t *testing.T) {
	alice, mallory := testKeys(t)
	s := newSigner(t)
	alicePub := &alice.PublicKey

	signedPost := func(t *testing.T, at time.Time) *http.Request {
		req := newReq(t, http.MethodPost, inboxURL, activity)
		req.Header.Set("Content-Type", "application/activity+json")
		if err := s.SignPost(req, activity, at); err != nil {
			t.Fatal(err)
		}
		return req
	}
	signedGet := func(t *testing.T, at time.Time) *http.Request {
		req := newReq(t, http.MethodGet, "https://remote.example/users/bob", nil)
		if err := s.SignGet(req, at); err != nil {
			t.Fatal(err)
		}
		return req
	}
	manualPost := func(m manual) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			req := mastodonPost(t, inboxURL, activity, now)
			m.key, m.keyID = alice, aliceID
			m.sign(t, req)
			return req
		}
	}
	manualGet := func(m manual) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			req := mastodonGet(t, "https://remote.example/users/bob", now)
			m.key, m.keyID = alice, aliceID
			m.sign(t, req)
			return req
		}
	}
	post := func(t *testing.T) *http.Request { return signedPost(t, now) }
	get := func(t *testing.T) *http.Request { return signedGet(t, now) }

	tests := []struct {
		name   string
		build  func(t *testing.T) *http.Request
		server func(r *http.Request, body []byte) []byte // tamper after transit; returns body
		pub    crypto.PublicKey
		want   string
	}{
		{name: "missing header", build: get, server: func(r *http.Request, b []byte) []byte { r.Header.Del("Signature"); return b }, want: ReasonMissing},
		{name: "garbage header", build: get, server: func(r *http.Request, b []byte) []byte { r.Header.Set("Signature", "garbage"); return b }, want: ReasonMalformed},
		{name: "bad base64", build: get, server: func(r *http.Request, b []byte) []byte {
			r.Header.Set("Signature", `keyId="k",headers="(request-target) host date",signature="%%%"`)
			return b
		}, want: ReasonMalformed},

		{name: "headers: host not covered", build: manualGet(manual{alg: "rsa-sha256", headers: []string{"(request-target)", "date"}}), want: ReasonHeaders},
		{name: "headers: date not covered", build: manualGet(manual{alg: "rsa-sha256", headers: []string{"(request-target)", "host"}}), want: ReasonHeaders},
		{name: "headers: (request-target) not covered", build: manualGet(manual{alg: "rsa-sha256", headers: []string{"host", "date"}}), want: ReasonHeaders},
		{name: "headers: digest not covered on post", build: manualPost(manual{alg: "rsa-sha256", headers: []string{"(request-target)", "host", "date", "content-type"}}), want: ReasonHeaders},
		{name: "headers: parameter absent (date only)", build: manualGet(manual{alg: "rsa-sha256", headers: []string{"date"}, noHdrs: true}), want: ReasonHeaders},
		{name: "headers: signed header absent", build: manualGet(manual{alg: "rsa-sha256", headers: []string{"(request-target)", "host", "date", "accept"}}),
			server: func(r *http.Request, b []byte) []byte { r.Header.Del("Accept"); return b }, want: ReasonHeaders},

		{name: "date 2h old", build: func(t *testing.T) *http.Request { return signedPost(t, now.Add(-2*time.Hour)) }, want: ReasonDate},
		{name: "date 2h in future", build: func(t *testing.T) *http.Request { return signedPost(t, now.Add(2*time.Hour)) }, want: ReasonDate},
		{name: "date unparseable", build: get, server: func(r *http.Request, b []byte) []byte { r.Header.Set("Date", "yesterday"); return b }, want: ReasonDate},
		{name: "date absent", build: get, server: func(r *http.Request, b []byte) []byte { r.Header.Del("Date"); return b }, want: ReasonDate},
		{name: "created 2h in future", build: manualGet(manual{alg: "hs2019", headers: []string{"(request-target)", "host", "date", "(created)"}, created: now.Add(2 * time.Hour).Unix()}), want: ReasonDate},
		{name: "expired 2h ago", build: manualGet(manual{alg: "hs2019", headers: []string{"(request-target)", "host", "date", "(expires)"}, expires: now.Add(-2 * time.Hour).Unix()}), want: ReasonDate},

		{name: "digest mismatch", build: post, server: func(r *http.Request, b []byte) []byte { r.Header.Set("Digest", digestOf([]byte("other"))); return b }, want: ReasonDigest},
		{name: "digest absent on post", build: post, server: func(r *http.Request, b []byte) []byte { r.Header.Del("Digest"); return b }, want: ReasonDigest},
		{name: "digest unsupported algorithm", build: post, server: func(r *http.Request, b []byte) []byte {
			r.Header.Set("Digest", "MD5=HUXZLQLMuI/KZ5KDcJPcOA==")
			return b
		}, want: ReasonDigest},
		{name: "digest malformed", build: post, server: func(r *http.Request, b []byte) []byte { r.Header.Set("Digest", "SHA-256"); return b }, want: ReasonDigest},
		{name: "digest not base64", build: post, server: func(r *http.Request, b []byte) []byte { r.Header.Set("Digest", "SHA-256=%%%"); return b }, want: ReasonDigest},
		{name: "body tampered", build: post, server: func(r *http.Request, b []byte) []byte { return bytes.Replace(b, []byte("Follow"), []byte("Block!"), 1) }, want: ReasonDigest},

		{name: "algorithm hmac-sha256", build: manualPost(manual{alg: "hmac-sha256", headers: postHeaders}), want: ReasonAlgorithm},
		{name: "algorithm rsa-sha1", build: manualPost(manual{alg: "rsa-sha1", headers: postHeaders}), want: ReasonAlgorithm},
		{name: "ed25519 key", build: post, pub: ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public(), want: ReasonAlgorithm},

		{name: "wrong key", build: post, pub: &mallory.PublicKey, want: ReasonSignature},
		{name: "content-type tampered", build: post, server: func(r *http.Request, b []byte) []byte { r.Header.Set("Content-Type", "text/html"); return b }, want: ReasonSignature},
		{name: "replayed to another path", build: post, server: func(r *http.Request, b []byte) []byte { r.URL.Path = "/users/carol/inbox"; return b }, want: ReasonSignature},
		{name: "replayed to another host", build: post, server: func(r *http.Request, b []byte) []byte { r.Host = "other.example"; return b }, want: ReasonSignature},
		{name: "replayed as another method", build: get, server: func(r *http.Request, b []byte) []byte { r.Method = http.MethodHead; return b }, want: ReasonSignature},
		{name: "date changed within window", build: get, server: func(r *http.Request, b []byte) []byte {
			r.Header.Set("Date", now.Add(time.Minute).Format(http.TimeFormat))
			return b
		}, want: ReasonSignature},
		{name: "signature from mallory claiming alice", build: func(t *testing.T) *http.Request {
			req := mastodonPost(t, inboxURL, activity, now)
			manual{key: mallory, keyID: aliceID, alg: "rsa-sha256", headers: postHeaders}.sign(t, req)
			return req
		}, want: ReasonSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sr, body := overWire(t, tt.build(t))
			if tt.server != nil {
				body = tt.server(sr, body)
			}
			pub := tt.pub
			if pub == nil {
				pub = alicePub
			}
			err := checkAndVerify(sr, body, pub)
			if got := ReasonOf(err); got != tt.want {
				t.Fatalf("reason = %q (%v), want %q", got, err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v is not a descriptive *Error", err)
			}
		})
	}
}

func TestCheckCreatedExpiresWithinWindow(t *testing.T) {
	// Verify would consult the wall clock for (created)/(expires) (httpsig
	// does), so only the deterministic key-free part is tested here.
	alice, _ := testKeys(t)
	req := mastodonGet(t, "https://remote.example/users/bob", now)
	manual{key: alice, keyID: aliceID, alg: "hs2019", headers: []string{"(request-target)", "host", "date", "(created)", "(expires)"},
		created: now.Add(-30 * time.Second).Unix(), expires: now.Add(-30 * time.Minute).Unix()}.sign(t, req)
	sr, body := overWire(t, req)
	p, err := Check(sr, body, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if p.Created != now.Add(-30*time.Second).Unix() {
		t.Errorf("Created = %d", p.Created)
	}
}

func TestCheckReturnsParamsOnFailure(t *testing.T) {
	s := newSigner(t)
	req := newReq(t, http.MethodGet, "https://remote.example/users/bob", nil)
	if err := s.SignGet(req, now.Add(-3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	sr, body := overWire(t, req)
	p, err := Check(sr, body, now, 0) // 0 = DefaultWindow
	if ReasonOf(err) != ReasonDate || p == nil || p.KeyID != aliceID {
		t.Fatalf("Check = %+v, %v", p, err)
	}
}

func TestVerifyDoesNotModifyRequest(t *testing.T) {
	alice, _ := testKeys(t)
	s := newSigner(t)
	req := newReq(t, http.MethodPost, inboxURL, activity)
	if err := s.SignPost(req, activity, now); err != nil {
		t.Fatal(err)
	}
	sr, body := overWire(t, req)
	before := sr.Header.Clone()
	if err := checkAndVerify(sr, body, &alice.PublicKey); err != nil {
		t.Fatal(err)
	}
	if len(sr.Header) != len(before) || sr.Header.Get("Host") != "" || sr.Header.Get("Signature") != before.Get("Signature") {
		t.Fatalf("request header modified: %v", sr.Header)
	}
}

// TestOverHTTP sends a signed request through a real net/http server.
func TestOverHTTP(t *testing.T) {
	alice, _ := testKeys(t)
	s := newSigner(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err := checkAndVerify(r, body, &alice.PublicKey); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	req := newReq(t, http.MethodPost, srv.URL+"/users/bob/inbox?x=1", activity)
	req.Header.Set("Content-Type", "application/activity+json")
	if err := s.SignPost(req, activity, now); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %s", resp.StatusCode, msg)
	}
}

func TestKeysPEM(t *testing.T) {
	alice, _ := testKeys(t)
	pubPEM, err := EncodePublicKeyPEM(&alice.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pubPEM, "-----BEGIN PUBLIC KEY-----\n") {
		t.Fatalf("public PEM = %q", pubPEM)
	}
	pkcs1Pub := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&alice.PublicKey)}))
	mislabelled := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&alice.PublicKey)}))
	edDER, err := x509.MarshalPKIXPublicKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public())
	if err != nil {
		t.Fatal(err)
	}
	edPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: edDER}))

	for _, tt := range []struct {
		name  string
		in    string
		isRSA bool
		ok    bool
	}{
		{"pkix", pubPEM, true, true},
		{"pkix with surrounding text", "publicKeyPem:\n" + pubPEM + "\n", true, true},
		{"pkcs1", pkcs1Pub, true, true},
		{"pkcs1 labelled PUBLIC KEY", mislabelled, true, true},
		{"ed25519 pkix", edPEM, false, true},
		{"empty", "", false, false},
		{"not pem", "hello", false, false},
		{"wrong block type", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", false, false},
		{"corrupt", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pub, err := ParsePublicKeyPEM(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok {
				return
			}
			rk, isRSA := pub.(*rsa.PublicKey)
			if isRSA != tt.isRSA {
				t.Fatalf("got %T", pub)
			}
			if isRSA && !rk.Equal(&alice.PublicKey) {
				t.Fatal("parsed a different key")
			}
		})
	}

	privPEM, err := EncodePrivateKeyPEM(alice)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1Priv := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(alice)}))
	for name, in := range map[string]string{"pkcs8": privPEM, "pkcs1": pkcs1Priv} {
		k, err := ParsePrivateKeyPEM(in)
		if err != nil || !k.Equal(alice) {
			t.Errorf("%s: ParsePrivateKeyPEM = %v", name, err)
		}
	}
	if !strings.HasPrefix(privPEM, "-----BEGIN PRIVATE KEY-----\n") {
		t.Errorf("private PEM has wrong type")
	}
	edPriv, _ := x509.MarshalPKCS8PrivateKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))
	for name, in := range map[string]string{
		"ed25519":   string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edPriv})),
		"public":    pubPEM,
		"not pem":   "x",
		"corrupt":   "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
		"corrupt 8": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	} {
		if _, err := ParsePrivateKeyPEM(in); err == nil {
			t.Errorf("%s: expected error", name)
		}
	}
	if _, err := EncodePublicKeyPEM(nil); err == nil {
		t.Error("EncodePublicKeyPEM(nil): expected error")
	}
	if _, err := EncodePrivateKeyPEM(nil); err == nil {
		t.Error("EncodePrivateKeyPEM(nil): expected error")
	}
}

func TestGenerateKey(t *testing.T) {
	if testing.Short() {
		t.Skip("key generation is slow")
	}
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if k.N.BitLen() != 2048 {
		t.Fatalf("key size %d", k.N.BitLen())
	}
}

func TestReasonOf(t *testing.T) {
	e := &Error{Reason: ReasonDigest, Err: errors.New("x")}
	if ReasonOf(e) != ReasonDigest || ReasonOf(errors.Join(errors.New("y"), e)) != ReasonDigest {
		t.Error("ReasonOf did not find *Error")
	}
	if ReasonOf(errors.New("plain")) != "" || ReasonOf(nil) != "" {
		t.Error("ReasonOf of non-*Error should be empty")
	}
	if e.Error() != "httpsign: digest: x" || !errors.Is(e, e.Err) {
		t.Errorf("Error() = %q", e.Error())
	}
}

// 2 KB activity body for benchmarks.
var benchBody = bytes.Repeat([]byte("a"), 2048)

func BenchmarkSignPost(b *testing.B) {
	s := newSigner(b)
	req := newReq(b, http.MethodPost, inboxURL, benchBody)
	req.Header.Set("Content-Type", "application/activity+json")
	b.ReportAllocs()
	for b.Loop() {
		if err := s.SignPost(req, benchBody, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckAndVerify(b *testing.B) {
	alice, _ := testKeys(b)
	s := newSigner(b)
	req := newReq(b, http.MethodPost, inboxURL, benchBody)
	req.Header.Set("Content-Type", "application/activity+json")
	if err := s.SignPost(req, benchBody, now); err != nil {
		b.Fatal(err)
	}
	sr, body := overWire(b, req)
	b.ReportAllocs()
	for b.Loop() {
		if err := checkAndVerify(sr, body, &alice.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRSAVerifyFloor is the bare RSA-2048 PKCS#1 v1.5 verification of
// a precomputed SHA-256 hash: the floor CheckAndVerify cannot go below.
func BenchmarkRSAVerifyFloor(b *testing.B) {
	alice, _ := testKeys(b)
	sum := sha256.Sum256([]byte("(request-target): post /users/bob/inbox\nhost: remote.example\ndate: Wed, 01 May 2024 12:00:00 GMT"))
	sig, err := rsa.SignPKCS1v15(nil, alice, crypto.SHA256, sum[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(&alice.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}
