package federation

import (
	"context"
	"strings"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/coopfed/coopfed/store"
)

// Disputes: a party to an accepted trade objects to it with a Create(Note)
// addressed to the other party only, whose context is the agreement,
// inReplyTo the trade's Offer and coopfed:disputeReason the reason. Either
// party resolves it with a Note inReplyTo the dispute carrying
// coopfed:disputeResolution. Both instances keep the dispute; each coop's
// track record counts the disputes of its trades.

// disputeContext is the context of disputes and their resolutions.
var disputeContext = []any{
	ContextActivityStreams,
	map[string]any{
		"coopfed":           NamespaceCoopfed,
		"disputeReason":     "coopfed:disputeReason",
		"disputeResolution": "coopfed:disputeResolution",
	},
}

// ObjectDispute is the stored type of a dispute or resolution Note of a
// local coop: served at its IRI to the parties' servers, never listed.
const ObjectDispute = "Dispute"

// disputeDoc is the Create(Note) opening dispute d of trade t.
func (f *Federation) disputeDoc(t *coopfed.Trade, d *coopfed.Dispute) map[string]any {
	other := t.Counterpart(d.OpenerIRI)
	note := map[string]any{
		"id": d.IRI, "type": "Note", "attributedTo": d.OpenerIRI, "context": t.AgreementIRI, "inReplyTo": t.IRI,
		"content":       sanitize.Text("Dispute about the trade of " + t.ListingTitle + ": " + d.Reason),
		"disputeReason": d.Reason, "to": []string{other},
		"tag":       []any{map[string]any{"type": "Mention", "href": other}},
		"published": d.Created.UTC().Format("2006-01-02T15:04:05Z"),
	}
	create := f.wrap("Create", d.IRI+"/activity", d.OpenerIRI, note, []string{other}, nil, d.Created)
	create["@context"] = disputeContext
	return create
}

// resolutionDoc is the Create(Note) resolving dispute d.
func (f *Federation) resolutionDoc(t *coopfed.Trade, d *coopfed.Dispute) map[string]any {
	other := t.Counterpart(d.ResolvedBy)
	note := map[string]any{
		"id": d.ResolveIRI, "type": "Note", "attributedTo": d.ResolvedBy, "context": t.AgreementIRI, "inReplyTo": d.IRI,
		"content":           sanitize.Text("Dispute resolved: " + d.Resolution),
		"disputeResolution": d.Resolution, "to": []string{other},
		"tag":       []any{map[string]any{"type": "Mention", "href": other}},
		"published": d.Resolved.UTC().Format("2006-01-02T15:04:05Z"),
	}
	create := f.wrap("Create", d.ResolveIRI+"/activity", d.ResolvedBy, note, []string{other}, nil, d.Resolved)
	create["@context"] = disputeContext
	return create
}

// sendDisputeNote keeps a dispute Note so its IRI resolves, and sends it
// to the other party when that party is remote.
func (f *Federation) sendDisputeNote(tx *store.Tx, c *coopfed.Coop, create map[string]any, inbox string) error {
	note := withContext(create["object"].(map[string]any), disputeContext)
	body, err := Marshal(note)
	if err != nil {
		return err
	}
	id := note["id"].(string)
	if err := tx.InsertObject(&store.Object{IRI: id, CoopID: c.ID, Type: ObjectDispute,
		Content: sanitize.PlainText(note["content"].(string)), JSON: body, Published: tx.Now()}); err != nil {
		return err
	}
	if inbox == "" {
		return nil
	}
	_, err = f.send(tx, c, create, id, false, []string{inbox})
	return err
}

// disputable reports why trade t cannot be disputed, or nil.
func disputable(t *coopfed.Trade) error {
	// Why: a dispute is about commitments both sides made; an offer not
	// accepted commits nobody to anything.
	if t.State != coopfed.TradeAccepted && t.State != coopfed.TradeFulfilled {
		return coopfed.Errorf(coopfed.ECONFLICT, "only an accepted trade can be disputed (this one is %s)", t.State)
	}
	return nil
}

// OpenDispute opens coop c's dispute of one of its accepted trades.
func (f *Federation) OpenDispute(ctx context.Context, c *coopfed.Coop, tradeIRI, reason string) (*coopfed.Dispute, error) {
	t, self, err := f.ownTrade(ctx, c, tradeIRI)
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if err := coopfed.ValidateDisputeText("reason", reason); err != nil {
		return nil, err
	}
	if err := disputable(t); err != nil {
		return nil, err
	}
	inbox, err := f.partyInbox(ctx, t.Counterpart(self))
	if err != nil {
		return nil, err
	}
	d := &coopfed.Dispute{IRI: f.iris.Note(f.newID()), TradeID: t.ID, TradeIRI: t.IRI, ListingTitle: t.ListingTitle,
		OpenerIRI: self, Reason: reason}
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		d.Created = tx.Now()
		if err := tx.OpenDispute(d); err != nil {
			return err
		}
		return f.sendDisputeNote(tx, c, f.disputeDoc(t, d), inbox)
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return d, nil
}

// ResolveDispute resolves an open dispute of one of coop c's trades;
// either party may.
func (f *Federation) ResolveDispute(ctx context.Context, c *coopfed.Coop, disputeIRI, resolution string) (*coopfed.Dispute, error) {
	d, err := f.store.DisputeByIRI(ctx, disputeIRI)
	if err != nil {
		return nil, err
	}
	t, self, err := f.ownTrade(ctx, c, d.TradeIRI)
	if err != nil {
		return nil, coopfed.Errorf(coopfed.ENOTFOUND, "dispute not found")
	}
	resolution = strings.TrimSpace(resolution)
	if err := coopfed.ValidateDisputeText("resolution", resolution); err != nil {
		return nil, err
	}
	if !d.Open() {
		return nil, coopfed.Errorf(coopfed.ECONFLICT, "this dispute is already resolved")
	}
	inbox, err := f.partyInbox(ctx, t.Counterpart(self))
	if err != nil {
		return nil, err
	}
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.ResolveDispute(d, self, resolution, f.iris.Note(f.newID())); err != nil {
			return err
		}
		return f.sendDisputeNote(tx, c, f.resolutionDoc(t, d), inbox)
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return d, nil
}

// --- incoming ---

// disputeNoteJSON is what a dispute or resolution Note carries.
type disputeNoteJSON struct {
	Context    string  `json:"context"`
	Reason     *string `json:"disputeReason"`
	Resolution *string `json:"disputeResolution"`
	InReplyTo  refs    `json:"inReplyTo"`
}

// disputeNote reads a Create(Note) as a dispute (disputeReason set) or a
// resolution (disputeResolution set, inReplyTo a dispute of the trade).
// It reports false for any other Note.
func disputeNote(ctx context.Context, in *incoming, tx *store.Tx) (j *disputeNoteJSON, t *coopfed.Trade, resolved *coopfed.Dispute, ok bool) {
	if in.object == nil || in.object.Type.Main() != "Note" || len(in.object.Context) == 0 {
		return nil, nil, nil, false
	}
	var n disputeNoteJSON
	if decodeJSON(in.act.Object, &n) != nil || n.Context == "" || (n.Reason == nil && n.Resolution == nil) {
		return nil, nil, nil, false
	}
	var err error
	if tx != nil {
		t, err = tx.TradeByAgreement(n.Context)
	} else {
		t, err = in.f.store.TradeByAgreement(ctx, n.Context)
	}
	if err != nil {
		return nil, nil, nil, false // not a trade of ours
	}
	if n.Reason != nil {
		return &n, t, nil, true
	}
	parent := n.InReplyTo.First()
	var d *coopfed.Dispute
	if tx != nil {
		d, err = tx.DisputeByIRI(parent)
	} else {
		d, err = in.f.store.DisputeByIRI(ctx, parent)
	}
	if err != nil || d.TradeID != t.ID {
		return &n, t, nil, true // checkDispute refuses it
	}
	return &n, t, d, true
}

// checkDispute validates an incoming dispute or resolution before the
// transaction; the rules are those of OpenDispute and ResolveDispute.
func checkDispute(ctx context.Context, in *incoming, j *disputeNoteJSON, t *coopfed.Trade, resolved *coopfed.Dispute) error {
	if !in.object.AttributedTo.Has(in.signer.IRI) {
		return coopfed.Errorf(coopfed.EFORBIDDEN, "the note is not attributed to its sender")
	}
	// Why: a dispute is between the two parties; anyone else's say about
	// the trade is not one.
	if in.signer.IRI != t.OwnerIRI && in.signer.IRI != t.ProposerIRI {
		return coopfed.Errorf(coopfed.EFORBIDDEN, "only a party to the trade can open or resolve a dispute")
	}
	if j.Reason != nil {
		if err := coopfed.ValidateDisputeText("reason", strings.TrimSpace(*j.Reason)); err != nil {
			return err
		}
		if err := disputable(t); err != nil {
			return err
		}
		disputes, err := in.f.store.TradeDisputes(ctx, t.ID)
		if err != nil {
			return err
		}
		for _, d := range disputes {
			if d.Open() {
				return coopfed.Errorf(coopfed.ECONFLICT, "this trade already has an open dispute")
			}
		}
		return nil
	}
	if resolved == nil {
		return coopfed.Errorf(coopfed.ENOTFOUND, "the resolution answers no dispute of this trade")
	}
	if !resolved.Open() {
		return coopfed.Errorf(coopfed.ECONFLICT, "this dispute is already resolved")
	}
	return coopfed.ValidateDisputeText("resolution", strings.TrimSpace(*j.Resolution))
}

// applyDispute stores an incoming dispute or resolution checkDispute took.
func applyDispute(ctx context.Context, in *incoming) error {
	j, t, resolved, ok := disputeNote(ctx, in, in.tx)
	if !ok {
		return nil
	}
	if j.Reason == nil {
		if resolved == nil {
			return coopfed.Errorf(coopfed.ENOTFOUND, "the resolution answers no dispute of this trade")
		}
		return in.tx.ResolveDispute(resolved, in.signer.IRI, strings.TrimSpace(*j.Resolution), in.objectID)
	}
	return in.tx.OpenDispute(&coopfed.Dispute{IRI: in.objectID, TradeID: t.ID, OpenerIRI: in.signer.IRI,
		Reason: strings.TrimSpace(*j.Reason)})
}
