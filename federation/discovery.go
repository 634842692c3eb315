package federation

import (
	"encoding/xml"
	"strings"

	"github.com/coopfed/coopfed"
)

// WebFingerResource parses a WebFinger resource (acct:name@host, or a coop
// actor URL) and returns the local name it designates, or "" if it is not
// ours. The instance actor answers to acct:<domain>@<domain>, as Mastodon's
// does.
func (f *Federation) WebFingerResource(resource string) (name string, instance bool) {
	if acct, ok := strings.CutPrefix(resource, "acct:"); ok {
		user, host, ok := strings.Cut(strings.TrimPrefix(acct, "@"), "@")
		if !ok || !(strings.EqualFold(host, f.iris.Host()) || strings.EqualFold(host, f.iris.Domain())) {
			return "", false
		}
		if strings.EqualFold(user, f.iris.Domain()) {
			return "", true
		}
		return strings.ToLower(user), false
	}
	// FEP-d556: the server's origin URI names its server-level actor.
	if resource == f.iris.InstanceActor() || resource == f.iris.Base() || resource == f.iris.Base()+"/" {
		return "", true
	}
	if n := f.iris.CoopName(resource); n != "" && f.iris.Coop(n) == resource {
		return n, false
	}
	if n := f.iris.GroupName(resource); n != "" && f.iris.Group(n) == resource {
		return n, false
	}
	return "", false
}

// WebFinger returns the JRD for a coop or a group: subject acct:name@host,
// with the self link Mastodon follows to the actor and a profile page link.
func (f *Federation) WebFinger(c *coopfed.Coop) map[string]any {
	actor := f.ActorIRI(c)
	return map[string]any{
		"subject": "acct:" + c.Name + "@" + f.iris.Host(),
		"aliases": []string{actor},
		"links": []map[string]any{
			{"rel": "self", "type": "application/activity+json", "href": actor},
			{"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": actor},
		},
	}
}

// InstanceWebFinger returns the JRD of the instance actor.
func (f *Federation) InstanceWebFinger() map[string]any {
	return map[string]any{
		"subject": "acct:" + f.iris.Domain() + "@" + f.iris.Host(),
		"aliases": []string{f.iris.InstanceActor()},
		"links": []map[string]any{
			{"rel": "self", "type": "application/activity+json", "href": f.iris.InstanceActor()},
			// FEP-d556 links a server-level actor by its type.
			{"rel": "https://www.w3.org/ns/activitystreams#Application", "type": "application/activity+json", "href": f.iris.InstanceActor()},
		},
	}
}

// NodeInfoLinks is the /.well-known/nodeinfo document.
func (f *Federation) NodeInfoLinks() map[string]any {
	return map[string]any{"links": []map[string]any{
		{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": f.iris.NodeInfo()},
	}}
}

// NodeInfoUsage holds the counts NodeInfo publishes.
type NodeInfoUsage struct {
	Coops       int64
	ActiveCoops int64 // coops that published in the last month
	LocalPosts  int64
	// Market is the instance's open statistics in brief, published in
	// NodeInfo's metadata; nil for none.
	Market *coopfed.Statistics
	Groups int64 // market groups hosted here
}

// NodeInfo returns the NodeInfo 2.1 document. Coops are counted as users:
// they are the accounts of this server.
func (f *Federation) NodeInfo(u NodeInfoUsage, openRegistrations bool) map[string]any {
	return map[string]any{
		"version": "2.1",
		"software": map[string]any{
			"name":       SoftwareName,
			"version":    SoftwareVersion,
			"repository": "https://github.com/coopfed/coopfed",
			"homepage":   "https://github.com/coopfed/coopfed",
		},
		"protocols":         []string{"activitypub"},
		"services":          map[string]any{"inbound": []string{}, "outbound": []string{}},
		"openRegistrations": openRegistrations,
		"usage": map[string]any{
			"users":      map[string]any{"total": u.Coops, "activeMonth": u.ActiveCoops, "activeHalfyear": u.Coops},
			"localPosts": u.LocalPosts,
		},
		"metadata": f.nodeInfoMetadata(u),
	}
}

// nodeInfoMetadata is NodeInfo's metadata: the node's name and, under
// coopfed, the instance's market figures and where the full ones are.
func (f *Federation) nodeInfoMetadata(u NodeInfoUsage) map[string]any {
	meta := map[string]any{"nodeName": f.iris.Domain()}
	st := u.Market
	if st == nil {
		return meta
	}
	offers, needs := st.OpenTotals()
	var agreed, fulfilled, motions int64
	var turnout float64
	for _, m := range st.Months {
		agreed, fulfilled, motions = agreed+m.Agreed, fulfilled+m.Fulfilled, motions+m.Motions
		turnout += m.Turnout * float64(m.Motions)
	}
	if motions > 0 {
		turnout /= float64(motions)
	}
	meta["coopfed"] = map[string]any{
		"statistics":  f.iris.Base() + RouteStatistics,
		"activeCoops": st.ActiveCoops, "groups": u.Groups, "openOffers": offers, "openNeeds": needs,
		// The last twelve months.
		"tradesAgreed": agreed, "tradesFulfilled": fulfilled, "motionsHeld": motions,
		"meanTurnout": float64(int64(turnout*1000+0.5)) / 1000,
	}
	return meta
}

// HostMeta returns the XRD host-meta document pointing at WebFinger, which
// some older servers read before WebFinger.
func (f *Federation) HostMeta() []byte {
	type link struct {
		Rel      string `xml:"rel,attr"`
		Type     string `xml:"type,attr"`
		Template string `xml:"template,attr"`
	}
	type xrd struct {
		XMLName xml.Name `xml:"XRD"`
		Xmlns   string   `xml:"xmlns,attr"`
		Link    link     `xml:"Link"`
	}
	out, _ := xml.MarshalIndent(xrd{Xmlns: "http://docs.oasis-open.org/ns/xri/xrd-1.0", Link: link{Rel: "lrdd", Type: "application/jrd+json", Template: f.iris.WebFingerTemplate()}}, "", "  ")
	return append([]byte(xml.Header), out...)
}
