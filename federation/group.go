package federation

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/httpsign"
	"github.com/coopfed/coopfed/store"
	"github.com/go-fed/activity/streams"
)

// Market groups (FEP-1b12). A group is a Group actor hosted here that coops
// join by following it. When a member's listing (a Create, Update or
// Delete addressed to the group in to, cc or audience) reaches the group,
// the group wraps the activity, exactly as received, in an Announce to
// every member; members check each announced listing against its origin
// (announce.go). Moderators take listings out of the group and ban coops;
// the group tells its members with Remove. A group also serves as a relay:
// servers may subscribe with Mastodon's Follow of the Public collection at
// its inbox or a LitePub relay's Follow, and a LitePub relay actor that
// subscribes is followed back, so what it announces is relayed too.

// relayActorTypes are the actor types a server subscribes to a relay as:
// Mastodon's instance actor is an Application, LitePub relays are too.
var relayActorTypes = []string{"Application", "Service"}

// GroupActor returns a local group's actor document: a Group whose
// attributedTo is its moderators collection (FEP-1b12).
func (f *Federation) GroupActor(g *coopfed.Group) (map[string]any, error) {
	return f.localActorDoc(streams.NewActivityStreamsGroup(), &g.Coop, localActorIRIs{
		id: f.iris.Group(g.Name), inbox: f.iris.GroupInbox(g.Name), outbox: f.iris.GroupOutbox(g.Name),
		followers: f.iris.GroupFollowers(g.Name), following: f.iris.GroupFollowing(g.Name),
		key: f.iris.GroupKey(g.Name), avatar: f.iris.GroupAvatar(g.Name),
	}, map[string]any{"attributedTo": f.iris.GroupModerators(g.Name)})
}

// GroupModerators returns a group's moderators: the coop that runs it,
// then the others named.
func (f *Federation) GroupModerators(ctx context.Context, g *coopfed.Group) ([]string, error) {
	owner, err := f.store.CoopByID(ctx, g.OwnerID)
	if err != nil {
		return nil, err
	}
	out := []string{f.iris.Coop(owner.Name)}
	for _, m := range g.Moderators {
		if m != out[0] {
			out = append(out, m)
		}
	}
	return out, nil
}

// ModeratorsCollection returns the group's moderators collection document.
func (f *Federation) ModeratorsCollection(ctx context.Context, g *coopfed.Group) (map[string]any, error) {
	mods, err := f.GroupModerators(ctx, g)
	if err != nil {
		return nil, err
	}
	items := make([]any, len(mods))
	for i, m := range mods {
		items[i] = m
	}
	return map[string]any{
		"@context":     ContextActivityStreams,
		"id":           f.iris.GroupModerators(g.Name),
		"type":         "OrderedCollection",
		"totalItems":   len(items),
		"orderedItems": items,
	}, nil
}

// IsModerator reports whether actorIRI may moderate the group: the coop
// that runs it, or one of its moderators.
func (f *Federation) IsModerator(ctx context.Context, g *coopfed.Group, actorIRI string) (bool, error) {
	mods, err := f.GroupModerators(ctx, g)
	if err != nil {
		return false, err
	}
	for _, m := range mods {
		if m == actorIRI {
			return true, nil
		}
	}
	return false, nil
}

// CreateGroup creates a market group run by a local coop, with a fresh
// key pair. The owner coop's admins moderate it.
func (f *Federation) CreateGroup(ctx context.Context, owner *coopfed.Coop, g *coopfed.Group) error {
	if err := coopfed.ValidateCoopName(g.Name); err != nil {
		return err
	}
	g.OwnerID, g.Kind = owner.ID, coopfed.KindGroup
	g.Moderators = cleanModerators(g.Moderators, f.iris.Coop(owner.Name))
	key, err := httpsign.GenerateKey()
	if err != nil {
		return err
	}
	if g.PrivateKeyPEM, err = httpsign.EncodePrivateKeyPEM(key); err != nil {
		return err
	}
	if g.PublicKeyPEM, err = httpsign.EncodePublicKeyPEM(&key.PublicKey); err != nil {
		return err
	}
	return f.store.Update(ctx, func(tx *store.Tx) error { return tx.CreateGroup(g) })
}

// cleanModerators trims, drops duplicates and the owner (always a
// moderator) from a moderators list.
func cleanModerators(list []string, owner string) []string {
	seen := map[string]bool{owner: true}
	out := []string{}
	for _, m := range list {
		m = strings.TrimSpace(m)
		if m != "" && !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

// UpdateGroup stores a group's new profile and moderators and sends the
// new actor document to its members as Update.
func (f *Federation) UpdateGroup(ctx context.Context, g *coopfed.Group) error {
	owner, err := f.store.CoopByID(ctx, g.OwnerID)
	if err != nil {
		return err
	}
	g.Moderators = cleanModerators(g.Moderators, f.iris.Coop(owner.Name))
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateGroup(g); err != nil {
			return err
		}
		actor, err := f.GroupActor(g)
		if err != nil {
			return err
		}
		delete(actor, "@context")
		id := f.iris.Group(g.Name)
		doc := f.wrap("Update", f.iris.Activity(f.newID()), id, actor, []string{PublicIRI}, []string{f.iris.GroupFollowers(g.Name)}, tx.Now())
		doc["@context"] = actorContext
		_, err = f.sendToFollowers(tx, &g.Coop, doc, id, false)
		return err
	})
	if err != nil {
		return err
	}
	f.delivery.wake()
	return nil
}

// --- membership, on the group's side ---

// applyGroupFollow answers a Follow of a local group: refused for a banned
// actor, pending when members are approved by hand, else accepted. A
// LitePub relay actor that subscribes is followed back, so that what it
// relays reaches the group.
func applyGroupFollow(ctx context.Context, in *incoming) error {
	g, err := in.tx.GroupByID(in.coop.ID)
	if err != nil {
		return err
	}
	followed := in.f.ActorIRI(in.coop)
	if in.relayFollow {
		followed = PublicIRI
	}
	// Why: a banned coop stays out; it is told so, as Lemmy does.
	if banned, err := in.tx.BannedFromGroup(g.ID, in.signer.IRI); err != nil || banned {
		if err != nil {
			return err
		}
		return in.f.sendAnswerOf(in.tx, in.coop, "Reject", in.act.ID, followed, in.signer)
	}
	state := coopfed.FollowAccepted
	if g.Locked {
		state = coopfed.FollowPending
	}
	if err := in.tx.PutFollower(&coopfed.Follower{CoopID: g.ID, ActorIRI: in.signer.IRI, FollowIRI: in.act.ID, State: state}); err != nil {
		return err
	}
	cur, err := in.tx.Follower(g.ID, in.signer.IRI)
	if err != nil {
		return err
	}
	if cur.State == coopfed.FollowPending {
		_, err := in.tx.AddNotification(&coopfed.Notification{CoopID: g.OwnerID, Kind: coopfed.NotifyGroupJoin,
			ActivityIRI: in.act.ID, ActorIRI: in.signer.IRI, ListingIRI: followed})
		return err
	}
	if err := in.f.sendAnswerOf(in.tx, in.coop, "Accept", in.act.ID, followed, in.signer); err != nil {
		return err
	}
	if isLitePubRelay(in.signer) {
		return in.f.followBack(in.tx, in.coop, in.signer)
	}
	return nil
}

// isLitePubRelay reports whether an actor is a LitePub relay: Pleroma and
// Akkoma serve their relay actor, an Application, at /relay.
func isLitePubRelay(a *coopfed.RemoteActor) bool {
	u, err := url.Parse(a.IRI)
	return err == nil && a.Type == "Application" && u.Path == "/relay"
}

// followBack makes a group follow a relay that subscribed to it, unless it
// already does.
func (f *Federation) followBack(tx *store.Tx, g *coopfed.Coop, relay *coopfed.RemoteActor) error {
	if _, err := tx.Following(g.ID, relay.IRI); err == nil {
		return nil
	}
	fl := &coopfed.Following{CoopID: g.ID, ActorIRI: relay.IRI, FollowIRI: f.iris.Activity(f.newID()), State: coopfed.FollowPending}
	if err := tx.PutFollowing(fl); err != nil {
		return err
	}
	_, err := f.send(tx, g, withContext(f.follow(fl.FollowIRI, f.ActorIRI(g), relay.IRI), ContextActivityStreams), relay.IRI, false, []string{relay.Inbox})
	return err
}

// memberLeft tells a group's members that an actor is no longer one (it
// left, was banned or deleted itself) with Remove{object: actor, target:
// the group's followers}, and drops its listings from the markets of the
// group's local members. Members are told when the group relayed something
// of the actor's, or always when tell is set (a ban).
func (f *Federation) memberLeft(tx *store.Tx, g *coopfed.Coop, actorIRI string, tell bool) error {
	groupIRI := f.ActorIRI(g)
	if _, err := tx.DropActorVias(groupIRI, actorIRI); err != nil {
		return err
	}
	posts, err := tx.GroupPostsOfActor(g.ID, actorIRI)
	if err != nil {
		return err
	}
	for _, p := range posts {
		if p.State == coopfed.PostOpen {
			if err := tx.SetGroupPostState(g.ID, p.ObjectIRI, coopfed.PostClosed); err != nil {
				return err
			}
		}
		if err := tx.UnlistGroupActivities(g.ID, p.ObjectIRI); err != nil {
			return err
		}
	}
	if len(posts) == 0 && !tell {
		return nil // nothing of the actor's was relayed: members have nothing to drop
	}
	remove := f.wrap("Remove", f.iris.Activity(f.newID()), groupIRI, actorIRI, []string{PublicIRI}, []string{f.FollowersIRI(g)}, tx.Now())
	remove["target"] = f.FollowersIRI(g)
	_, err = f.sendToFollowers(tx, g, remove, actorIRI, false)
	return err
}

// --- membership, on a local coop's side ---

// JoinGroup makes a coop join a group by handle or IRI: a local group of
// this instance directly, any other by Follow.
func (f *Federation) JoinGroup(ctx context.Context, c *coopfed.Coop, handleOrIRI string) (*coopfed.Following, error) {
	target := strings.TrimSpace(handleOrIRI)
	if g, err := f.localGroupNamed(ctx, target); err == nil {
		return f.joinLocalGroup(ctx, c, g)
	} else if coopfed.ErrorCode(err) != coopfed.ENOTFOUND {
		return nil, err
	}
	return f.Follow(ctx, c, target)
}

// localGroupNamed returns the local group a handle (name@our-host) or IRI
// names, or ENOTFOUND.
func (f *Federation) localGroupNamed(ctx context.Context, target string) (*coopfed.Group, error) {
	name := ""
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		if n := f.iris.GroupName(target); n != "" && f.iris.Group(n) == target {
			name = n
		}
	} else if user, host, ok := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(target, "acct:"), "@"), "@"); ok &&
		(strings.EqualFold(host, f.iris.Host()) || strings.EqualFold(host, f.iris.Domain())) {
		name = strings.ToLower(user)
	}
	if name == "" {
		return nil, coopfed.Errorf(coopfed.ENOTFOUND, "not a group of this instance")
	}
	return f.store.GroupByName(ctx, name)
}

// joinLocalGroup records a local coop's membership of a local group, as
// the Follow and Accept of a remote one would: pending until a moderator
// approves it when members are approved by hand.
func (f *Federation) joinLocalGroup(ctx context.Context, c *coopfed.Coop, g *coopfed.Group) (*coopfed.Following, error) {
	coopIRI, groupIRI := f.iris.Coop(c.Name), f.iris.Group(g.Name)
	var fl *coopfed.Following
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		if banned, err := tx.BannedFromGroup(g.ID, coopIRI); err != nil {
			return err
		} else if banned {
			return coopfed.Errorf(coopfed.EFORBIDDEN, "the group's moderators banned this coop")
		}
		if cur, err := tx.Following(c.ID, groupIRI); err == nil {
			fl = cur
			return nil
		}
		state := coopfed.FollowAccepted
		if g.Locked {
			state = coopfed.FollowPending
		}
		fl = &coopfed.Following{CoopID: c.ID, ActorIRI: groupIRI, FollowIRI: f.iris.Activity(f.newID()), State: state}
		if err := tx.PutFollowing(fl); err != nil {
			return err
		}
		if err := tx.PutFollower(&coopfed.Follower{CoopID: g.ID, ActorIRI: coopIRI, FollowIRI: fl.FollowIRI, State: state}); err != nil {
			return err
		}
		if state == coopfed.FollowPending {
			_, err := tx.AddNotification(&coopfed.Notification{CoopID: g.OwnerID, Kind: coopfed.NotifyGroupJoin,
				ActivityIRI: fl.FollowIRI, ActorIRI: coopIRI, ListingIRI: groupIRI})
			return err
		}
		return f.localJoined(tx, g, c)
	})
	return fl, err
}

// localJoined brings what a local group relays into the market of a local
// coop that just joined it: the group's open posts from remote members,
// which this instance holds when another local member joined before, are
// attached to the group; the rest comes as the group relays it.
func (f *Federation) localJoined(tx *store.Tx, g *coopfed.Group, c *coopfed.Coop) error {
	posts, err := tx.OpenGroupPosts(g.ID)
	if err != nil {
		return err
	}
	groupIRI := f.iris.Group(g.Name)
	for _, p := range posts {
		l, err := tx.ListingByIRI(p.ObjectIRI)
		if err != nil {
			continue // not held here; it comes with the group's next relay of it
		}
		if _, err := tx.AddListingVia(l.ID, groupIRI, p.AnnounceIRI); err != nil {
			return err
		}
	}
	return nil
}

// LeaveGroup ends a coop's membership of a group: a local one directly,
// any other with Undo(Follow). Listings that reached the coop's market only
// through the group leave it.
func (f *Federation) LeaveGroup(ctx context.Context, c *coopfed.Coop, groupIRI string) error {
	if name := f.iris.GroupName(groupIRI); name != "" && f.iris.Group(name) == groupIRI {
		g, err := f.store.GroupByName(ctx, name)
		if err != nil {
			return err
		}
		err = f.store.Update(ctx, func(tx *store.Tx) error {
			if ended, err := tx.DeleteFollowing(c.ID, groupIRI); err != nil {
				return err
			} else if !ended {
				return coopfed.Errorf(coopfed.ENOTFOUND, "the coop is not a member of this group")
			}
			if _, err := tx.DeleteFollower(g.ID, f.iris.Coop(c.Name), ""); err != nil {
				return err
			}
			if err := f.followEnded(ctx, tx, c.ID, groupIRI); err != nil {
				return err
			}
			return f.memberLeft(tx, &g.Coop, f.iris.Coop(c.Name), false)
		})
		if err != nil {
			return err
		}
		f.delivery.wake()
		return nil
	}
	return f.Unfollow(ctx, c, groupIRI)
}

// AnswerMember approves or refuses a request to join a group whose members
// are approved by hand, local coop or remote actor alike.
func (f *Federation) AnswerMember(ctx context.Context, g *coopfed.Group, actorIRI string, approve bool) error {
	if c, err := f.LocalActor(ctx, actorIRI); err == nil && !c.IsGroup() {
		groupIRI := f.iris.Group(g.Name)
		err := f.store.Update(ctx, func(tx *store.Tx) error {
			fl, err := tx.Follower(g.ID, actorIRI)
			if err != nil {
				return err
			}
			if !approve {
				if _, err := tx.DeleteFollower(g.ID, actorIRI, ""); err != nil {
					return err
				}
				_, err := tx.DeleteFollowing(c.ID, groupIRI)
				return err
			}
			if fl.State == coopfed.FollowAccepted {
				return coopfed.Errorf(coopfed.ECONFLICT, "already a member")
			}
			if err := tx.SetFollowerState(g.ID, actorIRI, coopfed.FollowAccepted); err != nil {
				return err
			}
			if err := tx.SetFollowingState(c.ID, groupIRI, coopfed.FollowAccepted); err != nil {
				return err
			}
			return f.localJoined(tx, g, c)
		})
		return err
	}
	if approve {
		return f.ApproveFollower(ctx, &g.Coop, actorIRI)
	}
	return f.RejectFollower(ctx, &g.Coop, actorIRI)
}

// --- relaying members' listings ---

// groupKind relays listings addressed to a local group by its members.
type groupKind struct{ f *Federation }

func init() {
	registerObjectKind(func(f *Federation) objectKind { return &groupKind{f: f} })
}

var _ objectKind = (*groupKind)(nil)

// addressedGroups returns the local groups an activity is for: those named
// in to, cc or audience of the activity or its object, and the group whose
// own inbox it was posted to.
func (k *groupKind) addressedGroups(ctx context.Context, in *incoming) ([]*coopfed.Group, error) {
	var names []string
	if in.coop != nil && in.coop.IsGroup() {
		names = append(names, in.coop.Name)
	}
	lists := []refs{in.act.To, in.act.Cc, in.act.Audience}
	if in.object != nil {
		lists = append(lists, in.object.To, in.object.Cc, in.object.Audience)
	}
	for _, l := range lists {
		for _, iri := range l {
			if n := k.f.iris.GroupName(iri); n != "" && k.f.iris.Group(n) == iri {
				names = append(names, n)
			}
		}
	}
	seen := map[string]bool{}
	var out []*coopfed.Group
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		g, err := k.f.store.GroupByName(ctx, n)
		if coopfed.ErrorCode(err) == coopfed.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

func (k *groupKind) check(ctx context.Context, in *incoming, op string) (bool, error) {
	groups, err := k.addressedGroups(ctx, in)
	if err != nil || len(groups) == 0 {
		return false, err
	}
	// A market group relays listings only; marketKind refuses a listing
	// that does not validate.
	d, ok := decodeListing(in.act.Object)
	if !ok || !d.AttributedTo.Has(in.signer.IRI) {
		return false, nil
	}
	l, err := d.listing(in.signer.IRI, k.f.now(), k.f.allowPrivate)
	if err != nil {
		return false, nil
	}
	if in.listing == nil {
		in.listing = l
	}
	in.groups = groups
	return true, nil
}

// isMember reports whether the signer may post to a group: an accepted
// member, or an actor of a server subscribed to the group as a relay.
func (in *incoming) isMember(g *coopfed.Group) (bool, error) {
	if banned, err := in.tx.BannedFromGroup(g.ID, in.signer.IRI); err != nil || banned {
		return false, err
	}
	if fl, err := in.tx.Follower(g.ID, in.signer.IRI); err == nil {
		return fl.State == coopfed.FollowAccepted, nil
	} else if coopfed.ErrorCode(err) != coopfed.ENOTFOUND {
		return false, err
	}
	return in.tx.MemberOnHost(g.ID, in.signer.Host, relayActorTypes)
}

func (k *groupKind) apply(ctx context.Context, in *incoming, op string) error {
	l := in.listing
	for _, g := range in.groups {
		// Why: a group relays its members only (FEP-1b12 lets a group
		// accept content from followers only); anyone else could use it
		// to reach every member.
		if ok, err := in.isMember(g); err != nil {
			return err
		} else if !ok {
			continue
		}
		raw := json.RawMessage(in.raw)
		if err := k.f.relay(in.tx, g, l, in.signer, raw); err != nil {
			return err
		}
	}
	return nil
}

// relay announces a listing to a group's members and records it, unless a
// moderator took it out or the group relayed this version already. raw is
// the member's activity as received (FEP-1b12: the Announce carries it
// unchanged); nil when the listing came through a relay, whose Announce
// names the object only. The listing also enters the market of the
// group's local members.
func (f *Federation) relay(tx *store.Tx, g *coopfed.Group, l *coopfed.Listing, author *coopfed.RemoteActor, raw json.RawMessage) error {
	post, err := tx.GroupPost(g.ID, l.IRI)
	if err == nil {
		if post.State == coopfed.PostRemoved {
			return nil
		}
		// Why: deliveries come out of order and relays repeat; only a
		// strictly newer version is relayed again, as listings are kept.
		if post.State != coopfed.PostClosed && !newerTime(l.Updated, post.Updated) {
			return nil
		}
	} else if coopfed.ErrorCode(err) != coopfed.ENOTFOUND {
		return err
	}
	groupIRI := f.iris.Group(g.Name)
	announceIRI := f.iris.Activity(f.newID())
	var object any = l.IRI
	if raw != nil {
		object = raw
	}
	announce := f.wrap("Announce", announceIRI, groupIRI, object, []string{PublicIRI}, []string{f.iris.GroupFollowers(g.Name)}, tx.Now())
	announce["@context"] = listingContext
	inboxes, err := tx.FollowerInboxes(g.ID)
	if err != nil {
		return err
	}
	// Why: the author's own server holds the listing; sending it back
	// would cost a delivery and an origin fetch for nothing.
	kept := inboxes[:0]
	for _, inbox := range inboxes {
		if !SameHost(inbox, author.Host) {
			kept = append(kept, inbox)
		}
	}
	if _, err := f.send(tx, &g.Coop, announce, l.IRI, true, kept); err != nil {
		return err
	}
	state := coopfed.PostOpen
	if l.State == coopfed.ListingClosed {
		state = coopfed.PostClosed
	}
	if err := tx.PutGroupPost(&coopfed.GroupPost{GroupID: g.ID, ObjectIRI: l.IRI, ActorIRI: author.IRI, AnnounceIRI: announceIRI,
		Kind: l.Kind, Category: l.Category, Title: l.Title, State: state, Updated: l.Updated}); err != nil {
		return err
	}
	if local, err := tx.LocalMembers(groupIRI); err != nil || len(local) == 0 {
		return err
	}
	return f.storeMarketListing(tx, l, groupIRI, announceIRI)
}

func (k *groupKind) deleted(ctx context.Context, in *incoming) error {
	if in.objectID == in.signer.IRI {
		// The actor deleted itself: it leaves every group it was in.
		groups, err := in.tx.GroupsWithMember(in.signer.IRI)
		if err != nil {
			return err
		}
		for _, g := range groups {
			if err := k.f.memberLeft(in.tx, g, in.signer.IRI, false); err != nil {
				return err
			}
		}
		return nil
	}
	posts, err := in.tx.GroupPostsOfObject(in.objectID)
	if err != nil {
		return err
	}
	for _, p := range posts {
		// Why: only the author's deletion is relayed; requireOwnOrigin
		// checked the host, this checks the account.
		if p.ActorIRI != in.signer.IRI || p.State == coopfed.PostRemoved || p.State == coopfed.PostDeleted {
			continue
		}
		g, err := in.tx.GroupByID(p.GroupID)
		if err != nil {
			return err
		}
		announceIRI := k.f.iris.Activity(k.f.newID())
		announce := k.f.wrap("Announce", announceIRI, k.f.iris.Group(g.Name), json.RawMessage(in.raw), []string{PublicIRI}, []string{k.f.iris.GroupFollowers(g.Name)}, in.tx.Now())
		announce["@context"] = listingContext
		if _, err := k.f.sendToFollowers(in.tx, &g.Coop, announce, p.ObjectIRI, false); err != nil {
			return err
		}
		if err := in.tx.SetGroupPostState(g.ID, p.ObjectIRI, coopfed.PostDeleted); err != nil {
			return err
		}
		if err := in.tx.UnlistGroupActivities(g.ID, p.ObjectIRI); err != nil {
			return err
		}
	}
	return nil
}

// relayLocal relays a local coop's listing (its Create, Update or Delete
// activity, doc) through the local groups it is addressed to, in the
// transaction that publishes it: no HTTP between a coop and a group of the
// same instance.
func (f *Federation) relayLocal(tx *store.Tx, c *coopfed.Coop, l *coopfed.Listing, groups []*coopfed.Group, doc map[string]any) error {
	if len(groups) == 0 {
		return nil
	}
	raw, err := Marshal(doc)
	if err != nil {
		return err
	}
	author := &coopfed.RemoteActor{IRI: f.iris.Coop(c.Name), Host: f.iris.Host()}
	for _, g := range groups {
		if banned, err := tx.BannedFromGroup(g.ID, author.IRI); err != nil {
			return err
		} else if banned {
			continue
		}
		if doc["type"] == "Delete" {
			post, err := tx.GroupPost(g.ID, l.IRI)
			if err != nil || post.State == coopfed.PostRemoved || post.State == coopfed.PostDeleted {
				continue
			}
			announce := f.wrap("Announce", f.iris.Activity(f.newID()), f.iris.Group(g.Name), json.RawMessage(raw), []string{PublicIRI}, []string{f.iris.GroupFollowers(g.Name)}, tx.Now())
			announce["@context"] = listingContext
			if _, err := f.sendToFollowers(tx, &g.Coop, announce, l.IRI, false); err != nil {
				return err
			}
			if err := tx.SetGroupPostState(g.ID, l.IRI, coopfed.PostDeleted); err != nil {
				return err
			}
			if err := tx.UnlistGroupActivities(g.ID, l.IRI); err != nil {
				return err
			}
			continue
		}
		if err := f.relay(tx, g, l, author, raw); err != nil {
			return err
		}
	}
	return nil
}

// --- moderation ---

// RemoveFromGroup takes a listing out of a group: the group stops relaying
// it and tells its members with Remove{object: listing, target: group},
// which drops it from their markets unless they hold it another way.
func (f *Federation) RemoveFromGroup(ctx context.Context, g *coopfed.Group, objectIRI, reason string) error {
	err := f.store.Update(ctx, func(tx *store.Tx) error { return f.removeFromGroup(tx, g, objectIRI, reason) })
	if err != nil {
		return err
	}
	f.delivery.wake()
	return nil
}

func (f *Federation) removeFromGroup(tx *store.Tx, g *coopfed.Group, objectIRI, reason string) error {
	groupIRI := f.iris.Group(g.Name)
	post, err := tx.GroupPost(g.ID, objectIRI)
	if err != nil {
		return err
	}
	if post.State == coopfed.PostRemoved {
		return coopfed.Errorf(coopfed.ECONFLICT, "the listing was removed from the group already")
	}
	if err := tx.SetGroupPostState(g.ID, objectIRI, coopfed.PostRemoved); err != nil {
		return err
	}
	if err := tx.UnlistGroupActivities(g.ID, objectIRI); err != nil {
		return err
	}
	if _, err := tx.DropListingVia(objectIRI, groupIRI); err != nil {
		return err
	}
	remove := f.wrap("Remove", f.iris.Activity(f.newID()), groupIRI, objectIRI, []string{PublicIRI}, []string{f.iris.GroupFollowers(g.Name)}, tx.Now())
	remove["target"] = groupIRI
	if reason = strings.TrimSpace(reason); reason != "" {
		remove["summary"] = reason
	}
	_, err = f.sendToFollowers(tx, &g.Coop, remove, objectIRI, false)
	return err
}

// BanFromGroup bans an actor from a group: its membership ends (it is told
// with Reject), nothing of it is relayed again, and members drop what the
// group relayed of it.
func (f *Federation) BanFromGroup(ctx context.Context, g *coopfed.Group, actorIRI, reason string) error {
	err := f.store.Update(ctx, func(tx *store.Tx) error { return f.banFromGroup(ctx, tx, g, actorIRI, reason) })
	if err != nil {
		return err
	}
	f.delivery.wake()
	return nil
}

func (f *Federation) banFromGroup(ctx context.Context, tx *store.Tx, g *coopfed.Group, actorIRI, reason string) error {
	if actorIRI == "" {
		return coopfed.FieldErrors(map[string]string{"actor": "name the account to ban"})
	}
	if ok, err := f.IsModerator(ctx, g, actorIRI); err != nil {
		return err
	} else if ok {
		return coopfed.FieldErrors(map[string]string{"actor": "a moderator cannot be banned; remove them from the moderators first"})
	}
	groupIRI := f.iris.Group(g.Name)
	fl, ferr := tx.Follower(g.ID, actorIRI)
	if _, err := tx.BanFromGroup(g.ID, actorIRI, strings.TrimSpace(reason)); err != nil {
		return err
	}
	if _, err := tx.RemoveActorGroupPosts(g.ID, actorIRI); err != nil {
		return err
	}
	if local, err := f.LocalActor(ctx, actorIRI); err == nil {
		if _, err := tx.DeleteFollowing(local.ID, groupIRI); err != nil {
			return err
		}
		if err := f.followEnded(ctx, tx, local.ID, groupIRI); err != nil {
			return err
		}
	} else if remote, err := tx.RemoteActor(actorIRI); ferr == nil && err == nil {
		if err := f.sendAnswer(tx, &g.Coop, "Reject", fl.FollowIRI, remote); err != nil {
			return err
		}
	}
	return f.memberLeft(tx, &g.Coop, actorIRI, true)
}

// UnbanFromGroup lifts a ban; the actor may join again.
func (f *Federation) UnbanFromGroup(ctx context.Context, g *coopfed.Group, actorIRI string) error {
	return f.store.Update(ctx, func(tx *store.Tx) error { return tx.UnbanFromGroup(g.ID, actorIRI) })
}

// newerTime reports whether a is set and later than b (or b is unset).
func newerTime(a, b *time.Time) bool {
	return a != nil && (b == nil || a.After(*b))
}

// listingAudience is where a local listing goes beyond the coop's
// followers: the groups it is addressed to, the inboxes of the remote ones
// and the local ones, relayed in the same transaction.
type listingAudience struct {
	iris    []string
	inboxes []string
	local   []*coopfed.Group
}

// listingAudience returns the groups of a coop's listing: for a new one,
// every group the coop has joined; afterwards, the groups recorded for it
// that the coop is still a member of.
func (f *Federation) listingAudience(tx *store.Tx, c *coopfed.Coop, l *coopfed.Listing, fresh bool) (*listingAudience, error) {
	joined, err := tx.JoinedGroups(c.ID)
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	if !fresh {
		recorded, err := tx.ListingGroups(l.ID)
		if err != nil {
			return nil, err
		}
		for _, g := range recorded {
			keep[g] = true
		}
	}
	aud := &listingAudience{}
	for _, fl := range joined {
		if !fresh && !keep[fl.ActorIRI] {
			continue
		}
		if name := f.iris.GroupName(fl.ActorIRI); name != "" && f.iris.Group(name) == fl.ActorIRI {
			g, err := tx.GroupByName(name)
			if err != nil {
				continue // the local group was deleted
			}
			aud.local = append(aud.local, g)
		} else if fl.Actor != nil {
			aud.inboxes = append(aud.inboxes, fl.Actor.DeliveryInbox())
		} else {
			continue
		}
		aud.iris = append(aud.iris, fl.ActorIRI)
	}
	return aud, nil
}

// audienceValue is the audience property: one group as a string, as
// FEP-1b12 and Lemmy write it, several as an array; nil for none.
func audienceValue(groups []string) any {
	switch len(groups) {
	case 0:
		return nil
	case 1:
		return groups[0]
	}
	return groups
}
