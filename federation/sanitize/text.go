package sanitize

import (
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

var (
	// paragraphSep splits paragraphs on blank lines (lines that are empty
	// or contain only whitespace), like Rails' simple_format.
	paragraphSep = regexp.MustCompile(`\n[ \t\f\v]*\n\s*`)
	// urlRe finds http(s) URLs in plain text. Trailing punctuation is
	// trimmed afterwards by trimURL.
	urlRe = regexp.MustCompile("(?i)\\bhttps?://[^\\s<>\"'`\\x00-\\x1f\\x7f]+")
)

// Text converts plain text to safe HTML the way Mastodon formats a status:
// the text is HTML-escaped, paragraphs separated by blank lines become
// <p> elements, single newlines become <br/>, and http(s) URLs become links
// with rel="nofollow noopener noreferrer" target="_blank". Blank paragraphs
// are dropped; empty or all-whitespace input gives "".
func Text(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.Trim(s, "\n")
	if strings.TrimSpace(s) == "" {
		return ""
	}
	var b strings.Builder
	for _, para := range paragraphSep.Split(s, -1) {
		if strings.TrimSpace(para) == "" {
			continue
		}
		b.WriteString("<p>")
		for i, line := range strings.Split(para, "\n") {
			if i > 0 {
				// <br/> is how HTML serialises it too, so Text output
				// is unchanged by HTML (see TestTextIsFixedPointOfHTML).
				b.WriteString("<br/>")
			}
			writeLinked(&b, line)
		}
		b.WriteString("</p>")
	}
	return b.String()
}

// writeLinked writes line to b, HTML-escaped, with http(s) URLs linked.
func writeLinked(b *strings.Builder, line string) {
	last := 0
	for _, m := range urlRe.FindAllStringIndex(line, -1) {
		start, end := m[0], m[0]+len(trimURL(line[m[0]:m[1]]))
		raw := line[start:end]
		// Why re-parse: only link what is really an absolute http(s) URL
		// with a host; anything else stays escaped text.
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			continue
		}
		b.WriteString(html.EscapeString(line[last:start]))
		esc := html.EscapeString(raw) // Why: the URL lands in an attribute.
		b.WriteString(`<a href="` + esc + `" rel="` + linkRel + `" target="` + linkTarget + `">` + esc + `</a>`)
		last = end
	}
	b.WriteString(html.EscapeString(line[last:]))
}

// trimURL drops trailing punctuation that usually ends the sentence rather
// than the URL, and closing brackets without a matching opening one.
func trimURL(u string) string {
	for len(u) > 0 {
		c := u[len(u)-1]
		switch {
		case strings.IndexByte(".,:;!?*", c) >= 0:
			u = u[:len(u)-1]
		case c == ')' && strings.Count(u, "(") < strings.Count(u, ")"),
			c == ']' && strings.Count(u, "[") < strings.Count(u, "]"),
			c == '}' && strings.Count(u, "{") < strings.Count(u, "}"):
			u = u[:len(u)-1]
		default:
			return u
		}
	}
	return u
}

// plainSkip lists elements whose content is not readable text.
var plainSkip = map[string]bool{
	"script": true, "style": true, "template": true, "noscript": true, "iframe": true,
	"object": true, "svg": true, "math": true, "title": true, "head": true,
}

// plainBreak maps block elements to the number of newlines that separate
// them from surrounding content: 2 (a blank line) for paragraph-like blocks,
// 1 for items. Separators do not add up: the largest pending one wins.
var plainBreak = map[string]int{
	"p": 2, "div": 2, "blockquote": 2, "pre": 2,
	"h1": 2, "h2": 2, "h3": 2, "h4": 2, "h5": 2, "h6": 2,
	"ul": 2, "ol": 2, "dl": 2, "table": 2, "hr": 2,
	"section": 2, "article": 2, "header": 2, "footer": 2,
	"aside": 2, "figure": 2, "address": 2,
	"li": 1, "dt": 1, "dd": 1, "tr": 1, "figcaption": 1,
}

var (
	spaceRun   = regexp.MustCompile(`[ \t\n\r\f]+`)
	lineSpace  = regexp.MustCompile(` *\n *`)
	blankLines = regexp.MustCompile(`\n{3,}`)
)

// PlainText strips all markup from an HTML fragment, for summaries, search
// indexing and notifications. Entities are unescaped and runs of whitespace
// collapse to one space; <br> becomes a newline and paragraphs (p, div,
// blockquote, headings, lists...) are separated by a blank line. Script,
// style and similar non-text content is dropped.
//
// The result is plain text, not HTML: "&lt;script&gt;" comes back as
// "<script>", so it must be escaped before being placed in HTML.
func PlainText(s string) string {
	if s == "" {
		// Most summaries and names are empty; a tokenizer costs 4 KiB.
		return ""
	}
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0    // depth inside plainSkip elements
	pending := 0 // newlines owed before the next text
	flush := func() {
		if b.Len() > 0 {
			b.WriteString(strings.Repeat("\n", pending))
		}
		pending = 0
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			// io.EOF, or a reader error (impossible with a strings.Reader):
			// either way, return what was collected.
			return finishPlain(b.String())
		case html.TextToken:
			if skip > 0 {
				continue
			}
			text := spaceRun.ReplaceAllString(string(z.Text()), " ")
			if text == " " && pending > 0 {
				continue // whitespace between blocks
			}
			flush()
			b.WriteString(text)
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if plainSkip[tag] {
				switch {
				case tt == html.StartTagToken:
					skip++
				case tt == html.EndTagToken && skip > 0:
					skip--
				}
				continue
			}
			if skip > 0 {
				continue
			}
			if tag == "br" {
				flush()
				b.WriteString("\n")
			} else if n := plainBreak[tag]; n > pending {
				pending = n
			}
		}
	}
}

// finishPlain trims spaces around line breaks, limits consecutive line
// breaks to one blank line and trims the ends.
func finishPlain(s string) string {
	s = lineSpace.ReplaceAllString(s, "\n")
	s = blankLines.ReplaceAllString(s, "\n\n")
	return strings.TrimSpace(s)
}
