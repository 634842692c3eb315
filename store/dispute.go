package store

import (
	"context"
	"fmt"

	"github.com/coopfed/coopfed"
)

const disputeColumns = `d.id, d.iri, d.trade_id, t.iri, t.listing_title, d.opener_iri, d.reason, d.resolved_by, d.resolution,
	d.resolve_iri, d.created_at, d.resolved_at`

func scanDispute(row interface{ Scan(...any) error }) (*coopfed.Dispute, error) {
	var d coopfed.Dispute
	var created, resolved int64
	if err := row.Scan(&d.ID, &d.IRI, &d.TradeID, &d.TradeIRI, &d.ListingTitle, &d.OpenerIRI, &d.Reason, &d.ResolvedBy,
		&d.Resolution, &d.ResolveIRI, &created, &resolved); err != nil {
		return nil, err
	}
	d.Created = fromMS(created)
	if resolved != 0 {
		d.Resolved = fromMS(resolved)
	}
	return &d, nil
}

// OpenDispute stores a dispute of a trade. A second open dispute of the
// trade (the partial unique index) or a known id is refused with
// ECONFLICT.
func (tx *Tx) OpenDispute(d *coopfed.Dispute) error {
	if d.Created.IsZero() {
		d.Created = tx.now
	}
	id, inserted, err := tx.insertID(`INSERT INTO disputes (iri, trade_id, opener_iri, reason, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, d.IRI, d.TradeID, d.OpenerIRI, d.Reason, ms(d.Created))
	if err != nil {
		return fmt.Errorf("store: open dispute: %w", err)
	}
	if !inserted {
		return coopfed.Errorf(coopfed.ECONFLICT, "this trade already has an open dispute")
	}
	d.ID = id
	return nil
}

// ResolveDispute records a dispute's resolution; one already resolved is
// refused with ECONFLICT.
func (tx *Tx) ResolveDispute(d *coopfed.Dispute, by, resolution, iri string) error {
	// Why the condition: resolved_by is what marks a dispute resolved
	// (and frees the trade for another, disputes_open); of two
	// resolutions at once only the first changes the row.
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE disputes SET resolved_by = ?, resolution = ?, resolve_iri = ?, resolved_at = ?
		WHERE id = ? AND resolved_by = ''`, by, resolution, iri, ms(tx.now), d.ID)
	if err != nil {
		return fmt.Errorf("store: resolve dispute: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return coopfed.Errorf(coopfed.ECONFLICT, "this dispute is already resolved")
	}
	d.ResolvedBy, d.Resolution, d.ResolveIRI, d.Resolved = by, resolution, iri, tx.now
	return nil
}

// DisputeByIRI returns a dispute by its Note's id, or ENOTFOUND.
func (tx *Tx) DisputeByIRI(iri string) (*coopfed.Dispute, error) {
	d, err := scanDispute(tx.tx.QueryRowContext(tx.ctx, `SELECT `+disputeColumns+` FROM disputes d JOIN trades t ON t.id = d.trade_id WHERE d.iri = ?`, iri))
	if err != nil {
		return nil, notFound("dispute", err)
	}
	return d, nil
}

// DisputeByIRI is the read-pool form of Tx.DisputeByIRI.
func (s *Store) DisputeByIRI(ctx context.Context, iri string) (*coopfed.Dispute, error) {
	d, err := scanDispute(s.read.QueryRowContext(ctx, `SELECT `+disputeColumns+` FROM disputes d JOIN trades t ON t.id = d.trade_id WHERE d.iri = ?`, iri))
	if err != nil {
		return nil, notFound("dispute", err)
	}
	return d, nil
}

// DisputeByID returns a dispute by its local number, or ENOTFOUND.
func (s *Store) DisputeByID(ctx context.Context, id int64) (*coopfed.Dispute, error) {
	d, err := scanDispute(s.read.QueryRowContext(ctx, `SELECT `+disputeColumns+` FROM disputes d JOIN trades t ON t.id = d.trade_id WHERE d.id = ?`, id))
	if err != nil {
		return nil, notFound("dispute", err)
	}
	return d, nil
}

// TradeDisputes lists a trade's disputes, oldest first.
func (s *Store) TradeDisputes(ctx context.Context, tradeID int64) ([]*coopfed.Dispute, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+disputeColumns+` FROM disputes d JOIN trades t ON t.id = d.trade_id
		WHERE d.trade_id = ? ORDER BY d.id`, tradeID)
	if err != nil {
		return nil, fmt.Errorf("store: disputes: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Dispute
	for rows.Next() {
		d, err := scanDispute(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
