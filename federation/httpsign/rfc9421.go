package httpsign

// RFC 9421 HTTP Message Signatures.
//
// Fedify (first), Mastodon 4.5 and Mitra sign with RFC 9421 and fall back to
// draft-cavage when the receiver answers 4xx/5xx ("double-knocking"). An
// inbox handler dispatches on [IsRFC9421]:
//
//	if httpsign.IsRFC9421(r.Header) {
//		p, err := httpsign.Check9421(r, body, time.Now(), httpsign.DefaultWindow)
//		// on error: 401
//		pub := fetchKey(p.KeyID)
//		err = p.Verify(r, "https://coop.example", pub) // on error: 401
//	} else {
//		// draft-cavage: Check / Params.Verify as before
//	}
//
// Only the standard library is used; structured fields are handled by the
// small parser in sfv.go.

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
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
	"strings"
	"time"
)

const (
	hdrSignatureInput = "Signature-Input"
	hdrContentDigest  = "Content-Digest"

	// RFC 9421 section 6.2.2 algorithm names we verify.
	alg9421RSA     = "rsa-v1_5-sha256"
	alg9421PSS     = "rsa-pss-sha512"
	alg9421Ed25519 = "ed25519"

	// label9421 is the label Fedify and Mitra use, and so do we.
	label9421 = "sig1"

	compMethod        = "@method"
	compTargetURI     = "@target-uri"
	compAuthority     = "@authority"
	compScheme        = "@scheme"
	compRequestTarget = "@request-target"
	compPath          = "@path"
	compQuery         = "@query"
	compSigParams     = "@signature-params"
	compContentDigest = "content-digest"
)

// derived9421 are the derived components Verify can reproduce for a request.
var derived9421 = []string{compMethod, compTargetURI, compAuthority, compScheme, compRequestTarget, compPath, compQuery}

// IsRFC9421 reports whether the request carries RFC 9421 headers
// (Signature-Input). Use it to choose between [Check9421] and [Check]; note
// that both schemes use a header named Signature.
func IsRFC9421(h http.Header) bool {
	return len(h.Values(hdrSignatureInput)) > 0
}

// Params9421 is one parsed RFC 9421 signature: a Signature-Input member and
// the Signature member with the same label.
type Params9421 struct {
	// Label is the dictionary key shared by Signature-Input and Signature,
	// e.g. "sig1".
	Label string
	// Components lists the covered component identifiers in signing order,
	// e.g. "@method", "@target-uri", "content-digest". Identifiers with
	// parameters (";sf", ";key=", "@query-param";name=...) are not
	// supported and make parsing fail, so the names alone are lossless.
	Components []string
	// Created and Expires are the created/expires parameters in Unix
	// seconds (0 if absent).
	Created, Expires int64
	// KeyID is the keyid parameter, normally the URL of the actor's key.
	KeyID string
	// Alg is the alg parameter as received ("" if absent, in which case the
	// key type decides: RSA means rsa-v1_5-sha256, Ed25519 means ed25519).
	Alg string
	// Nonce and Tag are the nonce/tag parameters ("" if absent). No replay
	// cache is kept for nonces.
	Nonce, Tag string
	// Signature is the decoded signature from the Signature header.
	Signature []byte
	// SignatureParams is the serialized inner list with its parameters
	// (RFC 8941 canonical form, parameter order as received), i.e. the
	// value of the "@signature-params" line of the signature base.
	SignatureParams string
}

// ---------------------------------------------------------------------------
// Parsing

type candidate9421 struct {
	p   *Params9421
	err error
}

// parse9421 parses Signature-Input and Signature and returns one candidate
// per Signature-Input label that has a Signature, in Signature-Input order.
// A candidate whose member is unusable carries its error.
func parse9421(h http.Header) ([]candidate9421, error) {
	inputs := h.Values(hdrSignatureInput)
	if len(inputs) == 0 {
		return nil, fail(ReasonMissing, "no Signature-Input header")
	}
	sigs := h.Values(hdrSignature)
	if len(sigs) == 0 {
		return nil, fail(ReasonMissing, "Signature-Input without Signature header")
	}
	// RFC 8941 section 4.2: several field lines form one comma-joined value.
	in, err := parseSFDictionary(strings.Join(inputs, ","))
	if err != nil {
		return nil, &Error{Reason: ReasonMalformed, Err: fmt.Errorf("Signature-Input: %w", err)}
	}
	sd, err := parseSFDictionary(strings.Join(sigs, ","))
	if err != nil {
		return nil, &Error{Reason: ReasonMalformed, Err: fmt.Errorf("Signature: %w", err)}
	}
	sigByLabel := make(map[string]sfEntry, len(sd))
	for _, m := range sd {
		sigByLabel[m.key] = m.val
	}
	var out []candidate9421
	for _, m := range in {
		sv, ok := sigByLabel[m.key]
		if !ok {
			// Why: a Signature-Input without its Signature cannot be
			// verified; other labels may still be usable.
			continue
		}
		p, err := params9421FromMember(m.key, m.val, sv)
		out = append(out, candidate9421{p: p, err: err})
	}
	if len(out) == 0 {
		return nil, fail(ReasonMalformed, "no label present in both Signature-Input and Signature")
	}
	return out, nil
}

// params9421FromMember validates one Signature-Input member and its
// Signature value. p is returned (partially filled) even on error so that
// the label and keyid can be logged.
func params9421FromMember(label string, in, sig sfEntry) (*Params9421, error) {
	p := &Params9421{Label: label}
	// Why: RFC 9421 section 4 defines Signature-Input members as inner
	// lists and Signature members as byte sequences; anything else is not a
	// signature we can interpret, and guessing would be unsafe.
	if !in.inner {
		return p, fail(ReasonMalformed, "Signature-Input %s is not an inner list", label)
	}
	if sig.inner || sig.bare.kind != sfBytes || len(sig.bare.b) == 0 {
		return p, fail(ReasonMalformed, "Signature %s is not a non-empty byte sequence", label)
	}
	p.Signature = sig.bare.b

	// Parameters first, so that keyid is known for logging.
	for _, prm := range in.params {
		v := prm.val
		switch prm.key {
		case "created", "expires":
			// Why: timestamps must be integers (RFC 9421 section 2.3); a
			// string or decimal would be compared inconsistently.
			if v.kind != sfInteger || v.i <= 0 {
				return p, fail(ReasonMalformed, "%s parameter is not a positive integer", prm.key)
			}
			if prm.key == "created" {
				p.Created = v.i
			} else {
				p.Expires = v.i
			}
		case "keyid", "alg", "nonce", "tag":
			if v.kind != sfString {
				return p, fail(ReasonMalformed, "%s parameter is not a string", prm.key)
			}
			switch prm.key {
			case "keyid":
				p.KeyID = v.s
			case "alg":
				p.Alg = v.s
			case "nonce":
				p.Nonce = v.s
			case "tag":
				p.Tag = v.s
			}
		}
		// Unknown parameters are kept: they are part of @signature-params.
	}
	// Why: keyid is optional in RFC 9421, but ActivityPub has no other way
	// to name the key, and we never guess one.
	if p.KeyID == "" {
		return p, fail(ReasonMalformed, "Signature-Input %s has no keyid", label)
	}

	seen := make(map[string]bool, len(in.items))
	for _, it := range in.items {
		if it.bare.kind != sfString {
			return p, fail(ReasonMalformed, "component identifiers must be strings")
		}
		name := it.bare.s
		if err := checkComponentName(name); err != nil {
			return p, err
		}
		// Why: a parameterised identifier selects a different value (a
		// dictionary member, a byte-sequence wrapping, a trailer...). We do
		// not implement those, and RFC 9421 section 2.5 requires failing
		// rather than signing the plain value instead.
		if len(it.params) > 0 {
			return p, fail(ReasonHeaders, "component %q has parameters, which are not supported", name)
		}
		// Why: RFC 9421 section 2.5 forbids repeated identifiers; the base
		// would otherwise be ambiguous.
		if seen[name] {
			return p, fail(ReasonMalformed, "component %q listed twice", name)
		}
		seen[name] = true
		p.Components = append(p.Components, name)
	}
	var b strings.Builder
	if err := in.serialize(&b); err != nil {
		return p, &Error{Reason: ReasonMalformed, Err: err}
	}
	p.SignatureParams = b.String()
	return p, nil
}

// checkComponentName validates one covered component identifier.
func checkComponentName(name string) error {
	if name == "" {
		return fail(ReasonMalformed, "empty component identifier")
	}
	if name[0] == '@' {
		switch {
		case slices.Contains(derived9421, name):
			return nil
		case name == compSigParams:
			// Why: @signature-params is always the last line of the
			// base; covering it explicitly would duplicate it.
			return fail(ReasonMalformed, "%q cannot be a covered component", name)
		default:
			// Why: @query-param, @status and unknown names cannot be
			// reproduced here; RFC 9421 section 2.5 requires failing
			// rather than skipping a component.
			return fail(ReasonHeaders, "derived component %q is not supported", name)
		}
	}
	// Why: field names are lowercased in RFC 9421 (section 2.1); an
	// uppercase or non-token name cannot have been produced by a correct
	// signer and would be looked up inconsistently.
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c >= 'A' && c <= 'Z') || !isTokenChar(c) {
			return fail(ReasonMalformed, "invalid component identifier %q", name)
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Key-free checks

// Check9421 parses Signature-Input and Signature and runs every check that
// needs no key:
//
//   - both headers are present and parse as RFC 8941 dictionaries; the
//     chosen member is an inner list of strings whose Signature is a byte
//     sequence, with a keyid;
//   - the alg parameter is absent, "rsa-v1_5-sha256", "rsa-pss-sha512" or
//     "ed25519";
//   - the covered components include "@method"; "@target-uri", or
//     "@authority" plus "@path" (plus "@query" when the request URL has a
//     query) or "@request-target"; and "content-digest" when the request
//     has a body (POST/PUT/PATCH or a non-empty body);
//   - created is present and within ±window of now; expires, if present,
//     is not before created nor more than window in the past;
//   - Content-Digest (RFC 9530) is present when a body is expected, parses
//     as a dictionary, has a sha-256 or sha-512 byte sequence, and every
//     such entry equals the digest of body (constant-time compare);
//   - every covered header field is present.
//
// When several labels are present, the first one (in Signature-Input order)
// that parses, names a supported alg and covers enough is chosen; if none
// does, the error of the first label is returned. Errors are *Error with
// ReasonMissing, ReasonMalformed, ReasonAlgorithm, ReasonHeaders,
// ReasonDate or ReasonDigest. body must be the complete request body. A
// window <= 0 means DefaultWindow. The params are returned alongside most
// errors so the keyid can be logged, but they must not be trusted.
func Check9421(r *http.Request, body []byte, now time.Time, window time.Duration) (*Params9421, error) {
	if window <= 0 {
		window = DefaultWindow
	}
	cands, err := parse9421(r.Header)
	if err != nil {
		return nil, err
	}
	var p *Params9421
	var firstP *Params9421
	var firstErr error
	for _, c := range cands {
		err := c.err
		if err == nil {
			err = checkAlg9421(c.p.Alg)
		}
		if err == nil {
			err = checkCoverage9421(r, body, c.p)
		}
		if err == nil {
			p = c.p
			break
		}
		if firstErr == nil {
			firstP, firstErr = c.p, err
		}
	}
	if p == nil {
		return firstP, firstErr
	}

	if err := checkTime9421(p, now, window); err != nil {
		return p, err
	}
	if err := checkContentDigest(r, body, expectsBody(r, body)); err != nil {
		return p, err
	}
	// Why: a covered field that is absent makes verification fail later
	// anyway; say so precisely instead of reporting a bad signature.
	for _, c := range p.Components {
		if c[0] == '@' {
			continue
		}
		if len(fieldValues(r, c)) == 0 {
			return p, fail(ReasonHeaders, "covered header %q is absent from the request", c)
		}
	}
	return p, nil
}

func checkAlg9421(alg string) error {
	// Why: alg is attacker-chosen. Only accept the asymmetric schemes we
	// implement; in particular hmac-sha256 is refused so that a public key
	// can never be used as an HMAC secret.
	switch strings.ToLower(alg) {
	case "", alg9421RSA, alg9421PSS, alg9421Ed25519:
		return nil
	}
	return fail(ReasonAlgorithm, "unsupported alg %q", alg)
}

// checkCoverage9421 checks that the signature binds method, target and body.
func checkCoverage9421(r *http.Request, body []byte, p *Params9421) error {
	has := func(c string) bool { return slices.Contains(p.Components, c) }
	covers := strings.Join(p.Components, " ")
	// Why: without @method a signed GET could be replayed as a POST (or
	// the reverse) to the same URL.
	if !has(compMethod) {
		return fail(ReasonHeaders, "signature does not cover %q (covers %q)", compMethod, covers)
	}
	// Why: without the target a signature for one inbox or object could be
	// replayed against another URL or host. @target-uri covers it all;
	// otherwise authority and path are needed, and the query too when the
	// URL has one (else "?..." could be appended freely).
	if !has(compTargetURI) {
		hasQuery := strings.Contains(requestTarget9421(r), "?")
		pathOK := has(compRequestTarget) || (has(compPath) && (!hasQuery || has(compQuery)))
		if !has(compAuthority) || !pathOK {
			want := `"@authority" "@path"`
			if hasQuery {
				want += ` "@query"`
			}
			return fail(ReasonHeaders, "signature covers neither %q nor %s (covers %q)", compTargetURI, want, covers)
		}
	}
	// Why: without content-digest the signature says nothing about the
	// body, which could then be swapped.
	if expectsBody(r, body) && !has(compContentDigest) {
		return fail(ReasonHeaders, "signature does not cover %q (covers %q)", compContentDigest, covers)
	}
	return nil
}

func checkTime9421(p *Params9421, now time.Time, window time.Duration) error {
	// Why: RFC 9421 makes created optional, but without it a captured
	// request could be replayed forever; Mastodon and Fedify require it too.
	if p.Created == 0 {
		return fail(ReasonDate, "created parameter absent")
	}
	// Why: created bounds the replay window; ±window allows clock skew,
	// like Date in draft-cavage.
	c := time.Unix(p.Created, 0)
	if skew := now.Sub(c); skew > window || skew < -window {
		return fail(ReasonDate, "created %d is %s from now, outside ±%s", p.Created, skew.Round(time.Second), window)
	}
	if p.Expires != 0 {
		// Why: a signature cannot expire before it was made; such a pair is
		// nonsense and should not be tolerated by the skew allowance below.
		if p.Expires < p.Created {
			return fail(ReasonDate, "expires %d is before created %d", p.Expires, p.Created)
		}
		// Why: honour the sender's own lifetime, with the same clock-skew
		// tolerance the draft-cavage path applies to expires.
		if e := time.Unix(p.Expires, 0); now.Sub(e) > window {
			return fail(ReasonDate, "signature expired at %d", p.Expires)
		}
	}
	return nil
}

// checkContentDigest verifies Content-Digest (RFC 9530) against body.
func checkContentDigest(r *http.Request, body []byte, required bool) error {
	vs := r.Header.Values(hdrContentDigest)
	if len(vs) == 0 {
		if required {
			// Why: without Content-Digest the signature says nothing about
			// the body.
			return fail(ReasonDigest, "Content-Digest header absent")
		}
		return nil
	}
	ms, err := parseSFDictionary(strings.Join(vs, ","))
	if err != nil {
		return &Error{Reason: ReasonDigest, Err: fmt.Errorf("Content-Digest is not a structured dictionary: %w", err)}
	}
	matched := 0
	for _, m := range ms {
		var h hash.Hash
		switch m.key {
		case "sha-256":
			h = sha256.New()
		case "sha-512":
			h = sha512.New()
		default:
			continue // RFC 9530: unknown (and insecure md5/sha) algorithms are ignored
		}
		// Why: RFC 9530 digests are byte sequences; a string or token could
		// only come from a broken or confused sender, never from this body.
		if m.val.inner || m.val.bare.kind != sfBytes {
			return fail(ReasonDigest, "Content-Digest %s is not a byte sequence", m.key)
		}
		h.Write(body)
		// Why: every supported entry must match (one wrong entry means the
		// header was not produced for this body), and the comparison is
		// constant-time so it leaks nothing about partial matches.
		if subtle.ConstantTimeCompare(h.Sum(nil), m.val.bare.b) != 1 {
			return fail(ReasonDigest, "Content-Digest %s does not match the body", m.key)
		}
		matched++
	}
	if matched == 0 {
		return fail(ReasonDigest, "no sha-256 or sha-512 entry in Content-Digest %q", strings.Join(vs, ","))
	}
	return nil
}

// ---------------------------------------------------------------------------
// Signature base and verification

// requestTarget9421 is the request-target as sent on the wire (origin-form:
// path and query). Server side, r.RequestURI is the unmodified request line
// target, which survives middleware that rewrites r.URL; client side (and
// for absolute-form targets) it is rebuilt from r.URL exactly as net/http
// writes it.
func requestTarget9421(r *http.Request) string {
	if rt := r.RequestURI; rt != "" && rt[0] == '/' {
		return rt
	}
	if r.URL == nil {
		return "/"
	}
	return r.URL.RequestURI()
}

// origin9421 returns the scheme and normalised authority of the target URI:
// from publicBase (e.g. "https://coop.example") when given, otherwise from
// r.TLS and r.Host.
func origin9421(r *http.Request, publicBase string) (scheme, authority string, err error) {
	if publicBase != "" {
		u, err := url.Parse(publicBase)
		if err != nil {
			return "", "", fmt.Errorf("httpsign: invalid public base URL %q: %w", publicBase, err)
		}
		scheme = strings.ToLower(u.Scheme)
		// Why: a path, query or credentials in the base would silently make
		// every @target-uri wrong (or match the wrong thing); refuse loudly.
		if (scheme != "https" && scheme != "http") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
			return "", "", fmt.Errorf("httpsign: public base URL %q must be scheme://host[:port]", publicBase)
		}
		return scheme, normaliseAuthority(u.Host, scheme), nil
	}
	scheme = "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" && r.URL != nil {
		host = r.URL.Host
	}
	if host == "" {
		return "", "", fail(ReasonHeaders, "request has no host for @authority/@target-uri")
	}
	return scheme, normaliseAuthority(host, scheme), nil
}

// normaliseAuthority lowercases host and drops the scheme's default port
// (RFC 9421 section 2.2.3, RFC 9110 section 4.2.3).
func normaliseAuthority(host, scheme string) string {
	host = strings.ToLower(host)
	switch scheme {
	case "https":
		host = strings.TrimSuffix(host, ":443")
	case "http":
		host = strings.TrimSuffix(host, ":80")
	}
	return host
}

// fieldValues returns the field lines of header name; "host" falls back to
// r.Host because the net/http server moves Host out of the header map.
func fieldValues(r *http.Request, name string) []string {
	vs := r.Header.Values(name)
	if len(vs) == 0 && name == "host" && r.Host != "" {
		vs = []string{r.Host}
	}
	return vs
}

// signatureBase builds the RFC 9421 section 2.5 signature base for p.
func (p *Params9421) signatureBase(r *http.Request, publicBase string) (string, error) {
	var b strings.Builder
	target := requestTarget9421(r)
	path, query, hasQuery := strings.Cut(target, "?")
	for _, c := range p.Components {
		var v string
		switch c {
		case compMethod:
			v = r.Method
		case compTargetURI, compAuthority, compScheme:
			scheme, authority, err := origin9421(r, publicBase)
			if err != nil {
				return "", err
			}
			switch c {
			case compTargetURI:
				v = scheme + "://" + authority + target
			case compAuthority:
				v = authority
			default:
				v = scheme
			}
		case compRequestTarget:
			v = target
		case compPath:
			v = path
			if v == "" {
				v = "/"
			}
		case compQuery:
			// RFC 9421 section 2.2.7: with the leading "?", and "?" alone
			// when the request has no query.
			v = "?"
			if hasQuery {
				v += query
			}
		default:
			if c[0] == '@' {
				return "", fail(ReasonHeaders, "derived component %q is not supported", c)
			}
			vs := fieldValues(r, c)
			if len(vs) == 0 {
				return "", fail(ReasonHeaders, "covered header %q is absent from the request", c)
			}
			// RFC 9421 section 2.1: trim each field line, join with ", ".
			// (vs aliases r.Header, so build a new slice.)
			trimmed := make([]string, len(vs))
			for i, x := range vs {
				trimmed[i] = strings.Trim(x, " \t")
			}
			v = strings.Join(trimmed, ", ")
		}
		// Why: a CR or LF inside a value would let one component forge
		// further lines of the base (RFC 9421 section 2.5 requires failing).
		if strings.ContainsAny(v, "\r\n") {
			return "", fail(ReasonHeaders, "component %q contains a line break", c)
		}
		if err := sfStringItem(c).serialize(&b); err != nil {
			return "", &Error{Reason: ReasonMalformed, Err: err}
		}
		b.WriteString(": ")
		b.WriteString(v)
		b.WriteByte('\n')
	}
	if p.SignatureParams == "" {
		return "", fail(ReasonMalformed, "missing signature parameters")
	}
	b.WriteString(`"` + compSigParams + `": `)
	b.WriteString(p.SignatureParams)
	return b.String(), nil
}

// resolveAlg9421 decides the algorithm from alg and the key type.
func resolveAlg9421(alg string, pub crypto.PublicKey) (string, error) {
	if err := checkAlg9421(alg); err != nil {
		return "", err
	}
	a := strings.ToLower(alg)
	// Why: the key type, not the attacker-chosen alg, decides how to
	// verify; a mismatch (e.g. alg="ed25519" with an RSA key) is refused
	// instead of being reinterpreted (RFC 9421 section 3.3.7).
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k == nil {
			return "", fail(ReasonAlgorithm, "nil RSA key")
		}
		switch a {
		case "", alg9421RSA:
			return alg9421RSA, nil
		case alg9421PSS:
			return alg9421PSS, nil
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", fail(ReasonAlgorithm, "Ed25519 key has %d bytes", len(k))
		}
		if a == "" || a == alg9421Ed25519 {
			return alg9421Ed25519, nil
		}
	default:
		return "", fail(ReasonAlgorithm, "key type %T is not supported (only RSA and Ed25519)", pub)
	}
	return "", fail(ReasonAlgorithm, "alg %q does not match the %T key", alg, pub)
}

// Verify builds the signature base (RFC 9421 section 2.5) and verifies p's
// signature with pub: *rsa.PublicKey (rsa-v1_5-sha256 unless alg is
// rsa-pss-sha512, which uses SHA-512, MGF1-SHA-512 and a 64-byte salt) or
// ed25519.PublicKey (ed25519). Any other key type, or an alg that does not
// fit the key, yields ReasonAlgorithm.
//
// publicBase is this instance's public origin, e.g. "https://coop.example":
// @target-uri is built from it plus the request-target as received
// (r.RequestURI), and @authority and @scheme come from it, so the result
// does not depend on TLS termination or Host rewriting by a reverse proxy.
// If publicBase is "", r.TLS and r.Host are used instead. A publicBase that
// is not scheme://host[:port] is a caller error and is returned as a plain
// error.
//
// Derived components: @method (as sent), @target-uri, @authority
// (lowercased, default port dropped), @scheme, @request-target, @path,
// @query (with its leading "?"). Header fields: all field lines, each
// trimmed, joined with ", "; "host" falls back to r.Host. Run [Check9421]
// first: Verify does not look at created, expires or Content-Digest. r is
// not modified, and Verify is safe for concurrent use.
func (p *Params9421) Verify(r *http.Request, publicBase string, pub crypto.PublicKey) error {
	alg, err := resolveAlg9421(p.Alg, pub)
	if err != nil {
		return err
	}
	if len(p.Signature) == 0 {
		return fail(ReasonMalformed, "empty signature")
	}
	base, err := p.signatureBase(r, publicBase)
	if err != nil {
		return err
	}
	switch alg {
	case alg9421RSA:
		sum := sha256.Sum256([]byte(base))
		err = rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, sum[:], p.Signature)
	case alg9421PSS:
		sum := sha512.Sum512([]byte(base))
		err = rsa.VerifyPSS(pub.(*rsa.PublicKey), crypto.SHA512, sum[:], p.Signature, &rsa.PSSOptions{SaltLength: sha512.Size, Hash: crypto.SHA512})
	case alg9421Ed25519:
		if !ed25519.Verify(pub.(ed25519.PublicKey), []byte(base), p.Signature) {
			err = errors.New("ed25519: invalid signature")
		}
	}
	if err != nil {
		return &Error{Reason: ReasonSignature, Err: err}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Signing

// SignRequest9421 signs req with RFC 9421 the way Fedify and Mitra expect:
// label "sig1", components ("@method" "@target-uri" "content-digest") when
// the request has a body (POST/PUT/PATCH or non-empty body) and
// ("@method" "@target-uri") otherwise, parameters in Fedify's order
// alg;keyid;created. It sets Host and Date (as [Signer.SignPost] does),
// Content-Digest ("sha-256=:...:" of body) when there is a body,
// Signature-Input and Signature, replacing any previous values so a retry
// can re-sign.
//
// key must be an *rsa.PrivateKey (alg "rsa-v1_5-sha256") or an
// ed25519.PrivateKey (alg "ed25519"), or another crypto.Signer with such a
// public key; keyID must be printable ASCII. body must be exactly the bytes
// that will be sent; nil means empty. @target-uri is built from req.URL's
// scheme, req.Host (or URL.Host, lowercased, default port dropped) and
// req.URL.RequestURI(), i.e. what net/http puts on the wire.
//
// For draft-cavage fallback after a 401, sign a fresh request (or delete
// Signature-Input first): [Signer.SignPost] replaces Signature but does not
// know about Signature-Input.
func SignRequest9421(req *http.Request, body []byte, keyID string, key crypto.Signer, now time.Time) error {
	if keyID == "" {
		return errors.New("httpsign: empty key id")
	}
	// Why: keyid is serialized as an RFC 8941 string, which only allows
	// printable ASCII; anything else would produce an unparseable header.
	for i := 0; i < len(keyID); i++ {
		if keyID[i] < 0x20 || keyID[i] > 0x7e {
			return fmt.Errorf("httpsign: key id %q contains a character not allowed in a structured-field string", keyID)
		}
	}
	if key == nil {
		return errors.New("httpsign: nil private key")
	}
	var alg string
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		alg = alg9421RSA
	case ed25519.PublicKey:
		alg = alg9421Ed25519
	default:
		return fmt.Errorf("httpsign: key type %T is not supported (only RSA and Ed25519)", pub)
	}
	if err := prepare(req, now); err != nil {
		return err
	}
	// Why: stale values from a previous attempt must never be re-sent next
	// to a fresh signature.
	req.Header.Del(hdrSignatureInput)
	req.Header.Del(hdrContentDigest)
	scheme := strings.ToLower(req.URL.Scheme)
	if scheme != "https" && scheme != "http" {
		return fmt.Errorf("httpsign: cannot sign a %q URL", req.URL.Scheme)
	}

	items := []sfItem{{bare: sfStringItem(compMethod)}, {bare: sfStringItem(compTargetURI)}}
	if expectsBody(req, body) {
		sum := sha256.Sum256(body)
		req.Header.Set(hdrContentDigest, "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":")
		items = append(items, sfItem{bare: sfStringItem(compContentDigest)})
	}
	in := sfEntry{inner: true, items: items, params: []sfParam{
		{key: "alg", val: sfStringItem(alg)},
		{key: "keyid", val: sfStringItem(keyID)},
		{key: "created", val: sfIntItem(now.Unix())},
	}}
	var sb strings.Builder
	if err := in.serialize(&sb); err != nil {
		return fmt.Errorf("httpsign: %w", err)
	}
	p := &Params9421{Label: label9421, SignatureParams: sb.String()}
	for _, it := range items {
		p.Components = append(p.Components, it.bare.s)
	}
	// prepare stored the wire host in Header["Host"]; the target URI is
	// that host with the URL's scheme.
	base, err := p.signatureBase(req, scheme+"://"+req.Header.Get(hdrHost))
	if err != nil {
		return fmt.Errorf("httpsign: %w", err)
	}
	var sig []byte
	if alg == alg9421RSA {
		sum := sha256.Sum256([]byte(base))
		sig, err = key.Sign(rand.Reader, sum[:], crypto.SHA256)
	} else {
		sig, err = key.Sign(rand.Reader, []byte(base), crypto.Hash(0))
	}
	if err != nil {
		return fmt.Errorf("httpsign: sign: %w", err)
	}
	req.Header.Set(hdrSignatureInput, label9421+"="+p.SignatureParams)
	sv, err := serializeSFDictionary([]sfMember{{key: label9421, val: sfEntry{bare: sfBare{kind: sfBytes, b: sig}}}})
	if err != nil {
		return fmt.Errorf("httpsign: %w", err)
	}
	req.Header.Set(hdrSignature, sv)
	return nil
}
