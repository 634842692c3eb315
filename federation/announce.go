package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
)

// What groups and relays send to their members. A group (FEP-1b12)
// announces a member's activity embedded whole; a LitePub relay announces
// an object by its IRI. Either way the announcer's signature proves only
// that the announcer sent it, not what the listing says: the listing is
// fetched from its origin and the origin's copy is kept. A group says
// which listings leave it with Remove (of a listing, or of a member whose
// listings all go), Undo of its Announce, or Delete of its Announce.

// Defaults of the limit on Announces that make us fetch from an origin.
const (
	defaultAnnounceRate  = 20
	defaultAnnounceBurst = 200
)

// announced is what an Announce carries, once checked: a listing as its
// origin serves it, a listing already held that only gains a group, or a
// listing its origin deleted.
type announced struct {
	objectIRI string
	listing   *coopfed.Listing // fetched from its origin
	existing  *coopfed.Listing // held already, no newer version announced
	deleted   *coopfed.Listing // the origin answers 404 or 410
}

// announcedActivity is an Announce's object unwrapped: the activity it
// carries (Create when the object itself is announced), the object's IRI,
// the inner actor and the object's updated time when embedded.
type announcedActivity struct {
	op        string
	objectIRI string
	actor     string
	updated   string
}

// unwrapAnnounce reads an Announce's object: an IRI (LitePub relays), an
// embedded object, or an embedded activity (FEP-1b12 groups).
func unwrapAnnounce(raw json.RawMessage) (announcedActivity, bool) {
	id, obj, err := objectRef(raw)
	if err != nil || id == "" {
		return announcedActivity{}, false
	}
	if obj == nil {
		return announcedActivity{op: "Create", objectIRI: id}, true
	}
	switch typ := obj.Type.Main(); typ {
	case "Create", "Update", "Delete":
		var inner struct {
			Object json.RawMessage `json:"object"`
		}
		if decodeJSON(bytes.TrimSpace(raw), &inner) != nil {
			return announcedActivity{}, false
		}
		oid, o, err := objectRef(inner.Object)
		if err != nil || oid == "" {
			return announcedActivity{}, false
		}
		a := announcedActivity{op: typ, objectIRI: oid, actor: obj.Actor.First()}
		if o != nil && typ != "Delete" {
			a.updated = o.Updated
		}
		return a, true
	default:
		if listingTypes[typ] {
			return announcedActivity{op: "Create", objectIRI: id, actor: obj.AttributedTo.First(), updated: obj.Updated}, true
		}
	}
	return announcedActivity{}, false
}

func checkAnnounce(ctx context.Context, in *incoming) error {
	if err := in.parseObject(); err != nil {
		return err
	}
	// Why: an Announce counts only from a group or relay one of our coops
	// joined (or one of our groups follows); anyone else could push
	// listings into our market, or make us fetch from anywhere.
	coops, groups, err := in.f.store.FollowersOf(ctx, in.signer.IRI)
	if err != nil {
		return err
	}
	if coops == 0 && groups == 0 {
		return errIgnore
	}
	a, ok := unwrapAnnounce(in.act.Object)
	if !ok {
		return errIgnore // a Like, a Follow, an unknown shape: nothing for the market
	}
	if blocked, err := in.f.announcedBlocked(ctx, a); err != nil || blocked {
		if err != nil {
			return err
		}
		return errIgnore
	}
	cur, err := in.f.store.ListingByIRI(ctx, a.objectIRI)
	if err != nil && coopfed.ErrorCode(err) != coopfed.ENOTFOUND {
		return err
	}
	if cur != nil && cur.Local() {
		return errIgnore // our own listing, relayed back to us
	}
	in.announced = &announced{objectIRI: a.objectIRI}
	switch a.op {
	case "Delete":
		if cur == nil {
			return errIgnore
		}
	case "Create", "Update":
		if cur != nil && !newerTime(parseTimePtr(a.updated), cur.Updated) {
			// Held already and no newer version announced: the listing
			// only gains a group, with no fetch.
			in.announced.existing = cur
			return nil
		}
	}
	// Why: each Announce below costs a fetch from the origin; an
	// announcer gets a budget of them, so a flood cannot make us hammer
	// an origin or hold the writer. The announcer's server retries.
	if !in.f.announceLimiter.allow(in.signer.IRI, in.f.now()) {
		return coopfed.Errorf(coopfed.ERATELIMIT, "too many announces from %s", in.signer.IRI)
	}
	l, err := in.f.fetchOriginListing(ctx, a.objectIRI)
	switch {
	case a.op == "Delete" && (errors.Is(err, ErrGone) || coopfed.ErrorCode(err) == coopfed.ENOTFOUND):
		in.announced.deleted = cur
		return nil
	case a.op == "Delete" && err == nil:
		return errIgnore // the origin still serves it: the Delete is not the author's
	case errors.Is(err, ErrGone), coopfed.ErrorCode(err) == coopfed.ENOTFOUND, coopfed.ErrorCode(err) == coopfed.EINVALID,
		coopfed.ErrorCode(err) == coopfed.EFORBIDDEN:
		return errIgnore // gone, not a listing, or not its author's: nothing to keep
	case err != nil:
		return err // the origin is unreachable: the announcer retries later
	}
	in.announced.listing = l
	return nil
}

// announcedBlocked reports whether an announced listing is one we refuse
// before any fetch: on a blocked domain, by a blocked account, or taken
// out of our market.
func (f *Federation) announcedBlocked(ctx context.Context, a announcedActivity) (bool, error) {
	u, err := url.Parse(a.objectIRI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return true, nil
	}
	if f.iris.IsLocal(a.objectIRI) {
		return true, nil
	}
	if blocked, err := f.store.DomainBlocked(ctx, u.Host); err != nil || blocked {
		return blocked, err
	}
	if a.actor != "" {
		if blocked, err := f.store.ActorBlocked(ctx, a.actor); err != nil || blocked {
			return blocked, err
		}
	}
	return f.store.RemovedFromMarket(ctx, a.objectIRI)
}

func applyAnnounce(ctx context.Context, in *incoming) error {
	a := in.announced
	coops, err := in.tx.CoopsFollowing(in.signer.IRI)
	if err != nil {
		return err
	}
	groups, err := in.tx.GroupsFollowing(in.signer.IRI)
	if err != nil {
		return err
	}
	if len(coops) == 0 && len(groups) == 0 {
		return errIgnore // the membership ended meanwhile
	}
	switch {
	case a.deleted != nil:
		_, err := in.tx.DeleteRemoteListing(a.deleted.IRI, a.deleted.ActorIRI)
		return err
	case a.existing != nil:
		if len(coops) > 0 {
			_, err := in.tx.AddListingVia(a.existing.ID, in.signer.IRI, in.act.ID)
			return err
		}
		return nil
	}
	l := a.listing
	if len(coops) > 0 {
		if err := in.f.storeMarketListing(in.tx, l, in.signer.IRI, in.act.ID); err != nil {
			return err
		}
	}
	// A local group that follows a relay relays what it announces on to
	// the group's own members.
	author, err := in.tx.RemoteActor(l.ActorIRI)
	if err != nil {
		return nil // the author is fetched with the listing; a missing row means no relay
	}
	for _, id := range groups {
		g, err := in.tx.GroupByID(id)
		if err != nil {
			return err
		}
		if banned, err := in.tx.BannedFromGroup(g.ID, author.IRI); err != nil || banned {
			if err != nil {
				return err
			}
			continue
		}
		if err := in.f.relay(in.tx, g, l, author, nil); err != nil {
			return err
		}
	}
	return nil
}

// fetchOriginListing fetches a listing from its origin and checks that the
// document is what it claims: its id is the URL fetched, it is a listing,
// and its author is an actor of the same host, not blocked. The author is
// fetched (and cached) too, for the market's names and the directory.
func (f *Federation) fetchOriginListing(ctx context.Context, iri string) (*coopfed.Listing, error) {
	body, final, err := f.FetchJSON(ctx, iri)
	if err != nil {
		return nil, err
	}
	if jsonDepth(body) > maxJSONDepth {
		return nil, coopfed.Errorf(coopfed.EINVALID, "listing nested too deeply")
	}
	d, ok := decodeListing(body)
	// Why: a fetched document speaks for itself only if its id is the URL
	// it came from; its author must be of the same server.
	if !ok || d.ID != iri || stripFragment(final) != stripFragment(iri) {
		return nil, coopfed.Errorf(coopfed.EINVALID, "%s is not a listing", iri)
	}
	if len(d.AttributedTo) != 1 || !SameHost(d.AttributedTo[0], HostOf(iri)) {
		return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "listing %s is not attributed to an actor of its server", iri)
	}
	authorIRI := d.AttributedTo[0]
	if blocked, err := f.store.ActorBlocked(ctx, authorIRI); err != nil || blocked {
		if err != nil {
			return nil, err
		}
		return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "the author is blocked")
	}
	if _, err := f.Actor(ctx, authorIRI); err != nil {
		return nil, err
	}
	return d.listing(authorIRI, f.now(), f.allowPrivate)
}

// storeMarketListing puts a remote listing into this instance's market, or
// refreshes the copy held, and records the group or relay it came through
// (viaIRI, "" for a followed author's own delivery). A listing taken out of
// the market, a local one or another actor's is left alone; only open
// listings enter.
func (f *Federation) storeMarketListing(tx *store.Tx, l *coopfed.Listing, viaIRI, announceIRI string) error {
	if removed, err := tx.RemovedFromMarket(l.IRI); err != nil || removed {
		return err
	}
	cur, err := tx.ListingByIRI(l.IRI)
	if err != nil && coopfed.ErrorCode(err) != coopfed.ENOTFOUND {
		return err
	}
	if cur != nil && (cur.Local() || cur.ActorIRI != l.ActorIRI) {
		return nil
	}
	if cur == nil && !l.OpenAt(tx.Now()) {
		return nil
	}
	wrote, err := tx.PutRemoteListing(l)
	if err != nil {
		return err
	}
	id := l.ID
	if id == 0 && cur != nil {
		id = cur.ID
	}
	if viaIRI != "" && id != 0 {
		if _, err := tx.AddListingVia(id, viaIRI, announceIRI); err != nil {
			return err
		}
	}
	if wrote && l.OpenAt(tx.Now()) {
		return f.notifyMatches(tx, l)
	}
	return nil
}

// parseTimePtr is parseTime as a pointer, nil when absent.
func parseTimePtr(s string) *time.Time {
	t := parseTime(s)
	if t.IsZero() {
		return nil
	}
	return &t
}

// --- Remove: a group tells its members what left it ---

func checkRemove(ctx context.Context, in *incoming) error {
	if err := in.parseObject(); err != nil {
		return err
	}
	target := in.act.Target.First()
	if target == "" {
		return coopfed.Errorf(coopfed.EINVALID, "Remove has no target")
	}
	if g, err := in.f.localGroupNamed(ctx, target); err == nil {
		// A moderator of one of our groups takes a listing out of it.
		return in.checkModeration(ctx, g)
	}
	coops, groups, err := in.f.store.FollowersOf(ctx, in.signer.IRI)
	if err != nil {
		return err
	}
	// Why: a group speaks for itself only: what it removes is removed
	// from it (target: the group, or its members collection), and only
	// members listen.
	if (coops == 0 && groups == 0) || (target != in.signer.IRI && (in.signer.Followers == "" || target != in.signer.Followers)) {
		return errIgnore
	}
	return nil
}

func applyRemove(ctx context.Context, in *incoming) error {
	if in.moderating != nil {
		return in.f.removeFromGroup(in.tx, in.moderating, in.objectID, string(in.act.Content))
	}
	if _, err := in.tx.ListingByIRI(in.objectID); err == nil {
		_, err := in.tx.DropListingVia(in.objectID, in.signer.IRI)
		return err
	} else if coopfed.ErrorCode(err) != coopfed.ENOTFOUND {
		return err
	}
	// Not a listing: a member of the group, whose listings all leave it.
	_, err := in.tx.DropActorVias(in.signer.IRI, in.objectID)
	return err
}

// checkModeration allows a moderation activity on a local group only from
// one of its moderators (FEP-1b12: listed in attributedTo).
func (in *incoming) checkModeration(ctx context.Context, g *coopfed.Group) error {
	ok, err := in.f.IsModerator(ctx, g, in.signer.IRI)
	if err != nil {
		return err
	}
	if !ok {
		return coopfed.Errorf(coopfed.EFORBIDDEN, "only the group's moderators may do this")
	}
	in.moderating = g
	return nil
}

// --- Block: being blocked, or a moderator's ban from a local group ---

func checkBlock(ctx context.Context, in *incoming) error {
	if target := in.act.Target.First(); target != "" {
		if g, err := in.f.localGroupNamed(ctx, target); err == nil {
			if err := in.parseObject(); err != nil {
				return err
			}
			return in.checkModeration(ctx, g)
		}
	}
	return checkFollow(ctx, in)
}

func applyBlockActivity(ctx context.Context, in *incoming) error {
	if in.moderating != nil {
		return in.f.banFromGroup(ctx, in.tx, in.moderating, in.objectID, string(in.act.Content))
	}
	return applyBlock(ctx, in)
}
