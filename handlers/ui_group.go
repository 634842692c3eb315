package handlers

import (
	"context"
	"net/http"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/coopfed/coopfed/store"
)

// accountRow is an account as a page lists it: its name, handle and page.
type accountRow struct {
	Name, Handle, URL, IRI string
}

// accountOf names an account, local or remote, for a page.
func (s *Server) accountOf(ctx context.Context, iri string, a *coopfed.RemoteActor) accountRow {
	row := accountRow{IRI: iri, URL: iri, Name: iri, Handle: iri}
	if a == nil {
		if c, err := s.fed.LocalActor(ctx, iri); err == nil {
			return accountRow{IRI: iri, URL: iri, Name: c.Title(), Handle: c.Name + "@" + s.iris.Host()}
		}
		if ra, err := s.store.RemoteActor(ctx, iri); err == nil {
			a = ra
		}
	}
	if a != nil {
		row.Handle = a.Handle()
		if a.Name != "" {
			row.Name = a.Name
		} else {
			row.Name = a.Handle()
		}
		if a.URL != "" {
			row.URL = a.URL
		}
	}
	return row
}

// groupPage is a local group's public page: what it is for, how to join,
// what it relays and who is in it.
func (s *Server) groupPage(w http.ResponseWriter, r *http.Request, g *coopfed.Group) {
	ctx := r.Context()
	members, err := s.store.Followers(ctx, store.FollowFilter{CoopID: g.ID, State: coopfed.FollowAccepted, Limit: 200})
	if err != nil {
		s.error(w, r, err)
		return
	}
	posts, err := s.store.GroupPosts(ctx, store.GroupPostFilter{GroupID: g.ID, State: coopfed.PostOpen, Limit: 50})
	if err != nil {
		s.error(w, r, err)
		return
	}
	open, err := s.store.CountGroupPosts(ctx, g.ID, coopfed.PostOpen)
	if err != nil {
		s.error(w, r, err)
		return
	}
	mods, err := s.fed.GroupModerators(ctx, g)
	if err != nil {
		s.error(w, r, err)
		return
	}
	rows := make([]accountRow, 0, len(members))
	for _, m := range members {
		rows = append(rows, s.accountOf(ctx, m.ActorIRI, m.Actor))
	}
	modRows := make([]accountRow, 0, len(mods))
	for _, m := range mods {
		modRows = append(modRows, s.accountOf(ctx, m, nil))
	}
	handle := g.Name + "@" + s.iris.Host()
	data := map[string]any{
		"Group": g, "Handle": handle, "ActorURL": s.iris.Group(g.Name), "InboxURL": s.iris.GroupInbox(g.Name),
		"StatsURL": s.iris.GroupStatistics(g.Name), "Members": len(members), "Open": open, "Posts": posts,
		"MemberRows": rows, "Moderators": modRows,
	}
	if g.Summary != "" {
		data["TopicHTML"] = sanitize.Text(g.Summary)
	}
	if sess := s.visitor(w, r, data); sess != nil && sess.Member.Role == coopfed.RoleAdmin {
		if fl, err := s.store.FollowingOf(ctx, sess.Coop.ID, s.iris.Group(g.Name)); err == nil {
			data["Joined"] = fl.State
		} else {
			data["CanJoin"], data["JoinAction"] = true, groupsAdminURL(sess.Coop.Name)+"/join"
		}
	}
	s.render(w, r, "group", data)
}
