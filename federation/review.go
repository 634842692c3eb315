package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/coopfed/coopfed/store"
)

// Reviews: after a fulfilled trade each party may publish one review of
// the other, a public Create(Note) whose context is the agreement and
// inReplyTo the trade's Offer, with coopfed:rating (1 to 5) and
// coopfed:reviewText beside a content Mastodon shows as it is. The coop
// reviewed may answer once, with a Note inReplyTo the review and the same
// context. Both parties' instances keep reviews; the reviewed coop's
// public page shows them as its track record.

// reviewContext is the context of reviews and their answers.
var reviewContext = []any{
	ContextActivityStreams,
	map[string]any{
		"coopfed":    NamespaceCoopfed,
		"rating":     "coopfed:rating",
		"reviewText": "coopfed:reviewText",
	},
}

// ObjectReview is the stored type of a review or answer Note of a local
// coop: served at its IRI, not listed among the coop's announcements.
const ObjectReview = "Review"

// reviewDoc is the Create(Note) of a review by coop c (self) of its
// counterpart in t.
func (f *Federation) reviewDoc(c *coopfed.Coop, t *coopfed.Trade, r *coopfed.Review) map[string]any {
	subject := r.SubjectIRI
	head := fmt.Sprintf("Review after trading %s: %s (%d/5)", t.ListingTitle, r.Stars(), r.Rating)
	// sanitize.Text makes each paragraph; the Mention tag names the coop
	// reviewed, as Mastodon expects of a post addressed to it.
	content := sanitize.Text(head)
	if r.Text != "" {
		content += sanitize.Text(r.Text)
	}
	note := map[string]any{
		"id": r.IRI, "type": "Note", "attributedTo": r.AuthorIRI, "context": t.AgreementIRI, "inReplyTo": t.IRI,
		"content": content, "rating": r.Rating, "reviewText": r.Text,
		"to": []string{PublicIRI}, "cc": []string{subject, f.iris.CoopFollowers(c.Name)},
		"tag":       []any{map[string]any{"type": "Mention", "href": subject}},
		"published": r.Created.UTC().Format("2006-01-02T15:04:05Z"),
	}
	create := f.wrap("Create", r.IRI+"/activity", r.AuthorIRI, note, note["to"].([]string), note["cc"].([]string), r.Created)
	create["@context"] = reviewContext
	return create
}

// replyDoc is the Create(Note) of the reviewed coop's answer.
func (f *Federation) replyDoc(c *coopfed.Coop, t *coopfed.Trade, r *coopfed.Review) map[string]any {
	note := map[string]any{
		"id": r.ReplyIRI, "type": "Note", "attributedTo": r.SubjectIRI, "context": t.AgreementIRI, "inReplyTo": r.IRI,
		"content": sanitize.Text(r.Reply),
		"to":      []string{PublicIRI}, "cc": []string{r.AuthorIRI, f.iris.CoopFollowers(c.Name)},
		"published": r.Replied.UTC().Format("2006-01-02T15:04:05Z"),
	}
	create := f.wrap("Create", r.ReplyIRI+"/activity", r.SubjectIRI, note, note["to"].([]string), note["cc"].([]string), r.Replied)
	create["@context"] = reviewContext
	return create
}

// storeReviewNote keeps a review's or answer's Note so that its IRI
// resolves.
func (f *Federation) storeReviewNote(tx *store.Tx, c *coopfed.Coop, create map[string]any) error {
	note := withContext(create["object"].(map[string]any), reviewContext)
	body, err := Marshal(note)
	if err != nil {
		return err
	}
	text, _ := note["content"].(string)
	return tx.InsertObject(&store.Object{IRI: note["id"].(string), CoopID: c.ID, Type: ObjectReview,
		Content: sanitize.PlainText(text), JSON: body, Published: tx.Now()})
}

// ReviewTrade publishes coop c's review of its counterpart in a fulfilled
// trade: once per trade and party.
func (f *Federation) ReviewTrade(ctx context.Context, c *coopfed.Coop, tradeIRI string, rating int, text string) (*coopfed.Review, error) {
	t, self, err := f.ownTrade(ctx, c, tradeIRI)
	if err != nil {
		return nil, err
	}
	text = strings.TrimSpace(text)
	if err := coopfed.ValidateReview(rating, text); err != nil {
		return nil, err
	}
	// Why: a review speaks of a trade both sides confirmed; before that
	// there is nothing to rate, and a rejected offer is not a trade.
	if t.State != coopfed.TradeFulfilled {
		return nil, coopfed.Errorf(coopfed.ECONFLICT, "only a fulfilled trade can be reviewed (this one is %s)", t.State)
	}
	subject := t.Counterpart(self)
	inbox, err := f.partyInbox(ctx, subject)
	if err != nil {
		return nil, err
	}
	r := &coopfed.Review{IRI: f.iris.Note(f.newID()), TradeID: t.ID, TradeIRI: t.IRI, ListingTitle: t.ListingTitle,
		AuthorIRI: self, SubjectIRI: subject, Rating: rating, Text: text}
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		r.Created = tx.Now()
		if err := tx.InsertReview(r); err != nil {
			return err
		}
		create := f.reviewDoc(c, t, r)
		if err := f.storeReviewNote(tx, c, create); err != nil {
			return err
		}
		var extra []string
		if inbox != "" {
			extra = []string{inbox}
		}
		_, err := f.sendToFollowersAnd(tx, c, create, r.IRI, true, extra)
		return err
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return r, nil
}

// AnswerReview publishes the reviewed coop's one answer to a review.
func (f *Federation) AnswerReview(ctx context.Context, c *coopfed.Coop, reviewIRI, text string) (*coopfed.Review, error) {
	r, err := f.store.ReviewByIRI(ctx, reviewIRI)
	if err != nil {
		return nil, err
	}
	self := f.iris.Coop(c.Name)
	// Why: the answer is the reviewed coop's say, nobody else's.
	if r.SubjectIRI != self {
		return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "only the coop reviewed can answer a review")
	}
	text = strings.TrimSpace(text)
	if err := coopfed.ValidateReply(text); err != nil {
		return nil, err
	}
	t, err := f.store.TradeByIRI(ctx, r.TradeIRI)
	if err != nil {
		return nil, err
	}
	inbox, err := f.partyInbox(ctx, r.AuthorIRI)
	if err != nil {
		return nil, err
	}
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.ReplyToReview(r, text, f.iris.Note(f.newID())); err != nil {
			return err
		}
		create := f.replyDoc(c, t, r)
		if err := f.storeReviewNote(tx, c, create); err != nil {
			return err
		}
		var extra []string
		if inbox != "" {
			extra = []string{inbox}
		}
		_, err := f.sendToFollowersAnd(tx, c, create, r.ReplyIRI, true, extra)
		return err
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return r, nil
}

// --- incoming ---

// reviewNoteJSON is what a review or answer Note carries beyond object.
type reviewNoteJSON struct {
	Context    string          `json:"context"`
	Rating     json.RawMessage `json:"rating"`
	ReviewText string          `json:"reviewText"`
	InReplyTo  refs            `json:"inReplyTo"`
}

// reviewNote reads a Create(Note) as a review (rating set) or an answer
// (inReplyTo a known review). It reports false for any other Note.
func reviewNote(ctx context.Context, in *incoming, tx *store.Tx) (n *reviewNoteJSON, t *coopfed.Trade, answered *coopfed.Review, ok bool) {
	if in.object == nil || in.object.Type.Main() != "Note" || len(in.object.Context) == 0 {
		return nil, nil, nil, false
	}
	var j reviewNoteJSON
	if decodeJSON(in.act.Object, &j) != nil || j.Context == "" {
		return nil, nil, nil, false
	}
	var err error
	if tx != nil {
		t, err = tx.TradeByAgreement(j.Context)
	} else {
		t, err = in.f.store.TradeByAgreement(ctx, j.Context)
	}
	if err != nil {
		return nil, nil, nil, false // not a trade of ours
	}
	if len(j.Rating) > 0 {
		return &j, t, nil, true
	}
	if parent := j.InReplyTo.First(); parent != "" {
		var r *coopfed.Review
		if tx != nil {
			r, err = tx.ReviewByIRI(parent)
		} else {
			r, err = in.f.store.ReviewByIRI(ctx, parent)
		}
		if err == nil && r.TradeID == t.ID {
			return &j, t, r, true
		}
	}
	return nil, nil, nil, false
}

// checkReview validates an incoming review or answer before the
// transaction; the rules are those of ReviewTrade and AnswerReview.
func checkReview(ctx context.Context, in *incoming, j *reviewNoteJSON, t *coopfed.Trade, answered *coopfed.Review) error {
	if !in.object.AttributedTo.Has(in.signer.IRI) {
		return coopfed.Errorf(coopfed.EFORBIDDEN, "the note is not attributed to its sender")
	}
	if answered != nil {
		// Why: the answer is the reviewed coop's say, nobody else's.
		if answered.SubjectIRI != in.signer.IRI {
			return coopfed.Errorf(coopfed.EFORBIDDEN, "only the coop reviewed can answer a review")
		}
		if answered.ReplyIRI != "" {
			return coopfed.Errorf(coopfed.ECONFLICT, "this review was already answered")
		}
		return coopfed.ValidateReply(reviewReplyText(in))
	}
	// Why: only the two parties of a trade can say how it went.
	if in.signer.IRI != t.OwnerIRI && in.signer.IRI != t.ProposerIRI {
		return coopfed.Errorf(coopfed.EFORBIDDEN, "only a party to the trade can review it")
	}
	if t.State != coopfed.TradeFulfilled {
		return coopfed.Errorf(coopfed.ECONFLICT, "only a fulfilled trade can be reviewed (this one is %s)", t.State)
	}
	var rating int
	if decodeJSON(j.Rating, &rating) != nil {
		return coopfed.FieldErrors(map[string]string{"rating": "a whole number from 1 to 5"})
	}
	if err := coopfed.ValidateReview(rating, strings.TrimSpace(j.ReviewText)); err != nil {
		return err
	}
	reviews, err := in.f.store.TradeReviews(ctx, t.ID)
	if err != nil {
		return err
	}
	for _, r := range reviews {
		if r.AuthorIRI == in.signer.IRI {
			return coopfed.Errorf(coopfed.ECONFLICT, "this coop already reviewed this trade")
		}
	}
	return nil
}

func reviewReplyText(in *incoming) string {
	return strings.TrimSpace(sanitize.PlainText(string(in.object.Content)))
}

// applyReview stores an incoming review or answer that checkReview took.
func applyReview(ctx context.Context, in *incoming) error {
	j, t, answered, ok := reviewNote(ctx, in, in.tx)
	if !ok {
		return nil
	}
	if answered != nil {
		return in.tx.ReplyToReview(answered, reviewReplyText(in), in.objectID)
	}
	var rating int
	decodeJSON(j.Rating, &rating)
	return in.tx.InsertReview(&coopfed.Review{IRI: in.objectID, TradeID: t.ID, AuthorIRI: in.signer.IRI,
		SubjectIRI: t.Counterpart(in.signer.IRI), Rating: rating, Text: strings.TrimSpace(j.ReviewText)})
}
