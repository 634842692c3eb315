package federation

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/coopfed/coopfed/store"
)

// Trades follow FEP-0837's negotiation: the interested coop sends
// Offer{object: Agreement{stipulates, stipulatesReciprocal}} to the
// listing's owner, who answers Accept{object: <Offer id>, result:
// Agreement} or Reject{object: <Offer id>, content: reason}, or counters
// with a new Offer inReplyTo the first. The sender withdraws with
// Undo(Offer). Delivery is confirmed by each side with a Note whose
// context is the agreement; the second one is the trade's receipt.

// tradeContext is the context of trade activities: the FEP-0837 term map
// of its examples.
var tradeContext = []any{
	ContextActivityStreams,
	map[string]any{
		"vf":                   NamespaceValueflows,
		"om2":                  NamespaceOM2,
		"Agreement":            "vf:Agreement",
		"stipulates":           "vf:stipulates",
		"stipulatesReciprocal": "vf:stipulatesReciprocal",
		"Commitment":           "vf:Commitment",
		"satisfies":            "vf:satisfies",
		"resourceConformsTo":   "vf:resourceConformsTo",
		"resourceQuantity":     "vf:resourceQuantity",
		"hasUnit":              "om2:hasUnit",
		"hasNumericalValue":    "om2:hasNumericalValue",
		"provider":             map[string]any{"@id": "vf:provider", "@type": "@id"},
		"receiver":             map[string]any{"@id": "vf:receiver", "@type": "@id"},
		"due":                  map[string]any{"@id": "vf:due", "@type": "xsd:dateTime"},
		"xsd":                  "http://www.w3.org/2001/XMLSchema#",
	},
}

// --- documents ---

func commitmentDoc(id, satisfies string, q coopfed.Quantity, conformsTo string) map[string]any {
	m := map[string]any{"type": "Commitment", "satisfies": satisfies, "resourceQuantity": quantityDoc(q)}
	if id != "" {
		m["id"] = id
	}
	if conformsTo != "" {
		m["resourceConformsTo"] = conformsTo
	}
	return m
}

func reciprocalCommitment(id, listingIRI string, r *coopfed.Reciprocal) map[string]any {
	intent := reciprocalIntent(listingIRI, r)
	m := map[string]any{"type": "Commitment", "satisfies": listingIRI + "#reciprocal", "resourceQuantity": intent["resourceQuantity"]}
	if c, ok := intent["resourceConformsTo"]; ok {
		m["resourceConformsTo"] = c
	}
	if id != "" {
		m["id"] = id
	}
	return m
}

// agreementDoc is the Agreement of a trade; id is empty inside an Offer
// (the agreement exists only once accepted).
func agreementDoc(id string, t *coopfed.Trade) map[string]any {
	primaryID, recID := "", ""
	if id != "" {
		primaryID, recID = id+"#primary", id+"#reciprocal"
	}
	primary := commitmentDoc(primaryID, t.ListingIRI+"#primary", t.Quantity, "")
	if !t.Due.IsZero() {
		// ValueFlows' due on the commitment: the day the resource is to
		// be delivered, midnight UTC.
		primary["due"] = t.Due.UTC().Format("2006-01-02T15:04:05Z")
	}
	m := map[string]any{"type": "Agreement", "stipulates": primary}
	var reciprocal map[string]any
	if t.Reciprocal != nil {
		reciprocal = reciprocalCommitment(recID, t.ListingIRI, t.Reciprocal)
		m["stipulatesReciprocal"] = reciprocal
	}
	if id != "" {
		m["id"] = id
		// Why: a signed agreement names both parties, so that anyone can
		// tell whose keys must have signed it (FEP-8b32 proofs).
		primary["provider"], primary["receiver"] = t.Giver(), t.Receiver()
		if reciprocal != nil {
			reciprocal["provider"], reciprocal["receiver"] = t.Receiver(), t.Giver()
		}
	}
	return m
}

// offerDoc is the Offer of a trade, as sent.
func (f *Federation) offerDoc(t *coopfed.Trade) map[string]any {
	doc := f.wrap("Offer", t.IRI, t.Sender(), agreementDoc("", t), []string{t.Recipient()}, nil, t.Created)
	doc["@context"] = tradeContext
	if t.Message != "" {
		doc["content"] = sanitize.Text(t.Message)
	}
	if t.InReplyTo != "" {
		doc["inReplyTo"] = t.InReplyTo
	}
	return doc
}

// --- incoming documents ---

// quantityJSON is an om2 measure; FEP-0837 writes numbers as strings.
type quantityJSON struct {
	Unit  string          `json:"hasUnit"`
	Value json.RawMessage `json:"hasNumericalValue"`
}

type commitmentJSON struct {
	ID         string       `json:"id"`
	Provider   string       `json:"provider"`
	Receiver   string       `json:"receiver"`
	Type       types        `json:"type"`
	Satisfies  string       `json:"satisfies"`
	ConformsTo string       `json:"resourceConformsTo"`
	Quantity   quantityJSON `json:"resourceQuantity"`
	Due        string       `json:"due"`
}

// agreementJSON decodes an Agreement; the FEP's own Accept example spells
// stipulates as "stiplulates", so both are read.
type agreementJSON struct {
	ID          string          `json:"id"`
	Type        types           `json:"type"`
	Stipulates  *commitmentJSON `json:"stipulates"`
	Stiplulates *commitmentJSON `json:"stiplulates"`
	Reciprocal  *commitmentJSON `json:"stipulatesReciprocal"`
}

func (a *agreementJSON) primary() *commitmentJSON {
	if a.Stipulates != nil {
		return a.Stipulates
	}
	return a.Stiplulates
}

// offerJSON is the part of an Offer or Accept read here beyond the
// envelope.
type offerJSON struct {
	Object    json.RawMessage `json:"object"`
	Result    json.RawMessage `json:"result"`
	Content   langString      `json:"content"`
	InReplyTo refs            `json:"inReplyTo"`
}

// decodeAgreement reads an embedded Agreement.
func decodeAgreement(raw json.RawMessage) (*agreementJSON, error) {
	var a agreementJSON
	if len(raw) == 0 || decodeJSON(raw, &a) != nil || !a.Type.Is("Agreement") {
		return nil, coopfed.Errorf(coopfed.EINVALID, "the object must be an embedded Agreement")
	}
	if a.primary() == nil || a.primary().Satisfies == "" {
		return nil, coopfed.Errorf(coopfed.EINVALID, "the Agreement stipulates no commitment that satisfies a listing")
	}
	return &a, nil
}

func (q quantityJSON) quantity() (coopfed.Quantity, error) {
	v, err := number(q.Value)
	if err != nil {
		return coopfed.Quantity{}, coopfed.FieldErrors(map[string]string{"quantity.value": coopfed.ErrorMessage(err)})
	}
	return coopfed.Quantity{Value: v, Unit: strings.TrimSpace(q.Unit)}, nil
}

// reciprocalOfCommitment reads what is given in return; without a
// resource type it is what the listing asks for, in the amount given.
func reciprocalOfCommitment(c *commitmentJSON, l *coopfed.Listing) (*coopfed.Reciprocal, error) {
	if c == nil {
		return nil, nil
	}
	q, err := c.Quantity.quantity()
	if err != nil {
		// Named as the reciprocal: quantity() reports its problems under
		// quantity.value, which would point at the wrong field.
		return nil, coopfed.FieldErrors(map[string]string{"reciprocal": coopfed.ErrorMessage(err)})
	}
	amount := amountText(c.Quantity.Value, q.Value)
	conforms := c.ConformsTo
	if conforms == "" && l.Reciprocal != nil {
		switch l.Reciprocal.Kind {
		case coopfed.ReciprocalPrice:
			conforms = coopfed.Currencies[l.Reciprocal.Price.Currency]
		case coopfed.ReciprocalCredits:
			conforms = coopfed.CreditsConformsTo
		default:
			conforms = l.Reciprocal.ConformsTo
		}
	}
	r := &coopfed.Reciprocal{Kind: coopfed.ReciprocalResource, ConformsTo: conforms, Quantity: q}
	if cur := coopfed.CurrencyOf(conforms); cur != "" {
		r = &coopfed.Reciprocal{Kind: coopfed.ReciprocalPrice, Price: coopfed.Price{Amount: amount, Currency: cur}}
	} else if conforms == coopfed.CreditsConformsTo {
		r = &coopfed.Reciprocal{Kind: coopfed.ReciprocalCredits, Price: coopfed.Price{Amount: amount}}
	}
	return r, nil
}

// --- outgoing operations ---

// TradeProposal is what a coop asks for: a quantity of a listing, what it
// gives in return, a message and, if it names one, the delivery date.
type TradeProposal struct {
	ListingIRI string
	Quantity   coopfed.Quantity
	Reciprocal *coopfed.Reciprocal
	Message    string
	Due        time.Time // a day (midnight UTC), zero for none
}

// partyCoop returns the local coop behind an actor IRI, or nil.
func (f *Federation) partyCoop(ctx context.Context, iri string) *coopfed.Coop {
	if !f.iris.IsLocal(iri) {
		return nil
	}
	name := f.iris.CoopName(iri)
	if name == "" || f.iris.Coop(name) != iri {
		return nil
	}
	c, err := f.store.CoopByName(ctx, name)
	if err != nil {
		return nil
	}
	return c
}

// checkCredits refuses a trade that would take the coop's credit balance
// with its counterpart beyond the limit the coop grants.
func (f *Federation) checkCredits(tx *store.Tx, coopID int64, self string, t *coopfed.Trade) error {
	credits := t.Credits()
	if credits == 0 {
		return nil
	}
	e := coopfed.LedgerEntryFor(t, coopID, self, tx.Now())
	bal, err := tx.Balance(coopID, e.Counterpart)
	if err != nil {
		return err
	}
	limit, err := tx.CreditLimit(coopID, e.Counterpart, coopfed.DefaultCreditLimit*coopfed.CreditScale)
	if err != nil {
		return err
	}
	return coopfed.CheckCreditLimit(bal, e.Credits, limit)
}

// ProposeTrade sends a coop's Offer for a listing to its owner.
func (f *Federation) ProposeTrade(ctx context.Context, c *coopfed.Coop, p TradeProposal) (*coopfed.Trade, error) {
	l, err := f.store.ListingByIRI(ctx, p.ListingIRI)
	if err != nil {
		if coopfed.ErrorCode(err) == coopfed.ENOTFOUND {
			return nil, coopfed.FieldErrors(map[string]string{"listing": "no such listing in this instance's market"})
		}
		return nil, err
	}
	self := f.iris.Coop(c.Name)
	if l.ActorIRI == self {
		return nil, coopfed.FieldErrors(map[string]string{"listing": "a coop cannot trade with itself"})
	}
	if !l.OpenAt(f.now()) {
		return nil, coopfed.Errorf(coopfed.ECONFLICT, "the listing is closed")
	}
	t := &coopfed.Trade{
		ListingIRI: l.IRI, ListingKind: l.Kind, ListingTitle: l.Title, ProposerIRI: self, ProposerCoopID: c.ID,
		OwnerIRI: l.ActorIRI, Quantity: p.Quantity, Reciprocal: p.Reciprocal, Message: strings.TrimSpace(p.Message),
		State: coopfed.TradeProposed, Due: p.Due,
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if err := coopfed.CheckTradeQuantity(l, t.Quantity); err != nil {
		return nil, err
	}
	if err := f.sendOffer(ctx, c, t, nil); err != nil {
		return nil, err
	}
	return t, nil
}

// sendOffer stores an Offer (and marks the one it counters) and sends it
// to the recipient, in one transaction.
func (f *Federation) sendOffer(ctx context.Context, c *coopfed.Coop, t *coopfed.Trade, countered *coopfed.Trade) error {
	recipient := f.partyCoop(ctx, t.Recipient())
	if recipient != nil {
		if recipient.ID == c.ID {
			return coopfed.FieldErrors(map[string]string{"listing": "a coop cannot trade with itself"})
		}
		if t.FromOwner {
			t.ProposerCoopID = recipient.ID
		} else {
			t.OwnerCoopID = recipient.ID
		}
	}
	var inbox string
	if recipient == nil {
		a, err := f.Actor(ctx, t.Recipient())
		if err != nil {
			return err
		}
		inbox = a.Inbox
	}
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		t.IRI = f.iris.Activity(f.newID())
		t.Created = tx.Now()
		if countered != nil {
			fresh, err := tx.TradeByIRI(countered.IRI)
			if err != nil {
				return err
			}
			if err := tx.AnswerTrade(fresh, coopfed.TradeCountered, t.IRI, "", ""); err != nil {
				return err
			}
		}
		self := t.Sender()
		if err := f.checkCredits(tx, c.ID, self, t); err != nil {
			return err
		}
		if err := tx.InsertTrade(t); err != nil {
			return err
		}
		if inbox == "" {
			// Both coops are here: they share the record, and the recipient
			// is told as it would be of an Offer from afar.
			return notifyTrade(tx, t)
		}
		_, err := f.send(tx, c, f.offerDoc(t), t.IRI, false, []string{inbox})
		return err
	})
	if err != nil {
		return err
	}
	f.delivery.wake()
	return nil
}

// ownTrade loads a trade a local coop takes part in.
func (f *Federation) ownTrade(ctx context.Context, c *coopfed.Coop, iri string) (*coopfed.Trade, string, error) {
	t, err := f.store.TradeByIRI(ctx, iri)
	if err != nil {
		return nil, "", err
	}
	self := f.iris.Coop(c.Name)
	if t.ProposerIRI != self && t.OwnerIRI != self {
		return nil, "", coopfed.Errorf(coopfed.ENOTFOUND, "trade not found")
	}
	return t, self, nil
}

// CounterTrade answers an open Offer with a new one in reply: another
// quantity or reciprocal, the same listing.
func (f *Federation) CounterTrade(ctx context.Context, c *coopfed.Coop, iri string, p TradeProposal) (*coopfed.Trade, error) {
	prev, self, err := f.ownTrade(ctx, c, iri)
	if err != nil {
		return nil, err
	}
	// Why: only the party an Offer was sent to may answer it.
	if prev.Recipient() != self {
		return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "only the coop the offer was sent to can counter it")
	}
	if !prev.Open() {
		return nil, coopfed.Errorf(coopfed.ECONFLICT, "the offer was already answered (%s)", prev.State)
	}
	t := &coopfed.Trade{
		ListingIRI: prev.ListingIRI, ListingKind: prev.ListingKind, ListingTitle: prev.ListingTitle,
		ProposerIRI: prev.ProposerIRI, ProposerCoopID: prev.ProposerCoopID, OwnerIRI: prev.OwnerIRI, OwnerCoopID: prev.OwnerCoopID,
		FromOwner: self == prev.OwnerIRI, InReplyTo: prev.IRI,
		Quantity: p.Quantity, Reciprocal: p.Reciprocal, Message: strings.TrimSpace(p.Message), State: coopfed.TradeProposed, Due: p.Due,
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if l, err := f.store.ListingByIRI(ctx, t.ListingIRI); err == nil {
		if err := coopfed.CheckTradeQuantity(l, t.Quantity); err != nil {
			return nil, err
		}
	}
	if err := f.sendOffer(ctx, c, t, prev); err != nil {
		return nil, err
	}
	return t, nil
}

// openTradeInTx reads a trade again inside the transaction that answers
// it and refuses one already answered: two answers racing each other (a
// double click, an Accept crossing a Withdraw) must not both apply.
func openTradeInTx(tx *store.Tx, iri string) (*coopfed.Trade, error) {
	t, err := tx.TradeByIRI(iri)
	if err != nil {
		return nil, err
	}
	if !t.Open() {
		return nil, coopfed.Errorf(coopfed.ECONFLICT, "the offer was already answered (%s)", t.State)
	}
	return t, nil
}

// AcceptTrade accepts an open Offer sent to the coop. When the coop owns
// the listing, the quantity is taken from it in the same transaction,
// only while enough is left; the Update of the listing federates.
func (f *Federation) AcceptTrade(ctx context.Context, c *coopfed.Coop, iri string) (*coopfed.Trade, error) {
	t, self, err := f.ownTrade(ctx, c, iri)
	if err != nil {
		return nil, err
	}
	if t.Recipient() != self {
		return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "only the coop the offer was sent to can accept it")
	}
	inbox, err := f.partyInbox(ctx, t.Sender())
	if err != nil {
		return nil, err
	}
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		cur, err := openTradeInTx(tx, t.IRI)
		if err != nil {
			return err
		}
		t = cur
		agreement := f.iris.Agreement(f.newID())
		accept := f.wrap("Accept", f.iris.Activity(f.newID()), self, t.IRI, []string{t.Sender()}, nil, tx.Now())
		if err := f.acceptInTx(ctx, tx, c, t, self, accept["id"].(string), agreement); err != nil {
			return err
		}
		signed, err := f.signedAgreement(ctx, c, t, self, inbox == "", tx.Now())
		if err != nil {
			return err
		}
		if err := tx.SetAgreementJSON(t, signed); err != nil {
			return err
		}
		if inbox == "" {
			return nil
		}
		accept["@context"] = tradeContext
		accept["result"] = json.RawMessage(signed)
		_, err = f.send(tx, c, accept, t.IRI, false, []string{inbox})
		return err
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return t, nil
}

// signedAgreement returns the agreement of a trade the local coop c (its
// self) accepted, signed by c; when the proposer is a coop of this
// instance too it countersigns at once, as it would on receiving it.
func (f *Federation) signedAgreement(ctx context.Context, c *coopfed.Coop, t *coopfed.Trade, self string, bothLocal bool, at time.Time) (string, error) {
	doc := agreementDoc(t.AgreementIRI, t)
	doc["attributedTo"] = self
	doc["@context"] = agreementContext
	b, err := Marshal(doc)
	if err != nil {
		return "", err
	}
	signed, err := f.signAgreement(c, b, at)
	if err != nil || !bothLocal {
		return signed, err
	}
	other := f.partyCoop(ctx, t.Counterpart(self))
	if other == nil {
		return signed, nil
	}
	return f.signAgreement(other, []byte(signed), at)
}

// acceptInTx records an acceptance by or for a local coop: the credit
// limit, the listing's quantity (when the owner is local), the state and
// the ledger entries of every local side.
func (f *Federation) acceptInTx(ctx context.Context, tx *store.Tx, c *coopfed.Coop, t *coopfed.Trade, self, answerIRI, agreement string) error {
	for _, side := range []struct {
		coop int64
		iri  string
	}{{t.OwnerCoopID, t.OwnerIRI}, {t.ProposerCoopID, t.ProposerIRI}} {
		if side.coop != 0 {
			if err := f.checkCredits(tx, side.coop, side.iri, t); err != nil {
				return err
			}
		}
	}
	if t.OwnerCoopID != 0 {
		if err := f.takeFromListing(ctx, tx, t); err != nil {
			return err
		}
	}
	if err := tx.AnswerTrade(t, coopfed.TradeAccepted, answerIRI, agreement, ""); err != nil {
		return err
	}
	for _, side := range []struct {
		coop int64
		iri  string
	}{{t.OwnerCoopID, t.OwnerIRI}, {t.ProposerCoopID, t.ProposerIRI}} {
		if side.coop != 0 {
			if err := tx.InsertLedgerEntry(t.ID, coopfed.LedgerEntryFor(t, side.coop, side.iri, tx.Now())); err != nil {
				return err
			}
		}
	}
	return nil
}

// takeFromListing lowers the owner's listing by the trade's quantity and
// federates the Update; when it reaches zero the listing closes and the
// Offers still open on it are rejected.
func (f *Federation) takeFromListing(ctx context.Context, tx *store.Tx, t *coopfed.Trade) error {
	l, err := tx.TakeFromListing(t.ListingIRI, t.Quantity)
	if err != nil {
		return err
	}
	owner, err := f.store.CoopByID(ctx, l.CoopID)
	if err != nil {
		return err
	}
	if err := f.sendListingUpdate(tx, owner, l, tx.Now()); err != nil {
		return err
	}
	if l.State != coopfed.ListingClosed {
		return nil
	}
	open, err := tx.OpenTradesOn(l.IRI)
	if err != nil {
		return err
	}
	for _, o := range open {
		if o.IRI == t.IRI {
			continue
		}
		if err := f.rejectInTx(ctx, tx, owner, o, o.Recipient(), "the listing is sold out"); err != nil {
			return err
		}
	}
	return nil
}

// partyInbox returns the inbox of a remote party, or "" for a local coop.
func (f *Federation) partyInbox(ctx context.Context, iri string) (string, error) {
	if f.partyCoop(ctx, iri) != nil {
		return "", nil
	}
	a, err := f.Actor(ctx, iri)
	if err != nil {
		return "", err
	}
	return a.Inbox, nil
}

// RejectTrade rejects an open Offer sent to the coop, with a reason.
func (f *Federation) RejectTrade(ctx context.Context, c *coopfed.Coop, iri, reason string) (*coopfed.Trade, error) {
	t, self, err := f.ownTrade(ctx, c, iri)
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if len([]rune(reason)) > coopfed.MaxTradeReason {
		return nil, coopfed.FieldErrors(map[string]string{"reason": "at most 500 characters"})
	}
	if t.Recipient() != self {
		return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "only the coop the offer was sent to can reject it")
	}
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		cur, err := openTradeInTx(tx, t.IRI)
		if err != nil {
			return err
		}
		t = cur
		return f.rejectInTx(ctx, tx, c, t, self, reason)
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return t, nil
}

// rejectInTx rejects an open Offer by the local coop c (its recipient)
// and sends the Reject to a remote sender.
func (f *Federation) rejectInTx(ctx context.Context, tx *store.Tx, c *coopfed.Coop, t *coopfed.Trade, self, reason string) error {
	reject := f.wrap("Reject", f.iris.Activity(f.newID()), self, t.IRI, []string{t.Sender()}, nil, tx.Now())
	if reason != "" {
		reject["content"] = sanitize.Text(reason)
	}
	if err := tx.AnswerTrade(t, coopfed.TradeRejected, reject["id"].(string), "", reason); err != nil {
		return err
	}
	if f.partyCoop(ctx, t.Sender()) != nil {
		return nil
	}
	a, err := f.store.RemoteActor(ctx, t.Sender())
	if err != nil {
		return nil // an actor never fetched cannot be told; the record says rejected
	}
	_, err = f.send(tx, c, reject, t.IRI, false, []string{a.Inbox})
	return err
}

// WithdrawTrade withdraws the coop's own open Offer with Undo(Offer).
func (f *Federation) WithdrawTrade(ctx context.Context, c *coopfed.Coop, iri string) (*coopfed.Trade, error) {
	t, self, err := f.ownTrade(ctx, c, iri)
	if err != nil {
		return nil, err
	}
	// Why: only the sender of an Offer may take it back.
	if t.Sender() != self {
		return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "only the coop that sent the offer can withdraw it")
	}
	inbox, err := f.partyInbox(ctx, t.Recipient())
	if err != nil {
		return nil, err
	}
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		cur, err := openTradeInTx(tx, t.IRI)
		if err != nil {
			return err
		}
		t = cur
		offer := f.offerDoc(t)
		delete(offer, "@context")
		undo := f.wrap("Undo", f.iris.Activity(f.newID()), self, offer, []string{t.Recipient()}, nil, tx.Now())
		undo["@context"] = tradeContext
		if err := tx.AnswerTrade(t, coopfed.TradeWithdrawn, undo["id"].(string), "", ""); err != nil {
			return err
		}
		if inbox == "" {
			return nil
		}
		_, err = f.send(tx, c, undo, t.IRI, false, []string{inbox})
		return err
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return t, nil
}

// receiptDoc is a coop's confirmation of delivery: a Note whose context is
// the agreement, sent to the counterpart inside Create.
func (f *Federation) receiptDoc(c *coopfed.Coop, t *coopfed.Trade, self, id string, fulfilled bool) map[string]any {
	text := c.Name + " confirms the delivery of " + t.Quantity.String() + " of " + t.ListingTitle + "."
	if fulfilled {
		text = "Receipt: " + t.Quantity.String() + " of " + t.ListingTitle
		if r := t.Reciprocal.String(); r != "" {
			text += " for " + r
		}
		text += ", delivered and confirmed by both coops."
	}
	note := map[string]any{
		"id": id, "type": "Note", "attributedTo": self, "context": t.AgreementIRI, "inReplyTo": t.IRI,
		"content": "<p>" + sanitize.Text(text) + "</p>", "to": []string{t.Counterpart(self)},
	}
	create := f.wrap("Create", id+"/activity", self, note, []string{t.Counterpart(self)}, nil, f.now())
	create["@context"] = tradeContext
	note["published"] = create["published"]
	return create
}

// ObjectReceipt is the stored type of a delivery confirmation: served at
// its Note IRI like a post, never listed among the coop's posts.
const ObjectReceipt = "Receipt"

// storeReceipt keeps the Note of a delivery confirmation so its IRI
// resolves.
func (f *Federation) storeReceipt(tx *store.Tx, c *coopfed.Coop, create map[string]any) error {
	note := withContext(create["object"].(map[string]any), tradeContext)
	body, err := Marshal(note)
	if err != nil {
		return err
	}
	text, _ := note["content"].(string)
	return tx.InsertObject(&store.Object{IRI: note["id"].(string), CoopID: c.ID, Type: ObjectReceipt,
		Content: sanitize.PlainText(text), JSON: body, Published: tx.Now()})
}

// AgreementDocument returns the document served at the IRI of an
// agreement a coop of this instance made: the Agreement as its Accept
// carried it, attributed to the accepter.
func (f *Federation) AgreementDocument(t *coopfed.Trade) map[string]any {
	if t.AgreementJSON != "" {
		// The signed form, exactly as it was signed.
		var doc map[string]any
		dec := json.NewDecoder(strings.NewReader(t.AgreementJSON))
		dec.UseNumber()
		if dec.Decode(&doc) == nil {
			return doc
		}
	}
	doc := agreementDoc(t.AgreementIRI, t)
	doc["attributedTo"] = t.Recipient()
	doc["@context"] = tradeContext
	return doc
}

// FulfilTrade records the coop's confirmation that an accepted trade was
// delivered and tells the counterpart; once both sides have confirmed the
// trade is fulfilled and the confirmation that completed it is its
// receipt.
func (f *Federation) FulfilTrade(ctx context.Context, c *coopfed.Coop, iri string) (*coopfed.Trade, error) {
	t, self, err := f.ownTrade(ctx, c, iri)
	if err != nil {
		return nil, err
	}
	inbox, err := f.partyInbox(ctx, t.Counterpart(self))
	if err != nil {
		return nil, err
	}
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		cur, err := tx.TradeByIRI(t.IRI)
		if err != nil {
			return err
		}
		t = cur
		byOwner := self == t.OwnerIRI
		if (byOwner && t.OwnerConfirmed) || (!byOwner && t.ProposerConfirmed) {
			return coopfed.Errorf(coopfed.ECONFLICT, "this coop already confirmed the delivery")
		}
		id := f.iris.Note(f.newID())
		fulfilled, err := tx.ConfirmTrade(t, byOwner, id)
		if err != nil {
			return err
		}
		create := f.receiptDoc(c, t, self, id, fulfilled)
		// Why: the confirmation's id must resolve, like every Note of ours;
		// it is kept as a receipt, not as one of the coop's posts.
		if err := f.storeReceipt(tx, c, create); err != nil {
			return err
		}
		if inbox == "" {
			return nil
		}
		_, err = f.send(tx, c, create, id, false, []string{inbox})
		return err
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return t, nil
}

// --- incoming ---

// checkOffer reads an incoming Offer(Agreement): a proposal for one of our
// coops' listings, or a counter-offer by a listing's owner in reply to an
// Offer of ours. go-fed cannot decode Agreement, so our own structs do.
func checkOffer(ctx context.Context, in *incoming) error {
	var o offerJSON
	if err := decodeJSON(in.raw, &o); err != nil {
		return coopfed.Errorf(coopfed.EINVALID, "Offer: %v", err)
	}
	a, err := decodeAgreement(o.Object)
	if err != nil {
		return err
	}
	listingIRI, frag, _ := strings.Cut(a.primary().Satisfies, "#")
	if frag != "primary" {
		return coopfed.Errorf(coopfed.EINVALID, "the commitment must satisfy a listing's #primary intent")
	}
	if !in.f.iris.IsLocal(listingIRI) && len(o.InReplyTo) == 0 {
		return errIgnore // an offer about someone else's listing
	}
	return nil
}

// applyOffer stores an incoming Offer after checking it against the
// listing, inside the activity's transaction.
func applyOffer(ctx context.Context, in *incoming) error {
	var o offerJSON
	if err := decodeJSON(in.raw, &o); err != nil {
		return coopfed.Errorf(coopfed.EINVALID, "Offer: %v", err)
	}
	a, err := decodeAgreement(o.Object)
	if err != nil {
		return err
	}
	listingIRI, _, _ := strings.Cut(a.primary().Satisfies, "#")
	q, err := a.primary().Quantity.quantity()
	if err != nil {
		return err
	}
	t := &coopfed.Trade{IRI: in.act.ID, ListingIRI: listingIRI, Quantity: q, State: coopfed.TradeProposed,
		Message: truncateRunes(sanitize.PlainText(string(o.Content)), coopfed.MaxTradeMessage)}
	if due := a.primary().Due; due != "" {
		d, err := time.Parse(time.RFC3339, due)
		if err != nil {
			return coopfed.FieldErrors(map[string]string{"due": "a date and time (RFC 3339)"})
		}
		// Why the day: the track record counts a trade on time when it is
		// fulfilled by the end of its due day, UTC, whatever hour a peer
		// writes.
		t.Due = d.UTC().Truncate(24 * time.Hour)
	}
	l, lerr := in.tx.ListingByIRI(listingIRI)
	if prev := o.InReplyTo.First(); prev != "" {
		// A counter-offer: it answers an open Offer sent to the signer.
		p, err := in.tx.TradeByIRI(prev)
		if err != nil || p.ListingIRI != listingIRI {
			return coopfed.Errorf(coopfed.EINVALID, "the counter-offer replies to no offer about this listing")
		}
		// Why: only the party an Offer was sent to may counter it.
		if p.Recipient() != in.signer.IRI {
			return coopfed.Errorf(coopfed.EFORBIDDEN, "only the coop the offer was sent to can counter it")
		}
		if !p.Open() {
			return nil // already answered: the counter changes nothing
		}
		t.ListingKind, t.ListingTitle = p.ListingKind, p.ListingTitle
		t.ProposerIRI, t.ProposerCoopID, t.OwnerIRI, t.OwnerCoopID = p.ProposerIRI, p.ProposerCoopID, p.OwnerIRI, p.OwnerCoopID
		t.FromOwner, t.InReplyTo = in.signer.IRI == p.OwnerIRI, p.IRI
		if err := in.tx.AnswerTrade(p, coopfed.TradeCountered, in.act.ID, "", ""); err != nil {
			return err
		}
	} else {
		if lerr != nil || !l.Local() || l.Deleted {
			return coopfed.Errorf(coopfed.ENOTFOUND, "no such listing here")
		}
		if l.ActorIRI == in.signer.IRI {
			return coopfed.Errorf(coopfed.EINVALID, "an actor cannot trade with itself")
		}
		// Why: an offer is on an open listing; a closed or expired one
		// takes no more proposals (and could not be accepted anyway).
		if !l.OpenAt(in.tx.Now()) {
			return coopfed.Errorf(coopfed.ECONFLICT, "the listing is closed")
		}
		t.ListingKind, t.ListingTitle = l.Kind, l.Title
		t.ProposerIRI, t.OwnerIRI, t.OwnerCoopID = in.signer.IRI, l.ActorIRI, l.CoopID
	}
	if lerr == nil {
		if t.Reciprocal, err = reciprocalOfCommitment(a.Reciprocal, l); err != nil {
			return err
		}
		if err := coopfed.CheckTradeQuantity(l, q); err != nil {
			return err
		}
	}
	if err := t.Validate(); err != nil {
		return err
	}
	if err := in.tx.InsertTrade(t); err != nil {
		if coopfed.ErrorCode(err) == coopfed.ECONFLICT {
			return nil // the same Offer again
		}
		return err
	}
	return notifyTrade(in.tx, t)
}

// notifyTrade tells the local coop an Offer was sent to (the listing's
// owner for a proposal, either side for a counter-offer) that it waits for
// an answer. The sender is not told: it made the Offer. One notification
// per Offer, however often it is delivered.
func notifyTrade(tx *store.Tx, t *coopfed.Trade) error {
	coopID := t.OwnerCoopID
	if t.FromOwner {
		coopID = t.ProposerCoopID
	}
	if coopID == 0 {
		return nil // the recipient is not a coop of this instance
	}
	_, err := tx.AddNotification(&coopfed.Notification{CoopID: coopID, Kind: coopfed.NotifyTrade,
		ActivityIRI: t.IRI, ListingIRI: t.ListingIRI, ActorIRI: t.Sender()})
	return err
}

// tradeAnswered finds the trade an Accept or Reject answers. It reports
// false when the object is not one of our Offers (it may be a Follow).
func tradeAnswered(ctx context.Context, in *incoming) (*coopfed.Trade, bool, error) {
	var t *coopfed.Trade
	var err error
	if in.tx != nil {
		t, err = in.tx.TradeByIRI(in.objectID)
	} else {
		t, err = in.f.store.TradeByIRI(ctx, in.objectID)
	}
	if coopfed.ErrorCode(err) == coopfed.ENOTFOUND {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, err
	}
	return t, true, nil
}

// checkTradeAnswer checks an Accept or Reject of one of our Offers before
// the transaction; handled is false when the object is not a trade.
func checkTradeAnswer(ctx context.Context, in *incoming) (handled bool, err error) {
	t, ok, err := tradeAnswered(ctx, in)
	if !ok || err != nil {
		return ok, err
	}
	// Why: only the party the Offer was sent to may accept or reject it;
	// the owner may also reject a counter-offer it could not honour.
	if t.Recipient() != in.signer.IRI && !(in.act.Type.Main() == "Reject" && t.FromOwner && in.signer.IRI == t.OwnerIRI) {
		return true, coopfed.Errorf(coopfed.EFORBIDDEN, "only the coop the offer was sent to can answer it")
	}
	if in.act.Type.Main() == "Accept" {
		var o offerJSON
		if err := decodeJSON(in.raw, &o); err != nil {
			return true, coopfed.Errorf(coopfed.EINVALID, "Accept: %v", err)
		}
		if len(o.Result) > 0 && string(o.Result) != "null" {
			a, err := decodeAgreement(o.Result)
			if err != nil {
				return true, err
			}
			// Why: the agreement names the accepter's own resource.
			if a.ID != "" && !SameHost(a.ID, in.signer.Host) {
				return true, coopfed.Errorf(coopfed.EFORBIDDEN, "the agreement %q is not on the accepter's host", a.ID)
			}
			q, err := a.primary().Quantity.quantity()
			if err != nil {
				return true, err
			}
			// Why: an Accept agrees to the Offer as sent, not to other terms.
			if q.Unit != t.Quantity.Unit || q.Value != t.Quantity.Value {
				return true, coopfed.Errorf(coopfed.EINVALID, "the agreement's quantity %s differs from the offer's %s", q, t.Quantity)
			}
			if hasProof(o.Result) {
				if err := in.f.checkAcceptProof(ctx, in, t, a, o.Result); err != nil {
					return true, err
				}
			}
		}
	}
	return true, nil
}

// applyTradeAccept records the acceptance of one of our Offers; an Accept
// of an Offer already answered changes nothing.
func applyTradeAccept(ctx context.Context, in *incoming) (bool, error) {
	t, ok, err := tradeAnswered(ctx, in)
	if !ok || err != nil {
		return ok, err
	}
	if !t.Open() || t.Recipient() != in.signer.IRI {
		return true, nil
	}
	var o offerJSON
	decodeJSON(in.raw, &o)
	agreement := in.act.ID
	if a, err := decodeAgreement(o.Result); err == nil && a.ID != "" {
		agreement = a.ID
	}
	self := t.Sender()
	c := in.f.partyCoop(ctx, self)
	if c == nil {
		return true, nil
	}
	err = in.f.acceptInTx(ctx, in.tx, c, t, self, in.act.ID, agreement)
	if err == nil && hasProof(o.Result) {
		// The accepter's proof was verified before the transaction; the
		// proposer adds its own, and its ledger keeps both.
		signed, serr := in.f.signAgreement(c, o.Result, in.tx.Now())
		if serr != nil {
			return true, serr
		}
		return true, in.tx.SetAgreementJSON(t, signed)
	}
	if err != nil && coopfed.ErrorCode(err) == coopfed.ECONFLICT && t.FromOwner {
		// Our counter-offer was accepted but the listing no longer has
		// the quantity (or a credit limit was reached): we reject it.
		var e *coopfed.Error
		errors.As(err, &e)
		t.State = coopfed.TradeProposed
		return true, in.f.rejectAccepted(in, c, t, e.Message)
	}
	return true, err
}

// rejectAccepted answers an Accept of our counter-offer that cannot be
// honoured with a Reject of the Offer.
func (f *Federation) rejectAccepted(in *incoming, c *coopfed.Coop, t *coopfed.Trade, reason string) error {
	reject := f.wrap("Reject", f.iris.Activity(f.newID()), t.OwnerIRI, t.IRI, []string{in.signer.IRI}, nil, in.tx.Now())
	reject["content"] = sanitize.Text(reason)
	if err := in.tx.AnswerTrade(t, coopfed.TradeRejected, reject["id"].(string), "", reason); err != nil {
		return err
	}
	_, err := f.send(in.tx, c, reject, t.IRI, false, []string{in.signer.Inbox})
	return err
}

// applyTradeReject records the rejection of one of our Offers.
func applyTradeReject(ctx context.Context, in *incoming) (bool, error) {
	t, ok, err := tradeAnswered(ctx, in)
	if !ok || err != nil {
		return ok, err
	}
	var o offerJSON
	decodeJSON(in.raw, &o)
	reason := truncateRunes(sanitize.PlainText(string(o.Content)), coopfed.MaxTradeReason)
	switch {
	case t.Open() && t.Recipient() == in.signer.IRI:
		return true, in.tx.AnswerTrade(t, coopfed.TradeRejected, in.act.ID, "", reason)
	case t.State == coopfed.TradeAccepted && t.FromOwner && in.signer.IRI == t.OwnerIRI && !t.OwnerConfirmed:
		// The owner could not honour the counter-offer we accepted.
		return true, in.tx.CancelAcceptedTrade(t, in.act.ID, reason)
	}
	return true, nil
}

// applyUndoOffer withdraws an Offer its sender took back.
func applyUndoOffer(ctx context.Context, in *incoming) error {
	t, err := in.tx.TradeByIRI(in.objectID)
	if err != nil {
		return nil
	}
	// Why: only the sender of an Offer may withdraw it.
	if t.Sender() != in.signer.IRI || !t.Open() {
		return nil
	}
	return in.tx.AnswerTrade(t, coopfed.TradeWithdrawn, in.act.ID, "", "")
}

// tradeKind takes the delivery confirmations of trades: Notes whose
// context is an agreement of ours, from the other party.
type tradeKind struct{ f *Federation }

func init() {
	registerObjectKind(func(f *Federation) objectKind { return &tradeKind{f: f} })
}

type receiptJSON struct {
	Context string `json:"context"`
}

func (k *tradeKind) confirmed(ctx context.Context, in *incoming, tx *store.Tx) (*coopfed.Trade, bool) {
	if in.object == nil || in.object.Type.Main() != "Note" || len(in.object.Context) == 0 {
		return nil, false
	}
	var r receiptJSON
	if decodeJSON(in.act.Object, &r) != nil || r.Context == "" {
		return nil, false
	}
	var t *coopfed.Trade
	var err error
	if tx != nil {
		t, err = tx.TradeByAgreement(r.Context)
	} else {
		t, err = k.f.store.TradeByAgreement(ctx, r.Context)
	}
	// Why: only a party of the trade confirms its delivery.
	if err != nil || (in.signer.IRI != t.OwnerIRI && in.signer.IRI != t.ProposerIRI) {
		return nil, false
	}
	return t, true
}

func (k *tradeKind) check(ctx context.Context, in *incoming, op string) (bool, error) {
	if op != "Create" {
		return false, nil
	}
	// Disputes, reviews and their answers share the agreement as context
	// with the delivery confirmations (dispute.go, review.go).
	if j, t, resolved, ok := disputeNote(ctx, in, nil); ok {
		return true, checkDispute(ctx, in, j, t, resolved)
	}
	if j, t, answered, ok := reviewNote(ctx, in, nil); ok {
		return true, checkReview(ctx, in, j, t, answered)
	}
	_, ok := k.confirmed(ctx, in, nil)
	return ok, nil
}

func (k *tradeKind) apply(ctx context.Context, in *incoming, op string) error {
	if _, _, _, ok := disputeNote(ctx, in, in.tx); ok {
		return applyDispute(ctx, in)
	}
	if _, _, _, ok := reviewNote(ctx, in, in.tx); ok {
		return applyReview(ctx, in)
	}
	t, ok := k.confirmed(ctx, in, in.tx)
	if !ok || t.State != coopfed.TradeAccepted {
		return nil
	}
	byOwner := in.signer.IRI == t.OwnerIRI
	if (byOwner && t.OwnerConfirmed) || (!byOwner && t.ProposerConfirmed) {
		return nil
	}
	_, err := in.tx.ConfirmTrade(t, byOwner, in.objectID)
	return err
}

func (k *tradeKind) deleted(ctx context.Context, in *incoming) error { return nil }

// hasProof reports whether a JSON object carries an integrity proof.
func hasProof(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	if decodeJSON(raw, &m) != nil {
		return false
	}
	_, ok := m["proof"]
	return ok
}

// checkAcceptProof verifies the proof of the Agreement an Accept carries:
// by the accepter, about this trade's two parties. An Accept without a
// proof is still taken (FEP-0837 peers need not sign), but one with a
// proof that fails is refused: it is forged or was changed on the way.
func (f *Federation) checkAcceptProof(ctx context.Context, in *incoming, t *coopfed.Trade, a *agreementJSON, raw json.RawMessage) error {
	p := a.primary()
	// Why: the proof must be over this trade's parties, not another's.
	if p.Provider != t.Giver() || p.Receiver != t.Receiver() {
		return coopfed.Errorf(coopfed.EINVALID, "the agreement names other parties than the offer's")
	}
	check, err := f.VerifyAgreement(ctx, raw)
	if err != nil {
		return err
	}
	for _, s := range check.Signers {
		if s.Actor == in.signer.IRI {
			return nil
		}
	}
	return coopfed.Errorf(coopfed.EINVALID, "the agreement is not signed by %s, who accepted it", in.signer.IRI)
}
