// Package integrity implements FEP-8b32 object integrity proofs with the
// W3C eddsa-jcs-2022 cryptosuite: RFC 8785 JSON canonicalisation (JCS),
// Ed25519 signatures, Multikey public keys (FEP-521a) and base58btc
// multibase values.
package integrity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of a canonicalised document: a proof is
// checked on documents from anyone, and deep nesting only costs stack.
const maxDepth = 64

// Canonicalize returns the RFC 8785 canonical form of a JSON text: no
// whitespace, object members sorted by their names' UTF-16 code units,
// strings with the minimal escapes and numbers as ECMAScript prints them.
// Duplicate member names and trailing data are errors, as the RFC asks.
func Canonicalize(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var b bytes.Buffer
	if err := canonValue(dec, &b, 0); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("jcs: data after the JSON value")
	}
	return b.Bytes(), nil
}

func canonValue(dec *json.Decoder, b *bytes.Buffer, depth int) error {
	if depth > maxDepth {
		return errors.New("jcs: the document nests too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("jcs: %w", err)
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return canonObject(dec, b, depth)
		case '[':
			b.WriteByte('[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				if err := canonValue(dec, b, depth+1); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return fmt.Errorf("jcs: %w", err)
			}
			b.WriteByte(']')
			return nil
		}
		return fmt.Errorf("jcs: unexpected %v", v)
	case string:
		writeString(b, v)
	case json.Number:
		s, err := formatNumber(string(v))
		if err != nil {
			return err
		}
		b.WriteString(s)
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case nil:
		b.WriteString("null")
	}
	return nil
}

type member struct {
	key   string
	units []uint16
	value []byte
}

func canonObject(dec *json.Decoder, b *bytes.Buffer, depth int) error {
	var members []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("jcs: %w", err)
		}
		key := tok.(string)
		// Why: RFC 8785 §3.1 requires rejecting duplicate names; two
		// readers could otherwise see two different documents under one
		// signature.
		if seen[key] {
			return fmt.Errorf("jcs: duplicate member %q", key)
		}
		seen[key] = true
		var vb bytes.Buffer
		if err := canonValue(dec, &vb, depth+1); err != nil {
			return err
		}
		members = append(members, member{key: key, units: utf16.Encode([]rune(key)), value: vb.Bytes()})
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("jcs: %w", err)
	}
	// Why: RFC 8785 §3.2.3 sorts names by UTF-16 code units, not by
	// UTF-8 bytes or code points; they differ above U+FFFF.
	sort.Slice(members, func(i, j int) bool { return lessUnits(members[i].units, members[j].units) })
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, m.key)
		b.WriteByte(':')
		b.Write(m.value)
	}
	b.WriteByte('}')
	return nil
}

func lessUnits(a, b []uint16) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

// writeString writes s as RFC 8785 §3.2.2.2 (ECMAScript JSON.stringify)
// does: only '"', '\\' and control characters are escaped, the latter in
// their short form where one exists, else as lowercase \u00xx.
func writeString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xf])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}

// formatNumber prints a JSON number as ECMAScript's Number.prototype.
// toString does (RFC 8785 §3.2.2.3): the shortest digits that round-trip
// an IEEE 754 double, in plain notation for exponents -7 < e < 21.
func formatNumber(lit string) (string, error) {
	v, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return "", fmt.Errorf("jcs: number %s is not an IEEE 754 double", lit)
	}
	if v == 0 {
		return "0", nil // also -0
	}
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	e := strconv.FormatFloat(v, 'e', -1, 64) // d.ddddde±xx
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	k, n := len(digits), x+1 // value = digits × 10^(n-k)
	var out string
	switch {
	case k <= n && n <= 21:
		out = digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		out = digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		out = "0." + strings.Repeat("0", -n) + digits
	default:
		out = digits[:1]
		if k > 1 {
			out += "." + digits[1:]
		}
		sgn := "+"
		if n-1 < 0 {
			sgn = "-"
		}
		out += "e" + sgn + strconv.Itoa(abs(n-1))
	}
	return sign + out, nil
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
