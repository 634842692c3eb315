package httpsign

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	coopBase   = "https://coop.example"
	coopInbox  = "https://coop.example/users/bob/inbox"
	fedifyKey  = "https://fedify.example/users/a#main-key"
	carolKeyID = "https://coop.example/users/carol#main-key"
)

// loadEd25519 reads a PKCS#8 Ed25519 private key from testdata.
func loadEd25519(tb testing.TB, name string) ed25519.PrivateKey {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		tb.Fatalf("%s: no PEM block", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		tb.Fatal(err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		tb.Fatalf("%s: %T is not Ed25519", name, k)
	}
	return ek
}

// loadPublic reads a public key PEM from testdata with ParsePublicKeyPEM.
func loadPublic(tb testing.TB, name string) crypto.PublicKey {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	pub, err := ParsePublicKeyPEM(string(b))
	if err != nil {
		tb.Fatal(err)
	}
	return pub
}

func carolKey(tb testing.TB) ed25519.PrivateKey { return loadEd25519(tb, "carol-ed25519.pem") }

// Independent signing primitives for hand-built bases.
func signRSA(k *rsa.PrivateKey) func([]byte) []byte {
	return func(base []byte) []byte {
		sum := sha256.Sum256(base)
		sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, sum[:])
		if err != nil {
			panic(err)
		}
		return sig
	}
}

func signPSS(k *rsa.PrivateKey) func([]byte) []byte {
	return func(base []byte) []byte {
		sum := sha512.Sum512(base)
		sig, err := rsa.SignPSS(rand.Reader, k, crypto.SHA512, sum[:], &rsa.PSSOptions{SaltLength: 64, Hash: crypto.SHA512})
		if err != nil {
			panic(err)
		}
		return sig
	}
}

func signEd(k ed25519.PrivateKey) func([]byte) []byte {
	return func(base []byte) []byte { return ed25519.Sign(k, base) }
}

func contentDigest256(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
}

func contentDigest512(body []byte) string {
	sum := sha512.Sum512(body)
	return "sha-512=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
}

// m9421 builds a request signed by an independent, string-concatenating
// RFC 9421 implementation, so the package is tested against the spec and
// not only against itself. Zero fields take Fedify's defaults.
type m9421 struct {
	method     string   // default POST
	target     string   // default coopInbox
	body       []byte   // default activity for POST, nil for GET
	noDigest   bool     // do not set Content-Digest
	components []string // default Fedify's set
	params     string   // after the inner list; default Fedify's alg;keyid;created
	label      string   // default sig1
	sign       func([]byte) []byte
	// override sets explicit base values (e.g. to sign something else).
	override map[string]string
	// after tampers with the client request after signing.
	after func(r *http.Request)
}

var (
	fedifyPostComponents = []string{"@method", "@target-uri", "@authority", "host", "date", "content-digest"}
	fedifyGetComponents  = []string{"@method", "@target-uri", "@authority", "host", "date"}
)

func fedifyParams(alg, keyID string, created int64) string {
	return `;alg="` + alg + `";keyid="` + keyID + `";created=` + strconv.FormatInt(created, 10)
}

// client returns the signed client-side request and the body.
func (m m9421) client(tb testing.TB) (*http.Request, []byte) {
	tb.Helper()
	if m.method == "" {
		m.method = http.MethodPost
	}
	if m.target == "" {
		m.target = coopInbox
	}
	body := m.body
	if body == nil && m.method == http.MethodPost {
		body = activity
	}
	if m.components == nil {
		m.components = fedifyPostComponents
		if m.method == http.MethodGet {
			m.components = fedifyGetComponents
		}
	}
	if m.params == "" {
		m.params = fedifyParams("rsa-v1_5-sha256", fedifyKey, now.Unix())
	}
	if m.label == "" {
		m.label = "sig1"
	}
	if m.sign == nil {
		alice, _ := testKeys(tb)
		m.sign = signRSA(alice)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(m.method, m.target, rd)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Host", req.URL.Host)
	req.Header.Set("Date", now.UTC().Format(http.TimeFormat))
	if body != nil {
		req.Header.Set("Content-Type", "application/activity+json")
		if !m.noDigest {
			req.Header.Set("Content-Digest", contentDigest256(body))
		}
	}
	var base strings.Builder
	var quoted []string
	for _, c := range m.components {
		name := c
		if i := strings.IndexByte(c, ';'); i >= 0 {
			name = strings.Trim(c[:i], `"`)
		}
		var v string
		switch name {
		case "@method":
			v = req.Method
		case "@target-uri":
			v = m.target
		case "@authority":
			v = req.URL.Host
		case "@path":
			v = req.URL.EscapedPath()
		case "@query":
			v = "?" + req.URL.RawQuery
		default:
			v = req.Header.Get(name)
		}
		if o, ok := m.override[c]; ok {
			v = o
		}
		q := c
		if !strings.HasPrefix(c, `"`) {
			q = `"` + c + `"`
		}
		quoted = append(quoted, q)
		base.WriteString(q + ": " + v + "\n")
	}
	sigParams := "(" + strings.Join(quoted, " ") + ")" + m.params
	base.WriteString(`"@signature-params": ` + sigParams)
	sig := m.sign([]byte(base.String()))
	req.Header.Set("Signature-Input", m.label+"="+sigParams)
	req.Header.Set("Signature", m.label+"=:"+base64.StdEncoding.EncodeToString(sig)+":")
	if m.after != nil {
		m.after(req)
	}
	return req, body
}

// server returns the request as an inbox handler sees it.
func (m m9421) server(tb testing.TB) (*http.Request, []byte) {
	tb.Helper()
	req, _ := m.client(tb)
	return overWire(tb, req)
}

// checkAndVerify9421 is what an inbox handler does on the RFC 9421 path.
func checkAndVerify9421(r *http.Request, body []byte, publicBase string, pub crypto.PublicKey) (*Params9421, error) {
	p, err := Check9421(r, body, now, time.Hour)
	if err != nil {
		return p, err
	}
	return p, p.Verify(r, publicBase, pub)
}

var sig9421RE = regexp.MustCompile(`^sig1=:[A-Za-z0-9+/]+=*:$`)

func TestSign9421RoundTrip(t *testing.T) {
	alice, _ := testKeys(t)
	carol := carolKey(t)
	for _, k := range []struct {
		name  string
		key   crypto.Signer
		pub   crypto.PublicKey
		alg   string
		keyID string
	}{
		{"rsa", alice, &alice.PublicKey, "rsa-v1_5-sha256", aliceID},
		{"ed25519", carol, carol.Public(), "ed25519", carolKeyID},
	} {
		for _, tt := range []struct {
			name, method, target string
			body                 []byte
			input                string
		}{
			{"post", http.MethodPost, inboxURL, activity, `("@method" "@target-uri" "content-digest")`},
			{"get with query", http.MethodGet, "https://remote.example:443/users/bob/outbox?page=true&min_id=%2F1", nil, `("@method" "@target-uri")`},
			{"get non-default port", http.MethodGet, "https://Remote.Example:8443/objects/1", nil, `("@method" "@target-uri")`},
		} {
			t.Run(k.name+"/"+tt.name, func(t *testing.T) {
				req := newReq(t, tt.method, tt.target, tt.body)
				if err := SignRequest9421(req, tt.body, k.keyID, k.key, now); err != nil {
					t.Fatal(err)
				}
				wantInput := `sig1=` + tt.input + `;alg="` + k.alg + `";keyid="` + k.keyID + `";created=1714564800`
				if got := req.Header.Get("Signature-Input"); got != wantInput {
					t.Errorf("Signature-Input = %s\nwant %s", got, wantInput)
				}
				if got := req.Header.Get("Signature"); !sig9421RE.MatchString(got) {
					t.Errorf("Signature = %q", got)
				}
				if tt.body != nil {
					if got := req.Header.Get("Content-Digest"); got != contentDigest256(tt.body) {
						t.Errorf("Content-Digest = %q", got)
					}
				} else if req.Header.Get("Content-Digest") != "" {
					t.Error("Content-Digest set on a GET")
				}
				if req.Header.Get("Date") != "Wed, 01 May 2024 12:00:00 GMT" {
					t.Errorf("Date = %q", req.Header.Get("Date"))
				}

				sr, body := overWire(t, req)
				if !IsRFC9421(sr.Header) {
					t.Fatal("IsRFC9421 = false")
				}
				u := req.URL
				publicBase := "https://" + u.Host
				p, err := checkAndVerify9421(sr, body, publicBase, k.pub)
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if p.KeyID != k.keyID || p.Alg != k.alg || p.Label != "sig1" || p.Created != now.Unix() {
					t.Errorf("params = %+v", p)
				}
				// publicBase decides @target-uri: plain http (what the
				// server sees without TLS) must not verify.
				if err := p.Verify(sr, "", k.pub); ReasonOf(err) != ReasonSignature {
					t.Errorf("Verify without public base: %v, want signature failure", err)
				}
			})
		}
	}
}

// TestSign9421MatchesHandBuilt checks SignRequest9421 against an independent
// base; RSA PKCS#1 v1.5 and Ed25519 are deterministic, so the signature
// bytes must be identical.
func TestSign9421MatchesHandBuilt(t *testing.T) {
	alice, _ := testKeys(t)
	carol := carolKey(t)
	for _, k := range []struct {
		name string
		key  crypto.Signer
		sign func([]byte) []byte
		alg  string
	}{
		{"rsa", alice, signRSA(alice), "rsa-v1_5-sha256"},
		{"ed25519", carol, signEd(carol), "ed25519"},
	} {
		t.Run(k.name, func(t *testing.T) {
			req := newReq(t, http.MethodPost, coopInbox, activity)
			if err := SignRequest9421(req, activity, fedifyKey, k.key, now); err != nil {
				t.Fatal(err)
			}
			want, _ := m9421{
				components: []string{"@method", "@target-uri", "content-digest"},
				params:     fedifyParams(k.alg, fedifyKey, now.Unix()),
				sign:       k.sign,
			}.client(t)
			for _, h := range []string{"Signature-Input", "Signature", "Content-Digest"} {
				if got, w := req.Header.Get(h), want.Header.Get(h); got != w {
					t.Errorf("%s = %s\nwant %s", h, got, w)
				}
			}
		})
	}
}

func TestSign9421Retry(t *testing.T) {
	alice, _ := testKeys(t)
	req := newReq(t, http.MethodPost, inboxURL, activity)
	if err := SignRequest9421(req, []byte("old body"), aliceID, alice, now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := SignRequest9421(req, activity, aliceID, alice, now); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Signature-Input", "Signature", "Content-Digest", "Date", "Host"} {
		if n := len(req.Header.Values(h)); n != 1 {
			t.Errorf("%d %s headers after re-signing", n, h)
		}
	}
	sr, body := overWire(t, req)
	if _, err := checkAndVerify9421(sr, body, "https://remote.example", &alice.PublicKey); err != nil {
		t.Fatal(err)
	}
}

func TestSign9421Errors(t *testing.T) {
	alice, _ := testKeys(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, keyID, target string
		key                 crypto.Signer
	}{
		{"empty key id", "", inboxURL, alice},
		{"newline in key id", "https://a.example/k\n", inboxURL, alice},
		{"non-ascii key id", "https://é.example/k", inboxURL, alice},
		{"nil key", aliceID, inboxURL, nil},
		{"ecdsa key", aliceID, inboxURL, ec},
		{"ftp url", aliceID, "ftp://remote.example/x", alice},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := newReq(t, http.MethodGet, tt.target, nil)
			if err := SignRequest9421(req, nil, tt.keyID, tt.key, now); err == nil {
				t.Fatal("expected error")
			}
		})
	}
	// A quote in the key id is legal in a structured string and escaped.
	req := newReq(t, http.MethodGet, inboxURL, nil)
	if err := SignRequest9421(req, nil, `https://a.example/k"1`, alice, now); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Signature-Input"); !strings.Contains(got, `keyid="https://a.example/k\"1"`) {
		t.Errorf("Signature-Input = %s", got)
	}
	p, err := checkAndVerify9421(req, nil, "https://remote.example", &alice.PublicKey)
	if err != nil || p.KeyID != `https://a.example/k"1` {
		t.Fatalf("p = %+v, err = %v", p, err)
	}
}

// ---------------------------------------------------------------------------
// RFC 9421 Appendix B test vectors.

// rfcB2Request is the request of RFC 9421 Appendix B.2 with the given
// Signature-Input and Signature fields.
func rfcB2Request(tb testing.TB, input, sig string) (*http.Request, []byte) {
	tb.Helper()
	raw := "POST /foo?param=Value&Pet=dog HTTP/1.1\r\n" +
		"Host: example.com\r\n" +
		"Date: Tue, 20 Apr 2021 02:07:55 GMT\r\n" +
		"Content-Type: application/json\r\n" +
		"Content-Digest: sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\r\n" +
		"Content-Length: 18\r\n" +
		"Signature-Input: " + input + "\r\n" +
		"Signature: " + sig + "\r\n" +
		"\r\n" +
		`{"hello": "world"}`
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		tb.Fatal(err)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return r, body
}

// parseLabel returns the parsed candidate with the given label, without
// the coverage policy of Check9421 (the vectors are not inbox requests).
func parseLabel(tb testing.TB, r *http.Request, label string) *Params9421 {
	tb.Helper()
	cands, err := parse9421(r.Header)
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range cands {
		if c.p.Label == label {
			if c.err != nil {
				tb.Fatal(c.err)
			}
			return c.p
		}
	}
	tb.Fatalf("label %s not found", label)
	return nil
}

const (
	rfcCreated = 1618884473
	b26Input   = `sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`
	b26Sig     = `sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:`
	b26Base    = `"date": Tue, 20 Apr 2021 02:07:55 GMT
"@method": POST
"@path": /foo
"@authority": example.com
"content-type": application/json
"content-length": 18
"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`

	b21Input = `sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"`
	b21Sig   = `sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:`
	b21Base  = `"@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"`

	b23Input = `sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"`
	b23Sig   = `sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:`
	b23Base  = `"date": Tue, 20 Apr 2021 02:07:55 GMT
"@method": POST
"@path": /foo
"@query": ?param=Value&Pet=dog
"@authority": example.com
"content-type": application/json
"content-digest": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:
"content-length": 18
"@signature-params": ("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"`
)

func TestRFC9421VectorB26Ed25519(t *testing.T) {
	r, _ := rfcB2Request(t, b26Input, b26Sig)
	p := parseLabel(t, r, "sig-b26")
	base, err := p.signatureBase(r, "https://example.com")
	if err != nil {
		t.Fatal(err)
	}
	if base != b26Base {
		t.Fatalf("base =\n%s\nwant\n%s", base, b26Base)
	}
	// Ed25519 is deterministic: signing the base with the RFC's private
	// key (B.1.4) must reproduce the published signature byte for byte.
	priv := loadEd25519(t, "rfc9421-test-key-ed25519.pem")
	if got := ed25519.Sign(priv, []byte(base)); !bytes.Equal(got, p.Signature) {
		t.Fatalf("signature = %s, want the published one", base64.StdEncoding.EncodeToString(got))
	}
	pub := loadPublic(t, "rfc9421-test-key-ed25519.pub.pem")
	if err := p.Verify(r, "https://example.com", pub); err != nil {
		t.Fatal(err)
	}
	// Without a public base, @authority comes from Host.
	if err := p.Verify(r, "", pub); err != nil {
		t.Fatalf("Verify from Host: %v", err)
	}
	if err := p.Verify(r, "https://example.org", pub); ReasonOf(err) != ReasonSignature {
		t.Errorf("other authority: %v", err)
	}
	alice, _ := testKeys(t)
	if err := p.Verify(r, "https://example.com", &alice.PublicKey); err == nil {
		t.Error("verified with an RSA key")
	}
	r.Header.Set("Date", "Tue, 20 Apr 2021 02:07:56 GMT")
	if err := p.Verify(r, "https://example.com", pub); ReasonOf(err) != ReasonSignature {
		t.Errorf("tampered date: %v", err)
	}
	// B.2.6 does not cover content-digest, so Check9421 refuses it for a
	// POST even at the right time.
	if _, err := Check9421(r, nil, time.Unix(rfcCreated, 0), time.Hour); ReasonOf(err) != ReasonHeaders {
		t.Errorf("Check9421 = %v, want headers", err)
	}
}

func TestRFC9421VectorB21RSAPSS(t *testing.T) {
	r, _ := rfcB2Request(t, b21Input, b21Sig)
	p := parseLabel(t, r, "sig-b21")
	if p.Nonce != "b3k2pp5k7z-50gnwp.yemd" || len(p.Components) != 0 {
		t.Fatalf("params = %+v", p)
	}
	base, err := p.signatureBase(r, "https://example.com")
	if err != nil {
		t.Fatal(err)
	}
	if base != b21Base {
		t.Fatalf("base =\n%s\nwant\n%s", base, b21Base)
	}
	pub := loadPublic(t, "rfc9421-test-key-rsa-pss.pub.pem")
	// B.2.1 has no alg: the verifier knows from key metadata (B.1.2) that
	// test-key-rsa-pss is an RSA-PSS key. With RSA keys we otherwise assume
	// rsa-v1_5-sha256, the fediverse default, which must fail here.
	if err := p.Verify(r, "https://example.com", pub); ReasonOf(err) != ReasonSignature {
		t.Fatalf("as rsa-v1_5-sha256: %v", err)
	}
	p.Alg = "rsa-pss-sha512"
	if err := p.Verify(r, "https://example.com", pub); err != nil {
		t.Fatal(err)
	}
	// Minimal coverage is refused for inbox use.
	if _, err := Check9421(r, nil, time.Unix(rfcCreated, 0), time.Hour); ReasonOf(err) != ReasonHeaders {
		t.Errorf("Check9421 = %v, want headers", err)
	}
}

func TestRFC9421VectorB23RSAPSS(t *testing.T) {
	r, body := rfcB2Request(t, b23Input, b23Sig)
	// Full coverage passes every key-free check, including the sha-512
	// Content-Digest of RFC 9530 against the body.
	p, err := Check9421(r, body, time.Unix(rfcCreated+30, 0), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	base, err := p.signatureBase(r, "https://example.com")
	if err != nil {
		t.Fatal(err)
	}
	if base != b23Base {
		t.Fatalf("base =\n%s\nwant\n%s", base, b23Base)
	}
	pub := loadPublic(t, "rfc9421-test-key-rsa-pss.pub.pem")
	p.Alg = "rsa-pss-sha512" // key metadata, see B.2.1
	if err := p.Verify(r, "https://example.com", pub); err != nil {
		t.Fatal(err)
	}
	if _, err := Check9421(r, []byte(`{"hello": "world!"}`), time.Unix(rfcCreated, 0), time.Hour); ReasonOf(err) != ReasonDigest {
		t.Errorf("other body: %v, want digest", err)
	}
	if _, err := Check9421(r, body, time.Unix(rfcCreated+2*3600, 0), time.Hour); ReasonOf(err) != ReasonDate {
		t.Errorf("2 h later: %v, want date", err)
	}
}

// TestRFC9421VectorsTogether sends B.2.1, B.2.3 and B.2.6 in one request:
// Check9421 must pick B.2.3, the only label with enough coverage.
func TestRFC9421VectorsTogether(t *testing.T) {
	r, body := rfcB2Request(t, b21Input+", "+b26Input+", "+b23Input, b26Sig+", "+b21Sig+", "+b23Sig)
	p, err := Check9421(r, body, time.Unix(rfcCreated, 0), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if p.Label != "sig-b23" {
		t.Fatalf("chose %s", p.Label)
	}
}

// ---------------------------------------------------------------------------
// Interop shapes

func TestFedifyShaped(t *testing.T) {
	alice, _ := testKeys(t)
	carol := carolKey(t)
	for _, tt := range []struct {
		name string
		m    m9421
		pub  crypto.PublicKey
		want string // exact Signature-Input sent
	}{
		{
			// Fedify signRequestRfc9421 (packages/fedify/src/sig/http.ts):
			// label sig1, these components in this order (content-digest
			// only with a body), params alg;keyid;created.
			name: "fedify post",
			m:    m9421{},
			pub:  &alice.PublicKey,
			want: `sig1=("@method" "@target-uri" "@authority" "host" "date" "content-digest");alg="rsa-v1_5-sha256";keyid="https://fedify.example/users/a#main-key";created=1714564800`,
		},
		{
			name: "fedify get",
			m:    m9421{method: http.MethodGet, target: "https://coop.example/users/bob?x=1"},
			pub:  &alice.PublicKey,
			want: `sig1=("@method" "@target-uri" "@authority" "host" "date");alg="rsa-v1_5-sha256";keyid="https://fedify.example/users/a#main-key";created=1714564800`,
		},
		{
			// The minimal shape: also what Mastodon requires.
			name: "minimal post",
			m:    m9421{components: []string{"@method", "@target-uri", "content-digest"}},
			pub:  &alice.PublicKey,
			want: `sig1=("@method" "@target-uri" "content-digest");alg="rsa-v1_5-sha256";keyid="https://fedify.example/users/a#main-key";created=1714564800`,
		},
		{
			// Mitra create_http_signature_rfc9421: no alg, keyid;created,
			// Ed25519 (FEP-521a) or RSA keys.
			name: "mitra ed25519 post",
			m: m9421{
				components: []string{"@method", "@target-uri", "content-digest"},
				params:     `;keyid="https://mitra.example/users/m#ed25519-key";created=1714564800`,
				sign:       signEd(carol),
			},
			pub:  carol.Public(),
			want: `sig1=("@method" "@target-uri" "content-digest");keyid="https://mitra.example/users/m#ed25519-key";created=1714564800`,
		},
		{
			name: "mitra rsa get",
			m: m9421{
				method:     http.MethodGet,
				components: []string{"@method", "@target-uri"},
				params:     `;keyid="https://mitra.example/users/m#main-key";created=1714564800`,
			},
			pub:  &alice.PublicKey,
			want: `sig1=("@method" "@target-uri");keyid="https://mitra.example/users/m#main-key";created=1714564800`,
		},
		{
			name: "rsa-pss with authority path query",
			m: m9421{
				target:     "https://coop.example/users/bob/inbox?a=1&b=%20",
				components: []string{"@method", "@authority", "@path", "@query", "content-digest"},
				params:     `;created=1714564800;keyid="k";alg="rsa-pss-sha512"`,
				sign:       signPSS(alice),
			},
			pub:  &alice.PublicKey,
			want: `sig1=("@method" "@authority" "@path" "@query" "content-digest");created=1714564800;keyid="k";alg="rsa-pss-sha512"`,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, body := tt.m.server(t)
			if got := r.Header.Get("Signature-Input"); got != tt.want {
				t.Fatalf("Signature-Input = %s\nwant %s", got, tt.want)
			}
			if !IsRFC9421(r.Header) {
				t.Fatal("IsRFC9421 = false")
			}
			if _, err := checkAndVerify9421(r, body, coopBase, tt.pub); err != nil {
				t.Fatal(err)
			}
			// A trailing slash on the configured base is tolerated.
			if _, err := checkAndVerify9421(r, body, coopBase+"/", tt.pub); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Failures

func TestFailureReasons9421(t *testing.T) {
	alice, mallory := testKeys(t)
	carol := carolKey(t)
	created := func(ts int64) string { return fedifyParams("rsa-v1_5-sha256", fedifyKey, ts) }
	setHeader := func(k, v string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set(k, v) }
	}
	delHeader := func(k string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Del(k) }
	}
	for _, tt := range []struct {
		name  string
		m     m9421
		base  string           // default coopBase
		pub   crypto.PublicKey // default alice
		want  string
		label string // expected chosen (or reported) label, if set
	}{
		{name: "ok", want: ""},
		{name: "missing Signature-Input", m: m9421{after: delHeader("Signature-Input")}, want: ReasonMissing},
		{name: "missing Signature", m: m9421{after: delHeader("Signature")}, want: ReasonMissing},
		{name: "bad sfv input", m: m9421{after: setHeader("Signature-Input", `sig1=("@method" "@target-uri";created=1`)}, want: ReasonMalformed},
		{name: "bad sfv signature", m: m9421{after: setHeader("Signature", `sig1=:not base64!:`)}, want: ReasonMalformed},
		{name: "signature not bytes", m: m9421{after: setHeader("Signature", `sig1="abc"`)}, want: ReasonMalformed},
		{name: "input not inner list", m: m9421{after: setHeader("Signature-Input", `sig1="@method";keyid="k";created=1`)}, want: ReasonMalformed},
		{name: "label mismatch", m: m9421{after: func(r *http.Request) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), "sig1=", "sig2=", 1))
		}}, want: ReasonMalformed},
		{name: "duplicate label", m: m9421{after: func(r *http.Request) {
			r.Header.Add("Signature-Input", r.Header.Get("Signature-Input"))
		}}, want: ReasonMalformed},
		{name: "duplicate param", m: m9421{params: created(now.Unix()) + ";created=1"}, want: ReasonMalformed},
		{name: "no keyid", m: m9421{params: `;alg="rsa-v1_5-sha256";created=1714564800`}, want: ReasonMalformed},
		{name: "created is a string", m: m9421{params: `;keyid="k";created="1714564800"`}, want: ReasonMalformed},
		{name: "created is a decimal", m: m9421{params: `;keyid="k";created=1714564800.0`}, want: ReasonMalformed},
		{name: "keyid is a token", m: m9421{params: `;keyid=k;created=1714564800`}, want: ReasonMalformed},
		{name: "duplicate component", m: m9421{components: []string{"@method", "@target-uri", "content-digest", "@method"}}, want: ReasonMalformed},
		{name: "uppercase component", m: m9421{components: []string{"@method", "@target-uri", "content-digest", "Date"}}, want: ReasonMalformed},
		{name: "signature-params covered", m: m9421{components: []string{"@method", "@target-uri", "content-digest", "@signature-params"}}, want: ReasonMalformed},
		{name: "component with sf param", m: m9421{components: []string{"@method", "@target-uri", `"content-digest";sf`}}, want: ReasonHeaders},
		{name: "query-param", m: m9421{components: []string{"@method", "@target-uri", "content-digest", `"@query-param";name="a"`}}, want: ReasonHeaders},
		{name: "status", m: m9421{components: []string{"@method", "@target-uri", "content-digest", "@status"}}, want: ReasonHeaders},
		{name: "post without content-digest coverage", m: m9421{components: []string{"@method", "@target-uri", "date"}}, want: ReasonHeaders},
		{name: "no method", m: m9421{components: []string{"@target-uri", "content-digest"}}, want: ReasonHeaders},
		{name: "no target", m: m9421{components: []string{"@method", "host", "content-digest"}}, want: ReasonHeaders},
		{name: "path without authority", m: m9421{components: []string{"@method", "@path", "content-digest"}}, want: ReasonHeaders},
		{name: "authority path, url has query", m: m9421{target: coopInbox + "?x=1", components: []string{"@method", "@authority", "@path", "content-digest"}}, want: ReasonHeaders},
		{name: "authority path query ok", m: m9421{target: coopInbox + "?x=1", components: []string{"@method", "@authority", "@path", "@query", "content-digest"}}, want: ""},
		{name: "authority request-target ok", m: m9421{target: coopInbox + "?x=1", components: []string{"@method", "@authority", "@request-target", "content-digest"},
			override: map[string]string{"@request-target": "/users/bob/inbox?x=1"}}, want: ""},
		{name: "covered header absent", m: m9421{components: []string{"@method", "@target-uri", "content-digest", "x-missing"}}, want: ReasonHeaders},
		{name: "created 2h old", m: m9421{params: created(now.Add(-2 * time.Hour).Unix())}, want: ReasonDate},
		{name: "created 2h ahead", m: m9421{params: created(now.Add(2 * time.Hour).Unix())}, want: ReasonDate},
		{name: "created 59m old ok", m: m9421{params: created(now.Add(-59 * time.Minute).Unix())}, want: ""},
		{name: "created missing", m: m9421{params: `;alg="rsa-v1_5-sha256";keyid="k"`}, want: ReasonDate},
		{name: "expired 2h ago", m: m9421{params: created(now.Add(-30*time.Minute).Unix()) + ";expires=" + strconv.FormatInt(now.Add(-2*time.Hour).Unix(), 10)}, want: ReasonDate},
		{name: "expires in future ok", m: m9421{params: created(now.Unix()) + ";expires=" + strconv.FormatInt(now.Add(time.Minute).Unix(), 10)}, want: ""},
		{name: "no content-digest at all", m: m9421{noDigest: true, components: []string{"@method", "@target-uri"}}, want: ReasonHeaders},
		{name: "content-digest absent but covered", m: m9421{after: delHeader("Content-Digest")}, want: ReasonDigest},
		{name: "digest mismatch", m: m9421{after: func(r *http.Request) {
			b := bytes.Replace(activity, []byte("Follow"), []byte("Block!"), 1)
			r.Body = io.NopCloser(bytes.NewReader(b))
		}}, want: ReasonDigest},
		{name: "digest only md5", m: m9421{after: setHeader("Content-Digest", "md5=:HUXZLQLMuI/KZ5KDcJPcOA==:")}, want: ReasonDigest},
		{name: "legacy Digest syntax", m: m9421{after: setHeader("Content-Digest", digestOf(activity))}, want: ReasonDigest},
		{name: "digest not bytes", m: m9421{after: setHeader("Content-Digest", `sha-256="abc"`)}, want: ReasonDigest},
		{name: "sha-256 right, sha-512 wrong", m: m9421{after: setHeader("Content-Digest", contentDigest256(activity)+", "+contentDigest512([]byte("x")))}, want: ReasonDigest},
		{name: "sha-512 only ok", m: m9421{components: []string{"@method", "@target-uri", "content-digest"}, override: map[string]string{"content-digest": contentDigest512(activity)},
			after: setHeader("Content-Digest", contentDigest512(activity))}, want: ""},
		{name: "sha-256 and sha-512 ok", m: m9421{components: []string{"@method", "@target-uri", "content-digest"}, override: map[string]string{"content-digest": contentDigest256(activity) + ", " + contentDigest512(activity)},
			after: setHeader("Content-Digest", contentDigest256(activity)+", "+contentDigest512(activity))}, want: ""},
		{name: "unknown alg hmac", m: m9421{params: fedifyParams("hmac-sha256", fedifyKey, now.Unix())}, want: ReasonAlgorithm},
		{name: "unknown alg ecdsa", m: m9421{params: fedifyParams("ecdsa-p256-sha256", fedifyKey, now.Unix())}, want: ReasonAlgorithm},
		{name: "alg ed25519 with rsa key", m: m9421{params: fedifyParams("ed25519", fedifyKey, now.Unix())}, want: ReasonAlgorithm},
		{name: "alg rsa with ed25519 key", m: m9421{sign: signEd(carol)}, pub: carol.Public(), want: ReasonAlgorithm},
		{name: "ed25519 no alg ok", m: m9421{sign: signEd(carol), params: `;keyid="k";created=1714564800`}, pub: carol.Public(), want: ""},
		{name: "ecdsa key", pub: &mustECDSA(t).PublicKey, want: ReasonAlgorithm},
		{name: "wrong key", pub: &mallory.PublicKey, want: ReasonSignature},
		{name: "pss signature as v1.5", m: m9421{sign: signPSS(alice)}, want: ReasonSignature},
		{name: "tampered path", m: m9421{after: func(r *http.Request) { r.URL.Path = "/users/eve/inbox" }}, want: ReasonSignature},
		{name: "tampered query", m: m9421{after: func(r *http.Request) { r.URL.RawQuery = "x=1" }}, want: ReasonSignature},
		{name: "tampered method", m: m9421{after: func(r *http.Request) { r.Method = http.MethodPut }}, want: ReasonSignature},
		{name: "tampered date", m: m9421{after: setHeader("Date", now.Add(time.Second).UTC().Format(http.TimeFormat))}, want: ReasonSignature},
		{name: "tampered host", m: m9421{after: func(r *http.Request) { r.Host = "Coop.example" }}, want: ReasonSignature},
		{name: "tampered created", m: m9421{after: func(r *http.Request) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), "created=1714564800", "created=1714564801", 1))
		}}, want: ReasonSignature},
		{name: "tampered keyid", m: m9421{after: func(r *http.Request) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), "fedify.example", "evil.example", 1))
		}}, want: ReasonSignature},
		{name: "tampered content-type not covered ok", m: m9421{after: setHeader("Content-Type", "text/plain")}, want: ""},
		{name: "wrong public authority", base: "https://other.example", want: ReasonSignature},
		{name: "wrong public scheme", base: "http://coop.example", want: ReasonSignature},
		{name: "public base with default port ok", base: "HTTPS://COOP.EXAMPLE:443", want: ""},
		{name: "first label insufficient, second used", label: "good", m: m9421{label: "good", after: func(r *http.Request) {
			r.Header.Set("Signature-Input", `weak=("@method");keyid="k";created=1714564800, `+r.Header.Get("Signature-Input"))
			r.Header.Set("Signature", `weak=:AAAA:, `+r.Header.Get("Signature"))
		}}, want: ""},
		{name: "first label unknown alg, second used", label: "good", m: m9421{label: "good", after: func(r *http.Request) {
			r.Header.Set("Signature-Input", `hm=("@method" "@target-uri" "content-digest");alg="hmac-sha256";keyid="k";created=1714564800, `+r.Header.Get("Signature-Input"))
			r.Header.Set("Signature", `hm=:AAAA:, `+r.Header.Get("Signature"))
		}}, want: ""},
		{name: "all labels insufficient, first reported", label: "a", m: m9421{label: "b", components: []string{"@method", "@target-uri"}, after: func(r *http.Request) {
			r.Header.Set("Signature-Input", `a=("@method");keyid="k";created=1714564800, `+r.Header.Get("Signature-Input"))
			r.Header.Set("Signature", `a=:AAAA:, `+r.Header.Get("Signature"))
		}}, want: ReasonHeaders},
		{name: "inputs split over field lines", m: m9421{after: func(r *http.Request) {
			r.Header.Add("Signature-Input", `other=("@method");keyid="k";created=1`)
			r.Header.Add("Signature", `other=:AAAA:`)
		}}, want: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, body := tt.m.server(t)
			base := tt.base
			if base == "" {
				base = coopBase
			}
			pub := tt.pub
			if pub == nil {
				pub = &alice.PublicKey
			}
			p, err := checkAndVerify9421(r, body, base, pub)
			if got := ReasonOf(err); got != tt.want || (tt.want != "" && err == nil) {
				t.Fatalf("reason %q (err %v), want %q", got, err, tt.want)
			}
			if tt.label != "" && (p == nil || p.Label != tt.label) {
				t.Errorf("params = %+v, want label %s", p, tt.label)
			}
			if tt.want == "" || tt.want == ReasonMissing {
				return
			}
			if p == nil && tt.want != ReasonMalformed {
				t.Errorf("no params returned alongside %s error", tt.want)
			}
		})
	}
}

func mustECDSA(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func TestVerify9421Misuse(t *testing.T) {
	alice, _ := testKeys(t)
	r, body := m9421{}.server(t)
	p, err := Check9421(r, body, now, 0) // 0 means DefaultWindow
	if err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{"coop.example", "ftp://coop.example", "https://coop.example/sub", "https://u@coop.example", "https://coop.example?x", "://"} {
		err := p.Verify(r, base, &alice.PublicKey)
		if err == nil || ReasonOf(err) != "" {
			t.Errorf("public base %q: %v, want a plain (caller) error", base, err)
		}
	}
	// A line break in a covered value cannot come over the wire, but a
	// hand-made request must not forge base lines either.
	q := &Params9421{Components: []string{"x-a"}, SignatureParams: `("x-a")`, Signature: []byte{1}}
	hr := httptest.NewRequest(http.MethodGet, "/", nil)
	hr.Header.Set("X-A", "v")
	hr.Header["X-A"] = []string{"v\n\"@method\": POST"}
	if err := q.Verify(hr, coopBase, &alice.PublicKey); ReasonOf(err) != ReasonHeaders {
		t.Errorf("line break: %v", err)
	}
	if err := (&Params9421{SignatureParams: "()"}).Verify(hr, coopBase, &alice.PublicKey); ReasonOf(err) != ReasonMalformed {
		t.Errorf("empty signature: %v", err)
	}
	if err := q.Verify(hr, coopBase, ed25519.PublicKey{1, 2}); ReasonOf(err) != ReasonAlgorithm {
		t.Errorf("short ed25519 key: %v", err)
	}
	if err := q.Verify(hr, coopBase, (*rsa.PublicKey)(nil)); ReasonOf(err) != ReasonAlgorithm {
		t.Errorf("nil rsa key: %v", err)
	}
	// Verify leaves the request alone.
	before := r.Header.Clone()
	_ = p.Verify(r, coopBase, &alice.PublicKey)
	for k, v := range before {
		if strings.Join(r.Header[k], "\x00") != strings.Join(v, "\x00") {
			t.Errorf("header %s modified", k)
		}
	}
}

func TestMultiValueHeaderField9421(t *testing.T) {
	alice, _ := testKeys(t)
	m := m9421{
		components: []string{"@method", "@target-uri", "content-digest", "x-list"},
		override:   map[string]string{"x-list": "a, b,  c"},
		after: func(r *http.Request) {
			r.Header.Del("X-List")
			r.Header.Add("X-List", "  a")
			r.Header.Add("X-List", "b,  c ")
		},
	}
	r, body := m.server(t)
	if _, err := checkAndVerify9421(r, body, coopBase, &alice.PublicKey); err != nil {
		t.Fatal(err)
	}
}

func TestSignatureParamsCanonical9421(t *testing.T) {
	h := http.Header{}
	h.Set("Signature-Input", `sig1=( "@method"  "@target-uri" );created=01714564800;keyid="a\"b";x=?1;y=1.50;z=tok`)
	h.Set("Signature", "sig1=:AQID:")
	cands, err := parse9421(h)
	if err != nil || len(cands) != 1 || cands[0].err != nil {
		t.Fatalf("parse: %v %+v", err, cands)
	}
	p := cands[0].p
	want := `("@method" "@target-uri");created=1714564800;keyid="a\"b";x;y=1.5;z=tok`
	if p.SignatureParams != want {
		t.Errorf("SignatureParams = %s\nwant %s", p.SignatureParams, want)
	}
	if p.KeyID != `a"b` || p.Created != 1714564800 || !bytes.Equal(p.Signature, []byte{1, 2, 3}) {
		t.Errorf("params = %+v", p)
	}
}

func TestIsRFC9421(t *testing.T) {
	h := http.Header{}
	if IsRFC9421(h) {
		t.Error("empty header")
	}
	h.Set("Signature", `keyId="k",signature="AAAA"`)
	if IsRFC9421(h) {
		t.Error("draft-cavage Signature alone")
	}
	h.Set("signature-input", `sig1=();keyid="k"`)
	if !IsRFC9421(h) {
		t.Error("Signature-Input not detected")
	}
}

// TestOverHTTP9421 runs an inbox on loopback that dispatches between the two
// schemes and answers 401 to anything it cannot verify.
func TestOverHTTP9421(t *testing.T) {
	alice, mallory := testKeys(t)
	carol := carolKey(t)
	keys := map[string]crypto.PublicKey{aliceID: &alice.PublicKey, carolKeyID: carol.Public()}
	var publicBase string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var err error
		if IsRFC9421(r.Header) {
			var p *Params9421
			if p, err = Check9421(r, body, now, time.Hour); err == nil {
				err = p.Verify(r, publicBase, keys[p.KeyID])
			}
		} else {
			var p *Params
			if p, err = Check(r, body, now, time.Hour); err == nil {
				err = p.Verify(r, keys[p.KeyID])
			}
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	publicBase = srv.URL

	do := func(sign func(*http.Request) error) int {
		t.Helper()
		req := newReq(t, http.MethodPost, srv.URL+"/users/bob/inbox?x=1", activity)
		req.Header.Set("Content-Type", "application/activity+json")
		if err := sign(req); err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct {
		name string
		sign func(*http.Request) error
		want int
	}{
		{"rfc9421 rsa", func(r *http.Request) error { return SignRequest9421(r, activity, aliceID, alice, now) }, http.StatusAccepted},
		{"rfc9421 ed25519", func(r *http.Request) error { return SignRequest9421(r, activity, carolKeyID, carol, now) }, http.StatusAccepted},
		{"rfc9421 wrong key", func(r *http.Request) error { return SignRequest9421(r, activity, aliceID, mallory, now) }, http.StatusUnauthorized},
		{"rfc9421 other body", func(r *http.Request) error { return SignRequest9421(r, []byte("{}"), aliceID, alice, now) }, http.StatusUnauthorized},
		{"draft-cavage", func(r *http.Request) error { return newSigner(t).SignPost(r, activity, now) }, http.StatusAccepted},
		{"unsigned", func(*http.Request) error { return nil }, http.StatusUnauthorized},
		{"hmac", func(r *http.Request) error {
			r.Header.Set("Signature-Input", `sig1=("@method" "@target-uri" "content-digest");alg="hmac-sha256";keyid="`+aliceID+`";created=1714564800`)
			r.Header.Set("Signature", "sig1=:AAAA:")
			return nil
		}, http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := do(tt.sign); got != tt.want {
				t.Fatalf("status %d, want %d", got, tt.want)
			}
		})
	}
}

func BenchmarkCheckAndVerify9421(b *testing.B) {
	alice, _ := testKeys(b)
	req := newReq(b, http.MethodPost, coopInbox, activity)
	if err := SignRequest9421(req, activity, aliceID, alice, now); err != nil {
		b.Fatal(err)
	}
	r, body := overWire(b, req)
	b.ResetTimer()
	for b.Loop() {
		if _, err := checkAndVerify9421(r, body, coopBase, &alice.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
}
