package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/coopfed/coopfed"
)

// Object is a local object as stored: its type, its plain content for
// search and display and the JSON served at its IRI.
type Object struct {
	ID        int64
	IRI       string
	CoopID    int64
	Type      string
	Content   string
	JSON      []byte
	Published time.Time
	Updated   *time.Time
	DeletedAt *time.Time
}

const objectColumns = `id, iri, coop_id, type, content, json, published, updated, deleted_at`

func scanObject(row interface{ Scan(...any) error }) (*Object, error) {
	var o Object
	var published int64
	var updated, deleted sql.NullInt64
	if err := row.Scan(&o.ID, &o.IRI, &o.CoopID, &o.Type, &o.Content, &o.JSON, &published, &updated, &deleted); err != nil {
		return nil, err
	}
	o.Published, o.Updated, o.DeletedAt = fromMS(published), fromNullMS(updated), fromNullMS(deleted)
	return &o, nil
}

// InsertObject stores a new local object.
func (tx *Tx) InsertObject(o *Object) error {
	if o.Published.IsZero() {
		o.Published = tx.now
	}
	var err error
	o.ID, _, err = tx.insertID(`INSERT INTO objects (iri, coop_id, type, content, json, published) VALUES (?, ?, ?, ?, ?, ?)`,
		o.IRI, o.CoopID, o.Type, o.Content, string(o.JSON), ms(o.Published))
	if err != nil {
		return fmt.Errorf("store: insert object: %w", err)
	}
	return nil
}

// ObjectByIRI returns a local object, deleted ones included (callers answer
// 410 for those), or ENOTFOUND.
func (s *Store) ObjectByIRI(ctx context.Context, iri string) (*Object, error) {
	return objectByIRI(ctx, s.read, iri)
}

// ObjectByIRI returns a local object inside the transaction.
func (tx *Tx) ObjectByIRI(iri string) (*Object, error) {
	return objectByIRI(tx.ctx, tx.tx, iri)
}

func objectByIRI(ctx context.Context, q querier, iri string) (*Object, error) {
	o, err := scanObject(q.QueryRowContext(ctx, `SELECT `+objectColumns+` FROM objects WHERE iri = ?`, iri))
	if err != nil {
		return nil, notFound("object", err)
	}
	return o, nil
}

// EditObject replaces a live local object's content and JSON and stamps
// it updated now.
func (tx *Tx) EditObject(iri, content string, doc []byte) error {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE objects SET content = ?, json = ?, updated = ? WHERE iri = ? AND deleted_at IS NULL`, content, string(doc), ms(tx.now), iri)
	return affected(res, err, "object")
}

// DeleteObject turns a local object into a tombstone: its content goes, its
// row stays so the IRI answers 410, and its activities leave the outbox.
func (tx *Tx) DeleteObject(iri string) error {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE objects SET deleted_at = ?, content = '', json = '{}' WHERE iri = ? AND deleted_at IS NULL`, ms(tx.now), iri)
	if err := affected(res, err, "object"); err != nil {
		return err
	}
	_, err = tx.tx.ExecContext(tx.ctx, `UPDATE activities SET public = 0 WHERE object_iri = ?`, iri)
	return err
}

// ObjectFilter selects local objects.
type ObjectFilter struct {
	CoopID  int64
	Type    string
	Deleted bool // include tombstones
	Limit   int
	Before  int64 // id cursor, 0 for the newest
}

// Objects lists a coop's objects, newest first.
func (s *Store) Objects(ctx context.Context, f ObjectFilter) ([]*Object, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 40
	}
	q := `SELECT ` + objectColumns + ` FROM objects WHERE coop_id = ?`
	args := []any{f.CoopID}
	if f.Type != "" {
		q += ` AND type = ?`
		args = append(args, f.Type)
	}
	if !f.Deleted {
		q += ` AND deleted_at IS NULL`
	}
	if f.Before > 0 {
		q += ` AND id < ?`
		args = append(args, f.Before)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: objects: %w", err)
	}
	defer rows.Close()
	var out []*Object
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// CountObjects counts a coop's live objects of a type ("" any), or every
// coop's when coopID is 0.
func (s *Store) CountObjects(ctx context.Context, coopID int64, typ string) (int64, error) {
	return s.count(ctx, `SELECT COUNT(*) FROM objects WHERE (? = 0 OR coop_id = ?) AND (? = '' OR type = ?) AND deleted_at IS NULL`, coopID, coopID, typ, typ)
}

// InsertActivity stores an activity we send.
func (tx *Tx) InsertActivity(a *coopfed.Activity) error {
	if a.Published.IsZero() {
		a.Published = tx.now
	}
	var coop any
	if a.CoopID != 0 {
		coop = a.CoopID
	}
	var err error
	a.ID, _, err = tx.insertID(`INSERT INTO activities (iri, coop_id, type, object_iri, public, json, published) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.IRI, coop, a.Type, a.ObjectIRI, a.Public, string(a.JSON), ms(a.Published))
	if err != nil {
		return fmt.Errorf("store: insert activity: %w", err)
	}
	return nil
}

const activityColumns = `id, iri, COALESCE(coop_id, 0), type, object_iri, public, json, published`

func scanActivity(row interface{ Scan(...any) error }) (*coopfed.Activity, error) {
	var a coopfed.Activity
	var published int64
	var js string
	if err := row.Scan(&a.ID, &a.IRI, &a.CoopID, &a.Type, &a.ObjectIRI, &a.Public, &js, &published); err != nil {
		return nil, err
	}
	a.JSON, a.Published = []byte(js), fromMS(published)
	return &a, nil
}

// ActivityByIRI returns an activity we sent, or ENOTFOUND.
func (s *Store) ActivityByIRI(ctx context.Context, iri string) (*coopfed.Activity, error) {
	a, err := scanActivity(s.read.QueryRowContext(ctx, `SELECT `+activityColumns+` FROM activities WHERE iri = ?`, iri))
	if err != nil {
		return nil, notFound("activity", err)
	}
	return a, nil
}

// Outbox lists a coop's public activities, newest first, from offset.
func (s *Store) Outbox(ctx context.Context, coopID int64, offset, limit int) ([]*coopfed.Activity, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+activityColumns+` FROM activities WHERE coop_id = ? AND public = 1 ORDER BY id DESC LIMIT ? OFFSET ?`, coopID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("store: outbox: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Activity
	for rows.Next() {
		a, err := scanActivity(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CountOutbox counts a coop's public activities.
func (s *Store) CountOutbox(ctx context.Context, coopID int64) (int64, error) {
	return s.count(ctx, `SELECT COUNT(*) FROM activities WHERE coop_id = ? AND public = 1`, coopID)
}

// ActivitiesOf returns a local actor's activities of one type, oldest
// first (the instance actor's when actorID is 0).
func (s *Store) ActivitiesOf(ctx context.Context, actorID int64, typ string) ([]*coopfed.Activity, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+activityColumns+` FROM activities WHERE COALESCE(coop_id, 0) = ? AND type = ? ORDER BY id`, actorID, typ)
	if err != nil {
		return nil, fmt.Errorf("store: activities: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Activity
	for rows.Next() {
		a, err := scanActivity(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
