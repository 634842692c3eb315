package fedtest_test

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/fedtest"
)

// roundView is a round as the budget API shows it.
type roundView struct {
	ID             int64
	IRI            string
	State          string
	Allocators     int64
	ShareMinor     int64 `json:"share_minor"`
	RemainderMinor int64 `json:"remainder_minor"`
	FundedMinor    int64 `json:"funded_minor"`
	Buckets        []bucketView
}

type bucketView struct {
	ID             int64
	IRI, Title     string
	Coop           string
	AskedMinor     int64 `json:"asked_minor"`
	AllocatedMinor int64 `json:"allocated_minor"`
	Funded         bool
	FundedMinor    int64                 `json:"funded_minor"`
	PaymentLinks   []coopfed.PaymentLink `json:"payment_links"`
}

// roundOn returns the round as inst knows it, or false while unknown.
func roundOn(t *testing.T, inst *fedtest.Instance, iri string) (roundView, bool) {
	t.Helper()
	var r roundView
	st := fedtest.GetJSON(t, inst.URL+"/api/v1/budgets?iri="+iri, &r)
	return r, st == http.StatusOK
}

func (r roundView) bucket(title string) bucketView {
	for _, b := range r.Buckets {
		if b.Title == title {
			return b
		}
	}
	return bucketView{}
}

// funded sums up a round as "title=funded/allocated" lines, which every
// instance must show alike.
func (r roundView) funded() string {
	var lines []string
	for _, b := range r.Buckets {
		lines = append(lines, fmt.Sprintf("%s=%v:%d/%d", b.Title, b.Funded, b.FundedMinor, b.AllocatedMinor))
	}
	sort.Strings(lines)
	return r.State + " " + strings.Join(lines, " ")
}

// apiCall is an API call that returns its status and error text.
func apiCall(t *testing.T, inst *fedtest.Instance, method, path string, body any) (int, string) {
	t.Helper()
	var e struct {
		Error  string
		Fields map[string]string
	}
	st := inst.API(t, method, path, body, &e)
	return st, fmt.Sprint(e.Error, e.Fields)
}

// The budget journey on three instances: the mill (A) opens a round
// whose allocators are its two members, the bakery's (B) one member and
// a third coop's one; the bakery and the dairy (C) propose buckets; members
// of A allocate on A and the member of B through B, which vouches for
// them; at the deadline (a clock shared by the three, moved forward) the
// round closes and A, B and C show the same funded buckets and amounts,
// and who allocated. Each hostile request is refused with its status and
// message, and the databases stay as they were.
func TestBudgetRoundAcrossInstances(t *testing.T) {
	clock := &skewClock{}
	a := fedtest.Start(t, fedtest.Options{Coop: "mill", Now: clock.Now})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery", Now: clock.Now})
	c := fedtest.Start(t, fedtest.Options{Coop: "dairy", Now: clock.Now})
	addMember(t, a, "ana")
	addMember(t, a, "bo")
	addMember(t, b, "cy")
	b.Follow(t, a)
	c.Follow(t, a)
	// rogue is a remote coop that follows the mill and allocates for one
	// member of its own; mallory follows nobody.
	remote := fedtest.NewRemote(t)
	rogue, mallory := remote.AddActor("rogue", 1), remote.AddActor("mallory", 2)
	remote.SetDoc("/users/rogue/members", []byte(`{"@context":"https://www.w3.org/ns/activitystreams","id":"`+rogue.IRI+`/members","type":"OrderedCollection","totalItems":1}`))
	followCoop(t, a, remote, rogue)
	// mallory is known to the mill before any snapshot: a note of theirs
	// arrives first.
	hello, _ := noteTo(mallory, 1, "Hello", a.ActorIRI())
	postOK(t, mallory, a.URL+"/coops/mill/inbox", hello)

	var opened roundView
	closes := clock.Now().Add(30 * time.Minute).UTC().Truncate(time.Second)
	if st, msg := apiCall(t, a, http.MethodPost, "/api/v1/coops/mill/budgets", map[string]any{
		"title": "Winter fund", "description": "What we share this winter.", "pot": "300.00", "currency": "EUR", "model": "allocate",
		"closes_at": closes.Format(time.RFC3339), "eligible_coops": []string{b.ActorIRI(), rogue.IRI},
	}); st != http.StatusCreated {
		t.Fatalf("open round: %d %s", st, msg)
	}
	var list struct{ Items []roundView }
	a.API(t, http.MethodGet, "/api/v1/coops/mill/budgets", nil, &list)
	if len(list.Items) != 1 {
		t.Fatalf("rounds on A: %+v", list.Items)
	}
	opened = list.Items[0]
	// Two members of the mill, one of the bakery, one of rogue: 300.00
	// in four shares of 75.00.
	if opened.Allocators != 4 || opened.ShareMinor != 7500 || opened.RemainderMinor != 0 {
		t.Fatalf("allocators %d, share %d, remainder %d", opened.Allocators, opened.ShareMinor, opened.RemainderMinor)
	}
	round := opened.IRI
	for _, inst := range []*fedtest.Instance{b, c} {
		fedtest.Eventually(t, 10*time.Second, inst.Coop.Name+" knows the round", func() bool { _, ok := roundOn(t, inst, round); return ok })
	}

	propose := func(inst *fedtest.Instance, title, asked string) bucketView {
		t.Helper()
		var out bucketView
		st := inst.API(t, http.MethodPost, "/api/v1/coops/"+inst.Coop.Name+"/buckets", map[string]any{
			"round": round, "title": title, "what": "A " + strings.ToLower(title), "why": "=HYPERLINK(\"http://evil.example\")", "asked": asked,
			"needed_by":     closes.Add(30 * 24 * time.Hour).Format(time.RFC3339),
			"payment_links": []map[string]string{{"name": "Bank", "href": "payto://iban/DE75512108001245126199"}},
		}, &out)
		if st != http.StatusCreated {
			t.Fatalf("%s proposes %s: %d", inst.Coop.Name, title, st)
		}
		return out
	}
	oven := propose(b, "Oven repair", "150.00")
	propose(c, "Milk van", "200")
	for _, inst := range []*fedtest.Instance{a, b, c} {
		fedtest.Eventually(t, 10*time.Second, inst.Coop.Name+" shows both buckets", func() bool {
			r, _ := roundOn(t, inst, round)
			return len(r.Buckets) == 2
		})
	}
	onA, _ := roundOn(t, a, round)
	ovenA, milkA := onA.bucket("Oven repair"), onA.bucket("Milk van")
	if ovenA.IRI != oven.IRI || ovenA.Coop != b.ActorIRI() || milkA.Coop != c.ActorIRI() || ovenA.AskedMinor != 15000 || milkA.AskedMinor != 20000 {
		t.Fatalf("buckets on A: %+v", onA.Buckets)
	}
	if len(ovenA.PaymentLinks) != 1 || ovenA.PaymentLinks[0].Href != "payto://iban/DE75512108001245126199" {
		t.Errorf("oven's payment links on A: %+v", ovenA.PaymentLinks)
	}

	settle := func() {
		t.Helper()
		fedtest.Eventually(t, 10*time.Second, "deliveries settle", func() bool {
			return a.PendingDeliveries(t) == 0 && b.PendingDeliveries(t) == 0 && c.PendingDeliveries(t) == 0
		})
	}
	// refused runs a call that must fail with status and message and
	// leave the three databases as they were.
	refused := func(name string, want int, msg string, call func() (int, string)) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			settle()
			before := []map[string]fedtest.TableState{a.Snapshot(t), b.Snapshot(t), c.Snapshot(t)}
			st, body := call()
			if st != want || !strings.Contains(body, msg) {
				t.Fatalf("status %d, want %d with %q: %s", st, want, msg, body)
			}
			for i, inst := range []*fedtest.Instance{a, b, c} {
				if changed := changedTables(before[i], inst.Snapshot(t)); len(changed) > 0 {
					t.Fatalf("%s's tables changed: %v", inst.Coop.Name, changed)
				}
			}
		})
	}
	allocate := func(inst *fedtest.Instance, member, bucket, amount string) func() (int, string) {
		return func() (int, string) {
			return apiCall(t, inst, http.MethodPost, "/api/v1/coops/"+inst.Coop.Name+"/allocations",
				map[string]any{"round": round, "bucket": bucket, "member": member, "amount": amount})
		}
	}
	allocation := func(from *fedtest.Actor, n int, context, target, allocator string, amount int64) map[string]any {
		id := fmt.Sprintf("%s/allocations/%d", from.IRI, n)
		return map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams", "id": id + "/activity", "type": "Create", "actor": from.IRI, "to": []string{a.ActorIRI()},
			"object": map[string]any{"id": id, "type": "Allocation", "attributedTo": from.IRI, "allocator": allocator, "target": target,
				"context": context, "amount": amount, "currency": "EUR", "to": []string{a.ActorIRI()}},
		}
	}
	post := func(from *fedtest.Actor, act map[string]any) func() (int, string) {
		return func() (int, string) { return from.Post(a.URL+"/coops/mill/inbox", act) }
	}

	refused("allocation above the member's share", http.StatusConflict, "above the share of 7500 (7500 left)", allocate(a, "ana", ovenA.IRI, "75.01"))
	if st, msg := allocate(a, "ana", ovenA.IRI, "75.00")(); st != http.StatusCreated {
		t.Fatalf("ana allocates: %d %s", st, msg)
	}
	refused("allocations summing above the share", http.StatusConflict, "would bring the member's total to 7501", allocate(a, "ana", milkA.IRI, "0.01"))
	refused("allocation to an unknown round", http.StatusNotFound, "round not found", func() (int, string) {
		return apiCall(t, a, http.MethodPost, "/api/v1/coops/mill/allocations",
			map[string]any{"round": a.URL + "/budgets/nosuchround", "bucket": ovenA.IRI, "member": "bo", "amount": "1"})
	})
	refused("remote allocation to an unknown round", http.StatusNotFound, "round "+a.URL+"/budgets/nosuchround not found",
		post(rogue, allocation(rogue, 1, a.URL+"/budgets/nosuchround", ovenA.IRI, rogue.IRI+"/members/rex", 100)))
	refused("remote allocation for another coop's member", http.StatusForbidden, "may allocate only for its own members",
		post(rogue, allocation(rogue, 2, round, ovenA.IRI, b.ActorIRI()+"/members/cy", 100)))
	refused("bucket from a coop that does not follow the round's coop", http.StatusForbidden, mallory.IRI+" does not follow the round's coop",
		post(mallory, map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams", "id": mallory.IRI + "/pages/1/activity", "type": "Create", "actor": mallory.IRI,
			"object": map[string]any{"id": mallory.IRI + "/pages/1", "type": "Page", "attributedTo": mallory.IRI, "name": "Yacht", "context": round,
				"inReplyTo": round, "amountAsked": 30000, "to": []string{"https://www.w3.org/ns/activitystreams#Public"}},
		}))

	if st, msg := allocate(a, "bo", ovenA.IRI, "75")(); st != http.StatusCreated {
		t.Fatalf("bo allocates: %d %s", st, msg)
	}
	// cy allocates through the bakery, which sends the allocation to A.
	if st, msg := allocate(b, "cy", milkA.IRI, "75.00")(); st != http.StatusCreated {
		t.Fatalf("cy allocates through B: %d %s", st, msg)
	}
	fedtest.Eventually(t, 10*time.Second, "A counts cy's allocation", func() bool {
		r, _ := roundOn(t, a, round)
		return r.bucket("Milk van").AllocatedMinor == 7500
	})
	// rogue proposes a bucket of its own and its member rex funds it
	// whole: a remote coop casting for its own member is taken.
	page := func(typ string, n int, asked int64) map[string]any {
		id := fmt.Sprintf("%s/pages/%d", rogue.IRI, n)
		return map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams", "id": fmt.Sprintf("%s/%s", id, strings.ToLower(typ)), "type": typ, "actor": rogue.IRI,
			"object": map[string]any{"id": id, "type": "Page", "attributedTo": rogue.IRI, "name": "Rogue tools", "context": round, "inReplyTo": round,
				"amountAsked": asked, "to": []string{"https://www.w3.org/ns/activitystreams#Public"}},
		}
	}
	postOK(t, rogue, a.URL+"/coops/mill/inbox", page("Create", 7, 5000))
	postOK(t, rogue, a.URL+"/coops/mill/inbox", allocation(rogue, 3, round, rogue.IRI+"/pages/7", rogue.IRI+"/members/rex", 5000))
	refused("bucket edited once funded", http.StatusConflict, "the bucket is funded or its round is closed: it can no longer be changed",
		post(rogue, page("Update", 7, 9000)))

	// Within the hour of signature skew that the remote server allows.
	clock.Advance(40 * time.Minute)
	want := "closed Milk van=false:0/7500 Oven repair=true:15000/15000 Rogue tools=true:5000/5000"
	for _, inst := range []*fedtest.Instance{a, b, c} {
		fedtest.Eventually(t, 15*time.Second, inst.Coop.Name+" shows the closed round", func() bool {
			r, _ := roundOn(t, inst, round)
			return r.funded() == want
		})
	}
	settle()
	// Who allocated is public on every instance once the round closes.
	for _, inst := range []*fedtest.Instance{a, b, c} {
		var ledger struct {
			Items []struct{ Kind, Who, Amount, Bucket string }
		}
		r, _ := roundOn(t, inst, round)
		if st := fedtest.GetJSON(t, fmt.Sprintf("%s/api/v1/budgets/%d/ledger", inst.URL, r.ID), &ledger); st != http.StatusOK {
			t.Fatalf("ledger on %s: %d", inst.Coop.Name, st)
		}
		var got []string
		for _, e := range ledger.Items {
			got = append(got, e.Kind+" "+e.Bucket+" "+e.Who+" "+e.Amount)
		}
		sort.Strings(got)
		wantLines := []string{
			"allocation Milk van " + b.ActorIRI() + "/members/cy 75.00",
			"allocation Oven repair " + a.ActorIRI() + "/members/ana 75.00",
			"allocation Oven repair " + a.ActorIRI() + "/members/bo 75.00",
			"allocation Rogue tools " + rogue.IRI + "/members/rex 50.00",
			"funded Oven repair " + b.ActorIRI() + " 150.00",
			"funded Rogue tools " + rogue.IRI + " 50.00",
			"income  " + a.ActorIRI() + " 300.00",
			"returned Milk van " + c.ActorIRI() + " 75.00",
		}
		if strings.Join(got, "\n") != strings.Join(wantLines, "\n") {
			t.Errorf("ledger on %s:\n%s\nwant\n%s", inst.Coop.Name, strings.Join(got, "\n"), strings.Join(wantLines, "\n"))
		}
	}

	refused("allocation after the deadline", http.StatusConflict, "the round closed for allocations", allocate(a, "bo", milkA.IRI, "1"))
	refused("remote allocation after the deadline", http.StatusConflict, "the round closed for allocations",
		post(rogue, allocation(rogue, 4, round, milkA.IRI, rogue.IRI+"/members/rex", 100)))
	refused("allocation through B after the deadline", http.StatusConflict, "the round closed for allocations", allocate(b, "cy", milkA.IRI, "1"))
	onB, _ := roundOn(t, b, round)
	refused("bucket edited after funding", http.StatusConflict, "the bucket is funded or its round is closed: it can no longer be changed", func() (int, string) {
		return apiCall(t, b, http.MethodPatch, fmt.Sprintf("/api/v1/coops/bakery/buckets/%d", onB.bucket("Oven repair").ID),
			map[string]any{"title": "Oven repair and a new oven", "asked": "300"})
	})

	// The mill pays the bakery and records it with the transfer's
	// reference; the ledger's CSV shows it, and no cell reads as a formula.
	if st, msg := apiCall(t, a, http.MethodPost, fmt.Sprintf("/api/v1/coops/mill/buckets/%d/spends", ovenA.ID),
		map[string]any{"amount": "150.00", "reference": "=transfer 2026-12-20", "note": "paid to the bakery"}); st != http.StatusCreated {
		t.Fatalf("spend: %d %s", st, msg)
	}
	refused("spend beyond the funded amount", http.StatusUnprocessableEntity, "at most what the bucket was funded and has not spent", func() (int, string) {
		return apiCall(t, a, http.MethodPost, fmt.Sprintf("/api/v1/coops/mill/buckets/%d/spends", ovenA.ID), map[string]any{"amount": "0.01"})
	})
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/budgets/%d/ledger.csv", a.URL, onA.ID))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("ledger CSV: %d %v\n%s", resp.StatusCode, err, body)
	}
	var spend []string
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("cell %q reads as a formula", cell)
			}
		}
		if row[3] == coopfed.BudgetSpend {
			spend = row
		}
	}
	if spend == nil || spend[6] != "150.00" || spend[8] != "'=transfer 2026-12-20 paid to the bakery" {
		t.Errorf("spend row: %q", spend)
	}
}

// A motion round (Platform6): at the deadline for buckets the round's
// coop opens a multiple-choice funding motion over the buckets; members
// vote; when the motion closes the buckets are funded in order of votes
// while the pot lasts, one too large for what is left passed over, and a
// following instance shows the same.
func TestBudgetMotionRound(t *testing.T) {
	clock := &skewClock{}
	a := fedtest.Start(t, fedtest.Options{Coop: "mill", Now: clock.Now, TallyDebounce: time.Millisecond})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery", Now: clock.Now})
	for _, m := range []string{"ana", "bo", "cy"} {
		addMember(t, a, m)
	}
	b.Follow(t, a)
	now := clock.Now().UTC().Truncate(time.Second)
	var opened roundView
	if st := a.API(t, http.MethodPost, "/api/v1/coops/mill/budgets", map[string]any{
		"title": "Tools", "pot": "100", "currency": "EUR", "model": "motion",
		"closes_at": now.Add(20 * time.Minute).Format(time.RFC3339), "voting_closes_at": now.Add(40 * time.Minute).Format(time.RFC3339),
	}, &opened); st != http.StatusCreated {
		t.Fatalf("open round: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "B knows the round", func() bool { _, ok := roundOn(t, b, opened.IRI); return ok })
	for _, bk := range []struct {
		inst         *fedtest.Instance
		title, asked string
	}{{a, "Lathe", "60"}, {b, "Mixer", "50"}, {a, "Saw", "30"}} {
		if st, msg := apiCall(t, bk.inst, http.MethodPost, "/api/v1/coops/"+bk.inst.Coop.Name+"/buckets", map[string]any{"round": opened.IRI, "title": bk.title, "asked": bk.asked}); st != http.StatusCreated {
			t.Fatalf("bucket %s: %d %s", bk.title, st, msg)
		}
		fedtest.Eventually(t, 10*time.Second, "A has "+bk.title, func() bool { r, _ := roundOn(t, a, opened.IRI); return r.bucket(bk.title).IRI != "" })
	}
	if st, msg := apiCall(t, a, http.MethodPost, "/api/v1/coops/mill/allocations", map[string]any{"round": opened.IRI, "bucket": "x", "member": "ana", "amount": "1"}); st != http.StatusConflict || !strings.Contains(msg, "members vote on the buckets") {
		t.Errorf("allocation in a motion round: %d %s", st, msg)
	}

	clock.Advance(25 * time.Minute)
	var motion string
	fedtest.Eventually(t, 10*time.Second, "the funding motion opens", func() bool {
		var r struct{ State, Motion string }
		fedtest.GetJSON(t, fmt.Sprintf("%s/api/v1/budgets/%d", a.URL, opened.ID), &r)
		motion = r.Motion
		return r.State == coopfed.RoundVoting && motion != ""
	})
	votes := map[string][]string{"ana": {"1. Lathe", "2. Mixer", "3. Saw"}, "bo": {"1. Lathe", "2. Mixer"}, "cy": {"1. Lathe"}}
	for member, choices := range votes {
		if st, msg := apiCall(t, a, http.MethodPost, "/api/v1/motions/vote?id="+motion, map[string]any{"member": member, "choices": choices}); st != http.StatusOK && st != http.StatusAccepted && st != http.StatusNoContent {
			t.Fatalf("%s votes: %d %s", member, st, msg)
		}
	}
	clock.Advance(20 * time.Minute)
	// Lathe (3 votes) takes 60 of the 100; Mixer (2) asks 50, more than
	// the 40 left, and is passed over; Saw (1) takes 30.
	want := "closed Lathe=true:6000/0 Mixer=false:0/0 Saw=true:3000/0"
	for _, inst := range []*fedtest.Instance{a, b} {
		fedtest.Eventually(t, 15*time.Second, inst.Coop.Name+" shows the funded buckets", func() bool {
			r, _ := roundOn(t, inst, opened.IRI)
			return r.funded() == want
		})
	}
}
