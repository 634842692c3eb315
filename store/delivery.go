package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
)

// EnqueueDeliveries adds one pending delivery of the activity per inbox,
// ignoring inboxes it already has, in the transaction that stores the
// activity: an activity committed is an activity that will be delivered.
func (tx *Tx) EnqueueDeliveries(activityID int64, inboxes []string) (int, error) {
	if len(inboxes) == 0 {
		return 0, nil
	}
	stmt, err := tx.tx.PrepareContext(tx.ctx, `INSERT INTO deliveries (activity_id, inbox, host, next_attempt, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("store: enqueue: %w", err)
	}
	defer stmt.Close()
	n := 0
	for _, inbox := range inboxes {
		u, err := url.Parse(inbox)
		if err != nil || u.Host == "" {
			continue // an actor with a broken inbox gets nothing; the rest still do
		}
		res, err := stmt.ExecContext(tx.ctx, activityID, inbox, strings.ToLower(u.Host), ms(tx.now), ms(tx.now))
		if err != nil {
			return n, fmt.Errorf("store: enqueue: %w", err)
		}
		k, _ := res.RowsAffected()
		n += int(k)
	}
	if n > 0 {
		tx.enqueued = true
	}
	return n, nil
}

// FollowerInboxes returns the distinct inboxes that reach a coop's accepted
// followers: the shared inbox where an actor advertises one, so a host with
// many followers gets one POST.
func (tx *Tx) FollowerInboxes(coopID int64) ([]string, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, `SELECT DISTINCT CASE WHEN a.shared_inbox != '' THEN a.shared_inbox ELSE a.inbox END
		FROM followers f JOIN remote_actors a ON a.iri = f.actor_iri WHERE f.coop_id = ? AND f.state = 'accepted'`, coopID)
	if err != nil {
		return nil, fmt.Errorf("store: follower inboxes: %w", err)
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

// ClaimDeliveries leases up to limit due deliveries to the caller until
// now+lease and returns them with the activity body and the signing coop.
// A worker that dies holding a lease only delays the row until it lapses.
// Hosts in skip (open circuit breakers) are left alone.
func (s *Store) ClaimDeliveries(ctx context.Context, limit int, lease time.Duration, skip []string) ([]*coopfed.Delivery, error) {
	if s.pg {
		return s.claimDeliveriesPG(ctx, limit, lease, skip)
	}
	var out []*coopfed.Delivery
	err := s.Update(ctx, func(tx *Tx) error {
		now := ms(tx.now)
		q := `SELECT d.id, d.activity_id, d.inbox, d.host, d.attempts, d.next_attempt, d.last_error, d.created_at, a.json, COALESCE(a.coop_id, 0)
			FROM deliveries d JOIN activities a ON a.id = d.activity_id
			WHERE d.state = 'pending' AND d.next_attempt <= ? AND d.lease_until <= ?`
		args := []any{now, now}
		if len(skip) > 0 {
			q += ` AND d.host NOT IN (?` + strings.Repeat(`, ?`, len(skip)-1) + `)`
			for _, h := range skip {
				args = append(args, h)
			}
		}
		q += ` ORDER BY d.next_attempt, d.id LIMIT ?`
		args = append(args, limit)
		rows, err := tx.tx.QueryContext(tx.ctx, q, args...)
		if err != nil {
			return fmt.Errorf("store: claim: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var d coopfed.Delivery
			var next, created int64
			var body string
			if err := rows.Scan(&d.ID, &d.ActivityID, &d.Inbox, &d.Host, &d.Attempts, &next, &d.LastError, &created, &body, &d.CoopID); err != nil {
				return err
			}
			d.NextAttempt, d.CreatedAt, d.Body, d.State = fromMS(next), fromMS(created), []byte(body), coopfed.DeliveryPending
			out = append(out, &d)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		until := ms(tx.now.Add(lease))
		for _, d := range out {
			if _, err := tx.tx.ExecContext(tx.ctx, `UPDATE deliveries SET lease_until = ? WHERE id = ?`, until, d.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// claimDeliveriesPG is the claim of several processes sharing one
// PostgreSQL database. The due rows are picked FOR UPDATE SKIP LOCKED and
// leased in the same statement, so two processes claiming at once get
// disjoint rows, and a row a process leased is not due for another until
// the lease lapses. It runs outside the writer lock: it touches only rows
// it locks itself.
func (s *Store) claimDeliveriesPG(ctx context.Context, limit int, lease time.Duration, skip []string) ([]*coopfed.Delivery, error) {
	now := s.now()
	args := []any{ms(now.Add(lease)), ms(now), ms(now)}
	q := `WITH due AS (
			SELECT id FROM deliveries
			WHERE state = 'pending' AND next_attempt <= ? AND lease_until <= ?`
	if len(skip) > 0 {
		q += ` AND host NOT IN (?` + strings.Repeat(`, ?`, len(skip)-1) + `)`
		for _, h := range skip {
			args = append(args, h)
		}
	}
	q += ` ORDER BY next_attempt, id LIMIT ? FOR UPDATE SKIP LOCKED)
		UPDATE deliveries d SET lease_until = ? FROM due, activities a
		WHERE d.id = due.id AND a.id = d.activity_id
		RETURNING d.id, d.activity_id, d.inbox, d.host, d.attempts, d.next_attempt, d.last_error, d.created_at, a.json, COALESCE(a.coop_id, 0)`
	// The lease is the statement's last placeholder but its first
	// argument above; move it to the end.
	args = append(append(args[1:], limit), args[0])
	rows, err := s.write.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: claim: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Delivery
	for rows.Next() {
		var d coopfed.Delivery
		var next, created int64
		var body string
		if err := rows.Scan(&d.ID, &d.ActivityID, &d.Inbox, &d.Host, &d.Attempts, &next, &d.LastError, &created, &body, &d.CoopID); err != nil {
			return nil, err
		}
		d.NextAttempt, d.CreatedAt, d.Body, d.State = fromMS(next), fromMS(created), []byte(body), coopfed.DeliveryPending
		out = append(out, &d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// RETURNING gives no order; workers take the oldest first.
	sort.Slice(out, func(i, j int) bool {
		if !out[i].NextAttempt.Equal(out[j].NextAttempt) {
			return out[i].NextAttempt.Before(out[j].NextAttempt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// DeliveryResult is the outcome of one attempt, recorded by FinishDeliveries.
type DeliveryResult struct {
	ID       int64
	State    string    // DeliveryDone, DeliveryFailed or DeliveryPending (retry)
	Attempts int       // attempts made so far, this one included
	Next     time.Time // for a retry
	Error    string
}

// FinishDeliveries records the outcomes of attempts in one transaction, so
// a busy worker pool costs one commit per batch rather than per POST.
func (s *Store) FinishDeliveries(ctx context.Context, results []DeliveryResult) error {
	if len(results) == 0 {
		return nil
	}
	return s.Update(ctx, func(tx *Tx) error {
		for _, r := range results {
			var err error
			switch r.State {
			case coopfed.DeliveryDone:
				_, err = tx.tx.ExecContext(tx.ctx, `UPDATE deliveries SET state = 'done', attempts = ?, last_error = '', lease_until = 0, done_at = ? WHERE id = ?`, r.Attempts, ms(tx.now), r.ID)
			case coopfed.DeliveryFailed:
				_, err = tx.tx.ExecContext(tx.ctx, `UPDATE deliveries SET state = 'failed', attempts = ?, last_error = ?, lease_until = 0, done_at = ? WHERE id = ?`, r.Attempts, r.Error, ms(tx.now), r.ID)
			default:
				_, err = tx.tx.ExecContext(tx.ctx, `UPDATE deliveries SET attempts = ?, last_error = ?, next_attempt = ?, lease_until = 0 WHERE id = ?`, r.Attempts, r.Error, ms(r.Next), r.ID)
			}
			if err != nil {
				return fmt.Errorf("store: finish delivery: %w", err)
			}
		}
		return nil
	})
}

// PurgeDeliveries removes finished delivery rows older than before; pending
// ones are never purged.
func (s *Store) PurgeDeliveries(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.Update(ctx, func(tx *Tx) error {
		res, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM deliveries WHERE state != 'pending' AND done_at < ?`, ms(before))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

// DeliveryStats summarises the queue.
func (s *Store) DeliveryStats(ctx context.Context) (coopfed.DeliveryStats, error) {
	var st coopfed.DeliveryStats
	var oldest sql.NullInt64
	err := s.read.QueryRowContext(ctx, `SELECT
		COUNT(CASE WHEN state = 'pending' THEN 1 END), MIN(CASE WHEN state = 'pending' THEN created_at END),
		COUNT(CASE WHEN state = 'done' THEN 1 END), COUNT(CASE WHEN state = 'failed' THEN 1 END) FROM deliveries`).Scan(&st.Pending, &oldest, &st.Done, &st.Failed)
	if err != nil {
		return st, fmt.Errorf("store: delivery stats: %w", err)
	}
	if oldest.Valid {
		st.OldestPending = fromMS(oldest.Int64)
	}
	return st, nil
}

// Deliveries lists the deliveries of one activity (for tests and admins).
func (s *Store) Deliveries(ctx context.Context, activityIRI string) ([]*coopfed.Delivery, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT d.id, d.activity_id, d.inbox, d.host, d.state, d.attempts, d.next_attempt, d.last_error, d.created_at
		FROM deliveries d JOIN activities a ON a.id = d.activity_id WHERE a.iri = ? ORDER BY d.id`, activityIRI)
	if err != nil {
		return nil, fmt.Errorf("store: deliveries: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Delivery
	for rows.Next() {
		var d coopfed.Delivery
		var next, created int64
		if err := rows.Scan(&d.ID, &d.ActivityID, &d.Inbox, &d.Host, &d.State, &d.Attempts, &next, &d.LastError, &created); err != nil {
			return nil, err
		}
		d.NextAttempt, d.CreatedAt = fromMS(next), fromMS(created)
		out = append(out, &d)
	}
	return out, rows.Err()
}

// ReleaseLeases makes every leased delivery claimable again. The server
// calls it at start: one process owns a SQLite database, so any lease found
// then belongs to a process that died. On PostgreSQL other processes may
// be sending what they leased, so nothing is released: the leases of a
// process that died lapse on their own.
func (s *Store) ReleaseLeases(ctx context.Context) (int64, error) {
	if s.pg {
		return 0, nil
	}
	var n int64
	err := s.Update(ctx, func(tx *Tx) error {
		res, err := tx.tx.ExecContext(tx.ctx, `UPDATE deliveries SET lease_until = 0 WHERE state = 'pending' AND lease_until > 0`)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
