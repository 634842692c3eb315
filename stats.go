package coopfed

import (
	"sort"
	"time"
)

// Statistics are an instance's or a group's open figures: aggregates
// only, nothing about one member, vote or trade.
type Statistics struct {
	// Coops is how many coops the figures cover (an instance's coops, a
	// group's members); ActiveCoops those that published in the last
	// ActiveDays days.
	Coops       int64
	ActiveCoops int64
	// Open are the open offers and needs by kind and category.
	Open []CategoryCount
	// Months are the last months, oldest first, with trades agreed and
	// fulfilled, motions held and their turnout (instances), or listings
	// relayed (groups).
	Months []MonthFigures
	// Volume is the quantity traded (agreed or fulfilled) by unit.
	Volume []UnitVolume
}

// ActiveDays is how recent a coop's last publication must be for it to
// count as active.
const ActiveDays = 30

// CategoryCount is how many open listings of a kind one category has.
type CategoryCount struct {
	Kind     string
	Category string
	Count    int64
}

// MonthFigures are one month's figures.
type MonthFigures struct {
	Month     string // YYYY-MM
	Agreed    int64  // trades accepted
	Fulfilled int64  // trades both sides confirmed
	Motions   int64  // motions closed
	// Turnout is the mean share of eligible members who voted in the
	// month's motions (0 when none was held).
	Turnout float64
	Relayed int64 // listings a group relayed
}

// UnitVolume is the quantity traded in one unit.
type UnitVolume struct {
	Unit     string
	Quantity float64
	Trades   int64
}

// LastMonths returns the n months up to and including now's, oldest
// first, as YYYY-MM.
func LastMonths(now time.Time, n int) []string {
	now = now.UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	out := make([]string, n)
	for i := range n {
		out[n-1-i] = first.AddDate(0, -i, 0).Format("2006-01")
	}
	return out
}

// OpenTotals sums open listings by kind.
func (s *Statistics) OpenTotals() (offers, needs int64) {
	for _, c := range s.Open {
		if c.Kind == ListingOffer {
			offers += c.Count
		} else {
			needs += c.Count
		}
	}
	return offers, needs
}

// SortCategories orders category counts by count, largest first, then by
// kind and name, so figures read the same every time.
func SortCategories(list []CategoryCount) {
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Category < b.Category
	})
}
