package federation

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"net/url"
	"strings"
	"time"
)

// Route patterns for gorilla/mux. Every path the instance serves is named
// here, and IRIs below are built from the same shapes, so handlers and
// federation cannot disagree on a URL.
const (
	RouteCoop          = "/coops/{name}"
	RouteCoopInbox     = "/coops/{name}/inbox"
	RouteCoopOutbox    = "/coops/{name}/outbox"
	RouteCoopFollowers = "/coops/{name}/followers"
	RouteCoopFollowing = "/coops/{name}/following"
	RouteCoopAvatar    = "/coops/{name}/avatar.png"
	RouteCoopMembers   = "/coops/{name}/members"
	RouteListing       = "/listings/{id}"
	RouteMotion        = "/motions/{id}"
	RouteAgreement     = "/agreements/{id}"
	// Participatory budgets: a round, a bucket proposed to one, and a
	// member's allocation cast through another instance.
	RouteRound      = "/budgets/{id}"
	RouteBucket     = "/buckets/{id}"
	RouteAllocation = "/allocations/{id}"
	RouteProject    = "/projects/{id}"
	// RouteMarket is the market's HTML search page; hashtags of listings
	// link to it, filtered by category or kind.
	RouteMarket        = "/market"
	RouteSharedInbox   = "/inbox"
	RouteInstanceActor = "/actor"
	RouteNote          = "/notes/{id}"
	RouteNoteActivity  = "/notes/{id}/activity"
	RouteActivity      = "/activities/{id}"
	// Market groups (FEP-1b12): a Group actor and its collections; its
	// followers are its members, attributedTo its moderators.
	RouteGroup           = "/groups/{name}"
	RouteGroupInbox      = "/groups/{name}/inbox"
	RouteGroupOutbox     = "/groups/{name}/outbox"
	RouteGroupFollowers  = "/groups/{name}/followers"
	RouteGroupFollowing  = "/groups/{name}/following"
	RouteGroupModerators = "/groups/{name}/moderators"
	RouteGroupAvatar     = "/groups/{name}/avatar.png"
	// RouteGroups lists the groups this instance knows; RouteDirectory the
	// coops seen in them; RouteStatistics the instance's open figures.
	RouteGroups     = "/groups"
	RouteDirectory  = "/directory"
	RouteStatistics = "/statistics"
	RouteWebFinger  = "/.well-known/webfinger"
	RouteNodeInfoWK = "/.well-known/nodeinfo"
	RouteHostMeta   = "/.well-known/host-meta"
	RouteNodeInfo   = "/nodeinfo/2.1"
)

// PublicIRI is the special collection meaning "everyone".
const PublicIRI = "https://www.w3.org/ns/activitystreams#Public"

// IRIs builds and recognises this instance's IRIs from its public base URL.
type IRIs struct {
	base *url.URL
}

// NewIRIs returns the IRI builder for an instance served at base (scheme and
// host, optionally a port; any path is ignored).
func NewIRIs(base string) (*IRIs, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, &url.Error{Op: "parse", URL: base, Err: errBadBase}
	}
	return &IRIs{base: &url.URL{Scheme: u.Scheme, Host: strings.ToLower(u.Host)}}, nil
}

type baseError string

func (e baseError) Error() string { return string(e) }

const errBadBase = baseError("base URL must be http(s)://host[:port]")

// Base returns the base URL without a trailing slash.
func (i *IRIs) Base() string { return i.base.String() }

// Host returns the host[:port] of the instance, the domain of its handles.
func (i *IRIs) Host() string { return i.base.Host }

// Domain returns the host without a port.
func (i *IRIs) Domain() string { return i.base.Hostname() }

func (i *IRIs) path(p string) string { return i.base.String() + p }

// Coop returns the actor IRI of a coop.
func (i *IRIs) Coop(name string) string { return i.path("/coops/" + url.PathEscape(name)) }

// CoopInbox returns a coop's personal inbox.
func (i *IRIs) CoopInbox(name string) string { return i.Coop(name) + "/inbox" }

// CoopOutbox returns a coop's outbox collection.
func (i *IRIs) CoopOutbox(name string) string { return i.Coop(name) + "/outbox" }

// CoopFollowers returns a coop's followers collection.
func (i *IRIs) CoopFollowers(name string) string { return i.Coop(name) + "/followers" }

// CoopFollowing returns a coop's following collection.
func (i *IRIs) CoopFollowing(name string) string { return i.Coop(name) + "/following" }

// CoopAvatar returns the URL of a coop's avatar image.
func (i *IRIs) CoopAvatar(name string) string { return i.Coop(name) + "/avatar.png" }

// CoopKey returns the id of a coop's public key. The fragment form is what
// Mastodon uses; peers resolve it by fetching the actor.
func (i *IRIs) CoopKey(name string) string { return i.Coop(name) + "#main-key" }

// CoopAssertionKey returns the id of a coop's Ed25519 key, the
// verification method of its integrity proofs.
func (i *IRIs) CoopAssertionKey(name string) string { return i.Coop(name) + "#ed25519-key" }

// Group returns the actor IRI of a local market group.
func (i *IRIs) Group(name string) string { return i.path("/groups/" + url.PathEscape(name)) }

// GroupInbox returns a group's personal inbox.
func (i *IRIs) GroupInbox(name string) string { return i.Group(name) + "/inbox" }

// GroupOutbox returns a group's outbox: its Announces.
func (i *IRIs) GroupOutbox(name string) string { return i.Group(name) + "/outbox" }

// GroupFollowers returns a group's followers collection: its members.
func (i *IRIs) GroupFollowers(name string) string { return i.Group(name) + "/followers" }

// GroupFollowing returns a group's following collection (the relays it
// subscribed to).
func (i *IRIs) GroupFollowing(name string) string { return i.Group(name) + "/following" }

// GroupModerators returns a group's moderators collection (FEP-1b12
// attributedTo).
func (i *IRIs) GroupModerators(name string) string { return i.Group(name) + "/moderators" }

// GroupAvatar returns the URL of a group's avatar image.
func (i *IRIs) GroupAvatar(name string) string { return i.Group(name) + "/avatar.png" }

// GroupKey returns the id of a group's public key.
func (i *IRIs) GroupKey(name string) string { return i.Group(name) + "#main-key" }

// GroupName returns the group name in a local group IRI (also accepting
// the key id and sub-collections), or "" if iri is not one.
func (i *IRIs) GroupName(iri string) string { return i.localName(iri, "/groups/") }

// GroupStatistics returns the page of a local group's open figures.
func (i *IRIs) GroupStatistics(name string) string { return i.Group(name) + "/statistics" }

// SharedInbox returns the instance's shared inbox.
func (i *IRIs) SharedInbox() string { return i.path(RouteSharedInbox) }

// InstanceActor returns the instance actor (FEP-d556), which signs fetches.
func (i *IRIs) InstanceActor() string { return i.path(RouteInstanceActor) }

// InstanceKey returns the id of the instance actor's key.
func (i *IRIs) InstanceKey() string { return i.InstanceActor() + "#main-key" }

// Note returns the IRI of an announcement.
func (i *IRIs) Note(id string) string { return i.path("/notes/" + id) }

// CoopMembers returns a coop's members collection (FEP-9967 eligibility).
func (i *IRIs) CoopMembers(name string) string { return i.Coop(name) + "/members" }

// Listing returns the IRI of a market listing (an offer or a need).
func (i *IRIs) Listing(id string) string { return i.path("/listings/" + id) }

// ListingID returns the id in a local listing IRI, or "".
func (i *IRIs) ListingID(iri string) string { return i.localID(iri, "/listings/") }

// Motion returns the IRI of a governance motion (a Question).
func (i *IRIs) Motion(id string) string { return i.path("/motions/" + id) }

// MotionID returns the id in a local motion IRI, or "".
func (i *IRIs) MotionID(iri string) string { return i.localID(iri, "/motions/") }

// Round returns a local budget round's IRI.
func (i *IRIs) Round(id string) string { return i.path("/budgets/" + id) }

// RoundID returns the id in a local round IRI, or "".
func (i *IRIs) RoundID(iri string) string { return i.localID(iri, "/budgets/") }

// Bucket returns a local bucket's IRI.
func (i *IRIs) Bucket(id string) string { return i.path("/buckets/" + id) }

// BucketID returns the id in a local bucket IRI, or "".
func (i *IRIs) BucketID(iri string) string { return i.localID(iri, "/buckets/") }

// Allocation returns the IRI of an allocation a local coop cast.
func (i *IRIs) Allocation(id string) string { return i.path("/allocations/" + id) }

// Agreement returns the IRI of a trade agreement made by a coop of this
// instance (FEP-0837's Accept result).
func (i *IRIs) Agreement(id string) string { return i.path("/agreements/" + id) }

// AgreementID returns the id in a local agreement IRI, or "".
func (i *IRIs) AgreementID(iri string) string { return i.localID(iri, "/agreements/") }

// Project returns the IRI of a commons project of a local coop.
func (i *IRIs) Project(id string) string { return i.path("/projects/" + id) }

// MarketURL returns the market page filtered by one query parameter.
func (i *IRIs) MarketURL(param, value string) string {
	return i.path(RouteMarket) + "?" + param + "=" + url.QueryEscape(value)
}

// Activity returns the IRI of an activity we sent.
func (i *IRIs) Activity(id string) string { return i.path("/activities/" + id) }

// NodeInfo returns the NodeInfo 2.1 document URL.
func (i *IRIs) NodeInfo() string { return i.path(RouteNodeInfo) }

// WebFingerTemplate returns the host-meta LRDD template.
func (i *IRIs) WebFingerTemplate() string { return i.path(RouteWebFinger) + "?resource={uri}" }

// IsLocal reports whether iri names something on this instance. Hosts are
// compared without case; the scheme must match too, so that an http IRI
// cannot pose as our https one.
func (i *IRIs) IsLocal(iri string) bool {
	u, err := url.Parse(iri)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, i.base.Host) && u.Scheme == i.base.Scheme
}

// SameHost reports whether iri's host is host (compared without case).
func SameHost(iri, host string) bool {
	u, err := url.Parse(iri)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}

// HostOf returns the lower-case host[:port] of an IRI, or "".
func HostOf(iri string) string {
	u, err := url.Parse(iri)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Host)
}

// CoopName returns the coop name in a local coop actor IRI (also accepting
// the key id and sub-collections), or "" if iri is not one.
func (i *IRIs) CoopName(iri string) string { return i.localName(iri, "/coops/") }

func (i *IRIs) localName(iri, prefix string) string {
	if !i.IsLocal(iri) {
		return ""
	}
	u, _ := url.Parse(iri)
	rest, ok := strings.CutPrefix(u.Path, prefix)
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	name, err := url.PathUnescape(name)
	if err != nil {
		return ""
	}
	return name
}

// NoteID returns the id in a local note IRI, or "".
func (i *IRIs) NoteID(iri string) string { return i.localID(iri, "/notes/") }

// ActivityID returns the id in a local activity IRI, or "".
func (i *IRIs) ActivityID(iri string) string { return i.localID(iri, "/activities/") }

func (i *IRIs) localID(iri, prefix string) string {
	if !i.IsLocal(iri) {
		return ""
	}
	u, _ := url.Parse(iri)
	id, ok := strings.CutPrefix(u.Path, prefix)
	if !ok || id == "" || strings.Contains(id, "/") {
		return ""
	}
	return id
}

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a fresh object id: 48 bits of milliseconds then 80 random
// bits in Crockford base32, so ids sort by time and cannot be guessed.
func NewID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:])
	return idEncoding.EncodeToString(b[:])
}
