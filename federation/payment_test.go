package federation

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/coopfed/coopfed"
)

// A peer's payment links are kept only when they are FEP-0ea0 Links to
// https addresses (loopback http in tests), at most five, names as plain
// text; everything else is dropped.
func TestRemotePaymentLinks(t *testing.T) {
	link := func(name, href string, rel any) map[string]any {
		return map[string]any{"type": "Link", "name": name, "href": href, "rel": rel}
	}
	long := "https://pay.example/" + strings.Repeat("a", 1000)
	cases := []struct {
		name    string
		att     any
		private bool
		want    []coopfed.PaymentLink
	}{
		{"one https link", []any{link("Donate", "https://pay.example/d", "payment")}, false,
			[]coopfed.PaymentLink{{Name: "Donate", Href: "https://pay.example/d"}}},
		{"a single object, rel an array", link("Buy", "https://pay.example/b", []any{"payment", "https://x.example/ns#buy"}), false,
			[]coopfed.PaymentLink{{Name: "Buy", Href: "https://pay.example/b"}}},
		{"javascript: dropped", []any{link("Pay", "javascript:alert(1)", "payment")}, false, nil},
		{"data: dropped", []any{link("Pay", "data:text/html,<script>x</script>", "payment")}, false, nil},
		{"a payto: URI from a peer dropped", []any{link("Bank", "payto://iban/DE75512108001245126199", "payment")}, false, nil},
		{"plain http dropped", []any{link("Pay", "http://pay.example/x", "payment")}, false, nil},
		{"loopback http only in tests", []any{link("Pay", "http://127.0.0.1:8080/pay", "payment")}, false, nil},
		{"loopback http in tests", []any{link("Pay", "http://127.0.0.1:8080/pay", "payment")}, true,
			[]coopfed.PaymentLink{{Name: "Pay", Href: "http://127.0.0.1:8080/pay"}}},
		{"credentials in the address dropped", []any{link("Pay", "https://user:pw@pay.example/x", "payment")}, false, nil},
		{"an oversized address dropped", []any{link("Pay", long, "payment")}, false, nil},
		{"another rel dropped", []any{link("Home", "https://pay.example/", "me")}, false, nil},
		{"a PropertyValue is not a link", []any{map[string]any{"type": "PropertyValue", "name": "Pay", "value": "https://pay.example"}}, false, nil},
		{"HTML in the name is text", []any{link("<b>Give</b> <script>x</script>", "https://pay.example/g", "payment")}, false,
			[]coopfed.PaymentLink{{Name: "Give", Href: "https://pay.example/g"}}},
		{"no name: the host", []any{link("", "https://pay.example/g", "payment")}, false,
			[]coopfed.PaymentLink{{Name: "pay.example", Href: "https://pay.example/g"}}},
		{"a long name is cut", []any{link(strings.Repeat("n", 300), "https://pay.example/g", "payment")}, false,
			[]coopfed.PaymentLink{{Name: strings.Repeat("n", 100), Href: "https://pay.example/g"}}},
		{"at most five", []any{link("1", "https://a.example/1", "payment"), link("2", "https://a.example/2", "payment"),
			link("3", "https://a.example/3", "payment"), link("4", "https://a.example/4", "payment"),
			link("5", "https://a.example/5", "payment"), link("6", "https://a.example/6", "payment")}, false,
			[]coopfed.PaymentLink{{Name: "1", Href: "https://a.example/1"}, {Name: "2", Href: "https://a.example/2"},
				{Name: "3", Href: "https://a.example/3"}, {Name: "4", Href: "https://a.example/4"}, {Name: "5", Href: "https://a.example/5"}}},
		{"not JSON objects", "nonsense", false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, _ := json.Marshal(tc.att)
			if got := remotePaymentLinks(raw, tc.private); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
