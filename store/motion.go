package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
)

const motionColumns = `id, iri, coop_id, title, text, kind, options, quorum, threshold, opens_at, closes_at, state, eligible,
	outcome, outcome_text, outcome_iri, closed_at, last_tally_update, next_tally_update, created_at`

func scanMotion(row interface{ Scan(...any) error }) (*coopfed.Motion, error) {
	var m coopfed.Motion
	var options string
	var opens, closes, created int64
	var closed, last, next sql.NullInt64
	if err := row.Scan(&m.ID, &m.IRI, &m.CoopID, &m.Title, &m.Text, &m.Kind, &options, &m.Quorum, &m.Threshold, &opens, &closes,
		&m.State, &m.Eligible, &m.Outcome, &m.OutcomeText, &m.OutcomeIRI, &closed, &last, &next, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(options), &m.Options); err != nil {
		return nil, fmt.Errorf("store: motion %s options: %w", m.IRI, err)
	}
	m.OpensAt, m.ClosesAt, m.CreatedAt = fromMS(opens), fromMS(closes), fromMS(created)
	m.ClosedAt, m.LastTally, m.NextTally = fromNullMS(closed), fromNullMS(last), fromNullMS(next)
	return &m, nil
}

// CreateMotion stores a new motion, scheduled: OpenMotion opens it.
func (tx *Tx) CreateMotion(m *coopfed.Motion) error {
	options, err := json.Marshal(m.Options)
	if err != nil {
		return err
	}
	m.State, m.CreatedAt = coopfed.MotionScheduled, tx.now
	m.ID, _, err = tx.insertID(`INSERT INTO motions (iri, coop_id, title, text, kind, options, quorum, threshold, opens_at, closes_at, state, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.IRI, m.CoopID, m.Title, m.Text, m.Kind, string(options), m.Quorum, m.Threshold, ms(m.OpensAt), ms(m.ClosesAt), m.State, ms(m.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: create motion: %w", err)
	}
	return nil
}

// OpenMotion opens a scheduled motion: the coop's current members become
// its eligible voters, a snapshot later membership changes do not touch.
// It reports false when the motion was not scheduled (already opened).
func (tx *Tx) OpenMotion(m *coopfed.Motion) (bool, error) {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE motions SET state = 'open' WHERE id = ? AND state = 'scheduled'`, m.ID)
	if err != nil {
		return false, fmt.Errorf("store: open motion: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	if _, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO motion_eligible (motion_id, member_id) SELECT ?, id FROM members WHERE coop_id = ? AND removed_at IS NULL`, m.ID, m.CoopID); err != nil {
		return false, fmt.Errorf("store: eligible members: %w", err)
	}
	if err := tx.tx.QueryRowContext(tx.ctx, `SELECT COUNT(*) FROM motion_eligible WHERE motion_id = ?`, m.ID).Scan(&m.Eligible); err != nil {
		return false, err
	}
	if _, err := tx.tx.ExecContext(tx.ctx, `UPDATE motions SET eligible = ? WHERE id = ?`, m.Eligible, m.ID); err != nil {
		return false, err
	}
	m.State = coopfed.MotionOpen
	return true, nil
}

// Motion returns a motion by IRI, or ENOTFOUND.
func (s *Store) Motion(ctx context.Context, iri string) (*coopfed.Motion, error) {
	return motionWhere(ctx, s.read, `iri = ?`, iri)
}

// Motion returns a motion by IRI inside the transaction.
func (tx *Tx) Motion(iri string) (*coopfed.Motion, error) {
	return motionWhere(tx.ctx, tx.tx, `iri = ?`, iri)
}

// MotionByID returns a motion by row id inside the transaction.
func (tx *Tx) MotionByID(id int64) (*coopfed.Motion, error) {
	return motionWhere(tx.ctx, tx.tx, `id = ?`, id)
}

func motionWhere(ctx context.Context, q querier, where string, arg any) (*coopfed.Motion, error) {
	m, err := scanMotion(q.QueryRowContext(ctx, `SELECT `+motionColumns+` FROM motions WHERE `+where, arg))
	if err != nil {
		return nil, notFound("motion", err)
	}
	return m, nil
}

// Motions returns a coop's motions, newest first, up to limit.
func (s *Store) Motions(ctx context.Context, coopID int64, limit int) ([]*coopfed.Motion, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+motionColumns+` FROM motions WHERE coop_id = ? ORDER BY id DESC LIMIT ?`, coopID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: motions: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Motion
	for rows.Next() {
		m, err := scanMotion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// IsEligible reports whether a member was eligible when the motion opened.
func (tx *Tx) IsEligible(motionID, memberID int64) (bool, error) {
	var n int
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT COUNT(*) FROM motion_eligible WHERE motion_id = ? AND member_id = ?`, motionID, memberID).Scan(&n)
	return n > 0, err
}

// CastVote records one chosen option. The database decides, whatever the
// caller checked before: a second vote of a member on a single-choice
// motion, the same option twice, a vote id seen before, a member not
// eligible or a motion not open are refused with ECONFLICT, and the
// transaction may go on (only the statement failed).
func (tx *Tx) CastVote(v *coopfed.Vote, single bool) error {
	v.CreatedAt = tx.now
	var activity any
	if v.ActivityIRI != "" {
		activity = v.ActivityIRI
	}
	err := tx.mayFail(func() (err error) {
		v.ID, _, err = tx.insertID(`INSERT INTO votes (motion_id, member_id, option, single, activity_iri, actor_iri, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			v.MotionID, v.MemberID, v.Option, single, activity, v.ActorIRI, ms(v.CreatedAt))
		return err
	})
	switch {
	case isUnique(err) && strings.Contains(err.Error(), "activity_iri"):
		return coopfed.Errorf(coopfed.ECONFLICT, "this vote was already counted")
	case isUnique(err):
		return coopfed.Errorf(coopfed.ECONFLICT, "the member has already voted")
	case err != nil && strings.Contains(err.Error(), "vote: "):
		return coopfed.Errorf(coopfed.ECONFLICT, "%s", voteRefusal(err.Error()))
	case err != nil:
		return fmt.Errorf("store: cast vote: %w", err)
	}
	return nil
}

func voteRefusal(msg string) string {
	switch {
	case strings.Contains(msg, "not eligible"):
		return "the member was not a member when voting opened"
	case strings.Contains(msg, "not open"):
		return "voting on this motion is not open"
	}
	return "the vote does not match the motion"
}

// Ballots returns what each member who voted chose, in option order of
// insertion.
func (s *Store) Ballots(ctx context.Context, motionID int64) ([]coopfed.Ballot, error) {
	return ballots(ctx, s.read, motionID)
}

// Ballots returns the ballots inside the transaction.
func (tx *Tx) Ballots(motionID int64) ([]coopfed.Ballot, error) {
	return ballots(tx.ctx, tx.tx, motionID)
}

func ballots(ctx context.Context, q querier, motionID int64) ([]coopfed.Ballot, error) {
	rows, err := q.QueryContext(ctx, `SELECT member_id, option FROM votes WHERE motion_id = ? ORDER BY member_id, id`, motionID)
	if err != nil {
		return nil, fmt.Errorf("store: ballots: %w", err)
	}
	defer rows.Close()
	var out []coopfed.Ballot
	for rows.Next() {
		var member int64
		var option string
		if err := rows.Scan(&member, &option); err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].MemberID == member {
			out[n-1].Choices = append(out[n-1].Choices, option)
		} else {
			out = append(out, coopfed.Ballot{MemberID: member, Choices: []string{option}})
		}
	}
	return out, rows.Err()
}

// MemberChoices returns the options a member chose on a motion.
func (s *Store) MemberChoices(ctx context.Context, motionID, memberID int64) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT option FROM votes WHERE motion_id = ? AND member_id = ? ORDER BY id`, motionID, memberID)
	if err != nil {
		return nil, fmt.Errorf("store: member choices: %w", err)
	}
	return scanStrings(rows)
}

// VoterActors returns the fediverse accounts that voted on a motion, with
// the inbox each is reached at (the shared inbox when advertised).
func (tx *Tx) VoterActors(motionID int64) (actors []*coopfed.RemoteActor, err error) {
	rows, err := tx.tx.QueryContext(tx.ctx, `SELECT `+prefixed("a.", actorColumns)+` FROM remote_actors a
		WHERE a.iri IN (SELECT DISTINCT actor_iri FROM votes WHERE motion_id = ? AND actor_iri != '') ORDER BY a.iri`, motionID)
	if err != nil {
		return nil, fmt.Errorf("store: voters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanActor(rows)
		if err != nil {
			return nil, err
		}
		actors = append(actors, a)
	}
	return actors, rows.Err()
}

// ScheduleTally asks for a tally Update of the motion at the given time,
// unless one is already pending (debouncing: votes in between share it).
func (tx *Tx) ScheduleTally(motionID int64, at time.Time) error {
	_, err := tx.tx.ExecContext(tx.ctx, `UPDATE motions SET next_tally_update = ? WHERE id = ? AND next_tally_update IS NULL`, ms(at), motionID)
	return err
}

// TallySent records that a tally Update was sent now; none is pending.
func (tx *Tx) TallySent(motionID int64) error {
	_, err := tx.tx.ExecContext(tx.ctx, `UPDATE motions SET last_tally_update = ?, next_tally_update = NULL WHERE id = ?`, ms(tx.now), motionID)
	return err
}

// CloseMotion records a motion's outcome. It reports false when the motion
// was not open (closed by someone else first), so a motion closes once.
func (tx *Tx) CloseMotion(m *coopfed.Motion) (bool, error) {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE motions SET state = 'closed', outcome = ?, outcome_text = ?, outcome_iri = ?, closed_at = ?, next_tally_update = NULL
		WHERE id = ? AND state = 'open'`, m.Outcome, m.OutcomeText, m.OutcomeIRI, ms(tx.now), m.ID)
	if err != nil {
		return false, fmt.Errorf("store: close motion: %w", err)
	}
	n, _ := res.RowsAffected()
	if n == 1 {
		now := tx.now
		m.State, m.ClosedAt = coopfed.MotionClosed, &now
	}
	return n == 1, nil
}

// ExtendMotion moves an open or scheduled motion's deadline.
func (tx *Tx) ExtendMotion(m *coopfed.Motion, closesAt time.Time) error {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE motions SET closes_at = ? WHERE id = ? AND state != 'closed'`, ms(closesAt), m.ID)
	if err != nil {
		return fmt.Errorf("store: extend motion: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return coopfed.Errorf(coopfed.ECONFLICT, "the motion is closed")
	}
	m.ClosesAt = closesAt
	return nil
}

// DueMotions returns the ids of motions the governance job must act on at
// now: scheduled ones whose voting opens, open ones past their deadline,
// and open ones whose debounced tally Update is due.
func (s *Store) DueMotions(ctx context.Context, now time.Time) ([]int64, error) {
	t := ms(now)
	rows, err := s.read.QueryContext(ctx, `SELECT id FROM motions WHERE state = 'scheduled' AND opens_at <= ?
		UNION SELECT id FROM motions WHERE state = 'open' AND closes_at <= ?
		UNION SELECT id FROM motions WHERE next_tally_update IS NOT NULL AND next_tally_update <= ?
		ORDER BY 1`, t, t, t)
	if err != nil {
		return nil, fmt.Errorf("store: due motions: %w", err)
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

// PutMotionReply stores a reply to a motion, or its new version when the
// same object is edited.
func (tx *Tx) PutMotionReply(r *coopfed.MotionReply) error {
	var updated any
	if r.Updated != nil {
		updated = ms(*r.Updated)
	}
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO motion_replies (motion_id, object_iri, actor_iri, content, url, published, updated) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (object_iri) DO UPDATE SET content = excluded.content, url = excluded.url, updated = excluded.updated
		WHERE motion_replies.actor_iri = excluded.actor_iri`,
		r.MotionID, r.ObjectIRI, r.ActorIRI, r.Content, r.URL, ms(r.Published), updated)
	if err != nil {
		return fmt.Errorf("store: motion reply: %w", err)
	}
	return nil
}

// DeleteMotionReplies removes the replies an actor deleted: one object, or
// all of the actor's when objectIRI is "".
func (tx *Tx) DeleteMotionReplies(actorIRI, objectIRI string) error {
	var err error
	if objectIRI == "" {
		_, err = tx.tx.ExecContext(tx.ctx, `DELETE FROM motion_replies WHERE actor_iri = ?`, actorIRI)
	} else {
		_, err = tx.tx.ExecContext(tx.ctx, `DELETE FROM motion_replies WHERE object_iri = ? AND actor_iri = ?`, objectIRI, actorIRI)
	}
	return err
}

// MotionReplies returns a motion's discussion, oldest first.
func (s *Store) MotionReplies(ctx context.Context, motionID int64) ([]*coopfed.MotionReply, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, motion_id, object_iri, actor_iri, content, url, published, updated FROM motion_replies WHERE motion_id = ? ORDER BY published, id`, motionID)
	if err != nil {
		return nil, fmt.Errorf("store: motion replies: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.MotionReply
	for rows.Next() {
		var r coopfed.MotionReply
		var published int64
		var updated sql.NullInt64
		if err := rows.Scan(&r.ID, &r.MotionID, &r.ObjectIRI, &r.ActorIRI, &r.Content, &r.URL, &published, &updated); err != nil {
			return nil, err
		}
		r.Published, r.Updated = fromMS(published), fromNullMS(updated)
		out = append(out, &r)
	}
	return out, rows.Err()
}
