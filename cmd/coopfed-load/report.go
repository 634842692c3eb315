package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// report is everything one run measured.
type report struct {
	Started    time.Time `json:"started"`
	GoVersion  string    `json:"go_version"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	NumCPU     int       `json:"num_cpu"`
	Server     string    `json:"server"`
	Config     struct {
		Actors      int      `json:"actors"`
		Posts       int      `json:"posts"`
		Concurrency int      `json:"concurrency"`
		InboxHosts  int      `json:"inbox_hosts"`
		Keys        int      `json:"keys"`
		Followers   int      `json:"followers"`
		Hosts       int      `json:"hosts"`
		VerifyEvery int      `json:"verify_every"`
		Scenarios   []string `json:"scenarios"`
		FloorTime   string   `json:"floor_time"`
	} `json:"config"`
	Seconds float64         `json:"seconds"`
	Inbox   *inboxResult    `json:"inbox,omitempty"`
	Fanout  []*fanoutResult `json:"fanout,omitempty"`
	Goals   []goal          `json:"goals"`
	// Warnings say when figures are less trustworthy than usual.
	Warnings []string `json:"warnings,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// goal is one target of the issue and whether this run met it.
type goal struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target string  `json:"target"`
	Met    bool    `json:"met"`
	Note   string  `json:"note,omitempty"`
}

// Goals of the issue.
const (
	goalInboxPct = 50.0
	// goalInboxP99ms bounds the inbox's p99 latency.
	goalInboxP99ms = 100.0
	goalFanoutPct  = 80.0
	goalIdleKB     = 30e6 / 1024 // 30 MB (decimal) in KiB
)

// run runs the configured scenarios, each on the target start gives it,
// and returns the report (partial when err is not nil).
func run(ctx context.Context, cfg config, start starter, logf func(string, ...any)) (rep *report, err error) {
	rep = &report{Started: time.Now().UTC().Truncate(time.Second), GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU()}
	c := &rep.Config
	c.Actors, c.Posts, c.Concurrency, c.InboxHosts, c.Keys = cfg.Actors, cfg.Posts, cfg.Concurrency, cfg.InboxHosts, cfg.Keys
	c.Followers, c.Hosts, c.VerifyEvery, c.Scenarios, c.FloorTime = cfg.Followers, cfg.Hosts, cfg.VerifyEvery, cfg.Scenarios, cfg.FloorTime.String()
	t0 := time.Now()
	defer func() {
		rep.Seconds = time.Since(t0).Seconds()
		rep.Goals = evaluate(rep)
		rep.Warnings = warnings(rep)
		if err != nil {
			rep.Error = err.Error()
		}
	}()
	logf("generating %d RSA-2048 keys for the fake actors", cfg.Keys)
	keys, err := generateKeys(cfg.Keys)
	if err != nil {
		return rep, err
	}
	for _, sc := range cfg.Scenarios {
		if err := runScenario(ctx, cfg, sc, start, keys, rep, logf); err != nil {
			return rep, fmt.Errorf("%s: %w", sc, err)
		}
	}
	return rep, nil
}

func runScenario(ctx context.Context, cfg config, sc string, start starter, keys []*fakeKey, rep *report, logf func(string, ...any)) (err error) {
	t, err := start(ctx, sc)
	if err != nil {
		return err
	}
	if t.Stop != nil {
		defer func() {
			if serr := t.Stop(); serr != nil && err == nil {
				err = fmt.Errorf("stopping the server: %w", serr)
			}
		}()
	}
	switch sc {
	case "inbox":
		rep.Inbox, err = runInbox(ctx, cfg, t, keys, logf)
	case "fanout", "personal":
		var r *fanoutResult
		r, err = runFanout(ctx, cfg, t, keys, sc == "personal", logf)
		rep.Fanout = append(rep.Fanout, r)
	}
	return err
}

// evaluate states the goals against what was measured.
func evaluate(rep *report) []goal {
	var out []goal
	var idle int64
	var idleNote string
	if r := rep.Inbox; r != nil {
		idle = r.RSS.IdleKB
		if r.RSS.IdleBeforeLoad {
			idleNote = "; read before the load, the server was not started by this run"
		}
		if r.Floor.PerSec > 0 {
			g := goal{Name: "inbox accepted/s vs per-request floor", Value: r.PctFloor, Unit: "%", Target: ">= 50 %",
				Met: r.PctFloor >= goalInboxPct, Note: fmt.Sprintf("%.0f/s vs %.0f/s", r.PerSec, r.Floor.PerSec)}
			if r.PctFloorCPU > 0 {
				g.Note += fmt.Sprintf("; by CPU per op %.0f %%", r.PctFloorCPU)
			}
			if r.Ceiling.PerSec > 0 {
				g.Note += fmt.Sprintf("; this harness's ceiling is %.0f %%", r.Ceiling.PctFloor)
			}
			out = append(out, g)
		}
		if f := r.Server; f != nil && f.PerSec > 0 {
			out = append(out, goal{Name: "inbox accepted/s vs verifying server", Value: r.PctServer, Unit: "%", Target: ">= 50 %",
				Met: r.PctServer >= goalInboxPct, Note: fmt.Sprintf("%.0f/s vs %.0f/s, same posts and workers, same run", r.PerSec, f.PerSec)})
			if r.PctServerCPU > 0 {
				out[len(out)-1].Note += fmt.Sprintf("; by CPU per post %.0f %% (%.0f vs %.0f us)", r.PctServerCPU, f.CPUPerPostUS, r.ServerCPUPerUS)
			}
		}
		if r.Accepted > 0 {
			out = append(out, goal{Name: "inbox p99 latency", Value: r.Latency.P99, Unit: "ms", Target: "< 100 ms",
				Met: r.Latency.P99 < goalInboxP99ms, Note: fmt.Sprintf("p50 %.1f ms; %d answered 429", r.Latency.P50, r.Errors["status 429"])})
		}
		if r.Accepted > 0 || r.InTimeline > 0 {
			bad := r.Posts - r.Accepted
			out = append(out, goal{Name: "inbox: no lost activity", Value: float64(r.Lost), Unit: "lost", Target: "0 lost, 0 errors",
				Met: r.Lost == 0 && r.Extra == 0 && bad == 0, Note: fmt.Sprintf("%d accepted, %d in timeline, %d errors", r.Accepted, r.InTimeline, bad)})
		}
	}
	for _, r := range rep.Fanout {
		if r == nil {
			continue
		}
		if idle == 0 {
			idle = r.RSS.IdleKB
			if r.RSS.IdleBeforeLoad {
				idleNote = "; read before the load, the server was not started by this run"
			}
		}
		if r.Floor.PerSec > 0 {
			g := goal{Name: fmt.Sprintf("fan-out (%s) deliveries/s vs signing floor", r.Mode), Value: r.PctFloor, Unit: "%", Target: ">= 80 %",
				Met: r.PctFloor >= goalFanoutPct, Note: fmt.Sprintf("%d followers on %d hosts: %.0f/s vs %.0f signs/s", r.Followers, r.Hosts, r.PerSec, r.Floor.PerSec)}
			if r.PctFloorCPU > 0 {
				g.Note += fmt.Sprintf("; by CPU per op %.0f %%", r.PctFloorCPU)
			}
			if r.Mode == "personal" {
				g.Note += "; not a goal of the issue, same bar shown"
			} else if r.Followers != 10000 || r.Hosts != 1000 {
				g.Note += "; the goal is stated for 10000 on 1000"
			}
			out = append(out, g)
		}
		if r.Delivered > 0 || r.Missing > 0 {
			lost := r.Missing + r.Duplicates + r.Misrouted + r.WrongObject + r.Fake.DigestFail + r.Fake.SigFail
			out = append(out, goal{Name: fmt.Sprintf("fan-out (%s): each inbox exactly once", r.Mode), Value: float64(lost), Unit: "faults", Target: "0",
				Met: lost == 0, Note: fmt.Sprintf("%d of %d inboxes, %d missing, %d duplicate, %d digest and %d of %d signature failures",
					r.Delivered, r.Expected, r.Missing, r.Duplicates, r.Fake.DigestFail, r.Fake.SigFail, r.Fake.SigChecked)})
		}
	}
	if idle > 0 {
		out = append(out, goal{Name: "idle RSS of the server", Value: float64(idle) / 1024, Unit: "MiB", Target: "< 30 MB (29.3 MiB)",
			Met: float64(idle) < goalIdleKB, Note: fmt.Sprintf("VmRSS %d KiB%s", idle, idleNote)})
	}
	return out
}

// warnings lists what makes this run's rates less trustworthy.
func warnings(rep *report) []string {
	var out []string
	check := func(name string, f floor) {
		if f.disturbed() {
			out = append(out, fmt.Sprintf("%s: the floor's measurements differ by more than 25 %% (all cores %.0f, %.0f; one core x %d %.0f, %.0f): other work shared the CPUs, so rates and their ratios vary; the CPU-per-op ratios are steadier",
				name, f.AllCore[0], f.AllCore[1], f.GOMAXPROCS, f.OneCore[0]*float64(f.GOMAXPROCS), f.OneCore[1]*float64(f.GOMAXPROCS)))
		}
	}
	if r := rep.Inbox; r != nil {
		check("inbox", r.Floor)
	}
	for _, r := range rep.Fanout {
		if r != nil {
			check("fan-out ("+r.Mode+")", r.Floor)
		}
	}
	return out
}

func writeJSON(w io.Writer, rep *report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// writeText prints the summary table, then each scenario's raw numbers.
func writeText(w io.Writer, rep *report) {
	fmt.Fprintf(w, "coopfed-load %s  %s  GOMAXPROCS=%d NumCPU=%d  %.0fs\n", rep.Started.Format(time.RFC3339), rep.GoVersion, rep.GOMAXPROCS, rep.NumCPU, rep.Seconds)
	fmt.Fprintf(w, "server: %s\n\n", rep.Server)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GOAL\tVALUE\tTARGET\tMET\tDETAIL")
	for _, g := range rep.Goals {
		met := "no"
		if g.Met {
			met = "yes"
		}
		fmt.Fprintf(tw, "%s\t%.1f %s\t%s\t%s\t%s\n", g.Name, g.Value, g.Unit, g.Target, met, g.Note)
	}
	tw.Flush()
	for _, w2 := range rep.Warnings {
		fmt.Fprintf(w, "WARNING %s\n", w2)
	}
	if rep.Error != "" {
		fmt.Fprintf(w, "\nRUN FAILED: %s\n", rep.Error)
	}
	if r := rep.Inbox; r != nil {
		fmt.Fprintf(w, "\ninbox: %d actors on %d hosts (%d keys), %d posts of %d B to %s, %d workers\n", r.Actors, r.Hosts, r.Keys, r.Posts, r.BodyBytes, r.InboxURL, r.Concurrency)
		kv(w, "setup_s", r.SetupSeconds, "presign_s", r.PresignSeconds, "window_s", r.Seconds)
		kv(w, "accepted", r.Accepted, "accepted_per_s", r.PerSec, "errors", errs(r.Errors))
		kv(w, "latency_ms p50", r.Latency.P50, "p90", r.Latency.P90, "p99", r.Latency.P99, "max", r.Latency.Max, "mean", r.Latency.Mean)
		kv(w, "in_timeline", r.InTimeline, "lost", r.Lost, "extra", r.Extra)
		writeFloor(w, r.Floor, r.PctFloor)
		if f := r.Server; f != nil {
			fmt.Fprintf(w, "  floor server: %s\n", f.What)
			kv(w, "floor_server accepted", f.Accepted, "accepted_per_s", f.PerSec, "errors", errs(f.Errors), "window_s", f.Seconds)
			kv(w, "floor_server latency_ms p50", f.Latency.P50, "p99", f.Latency.P99, "synced", f.Synced, "lost", f.Lost, "fsyncs", f.Fsyncs)
			kv(w, "floor_server tool_cpu_s", f.ToolCPUSecs, "cpu_us_per_post", f.CPUPerPostUS)
			kv(w, "coopfed_pct_floor_server", r.PctServer, "by_cpu_per_post", r.PctServerCPU)
			for k, v := range sorted(f.First) {
				fmt.Fprintf(w, "  floor server first %s: %s\n", k, v)
			}
		}
		kv(w, "harness_ceiling_per_s", r.Ceiling.PerSec, "ceiling_pct_floor", r.Ceiling.PctFloor, "ceiling_cpu_us_per_post", r.Ceiling.CPUPerUS, "ceiling_posts", r.Ceiling.Posts)
		fmt.Fprintln(w, "  ceiling = the same client, workers and bodies against an in-process handler that only reads and answers 202")
		kv(w, "server_cpu_s", r.CPU.ServerSecs, "server_cores", r.CPU.ServerCores, "server_cpu_us_per_post", r.ServerCPUPerUS, "pct_floor_cpu", r.PctFloorCPU)
		kv(w, "tool_cpu_s", r.CPU.ToolSecs, "tool_cores", r.CPU.ToolCores, "loadavg_before", r.LoadAvg[0], "loadavg_after", r.LoadAvg[1])
		writeRSS(w, r.RSS)
		writeFake(w, r.Fake)
		for k, v := range sorted(r.FirstErrors) {
			fmt.Fprintf(w, "  first %s: %s\n", k, v)
		}
	}
	for _, r := range rep.Fanout {
		if r == nil {
			continue
		}
		fmt.Fprintf(w, "\nfan-out (%s inboxes): %d followers on %d hosts, %d inboxes expected\n", r.Mode, r.Followers, r.Hosts, r.Expected)
		kv(w, "follows_s", r.FollowSeconds, "follows_per_s", r.FollowsPerSec, "follow_errors", errs(r.FollowErrors), "follow_p50_ms", r.FollowLatency.P50, "follow_p99_ms", r.FollowLatency.P99)
		kv(w, "accepts_received", r.AcceptsReceived, "accepts_bad", r.AcceptsBad, "accept_after_202_ms p50", r.AcceptLatency.P50, "p99", r.AcceptLatency.P99, "max", r.AcceptLatency.Max)
		kv(w, "setup_s", r.SetupSeconds, "preexisting_followers", r.PreexistingFollowers)
		kv(w, "publish_api_ms", r.PublishAPIms, "first_delivery_ms", r.FirstMs, "last_delivery_s", r.Seconds)
		kv(w, "inboxes_reached", r.Delivered, "deliveries_per_s", r.PerSec, "missing", r.Missing, "duplicates", r.Duplicates, "misrouted", r.Misrouted, "wrong_object", r.WrongObject)
		writeFloor(w, r.Floor, r.PctFloor)
		kv(w, "server_cpu_s", r.CPU.ServerSecs, "server_cores", r.CPU.ServerCores, "server_cpu_us_per_delivery", r.ServerCPUPerUS, "pct_floor_cpu", r.PctFloorCPU)
		kv(w, "tool_cpu_s", r.CPU.ToolSecs, "tool_cores", r.CPU.ToolCores, "loadavg_before", r.LoadAvg[0], "loadavg_after", r.LoadAvg[1])
		writeRSS(w, r.RSS)
		writeFake(w, r.Fake)
		for k, v := range sorted(r.FollowFirstErrors) {
			fmt.Fprintf(w, "  first follow %s: %s\n", k, v)
		}
	}
}

func writeFloor(w io.Writer, f floor, pct float64) {
	fmt.Fprintf(w, "  floor = %s; best of before/after the window of max(%d goroutines, one goroutine x %d)\n", f.What, f.GOMAXPROCS, f.GOMAXPROCS)
	kv(w, "floor_per_s", f.PerSec, "basis", strings.ReplaceAll(f.Basis, " ", "_"), "floor_cpu_us_per_op", f.CPUPerOpUS, "pct_floor", pct)
	kv(w, "all_cores_before", f.AllCore[0], "all_cores_after", f.AllCore[1], "one_core_before", f.OneCore[0], "one_core_after", f.OneCore[1])
}

func writeRSS(w io.Writer, r rssFigures) {
	if r.IdleKB == 0 && r.AfterKB == 0 {
		fmt.Fprintln(w, "  rss: not measured (no server pid)")
		return
	}
	kv(w, "rss_idle_kb", r.IdleKB, "idle_anon_kb", r.IdleAnonKB, "idle_file_kb", r.IdleFileKB, "peak_sampled_kb", r.PeakKB, "hwm_kb", r.HWMKB, "after_kb", r.AfterKB)
}

func writeFake(w io.Writer, f fakeStats) {
	kv(w, "fake_gets", f.GETs, "fake_posts", f.POSTs, "bad_requests", f.Bad, "digest_failures", f.DigestFail, "signatures_checked", f.SigChecked, "signature_failures", f.SigFail)
	if f.FirstSigError != "" {
		fmt.Fprintf(w, "  first signature error: %s\n", f.FirstSigError)
	}
	if f.FirstBad != "" {
		fmt.Fprintf(w, "  first bad request: %s\n", f.FirstBad)
	}
}

// kv prints "  key=value key=value" with floats to three decimals at most.
func kv(w io.Writer, pairs ...any) {
	var b strings.Builder
	b.WriteString(" ")
	for i := 0; i+1 < len(pairs); i += 2 {
		b.WriteString(" ")
		b.WriteString(fmt.Sprint(pairs[i]))
		b.WriteString("=")
		switch v := pairs[i+1].(type) {
		case float64:
			s := fmt.Sprintf("%.3f", v)
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
			b.WriteString(s)
		default:
			b.WriteString(fmt.Sprint(v))
		}
	}
	fmt.Fprintln(w, b.String())
}

// errs formats error counts as "none" or "status 429:3,transport:1".
func errs(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for k, v := range sorted(m) {
		parts = append(parts, fmt.Sprintf("%s:%d", strings.ReplaceAll(k, " ", "_"), v))
	}
	return strings.Join(parts, ",")
}

// sorted iterates a map in key order.
func sorted[V any](m map[string]V) func(func(string, V) bool) {
	return func(yield func(string, V) bool) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}
