package coopfed

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Participatory budgets. A coop opens a round with a pot; coops that
// follow it propose buckets (projects asking for part of the pot); the
// pot is shared out by one of two models:
//
//   - BudgetAllocate (CoBudget): every allocator (a member of the round's
//     coop, or of an eligible coop that follows it) gets an equal share of
//     the pot, fixed when the round opens, and spreads it over buckets. At
//     the deadline a bucket whose allocations reach what it asked is
//     funded; the allocations to the others go back.
//   - BudgetMotion (Platform6): at the deadline the round's members vote
//     on the buckets in a multiple-choice motion; buckets are funded in
//     order of votes while the pot lasts.
//
// Every amount is an integer in the round's minor units (Decimals places:
// 2 for cents), so sums are exact.

// Budget models.
const (
	BudgetAllocate = "allocate"
	BudgetMotion   = "motion"
)

// Round states: open for buckets and allocations, voting (a motion round
// whose funding motion is open), closed with funded buckets.
const (
	RoundOpen   = "open"
	RoundVoting = "voting"
	RoundClosed = "closed"
)

// CreditCurrency is the currency of a pot in mutual credit units, the
// coops' own credits of the trade ledger.
const CreditCurrency = "credits"

// Limits of rounds and buckets.
const (
	MaxRoundTitle    = 200
	MaxRoundText     = 5000
	MaxBucketTitle   = 200
	MaxBucketText    = 2000
	MaxRoundDuration = 366 * 24 * time.Hour
	// MaxPot bounds a pot and a bucket's ask (in minor units) so no sum of
	// them can overflow an int64.
	MaxPot           = int64(1) << 50
	MaxEligibleCoops = 20
	MaxSpendNote     = 500
	// MaxRoundBuckets and MaxRoundAllocations keep a closed round's
	// document, which lists every bucket and allocation, well under the
	// 1 MiB that inboxes take (about 650 KiB at both limits).
	MaxRoundBuckets     = 50
	MaxRoundAllocations = 3000
)

// AllocatorCoop is a coop whose members allocate in a round, with how
// many members it had when the round opened.
type AllocatorCoop struct {
	Coop    string `json:"coop"`
	Members int64  `json:"members"`
}

// BudgetRound is a participatory budget round of a coop.
type BudgetRound struct {
	ID  int64
	IRI string
	// CoopID is the local coop holding the round; 0 for the copy of a
	// round of a coop this instance follows.
	CoopID      int64
	OwnerIRI    string // the round's coop actor
	Title       string
	Description string
	Pot         int64
	Currency    string // ISO 4217 code, or CreditCurrency
	Decimals    int    // minor-unit places of the currency
	Model       string
	// EligibleCoops names the remote coops whose members allocate, beside
	// the round's own members (allocate model).
	EligibleCoops []string
	// AllocatorCoops are the allocating coops and their member counts,
	// fixed when the round opens; Allocators sums them and Share is each
	// allocator's part of the pot.
	AllocatorCoops []AllocatorCoop
	Allocators     int64
	Share          int64
	ClosesAt       time.Time
	// VotingClosesAt is when the funding motion of a motion round closes.
	VotingClosesAt time.Time
	State          string
	ClosedAt       time.Time
	MotionIRI      string
	Created        time.Time
	Updated        time.Time
}

// Local reports whether a coop of this instance holds the round.
func (r *BudgetRound) Local() bool { return r.CoopID != 0 }

// OpenAt reports whether buckets and allocations are taken at now.
func (r *BudgetRound) OpenAt(now time.Time) bool {
	return r.State == RoundOpen && now.Before(r.ClosesAt)
}

// Seats returns how many members of coop may allocate in the round (0
// for a coop that is not among its allocators).
func (r *BudgetRound) Seats(coop string) int64 {
	for _, a := range r.AllocatorCoops {
		if a.Coop == coop {
			return a.Members
		}
	}
	return 0
}

// Remainder is the part of the pot that no share reaches: pot minus
// allocators times share.
func (r *BudgetRound) Remainder() int64 {
	_, rem := EqualShare(r.Pot, r.Allocators)
	if r.Allocators == 0 {
		return 0
	}
	return rem
}

// Amount writes v in the round's unit: "12.50 EUR".
func (r *BudgetRound) Amount(v int64) string {
	return FormatAmount(v, r.Decimals) + " " + r.Currency
}

// Normalize trims the round's fields and fills defaults.
func (r *BudgetRound) Normalize() {
	r.Title, r.Description = strings.TrimSpace(r.Title), strings.TrimSpace(r.Description)
	r.Currency = strings.TrimSpace(r.Currency)
	if r.Currency == "" {
		r.Currency = CreditCurrency
	}
	if r.Currency != CreditCurrency {
		r.Currency = strings.ToUpper(r.Currency)
	}
	if r.Model == "" {
		r.Model = BudgetAllocate
	}
	var eligible []string
	for _, c := range r.EligibleCoops {
		if c = strings.TrimSpace(c); c != "" && !containsString(eligible, c) {
			eligible = append(eligible, c)
		}
	}
	r.EligibleCoops = eligible
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// CurrencyDecimals returns the minor-unit places of a currency: 4 for
// mutual credit (CreditScale), 0 for the few ISO 4217 currencies without
// minor units that coops are likely to use, else 2.
func CurrencyDecimals(currency string) int {
	switch currency {
	case CreditCurrency:
		return 4
	case "JPY", "KRW", "ISK", "CLP", "VND":
		return 0
	}
	return 2
}

// ValidCurrency reports whether s is an ISO 4217 style code (three
// capital letters) or CreditCurrency.
func ValidCurrency(s string) bool {
	if s == CreditCurrency {
		return true
	}
	if len(s) != 3 {
		return false
	}
	for _, c := range s {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// Validate checks a round before it opens at now.
func (r *BudgetRound) Validate(now time.Time) error {
	fields := map[string]string{}
	switch n := utf8.RuneCountInString(r.Title); {
	case n == 0:
		fields["title"] = "give the round a title"
	case n > MaxRoundTitle:
		fields["title"] = "at most 200 characters"
	}
	if utf8.RuneCountInString(r.Description) > MaxRoundText {
		fields["description"] = "at most 5000 characters"
	}
	if !ValidCurrency(r.Currency) {
		fields["currency"] = "a three-letter currency code (EUR) or credits"
	}
	if r.Pot <= 0 || r.Pot > MaxPot {
		fields["pot"] = "an amount above 0"
	}
	if r.Model != BudgetAllocate && r.Model != BudgetMotion {
		fields["model"] = "allocate or motion"
	}
	switch {
	case !r.ClosesAt.After(now):
		fields["closes_at"] = "the deadline must be in the future"
	case r.ClosesAt.Sub(now) > MaxRoundDuration:
		fields["closes_at"] = "a round may last at most a year"
	}
	if r.Model == BudgetMotion {
		switch {
		case !r.VotingClosesAt.After(r.ClosesAt):
			fields["voting_closes_at"] = "the vote on the buckets must end after the deadline for buckets"
		case r.VotingClosesAt.Sub(r.ClosesAt) > MaxRoundDuration:
			fields["voting_closes_at"] = "the vote may last at most a year"
		}
		if len(r.EligibleCoops) > 0 {
			fields["eligible_coops"] = "in a motion round the coop's own members vote; name no other coops"
		}
	}
	if len(r.EligibleCoops) > MaxEligibleCoops {
		fields["eligible_coops"] = "at most 20 coops"
	}
	for _, c := range r.EligibleCoops {
		if !ValidActorIRI(c) {
			fields["eligible_coops"] = "each eligible coop must be an actor IRI (https://host/...): " + c
			break
		}
	}
	return FieldErrors(fields)
}

// EqualShare divides a pot between allocators: each gets the same whole
// number of minor units, rounded down, and the remainder (fewer units
// than there are allocators) is handed to no one. It stays in the pot,
// unallocated, and the ledger shows it. Why rounded down: every share
// alike, and the shares never sum above the pot. With no allocator the
// share is 0 and the whole pot is the remainder.
func EqualShare(pot, allocators int64) (share, remainder int64) {
	if allocators <= 0 || pot <= 0 {
		return 0, max(pot, 0)
	}
	return pot / allocators, pot % allocators
}

// CheckAllocation decides whether an allocator who has spent spent of
// share may give amount to a bucket that asked asked and holds allocated.
// Why each rule: a share is the allocator's whole say (the sum of their
// allocations may not pass it), and a bucket takes no more than it asked,
// so money is not locked in a bucket that cannot use it.
func CheckAllocation(share, spent, amount, asked, allocated int64) error {
	switch {
	case amount <= 0:
		return FieldErrors(map[string]string{"amount": "an amount above 0"})
	case amount > share-spent:
		return Errorf(ECONFLICT, "this allocation would bring the member's total to %d, above the share of %d (%d left)", spent+amount, share, share-spent)
	case amount > asked-allocated:
		return Errorf(ECONFLICT, "the bucket needs only %d more (asked %d, allocated %d)", asked-allocated, asked, allocated)
	}
	return nil
}

// Bucket is a project proposed to a round: what it is, why, how much it
// asks and by when.
type Bucket struct {
	ID           int64
	IRI          string
	RoundID      int64
	RoundIRI     string
	AuthorIRI    string // the proposing coop
	Title        string
	What         string
	Why          string
	Asked        int64
	NeededBy     time.Time // zero when not given
	PaymentLinks []PaymentLink
	Allocated    int64
	// Votes are the funding motion's votes for the bucket (motion model).
	Votes        int64
	Funded       bool
	FundedAmount int64
	// Spent sums the spends recorded against the bucket.
	Spent   int64
	Created time.Time
	Updated time.Time
}

// Normalize trims the bucket's fields.
func (b *Bucket) Normalize() {
	b.Title, b.What, b.Why = strings.TrimSpace(b.Title), strings.TrimSpace(b.What), strings.TrimSpace(b.Why)
	for i := range b.PaymentLinks {
		b.PaymentLinks[i].Name = strings.TrimSpace(b.PaymentLinks[i].Name)
		b.PaymentLinks[i].Href = strings.TrimSpace(b.PaymentLinks[i].Href)
	}
}

// Validate checks a bucket against its round.
func (b *Bucket) Validate(r *BudgetRound) error {
	fields := map[string]string{}
	switch n := utf8.RuneCountInString(b.Title); {
	case n == 0:
		fields["title"] = "give the bucket a title"
	case n > MaxBucketTitle:
		fields["title"] = "at most 200 characters"
	}
	if utf8.RuneCountInString(b.What) > MaxBucketText {
		fields["what"] = "at most 2000 characters"
	}
	if utf8.RuneCountInString(b.Why) > MaxBucketText {
		fields["why"] = "at most 2000 characters"
	}
	switch {
	case b.Asked <= 0:
		fields["asked"] = "an amount above 0"
	case r != nil && b.Asked > r.Pot:
		fields["asked"] = "at most the round's pot, " + r.Amount(r.Pot)
	}
	if msg := validatePaymentLinks(b.PaymentLinks); msg != "" {
		fields["payment_links"] = msg
	}
	return FieldErrors(fields)
}

// Fundable reports whether the bucket's allocations reach its ask.
func (b *Bucket) Fundable() bool { return b.Allocated >= b.Asked }

// FundAllocated decides an allocate round: a bucket is funded, with what
// it asked, when its allocations reach its ask. It sets Funded and
// FundedAmount and returns the total funded.
func FundAllocated(buckets []*Bucket) int64 {
	var total int64
	for _, b := range buckets {
		b.Funded = b.Fundable()
		b.FundedAmount = 0
		if b.Funded {
			b.FundedAmount = b.Asked
			total += b.Asked
		}
	}
	return total
}

// FundByVotes decides a motion round: buckets in order of votes (most
// first; a tie goes to the bucket proposed first), each funded with what
// it asked when that still fits in the pot. A bucket too large for what
// is left is passed over and a smaller one after it may still be funded;
// a bucket without votes is never funded. It sets Funded and FundedAmount
// and returns the total funded.
func FundByVotes(pot int64, buckets []*Bucket) int64 {
	order := make([]*Bucket, len(buckets))
	copy(order, buckets)
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].Votes != order[j].Votes {
			return order[i].Votes > order[j].Votes
		}
		return order[i].ID < order[j].ID
	})
	left := pot
	for _, b := range order {
		b.Funded, b.FundedAmount = false, 0
		if b.Votes > 0 && b.Asked <= left {
			b.Funded, b.FundedAmount = true, b.Asked
			left -= b.Asked
		}
	}
	return pot - left
}

// Allocation is what one member gave to one bucket.
type Allocation struct {
	ID           int64
	RoundID      int64
	BucketID     int64
	BucketIRI    string
	BucketTitle  string
	AllocatorIRI string // the member, as their coop names them
	CoopIRI      string // the member's coop, which cast the allocation
	Amount       int64
	ActivityIRI  string // the remote allocation's id; "" when local
	Created      time.Time
}

// MemberIRI names a member of a coop in allocations: the coop's members
// collection followed by the username. Only the coop itself (whose actor
// IRI starts the name) may allocate for it.
func MemberIRI(coopIRI, username string) string { return coopIRI + "/members/" + username }

// MemberOf reports whether memberIRI names a member of coopIRI in the form
// of MemberIRI.
func MemberOf(memberIRI, coopIRI string) bool {
	name, ok := strings.CutPrefix(memberIRI, coopIRI+"/members/")
	return ok && ValidateUsername(name) == nil
}

// Spend is money paid out for a funded bucket, recorded with a reference.
type Spend struct {
	ID          int64
	RoundID     int64
	BucketID    int64
	BucketTitle string
	Amount      int64
	Reference   string // a link or number of the transfer or invoice
	Note        string
	Created     time.Time
}

// Validate checks a spend against its bucket.
func (s *Spend) Validate(b *Bucket) error {
	fields := map[string]string{}
	switch {
	case s.Amount <= 0:
		fields["amount"] = "an amount above 0"
	case s.Amount > b.FundedAmount-b.Spent:
		fields["amount"] = fmt.Sprintf("at most what the bucket was funded and has not spent, %d", b.FundedAmount-b.Spent)
	}
	if utf8.RuneCountInString(s.Reference) > 1000 {
		fields["reference"] = "at most 1000 characters"
	}
	if utf8.RuneCountInString(s.Note) > MaxSpendNote {
		fields["note"] = "at most 500 characters"
	}
	return FieldErrors(fields)
}

// Budget ledger entry kinds.
const (
	BudgetIncome     = "income"     // the pot put into a round
	BudgetAllocation = "allocation" // a member's allocation to a bucket
	BudgetFunded     = "funded"     // a bucket funded at the close
	BudgetReturned   = "returned"   // what went back from unfunded buckets
	BudgetSpend      = "spend"      // money paid out for a bucket
)

// BudgetEntry is one line of a round's transparent ledger.
type BudgetEntry struct {
	Date     time.Time
	RoundIRI string
	Round    string
	Kind     string
	Bucket   string // the bucket's title; "" for income
	Who      string // the allocator, or the proposing coop
	Amount   int64
	Currency string
	Decimals int
	// Reference is a spend's link or number.
	Reference string
}

// FormatAmount writes v minor units with decimals places: "12.50".
func FormatAmount(v int64, decimals int) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	if decimals <= 0 {
		return sign + strconv.FormatInt(v, 10)
	}
	scale := int64(1)
	for range decimals {
		scale *= 10
	}
	frac := strconv.FormatInt(v%scale+scale, 10)[1:]
	return sign + strconv.FormatInt(v/scale, 10) + "." + frac
}

// ParseAmount reads a decimal amount ("12.5", "12.50", "12") into minor
// units with decimals places; more places than that, a sign or anything
// but digits is refused.
func ParseAmount(s string, decimals int) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > decimals || strings.ContainsFunc(whole+frac, func(r rune) bool { return r < '0' || r > '9' }) {
		return 0, fmt.Errorf("not an amount with at most %d decimal places: %q", decimals, s)
	}
	frac += strings.Repeat("0", decimals-len(frac))
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || v > MaxPot {
		return 0, fmt.Errorf("amount too large: %q", s)
	}
	return v, nil
}
