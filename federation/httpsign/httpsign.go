// Package httpsign signs outgoing ActivityPub requests and verifies incoming
// ones with draft-cavage HTTP Signatures (rsa-sha256), the scheme spoken by
// Mastodon, GoToSocial, Mitra, Fedify and most of the fediverse.
//
// The signature string and the RSA operations come from
// github.com/go-fed/httpsig v1.1.0. That library leaves several checks to the
// caller (body vs Digest, which headers were signed, Date freshness) and has
// a naive parameter parser, so this package parses the header itself, runs
// those checks in [Check], and hands httpsig only a normalised header in
// [Params.Verify].
//
// Typical inbox use:
//
//	body, _ := io.ReadAll(io.LimitReader(r.Body, max))
//	p, err := httpsign.Check(r, body, time.Now(), httpsign.DefaultWindow)
//	if err != nil { ... httpsign.ReasonOf(err) ... }
//	pub := fetchKey(p.KeyID)
//	if err := p.Verify(r, pub); err != nil { ... }
package httpsign

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-fed/httpsig"
)

// DefaultWindow is the clock-skew/replay window Mastodon uses for Date,
// (created) and (expires); pass it to [Check] unless you have a reason not to.
const DefaultWindow = time.Hour

// Header names and pseudo-headers used by draft-cavage signatures.
const (
	hdrSignature     = "Signature"
	hdrAuthorization = "Authorization"
	hdrDate          = "Date"
	hdrDigest        = "Digest"
	hdrHost          = "Host"
	hdrContentType   = "Content-Type"

	requestTarget = "(request-target)"
	pseudoCreated = "(created)"
	pseudoExpires = "(expires)"

	algRSASHA256 = "rsa-sha256"
	algHS2019    = "hs2019"
)

// Failure reasons carried by [Error]. They are short, stable strings meant
// for metrics labels and log fields.
const (
	// ReasonMissing: the request carries no signature at all.
	ReasonMissing = "missing"
	// ReasonMalformed: the Signature/Authorization header cannot be parsed.
	ReasonMalformed = "malformed"
	// ReasonHeaders: the signature does not cover the headers we require,
	// or names a header the request does not have.
	ReasonHeaders = "headers"
	// ReasonDate: Date (or created/expires) is absent, unparseable or
	// outside the accepted window.
	ReasonDate = "date"
	// ReasonDigest: Digest is absent where required, uses no supported
	// algorithm, is malformed, or does not match the body.
	ReasonDigest = "digest"
	// ReasonAlgorithm: the signature algorithm is not rsa-sha256/hs2019, or
	// the key is not an RSA key.
	ReasonAlgorithm = "algorithm"
	// ReasonSignature: the cryptographic verification failed.
	ReasonSignature = "signature"
)

// Error is the error type returned by this package's checks. Reason is one
// of the Reason* constants; Err holds the human-readable detail.
type Error struct {
	Reason string
	Err    error
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err == nil {
		return "httpsign: " + e.Reason
	}
	return "httpsign: " + e.Reason + ": " + e.Err.Error()
}

// Unwrap returns the underlying detail error.
func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the Reason of err if it is (or wraps) an *Error, and ""
// otherwise.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func fail(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// ---------------------------------------------------------------------------
// Signing

// Signer signs requests with one RSA key. Not safe for concurrent use: give
// each worker its own (httpsig signers keep hash state between calls).
type Signer struct {
	keyID string
	key   *rsa.PrivateKey

	get    httpsig.Signer // (request-target) host date
	post   httpsig.Signer // (request-target) host date digest
	postCT httpsig.Signer // (request-target) host date digest content-type
}

var (
	headersGet    = []string{requestTarget, "host", "date"}
	headersPost   = []string{requestTarget, "host", "date", "digest"}
	headersPostCT = []string{requestTarget, "host", "date", "digest", "content-type"}
)

// NewSigner returns a Signer that signs with key and advertises keyID
// (normally the actor's "publicKey.id", e.g. "https://host/users/a#main-key").
func NewSigner(keyID string, key *rsa.PrivateKey) (*Signer, error) {
	if keyID == "" {
		return nil, errors.New("httpsign: empty key id")
	}
	// Why: the keyId is written inside a quoted-string; a quote, backslash
	// or control character would break (or inject into) the header.
	for _, c := range keyID {
		if c == '"' || c == '\\' || c < 0x20 || c == 0x7f {
			return nil, fmt.Errorf("httpsign: key id %q contains a character not allowed in a quoted header value", keyID)
		}
	}
	if key == nil {
		return nil, errors.New("httpsign: nil private key")
	}
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("httpsign: invalid private key: %w", err)
	}
	s := &Signer{keyID: keyID, key: key}
	for _, x := range []struct {
		dst     *httpsig.Signer
		headers []string
	}{{&s.get, headersGet}, {&s.post, headersPost}, {&s.postCT, headersPostCT}} {
		hs, algo, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, x.headers, httpsig.Signature, 0)
		if err != nil {
			return nil, fmt.Errorf("httpsign: %w", err)
		}
		if algo != httpsig.RSA_SHA256 {
			return nil, fmt.Errorf("httpsign: httpsig chose %q instead of rsa-sha256", algo)
		}
		*x.dst = hs
	}
	return s, nil
}

// KeyID returns the keyId this Signer puts in its signatures.
func (s *Signer) KeyID() string { return s.keyID }

// SignGet sets Host and Date (from now, http.TimeFormat, UTC) and signs
// "(request-target) host date" (draft-cavage, rsa-sha256 via httpsig
// RSA_SHA256). Removes any previous Signature header first, so it may be
// called again on a retry.
func (s *Signer) SignGet(req *http.Request, now time.Time) error {
	if err := prepare(req, now); err != nil {
		return err
	}
	return s.sign(s.get, req)
}

// SignPost sets Host, Date, Digest ("SHA-256=" base64 of body) and signs
// "(request-target) host date digest content-type" (content-type only if the
// header is set). Removes previous Digest/Signature so a retry can re-sign.
// body must be exactly the bytes that will be sent; nil means empty.
func (s *Signer) SignPost(req *http.Request, body []byte, now time.Time) error {
	if err := prepare(req, now); err != nil {
		return err
	}
	// Why: httpsig's SignRequest refuses to run when Digest is already set,
	// and a stale Digest from a previous attempt must never be re-signed.
	// We compute Digest ourselves and pass httpsig a nil body.
	sum := sha256.Sum256(body)
	req.Header.Set(hdrDigest, "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
	hs := s.post
	if req.Header.Get(hdrContentType) != "" {
		// Why: Mastodon signs content-type when present; covering it stops
		// a relay from re-labelling the payload.
		hs = s.postCT
	}
	return s.sign(hs, req)
}

// prepare sets the Host and Date headers and drops any old signature.
func prepare(req *http.Request, now time.Time) error {
	if req == nil || req.URL == nil {
		return errors.New("httpsign: nil request or URL")
	}
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	// Why: net/http keeps Host outside Header and writes req.Host (or
	// URL.Host) on the wire, so mirror exactly that value for signing. The
	// client never sends Header["Host"] itself.
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if host == "" {
		return errors.New("httpsign: request has no host")
	}
	req.Header.Set(hdrHost, host)
	req.Header.Set(hdrDate, now.UTC().Format(http.TimeFormat))
	// Why: httpsig appends with Header.Add; a second Signature value from a
	// previous attempt would make the request ambiguous and fail remotely.
	req.Header.Del(hdrSignature)
	return nil
}

func (s *Signer) sign(hs httpsig.Signer, req *http.Request) error {
	// Why: httpsig builds (request-target) from URL.Path, the *decoded*
	// path, but the wire (and Mastodon's verifier) uses the escaped path.
	// Hand it a view whose Path is the escaped form; Header is shared so the
	// Signature header lands on req.
	u := *req.URL
	u.Path = requestPath(req.URL)
	u.RawPath = ""
	view := &http.Request{Method: req.Method, URL: &u, Header: req.Header}
	if err := hs.SignRequest(s.key, s.keyID, view, nil); err != nil {
		return fmt.Errorf("httpsign: sign: %w", err)
	}
	// Why: httpsig always writes algorithm="hs2019". Mastodon accepts it,
	// but rsa-sha256 is what every draft-cavage verifier understands, and
	// the algorithm parameter is not covered by the signature, so rewriting
	// it afterwards is safe.
	v := req.Header.Get(hdrSignature)
	prefix := `keyId="` + s.keyID + `",algorithm="` + algHS2019 + `",`
	if !strings.HasPrefix(v, prefix) {
		return fmt.Errorf("httpsign: unexpected header from httpsig: %q", v)
	}
	req.Header.Set(hdrSignature, `keyId="`+s.keyID+`",algorithm="`+algRSASHA256+`",`+v[len(prefix):])
	return nil
}

// requestPath is the path as sent on the wire ("/" for an empty path).
func requestPath(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	return p
}

// ---------------------------------------------------------------------------
// Parsing

// Params is a parsed Signature header.
type Params struct {
	// KeyID is the keyId parameter, normally the URL of the actor's key.
	KeyID string
	// Algorithm is the algorithm parameter, lower-cased ("" if absent).
	Algorithm string
	// Headers lists the signed headers, lower-cased, in signing order.
	// When the parameter is absent it is ["date"], the draft's default.
	Headers []string
	// Signature is the base64 signature as received.
	Signature string
	// Created and Expires are the created/expires parameters (0 if absent).
	Created, Expires int64
}

// Parse reads the Signature header (or "Authorization: Signature ..."),
// tolerating spaces after commas and parameters in any order; errors on
// missing keyId/signature, bad base64, duplicate params. Errors are *Error
// with ReasonMissing or ReasonMalformed.
func Parse(h http.Header) (*Params, error) {
	raw, err := signatureValue(h)
	if err != nil {
		return nil, err
	}
	kv, err := parseParamList(raw)
	if err != nil {
		return nil, &Error{Reason: ReasonMalformed, Err: err}
	}
	p := &Params{KeyID: kv["keyId"], Signature: kv["signature"], Algorithm: strings.ToLower(kv["algorithm"])}
	if p.KeyID == "" {
		return nil, fail(ReasonMalformed, "missing keyId")
	}
	if p.Signature == "" {
		return nil, fail(ReasonMalformed, "missing signature")
	}
	if sig, err := base64.StdEncoding.DecodeString(p.Signature); err != nil || len(sig) == 0 {
		return nil, fail(ReasonMalformed, "signature is not valid base64")
	}
	if v, ok := kv["headers"]; ok {
		p.Headers = strings.Fields(strings.ToLower(v))
		if len(p.Headers) == 0 {
			return nil, fail(ReasonMalformed, "empty headers parameter")
		}
		for _, name := range p.Headers {
			if !isHeaderName(name) {
				return nil, fail(ReasonMalformed, "invalid header name %q in headers parameter", name)
			}
		}
	} else {
		// Why: draft-cavage says an absent headers parameter means only
		// Date was signed; Check will then reject it as too weak.
		p.Headers = []string{"date"}
	}
	for _, name := range []string{"created", "expires"} {
		v, ok := kv[name]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return nil, fail(ReasonMalformed, "%s parameter %q is not a positive integer", name, v)
		}
		if name == "created" {
			p.Created = n
		} else {
			p.Expires = n
		}
	}
	return p, nil
}

// signatureValue returns the parameter list from Signature, or from
// Authorization when it uses the "Signature" auth scheme.
func signatureValue(h http.Header) (string, error) {
	if vs := h.Values(hdrSignature); len(vs) > 0 {
		// Why: two Signature headers are ambiguous (which one did the
		// caller mean to verify?); refuse rather than guess.
		if len(vs) > 1 {
			return "", fail(ReasonMalformed, "%d Signature headers", len(vs))
		}
		if strings.TrimSpace(vs[0]) == "" {
			return "", fail(ReasonMissing, "empty Signature header")
		}
		return vs[0], nil
	}
	for _, a := range h.Values(hdrAuthorization) {
		a = strings.TrimLeft(a, " \t")
		if len(a) > len("Signature") && strings.EqualFold(a[:len("Signature")], "Signature") && (a[len("Signature")] == ' ' || a[len("Signature")] == '\t') {
			return a[len("Signature")+1:], nil
		}
	}
	return "", fail(ReasonMissing, "no Signature or Authorization: Signature header")
}

// parseParamList parses `name=value, name="quoted", ...` per RFC 7230 list
// syntax: optional whitespace around commas and '=', empty elements skipped,
// quoted-strings with backslash escapes, duplicates rejected.
func parseParamList(s string) (map[string]string, error) {
	out := make(map[string]string, 6)
	i := 0
	ows := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	for {
		ows()
		if i >= len(s) {
			break
		}
		if s[i] == ',' {
			i++
			continue
		}
		start := i
		for i < len(s) && isTokenChar(s[i]) {
			i++
		}
		name := s[start:i]
		if name == "" {
			return nil, fmt.Errorf("unexpected %q at offset %d", s[i], i)
		}
		ows()
		if i >= len(s) || s[i] != '=' {
			return nil, fmt.Errorf("parameter %q has no value", name)
		}
		i++
		ows()
		var val string
		if i < len(s) && s[i] == '"' {
			i++
			var b strings.Builder
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				i++
				if c == '"' {
					closed = true
					break
				}
				b.WriteByte(c)
			}
			if !closed {
				return nil, fmt.Errorf("unterminated quoted value for %q", name)
			}
			val = b.String()
		} else {
			start := i
			for i < len(s) && isTokenChar(s[i]) {
				i++
			}
			val = s[start:i]
			if val == "" {
				return nil, fmt.Errorf("parameter %q has an empty value", name)
			}
		}
		ows()
		if i < len(s) && s[i] != ',' {
			return nil, fmt.Errorf("expected ',' after parameter %q", name)
		}
		// Why: with duplicates, httpsig (last wins) and other
		// implementations (first wins) could disagree about what was signed.
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("duplicate parameter %q", name)
		}
		out[name] = val
	}
	return out, nil
}

// isHeaderName reports whether s is a field name or a "(pseudo-header)".
// Why: names end up in the header we hand httpsig, which must stay parseable.
func isHeaderName(s string) bool {
	if len(s) > 2 && s[0] == '(' && s[len(s)-1] == ')' {
		s = s[1 : len(s)-1]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c is an RFC 7230 tchar.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// ---------------------------------------------------------------------------
// Key-free checks

// Check runs every check that needs no key, in this order: signature present
// and parseable; algorithm is empty, "rsa-sha256" or "hs2019"; signed headers
// include (request-target), host, date, and digest when the request has a
// body (POST/PUT/PATCH or a non-empty body); the Date header is within
// ±window of now (created, if present, likewise; expires must not be more
// than window in the past); Digest is present when a body is expected,
// parses as a comma list of alg=value, has a SHA-256 or SHA-512 entry, and
// every such entry equals the recomputed digest of body (constant-time
// compare); finally every other signed header is actually present.
//
// body must be the complete request body as read by the caller. A window
// <= 0 means DefaultWindow. The parsed params are returned; when a check
// after parsing fails they are returned alongside the error so the keyId can
// be logged, but they must not be trusted.
func Check(r *http.Request, body []byte, now time.Time, window time.Duration) (*Params, error) {
	if window <= 0 {
		window = DefaultWindow
	}
	p, err := Parse(r.Header)
	if err != nil {
		return nil, err
	}
	if err := checkAlgorithm(p.Algorithm); err != nil {
		return p, err
	}

	// Why: httpsig verifies whatever list the sender chose. A signature
	// over "date" alone could be replayed against any URL and host, and
	// without digest the body could be swapped.
	needDigest := expectsBody(r, body)
	required := []string{requestTarget, "host", "date"}
	if needDigest {
		required = append(required, "digest")
	}
	for _, h := range required {
		if !slices.Contains(p.Headers, h) {
			return p, fail(ReasonHeaders, "signature does not cover %q (covers %q)", h, strings.Join(p.Headers, " "))
		}
	}

	if err := checkTime(r, p, now, window); err != nil {
		return p, err
	}

	if err := checkDigest(r, body, needDigest); err != nil {
		return p, err
	}

	// Why: a signed header that is absent makes verification fail later
	// anyway; say so precisely instead of reporting a bad signature.
	for _, h := range p.Headers {
		switch h {
		case requestTarget, "host":
			continue
		case pseudoCreated:
			if p.Created == 0 {
				return p, fail(ReasonHeaders, "(created) signed but created parameter absent")
			}
			continue
		case pseudoExpires:
			if p.Expires == 0 {
				return p, fail(ReasonHeaders, "(expires) signed but expires parameter absent")
			}
			continue
		}
		if len(r.Header.Values(h)) == 0 {
			return p, fail(ReasonHeaders, "signed header %q is absent from the request", h)
		}
	}
	return p, nil
}

func checkAlgorithm(alg string) error {
	// Why: the algorithm parameter is attacker-chosen; only accept the RSA
	// scheme we verify with (hs2019 means "derive from key", which for us is
	// always rsa-sha256). Anything else (hmac-*, rsa-sha1) is refused so a
	// public key can never be misused as an HMAC secret.
	switch alg {
	case "", algRSASHA256, algHS2019:
		return nil
	}
	return fail(ReasonAlgorithm, "unsupported algorithm %q", alg)
}

// expectsBody reports whether the request carries (or should carry) a body
// and therefore must have a signed Digest.
func expectsBody(r *http.Request, body []byte) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return true
	}
	return len(body) > 0
}

func checkTime(r *http.Request, p *Params, now time.Time, window time.Duration) error {
	// Why: Date bounds the replay window of a captured request; Mastodon
	// allows one hour each way for clock skew.
	ds := r.Header.Values(hdrDate)
	if len(ds) == 0 {
		return fail(ReasonDate, "Date header absent")
	}
	if len(ds) > 1 {
		// Why: the signature covers all values joined, but we could only
		// check one of them for freshness.
		return fail(ReasonDate, "%d Date headers", len(ds))
	}
	d, err := http.ParseTime(strings.TrimSpace(ds[0]))
	if err != nil {
		return fail(ReasonDate, "unparseable Date %q", ds[0])
	}
	if skew := now.Sub(d); skew > window || skew < -window {
		return fail(ReasonDate, "Date %s is %s from now, outside ±%s", ds[0], skew.Round(time.Second), window)
	}
	// Why: honour created/expires when the sender supplies them, with the
	// same tolerance, so a short-lived signature cannot be stretched by a
	// stale-but-in-window Date.
	if p.Created != 0 {
		c := time.Unix(p.Created, 0)
		if skew := now.Sub(c); skew > window || skew < -window {
			return fail(ReasonDate, "created %d is %s from now, outside ±%s", p.Created, skew.Round(time.Second), window)
		}
	}
	if p.Expires != 0 {
		if e := time.Unix(p.Expires, 0); now.Sub(e) > window {
			return fail(ReasonDate, "signature expired at %d", p.Expires)
		}
	}
	return nil
}

func checkDigest(r *http.Request, body []byte, required bool) error {
	vs := r.Header.Values(hdrDigest)
	if len(vs) == 0 {
		if required {
			// Why: without Digest the signature says nothing about the body.
			return fail(ReasonDigest, "Digest header absent")
		}
		return nil
	}
	// Why: httpsig never compares Digest with the body; do it here. Several
	// Digest lines are equivalent to one comma-joined list (RFC 3230).
	matched := 0
	for _, item := range strings.Split(strings.Join(vs, ","), ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		alg, val, ok := strings.Cut(item, "=")
		if !ok {
			return fail(ReasonDigest, "malformed Digest entry %q", item)
		}
		var h hash.Hash
		switch strings.ToUpper(strings.TrimSpace(alg)) {
		case "SHA-256":
			h = sha256.New()
		case "SHA-512":
			h = sha512.New()
		default:
			continue // unknown algorithms are ignored, per RFC 3230
		}
		want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(val))
		if err != nil {
			return fail(ReasonDigest, "Digest %s value is not base64", alg)
		}
		h.Write(body)
		// Why: constant-time so the comparison leaks nothing about how
		// much of an attacker-supplied digest matched.
		if subtle.ConstantTimeCompare(h.Sum(nil), want) != 1 {
			return fail(ReasonDigest, "Digest %s does not match the body", alg)
		}
		matched++
	}
	if matched == 0 {
		return fail(ReasonDigest, "no SHA-256 or SHA-512 entry in Digest %q", strings.Join(vs, ","))
	}
	return nil
}

// ---------------------------------------------------------------------------
// Verification

// Verify verifies the signature with pub (*rsa.PublicKey; any other key type
// yields ReasonAlgorithm for now), trying (request-target) with the query
// string and, if that fails and the URL has a query, without it (some
// servers sign only the path). If the escaped and decoded paths differ, the
// decoded path is tried too (go-fed/httpsig based senders sign URL.Path).
//
// It uses httpsig.NewVerifier on a copy of the request whose header has Host
// set from r.Host and a normalised Signature header; r is not modified and
// Verify is safe for concurrent use. Run [Check] first: Verify does not look
// at Date or Digest. Note that when (created)/(expires) are signed, httpsig
// additionally checks them against the wall clock with 10 s tolerance.
func (p *Params) Verify(r *http.Request, pub crypto.PublicKey) error {
	if err := checkAlgorithm(p.Algorithm); err != nil {
		return err
	}
	if _, ok := pub.(*rsa.PublicKey); !ok {
		return fail(ReasonAlgorithm, "key type %T is not supported (only RSA)", pub)
	}

	h := r.Header.Clone()
	if h == nil {
		h = make(http.Header)
	}
	// Why: the server side of net/http moves Host out of the header map, but
	// the signature covers it; r.Host is what the client actually sent.
	host := r.Host
	if host == "" {
		host = h.Get(hdrHost)
	}
	if host == "" && r.URL != nil {
		host = r.URL.Host
	}
	h.Set(hdrHost, host)
	// Why: httpsig's parser splits on bare commas and does not trim, and it
	// errors when both headers hold parameters; give it exactly one
	// canonical header built from what we parsed.
	h.Del(hdrAuthorization)
	h.Set(hdrSignature, p.normalised())

	if err := p.wallClock(time.Now()); err != nil {
		return err
	}

	u := r.URL
	if u == nil {
		u = &url.URL{}
	}
	paths := []string{requestPath(u)}
	if u.Path != "" && u.Path != paths[0] {
		paths = append(paths, u.Path)
	}
	queries := []string{u.RawQuery}
	if u.RawQuery != "" {
		queries = append(queries, "")
	}

	var first error
	for _, path := range paths {
		for _, q := range queries {
			view := &http.Request{Method: r.Method, Host: host, Header: h, URL: &url.URL{Path: path, RawQuery: q}}
			v, err := httpsig.NewVerifier(view)
			if err != nil {
				return fail(ReasonMalformed, "httpsig: %v", err)
			}
			err = v.Verify(pub, httpsig.RSA_SHA256)
			if err == nil {
				return nil
			}
			if first == nil {
				first = err
			}
		}
	}
	return &Error{Reason: ReasonSignature, Err: first}
}

// normalised renders p in the minimal form httpsig's parser handles: no
// spaces, single-space header list, and created/expires only when they are
// part of the signing string (httpsig otherwise checks them against the
// wall clock for no benefit). The keyId is not part of the signing string,
// so a placeholder keeps commas or quotes in real keyIds away from httpsig's
// naive comma split.
func (p *Params) normalised() string {
	var b strings.Builder
	b.WriteString(`keyId="k",`)
	if slices.Contains(p.Headers, pseudoCreated) {
		b.WriteString("created=" + strconv.FormatInt(p.Created, 10) + ",")
	}
	if slices.Contains(p.Headers, pseudoExpires) {
		b.WriteString("expires=" + strconv.FormatInt(p.Expires, 10) + ",")
	}
	b.WriteString(`headers="` + strings.Join(p.Headers, " ") + `",signature="` + p.Signature + `"`)
	return b.String()
}

// wallClock mirrors the created/expires test httpsig.NewVerifier applies with
// time.Now, so that failure is reported as ReasonDate rather than malformed.
func (p *Params) wallClock(now time.Time) error {
	if slices.Contains(p.Headers, pseudoCreated) && p.Created-now.Unix() > 10 {
		return fail(ReasonDate, "created %d is in the future", p.Created)
	}
	if slices.Contains(p.Headers, pseudoExpires) && now.Unix()-p.Expires > 10 {
		return fail(ReasonDate, "signature expired at %d", p.Expires)
	}
	return nil
}
