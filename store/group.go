package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/coopfed/coopfed"
)

// CreateGroup stores a new market group: its actor (a coops row of kind
// group, created with the caller's key pair), its owner and moderators.
func (tx *Tx) CreateGroup(g *coopfed.Group) error {
	g.Kind = coopfed.KindGroup
	if err := g.Validate(); err != nil {
		return err
	}
	if err := tx.CreateCoop(&g.Coop); err != nil {
		return err
	}
	if _, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO groups (actor_id, owner_id) VALUES (?, ?)`, g.ID, g.OwnerID); err != nil {
		return fmt.Errorf("store: create group: %w", err)
	}
	return tx.setModerators(g.ID, g.Moderators)
}

// UpdateGroup changes a group's profile (display name, topic, region,
// membership) and replaces its moderators.
func (tx *Tx) UpdateGroup(g *coopfed.Group) error {
	g.Kind = coopfed.KindGroup
	if err := g.Validate(); err != nil {
		return err
	}
	if err := tx.UpdateCoopProfile(&g.Coop); err != nil {
		return err
	}
	if _, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM group_moderators WHERE group_id = ?`, g.ID); err != nil {
		return fmt.Errorf("store: update group: %w", err)
	}
	return tx.setModerators(g.ID, g.Moderators)
}

func (tx *Tx) setModerators(groupID int64, actors []string) error {
	for _, a := range actors {
		if _, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO group_moderators (group_id, actor_iri, created_at) VALUES (?, ?, ?)
			ON CONFLICT (group_id, actor_iri) DO NOTHING`, groupID, a, ms(tx.now)); err != nil {
			return fmt.Errorf("store: group moderators: %w", err)
		}
	}
	return nil
}

// groupQuery selects a group's actor columns and owner.
var groupQuery = `SELECT ` + prefixed("c.", coopColumns) + `, g.owner_id FROM coops c JOIN groups g ON g.actor_id = c.id`

func scanGroup(row interface{ Scan(...any) error }) (*coopfed.Group, error) {
	var g coopfed.Group
	var created int64
	var links string // payment links are a coop's, a group has none
	c := &g.Coop
	if err := row.Scan(&c.ID, &c.Kind, &c.Name, &c.DisplayName, &c.Summary, &c.Region, &c.Locked, &c.PublicKeyPEM, &c.PrivateKeyPEM, &links, &created, &g.OwnerID); err != nil {
		return nil, err
	}
	c.CreatedAt = fromMS(created)
	return &g, nil
}

// GroupByName returns the local group with that name, its moderators
// included, or ENOTFOUND.
func (s *Store) GroupByName(ctx context.Context, name string) (*coopfed.Group, error) {
	return groupWhere(ctx, s.read, `c.name = ?`, name)
}

// GroupByName returns a local group inside the transaction.
func (tx *Tx) GroupByName(name string) (*coopfed.Group, error) {
	return groupWhere(tx.ctx, tx.tx, `c.name = ?`, name)
}

// GroupByID returns the local group whose actor has that id, or ENOTFOUND.
func (tx *Tx) GroupByID(id int64) (*coopfed.Group, error) {
	return groupWhere(tx.ctx, tx.tx, `c.id = ?`, id)
}

// GroupByID returns the local group whose actor has that id, or ENOTFOUND.
func (s *Store) GroupByID(ctx context.Context, id int64) (*coopfed.Group, error) {
	return groupWhere(ctx, s.read, `c.id = ?`, id)
}

func groupWhere(ctx context.Context, q querier, cond string, arg any) (*coopfed.Group, error) {
	g, err := scanGroup(q.QueryRowContext(ctx, groupQuery+` WHERE `+cond, arg))
	if err != nil {
		return nil, notFound("group", err)
	}
	if g.Moderators, err = moderators(ctx, q, g.ID); err != nil {
		return nil, err
	}
	return g, nil
}

func moderators(ctx context.Context, q querier, groupID int64) ([]string, error) {
	return queryStrings(ctx, q, `SELECT actor_iri FROM group_moderators WHERE group_id = ? ORDER BY created_at, actor_iri`, groupID)
}

// Groups lists the instance's groups by name; ownerID 0 lists all, else
// those the coop runs.
func (s *Store) Groups(ctx context.Context, ownerID int64) ([]*coopfed.Group, error) {
	rows, err := s.read.QueryContext(ctx, groupQuery+` WHERE ? = 0 OR g.owner_id = ? ORDER BY c.name`, ownerID, ownerID)
	if err != nil {
		return nil, fmt.Errorf("store: groups: %w", err)
	}
	var out []*coopfed.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, g := range out {
		if g.Moderators, err = moderators(ctx, s.read, g.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// BanFromGroup bans an actor from a group and ends its membership. It
// reports whether the actor was a member.
func (tx *Tx) BanFromGroup(groupID int64, actorIRI, reason string) (bool, error) {
	if _, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO group_bans (group_id, actor_iri, reason, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (group_id, actor_iri) DO UPDATE SET reason = excluded.reason`, groupID, actorIRI, reason, ms(tx.now)); err != nil {
		return false, fmt.Errorf("store: ban: %w", err)
	}
	return tx.DeleteFollower(groupID, actorIRI, "")
}

// UnbanFromGroup lifts a ban; ENOTFOUND when there is none.
func (tx *Tx) UnbanFromGroup(groupID int64, actorIRI string) error {
	res, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM group_bans WHERE group_id = ? AND actor_iri = ?`, groupID, actorIRI)
	return affected(res, err, "ban")
}

// BannedFromGroup reports whether an actor is banned from a group.
func (tx *Tx) BannedFromGroup(groupID int64, actorIRI string) (bool, error) {
	var n int
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT COUNT(*) FROM group_bans WHERE group_id = ? AND actor_iri = ?`, groupID, actorIRI).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: ban: %w", err)
	}
	return n > 0, nil
}

// GroupBans lists a group's bans, newest first.
func (s *Store) GroupBans(ctx context.Context, groupID int64) ([]*coopfed.GroupBan, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT group_id, actor_iri, reason, created_at FROM group_bans WHERE group_id = ? ORDER BY created_at DESC, actor_iri`, groupID)
	if err != nil {
		return nil, fmt.Errorf("store: bans: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.GroupBan
	for rows.Next() {
		var b coopfed.GroupBan
		var created int64
		if err := rows.Scan(&b.GroupID, &b.ActorIRI, &b.Reason, &created); err != nil {
			return nil, err
		}
		b.CreatedAt = fromMS(created)
		out = append(out, &b)
	}
	return out, rows.Err()
}

// --- what a local group relayed ---

const groupPostColumns = `id, group_id, object_iri, actor_iri, announce_iri, kind, category, title, state, updated, created_at, changed_at`

func scanGroupPost(row interface{ Scan(...any) error }) (*coopfed.GroupPost, error) {
	var p coopfed.GroupPost
	var updated sql.NullInt64
	var created, changed int64
	if err := row.Scan(&p.ID, &p.GroupID, &p.ObjectIRI, &p.ActorIRI, &p.AnnounceIRI, &p.Kind, &p.Category, &p.Title, &p.State, &updated, &created, &changed); err != nil {
		return nil, err
	}
	p.Updated, p.CreatedAt, p.ChangedAt = fromNullMS(updated), fromMS(created), fromMS(changed)
	return &p, nil
}

// GroupPost returns what a group relayed of one object, or ENOTFOUND.
func (tx *Tx) GroupPost(groupID int64, objectIRI string) (*coopfed.GroupPost, error) {
	p, err := scanGroupPost(tx.tx.QueryRowContext(tx.ctx, `SELECT `+groupPostColumns+` FROM group_posts WHERE group_id = ? AND object_iri = ?`, groupID, objectIRI))
	if err != nil {
		return nil, notFound("group post", err)
	}
	return p, nil
}

// PutGroupPost records (or refreshes) an object a group relayed. A
// removed post stays removed: a moderator's decision outlives the edits.
func (tx *Tx) PutGroupPost(p *coopfed.GroupPost) error {
	var updated any
	if p.Updated != nil {
		updated = ms(*p.Updated)
	}
	err := tx.tx.QueryRowContext(tx.ctx, `INSERT INTO group_posts (group_id, object_iri, actor_iri, announce_iri, kind, category, title, state, updated, created_at, changed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (group_id, object_iri) DO UPDATE SET announce_iri = excluded.announce_iri, kind = excluded.kind,
			category = excluded.category, title = excluded.title, state = excluded.state, updated = excluded.updated, changed_at = excluded.changed_at
		WHERE group_posts.state <> 'removed'
		RETURNING id`, p.GroupID, p.ObjectIRI, p.ActorIRI, p.AnnounceIRI, p.Kind, p.Category, p.Title, p.State, updated, ms(tx.now), ms(tx.now)).Scan(&p.ID)
	if err == sql.ErrNoRows {
		return coopfed.Errorf(coopfed.ECONFLICT, "a moderator removed %s from the group", p.ObjectIRI)
	}
	if err != nil {
		return fmt.Errorf("store: group post: %w", err)
	}
	return nil
}

// SetGroupPostState changes what became of a relayed object.
func (tx *Tx) SetGroupPostState(groupID int64, objectIRI, state string) error {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE group_posts SET state = ?, changed_at = ? WHERE group_id = ? AND object_iri = ?`, state, ms(tx.now), groupID, objectIRI)
	return affected(res, err, "group post")
}

// RemoveActorGroupPosts marks every object of an actor in a group removed
// (the actor was banned) and returns how many were open.
func (tx *Tx) RemoveActorGroupPosts(groupID int64, actorIRI string) (int64, error) {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE group_posts SET state = 'removed', changed_at = ? WHERE group_id = ? AND actor_iri = ? AND state = 'open'`, ms(tx.now), groupID, actorIRI)
	if err != nil {
		return 0, fmt.Errorf("store: group posts: %w", err)
	}
	return res.RowsAffected()
}

// GroupPostFilter selects objects a group relayed.
type GroupPostFilter struct {
	GroupID int64
	State   string // "" for any
	Limit   int
	Offset  int
}

// GroupPosts lists what a group relayed, most recently changed first.
func (s *Store) GroupPosts(ctx context.Context, f GroupPostFilter) ([]*coopfed.GroupPost, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+groupPostColumns+` FROM group_posts WHERE group_id = ? AND (? = '' OR state = ?)
		ORDER BY changed_at DESC, id DESC LIMIT ? OFFSET ?`, f.GroupID, f.State, f.State, f.Limit, f.Offset)
	if err != nil {
		return nil, fmt.Errorf("store: group posts: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.GroupPost
	for rows.Next() {
		p, err := scanGroupPost(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// --- local membership ---

// JoinedGroups returns the groups a coop has joined (accepted follows of
// actors of type Group), local groups included: a local group has no
// remote_actors row, and local coops are never followed over ActivityPub,
// so a followed IRI without one is a local group's.
func (tx *Tx) JoinedGroups(coopID int64) ([]*coopfed.Following, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, `SELECT f.coop_id, f.actor_iri, f.follow_iri, f.state, f.created_at, a.inbox, a.shared_inbox
		FROM following f LEFT JOIN remote_actors a ON a.iri = f.actor_iri
		WHERE f.coop_id = ? AND f.state = 'accepted' AND (a.type = 'Group' OR a.iri IS NULL) ORDER BY f.actor_iri`, coopID)
	if err != nil {
		return nil, fmt.Errorf("store: joined groups: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Following
	for rows.Next() {
		var f coopfed.Following
		var created int64
		var inbox, shared sql.NullString
		if err := rows.Scan(&f.CoopID, &f.ActorIRI, &f.FollowIRI, &f.State, &created, &inbox, &shared); err != nil {
			return nil, err
		}
		f.CreatedAt = fromMS(created)
		if inbox.Valid {
			f.Actor = &coopfed.RemoteActor{IRI: f.ActorIRI, Type: "Group", Inbox: inbox.String, SharedInbox: shared.String}
		}
		out = append(out, &f)
	}
	return out, rows.Err()
}

// LocalMembers returns the local coops that are accepted members of a
// local group, by id.
func (tx *Tx) LocalMembers(groupIRI string) ([]int64, error) {
	return queryInts(tx.ctx, tx.tx, `SELECT f.coop_id FROM following f JOIN coops c ON c.id = f.coop_id
		WHERE f.actor_iri = ? AND f.state = 'accepted' AND c.kind = 'coop' ORDER BY f.coop_id`, groupIRI)
}

// GroupsFollowing returns the local groups whose follow of an actor (a
// relay) was accepted.
func (tx *Tx) GroupsFollowing(actorIRI string) ([]int64, error) {
	return queryInts(tx.ctx, tx.tx, `SELECT f.coop_id FROM following f JOIN coops c ON c.id = f.coop_id
		WHERE f.actor_iri = ? AND f.state = 'accepted' AND c.kind = 'group' ORDER BY f.coop_id`, actorIRI)
}

// MemberOnHost reports whether a group has an accepted member of one of
// types on host: a relay or instance actor that subscribed the whole
// server (Mastodon's Follow of the Public collection, LitePub's relay
// Follow).
func (tx *Tx) MemberOnHost(groupID int64, host string, types []string) (bool, error) {
	q := `SELECT COUNT(*) FROM followers f JOIN remote_actors a ON a.iri = f.actor_iri
		WHERE f.coop_id = ? AND f.state = 'accepted' AND a.host = ? AND a.type IN (?` + strings.Repeat(", ?", len(types)-1) + `)`
	args := []any{groupID, host}
	for _, t := range types {
		args = append(args, t)
	}
	var n int
	if err := tx.tx.QueryRowContext(tx.ctx, q, args...).Scan(&n); err != nil {
		return false, fmt.Errorf("store: member on host: %w", err)
	}
	return n > 0, nil
}

func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func queryInts(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// GroupPostsOfActor lists what a group relayed of one actor.
func (tx *Tx) GroupPostsOfActor(groupID int64, actorIRI string) ([]*coopfed.GroupPost, error) {
	return tx.groupPosts(`group_id = ? AND actor_iri = ?`, groupID, actorIRI)
}

// GroupPostsOfObject lists the local groups' records of one object.
func (tx *Tx) GroupPostsOfObject(objectIRI string) ([]*coopfed.GroupPost, error) {
	return tx.groupPosts(`object_iri = ?`, objectIRI)
}

// OpenGroupPosts lists the open objects of a group, newest first.
func (tx *Tx) OpenGroupPosts(groupID int64) ([]*coopfed.GroupPost, error) {
	return tx.groupPosts(`group_id = ? AND state = 'open'`, groupID)
}

func (tx *Tx) groupPosts(cond string, args ...any) ([]*coopfed.GroupPost, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, `SELECT `+groupPostColumns+` FROM group_posts WHERE `+cond+` ORDER BY id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: group posts: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.GroupPost
	for rows.Next() {
		p, err := scanGroupPost(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// GroupsWithMember returns the local groups an actor is a member of
// (accepted or pending).
func (tx *Tx) GroupsWithMember(actorIRI string) ([]*coopfed.Coop, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, `SELECT `+prefixed("c.", coopColumns)+` FROM followers f JOIN coops c ON c.id = f.coop_id
		WHERE f.actor_iri = ? AND c.kind = 'group' ORDER BY c.id`, actorIRI)
	if err != nil {
		return nil, fmt.Errorf("store: groups with member: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Coop
	for rows.Next() {
		c, err := scanCoop(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// FollowersOf counts the local coops and the local groups whose follow of
// an actor (a group, a relay) was accepted, through the read pool: the
// inbox asks before it fetches anything.
func (s *Store) FollowersOf(ctx context.Context, actorIRI string) (coops, groups int64, err error) {
	err = s.read.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN c.kind = 'coop' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN c.kind = 'group' THEN 1 ELSE 0 END), 0)
		FROM following f JOIN coops c ON c.id = f.coop_id WHERE f.actor_iri = ? AND f.state = 'accepted'`, actorIRI).Scan(&coops, &groups)
	if err != nil {
		return 0, 0, fmt.Errorf("store: followers of: %w", err)
	}
	return coops, groups, nil
}

// GroupPostsOfObject lists the local groups' records of one object.
func (s *Store) GroupPostsOfObject(ctx context.Context, objectIRI string) ([]*coopfed.GroupPost, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+groupPostColumns+` FROM group_posts WHERE object_iri = ? ORDER BY id`, objectIRI)
	if err != nil {
		return nil, fmt.Errorf("store: group posts: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.GroupPost
	for rows.Next() {
		p, err := scanGroupPost(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// CountGroupPosts counts a group's relayed objects in a state ("" for any).
func (s *Store) CountGroupPosts(ctx context.Context, groupID int64, state string) (int64, error) {
	return s.count(ctx, `SELECT COUNT(*) FROM group_posts WHERE group_id = ? AND (? = '' OR state = ?)`, groupID, state, state)
}

// UnlistGroupActivities takes a group's activities about objects out of
// its outbox (a moderator removed them, their member left or was banned,
// their author deleted them), so members who join later do not read them
// back.
func (tx *Tx) UnlistGroupActivities(groupID int64, objectIRIs ...string) error {
	for _, iri := range objectIRIs {
		if _, err := tx.tx.ExecContext(tx.ctx, `UPDATE activities SET public = 0 WHERE coop_id = ? AND object_iri = ?`, groupID, iri); err != nil {
			return fmt.Errorf("store: unlist: %w", err)
		}
	}
	return nil
}

// KnownGroup is a market group or relay this instance knows: one of its
// own, or a remote one a local coop joined or that brought listings.
type KnownGroup struct {
	IRI   string
	Local *coopfed.Group // set for the instance's own groups
	Actor *coopfed.RemoteActor
	// Joined counts the local coops that are accepted members; Held the
	// listings in this instance's market that came through it.
	Joined int64
	Held   int64
}

// KnownGroups lists the instance's own groups, then the remote groups and
// relays it knows, by IRI. localIRI builds a local group's IRI.
func (s *Store) KnownGroups(ctx context.Context, localIRI func(name string) string) ([]KnownGroup, error) {
	local, err := s.Groups(ctx, 0)
	if err != nil {
		return nil, err
	}
	var out []KnownGroup
	for _, g := range local {
		out = append(out, KnownGroup{IRI: localIRI(g.Name), Local: g})
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+actorColumns+` FROM remote_actors a WHERE
		(a.type = 'Group' AND (EXISTS (SELECT 1 FROM following f WHERE f.actor_iri = a.iri)
			OR EXISTS (SELECT 1 FROM listing_groups lg WHERE lg.group_iri = a.iri)))
		OR (a.type IN ('Application', 'Service') AND EXISTS (SELECT 1 FROM following f JOIN coops c ON c.id = f.coop_id
			WHERE f.actor_iri = a.iri AND c.kind = 'coop'))
		ORDER BY a.iri`)
	if err != nil {
		return nil, fmt.Errorf("store: known groups: %w", err)
	}
	for rows.Next() {
		a, err := scanActor(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, KnownGroup{IRI: a.IRI, Actor: a})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		k := &out[i]
		if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM following f JOIN coops c ON c.id = f.coop_id
			WHERE f.actor_iri = ? AND f.state = 'accepted' AND c.kind = 'coop'`, k.IRI).Scan(&k.Joined); err != nil {
			return nil, fmt.Errorf("store: known groups: %w", err)
		}
		if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM listing_groups lg JOIN listings l ON l.id = lg.listing_id
			WHERE lg.group_iri = ? AND l.coop_id IS NULL`, k.IRI).Scan(&k.Held); err != nil {
			return nil, fmt.Errorf("store: known groups: %w", err)
		}
	}
	return out, nil
}
