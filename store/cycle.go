package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/coopfed/coopfed"
)

// SetPhase moves a motion from one phase to the next. It reports false
// when the motion was not in phase from (someone else moved it first), so
// each phase change happens once.
func (tx *Tx) SetPhase(m *coopfed.Motion, from, to string) (bool, error) {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE motions SET phase = ? WHERE id = ? AND phase = ?`, to, m.ID, from)
	if err != nil {
		return false, fmt.Errorf("store: motion phase: %w", err)
	}
	n, _ := res.RowsAffected()
	if n == 1 {
		m.Phase = to
	}
	return n == 1, nil
}

// StartReview moves a closed motion whose review date came to its review
// phase and records the reminder Note. It reports false when the review
// had already begun.
func (tx *Tx) StartReview(m *coopfed.Motion, reviewIRI string) (bool, error) {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE motions SET phase = 'review', reminded_at = ?, review_iri = ? WHERE id = ? AND reminded_at IS NULL AND state = 'closed'`,
		ms(tx.now), reviewIRI, m.ID)
	if err != nil {
		return false, fmt.Errorf("store: start review: %w", err)
	}
	n, _ := res.RowsAffected()
	if n == 1 {
		now := tx.now
		m.Phase, m.RemindedAt, m.ReviewIRI = coopfed.PhaseReview, &now, reviewIRI
	}
	return n == 1, nil
}

// SetReviewDate sets the review date of a motion not yet in review.
func (tx *Tx) SetReviewDate(m *coopfed.Motion, at time.Time) error {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE motions SET review_at = ? WHERE id = ? AND reminded_at IS NULL`, ms(at), m.ID)
	if err != nil {
		return fmt.Errorf("store: review date: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return coopfed.Errorf(coopfed.ECONFLICT, "the review has already begun")
	}
	m.ReviewAt = &at
	return nil
}

// AmendMotion replaces a motion's text while it is in discussion and
// keeps the amendment. The phase is checked in the statement itself, so
// an amendment racing the opening of the vote is refused, not applied.
func (tx *Tx) AmendMotion(m *coopfed.Motion, a *coopfed.Amendment, memberID int64) error {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE motions SET text = ? WHERE id = ? AND phase = 'discussion' AND state = 'scheduled'`, a.Text, m.ID)
	if err != nil {
		return fmt.Errorf("store: amend motion: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return coopfed.Errorf(coopfed.ECONFLICT, "the proposal can be amended only during its discussion")
	}
	if err := tx.tx.QueryRowContext(tx.ctx, `SELECT COUNT(*) + 1 FROM motion_amendments WHERE motion_id = ?`, m.ID).Scan(&a.Number); err != nil {
		return err
	}
	var member any
	if memberID != 0 {
		member = memberID
	}
	a.MotionID, a.Previous, a.CreatedAt = m.ID, m.Text, tx.now
	a.ID, _, err = tx.insertID(`INSERT INTO motion_amendments (motion_id, number, previous, text, note, member_id, activity_iri, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.MotionID, a.Number, a.Previous, a.Text, a.Note, member, a.ActivityIRI, ms(a.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: amendment: %w", err)
	}
	m.Text = a.Text
	return nil
}

// Amendments returns a motion's amendments, oldest first.
func (s *Store) Amendments(ctx context.Context, motionID int64) ([]coopfed.Amendment, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT a.id, a.motion_id, a.number, a.previous, a.text, a.note, COALESCE(m.username, ''), a.activity_iri, a.created_at
		FROM motion_amendments a LEFT JOIN members m ON m.id = a.member_id WHERE a.motion_id = ? ORDER BY a.number`, motionID)
	if err != nil {
		return nil, fmt.Errorf("store: amendments: %w", err)
	}
	defer rows.Close()
	var out []coopfed.Amendment
	for rows.Next() {
		var a coopfed.Amendment
		var created int64
		if err := rows.Scan(&a.ID, &a.MotionID, &a.Number, &a.Previous, &a.Text, &a.Note, &a.Member, &a.ActivityIRI, &created); err != nil {
			return nil, err
		}
		a.CreatedAt = fromMS(created)
		out = append(out, a)
	}
	return out, rows.Err()
}

// AddTask adds a task to a closed motion's outcome.
func (tx *Tx) AddTask(t *coopfed.Task) error {
	var n int
	if err := tx.tx.QueryRowContext(tx.ctx, `SELECT COUNT(*) FROM motion_tasks WHERE motion_id = ?`, t.MotionID).Scan(&n); err != nil {
		return err
	}
	if n >= coopfed.MaxTasks {
		return coopfed.Errorf(coopfed.ECONFLICT, "a motion has at most %d tasks", coopfed.MaxTasks)
	}
	t.CreatedAt = tx.now
	var err error
	t.ID, _, err = tx.insertID(`INSERT INTO motion_tasks (motion_id, title, owner_id, due_at, created_at) VALUES (?, ?, ?, ?, ?)`,
		t.MotionID, t.Title, t.OwnerID, ms(t.DueAt), ms(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: add task: %w", err)
	}
	return nil
}

// CompleteTask marks a task done by a member. It reports false when the
// task was already done.
func (tx *Tx) CompleteTask(taskID, memberID int64) (bool, error) {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE motion_tasks SET done_at = ?, done_by = ? WHERE id = ? AND done_at IS NULL`, ms(tx.now), memberID, taskID)
	if err != nil {
		return false, fmt.Errorf("store: complete task: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

const taskColumns = `t.id, t.motion_id, t.title, t.owner_id, o.username, t.due_at, t.done_at, COALESCE(d.username, ''), t.created_at`

const taskFrom = ` FROM motion_tasks t JOIN members o ON o.id = t.owner_id LEFT JOIN members d ON d.id = t.done_by`

func scanTask(row interface{ Scan(...any) error }) (*coopfed.Task, error) {
	var t coopfed.Task
	var due, created int64
	var done sql.NullInt64
	if err := row.Scan(&t.ID, &t.MotionID, &t.Title, &t.OwnerID, &t.Owner, &due, &done, &t.DoneBy, &created); err != nil {
		return nil, err
	}
	t.DueAt, t.DoneAt, t.CreatedAt = fromMS(due), fromNullMS(done), fromMS(created)
	return &t, nil
}

// Task returns a task inside the transaction, or ENOTFOUND.
func (tx *Tx) Task(id int64) (*coopfed.Task, error) {
	t, err := scanTask(tx.tx.QueryRowContext(tx.ctx, `SELECT `+taskColumns+taskFrom+` WHERE t.id = ?`, id))
	if err != nil {
		return nil, notFound("task", err)
	}
	return t, nil
}

// Tasks returns a motion's tasks in the order they were added.
func (s *Store) Tasks(ctx context.Context, motionID int64) ([]*coopfed.Task, error) {
	return s.tasksWhere(ctx, `t.motion_id = ? ORDER BY t.id`, motionID)
}

// CoopTasks returns the tasks of a coop's motions not yet done, soonest
// due first, up to limit.
func (s *Store) CoopTasks(ctx context.Context, coopID int64, limit int) ([]*coopfed.Task, error) {
	return s.tasksWhere(ctx, `t.done_at IS NULL AND t.motion_id IN (SELECT id FROM motions WHERE coop_id = ?) ORDER BY t.due_at, t.id LIMIT ?`, coopID, limit)
}

func (s *Store) tasksWhere(ctx context.Context, where string, args ...any) ([]*coopfed.Task, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+taskColumns+taskFrom+` WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: tasks: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// PutOutcomeReview records a member's review of a motion, replacing the member's
// earlier record.
func (tx *Tx) PutOutcomeReview(r *coopfed.ReviewRecord) error {
	r.CreatedAt = tx.now
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO motion_reviews (motion_id, member_id, verdict, text, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (motion_id, member_id) DO UPDATE SET verdict = excluded.verdict, text = excluded.text, created_at = excluded.created_at`,
		r.MotionID, r.MemberID, r.Verdict, r.Text, ms(r.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: review: %w", err)
	}
	return nil
}

// OutcomeReviews returns what members said at a motion's review, by name.
func (s *Store) OutcomeReviews(ctx context.Context, motionID int64) ([]coopfed.ReviewRecord, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT r.motion_id, r.member_id, m.username, r.verdict, r.text, r.created_at FROM motion_reviews r
		JOIN members m ON m.id = r.member_id WHERE r.motion_id = ? ORDER BY m.username, r.member_id`, motionID)
	if err != nil {
		return nil, fmt.Errorf("store: reviews: %w", err)
	}
	defer rows.Close()
	var out []coopfed.ReviewRecord
	for rows.Next() {
		var r coopfed.ReviewRecord
		var created int64
		if err := rows.Scan(&r.MotionID, &r.MemberID, &r.Member, &r.Verdict, &r.Text, &created); err != nil {
			return nil, err
		}
		r.CreatedAt = fromMS(created)
		out = append(out, r)
	}
	return out, rows.Err()
}

// FollowUps returns the motions opened from a motion's review, oldest
// first.
func (s *Store) FollowUps(ctx context.Context, motionID int64) ([]*coopfed.Motion, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+motionColumns+` FROM motions WHERE id IN (SELECT follow_up_id FROM motion_follow_ups WHERE motion_id = ?) ORDER BY id`, motionID)
	if err != nil {
		return nil, fmt.Errorf("store: follow-ups: %w", err)
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

// ReplyMotion returns the IRI of the motion a discussion reply belongs
// to, or "" when objectIRI is no stored reply: a reply to a reply joins
// the same motion's thread.
func (s *Store) ReplyMotion(ctx context.Context, objectIRI string) (string, error) {
	var iri string
	err := s.read.QueryRowContext(ctx, `SELECT m.iri FROM motion_replies r JOIN motions m ON m.id = r.motion_id WHERE r.object_iri = ?`, objectIRI).Scan(&iri)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return iri, err
}

// MoveOpening sets a scheduled motion's opening to m.OpensAt (voting
// opened early by an admin).
func (tx *Tx) MoveOpening(m *coopfed.Motion) error {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE motions SET opens_at = ? WHERE id = ? AND state = 'scheduled'`, ms(m.OpensAt), m.ID)
	if err != nil {
		return fmt.Errorf("store: move opening: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return coopfed.Errorf(coopfed.ECONFLICT, "voting on this motion has already opened")
	}
	return nil
}
