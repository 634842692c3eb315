package coopfed

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Phases of a motion's cycle, in order. A motion published for discussion
// starts in PhaseDiscussion; one that opens for votes at once starts in
// PhaseVoting.
const (
	// PhaseDiscussion: members and followers reply, admins amend the text.
	PhaseDiscussion = "discussion"
	// PhaseVoting: voting is open; eligibility was fixed when it opened.
	PhaseVoting = "voting"
	// PhaseOutcome: the motion closed and its outcome is published.
	PhaseOutcome = "outcome"
	// PhaseImplementation: the outcome became tasks with owners.
	PhaseImplementation = "implementation"
	// PhaseReview: the review date came; members say whether it worked.
	PhaseReview = "review"
)

// Phases lists the phases in the order a motion moves through them.
var Phases = []string{PhaseDiscussion, PhaseVoting, PhaseOutcome, PhaseImplementation, PhaseReview}

// PhaseWords names a phase as people say it.
func PhaseWords(phase string) string {
	switch phase {
	case PhaseDiscussion:
		return "Discussion"
	case PhaseVoting:
		return "Voting"
	case PhaseOutcome:
		return "Outcome"
	case PhaseImplementation:
		return "Implementation"
	case PhaseReview:
		return "Review"
	}
	return phase
}

// Verdicts a member records at review.
const (
	VerdictYes    = "yes"
	VerdictPartly = "partly"
	VerdictNo     = "no"
)

// Limits of the cycle.
const (
	MaxReplyText         = 2000
	MaxAmendNote         = 300
	MaxTaskTitle         = 200
	MaxOutcomeReviewText = 1000
	MaxTasks             = 50
	MaxReviewAfter       = 5 * 366 * 24 * time.Hour
	MaxTaskDueAfter      = 5 * 366 * 24 * time.Hour
)

// Amendment is one change of a motion's text during its discussion.
type Amendment struct {
	ID       int64
	MotionID int64
	// Number counts the motion's amendments from 1.
	Number   int
	Previous string
	Text     string
	// Note is what the amendment changes, in the amender's words.
	Note string
	// Member is the username of the member who amended, "" through the
	// API.
	Member      string
	ActivityIRI string
	CreatedAt   time.Time
}

// Task is a piece of a motion's outcome to carry out: an owner among the
// members and a due date.
type Task struct {
	ID        int64
	MotionID  int64
	Title     string
	OwnerID   int64
	Owner     string // the owner's username
	DueAt     time.Time
	DoneAt    *time.Time
	DoneBy    string // username of who marked it done
	CreatedAt time.Time
}

// Done reports whether the task is marked done.
func (t *Task) Done() bool { return t.DoneAt != nil }

// ValidateTask checks a new task's title and due date against now.
func ValidateTask(title string, due, now time.Time) error {
	fields := map[string]string{}
	switch n := utf8.RuneCountInString(title); {
	case n == 0:
		fields["title"] = "say what is to be done"
	case n > MaxTaskTitle:
		fields["title"] = fmt.Sprintf("at most %d characters", MaxTaskTitle)
	}
	switch {
	case due.IsZero():
		fields["due_at"] = "give the due date (RFC 3339)"
	case due.Sub(now) > MaxTaskDueAfter:
		fields["due_at"] = "at most five years ahead"
	}
	return FieldErrors(fields)
}

// ReviewRecord is what one member says at a motion's review.
type ReviewRecord struct {
	MotionID  int64
	MemberID  int64
	Member    string
	Verdict   string
	Text      string
	CreatedAt time.Time
}

// ValidateOutcomeReview checks a review record's verdict and text.
func ValidateOutcomeReview(verdict, text string) error {
	fields := map[string]string{}
	switch verdict {
	case VerdictYes, VerdictPartly, VerdictNo:
	default:
		fields["verdict"] = "yes, partly or no"
	}
	if utf8.RuneCountInString(text) > MaxOutcomeReviewText {
		fields["text"] = fmt.Sprintf("at most %d characters", MaxOutcomeReviewText)
	}
	return FieldErrors(fields)
}

// ValidateReplyText checks a local member's reply to a motion.
func ValidateReplyText(text string) error {
	switch n := utf8.RuneCountInString(strings.TrimSpace(text)); {
	case n == 0:
		return FieldErrors(map[string]string{"text": "write a reply"})
	case n > MaxReplyText:
		return FieldErrors(map[string]string{"text": fmt.Sprintf("at most %d characters", MaxReplyText)})
	}
	return nil
}

// CanAmend reports why a motion's text cannot be amended now, or "".
func (m *Motion) CanAmend() string {
	if m.Phase != PhaseDiscussion {
		return "the proposal can be amended only during its discussion; this motion is in its " + m.Phase + " phase"
	}
	return ""
}

// CanAddTask reports why tasks cannot be added now, or "".
func (m *Motion) CanAddTask() string {
	switch m.Phase {
	case PhaseOutcome, PhaseImplementation, PhaseReview:
		return ""
	}
	return "tasks follow the outcome; this motion is in its " + m.Phase + " phase"
}

// CanReview reports why a review cannot be recorded at now, or "".
func (m *Motion) CanReview(now time.Time) string {
	switch {
	case m.ReviewAt == nil:
		return "this motion has no review date"
	case m.Phase != PhaseReview || now.Before(*m.ReviewAt):
		return "the review opens on " + m.ReviewAt.UTC().Format("2 Jan 2006 15:04 UTC")
	}
	return ""
}
