package federation

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/coopfed/coopfed/store"
	"github.com/go-fed/activity/streams"
)

// Coops of coops (a federation, a secondary coop): a coop is a member of
// a federation on any instance. The member coop follows the federation
// and records the membership (JoinFederation); the federation's admin
// accepts it by adding the coop's actor as a member of kind coop. When the
// federation opens a motion, the member coop's instance opens an internal
// motion for its own members with the same question and options, closing
// a margin before the federation's deadline; when that closes, its
// outcome is cast into the federation's motion as the coop's vote, a vote
// Note signed by the coop's actor (FEDERATION.md).

// Bounds of an internal motion's deadline: it closes a tenth of the
// federation's remaining voting time early, at most a day, so the cast
// vote reaches the federation before its deadline; with less than
// minMirrorTime left no internal motion is opened.
const (
	maxMirrorMargin = 24 * time.Hour
	minMirrorTime   = 10 * time.Minute
)

// JoinFederation makes a coop a member of a federation named by handle
// or actor IRI: the coop follows it and records the membership, so the
// federation's motions open internal motions here. It returns the
// federation's actor IRI.
func (f *Federation) JoinFederation(ctx context.Context, c *coopfed.Coop, handleOrIRI string) (string, error) {
	if strings.TrimSpace(handleOrIRI) == "" {
		return "", coopfed.FieldErrors(map[string]string{"actor": "the federation's handle (name@host) or actor IRI"})
	}
	fl, err := f.Follow(ctx, c, handleOrIRI)
	if err != nil {
		return "", err
	}
	err = f.store.Update(ctx, func(tx *store.Tx) error { return tx.AddFederation(c.ID, fl.ActorIRI) })
	return fl.ActorIRI, err
}

// mirrorKind takes the Questions of federations that local coops are
// members of and opens an internal motion for each such coop.
type mirrorKind struct{ f *Federation }

func init() {
	registerObjectKind(func(f *Federation) objectKind { return mirrorKind{f: f} })
}

func (k mirrorKind) check(ctx context.Context, in *incoming, op string) (bool, error) {
	// Only the Create opens an internal motion: tally Updates change
	// nothing here, and a Question first seen in an Update was opened
	// before the coop joined.
	return op == "Create" && in.object != nil && in.object.Type.Is("Question"), nil
}

func (k mirrorKind) deleted(ctx context.Context, in *incoming) error { return nil }

func (k mirrorKind) apply(ctx context.Context, in *incoming, op string) error {
	// Why: only a federation the coop itself joined opens motions for its
	// members; any other actor's Question is just a post.
	coops, err := in.tx.CoopsInFederation(in.signer.IRI)
	if err != nil || len(coops) == 0 {
		return err
	}
	for _, id := range coops {
		if _, err := in.tx.MirrorMotion(id, in.objectID); err == nil {
			continue // a redelivered Question: opened already
		} else if coopfed.ErrorCode(err) != coopfed.ENOTFOUND {
			return err
		}
		c, err := k.f.store.CoopByID(ctx, id)
		if err != nil {
			return err
		}
		m, reason := k.mirror(in, c)
		if m == nil {
			k.f.log.Info("federation motion not mirrored", "question", in.objectID, "coop", c.Name, "reason", reason)
			continue
		}
		// A refusal of one coop's internal motion must not undo the
		// others' or the timeline entry: it is logged and skipped.
		if err := in.tx.CreateMotion(m); err != nil {
			if coopfed.ErrorCode(err) == coopfed.ECONFLICT {
				continue
			}
			return err
		}
		if err := k.f.openMotion(in.tx, c, m); err != nil {
			return err
		}
		in.afterCommit = append(in.afterCommit, k.f.delivery.wake)
	}
	return nil
}

// mirror builds the internal motion of a federation's Question for coop
// c, or says why there is none.
func (k mirrorKind) mirror(in *incoming, c *coopfed.Coop) (*coopfed.Motion, string) {
	o := in.object
	now := in.tx.Now()
	end := o.pollEnd()
	if end.IsZero() {
		return nil, "the Question has no endTime"
	}
	left := end.Sub(now)
	if left < minMirrorTime {
		return nil, "too little time left before the federation's deadline"
	}
	m := &coopfed.Motion{CoopID: c.ID, Title: sanitize.PlainText(string(o.Name)), OpensAt: now, ClosesAt: end.Add(-min(maxMirrorMargin, left/10)),
		Quorum: 0, Threshold: 0.5, MirrorOf: in.objectID, MirrorActor: in.signer.IRI}
	if r := []rune(m.Title); len(r) > coopfed.MaxMotionTitle {
		m.Title = string(r[:coopfed.MaxMotionTitle])
	}
	if q := float64(o.Quorum); q >= 0 && q <= 1 {
		m.Quorum = q
	}
	if t := float64(o.Threshold); t > 0 && t <= 1 {
		m.Threshold = t
	}
	options := o.OneOf
	m.Kind = coopfed.MotionChoice
	if len(o.AnyOf) > 0 {
		options, m.Kind = o.AnyOf, coopfed.MotionMultiple
	}
	for _, opt := range options {
		m.Options = append(m.Options, opt.Name)
	}
	switch kind := string(o.MotionKind); {
	case kind == coopfed.MotionConsent:
		m.Kind, m.Options = coopfed.MotionConsent, nil
	case kind == coopfed.MotionPoll && m.Kind == coopfed.MotionMultiple, kind == coopfed.MotionAdvice && m.Kind == coopfed.MotionChoice:
		m.Kind = kind // the same shape of ballot, the finer rules
	}
	m.Text = fmt.Sprintf("The federation %s put this motion to its member coops: %s\n\nThis coop's outcome is cast as its vote there when voting here closes.", in.signer.Handle(), in.objectID)
	m.Normalize()
	if err := m.Validate(now); err != nil {
		return nil, coopfed.ErrorMessage(err)
	}
	if m.Kind == coopfed.MotionConsent && len(o.OneOf) > 0 {
		// Why: the cast vote names one of the federation's options; a
		// consent Question with other options could not take it.
		for _, opt := range o.OneOf {
			if !m.HasOption(opt.Name) {
				return nil, "a consent motion with options other than Agree, Abstain, Disagree and Block"
			}
		}
	}
	m.IRI = k.f.iris.Motion(k.f.newID())
	return m, ""
}

// mirrorVote is what a closed internal motion casts: the options, in order
// (a ranking for a ranked motion), or none when the coop decided nothing.
//   - Consent: carried casts Agree, blocked Block, not carried Disagree,
//     no quorum Abstain (the coop took part and did not decide).
//   - Choice, multiple choice and time poll: the options that carried;
//     otherwise an abstention when the motion offers one, else nothing.
//   - Advice: the position most members stated, if one leads alone.
func mirrorVote(m *coopfed.Motion, r coopfed.Result) []string {
	if m.Kind == coopfed.MotionConsent {
		switch r.Outcome {
		case coopfed.OutcomeCarried:
			return []string{coopfed.ConsentAgree}
		case coopfed.OutcomeBlocked:
			return []string{coopfed.ConsentBlock}
		case coopfed.OutcomeNotCarried:
			return []string{coopfed.ConsentDisagree}
		}
		return []string{coopfed.ConsentAbstain}
	}
	if r.Outcome == coopfed.OutcomeCarried {
		return r.Carried
	}
	if m.Kind == coopfed.MotionAdvice {
		lead, best, tied := "", 0, false
		for _, oc := range r.Options {
			switch {
			case oc.Votes > best:
				lead, best, tied = oc.Name, oc.Votes, false
			case oc.Votes == best && best > 0:
				tied = true
			}
		}
		if lead == "" || tied {
			return nil
		}
		return []string{lead}
	}
	for _, o := range m.Options {
		if coopfed.IsAbstention(o) {
			return []string{o}
		}
	}
	return nil
}

// castMirror sends a closed internal motion's outcome to the federation:
// one vote Note per option, as a Mastodon account answers a poll,
// attributed to and signed by the coop's actor, with the outcome in words
// as the reason. The first Note's id is kept as the motion's cast vote.
func (f *Federation) castMirror(tx *store.Tx, c *coopfed.Coop, m *coopfed.Motion, r coopfed.Result) error {
	choices := mirrorVote(m, r)
	if len(choices) == 0 {
		f.log.Info("internal motion decided nothing to cast", "motion", m.IRI)
		return nil
	}
	fed, err := tx.RemoteActor(m.MirrorActor)
	if err != nil {
		return err
	}
	reason := m.OutcomeText
	if utf8.RuneCountInString(reason) > coopfed.MaxReason {
		reason = string([]rune(reason)[:coopfed.MaxReason-1]) + "…"
	}
	coopIRI := f.iris.Coop(c.Name)
	now := tx.Now()
	var first string
	for _, choice := range choices {
		id := f.iris.Note(f.newID())
		if first == "" {
			first = id
		}
		note := f.voteNote(id, coopIRI, fed.IRI, m.MirrorOf, choice, reason, now)
		objJSON, err := Marshal(withContext(note, questionContext))
		if err != nil {
			return err
		}
		if err := tx.InsertObject(&store.Object{IRI: id, CoopID: c.ID, Type: "Note", Content: choice, JSON: objJSON, Published: now}); err != nil {
			return err
		}
		create := f.wrap("Create", id+"/activity", coopIRI, note, []string{fed.IRI}, nil, now)
		create["@context"] = questionContext
		if _, err := f.send(tx, c, create, id, false, []string{fed.Inbox}); err != nil {
			return err
		}
	}
	m.CastIRI = first
	return tx.SetCastIRI(m.ID, first)
}

// voteNote is a vote as Mastodon sends it (a Note with the option's name,
// inReplyTo the Question, no content, addressed to the poll's author),
// with the reason as the voteReason extension term.
func (f *Federation) voteNote(id, actor, to, question, option, reason string, published time.Time) map[string]any {
	o := streams.NewActivityStreamsNote()
	o.SetJSONLDId(idProp(id))
	o.SetActivityStreamsAttributedTo(attributedToProp(actor))
	o.SetActivityStreamsName(nameProp(option))
	o.SetActivityStreamsPublished(publishedProp(published))
	irt := streams.NewActivityStreamsInReplyToProperty()
	irt.AppendIRI(mustURL(question))
	o.SetActivityStreamsInReplyTo(irt)
	extra := map[string]any{"to": []string{to}}
	if reason != "" {
		extra["voteReason"] = reason
	}
	doc, err := serialize(o, nil, extra)
	if err != nil {
		panic(err) // a Note of fixed shape always serialises
	}
	return doc
}
