package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/coopfed/coopfed"
)

const tradeColumns = `t.id, t.iri, t.listing_iri, t.listing_kind, t.listing_title, t.proposer_iri, COALESCE(t.proposer_coop_id, 0),
	t.owner_iri, COALESCE(t.owner_coop_id, 0), t.from_owner, t.in_reply_to, t.quantity_value, t.quantity_unit, t.reciprocal,
	t.message, t.state, t.reason, COALESCE(t.agreement_iri, ''), COALESCE(t.answer_iri, ''), t.owner_confirmed,
	t.proposer_confirmed, t.receipt_iri, t.agreement_json, t.due_at, t.fulfilled_at, t.created_at, t.updated_at`

// reciprocalJSON is the stored form of a trade's reciprocal.
type reciprocalJSON struct {
	Kind       string  `json:"kind"`
	Amount     string  `json:"amount,omitempty"`
	Currency   string  `json:"currency,omitempty"`
	ConformsTo string  `json:"conforms_to,omitempty"`
	Name       string  `json:"name,omitempty"`
	Value      float64 `json:"value,omitempty"`
	Unit       string  `json:"unit,omitempty"`
}

func encodeReciprocal(r *coopfed.Reciprocal) (string, error) {
	if r == nil {
		return "", nil
	}
	b, err := json.Marshal(reciprocalJSON{Kind: r.Kind, Amount: r.Price.Amount, Currency: r.Price.Currency,
		ConformsTo: r.ConformsTo, Name: r.Name, Value: r.Quantity.Value, Unit: r.Quantity.Unit})
	return string(b), err
}

func decodeReciprocal(s string) (*coopfed.Reciprocal, error) {
	if s == "" {
		return nil, nil
	}
	var j reciprocalJSON
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		return nil, err
	}
	return &coopfed.Reciprocal{Kind: j.Kind, Price: coopfed.Price{Amount: j.Amount, Currency: j.Currency},
		ConformsTo: j.ConformsTo, Name: j.Name, Quantity: coopfed.Quantity{Value: j.Value, Unit: j.Unit}}, nil
}

func scanTrade(row interface{ Scan(...any) error }) (*coopfed.Trade, error) {
	var t coopfed.Trade
	var rec string
	var created, updated, due, fulfilled int64
	err := row.Scan(&t.ID, &t.IRI, &t.ListingIRI, &t.ListingKind, &t.ListingTitle, &t.ProposerIRI, &t.ProposerCoopID,
		&t.OwnerIRI, &t.OwnerCoopID, &t.FromOwner, &t.InReplyTo, &t.Quantity.Value, &t.Quantity.Unit, &rec,
		&t.Message, &t.State, &t.Reason, &t.AgreementIRI, &t.AnswerIRI, &t.OwnerConfirmed,
		&t.ProposerConfirmed, &t.ReceiptIRI, &t.AgreementJSON, &due, &fulfilled, &created, &updated)
	if err != nil {
		return nil, err
	}
	if t.Reciprocal, err = decodeReciprocal(rec); err != nil {
		return nil, fmt.Errorf("store: trade %s: reciprocal: %w", t.IRI, err)
	}
	t.Created, t.Updated = fromMS(created), fromMS(updated)
	if due != 0 {
		t.Due = fromMS(due)
	}
	if fulfilled != 0 {
		t.FulfilledAt = fromMS(fulfilled)
	}
	return &t, nil
}

func nullIfZero(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// InsertTrade stores a new Offer. An Offer already stored (a replayed
// delivery) is refused with ECONFLICT.
func (tx *Tx) InsertTrade(t *coopfed.Trade) error {
	rec, err := encodeReciprocal(t.Reciprocal)
	if err != nil {
		return err
	}
	if t.Created.IsZero() {
		t.Created = tx.now
	}
	t.Updated = tx.now
	id, inserted, err := tx.insertID(`INSERT INTO trades (iri, listing_iri, listing_kind, listing_title, proposer_iri,
		proposer_coop_id, owner_iri, owner_coop_id, from_owner, in_reply_to, quantity_value, quantity_unit, reciprocal, message,
		state, reason, due_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(iri) DO NOTHING`,
		t.IRI, t.ListingIRI, t.ListingKind, t.ListingTitle, t.ProposerIRI, nullIfZero(t.ProposerCoopID), t.OwnerIRI,
		nullIfZero(t.OwnerCoopID), t.FromOwner, t.InReplyTo, t.Quantity.Value, t.Quantity.Unit, rec, t.Message,
		t.State, t.Reason, msOrZero(t.Due), ms(t.Created), ms(t.Updated))
	if err != nil {
		return fmt.Errorf("store: insert trade: %w", err)
	}
	if !inserted {
		return coopfed.Errorf(coopfed.ECONFLICT, "this offer is already known")
	}
	t.ID = id
	return nil
}

// AnswerTrade moves an open Offer (state proposed) to state, recording the
// answering activity and, for an acceptance, the agreement. It returns
// ECONFLICT when the Offer was already answered, so two answers can never
// both win.
func (tx *Tx) AnswerTrade(t *coopfed.Trade, state, answerIRI, agreementIRI, reason string) error {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE trades SET state = ?, answer_iri = ?, agreement_iri = ?, reason = ?, updated_at = ?
		WHERE id = ? AND state = 'proposed'`, state, nullIfEmpty(answerIRI), nullIfEmpty(agreementIRI), reason, ms(tx.now), t.ID)
	if err != nil {
		return fmt.Errorf("store: answer trade: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return coopfed.Errorf(coopfed.ECONFLICT, "the offer was already answered")
	}
	t.State, t.AnswerIRI, t.AgreementIRI, t.Reason, t.Updated = state, answerIRI, agreementIRI, reason, tx.now
	return nil
}

// SetAgreementJSON keeps the signed form of a trade's agreement.
func (tx *Tx) SetAgreementJSON(t *coopfed.Trade, doc string) error {
	if _, err := tx.tx.ExecContext(tx.ctx, `UPDATE trades SET agreement_json = ? WHERE id = ?`, doc, t.ID); err != nil {
		return fmt.Errorf("store: agreement: %w", err)
	}
	t.AgreementJSON = doc
	return nil
}

// ConfirmTrade records that one side (the owner, or else the proposer)
// confirmed delivery of an accepted trade; when both have, the trade is
// fulfilled and receipt names the note that says so. It reports whether
// the trade is now fulfilled.
func (tx *Tx) ConfirmTrade(t *coopfed.Trade, byOwner bool, receipt string) (bool, error) {
	if t.State != coopfed.TradeAccepted {
		return false, coopfed.Errorf(coopfed.ECONFLICT, "only an accepted trade can be fulfilled (this one is %s)", t.State)
	}
	if byOwner {
		t.OwnerConfirmed = true
	} else {
		t.ProposerConfirmed = true
	}
	if t.OwnerConfirmed && t.ProposerConfirmed {
		t.State = coopfed.TradeFulfilled
		t.FulfilledAt = tx.now
	}
	if t.ReceiptIRI == "" || t.State == coopfed.TradeFulfilled {
		t.ReceiptIRI = receipt
	}
	_, err := tx.tx.ExecContext(tx.ctx, `UPDATE trades SET owner_confirmed = ?, proposer_confirmed = ?, state = ?, receipt_iri = ?, fulfilled_at = ?, updated_at = ?
		WHERE id = ?`, t.OwnerConfirmed, t.ProposerConfirmed, t.State, t.ReceiptIRI, msOrZero(t.FulfilledAt), ms(tx.now), t.ID)
	if err != nil {
		return false, fmt.Errorf("store: confirm trade: %w", err)
	}
	return t.State == coopfed.TradeFulfilled, nil
}

// TakeFromListing lowers a local listing's available quantity by q in one
// statement, so concurrent acceptances can never sell more than is there:
// the row changes only while enough is left. At zero the listing closes.
// Its `updated` always moves forward, at least by a millisecond, so the
// Updates of two acceptances within one millisecond stay ordered for peers
// that keep only a strictly newer copy.
// It returns the listing as it now is, or ECONFLICT naming what is left.
func (tx *Tx) TakeFromListing(iri string, q coopfed.Quantity) (*coopfed.Listing, error) {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE listings
		SET available_value = COALESCE(available_value, quantity_value) - ?, available_unit = quantity_unit, updated = CASE WHEN COALESCE(updated, 0) + 1 > ? THEN COALESCE(updated, 0) + 1 ELSE ? END,
		    state = CASE WHEN COALESCE(available_value, quantity_value) - ? <= 1e-9 THEN 'closed' ELSE state END
		WHERE iri = ? AND coop_id IS NOT NULL AND deleted = 0 AND state = 'open' AND quantity_unit = ?
		  AND COALESCE(available_value, quantity_value) >= ? - 1e-9`,
		q.Value, ms(tx.now), ms(tx.now), q.Value, iri, q.Unit, q.Value)
	if err != nil {
		return nil, fmt.Errorf("store: take from listing: %w", err)
	}
	l, lerr := tx.ListingByIRI(iri)
	if n, _ := res.RowsAffected(); n == 0 {
		if lerr != nil {
			return nil, lerr
		}
		if l.State != coopfed.ListingOpen || l.Deleted {
			return nil, coopfed.Errorf(coopfed.ECONFLICT, "the listing is closed: nothing is left")
		}
		return nil, coopfed.Errorf(coopfed.ECONFLICT, "only %s left, %s asked", l.Amount().String(), q.String())
	}
	if lerr != nil {
		return nil, lerr
	}
	if l.Available != nil && l.Available.Value < 1e-9 {
		l.Available.Value = 0
	}
	return l, nil
}

// TradeByIRI returns a trade by its Offer's id, or ENOTFOUND.
func (tx *Tx) TradeByIRI(iri string) (*coopfed.Trade, error) {
	return tradeBy(tx.ctx, tx.tx, `t.iri = ?`, iri)
}

// TradeByIRI returns a trade by its Offer's id, or ENOTFOUND.
func (s *Store) TradeByIRI(ctx context.Context, iri string) (*coopfed.Trade, error) {
	return tradeBy(ctx, s.read, `t.iri = ?`, iri)
}

// TradeByAgreement returns the trade an agreement settled, or ENOTFOUND.
func (s *Store) TradeByAgreement(ctx context.Context, iri string) (*coopfed.Trade, error) {
	return tradeBy(ctx, s.read, `t.agreement_iri = ?`, iri)
}

// TradeByAgreement returns the trade an agreement settled, inside the
// transaction.
func (tx *Tx) TradeByAgreement(iri string) (*coopfed.Trade, error) {
	return tradeBy(tx.ctx, tx.tx, `t.agreement_iri = ?`, iri)
}

func tradeBy(ctx context.Context, q querier, where string, arg any) (*coopfed.Trade, error) {
	t, err := scanTrade(q.QueryRowContext(ctx, `SELECT `+tradeColumns+` FROM trades t WHERE `+where, arg))
	if err != nil {
		return nil, notFound("trade", err)
	}
	return t, nil
}

// TradeFilter selects a coop's trades.
type TradeFilter struct {
	State   string // "" for all
	Listing string // one listing's trades
	Limit   int
	Offset  int
}

// CoopTrades lists the trades a coop takes part in, newest first.
func (s *Store) CoopTrades(ctx context.Context, coopID int64, f TradeFilter) ([]*coopfed.Trade, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	return queryTrades(ctx, s.read, `SELECT `+tradeColumns+` FROM trades t
		WHERE (t.proposer_coop_id = ? OR t.owner_coop_id = ?) AND (? = '' OR t.state = ?) AND (? = '' OR t.listing_iri = ?)
		ORDER BY t.created_at DESC, t.id DESC LIMIT ? OFFSET ?`,
		coopID, coopID, f.State, f.State, f.Listing, f.Listing, f.Limit, f.Offset)
}

// OpenTradesOn lists the Offers about a listing that still wait for an
// answer.
func (tx *Tx) OpenTradesOn(listingIRI string) ([]*coopfed.Trade, error) {
	return queryTrades(tx.ctx, tx.tx, `SELECT `+tradeColumns+` FROM trades t WHERE t.listing_iri = ? AND t.state = 'proposed' ORDER BY t.id`, listingIRI)
}

func queryTrades(ctx context.Context, q querier, query string, args ...any) ([]*coopfed.Trade, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: trades: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Trade
	for rows.Next() {
		t, err := scanTrade(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// InsertLedgerEntry records an accepted trade in a coop's ledger; a
// second entry for the same trade and coop is ignored.
func (tx *Tx) InsertLedgerEntry(tradeID int64, e coopfed.LedgerEntry) error {
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO ledger_entries (coop_id, trade_id, counterpart_iri, direction, credits, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(coop_id, trade_id) DO NOTHING`,
		e.CoopID, tradeID, e.Counterpart, e.Direction, e.Credits, ms(e.Date))
	if err != nil {
		return fmt.Errorf("store: ledger entry: %w", err)
	}
	return nil
}

// Ledger returns a coop's ledger, oldest first, with each trade's details
// and current state.
func (s *Store) Ledger(ctx context.Context, coopID int64) ([]coopfed.LedgerEntry, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT e.counterpart_iri, e.direction, e.credits, e.created_at, `+tradeColumns+`
		FROM ledger_entries e JOIN trades t ON t.id = e.trade_id WHERE e.coop_id = ? ORDER BY e.created_at, e.id`, coopID)
	if err != nil {
		return nil, fmt.Errorf("store: ledger: %w", err)
	}
	defer rows.Close()
	var out []coopfed.LedgerEntry
	for rows.Next() {
		var e coopfed.LedgerEntry
		var at int64
		var t coopfed.Trade
		var rec string
		var created, updated, due, fulfilled int64
		if err := rows.Scan(&e.Counterpart, &e.Direction, &e.Credits, &at,
			&t.ID, &t.IRI, &t.ListingIRI, &t.ListingKind, &t.ListingTitle, &t.ProposerIRI, &t.ProposerCoopID,
			&t.OwnerIRI, &t.OwnerCoopID, &t.FromOwner, &t.InReplyTo, &t.Quantity.Value, &t.Quantity.Unit, &rec,
			&t.Message, &t.State, &t.Reason, &t.AgreementIRI, &t.AnswerIRI, &t.OwnerConfirmed,
			&t.ProposerConfirmed, &t.ReceiptIRI, &t.AgreementJSON, &due, &fulfilled, &created, &updated); err != nil {
			return nil, err
		}
		r, err := decodeReciprocal(rec)
		if err != nil {
			return nil, err
		}
		e.CoopID, e.TradeIRI, e.Item, e.ListingIRI, e.Quantity, e.Reciprocal = coopID, t.IRI, t.ListingTitle, t.ListingIRI, t.Quantity, r
		e.AgreementIRI, e.AgreementJSON, e.State, e.Date = t.AgreementIRI, t.AgreementJSON, t.State, fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Balance returns a coop's mutual-credit balance with one partner, in
// ten-thousandths of a credit.
func (tx *Tx) Balance(coopID int64, partner string) (int64, error) {
	var v int64
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT COALESCE(SUM(credits), 0) FROM ledger_entries WHERE coop_id = ? AND counterpart_iri = ?`, coopID, partner).Scan(&v)
	return v, err
}

// CreditLimit returns the limit a coop grants a partner: the partner's
// own, else the coop's default, else def.
func (tx *Tx) CreditLimit(coopID int64, partner string, def int64) (int64, error) {
	return creditLimit(tx.ctx, tx.tx, coopID, partner, def)
}

// CreditLimit is the read-pool form of Tx.CreditLimit.
func (s *Store) CreditLimit(ctx context.Context, coopID int64, partner string, def int64) (int64, error) {
	return creditLimit(ctx, s.read, coopID, partner, def)
}

func creditLimit(ctx context.Context, q querier, coopID int64, partner string, def int64) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx, `SELECT credit_limit FROM credit_limits WHERE coop_id = ? AND partner_iri IN (?, '')
		ORDER BY partner_iri = '' LIMIT 1`, coopID, partner).Scan(&v)
	if err == sql.ErrNoRows {
		return def, nil
	}
	return v, err
}

// SetCreditLimit sets the limit a coop grants one partner (partner "" sets
// its default).
func (tx *Tx) SetCreditLimit(coopID int64, partner string, limit int64) error {
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO credit_limits (coop_id, partner_iri, credit_limit) VALUES (?, ?, ?)
		ON CONFLICT(coop_id, partner_iri) DO UPDATE SET credit_limit = excluded.credit_limit`, coopID, partner, limit)
	return err
}

// CreditLimits lists the limits a coop set, partner "" first.
func (s *Store) CreditLimits(ctx context.Context, coopID int64) (map[string]int64, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT partner_iri, credit_limit FROM credit_limits WHERE coop_id = ?`, coopID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var p string
		var v int64
		if err := rows.Scan(&p, &v); err != nil {
			return nil, err
		}
		out[p] = v
	}
	return out, rows.Err()
}

// CancelAcceptedTrade undoes the acceptance of a counter-offer its sender
// could not honour: the trade is rejected and leaves the ledgers.
func (tx *Tx) CancelAcceptedTrade(t *coopfed.Trade, answerIRI, reason string) error {
	if _, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM ledger_entries WHERE trade_id = ?`, t.ID); err != nil {
		return fmt.Errorf("store: cancel trade: %w", err)
	}
	_, err := tx.tx.ExecContext(tx.ctx, `UPDATE trades SET state = 'rejected', reason = ?, agreement_iri = NULL, agreement_json = '', updated_at = ? WHERE id = ?`,
		reason, ms(tx.now), t.ID)
	if err != nil {
		return fmt.Errorf("store: cancel trade: %w", err)
	}
	t.State, t.Reason, t.AgreementIRI, t.AgreementJSON = coopfed.TradeRejected, reason, "", ""
	return nil
}

// TradeByID returns a trade by its local number, or ENOTFOUND.
func (s *Store) TradeByID(ctx context.Context, id int64) (*coopfed.Trade, error) {
	return tradeBy(ctx, s.read, `t.id = ?`, id)
}
