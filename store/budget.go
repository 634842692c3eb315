package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/coopfed/coopfed"
)

const roundColumns = `id, iri, coop_id, owner_iri, title, description, pot, currency, decimals, model, allocator_coops, allocators, share,
	closes_at, voting_closes_at, state, closed_at, motion_iri, created_at, updated_at`

func scanRound(row interface{ Scan(...any) error }) (*coopfed.BudgetRound, error) {
	var r coopfed.BudgetRound
	var coopID sql.NullInt64
	var coops string
	var closes, voting, closed, created, updated int64
	if err := row.Scan(&r.ID, &r.IRI, &coopID, &r.OwnerIRI, &r.Title, &r.Description, &r.Pot, &r.Currency, &r.Decimals, &r.Model, &coops,
		&r.Allocators, &r.Share, &closes, &voting, &r.State, &closed, &r.MotionIRI, &created, &updated); err != nil {
		return nil, err
	}
	r.CoopID = coopID.Int64
	if err := json.Unmarshal([]byte(coops), &r.AllocatorCoops); err != nil {
		return nil, fmt.Errorf("store: round %s allocator coops: %w", r.IRI, err)
	}
	for _, a := range r.AllocatorCoops {
		if a.Coop != r.OwnerIRI {
			r.EligibleCoops = append(r.EligibleCoops, a.Coop)
		}
	}
	r.ClosesAt, r.Created, r.Updated = fromMS(closes), fromMS(created), fromMS(updated)
	if voting != 0 {
		r.VotingClosesAt = fromMS(voting)
	}
	if closed != 0 {
		r.ClosedAt = fromMS(closed)
	}
	return &r, nil
}

func nullCoop(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

// InsertRound stores a round: a local coop's (CoopID set) or the copy of
// a followed coop's. An IRI already known is refused with ECONFLICT.
func (tx *Tx) InsertRound(r *coopfed.BudgetRound) error {
	coops, err := json.Marshal(r.AllocatorCoops)
	if err != nil {
		return err
	}
	if r.Created.IsZero() {
		r.Created = tx.now
	}
	r.Updated = tx.now
	id, inserted, err := tx.insertID(`INSERT INTO budget_rounds (iri, coop_id, owner_iri, title, description, pot, currency, decimals, model,
		allocator_coops, allocators, share, closes_at, voting_closes_at, state, closed_at, motion_iri, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		r.IRI, nullCoop(r.CoopID), r.OwnerIRI, r.Title, r.Description, r.Pot, r.Currency, r.Decimals, r.Model, string(coops), r.Allocators, r.Share,
		ms(r.ClosesAt), msOrZero(r.VotingClosesAt), r.State, msOrZero(r.ClosedAt), r.MotionIRI, ms(r.Created), ms(r.Updated))
	if err != nil {
		return fmt.Errorf("store: insert round: %w", err)
	}
	if !inserted {
		return coopfed.Errorf(coopfed.ECONFLICT, "round %s already exists", r.IRI)
	}
	r.ID = id
	return nil
}

// UpdateRoundCopy replaces what a copy of a followed coop's round says
// with the round's latest document.
func (tx *Tx) UpdateRoundCopy(r *coopfed.BudgetRound) error {
	coops, err := json.Marshal(r.AllocatorCoops)
	if err != nil {
		return err
	}
	r.Updated = tx.now
	_, err = tx.tx.ExecContext(tx.ctx, `UPDATE budget_rounds SET title = ?, description = ?, pot = ?, currency = ?, decimals = ?, model = ?,
		allocator_coops = ?, allocators = ?, share = ?, closes_at = ?, voting_closes_at = ?, state = ?, closed_at = ?, motion_iri = ?, updated_at = ?
		WHERE id = ? AND coop_id IS NULL`,
		r.Title, r.Description, r.Pot, r.Currency, r.Decimals, r.Model, string(coops), r.Allocators, r.Share, ms(r.ClosesAt),
		msOrZero(r.VotingClosesAt), r.State, msOrZero(r.ClosedAt), r.MotionIRI, ms(r.Updated), r.ID)
	if err != nil {
		return fmt.Errorf("store: update round: %w", err)
	}
	return nil
}

// SetRoundState moves a local round from state from to r.State (with
// ClosedAt and MotionIRI); it reports false when the round was no longer
// in state from, so a round is closed once.
func (tx *Tx) SetRoundState(r *coopfed.BudgetRound, from string) (bool, error) {
	r.Updated = tx.now
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE budget_rounds SET state = ?, closed_at = ?, motion_iri = ?, updated_at = ? WHERE id = ? AND state = ?`,
		r.State, msOrZero(r.ClosedAt), r.MotionIRI, ms(r.Updated), r.ID, from)
	if err != nil {
		return false, fmt.Errorf("store: round state: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func queryRound(ctx context.Context, q querier, where string, args ...any) (*coopfed.BudgetRound, error) {
	r, err := scanRound(q.QueryRowContext(ctx, `SELECT `+roundColumns+` FROM budget_rounds WHERE `+where, args...))
	if err != nil {
		return nil, notFound("round", err)
	}
	return r, nil
}

// Round returns a round by IRI, or ENOTFOUND.
func (tx *Tx) Round(iri string) (*coopfed.BudgetRound, error) {
	return queryRound(tx.ctx, tx.tx, `iri = ?`, iri)
}

// RoundByID returns a round by its local number, or ENOTFOUND.
func (tx *Tx) RoundByID(id int64) (*coopfed.BudgetRound, error) {
	return queryRound(tx.ctx, tx.tx, `id = ?`, id)
}

// Round is the read-pool form of Tx.Round.
func (s *Store) Round(ctx context.Context, iri string) (*coopfed.BudgetRound, error) {
	return queryRound(ctx, s.read, `iri = ?`, iri)
}

// RoundByID is the read-pool form of Tx.RoundByID.
func (s *Store) RoundByID(ctx context.Context, id int64) (*coopfed.BudgetRound, error) {
	return queryRound(ctx, s.read, `id = ?`, id)
}

// Rounds lists the rounds held by a local coop, or (ownerIRI set) the
// rounds of that coop as this instance knows them, newest first.
func (s *Store) Rounds(ctx context.Context, coopID int64, ownerIRI string) ([]*coopfed.BudgetRound, error) {
	where, arg := `coop_id = ?`, any(coopID)
	if ownerIRI != "" {
		where, arg = `owner_iri = ?`, ownerIRI
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+roundColumns+` FROM budget_rounds WHERE `+where+` ORDER BY created_at DESC, id DESC LIMIT 200`, arg)
	if err != nil {
		return nil, fmt.Errorf("store: rounds: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.BudgetRound
	for rows.Next() {
		r, err := scanRound(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DueRounds returns the local rounds whose deadline has passed while
// open, and the motion rounds still voting (the budget job looks at their
// motion).
func (s *Store) DueRounds(ctx context.Context, now time.Time) ([]int64, error) {
	return queryInt64s(ctx, s.read, `SELECT id FROM budget_rounds WHERE coop_id IS NOT NULL
		AND ((state = 'open' AND closes_at <= ?) OR state = 'voting') ORDER BY closes_at, id`, ms(now))
}

func queryInt64s(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

const bucketColumns = `b.id, b.iri, b.round_id, r.iri, b.author_iri, b.title, b.what, b.why, b.asked, b.needed_by, b.payment_links, b.allocated,
	b.votes, b.funded, b.funded_amount, b.created_at, b.updated_at,
	(SELECT COALESCE(SUM(s.amount), 0) FROM budget_spends s WHERE s.bucket_id = b.id)`

func scanBucket(row interface{ Scan(...any) error }) (*coopfed.Bucket, error) {
	var b coopfed.Bucket
	var needed, created, updated int64
	var links string
	var funded int
	if err := row.Scan(&b.ID, &b.IRI, &b.RoundID, &b.RoundIRI, &b.AuthorIRI, &b.Title, &b.What, &b.Why, &b.Asked, &needed, &links, &b.Allocated,
		&b.Votes, &funded, &b.FundedAmount, &created, &updated, &b.Spent); err != nil {
		return nil, err
	}
	b.Funded = funded == 1
	if needed != 0 {
		b.NeededBy = fromMS(needed)
	}
	b.Created, b.Updated = fromMS(created), fromMS(updated)
	if links != "" {
		if err := json.Unmarshal([]byte(links), &b.PaymentLinks); err != nil {
			return nil, fmt.Errorf("store: bucket %s payment links: %w", b.IRI, err)
		}
	}
	return &b, nil
}

func linksJSON(links []coopfed.PaymentLink) string {
	if len(links) == 0 {
		return ""
	}
	b, _ := json.Marshal(links)
	return string(b)
}

func flag(v bool) int {
	if v {
		return 1
	}
	return 0
}

// InsertBucket stores a bucket of a round; an IRI already known is
// refused with ECONFLICT.
func (tx *Tx) InsertBucket(b *coopfed.Bucket) error {
	if b.Created.IsZero() {
		b.Created = tx.now
	}
	b.Updated = tx.now
	var n int64
	var model string
	if err := tx.tx.QueryRowContext(tx.ctx, `SELECT (SELECT COUNT(*) FROM budget_buckets WHERE round_id = ?), model FROM budget_rounds WHERE id = ?`,
		b.RoundID, b.RoundID).Scan(&n, &model); err != nil {
		return notFound("round", err)
	}
	// Why: a motion round's vote has one option per bucket, and a motion
	// takes at most MaxMotionOptions.
	limit := int64(coopfed.MaxRoundBuckets)
	if model == coopfed.BudgetMotion {
		limit = coopfed.MaxMotionOptions
	}
	if n >= limit {
		return coopfed.Errorf(coopfed.ECONFLICT, "the round has its most buckets, %d", limit)
	}
	id, inserted, err := tx.insertID(`INSERT INTO budget_buckets (iri, round_id, author_iri, title, what, why, asked, needed_by, payment_links,
		allocated, votes, funded, funded_amount, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		b.IRI, b.RoundID, b.AuthorIRI, b.Title, b.What, b.Why, b.Asked, msOrZero(b.NeededBy), linksJSON(b.PaymentLinks), b.Allocated, b.Votes,
		flag(b.Funded), b.FundedAmount, ms(b.Created), ms(b.Updated))
	if err != nil {
		return fmt.Errorf("store: insert bucket: %w", err)
	}
	if !inserted {
		return coopfed.Errorf(coopfed.ECONFLICT, "bucket %s already exists", b.IRI)
	}
	b.ID = id
	return nil
}

// EditBucket changes what a bucket says. Why the condition: a bucket its
// allocations already fund, or one funded or refused at the close, keeps
// the terms it was given money on; ECONFLICT then.
func (tx *Tx) EditBucket(b *coopfed.Bucket) error {
	b.Updated = tx.now
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE budget_buckets SET title = ?, what = ?, why = ?, asked = ?, needed_by = ?, payment_links = ?, updated_at = ?
		WHERE id = ? AND funded = 0 AND allocated < asked AND allocated <= ?
		AND (SELECT state FROM budget_rounds r WHERE r.id = budget_buckets.round_id) = 'open'`,
		b.Title, b.What, b.Why, b.Asked, msOrZero(b.NeededBy), linksJSON(b.PaymentLinks), ms(b.Updated), b.ID, b.Asked)
	if err != nil {
		return fmt.Errorf("store: edit bucket: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return coopfed.Errorf(coopfed.ECONFLICT, "the bucket is funded or its round is closed: it can no longer be changed")
	}
	return nil
}

// PutBucketCopy stores or refreshes a bucket as the round's coop
// published it (allocated, votes and funding included).
func (tx *Tx) PutBucketCopy(b *coopfed.Bucket) error {
	cur, err := tx.Bucket(b.IRI)
	if coopfed.ErrorCode(err) == coopfed.ENOTFOUND {
		return tx.InsertBucket(b)
	} else if err != nil {
		return err
	}
	// Why: a copy belongs to one round; a round document naming another
	// round's bucket leaves that bucket alone.
	if cur.RoundID != b.RoundID {
		return nil
	}
	b.ID, b.Updated = cur.ID, tx.now
	_, err = tx.tx.ExecContext(tx.ctx, `UPDATE budget_buckets SET title = ?, what = ?, why = ?, asked = ?, needed_by = ?, payment_links = ?,
		allocated = ?, votes = ?, funded = ?, funded_amount = ?, updated_at = ? WHERE id = ?`,
		b.Title, b.What, b.Why, b.Asked, msOrZero(b.NeededBy), linksJSON(b.PaymentLinks), min(b.Allocated, b.Asked), b.Votes, flag(b.Funded),
		b.FundedAmount, ms(b.Updated), b.ID)
	if err != nil {
		return fmt.Errorf("store: bucket copy: %w", err)
	}
	return nil
}

// SetBucketFunding records the close of a round for one bucket.
func (tx *Tx) SetBucketFunding(b *coopfed.Bucket) error {
	_, err := tx.tx.ExecContext(tx.ctx, `UPDATE budget_buckets SET funded = ?, funded_amount = ?, votes = ?, updated_at = ? WHERE id = ?`,
		flag(b.Funded), b.FundedAmount, b.Votes, ms(tx.now), b.ID)
	if err != nil {
		return fmt.Errorf("store: bucket funding: %w", err)
	}
	return nil
}

func queryBucket(ctx context.Context, q querier, where string, args ...any) (*coopfed.Bucket, error) {
	b, err := scanBucket(q.QueryRowContext(ctx, `SELECT `+bucketColumns+` FROM budget_buckets b JOIN budget_rounds r ON r.id = b.round_id WHERE `+where, args...))
	if err != nil {
		return nil, notFound("bucket", err)
	}
	return b, nil
}

// Bucket returns a bucket by IRI, or ENOTFOUND.
func (tx *Tx) Bucket(iri string) (*coopfed.Bucket, error) {
	return queryBucket(tx.ctx, tx.tx, `b.iri = ?`, iri)
}

// Bucket is the read-pool form of Tx.Bucket.
func (s *Store) Bucket(ctx context.Context, iri string) (*coopfed.Bucket, error) {
	return queryBucket(ctx, s.read, `b.iri = ?`, iri)
}

// BucketByID returns a bucket by its local number, or ENOTFOUND.
func (s *Store) BucketByID(ctx context.Context, id int64) (*coopfed.Bucket, error) {
	return queryBucket(ctx, s.read, `b.id = ?`, id)
}

func queryBuckets(ctx context.Context, q querier, roundID int64) ([]*coopfed.Bucket, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+bucketColumns+` FROM budget_buckets b JOIN budget_rounds r ON r.id = b.round_id
		WHERE b.round_id = ? ORDER BY b.id`, roundID)
	if err != nil {
		return nil, fmt.Errorf("store: buckets: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Bucket
	for rows.Next() {
		b, err := scanBucket(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Buckets lists a round's buckets in the order they were proposed.
func (tx *Tx) Buckets(roundID int64) ([]*coopfed.Bucket, error) {
	return queryBuckets(tx.ctx, tx.tx, roundID)
}

// Buckets is the read-pool form of Tx.Buckets.
func (s *Store) Buckets(ctx context.Context, roundID int64) ([]*coopfed.Bucket, error) {
	return queryBuckets(ctx, s.read, roundID)
}

// Allocate records an allocation in a round whose share is share, for a
// coop with seats allocating members. It reports false for an allocation
// id already counted (a redelivery). Every limit is a condition of the
// statement that spends it, so two allocations racing cannot together
// pass one: ECONFLICT for a share or a bucket's ask exceeded, or a coop
// allocating for more members than it had when the round opened.
func (tx *Tx) Allocate(a *coopfed.Allocation, share, seats int64) (bool, error) {
	if a.Created.IsZero() {
		a.Created = tx.now
	}
	var n int64
	if err := tx.tx.QueryRowContext(tx.ctx, `SELECT COUNT(*) FROM budget_allocations WHERE round_id = ?`, a.RoundID).Scan(&n); err != nil {
		return false, fmt.Errorf("store: allocate: %w", err)
	}
	if n >= coopfed.MaxRoundAllocations {
		return false, coopfed.Errorf(coopfed.ECONFLICT, "the round holds its most allocations, %d", coopfed.MaxRoundAllocations)
	}
	id, inserted, err := tx.insertID(`INSERT INTO budget_allocations (round_id, bucket_id, allocator_iri, coop_iri, amount, activity_iri, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, a.RoundID, a.BucketID, a.AllocatorIRI, a.CoopIRI, a.Amount, a.ActivityIRI, ms(a.Created))
	if err != nil {
		return false, fmt.Errorf("store: allocate: %w", err)
	}
	if !inserted {
		return false, nil
	}
	a.ID = id
	res, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO budget_allocators (round_id, allocator_iri, coop_iri) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		a.RoundID, a.AllocatorIRI, a.CoopIRI)
	if err != nil {
		return false, fmt.Errorf("store: allocate: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		var count int64
		if err := tx.tx.QueryRowContext(tx.ctx, `SELECT COUNT(*) FROM budget_allocators WHERE round_id = ? AND coop_iri = ?`, a.RoundID, a.CoopIRI).Scan(&count); err != nil {
			return false, fmt.Errorf("store: allocate: %w", err)
		}
		// Why: a coop vouches for its members, but only for as many as
		// it had when the round opened, on which the share was computed.
		if count > seats {
			return false, coopfed.Errorf(coopfed.ECONFLICT, "%s had %d allocating members when the round opened; no more may allocate", a.CoopIRI, seats)
		}
	}
	res, err = tx.tx.ExecContext(tx.ctx, `UPDATE budget_allocators SET spent = spent + ? WHERE round_id = ? AND allocator_iri = ? AND coop_iri = ? AND spent + ? <= ?`,
		a.Amount, a.RoundID, a.AllocatorIRI, a.CoopIRI, a.Amount, share)
	if err != nil {
		return false, fmt.Errorf("store: allocate: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, coopfed.Errorf(coopfed.ECONFLICT, "this allocation is above what is left of the member's share of %d", share)
	}
	res, err = tx.tx.ExecContext(tx.ctx, `UPDATE budget_buckets SET allocated = allocated + ?, updated_at = ? WHERE id = ? AND round_id = ? AND allocated + ? <= asked`,
		a.Amount, ms(tx.now), a.BucketID, a.RoundID, a.Amount)
	if err != nil {
		return false, fmt.Errorf("store: allocate: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, coopfed.Errorf(coopfed.ECONFLICT, "the bucket needs less than this allocation")
	}
	return true, nil
}

// ReplaceAllocationsCopy replaces the allocations of the copy of a
// followed coop's round with those its close published.
func (tx *Tx) ReplaceAllocationsCopy(roundID int64, list []*coopfed.Allocation) error {
	if _, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM budget_allocations WHERE round_id = ?`, roundID); err != nil {
		return fmt.Errorf("store: allocations copy: %w", err)
	}
	for _, a := range list {
		if a.Created.IsZero() {
			a.Created = tx.now
		}
		if _, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO budget_allocations (round_id, bucket_id, allocator_iri, coop_iri, amount, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, roundID, a.BucketID, a.AllocatorIRI, a.CoopIRI, a.Amount, ms(a.Created)); err != nil {
			return fmt.Errorf("store: allocations copy: %w", err)
		}
	}
	return nil
}

func queryAllocations(ctx context.Context, q querier, roundID int64) ([]*coopfed.Allocation, error) {
	rows, err := q.QueryContext(ctx, `SELECT a.id, a.round_id, a.bucket_id, b.iri, b.title, a.allocator_iri, a.coop_iri, a.amount, a.activity_iri, a.created_at
		FROM budget_allocations a JOIN budget_buckets b ON b.id = a.bucket_id WHERE a.round_id = ? ORDER BY a.created_at, a.id`, roundID)
	if err != nil {
		return nil, fmt.Errorf("store: allocations: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Allocation
	for rows.Next() {
		var a coopfed.Allocation
		var created int64
		if err := rows.Scan(&a.ID, &a.RoundID, &a.BucketID, &a.BucketIRI, &a.BucketTitle, &a.AllocatorIRI, &a.CoopIRI, &a.Amount, &a.ActivityIRI, &created); err != nil {
			return nil, err
		}
		a.Created = fromMS(created)
		out = append(out, &a)
	}
	return out, rows.Err()
}

// Allocations lists a round's allocations, oldest first.
func (s *Store) Allocations(ctx context.Context, roundID int64) ([]*coopfed.Allocation, error) {
	return queryAllocations(ctx, s.read, roundID)
}

// Allocations is the transaction form of Store.Allocations.
func (tx *Tx) Allocations(roundID int64) ([]*coopfed.Allocation, error) {
	return queryAllocations(tx.ctx, tx.tx, roundID)
}

// AllocatorSpent returns what an allocator has given in a round so far.
func (s *Store) AllocatorSpent(ctx context.Context, roundID int64, allocatorIRI string) (int64, error) {
	var spent int64
	err := s.read.QueryRowContext(ctx, `SELECT COALESCE(SUM(spent), 0) FROM budget_allocators WHERE round_id = ? AND allocator_iri = ?`, roundID, allocatorIRI).Scan(&spent)
	if err != nil {
		return 0, fmt.Errorf("store: allocator: %w", err)
	}
	return spent, nil
}

// AllocatorSpent is the transaction form of Store.AllocatorSpent.
func (tx *Tx) AllocatorSpent(roundID int64, allocatorIRI string) (int64, error) {
	var spent int64
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT COALESCE(SUM(spent), 0) FROM budget_allocators WHERE round_id = ? AND allocator_iri = ?`, roundID, allocatorIRI).Scan(&spent)
	if err != nil {
		return 0, fmt.Errorf("store: allocator: %w", err)
	}
	return spent, nil
}

// InsertSpend records money paid out for a bucket.
func (tx *Tx) InsertSpend(sp *coopfed.Spend) error {
	if sp.Created.IsZero() {
		sp.Created = tx.now
	}
	id, _, err := tx.insertID(`INSERT INTO budget_spends (round_id, bucket_id, amount, reference, note, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		sp.RoundID, sp.BucketID, sp.Amount, sp.Reference, sp.Note, ms(sp.Created))
	if err != nil {
		return fmt.Errorf("store: insert spend: %w", err)
	}
	sp.ID = id
	return nil
}

// Spends lists the spends of a round, oldest first.
func (s *Store) Spends(ctx context.Context, roundID int64) ([]*coopfed.Spend, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT s.id, s.round_id, s.bucket_id, b.title, s.amount, s.reference, s.note, s.created_at
		FROM budget_spends s JOIN budget_buckets b ON b.id = s.bucket_id WHERE s.round_id = ? ORDER BY s.created_at, s.id`, roundID)
	if err != nil {
		return nil, fmt.Errorf("store: spends: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Spend
	for rows.Next() {
		var sp coopfed.Spend
		var created int64
		if err := rows.Scan(&sp.ID, &sp.RoundID, &sp.BucketID, &sp.BucketTitle, &sp.Amount, &sp.Reference, &sp.Note, &created); err != nil {
			return nil, err
		}
		sp.Created = fromMS(created)
		out = append(out, &sp)
	}
	return out, rows.Err()
}

// AcceptedFollower reports whether actorIRI is an accepted follower of a
// local coop, through the read pool.
func (s *Store) AcceptedFollower(ctx context.Context, coopID int64, actorIRI string) (bool, error) {
	var n int64
	err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM followers WHERE coop_id = ? AND actor_iri = ? AND state = ?`,
		coopID, actorIRI, coopfed.FollowAccepted).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: follower: %w", err)
	}
	return n > 0, nil
}
