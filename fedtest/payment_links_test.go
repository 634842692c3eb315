package fedtest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

// A coop publishes FEP-0ea0 payment links: they are on its actor
// document and its page, and its followers get the Update. Links that
// are not web pages or payto: URIs, or too many, are refused with the
// database unchanged.
func TestPaymentLinks(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "commons"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	b.Follow(t, a)
	patch := func(links any) (int, string) {
		var out struct {
			Error  string
			Fields map[string]string
		}
		st := a.API(t, http.MethodPatch, "/api/v1/coops/commons", map[string]any{"payment_links": links}, &out)
		return st, fmt.Sprint(out.Error, out.Fields)
	}
	link := func(name, href string) map[string]string { return map[string]string{"name": name, "href": href} }
	for _, tc := range []struct {
		name  string
		links any
		want  string
	}{
		{"a javascript: link", []any{link("Pay", "javascript:alert(1)")}, "use an https:// address or a payto:// URI"},
		{"a data: link", []any{link("Pay", "data:text/html,hi")}, "use an https:// address or a payto:// URI"},
		{"a link without a name", []any{link(" ", "https://pay.example/x")}, "a name of 1 to 100 characters"},
		{"a payto: URI without an account", []any{link("Bank", "payto://iban")}, "use an https:// address or a payto:// URI"},
		{"six links", []any{link("1", "https://a.example"), link("2", "https://a.example"), link("3", "https://a.example"),
			link("4", "https://a.example"), link("5", "https://a.example"), link("6", "https://a.example")}, "at most 5 payment links"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The Follow's answer must be delivered before the snapshot.
			fedtest.Eventually(t, 10*time.Second, "deliveries settle", func() bool {
				return a.PendingDeliveries(t) == 0 && b.PendingDeliveries(t) == 0
			})
			before := a.Snapshot(t)
			if st, msg := patch(tc.links); st != http.StatusUnprocessableEntity || !strings.Contains(msg, tc.want) {
				t.Fatalf("status %d %q, want 422 with %q", st, msg, tc.want)
			}
			if changed := changedTables(before, a.Snapshot(t)); len(changed) > 0 {
				t.Fatalf("tables changed: %v", changed)
			}
		})
	}
	if st, msg := patch([]any{link("Give to the commons", "https://pay.example/commons"), link("Bank transfer", "payto://iban/DE75512108001245126199")}); st != http.StatusOK {
		t.Fatalf("payment links: %d %s", st, msg)
	}
	var actor struct {
		Attachment []struct{ Type, Name, Href, Rel string }
	}
	if st := fedtest.GetJSON(t, a.ActorIRI(), &actor); st != http.StatusOK || len(actor.Attachment) != 2 ||
		actor.Attachment[1] != (struct{ Type, Name, Href, Rel string }{"Link", "Bank transfer", "payto://iban/DE75512108001245126199", "payment"}) {
		t.Fatalf("actor attachment: %d %+v", st, actor.Attachment)
	}
	req, _ := http.NewRequest(http.MethodGet, a.URL+"/coops/commons", nil)
	if st, body := fedtest.Do(t, req); st != http.StatusOK || !strings.Contains(body, `href="payto://iban/DE75512108001245126199" rel="payment nofollow noopener"`) {
		t.Fatalf("coop page: %d\n%s", st, body)
	}
	fedtest.Eventually(t, 10*time.Second, "the follower gets the Update", func() bool { return a.PendingDeliveries(t) == 0 })
	// Clearing them takes them off the actor.
	if st, msg := patch([]any{}); st != http.StatusOK {
		t.Fatalf("clear: %d %s", st, msg)
	}
	actor.Attachment = nil
	if fedtest.GetJSON(t, a.ActorIRI(), &actor); len(actor.Attachment) != 0 {
		t.Fatalf("after clearing: %+v", actor.Attachment)
	}
}
