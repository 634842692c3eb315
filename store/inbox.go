package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
)

// MarkSeen records an incoming activity and reports whether it is new. The
// version distinguishes edits that reuse one activity id (GoToSocial sends
// every edit of a status as the same Update id with a newer `updated`).
func (tx *Tx) MarkSeen(activityIRI, version string) (bool, error) {
	res, err := tx.exec(sqlMarkSeen, activityIRI, version, ms(tx.now))
	if err != nil {
		return false, fmt.Errorf("store: mark seen: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Seen reports whether an incoming activity was already applied.
func (s *Store) Seen(ctx context.Context, activityIRI, version string) (bool, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM inbox_seen WHERE activity_iri = ? AND version = ?`, activityIRI, version).Scan(&n)
	return n > 0, err
}

const timelineColumns = `id, coop_id, activity_iri, object_iri, object_type, actor_iri, content, summary, url, in_reply_to, published, updated, deleted`

// PutTimelineItem adds an object a followed actor sent to a coop's
// timeline, or refreshes it if the coop already has it.
func (tx *Tx) PutTimelineItem(it *coopfed.TimelineItem) error {
	var updated any
	if it.Updated != nil {
		updated = ms(*it.Updated)
	}
	_, err := tx.exec(sqlPutTimeline,
		it.CoopID, it.ActivityIRI, it.ObjectIRI, it.ObjectType, it.ActorIRI, it.Content, it.Summary, it.URL, it.InReplyTo, ms(it.Published), updated)
	if err != nil {
		return fmt.Errorf("store: timeline: %w", err)
	}
	return nil
}

// UpdateTimelineObject applies an edit by its author to every coop's copy of
// an object; the actor must be the one who created it.
func (tx *Tx) UpdateTimelineObject(it *coopfed.TimelineItem) (int64, error) {
	var updated any
	if it.Updated != nil {
		updated = ms(*it.Updated)
	}
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE timeline SET content = ?, summary = ?, url = ?, updated = COALESCE(?, updated)
		WHERE object_iri = ? AND actor_iri = ? AND deleted = 0 AND (updated IS NULL OR CAST(? AS BIGINT) IS NULL OR updated <= ?)`,
		it.Content, it.Summary, it.URL, updated, it.ObjectIRI, it.ActorIRI, updated, updated)
	if err != nil {
		return 0, fmt.Errorf("store: timeline update: %w", err)
	}
	return res.RowsAffected()
}

// DeleteTimelineObject blanks an object its author deleted, everywhere.
func (tx *Tx) DeleteTimelineObject(objectIRI, actorIRI string) (int64, error) {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE timeline SET deleted = 1, content = '', summary = '' WHERE object_iri = ? AND actor_iri = ?`, objectIRI, actorIRI)
	if err != nil {
		return 0, fmt.Errorf("store: timeline delete: %w", err)
	}
	return res.RowsAffected()
}

// DeleteActorTimeline blanks everything an actor sent (on the actor's Delete).
func (tx *Tx) DeleteActorTimeline(actorIRI string) error {
	_, err := tx.tx.ExecContext(tx.ctx, `UPDATE timeline SET deleted = 1, content = '', summary = '' WHERE actor_iri = ?`, actorIRI)
	return err
}

// TimelineFilter selects a coop's timeline.
type TimelineFilter struct {
	CoopID int64
	Before int64 // id cursor; 0 for the newest
	Limit  int
}

// Timeline lists what followed actors sent a coop, newest first, without
// deleted items.
func (s *Store) Timeline(ctx context.Context, f TimelineFilter) ([]*coopfed.TimelineItem, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 40
	}
	q := `SELECT ` + timelineColumns + ` FROM timeline WHERE coop_id = ? AND deleted = 0`
	args := []any{f.CoopID}
	if f.Before > 0 {
		q += ` AND id < ?`
		args = append(args, f.Before)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: timeline: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.TimelineItem
	for rows.Next() {
		var it coopfed.TimelineItem
		var published int64
		var updated sql.NullInt64
		if err := rows.Scan(&it.ID, &it.CoopID, &it.ActivityIRI, &it.ObjectIRI, &it.ObjectType, &it.ActorIRI, &it.Content, &it.Summary, &it.URL, &it.InReplyTo, &published, &updated, &it.Deleted); err != nil {
			return nil, err
		}
		it.Published, it.Updated = fromMS(published), fromNullMS(updated)
		out = append(out, &it)
	}
	return out, rows.Err()
}

// BlockDomain refuses all traffic from a domain and its subdomains.
func (tx *Tx) BlockDomain(domain, reason string) error {
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO domain_blocks (domain, reason, created_at) VALUES (?, ?, ?) ON CONFLICT(domain) DO UPDATE SET reason = excluded.reason`,
		strings.ToLower(strings.TrimSpace(domain)), reason, ms(tx.now))
	tx.dirty = true
	return err
}

// UnblockDomain lifts a domain block.
func (tx *Tx) UnblockDomain(domain string) error {
	_, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM domain_blocks WHERE domain = ?`, strings.ToLower(domain))
	tx.dirty = true
	return err
}

// BlockActor refuses all traffic from one remote actor.
func (tx *Tx) BlockActor(actorIRI, reason string) error {
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO actor_blocks (actor_iri, reason, created_at) VALUES (?, ?, ?) ON CONFLICT(actor_iri) DO UPDATE SET reason = excluded.reason`, actorIRI, reason, ms(tx.now))
	tx.dirty = true
	return err
}

// UnblockActor lifts an actor block.
func (tx *Tx) UnblockActor(actorIRI string) error {
	_, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM actor_blocks WHERE actor_iri = ?`, actorIRI)
	tx.dirty = true
	return err
}

// DomainBlocked reports whether host or any parent domain is blocked.
func (s *Store) DomainBlocked(ctx context.Context, host string) (bool, error) {
	b, err := s.blockSet(ctx)
	if err != nil || len(b.domains) == 0 {
		return false, err
	}
	host = strings.ToLower(host)
	if i := strings.LastIndex(host, ":"); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i] // a block names a domain, whatever the port
	}
	for h := host; ; {
		if b.domains[h] {
			return true, nil
		}
		i := strings.Index(h, ".")
		if i < 0 {
			return false, nil
		}
		h = h[i+1:]
	}
}

// ActorBlocked reports whether an actor is blocked.
func (s *Store) ActorBlocked(ctx context.Context, actorIRI string) (bool, error) {
	b, err := s.blockSet(ctx)
	if err != nil {
		return false, err
	}
	return b.actors[actorIRI], nil
}

// DomainBlocks lists blocked domains.
func (s *Store) DomainBlocks(ctx context.Context) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT domain FROM domain_blocks ORDER BY domain`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// PurgeSeen forgets incoming activity ids recorded before before. Peers
// retry a delivery for days, not months, so old ids cannot come back as
// retries; without a purge the table grows with every activity received.
func (s *Store) PurgeSeen(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.Update(ctx, func(tx *Tx) error {
		res, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM inbox_seen WHERE received_at < ?`, ms(before))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
