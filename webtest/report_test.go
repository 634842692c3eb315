package webtest

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/fedtest"
	"github.com/coopfed/coopfed/store"
)

// A member of A reports B's listing from A's market; A's admin forwards
// the report; the Flag, from A's instance actor, reaches B's instance
// actor verified and shows on the reports page of B's admins, who take the
// listing out of the market.
func TestReportForwardedAsFlag(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "hub"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	AddMember(t, a, "ana", "admin", password)
	AddMember(t, a, "mo", "member", password)
	AddMember(t, b, "bea", "admin", password)
	a.Follow(t, b)
	var listing struct{ ID string }
	if st := b.API(t, http.MethodPost, "/api/v1/coops/bakery/listings", map[string]any{
		"kind": "offer", "title": "miracle cure", "category": "health", "quantity": map[string]any{"value": 1, "unit": "one"},
	}, &listing); st != http.StatusCreated {
		t.Fatalf("listing: %d", st)
	}
	fedtest.Eventually(t, 10*time.Second, "B's listing in A's market", func() bool {
		l, err := a.Store.ListingByIRI(context.Background(), listing.ID)
		return err == nil && !l.Local()
	})

	// A member reports it from the market page.
	mo := NewClient(t, a)
	mo.Login(t, "hub", "mo", password)
	_, _, page := mo.Get(t, "/market?q=miracle")
	form := "/coops/hub/admin/report?object=" + url.QueryEscape(listing.ID)
	if !strings.Contains(page, strings.ReplaceAll(form, "&", "&amp;")) {
		t.Fatalf("no report link on the market page:\n%s", page)
	}
	_, _, page = mo.Get(t, form)
	if !strings.Contains(page, "miracle cure") {
		t.Fatalf("the report form does not say what is reported:\n%s", page)
	}
	before := a.Counts(t)
	st, _, body := mo.Post(t, "/coops/hub/admin/report", url.Values{"csrf": {CSRF(t, page)}, "object": {"not an address"}, "comment": {"x"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "address") {
		t.Fatalf("bad object: %d\n%s", st, body)
	}
	if after := a.Counts(t); after["reports"] != before["reports"] {
		t.Fatal("a refused report was stored")
	}
	st, loc, _ := mo.Post(t, "/coops/hub/admin/report", url.Values{"csrf": {CSRF(t, page)}, "object": {listing.ID}, "comment": {"Sells fake medicine."}})
	if st != http.StatusSeeOther || !strings.HasSuffix(loc, "done=reported") {
		t.Fatalf("report: %d %s", st, loc)
	}

	// A's admin forwards it.
	ana := NewClient(t, a)
	ana.Login(t, "hub", "ana", password)
	_, _, page = ana.Get(t, "/coops/hub/admin/reports")
	if !strings.Contains(page, "Sells fake medicine.") || !strings.Contains(page, "made here by mo") {
		t.Fatalf("A's reports page:\n%s", page)
	}
	reports, err := a.Store.Reports(context.Background(), store.ReportFilter{CoopID: a.Coop.ID})
	if err != nil || len(reports) != 1 {
		t.Fatalf("reports: %v %v", reports, err)
	}
	st, _, body = ana.Post(t, "/coops/hub/admin/reports/forward", url.Values{"csrf": {CSRF(t, page)}, "id": {itoa(reports[0].ID)}})
	if st != http.StatusSeeOther {
		t.Fatalf("forward: %d\n%s", st, body)
	}

	// B has it, from A's instance actor, about its coop and listing.
	var got *coopfed.Report
	fedtest.Eventually(t, 10*time.Second, "the Flag at B", func() bool {
		list, err := b.Store.Reports(context.Background(), store.ReportFilter{CoopID: b.Coop.ID})
		if err == nil && len(list) == 1 {
			got = list[0]
		}
		return got != nil
	})
	if got.Origin != coopfed.ReportRemote || got.ReporterIRI != a.URL+"/actor" || got.TargetActor != b.ActorIRI() ||
		len(got.Objects) != 1 || got.Objects[0] != listing.ID || got.Comment != "Sells fake medicine." {
		t.Fatalf("report at B = %+v", got)
	}
	delivered, err := a.Store.Deliveries(context.Background(), got.FlagIRI)
	if err != nil || len(delivered) != 1 || delivered[0].Inbox != b.URL+"/inbox" {
		t.Fatalf("the Flag went to %+v (%v), want B's instance actor's inbox", delivered, err)
	}

	bea := NewClient(t, b)
	bea.Login(t, "bakery", "bea", password)
	_, _, page = bea.Get(t, "/coops/bakery/admin/reports")
	if !strings.Contains(page, "Sells fake medicine.") || !strings.Contains(page, "miracle cure") {
		t.Fatalf("B's reports page:\n%s", page)
	}
	st, _, body = bea.Post(t, "/coops/bakery/admin/reports/resolve", url.Values{"csrf": {CSRF(t, page)}, "id": {itoa(got.ID)}, "resolution": {"remove"}})
	if st != http.StatusSeeOther {
		t.Fatalf("resolve: %d\n%s", st, body)
	}
	// B's own listing is closed, and the close reaches A's market.
	fedtest.Eventually(t, 10*time.Second, "listing closed at A", func() bool {
		l, err := a.Store.ListingByIRI(context.Background(), listing.ID)
		return err == nil && l.State == coopfed.ListingClosed
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
