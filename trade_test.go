package coopfed

import (
	"math"
	"testing"
)

func TestCheckTradeQuantity(t *testing.T) {
	byUnit := &Listing{Kind: ListingOffer, Quantity: Quantity{Value: 1, Unit: "one"}, Available: &Quantity{Value: 10, Unit: "one"}, UnitBased: true}
	byMin := &Listing{Kind: ListingOffer, Quantity: Quantity{Value: 1, Unit: "kilogram"}, Minimum: &Quantity{Value: 2.5, Unit: "kilogram"}, Available: &Quantity{Value: 20, Unit: "kilogram"}, UnitBased: true}
	whole := &Listing{Kind: ListingOffer, Quantity: Quantity{Value: 30, Unit: "kilogram"}}
	cases := []struct {
		name string
		l    *Listing
		q    Quantity
		code string // "" for allowed
	}{
		{"one unit", byUnit, Quantity{1, "one"}, ""},
		{"all available", byUnit, Quantity{10, "one"}, ""},
		{"more than available", byUnit, Quantity{11, "one"}, ECONFLICT},
		{"fraction of a unit", byUnit, Quantity{1.5, "one"}, EINVALID},
		{"other unit", byUnit, Quantity{1, "kilogram"}, EINVALID},
		{"zero", byUnit, Quantity{0, "one"}, EINVALID},
		{"negative", byUnit, Quantity{-1, "one"}, EINVALID},
		{"NaN", byUnit, Quantity{math.NaN(), "one"}, EINVALID},
		{"infinite", byUnit, Quantity{math.Inf(1), "one"}, EINVALID},
		{"no unit", byUnit, Quantity{1, ""}, EINVALID},
		{"multiple of minimum", byMin, Quantity{7.5, "kilogram"}, ""},
		{"below minimum", byMin, Quantity{1, "kilogram"}, EINVALID},
		{"not a multiple of minimum", byMin, Quantity{4, "kilogram"}, EINVALID},
		{"whole lot", whole, Quantity{30, "kilogram"}, ""},
		{"part of a whole lot", whole, Quantity{10, "kilogram"}, EINVALID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckTradeQuantity(c.l, c.q)
			if got := ErrorCode(err); (c.code == "" && err != nil) || (c.code != "" && got != c.code) {
				t.Fatalf("CheckTradeQuantity(%v) = %v, want code %q", c.q, err, c.code)
			}
		})
	}
}

func TestCredits(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		out  string
		bad  bool
	}{
		{"50", 500000, "50", false},
		{"12.5", 125000, "12.5", false},
		{"0.0001", 1, "0.0001", false},
		{"1.20", 12000, "1.2", false},
		{"-5", 0, "", true},
		{"1e3", 0, "", true},
		{"1.23456", 0, "", true},
	}
	for _, c := range cases {
		v, err := ParseCredits(c.in)
		if (err != nil) != c.bad || v != c.want {
			t.Errorf("ParseCredits(%q) = %d, %v", c.in, v, err)
		}
		if !c.bad && FormatCredits(v) != c.out {
			t.Errorf("FormatCredits(%d) = %q, want %q", v, FormatCredits(v), c.out)
		}
	}
	if got := FormatCredits(-125000); got != "-12.5" {
		t.Errorf("FormatCredits(-125000) = %q", got)
	}
}

func TestLedgerAndBalances(t *testing.T) {
	mill, bakery := "https://a.example/coops/mill", "https://b.example/coops/bakery"
	cases := []struct {
		name       string
		kind       string
		rec        *Reciprocal
		millCredit int64
	}{
		{"offer paid in credits", ListingOffer, &Reciprocal{Kind: ReciprocalCredits, Price: Price{Amount: "30"}}, 300000},
		{"need paid in credits", ListingNeed, &Reciprocal{Kind: ReciprocalCredits, Price: Price{Amount: "30"}}, -300000},
		{"offer paid in money", ListingOffer, &Reciprocal{Kind: ReciprocalPrice, Price: Price{Amount: "30", Currency: "EUR"}}, 0},
		{"gift", ListingOffer, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := &Trade{IRI: "https://b.example/activities/1", ListingKind: c.kind, OwnerIRI: mill, ProposerIRI: bakery,
				Quantity: Quantity{2, "kilogram"}, Reciprocal: c.rec, State: TradeAccepted}
			m := LedgerEntryFor(tr, 1, mill, tr.Created)
			b := LedgerEntryFor(tr, 2, bakery, tr.Created)
			if m.Credits != c.millCredit || m.Credits+b.Credits != 0 {
				t.Fatalf("mill %d bakery %d, want mill %d and a zero sum", m.Credits, b.Credits, c.millCredit)
			}
			if m.Counterpart != bakery || b.Counterpart != mill || m.Direction == b.Direction {
				t.Fatalf("entries %+v %+v", m, b)
			}
			if got := Balances([]LedgerEntry{m, m})[bakery]; got != 2*c.millCredit {
				t.Fatalf("balance %d", got)
			}
		})
	}
}

func TestCheckCreditLimit(t *testing.T) {
	cases := []struct {
		balance, change, limit int64
		ok                     bool
	}{
		{0, 100, 100, true},
		{0, 101, 100, false},
		{-50, -50, 100, true},
		{-50, -51, 100, false},
		{90, -190, 100, true},
	}
	for _, c := range cases {
		if err := CheckCreditLimit(c.balance, c.change, c.limit); (err == nil) != c.ok {
			t.Errorf("CheckCreditLimit(%d, %d, %d) = %v", c.balance, c.change, c.limit, err)
		}
	}
}
