package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/coopfed/coopfed"
)

const projectColumns = `id, coop_id, iri, title, description, currency, digits, unit, created_at`

func scanProject(row interface{ Scan(...any) error }) (*coopfed.Project, error) {
	var p coopfed.Project
	var created int64
	if err := row.Scan(&p.ID, &p.CoopID, &p.IRI, &p.Title, &p.Description, &p.Currency, &p.Digits, &p.Unit, &created); err != nil {
		return nil, err
	}
	p.Created = fromMS(created)
	return &p, nil
}

// InsertProject stores a coop's new commons project.
func (tx *Tx) InsertProject(p *coopfed.Project) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if p.Created.IsZero() {
		p.Created = tx.now
	}
	id, inserted, err := tx.insertID(`INSERT INTO projects (coop_id, iri, title, description, currency, digits, unit, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		p.CoopID, p.IRI, p.Title, p.Description, p.Currency, p.Digits, p.Unit, ms(p.Created))
	if err != nil {
		return fmt.Errorf("store: insert project: %w", err)
	}
	if !inserted {
		return coopfed.Errorf(coopfed.ECONFLICT, "a project with this id exists")
	}
	p.ID = id
	return nil
}

// ProjectByIRI returns a local project by its IRI, or ENOTFOUND.
func (tx *Tx) ProjectByIRI(iri string) (*coopfed.Project, error) {
	p, err := scanProject(tx.tx.QueryRowContext(tx.ctx, `SELECT `+projectColumns+` FROM projects WHERE iri = ?`, iri))
	if err != nil {
		return nil, notFound("project", err)
	}
	return p, nil
}

// ProjectByIRI is the read-pool form of Tx.ProjectByIRI.
func (s *Store) ProjectByIRI(ctx context.Context, iri string) (*coopfed.Project, error) {
	p, err := scanProject(s.read.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE iri = ?`, iri))
	if err != nil {
		return nil, notFound("project", err)
	}
	return p, nil
}

// ProjectByID returns a coop's project by its local number, or
// ENOTFOUND (also for another coop's project).
func (s *Store) ProjectByID(ctx context.Context, coopID, id int64) (*coopfed.Project, error) {
	p, err := scanProject(s.read.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = ? AND coop_id = ?`, id, coopID))
	if err != nil {
		return nil, notFound("project", err)
	}
	return p, nil
}

// Projects lists a coop's projects, newest first.
func (s *Store) Projects(ctx context.Context, coopID int64) ([]*coopfed.Project, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE coop_id = ? ORDER BY created_at DESC, id DESC`, coopID)
	if err != nil {
		return nil, fmt.Errorf("store: projects: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

const pledgeColumns = `id, project_iri, pledger, COALESCE(member_id, 0), name, monthly_cap, activity_iri, created_at, updated_at`

func scanPledge(row interface{ Scan(...any) error }) (*coopfed.Pledge, error) {
	var p coopfed.Pledge
	var created, updated int64
	if err := row.Scan(&p.ID, &p.ProjectIRI, &p.Pledger, &p.MemberID, &p.Name, &p.Cap, &p.Activity, &created, &updated); err != nil {
		return nil, err
	}
	p.Created, p.Updated = fromMS(created), fromMS(updated)
	return &p, nil
}

// PutPledge stores a pledge, or changes the cap (and name and activity)
// of the pledger's pledge to the project: one pledge per pledger. It
// reports whether the pledge is new.
func (tx *Tx) PutPledge(p *coopfed.Pledge) (bool, error) {
	if err := coopfed.ValidatePledgeCap(p.Cap); err != nil {
		return false, err
	}
	var member any
	if p.MemberID != 0 {
		member = p.MemberID
	}
	var existing int64
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT id FROM pledges WHERE project_iri = ? AND pledger = ?`, p.ProjectIRI, p.Pledger).Scan(&existing)
	switch {
	case err == nil:
		_, err = tx.tx.ExecContext(tx.ctx, `UPDATE pledges SET monthly_cap = ?, name = ?, activity_iri = ?, updated_at = ? WHERE id = ?`,
			p.Cap, p.Name, p.Activity, ms(tx.now), existing)
		if err != nil {
			return false, fmt.Errorf("store: change pledge: %w", err)
		}
		p.ID, p.Updated = existing, tx.now
		return false, nil
	case err != sql.ErrNoRows:
		return false, fmt.Errorf("store: pledge: %w", err)
	}
	id, inserted, err := tx.insertID(`INSERT INTO pledges (project_iri, pledger, member_id, name, monthly_cap, activity_iri, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		p.ProjectIRI, p.Pledger, member, p.Name, p.Cap, p.Activity, ms(tx.now), ms(tx.now))
	if err != nil {
		return false, fmt.Errorf("store: insert pledge: %w", err)
	}
	if !inserted {
		return false, coopfed.Errorf(coopfed.ECONFLICT, "this pledge changed at the same time; try again")
	}
	p.ID, p.Created, p.Updated = id, tx.now, tx.now
	return true, nil
}

// WithdrawPledge removes the pledger's pledge to a project; ENOTFOUND
// when there is none.
func (tx *Tx) WithdrawPledge(projectIRI, pledger string) error {
	res, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM pledges WHERE project_iri = ? AND pledger = ?`, projectIRI, pledger)
	if err != nil {
		return fmt.Errorf("store: withdraw pledge: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return coopfed.Errorf(coopfed.ENOTFOUND, "no pledge to withdraw")
	}
	return nil
}

// Pledges returns a project's pledges, oldest first (the order
// crowdmatching keeps among equal caps).
func (s *Store) Pledges(ctx context.Context, projectIRI string) ([]*coopfed.Pledge, error) {
	return s.queryPledges(ctx, `SELECT `+pledgeColumns+` FROM pledges WHERE project_iri = ? ORDER BY created_at, id`, projectIRI)
}

// PledgesBy returns the pledges a pledger made, newest first.
func (s *Store) PledgesBy(ctx context.Context, pledger string) ([]*coopfed.Pledge, error) {
	return s.queryPledges(ctx, `SELECT `+pledgeColumns+` FROM pledges WHERE pledger = ? ORDER BY created_at DESC, id DESC`, pledger)
}

// PledgeOf returns the pledger's pledge to a project, or ENOTFOUND.
func (s *Store) PledgeOf(ctx context.Context, projectIRI, pledger string) (*coopfed.Pledge, error) {
	p, err := scanPledge(s.read.QueryRowContext(ctx, `SELECT `+pledgeColumns+` FROM pledges WHERE project_iri = ? AND pledger = ?`, projectIRI, pledger))
	if err != nil {
		return nil, notFound("pledge", err)
	}
	return p, nil
}

func (s *Store) queryPledges(ctx context.Context, q string, args ...any) ([]*coopfed.Pledge, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: pledges: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Pledge
	for rows.Next() {
		p, err := scanPledge(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
