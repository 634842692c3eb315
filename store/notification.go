package store

import (
	"context"
	"fmt"

	"github.com/coopfed/coopfed"
)

// AddNotification stores a notification for a coop unless the coop already
// has one of the same kind for the same need and offer (a match) or the same
// activity (a trade proposal, a follow request). It reports whether the
// notification is new.
func (tx *Tx) AddNotification(n *coopfed.Notification) (bool, error) {
	if n.CreatedAt.IsZero() {
		n.CreatedAt = tx.now
	}
	id, inserted, err := tx.insertID(`INSERT INTO notifications (coop_id, kind, need_iri, offer_iri, activity_iri, listing_iri, actor_iri, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (coop_id, kind, need_iri, offer_iri, activity_iri) DO NOTHING`, n.CoopID, n.Kind, n.NeedIRI, n.OfferIRI, n.ActivityIRI, n.ListingIRI, n.ActorIRI, ms(n.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("store: add notification: %w", err)
	}
	if inserted {
		n.ID = id
	}
	return inserted, nil
}

// NotificationFilter selects a coop's notifications.
type NotificationFilter struct {
	CoopID int64
	Unread bool  // only those not yet marked read
	Before int64 // id cursor; 0 for the newest
	Limit  int
}

// Notifications lists a coop's notifications, newest first.
func (s *Store) Notifications(ctx context.Context, f NotificationFilter) ([]*coopfed.Notification, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 40
	}
	q := `SELECT id, coop_id, kind, need_iri, offer_iri, activity_iri, listing_iri, actor_iri, created_at, read FROM notifications WHERE coop_id = ?`
	args := []any{f.CoopID}
	if f.Unread {
		q += ` AND read = 0`
	}
	if f.Before > 0 {
		q, args = q+` AND id < ?`, append(args, f.Before)
	}
	rows, err := s.read.QueryContext(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: notifications: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Notification
	for rows.Next() {
		var n coopfed.Notification
		var created int64
		if err := rows.Scan(&n.ID, &n.CoopID, &n.Kind, &n.NeedIRI, &n.OfferIRI, &n.ActivityIRI, &n.ListingIRI, &n.ActorIRI, &created, &n.Read); err != nil {
			return nil, err
		}
		n.CreatedAt = fromMS(created)
		out = append(out, &n)
	}
	return out, rows.Err()
}

// MarkNotificationsRead marks a coop's notifications up to id (all when id
// is 0) as read and returns how many changed.
func (tx *Tx) MarkNotificationsRead(coopID, upTo int64) (int64, error) {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE notifications SET read = 1 WHERE coop_id = ? AND read = 0 AND (? = 0 OR id <= ?)`, coopID, upTo, upTo)
	if err != nil {
		return 0, fmt.Errorf("store: mark notifications read: %w", err)
	}
	return res.RowsAffected()
}
