package federation

import (
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"
)

// CoopActor returns the actor document of a coop (type Organization) with
// every field Mastodon reads (DESIGN 4.1).
func (f *Federation) CoopActor(c *coopfed.Coop) (map[string]any, error) {
	key, err := f.assertionMethod(c)
	if err != nil {
		return nil, err
	}
	doc, err := f.localActorDoc(streams.NewActivityStreamsOrganization(), c, localActorIRIs{
		id: f.iris.Coop(c.Name), inbox: f.iris.CoopInbox(c.Name), outbox: f.iris.CoopOutbox(c.Name),
		followers: f.iris.CoopFollowers(c.Name), following: f.iris.CoopFollowing(c.Name),
		key: f.iris.CoopKey(c.Name), avatar: f.iris.CoopAvatar(c.Name),
	}, map[string]any{"assertionMethod": []any{key}})
	if err != nil {
		return nil, err
	}
	// Why: FEP-521a's Multikey and assertionMethod terms come from the
	// multikey context, which Mastodon's actor context lacks.
	doc["@context"] = coopActorContext
	return doc, nil
}

// actorVocab is what the go-fed actor types we serve (Organization, Group)
// have in common.
type actorVocab interface {
	vocab.Type
	SetJSONLDId(vocab.JSONLDIdProperty)
	SetActivityStreamsPreferredUsername(vocab.ActivityStreamsPreferredUsernameProperty)
	SetActivityStreamsName(vocab.ActivityStreamsNameProperty)
	SetActivityStreamsSummary(vocab.ActivityStreamsSummaryProperty)
	SetActivityStreamsUrl(vocab.ActivityStreamsUrlProperty)
	SetActivityStreamsInbox(vocab.ActivityStreamsInboxProperty)
	SetActivityStreamsOutbox(vocab.ActivityStreamsOutboxProperty)
	SetActivityStreamsFollowers(vocab.ActivityStreamsFollowersProperty)
	SetActivityStreamsFollowing(vocab.ActivityStreamsFollowingProperty)
	SetActivityStreamsPublished(vocab.ActivityStreamsPublishedProperty)
	SetW3IDSecurityV1PublicKey(vocab.W3IDSecurityV1PublicKeyProperty)
	SetActivityStreamsIcon(vocab.ActivityStreamsIconProperty)
}

// localActorIRIs are the IRIs of a local actor's document.
type localActorIRIs struct {
	id, inbox, outbox, followers, following, key, avatar string
}

// localActorDoc fills an actor document of a local coop or group; extra
// adds properties of the kind.
func (f *Federation) localActorDoc(o actorVocab, c *coopfed.Coop, iri localActorIRIs, extra map[string]any) (map[string]any, error) {
	o.SetJSONLDId(idProp(iri.id))
	o.SetActivityStreamsPreferredUsername(stringProp(streams.NewActivityStreamsPreferredUsernameProperty(), c.Name))
	o.SetActivityStreamsName(nameProp(c.Title()))
	if c.Summary != "" {
		o.SetActivityStreamsSummary(summaryProp(sanitize.Text(c.Summary)))
	}
	o.SetActivityStreamsUrl(urlProp(iri.id))
	o.SetActivityStreamsInbox(iriProp(streams.NewActivityStreamsInboxProperty(), iri.inbox))
	o.SetActivityStreamsOutbox(iriProp(streams.NewActivityStreamsOutboxProperty(), iri.outbox))
	o.SetActivityStreamsFollowers(iriProp(streams.NewActivityStreamsFollowersProperty(), iri.followers))
	o.SetActivityStreamsFollowing(iriProp(streams.NewActivityStreamsFollowingProperty(), iri.following))
	o.SetActivityStreamsPublished(publishedProp(c.CreatedAt))
	o.SetW3IDSecurityV1PublicKey(publicKeyProp(iri.key, iri.id, c.PublicKeyPEM))
	o.SetActivityStreamsIcon(iconProp(iri.avatar))
	props := map[string]any{
		// go-fed's vocabulary lacks these; Mastodon reads them.
		"endpoints":                 map[string]any{"sharedInbox": f.iris.SharedInbox()},
		"manuallyApprovesFollowers": c.Locked,
		"discoverable":              true,
		"indexable":                 true,
	}
	if c.Region != "" {
		// Why: directories read coopfed:region; Mastodon shows profile
		// fields, PropertyValue attachments, so people see it too.
		props["region"] = c.Region
		props["attachment"] = []any{map[string]any{"type": "PropertyValue", "name": "Region", "value": c.Region}}
	}
	if len(c.PaymentLinks) > 0 {
		// FEP-0ea0: payment links are Links with rel "payment" in the
		// actor's attachment, beside the profile fields.
		att, _ := props["attachment"].([]any)
		props["attachment"] = append(att, paymentLinksDoc(c.PaymentLinks)...)
	}
	for k, v := range extra {
		props[k] = v
	}
	return serialize(o, actorContext, props)
}

// InstanceActor returns the instance actor document (FEP-d556): an
// Application that signs our fetches and answers unsigned GETs, so that
// servers requiring signed fetches can verify us without a loop.
func (f *Federation) InstanceActor() (map[string]any, error) {
	id := f.iris.InstanceActor()
	a := streams.NewActivityStreamsApplication()
	a.SetJSONLDId(idProp(id))
	a.SetActivityStreamsPreferredUsername(stringProp(streams.NewActivityStreamsPreferredUsernameProperty(), f.iris.Domain()))
	a.SetActivityStreamsName(nameProp(f.iris.Domain()))
	a.SetActivityStreamsSummary(summaryProp("<p>The instance actor of this coopfed server. It signs requests made on behalf of the server.</p>"))
	a.SetActivityStreamsUrl(urlProp(f.iris.Base() + "/"))
	a.SetActivityStreamsInbox(iriProp(streams.NewActivityStreamsInboxProperty(), f.iris.SharedInbox()))
	a.SetActivityStreamsOutbox(iriProp(streams.NewActivityStreamsOutboxProperty(), id+"/outbox"))
	a.SetW3IDSecurityV1PublicKey(publicKeyProp(f.iris.InstanceKey(), id, f.instanceKeyPEM))
	return serialize(a, actorContext, map[string]any{
		"endpoints":                 map[string]any{"sharedInbox": f.iris.SharedInbox()},
		"manuallyApprovesFollowers": true,
		"discoverable":              false,
		"indexable":                 false,
	})
}

func publicKeyProp(keyID, owner, pem string) vocab.W3IDSecurityV1PublicKeyProperty {
	k := streams.NewW3IDSecurityV1PublicKey()
	k.SetJSONLDId(idProp(keyID))
	owp := streams.NewW3IDSecurityV1OwnerProperty()
	owp.Set(mustURL(owner))
	k.SetW3IDSecurityV1Owner(owp)
	pp := streams.NewW3IDSecurityV1PublicKeyPemProperty()
	pp.Set(pem)
	k.SetW3IDSecurityV1PublicKeyPem(pp)
	p := streams.NewW3IDSecurityV1PublicKeyProperty()
	p.AppendW3IDSecurityV1PublicKey(k)
	return p
}

// note builds the Note of an announcement, public and copied to followers,
// as Mastodon addresses a public status.
func (f *Federation) note(c *coopfed.Coop, n *coopfed.Note) map[string]any {
	actor := f.iris.Coop(c.Name)
	o := streams.NewActivityStreamsNote()
	o.SetJSONLDId(idProp(n.IRI))
	o.SetActivityStreamsAttributedTo(attributedToProp(actor))
	o.SetActivityStreamsContent(contentProp(sanitize.Text(n.Content)))
	o.SetActivityStreamsPublished(publishedProp(n.Published))
	o.SetActivityStreamsUrl(urlProp(n.IRI))
	o.SetActivityStreamsTo(toProp(PublicIRI))
	o.SetActivityStreamsCc(ccProp(f.iris.CoopFollowers(c.Name)))
	m, err := serialize(o, nil, map[string]any{"sensitive": false, "tag": []any{}})
	if err != nil {
		panic(err) // a Note of fixed shape always serialises
	}
	return m
}

// wrap builds an activity of type typ by actor around object (an IRI
// string or an embedded document), addressed like the object.
func (f *Federation) wrap(typ, id, actor string, object any, to, cc []string, published time.Time) map[string]any {
	m := map[string]any{
		"@context": objectContext,
		"id":       id,
		"type":     typ,
		"actor":    actor,
		"object":   object,
	}
	if len(to) > 0 {
		m["to"] = to
	}
	if len(cc) > 0 {
		m["cc"] = cc
	}
	if !published.IsZero() {
		m["published"] = published.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	return m
}

// follow builds a Follow activity.
func (f *Federation) follow(id, actor, object string) map[string]any {
	a := streams.NewActivityStreamsFollow()
	a.SetJSONLDId(idProp(id))
	a.SetActivityStreamsActor(actorProp(actor))
	a.SetActivityStreamsObject(objectIRIProp(object))
	m, err := serialize(a, ContextActivityStreams, nil)
	if err != nil {
		panic(err)
	}
	return m
}

// embeddedFollow is the Follow a remote actor sent, as we echo it inside
// Accept and Reject: Mastodon and GoToSocial match on its id, and some
// servers cannot dereference it, so it travels whole.
func (f *Federation) embeddedFollow(followIRI, follower, followee string) map[string]any {
	m := f.follow(followIRI, follower, followee)
	delete(m, "@context")
	return m
}

// tombstone returns the Tombstone served for (and sent in place of) a
// deleted object.
func (f *Federation) tombstone(iri, formerType string, deleted time.Time) map[string]any {
	t := streams.NewActivityStreamsTombstone()
	t.SetJSONLDId(idProp(iri))
	d := streams.NewActivityStreamsDeletedProperty()
	d.Set(deleted.UTC().Truncate(time.Second))
	t.SetActivityStreamsDeleted(d)
	m, err := serialize(t, nil, map[string]any{"formerType": formerType})
	if err != nil {
		panic(err)
	}
	return m
}

// Tombstone returns the document served at a deleted object's IRI (410).
func (f *Federation) Tombstone(iri, formerType string, deleted time.Time) map[string]any {
	m := f.tombstone(iri, formerType, deleted)
	m["@context"] = ContextActivityStreams
	return m
}

func attributedToProp(iri string) vocab.ActivityStreamsAttributedToProperty {
	p := streams.NewActivityStreamsAttributedToProperty()
	p.AppendIRI(mustURL(iri))
	return p
}

// iconProp is an actor's avatar: an Image with its media type, as Mastodon
// reads it.
func iconProp(url string) vocab.ActivityStreamsIconProperty {
	img := streams.NewActivityStreamsImage()
	mt := streams.NewActivityStreamsMediaTypeProperty()
	mt.Set("image/png")
	img.SetActivityStreamsMediaType(mt)
	img.SetActivityStreamsUrl(urlProp(url))
	p := streams.NewActivityStreamsIconProperty()
	p.AppendActivityStreamsImage(img)
	return p
}
