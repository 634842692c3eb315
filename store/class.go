package store

import (
	"context"
	"fmt"

	"github.com/coopfed/coopfed"
)

// CreateClass stores a new member class of a coop; ECONFLICT when the
// name is taken or the coop has MaxClasses already.
func (tx *Tx) CreateClass(c *coopfed.MemberClass) error {
	c.Normalize()
	if err := c.Validate(); err != nil {
		return err
	}
	var n int
	if err := tx.tx.QueryRowContext(tx.ctx, `SELECT COUNT(*) FROM member_classes WHERE coop_id = ?`, c.CoopID).Scan(&n); err != nil {
		return err
	}
	if n >= coopfed.MaxClasses {
		return coopfed.Errorf(coopfed.ECONFLICT, "a coop has at most %d member classes", coopfed.MaxClasses)
	}
	c.CreatedAt = tx.now
	err := tx.mayFail(func() (err error) {
		c.ID, _, err = tx.insertID(`INSERT INTO member_classes (coop_id, name, title, created_at) VALUES (?, ?, ?, ?)`, c.CoopID, c.Name, c.Title, ms(c.CreatedAt))
		return err
	})
	if isUnique(err) {
		return coopfed.Errorf(coopfed.ECONFLICT, "a class named %q already exists", c.Name)
	} else if err != nil {
		return fmt.Errorf("store: create class: %w", err)
	}
	return nil
}

// DeleteClass removes a class no current member belongs to; ECONFLICT
// when some do (they would be left in a class that does not exist).
func (tx *Tx) DeleteClass(coopID int64, name string) error {
	var n int
	if err := tx.tx.QueryRowContext(tx.ctx, `SELECT COUNT(*) FROM members WHERE coop_id = ? AND class = ? AND removed_at IS NULL`, coopID, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return coopfed.Errorf(coopfed.ECONFLICT, "%d %s still in the class %q; move them first", n, map[bool]string{true: "member is", false: "members are"}[n == 1], name)
	}
	res, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM member_classes WHERE coop_id = ? AND name = ?`, coopID, name)
	if err != nil {
		return fmt.Errorf("store: delete class: %w", err)
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return coopfed.Errorf(coopfed.ENOTFOUND, "class not found")
	}
	return nil
}

// Classes returns a coop's member classes by name.
func (s *Store) Classes(ctx context.Context, coopID int64) ([]*coopfed.MemberClass, error) {
	return classes(ctx, s.read, coopID)
}

// Classes returns the classes inside the transaction.
func (tx *Tx) Classes(coopID int64) ([]*coopfed.MemberClass, error) {
	return classes(tx.ctx, tx.tx, coopID)
}

func classes(ctx context.Context, q querier, coopID int64) ([]*coopfed.MemberClass, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, coop_id, name, title, created_at FROM member_classes WHERE coop_id = ? ORDER BY name`, coopID)
	if err != nil {
		return nil, fmt.Errorf("store: classes: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.MemberClass
	for rows.Next() {
		var c coopfed.MemberClass
		var created int64
		if err := rows.Scan(&c.ID, &c.CoopID, &c.Name, &c.Title, &created); err != nil {
			return nil, err
		}
		c.CreatedAt = fromMS(created)
		out = append(out, &c)
	}
	return out, rows.Err()
}

// hasClass reports whether a coop has a class ("" always: no class).
func (tx *Tx) hasClass(coopID int64, name string) (bool, error) {
	if name == "" {
		return true, nil
	}
	var n int
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT COUNT(*) FROM member_classes WHERE coop_id = ? AND name = ?`, coopID, name).Scan(&n)
	return n > 0, err
}

// SetMemberClass puts a current member into a class ("" for none).
// Motions already open keep the class the member had when they opened.
func (tx *Tx) SetMemberClass(coopID int64, username, class string) (*coopfed.Member, error) {
	m, err := member(tx.ctx, tx.tx, coopID, username)
	if err != nil {
		return nil, err
	}
	m.Class = class
	m.Normalize()
	if ok, err := tx.hasClass(coopID, m.Class); err != nil {
		return nil, err
	} else if !ok {
		return nil, coopfed.FieldErrors(map[string]string{"class": "the coop has no class " + m.Class})
	}
	if _, err := tx.tx.ExecContext(tx.ctx, `UPDATE members SET class = ? WHERE id = ?`, m.Class, m.ID); err != nil {
		return nil, fmt.Errorf("store: member class: %w", err)
	}
	return m, nil
}

// AddFederation records that a local coop is a member of a federation (a
// coop of coops, by its actor): the federation's motions open internal
// motions for the coop's members. Adding it twice changes nothing.
func (tx *Tx) AddFederation(coopID int64, actorIRI string) error {
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO coop_federations (coop_id, actor_iri, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, coopID, actorIRI, ms(tx.now))
	return err
}

// RemoveFederation forgets a coop's membership of a federation.
func (tx *Tx) RemoveFederation(coopID int64, actorIRI string) error {
	_, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM coop_federations WHERE coop_id = ? AND actor_iri = ?`, coopID, actorIRI)
	return err
}

// Federations returns the actors of the federations a coop is a member of.
func (s *Store) Federations(ctx context.Context, coopID int64) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT actor_iri FROM coop_federations WHERE coop_id = ? ORDER BY actor_iri`, coopID)
	if err != nil {
		return nil, fmt.Errorf("store: federations: %w", err)
	}
	return scanStrings(rows)
}

// CoopsInFederation returns the local coops that are members of a
// federation.
func (tx *Tx) CoopsInFederation(actorIRI string) ([]int64, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, `SELECT coop_id FROM coop_federations WHERE actor_iri = ? ORDER BY coop_id`, actorIRI)
	if err != nil {
		return nil, fmt.Errorf("store: coops in federation: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
