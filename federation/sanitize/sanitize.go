// Package sanitize cleans HTML received from remote ActivityPub servers and
// formats local plain text as HTML, following Mastodon's conventions so that
// content looks the same here as on the rest of the fediverse.
//
// HTML is the only function whose output may be trusted as markup coming
// from a remote server. Text produces safe markup from plain text. PlainText
// produces plain text, which callers must escape again before putting it in
// HTML.
package sanitize

import (
	"bytes"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// linkRel and linkTarget are forced onto every link HTML and Text emit.
const (
	linkRel    = "nofollow noopener noreferrer"
	linkTarget = "_blank"
)

// linkSchemes are the href schemes Mastodon keeps (LINK_PROTOCOLS in
// app/lib/sanitize_config.rb). Relative links are not kept.
var linkSchemes = []string{
	"http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini",
}

// allowedElements is Mastodon's MASTODON_STRICT element list.
var allowedElements = []string{
	"p", "br", "span", "a", "del", "s", "pre", "blockquote", "code",
	"b", "strong", "u", "i", "em", "ul", "ol", "li", "ruby", "rt", "rp",
}

// classToken matches one class name Mastodon keeps: microformats prefixes,
// mention/hashtag semantics, link formatting and inline quotes.
const classToken = `(?:(?:h|p|u|dt|e)-[A-Za-z0-9_-]*|mention|hashtag|ellipsis|invisible|quote-inline)`

var (
	classTokenRe = regexp.MustCompile(`^` + classToken + `$`)
	classAttrRe  = regexp.MustCompile(`^` + classToken + `(?: ` + classToken + `)*$`)
)

// policy is the bluemonday policy behind HTML. It is built once at package
// initialisation and never modified afterwards; bluemonday only reads a
// policy while sanitizing, so sharing it between goroutines is safe.
var policy = newPolicy()

func newPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	// Why an allow-list: anything not listed (script, img, iframe, style,
	// form, unknown tags...) is dropped, keeping only its text.
	p.AllowElements(allowedElements...)

	// Why scheme allow-list and no relative URLs: javascript:, data:,
	// vbscript: etc. execute code, and relative links would resolve
	// against our own origin.
	p.AllowAttrs("href").OnElements("a")
	p.AllowURLSchemes(linkSchemes...)
	p.AllowRelativeURLs(false)
	p.RequireParseableURLs(true)

	// Why forced rel/target: remote links must not pass page rank, the
	// Referer, or window.opener to the target. The pre-pass sets exactly
	// these values; anything else is dropped and bluemonday adds its own.
	p.AllowAttrs("rel").Matching(regexp.MustCompile(`^` + linkRel + `$`)).OnElements("a")
	p.AllowAttrs("target").Matching(regexp.MustCompile(`^` + linkTarget + `$`)).OnElements("a")
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)

	// Why restricted classes: arbitrary classes would let remote content
	// borrow our own CSS (overlays, fake UI); only Mastodon's semantic
	// and microformat classes are kept.
	p.AllowAttrs("class").Matching(classAttrRe).OnElements("a", "span", "p")
	p.AllowAttrs("translate").Matching(regexp.MustCompile(`^no$`)).OnElements("a", "span")
	p.AllowAttrs("start").Matching(bluemonday.Integer).OnElements("ol")
	p.AllowAttrs("reversed").Matching(regexp.MustCompile(`^(?:|reversed)$`)).OnElements("ol")
	p.AllowAttrs("value").Matching(bluemonday.Integer).OnElements("li")

	// Why: the text inside these elements is code, styling or hidden
	// markup, never readable content (Sanitize's remove_contents list).
	p.SkipElementsContent("script", "style", "iframe", "math", "svg", "noembed",
		"noframes", "noscript", "plaintext", "xmp", "template", "object", "title")
	return p
}

// HTML returns s restricted to Mastodon's MASTODON_STRICT allow-list
// (p br span a del s pre blockquote code b strong u i em ul ol li ruby rt
// rp). Links keep only http, https, dat, dweb, ipfs, ipns, ssb, gopher,
// xmpp, magnet and gemini hrefs and always get rel="nofollow noopener
// noreferrer" target="_blank"; a link with any other href is replaced by its
// text. Classes on a, span and p are reduced to the microformat and mention
// classes Mastodon keeps. As in Mastodon, h1-h6 become <p><strong> and
// FEP-dc88 MathML is replaced by its TeX or plain-text annotation.
func HTML(s string) string {
	if s == "" {
		return ""
	}
	// Most posts are paragraphs of text, links and mentions: those take
	// one pass over their tokens instead of a parse and two renders.
	if out, ok := fastHTML(s); ok {
		return out
	}
	return fullHTML(s)
}

// fullHTML is HTML's path for any input.
func fullHTML(s string) string {
	// The pre-pass reproduces Mastodon's transformers (which need a DOM);
	// bluemonday then enforces the allow-list on its output and is the
	// security boundary, so a pre-pass failure only costs fidelity.
	nodes, err := html.ParseFragment(strings.NewReader(s), &html.Node{
		Type: html.ElementNode, Data: "body", DataAtom: atom.Body,
	})
	if err != nil {
		return policy.Sanitize(s)
	}
	var buf bytes.Buffer
	for _, n := range nodes {
		if err := html.Render(&buf, transform(n)); err != nil {
			return policy.Sanitize(s)
		}
	}
	return policy.Sanitize(buf.String())
}

// transform applies Mastodon's transformers to n and its descendants,
// editing them in place. It returns the node that should stand in n's place:
// n itself, or a new detached node (a text node) that the caller swaps in.
func transform(n *html.Node) *html.Node {
	if n.Type != html.ElementNode {
		return n
	}
	switch n.DataAtom {
	case atom.Math:
		if t := mathText(n); t != "" {
			return &html.Node{Type: html.TextNode, Data: t}
		}
		return n // bluemonday drops math and its contents
	case atom.A:
		if !allowedHref(n) {
			// Why: a link with a dangerous or relative href is replaced by
			// its text (as Mastodon does), not kept as a dead anchor.
			return &html.Node{Type: html.TextNode, Data: textContent(n)}
		}
		setAttr(n, "rel", linkRel)
		setAttr(n, "target", linkTarget)
	}
	filterClasses(n)
	if v, ok := getAttr(n, "translate"); ok && v != "no" {
		removeAttr(n, "translate")
	}
	// Canonical attribute order makes the output deterministic and HTML
	// idempotent (the parser does not keep source order either).
	slices.SortStableFunc(n.Attr, func(a, b html.Attribute) int { return strings.Compare(a.Key, b.Key) })

	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		if r := transform(c); r != c {
			n.InsertBefore(r, c)
			n.RemoveChild(c)
		}
		c = next
	}

	switch n.DataAtom {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		// Mastodon renders headings as bold paragraphs: turn n itself into
		// the <p> (so its position is unchanged) and move its children
		// into a new <strong>.
		n.Data, n.DataAtom, n.Attr = "p", atom.P, nil
		strong := &html.Node{Type: html.ElementNode, Data: "strong", DataAtom: atom.Strong}
		for c := n.FirstChild; c != nil; c = n.FirstChild {
			n.RemoveChild(c)
			strong.AppendChild(c)
		}
		n.AppendChild(strong)
	}
	return n
}

// allowedHref reports whether the a element n has an href Mastodon keeps.
func allowedHref(n *html.Node) bool {
	href, ok := getAttr(n, "href")
	if !ok {
		return false
	}
	_, ok = linkURL(href)
	return ok
}

// linkURL parses an href Mastodon keeps: absolute, with no whitespace
// inside, and of one of linkSchemes.
func linkURL(href string) (*url.URL, bool) {
	href = strings.TrimSpace(href)
	if href == "" || strings.ContainsAny(href, " \t\n\r\f") {
		return nil, false
	}
	u, err := url.Parse(href)
	if err != nil || u.Scheme == "" {
		return nil, false
	}
	for _, s := range linkSchemes {
		if u.Scheme == s {
			return u, true
		}
	}
	return nil, false
}

// filterClasses keeps only the class tokens Mastodon keeps.
func filterClasses(n *html.Node) {
	v, ok := getAttr(n, "class")
	if !ok {
		return
	}
	var kept []string
	for _, c := range strings.Fields(v) {
		if classTokenRe.MatchString(c) {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		removeAttr(n, "class")
		return
	}
	setAttr(n, "class", strings.Join(kept, " "))
}

// mathText returns the FEP-dc88 textual form of a <math> element: its
// application/x-tex annotation wrapped in $ (or $$ for display="block"), or
// else its text/plain annotation. It returns "" if there is neither.
func mathText(m *html.Node) string {
	var sem *html.Node
	for c := m.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			sem = c
			break
		}
	}
	if sem == nil || sem.Data != "semantics" {
		return ""
	}
	annotation := func(enc string) (string, bool) {
		for c := sem.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode && c.Data == "annotation" {
				if v, _ := getAttr(c, "encoding"); v == enc {
					return textContent(c), true
				}
			}
		}
		return "", false
	}
	if tex, ok := annotation("application/x-tex"); ok {
		if d, _ := getAttr(m, "display"); d == "block" {
			return "$$" + tex + "$$"
		}
		return "$" + tex + "$"
	}
	if t, ok := annotation("text/plain"); ok {
		return t
	}
	return ""
}

// textContent returns the concatenated text of n's descendants, ignoring
// script and style contents.
func textContent(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch {
		case n.Type == html.TextNode:
			b.WriteString(n.Data)
		case n.Type == html.ElementNode && (n.DataAtom == atom.Script || n.DataAtom == atom.Style):
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func getAttr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// setAttr sets key=val on n, keeping the position of the first existing key
// attribute (dropping any duplicates) or else appending it.
func setAttr(n *html.Node, key, val string) {
	out := n.Attr[:0]
	found := false
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			if found {
				continue
			}
			a.Val, found = val, true
		}
		out = append(out, a)
	}
	if !found {
		out = append(out, html.Attribute{Key: key, Val: val})
	}
	n.Attr = out
}

func removeAttr(n *html.Node, key string) {
	kept := n.Attr[:0]
	for _, a := range n.Attr {
		if a.Key != key {
			kept = append(kept, a)
		}
	}
	n.Attr = kept
}
