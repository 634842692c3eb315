package coopfed

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of a review.
const (
	MaxReviewText = 500
	MinRating     = 1
	MaxRating     = 5
)

// Review is what one party of a fulfilled trade says of the other: a
// rating from 1 to 5 and a short text, and the reviewed coop's one answer.
// Each party reviews a trade at most once.
type Review struct {
	ID           int64
	IRI          string // the review Note's id
	TradeID      int64
	TradeIRI     string
	ListingTitle string
	AuthorIRI    string
	SubjectIRI   string // the coop reviewed: the author's counterpart
	Rating       int
	Text         string
	Reply        string
	ReplyIRI     string // the answering Note's id, "" before an answer
	Created      time.Time
	Replied      time.Time
}

// Stars returns the rating as five stars, filled for the rating.
func (r *Review) Stars() string {
	n := r.Rating
	if n < 0 {
		n = 0
	}
	if n > MaxRating {
		n = MaxRating
	}
	return strings.Repeat("★", n) + strings.Repeat("☆", MaxRating-n)
}

// ValidateReview checks a review's rating and text.
func ValidateReview(rating int, text string) error {
	fields := map[string]string{}
	if rating < MinRating || rating > MaxRating {
		fields["rating"] = "a whole number from 1 to 5"
	}
	if utf8.RuneCountInString(text) > MaxReviewText {
		fields["text"] = "at most 500 characters"
	}
	return FieldErrors(fields)
}

// ValidateReply checks the answer to a review.
func ValidateReply(text string) error {
	switch {
	case strings.TrimSpace(text) == "":
		return FieldErrors(map[string]string{"text": "write the answer"})
	case utf8.RuneCountInString(text) > MaxReviewText:
		return FieldErrors(map[string]string{"text": "at most 500 characters"})
	}
	return nil
}

// TrackRecord sums up a coop's trades and the reviews it received.
type TrackRecord struct {
	Accepted  int64 // trades accepted, fulfilled or not
	Fulfilled int64 // trades both sides confirmed
	Reviews   int64
	// RatingSum over Reviews gives the average.
	RatingSum int64
	// WithDue counts fulfilled trades that had an agreed delivery date,
	// OnTime those of them fulfilled by the end of that day (UTC).
	WithDue int64
	OnTime  int64
	// Disputes counts the disputes opened on the coop's trades, by either
	// party; OpenDisputes those not resolved yet.
	Disputes     int64
	OpenDisputes int64
}

// Average returns the mean rating, with one decimal, or "" without
// reviews.
func (t TrackRecord) Average() string {
	if t.Reviews == 0 {
		return ""
	}
	return FormatNumber(float64(t.RatingSum*10/t.Reviews) / 10)
}
