package federation

import (
	"context"
	"errors"
	"html"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/coopfed/coopfed/store"
	"github.com/go-fed/activity/streams"
)

// The cycle of a motion (FEDERATION.md, "The cycle of a motion"): each
// phase change is an Update of the Question carrying the phase in the
// coopfed:phase term; an amendment during discussion is an Update with
// the new text; members' replies are Notes of the coop inReplyTo the
// motion; the review, when its date comes, is a Note to followers.

// publishQuestion sends Update(Question) with the motion as it stands to
// its audience and voters: after a phase change or an amendment.
func (f *Federation) publishQuestion(tx *store.Tx, c *coopfed.Coop, m *coopfed.Motion, id string) error {
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
	update := f.wrap("Update", id, f.iris.Coop(c.Name), q, []string{PublicIRI}, []string{f.iris.CoopFollowers(c.Name)}, now)
	update["@context"] = questionContext
	_, err = f.send(tx, c, update, m.IRI, false, inboxes)
	return err
}

// publishedMotion loads a coop's motion that its audience can see: one
// under discussion or past its opening.
func publishedMotion(tx *store.Tx, c *coopfed.Coop, iri string) (*coopfed.Motion, error) {
	m, err := ownMotion(tx, c, iri)
	if err != nil {
		return nil, err
	}
	if m.State == coopfed.MotionScheduled && !m.Discussed {
		return nil, coopfed.Errorf(coopfed.ENOTFOUND, "motion not found")
	}
	return m, nil
}

// optionalMember resolves the username of the member acting, "" for the
// coop's API token acting as an admin.
func optionalMember(tx *store.Tx, c *coopfed.Coop, username string) (*coopfed.Member, error) {
	if username == "" {
		return nil, nil
	}
	mem, err := tx.Member(c.ID, username)
	if coopfed.ErrorCode(err) == coopfed.ENOTFOUND {
		return nil, coopfed.FieldErrors(map[string]string{"member": "no member named " + username})
	}
	return mem, err
}

// AmendMotion replaces the text of a motion under discussion, keeps the
// amendment and publishes Update(Question) with the new text. It is
// refused (ECONFLICT) once voting opened: members vote on a text that no
// longer changes.
func (f *Federation) AmendMotion(ctx context.Context, c *coopfed.Coop, iri, username, text, note string) (*coopfed.Amendment, error) {
	a := &coopfed.Amendment{Text: strings.TrimSpace(text), Note: strings.TrimSpace(note), Member: username}
	fields := map[string]string{}
	switch n := len([]rune(a.Text)); {
	case n == 0:
		fields["text"] = "give the amended text"
	case n > coopfed.MaxMotionText:
		fields["text"] = "at most 5000 characters"
	}
	if len([]rune(a.Note)) > coopfed.MaxAmendNote {
		fields["note"] = "at most 300 characters"
	}
	if err := coopfed.FieldErrors(fields); err != nil {
		return nil, err
	}
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		m, err := ownMotion(tx, c, iri)
		if err != nil {
			return err
		}
		if msg := m.CanAmend(); msg != "" {
			return coopfed.Errorf(coopfed.ECONFLICT, "%s", msg)
		}
		if !m.Discussed {
			return coopfed.Errorf(coopfed.ECONFLICT, "this motion was not put to discussion; only a motion published for discussion can be amended")
		}
		if a.Text == m.Text {
			return coopfed.FieldErrors(map[string]string{"text": "the amended text is the same as the current one"})
		}
		mem, err := optionalMember(tx, c, username)
		if err != nil {
			return err
		}
		var memberID int64
		if mem != nil {
			memberID = mem.ID
		}
		a.ActivityIRI = f.iris.Activity(f.newID())
		if err := tx.AmendMotion(m, a, memberID); err != nil {
			return err
		}
		return f.publishQuestion(tx, c, m, a.ActivityIRI)
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return a, nil
}

// OpenVoting ends a motion's discussion early: voting opens now, the
// eligible members are fixed and the Question is updated.
func (f *Federation) OpenVoting(ctx context.Context, c *coopfed.Coop, iri string) (*coopfed.Motion, error) {
	var m *coopfed.Motion
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		var err error
		if m, err = ownMotion(tx, c, iri); err != nil {
			return err
		}
		if m.State != coopfed.MotionScheduled {
			return coopfed.Errorf(coopfed.ECONFLICT, "voting on this motion has already opened")
		}
		m.OpensAt = tx.Now()
		if err := tx.MoveOpening(m); err != nil {
			return err
		}
		return f.openMotion(tx, c, m)
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return m, nil
}

// ReplyToMotion publishes a local member's reply to a motion (or to one
// of its replies) as a Note of the coop inReplyTo it, delivered to the
// followers, and keeps it in the motion's discussion.
func (f *Federation) ReplyToMotion(ctx context.Context, c *coopfed.Coop, iri, username, text, inReplyTo string) (*coopfed.MotionReply, error) {
	text = strings.TrimSpace(text)
	if err := coopfed.ValidateReplyText(text); err != nil {
		return nil, err
	}
	var r *coopfed.MotionReply
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		m, err := publishedMotion(tx, c, iri)
		if err != nil {
			return err
		}
		mem, err := tx.Member(c.ID, username)
		if coopfed.ErrorCode(err) == coopfed.ENOTFOUND {
			return coopfed.FieldErrors(map[string]string{"member": "no member named " + username})
		} else if err != nil {
			return err
		}
		parent := m.IRI
		if inReplyTo != "" && inReplyTo != m.IRI {
			// Why: a thread stays inside its motion; a reply to an
			// object of another motion, or to nothing we keep, would
			// graft a foreign thread onto this one.
			owner, err := f.store.ReplyMotion(ctx, inReplyTo)
			if err != nil {
				return err
			}
			if owner != m.IRI {
				return coopfed.FieldErrors(map[string]string{"in_reply_to": "not a reply in this motion's discussion"})
			}
			parent = inReplyTo
		}
		now := tx.Now()
		noteIRI := f.iris.Note(f.newID())
		note := f.replyNote(c, m, noteIRI, parent, mem.Username, text, now)
		objJSON, err := Marshal(withContext(note, objectContext))
		if err != nil {
			return err
		}
		if err := tx.InsertObject(&store.Object{IRI: noteIRI, CoopID: c.ID, Type: "Note", Content: text, JSON: objJSON, Published: now}); err != nil {
			return err
		}
		r = &coopfed.MotionReply{MotionID: m.ID, ObjectIRI: noteIRI, ActorIRI: f.iris.Coop(c.Name), Content: note["content"].(string), URL: noteIRI,
			Published: now, InReplyTo: parent, MemberID: mem.ID, Member: mem.Username}
		if err := tx.PutMotionReply(r); err != nil {
			return err
		}
		create := f.wrap("Create", noteIRI+"/activity", f.iris.Coop(c.Name), note, []string{PublicIRI}, []string{f.iris.CoopFollowers(c.Name)}, now)
		_, err = f.sendToFollowers(tx, c, create, noteIRI, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return r, nil
}

// replyNote is a member's reply as the coop publishes it: the coop is the
// author (members are no actors of their own) and the content names the
// member.
func (f *Federation) replyNote(c *coopfed.Coop, m *coopfed.Motion, id, parent, member, text string, published time.Time) map[string]any {
	content := "<p><strong>" + html.EscapeString(member) + "</strong> (member) writes:</p>" + sanitize.Text(text)
	o := streams.NewActivityStreamsNote()
	o.SetJSONLDId(idProp(id))
	o.SetActivityStreamsAttributedTo(attributedToProp(f.iris.Coop(c.Name)))
	o.SetActivityStreamsContent(contentProp(content))
	o.SetActivityStreamsPublished(publishedProp(published))
	o.SetActivityStreamsUrl(urlProp(id))
	irt := streams.NewActivityStreamsInReplyToProperty()
	irt.AppendIRI(mustURL(parent))
	o.SetActivityStreamsInReplyTo(irt)
	doc, err := serialize(o, nil, map[string]any{"sensitive": false, "tag": []any{}, "to": []string{PublicIRI}, "cc": []string{f.iris.CoopFollowers(c.Name)}})
	if err != nil {
		panic(err) // a Note of fixed shape always serialises
	}
	return doc
}

// AddTask turns part of a closed motion's outcome into a task with an
// owner among the members and a due date. The first task moves the motion
// to its implementation phase, published as an Update of the Question.
func (f *Federation) AddTask(ctx context.Context, c *coopfed.Coop, iri, title, owner string, due time.Time) (*coopfed.Task, error) {
	t := &coopfed.Task{Title: strings.TrimSpace(title), DueAt: due.UTC()}
	if err := coopfed.ValidateTask(t.Title, t.DueAt, f.now()); err != nil {
		return nil, err
	}
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		m, err := ownMotion(tx, c, iri)
		if err != nil {
			return err
		}
		if msg := m.CanAddTask(); msg != "" {
			return coopfed.Errorf(coopfed.ECONFLICT, "%s", msg)
		}
		mem, err := tx.Member(c.ID, owner)
		if coopfed.ErrorCode(err) == coopfed.ENOTFOUND {
			return coopfed.FieldErrors(map[string]string{"owner": "no member named " + owner})
		} else if err != nil {
			return err
		}
		t.MotionID, t.OwnerID, t.Owner = m.ID, mem.ID, mem.Username
		if err := tx.AddTask(t); err != nil {
			return err
		}
		if m.Phase != coopfed.PhaseOutcome {
			return nil
		}
		if moved, err := tx.SetPhase(m, coopfed.PhaseOutcome, coopfed.PhaseImplementation); err != nil || !moved {
			return err
		}
		return f.publishQuestion(tx, c, m, f.iris.Activity(f.newID()))
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return t, nil
}

// CompleteTask marks a task of a motion done. by is the member acting; nil
// is the coop's API token, an admin's. Only the task's owner or an admin
// may mark it done (EFORBIDDEN otherwise).
func (f *Federation) CompleteTask(ctx context.Context, c *coopfed.Coop, iri string, taskID int64, by *coopfed.Member) (*coopfed.Task, error) {
	var t *coopfed.Task
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		m, err := ownMotion(tx, c, iri)
		if err != nil {
			return err
		}
		t, err = tx.Task(taskID)
		if err != nil || t.MotionID != m.ID {
			return coopfed.Errorf(coopfed.ENOTFOUND, "task not found")
		}
		var doneBy int64
		switch {
		case by == nil:
			doneBy = t.OwnerID // the coop's token marks it done for the owner
		case by.ID == t.OwnerID || by.Role == coopfed.RoleAdmin:
			doneBy = by.ID
		default:
			return coopfed.Errorf(coopfed.EFORBIDDEN, "only the task's owner (%s) or an admin may mark it done", t.Owner)
		}
		done, err := tx.CompleteTask(t.ID, doneBy)
		if err != nil {
			return err
		}
		if !done {
			return coopfed.Errorf(coopfed.ECONFLICT, "the task is already done")
		}
		t, err = tx.Task(taskID)
		return err
	})
	return t, err
}

// SetReviewDate sets when a motion is reviewed; the governance job moves
// it to its review phase then. It is refused once the review began.
func (f *Federation) SetReviewDate(ctx context.Context, c *coopfed.Coop, iri string, at time.Time) (*coopfed.Motion, error) {
	var m *coopfed.Motion
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		var err error
		if m, err = ownMotion(tx, c, iri); err != nil {
			return err
		}
		if err := validReviewDate(m, at, tx.Now()); err != nil {
			return err
		}
		return tx.SetReviewDate(m, at.UTC())
	})
	return m, err
}

func validReviewDate(m *coopfed.Motion, at, now time.Time) error {
	switch {
	case at.IsZero():
		return coopfed.FieldErrors(map[string]string{"review_at": "give the review date (RFC 3339)"})
	case !at.After(now):
		return coopfed.FieldErrors(map[string]string{"review_at": "the review date must be in the future"})
	case !at.After(m.ClosesAt):
		return coopfed.FieldErrors(map[string]string{"review_at": "the review date must be after voting closes"})
	case at.Sub(now) > coopfed.MaxReviewAfter:
		return coopfed.FieldErrors(map[string]string{"review_at": "at most five years ahead"})
	}
	return nil
}

// RecordReview keeps what a member says at a motion's review: did it work
// (yes, partly, no) and a short text. It is refused (ECONFLICT) before the
// review date.
func (f *Federation) RecordReview(ctx context.Context, c *coopfed.Coop, iri, username, verdict, text string) (*coopfed.ReviewRecord, error) {
	r := &coopfed.ReviewRecord{Verdict: strings.TrimSpace(verdict), Text: strings.TrimSpace(text), Member: username}
	if err := coopfed.ValidateOutcomeReview(r.Verdict, r.Text); err != nil {
		return nil, err
	}
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		m, err := ownMotion(tx, c, iri)
		if err != nil {
			return err
		}
		if msg := m.CanReview(tx.Now()); msg != "" {
			return coopfed.Errorf(coopfed.ECONFLICT, "%s", msg)
		}
		mem, err := tx.Member(c.ID, username)
		if coopfed.ErrorCode(err) == coopfed.ENOTFOUND {
			return coopfed.FieldErrors(map[string]string{"member": "no member named " + username})
		} else if err != nil {
			return err
		}
		r.MotionID, r.MemberID = m.ID, mem.ID
		return tx.PutOutcomeReview(r)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// startReview moves a closed motion whose review date came to its review
// phase: a notification for the coop's admins, a Note to the followers
// that replies to the motion, and an Update of the Question.
func (f *Federation) startReview(tx *store.Tx, c *coopfed.Coop, m *coopfed.Motion) error {
	noteIRI := f.iris.Note(f.newID())
	started, err := tx.StartReview(m, noteIRI)
	if err != nil || !started {
		return err
	}
	if _, err := tx.AddNotification(&coopfed.Notification{CoopID: c.ID, Kind: coopfed.NotifyMotionReview, ActivityIRI: m.IRI, ListingIRI: noteIRI}); err != nil {
		return err
	}
	now := tx.Now()
	note, text := f.reviewNote(c, m, noteIRI, now)
	objJSON, err := Marshal(withContext(note, objectContext))
	if err != nil {
		return err
	}
	if err := tx.InsertObject(&store.Object{IRI: noteIRI, CoopID: c.ID, Type: "Note", Content: text, JSON: objJSON, Published: now}); err != nil {
		return err
	}
	inboxes, _, err := f.audienceInboxes(tx, c, m)
	if err != nil {
		return err
	}
	create := f.wrap("Create", noteIRI+"/activity", f.iris.Coop(c.Name), note, []string{PublicIRI}, []string{f.iris.CoopFollowers(c.Name)}, now)
	if _, err := f.send(tx, c, create, noteIRI, true, inboxes); err != nil {
		return err
	}
	return f.publishQuestion(tx, c, m, f.iris.Activity(f.newID()))
}

// reviewNote is the reminder that a motion's review is due, and its plain
// text.
func (f *Federation) reviewNote(c *coopfed.Coop, m *coopfed.Motion, id string, published time.Time) (map[string]any, string) {
	text := "Review of \u201c" + m.Title + "\u201d (" + coopfed.OutcomeWords(m.Outcome) + "): did it work? Members record yes, partly or no on the motion's page, and may open a follow-up motion."
	o := streams.NewActivityStreamsNote()
	o.SetJSONLDId(idProp(id))
	o.SetActivityStreamsAttributedTo(attributedToProp(f.iris.Coop(c.Name)))
	o.SetActivityStreamsContent(contentProp(sanitize.Text(text) + `<p><a href="` + html.EscapeString(m.IRI) + `">` + html.EscapeString(m.IRI) + `</a></p>`))
	o.SetActivityStreamsPublished(publishedProp(published))
	o.SetActivityStreamsUrl(urlProp(id))
	irt := streams.NewActivityStreamsInReplyToProperty()
	irt.AppendIRI(mustURL(m.IRI))
	o.SetActivityStreamsInReplyTo(irt)
	doc, err := serialize(o, nil, map[string]any{"sensitive": false, "tag": []any{}, "to": []string{PublicIRI}, "cc": []string{f.iris.CoopFollowers(c.Name)}})
	if err != nil {
		panic(err) // a Note of fixed shape always serialises
	}
	return doc, text
}

// errorFields returns the field problems of a validation error, an empty
// map for nil.
func errorFields(err error) map[string]string {
	out := map[string]string{}
	var e *coopfed.Error
	if errors.As(err, &e) {
		for k, v := range e.Fields {
			out[k] = v
		}
	}
	return out
}

// Now returns the federation's clock reading (the fixed clock of tests).
func (f *Federation) Now() time.Time { return f.now() }
