package sanitize

import (
	"strings"
	"sync"
	"testing"
)

const rel = ` rel="nofollow noopener noreferrer" target="_blank"`

// mastodonStatus is the content field of a real Mastodon 4.x Note: a
// mention, a hashtag and a shortened link.
const mastodonStatus = `<p><span class="h-card" translate="no"><a href="https://mastodon.social/@Gargron" class="u-url mention">@<span>Gargron</span></a></span> hello <a href="https://mastodon.social/tags/fediverse" class="mention hashtag" rel="tag">#<span>fediverse</span></a> <a href="https://example.com/some/long/path" target="_blank" rel="nofollow noopener noreferrer" translate="no"><span class="invisible">https://</span><span class="ellipsis">example.com/some/lon</span><span class="invisible">g/path</span></a></p>`

// Attributes come out in a canonical (alphabetical) order; rel and target
// are forced on every link and rel="tag" is replaced, as in Mastodon.
const mastodonStatusWant = `<p><span class="h-card" translate="no"><a class="u-url mention" href="https://mastodon.social/@Gargron"` + rel + `>@<span>Gargron</span></a></span> hello <a class="mention hashtag" href="https://mastodon.social/tags/fediverse"` + rel + `>#<span>fediverse</span></a> <a href="https://example.com/some/long/path"` + rel + ` translate="no"><span class="invisible">https://</span><span class="ellipsis">example.com/some/lon</span><span class="invisible">g/path</span></a></p>`

var htmlTests = []struct {
	name, in, want string
}{
	{"empty", ``, ``},
	{"plain paragraph", `<p>Hello, world</p>`, `<p>Hello, world</p>`},
	{"mastodon mention and hashtag", mastodonStatus, mastodonStatusWant},
	{"mention from pleroma/misskey style",
		`<p><span class="h-card"><a class="u-url mention" data-user="9xyz" href="https://pleroma.example/users/bob" rel="ugc">@<span>bob</span></a></span> hi</p>`,
		`<p><span class="h-card"><a class="u-url mention" href="https://pleroma.example/users/bob"` + rel + `>@<span>bob</span></a></span> hi</p>`},

	// Scripts and event handlers.
	{"script element", `<p>hi</p><script>alert(1)</script>`, `<p>hi</p>`},
	{"script in p", `<p>a<script>document.cookie</script>b</p>`, `<p>ab</p>`},
	{"img onerror", `<img src=x onerror=alert(1)>text`, `text`},
	{"onerror on allowed element", `<p onerror="alert(1)" onclick="x()">t</p>`, `<p>t</p>`},
	{"onmouseover on link", `<a href="https://a.example/" onmouseover="alert(1)">x</a>`, `<a href="https://a.example/"` + rel + `>x</a>`},
	{"svg script", `<svg><script>alert(1)</script></svg>ok`, `ok`},
	{"svg onload", `<svg onload=alert(1)>ok</svg>`, ``},

	// Dangerous or unsupported link targets are replaced by their text.
	{"javascript link", `<a href="javascript:alert(1)">click <b>me</b></a>`, `click me`},
	{"javascript mixed case", `<a href="JaVaScRiPt:alert(1)">x</a>`, `x`},
	{"javascript entity encoded", `<a href="&#106;avascript:alert(1)">x</a>`, `x`},
	{"javascript with tab", `<a href="jav&#x09;ascript:alert(1)">x</a>`, `x`},
	{"javascript leading space", `<a href=" javascript:alert(1)">x</a>`, `x`},
	{"data link", `<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>`, `x`},
	{"vbscript link", `<a href="vbscript:msgbox(1)">x</a>`, `x`},
	{"relative link", `<a href="/settings">x</a>`, `x`},
	{"protocol-relative link", `<a href="//evil.example/">x</a>`, `x`},
	{"link without href", `<a name="top" class="mention">x</a>`, `x`},
	{"magnet link kept", `<a href="magnet:?xt=urn:btih:abc">m</a>`, `<a href="magnet:?xt=urn:btih:abc"` + rel + `>m</a>`},
	{"gemini link kept", `<a href="gemini://gem.example/">g</a>`, `<a href="gemini://gem.example/"` + rel + `>g</a>`},
	{"rel and target forced", `<a href="https://a.example/" rel="me opener" target="_self">x</a>`, `<a href="https://a.example/" rel="nofollow noopener noreferrer" target="_blank">x</a>`},

	// Styles, embeds and other unlisted elements.
	{"style attribute", `<p style="position:fixed;top:0">x</p>`, `<p>x</p>`},
	{"style element", `<style>body{display:none}</style><p>x</p>`, `<p>x</p>`},
	{"iframe", `<iframe src="https://evil.example/"></iframe>after`, `after`},
	{"object/embed", `<object data="x.swf"><embed src="x.swf"></object>after`, `after`},
	{"form", `<form action="https://evil.example/"><input name="pw"><button>Go</button></form>`, `Go`},
	{"nested unknown tags", `<div><foo><bar baz="1">nested <blink>text</blink></bar></foo></div>`, `nested text`},
	{"meta refresh", `<meta http-equiv="refresh" content="0;url=https://evil.example/">x`, `x`},
	{"base href", `<base href="https://evil.example/">x`, `x`},
	{"other attributes dropped", `<p id="x" title="t" data-foo="z" dir="rtl">x</p>`, `<p>x</p>`},

	// Classes.
	{"classes filtered", `<span class="status-link mention foo h-card">x</span>`, `<span class="mention h-card">x</span>`},
	{"class fully removed", `<span class="column-header modal">x</span>`, `<span>x</span>`},
	{"p class quote-inline", `<p class="quote-inline">RE: x</p>`, `<p class="quote-inline">RE: x</p>`},
	{"class not allowed on b", `<b class="mention">x</b>`, `<b>x</b>`},
	{"translate only no", `<span translate="yes">x</span>`, `<span>x</span>`},

	// Structure Mastodon keeps or rewrites.
	{"formatting kept",
		`<p><b>b</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u> <del>d</del> <s>s</s> <code>c</code></p><pre>pre</pre><blockquote>q</blockquote>`,
		`<p><b>b</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u> <del>d</del> <s>s</s> <code>c</code></p><pre>pre</pre><blockquote>q</blockquote>`},
	{"lists", `<ol start="3" reversed><li value="7">a</li><li>b</li></ol><ul><li>c</li></ul>`,
		`<ol reversed="" start="3"><li value="7">a</li><li>b</li></ol><ul><li>c</li></ul>`},
	{"bad list attributes", `<ol start="x" reversed="yes" type="i"><li value="-1">a</li></ol>`, `<ol><li>a</li></ol>`},
	{"headings become p strong", `<h1 class="x">Title</h1><p>Body</p>`, `<p><strong>Title</strong></p><p>Body</p>`},
	{"ruby", `<ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp></ruby>`, `<ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp></ruby>`},
	{"br", `a<br>b<br/>c`, `a<br/>b<br/>c`},
	{"unclosed tag closed", `<b>bold`, `<b>bold</b>`},
	{"escaped text stays escaped", `<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>`, `<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>`},
	{"math tex annotation",
		`<math display="block"><semantics><mrow><msup><mi>x</mi><mn>2</mn></msup></mrow><annotation encoding="application/x-tex">x^2</annotation></semantics></math>`,
		`$$x^2$$`},
	{"math without annotation dropped", `<p>a<math><mi>x</mi></math>b</p>`, `<p>ab</p>`},
}

func TestHTML(t *testing.T) {
	for _, tc := range htmlTests {
		t.Run(tc.name, func(t *testing.T) {
			if got := HTML(tc.in); got != tc.want {
				t.Errorf("HTML(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestHTMLNeverEmitsDangerousMarkup checks every test input, plus some
// classic filter-evasion payloads, against a deny-list of markers.
func TestHTMLNeverEmitsDangerousMarkup(t *testing.T) {
	inputs := []string{
		`<scr<script>ipt>alert(1)</script>`,
		`<<script>script>alert(1)<</script>/script>`,
		`<IMG SRC="javascript:alert('XSS');">`,
		`<IMG SRC=JaVaScRiPt:alert('XSS')>`,
		`<a href="java\0script:alert(1)">x</a>`,
		`<p><a href="https://ok.example/" style="x">ok</a><img src=x:alert(alt) onerror=eval(src) alt=0></p>`,
		`<!--<script>alert(1)//--><script>alert(2)</script>`,
		`<noscript><p title="</noscript><img src=x onerror=alert(1)>">`,
		`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
		`<svg><style><img src=x onerror=alert(1)></style></svg>`,
		`<textarea><script>alert(1)</script></textarea>`,
		`<iframe srcdoc="<script>alert(1)</script>"></iframe>`,
		`<a href="https://x.example/" target="_top">x</a>`,
	}
	for _, tc := range htmlTests {
		inputs = append(inputs, tc.in)
	}
	bad := []string{"<script", "<img", "<iframe", "<svg", "<style", "<object", "<embed", "<form",
		"onerror", "onload", "onclick", "onmouseover", "javascript:", "data:", "style=", "_top"}
	for _, in := range inputs {
		out := HTML(in)
		low := strings.ToLower(out)
		for _, b := range bad {
			if strings.Contains(low, b) {
				t.Errorf("HTML(%q) = %q contains %q", in, out, b)
			}
		}
		// Sanitizing is idempotent: our own output is already clean.
		if again := HTML(out); again != out {
			t.Errorf("HTML not idempotent for %q:\n once  %q\n twice %q", in, out, again)
		}
	}
}

func TestHTMLConcurrent(t *testing.T) {
	// The shared package-level policy must be safe under -race.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if got := HTML(mastodonStatus); got != mastodonStatusWant {
					t.Errorf("concurrent HTML = %q", got)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{" \n\n \t", ""},
		{"hello", "<p>hello</p>"},
		{"a\nb", "<p>a<br/>b</p>"},
		{"a\r\nb", "<p>a<br/>b</p>"},
		{"para1\n\npara2", "<p>para1</p><p>para2</p>"},
		{"para1\n \n\n\npara2\n", "<p>para1</p><p>para2</p>"},
		{"\n\nleading and trailing\n\n", "<p>leading and trailing</p>"},
		{`<script>alert("x") & 'y'</script>`, `<p>&lt;script&gt;alert(&#34;x&#34;) &amp; &#39;y&#39;&lt;/script&gt;</p>`},
		{"see https://example.com/a?b=1&c=2 now",
			`<p>see <a href="https://example.com/a?b=1&amp;c=2"` + rel + `>https://example.com/a?b=1&amp;c=2</a> now</p>`},
		{"end of sentence http://example.com/x.",
			`<p>end of sentence <a href="http://example.com/x"` + rel + `>http://example.com/x</a>.</p>`},
		{"(see https://en.wikipedia.org/wiki/Foo_(bar))",
			`<p>(see <a href="https://en.wikipedia.org/wiki/Foo_(bar)"` + rel + `>https://en.wikipedia.org/wiki/Foo_(bar)</a>)</p>`},
		{`quote "https://example.com/q" done`,
			`<p>quote &#34;<a href="https://example.com/q"` + rel + `>https://example.com/q</a>&#34; done</p>`},
		{"HTTPS://EXAMPLE.COM/", `<p><a href="HTTPS://EXAMPLE.COM/"` + rel + `>HTTPS://EXAMPLE.COM/</a></p>`},
		{"not links: javascript:alert(1) ftp://x.example/ http:// www.example.com",
			"<p>not links: javascript:alert(1) ftp://x.example/ http:// www.example.com</p>"},
		{"two https://a.example/ https://b.example/",
			`<p>two <a href="https://a.example/"` + rel + `>https://a.example/</a> <a href="https://b.example/"` + rel + `>https://b.example/</a></p>`},
		{"https://evil.example/\"onmouseover=alert(1)",
			`<p><a href="https://evil.example/"` + rel + `>https://evil.example/</a>&#34;onmouseover=alert(1)</p>`},
	}
	for _, tc := range tests {
		if got := Text(tc.in); got != tc.want {
			t.Errorf("Text(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// TestTextIsFixedPointOfHTML checks that Text only produces markup inside
// the HTML allow-list, byte for byte.
func TestTextIsFixedPointOfHTML(t *testing.T) {
	for _, in := range []string{
		"hello\nworld\n\nhttps://example.com/path?q=1&r=<2>",
		`<b>"quotes" & 'apostrophes'</b>`,
		"(https://example.com/a_(b)), http://example.org.",
	} {
		out := Text(in)
		if got := HTML(out); got != out {
			t.Errorf("HTML(Text(%q))\n got %q\nwant %q", in, got, out)
		}
	}
}

func TestPlainText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"<p>Hello, <b>world</b>!</p>", "Hello, world!"},
		{"<p>one</p><p>two</p>", "one\n\ntwo"},
		{"<p>line1<br>line2<br/>line3</p>", "line1\nline2\nline3"},
		{"<p>a</p>\n\n  <p>  b   c\n d </p>", "a\n\nb c d"},
		{"&lt;script&gt; &amp; &quot;q&quot; &#39;a&#39; &eacute; &#x1F600;", `<script> & "q" 'a' é 😀`},
		{"<script>alert(1)</script><style>p{}</style>text", "text"},
		{"<ul><li>a</li><li>b</li></ul><p>after</p>", "a\nb\n\nafter"},
		{"<h1>Title</h1>body", "Title\n\nbody"},
		{"<p>a<br><br><br><br>b</p>", "a\n\nb"},
		{"</script>unbalanced<div>x", "unbalanced\n\nx"},
		{mastodonStatus, "@Gargron hello #fediverse https://example.com/some/long/path"},
		{"<p>unterminated <b", "unterminated"},
	}
	for _, tc := range tests {
		if got := PlainText(tc.in); got != tc.want {
			t.Errorf("PlainText(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestPlainTextRoundTrip(t *testing.T) {
	for _, in := range []string{
		"hello",
		"line1\nline2\n\npara2 https://example.com/x?a=1&b=2",
		`<not a tag> & "quotes"`,
	} {
		if got := PlainText(Text(in)); got != in {
			t.Errorf("PlainText(Text(%q)) = %q", in, got)
		}
	}
}
