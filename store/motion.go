package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
)

const motionColumns = `id, iri, coop_id, title, text, kind, options, quorum, threshold, opens_at, closes_at, state, eligible,
	outcome, outcome_text, outcome_iri, closed_at, last_tally_update, next_tally_update, created_at, decision, method, dots,
	phase, discussed, review_at, reminded_at, review_iri,
	COALESCE((SELECT p.iri FROM motion_follow_ups f JOIN motions p ON p.id = f.motion_id WHERE f.follow_up_id = motions.id), ''),
	class_count, class_weights, eligible_classes, class_eligible, mirror_of, mirror_actor, cast_iri`

func scanMotion(row interface{ Scan(...any) error }) (*coopfed.Motion, error) {
	var m coopfed.Motion
	var options string
	var opens, closes, created int64
	var closed, last, next sql.NullInt64
	var decision, weights, classes, classEligible string
	var discussed int
	var review, reminded sql.NullInt64
	if err := row.Scan(&m.ID, &m.IRI, &m.CoopID, &m.Title, &m.Text, &m.Kind, &options, &m.Quorum, &m.Threshold, &opens, &closes,
		&m.State, &m.Eligible, &m.Outcome, &m.OutcomeText, &m.OutcomeIRI, &closed, &last, &next, &created, &decision, &m.Method, &m.Dots,
		&m.Phase, &discussed, &review, &reminded, &m.ReviewIRI, &m.FollowUpOf,
		&m.ClassCount, &weights, &classes, &classEligible, &m.MirrorOf, &m.MirrorActor, &m.CastIRI); err != nil {
		return nil, err
	}
	m.Discussed = discussed == 1
	m.ReviewAt, m.RemindedAt = fromNullMS(review), fromNullMS(reminded)
	for _, col := range []struct {
		text string
		into any
	}{{weights, &m.Weights}, {classes, &m.Classes}, {classEligible, &m.ClassEligible}} {
		if col.text == "" {
			continue
		}
		if err := json.Unmarshal([]byte(col.text), col.into); err != nil {
			return nil, fmt.Errorf("store: motion classes: %w", err)
		}
	}
	if decision != "" {
		m.Kind = decision
	}
	if err := json.Unmarshal([]byte(options), &m.Options); err != nil {
		return nil, fmt.Errorf("store: motion %s options: %w", m.IRI, err)
	}
	m.OpensAt, m.ClosesAt, m.CreatedAt = fromMS(opens), fromMS(closes), fromMS(created)
	m.ClosedAt, m.LastTally, m.NextTally = fromNullMS(closed), fromNullMS(last), fromNullMS(next)
	return &m, nil
}

// ballotShape returns the kind column of a motion: the shape of its
// ballots (one row per member or several), and its decision column, the
// finer type where the two differ.
func ballotShape(kind string) (shape, decision string) {
	switch kind {
	case coopfed.MotionRanked, coopfed.MotionScore, coopfed.MotionPoll:
		return coopfed.MotionMultiple, kind
	case coopfed.MotionAdvice:
		return coopfed.MotionChoice, kind
	}
	return kind, ""
}

// CreateMotion stores a new motion, scheduled: OpenMotion opens it.
func (tx *Tx) CreateMotion(m *coopfed.Motion) error {
	options, err := json.Marshal(m.Options)
	if err != nil {
		return err
	}
	m.State, m.CreatedAt, m.Phase = coopfed.MotionScheduled, tx.now, coopfed.PhaseDiscussion
	shape, decision := ballotShape(m.Kind)
	discussed := 0
	if m.Discussed {
		discussed = 1
	}
	var review any
	if m.ReviewAt != nil {
		review = ms(*m.ReviewAt)
	}
	weights, classes := jsonOrEmpty(m.Weights), jsonOrEmpty(m.Classes)
	err = tx.mayFail(func() (err error) {
		m.ID, _, err = tx.insertID(`INSERT INTO motions (iri, coop_id, title, text, kind, options, quorum, threshold, opens_at, closes_at, state, created_at, decision, method, dots, phase, discussed, review_at,
		class_count, class_weights, eligible_classes, mirror_of, mirror_actor)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.IRI, m.CoopID, m.Title, m.Text, shape, string(options), m.Quorum, m.Threshold, ms(m.OpensAt), ms(m.ClosesAt), m.State, ms(m.CreatedAt), decision, m.Method, m.Dots,
			m.Phase, discussed, review, m.ClassCount, weights, classes, m.MirrorOf, m.MirrorActor)
		return err
	})
	if isUnique(err) && m.MirrorOf != "" {
		return coopfed.Errorf(coopfed.ECONFLICT, "the federation's motion is already open here")
	}
	if err != nil {
		return fmt.Errorf("store: create motion: %w", err)
	}
	if m.FollowUpOf != "" {
		if _, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO motion_follow_ups (follow_up_id, motion_id, created_at) SELECT ?, id, ? FROM motions WHERE iri = ?`,
			m.ID, ms(tx.now), m.FollowUpOf); err != nil {
			return fmt.Errorf("store: follow-up: %w", err)
		}
	}
	return nil
}

// OpenMotion opens a scheduled motion: the coop's current members become
// its eligible voters, a snapshot later membership changes do not touch.
// It reports false when the motion was not scheduled (already opened).
func (tx *Tx) OpenMotion(m *coopfed.Motion) (bool, error) {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE motions SET state = 'open', phase = 'voting' WHERE id = ? AND state = 'scheduled'`, m.ID)
	if err != nil {
		return false, fmt.Errorf("store: open motion: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	// The class each member is in is fixed with the eligibility; a motion
	// that names classes takes only their members.
	where, args := ``, []any{m.ID, m.CoopID}
	if len(m.Classes) > 0 {
		where = ` AND class IN (?` + strings.Repeat(`, ?`, len(m.Classes)-1) + `)`
		for _, c := range m.Classes {
			args = append(args, c)
		}
	}
	if _, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO motion_eligible (motion_id, member_id, class) SELECT ?, id, class FROM members WHERE coop_id = ? AND removed_at IS NULL`+where, args...); err != nil {
		return false, fmt.Errorf("store: eligible members: %w", err)
	}
	rows, err := tx.tx.QueryContext(tx.ctx, `SELECT class, COUNT(*) FROM motion_eligible WHERE motion_id = ? GROUP BY class ORDER BY class`, m.ID)
	if err != nil {
		return false, err
	}
	m.Eligible, m.ClassEligible = 0, nil
	for rows.Next() {
		var ce coopfed.ClassEligible
		if err := rows.Scan(&ce.Class, &ce.Eligible); err != nil {
			rows.Close()
			return false, err
		}
		m.Eligible += ce.Eligible
		m.ClassEligible = append(m.ClassEligible, ce)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	if _, err := tx.tx.ExecContext(tx.ctx, `UPDATE motions SET eligible = ?, class_eligible = ? WHERE id = ?`, m.Eligible, jsonOrEmpty(m.ClassEligible), m.ID); err != nil {
		return false, err
	}
	m.State, m.Phase = coopfed.MotionOpen, coopfed.PhaseVoting
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

// jsonOrEmpty encodes a list for a JSON column, "" when it is empty.
func jsonOrEmpty[T any](list []T) string {
	if len(list) == 0 {
		return ""
	}
	b, err := json.Marshal(list)
	if err != nil {
		panic(err) // lists of plain structs and strings always encode
	}
	return string(b)
}

// MirrorMotion returns a coop's internal motion of a federation's
// Question, or ENOTFOUND.
func (tx *Tx) MirrorMotion(coopID int64, questionIRI string) (*coopfed.Motion, error) {
	m, err := scanMotion(tx.tx.QueryRowContext(tx.ctx, `SELECT `+motionColumns+` FROM motions WHERE coop_id = ? AND mirror_of = ?`, coopID, questionIRI))
	if err != nil {
		return nil, notFound("motion", err)
	}
	return m, nil
}

// SetCastIRI records the id of the vote a closed internal motion's
// outcome was cast as.
func (tx *Tx) SetCastIRI(motionID int64, iri string) error {
	_, err := tx.tx.ExecContext(tx.ctx, `UPDATE motions SET cast_iri = ? WHERE id = ?`, iri, motionID)
	return err
}

// IsEligible reports whether a member was eligible when the motion opened.
func (tx *Tx) IsEligible(motionID, memberID int64) (bool, error) {
	var n int
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT COUNT(*) FROM motion_eligible WHERE motion_id = ? AND member_id = ?`, motionID, memberID).Scan(&n)
	return n > 0, err
}

// CastBallot is a member's ballot as it is cast.
type CastBallot struct {
	MotionID, MemberID int64
	// Choices in order of preference for a ranked motion; Points are a
	// score ballot's dots, parallel to Choices.
	Choices []string
	Points  []int
	Reason  string
	// Ranked stores the choices' order as their ranks.
	Ranked bool
	// ActivityIRI is the vote's id (the Note a peer sent), "" through the
	// API; ActorIRI the account that voted.
	ActivityIRI, ActorIRI string
	// CastAt is when the member voted (the Note's updated or published
	// time); a ballot older than the one in force does not replace it.
	CastAt time.Time
	// Add puts the choices beside the member's ballot instead of
	// replacing it: a Mastodon account answers a multiple choice with one
	// Note per option.
	Add bool
	// Edit marks the Note as an edit of a vote already counted (Update):
	// its id is not a redelivery.
	Edit bool
}

// CastBallot records a member's ballot, replacing the one in force: the
// latest vote counts. It reports whether an earlier ballot was replaced.
//
// The database decides, whatever the caller checked before: the same
// option twice, a vote id seen before, dots beyond the allowance, a member
// not eligible or a motion not open are refused with ECONFLICT, and the
// transaction may go on with nothing of the ballot written. Two ballots of
// one member cast at once are serialised by the member's ballots row: the
// second waits for the first and then replaces it, so exactly one counts.
func (tx *Tx) CastBallot(b *CastBallot, single bool) (replaced bool, err error) {
	if b.CastAt.IsZero() {
		b.CastAt = tx.now
	}
	err = tx.savepoint(func() error {
		var err error
		replaced, err = tx.castBallot(b, single)
		return err
	})
	switch {
	case err == nil:
		return replaced, nil
	case coopfed.ErrorCode(err) == coopfed.ECONFLICT:
		return false, err
	case isUnique(err) && strings.Contains(err.Error(), "activity_iri"):
		return false, coopfed.Errorf(coopfed.ECONFLICT, "this vote was already counted")
	case isUnique(err):
		return false, coopfed.Errorf(coopfed.ECONFLICT, "the ballot names an option twice")
	case strings.Contains(err.Error(), "vote: "):
		return false, coopfed.Errorf(coopfed.ECONFLICT, "%s", voteRefusal(err.Error()))
	}
	return false, fmt.Errorf("store: cast ballot: %w", err)
}

func (tx *Tx) castBallot(b *CastBallot, single bool) (bool, error) {
	// Take the member's ballots row first: an insert, or a no-op update
	// that locks it. changes is -1 on a row this statement created.
	var oldReason string
	var oldCast, changes int64
	err := tx.tx.QueryRowContext(tx.ctx, `INSERT INTO ballots (motion_id, member_id, reason, cast_at, changes) VALUES (?, ?, '', ?, -1)
		ON CONFLICT (motion_id, member_id) DO UPDATE SET changes = ballots.changes
		RETURNING reason, cast_at, changes`, b.MotionID, b.MemberID, ms(b.CastAt)).Scan(&oldReason, &oldCast, &changes)
	if err != nil {
		return false, err
	}
	if b.ActivityIRI != "" && !b.Edit {
		var seen int
		if err := tx.tx.QueryRowContext(tx.ctx, `SELECT COUNT(*) FROM votes WHERE activity_iri = ?`, b.ActivityIRI).Scan(&seen); err != nil {
			return false, err
		}
		if seen > 0 {
			return false, coopfed.Errorf(coopfed.ECONFLICT, "this vote was already counted")
		}
	}
	fresh := changes < 0
	replace := !fresh && !b.Add
	if !fresh && ms(b.CastAt) < oldCast {
		// Why: deliveries arrive out of order; the latest vote counts,
		// not the last to arrive.
		return false, coopfed.Errorf(coopfed.ECONFLICT, "a later vote of this member is already counted")
	}
	if replace {
		old, err := memberVotes(tx, b.MotionID, b.MemberID)
		if err != nil {
			return false, err
		}
		choices, err := json.Marshal(old)
		if err != nil {
			return false, err
		}
		if _, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO vote_changes (motion_id, member_id, choices, reason, cast_at, replaced_at) VALUES (?, ?, ?, ?, ?, ?)`,
			b.MotionID, b.MemberID, string(choices), oldReason, oldCast, ms(tx.now)); err != nil {
			return false, err
		}
		if _, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM votes WHERE motion_id = ? AND member_id = ?`, b.MotionID, b.MemberID); err != nil {
			return false, err
		}
	}
	for i, option := range b.Choices {
		points := 0
		switch {
		case b.Ranked:
			points = i + 1
		case i < len(b.Points):
			points = b.Points[i]
		}
		var activity any
		// The vote's id names its first row; a ranked or score ballot
		// sent as one Note has several.
		if b.ActivityIRI != "" && i == 0 {
			activity = b.ActivityIRI
		}
		if _, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO votes (motion_id, member_id, option, single, activity_iri, actor_iri, created_at, points) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			b.MotionID, b.MemberID, option, single, activity, b.ActorIRI, ms(tx.now), points); err != nil {
			return false, err
		}
	}
	reason := b.Reason
	if b.Add && !fresh && reason == "" {
		reason = oldReason
	}
	n := changes
	if fresh {
		n = 0
	} else if replace {
		n++
	}
	cast := ms(b.CastAt)
	if !fresh && oldCast > cast {
		cast = oldCast
	}
	if _, err := tx.tx.ExecContext(tx.ctx, `UPDATE ballots SET reason = ?, cast_at = ?, changes = ? WHERE motion_id = ? AND member_id = ?`,
		reason, cast, n, b.MotionID, b.MemberID); err != nil {
		return false, err
	}
	return replace, nil
}

// savepoint runs fn so that, when it fails, none of its statements stay
// and the transaction may go on (on both backends: SQLite undoes only a
// failed statement by itself, and a ballot is several).
func (tx *Tx) savepoint(fn func() error) error {
	if _, err := tx.tx.Tx.ExecContext(tx.ctx, `SAVEPOINT ballot`); err != nil {
		return err
	}
	if err := fn(); err != nil {
		if _, rerr := tx.tx.Tx.ExecContext(tx.ctx, `ROLLBACK TO SAVEPOINT ballot`); rerr != nil {
			return errors.Join(err, rerr)
		}
		_, _ = tx.tx.Tx.ExecContext(tx.ctx, `RELEASE SAVEPOINT ballot`)
		return err
	}
	_, err := tx.tx.Tx.ExecContext(tx.ctx, `RELEASE SAVEPOINT ballot`)
	return err
}

// VotedOption is one row of a ballot, as a replaced ballot is kept.
type VotedOption struct {
	Option string `json:"option"`
	Points int    `json:"points,omitempty"`
}

func memberVotes(tx *Tx, motionID, memberID int64) ([]VotedOption, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, `SELECT option, points FROM votes WHERE motion_id = ? AND member_id = ? ORDER BY id`, motionID, memberID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []VotedOption{}
	for rows.Next() {
		var v VotedOption
		if err := rows.Scan(&v.Option, &v.Points); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func voteRefusal(msg string) string {
	switch {
	case strings.Contains(msg, "not eligible"):
		return "the member was not a member when voting opened"
	case strings.Contains(msg, "not open"):
		return "voting on this motion is not open"
	case strings.Contains(msg, "allowance"):
		return "the ballot gives more dots than the allowance"
	}
	return "the vote does not match the motion"
}

// Ballots returns what each member who voted chose, with the reason given:
// a ranked ballot's options in order of preference, a score ballot's with
// their dots.
func (s *Store) Ballots(ctx context.Context, motionID int64) ([]coopfed.Ballot, error) {
	return ballots(ctx, s.read, motionID)
}

// Ballots returns the ballots inside the transaction.
func (tx *Tx) Ballots(motionID int64) ([]coopfed.Ballot, error) {
	return ballots(tx.ctx, tx.tx, motionID)
}

func ballots(ctx context.Context, q querier, motionID int64) ([]coopfed.Ballot, error) {
	// Why the order: points is the rank on a ranked motion, so rows in
	// rank order; elsewhere points do not order rows that have none, and
	// id keeps the order of casting.
	rows, err := q.QueryContext(ctx, `SELECT v.member_id, v.option, v.points, m.decision, COALESCE(b.reason, ''), COALESCE(e.class, '') FROM votes v
		JOIN motions m ON m.id = v.motion_id
		LEFT JOIN ballots b ON b.motion_id = v.motion_id AND b.member_id = v.member_id
		LEFT JOIN motion_eligible e ON e.motion_id = v.motion_id AND e.member_id = v.member_id
		WHERE v.motion_id = ? ORDER BY v.member_id, CASE WHEN m.decision = 'ranked' THEN v.points ELSE 0 END, v.id`, motionID)
	if err != nil {
		return nil, fmt.Errorf("store: ballots: %w", err)
	}
	defer rows.Close()
	var out []coopfed.Ballot
	for rows.Next() {
		var member int64
		var option, decision, reason, class string
		var points int
		if err := rows.Scan(&member, &option, &points, &decision, &reason, &class); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].MemberID != member {
			out = append(out, coopfed.Ballot{MemberID: member, Reason: reason, Class: class})
		}
		b := &out[len(out)-1]
		b.Choices = append(b.Choices, option)
		if decision == coopfed.MotionScore {
			b.Points = append(b.Points, points)
		}
	}
	return out, rows.Err()
}

// MemberBallot returns a member's ballot in force on a motion, nil when
// the member has not voted.
func (s *Store) MemberBallot(ctx context.Context, motionID, memberID int64) (*coopfed.Ballot, error) {
	all, err := s.Ballots(ctx, motionID)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].MemberID == memberID {
			return &all[i], nil
		}
	}
	return nil, nil
}

// BallotInfo is what the motion page shows of each member's ballot: who,
// the reason, and how often the vote was changed.
type BallotInfo struct {
	MemberID int64
	Username string
	Reason   string
	CastAt   time.Time
	Changes  int
	// Class is the member's class when the motion opened; Kind says
	// whether the member is a person or a member coop, whose actor Actor
	// is.
	Class, Kind, Actor string
}

// BallotInfos returns the ballots in force on a motion, by member name.
func (s *Store) BallotInfos(ctx context.Context, motionID int64) ([]BallotInfo, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT b.member_id, m.username, b.reason, b.cast_at, b.changes, COALESCE(e.class, ''), m.kind,
		COALESCE((SELECT MIN(a.actor_iri) FROM member_actors a WHERE a.member_id = m.id), '') FROM ballots b
		JOIN members m ON m.id = b.member_id
		LEFT JOIN motion_eligible e ON e.motion_id = b.motion_id AND e.member_id = b.member_id
		WHERE b.motion_id = ? ORDER BY m.username, b.member_id`, motionID)
	if err != nil {
		return nil, fmt.Errorf("store: ballot infos: %w", err)
	}
	defer rows.Close()
	var out []BallotInfo
	for rows.Next() {
		var b BallotInfo
		var cast int64
		if err := rows.Scan(&b.MemberID, &b.Username, &b.Reason, &cast, &b.Changes, &b.Class, &b.Kind, &b.Actor); err != nil {
			return nil, err
		}
		b.CastAt = fromMS(cast)
		out = append(out, b)
	}
	return out, rows.Err()
}

// VoteChange is a ballot that a later vote replaced.
type VoteChange struct {
	Username   string
	Choices    []VotedOption
	Reason     string
	CastAt     time.Time
	ReplacedAt time.Time
}

// VoteChanges returns a motion's replaced ballots, oldest first.
func (s *Store) VoteChanges(ctx context.Context, motionID int64) ([]VoteChange, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT m.username, c.choices, c.reason, c.cast_at, c.replaced_at FROM vote_changes c
		JOIN members m ON m.id = c.member_id WHERE c.motion_id = ? ORDER BY c.id`, motionID)
	if err != nil {
		return nil, fmt.Errorf("store: vote changes: %w", err)
	}
	defer rows.Close()
	var out []VoteChange
	for rows.Next() {
		var v VoteChange
		var choices string
		var cast, replaced int64
		if err := rows.Scan(&v.Username, &choices, &v.Reason, &cast, &replaced); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(choices), &v.Choices); err != nil {
			return nil, fmt.Errorf("store: vote change: %w", err)
		}
		v.CastAt, v.ReplacedAt = fromMS(cast), fromMS(replaced)
		out = append(out, v)
	}
	return out, rows.Err()
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
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE motions SET state = 'closed', phase = 'outcome', outcome = ?, outcome_text = ?, outcome_iri = ?, closed_at = ?, next_tally_update = NULL
		WHERE id = ? AND state = 'open'`, m.Outcome, m.OutcomeText, m.OutcomeIRI, ms(tx.now), m.ID)
	if err != nil {
		return false, fmt.Errorf("store: close motion: %w", err)
	}
	n, _ := res.RowsAffected()
	if n == 1 {
		now := tx.now
		m.State, m.ClosedAt, m.Phase = coopfed.MotionClosed, &now, coopfed.PhaseOutcome
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
// open ones whose debounced tally Update is due, and closed ones whose
// review date came.
func (s *Store) DueMotions(ctx context.Context, now time.Time) ([]int64, error) {
	t := ms(now)
	rows, err := s.read.QueryContext(ctx, `SELECT id FROM motions WHERE state = 'scheduled' AND opens_at <= ?
		UNION SELECT id FROM motions WHERE state = 'open' AND closes_at <= ?
		UNION SELECT id FROM motions WHERE next_tally_update IS NOT NULL AND next_tally_update <= ?
		UNION SELECT id FROM motions WHERE reminded_at IS NULL AND review_at IS NOT NULL AND review_at <= ? AND state = 'closed'
		ORDER BY 1`, t, t, t, t)
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
	var member any
	if r.MemberID != 0 {
		member = r.MemberID
	}
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO motion_replies (motion_id, object_iri, actor_iri, content, url, published, updated, in_reply_to, member_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (object_iri) DO UPDATE SET content = excluded.content, url = excluded.url, updated = excluded.updated
		WHERE motion_replies.actor_iri = excluded.actor_iri`,
		r.MotionID, r.ObjectIRI, r.ActorIRI, r.Content, r.URL, ms(r.Published), updated, r.InReplyTo, member)
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
	rows, err := s.read.QueryContext(ctx, `SELECT r.id, r.motion_id, r.object_iri, r.actor_iri, r.content, r.url, r.published, r.updated, r.in_reply_to, COALESCE(r.member_id, 0), COALESCE(m.username, '')
		FROM motion_replies r LEFT JOIN members m ON m.id = r.member_id WHERE r.motion_id = ? ORDER BY r.published, r.id`, motionID)
	if err != nil {
		return nil, fmt.Errorf("store: motion replies: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.MotionReply
	for rows.Next() {
		var r coopfed.MotionReply
		var published int64
		var updated sql.NullInt64
		if err := rows.Scan(&r.ID, &r.MotionID, &r.ObjectIRI, &r.ActorIRI, &r.Content, &r.URL, &published, &updated, &r.InReplyTo, &r.MemberID, &r.Member); err != nil {
			return nil, err
		}
		r.Published, r.Updated = fromMS(published), fromNullMS(updated)
		out = append(out, &r)
	}
	return out, rows.Err()
}
