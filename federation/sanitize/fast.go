package sanitize

import (
	"bytes"
	"io"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxFastDepth bounds the nesting fastHTML follows; deeper markup takes
// the full path.
const maxFastDepth = 32

// fastHTML returns what the full path of HTML (parse, Mastodon's
// transformers, render, bluemonday) returns for s, in one pass over its
// tokens and without building a DOM, when s holds only what peers send in
// nearly every post: paragraphs at the top level, text, line breaks, and
// properly nested links, spans and inline formatting (b strong i em u s
// del code). For anything else it returns ok=false and the caller takes
// the full path: comments, doctypes, any other element, a tag the HTML
// parser would close, re-nest or reopen (a misnested or unclosed tag, a
// paragraph inside anything, a link inside a link, a self-closing tag other
// than br), a NUL, and a link whose href the full path would replace by its
// text.
//
// Why it is safe: it emits nothing the full path would not. Every case it
// accepts is one where the parser builds exactly the tree the tokens spell
// (so the transformers and bluemonday see the same elements in the same
// order), and for each accepted element it writes the attributes the full
// path keeps, rewritten as that path rewrites them. FuzzFastHTML checks
// that the two agree on every input the fast path accepts.
func fastHTML(s string) (string, bool) {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	var stack [maxFastDepth]atom.Atom
	depth, inLink := 0, false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if z.Err() == io.EOF && depth == 0 {
				return b.String(), true
			}
			return "", false
		case html.TextToken:
			t := z.Text()
			// Why: the parser drops NULs from text; take the full path.
			if bytes.IndexByte(t, 0) >= 0 {
				return "", false
			}
			escapeText(&b, t)
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			if a == atom.Br {
				// br is void; the full path drops all its attributes.
				b.WriteString("<br/>")
				continue
			}
			// Why: the parser ignores the self-closing flag on non-void
			// elements and keeps them open.
			if tt == html.SelfClosingTagToken || depth == maxFastDepth {
				return "", false
			}
			switch a {
			case atom.P:
				// Why: a p inside anything may be closed or moved by
				// the parser.
				if depth != 0 {
					return "", false
				}
			case atom.A:
				// Why: the parser closes an open link at a new one.
				if inLink {
					return "", false
				}
				inLink = true
			case atom.Span, atom.B, atom.Strong, atom.I, atom.Em, atom.U, atom.S, atom.Del, atom.Code:
			default:
				return "", false
			}
			if !writeStartTag(&b, z, a, hasAttr) {
				return "", false
			}
			stack[depth] = a
			depth++
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			// Why: an end tag that does not close the innermost open
			// element makes the parser close, reopen or ignore elements.
			if depth == 0 || stack[depth-1] != a {
				return "", false
			}
			depth--
			if a == atom.A {
				inLink = false
			}
			b.WriteString("</")
			b.WriteString(a.String())
			b.WriteByte('>')
		default:
			return "", false
		}
	}
}

// fastAttrs are the attributes of one start tag that the full path may
// keep; the others it drops whatever their value (rel and target too: it
// sets its own).
type fastAttrs struct {
	href, class, translate          string
	hasHref, hasClass, hasTranslate bool
}

// writeStartTag writes the start tag of a as the full path would, or
// reports false if only the full path can say what that is.
func writeStartTag(b *strings.Builder, z *html.Tokenizer, a atom.Atom, hasAttr bool) bool {
	// The tokenizer keeps the first of repeated attributes, and both
	// paths read its output.
	var f fastAttrs
	for hasAttr {
		var key, val []byte
		key, val, hasAttr = z.TagAttr()
		switch string(key) {
		case "href":
			f.href, f.hasHref = string(val), true
		case "class":
			f.class, f.hasClass = string(val), true
		case "translate":
			f.translate, f.hasTranslate = string(val), true
		}
	}
	b.WriteByte('<')
	b.WriteString(a.String())
	switch a {
	case atom.A:
		href, ok := fastHref(f.href, f.hasHref)
		if !ok {
			return false
		}
		writeClass(b, f)
		b.WriteString(` href="`)
		escapeText(b, []byte(href))
		b.WriteString(`" rel="` + linkRel + `" target="` + linkTarget + `"`)
		writeTranslate(b, f)
	case atom.Span:
		writeClass(b, f)
		writeTranslate(b, f)
	case atom.P:
		// translate is not allowed on p.
		writeClass(b, f)
	}
	// Every other inline element keeps no attribute.
	b.WriteByte('>')
	return true
}

// fastHref returns the href the full path writes for a link, or false if it
// would replace the link by its text: allowedHref's rule, then bluemonday's
// (trimmed, parsed and written back by net/url).
func fastHref(href string, has bool) (string, bool) {
	if !has {
		return "", false
	}
	u, ok := linkURL(href)
	if !ok {
		return "", false
	}
	return u.String(), true
}

// writeClass writes the class attribute as filterClasses leaves it.
func writeClass(b *strings.Builder, f fastAttrs) {
	if !f.hasClass {
		return
	}
	first := true
	for _, c := range strings.Fields(f.class) {
		if !classTokenRe.MatchString(c) {
			continue
		}
		if first {
			b.WriteString(` class="`)
			first = false
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(c) // a class token holds no character to escape
	}
	if !first {
		b.WriteByte('"')
	}
}

// writeTranslate writes translate="no", the only value kept.
func writeTranslate(b *strings.Builder, f fastAttrs) {
	if f.hasTranslate && f.translate == "no" {
		b.WriteString(` translate="no"`)
	}
}

// escapeText writes t escaped as html.EscapeString escapes it (the
// escaping of bluemonday's output).
func escapeText(b *strings.Builder, t []byte) {
	last := 0
	for i, c := range t {
		var esc string
		switch c {
		case '&':
			esc = "&amp;"
		case '\'':
			esc = "&#39;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&#34;"
		case '\r':
			esc = "&#13;"
		default:
			continue
		}
		b.Write(t[last:i])
		b.WriteString(esc)
		last = i + 1
	}
	b.Write(t[last:])
}
