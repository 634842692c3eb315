package handlers_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/coopfed/coopfed/fedtest"
)

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthAndMetrics(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{})
	if st, body := get(t, inst.URL+"/healthz", ""); st != http.StatusOK || body != "ok\n" {
		t.Fatalf("healthz: %d %q", st, body)
	}
	if st, _ := get(t, inst.URL+"/readyz", ""); st != http.StatusOK {
		t.Fatalf("readyz: %d", st)
	}
	// An inbox POST without a signature is refused and counted.
	req, _ := http.NewRequest(http.MethodPost, inst.URL+"/inbox", strings.NewReader(`{"type":"Create"}`))
	req.Header.Set("Content-Type", "application/activity+json")
	if st, _ := fedtest.Do(t, req); st != http.StatusUnauthorized {
		t.Fatalf("unsigned inbox POST: %d", st)
	}
	if st, _ := get(t, inst.URL+"/api/v1/market?q=flour", ""); st != http.StatusOK {
		t.Fatalf("market search: %d", st)
	}
	st, body := get(t, inst.URL+"/metrics", "")
	if st != http.StatusOK {
		t.Fatalf("metrics: %d", st)
	}
	for _, want := range []string{
		`coopfed_inbox_requests_total{result="unauthorized"} 1`,
		`coopfed_signature_failures_total{reason="missing"} 1`,
		`coopfed_delivery_queue_depth 0`,
		`coopfed_delivery_queue_oldest_seconds 0`,
		`coopfed_sqlite_checkpoints_total`,
		`coopfed_sqlite_wal_pending_frames`,
		`coopfed_http_requests_total{class="2xx"}`,
		`coopfed_market_searches_total{result="ok",via="api"} 1`,
		`coopfed_market_search_duration_seconds_count 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
