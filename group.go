package coopfed

import (
	"strings"
	"time"
)

// Group is a market group hosted on this instance: a Group actor (FEP-1b12)
// that coops join by following it. It relays its members' listings to every
// member, so coops that do not follow each other share one market. The
// group's actor is a Coop row of kind KindGroup: its Summary is the topic,
// Region where it trades, and Locked means members are approved by hand.
type Group struct {
	Coop
	// OwnerID is the local coop that created the group; its admins
	// moderate it.
	OwnerID int64
	// Moderators are further actors (local or remote coops) who may take
	// listings out of the group and ban coops from it.
	Moderators []string
}

// Membership modes of a group, as the API names them.
const (
	MembershipOpen     = "open"     // every Follow is accepted at once
	MembershipApproved = "approved" // a moderator approves each member
)

// Membership returns the group's membership mode.
func (g *Group) Membership() string {
	if g.Locked {
		return MembershipApproved
	}
	return MembershipOpen
}

// MaxGroupModerators bounds a group's moderators list.
const MaxGroupModerators = 50

// Validate checks a group before it is stored.
func (g *Group) Validate() error {
	g.Kind = KindGroup
	if err := g.Coop.Validate(); err != nil {
		return err
	}
	fields := map[string]string{}
	if g.OwnerID == 0 {
		fields["owner"] = "a group belongs to a coop of this instance"
	}
	if len(g.Moderators) > MaxGroupModerators {
		fields["moderators"] = "at most 50 moderators"
	}
	for _, m := range g.Moderators {
		if !strings.HasPrefix(m, "https://") && !strings.HasPrefix(m, "http://") {
			fields["moderators"] = "each moderator is an actor IRI"
			break
		}
	}
	return FieldErrors(fields)
}

// GroupPost states: what became of an object a local group relayed.
const (
	PostOpen    = "open"
	PostClosed  = "closed"
	PostDeleted = "deleted"
	PostRemoved = "removed" // a moderator took it out of the group
)

// GroupPost is an object (a listing) a local group relayed to its members.
type GroupPost struct {
	ID          int64
	GroupID     int64
	ObjectIRI   string
	ActorIRI    string // the member whose object it is
	AnnounceIRI string // the group's latest Announce of it
	Kind        string // offer or need
	Category    string
	Title       string
	State       string
	Updated     *time.Time // the object's own updated time
	CreatedAt   time.Time
	ChangedAt   time.Time
}

// GroupBan is an actor banned from a local group.
type GroupBan struct {
	GroupID   int64
	ActorIRI  string
	Reason    string
	CreatedAt time.Time
}

// ListingVia is a group or relay through which a listing reached the
// market (or, for a local listing, a group it was addressed to).
type ListingVia struct {
	ListingID   int64
	GroupIRI    string
	AnnounceIRI string
	AddedAt     time.Time
}
