package httpsign

import (
	"bytes"
	"testing"
)

func TestSFDictionaryRoundTrip(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{``, ``},
		{`a=1`, `a=1`},
		{`a=1, b=2`, `a=1, b=2`},
		{"a=1,b=2,\tc=3", `a=1, b=2, c=3`},
		{`  a=1 ,  b=2  `, `a=1, b=2`},
		{`a`, `a`},
		{`a;x=1`, `a;x=1`},
		{`a=?1`, `a`},
		{`a=?0`, `a=?0`},
		{`a=-42`, `a=-42`},
		{`a=-0`, `a=0`},
		{`a=007`, `a=7`},
		{`a=999999999999999`, `a=999999999999999`},
		{`a=1.5`, `a=1.5`},
		{`a=1.500`, `a=1.5`},
		{`a=1.000`, `a=1.0`},
		{`a=-01.25`, `a=-1.25`},
		{`a=123456789012.123`, `a=123456789012.123`},
		{`a="x \"y\" \\z"`, `a="x \"y\" \\z"`},
		{`a=""`, `a=""`},
		{`a=tok/en:1*`, `a=tok/en:1*`},
		{`a=*t`, `a=*t`},
		{`a=Tok`, `a=Tok`},
		{`a=:AQID:`, `a=:AQID:`},
		{`a=:AQI:`, `a=:AQI=:`}, // unpadded base64 accepted, serialized padded
		{`a=::`, `a=::`},
		{`a=()`, `a=()`},
		{`a=( )`, `a=()`},
		{`a=(1 2)`, `a=(1 2)`},
		{`a=( "x"   "y" );p=1`, `a=("x" "y");p=1`},
		{`a=("x";q;r=2 "y");p;s="t"`, `a=("x";q;r=2 "y");p;s="t"`},
		{`a=1;p=?0;q=:AA==:;r=1.1;s=t`, `a=1;p=?0;q=:AA==:;r=1.1;s=t`},
		{`a=1;  p=2`, `a=1;p=2`},
		{`*a.b-c_d*=1`, `*a.b-c_d*=1`},
		{`sig1=("@method" "@target-uri");alg="rsa-v1_5-sha256";keyid="https://a.example/u#k";created=1714564800`, `sig1=("@method" "@target-uri");alg="rsa-v1_5-sha256";keyid="https://a.example/u#k";created=1714564800`},
	} {
		ms, err := parseSFDictionary(tt.in)
		if err != nil {
			t.Errorf("parse %q: %v", tt.in, err)
			continue
		}
		got, err := serializeSFDictionary(ms)
		if err != nil {
			t.Errorf("serialize %q: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%q -> %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSFDictionaryValues(t *testing.T) {
	ms, err := parseSFDictionary(`sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, s="a\"b", i=-3, l=("x" 1);p=?1`)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 4 || ms[0].key != "sha-256" || ms[0].val.bare.kind != sfBytes || len(ms[0].val.bare.b) != 32 {
		t.Fatalf("members = %+v", ms)
	}
	if ms[1].val.bare.kind != sfString || ms[1].val.bare.s != `a"b` {
		t.Errorf("string = %+v", ms[1].val.bare)
	}
	if ms[2].val.bare.kind != sfInteger || ms[2].val.bare.i != -3 {
		t.Errorf("integer = %+v", ms[2].val.bare)
	}
	l := ms[3].val
	if !l.inner || len(l.items) != 2 || l.items[0].bare.s != "x" || l.items[1].bare.i != 1 {
		t.Errorf("inner list = %+v", l)
	}
	if v, ok := paramValue(l.params, "p"); !ok || v.kind != sfBool || !v.bo {
		t.Errorf("param p = %+v %v", v, ok)
	}
	if _, ok := paramValue(l.params, "q"); ok {
		t.Error("param q found")
	}
}

func TestSFDictionaryErrors(t *testing.T) {
	for _, in := range []string{
		`A=1`,                       // uppercase key
		`1a=1`,                      // key starts with digit
		`a=1,`,                      // trailing comma
		`a=1,,b=2`,                  // empty member
		`,a=1`,                      // leading comma
		`a=1 b=2`,                   // missing comma
		`a=1, a=2`,                  // duplicate key (deviation from RFC 8941)
		`a=1;p=1;p=2`,               // duplicate parameter (deviation)
		`a=`,                        // missing value
		`a=1;`,                      // missing param key
		`a=1;P=1`,                   // uppercase param key
		`a="unterminated`,           // string
		`a="bad \n escape"`,         // only \" and \\ may be escaped
		"a=\"tab\there\"",           // control character in string
		"a=\"caf\xc3\xa9\"",         // non-ASCII in string
		`a=:AQID`,                   // unterminated byte sequence
		`a=:A Q:`,                   // space in byte sequence
		`a=:A-_:`,                   // base64url is not base64
		`a=:A:`,                     // impossible base64 length
		`a=?2`,                      // boolean
		`a=?`,                       // boolean
		`a=1234567890123456`,        // 16-digit integer
		`a=1234567890123.1`,         // 13 integer digits in a decimal
		`a=1.1234`,                  // 4 fractional digits
		`a=1.`,                      // no fractional digit
		`a=-`,                       // sign alone
		`a=-a`,                      // sign then letter
		`a=1.2.3`,                   // two dots
		`a=(`,                       // unterminated inner list
		`a=("x"`,                    // unterminated inner list
		`a=("x""y")`,                // items not separated
		`a=(("x"))`,                 // nested inner list
		`a=@1659578233`,             // RFC 9651 date
		`a=%"display"`,              // RFC 9651 display string
		`a=1;p=(1)`,                 // parameter value must be a bare item
		`a=1 ;p=1`,                  // space before ';' belongs to nothing
		"a=1\x00",                   // NUL
		`sig1=("@method";created=1`, // the "bad sfv" case of the inbox tests
	} {
		if ms, err := parseSFDictionary(in); err == nil {
			t.Errorf("%q: parsed as %+v, want error", in, ms)
		}
	}
}

func TestSFSerializeErrors(t *testing.T) {
	for _, v := range []sfBare{
		sfStringItem("caf\u00e9"),
		sfStringItem("a\nb"),
		sfIntItem(1_000_000_000_000_000),
		{kind: sfToken},
		{kind: sfKind(99)},
	} {
		var e sfEntry
		e.bare = v
		if s := e.String(); s != "" {
			t.Errorf("%+v serialized as %q", v, s)
		}
	}
	if _, err := serializeSFDictionary([]sfMember{{key: "a", val: sfEntry{inner: true, items: []sfItem{{bare: sfStringItem("\x01")}}}}}); err == nil {
		t.Error("inner list with a control character serialized")
	}
	if _, err := serializeSFDictionary([]sfMember{{key: "a", val: sfEntry{bare: sfBare{kind: sfBool, bo: true}, params: []sfParam{{key: "p", val: sfStringItem("\x7f")}}}}}); err == nil {
		t.Error("parameter with DEL serialized")
	}
}

// FuzzSFDictionary checks that whatever parses serializes, and that the
// serialization parses back to the same serialization (canonical form).
func FuzzSFDictionary(f *testing.F) {
	for _, s := range []string{
		`sig1=("@method" "@target-uri" "content-digest");alg="rsa-v1_5-sha256";keyid="https://a.example/u#k";created=1714564800`,
		`sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-512=:AA==:`,
		`a=1.50;b, c=?0, d=("x";y=tok 2.0)`,
		`a=:AQI:`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ms, err := parseSFDictionary(in)
		if err != nil {
			return
		}
		out, err := serializeSFDictionary(ms)
		if err != nil {
			t.Fatalf("%q parsed but does not serialize: %v", in, err)
		}
		ms2, err := parseSFDictionary(out)
		if err != nil {
			t.Fatalf("serialization %q of %q does not parse: %v", out, in, err)
		}
		out2, err := serializeSFDictionary(ms2)
		if err != nil || out2 != out {
			t.Fatalf("not canonical: %q -> %q -> %q (%v)", in, out, out2, err)
		}
		if len(ms2) != len(ms) {
			t.Fatalf("member count changed")
		}
		for i := range ms {
			if ms[i].val.bare.kind == sfBytes && !bytes.Equal(ms[i].val.bare.b, ms2[i].val.bare.b) {
				t.Fatalf("byte sequence changed")
			}
		}
	})
}
