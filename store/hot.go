package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Statements on the inbox's hot path, prepared once on the write
// connection: mattn/go-sqlite3 otherwise compiles the SQL on every call,
// which cost about as much as the commit itself.
const (
	sqlMarkSeen = `INSERT INTO inbox_seen (activity_iri, version, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
	// Groups follow relays too (following rows of kind group); only coops
	// have timelines and a market.
	sqlCoopsFollowing = `SELECT f.coop_id FROM following f JOIN coops c ON c.id = f.coop_id WHERE f.actor_iri = ? AND f.state = 'accepted' AND c.kind = 'coop'`
	sqlPutTimeline    = `INSERT INTO timeline (coop_id, activity_iri, object_iri, object_type, actor_iri, content, summary, url, in_reply_to, published, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(object_iri, coop_id) DO UPDATE SET content = excluded.content, summary = excluded.summary, url = excluded.url, updated = excluded.updated
		WHERE timeline.actor_iri = excluded.actor_iri AND timeline.deleted = 0
		  AND (timeline.updated IS NULL OR excluded.updated >= timeline.updated)`
)

// prepareHot prepares the hot statements. It runs after the migrations,
// before any transaction: preparing later, inside a transaction, would wait
// for the write pool's only connection, which the transaction holds.
func (s *Store) prepareHot(ctx context.Context) error {
	s.hot = map[string]*sql.Stmt{}
	for _, q := range []string{sqlMarkSeen, sqlCoopsFollowing, sqlPutTimeline} {
		st, err := s.write.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("store: prepare: %w", err)
		}
		s.hot[q] = st
	}
	return nil
}

// exec runs a write in the transaction, through its prepared statement
// when the query is a hot one.
func (tx *Tx) exec(q string, args ...any) (sql.Result, error) {
	if st, ok := tx.s.hot[q]; ok {
		return tx.tx.stmt(tx.ctx, st).ExecContext(tx.ctx, args...)
	}
	return tx.tx.ExecContext(tx.ctx, q, args...)
}

// query is exec for queries that return rows.
func (tx *Tx) query(q string, args ...any) (*sql.Rows, error) {
	if st, ok := tx.s.hot[q]; ok {
		return tx.tx.stmt(tx.ctx, st).QueryContext(tx.ctx, args...)
	}
	return tx.tx.QueryContext(tx.ctx, q, args...)
}
