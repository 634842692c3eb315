package federation

import (
	"context"
	"strings"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
)

// send stores an activity of a coop and queues its delivery to inboxes, in
// the caller's transaction: committed means it will be delivered.
func (f *Federation) send(tx *store.Tx, c *coopfed.Coop, doc map[string]any, objectIRI string, public bool, inboxes []string) (*coopfed.Activity, error) {
	body, err := Marshal(doc)
	if err != nil {
		return nil, err
	}
	a := &coopfed.Activity{IRI: doc["id"].(string), CoopID: c.ID, Type: doc["type"].(string), ObjectIRI: objectIRI, Public: public, JSON: body, Published: tx.Now()}
	if err := tx.InsertActivity(a); err != nil {
		return nil, err
	}
	if _, err := tx.EnqueueDeliveries(a.ID, inboxes); err != nil {
		return nil, err
	}
	return a, nil
}

// sendToFollowers is send addressed to every accepted follower. Listed
// activities appear in the coop's outbox (Mastodon lists only posts there,
// not deletions or profile edits).
func (f *Federation) sendToFollowers(tx *store.Tx, c *coopfed.Coop, doc map[string]any, objectIRI string, listed bool) (*coopfed.Activity, error) {
	return f.sendToFollowersAnd(tx, c, doc, objectIRI, listed, nil)
}

// sendToFollowersAnd is sendToFollowers that also delivers to the inboxes
// given (the groups a listing is addressed to); an inbox named twice gets
// one delivery.
func (f *Federation) sendToFollowersAnd(tx *store.Tx, c *coopfed.Coop, doc map[string]any, objectIRI string, listed bool, extra []string) (*coopfed.Activity, error) {
	inboxes, err := tx.FollowerInboxes(c.ID)
	if err != nil {
		return nil, err
	}
	return f.send(tx, c, doc, objectIRI, listed, append(inboxes, extra...))
}

// sendAnswer answers a Follow with Accept or Reject, the Follow embedded
// (Mastodon matches it by id; GoToSocial needs it whole).
func (f *Federation) sendAnswer(tx *store.Tx, c *coopfed.Coop, typ, followIRI string, follower *coopfed.RemoteActor) error {
	return f.sendAnswerOf(tx, c, typ, followIRI, f.ActorIRI(c), follower)
}

// sendAnswerOf is sendAnswer for a Follow whose object was followed (the
// Public collection, for a relay subscription to a group).
func (f *Federation) sendAnswerOf(tx *store.Tx, c *coopfed.Coop, typ, followIRI, followed string, follower *coopfed.RemoteActor) error {
	coopIRI := f.ActorIRI(c)
	doc := f.wrap(typ, f.iris.Activity(f.newID()), coopIRI, f.embeddedFollow(followIRI, follower.IRI, followed), []string{follower.IRI}, nil, tx.Now())
	// Why: the answer goes to the follower's own inbox, which every
	// server has; it concerns that actor alone.
	_, err := f.send(tx, c, doc, followIRI, false, []string{follower.Inbox})
	return err
}

// PublishNote publishes an announcement by a coop: stores the Note and its
// Create, queued for every follower's (shared) inbox, in one transaction.
func (f *Federation) PublishNote(ctx context.Context, c *coopfed.Coop, content string) (*coopfed.Note, error) {
	n := &coopfed.Note{CoopID: c.ID, Content: strings.TrimSpace(content)}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		n.IRI = f.iris.Note(f.newID())
		n.Published = tx.Now()
		obj := f.note(c, n)
		objJSON, err := Marshal(withContext(obj, objectContext))
		if err != nil {
			return err
		}
		o := &store.Object{IRI: n.IRI, CoopID: c.ID, Type: "Note", Content: n.Content, JSON: objJSON, Published: n.Published}
		if err := tx.InsertObject(o); err != nil {
			return err
		}
		n.ID = o.ID
		create := f.wrap("Create", n.IRI+"/activity", f.iris.Coop(c.Name), obj, []string{PublicIRI}, []string{f.iris.CoopFollowers(c.Name)}, n.Published)
		_, err = f.sendToFollowers(tx, c, create, n.IRI, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return n, nil
}

// EditNote changes the text of a coop's own announcement: the stored Note
// gets the new content and an `updated` time, and an Update carrying the
// whole Note goes to followers, in one transaction.
func (f *Federation) EditNote(ctx context.Context, c *coopfed.Coop, iri, content string) (*coopfed.Note, error) {
	n := &coopfed.Note{IRI: iri, CoopID: c.ID, Content: strings.TrimSpace(content)}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		o, err := tx.ObjectByIRI(iri)
		if err != nil {
			return err
		}
		// Why: a coop edits only its own announcements; receipts and other
		// stored objects are records, not posts.
		if o.CoopID != c.ID {
			return coopfed.Errorf(coopfed.EFORBIDDEN, "the object belongs to another coop")
		}
		if o.Type != "Note" {
			return coopfed.Errorf(coopfed.EINVALID, "only announcements can be edited")
		}
		if o.DeletedAt != nil {
			return coopfed.Errorf(coopfed.EGONE, "the announcement is deleted")
		}
		n.ID, n.Published = o.ID, o.Published
		now := tx.Now()
		obj := f.note(c, n)
		// Why: Mastodon shows an edit only when the Note carries an
		// `updated` later than what it has; milliseconds keep two edits in
		// one second apart.
		obj["updated"] = now.UTC().Format(timeMillis)
		objJSON, err := Marshal(withContext(obj, objectContext))
		if err != nil {
			return err
		}
		if err := tx.EditObject(iri, n.Content, objJSON); err != nil {
			return err
		}
		update := f.wrap("Update", f.iris.Activity(f.newID()), f.iris.Coop(c.Name), obj, []string{PublicIRI}, []string{f.iris.CoopFollowers(c.Name)}, now)
		_, err = f.sendToFollowers(tx, c, update, iri, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return n, nil
}

// DeleteObject deletes a coop's own object: the row becomes a tombstone
// (its IRI answers 410) and a Delete carrying a Tombstone goes to followers.
func (f *Federation) DeleteObject(ctx context.Context, c *coopfed.Coop, iri string) error {
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		o, err := tx.ObjectByIRI(iri)
		if err != nil {
			return err
		}
		// Why: only the coop's own notes are deleted here; receipts are
		// part of a trade's record, and another coop's objects are
		// answered as unknown, as motions and listings are.
		if o.CoopID != c.ID || o.Type != "Note" {
			return coopfed.Errorf(coopfed.ENOTFOUND, "announcement not found")
		}
		if o.DeletedAt != nil {
			return coopfed.Errorf(coopfed.EGONE, "the object is already deleted")
		}
		if err := tx.DeleteObject(iri); err != nil {
			return err
		}
		doc := f.wrap("Delete", f.iris.Activity(f.newID()), f.iris.Coop(c.Name), f.tombstone(iri, o.Type, tx.Now()), []string{PublicIRI}, []string{f.iris.CoopFollowers(c.Name)}, tx.Now())
		_, err = f.sendToFollowers(tx, c, doc, iri, false)
		return err
	})
	if err != nil {
		return err
	}
	f.delivery.wake()
	return nil
}

// Follow makes a coop follow a remote actor named by handle (name@host) or
// IRI. The follow is pending until the actor's Accept arrives.
func (f *Federation) Follow(ctx context.Context, c *coopfed.Coop, handleOrIRI string) (*coopfed.Following, error) {
	target := strings.TrimSpace(handleOrIRI)
	var a *coopfed.RemoteActor
	var err error
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		if f.iris.IsLocal(target) {
			return nil, coopfed.FieldErrors(map[string]string{"actor": "a coop of this instance cannot be followed over ActivityPub"})
		}
		a, err = f.FetchActor(ctx, target)
	} else {
		a, err = f.LookupHandle(ctx, target)
	}
	if err != nil {
		return nil, err
	}
	var fl *coopfed.Following
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		fl = &coopfed.Following{CoopID: c.ID, ActorIRI: a.IRI, FollowIRI: f.iris.Activity(f.newID()), State: coopfed.FollowPending}
		if cur, err := tx.Following(c.ID, a.IRI); err == nil && cur.State == coopfed.FollowAccepted {
			fl = cur // already following: nothing to send
			return nil
		}
		if err := tx.PutFollowing(fl); err != nil {
			return err
		}
		_, err := f.send(tx, c, withContext(f.follow(fl.FollowIRI, f.ActorIRI(c), a.IRI), ContextActivityStreams), a.IRI, false, []string{a.Inbox})
		return err
	})
	if err != nil {
		return nil, err
	}
	fl.Actor = a
	f.delivery.wake()
	return fl, nil
}

// Unfollow withdraws a coop's follow of an actor with Undo(Follow).
func (f *Federation) Unfollow(ctx context.Context, c *coopfed.Coop, actorIRI string) error {
	a, err := f.store.RemoteActor(ctx, actorIRI)
	if err != nil {
		return err
	}
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		fl, err := tx.Following(c.ID, actorIRI)
		if err != nil {
			return err
		}
		if _, err := tx.DeleteFollowing(c.ID, actorIRI); err != nil {
			return err
		}
		if err := f.followEnded(ctx, tx, c.ID, actorIRI); err != nil {
			return err
		}
		coopIRI := f.ActorIRI(c)
		undo := f.wrap("Undo", f.iris.Activity(f.newID()), coopIRI, f.embeddedFollow(fl.FollowIRI, coopIRI, actorIRI), []string{actorIRI}, nil, tx.Now())
		_, err = f.send(tx, c, undo, fl.FollowIRI, false, []string{a.Inbox})
		return err
	})
	if err != nil {
		return err
	}
	f.delivery.wake()
	return nil
}

// ApproveFollower accepts a pending follow request of a locked coop.
func (f *Federation) ApproveFollower(ctx context.Context, c *coopfed.Coop, actorIRI string) error {
	return f.answerFollower(ctx, c, actorIRI, "Accept")
}

// RejectFollower refuses a follow request, or removes an accepted follower,
// telling the actor with Reject(Follow).
func (f *Federation) RejectFollower(ctx context.Context, c *coopfed.Coop, actorIRI string) error {
	return f.answerFollower(ctx, c, actorIRI, "Reject")
}

func (f *Federation) answerFollower(ctx context.Context, c *coopfed.Coop, actorIRI, typ string) error {
	a, err := f.store.RemoteActor(ctx, actorIRI)
	if err != nil {
		return err
	}
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		fl, err := tx.Follower(c.ID, actorIRI)
		if err != nil {
			return err
		}
		if typ == "Accept" {
			if fl.State == coopfed.FollowAccepted {
				return coopfed.Errorf(coopfed.ECONFLICT, "already an accepted follower")
			}
			if err := tx.SetFollowerState(c.ID, actorIRI, coopfed.FollowAccepted); err != nil {
				return err
			}
		} else if _, err := tx.DeleteFollower(c.ID, actorIRI, ""); err != nil {
			return err
		}
		return f.sendAnswer(tx, c, typ, fl.FollowIRI, a)
	})
	if err != nil {
		return err
	}
	f.delivery.wake()
	return nil
}

// withContext returns a copy of doc with the given @context.
func withContext(doc map[string]any, context any) map[string]any {
	out := make(map[string]any, len(doc)+1)
	for k, v := range doc {
		out[k] = v
	}
	out["@context"] = context
	return out
}

// UpdateProfile stores a coop's new display name, summary and locked flag
// and sends the new actor document to its followers as Update, so their
// servers refresh the profile they show.
func (f *Federation) UpdateProfile(ctx context.Context, c *coopfed.Coop) error {
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateCoopProfile(c); err != nil {
			return err
		}
		actor, err := f.CoopActor(c)
		if err != nil {
			return err
		}
		delete(actor, "@context")
		coopIRI := f.iris.Coop(c.Name)
		doc := f.wrap("Update", f.iris.Activity(f.newID()), coopIRI, actor, []string{PublicIRI}, []string{f.iris.CoopFollowers(c.Name)}, tx.Now())
		doc["@context"] = coopActorContext
		_, err = f.sendToFollowers(tx, c, doc, coopIRI, false)
		return err
	})
	if err != nil {
		return err
	}
	f.delivery.wake()
	return nil
}
