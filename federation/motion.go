package federation

import (
	"context"
	"errors"
	"html"
	"slices"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/coopfed/coopfed/store"
	"github.com/go-fed/activity/streams"
)

// Motions federate as Mastodon polls (DESIGN 4.3, FEP-9967): a Question
// with oneOf (single choice, consent included) or anyOf (multiple choice),
// each option a Note whose replies.totalItems is its tally. Our own rules
// travel as extension terms in the coopfed namespace and, for servers that
// ignore those, in the content as words.

// questionContext is the context of motions and the activities carrying
// them: Mastodon reads votersCount by its toot: IRI; the coopfed terms are
// documented in FEDERATION.md.
var questionContext = []any{
	ContextActivityStreams,
	map[string]any{
		"sensitive":     "as:sensitive",
		"Hashtag":       "as:Hashtag",
		"toot":          "http://joinmastodon.org/ns#",
		"votersCount":   "toot:votersCount",
		"coopfed":       NamespaceCoopfed,
		"eligibility":   map[string]any{"@id": "coopfed:eligibility", "@type": "@id"},
		"quorum":        "coopfed:quorum",
		"threshold":     "coopfed:threshold",
		"motionKind":    "coopfed:motionKind",
		"outcome":       "coopfed:outcome",
		"method":        "coopfed:method",
		"dots":          "coopfed:dots",
		"ballotOptions": map[string]any{"@id": "coopfed:ballotOptions", "@container": "@list"},
		"points":        "coopfed:points",
		"ranking":       map[string]any{"@id": "coopfed:ranking", "@container": "@list"},
		"scores":        "coopfed:scores",
		"voteReason":    "coopfed:voteReason",
		"phase":         "coopfed:phase",
		"votingOpens":   map[string]any{"@id": "coopfed:votingOpens", "@type": "xsd:dateTime"},
		"reviewDate":    map[string]any{"@id": "coopfed:reviewDate", "@type": "xsd:dateTime"},
		"followUpOf":    map[string]any{"@id": "coopfed:followUpOf", "@type": "@id"},
		"xsd":           "http://www.w3.org/2001/XMLSchema#",
		"classCount":    "coopfed:classCount",
		"memberClasses": map[string]any{"@id": "coopfed:memberClasses", "@container": "@list"},
		"weight":        "coopfed:weight",
		"eligibleCount": "coopfed:eligibleCount",
	},
}

// MotionDocument returns the Question served at a motion's IRI, with the
// current tally.
func (f *Federation) MotionDocument(ctx context.Context, c *coopfed.Coop, m *coopfed.Motion) (map[string]any, error) {
	ballots, err := f.store.Ballots(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	q := f.question(c, m, coopfed.Tally(m, m.Eligible, ballots), m.LastTally)
	q["@context"] = questionContext
	return q, nil
}

// question builds a motion's Question. updated, when set, is written as
// `updated` (FEP-9967 requires it on every Update of a poll).
func (f *Federation) question(c *coopfed.Coop, m *coopfed.Motion, r coopfed.Result, updated *time.Time) map[string]any {
	actor := f.iris.Coop(c.Name)
	q := streams.NewActivityStreamsQuestion()
	q.SetJSONLDId(idProp(m.IRI))
	q.SetActivityStreamsAttributedTo(attributedToProp(actor))
	q.SetActivityStreamsName(nameProp(m.Title))
	q.SetActivityStreamsContent(contentProp(questionContent(m)))
	published := m.OpensAt
	if m.Discussed {
		published = m.CreatedAt // published for discussion before voting
	}
	q.SetActivityStreamsPublished(publishedProp(published))
	q.SetActivityStreamsUrl(urlProp(m.IRI))
	q.SetActivityStreamsTo(toProp(PublicIRI))
	q.SetActivityStreamsCc(ccProp(f.iris.CoopFollowers(c.Name)))
	end := m.ClosesAt
	if m.ClosedAt != nil && m.ClosedAt.Before(end) {
		end = *m.ClosedAt // closed early: the poll ended then
	}
	et := streams.NewActivityStreamsEndTimeProperty()
	et.Set(end.UTC().Truncate(time.Second))
	q.SetActivityStreamsEndTime(et)
	doc, err := serialize(q, nil, nil)
	if err != nil {
		panic(err) // a Question of fixed shape always serialises
	}
	options := make([]any, 0, len(r.Options))
	for _, oc := range r.Options {
		options = append(options, map[string]any{
			"type":    "Note",
			"name":    oc.Name,
			"replies": map[string]any{"type": "Collection", "totalItems": oc.Votes},
		})
	}
	// Why: Mastodon renders a poll from oneOf/anyOf, endTime and
	// votersCount; a consent motion takes one answer, so it is oneOf.
	// A ranked or score motion is a Note instead: a poll vote cannot carry
	// a ranking or dots, so Mastodon must not offer one; the options go in
	// ballotOptions with their points, and the content links to the page
	// where members vote.
	switch {
	case !m.Mapped():
		doc["type"] = "Note"
		for i, oc := range r.Options {
			options[i].(map[string]any)["points"] = oc.Points
		}
		doc["ballotOptions"] = options
	case m.Multiple():
		doc["anyOf"] = options
	default:
		doc["oneOf"] = options
	}
	if m.Method != "" {
		doc["method"] = m.Method
	}
	if m.Dots > 0 {
		doc["dots"] = m.Dots
	}
	doc["votersCount"] = r.Voters
	doc["sensitive"] = false
	doc["tag"] = []any{}
	doc["eligibility"] = f.iris.CoopMembers(c.Name)
	doc["quorum"] = m.Quorum
	doc["threshold"] = m.Threshold
	doc["motionKind"] = m.Kind
	if classes := memberClassesTerm(m, r); classes != nil {
		doc["memberClasses"] = classes
		if m.ClassCount != coopfed.CountEveryone {
			doc["classCount"] = m.ClassCount
		}
	}
	// Why: peers that know the cycle show where the motion is; the
	// phase is also in the content, in words, for those that do not.
	doc["phase"] = m.Phase
	if m.State == coopfed.MotionScheduled {
		doc["votingOpens"] = m.OpensAt.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	if m.ReviewAt != nil {
		doc["reviewDate"] = m.ReviewAt.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	if m.FollowUpOf != "" {
		doc["followUpOf"] = m.FollowUpOf
	}
	if m.State == coopfed.MotionClosed && m.ClosedAt != nil {
		// Mastodon's form of closed is the dateTime the poll closed.
		doc["closed"] = m.ClosedAt.UTC().Truncate(time.Second).Format(time.RFC3339)
		if m.Outcome != coopfed.OutcomeNone {
			doc["outcome"] = m.Outcome // an advice motion decides nothing
		}
	}
	if updated != nil {
		doc["updated"] = updated.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	return doc
}

// memberClassesTerm is the memberClasses extension term of a motion that
// counts or restricts classes: one entry per class that votes, with its
// weight on a weighted motion and, counted by class, its eligible members,
// voters and (closed) outcome. nil when classes play no part.
func memberClassesTerm(m *coopfed.Motion, r coopfed.Result) []any {
	if m.ClassCount == coopfed.CountEveryone && len(m.Classes) == 0 {
		return nil
	}
	names := slices.Clone(m.Classes)
	if len(names) == 0 {
		for _, w := range m.Weights {
			names = append(names, w.Class)
		}
		for _, ce := range m.ClassEligible {
			if !slices.Contains(names, ce.Class) {
				names = append(names, ce.Class)
			}
		}
	}
	out := make([]any, 0, len(names))
	for _, name := range names {
		e := map[string]any{"type": "coopfed:MemberClass", "name": name}
		if m.ClassCount == coopfed.CountWeighted {
			w := 1
			for _, cw := range m.Weights {
				if cw.Class == name {
					w = cw.Weight
				}
			}
			e["weight"] = w
		}
		for _, cr := range r.Classes {
			if cr.Class != name {
				continue
			}
			e["eligibleCount"], e["votersCount"] = cr.Eligible, cr.Voters
			if m.State == coopfed.MotionClosed {
				e["outcome"] = cr.Outcome
			}
		}
		out = append(out, e)
	}
	return out
}

// questionContent states the motion and its rules in words, and its
// outcome once closed, for servers that show only the text.
func questionContent(m *coopfed.Motion) string {
	var b strings.Builder
	b.WriteString("<p><strong>" + html.EscapeString(m.Title) + "</strong></p>")
	if m.Text != "" {
		b.WriteString(sanitize.Text(m.Text))
	}
	b.WriteString(sanitize.Text(m.RulesText()))
	if m.State == coopfed.MotionScheduled {
		b.WriteString(sanitize.Text("Under discussion: reply to discuss the proposal. Voting opens " + m.OpensAt.UTC().Format("2 Jan 2006 15:04 UTC") + "; votes sent before then are not counted."))
	}
	if m.FollowUpOf != "" {
		b.WriteString(`<p>Follow-up of <a href="` + html.EscapeString(m.FollowUpOf) + `">` + html.EscapeString(m.FollowUpOf) + `</a></p>`)
	}
	if !m.Mapped() && m.State == coopfed.MotionOpen {
		b.WriteString(`<p>Vote at <a href="` + html.EscapeString(m.IRI) + `">` + html.EscapeString(m.IRI) + `</a></p>`)
	}
	if m.State == coopfed.MotionClosed && m.OutcomeText != "" {
		b.WriteString(sanitize.Text("Outcome: " + m.OutcomeText))
	}
	switch m.Phase {
	case coopfed.PhaseImplementation:
		b.WriteString("<p>Phase: implementation. The outcome is being carried out.</p>")
	case coopfed.PhaseReview:
		b.WriteString("<p>Phase: review. Did it work? Members record their review on the motion's page.</p>")
	}
	return b.String()
}

// CreateMotion validates and stores a motion of a coop. When voting opens
// now, the eligible members are fixed and the Question goes to the coop's
// followers in the same transaction; a motion opening later is opened by
// the governance job.
func (f *Federation) CreateMotion(ctx context.Context, c *coopfed.Coop, m *coopfed.Motion) error {
	now := f.now()
	m.CoopID = c.ID
	if m.OpensAt.IsZero() || m.OpensAt.Before(now) {
		m.OpensAt = now
	}
	m.Normalize()
	// The cycle's fields are checked with the others, so one answer names
	// every problem.
	fields := errorFields(m.Validate(now))
	if m.Discussed && !m.OpensAt.After(now) {
		fields["opens_at"] = "a motion put to discussion opens for votes later: give opens_at in the future"
	}
	if m.ReviewAt != nil {
		for k, v := range errorFields(validReviewDate(m, *m.ReviewAt, now)) {
			fields[k] = v
		}
	}
	if err := coopfed.FieldErrors(fields); err != nil {
		return err
	}
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		if m.ClassCount != coopfed.CountEveryone || len(m.Classes) > 0 {
			classes, err := tx.Classes(c.ID)
			if err != nil {
				return err
			}
			if err := m.CheckClasses(classes); err != nil {
				return err
			}
		}
		if m.FollowUpOf != "" {
			// Why: a follow-up answers a review; opened from anywhere else
			// it would link motions that never met.
			orig, err := ownMotion(tx, c, m.FollowUpOf)
			if coopfed.ErrorCode(err) == coopfed.ENOTFOUND {
				return coopfed.FieldErrors(map[string]string{"follow_up_of": "no motion of this coop has this IRI"})
			} else if err != nil {
				return err
			}
			if orig.Phase != coopfed.PhaseReview {
				return coopfed.Errorf(coopfed.ECONFLICT, "a follow-up motion is opened from a review; the motion followed up is in its %s phase", orig.Phase)
			}
		}
		m.IRI = f.iris.Motion(f.newID())
		if err := tx.CreateMotion(m); err != nil {
			return err
		}
		if m.OpensAt.After(tx.Now()) {
			if m.Discussed {
				return f.publishDiscussion(tx, c, m)
			}
			return nil
		}
		return f.openMotion(tx, c, m)
	})
	if err != nil {
		return err
	}
	f.delivery.wake()
	return nil
}

// publishDiscussion publishes a motion put to discussion before voting
// opens: Create(Question) in the discussion phase.
func (f *Federation) publishDiscussion(tx *store.Tx, c *coopfed.Coop, m *coopfed.Motion) error {
	q := f.question(c, m, coopfed.Tally(m, 0, nil), nil)
	create := f.wrap("Create", f.iris.Activity(f.newID()), f.iris.Coop(c.Name), q, []string{PublicIRI}, []string{f.iris.CoopFollowers(c.Name)}, m.CreatedAt)
	create["@context"] = questionContext
	_, err := f.sendToFollowers(tx, c, create, m.IRI, true)
	return err
}

// openMotion opens a scheduled motion and publishes Create(Question), or,
// for a motion already published for discussion, Update(Question) in the
// voting phase.
func (f *Federation) openMotion(tx *store.Tx, c *coopfed.Coop, m *coopfed.Motion) error {
	opened, err := tx.OpenMotion(m)
	if err != nil || !opened {
		return err
	}
	if m.Discussed {
		return f.publishQuestion(tx, c, m, f.iris.Activity(f.newID()))
	}
	q := f.question(c, m, coopfed.Tally(m, m.Eligible, nil), nil)
	create := f.wrap("Create", f.iris.Activity(f.newID()), f.iris.Coop(c.Name), q, []string{PublicIRI}, []string{f.iris.CoopFollowers(c.Name)}, m.OpensAt)
	create["@context"] = questionContext
	_, err = f.sendToFollowers(tx, c, create, m.IRI, true)
	return err
}

// ownMotion loads a coop's motion in a transaction; another coop's motion
// is reported as not found, so a token cannot probe other coops.
func ownMotion(tx *store.Tx, c *coopfed.Coop, iri string) (*coopfed.Motion, error) {
	m, err := tx.Motion(iri)
	if err != nil {
		return nil, err
	}
	if m.CoopID != c.ID {
		return nil, coopfed.Errorf(coopfed.ENOTFOUND, "motion not found")
	}
	return m, nil
}

// CastVote records a local member's ballot cast through the API or web
// UI, replacing the member's earlier one (the latest vote counts). Unlike
// a vote arriving from a peer, a refusal is reported: EINVALID for the
// ballot, ENOTFOUND for an unknown member, ECONFLICT when voting is not
// open or the member was not eligible at opening.
func (f *Federation) CastVote(ctx context.Context, c *coopfed.Coop, iri, username string, b coopfed.Ballot) error {
	return f.store.Update(ctx, func(tx *store.Tx) error {
		m, err := ownMotion(tx, c, iri)
		if err != nil {
			return err
		}
		b.Reason = strings.TrimSpace(b.Reason)
		if err := m.ValidateBallot(b); err != nil {
			return err
		}
		if !m.IsOpenAt(tx.Now()) {
			return coopfed.Errorf(coopfed.ECONFLICT, "voting on this motion is not open")
		}
		mem, err := tx.Member(c.ID, username)
		if coopfed.ErrorCode(err) == coopfed.ENOTFOUND {
			return coopfed.FieldErrors(map[string]string{"member": "no member named " + username})
		} else if err != nil {
			return err
		}
		if err := classRefusal(tx, m, mem); err != nil {
			return err
		}
		cb := &store.CastBallot{MotionID: m.ID, MemberID: mem.ID, Choices: b.Choices, Points: b.Points, Reason: b.Reason, Ranked: m.Kind == coopfed.MotionRanked}
		if _, err := tx.CastBallot(cb, !m.Multiple()); err != nil {
			return err
		}
		return f.scheduleTally(tx, m)
	})
}

// classRefusal says why a member whose class does not vote on a motion
// may not vote: ECONFLICT naming the class and the classes that vote.
// Members of a voting class are left to the eligibility snapshot.
func classRefusal(tx *store.Tx, m *coopfed.Motion, mem *coopfed.Member) error {
	if m.ClassVotes(mem.Class) {
		return nil
	}
	if ok, err := tx.IsEligible(m.ID, mem.ID); err != nil || ok {
		return err // eligible by the class held at opening
	}
	return coopfed.Errorf(coopfed.ECONFLICT, "members of the class %q do not vote on this motion; it is for %s", coopfed.ClassWords(mem.Class), strings.Join(m.Classes, ", "))
}

// scheduleTally asks the governance job for a tally Update, no sooner than
// the debounce interval after the last one, so a burst of votes makes one
// Update rather than one per vote.
func (f *Federation) scheduleTally(tx *store.Tx, m *coopfed.Motion) error {
	at := tx.Now()
	if m.LastTally != nil && m.LastTally.Add(f.debounce).After(at) {
		at = m.LastTally.Add(f.debounce)
	}
	return tx.ScheduleTally(m.ID, at)
}

// CloseMotion closes an open motion before its deadline (an admin's
// decision) and publishes the outcome.
func (f *Federation) CloseMotion(ctx context.Context, c *coopfed.Coop, iri string) (*coopfed.Motion, error) {
	var m *coopfed.Motion
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		var err error
		if m, err = ownMotion(tx, c, iri); err != nil {
			return err
		}
		if m.State != coopfed.MotionOpen {
			return coopfed.Errorf(coopfed.ECONFLICT, "only an open motion can be closed (this one is %s)", m.State)
		}
		return f.closeMotion(tx, c, m)
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return m, nil
}

// ExtendMotion moves the deadline of a motion that is not closed to a
// later time and tells followers and voters with an Update.
func (f *Federation) ExtendMotion(ctx context.Context, c *coopfed.Coop, iri string, closesAt time.Time) (*coopfed.Motion, error) {
	var m *coopfed.Motion
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		var err error
		if m, err = ownMotion(tx, c, iri); err != nil {
			return err
		}
		if m.State == coopfed.MotionClosed {
			return coopfed.Errorf(coopfed.ECONFLICT, "the motion is closed")
		}
		switch {
		case !closesAt.After(m.ClosesAt):
			return coopfed.FieldErrors(map[string]string{"closes_at": "an extension must be later than the current deadline " + m.ClosesAt.UTC().Format(time.RFC3339)})
		case closesAt.Sub(m.OpensAt) > coopfed.MaxMotionDuration:
			return coopfed.FieldErrors(map[string]string{"closes_at": "voting may last at most a year"})
		}
		if err := tx.ExtendMotion(m, closesAt); err != nil {
			return err
		}
		if m.State != coopfed.MotionOpen {
			return nil // not published yet: the Create will carry the new deadline
		}
		return f.publishTally(tx, c, m)
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return m, nil
}

// audienceInboxes returns the inboxes of a motion's audience (the coop's
// followers) and of every account that voted: FEP-9967 sends poll results
// to both, and a voter need not follow the coop.
func (f *Federation) audienceInboxes(tx *store.Tx, c *coopfed.Coop, m *coopfed.Motion) ([]string, []*coopfed.RemoteActor, error) {
	inboxes, err := tx.FollowerInboxes(c.ID)
	if err != nil {
		return nil, nil, err
	}
	voters, err := tx.VoterActors(m.ID)
	if err != nil {
		return nil, nil, err
	}
	for _, v := range voters {
		inboxes = append(inboxes, v.DeliveryInbox())
	}
	return inboxes, voters, nil
}

// publishTally sends Update(Question) with the current tally to the
// audience and the voters, and records it as the last tally sent.
func (f *Federation) publishTally(tx *store.Tx, c *coopfed.Coop, m *coopfed.Motion) error {
	ballots, err := tx.Ballots(m.ID)
	if err != nil {
		return err
	}
	inboxes, _, err := f.audienceInboxes(tx, c, m)
	if err != nil {
		return err
	}
	now := tx.Now()
	q := f.question(c, m, coopfed.Tally(m, m.Eligible, ballots), &now)
	update := f.wrap("Update", f.iris.Activity(f.newID()), f.iris.Coop(c.Name), q, []string{PublicIRI}, []string{f.iris.CoopFollowers(c.Name)}, now)
	update["@context"] = questionContext
	if _, err := f.send(tx, c, update, m.IRI, false, inboxes); err != nil {
		return err
	}
	return tx.TallySent(m.ID)
}

// closeMotion decides an open motion from its ballots, records the
// outcome, and publishes Update(Question) with closed, then a Note that
// replies to the motion and states the outcome in words.
func (f *Federation) closeMotion(tx *store.Tx, c *coopfed.Coop, m *coopfed.Motion) error {
	ballots, err := tx.Ballots(m.ID)
	if err != nil {
		return err
	}
	r := coopfed.Tally(m, m.Eligible, ballots)
	m.Outcome, m.OutcomeText = r.Outcome, r.Describe(m)
	m.OutcomeIRI = f.iris.Note(f.newID())
	closed, err := tx.CloseMotion(m)
	if err != nil || !closed {
		return err
	}
	inboxes, voters, err := f.audienceInboxes(tx, c, m)
	if err != nil {
		return err
	}
	now := tx.Now()
	coopIRI := f.iris.Coop(c.Name)
	q := f.question(c, m, r, &now)
	update := f.wrap("Update", f.iris.Activity(f.newID()), coopIRI, q, []string{PublicIRI}, []string{f.iris.CoopFollowers(c.Name)}, now)
	update["@context"] = questionContext
	if _, err := f.send(tx, c, update, m.IRI, false, inboxes); err != nil {
		return err
	}
	if err := tx.TallySent(m.ID); err != nil {
		return err
	}

	note, text := f.outcomeNote(c, m, voters, now)
	objJSON, err := Marshal(withContext(note, objectContext))
	if err != nil {
		return err
	}
	if err := tx.InsertObject(&store.Object{IRI: m.OutcomeIRI, CoopID: c.ID, Type: "Note", Content: text, JSON: objJSON, Published: now}); err != nil {
		return err
	}
	create := f.wrap("Create", m.OutcomeIRI+"/activity", coopIRI, note, []string{PublicIRI}, note["cc"].([]string), now)
	if _, err := f.send(tx, c, create, m.OutcomeIRI, true, inboxes); err != nil {
		return err
	}
	if m.MirrorOf != "" {
		return f.castMirror(tx, c, m, r)
	}
	return nil
}

// outcomeNote builds the Note that publishes a motion's outcome, and its
// plain text. It is public, copied to followers and to the voters, each
// named in a Mention tag: GoToSocial drops a note addressed to someone it
// does not mention, and the mention is what notifies the voter.
func (f *Federation) outcomeNote(c *coopfed.Coop, m *coopfed.Motion, voters []*coopfed.RemoteActor, published time.Time) (map[string]any, string) {
	text := "Outcome of \u201c" + m.Title + "\u201d: " + coopfed.OutcomeWords(m.Outcome) + ".\n\n" + m.OutcomeText
	content := sanitize.Text(text)
	cc := []string{f.iris.CoopFollowers(c.Name)}
	tags := []any{}
	var mentions []string
	for _, v := range voters {
		cc = append(cc, v.IRI)
		name := "@" + v.Handle()
		tags = append(tags, map[string]any{"type": "Mention", "href": v.IRI, "name": name})
		href := v.URL
		if href == "" {
			href = v.IRI
		}
		mentions = append(mentions, `<span class="h-card"><a href="`+html.EscapeString(href)+`" class="u-url mention">@<span>`+html.EscapeString(v.PreferredUsername)+`</span></a></span>`)
	}
	if len(mentions) > 0 {
		content += "<p>" + strings.Join(mentions, " ") + "</p>"
	}
	o := streams.NewActivityStreamsNote()
	o.SetJSONLDId(idProp(m.OutcomeIRI))
	o.SetActivityStreamsAttributedTo(attributedToProp(f.iris.Coop(c.Name)))
	o.SetActivityStreamsContent(contentProp(content))
	o.SetActivityStreamsPublished(publishedProp(published))
	o.SetActivityStreamsUrl(urlProp(m.OutcomeIRI))
	irt := streams.NewActivityStreamsInReplyToProperty()
	irt.AppendIRI(mustURL(m.IRI))
	o.SetActivityStreamsInReplyTo(irt)
	doc, err := serialize(o, nil, map[string]any{"sensitive": false, "tag": tags, "to": []string{PublicIRI}, "cc": cc})
	if err != nil {
		panic(err) // a Note of fixed shape always serialises
	}
	return doc, text
}

// motionKind takes the objects that answer our motions: votes, which are
// Notes with a name, inReplyTo one of our motions and no content
// (FEP-9967), and other replies, kept as the motion's discussion.
type motionKind struct{ f *Federation }

func init() {
	registerObjectKind(func(f *Federation) objectKind { return motionKind{f: f} })
}

// motionTarget returns the local motion an object replies to, or "",
// and what it replies to: the motion, or a reply in the motion's
// discussion (a thread).
func (k motionKind) motionTarget(ctx context.Context, in *incoming) (motion, parent string, err error) {
	o := in.object
	if o == nil || !o.Type.Is("Note") {
		return "", "", nil
	}
	for _, iri := range o.InReplyTo {
		if k.f.iris.MotionID(iri) != "" {
			return iri, iri, nil
		}
	}
	// Why: only a vote names its option; a reply to a reply is never a
	// vote, so its thread is looked up only for comments.
	if isVote(o) {
		return "", "", nil
	}
	for _, iri := range o.InReplyTo {
		m, err := k.f.store.ReplyMotion(ctx, iri)
		if err != nil || m != "" {
			return m, iri, err
		}
	}
	return "", "", nil
}

// isVote reports whether the object is a vote rather than a comment.
func isVote(o *object) bool {
	return o.Name != "" && o.Content == "" && len(o.ContentMap.values()) == 0
}

func (k motionKind) check(ctx context.Context, in *incoming, op string) (bool, error) {
	if target, _, err := k.motionTarget(ctx, in); err != nil || target == "" {
		return false, err
	}
	// An Update of a vote changes the member's vote (the latest counts);
	// other operations on a vote are not votes.
	if isVote(in.object) && op != "Create" && op != "Update" {
		return false, nil
	}
	return true, nil
}

// errVoteRefused is why a vote was ignored; logged, never answered: a
// vote that fails a check changes nothing and is answered 202.
type errVoteRefused string

func (e errVoteRefused) Error() string { return "vote ignored: " + string(e) }

// maxReplyContent bounds a discussion reply's sanitised HTML.
const maxReplyContent = 64 << 10

func (k motionKind) apply(ctx context.Context, in *incoming, op string) error {
	target, parent, err := k.motionTarget(ctx, in)
	if err != nil {
		return err
	}
	m, err := in.tx.Motion(target)
	if coopfed.ErrorCode(err) == coopfed.ENOTFOUND {
		if isVote(in.object) {
			return k.ignore(in, "no such motion")
		}
		return nil
	} else if err != nil {
		return err
	}
	if !isVote(in.object) {
		// Why: the discussion is the coop's audience's: kept from its
		// members' linked accounts, its followers and the actors it
		// follows, within a size bound, so strangers cannot fill the
		// database through a public motion.
		if len(in.item.Content) > maxReplyContent {
			return nil
		}
		if ok, err := in.inCoopAudience(ctx, m.CoopID); err != nil || !ok {
			return err
		}
		// Why: a motion not yet published has no audience to discuss it.
		if m.State == coopfed.MotionScheduled && !m.Discussed {
			return nil
		}
		r := &coopfed.MotionReply{MotionID: m.ID, ObjectIRI: in.objectID, ActorIRI: in.signer.IRI, Content: in.item.Content, URL: in.item.URL, Published: in.item.Published, Updated: in.item.Updated, InReplyTo: parent}
		return in.tx.PutMotionReply(r)
	}
	return k.vote(in, m, op == "Update")
}

// vote applies the checks of FEP-9967 and DESIGN 4.3 to a vote from a
// peer. Each failure ignores the whole activity.
func (k motionKind) vote(in *incoming, m *coopfed.Motion, edit bool) error {
	o := in.object
	// Why: votes are taken only while the motion is open.
	if !m.IsOpenAt(in.tx.Now()) {
		return k.ignore(in, "motion not open")
	}
	// Why: only members vote (FEP-9967 eligibility); the signer's account
	// must be linked to a member of the motion's coop...
	mem, err := in.tx.MemberByActor(m.CoopID, in.signer.IRI)
	if coopfed.ErrorCode(err) == coopfed.ENOTFOUND {
		return k.ignore(in, "not a member")
	} else if err != nil {
		return err
	}
	// ...who was a member when voting opened, of a class that votes.
	if ok, err := in.tx.IsEligible(m.ID, mem.ID); err != nil {
		return err
	} else if !ok {
		if err := classRefusal(in.tx, m, mem); err != nil {
			return k.ignore(in, coopfed.ErrorMessage(err))
		}
		return k.ignore(in, "not eligible when voting opened")
	}
	b := coopfed.Ballot{MemberID: mem.ID, Choices: []string{string(o.Name)}, Reason: strings.TrimSpace(string(o.VoteReason))}
	// A Mastodon account answers a multiple choice with one Note per
	// option: each adds to the ballot. A Note that names the whole ballot
	// (an edit, or the extension terms) replaces it.
	add := m.Multiple() && !edit
	switch m.Kind {
	case coopfed.MotionRanked:
		// Why: a poll vote names one option; a ranking needs the
		// extension term, or the vote would count as a ranking of one.
		if len(o.Ranking) == 0 {
			return k.ignore(in, "a ranked motion takes a ranking")
		}
		b.Choices, add = o.Ranking, false
	case coopfed.MotionScore:
		if len(o.Scores) == 0 {
			return k.ignore(in, "a score vote takes scores")
		}
		b.Choices, b.Points, add = nil, nil, false
		for _, e := range o.Scores {
			b.Choices = append(b.Choices, string(e.Name))
			b.Points = append(b.Points, int(e.Points))
		}
	}
	// Why: the ballot is checked as a whole, so duplicates, unknown
	// options and dots beyond the allowance are refused, not clipped.
	if err := m.ValidateBallot(b); err != nil {
		return k.ignore(in, coopfed.ErrorMessage(err))
	}
	var castAt time.Time
	if in.item != nil {
		castAt = in.item.Published
		if in.item.Updated != nil && in.item.Updated.After(castAt) {
			castAt = *in.item.Updated
		}
	}
	if castAt.IsZero() || castAt.After(in.tx.Now()) {
		castAt = in.tx.Now() // a vote dated in the future would outrank every later one
	}
	// Why: the database decides "vote id unseen" and serialises two
	// ballots of one member, so concurrent deliveries count once.
	cb := &store.CastBallot{MotionID: m.ID, MemberID: mem.ID, Choices: b.Choices, Points: b.Points, Reason: b.Reason, Ranked: m.Kind == coopfed.MotionRanked,
		ActivityIRI: in.objectID, ActorIRI: in.signer.IRI, CastAt: castAt, Add: add, Edit: edit}
	_, err = in.tx.CastBallot(cb, !m.Multiple())
	if coopfed.ErrorCode(err) == coopfed.ECONFLICT {
		return k.ignore(in, coopfed.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	// A vote is not a post: a coop that follows the voter does not show
	// it in its timeline.
	if _, err := in.tx.DeleteTimelineObject(in.objectID, in.signer.IRI); err != nil {
		return err
	}
	return k.f.scheduleTally(in.tx, m)
}

// ignore logs why a vote was refused and drops the activity: errIgnore
// rolls the transaction back and is answered 202.
func (k motionKind) ignore(in *incoming, reason string) error {
	k.f.log.Info("vote ignored", "vote", in.objectID, "actor", in.signer.IRI, "reason", reason)
	return errors.Join(errIgnore, errVoteRefused(reason))
}

func (k motionKind) deleted(ctx context.Context, in *incoming) error {
	if in.objectID == in.signer.IRI {
		return in.tx.DeleteMotionReplies(in.signer.IRI, "")
	}
	return in.tx.DeleteMotionReplies(in.signer.IRI, in.objectID)
}

// inCoopAudience reports whether the signer is a member (by a linked
// account) of the coop, one of its accepted followers, or an actor it
// follows.
func (in *incoming) inCoopAudience(ctx context.Context, coopID int64) (bool, error) {
	if member, err := in.f.store.IsMemberActor(ctx, coopID, in.signer.IRI); err != nil || member {
		return member, err
	}
	if f, err := in.tx.Follower(coopID, in.signer.IRI); err == nil && f.State == coopfed.FollowAccepted {
		return true, nil
	} else if err != nil && coopfed.ErrorCode(err) != coopfed.ENOTFOUND {
		return false, err
	}
	coops, err := in.tx.CoopsFollowing(in.signer.IRI)
	return slices.Contains(coops, coopID), err
}
