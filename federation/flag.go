package federation

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/coopfed/coopfed/store"
)

// Reports are ActivityStreams Flags in Mastodon's shape: {type: Flag,
// actor: the reporting server's instance actor, object: [the account
// reported, its objects...], content: the comment}. A Flag counts only for
// what is ours: our coops and their listings, motions and notes, our groups
// and what they relayed (as on Mastodon, which drops reports about no local
// account). A member reports here; the report reaches the reported
// server, signed by our instance actor so the member stays unnamed, only
// when an admin forwards it.

// flagTarget is one object of a Flag that concerns a local coop, with the
// coop whose admins handle it.
type flagTarget struct {
	iri    string
	coopID int64
	actor  string // the local account the object belongs to
}

func checkFlag(ctx context.Context, in *incoming) error {
	var objects refs
	if err := decodeJSON(in.act.Object, &objects); err != nil || len(objects) == 0 {
		return coopfed.Errorf(coopfed.EINVALID, "Flag names no object")
	}
	if len(objects) > coopfed.MaxReportObjects {
		return coopfed.Errorf(coopfed.EINVALID, "Flag names more than %d objects", coopfed.MaxReportObjects)
	}
	byCoop := map[int64][]flagTarget{}
	for _, iri := range objects {
		t, ok, err := in.f.flagTarget(ctx, iri)
		if err != nil {
			return err
		}
		if ok {
			byCoop[t.coopID] = append(byCoop[t.coopID], t)
		}
	}
	if len(byCoop) == 0 {
		return errIgnore // nothing of ours is reported
	}
	in.flagged = byCoop
	return nil
}

// flagTarget resolves an object of a Flag to the local coop it concerns.
func (f *Federation) flagTarget(ctx context.Context, iri string) (flagTarget, bool, error) {
	if !f.iris.IsLocal(iri) {
		// A remote listing one of our groups relayed concerns the group's
		// moderators.
		posts, err := f.store.GroupPostsOfObject(ctx, iri)
		if err != nil || len(posts) == 0 {
			return flagTarget{}, false, err
		}
		g, err := f.store.GroupByID(ctx, posts[0].GroupID)
		if err != nil {
			return flagTarget{}, false, err
		}
		return flagTarget{iri: iri, coopID: g.OwnerID, actor: posts[0].ActorIRI}, true, nil
	}
	if c, err := f.LocalActor(ctx, iri); err == nil {
		if c.IsGroup() {
			g, err := f.store.GroupByID(ctx, c.ID)
			if err != nil {
				return flagTarget{}, false, err
			}
			return flagTarget{iri: iri, coopID: g.OwnerID, actor: iri}, true, nil
		}
		return flagTarget{iri: iri, coopID: c.ID, actor: iri}, true, nil
	}
	owner, err := f.store.LocalObjectOwner(ctx, iri)
	if coopfed.ErrorCode(err) == coopfed.ENOTFOUND {
		return flagTarget{}, false, nil
	} else if err != nil {
		return flagTarget{}, false, err
	}
	c, err := f.store.CoopByID(ctx, owner)
	if err != nil {
		return flagTarget{}, false, err
	}
	return flagTarget{iri: iri, coopID: c.ID, actor: f.iris.Coop(c.Name)}, true, nil
}

func applyFlag(ctx context.Context, in *incoming) error {
	comment := sanitize.PlainText(sanitize.HTML(string(in.act.Content)))
	comment = truncateRunes(strings.TrimSpace(comment), coopfed.MaxReportComment)
	for coopID, targets := range in.flagged {
		r := &coopfed.Report{CoopID: coopID, Origin: coopfed.ReportRemote, FlagIRI: in.act.ID, ReporterIRI: in.signer.IRI,
			TargetActor: targets[0].actor, Comment: comment}
		for _, t := range targets {
			if t.iri != r.TargetActor {
				r.Objects = append(r.Objects, t.iri)
			}
		}
		if err := in.tx.AddReport(r); err != nil {
			return err
		}
		if _, err := in.tx.AddNotification(&coopfed.Notification{CoopID: coopID, Kind: coopfed.NotifyReport,
			ActivityIRI: in.act.ID, ActorIRI: r.TargetActor}); err != nil {
			return err
		}
	}
	return nil
}

// ReportInput is what a member reports: an account or objects of it (a
// listing in the market, a reply in a motion's discussion), and why.
type ReportInput struct {
	Member  string // the reporting member's username
	Actor   string // the account reported; found from the object when empty
	Objects []string
	Comment string
}

// Report records a member's report for the coop's admins. The account is
// the one given, or the author of the first object.
func (f *Federation) Report(ctx context.Context, c *coopfed.Coop, in ReportInput) (*coopfed.Report, error) {
	r := &coopfed.Report{CoopID: c.ID, Origin: coopfed.ReportLocal, ReporterMember: in.Member, TargetActor: strings.TrimSpace(in.Actor), Comment: in.Comment}
	for _, o := range in.Objects {
		if o = strings.TrimSpace(o); o != "" {
			r.Objects = append(r.Objects, o)
		}
	}
	fields := map[string]string{}
	for _, o := range append([]string{r.TargetActor}, r.Objects...) {
		if o == "" {
			continue
		}
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			fields["object"] = "name what you report by its address (an IRI)"
		}
	}
	if len(fields) > 0 {
		return nil, coopfed.FieldErrors(fields)
	}
	if r.TargetActor == "" && len(r.Objects) > 0 {
		author, err := f.authorOf(ctx, r.Objects[0])
		if err != nil {
			return nil, err
		}
		r.TargetActor = author
	}
	if r.TargetActor == f.iris.Coop(c.Name) {
		return nil, coopfed.FieldErrors(map[string]string{"object": "this is your own coop's"})
	}
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.AddReport(r); err != nil {
			return err
		}
		_, err := tx.AddNotification(&coopfed.Notification{CoopID: c.ID, Kind: coopfed.NotifyReport,
			ActivityIRI: f.iris.Base() + "/reports/" + itoa(r.ID), ActorIRI: r.TargetActor})
		return err
	})
	return r, err
}

// authorOf returns the account an object in our market, discussions or
// groups belongs to.
func (f *Federation) authorOf(ctx context.Context, iri string) (string, error) {
	if l, err := f.store.ListingByIRI(ctx, iri); err == nil {
		return l.ActorIRI, nil
	}
	if a, err := f.store.ReplyAuthor(ctx, iri); err == nil {
		return a, nil
	}
	if f.iris.IsLocal(iri) {
		if c, err := f.LocalActor(ctx, iri); err == nil {
			return f.ActorIRI(c), nil
		}
	} else if a, err := f.store.RemoteActor(ctx, iri); err == nil {
		return a.IRI, nil
	}
	return "", coopfed.FieldErrors(map[string]string{"object": "nothing by that address is in this instance's market, discussions or directory"})
}

// ResolveReport closes an open report of the coop with a resolution:
// dismiss; remove the reported listings from the market (a listing of the
// coop's own is closed, one a group of the coop relayed leaves the group);
// block the account or its domain. Blocks and removals from the shared
// market are the instance's: instanceWide says whether this coop's admins
// may make them (they may when it is the instance's only coop).
func (f *Federation) ResolveReport(ctx context.Context, c *coopfed.Coop, id int64, resolution string, instanceWide bool) error {
	if !coopfed.ValidResolution(resolution) {
		return coopfed.FieldErrors(map[string]string{"resolution": "dismiss, remove, block_actor or block_domain"})
	}
	if resolution != coopfed.ResolveDismiss && resolution != coopfed.ResolveRemove && !instanceWide {
		return coopfed.Errorf(coopfed.EFORBIDDEN, "this instance hosts several coops: its operator manages blocks")
	}
	var closeOwn []string
	var groupRemovals []*coopfed.GroupPost
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		r, err := tx.Report(c.ID, id)
		if err != nil {
			return err
		}
		if r.State != coopfed.ReportOpen {
			return coopfed.Errorf(coopfed.ECONFLICT, "the report is already resolved")
		}
		switch resolution {
		case coopfed.ResolveRemove:
			for _, iri := range append([]string{r.TargetActor}, r.Objects...) {
				l, err := tx.ListingByIRI(iri)
				if err != nil {
					continue
				}
				switch {
				case l.CoopID == c.ID && !l.Deleted && l.State == coopfed.ListingOpen:
					closeOwn = append(closeOwn, iri)
				case !l.Local() && instanceWide:
					if _, err := tx.RemoveFromMarket(iri, "report "+itoa(r.ID)); err != nil {
						return err
					}
				}
				posts, err := tx.GroupPostsOfObject(iri)
				if err != nil {
					return err
				}
				for _, p := range posts {
					if g, err := tx.GroupByID(p.GroupID); err == nil && g.OwnerID == c.ID && p.State != coopfed.PostRemoved {
						groupRemovals = append(groupRemovals, p)
					}
				}
			}
		case coopfed.ResolveBlockActor, coopfed.ResolveBlockDomain:
			if r.TargetActor == "" || f.iris.IsLocal(r.TargetActor) {
				return coopfed.Errorf(coopfed.EINVALID, "the account reported is on this instance: it cannot be blocked")
			}
			if resolution == coopfed.ResolveBlockActor {
				if err := tx.BlockActor(r.TargetActor, "report "+itoa(r.ID)); err != nil {
					return err
				}
			} else if err := tx.BlockDomain(HostOf(r.TargetActor), "report "+itoa(r.ID)); err != nil {
				return err
			}
			// Why: a block keeps the account's listings out of the
			// market; those it already holds go too.
			if _, err := tx.DeleteActorListings(r.TargetActor); err != nil {
				return err
			}
		}
		return tx.ResolveReport(r.ID, resolution)
	})
	if err != nil {
		return err
	}
	for _, iri := range closeOwn {
		if _, err := f.CloseListing(ctx, c, iri); err != nil && coopfed.ErrorCode(err) != coopfed.ECONFLICT {
			return err
		}
	}
	for _, p := range groupRemovals {
		g, err := f.store.GroupByID(ctx, p.GroupID)
		if err != nil {
			return err
		}
		if err := f.RemoveFromGroup(ctx, g, p.ObjectIRI, "reported"); err != nil && coopfed.ErrorCode(err) != coopfed.ECONFLICT {
			return err
		}
	}
	return nil
}

// ForwardReport sends a local report to the reported account's server as a
// Flag from our instance actor (the member stays unnamed), addressed to
// that server's instance actor (FEP-d556) or, where it has none, to the
// account's inbox.
func (f *Federation) ForwardReport(ctx context.Context, c *coopfed.Coop, id int64) error {
	var r *coopfed.Report
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		var err error
		r, err = tx.Report(c.ID, id)
		return err
	})
	if err != nil {
		return err
	}
	if r.Origin != coopfed.ReportLocal {
		return coopfed.Errorf(coopfed.EINVALID, "only a report made here can be forwarded")
	}
	if r.ForwardedAt != nil {
		return coopfed.Errorf(coopfed.ECONFLICT, "the report was forwarded already")
	}
	if r.TargetActor == "" || f.iris.IsLocal(r.TargetActor) {
		return coopfed.Errorf(coopfed.EINVALID, "the account reported is on this instance")
	}
	target, err := f.Actor(ctx, r.TargetActor)
	if err != nil {
		return err
	}
	inbox := target.DeliveryInbox()
	if inst, err := f.RemoteInstanceActor(ctx, target.Host); err == nil {
		inbox = inst.DeliveryInbox()
	}
	doc := f.flagDocument(r, target.Host)
	flagIRI := doc["id"].(string)
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.ReportForwarded(r.ID, flagIRI); err != nil {
			return err
		}
		return f.sendAsInstance(tx, doc, r.TargetActor, []string{inbox})
	})
	if err != nil {
		return err
	}
	f.delivery.wake()
	return nil
}

// flagDocument is the Flag that forwards a report to the server at host:
// Mastodon's shape, the account first, then those of its objects that are
// on that server (a server judges its own accounts' objects only).
func (f *Federation) flagDocument(r *coopfed.Report, host string) map[string]any {
	objects := []any{r.TargetActor}
	for _, o := range r.Objects {
		if SameHost(o, host) && o != r.TargetActor {
			objects = append(objects, o)
		}
	}
	return map[string]any{
		"@context": ContextActivityStreams,
		"id":       f.iris.Activity(f.newID()),
		"type":     "Flag",
		"actor":    f.iris.InstanceActor(),
		"object":   objects,
		"content":  r.Comment,
	}
}

// sendAsInstance stores an activity of the instance actor and queues it,
// signed with the instance key (coop id 0).
func (f *Federation) sendAsInstance(tx *store.Tx, doc map[string]any, objectIRI string, inboxes []string) error {
	body, err := Marshal(doc)
	if err != nil {
		return err
	}
	a := &coopfed.Activity{IRI: doc["id"].(string), Type: doc["type"].(string), ObjectIRI: objectIRI, JSON: body, Published: tx.Now()}
	if err := tx.InsertActivity(a); err != nil {
		return err
	}
	_, err = tx.EnqueueDeliveries(a.ID, inboxes)
	return err
}

// RemoteInstanceActor finds the instance actor of a remote server (FEP-d556:
// WebFinger for the server's origin), fetched and cached.
func (f *Federation) RemoteInstanceActor(ctx context.Context, host string) (*coopfed.RemoteActor, error) {
	schemes := []string{"https"}
	if f.allowPrivate {
		schemes = append(schemes, "http")
	}
	var lastErr error
	for _, scheme := range schemes {
		origin := scheme + "://" + host + "/"
		q := url.Values{"resource": {origin}}
		iri, _, err := f.webfingerAt(ctx, scheme+"://"+host+RouteWebFinger+"?"+q.Encode())
		if err != nil {
			lastErr = err
			continue
		}
		// Why: a server speaks for its own instance actor only.
		if !SameHost(iri, host) {
			return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "instance actor of %s on another host", host)
		}
		return f.Actor(ctx, iri)
	}
	return nil, lastErr
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
