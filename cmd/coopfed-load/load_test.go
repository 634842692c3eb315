package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
)

// TestEndToEnd runs every scenario at a tiny size against in-process
// instances (fedtest boots the same app the binary runs; building and
// linking the binary would take longer than the whole test).
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end load run")
	}
	cfg := defaultConfig()
	cfg.Actors, cfg.Posts, cfg.Concurrency, cfg.InboxHosts, cfg.Keys = 6, 90, 8, 3, 2
	cfg.Followers, cfg.Hosts = 40, 8
	cfg.FloorTime, cfg.IdleWait, cfg.Grace = 100*time.Millisecond, 0, 200*time.Millisecond
	cfg.SetupTimeout, cfg.RunTimeout = 20*time.Second, 20*time.Second
	cfg.VerifyEvery = 1
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	start := func(ctx context.Context, scenario string) (*target, error) {
		inst := fedtest.Start(t, fedtest.Options{Coop: cfg.Coop, InboxRate: -1})
		stop := func() error {
			// Why a short bound: Federation.Stop waits for the periodic
			// jobs, which end only when app cancels their context after
			// Stop returns, so every shutdown lasts its whole timeout.
			// Nothing is in flight here; fedtest's own cleanup then finds
			// the instance stopped.
			sctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			return inst.Shutdown(sctx)
		}
		return &target{URL: inst.URL, Token: inst.Token, Coop: inst.Coop.Name, Stop: stop}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var progress bytes.Buffer
	rep, err := run(ctx, cfg, start, newProgress(&progress))
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	t.Logf("progress:\n%s", progress.String())

	in := rep.Inbox
	if in == nil {
		t.Fatal("no inbox result")
	}
	if in.Accepted != cfg.Posts || len(in.Errors) != 0 || in.InTimeline != cfg.Posts || in.Lost != 0 || in.Extra != 0 {
		t.Errorf("inbox: accepted %d, errors %v, in timeline %d, lost %d, extra %d; want all %d", in.Accepted, in.Errors, in.InTimeline, in.Lost, in.Extra, cfg.Posts)
	}
	if in.PerSec <= 0 || in.Floor.PerSec <= 0 || in.PctFloor <= 0 || in.Latency.P99 < in.Latency.P50 || in.Latency.P50 <= 0 {
		t.Errorf("inbox figures: %+v", in)
	}
	if s := in.Server; s == nil || s.Accepted != cfg.Posts || len(s.Errors) != 0 || s.Synced != int64(cfg.Posts) || s.Lost != 0 || s.Fsyncs == 0 || in.PctServer <= 0 {
		t.Errorf("verifying server: %+v, coopfed at %.1f %% of it", s, in.PctServer)
	}
	if in.Fake.SigChecked == 0 || in.Fake.SigFail != 0 || in.Fake.DigestFail != 0 || in.Fake.Bad != 0 {
		t.Errorf("inbox fake hosts: %+v", in.Fake)
	}
	if len(rep.Fanout) != 2 {
		t.Fatalf("%d fan-out results, want shared and personal", len(rep.Fanout))
	}
	for _, f := range rep.Fanout {
		want := int64(cfg.Hosts)
		if f.Mode == "personal" {
			want = int64(cfg.Followers)
		}
		if f.Delivered != want || f.Missing != 0 || f.Duplicates != 0 || f.Misrouted != 0 || f.WrongObject != 0 {
			t.Errorf("%s: reached %d of %d, missing %d, duplicates %d, misrouted %d, wrong %d", f.Mode, f.Delivered, want, f.Missing, f.Duplicates, f.Misrouted, f.WrongObject)
		}
		if f.AcceptsReceived != int64(cfg.Followers) || f.AcceptsBad != 0 || len(f.FollowErrors) != 0 {
			t.Errorf("%s: %d Accepts (%d bad), follow errors %v", f.Mode, f.AcceptsReceived, f.AcceptsBad, f.FollowErrors)
		}
		// Every POST's signature was checked (VerifyEvery 1): Accepts and
		// Creates alike, all by the coop's key.
		if f.Fake.SigChecked != f.Fake.POSTs || f.Fake.SigFail != 0 || f.Fake.DigestFail != 0 || f.Fake.Bad != 0 {
			t.Errorf("%s fake hosts: %+v", f.Mode, f.Fake)
		}
		if f.PerSec <= 0 || f.Floor.PerSec <= 0 || f.Floor.OneCore[0] <= 0 || f.Floor.AllCore[1] <= 0 {
			t.Errorf("%s figures: %+v", f.Mode, f)
		}
	}
	for _, g := range rep.Goals {
		if strings.Contains(g.Name, "lost") || strings.Contains(g.Name, "exactly once") {
			if !g.Met {
				t.Errorf("goal %q not met: %s", g.Name, g.Note)
			}
		}
	}

	var text, js bytes.Buffer
	writeText(&text, rep)
	for _, want := range []string{"GOAL", "inbox: 6 actors", "fan-out (shared inboxes)", "fan-out (personal inboxes)", "rss: not measured"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if err := writeJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back["inbox"] == nil || back["goals"] == nil {
		t.Errorf("JSON report: %v\n%s", err, js.String())
	}
}

func TestCheckTargetURL(t *testing.T) {
	for raw, want := range map[string]string{
		"http://127.0.0.1:8080":   "http://127.0.0.1:8080",
		"http://127.0.0.1:8080/":  "http://127.0.0.1:8080",
		"http://localhost:8080":   "http://localhost:8080",
		"https://127.1.2.3":       "https://127.1.2.3",
		"http://[::1]:8080":       "http://[::1]:8080",
		"http://10.0.0.1:8080":    "",
		"http://192.0.2.1":        "",
		"http://example.com":      "",
		"ftp://127.0.0.1":         "",
		"http://127.0.0.1/x":      "",
		"http://u:p@127.0.0.1:80": "",
	} {
		got, err := checkTargetURL(raw)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("checkTargetURL(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
}

// The dialer's check runs before connect(2): nothing is sent anywhere.
func TestLoopbackDialerRefuses(t *testing.T) {
	d := loopbackDialer()
	for _, addr := range []string{"192.0.2.1:80", "[2001:db8::1]:443", "10.0.0.1:8080"} {
		if err := d.Control("tcp", addr, nil); !errors.Is(err, errNotLoopback) {
			t.Errorf("Control(%s) = %v, want errNotLoopback", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:80", "127.0.3.7:1234", "[::1]:80"} {
		if err := d.Control("tcp", addr, nil); err != nil {
			t.Errorf("Control(%s) = %v, want nil", addr, err)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--target", "http://192.0.2.1:8080", "--token", "x"},
		{"--target", "http://127.0.0.1:1", "--token", "x"}, // fanout and personal both
		{"--target", "http://127.0.0.1:1"},                 // no token
		{"--scenarios", "inbox,bogus"},
		{"--posts", "0"},
		{"--hosts", "20", "--followers", "10"},
		{"stray"},
	} {
		var out, errOut bytes.Buffer
		if st := mainStatus(args, &out, &errOut); st != 2 {
			t.Errorf("%q: status %d, want 2 (%s)", args, st, errOut.String())
		}
	}
}

func TestSummarise(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(101-i)*time.Millisecond)
	}
	l := summarise(ds)
	if l.P50 != 50 || l.P90 != 90 || l.P99 != 99 || l.Max != 100 || l.Mean != 50.5 {
		t.Errorf("summarise = %+v", l)
	}
	if (summarise(nil) != latencies{}) {
		t.Error("summarise(nil) not zero")
	}
}

func TestDigestMatches(t *testing.T) {
	body := []byte(`{"a":1}`)
	// printf '{"a":1}' | openssl dgst -sha256 -binary | base64
	good := "SHA-256=AVq9f1zFei3ZS3WQ8ErYCEJzkF7jPsXOvq5iJ2qX+GI="
	if !digestMatches(good, body) || !digestMatches("sha-256=AVq9f1zFei3ZS3WQ8ErYCEJzkF7jPsXOvq5iJ2qX+GI=, SHA-512=x", body) {
		t.Error("digest of the body did not match")
	}
	if digestMatches(good, []byte(`{"a":2}`)) || digestMatches("", body) || digestMatches("MD5=x", body) {
		t.Error("digest of another body matched")
	}
}

func TestProcReaders(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	m, err := readMem(os.Getpid())
	if err != nil || m.RSS <= 0 || m.HWM < m.RSS {
		t.Errorf("readMem = %+v, %v", m, err)
	}
	if _, err := processCPU(os.Getpid()); err != nil {
		t.Errorf("processCPU: %v", err)
	}
	if _, err := readMem(0); err == nil {
		t.Error("readMem(0) succeeded")
	}
}

func TestParseScenarios(t *testing.T) {
	got, err := parseScenarios("personal, inbox,personal")
	if err != nil || strings.Join(got, ",") != "inbox,personal" {
		t.Errorf("parseScenarios = %v, %v", got, err)
	}
	var ue usageError
	if _, err := parseScenarios("nope"); !errors.As(err, &ue) {
		t.Errorf("parseScenarios(nope) = %v", err)
	}
}
