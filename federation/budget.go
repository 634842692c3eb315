package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/coopfed/coopfed/store"
)

// Participatory budgets (FEDERATION.md, "Budgets"). The round's coop is
// the authority on its round: it publishes the round as a Note with
// extension terms (Create when it opens, Update when a bucket joins and
// when it closes, with every bucket and, once closed, who allocated what),
// and followers keep a copy that shows what it says. A coop that follows
// the round's coop proposes a bucket with Create(Page) in the round's
// context; a member of an eligible remote coop allocates through their
// own coop, which sends Create(Allocation) on their behalf.

// budgetContext is the context of rounds, buckets and allocations.
var budgetContext = []any{
	ContextActivityStreams,
	map[string]any{
		"coopfed":        NamespaceCoopfed,
		"Allocation":     "coopfed:Allocation",
		"budgetModel":    "coopfed:budgetModel",
		"pot":            "coopfed:pot",
		"currency":       "coopfed:currency",
		"decimals":       "coopfed:decimals",
		"share":          "coopfed:share",
		"allocators":     "coopfed:allocators",
		"allocatorCoops": "coopfed:allocatorCoops",
		"members":        "coopfed:members",
		"coop":           map[string]any{"@id": "coopfed:coop", "@type": "@id"},
		"proposers":      map[string]any{"@id": "coopfed:proposers", "@type": "@id"},
		"roundState":     "coopfed:roundState",
		"votingEndTime":  "coopfed:votingEndTime",
		"fundingMotion":  map[string]any{"@id": "coopfed:fundingMotion", "@type": "@id"},
		"buckets":        "coopfed:buckets",
		"description":    "coopfed:description",
		"what":           "coopfed:what",
		"why":            "coopfed:why",
		"amountAsked":    "coopfed:amountAsked",
		"neededBy":       "coopfed:neededBy",
		"allocated":      "coopfed:allocated",
		"votes":          "coopfed:votes",
		"funded":         "coopfed:funded",
		"fundedAmount":   "coopfed:fundedAmount",
		"allocations":    "coopfed:allocations",
		"allocator":      map[string]any{"@id": "coopfed:allocator", "@type": "@id"},
		"amount":         "coopfed:amount",
		"closed":         "as:closed",
	},
}

// ObjectBucket is the stored type of a local coop's bucket Page.
const ObjectBucket = "Bucket"

func isoTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// roundContent states a round in words for servers that show only text.
func roundContent(r *coopfed.BudgetRound, buckets []*coopfed.Bucket) string {
	var b strings.Builder
	b.WriteString("<p><strong>" + html.EscapeString(r.Title) + "</strong></p>")
	if r.Description != "" {
		b.WriteString(sanitize.Text(r.Description))
	}
	rules := fmt.Sprintf("Participatory budget of %s. Buckets are proposed until %s.", r.Amount(r.Pot), r.ClosesAt.UTC().Format("2 Jan 2006 15:04 UTC"))
	if r.Model == coopfed.BudgetAllocate {
		rules += fmt.Sprintf(" Each of %d allocating members spreads a share of %s over the buckets.", r.Allocators, r.Amount(r.Share))
	} else {
		rules += fmt.Sprintf(" Then members vote on the buckets until %s, and buckets are funded in order of votes.", r.VotingClosesAt.UTC().Format("2 Jan 2006 15:04 UTC"))
	}
	b.WriteString(sanitize.Text(rules))
	if r.State == coopfed.RoundClosed {
		var funded []string
		var total int64
		for _, bk := range buckets {
			if bk.Funded {
				funded = append(funded, bk.Title+" ("+r.Amount(bk.FundedAmount)+")")
				total += bk.FundedAmount
			}
		}
		text := "Closed: no bucket was funded."
		if len(funded) > 0 {
			text = fmt.Sprintf("Closed: %s funded, %s.", r.Amount(total), strings.Join(funded, ", "))
		}
		b.WriteString(sanitize.Text(text))
	}
	b.WriteString(`<p><a href="` + html.EscapeString(r.IRI) + `">` + html.EscapeString(r.IRI) + `</a></p>`)
	return b.String()
}

// bucketEntry is a bucket as the round's document lists it.
func bucketEntry(b *coopfed.Bucket, allocations []*coopfed.Allocation, closed bool) map[string]any {
	e := map[string]any{
		"id": b.IRI, "type": "Page", "attributedTo": b.AuthorIRI, "name": b.Title, "what": b.What, "why": b.Why,
		"amountAsked": b.Asked, "allocated": b.Allocated, "votes": b.Votes, "funded": b.Funded, "fundedAmount": b.FundedAmount,
	}
	if !b.NeededBy.IsZero() {
		e["neededBy"] = isoTime(b.NeededBy)
	}
	if att := paymentAttachment(b.PaymentLinks); att != nil {
		e["attachment"] = att
	}
	if closed {
		// Why: who allocated is public once the round closes, so every
		// instance can check the funded amounts against the allocations.
		list := []any{}
		for _, a := range allocations {
			if a.BucketID == b.ID {
				list = append(list, map[string]any{"allocator": a.AllocatorIRI, "coop": a.CoopIRI, "amount": a.Amount})
			}
		}
		e["allocations"] = list
	}
	return e
}

// paymentAttachment writes payment links as FEP-0ea0 Links, as on actors.
func paymentAttachment(links []coopfed.PaymentLink) []any {
	if len(links) == 0 {
		return nil
	}
	att := make([]any, 0, len(links))
	for _, l := range links {
		att = append(att, map[string]any{"type": "Link", "name": l.Name, "href": l.Href, "rel": "payment"})
	}
	return att
}

// roundNote builds the Note of a round with its buckets. updated, when
// set, is written as `updated` (an Update carries it).
func (f *Federation) roundNote(r *coopfed.BudgetRound, buckets []*coopfed.Bucket, allocations []*coopfed.Allocation, updated *time.Time) map[string]any {
	closed := r.State == coopfed.RoundClosed
	entries := make([]any, 0, len(buckets))
	for _, b := range buckets {
		entries = append(entries, bucketEntry(b, allocations, closed))
	}
	coops := make([]any, 0, len(r.AllocatorCoops))
	for _, a := range r.AllocatorCoops {
		coops = append(coops, map[string]any{"coop": a.Coop, "members": a.Members})
	}
	followers := strings.TrimSuffix(r.OwnerIRI, "/") + "/followers"
	n := map[string]any{
		"id": r.IRI, "type": "Note", "attributedTo": r.OwnerIRI, "name": r.Title, "content": roundContent(r, buckets),
		"url": r.IRI, "published": isoTime(r.Created), "endTime": isoTime(r.ClosesAt),
		"to": []string{PublicIRI}, "cc": []string{followers},
		"description": r.Description, "budgetModel": r.Model, "pot": r.Pot, "currency": r.Currency, "decimals": r.Decimals, "share": r.Share, "allocators": r.Allocators,
		"allocatorCoops": coops, "proposers": followers, "roundState": r.State, "buckets": entries,
	}
	if r.Model == coopfed.BudgetMotion {
		n["votingEndTime"] = isoTime(r.VotingClosesAt)
	}
	if r.MotionIRI != "" {
		n["fundingMotion"] = r.MotionIRI
	}
	if closed {
		n["closed"] = isoTime(r.ClosedAt)
	}
	if updated != nil {
		n["updated"] = isoTime(*updated)
	}
	return n
}

// RoundDocument returns the Note served at a round's IRI.
func (f *Federation) RoundDocument(ctx context.Context, r *coopfed.BudgetRound) (map[string]any, error) {
	buckets, err := f.store.Buckets(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	var allocations []*coopfed.Allocation
	if r.State == coopfed.RoundClosed {
		if allocations, err = f.store.Allocations(ctx, r.ID); err != nil {
			return nil, err
		}
	}
	var upd *time.Time
	if r.Updated.After(r.Created) {
		upd = &r.Updated
	}
	return withContext(f.roundNote(r, buckets, allocations, upd), budgetContext), nil
}

// bucketPage builds the Page of a bucket: readable as it is on Mastodon
// (name, summary, content with the round's link), with the extension
// terms for coopfed.
func (f *Federation) bucketPage(r *coopfed.BudgetRound, b *coopfed.Bucket, updated bool) map[string]any {
	summary := fmt.Sprintf("Asks %s from the participatory budget \u201c%s\u201d", r.Amount(b.Asked), r.Title)
	if !b.NeededBy.IsZero() {
		summary += " by " + b.NeededBy.UTC().Format("2 Jan 2006")
	}
	var content strings.Builder
	content.WriteString("<p><strong>" + html.EscapeString(b.Title) + "</strong></p>")
	if b.What != "" {
		content.WriteString(sanitize.Text("What: " + b.What))
	}
	if b.Why != "" {
		content.WriteString(sanitize.Text("Why: " + b.Why))
	}
	content.WriteString(sanitize.Text(summary + "."))
	content.WriteString(`<p>Round: <a href="` + html.EscapeString(r.IRI) + `">` + html.EscapeString(r.IRI) + `</a></p>`)
	p := map[string]any{
		"id": b.IRI, "type": "Page", "attributedTo": b.AuthorIRI, "name": b.Title, "summary": summary, "content": content.String(),
		"url": b.IRI, "context": r.IRI, "inReplyTo": r.IRI, "published": isoTime(b.Created),
		"to": []string{PublicIRI}, "cc": []string{strings.TrimSuffix(b.AuthorIRI, "/") + "/followers", r.OwnerIRI},
		"tag":  []any{map[string]any{"type": "Mention", "href": r.OwnerIRI}},
		"what": b.What, "why": b.Why, "amountAsked": b.Asked, "currency": r.Currency,
	}
	if !b.NeededBy.IsZero() {
		p["neededBy"] = isoTime(b.NeededBy)
	}
	if att := paymentAttachment(b.PaymentLinks); att != nil {
		p["attachment"] = att
	}
	if updated {
		p["updated"] = isoTime(b.Updated)
	}
	return p
}

// BucketDocument returns the Page served at a local bucket's IRI.
func (f *Federation) BucketDocument(ctx context.Context, b *coopfed.Bucket) (map[string]any, error) {
	r, err := f.store.RoundByID(ctx, b.RoundID)
	if err != nil {
		return nil, err
	}
	return withContext(f.bucketPage(r, b, b.Updated.After(b.Created)), budgetContext), nil
}

// allocationDoc is the Create(Allocation) a coop sends for its member.
func (f *Federation) allocationDoc(c *coopfed.Coop, r *coopfed.BudgetRound, a *coopfed.Allocation) map[string]any {
	self := f.iris.Coop(c.Name)
	obj := map[string]any{
		"id": a.ActivityIRI, "type": "Allocation", "attributedTo": self, "allocator": a.AllocatorIRI, "target": a.BucketIRI,
		"context": r.IRI, "amount": a.Amount, "currency": r.Currency, "published": isoTime(a.Created), "to": []string{r.OwnerIRI},
	}
	create := f.wrap("Create", a.ActivityIRI+"/activity", self, obj, []string{r.OwnerIRI}, nil, a.Created)
	create["@context"] = budgetContext
	return create
}

// --- local actions ---

// remoteMembers returns how many members a remote coop has: the
// totalItems of its members collection (FEP-9967 eligibility), which a
// coopfed peer serves beside its actor.
func (f *Federation) remoteMembers(ctx context.Context, coopIRI string) (int64, error) {
	body, _, err := f.FetchJSON(ctx, strings.TrimSuffix(coopIRI, "/")+"/members")
	if err != nil {
		return 0, coopfed.Errorf(coopfed.EUNAVAILABLE, "could not count the members of %s: %s", coopIRI, coopfed.ErrorMessage(err))
	}
	var c struct {
		TotalItems int64 `json:"totalItems"`
	}
	if decodeJSON(body, &c) != nil || c.TotalItems < 0 {
		return 0, coopfed.Errorf(coopfed.EUNAVAILABLE, "%s serves no members collection", coopIRI)
	}
	return c.TotalItems, nil
}

// OpenRound validates and opens a round of coop c: the allocators are
// counted now (the coop's members, and the members of each eligible coop,
// which must follow c), the share fixed, and the round published to the
// followers.
func (f *Federation) OpenRound(ctx context.Context, c *coopfed.Coop, r *coopfed.BudgetRound) error {
	now := f.now()
	r.Normalize()
	r.Decimals = coopfed.CurrencyDecimals(r.Currency)
	if err := r.Validate(now); err != nil {
		return err
	}
	self := f.iris.Coop(c.Name)
	own, err := f.store.CountMembers(ctx, c.ID)
	if err != nil {
		return err
	}
	r.AllocatorCoops = []coopfed.AllocatorCoop{{Coop: self, Members: own}}
	for _, e := range r.EligibleCoops {
		// Why: a coop's members allocate only where the coop follows the
		// round's coop: it received the round, and its vouching is that
		// of a known, signed actor.
		ok, err := f.store.AcceptedFollower(ctx, c.ID, e)
		if err != nil {
			return err
		}
		if !ok {
			return coopfed.FieldErrors(map[string]string{"eligible_coops": e + " does not follow this coop"})
		}
		n, err := f.remoteMembers(ctx, e)
		if err != nil {
			return err
		}
		r.AllocatorCoops = append(r.AllocatorCoops, coopfed.AllocatorCoop{Coop: e, Members: n})
	}
	for _, a := range r.AllocatorCoops {
		r.Allocators += a.Members
	}
	if r.Model == coopfed.BudgetAllocate {
		if r.Allocators == 0 {
			return coopfed.FieldErrors(map[string]string{"eligible_coops": "nobody could allocate: add members first"})
		}
		r.Share, _ = coopfed.EqualShare(r.Pot, r.Allocators)
		if r.Share == 0 {
			return coopfed.FieldErrors(map[string]string{"pot": fmt.Sprintf("the pot is too small for %d allocators", r.Allocators)})
		}
	}
	r.CoopID, r.OwnerIRI, r.State = c.ID, self, coopfed.RoundOpen
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		r.IRI, r.Created = f.iris.Round(f.newID()), tx.Now()
		if err := tx.InsertRound(r); err != nil {
			return err
		}
		note := f.roundNote(r, nil, nil, nil)
		create := f.wrap("Create", f.iris.Activity(f.newID()), self, note, []string{PublicIRI}, note["cc"].([]string), tx.Now())
		create["@context"] = budgetContext
		_, err := f.sendToFollowers(tx, c, create, r.IRI, true)
		return err
	})
	if err != nil {
		return err
	}
	f.delivery.wake()
	return nil
}

// publishRound sends Update(Note) of a local round, with its buckets, to
// its followers and to the coops that proposed buckets or allocate.
func (f *Federation) publishRound(tx *store.Tx, c *coopfed.Coop, r *coopfed.BudgetRound) error {
	buckets, err := tx.Buckets(r.ID)
	if err != nil {
		return err
	}
	var allocations []*coopfed.Allocation
	if r.State == coopfed.RoundClosed {
		if allocations, err = tx.Allocations(r.ID); err != nil {
			return err
		}
	}
	now := tx.Now()
	note := f.roundNote(r, buckets, allocations, &now)
	update := f.wrap("Update", f.iris.Activity(f.newID()), r.OwnerIRI, note, []string{PublicIRI}, note["cc"].([]string), now)
	update["@context"] = budgetContext
	var extra []string
	seen := map[string]bool{r.OwnerIRI: true}
	for _, iri := range append(bucketAuthors(buckets), r.EligibleCoops...) {
		if seen[iri] || f.iris.IsLocal(iri) {
			continue
		}
		seen[iri] = true
		if a, err := tx.RemoteActor(iri); err == nil {
			extra = append(extra, a.DeliveryInbox())
		}
	}
	_, err = f.sendToFollowersAnd(tx, c, update, r.IRI, false, extra)
	return err
}

func bucketAuthors(buckets []*coopfed.Bucket) []string {
	var out []string
	for _, b := range buckets {
		out = append(out, b.AuthorIRI)
	}
	return out
}

// BucketProposal is what a coop proposes to a round.
type BucketProposal struct {
	Title, What, Why string
	Asked            int64
	NeededBy         time.Time
	PaymentLinks     []coopfed.PaymentLink
}

// ProposeBucket proposes a bucket of coop c to a round: c's own round, or
// the round of a coop c follows (known here from its Create). The bucket
// goes to the round's coop as Create(Page).
func (f *Federation) ProposeBucket(ctx context.Context, c *coopfed.Coop, roundIRI string, p BucketProposal) (*coopfed.Bucket, error) {
	r, err := f.store.Round(ctx, roundIRI)
	if err != nil {
		return nil, err
	}
	self := f.iris.Coop(c.Name)
	b := &coopfed.Bucket{RoundID: r.ID, RoundIRI: r.IRI, AuthorIRI: self, Title: p.Title, What: p.What, Why: p.Why, Asked: p.Asked,
		NeededBy: p.NeededBy, PaymentLinks: p.PaymentLinks}
	b.Normalize()
	if err := b.Validate(r); err != nil {
		return nil, err
	}
	if err := f.mayPropose(ctx, c, r); err != nil {
		return nil, err
	}
	if !r.OpenAt(f.now()) {
		return nil, coopfed.Errorf(coopfed.ECONFLICT, "the round is not open for buckets (its deadline was %s)", r.ClosesAt.UTC().Format(time.RFC3339))
	}
	var inbox string
	if !r.Local() {
		a, err := f.Actor(ctx, r.OwnerIRI)
		if err != nil {
			return nil, err
		}
		inbox = a.Inbox
	}
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		b.IRI, b.Created = f.iris.Bucket(f.newID()), tx.Now()
		if err := tx.InsertBucket(b); err != nil {
			return err
		}
		return f.sendBucket(tx, c, r, b, "Create", inbox)
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return b, nil
}

// mayPropose checks that coop c may propose buckets to round r.
func (f *Federation) mayPropose(ctx context.Context, c *coopfed.Coop, r *coopfed.BudgetRound) error {
	if r.CoopID == c.ID {
		return nil
	}
	// Why: buckets come from the round coop's followers, the coops it
	// addressed the round to.
	if r.Local() {
		return coopfed.Errorf(coopfed.EFORBIDDEN, "%s does not follow the round's coop", f.iris.Coop(c.Name))
	}
	fl, err := f.store.FollowingOf(ctx, c.ID, r.OwnerIRI)
	if err != nil || fl.State != coopfed.FollowAccepted {
		return coopfed.Errorf(coopfed.EFORBIDDEN, "%s does not follow the round's coop", f.iris.Coop(c.Name))
	}
	return nil
}

// sendBucket publishes a bucket's Create or Update to the proposer's
// followers and the round's coop (inbox "" when local), and, for a local
// round, the round's Update that lists it.
func (f *Federation) sendBucket(tx *store.Tx, c *coopfed.Coop, r *coopfed.BudgetRound, b *coopfed.Bucket, typ, inbox string) error {
	page := f.bucketPage(r, b, typ == "Update")
	if err := f.storeBucketPage(tx, c, page); err != nil {
		return err
	}
	act := f.wrap(typ, f.iris.Activity(f.newID()), b.AuthorIRI, page, []string{PublicIRI}, page["cc"].([]string), tx.Now())
	act["@context"] = budgetContext
	var extra []string
	if inbox != "" {
		extra = []string{inbox}
	}
	if _, err := f.sendToFollowersAnd(tx, c, act, b.IRI, typ == "Create", extra); err != nil {
		return err
	}
	if r.Local() {
		return f.publishRound(tx, c, r)
	}
	return nil
}

// storeBucketPage keeps a local bucket's Page as an object of its coop.
func (f *Federation) storeBucketPage(tx *store.Tx, c *coopfed.Coop, page map[string]any) error {
	body, err := Marshal(withContext(page, budgetContext))
	if err != nil {
		return err
	}
	o := &store.Object{IRI: page["id"].(string), CoopID: c.ID, Type: ObjectBucket, Content: sanitize.PlainText(page["content"].(string)), JSON: body, Published: tx.Now()}
	if _, err := tx.ObjectByIRI(o.IRI); err == nil {
		return tx.EditObject(o.IRI, o.Content, body)
	}
	return tx.InsertObject(o)
}

// EditBucket changes a bucket of coop c while no allocation funds it and
// its round is open, and sends the Update to the round's coop.
func (f *Federation) EditBucket(ctx context.Context, c *coopfed.Coop, bucketIRI string, p BucketProposal) (*coopfed.Bucket, error) {
	b, err := f.store.Bucket(ctx, bucketIRI)
	if err != nil {
		return nil, err
	}
	// Why: a bucket is its proposer's to change; another coop's is
	// reported missing, as for every object a token does not own.
	if b.AuthorIRI != f.iris.Coop(c.Name) {
		return nil, coopfed.Errorf(coopfed.ENOTFOUND, "bucket not found")
	}
	r, err := f.store.RoundByID(ctx, b.RoundID)
	if err != nil {
		return nil, err
	}
	// Why: a bucket keeps the terms it was given money on; the store
	// checks again inside the transaction.
	if b.Funded || b.Fundable() || r.State != coopfed.RoundOpen {
		return nil, coopfed.Errorf(coopfed.ECONFLICT, "the bucket is funded or its round is closed: it can no longer be changed")
	}
	b.Title, b.What, b.Why, b.Asked, b.NeededBy, b.PaymentLinks = p.Title, p.What, p.Why, p.Asked, p.NeededBy, p.PaymentLinks
	b.Normalize()
	if err := b.Validate(r); err != nil {
		return nil, err
	}
	var inbox string
	if !r.Local() {
		a, err := f.Actor(ctx, r.OwnerIRI)
		if err != nil {
			return nil, err
		}
		inbox = a.Inbox
	}
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.EditBucket(b); err != nil {
			return err
		}
		return f.sendBucket(tx, c, r, b, "Update", inbox)
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return b, nil
}

// Allocate gives amount of a member's share to a bucket. For a round of
// coop c the allocation is recorded here; for a round of another coop in
// which c allocates, it is recorded in the copy and sent to the round's
// coop as Create(Allocation): c vouches for its member.
func (f *Federation) Allocate(ctx context.Context, c *coopfed.Coop, roundIRI, bucketIRI, username string, amount int64) (*coopfed.Allocation, error) {
	r, err := f.store.Round(ctx, roundIRI)
	if err != nil {
		return nil, err
	}
	self := f.iris.Coop(c.Name)
	if r.Model != coopfed.BudgetAllocate {
		return nil, coopfed.Errorf(coopfed.ECONFLICT, "in this round members vote on the buckets; there is nothing to allocate")
	}
	seats := r.Seats(self)
	if seats == 0 {
		return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "the members of %s do not allocate in this round", self)
	}
	b, err := f.store.Bucket(ctx, bucketIRI)
	if err != nil {
		return nil, err
	}
	if b.RoundID != r.ID {
		return nil, coopfed.Errorf(coopfed.ENOTFOUND, "the bucket is not in this round")
	}
	// Why before the owner's inbox is looked up: a refused allocation
	// must not reach out to the network or refresh anything.
	if !r.OpenAt(f.now()) {
		return nil, coopfed.Errorf(coopfed.ECONFLICT, "the round closed for allocations at %s", r.ClosesAt.UTC().Format(time.RFC3339))
	}
	var inbox string
	if !r.Local() {
		a, err := f.Actor(ctx, r.OwnerIRI)
		if err != nil {
			return nil, err
		}
		inbox = a.Inbox
	}
	var al *coopfed.Allocation
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		if !r.OpenAt(tx.Now()) {
			return coopfed.Errorf(coopfed.ECONFLICT, "the round closed for allocations at %s", r.ClosesAt.UTC().Format(time.RFC3339))
		}
		mem, err := tx.Member(c.ID, username)
		if coopfed.ErrorCode(err) == coopfed.ENOTFOUND {
			return coopfed.FieldErrors(map[string]string{"member": "no member named " + username})
		} else if err != nil {
			return err
		}
		al = &coopfed.Allocation{RoundID: r.ID, BucketID: b.ID, BucketIRI: b.IRI, BucketTitle: b.Title, AllocatorIRI: coopfed.MemberIRI(self, mem.Username),
			CoopIRI: self, Amount: amount, Created: tx.Now()}
		spent, err := tx.AllocatorSpent(r.ID, al.AllocatorIRI)
		if err != nil {
			return err
		}
		cur, err := tx.Bucket(b.IRI)
		if err != nil {
			return err
		}
		if err := coopfed.CheckAllocation(r.Share, spent, amount, cur.Asked, cur.Allocated); err != nil {
			return err
		}
		if !r.Local() {
			al.ActivityIRI = f.iris.Allocation(f.newID())
		}
		if _, err := tx.Allocate(al, r.Share, seats); err != nil {
			return err
		}
		if r.Local() {
			return nil
		}
		create := f.allocationDoc(c, r, al)
		_, err = f.send(tx, c, create, al.ActivityIRI, false, []string{inbox})
		return err
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return al, nil
}

// RecordSpend records money paid out for a funded bucket of a round of
// coop c, with a reference; the money moves outside coopfed.
func (f *Federation) RecordSpend(ctx context.Context, c *coopfed.Coop, bucketIRI string, sp *coopfed.Spend) error {
	b, err := f.store.Bucket(ctx, bucketIRI)
	if err != nil {
		return err
	}
	r, err := f.store.RoundByID(ctx, b.RoundID)
	if err != nil {
		return err
	}
	if r.CoopID != c.ID {
		return coopfed.Errorf(coopfed.ENOTFOUND, "bucket not found")
	}
	if !b.Funded {
		return coopfed.Errorf(coopfed.ECONFLICT, "only a funded bucket is paid out")
	}
	sp.Reference, sp.Note = strings.TrimSpace(sp.Reference), strings.TrimSpace(sp.Note)
	if err := sp.Validate(b); err != nil {
		return err
	}
	sp.RoundID, sp.BucketID, sp.BucketTitle = r.ID, b.ID, b.Title
	return f.store.Update(ctx, func(tx *store.Tx) error {
		cur, err := tx.Bucket(b.IRI)
		if err != nil {
			return err
		}
		if err := sp.Validate(cur); err != nil {
			return err
		}
		return tx.InsertSpend(sp)
	})
}

// closeRound ends a round past its deadline: an allocate round is decided
// from its allocations; a motion round opens its funding motion over the
// buckets (or closes with nothing funded when there is no bucket).
func (f *Federation) closeRound(ctx context.Context, tx *store.Tx, c *coopfed.Coop, r *coopfed.BudgetRound) error {
	buckets, err := tx.Buckets(r.ID)
	if err != nil {
		return err
	}
	// A motion round whose vote would already be over (the instance was
	// down through it) closes unfunded rather than hold a vote nobody
	// could take part in.
	if r.Model == coopfed.BudgetMotion && r.State == coopfed.RoundOpen && len(buckets) > 0 && r.VotingClosesAt.After(tx.Now()) {
		return f.openFundingMotion(ctx, tx, c, r, buckets)
	}
	if r.Model == coopfed.BudgetAllocate {
		coopfed.FundAllocated(buckets)
	} else if r.MotionIRI != "" {
		if err := f.countFundingVotes(tx, r, buckets); err != nil {
			return err
		}
		coopfed.FundByVotes(r.Pot, buckets)
	}
	for _, b := range buckets {
		if err := tx.SetBucketFunding(b); err != nil {
			return err
		}
	}
	from := r.State
	r.State, r.ClosedAt = coopfed.RoundClosed, tx.Now()
	if ok, err := tx.SetRoundState(r, from); err != nil || !ok {
		return err
	}
	return f.publishRound(tx, c, r)
}

// fundingOption names a bucket among a funding motion's options: its
// number in the round and title, so two buckets of one title differ.
func fundingOption(i int, b *coopfed.Bucket) string {
	name := fmt.Sprintf("%d. %s", i+1, b.Title)
	if r := []rune(name); len(r) > coopfed.MaxOptionLength {
		name = string(r[:coopfed.MaxOptionLength-1]) + "…"
	}
	return name
}

// openFundingMotion opens the multiple-choice motion of a motion round:
// one option per bucket, each
// member approving the buckets they would fund.
func (f *Federation) openFundingMotion(ctx context.Context, tx *store.Tx, c *coopfed.Coop, r *coopfed.BudgetRound, buckets []*coopfed.Bucket) error {
	// The threshold is the motion machinery's; the funding itself goes by
	// the order of votes (coopfed.FundByVotes), whatever the outcome says.
	m := &coopfed.Motion{CoopID: c.ID, Title: "Funding: " + r.Title, Kind: coopfed.MotionMultiple, OpensAt: tx.Now(), ClosesAt: r.VotingClosesAt, Threshold: 0.5,
		Text: fmt.Sprintf("Approve the buckets you would fund from %s. They are funded in order of votes while the pot lasts. Round: %s", r.Amount(r.Pot), r.IRI)}
	for i, b := range buckets {
		m.Options = append(m.Options, fundingOption(i, b)) // at most MaxMotionOptions: InsertBucket sees to it
	}
	if len(m.Options) < 2 {
		m.Options = append(m.Options, "Fund none")
	}
	if t := []rune(m.Title); len(t) > coopfed.MaxMotionTitle {
		m.Title = string(t[:coopfed.MaxMotionTitle-1]) + "…"
	}
	m.Normalize()
	if err := m.Validate(tx.Now()); err != nil {
		return err
	}
	m.IRI = f.iris.Motion(f.newID())
	if err := tx.CreateMotion(m); err != nil {
		return err
	}
	if err := f.openMotion(tx, c, m); err != nil {
		return err
	}
	r.State, r.MotionIRI = coopfed.RoundVoting, m.IRI
	if ok, err := tx.SetRoundState(r, coopfed.RoundOpen); err != nil || !ok {
		return err
	}
	return f.publishRound(tx, c, r)
}

// countFundingVotes sets each bucket's votes from its funding motion.
func (f *Federation) countFundingVotes(tx *store.Tx, r *coopfed.BudgetRound, buckets []*coopfed.Bucket) error {
	m, err := tx.Motion(r.MotionIRI)
	if err != nil {
		return err
	}
	ballots, err := tx.Ballots(m.ID)
	if err != nil {
		return err
	}
	votes := map[string]int64{}
	for _, oc := range coopfed.Tally(m, m.Eligible, ballots).Options {
		votes[oc.Name] = int64(oc.Votes)
	}
	for i, b := range buckets {
		b.Votes = votes[fundingOption(i, b)]
	}
	return nil
}

// --- incoming ---

// budgetKind takes rounds from the coops we follow, and, for our own
// rounds, buckets and allocations from the coops that follow them.
type budgetKind struct{ f *Federation }

func init() {
	registerObjectKind(func(f *Federation) objectKind { return budgetKind{f: f} })
	registerPeriodic(periodicJob{name: "budgets", interval: governanceInterval, run: runBudgets})
}

// budgetJSON is what rounds, buckets and allocations carry beyond object.
type budgetJSON struct {
	Context        string          `json:"context"`
	Target         string          `json:"target"`
	BudgetModel    string          `json:"budgetModel"`
	Description    string          `json:"description"`
	Pot            json.Number     `json:"pot"`
	Currency       string          `json:"currency"`
	Decimals       int             `json:"decimals"`
	Share          int64           `json:"share"`
	Allocators     int64           `json:"allocators"`
	AllocatorCoops []allocatorJSON `json:"allocatorCoops"`
	RoundState     string          `json:"roundState"`
	VotingEndTime  string          `json:"votingEndTime"`
	FundingMotion  string          `json:"fundingMotion"`
	Buckets        []bucketJSON    `json:"buckets"`
	What           string          `json:"what"`
	Why            string          `json:"why"`
	AmountAsked    int64           `json:"amountAsked"`
	NeededBy       string          `json:"neededBy"`
	Attachment     json.RawMessage `json:"attachment"`
	Allocator      string          `json:"allocator"`
	Amount         int64           `json:"amount"`
	Closed         string          `json:"closed"`
}

type allocatorJSON struct {
	Coop    string `json:"coop"`
	Members int64  `json:"members"`
}

type bucketJSON struct {
	ID           string          `json:"id"`
	AttributedTo string          `json:"attributedTo"`
	Name         string          `json:"name"`
	What         string          `json:"what"`
	Why          string          `json:"why"`
	AmountAsked  int64           `json:"amountAsked"`
	NeededBy     string          `json:"neededBy"`
	Attachment   json.RawMessage `json:"attachment"`
	Allocated    int64           `json:"allocated"`
	Votes        int64           `json:"votes"`
	Funded       bool            `json:"funded"`
	FundedAmount int64           `json:"fundedAmount"`
	Allocations  []struct {
		Allocator string `json:"allocator"`
		Coop      string `json:"coop"`
		Amount    int64  `json:"amount"`
	} `json:"allocations"`
}

// paymentLinksOf reads FEP-0ea0 payment Links from an attachment.
func paymentLinksOf(raw json.RawMessage) []coopfed.PaymentLink {
	var att []struct {
		Type, Name, Href, Rel string
	}
	if len(raw) == 0 || decodeJSON(raw, &att) != nil {
		return nil
	}
	var out []coopfed.PaymentLink
	for _, a := range att {
		if a.Type == "Link" && a.Rel == "payment" {
			out = append(out, coopfed.PaymentLink{Name: sanitize.PlainText(a.Name), Href: a.Href})
		}
	}
	return out
}

// decode reads the budget terms of an object that may be a round, a
// bucket or an allocation. Why the cheap tests first: every object a peer
// creates or updates is offered here, and most are Notes of no budget.
func (k budgetKind) decode(in *incoming) (*budgetJSON, bool) {
	if in.object == nil {
		return nil, false
	}
	switch in.object.Type.Main() {
	case "Allocation":
	case "Page":
		if len(in.object.Context) == 0 {
			return nil, false
		}
	case "Note":
		if !bytes.Contains(in.act.Object, []byte(`"budgetModel"`)) {
			return nil, false
		}
	default:
		return nil, false
	}
	var j budgetJSON
	if decodeJSON(in.act.Object, &j) != nil {
		return nil, false
	}
	return &j, true
}

// what tells which budget object an incoming object is: "round",
// "bucket", "allocation", or "".
func (k budgetKind) what(in *incoming, j *budgetJSON) string {
	switch t := in.object.Type.Main(); {
	case t == "Allocation":
		return "allocation"
	case t == "Note" && j.BudgetModel != "":
		return "round"
	case t == "Page" && j.Context != "" && (k.f.iris.RoundID(j.Context) != "" || j.AmountAsked != 0):
		return "bucket"
	}
	return ""
}

func (k budgetKind) check(ctx context.Context, in *incoming, op string) (bool, error) {
	j, ok := k.decode(in)
	if !ok {
		return false, nil
	}
	switch k.what(in, j) {
	case "round":
		return true, k.checkRound(in, j)
	case "bucket":
		return k.checkBucket(ctx, in, j, op)
	case "allocation":
		if op != "Create" {
			return false, nil
		}
		return true, k.checkAllocation(ctx, in, j)
	}
	return false, nil
}

// localRound returns the local round an IRI names: ENOTFOUND for an IRI
// of ours that names none, false for another server's.
func (k budgetKind) localRound(ctx context.Context, iri string) (*coopfed.BudgetRound, bool, error) {
	if k.f.iris.RoundID(iri) == "" {
		return nil, false, nil
	}
	r, err := k.f.store.Round(ctx, iri)
	if err != nil {
		return nil, true, coopfed.Errorf(coopfed.ENOTFOUND, "round %s not found", iri)
	}
	return r, true, nil
}

// checkRound takes a round document from its own coop.
func (k budgetKind) checkRound(in *incoming, j *budgetJSON) error {
	// Why: a round is its coop's say; the signer publishes only its own.
	if !in.object.AttributedTo.Has(in.signer.IRI) {
		return coopfed.Errorf(coopfed.EFORBIDDEN, "the round is not attributed to its sender")
	}
	if j.BudgetModel != coopfed.BudgetAllocate && j.BudgetModel != coopfed.BudgetMotion {
		return coopfed.Errorf(coopfed.EINVALID, "budgetModel must be allocate or motion")
	}
	return nil
}

// followsRound reports whether actor is an accepted follower of the
// round's coop.
func (k budgetKind) followsRound(ctx context.Context, r *coopfed.BudgetRound, actor string) (bool, error) {
	return k.f.store.AcceptedFollower(ctx, r.CoopID, actor)
}

// incomingBucket reads a bucket Page for round r.
func incomingBucket(in *incoming, j *budgetJSON, r *coopfed.BudgetRound) *coopfed.Bucket {
	b := &coopfed.Bucket{IRI: in.objectID, RoundID: r.ID, RoundIRI: r.IRI, AuthorIRI: in.signer.IRI, Title: sanitize.PlainText(string(in.object.Name)),
		What: sanitize.PlainText(j.What), Why: sanitize.PlainText(j.Why), Asked: j.AmountAsked, NeededBy: parseTime(j.NeededBy),
		PaymentLinks: paymentLinksOf(j.Attachment)}
	b.Normalize()
	return b
}

func (k budgetKind) checkBucket(ctx context.Context, in *incoming, j *budgetJSON, op string) (bool, error) {
	r, ours, err := k.localRound(ctx, j.Context)
	if !ours || err != nil {
		return ours, err
	}
	if !in.object.AttributedTo.Has(in.signer.IRI) {
		return true, coopfed.Errorf(coopfed.EFORBIDDEN, "the bucket is not attributed to its sender")
	}
	// Why: buckets come from the round coop's followers, the coops it
	// addressed the round to; anyone else is refused.
	if ok, err := k.followsRound(ctx, r, in.signer.IRI); err != nil {
		return true, err
	} else if !ok {
		return true, coopfed.Errorf(coopfed.EFORBIDDEN, "%s does not follow the round's coop", in.signer.IRI)
	}
	b := incomingBucket(in, j, r)
	if err := b.Validate(r); err != nil {
		return true, err
	}
	cur, err := k.f.store.Bucket(ctx, in.objectID)
	switch {
	case op == "Create" && err == nil:
		return true, coopfed.Errorf(coopfed.ECONFLICT, "bucket %s already exists", in.objectID)
	case op == "Update" && coopfed.ErrorCode(err) == coopfed.ENOTFOUND:
		return true, coopfed.Errorf(coopfed.ENOTFOUND, "bucket %s not found", in.objectID)
	case op == "Update" && err == nil && cur.AuthorIRI != in.signer.IRI:
		return true, coopfed.Errorf(coopfed.EFORBIDDEN, "only the bucket's coop may change it")
	case op == "Update" && err == nil && (cur.Funded || cur.Fundable() || r.State != coopfed.RoundOpen):
		return true, coopfed.Errorf(coopfed.ECONFLICT, "the bucket is funded or its round is closed: it can no longer be changed")
	case op == "Update" && err == nil && b.Asked < cur.Allocated:
		return true, coopfed.FieldErrors(map[string]string{"asked": fmt.Sprintf("at least what is allocated already, %d", cur.Allocated)})
	}
	if op == "Create" && !r.OpenAt(k.f.now()) {
		return true, coopfed.Errorf(coopfed.ECONFLICT, "the round is not open for buckets (its deadline was %s)", r.ClosesAt.UTC().Format(time.RFC3339))
	}
	return true, nil
}

func (k budgetKind) checkAllocation(ctx context.Context, in *incoming, j *budgetJSON) error {
	if !in.object.AttributedTo.Has(in.signer.IRI) {
		return coopfed.Errorf(coopfed.EFORBIDDEN, "the allocation is not attributed to its sender")
	}
	r, ours, err := k.localRound(ctx, j.Context)
	if err != nil {
		return err
	}
	if !ours {
		return coopfed.Errorf(coopfed.ENOTFOUND, "round %s is not a round of this instance", j.Context)
	}
	_, err = k.allocationFor(ctx, in, j, r, nil)
	return err
}

// allocationFor applies the rules of a remote allocation and returns it,
// with tx (inside the transaction) or the read pool (before it).
func (k budgetKind) allocationFor(ctx context.Context, in *incoming, j *budgetJSON, r *coopfed.BudgetRound, tx *store.Tx) (*coopfed.Allocation, error) {
	if r.Model != coopfed.BudgetAllocate {
		return nil, coopfed.Errorf(coopfed.ECONFLICT, "in this round members vote on the buckets; there is nothing to allocate")
	}
	// Why: a coop vouches for its own members only; it cannot cast for
	// a member of another coop, whose own coop alone speaks for them.
	if !coopfed.MemberOf(j.Allocator, in.signer.IRI) {
		return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "%s may allocate only for its own members, not for %s", in.signer.IRI, j.Allocator)
	}
	seats := r.Seats(in.signer.IRI)
	if seats == 0 {
		return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "the members of %s do not allocate in this round", in.signer.IRI)
	}
	if !r.OpenAt(k.f.now()) {
		return nil, coopfed.Errorf(coopfed.ECONFLICT, "the round closed for allocations at %s", r.ClosesAt.UTC().Format(time.RFC3339))
	}
	var b *coopfed.Bucket
	var spent int64
	var err error
	if tx != nil {
		b, err = tx.Bucket(j.Target)
		if err == nil {
			spent, err = tx.AllocatorSpent(r.ID, j.Allocator)
		}
	} else {
		b, err = k.f.store.Bucket(ctx, j.Target)
		if err == nil {
			spent, err = k.f.store.AllocatorSpent(ctx, r.ID, j.Allocator)
		}
	}
	if coopfed.ErrorCode(err) == coopfed.ENOTFOUND || (err == nil && b.RoundID != r.ID) {
		return nil, coopfed.Errorf(coopfed.ENOTFOUND, "bucket %s is not in this round", j.Target)
	} else if err != nil {
		return nil, err
	}
	if err := coopfed.CheckAllocation(r.Share, spent, j.Amount, b.Asked, b.Allocated); err != nil {
		return nil, err
	}
	return &coopfed.Allocation{RoundID: r.ID, BucketID: b.ID, BucketIRI: b.IRI, AllocatorIRI: j.Allocator, CoopIRI: in.signer.IRI,
		Amount: j.Amount, ActivityIRI: in.objectID}, nil
}

func (k budgetKind) apply(ctx context.Context, in *incoming, op string) error {
	j, _ := k.decode(in)
	switch k.what(in, j) {
	case "round":
		return k.applyRound(ctx, in, j)
	case "bucket":
		r, err := in.tx.Round(j.Context)
		if err != nil {
			return err
		}
		b := incomingBucket(in, j, r)
		if op == "Create" {
			if err := in.tx.InsertBucket(b); err != nil {
				return err
			}
			return k.publishAfterBucket(ctx, in, r)
		}
		cur, err := in.tx.Bucket(b.IRI)
		if err != nil {
			return err
		}
		b.ID = cur.ID
		if err := in.tx.EditBucket(b); err != nil {
			return err
		}
		c, err := k.f.store.CoopByID(ctx, r.CoopID)
		if err != nil {
			return err
		}
		return k.f.publishRound(in.tx, c, r)
	case "allocation":
		r, err := in.tx.Round(j.Context)
		if err != nil {
			return err
		}
		a, err := k.allocationFor(ctx, in, j, r, in.tx)
		if err != nil {
			return err
		}
		a.Created = in.tx.Now()
		if _, err := in.tx.Allocate(a, r.Share, r.Seats(in.signer.IRI)); err != nil {
			return err
		}
		// An allocation is not a post.
		_, err = in.tx.DeleteTimelineObject(in.objectID, in.signer.IRI)
		return err
	}
	return nil
}

// publishAfterBucket publishes the round's Update once a bucket joined it.
func (k budgetKind) publishAfterBucket(ctx context.Context, in *incoming, r *coopfed.BudgetRound) error {
	c, err := k.f.store.CoopByID(ctx, r.CoopID)
	if err != nil {
		return err
	}
	return k.f.publishRound(in.tx, c, r)
}

// applyRound keeps or refreshes the copy of a followed coop's round.
func (k budgetKind) applyRound(ctx context.Context, in *incoming, j *budgetJSON) error {
	// Why: a copy is kept only by an instance with a coop that follows
	// the round's coop; others have no use for it.
	coops, err := in.tx.CoopsFollowing(in.signer.IRI)
	if err != nil || len(coops) == 0 {
		return err
	}
	pot, _ := j.Pot.Int64()
	r := &coopfed.BudgetRound{IRI: in.objectID, OwnerIRI: in.signer.IRI, Title: clip(sanitize.PlainText(string(in.object.Name)), coopfed.MaxRoundTitle), Pot: pot,
		Currency: j.Currency, Decimals: min(max(j.Decimals, 0), 4), Model: j.BudgetModel, Share: max(j.Share, 0), Allocators: max(j.Allocators, 0),
		ClosesAt: parseTime(string(in.object.EndTime)), VotingClosesAt: parseTime(j.VotingEndTime), State: j.RoundState,
		ClosedAt: parseTime(j.Closed), MotionIRI: j.FundingMotion, Created: parseTime(in.object.Published)}
	r.Description = clip(sanitize.PlainText(j.Description), coopfed.MaxRoundText)
	for _, a := range j.AllocatorCoops {
		r.AllocatorCoops = append(r.AllocatorCoops, coopfed.AllocatorCoop{Coop: a.Coop, Members: a.Members})
	}
	if r.State != coopfed.RoundVoting && r.State != coopfed.RoundClosed {
		r.State = coopfed.RoundOpen
	}
	if r.Pot <= 0 || r.Pot > coopfed.MaxPot || !coopfed.ValidCurrency(r.Currency) || r.ClosesAt.IsZero() || len(r.AllocatorCoops) > coopfed.MaxEligibleCoops+1 {
		return nil // not a round we can show
	}
	cur, err := in.tx.Round(r.IRI)
	switch {
	case coopfed.ErrorCode(err) == coopfed.ENOTFOUND:
		if err := in.tx.InsertRound(r); err != nil {
			return err
		}
	case err != nil:
		return err
	case cur.Local() || cur.OwnerIRI != in.signer.IRI:
		return nil // only the round's own coop changes the round
	default:
		r.ID = cur.ID
		if err := in.tx.UpdateRoundCopy(r); err != nil {
			return err
		}
	}
	var allocations []*coopfed.Allocation
	for _, bj := range j.Buckets {
		// Why: a bucket's id is on its proposer's server, and the round
		// lists it only for a proposer that is the bucket's author.
		if bj.ID == "" || bj.AttributedTo == "" || !SameHost(bj.ID, HostOf(bj.AttributedTo)) || bj.AmountAsked <= 0 {
			continue
		}
		b := &coopfed.Bucket{IRI: bj.ID, RoundID: r.ID, RoundIRI: r.IRI, AuthorIRI: bj.AttributedTo, Title: clip(sanitize.PlainText(bj.Name), coopfed.MaxBucketTitle),
			What: clip(sanitize.PlainText(bj.What), coopfed.MaxBucketText), Why: clip(sanitize.PlainText(bj.Why), coopfed.MaxBucketText), Asked: bj.AmountAsked,
			NeededBy: parseTime(bj.NeededBy), PaymentLinks: paymentLinksOf(bj.Attachment), Allocated: max(bj.Allocated, 0), Votes: max(bj.Votes, 0),
			Funded: bj.Funded, FundedAmount: min(max(bj.FundedAmount, 0), bj.AmountAsked)}
		b.Normalize()
		if in.f.iris.IsLocal(b.IRI) {
			// Why: one of our coops' buckets says what its coop wrote;
			// the round's coop speaks only of its funding.
			cur, err := in.tx.Bucket(b.IRI)
			if err != nil || cur.RoundID != r.ID {
				continue
			}
			cur.Allocated, cur.Votes, cur.Funded, cur.FundedAmount = b.Allocated, b.Votes, b.Funded, b.FundedAmount
			b = cur
		}
		// Why: pages show payment links as links; only those that pass
		// the rules of a coop's own links (https, payto) are kept.
		if e, ok := b.Validate(nil).(*coopfed.Error); ok && e.Fields["payment_links"] != "" {
			b.PaymentLinks = nil
		}
		if err := in.tx.PutBucketCopy(b); err != nil {
			return err
		}
		for _, a := range bj.Allocations {
			if a.Amount > 0 {
				allocations = append(allocations, &coopfed.Allocation{BucketID: b.ID, AllocatorIRI: a.Allocator, CoopIRI: a.Coop, Amount: a.Amount})
			}
		}
	}
	if r.State == coopfed.RoundClosed {
		return in.tx.ReplaceAllocationsCopy(r.ID, allocations)
	}
	return nil
}

// clip cuts s to at most n characters: a peer's text is kept within our
// own limits.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

func (k budgetKind) deleted(ctx context.Context, in *incoming) error { return nil }

// runBudgets closes every local round past its deadline, and decides the
// motion rounds whose funding motion closed, each in its own transaction.
func runBudgets(ctx context.Context, f *Federation) error {
	ids, err := f.store.DueRounds(ctx, f.now())
	if err != nil {
		return err
	}
	acted := false
	for _, id := range ids {
		did, err := f.actOnRound(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			f.log.Error("budgets: round", "round", id, "err", err)
			continue
		}
		acted = acted || did
	}
	if acted {
		f.delivery.wake()
	}
	return nil
}

// actOnRound closes a due round; the state is checked again inside the
// transaction, so a round is closed once.
func (f *Federation) actOnRound(ctx context.Context, id int64) (bool, error) {
	acted := false
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		r, err := tx.RoundByID(id)
		if err != nil {
			return err
		}
		c, err := f.store.CoopByID(ctx, r.CoopID)
		if err != nil {
			return err
		}
		switch {
		case r.State == coopfed.RoundOpen && !tx.Now().Before(r.ClosesAt):
		case r.State == coopfed.RoundVoting:
			m, err := tx.Motion(r.MotionIRI)
			if err != nil {
				return err
			}
			if m.State != coopfed.MotionClosed {
				return nil
			}
		default:
			return nil
		}
		acted = true
		return f.closeRound(ctx, tx, c, r)
	})
	return acted, err
}
