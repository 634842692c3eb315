package federation

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
)

var budgetGoldenFiles = []string{"budget-round-create.json", "budget-bucket-create.json", "budget-bucket-update.json",
	"budget-allocation-create.json", "budget-round-closed-update.json", "budget-motion-round-note.json"}

// budgetGoldenDocuments builds the documents of a round of the golden
// coop: 300.00 EUR between three allocators, a bucket of a remote
// dairy, an allocation the golden coop casts for its member in the
// dairy's round, and the close with the allocations public.
func budgetGoldenDocuments(t testing.TB) map[string][]byte {
	t.Helper()
	e := newGoldenEnv(t)
	f, c := e.f, e.coop
	e.tick(time.Hour)
	self := f.iris.Coop(c.Name)
	dairy := "https://dairy.example/coops/dairy"
	r := &coopfed.BudgetRound{ID: 1, IRI: f.iris.Round(e.newID()), CoopID: c.ID, OwnerIRI: self, Title: "Winter fund",
		Description: "What we share this winter.", Pot: 30000, Currency: "EUR", Decimals: 2, Model: coopfed.BudgetAllocate,
		AllocatorCoops: []coopfed.AllocatorCoop{{Coop: self, Members: 2}, {Coop: dairy, Members: 1}}, Allocators: 3, Share: 10000,
		ClosesAt: e.clock().Add(7 * 24 * time.Hour), State: coopfed.RoundOpen, Created: e.clock()}
	r.EligibleCoops = []string{dairy}
	docs := map[string][]byte{}
	put := func(name string, v map[string]any) {
		t.Helper()
		b, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		docs[name] = b
	}
	note := f.roundNote(r, nil, nil, nil)
	create := f.wrap("Create", f.iris.Activity(e.newID()), self, note, []string{PublicIRI}, note["cc"].([]string), e.clock())
	create["@context"] = budgetContext
	put("budget-round-create.json", create)

	// The dairy's bucket as it proposes it (here built by our own code).
	e.tick(time.Hour)
	b := &coopfed.Bucket{ID: 1, IRI: "https://dairy.example/buckets/01oven", RoundID: r.ID, RoundIRI: r.IRI, AuthorIRI: dairy,
		Title: "Oven repair", What: "A new door seal and thermostat.", Why: "The oven loses heat; bread comes out pale.", Asked: 15000,
		NeededBy: e.clock().Add(30 * 24 * time.Hour), PaymentLinks: []coopfed.PaymentLink{{Name: "Bank transfer", Href: "payto://iban/DE75512108001245126199"}},
		Created: e.clock()}
	page := f.bucketPage(r, b, false)
	put("budget-bucket-create.json", wrapBudget(f, "Create", "https://dairy.example/activities/01create", dairy, page, e.clock()))
	e.tick(time.Minute)
	b.Asked, b.Updated = 14000, e.clock()
	page = f.bucketPage(r, b, true)
	put("budget-bucket-update.json", wrapBudget(f, "Update", "https://dairy.example/activities/01update", dairy, page, e.clock()))

	// An allocation the golden coop casts for its member ana in a round
	// of the dairy.
	theirs := &coopfed.BudgetRound{IRI: "https://dairy.example/budgets/01spring", OwnerIRI: dairy, Currency: "EUR", Decimals: 2}
	a := &coopfed.Allocation{BucketIRI: "https://dairy.example/buckets/01churn", AllocatorIRI: coopfed.MemberIRI(self, "ana"), CoopIRI: self,
		Amount: 2500, ActivityIRI: f.iris.Allocation(e.newID()), Created: e.clock()}
	put("budget-allocation-create.json", f.allocationDoc(c, theirs, a))

	// The close: the bucket funded by two members of the coop.
	e.tick(8 * 24 * time.Hour)
	b.Allocated, b.Funded, b.FundedAmount = 14000, true, 14000
	r.State, r.ClosedAt = coopfed.RoundClosed, e.clock()
	allocations := []*coopfed.Allocation{
		{BucketID: b.ID, AllocatorIRI: coopfed.MemberIRI(self, "ana"), CoopIRI: self, Amount: 10000},
		{BucketID: b.ID, AllocatorIRI: coopfed.MemberIRI(self, "bo"), CoopIRI: self, Amount: 4000},
	}
	now := e.clock()
	note = f.roundNote(r, []*coopfed.Bucket{b}, allocations, &now)
	update := f.wrap("Update", f.iris.Activity(e.newID()), self, note, []string{PublicIRI}, note["cc"].([]string), now)
	update["@context"] = budgetContext
	put("budget-round-closed-update.json", update)

	// A motion round while its funding motion is open.
	m := &coopfed.BudgetRound{IRI: f.iris.Round(e.newID()), OwnerIRI: self, Title: "Tools fund", Pot: 500000, Currency: coopfed.CreditCurrency,
		Decimals: 4, Model: coopfed.BudgetMotion, AllocatorCoops: []coopfed.AllocatorCoop{{Coop: self, Members: 2}}, Allocators: 2,
		ClosesAt: e.clock(), VotingClosesAt: e.clock().Add(72 * time.Hour), State: coopfed.RoundVoting, MotionIRI: f.iris.Motion(e.newID()),
		Created: e.clock().Add(-24 * time.Hour)}
	put("budget-motion-round-note.json", withContext(f.roundNote(m, []*coopfed.Bucket{b}, nil, nil), budgetContext))
	return docs
}

func wrapBudget(f *Federation, typ, id, actor string, page map[string]any, at time.Time) map[string]any {
	act := f.wrap(typ, id, actor, page, []string{PublicIRI}, page["cc"].([]string), at)
	act["@context"] = budgetContext
	return act
}

// TestBudgetGolden compares the budget documents with their golden files
// (run with -update to rewrite them after an intended change), and reads
// them back with the decoder incoming rounds, buckets and allocations
// use.
func TestBudgetGolden(t *testing.T) {
	docs := budgetGoldenDocuments(t)
	e := newGoldenEnv(t)
	compareGoldenSet(t, docs, budgetGoldenFiles...)
	var act struct{ Object budgetJSON }
	if err := json.Unmarshal(docs["budget-round-closed-update.json"], &act); err != nil {
		t.Fatal(err)
	}
	o := act.Object
	if pot, _ := o.Pot.Int64(); pot != 30000 || o.Share != 10000 || o.RoundState != coopfed.RoundClosed || len(o.Buckets) != 1 ||
		!o.Buckets[0].Funded || o.Buckets[0].FundedAmount != 14000 || len(o.Buckets[0].Allocations) != 2 ||
		len(paymentLinksOf(o.Buckets[0].Attachment)) != 1 {
		t.Errorf("the closed round reads back as %+v", o)
	}
	json.Unmarshal(docs["budget-allocation-create.json"], &act)
	if act.Object.Amount != 2500 || act.Object.Target == "" || !coopfed.MemberOf(act.Object.Allocator, e.f.iris.Coop(e.coop.Name)) {
		t.Errorf("the allocation reads back as %+v", act.Object)
	}
}

// BenchmarkRoundClosedDocument builds and serialises the Update of a
// closed round with 50 buckets and 2000 allocations (200 members giving to
// 10 buckets each), and reports its size against the 1 MiB inbox limit.
//
//	go test -tags sqlite_fts5 -run '^$' -bench RoundClosedDocument ./federation
func BenchmarkRoundClosedDocument(b *testing.B) {
	e := newGoldenEnv(b)
	self := e.f.iris.Coop(e.coop.Name)
	r := &coopfed.BudgetRound{IRI: e.f.iris.Round("bench"), OwnerIRI: self, Title: "Fund", Pot: 5000000, Currency: "EUR", Decimals: 2,
		Model: coopfed.BudgetAllocate, AllocatorCoops: []coopfed.AllocatorCoop{{Coop: self, Members: 200}}, Allocators: 200, Share: 25000,
		ClosesAt: e.clock(), State: coopfed.RoundClosed, ClosedAt: e.clock(), Created: e.clock()}
	var buckets []*coopfed.Bucket
	var allocations []*coopfed.Allocation
	for i := range 50 {
		buckets = append(buckets, &coopfed.Bucket{ID: int64(i + 1), IRI: e.f.iris.Bucket("b" + strconv.Itoa(i)), AuthorIRI: self, Title: "Bucket " + strconv.Itoa(i),
			What: strings.Repeat("what ", 40), Why: strings.Repeat("why ", 40), Asked: 100000, Allocated: 100000, Funded: true, FundedAmount: 100000})
	}
	for m := range 200 {
		for k := range 10 {
			allocations = append(allocations, &coopfed.Allocation{BucketID: int64((m+k)%50 + 1), AllocatorIRI: coopfed.MemberIRI(self, "member"+strconv.Itoa(m)),
				CoopIRI: self, Amount: 2500})
		}
	}
	now := e.clock()
	var size int
	b.ResetTimer()
	for range b.N {
		body, err := Marshal(withContext(e.f.roundNote(r, buckets, allocations, &now), budgetContext))
		if err != nil {
			b.Fatal(err)
		}
		size = len(body)
	}
	b.ReportMetric(float64(size), "bytes/doc")
}
