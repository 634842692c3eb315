package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/coopfed/coopfed"
)

const reportColumns = `id, COALESCE(coop_id, 0), origin, flag_iri, reporter_iri, reporter_member, target_actor, objects, comment, state, resolution, forwarded_at, created_at, resolved_at`

func scanReport(row interface{ Scan(...any) error }) (*coopfed.Report, error) {
	var r coopfed.Report
	var objects string
	var forwarded, resolved sql.NullInt64
	var created int64
	if err := row.Scan(&r.ID, &r.CoopID, &r.Origin, &r.FlagIRI, &r.ReporterIRI, &r.ReporterMember, &r.TargetActor, &objects, &r.Comment,
		&r.State, &r.Resolution, &forwarded, &created, &resolved); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(objects), &r.Objects); err != nil {
		return nil, fmt.Errorf("store: report %d: objects: %w", r.ID, err)
	}
	r.ForwardedAt, r.CreatedAt, r.ResolvedAt = fromNullMS(forwarded), fromMS(created), fromNullMS(resolved)
	return &r, nil
}

// AddReport stores a new report, open.
func (tx *Tx) AddReport(r *coopfed.Report) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if r.Objects == nil {
		r.Objects = []string{}
	}
	objects, err := json.Marshal(r.Objects)
	if err != nil {
		return err
	}
	var coop any
	if r.CoopID != 0 {
		coop = r.CoopID
	}
	r.State, r.CreatedAt = coopfed.ReportOpen, tx.now
	err = tx.tx.QueryRowContext(tx.ctx, `INSERT INTO reports (coop_id, origin, flag_iri, reporter_iri, reporter_member, target_actor, objects, comment, state, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		coop, r.Origin, r.FlagIRI, r.ReporterIRI, r.ReporterMember, r.TargetActor, string(objects), r.Comment, r.State, ms(r.CreatedAt)).Scan(&r.ID)
	if err != nil {
		return fmt.Errorf("store: add report: %w", err)
	}
	return nil
}

// Report returns one report of a coop (coopID 0: the operator's), or
// ENOTFOUND.
func (tx *Tx) Report(coopID, id int64) (*coopfed.Report, error) {
	r, err := scanReport(tx.tx.QueryRowContext(tx.ctx, `SELECT `+reportColumns+` FROM reports WHERE id = ? AND COALESCE(coop_id, 0) = ?`, id, coopID))
	if err != nil {
		return nil, notFound("report", err)
	}
	return r, nil
}

// ResolveReport closes an open report with a resolution; ECONFLICT when it
// was resolved already.
func (tx *Tx) ResolveReport(id int64, resolution string) error {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE reports SET state = 'resolved', resolution = ?, resolved_at = ? WHERE id = ? AND state = 'open'`, resolution, ms(tx.now), id)
	if err != nil {
		return fmt.Errorf("store: resolve report: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return coopfed.Errorf(coopfed.ECONFLICT, "the report is already resolved")
	}
	return nil
}

// ReportForwarded records the Flag sent to the reported account's instance.
func (tx *Tx) ReportForwarded(id int64, flagIRI string) error {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE reports SET flag_iri = ?, forwarded_at = ? WHERE id = ? AND forwarded_at IS NULL`, flagIRI, ms(tx.now), id)
	if err != nil {
		return fmt.Errorf("store: forward report: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return coopfed.Errorf(coopfed.ECONFLICT, "the report was forwarded already")
	}
	return nil
}

// ReportFilter selects reports.
type ReportFilter struct {
	CoopID int64  // 0: the operator's (reports about nothing of one coop)
	State  string // "" for any
	Limit  int
	Offset int
}

// Reports lists reports, newest first.
func (s *Store) Reports(ctx context.Context, f ReportFilter) ([]*coopfed.Report, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+reportColumns+` FROM reports WHERE COALESCE(coop_id, 0) = ? AND (? = '' OR state = ?)
		ORDER BY id DESC LIMIT ? OFFSET ?`, f.CoopID, f.State, f.State, f.Limit, f.Offset)
	if err != nil {
		return nil, fmt.Errorf("store: reports: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Report
	for rows.Next() {
		r, err := scanReport(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CountReports counts a coop's reports in a state ("" for any).
func (s *Store) CountReports(ctx context.Context, coopID int64, state string) (int64, error) {
	return s.count(ctx, `SELECT COUNT(*) FROM reports WHERE COALESCE(coop_id, 0) = ? AND (? = '' OR state = ?)`, coopID, state, state)
}

// LocalObjectOwner returns the id of the local coop that published a local
// listing, motion or note (announcement, receipt), or ENOTFOUND.
func (s *Store) LocalObjectOwner(ctx context.Context, iri string) (int64, error) {
	var id int64
	err := s.read.QueryRowContext(ctx, `SELECT coop_id FROM listings WHERE iri = ? AND coop_id IS NOT NULL
		UNION ALL SELECT coop_id FROM motions WHERE iri = ?
		UNION ALL SELECT coop_id FROM objects WHERE iri = ? LIMIT 1`, iri, iri, iri).Scan(&id)
	if err != nil {
		return 0, notFound("object", err)
	}
	return id, nil
}

// ReplyAuthor returns the account that wrote a reply in a motion's
// discussion, or ENOTFOUND.
func (s *Store) ReplyAuthor(ctx context.Context, iri string) (string, error) {
	var a string
	if err := s.read.QueryRowContext(ctx, `SELECT actor_iri FROM motion_replies WHERE object_iri = ?`, iri).Scan(&a); err != nil {
		return "", notFound("reply", err)
	}
	return a, nil
}
