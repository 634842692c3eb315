package federation

import (
	"bytes"
	"encoding/json"
	"net"
	"net/url"
	"strings"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/sanitize"
)

// FEP-0ea0 payment links: Links with rel "payment" in the attachment of
// an actor or an object (coops' actors, listings).

// maxRemoteLinkHref bounds a remote payment link's address, as local
// links are bounded.
const maxRemoteLinkHref = 1000

// paymentLinksDoc is the attachment form of payment links.
func paymentLinksDoc(links []coopfed.PaymentLink) []any {
	out := make([]any, 0, len(links))
	for _, l := range links {
		out = append(out, map[string]any{"type": "Link", "name": l.Name, "href": l.Href, "rel": "payment"})
	}
	return out
}

// linkDoc is one attachment as a payment link may be written.
type linkDoc struct {
	Type types      `json:"type"`
	Name langString `json:"name"`
	Href string     `json:"href"`
	Rel  refs       `json:"rel"`
}

// remotePaymentLinks reads the payment links of a peer's attachment (one
// object or an array), keeping at most coopfed.MaxPaymentLinks. A link is
// kept only when it is a Link whose rel is or contains "payment" and whose
// href is an https address (or, with allowPrivate, an http one on
// loopback) of at most 1000 bytes; its name is plain text of at most 100
// characters, the host when it has none.
//
// Why so strict: the links are shown to our members as links to follow
// with money in mind. Another scheme (javascript:, data:, or a payto: URI
// a peer made up) could run script or mislead, and a peer's attachment
// could otherwise fill our pages; whatever fails is dropped, the rest of
// the object is still taken.
func remotePaymentLinks(raw json.RawMessage, allowPrivate bool) []coopfed.PaymentLink {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	if raw[0] == '{' {
		raw = append(append([]byte{'['}, raw...), ']')
	}
	var docs []json.RawMessage
	if decodeJSON(raw, &docs) != nil {
		return nil
	}
	var out []coopfed.PaymentLink
	for _, d := range docs {
		if len(out) == coopfed.MaxPaymentLinks {
			break
		}
		var l linkDoc
		if decodeJSON(d, &l) != nil || !l.Type.Is("Link") || !l.Rel.Has("payment") {
			continue
		}
		href := strings.TrimSpace(l.Href)
		u, ok := safeLinkURL(href, allowPrivate)
		if !ok {
			continue
		}
		name := truncateRunes(strings.Join(strings.Fields(sanitize.PlainText(string(l.Name))), " "), 100)
		if name == "" {
			name = u.Hostname()
		}
		out = append(out, coopfed.PaymentLink{Name: name, Href: u.String()})
	}
	return out
}

// safeLinkURL parses a remote link's href: https with a host and no
// credentials, or http on a loopback host when allowPrivate.
func safeLinkURL(href string, allowPrivate bool) (*url.URL, bool) {
	if href == "" || len(href) > maxRemoteLinkHref {
		return nil, false
	}
	u, err := url.Parse(href)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return nil, false
	}
	switch u.Scheme {
	case "https":
		return u, true
	case "http":
		ip := net.ParseIP(u.Hostname())
		return u, allowPrivate && (u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()))
	}
	return nil, false
}
