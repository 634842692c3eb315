package httpsign

// A small RFC 8941 (Structured Field Values) parser and serializer, limited
// to what RFC 9421 and RFC 9530 need: dictionaries whose members are items
// or inner lists, with parameters, over all RFC 8941 bare item types
// (integer, decimal, string, token, byte sequence, boolean). The RFC 9651
// additions (dates, display strings) are not supported and fail to parse.
//
// Deviation from RFC 8941: a duplicated dictionary key or parameter key is a
// parse error instead of "last one wins", because a signature whose
// parameters are ambiguous must not be verified at all.

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// sfKind is the type of a bare item.
type sfKind int

const (
	sfInteger sfKind = iota
	sfDecimal
	sfString
	sfToken
	sfBytes
	sfBool
)

// sfBare is an RFC 8941 bare item.
type sfBare struct {
	kind sfKind
	i    int64  // sfInteger
	dec  string // sfDecimal, already in canonical serialized form
	s    string // sfString (unescaped) and sfToken
	b    []byte // sfBytes
	bo   bool   // sfBool
}

// sfParam is one parameter; params keep their order.
type sfParam struct {
	key string
	val sfBare
}

// sfItem is a bare item with its parameters.
type sfItem struct {
	bare   sfBare
	params []sfParam
}

// sfEntry is a dictionary member value: an item or an inner list, each with
// parameters.
type sfEntry struct {
	inner  bool
	bare   sfBare   // when !inner
	items  []sfItem // when inner
	params []sfParam
}

// sfMember is one dictionary member; members keep their order.
type sfMember struct {
	key string
	val sfEntry
}

func sfStringItem(s string) sfBare { return sfBare{kind: sfString, s: s} }
func sfIntItem(i int64) sfBare     { return sfBare{kind: sfInteger, i: i} }

// paramValue returns the value of parameter key, if present.
func paramValue(ps []sfParam, key string) (sfBare, bool) {
	for _, p := range ps {
		if p.key == key {
			return p.val, true
		}
	}
	return sfBare{}, false
}

// ---------------------------------------------------------------------------
// Parsing

type sfParser struct {
	s string
	i int
}

func (p *sfParser) eof() bool { return p.i >= len(p.s) }

func (p *sfParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.i]
}

func (p *sfParser) errorf(format string, args ...any) error {
	return fmt.Errorf("structured field: offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *sfParser) skipSP() {
	for !p.eof() && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *sfParser) skipOWS() {
	for !p.eof() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// parseSFDictionary parses a Dictionary (RFC 8941 section 4.2.2). Several
// field lines must be joined with "," by the caller first.
func parseSFDictionary(s string) ([]sfMember, error) {
	p := &sfParser{s: s}
	p.skipSP()
	var out []sfMember
	seen := make(map[string]bool)
	if p.eof() {
		return out, nil
	}
	for {
		key, err := p.parseKey()
		if err != nil {
			return nil, err
		}
		var v sfEntry
		if p.peek() == '=' {
			p.i++
			if v, err = p.parseItemOrInnerList(); err != nil {
				return nil, err
			}
		} else {
			v.bare = sfBare{kind: sfBool, bo: true}
			if v.params, err = p.parseParams(); err != nil {
				return nil, err
			}
		}
		// Why: RFC 8941 lets a repeated key silently replace the first; for
		// Signature-Input/Signature/Content-Digest that would let two
		// implementations disagree about what was signed, so refuse.
		if seen[key] {
			return nil, p.errorf("duplicate dictionary key %q", key)
		}
		seen[key] = true
		out = append(out, sfMember{key: key, val: v})
		p.skipOWS()
		if p.eof() {
			return out, nil
		}
		if p.s[p.i] != ',' {
			return nil, p.errorf("expected ',' after member %q", key)
		}
		p.i++
		p.skipOWS()
		if p.eof() {
			return nil, p.errorf("trailing comma")
		}
	}
}

func (p *sfParser) parseItemOrInnerList() (sfEntry, error) {
	if p.peek() == '(' {
		items, params, err := p.parseInnerList()
		return sfEntry{inner: true, items: items, params: params}, err
	}
	b, err := p.parseBareItem()
	if err != nil {
		return sfEntry{}, err
	}
	params, err := p.parseParams()
	return sfEntry{bare: b, params: params}, err
}

// parseInnerList parses "(" *SP [ item *( 1*SP item ) *SP ] ")" parameters.
func (p *sfParser) parseInnerList() ([]sfItem, []sfParam, error) {
	if p.peek() != '(' {
		return nil, nil, p.errorf("expected '('")
	}
	p.i++
	items := []sfItem{}
	for !p.eof() {
		p.skipSP()
		if p.peek() == ')' {
			p.i++
			params, err := p.parseParams()
			return items, params, err
		}
		b, err := p.parseBareItem()
		if err != nil {
			return nil, nil, err
		}
		params, err := p.parseParams()
		if err != nil {
			return nil, nil, err
		}
		items = append(items, sfItem{bare: b, params: params})
		if c := p.peek(); c != ' ' && c != ')' {
			return nil, nil, p.errorf("expected ' ' or ')' in inner list")
		}
	}
	return nil, nil, p.errorf("unterminated inner list")
}

func (p *sfParser) parseParams() ([]sfParam, error) {
	var out []sfParam
	for p.peek() == ';' {
		p.i++
		p.skipSP()
		key, err := p.parseKey()
		if err != nil {
			return nil, err
		}
		v := sfBare{kind: sfBool, bo: true}
		if p.peek() == '=' {
			p.i++
			if v, err = p.parseBareItem(); err != nil {
				return nil, err
			}
		}
		// Why: see the duplicate dictionary key check; a repeated created
		// or keyid must not be resolved by guessing.
		for _, q := range out {
			if q.key == key {
				return nil, p.errorf("duplicate parameter %q", key)
			}
		}
		out = append(out, sfParam{key: key, val: v})
	}
	return out, nil
}

// parseKey parses ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ).
func (p *sfParser) parseKey() (string, error) {
	c := p.peek()
	if !(c >= 'a' && c <= 'z') && c != '*' {
		return "", p.errorf("invalid key start %q", c)
	}
	start := p.i
	for !p.eof() {
		c := p.s[p.i]
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == '*' {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i], nil
}

func (p *sfParser) parseBareItem() (sfBare, error) {
	c := p.peek()
	switch {
	case c == '-' || (c >= '0' && c <= '9'):
		return p.parseNumber()
	case c == '"':
		return p.parseString()
	case c == ':':
		return p.parseBytes()
	case c == '?':
		return p.parseBool()
	case c == '*' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
		return p.parseToken()
	}
	if p.eof() {
		return sfBare{}, p.errorf("unexpected end of input")
	}
	return sfBare{}, p.errorf("unexpected %q", c)
}

// parseNumber implements RFC 8941 section 4.2.4.
func (p *sfParser) parseNumber() (sfBare, error) {
	neg := false
	if p.peek() == '-' {
		neg = true
		p.i++
	}
	if c := p.peek(); c < '0' || c > '9' {
		return sfBare{}, p.errorf("expected digit")
	}
	start := p.i
	dot := -1
	for !p.eof() {
		c := p.s[p.i]
		if c >= '0' && c <= '9' {
			p.i++
		} else if c == '.' && dot < 0 {
			if p.i-start > 12 {
				return sfBare{}, p.errorf("decimal has more than 12 integer digits")
			}
			dot = p.i
			p.i++
		} else {
			break
		}
		if dot < 0 && p.i-start > 15 {
			return sfBare{}, p.errorf("integer has more than 15 digits")
		}
		if dot >= 0 && p.i-start > 16 {
			return sfBare{}, p.errorf("decimal too long")
		}
	}
	num := p.s[start:p.i]
	if dot < 0 {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return sfBare{}, p.errorf("bad integer %q", num)
		}
		if neg {
			n = -n
		}
		return sfIntItem(n), nil
	}
	intPart, frac := num[:dot-start], num[dot-start+1:]
	if len(frac) == 0 || len(frac) > 3 {
		return sfBare{}, p.errorf("decimal %q must have 1 to 3 fractional digits", num)
	}
	n, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		return sfBare{}, p.errorf("bad decimal %q", num)
	}
	// Canonical form (RFC 8941 section 4.1.5): no leading zeros, trailing
	// fractional zeros removed but at least one digit kept.
	frac = strings.TrimRight(frac, "0")
	if frac == "" {
		frac = "0"
	}
	s := strconv.FormatInt(n, 10) + "." + frac
	if neg && s != "0.0" {
		s = "-" + s
	}
	return sfBare{kind: sfDecimal, dec: s}, nil
}

func (p *sfParser) parseString() (sfBare, error) {
	p.i++ // opening quote
	var b strings.Builder
	for !p.eof() {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '\\':
			if p.eof() {
				return sfBare{}, p.errorf("unterminated string")
			}
			n := p.s[p.i]
			if n != '"' && n != '\\' {
				return sfBare{}, p.errorf("invalid escape \\%c", n)
			}
			b.WriteByte(n)
			p.i++
		case c == '"':
			return sfStringItem(b.String()), nil
		case c < 0x20 || c > 0x7e:
			return sfBare{}, p.errorf("invalid character 0x%02x in string", c)
		default:
			b.WriteByte(c)
		}
	}
	return sfBare{}, p.errorf("unterminated string")
}

func (p *sfParser) parseToken() (sfBare, error) {
	start := p.i
	p.i++
	for !p.eof() {
		c := p.s[p.i]
		if isTokenChar(c) || c == ':' || c == '/' {
			p.i++
			continue
		}
		break
	}
	return sfBare{kind: sfToken, s: p.s[start:p.i]}, nil
}

func (p *sfParser) parseBytes() (sfBare, error) {
	p.i++ // opening colon
	end := strings.IndexByte(p.s[p.i:], ':')
	if end < 0 {
		return sfBare{}, p.errorf("unterminated byte sequence")
	}
	enc := p.s[p.i : p.i+end]
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		if !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=') {
			return sfBare{}, p.errorf("invalid character %q in byte sequence", c)
		}
	}
	p.i += end + 1
	// RFC 8941 section 4.2.7: parsers SHOULD NOT fail when "=" padding is
	// absent, so try the padded form first and then the raw one.
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		var err2 error
		if b, err2 = base64.RawStdEncoding.DecodeString(enc); err2 != nil {
			return sfBare{}, p.errorf("invalid base64 in byte sequence: %v", err)
		}
	}
	return sfBare{kind: sfBytes, b: b}, nil
}

func (p *sfParser) parseBool() (sfBare, error) {
	p.i++ // '?'
	switch p.peek() {
	case '1':
		p.i++
		return sfBare{kind: sfBool, bo: true}, nil
	case '0':
		p.i++
		return sfBare{kind: sfBool, bo: false}, nil
	}
	return sfBare{}, p.errorf("invalid boolean")
}

// ---------------------------------------------------------------------------
// Serialization (RFC 8941 section 4.1)

var errSFSerialize = errors.New("structured field: value cannot be serialized")

func (v sfBare) serialize(b *strings.Builder) error {
	switch v.kind {
	case sfInteger:
		if v.i > 999_999_999_999_999 || v.i < -999_999_999_999_999 {
			return fmt.Errorf("%w: integer %d out of range", errSFSerialize, v.i)
		}
		b.WriteString(strconv.FormatInt(v.i, 10))
	case sfDecimal:
		b.WriteString(v.dec)
	case sfString:
		b.WriteByte('"')
		for i := 0; i < len(v.s); i++ {
			c := v.s[i]
			if c < 0x20 || c > 0x7e {
				return fmt.Errorf("%w: string %q has a non-printable or non-ASCII byte", errSFSerialize, v.s)
			}
			if c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
		b.WriteByte('"')
	case sfToken:
		if v.s == "" {
			return fmt.Errorf("%w: empty token", errSFSerialize)
		}
		b.WriteString(v.s)
	case sfBytes:
		b.WriteByte(':')
		b.WriteString(base64.StdEncoding.EncodeToString(v.b))
		b.WriteByte(':')
	case sfBool:
		if v.bo {
			b.WriteString("?1")
		} else {
			b.WriteString("?0")
		}
	default:
		return fmt.Errorf("%w: unknown kind %d", errSFSerialize, v.kind)
	}
	return nil
}

func serializeParams(b *strings.Builder, ps []sfParam) error {
	for _, p := range ps {
		b.WriteByte(';')
		b.WriteString(p.key)
		if p.val.kind == sfBool && p.val.bo {
			continue
		}
		b.WriteByte('=')
		if err := p.val.serialize(b); err != nil {
			return err
		}
	}
	return nil
}

func (e sfEntry) serialize(b *strings.Builder) error {
	if !e.inner {
		if err := e.bare.serialize(b); err != nil {
			return err
		}
		return serializeParams(b, e.params)
	}
	b.WriteByte('(')
	for i, it := range e.items {
		if i > 0 {
			b.WriteByte(' ')
		}
		if err := it.bare.serialize(b); err != nil {
			return err
		}
		if err := serializeParams(b, it.params); err != nil {
			return err
		}
	}
	b.WriteByte(')')
	return serializeParams(b, e.params)
}

// String returns the serialization of e, or "" if it cannot be serialized.
func (e sfEntry) String() string {
	var b strings.Builder
	if e.serialize(&b) != nil {
		return ""
	}
	return b.String()
}

func serializeSFDictionary(ms []sfMember) (string, error) {
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.key)
		if !m.val.inner && m.val.bare.kind == sfBool && m.val.bare.bo {
			if err := serializeParams(&b, m.val.params); err != nil {
				return "", err
			}
			continue
		}
		b.WriteByte('=')
		if err := m.val.serialize(&b); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}
