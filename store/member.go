package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/coopfed/coopfed"
)

// CreateMember stores a new member of a coop with its linked actors. It
// returns ECONFLICT when the username is taken or an actor already speaks
// for another member of the coop.
func (tx *Tx) CreateMember(m *coopfed.Member) error {
	m.Normalize()
	if err := m.Validate(); err != nil {
		return err
	}
	if ok, err := tx.hasClass(m.CoopID, m.Class); err != nil {
		return err
	} else if !ok {
		return coopfed.FieldErrors(map[string]string{"class": "the coop has no class " + m.Class})
	}
	m.CreatedAt = tx.now
	err := tx.mayFail(func() (err error) {
		m.ID, _, err = tx.insertID(`INSERT INTO members (coop_id, username, role, created_at, class, kind) VALUES (?, ?, ?, ?, ?, ?)`, m.CoopID, m.Username, m.Role, ms(m.CreatedAt), m.Class, m.Kind)
		return err
	})
	if isUnique(err) {
		return coopfed.Errorf(coopfed.ECONFLICT, "a member named %q already exists", m.Username)
	} else if err != nil {
		return fmt.Errorf("store: create member: %w", err)
	}
	return tx.linkActors(m)
}

func (tx *Tx) linkActors(m *coopfed.Member) error {
	for _, a := range m.Actors {
		err := tx.mayFail(func() error {
			_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO member_actors (coop_id, actor_iri, member_id) VALUES (?, ?, ?)`, m.CoopID, a, m.ID)
			return err
		})
		if isUnique(err) {
			return &coopfed.Error{Code: coopfed.ECONFLICT, Message: "an account is linked to another member", Fields: map[string]string{"actors": a + " is already linked to another member"}}
		} else if err != nil {
			return fmt.Errorf("store: link actor: %w", err)
		}
	}
	return nil
}

// UpdateMember changes a member's role (when role is not "") and replaces
// its linked actors (when actors is not nil).
func (tx *Tx) UpdateMember(coopID int64, username, role string, actors []string) (*coopfed.Member, error) {
	m, err := member(tx.ctx, tx.tx, coopID, username)
	if err != nil {
		return nil, err
	}
	if role != "" {
		m.Role = role
	}
	if actors != nil {
		m.Actors = actors
	}
	m.Normalize()
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if _, err := tx.tx.ExecContext(tx.ctx, `UPDATE members SET role = ? WHERE id = ?`, m.Role, m.ID); err != nil {
		return nil, fmt.Errorf("store: update member: %w", err)
	}
	if actors != nil {
		if _, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM member_actors WHERE member_id = ?`, m.ID); err != nil {
			return nil, fmt.Errorf("store: update member: %w", err)
		}
		if err := tx.linkActors(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// RemoveMember removes a member: its linked actors no longer vote and its
// username is free. Eligibility snapshots and cast votes keep the row.
func (tx *Tx) RemoveMember(coopID int64, username string) error {
	m, err := member(tx.ctx, tx.tx, coopID, username)
	if err != nil {
		return err
	}
	if _, err := tx.tx.ExecContext(tx.ctx, `UPDATE members SET removed_at = ? WHERE id = ?`, ms(tx.now), m.ID); err != nil {
		return fmt.Errorf("store: remove member: %w", err)
	}
	_, err = tx.tx.ExecContext(tx.ctx, `DELETE FROM member_actors WHERE member_id = ?`, m.ID)
	return err
}

const memberColumns = `id, coop_id, username, role, created_at, class, kind`

func scanMember(row interface{ Scan(...any) error }) (*coopfed.Member, error) {
	var m coopfed.Member
	var created int64
	if err := row.Scan(&m.ID, &m.CoopID, &m.Username, &m.Role, &created, &m.Class, &m.Kind); err != nil {
		return nil, err
	}
	m.CreatedAt = fromMS(created)
	return &m, nil
}

// Member returns a current member of a coop by username, or ENOTFOUND.
func (s *Store) Member(ctx context.Context, coopID int64, username string) (*coopfed.Member, error) {
	return member(ctx, s.read, coopID, username)
}

// Member returns a current member inside the transaction.
func (tx *Tx) Member(coopID int64, username string) (*coopfed.Member, error) {
	return member(tx.ctx, tx.tx, coopID, username)
}

func member(ctx context.Context, q querier, coopID int64, username string) (*coopfed.Member, error) {
	m, err := scanMember(q.QueryRowContext(ctx, `SELECT `+memberColumns+` FROM members WHERE coop_id = ? AND username = ? AND removed_at IS NULL`, coopID, username))
	if err != nil {
		return nil, notFound("member", err)
	}
	if m.Actors, err = memberActors(ctx, q, m.ID); err != nil {
		return nil, err
	}
	return m, nil
}

func memberActors(ctx context.Context, q querier, memberID int64) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT actor_iri FROM member_actors WHERE member_id = ? ORDER BY actor_iri`, memberID)
	if err != nil {
		return nil, fmt.Errorf("store: member actors: %w", err)
	}
	return scanStrings(rows)
}

func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// MemberByActor returns the current member of a coop that an actor speaks
// for, or ENOTFOUND.
func (tx *Tx) MemberByActor(coopID int64, actorIRI string) (*coopfed.Member, error) {
	m, err := scanMember(tx.tx.QueryRowContext(tx.ctx, `SELECT `+prefixed("m.", memberColumns)+` FROM member_actors a JOIN members m ON m.id = a.member_id
		WHERE a.coop_id = ? AND a.actor_iri = ? AND m.removed_at IS NULL`, coopID, actorIRI))
	if err != nil {
		return nil, notFound("member", err)
	}
	return m, nil
}

// Members returns a coop's current members with their actors, by username.
func (s *Store) Members(ctx context.Context, coopID int64) ([]*coopfed.Member, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+memberColumns+` FROM members WHERE coop_id = ? AND removed_at IS NULL ORDER BY username`, coopID)
	if err != nil {
		return nil, fmt.Errorf("store: members: %w", err)
	}
	var out []*coopfed.Member
	func() {
		defer rows.Close()
		for rows.Next() {
			var m *coopfed.Member
			if m, err = scanMember(rows); err != nil {
				return
			}
			out = append(out, m)
		}
		err = rows.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("store: members: %w", err)
	}
	for _, m := range out {
		if m.Actors, err = memberActors(ctx, s.read, m.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CountMembers returns the number of current members of a coop.
func (s *Store) CountMembers(ctx context.Context, coopID int64) (int64, error) {
	var n int64
	err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM members WHERE coop_id = ? AND removed_at IS NULL`, coopID).Scan(&n)
	return n, err
}

// MemberActorIRIs returns every actor linked to a current member of a coop.
func (s *Store) MemberActorIRIs(ctx context.Context, coopID int64) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT actor_iri FROM member_actors WHERE coop_id = ? ORDER BY actor_iri`, coopID)
	if err != nil {
		return nil, fmt.Errorf("store: member actors: %w", err)
	}
	return scanStrings(rows)
}

// IsMemberActor reports whether an actor is linked to a current member of
// a coop.
func (s *Store) IsMemberActor(ctx context.Context, coopID int64, actorIRI string) (bool, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM member_actors WHERE coop_id = ? AND actor_iri = ?`, coopID, actorIRI).Scan(&n)
	return n > 0, err
}
