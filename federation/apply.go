package federation

import (
	"context"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/coopfed/coopfed/store"
)

// incoming is one verified activity on its way through a handler.
type incoming struct {
	f      *Federation
	act    *activity
	raw    []byte
	signer *coopfed.RemoteActor
	coop   *coopfed.Coop // set when posted to a coop's own inbox

	objectID string
	object   *object // embedded object, when there is one
	version  string  // distinguishes edits that reuse an activity id

	// item is the object as the timeline keeps it, sanitised before the
	// transaction so the single writer is held as briefly as possible.
	item *coopfed.TimelineItem

	// claimed are the object kinds (extension.go) that took the object.
	claimed []objectKind
	// listing is the object decoded as a market listing, when it is one.
	listing *coopfed.Listing
	// relayFollow is set for a Follow of the Public collection posted to a
	// group's inbox: a server subscribing to the group as to a relay.
	relayFollow bool
	// groups are the local groups an incoming listing is addressed to and
	// that relay it (group.go).
	groups []*coopfed.Group
	// announced is what an Announce by a group or relay carries, checked
	// against its origin (announce.go).
	announced *announced
	// moderating is the local group a moderator's Remove or Block acts on.
	moderating *coopfed.Group
	// flagged are a Flag's objects that concern local coops, by coop
	// (flag.go).
	flagged map[int64][]flagTarget
	// afterCommit runs once the activity's transaction has committed.
	afterCommit []func()

	tx *store.Tx
}

// activityHandler handles one activity type: check runs before the
// transaction (parse, origin), apply inside it.
type activityHandler struct {
	check func(ctx context.Context, in *incoming) error
	apply func(ctx context.Context, in *incoming) error
}

var handlersByType map[string]activityHandler

func init() {
	handlersByType = map[string]activityHandler{
		"Follow":   {checkFollow, applyFollow},
		"Undo":     {checkUndo, applyUndo},
		"Accept":   {checkAnswer, applyAccept},
		"Reject":   {checkAnswer, applyReject},
		"Create":   {checkCreate, applyCreate},
		"Update":   {checkUpdate, applyUpdate},
		"Delete":   {checkDelete, applyDelete},
		"Block":    {checkBlock, applyBlockActivity}, // announce.go
		"Offer":    {checkOffer, applyOffer},         // trade.go
		"Announce": {checkAnnounce, applyAnnounce},   // announce.go
		"Remove":   {checkRemove, applyRemove},       // announce.go
		"Flag":     {checkFlag, applyFlag},           // flag.go
		"Join":     {checkJoin, applyJoin},           // pledge.go
		"Leave":    {checkLeave, applyLeave},         // pledge.go
	}
}

func (in *incoming) parseObject() error {
	id, obj, err := objectRef(in.act.Object)
	if err != nil {
		return coopfed.Errorf(coopfed.EINVALID, "%s: %v", in.act.Type.Main(), err)
	}
	if id == "" {
		return coopfed.Errorf(coopfed.EINVALID, "%s: object has no id", in.act.Type.Main())
	}
	in.objectID, in.object = id, obj
	return nil
}

// requireOwnOrigin refuses an object whose id is not on the actor's host:
// an actor may create, change or delete only its own server's objects.
func (in *incoming) requireOwnOrigin() error {
	if !SameHost(in.objectID, in.signer.Host) {
		return coopfed.Errorf(coopfed.EFORBIDDEN, "object %q is not on the actor's host", in.objectID)
	}
	return nil
}

// localCoop returns the local coop an IRI names, or ENOTFOUND.
func (in *incoming) localCoop(ctx context.Context, iri string) (*coopfed.Coop, error) {
	name := in.f.iris.CoopName(iri)
	if name == "" || in.f.iris.Coop(name) != iri {
		return nil, coopfed.Errorf(coopfed.ENOTFOUND, "%s is not a coop of this instance", iri)
	}
	return in.f.store.CoopByName(ctx, name)
}

// --- Follow, Block ---

func checkFollow(ctx context.Context, in *incoming) error {
	if err := in.parseObject(); err != nil {
		return err
	}
	if isPublic(in.objectID) && in.coop != nil && in.coop.IsGroup() && in.act.Type.Is("Follow") {
		// Why: a Mastodon server subscribes to a relay by following the
		// Public collection at the relay's inbox; a group serves as a
		// relay, so that Follow is a follow of the group (group.go).
		in.objectID = in.f.ActorIRI(in.coop)
		in.relayFollow = true
	}
	c, err := in.f.LocalActor(ctx, in.objectID)
	if err != nil {
		return err
	}
	if in.coop != nil && in.coop.ID != c.ID {
		return coopfed.Errorf(coopfed.EINVALID, "%s posted to another coop's inbox", in.act.Type.Main())
	}
	in.coop = c
	return nil
}

func applyFollow(ctx context.Context, in *incoming) error {
	if in.coop.IsGroup() {
		return applyGroupFollow(ctx, in) // group.go
	}
	state := coopfed.FollowAccepted
	if in.coop.Locked {
		state = coopfed.FollowPending
	}
	fl := &coopfed.Follower{CoopID: in.coop.ID, ActorIRI: in.signer.IRI, FollowIRI: in.act.ID, State: state}
	if err := in.tx.PutFollower(fl); err != nil {
		return err
	}
	cur, err := in.tx.Follower(in.coop.ID, in.signer.IRI)
	if err != nil {
		return err
	}
	if cur.State == coopfed.FollowPending {
		// Waits for an admin (manuallyApprovesFollowers), who is told;
		// a repeated delivery of the same Follow tells nobody twice.
		_, err := in.tx.AddNotification(&coopfed.Notification{CoopID: in.coop.ID, Kind: coopfed.NotifyFollowRequest,
			ActivityIRI: in.act.ID, ActorIRI: in.signer.IRI})
		return err
	}
	if cur.State != coopfed.FollowAccepted {
		return nil
	}
	// A repeated Follow from an accepted follower is answered again: the
	// follower may have lost our first Accept.
	return in.f.sendAnswer(in.tx, in.coop, "Accept", in.act.ID, in.signer)
}

func applyBlock(ctx context.Context, in *incoming) error {
	// Being blocked ends both follow relations, as on Mastodon.
	if _, err := in.tx.DeleteFollower(in.coop.ID, in.signer.IRI, ""); err != nil {
		return err
	}
	if ended, err := in.tx.DeleteFollowing(in.coop.ID, in.signer.IRI); err != nil || !ended {
		return err
	}
	return in.f.followEnded(ctx, in.tx, in.coop.ID, in.signer.IRI)
}

// --- Undo ---

func checkUndo(ctx context.Context, in *incoming) error {
	if err := in.parseObject(); err != nil {
		return err
	}
	if err := in.requireOwnOrigin(); err != nil {
		return err
	}
	// Why: only the author of an activity may undo it.
	if in.object != nil && len(in.object.Actor) > 0 && !in.object.Actor.Has(in.signer.IRI) {
		return coopfed.Errorf(coopfed.EFORBIDDEN, "cannot undo another actor's activity")
	}
	return nil
}

func applyUndo(ctx context.Context, in *incoming) error {
	typ := ""
	if in.object != nil {
		typ = in.object.Type.Main()
	}
	switch typ {
	case "Follow", "":
		// Undo(Follow): the follower leaves. A bare IRI is taken as the id
		// of the Follow it undoes.
		if in.object != nil && len(in.object.Object) > 0 {
			followed := in.object.Object.First()
			if isPublic(followed) && in.coop != nil && in.coop.IsGroup() {
				followed = in.f.ActorIRI(in.coop) // a relay subscription ends
			}
			c, err := in.f.LocalActor(ctx, followed)
			if err != nil {
				return nil
			}
			return in.followerLeft(c, "")
		}
		return in.deleteFollowerByFollowIRI(ctx, in.objectID)
	case "Accept":
		// Undo(Accept): the actor no longer accepts our follow.
		followIRI := in.object.Object.First()
		f, err := in.tx.FollowingByFollowIRI(followIRI)
		if err != nil || f.ActorIRI != in.signer.IRI {
			return nil
		}
		if _, err = in.tx.DeleteFollowing(f.CoopID, f.ActorIRI); err != nil {
			return err
		}
		return in.f.followEnded(ctx, in.tx, f.CoopID, f.ActorIRI)
	case "Block":
		return nil // nothing to restore: a block ended the follows
	case "Announce":
		// A group or relay withdraws what it announced (announce.go).
		if _, err := in.tx.DropViaByAnnounce(in.signer.IRI, in.objectID); err != nil && coopfed.ErrorCode(err) != coopfed.ENOTFOUND {
			return err
		}
		return nil
	case "Offer":
		return applyUndoOffer(ctx, in) // a trade withdrawn (trade.go)
	}
	return nil // Like and others are not kept
}

func (in *incoming) deleteFollowerByFollowIRI(ctx context.Context, followIRI string) error {
	actors, err := in.f.store.LocalActors(ctx)
	if err != nil {
		return err
	}
	for _, c := range actors {
		if err := in.followerLeft(c, followIRI); err != nil {
			return err
		}
	}
	return nil
}

// followerLeft removes the signer from a local actor's followers (only the
// row its Follow followIRI made, when given); a group tells its members.
func (in *incoming) followerLeft(c *coopfed.Coop, followIRI string) error {
	left, err := in.tx.DeleteFollower(c.ID, in.signer.IRI, followIRI)
	if err != nil || !left || !c.IsGroup() {
		return err
	}
	return in.f.memberLeft(in.tx, c, in.signer.IRI, false)
}

// --- Accept, Reject of our Follow ---

func checkAnswer(ctx context.Context, in *incoming) error {
	if err := in.parseObject(); err != nil {
		return err
	}
	// Why: the object is our own Follow; answering anything else of ours
	// is meaningless here.
	if !in.f.iris.IsLocal(in.objectID) {
		return errIgnore
	}
	if handled, err := checkTradeAnswer(ctx, in); handled {
		return err // an answer to one of our trade Offers (trade.go)
	}
	return nil
}

func (in *incoming) answeredFollow() (*coopfed.Following, bool) {
	f, err := in.tx.FollowingByFollowIRI(in.objectID)
	// Why: only the actor we asked may accept or reject our request.
	if err != nil || f.ActorIRI != in.signer.IRI {
		return nil, false
	}
	return f, true
}

func applyAccept(ctx context.Context, in *incoming) error {
	if handled, err := applyTradeAccept(ctx, in); handled {
		return err
	}
	f, ok := in.answeredFollow()
	// Why: an Accept of a follow already accepted changes nothing; it must
	// not start another backfill of the actor's outbox each time.
	if !ok || f.State == coopfed.FollowAccepted {
		return nil
	}
	if err := in.tx.SetFollowingState(f.CoopID, f.ActorIRI, coopfed.FollowAccepted); err != nil {
		return err
	}
	in.afterCommit = append(in.afterCommit, func() { in.f.followStarted(f.CoopID, f.ActorIRI) })
	return nil
}

func applyReject(ctx context.Context, in *incoming) error {
	if handled, err := applyTradeReject(ctx, in); handled {
		return err
	}
	f, ok := in.answeredFollow()
	if !ok {
		return nil
	}
	if _, err := in.tx.DeleteFollowing(f.CoopID, f.ActorIRI); err != nil {
		return err
	}
	return in.f.followEnded(ctx, in.tx, f.CoopID, f.ActorIRI)
}

// --- Create, Update, Delete of objects ---

func checkCreate(ctx context.Context, in *incoming) error {
	if err := in.parseObject(); err != nil {
		return err
	}
	if err := in.requireOwnOrigin(); err != nil {
		return err
	}
	if in.object == nil {
		// Mastodon and GoToSocial always embed; a bare IRI would need a
		// fetch we do not make on the request path.
		return coopfed.Errorf(coopfed.EINVALID, "Create must embed its object")
	}
	// Why: the object's author must be the actor who creates it.
	if len(in.object.AttributedTo) > 0 && !in.object.AttributedTo.Has(in.signer.IRI) {
		return coopfed.Errorf(coopfed.EFORBIDDEN, "object attributed to another actor")
	}
	if in.object.Type.Main() == "" {
		return coopfed.Errorf(coopfed.EINVALID, "object has no type")
	}
	in.item = in.timelineItem()
	return in.offerToKinds(ctx, "Create")
}

// offerToKinds lets each object kind look at the object before the
// transaction; the ones that take it are applied with the activity.
func (in *incoming) offerToKinds(ctx context.Context, op string) error {
	for _, k := range in.f.kinds {
		took, err := k.check(ctx, in, op)
		if err != nil {
			return err
		}
		if took {
			in.claimed = append(in.claimed, k)
		}
	}
	return nil
}

// applyKinds applies the object in every kind that took it.
func (in *incoming) applyKinds(ctx context.Context, op string) error {
	for _, k := range in.claimed {
		if err := k.apply(ctx, in, op); err != nil {
			return err
		}
	}
	return nil
}

// audienceCoops returns the local coops an object is for: only coops that
// follow its author, and of those, all when the object is public or sent to
// the author's followers, else only the coops it addresses by name. A
// private note to one coop never shows in another's timeline, and an actor
// no coop follows cannot write into a timeline by addressing it.
func (in *incoming) audienceCoops(ctx context.Context) ([]int64, error) {
	ids, err := in.tx.CoopsFollowing(in.signer.IRI)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	var addressed []string
	addressed = append(addressed, in.act.To...)
	addressed = append(addressed, in.act.Cc...)
	if in.object != nil {
		addressed = append(addressed, in.object.To...)
		addressed = append(addressed, in.object.Cc...)
	}
	named := map[int64]bool{}
	for _, iri := range addressed {
		if isPublic(iri) || (in.signer.Followers != "" && iri == in.signer.Followers) {
			return ids, nil
		}
		if !in.f.iris.IsLocal(iri) {
			continue
		}
		if c, err := in.localCoop(ctx, iri); err == nil {
			named[c.ID] = true
		}
	}
	var out []int64
	for _, id := range ids {
		if named[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

// isPublic reports whether an addressee is the public collection, in any
// of the forms JSON-LD compaction allows.
func isPublic(iri string) bool {
	return iri == PublicIRI || iri == "as:Public" || iri == "Public"
}

func (in *incoming) timelineItem() *coopfed.TimelineItem {
	o := in.object
	content := string(o.Content)
	if content == "" {
		for _, v := range o.ContentMap.values() {
			content = v
			break
		}
	}
	published := parseTime(o.Published)
	if published.IsZero() {
		published = in.f.now()
	}
	it := &coopfed.TimelineItem{
		ActivityIRI: in.act.ID,
		ObjectIRI:   o.ID,
		ObjectType:  o.Type.Main(),
		ActorIRI:    in.signer.IRI,
		Content:     sanitize.HTML(content),
		Summary:     sanitize.PlainText(string(o.Summary)),
		URL:         o.URL.First(),
		InReplyTo:   o.InReplyTo.First(),
		Published:   published,
	}
	if name := sanitize.PlainText(string(o.Name)); it.Content == "" && name != "" {
		it.Content = sanitize.Text(name)
	}
	if u := parseTime(o.Updated); !u.IsZero() {
		it.Updated = &u
	}
	return it
}

func applyCreate(ctx context.Context, in *incoming) error {
	coops, err := in.audienceCoops(ctx)
	if err != nil {
		return err
	}
	for _, id := range coops {
		it := *in.item
		it.CoopID = id
		if err := in.tx.PutTimelineItem(&it); err != nil {
			return err
		}
	}
	return in.applyKinds(ctx, "Create")
}

func checkUpdate(ctx context.Context, in *incoming) error {
	if err := in.parseObject(); err != nil {
		return err
	}
	if err := in.requireOwnOrigin(); err != nil {
		return err
	}
	if in.object == nil {
		return coopfed.Errorf(coopfed.EINVALID, "Update must embed its object")
	}
	in.version = updateVersion(in.act.Object, in.object)
	if actorTypes[in.object.Type.Main()] {
		// Why: an actor may update only itself.
		if in.objectID != in.signer.IRI {
			return coopfed.Errorf(coopfed.EFORBIDDEN, "an actor may update only itself")
		}
		return nil
	}
	if len(in.object.AttributedTo) > 0 && !in.object.AttributedTo.Has(in.signer.IRI) {
		return coopfed.Errorf(coopfed.EFORBIDDEN, "object attributed to another actor")
	}
	in.item = in.timelineItem()
	return in.offerToKinds(ctx, "Update")
}

func applyUpdate(ctx context.Context, in *incoming) error {
	if actorTypes[in.object.Type.Main()] {
		var doc actorDoc
		if err := decodeJSON(in.act.Object, &doc); err != nil {
			return coopfed.Errorf(coopfed.EINVALID, "Update: %v", err)
		}
		a, err := in.f.checkActor(&doc, in.signer.IRI, in.signer.IRI)
		if err != nil {
			return err
		}
		if a.PublicKeyID != in.signer.PublicKeyID {
			// A key change comes through a fresh fetch, not an Update.
			a.PublicKeyID, a.PublicKeyPEM = in.signer.PublicKeyID, in.signer.PublicKeyPEM
		}
		a.FetchedAt = in.tx.Now()
		return in.tx.PutRemoteActor(a)
	}
	if _, err := in.tx.UpdateTimelineObject(in.item); err != nil {
		return err
	}
	return in.applyKinds(ctx, "Update")
}

func checkDelete(ctx context.Context, in *incoming) error {
	if err := in.parseObject(); err != nil {
		return err
	}
	return in.requireOwnOrigin()
}

func applyDelete(ctx context.Context, in *incoming) error {
	for _, k := range in.f.kinds {
		if err := k.deleted(ctx, in); err != nil {
			return err
		}
	}
	if in.objectID == in.signer.IRI {
		// The actor deleted itself: its follows and posts go.
		if err := in.tx.DeleteActorFollows(in.signer.IRI); err != nil {
			return err
		}
		in.f.signerKeys.drop(in.signer.PublicKeyID)
		return in.tx.DeleteActorTimeline(in.signer.IRI)
	}
	_, err := in.tx.DeleteTimelineObject(in.objectID, in.signer.IRI)
	return err
}
