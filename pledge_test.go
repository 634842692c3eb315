package coopfed

import (
	"slices"
	"testing"
)

func TestMatch(t *testing.T) {
	pl := func(caps ...int64) []*Pledge {
		out := make([]*Pledge, len(caps))
		for i, c := range caps {
			out[i] = &Pledge{ID: int64(i + 1), Cap: c}
		}
		return out
	}
	cases := []struct {
		name     string
		unit     int64
		pledges  []*Pledge
		pledgers int
		each     int64
		total    int64
		next     int64
		capped   []bool // per pledge, in the order given
	}{
		{"nobody", 1, nil, 0, 0, 0, 0, nil},
		{"one alone gives nothing", 1, pl(100), 1, 0, 0, 2, []bool{false}},
		{"three match each other", 1, pl(1000, 1000, 1000), 3, 2, 6, 6, []bool{false, false, false}},
		{"a cap exactly reached still counts", 10, pl(20, 20, 20), 3, 20, 60, 0, []bool{false, false, false}},
		{"equal caps: the older stay", 1, pl(1, 1, 1), 2, 1, 2, 0, []bool{false, false, true}},
		{"a low cap is suspended, not held at its cap", 5, pl(9, 100, 4), 2, 5, 10, 0, []bool{false, false, true}},
		{"the largest crowd that can afford it, not all dropped at once", 1, pl(1, 3, 1, 3, 3, 1, 3), 4, 3, 12, 0,
			[]bool{true, false, true, false, false, true, false}},
		{"a newcomer adds their share and one unit from everyone", 2, pl(50, 50), 2, 2, 4, 8, []bool{false, false}},
		{"the biggest amounts stay exact", MaxPledgeUnit, pl(MaxPledgeCap, MaxPledgeCap), 2, MaxPledgeUnit, 2 * MaxPledgeUnit, 4 * MaxPledgeUnit, []bool{false, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := Match(tc.unit, tc.pledges)
			if m.Pledgers != tc.pledgers || m.Each != tc.each || m.Total != tc.total || m.Next != tc.next {
				t.Fatalf("got pledgers %d each %d total %d next %d, want %d %d %d %d", m.Pledgers, m.Each, m.Total, m.Next,
					tc.pledgers, tc.each, tc.total, tc.next)
			}
			var capped []bool
			var sum int64
			for i, s := range m.Shares {
				if s.Pledge != tc.pledges[i] {
					t.Fatalf("share %d is of another pledge", i)
				}
				capped = append(capped, s.Capped)
				sum += s.Monthly
				if s.Monthly > s.Pledge.Cap {
					t.Fatalf("share %d gives %d above its cap %d", i, s.Monthly, s.Pledge.Cap)
				}
			}
			if !slices.Equal(capped, tc.capped) {
				t.Fatalf("capped %v, want %v", capped, tc.capped)
			}
			if sum != m.Total || m.Capped != len(tc.pledges)-tc.pledgers {
				t.Fatalf("shares sum to %d, total %d; capped %d", sum, m.Total, m.Capped)
			}
		})
	}
}

func TestFormatMinor(t *testing.T) {
	for _, tc := range []struct {
		amount int64
		digits int
		want   string
	}{{0, 3, "0.000"}, {1, 3, "0.001"}, {1234, 3, "1.234"}, {1234, 0, "1234"}, {5, 2, "0.05"}, {-150, 2, "-1.50"}} {
		if got := FormatMinor(tc.amount, tc.digits); got != tc.want {
			t.Errorf("FormatMinor(%d, %d) = %q, want %q", tc.amount, tc.digits, got, tc.want)
		}
	}
}

func TestValidatePledge(t *testing.T) {
	for _, tc := range []struct {
		cap int64
		ok  bool
	}{{1, true}, {MaxPledgeCap, true}, {0, false}, {-5, false}, {MaxPledgeCap + 1, false}} {
		if err := ValidatePledgeCap(tc.cap); (err == nil) != tc.ok {
			t.Errorf("cap %d: %v", tc.cap, err)
		}
	}
	good := Project{Title: "Shared oven", Currency: "EUR", Digits: 3, Unit: 1}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]Project{
		"no title": {Currency: "EUR", Digits: 3, Unit: 1}, "lower-case currency": {Title: "x", Currency: "eur", Unit: 1},
		"zero unit": {Title: "x", Currency: "EUR"}, "negative unit": {Title: "x", Currency: "EUR", Unit: -1},
		"seven digits": {Title: "x", Currency: "EUR", Digits: 7, Unit: 1},
	} {
		if p.Validate() == nil {
			t.Errorf("%s: valid", name)
		}
	}
}

func TestParseMinor(t *testing.T) {
	for _, tc := range []struct {
		s      string
		digits int
		want   int64
		ok     bool
	}{{"0.5", 3, 500, true}, {"12", 2, 1200, true}, {".25", 2, 25, true}, {"1.234", 3, 1234, true},
		{"1.2345", 3, 0, false}, {"-1", 2, 0, false}, {"1e3", 2, 0, false}, {"", 2, 0, false}, {"1.", 2, 0, false}, {"+1", 2, 0, false}} {
		got, err := ParseMinor(tc.s, tc.digits)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseMinor(%q, %d) = %d, %v", tc.s, tc.digits, got, err)
		}
	}
}

// BenchmarkMatch applies the rule to a crowd of 10,000 pledges of mixed
// caps, as a project page or document does on each request.
func BenchmarkMatch(b *testing.B) {
	pledges := make([]*Pledge, 10000)
	for i := range pledges {
		pledges[i] = &Pledge{ID: int64(i + 1), Cap: int64(1000 + (i*7919)%20000)}
	}
	b.ReportAllocs()
	for b.Loop() {
		Match(1, pledges)
	}
}
