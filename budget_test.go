package coopfed

import (
	"strings"
	"testing"
	"time"
)

// Shares are whole minor units rounded down; the remainder (fewer units
// than allocators) goes to no one and stays in the pot.
func TestEqualShare(t *testing.T) {
	tests := []struct {
		pot, allocators, share, remainder int64
	}{
		{50000, 5, 10000, 0}, // 500.00 between 5: 100.00 each
		{10000, 3, 3333, 1},  // 100.00 between 3: 33.33 each, 0.01 left
		{100, 7, 14, 2},      // 1.00 between 7: 0.14 each, 0.02 left
		{5, 7, 0, 5},         // fewer units than allocators: nobody gets any
		{1, 1, 1, 0},         // one allocator takes the whole pot
		{1 << 50, 3, 375299968947541, 1},
		{50000, 0, 0, 50000}, // nobody to allocate: the pot stays whole
		{0, 4, 0, 0},
		{-10, 4, 0, 0},
	}
	for _, tt := range tests {
		share, rem := EqualShare(tt.pot, tt.allocators)
		if share != tt.share || rem != tt.remainder {
			t.Errorf("EqualShare(%d, %d) = %d, %d; want %d, %d", tt.pot, tt.allocators, share, rem, tt.share, tt.remainder)
		}
		if tt.allocators > 0 && tt.pot > 0 && share*tt.allocators+rem != tt.pot {
			t.Errorf("EqualShare(%d, %d): shares and remainder do not sum to the pot", tt.pot, tt.allocators)
		}
	}
}

// An allocation is refused past the member's share, counting what they
// gave before, and past what the bucket still needs.
func TestCheckAllocation(t *testing.T) {
	tests := []struct {
		name                                   string
		share, spent, amount, asked, allocated int64
		want                                   string // "" for allowed
	}{
		{"within the share", 10000, 0, 2500, 12000, 0, ""},
		{"the whole share", 10000, 0, 10000, 12000, 0, ""},
		{"the rest of the share", 10000, 7500, 2500, 12000, 0, ""},
		{"above the share", 10000, 0, 10001, 12000, 0, "above the share of 10000 (10000 left)"},
		{"the sum of several above the share", 10000, 7500, 2501, 12000, 0, "would bring the member's total to 10001"},
		{"share spent", 10000, 10000, 1, 12000, 0, "(0 left)"},
		{"exactly what the bucket needs", 10000, 0, 2000, 12000, 10000, ""},
		{"more than the bucket needs", 10000, 0, 2001, 12000, 10000, "the bucket needs only 2000 more"},
		{"a full bucket", 10000, 0, 1, 12000, 12000, "needs only 0 more"},
		{"zero", 10000, 0, 0, 12000, 0, "an amount above 0"},
		{"negative", 10000, 0, -5, 12000, 0, "an amount above 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAllocation(tt.share, tt.spent, tt.amount, tt.asked, tt.allocated)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("allowed, want %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error()+ErrorMessage(err)+fieldText(err), tt.want):
				t.Fatalf("error %q (%v), want %q", ErrorMessage(err), fieldText(err), tt.want)
			}
		})
	}
}

func fieldText(err error) string {
	var b strings.Builder
	if e, ok := err.(*Error); ok {
		for k, v := range e.Fields {
			b.WriteString(k + ": " + v + "; ")
		}
	}
	return b.String()
}

// An allocate round funds each bucket whose allocations reach its ask,
// with what it asked.
func TestFundAllocated(t *testing.T) {
	buckets := []*Bucket{
		{ID: 1, Asked: 12000, Allocated: 12000},
		{ID: 2, Asked: 8000, Allocated: 7999},
		{ID: 3, Asked: 5000, Allocated: 0},
		{ID: 4, Asked: 100, Allocated: 100},
	}
	total := FundAllocated(buckets)
	if total != 12100 {
		t.Errorf("total funded = %d, want 12100", total)
	}
	want := []int64{12000, 0, 0, 100}
	for i, b := range buckets {
		if b.FundedAmount != want[i] || b.Funded != (want[i] > 0) {
			t.Errorf("bucket %d: funded %v with %d, want %d", b.ID, b.Funded, b.FundedAmount, want[i])
		}
	}
}

// A motion round funds buckets in order of votes while the pot lasts; a
// bucket too large for what is left is passed over, a tie goes to the
// bucket proposed first, and a bucket without votes is not funded.
func TestFundByVotes(t *testing.T) {
	tests := []struct {
		name   string
		pot    int64
		votes  []int64 // per bucket, in order proposed
		asked  []int64
		funded []bool
		total  int64
	}{
		{"all fit", 30000, []int64{3, 2, 1}, []int64{10000, 10000, 10000}, []bool{true, true, true}, 30000},
		{"the pot runs out", 25000, []int64{3, 2, 1}, []int64{10000, 10000, 10000}, []bool{true, true, false}, 20000},
		{"a large one passed over", 25000, []int64{3, 2, 1}, []int64{10000, 20000, 5000}, []bool{true, false, true}, 15000},
		{"order of votes, not of proposal", 10000, []int64{1, 5}, []int64{10000, 10000}, []bool{false, true}, 10000},
		{"a tie goes to the first proposed", 10000, []int64{2, 2}, []int64{10000, 10000}, []bool{true, false}, 10000},
		{"no votes, no funds", 50000, []int64{0, 1}, []int64{100, 100}, []bool{false, true}, 100},
		{"nothing fits", 50, []int64{4}, []int64{100}, []bool{false}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buckets []*Bucket
			for i := range tt.votes {
				buckets = append(buckets, &Bucket{ID: int64(i + 1), Votes: tt.votes[i], Asked: tt.asked[i]})
			}
			if total := FundByVotes(tt.pot, buckets); total != tt.total {
				t.Errorf("total = %d, want %d", total, tt.total)
			}
			for i, b := range buckets {
				if b.Funded != tt.funded[i] || (b.Funded && b.FundedAmount != b.Asked) || (!b.Funded && b.FundedAmount != 0) {
					t.Errorf("bucket %d: funded %v with %d, want %v", b.ID, b.Funded, b.FundedAmount, tt.funded[i])
				}
			}
		})
	}
}

func TestAmounts(t *testing.T) {
	tests := []struct {
		in       string
		decimals int
		minor    int64
		out      string
		bad      bool
	}{
		{"12.50", 2, 1250, "12.50", false},
		{"12.5", 2, 1250, "12.50", false},
		{"12", 2, 1200, "12.00", false},
		{"0.01", 2, 1, "0.01", false},
		{"7", 0, 7, "7", false},
		{"2.5", 4, 25000, "2.5000", false},
		{"12.505", 2, 0, "", true},
		{"-3", 2, 0, "", true},
		{"1e3", 2, 0, "", true},
		{"", 2, 0, "", true},
		{".5", 2, 0, "", true},
		{"99999999999999999999", 2, 0, "", true},
	}
	for _, tt := range tests {
		v, err := ParseAmount(tt.in, tt.decimals)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseAmount(%q) = %d, want an error", tt.in, v)
			}
			continue
		}
		if err != nil || v != tt.minor {
			t.Errorf("ParseAmount(%q, %d) = %d, %v; want %d", tt.in, tt.decimals, v, err, tt.minor)
		}
		if got := FormatAmount(v, tt.decimals); got != tt.out {
			t.Errorf("FormatAmount(%d, %d) = %q, want %q", v, tt.decimals, got, tt.out)
		}
	}
	if got := FormatAmount(-1250, 2); got != "-12.50" {
		t.Errorf("FormatAmount(-1250) = %q", got)
	}
}

func TestRoundValidate(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ok := func() *BudgetRound {
		return &BudgetRound{Title: "Winter fund", Pot: 50000, Currency: "EUR", Model: BudgetAllocate, ClosesAt: now.Add(24 * time.Hour)}
	}
	tests := []struct {
		name  string
		edit  func(r *BudgetRound)
		field string
	}{
		{"valid", func(r *BudgetRound) {}, ""},
		{"no title", func(r *BudgetRound) { r.Title = "" }, "title"},
		{"no pot", func(r *BudgetRound) { r.Pot = 0 }, "pot"},
		{"bad currency", func(r *BudgetRound) { r.Currency = "euro" }, "currency"},
		{"credits", func(r *BudgetRound) { r.Currency = CreditCurrency }, ""},
		{"deadline past", func(r *BudgetRound) { r.ClosesAt = now }, "closes_at"},
		{"unknown model", func(r *BudgetRound) { r.Model = "lottery" }, "model"},
		{"motion without a vote", func(r *BudgetRound) { r.Model = BudgetMotion }, "voting_closes_at"},
		{"motion", func(r *BudgetRound) { r.Model, r.VotingClosesAt = BudgetMotion, now.Add(48*time.Hour) }, ""},
		{"eligible coop not an IRI", func(r *BudgetRound) { r.EligibleCoops = []string{"bakery"} }, "eligible_coops"},
	}
	for _, tt := range tests {
		r := ok()
		tt.edit(r)
		err := r.Validate(now)
		e, _ := err.(*Error)
		switch {
		case tt.field == "" && err != nil:
			t.Errorf("%s: %v", tt.name, fieldText(err))
		case tt.field != "" && (e == nil || e.Fields[tt.field] == ""):
			t.Errorf("%s: want an error on %s, got %v", tt.name, tt.field, err)
		}
	}
}

func TestMemberOf(t *testing.T) {
	coop := "https://a.example/coops/mill"
	tests := []struct {
		iri  string
		want bool
	}{
		{MemberIRI(coop, "bo"), true},
		{"https://a.example/coops/mill/members/bo/x", false},
		{"https://a.example/coops/millers/members/bo", false},
		{"https://b.example/coops/mill/members/bo", false},
		{coop + "/members/", false},
	}
	for _, tt := range tests {
		if got := MemberOf(tt.iri, coop); got != tt.want {
			t.Errorf("MemberOf(%q) = %v, want %v", tt.iri, got, tt.want)
		}
	}
}
