package coopfed

import (
	"cmp"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of commons projects and pledges. Amounts are integers in the
// project's minor unit (Project.Digits decimal places of its currency).
const (
	MaxProjectTitle       = 200
	MaxProjectDescription = 5000
	MaxProjectDigits      = 6
	// MaxPledgeUnit and MaxPledgeCap bound what one pledger gives: with
	// them unit × others and the project's total stay far inside int64
	// for any crowd a coop can have.
	MaxPledgeUnit = 1_000_000_000
	MaxPledgeCap  = 1_000_000_000_000
)

// Project is a commons project a coop opens for crowdmatched pledges:
// each pledger gives Unit for every other pledger in the crowd, each
// month, up to their own monthly cap.
type Project struct {
	ID          int64
	CoopID      int64
	IRI         string
	Title       string
	Description string
	Currency    string // ISO 4217 code, "EUR"
	Digits      int    // decimal places of the minor unit: 3 makes Unit 1 worth 0.001
	Unit        int64  // given per other pledger a month, in minor units
	Created     time.Time
}

// Pledge is one pledger's promise to a project, up to Cap a month.
type Pledge struct {
	ID         int64
	ProjectIRI string
	// Pledger is the actor's IRI, or MemberPledger(id) for a member of
	// the project's coop.
	Pledger  string
	MemberID int64
	Name     string // how the pledger is shown
	Cap      int64  // monthly cap, in the project's minor units
	Activity string // the Join that made or last changed a remote pledge
	Created  time.Time
	Updated  time.Time
}

// MemberPledger is the pledger key of a local member.
func MemberPledger(memberID int64) string { return "member:" + strconv.FormatInt(memberID, 10) }

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// Validate checks a project before it is opened.
func (p *Project) Validate() error {
	fields := map[string]string{}
	if n := utf8.RuneCountInString(strings.TrimSpace(p.Title)); n == 0 || n > MaxProjectTitle {
		fields["title"] = "a title of 1 to 200 characters"
	}
	if utf8.RuneCountInString(p.Description) > MaxProjectDescription {
		fields["description"] = "at most 5000 characters"
	}
	if !currencyRE.MatchString(p.Currency) {
		fields["currency"] = "a currency code of three capital letters, such as EUR"
	}
	if p.Digits < 0 || p.Digits > MaxProjectDigits {
		fields["digits"] = "0 to 6 decimal places"
	}
	if p.Unit <= 0 || p.Unit > MaxPledgeUnit {
		fields["unit"] = "a whole number of minor units from 1 to 1000000000"
	}
	return FieldErrors(fields)
}

// ValidatePledgeCap checks a pledge's monthly cap.
func ValidatePledgeCap(cap int64) error {
	if cap <= 0 || cap > MaxPledgeCap {
		return FieldErrors(map[string]string{"monthly_cap": "a whole number of minor units from 1 to 1000000000000"})
	}
	return nil
}

// FormatMinor writes an amount of minor units with digits decimal places:
// 1234 with 3 digits is "1.234".
func FormatMinor(amount int64, digits int) string {
	neg := amount < 0
	if neg {
		amount = -amount
	}
	s := strconv.FormatInt(amount, 10)
	if digits > 0 {
		if len(s) <= digits {
			s = strings.Repeat("0", digits-len(s)+1) + s
		}
		s = s[:len(s)-digits] + "." + s[len(s)-digits:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// PledgeShare is what one pledge gives this month.
type PledgeShare struct {
	Pledge  *Pledge
	Monthly int64 // Unit × the other pledgers counted; 0 when capped
	Capped  bool  // the pledge's cap is below what the crowd asks of it
}

// Crowdmatch is a project's month under the crowdmatching rule.
type Crowdmatch struct {
	Pledgers int   // pledges counted (not capped)
	Capped   int   // pledges suspended by their cap
	Each     int64 // what each counted pledger gives: Unit × (Pledgers − 1)
	Total    int64 // the project's month: Pledgers × Each
	// Next is what one more pledger with room under their cap would add
	// to the month: their own share and one more Unit from everyone.
	Next   int64
	Shares []PledgeShare // in the order of the pledges given
}

// Match applies the crowdmatching rule to a project's pledges (oldest
// first): each pledger counted gives unit for every other pledger
// counted, and a pledge whose cap is below that is suspended, not
// counted and gives nothing.
//
// Why suspended rather than held at its cap: Snowdrift.coop's rule is
// that a pledge that reaches its limit is dropped from the crowd ("the
// system suspends a pledge when you hit your limit", community.snowdrift.coop
// /t/question-about-getting-cut-out-at-budget-limit/1110, and the budget
// limits of wiki.snowdrift.coop/about/mechanism): a pledger who stayed at
// a cap while the crowd grew would be counted as matching newcomers
// without matching them, which breaks the mutual assurance. The crowd
// counted is the largest set of pledges that can all give unit × (its
// size − 1): the pledges of highest cap, the older first among equal caps.
// Removing one pledge at a time from the whole crowd could suspend pledges
// the smaller crowd left would afford; the largest affordable crowd is
// the one the rule keeps stable.
func Match(unit int64, pledges []*Pledge) Crowdmatch {
	m := Crowdmatch{Shares: make([]PledgeShare, len(pledges))}
	if unit <= 0 {
		for i, p := range pledges {
			m.Shares[i] = PledgeShare{Pledge: p}
		}
		return m
	}
	// The pledges by cap, highest first, the older (given first) first
	// among equal caps.
	byCap := make([]rankedPledge, len(pledges))
	for i, p := range pledges {
		byCap[i] = rankedPledge{cap: p.Cap, idx: i}
	}
	slices.SortFunc(byCap, func(a, b rankedPledge) int {
		if c := cmp.Compare(b.cap, a.cap); c != 0 {
			return c
		}
		return cmp.Compare(a.idx, b.idx)
	})
	order := make([]int, len(pledges))
	for i, r := range byCap {
		order[i] = r.idx
	}
	// A crowd of k pledges of highest cap can all give unit × (k − 1)
	// when the k-th highest cap allows it; if k can, so can any smaller
	// crowd, so k is the last position that can. The division keeps
	// unit × (k − 1) from overflowing.
	k := 0
	for i, idx := range order {
		if int64(i) <= pledges[idx].Cap/unit {
			k = i + 1
		} else {
			break
		}
	}
	m.Pledgers = k
	m.Capped = len(pledges) - k
	if k > 0 {
		m.Each = unit * int64(k-1)
	}
	m.Total = m.Each * int64(k)
	for rank, idx := range order {
		s := PledgeShare{Pledge: pledges[idx], Capped: rank >= k}
		if !s.Capped {
			s.Monthly = m.Each
		}
		m.Shares[idx] = s
	}
	m.Next = nextMatch(unit, pledges, order, k, m.Total)
	return m
}

// rankedPledge is a pledge's cap and its place in the pledges given.
type rankedPledge struct {
	cap int64
	idx int
}

// nextMatch is how much a newcomer with room under their cap adds: the
// month of the crowd with them minus the month without.
func nextMatch(unit int64, pledges []*Pledge, order []int, k int, total int64) int64 {
	// The newcomer sits first (no cap); the crowd with them is the
	// largest k' such that the k'-th highest cap allows unit × (k' − 1).
	n := 1
	for i, idx := range order {
		if int64(i+1) <= pledges[idx].Cap/unit {
			n = i + 2
		} else {
			break
		}
	}
	return unit*int64(n-1)*int64(n) - total
}

// ParseMinor reads an amount written with at most digits decimal places
// ("0.5", "12") as minor units. Signs, exponents and more decimals than
// the currency has are refused.
func ParseMinor(s string, digits int) (int64, error) {
	bad := FieldErrors(map[string]string{"monthly_cap": "an amount such as 1.50, with at most " + strconv.Itoa(digits) + " decimals"})
	s = strings.TrimSpace(s)
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" && frac == "" || len(frac) > digits || dot && frac == "" || len(whole) > 13 {
		return 0, bad
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, bad
		}
	}
	frac += strings.Repeat("0", digits-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, bad
	}
	return n, nil
}
