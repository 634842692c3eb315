package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/coopfed/coopfed/store"
)

// Commons projects and crowdmatched pledges. A coop opens a project (a
// coopfed:CommonsProject served at its IRI) and tells its followers in a
// plain Create(Note) that Mastodon shows as it is. Anyone pledges with a
// Join whose object is the project and whose coopfed:monthlyCap is the
// most they will give a month, in the project's minor units; a second
// Join changes the cap, and a Leave of the project withdraws the pledge.
// Each pledger counted gives the project's matchingUnit for every other
// pledger counted (coopfed.Match).

// projectContext is the context of projects and pledges.
var projectContext = []any{
	ContextActivityStreams,
	map[string]any{
		"coopfed":        NamespaceCoopfed,
		"CommonsProject": "coopfed:CommonsProject",
		"matchingUnit":   "coopfed:matchingUnit",
		"currency":       "coopfed:currency",
		"minorDigits":    "coopfed:minorDigits",
		"monthlyCap":     "coopfed:monthlyCap",
		"pledgers":       "coopfed:pledgers",
		"capped":         "coopfed:capped",
		"monthlyTotal":   "coopfed:monthlyTotal",
	},
}

// TypeCommonsProject is the type of a project's document.
const TypeCommonsProject = "CommonsProject"

// ObjectProjectNote is the stored type of the Note that opened a project.
const ObjectProjectNote = "ProjectNote"

// ProjectDocument is a local project as served at its IRI, with the
// crowd's month as it stands.
func (f *Federation) ProjectDocument(c *coopfed.Coop, p *coopfed.Project, m coopfed.Crowdmatch) map[string]any {
	return map[string]any{
		"@context": projectContext, "id": p.IRI, "type": TypeCommonsProject, "attributedTo": f.iris.Coop(c.Name),
		"name": p.Title, "content": sanitize.Text(p.Description), "url": p.IRI,
		"currency": p.Currency, "minorDigits": p.Digits, "matchingUnit": strconv.FormatInt(p.Unit, 10),
		"pledgers": m.Pledgers, "capped": m.Capped, "monthlyTotal": strconv.FormatInt(m.Total, 10),
		"to": []string{PublicIRI}, "published": p.Created.UTC().Format("2006-01-02T15:04:05Z"),
	}
}

// projectNoteDoc is the Create(Note) telling followers a project opened.
func (f *Federation) projectNoteDoc(c *coopfed.Coop, p *coopfed.Project, noteIRI string) map[string]any {
	unit := coopfed.FormatMinor(p.Unit, p.Digits) + " " + p.Currency
	content := sanitize.Text("New commons project: " + p.Title)
	if p.Description != "" {
		content += sanitize.Text(p.Description)
	}
	content += sanitize.Text(fmt.Sprintf("Crowdmatching: each pledger gives %s a month for every other pledger, up to the monthly cap they choose.", unit))
	content += sanitize.Text("Pledge at " + p.IRI)
	followers := f.iris.CoopFollowers(c.Name)
	note := map[string]any{
		"id": noteIRI, "type": "Note", "attributedTo": f.iris.Coop(c.Name), "context": p.IRI, "url": p.IRI,
		"content": content, "to": []string{PublicIRI}, "cc": []string{followers},
		"published": p.Created.UTC().Format("2006-01-02T15:04:05Z"),
	}
	return f.wrap("Create", noteIRI+"/activity", f.iris.Coop(c.Name), note, []string{PublicIRI}, []string{followers}, p.Created)
}

// OpenProject opens a commons project of coop c and tells its followers.
func (f *Federation) OpenProject(ctx context.Context, c *coopfed.Coop, p *coopfed.Project) error {
	p.Title, p.Description = strings.TrimSpace(p.Title), strings.TrimSpace(p.Description)
	p.Currency = strings.ToUpper(strings.TrimSpace(p.Currency))
	if err := p.Validate(); err != nil {
		return err
	}
	p.CoopID, p.IRI = c.ID, f.iris.Project(f.newID())
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		p.Created = tx.Now()
		if err := tx.InsertProject(p); err != nil {
			return err
		}
		noteIRI := f.iris.Note(f.newID())
		create := f.projectNoteDoc(c, p, noteIRI)
		note := withContext(create["object"].(map[string]any), ContextActivityStreams)
		body, err := Marshal(note)
		if err != nil {
			return err
		}
		if err := tx.InsertObject(&store.Object{IRI: noteIRI, CoopID: c.ID, Type: ObjectProjectNote,
			Content: sanitize.PlainText(note["content"].(string)), JSON: body, Published: tx.Now()}); err != nil {
			return err
		}
		_, err = f.sendToFollowersAnd(tx, c, create, noteIRI, true, nil)
		return err
	})
	if err != nil {
		return err
	}
	f.delivery.wake()
	return nil
}

// PledgeMember records, or changes, a member's pledge to a project of
// the member's own coop.
func (f *Federation) PledgeMember(ctx context.Context, p *coopfed.Project, m *coopfed.Member, cap int64) (*coopfed.Pledge, error) {
	// Why: a member speaks in their own coop; another coop's members
	// pledge through that coop or their own fediverse account.
	if m.CoopID != p.CoopID {
		return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "only members of the project's coop pledge as members")
	}
	if err := coopfed.ValidatePledgeCap(cap); err != nil {
		return nil, err
	}
	pl := &coopfed.Pledge{ProjectIRI: p.IRI, Pledger: coopfed.MemberPledger(m.ID), MemberID: m.ID, Name: m.Username, Cap: cap}
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.PutPledge(pl)
		return err
	})
	return pl, err
}

// WithdrawMemberPledge removes a member's pledge.
func (f *Federation) WithdrawMemberPledge(ctx context.Context, p *coopfed.Project, m *coopfed.Member) error {
	return f.store.Update(ctx, func(tx *store.Tx) error {
		return tx.WithdrawPledge(p.IRI, coopfed.MemberPledger(m.ID))
	})
}

// remoteProject is what a pledger's instance reads of a project.
type remoteProject struct {
	ID           string `json:"id"`
	Type         types  `json:"type"`
	AttributedTo refs   `json:"attributedTo"`
	Name         string `json:"name"`
}

// projectOwner returns the coop that owns a project, local or remote, and
// the inbox to send a Join to ("" for a local project).
func (f *Federation) projectOwner(ctx context.Context, projectIRI string) (*coopfed.Project, string, string, error) {
	if f.iris.IsLocal(projectIRI) {
		p, err := f.store.ProjectByIRI(ctx, projectIRI)
		if err != nil {
			return nil, "", "", err
		}
		c, err := f.store.CoopByID(ctx, p.CoopID)
		if err != nil {
			return nil, "", "", err
		}
		return p, f.iris.Coop(c.Name), "", nil
	}
	body, _, err := f.FetchJSON(ctx, projectIRI)
	if err != nil {
		return nil, "", "", err
	}
	var rp remoteProject
	if decodeJSON(body, &rp) != nil || rp.ID != projectIRI || !rp.Type.Is(TypeCommonsProject) {
		return nil, "", "", coopfed.Errorf(coopfed.ENOTFOUND, "%s is not a commons project", projectIRI)
	}
	owner := rp.AttributedTo.First()
	// Why: only the project's own server may say who owns it; an owner on
	// another host could route pledges to an actor that does not run it.
	if owner == "" || !SameHost(owner, HostOf(projectIRI)) {
		return nil, "", "", coopfed.Errorf(coopfed.EINVALID, "the project is not attributed to an actor of its server")
	}
	a, err := f.Actor(ctx, owner)
	if err != nil {
		return nil, "", "", err
	}
	return &coopfed.Project{IRI: projectIRI, Title: rp.Name}, owner, a.Inbox, nil
}

// PledgeCoop records coop c's pledge to a project, of this instance or
// another: a remote project's coop gets a Join. A second pledge changes
// the cap.
func (f *Federation) PledgeCoop(ctx context.Context, c *coopfed.Coop, projectIRI string, cap int64) (*coopfed.Pledge, error) {
	if err := coopfed.ValidatePledgeCap(cap); err != nil {
		return nil, err
	}
	_, owner, inbox, err := f.projectOwner(ctx, projectIRI)
	if err != nil {
		return nil, err
	}
	self := f.iris.Coop(c.Name)
	if owner == self {
		return nil, coopfed.Errorf(coopfed.EINVALID, "a coop does not pledge to its own project; its members do")
	}
	pl := &coopfed.Pledge{ProjectIRI: projectIRI, Pledger: self, Name: c.Name, Cap: cap}
	err = f.store.Update(ctx, func(tx *store.Tx) error {
		if inbox != "" {
			pl.Activity = f.iris.Activity(f.newID())
		}
		if _, err := tx.PutPledge(pl); err != nil {
			return err
		}
		if inbox == "" {
			return nil
		}
		_, err := f.send(tx, c, f.joinDoc(self, owner, pl), projectIRI, false, []string{inbox})
		return err
	})
	if err != nil {
		return nil, err
	}
	f.delivery.wake()
	return pl, nil
}

// WithdrawCoopPledge withdraws coop c's pledge; a remote project's coop
// gets a Leave.
func (f *Federation) WithdrawCoopPledge(ctx context.Context, c *coopfed.Coop, projectIRI string) error {
	self := f.iris.Coop(c.Name)
	if _, err := f.store.PledgeOf(ctx, projectIRI, self); err != nil {
		return err
	}
	var owner, inbox string
	if !f.iris.IsLocal(projectIRI) {
		var err error
		if _, owner, inbox, err = f.projectOwner(ctx, projectIRI); err != nil {
			return err
		}
	}
	err := f.store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.WithdrawPledge(projectIRI, self); err != nil {
			return err
		}
		if inbox == "" {
			return nil
		}
		_, err := f.send(tx, c, f.leaveDoc(self, owner, projectIRI, f.iris.Activity(f.newID())), projectIRI, false, []string{inbox})
		return err
	})
	if err != nil {
		return err
	}
	f.delivery.wake()
	return nil
}

// joinDoc is the Join of a pledge to a project owned by owner.
func (f *Federation) joinDoc(self, owner string, pl *coopfed.Pledge) map[string]any {
	return map[string]any{
		"@context": projectContext, "id": pl.Activity, "type": "Join", "actor": self, "object": pl.ProjectIRI,
		"monthlyCap": strconv.FormatInt(pl.Cap, 10), "to": []string{owner},
	}
}

// leaveDoc is the Leave that withdraws a pledge.
func (f *Federation) leaveDoc(self, owner, projectIRI, id string) map[string]any {
	return map[string]any{
		"@context": ContextActivityStreams, "id": id, "type": "Leave", "actor": self, "object": projectIRI, "to": []string{owner},
	}
}

// --- incoming ---

// joinJSON is what a Join carries beyond the activity.
type joinJSON struct {
	MonthlyCap json.RawMessage `json:"monthlyCap"`
}

// parseCap reads a monthlyCap given as a string of digits or a number.
func parseCap(raw json.RawMessage) (int64, error) {
	raw = bytes.TrimSpace(raw)
	bad := coopfed.FieldErrors(map[string]string{"monthlyCap": "a whole number of minor units from 1 to 1000000000000"})
	if len(raw) == 0 || len(raw) > 40 {
		return 0, bad
	}
	s := string(raw)
	if raw[0] == '"' {
		if decodeJSON(raw, &s) != nil {
			return 0, bad
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || coopfed.ValidatePledgeCap(n) != nil {
		return 0, bad
	}
	return n, nil
}

// pledgeProject resolves the local project a Join or Leave names.
func pledgeProject(ctx context.Context, in *incoming) (*coopfed.Project, error) {
	if err := in.parseObject(); err != nil {
		return nil, err
	}
	if !in.f.iris.IsLocal(in.objectID) {
		return nil, errIgnore // a pledge to another server's project
	}
	p, err := in.f.store.ProjectByIRI(ctx, in.objectID)
	if err != nil {
		return nil, coopfed.Errorf(coopfed.ENOTFOUND, "no commons project %s here", in.objectID)
	}
	// Why: an activity posted to one coop's inbox speaks to that coop;
	// a pledge to another coop's project there is a mistake or a probe.
	if in.coop != nil && in.coop.ID != p.CoopID {
		return nil, coopfed.Errorf(coopfed.EINVALID, "the project is not this coop's")
	}
	return p, nil
}

func checkJoin(ctx context.Context, in *incoming) error {
	if _, err := pledgeProject(ctx, in); err != nil {
		return err
	}
	var j joinJSON
	if err := decodeJSON(in.raw, &j); err != nil {
		return coopfed.Errorf(coopfed.EINVALID, "Join: %v", err)
	}
	_, err := parseCap(j.MonthlyCap)
	return err
}

func applyJoin(ctx context.Context, in *incoming) error {
	var j joinJSON
	decodeJSON(in.raw, &j)
	cap, err := parseCap(j.MonthlyCap)
	if err != nil {
		return err
	}
	_, err = in.tx.PutPledge(&coopfed.Pledge{ProjectIRI: in.objectID, Pledger: in.signer.IRI, Name: in.signer.Handle(),
		Cap: cap, Activity: in.act.ID})
	return err
}

func checkLeave(ctx context.Context, in *incoming) error {
	_, err := pledgeProject(ctx, in)
	return err
}

func applyLeave(ctx context.Context, in *incoming) error {
	err := in.tx.WithdrawPledge(in.objectID, in.signer.IRI)
	if coopfed.ErrorCode(err) == coopfed.ENOTFOUND {
		return nil // nothing pledged: nothing to withdraw
	}
	return err
}
