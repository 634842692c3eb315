package coopfed

import (
	"strings"
	"time"
	"unicode/utf8"
)

// MaxDisputeText bounds a dispute's reason and its resolution.
const MaxDisputeText = 1000

// Dispute is a party's objection to an accepted trade, with its reason,
// until either party resolves it. A trade has at most one open dispute.
type Dispute struct {
	ID           int64
	IRI          string // the dispute Note's id
	TradeID      int64
	TradeIRI     string
	ListingTitle string
	OpenerIRI    string
	Reason       string
	ResolvedBy   string // the party that resolved it, "" while open
	Resolution   string
	ResolveIRI   string // the resolving Note's id
	Created      time.Time
	Resolved     time.Time
}

// Open reports whether the dispute is not resolved yet.
func (d *Dispute) Open() bool { return d.ResolvedBy == "" }

// ValidateDisputeText checks a dispute's reason or resolution (field).
func ValidateDisputeText(field, text string) error {
	switch {
	case strings.TrimSpace(text) == "":
		return FieldErrors(map[string]string{field: "say why, in up to 1000 characters"})
	case utf8.RuneCountInString(text) > MaxDisputeText:
		return FieldErrors(map[string]string{field: "at most 1000 characters"})
	}
	return nil
}

// OnTime reports whether a fulfilled trade with a due date was fulfilled
// by the end of that day (UTC).
func (t *Trade) OnTime() bool {
	return !t.Due.IsZero() && !t.FulfilledAt.IsZero() && t.FulfilledAt.Before(t.Due.AddDate(0, 0, 1))
}
