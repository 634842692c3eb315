package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/coopfed/coopfed/store"
	"github.com/go-fed/activity/streams"
)

// Listings are FEP-0837 proposals (Federated Marketplace). We publish them
// as a Note carrying the FEP properties, because Mastodon renders only Note
// and Question (DESIGN 4.2): Mastodon shows the readable content and
// hashtags, FEP-0837 peers read purpose, publishes, reciprocal, unitBased,
// location and endTime. Incoming listings are Notes or Proposals (Mitra)
// with an FEP purpose and a primary intent; a plain status is not one.

// Namespaces of the FEP-0837 terms.
const (
	NamespaceValueflows = "https://w3id.org/valueflows/ont/vf#"
	NamespaceOM2        = "http://www.ontology-of-units-of-measure.org/resource/om-2/"
)

// listingContext is the context of listings and the activities around
// them: ActivityStreams, then the FEP-0837 term map as the FEP's examples
// write it (vf: Valueflows, om2: units of measure), and the terms of our
// notes.
var listingContext = []any{
	ContextActivityStreams,
	map[string]any{
		"sensitive":          "as:sensitive",
		"Hashtag":            "as:Hashtag",
		"toot":               "http://joinmastodon.org/ns#",
		"coopfed":            NamespaceCoopfed,
		"vf":                 NamespaceValueflows,
		"om2":                NamespaceOM2,
		"Proposal":           "vf:Proposal",
		"Intent":             "vf:Intent",
		"purpose":            "vf:purpose",
		"publishes":          "vf:publishes",
		"reciprocal":         "vf:reciprocal",
		"unitBased":          "vf:unitBased",
		"action":             "vf:action",
		"resourceConformsTo": "vf:resourceConformsTo",
		"resourceQuantity":   "vf:resourceQuantity",
		"availableQuantity":  "vf:availableQuantity",
		"minimumQuantity":    "vf:minimumQuantity",
		"hasUnit":            "om2:hasUnit",
		"hasNumericalValue":  "om2:hasNumericalValue",
	},
}

// Bounds of matching and backfill.
const (
	// maxMatchNotifications bounds the notifications one listing causes.
	maxMatchNotifications = 20
	// maxBackfillPages and maxBackfillListings bound what is read from a
	// newly followed actor's outbox.
	maxBackfillPages    = 5
	maxBackfillListings = 100
)

// --- documents ---

// ListingDocument returns the document served at a local listing's IRI.
func (f *Federation) ListingDocument(c *coopfed.Coop, l *coopfed.Listing) map[string]any {
	return withContext(f.listingNote(c, l), listingContext)
}

// ListingTombstone returns the document served (410) at a deleted
// listing's IRI.
func (f *Federation) ListingTombstone(l *coopfed.Listing) map[string]any {
	deleted := l.Published
	if l.Updated != nil {
		deleted = *l.Updated
	}
	return f.Tombstone(l.IRI, "Note", deleted)
}

// listingNote builds a listing's Note: go-fed's vocabulary for what it
// knows, the FEP-0837 properties and hashtags added to the map.
func (f *Federation) listingNote(c *coopfed.Coop, l *coopfed.Listing) map[string]any {
	actor := f.iris.Coop(c.Name)
	o := streams.NewActivityStreamsNote()
	o.SetJSONLDId(idProp(l.IRI))
	o.SetActivityStreamsAttributedTo(attributedToProp(actor))
	o.SetActivityStreamsName(nameProp(l.Title))
	o.SetActivityStreamsContent(contentProp(f.listingContent(l)))
	o.SetActivityStreamsPublished(publishedProp(l.Published))
	if l.ValidUntil != nil {
		e := streams.NewActivityStreamsEndTimeProperty()
		e.Set(l.ValidUntil.UTC().Truncate(time.Second))
		o.SetActivityStreamsEndTime(e)
	}
	if p := l.Place; p != nil {
		place := streams.NewActivityStreamsPlace()
		if p.Name != "" {
			place.SetActivityStreamsName(nameProp(p.Name))
		}
		if p.HasCoordinates() {
			lat := streams.NewActivityStreamsLatitudeProperty()
			lat.Set(*p.Latitude)
			place.SetActivityStreamsLatitude(lat)
			lon := streams.NewActivityStreamsLongitudeProperty()
			lon.Set(*p.Longitude)
			place.SetActivityStreamsLongitude(lon)
		}
		loc := streams.NewActivityStreamsLocationProperty()
		loc.AppendActivityStreamsPlace(place)
		o.SetActivityStreamsLocation(loc)
	}
	o.SetActivityStreamsUrl(urlProp(l.IRI))
	o.SetActivityStreamsTo(toProp(PublicIRI))
	o.SetActivityStreamsCc(ccProp(append([]string{f.iris.CoopFollowers(c.Name)}, l.Audience...)...))
	extra := map[string]any{
		"sensitive": false,
		"purpose":   l.Purpose(),
		"publishes": f.primaryIntent(l),
		"unitBased": l.UnitBased,
		"tag":       f.listingTags(l),
	}
	if r := l.Reciprocal; r != nil {
		extra["reciprocal"] = reciprocalIntent(l.IRI, r)
	}
	if l.State == coopfed.ListingClosed {
		// Why: FEP-0837 has no state; ActivityStreams' closed (a time)
		// says the proposal no longer takes answers.
		closed := l.Published
		if l.Updated != nil {
			closed = *l.Updated
		}
		extra["closed"] = closed.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	if a := audienceValue(l.Audience); a != nil {
		extra["audience"] = a
	}
	if att := paymentLinksDoc(l.PaymentLinks); len(att) > 0 {
		extra["attachment"] = att
	}
	if l.Updated != nil {
		// Why: copies elsewhere keep only a strictly newer version, so
		// `updated` carries milliseconds (go-fed would drop them); two
		// changes within one second stay ordered. RFC 3339 with a
		// fraction is a valid xsd:dateTime.
		extra["updated"] = l.Updated.UTC().Format(timeMillis)
	}
	m, err := serialize(o, nil, extra)
	if err != nil {
		panic(err) // a Note of fixed shape always serialises
	}
	return m
}

// timeMillis is RFC 3339 with exactly three fractional digits.
const timeMillis = "2006-01-02T15:04:05.000Z07:00"

func quantityDoc(q coopfed.Quantity) map[string]any {
	// FEP-0837's examples write numbers as strings; we do the same.
	return map[string]any{"hasUnit": q.Unit, "hasNumericalValue": coopfed.FormatNumber(q.Value)}
}

// primaryIntent is the listing's publishes: a transfer of goods, or the
// delivery of a service when counted in time.
func (f *Federation) primaryIntent(l *coopfed.Listing) map[string]any {
	action := "transfer"
	if coopfed.TimeUnits[l.Quantity.Unit] {
		action = "deliverService"
	}
	m := map[string]any{
		"type":             "Intent",
		"id":               l.IRI + "#primary",
		"action":           action,
		"resourceQuantity": quantityDoc(l.Quantity),
	}
	if l.ConformsTo != "" {
		m["resourceConformsTo"] = l.ConformsTo
	}
	if l.Available != nil {
		m["availableQuantity"] = quantityDoc(*l.Available)
	}
	if l.Minimum != nil {
		m["minimumQuantity"] = quantityDoc(*l.Minimum)
	}
	return m
}

// reciprocalIntent is what is wanted in return: money as FEP-0837's example
// writes it (the currency's Wikidata item, unit "one"), credits likewise
// with our credit type, or another resource.
func reciprocalIntent(listingIRI string, r *coopfed.Reciprocal) map[string]any {
	m := map[string]any{"type": "Intent", "id": listingIRI + "#reciprocal", "action": "transfer"}
	switch r.Kind {
	case coopfed.ReciprocalPrice:
		m["resourceConformsTo"] = coopfed.Currencies[r.Price.Currency]
		m["resourceQuantity"] = map[string]any{"hasUnit": "one", "hasNumericalValue": r.Price.Amount}
	case coopfed.ReciprocalCredits:
		m["resourceConformsTo"] = coopfed.CreditsConformsTo
		m["resourceQuantity"] = map[string]any{"hasUnit": "one", "hasNumericalValue": r.Price.Amount}
	default:
		m["resourceConformsTo"] = r.ConformsTo
		m["resourceQuantity"] = quantityDoc(r.Quantity)
		if r.Name != "" {
			m["name"] = r.Name
		}
	}
	return m
}

// listingTags are the hashtags #offer or #need and the category, as
// Mastodon writes Hashtag tags.
func (f *Federation) listingTags(l *coopfed.Listing) []any {
	tags := []any{map[string]any{"type": "Hashtag", "name": "#" + l.Kind, "href": f.iris.MarketURL("kind", l.Kind)}}
	if l.Category != "" && l.Category != l.Kind {
		tags = append(tags, map[string]any{"type": "Hashtag", "name": "#" + l.Category, "href": f.iris.MarketURL("category", l.Category)})
	}
	return tags
}

// ListingHeadline is the one line that says what a listing is about, for
// people: "Offer: 200 kg organic flour, 1.20 EUR/kg, Leeds, until 12 Dec".
func ListingHeadline(l *coopfed.Listing) string {
	kind := "Offer"
	if l.Kind == coopfed.ListingNeed {
		kind = "Need"
	}
	parts := []string{l.Amount().String() + " " + l.Title}
	if r := l.Reciprocal; r != nil {
		price := r.String()
		if l.UnitBased && r.Kind != coopfed.ReciprocalResource {
			switch {
			case l.Quantity.Unit == "one" && l.Quantity.Value == 1:
				price += " each"
			case l.Quantity.Value == 1:
				price += "/" + strings.TrimPrefix(l.Quantity.String(), "1 ")
			default:
				price += " per " + l.Quantity.String()
			}
		}
		parts = append(parts, price)
	} else if l.Kind == coopfed.ListingOffer {
		parts = append(parts, "free")
	}
	if l.Place != nil && l.Place.Name != "" {
		parts = append(parts, l.Place.Name)
	}
	if l.ValidUntil != nil {
		layout := "2 Jan"
		if l.ValidUntil.UTC().Year() != l.Published.UTC().Year() {
			layout = "2 Jan 2006"
		}
		parts = append(parts, "until "+l.ValidUntil.UTC().Format(layout))
	}
	if l.State == coopfed.ListingClosed {
		parts = append(parts, "closed")
	}
	return kind + ": " + strings.Join(parts, ", ")
}

// listingContent is the HTML a Mastodon reader sees: the headline, the
// description, a link to the listing and its hashtags.
func (f *Federation) listingContent(l *coopfed.Listing) string {
	var b strings.Builder
	b.WriteString("<p>" + html.EscapeString(ListingHeadline(l)) + "</p>")
	b.WriteString(sanitize.Text(l.Description))
	iri := html.EscapeString(l.IRI)
	b.WriteString(`<p><a href="` + iri + `">` + iri + `</a></p><p>`)
	for i, t := range f.listingTags(l) {
		tag := t.(map[string]any)
		if i > 0 {
			b.WriteString(" ")
		}
		name := strings.TrimPrefix(tag["name"].(string), "#")
		b.WriteString(`<a href="` + html.EscapeString(tag["href"].(string)) + `" class="mention hashtag" rel="tag">#<span>` + html.EscapeString(name) + `</span></a>`)
	}
	b.WriteString("</p>")
	return b.String()
}

// --- publishing ---

// PublishListing validates and stores a coop's new listing and sends it to
// the coop's followers as Create(Note), in one transaction; then tells the
// coops of this instance of the listings it fits.
func (f *Federation) PublishListing(ctx context.Context, c *coopfed.Coop, l *coopfed.Listing) error {
	l.CoopID, l.ActorIRI, l.State = c.ID, f.iris.Coop(c.Name), coopfed.ListingOpen
	l.Title, l.Category = strings.TrimSpace(l.Title), coopfed.NormalizeCategory(l.Category)
	if err := l.ValidateAt(f.now()); err != nil {
		return err
	}
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		l.IRI = f.iris.Listing(f.newID())
		l.Published = tx.Now()
		if err := tx.InsertListing(l); err != nil {
			return err
		}
		aud, err := f.listingAudience(tx, c, l, true)
		if err != nil {
			return err
		}
		l.Audience = aud.iris
		create := f.wrap("Create", f.iris.Activity(f.newID()), l.ActorIRI, f.listingNote(c, l), []string{PublicIRI}, append([]string{f.iris.CoopFollowers(c.Name)}, aud.iris...), l.Published)
		create["@context"] = listingContext
		if a := audienceValue(aud.iris); a != nil {
			create["audience"] = a
		}
		if _, err := f.sendToFollowersAnd(tx, c, create, l.IRI, true, aud.inboxes); err != nil {
			return err
		}
		for _, g := range aud.iris {
			if _, err := tx.AddListingVia(l.ID, g, ""); err != nil {
				return err
			}
		}
		if err := f.relayLocal(tx, c, l, aud.local, create); err != nil {
			return err
		}
		return f.notifyMatches(tx, l)
	})
	if err != nil {
		return err
	}
	f.delivery.wake()
	return nil
}

// EditListing applies change to a coop's own listing, checks the result
// and sends it as Update(Note) to the coop's followers.
func (f *Federation) EditListing(ctx context.Context, c *coopfed.Coop, iri string, change func(l *coopfed.Listing) error) (*coopfed.Listing, error) {
	var out *coopfed.Listing
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		l, err := f.ownListing(tx, c, iri)
		if err != nil {
			return err
		}
		before := l.ValidUntil
		if err := change(l); err != nil {
			return err
		}
		l.Title, l.Category = strings.TrimSpace(l.Title), coopfed.NormalizeCategory(l.Category)
		// An unchanged end may have passed; only a new one must lie ahead.
		check := l.Validate()
		if !sameTime(before, l.ValidUntil) {
			check = l.ValidateAt(tx.Now())
		}
		if check != nil {
			return check
		}
		if err := f.updateListing(tx, c, l); err != nil {
			return err
		}
		out = l
		return nil
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return out, nil
}

func sameTime(a, b *time.Time) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && a.Equal(*b))
}

// CloseListing closes a coop's open listing: it leaves every market that
// holds it (the Update carries closed) but stays at its URL.
func (f *Federation) CloseListing(ctx context.Context, c *coopfed.Coop, iri string) (*coopfed.Listing, error) {
	return f.EditListing(ctx, c, iri, func(l *coopfed.Listing) error {
		if l.State == coopfed.ListingClosed {
			return coopfed.Errorf(coopfed.ECONFLICT, "the listing is already closed")
		}
		l.State = coopfed.ListingClosed
		return nil
	})
}

// ownListing loads a listing the coop may change.
func (f *Federation) ownListing(tx *store.Tx, c *coopfed.Coop, iri string) (*coopfed.Listing, error) {
	l, err := tx.ListingByIRI(iri)
	if err != nil {
		return nil, err
	}
	if l.CoopID != c.ID {
		return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "the listing belongs to another coop")
	}
	if l.Deleted {
		return nil, coopfed.Errorf(coopfed.EGONE, "the listing was deleted")
	}
	return l, nil
}

// updateListing stores a changed local listing, sends the Update and looks
// for matches again (a larger quantity may now fit a need).
func (f *Federation) updateListing(tx *store.Tx, c *coopfed.Coop, l *coopfed.Listing) error {
	now := tx.Now()
	// Why: peers keep only a strictly newer `updated`; two edits within
	// one millisecond must still be ordered.
	if l.Updated != nil && now.UnixMilli() <= l.Updated.UnixMilli() {
		now = l.Updated.Add(time.Millisecond)
	}
	l.Updated = &now
	if err := tx.UpdateListing(l); err != nil {
		return err
	}
	if err := f.sendListingUpdate(tx, c, l, now); err != nil {
		return err
	}
	if l.OpenAt(now) {
		return f.notifyMatches(tx, l)
	}
	return nil
}

// sendListingUpdate sends a changed local listing as Update(Note) to the
// coop's followers and to the groups the listing is in.
func (f *Federation) sendListingUpdate(tx *store.Tx, c *coopfed.Coop, l *coopfed.Listing, now time.Time) error {
	aud, err := f.listingAudience(tx, c, l, false)
	if err != nil {
		return err
	}
	l.Audience = aud.iris
	update := f.wrap("Update", f.iris.Activity(f.newID()), l.ActorIRI, f.listingNote(c, l), []string{PublicIRI}, append([]string{f.iris.CoopFollowers(c.Name)}, aud.iris...), now)
	update["@context"] = listingContext
	if a := audienceValue(aud.iris); a != nil {
		update["audience"] = a
	}
	if _, err := f.sendToFollowersAnd(tx, c, update, l.IRI, false, aud.inboxes); err != nil {
		return err
	}
	return f.relayLocal(tx, c, l, aud.local, update)
}

// DeleteListing deletes a coop's listing: the row becomes a tombstone (the
// IRI answers 410) and a Delete carrying a Tombstone goes to followers, who
// drop it from their market.
func (f *Federation) DeleteListing(ctx context.Context, c *coopfed.Coop, iri string) error {
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		l, err := f.ownListing(tx, c, iri)
		if err != nil {
			return err
		}
		aud, err := f.listingAudience(tx, c, l, false)
		if err != nil {
			return err
		}
		if err := tx.TombstoneListing(l.IRI); err != nil {
			return err
		}
		doc := f.wrap("Delete", f.iris.Activity(f.newID()), l.ActorIRI, f.tombstone(l.IRI, "Note", tx.Now()), []string{PublicIRI}, append([]string{f.iris.CoopFollowers(c.Name)}, aud.iris...), tx.Now())
		if a := audienceValue(aud.iris); a != nil {
			doc["audience"] = a
		}
		if _, err = f.sendToFollowersAnd(tx, c, doc, l.IRI, false, aud.inboxes); err != nil {
			return err
		}
		return f.relayLocal(tx, c, l, aud.local, doc)
	})
	if err != nil {
		return err
	}
	f.delivery.wake()
	return nil
}

// notifyMatches finds the open listings of the other kind that fit l and
// tells the local coop on each side of a match, once per pair.
func (f *Federation) notifyMatches(tx *store.Tx, l *coopfed.Listing) error {
	now := tx.Now()
	cands, err := tx.MatchCandidates(l, now, coopfed.DefaultMatchRadiusKm)
	if err != nil {
		return err
	}
	matched := 0
	for _, c := range cands {
		need, offer := l, c
		if l.Kind == coopfed.ListingOffer {
			need, offer = c, l
		}
		if !coopfed.MatchNeedOffer(need, offer, now, coopfed.DefaultMatchRadiusKm) {
			continue
		}
		for _, side := range []*coopfed.Listing{need, offer} {
			if !side.Local() {
				continue
			}
			n := &coopfed.Notification{CoopID: side.CoopID, Kind: coopfed.NotifyMatch, NeedIRI: need.IRI, OfferIRI: offer.IRI}
			if _, err := tx.AddNotification(n); err != nil {
				return err
			}
		}
		if matched++; matched >= maxMatchNotifications {
			break
		}
	}
	return nil
}

// --- incoming listings ---

// listingDoc is an incoming FEP-0837 proposal: a Proposal (Mitra) or a
// Note carrying the FEP properties (coopfed).
type listingDoc struct {
	ID           string          `json:"id"`
	Type         types           `json:"type"`
	Purpose      string          `json:"purpose"`
	AttributedTo refs            `json:"attributedTo"`
	Name         langString      `json:"name"`
	Content      langString      `json:"content"`
	Published    string          `json:"published"`
	Updated      string          `json:"updated"`
	EndTime      string          `json:"endTime"`
	Closed       closedFlag      `json:"closed"`
	Location     json.RawMessage `json:"location"`
	Publishes    *intentDoc      `json:"publishes"`
	Reciprocal   *intentDoc      `json:"reciprocal"`
	UnitBased    json.RawMessage `json:"unitBased"`
	Tag          tagList         `json:"tag"`
	Attachment   json.RawMessage `json:"attachment"`
}

type intentDoc struct {
	ID                 string      `json:"id"`
	Action             string      `json:"action"`
	Name               langString  `json:"name"`
	ResourceConformsTo refs        `json:"resourceConformsTo"`
	ResourceQuantity   *measureDoc `json:"resourceQuantity"`
	AvailableQuantity  *measureDoc `json:"availableQuantity"`
	MinimumQuantity    *measureDoc `json:"minimumQuantity"`
}

type measureDoc struct {
	HasUnit           string          `json:"hasUnit"`
	HasNumericalValue json.RawMessage `json:"hasNumericalValue"`
}

type placeDoc struct {
	Name      langString      `json:"name"`
	Latitude  json.RawMessage `json:"latitude"`
	Longitude json.RawMessage `json:"longitude"`
}

// listingTypes are the object types a listing may arrive as.
var listingTypes = map[string]bool{"Note": true, "Proposal": true, "Article": true, "Page": true}

// isListing reports whether a decoded object is an FEP-0837 proposal: a
// purpose of offer or request and a primary intent. A Mastodon status,
// hashtags or not, has neither.
func (d *listingDoc) isListing() bool {
	return listingTypes[d.Type.Main()] && coopfed.KindOfPurpose(d.Purpose) != "" && d.Publishes != nil
}

// decodeListing decodes an activity's object as a listing. It reports
// false, with no error, for an object that is not one.
func decodeListing(raw json.RawMessage) (*listingDoc, bool) {
	// Every listing names its purpose and what it publishes; most objects
	// (plain notes) have neither, and need no second decode.
	if !bytes.Contains(raw, []byte(`"purpose"`)) || !bytes.Contains(raw, []byte(`"publishes"`)) {
		return nil, false
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var items []json.RawMessage
		if decodeJSON(raw, &items) != nil || len(items) != 1 {
			return nil, false
		}
		raw = bytes.TrimSpace(items[0])
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	var d listingDoc
	if decodeJSON(raw, &d) != nil || !d.isListing() {
		return nil, false
	}
	return &d, true
}

// number reads a quantity or coordinate sent as a JSON number or as a
// numeric string; NaN, infinities and absurd magnitudes are refused.
func number(raw json.RawMessage) (float64, error) {
	raw = bytes.TrimSpace(raw)
	var s string
	if len(raw) > 0 && raw[0] == '"' {
		if err := decodeJSON(raw, &s); err != nil {
			return 0, err
		}
	} else {
		s = string(raw)
	}
	return coopfed.ParseQuantityValue(s)
}

// coordinate reads a latitude or longitude: a number or numeric string,
// negative allowed; the range is Validate's to check.
func coordinate(raw json.RawMessage) (*float64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := decodeJSON(raw, &s); err != nil {
			return nil, err
		}
	}
	v, err := coopfed.ParseCoordinate(s)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

func (m *measureDoc) quantity(field string) (coopfed.Quantity, error) {
	q := coopfed.Quantity{Unit: strings.TrimSpace(m.HasUnit), Value: 1}
	// FEP-0837: without a value, any amount may be asked for; we count
	// the lot as one.
	if len(bytes.TrimSpace(m.HasNumericalValue)) > 0 && string(bytes.TrimSpace(m.HasNumericalValue)) != "null" {
		v, err := number(m.HasNumericalValue)
		if err != nil {
			return q, coopfed.Errorf(coopfed.EINVALID, "listing %s: %s", field, coopfed.ErrorMessage(err))
		}
		q.Value = v
	}
	return q, nil
}

// listing converts an incoming proposal to a remote Listing and validates
// it. Refusals are EINVALID without field names, so the inbox answers 400.
// Its payment links are read as remotePaymentLinks reads them (loopback
// http allowed with allowPrivate, as in tests).
func (d *listingDoc) listing(actorIRI string, now time.Time, allowPrivate bool) (*coopfed.Listing, error) {
	l := &coopfed.Listing{IRI: d.ID, ActorIRI: actorIRI, Kind: coopfed.KindOfPurpose(d.Purpose), State: coopfed.ListingOpen,
		PaymentLinks: remotePaymentLinks(d.Attachment, allowPrivate)}
	content := sanitize.PlainText(sanitize.HTML(string(d.Content)))
	l.Title = strings.TrimSpace(sanitize.PlainText(string(d.Name)))
	if l.Title == "" {
		// A proposal without a name is titled by its first line.
		first, _, _ := strings.Cut(strings.TrimSpace(content), "\n")
		l.Title = truncateRunes(strings.TrimSpace(first), coopfed.MaxListingTitle)
	}
	if l.Title == "" {
		// FEP-0837's minimal proposal has neither name nor content.
		l.Title = "Untitled " + l.Kind
	}
	l.Description = truncateRunes(content, coopfed.MaxListingDescription)
	for _, h := range d.Tag.Hashtags() {
		c := coopfed.NormalizeCategory(h)
		if c != "offer" && c != "need" && c != "request" && coopfed.ValidCategory(c) {
			l.Category = c
			break
		}
	}
	p := d.Publishes
	if p.ResourceQuantity == nil {
		return nil, coopfed.Errorf(coopfed.EINVALID, "listing: publishes has no resourceQuantity")
	}
	var err error
	if l.Quantity, err = p.ResourceQuantity.quantity("resourceQuantity"); err != nil {
		return nil, err
	}
	if p.AvailableQuantity != nil {
		q, err := p.AvailableQuantity.quantity("availableQuantity")
		if err != nil {
			return nil, err
		}
		l.Available = &q
	}
	if p.MinimumQuantity != nil {
		q, err := p.MinimumQuantity.quantity("minimumQuantity")
		if err != nil {
			return nil, err
		}
		l.Minimum = &q
	}
	l.ConformsTo = p.ResourceConformsTo.First()
	if r := d.Reciprocal; r != nil && r.ResourceQuantity != nil {
		q, err := r.ResourceQuantity.quantity("reciprocal")
		if err != nil {
			return nil, err
		}
		l.Reciprocal = reciprocalOf(r, q, amountText(r.ResourceQuantity.HasNumericalValue, q.Value))
	}
	var unitBased bool
	if decodeJSON(d.UnitBased, &unitBased) == nil {
		l.UnitBased = unitBased
	}
	if place, err := placeOf(d.Location); err != nil {
		return nil, err
	} else {
		l.Place = place
	}
	if t := parseTime(d.EndTime); !t.IsZero() {
		l.ValidUntil = &t
	}
	// closed is a time (ours, Mastodon's) or true; a time still ahead
	// is a deadline, as Pleroma writes it, which endTime already covers.
	if d.Closed.Set && (d.Closed.At.IsZero() || !d.Closed.At.After(now)) {
		l.State = coopfed.ListingClosed
	}
	l.Published = parseTime(d.Published)
	if l.Published.IsZero() {
		l.Published = now
	}
	if u := parseTime(d.Updated); !u.IsZero() {
		l.Updated = &u
	}
	if err := l.Validate(); err != nil {
		return nil, coopfed.Errorf(coopfed.EINVALID, "listing: %s", fieldProblems(err))
	}
	return l, nil
}

// reciprocalOf reads a reciprocal intent: money when its type is a
// currency we know, credits, else another resource. One without a type
// says nothing we can show and is left out.
func reciprocalOf(r *intentDoc, q coopfed.Quantity, amount string) *coopfed.Reciprocal {
	conforms := r.ResourceConformsTo.First()
	if cur := coopfed.CurrencyOf(conforms); cur != "" && coopfed.ValidAmount(amount) {
		return &coopfed.Reciprocal{Kind: coopfed.ReciprocalPrice, Price: coopfed.Price{Amount: amount, Currency: cur}}
	}
	if conforms == coopfed.CreditsConformsTo && coopfed.ValidAmount(amount) {
		return &coopfed.Reciprocal{Kind: coopfed.ReciprocalCredits, Price: coopfed.Price{Amount: amount}}
	}
	if conforms == "" {
		return nil
	}
	return &coopfed.Reciprocal{Kind: coopfed.ReciprocalResource, ConformsTo: conforms, Name: truncateRunes(sanitize.PlainText(string(r.Name)), coopfed.MaxListingTitle), Quantity: q}
}

// amountText keeps a money amount as the peer wrote it ("1.20" stays
// "1.20") when it is plain decimal text, else writes the parsed value.
func amountText(raw json.RawMessage, v float64) string {
	var s string
	if decodeJSON(raw, &s) == nil && coopfed.ValidAmount(strings.TrimSpace(s)) {
		return strings.TrimSpace(s)
	}
	return coopfed.FormatNumber(v)
}

// placeOf reads location: a Place object, or an array whose first entry is
// one. Anything else (a bare IRI) gives no place.
func placeOf(raw json.RawMessage) (*coopfed.Place, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var items []json.RawMessage
		if decodeJSON(raw, &items) != nil || len(items) == 0 {
			return nil, nil
		}
		raw = bytes.TrimSpace(items[0])
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, nil
	}
	var p placeDoc
	if decodeJSON(raw, &p) != nil {
		return nil, nil
	}
	lat, err := coordinate(p.Latitude)
	if err != nil {
		return nil, coopfed.Errorf(coopfed.EINVALID, "listing: latitude: %s", coopfed.ErrorMessage(err))
	}
	lon, err := coordinate(p.Longitude)
	if err != nil {
		return nil, coopfed.Errorf(coopfed.EINVALID, "listing: longitude: %s", coopfed.ErrorMessage(err))
	}
	place := &coopfed.Place{Name: truncateRunes(sanitize.PlainText(string(p.Name)), coopfed.MaxPlaceName), Latitude: lat, Longitude: lon}
	place.Name = strings.Join(strings.Fields(place.Name), " ")
	if place.Name == "" && lat == nil && lon == nil {
		return nil, nil
	}
	return place, nil
}

// fieldProblems writes a validation error's fields as one sentence.
func fieldProblems(err error) string {
	var e *coopfed.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return coopfed.ErrorMessage(err)
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return strings.Join(parts, "; ")
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// --- the object kind ---

// marketKind takes incoming listings into the market.
type marketKind struct{ f *Federation }

func init() {
	registerObjectKind(func(f *Federation) objectKind { return &marketKind{f: f} })
}

var (
	_ objectKind    = (*marketKind)(nil)
	_ followEnder   = (*marketKind)(nil)
	_ followStarter = (*marketKind)(nil)
)

// incomingListing decodes and checks the listing of a Create or Update.
func (k *marketKind) incomingListing(in *incoming) (*coopfed.Listing, bool, error) {
	d, ok := decodeListing(in.act.Object)
	if !ok {
		return nil, false, nil
	}
	// Why: a listing is published by its author; one attributed to
	// someone else (or to nobody) cannot be the signer's to publish.
	if !d.AttributedTo.Has(in.signer.IRI) {
		return nil, true, coopfed.Errorf(coopfed.EFORBIDDEN, "listing is not attributed to the actor")
	}
	l, err := d.listing(in.signer.IRI, in.f.now(), in.f.allowPrivate)
	return l, true, err
}

func (k *marketKind) check(ctx context.Context, in *incoming, op string) (bool, error) {
	l, ok, err := k.incomingListing(in)
	if !ok || err != nil {
		return ok && err == nil, err
	}
	in.listing = l // decoded once; apply uses it
	// Why: a listing belongs to the actor that first published it; another
	// actor of the same server may not take it over with an Update or a
	// Create of the same id, and no peer may touch a local listing.
	if cur, err := in.f.store.ListingByIRI(ctx, l.IRI); err == nil && (cur.Local() || cur.ActorIRI != in.signer.IRI) {
		return false, coopfed.Errorf(coopfed.EFORBIDDEN, "only the owner may change a listing")
	} else if err != nil && coopfed.ErrorCode(err) != coopfed.ENOTFOUND {
		return false, err
	}
	return true, nil
}

func (k *marketKind) apply(ctx context.Context, in *incoming, op string) error {
	l := in.listing
	// Why: the market holds the listings of actors a local coop follows;
	// anyone else's would let strangers write into it.
	coops, err := in.tx.CoopsFollowing(in.signer.IRI)
	if err != nil || len(coops) == 0 {
		return err
	}
	if cur, err := in.tx.ListingByIRI(l.IRI); err == nil && (cur.Local() || cur.ActorIRI != in.signer.IRI) {
		return coopfed.Errorf(coopfed.EFORBIDDEN, "only the owner may change a listing")
	}
	wrote, err := in.tx.PutRemoteListing(l)
	if err != nil || !wrote || !l.OpenAt(in.tx.Now()) {
		return err
	}
	return in.f.notifyMatches(in.tx, l)
}

func (k *marketKind) deleted(ctx context.Context, in *incoming) error {
	if in.objectID == in.signer.IRI {
		_, err := in.tx.DeleteActorListings(in.signer.IRI)
		return err
	}
	if _, err := in.tx.DeleteRemoteListing(in.objectID, in.signer.IRI); err != nil {
		return err
	}
	// A group or relay may delete its Announce rather than undo it.
	if _, err := in.tx.DropViaByAnnounce(in.signer.IRI, in.objectID); err != nil && coopfed.ErrorCode(err) != coopfed.ENOTFOUND {
		return err
	}
	return nil
}

// followEnded drops an actor's listings from the market once no local coop
// follows it, unless a group or relay brought them; when the actor is a
// group or relay our last coop left, what came only through it goes.
func (k *marketKind) followEnded(ctx context.Context, ch followChange) error {
	coops, err := ch.tx.CoopsFollowing(ch.actorIRI)
	if err != nil || len(coops) > 0 {
		return err
	}
	if _, err := ch.tx.DropGroupVias(ch.actorIRI); err != nil {
		return err
	}
	_, err = ch.tx.PruneActorListings(ch.actorIRI)
	return err
}

// followStarted backfills the open listings of a newly followed actor
// from its outbox, in the background. The work ends with ctx (the
// instance's, cancelled at shutdown); what it stored by then is kept, each
// listing in its own transaction.
func (k *marketKind) followStarted(ctx context.Context, coopID int64, actorIRI string) {
	if ctx.Err() != nil {
		return
	}
	go func() {
		n, err := k.f.BackfillListings(ctx, actorIRI)
		if err != nil && ctx.Err() == nil {
			k.f.log.Warn("market backfill failed", "actor", actorIRI, "err", err)
			return
		}
		k.f.log.Debug("market backfill", "actor", actorIRI, "listings", n)
	}()
}

// outboxPage is the part of an outbox or outbox page we read.
type outboxPage struct {
	Type         types             `json:"type"`
	First        json.RawMessage   `json:"first"`
	Next         refs              `json:"next"`
	OrderedItems []json.RawMessage `json:"orderedItems"`
	Items        []json.RawMessage `json:"items"`
}

// BackfillListings reads a followed actor's outbox (at most
// maxBackfillPages pages, with signed GETs), fetches each listing it
// names (at most maxBackfillListings) so as to see its current state, and
// puts the open ones into the market. For a group, the listings are those
// its Announces carry, each fetched from its origin. It returns how many it
// stored.
func (f *Federation) BackfillListings(ctx context.Context, actorIRI string) (int, error) {
	a, err := f.store.RemoteActor(ctx, actorIRI)
	if err != nil {
		return 0, err
	}
	if a.Outbox == "" || !SameHost(a.Outbox, a.Host) {
		return 0, nil
	}
	group := a.Type == "Group"
	iris, err := f.outboxListingIRIs(ctx, a, group)
	if err != nil {
		return 0, err
	}
	stored := 0
	for _, iri := range iris {
		if ctx.Err() != nil {
			return stored, ctx.Err()
		}
		var ok bool
		if group {
			ok, err = f.backfillGroupListing(ctx, a, iri)
		} else {
			ok, err = f.backfillListing(ctx, a, iri)
		}
		if err != nil {
			f.log.Debug("market backfill: listing skipped", "listing", iri, "err", err)
			continue
		}
		if ok {
			stored++
		}
	}
	return stored, nil
}

// outboxListingIRIs walks the outbox pages and returns the ids of the
// listings its Create and Update activities carry (for a group, those its
// Announces of them carry), newest first, once each.
func (f *Federation) outboxListingIRIs(ctx context.Context, a *coopfed.RemoteActor, group bool) ([]string, error) {
	body, _, err := f.FetchJSON(ctx, a.Outbox)
	if err != nil {
		return nil, err
	}
	var page outboxPage
	if err := decodeJSON(body, &page); err != nil {
		return nil, coopfed.Errorf(coopfed.EINVALID, "outbox: %v", err)
	}
	seen := map[string]bool{}
	var out []string
	collect := func(p *outboxPage) {
		for _, raw := range append(p.OrderedItems, p.Items...) {
			var act activity
			if decodeJSON(raw, &act) != nil {
				continue
			}
			inner := act.Object
			if group {
				// A group's Announce carries its member's activity; a
				// Remove or Delete seen first (newer) takes the object
				// out before its Create is reached.
				if act.Type.Is("Remove") || act.Type.Is("Delete") {
					if id, _, err := objectRef(act.Object); err == nil {
						seen[id] = true
					}
					continue
				}
				if !act.Type.Is("Announce") {
					continue
				}
				ann, ok := unwrapAnnounce(act.Object)
				if !ok || ann.op == "Delete" {
					if ok {
						seen[ann.objectIRI] = true
					}
					continue
				}
				if !seen[ann.objectIRI] && !f.iris.IsLocal(ann.objectIRI) {
					seen[ann.objectIRI] = true
					if len(out) < maxBackfillListings {
						out = append(out, ann.objectIRI)
					}
				}
				continue
			}
			if !(act.Type.Is("Create") || act.Type.Is("Update")) {
				continue
			}
			id, obj, err := objectRef(inner)
			// Why: an outbox speaks for its own server only.
			if err != nil || id == "" || seen[id] || !SameHost(id, a.Host) {
				continue
			}
			if obj != nil {
				if _, ok := decodeListing(inner); !ok {
					continue
				}
			}
			seen[id] = true
			if len(out) < maxBackfillListings {
				out = append(out, id)
			}
		}
	}
	collect(&page)
	next := ""
	if first := bytes.TrimSpace(page.First); len(first) > 0 {
		if first[0] == '{' {
			var p outboxPage
			if decodeJSON(first, &p) == nil {
				collect(&p)
				next = p.Next.First()
			}
		} else {
			var r refs
			if decodeJSON(first, &r) == nil {
				next = r.First()
			}
		}
	} else {
		next = page.Next.First()
	}
	for n := 0; n < maxBackfillPages && next != "" && len(out) < maxBackfillListings; n++ {
		if !SameHost(next, a.Host) {
			break
		}
		body, _, err := f.FetchJSON(ctx, next)
		if err != nil {
			return out, nil // what was read so far is still worth having
		}
		var p outboxPage
		if decodeJSON(body, &p) != nil {
			break
		}
		collect(&p)
		next = p.Next.First()
	}
	return out, nil
}

// backfillGroupListing fetches one listing a group announced from its
// origin and stores it, open, as having come through the group.
func (f *Federation) backfillGroupListing(ctx context.Context, group *coopfed.RemoteActor, iri string) (bool, error) {
	if blocked, err := f.announcedBlocked(ctx, announcedActivity{objectIRI: iri}); err != nil || blocked {
		return false, err
	}
	l, err := f.fetchOriginListing(ctx, iri)
	if err != nil {
		return false, err
	}
	stored := false
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		coops, err := tx.CoopsFollowing(group.IRI)
		if err != nil || len(coops) == 0 {
			return err // the membership ended meanwhile
		}
		if err := f.storeMarketListing(tx, l, group.IRI, ""); err != nil {
			return err
		}
		_, err = tx.ListingByIRI(l.IRI)
		stored = err == nil
		return nil
	})
	return stored, err
}

// backfillListing fetches one listing and stores it when it is open (or
// refreshes a stored copy that it closes).
func (f *Federation) backfillListing(ctx context.Context, a *coopfed.RemoteActor, iri string) (bool, error) {
	body, final, err := f.FetchJSON(ctx, iri)
	if err != nil {
		return false, err
	}
	if jsonDepth(body) > maxJSONDepth {
		return false, coopfed.Errorf(coopfed.EINVALID, "listing nested too deeply")
	}
	d, ok := decodeListing(body)
	// Why: a fetched document speaks for itself only if its id is the URL
	// it came from, and a listing belongs to its author.
	if !ok || d.ID != iri || stripFragment(final) != stripFragment(iri) || !d.AttributedTo.Has(a.IRI) {
		return false, coopfed.Errorf(coopfed.EINVALID, "not a listing of %s", a.IRI)
	}
	l, err := d.listing(a.IRI, f.now(), f.allowPrivate)
	if err != nil {
		return false, err
	}
	wrote := false
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		coops, err := tx.CoopsFollowing(a.IRI)
		if err != nil || len(coops) == 0 {
			return err // the follow ended meanwhile
		}
		cur, err := tx.ListingByIRI(l.IRI)
		if err == nil && (cur.Local() || cur.ActorIRI != a.IRI) {
			return nil
		}
		if err != nil && !l.OpenAt(tx.Now()) {
			return nil // only open listings enter the market
		}
		if wrote, err = tx.PutRemoteListing(l); err != nil || !wrote || !l.OpenAt(tx.Now()) {
			return err
		}
		return f.notifyMatches(tx, l)
	})
	return wrote, err
}
