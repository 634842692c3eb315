package federation

import (
	"context"

	"github.com/coopfed/coopfed"
)

// A local actor is a coop (Organization) or a market group (Group); both
// are coops rows with a key pair and followers, and they differ only in
// their IRIs. Code that sends on behalf of either names it through these.

// ActorIRI returns a local actor's IRI.
func (f *Federation) ActorIRI(c *coopfed.Coop) string {
	if c.IsGroup() {
		return f.iris.Group(c.Name)
	}
	return f.iris.Coop(c.Name)
}

// actorKeyID returns the id of a local actor's public key.
func (f *Federation) actorKeyID(c *coopfed.Coop) string {
	if c.IsGroup() {
		return f.iris.GroupKey(c.Name)
	}
	return f.iris.CoopKey(c.Name)
}

// FollowersIRI returns a local actor's followers collection (a group's
// members).
func (f *Federation) FollowersIRI(c *coopfed.Coop) string {
	if c.IsGroup() {
		return f.iris.GroupFollowers(c.Name)
	}
	return f.iris.CoopFollowers(c.Name)
}

// LocalActor returns the coop or group a local actor IRI names, or
// ENOTFOUND.
func (f *Federation) LocalActor(ctx context.Context, iri string) (*coopfed.Coop, error) {
	if name := f.iris.CoopName(iri); name != "" && f.iris.Coop(name) == iri {
		return f.store.CoopByName(ctx, name)
	}
	if name := f.iris.GroupName(iri); name != "" && f.iris.Group(name) == iri {
		g, err := f.store.GroupByName(ctx, name)
		if err != nil {
			return nil, err
		}
		return &g.Coop, nil
	}
	return nil, coopfed.Errorf(coopfed.ENOTFOUND, "%s is not an account of this instance", iri)
}
