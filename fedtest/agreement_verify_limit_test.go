package fedtest_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

// Verifications are limited per client address: after its burst a client
// is answered 429 with Retry-After and nothing is stored; once the wait
// has passed it verifies again. The page shares the API's limit.
func TestAgreementVerifyRateLimit(t *testing.T) {
	clock := &skewClock{}
	a := fedtest.Start(t, fedtest.Options{Coop: "mill", Now: clock.Now})
	verify := func() (int, string, string) {
		req, _ := http.NewRequest(http.MethodPost, a.URL+"/api/v1/agreements/verify", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, resp.Header.Get("Retry-After"), b.String()
	}
	before := a.Snapshot(t)
	limited := 0
	for i := 1; i <= 60; i++ {
		st, retry, body := verify()
		if st != http.StatusTooManyRequests {
			if st != http.StatusBadRequest {
				t.Fatalf("verification %d: %d %s", i, st, body)
			}
			continue
		}
		// The burst is 20: the first 20 are never refused.
		if i <= 20 {
			t.Fatalf("verification %d refused within the burst", i)
		}
		if n, err := strconv.Atoi(retry); err != nil || n < 1 || !strings.Contains(body, "too many verifications from your address") {
			t.Fatalf("429 with Retry-After %q: %s", retry, body)
		}
		limited = i
		break
	}
	if limited == 0 {
		t.Fatal("60 verifications in a row were never limited")
	}
	req, _ := http.NewRequest(http.MethodGet, a.URL+"/verify-agreement?iri="+a.URL+"/agreements/x", nil)
	if st, body := fedtest.Do(t, req); st != http.StatusTooManyRequests || !strings.Contains(body, "too many verifications") {
		t.Fatalf("page while limited: %d %s", st, body)
	}
	if changed := changedTables(before, a.Snapshot(t)); len(changed) > 0 {
		t.Fatalf("tables changed: %v", changed)
	}
	clock.Advance(5 * time.Second)
	if st, _, body := verify(); st != http.StatusBadRequest {
		t.Fatalf("after the wait: %d %s", st, body)
	}
}
