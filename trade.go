package coopfed

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Trade states. A trade is proposed (an Offer was sent), then answered:
// countered (a new Offer replaced it), accepted, rejected, or withdrawn by
// its sender; an accepted trade becomes fulfilled when both sides confirm
// delivery.
const (
	TradeProposed  = "proposed"
	TradeCountered = "countered"
	TradeAccepted  = "accepted"
	TradeRejected  = "rejected"
	TradeWithdrawn = "withdrawn"
	TradeFulfilled = "fulfilled"
)

// Limits of a trade's fields.
const (
	MaxTradeMessage = 2000
	MaxTradeReason  = 500
	// DefaultCreditLimit is how far, in credits, the mutual-credit balance
	// between a coop and one partner may go either way unless the coop sets
	// another limit.
	DefaultCreditLimit = 1000
)

// CreditScale is the number of stored units in one credit: credit amounts
// have at most 4 decimals and are kept as exact integers.
const CreditScale = 10000

// Trade is one FEP-0837 Offer(Agreement) about a listing, and what became
// of it. Both sides keep the same record: the proposer is the coop that
// asked for the listing's resource, the owner the coop that published the
// listing. A counter-offer is a new Trade, sent by the party that received
// the previous Offer, that replies to it (InReplyTo).
type Trade struct {
	ID         int64
	IRI        string // the Offer's id
	ListingIRI string
	// ListingKind is the listing's kind when the offer was made: it says
	// which side gives the resource.
	ListingKind  string
	ListingTitle string

	ProposerIRI    string
	ProposerCoopID int64 // 0 when the proposer is remote
	OwnerIRI       string
	OwnerCoopID    int64 // 0 when the owner is remote
	// FromOwner is set when the listing's owner sent this Offer (a
	// counter-offer); the proposer then answers it.
	FromOwner bool
	InReplyTo string

	Quantity   Quantity
	Reciprocal *Reciprocal
	Message    string

	State        string
	Reason       string // why it was rejected
	AgreementIRI string // set on acceptance
	// AgreementJSON is the signed Agreement as kept here, with its
	// FEP-8b32 proofs; "" when none was made or received.
	AgreementJSON string
	// AnswerIRI is the id of the activity that answered the Offer (Accept,
	// Reject, Undo or the counter-offer).
	AnswerIRI string

	OwnerConfirmed    bool
	ProposerConfirmed bool
	ReceiptIRI        string
	// Due is the delivery date the proposal named (zero for none): the
	// day by the end of which, UTC, the trade is fulfilled on time.
	Due time.Time
	// FulfilledAt is when the second confirmation made the trade
	// fulfilled; zero before.
	FulfilledAt time.Time

	Created time.Time
	Updated time.Time
}

// Sender returns the actor that sent the Offer.
func (t *Trade) Sender() string {
	if t.FromOwner {
		return t.OwnerIRI
	}
	return t.ProposerIRI
}

// Recipient returns the actor that may accept, reject or counter the Offer.
func (t *Trade) Recipient() string {
	if t.FromOwner {
		return t.ProposerIRI
	}
	return t.OwnerIRI
}

// Counterpart returns the other party of the trade for the actor given.
func (t *Trade) Counterpart(actorIRI string) string {
	if actorIRI == t.OwnerIRI {
		return t.ProposerIRI
	}
	return t.OwnerIRI
}

// Open reports whether the Offer still waits for an answer.
func (t *Trade) Open() bool { return t.State == TradeProposed }

// Giver returns the actor that gives the listing's resource: the owner of
// an offer, the proposer for a need.
func (t *Trade) Giver() string {
	if t.ListingKind == ListingNeed {
		return t.ProposerIRI
	}
	return t.OwnerIRI
}

// Receiver returns the actor that receives the listing's resource (and
// gives the reciprocal).
func (t *Trade) Receiver() string { return t.Counterpart(t.Giver()) }

// Credits returns the credits the trade moves from the receiver to the
// giver, in CreditScale units; 0 when it is not settled in credits.
func (t *Trade) Credits() int64 {
	if t.Reciprocal == nil || t.Reciprocal.Kind != ReciprocalCredits {
		return 0
	}
	v, err := ParseCredits(t.Reciprocal.Price.Amount)
	if err != nil {
		return 0
	}
	return v
}

// Validate checks a trade's own fields (the listing rules are in
// CheckTradeQuantity).
func (t *Trade) Validate() error {
	fields := map[string]string{}
	if msg := t.Quantity.validate(true); msg != "" {
		fields["quantity"] = msg
	}
	if t.Reciprocal != nil {
		t.Reciprocal.validate(fields)
	}
	if utf8.RuneCountInString(t.Message) > MaxTradeMessage {
		fields["message"] = "at most 2000 characters"
	}
	if utf8.RuneCountInString(t.Reason) > MaxTradeReason {
		fields["reason"] = "at most 500 characters"
	}
	return FieldErrors(fields)
}

// CheckTradeQuantity decides whether q may be traded from listing l: a
// positive finite number in the listing's unit; for a unit-based listing a
// multiple of its step (the minimum when given, else the lot) and at least
// the minimum; for any other the whole lot; never more than is available.
func CheckTradeQuantity(l *Listing, q Quantity) error {
	if msg := q.validate(true); msg != "" {
		return FieldErrors(map[string]string{"quantity": msg})
	}
	// Why: a quantity in another unit cannot be compared with what is
	// available; FEP-0837 peers convert units themselves.
	if q.Unit != l.Quantity.Unit {
		return FieldErrors(map[string]string{"quantity.unit": "the listing counts in " + l.Quantity.Unit})
	}
	if !l.UnitBased {
		if !sameNumber(q.Value, l.Quantity.Value) {
			return FieldErrors(map[string]string{"quantity.value": "this listing is taken whole: " + l.Quantity.String()})
		}
	} else {
		step := l.Quantity.Value
		if l.Minimum != nil && l.Minimum.Unit == l.Quantity.Unit && l.Minimum.Value > 0 {
			step = l.Minimum.Value
			if q.Value < step && !sameNumber(q.Value, step) {
				return FieldErrors(map[string]string{"quantity.value": "at least " + l.Minimum.String()})
			}
		}
		if !isMultiple(q.Value, step) {
			return FieldErrors(map[string]string{"quantity.value": "a multiple of " + Quantity{Value: step, Unit: q.Unit}.String()})
		}
	}
	if a := l.Available; a != nil && a.Unit == q.Unit && q.Value > a.Value && !sameNumber(q.Value, a.Value) {
		return Errorf(ECONFLICT, "only %s left", a.String())
	}
	return nil
}

func sameNumber(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func isMultiple(v, step float64) bool {
	if step <= 0 {
		return false
	}
	r := v / step
	return r >= 1-1e-9 && sameNumber(r, math.Round(r))
}

// ParseCredits reads a credit amount ("50", "12.5") as CreditScale units.
func ParseCredits(s string) (int64, error) {
	if !amountRE.MatchString(s) {
		return 0, Errorf(EINVALID, "a decimal amount such as 50 (up to 4 decimals)")
	}
	whole, frac, _ := strings.Cut(s, ".")
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, Errorf(EINVALID, "not a number")
	}
	frac = (frac + "0000")[:4]
	fv, _ := strconv.ParseInt(frac, 10, 64)
	return w*CreditScale + fv, nil
}

// FormatCredits writes CreditScale units as a decimal amount: "50", "-12.5".
func FormatCredits(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	s := strconv.FormatInt(v/CreditScale, 10)
	if frac := v % CreditScale; frac != 0 {
		s += "." + strings.TrimRight(strconv.FormatInt(frac+CreditScale, 10)[1:], "0")
	}
	return sign + s
}

// Ledger directions, from the coop's side.
const (
	LedgerGave     = "gave"
	LedgerReceived = "received"
)

// LedgerEntry is one coop's record of an accepted trade: what moved, with
// whom, and how its mutual-credit balance with that partner changed.
type LedgerEntry struct {
	CoopID       int64
	TradeIRI     string
	Counterpart  string
	Direction    string // gave or received (the listing's resource)
	Item         string // the listing's title
	ListingIRI   string
	Quantity     Quantity
	Reciprocal   *Reciprocal
	Credits      int64 // signed change of the balance with Counterpart
	AgreementIRI string
	// AgreementJSON is the signed Agreement with its proofs, "" if none.
	AgreementJSON string
	State         string // the trade's state when read
	Date          time.Time
}

// LedgerEntryFor returns the ledger entry of an accepted trade for the side
// actorIRI: the giver of the resource earns the credits the receiver pays,
// so the two sides' entries always sum to zero.
func LedgerEntryFor(t *Trade, coopID int64, actorIRI string, at time.Time) LedgerEntry {
	e := LedgerEntry{
		CoopID: coopID, TradeIRI: t.IRI, Counterpart: t.Counterpart(actorIRI), Item: t.ListingTitle,
		ListingIRI: t.ListingIRI, Quantity: t.Quantity, Reciprocal: t.Reciprocal, AgreementIRI: t.AgreementIRI,
		State: t.State, Date: at,
	}
	credits := t.Credits()
	if actorIRI == t.Giver() {
		e.Direction, e.Credits = LedgerGave, credits
	} else {
		e.Direction, e.Credits = LedgerReceived, -credits
	}
	return e
}

// Balances sums ledger entries into the balance with each partner, in
// CreditScale units: positive when the partner owes the coop.
func Balances(entries []LedgerEntry) map[string]int64 {
	out := map[string]int64{}
	for _, e := range entries {
		if e.Credits != 0 {
			out[e.Counterpart] += e.Credits
		}
	}
	return out
}

// CheckCreditLimit refuses a change of a balance with one partner that
// would take it beyond limit either way (both in CreditScale units): a
// coop lends a partner at most limit, and owes it at most as much.
func CheckCreditLimit(balance, change, limit int64) error {
	after := balance + change
	if after > limit || after < -limit {
		return Errorf(ECONFLICT, "the trade would take the credit balance with this partner to %s, beyond the limit of %s",
			FormatCredits(after), FormatCredits(limit))
	}
	return nil
}
