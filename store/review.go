package store

import (
	"context"
	"fmt"

	"github.com/coopfed/coopfed"
)

const reviewColumns = `r.id, r.iri, r.trade_id, t.iri, t.listing_title, r.author_iri, r.subject_iri, r.rating, r.content,
	r.reply, r.reply_iri, r.created_at, r.replied_at`

func scanReview(row interface{ Scan(...any) error }) (*coopfed.Review, error) {
	var r coopfed.Review
	var created, replied int64
	if err := row.Scan(&r.ID, &r.IRI, &r.TradeID, &r.TradeIRI, &r.ListingTitle, &r.AuthorIRI, &r.SubjectIRI, &r.Rating,
		&r.Text, &r.Reply, &r.ReplyIRI, &created, &replied); err != nil {
		return nil, err
	}
	r.Created = fromMS(created)
	if replied != 0 {
		r.Replied = fromMS(replied)
	}
	return &r, nil
}

// InsertReview stores a review of a trade. A second review of the trade
// by the same author, or a review id already known, is refused with
// ECONFLICT.
func (tx *Tx) InsertReview(r *coopfed.Review) error {
	if r.Created.IsZero() {
		r.Created = tx.now
	}
	id, inserted, err := tx.insertID(`INSERT INTO reviews (iri, trade_id, author_iri, subject_iri, rating, content, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		r.IRI, r.TradeID, r.AuthorIRI, r.SubjectIRI, r.Rating, r.Text, ms(r.Created))
	if err != nil {
		return fmt.Errorf("store: insert review: %w", err)
	}
	if !inserted {
		return coopfed.Errorf(coopfed.ECONFLICT, "this coop already reviewed this trade")
	}
	r.ID = id
	return nil
}

// ReplyToReview records the reviewed coop's answer; a review already
// answered is refused with ECONFLICT, so there is only ever one answer.
func (tx *Tx) ReplyToReview(r *coopfed.Review, reply, replyIRI string) error {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE reviews SET reply = ?, reply_iri = ?, replied_at = ? WHERE id = ? AND reply_iri = ''`,
		reply, replyIRI, ms(tx.now), r.ID)
	if err != nil {
		return fmt.Errorf("store: reply to review: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return coopfed.Errorf(coopfed.ECONFLICT, "this review was already answered")
	}
	r.Reply, r.ReplyIRI, r.Replied = reply, replyIRI, tx.now
	return nil
}

// ReviewByIRI returns a review by its Note's id, or ENOTFOUND.
func (tx *Tx) ReviewByIRI(iri string) (*coopfed.Review, error) {
	r, err := scanReview(tx.tx.QueryRowContext(tx.ctx, `SELECT `+reviewColumns+` FROM reviews r JOIN trades t ON t.id = r.trade_id WHERE r.iri = ?`, iri))
	if err != nil {
		return nil, notFound("review", err)
	}
	return r, nil
}

// ReviewByIRI is the read-pool form of Tx.ReviewByIRI.
func (s *Store) ReviewByIRI(ctx context.Context, iri string) (*coopfed.Review, error) {
	r, err := scanReview(s.read.QueryRowContext(ctx, `SELECT `+reviewColumns+` FROM reviews r JOIN trades t ON t.id = r.trade_id WHERE r.iri = ?`, iri))
	if err != nil {
		return nil, notFound("review", err)
	}
	return r, nil
}

// ReviewByID returns a review by its local number, or ENOTFOUND.
func (s *Store) ReviewByID(ctx context.Context, id int64) (*coopfed.Review, error) {
	r, err := scanReview(s.read.QueryRowContext(ctx, `SELECT `+reviewColumns+` FROM reviews r JOIN trades t ON t.id = r.trade_id WHERE r.id = ?`, id))
	if err != nil {
		return nil, notFound("review", err)
	}
	return r, nil
}

// Reviews lists the reviews of an actor (about, when subject) or by it,
// newest first.
func (s *Store) Reviews(ctx context.Context, actorIRI string, subject bool, limit int) ([]*coopfed.Review, error) {
	if limit <= 0 {
		limit = 50
	}
	col := "r.author_iri"
	if subject {
		col = "r.subject_iri"
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+reviewColumns+` FROM reviews r JOIN trades t ON t.id = r.trade_id
		WHERE `+col+` = ? ORDER BY r.created_at DESC, r.id DESC LIMIT ?`, actorIRI, limit)
	if err != nil {
		return nil, fmt.Errorf("store: reviews: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Review
	for rows.Next() {
		r, err := scanReview(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// TradeReviews returns the reviews of one trade (at most one per party).
func (s *Store) TradeReviews(ctx context.Context, tradeID int64) ([]*coopfed.Review, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+reviewColumns+` FROM reviews r JOIN trades t ON t.id = r.trade_id
		WHERE r.trade_id = ? ORDER BY r.id`, tradeID)
	if err != nil {
		return nil, fmt.Errorf("store: reviews: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Review
	for rows.Next() {
		r, err := scanReview(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// TrackRecord sums a local coop's trades by outcome and the reviews it
// received.
func (s *Store) TrackRecord(ctx context.Context, coopID int64, actorIRI string) (coopfed.TrackRecord, error) {
	var t coopfed.TrackRecord
	// Why: a cancelled acceptance goes back to rejected, so accepted and
	// fulfilled count only agreements that stand.
	err := s.read.QueryRowContext(ctx, `SELECT
		COUNT(CASE WHEN state IN ('accepted', 'fulfilled') THEN 1 END),
		COUNT(CASE WHEN state = 'fulfilled' THEN 1 END)
		FROM trades WHERE proposer_coop_id = ? OR owner_coop_id = ?`, coopID, coopID).Scan(&t.Accepted, &t.Fulfilled)
	if err != nil {
		return t, fmt.Errorf("store: track record: %w", err)
	}
	err = s.read.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(rating), 0) FROM reviews WHERE subject_iri = ?`, actorIRI).Scan(&t.Reviews, &t.RatingSum)
	if err != nil {
		return t, fmt.Errorf("store: track record: %w", err)
	}
	// On time: fulfilled before the end of the due day (due_at is that
	// day's midnight UTC, in milliseconds).
	err = s.read.QueryRowContext(ctx, `SELECT
		COUNT(CASE WHEN due_at > 0 THEN 1 END),
		COUNT(CASE WHEN due_at > 0 AND fulfilled_at < due_at + 86400000 THEN 1 END)
		FROM trades WHERE state = 'fulfilled' AND (proposer_coop_id = ? OR owner_coop_id = ?)`, coopID, coopID).Scan(&t.WithDue, &t.OnTime)
	if err != nil {
		return t, fmt.Errorf("store: track record: %w", err)
	}
	err = s.read.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(CASE WHEN d.resolved_by = '' THEN 1 END)
		FROM disputes d JOIN trades t ON t.id = d.trade_id WHERE t.proposer_coop_id = ? OR t.owner_coop_id = ?`, coopID, coopID).Scan(&t.Disputes, &t.OpenDisputes)
	if err != nil {
		return t, fmt.Errorf("store: track record: %w", err)
	}
	return t, nil
}
