package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/coopfed/coopfed"
)

// PutFollower records (or refreshes) a follow request from a remote actor.
// A repeated Follow keeps an accepted follower accepted.
func (tx *Tx) PutFollower(f *coopfed.Follower) error {
	f.CreatedAt = tx.now
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO followers (coop_id, actor_iri, follow_iri, state, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(coop_id, actor_iri) DO UPDATE SET follow_iri = excluded.follow_iri,
		state = CASE WHEN followers.state = 'accepted' THEN 'accepted' ELSE excluded.state END`,
		f.CoopID, f.ActorIRI, f.FollowIRI, f.State, ms(f.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: put follower: %w", err)
	}
	return nil
}

// Follower returns one follower of a coop, or ENOTFOUND.
func (tx *Tx) Follower(coopID int64, actorIRI string) (*coopfed.Follower, error) {
	var f coopfed.Follower
	var created int64
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT coop_id, actor_iri, follow_iri, state, created_at FROM followers WHERE coop_id = ? AND actor_iri = ?`, coopID, actorIRI).
		Scan(&f.CoopID, &f.ActorIRI, &f.FollowIRI, &f.State, &created)
	if err != nil {
		return nil, notFound("follower", err)
	}
	f.CreatedAt = fromMS(created)
	return &f, nil
}

// SetFollowerState changes a follower's state; ENOTFOUND if there is none.
func (tx *Tx) SetFollowerState(coopID int64, actorIRI, state string) error {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE followers SET state = ? WHERE coop_id = ? AND actor_iri = ?`, state, coopID, actorIRI)
	return affected(res, err, "follower")
}

// DeleteFollower removes a follower. If followIRI is not empty only a row
// created by that Follow is removed (an Undo must name the Follow it undoes).
func (tx *Tx) DeleteFollower(coopID int64, actorIRI, followIRI string) (bool, error) {
	q := `DELETE FROM followers WHERE coop_id = ? AND actor_iri = ?`
	args := []any{coopID, actorIRI}
	if followIRI != "" {
		q += ` AND follow_iri = ?`
		args = append(args, followIRI)
	}
	res, err := tx.tx.ExecContext(tx.ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("store: delete follower: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// DeleteActorFollows removes every follow relation with a remote actor (on
// the actor's Delete).
func (tx *Tx) DeleteActorFollows(actorIRI string) error {
	if _, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM followers WHERE actor_iri = ?`, actorIRI); err != nil {
		return err
	}
	_, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM following WHERE actor_iri = ?`, actorIRI)
	tx.dirty = true
	return err
}

// PutFollowing records that a coop asked to follow a remote actor.
func (tx *Tx) PutFollowing(f *coopfed.Following) error {
	f.CreatedAt = tx.now
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO following (coop_id, actor_iri, follow_iri, state, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(coop_id, actor_iri) DO UPDATE SET follow_iri = excluded.follow_iri, state = excluded.state, created_at = excluded.created_at`,
		f.CoopID, f.ActorIRI, f.FollowIRI, f.State, ms(f.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: put following: %w", err)
	}
	tx.dirty = true
	return nil
}

// FollowingByFollowIRI returns the follow our coop sent with that id.
func (tx *Tx) FollowingByFollowIRI(followIRI string) (*coopfed.Following, error) {
	var f coopfed.Following
	var created int64
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT coop_id, actor_iri, follow_iri, state, created_at FROM following WHERE follow_iri = ?`, followIRI).
		Scan(&f.CoopID, &f.ActorIRI, &f.FollowIRI, &f.State, &created)
	if err != nil {
		return nil, notFound("follow", err)
	}
	f.CreatedAt = fromMS(created)
	return &f, nil
}

// Following returns the coop's follow of one actor, or ENOTFOUND.
func (tx *Tx) Following(coopID int64, actorIRI string) (*coopfed.Following, error) {
	var f coopfed.Following
	var created int64
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT coop_id, actor_iri, follow_iri, state, created_at FROM following WHERE coop_id = ? AND actor_iri = ?`, coopID, actorIRI).
		Scan(&f.CoopID, &f.ActorIRI, &f.FollowIRI, &f.State, &created)
	if err != nil {
		return nil, notFound("follow", err)
	}
	f.CreatedAt = fromMS(created)
	return &f, nil
}

// SetFollowingState changes the state of a follow we sent.
func (tx *Tx) SetFollowingState(coopID int64, actorIRI, state string) error {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE following SET state = ? WHERE coop_id = ? AND actor_iri = ?`, state, coopID, actorIRI)
	tx.dirty = true
	return affected(res, err, "follow")
}

// DeleteFollowing removes a follow we sent.
func (tx *Tx) DeleteFollowing(coopID int64, actorIRI string) (bool, error) {
	res, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM following WHERE coop_id = ? AND actor_iri = ?`, coopID, actorIRI)
	tx.dirty = true
	if err != nil {
		return false, fmt.Errorf("store: delete following: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// CoopsFollowing returns the local coops whose follow of the actor was
// accepted.
//
// On SQLite the answer is cached: every inbox activity asks it, inside the
// one write transaction, and follows change rarely. Each write to following
// marks its transaction dirty, which clears the cache at commit and makes
// the transaction itself read the table. On PostgreSQL another process's
// follow reaches this one's cache only with its NOTIFY, and a Create read
// against a stale "nobody follows" would be kept out of the timeline, so
// there it is always read.
func (tx *Tx) CoopsFollowing(actorIRI string) ([]int64, error) {
	cached := !tx.s.pg && !tx.dirty
	if cached {
		if ids, ok := tx.s.cache.follows(actorIRI); ok {
			return slices.Clone(ids), nil
		}
	}
	gen := tx.s.cache.generation()
	ids, err := tx.coopsFollowing(actorIRI)
	if err == nil && cached {
		tx.s.cache.putFollows(actorIRI, slices.Clone(ids), gen)
	}
	return ids, err
}

func (tx *Tx) coopsFollowing(actorIRI string) ([]int64, error) {
	rows, err := tx.query(sqlCoopsFollowing, actorIRI)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// FollowFilter selects rows of a followers or following list.
type FollowFilter struct {
	CoopID int64
	State  string // "" for any
	Offset int
	Limit  int
}

// Followers lists a coop's followers, newest first, with their cached actors.
func (s *Store) Followers(ctx context.Context, f FollowFilter) ([]*coopfed.Follower, error) {
	rows, err := s.followRows(ctx, "followers", f)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*coopfed.Follower
	for rows.Next() {
		var x coopfed.Follower
		var created int64
		a, err := scanFollowRow(rows, &x.CoopID, &x.ActorIRI, &x.FollowIRI, &x.State, &created)
		if err != nil {
			return nil, err
		}
		x.CreatedAt, x.Actor = fromMS(created), a
		out = append(out, &x)
	}
	return out, rows.Err()
}

// Followings lists the actors a coop follows, newest first.
func (s *Store) Followings(ctx context.Context, f FollowFilter) ([]*coopfed.Following, error) {
	rows, err := s.followRows(ctx, "following", f)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*coopfed.Following
	for rows.Next() {
		var x coopfed.Following
		var created int64
		a, err := scanFollowRow(rows, &x.CoopID, &x.ActorIRI, &x.FollowIRI, &x.State, &created)
		if err != nil {
			return nil, err
		}
		x.CreatedAt, x.Actor = fromMS(created), a
		out = append(out, &x)
	}
	return out, rows.Err()
}

func (s *Store) followRows(ctx context.Context, table string, f FollowFilter) (*sql.Rows, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q := `SELECT f.coop_id, f.actor_iri, f.follow_iri, f.state, f.created_at, ` + prefixed("a.", actorColumns) + `
		FROM ` + table + ` f LEFT JOIN remote_actors a ON a.iri = f.actor_iri WHERE f.coop_id = ?`
	args := []any{f.CoopID}
	if f.State != "" {
		q += ` AND f.state = ?`
		args = append(args, f.State)
	}
	q += ` ORDER BY f.created_at DESC, f.actor_iri DESC LIMIT ? OFFSET ?`
	args = append(args, f.Limit, f.Offset)
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", table, err)
	}
	return rows, nil
}

// scanFollowRow scans the follow columns into dst and the joined actor,
// which is nil when the actor is not cached.
func scanFollowRow(rows *sql.Rows, coopID *int64, actorIRI, followIRI, state *string, created *int64) (*coopfed.RemoteActor, error) {
	var a struct {
		iri, typ, user, host, name, summary, url, inbox, shared, outbox, followers, keyID, keyPEM, region sql.NullString
		fetched                                                                                           sql.NullInt64
	}
	if err := rows.Scan(coopID, actorIRI, followIRI, state, created, &a.iri, &a.typ, &a.user, &a.host, &a.name, &a.summary, &a.url, &a.inbox, &a.shared, &a.outbox, &a.followers, &a.keyID, &a.keyPEM, &a.fetched, &a.region); err != nil {
		return nil, err
	}
	if !a.iri.Valid {
		return nil, nil
	}
	return &coopfed.RemoteActor{IRI: a.iri.String, Type: a.typ.String, PreferredUsername: a.user.String, Host: a.host.String, Name: a.name.String,
		Summary: a.summary.String, URL: a.url.String, Inbox: a.inbox.String, SharedInbox: a.shared.String, Outbox: a.outbox.String,
		Followers: a.followers.String, PublicKeyID: a.keyID.String, PublicKeyPEM: a.keyPEM.String, FetchedAt: fromMS(a.fetched.Int64), Region: a.region.String}, nil
}

// CountFollowers returns how many followers a coop has in a state ("" any).
func (s *Store) CountFollowers(ctx context.Context, coopID int64, state string) (int64, error) {
	return s.count(ctx, `SELECT COUNT(*) FROM followers WHERE coop_id = ? AND (? = '' OR state = ?)`, coopID, state, state)
}

// CountFollowing returns how many actors a coop follows in a state ("" any).
func (s *Store) CountFollowing(ctx context.Context, coopID int64, state string) (int64, error) {
	return s.count(ctx, `SELECT COUNT(*) FROM following WHERE coop_id = ? AND (? = '' OR state = ?)`, coopID, state, state)
}

func (s *Store) count(ctx context.Context, q string, args ...any) (int64, error) {
	var n int64
	if err := s.read.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count: %w", err)
	}
	return n, nil
}

func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return coopfed.Errorf(coopfed.ENOTFOUND, "%s not found", what)
	}
	return nil
}

// FollowingOf returns a coop's follow of one actor through the read pool,
// or ENOTFOUND.
func (s *Store) FollowingOf(ctx context.Context, coopID int64, actorIRI string) (*coopfed.Following, error) {
	var f coopfed.Following
	var created int64
	err := s.read.QueryRowContext(ctx, `SELECT coop_id, actor_iri, follow_iri, state, created_at FROM following WHERE coop_id = ? AND actor_iri = ?`, coopID, actorIRI).
		Scan(&f.CoopID, &f.ActorIRI, &f.FollowIRI, &f.State, &created)
	if err != nil {
		return nil, notFound("follow", err)
	}
	f.CreatedAt = fromMS(created)
	return &f, nil
}
