package main

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// floor is a cost floor measured in this process, right before and right
// after a scenario's timed window (the server idle both times), each time
// on one goroutine and on GOMAXPROCS goroutines. The machine may be shared,
// so the floor is the best of these: max(all cores, one core x GOMAXPROCS)
// over both runs, the hardest bar to meet.
type floor struct {
	What       string `json:"what"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	// AllCore and OneCore are ops/s measured before and after the window.
	AllCore [2]float64 `json:"all_cores_per_s"`
	OneCore [2]float64 `json:"one_core_per_s"`
	// PerSec is the floor the ratios use; Basis says which measurement.
	PerSec float64 `json:"per_sec"`
	Basis  string  `json:"basis"`
	// CPUPerOpUS is the lowest CPU time per operation seen: steadier than
	// a rate on a machine other work shares.
	CPUPerOpUS float64 `json:"cpu_per_op_us"`
	Seconds    float64 `json:"seconds_each"`
}

// measure runs op for d on GOMAXPROCS goroutines and for d/4 on one, and
// records the rates as run 0 (before) or 1 (after).
func (f *floor) measure(ctx context.Context, phase int, d time.Duration, op func() error) error {
	f.GOMAXPROCS, f.Seconds = runtime.GOMAXPROCS(0), d.Seconds()
	one, err := rate(ctx, 1, max(d/4, 100*time.Millisecond), op)
	if err != nil {
		return fmt.Errorf("floor %s: %w", f.What, err)
	}
	all, err := rate(ctx, f.GOMAXPROCS, d, op)
	if err != nil {
		return fmt.Errorf("floor %s: %w", f.What, err)
	}
	f.OneCore[phase], f.AllCore[phase] = one.perSec, all.perSec
	for _, r := range []rateResult{one, all} {
		if r.cpuPerOpUS > 0 && (f.CPUPerOpUS == 0 || r.cpuPerOpUS < f.CPUPerOpUS) {
			f.CPUPerOpUS = r.cpuPerOpUS
		}
	}
	bestAll := max(f.AllCore[0], f.AllCore[1])
	bestOne := max(f.OneCore[0], f.OneCore[1]) * float64(f.GOMAXPROCS)
	f.PerSec, f.Basis = bestAll, "all cores"
	if bestOne > bestAll {
		f.PerSec, f.Basis = bestOne, "one core x GOMAXPROCS"
	}
	return nil
}

// disturbed reports whether the floor's four measurements (normalised to
// all cores) differ by more than a quarter: other work was running.
func (f *floor) disturbed() bool {
	lo, hi := 0.0, 0.0
	for _, v := range []float64{f.AllCore[0], f.AllCore[1], f.OneCore[0] * float64(f.GOMAXPROCS), f.OneCore[1] * float64(f.GOMAXPROCS)} {
		if v <= 0 {
			continue
		}
		if lo == 0 || v < lo {
			lo = v
		}
		hi = max(hi, v)
	}
	return lo > 0 && hi > 1.25*lo
}

type rateResult struct {
	perSec     float64
	cpuPerOpUS float64
}

// rate runs op on goroutines goroutines for d (or until ctx ends).
func rate(ctx context.Context, goroutines int, d time.Duration, op func() error) (rateResult, error) {
	var n atomic.Int64
	var failed atomic.Value
	start := time.Now()
	stop := start.Add(d)
	cpu0 := selfCPU()
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Bounded by time and count; each round is 8 operations.
			for round := 0; round < 1<<22 && time.Now().Before(stop) && ctx.Err() == nil; round++ {
				for range 8 {
					if err := op(); err != nil {
						failed.CompareAndSwap(nil, err)
						return
					}
				}
				n.Add(8)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	cpu := selfCPU() - cpu0
	if err, _ := failed.Load().(error); err != nil {
		return rateResult{}, err
	}
	var r rateResult
	if ops := n.Load(); ops > 0 {
		r.perSec = float64(ops) / el.Seconds()
		r.cpuPerOpUS = float64(cpu.Microseconds()) / float64(ops)
	}
	return r, ctx.Err()
}

// inboxFloorOp returns the per-request floor of an inbox POST: RSA-2048
// PKCS#1 v1.5 verify, SHA-256 of a body of the posts' size and
// json.Unmarshal of it into map[string]any.
func inboxFloorOp(key *rsa.PrivateKey, body []byte) (string, func() error, error) {
	sum := sha256.Sum256([]byte("(request-target): post /inbox\nhost: 127.0.0.1:8080\ndate: Wed, 01 May 2024 12:00:00 GMT\ndigest: SHA-256=x\ncontent-type: application/activity+json"))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", nil, err
	}
	pub := &key.PublicKey
	op := func() error {
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
			return err
		}
		d := sha256.Sum256(body)
		_ = d
		var m map[string]any
		return json.Unmarshal(body, &m)
	}
	return "RSA-2048 verify + SHA-256 of " + strconv.Itoa(len(body)) + " B + json.Unmarshal into map[string]any", op, nil
}

// signFloorOp returns RSA-2048 PKCS#1 v1.5 signing of a SHA-256 digest.
func signFloorOp(key *rsa.PrivateKey) (string, func() error) {
	sum := sha256.Sum256([]byte("(request-target): post /users/a1/inbox\nhost: 127.0.1.1:8080\ndate: x\ndigest: y"))
	return "RSA-2048 PKCS#1 v1.5 sign", func() error {
		_, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
		return err
	}
}

// latencies summarises request latencies in milliseconds.
type latencies struct {
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// summarise returns nearest-rank percentiles of ds (which it sorts).
func summarise(ds []time.Duration) latencies {
	if len(ds) == 0 {
		return latencies{}
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	at := func(p float64) float64 {
		i := int(p*float64(len(ds))+0.999999) - 1
		return ms(ds[min(max(i, 0), len(ds)-1)])
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return latencies{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ms(ds[len(ds)-1]), Mean: ms(sum / time.Duration(len(ds)))}
}

// sendResult is what sending a batch of prepared posts gave.
type sendResult struct {
	elapsed   time.Duration
	ok        int            // answered with the wanted status
	errors    map[string]int // "status 429", "transport", ...
	firstErr  map[string]string
	latencies []time.Duration // of every request that got an answer
	done      []time.Time     // when each request's answer was read (zero if none)
}

// sendAll sends every post once with conc workers and counts the answers;
// want is the status that counts as success. It stops early only if ctx
// ends; each request is bounded by the client's timeout.
func sendAll(ctx context.Context, hc *http.Client, posts []*preparedPost, conc, want int) sendResult {
	n := len(posts)
	status := make([]int, n)
	lat := make([]time.Duration, n)
	doneAt := make([]time.Time, n)
	errText := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				req, err := posts[i].request(ctx)
				if err != nil {
					errText[i] = err.Error()
					continue
				}
				resp, err := hc.Do(req)
				if err != nil {
					errText[i] = err.Error()
					continue
				}
				var msg []byte
				if resp.StatusCode != want {
					msg, _ = io.ReadAll(io.LimitReader(resp.Body, 300))
				} else {
					io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
				}
				resp.Body.Close()
				doneAt[i] = time.Now()
				lat[i] = doneAt[i].Sub(t0)
				status[i] = resp.StatusCode
				errText[i] = string(msg)
			}
		}()
	}
	wg.Wait()
	res := sendResult{elapsed: time.Since(start), errors: map[string]int{}, firstErr: map[string]string{}, done: doneAt}
	for i := range n {
		label := ""
		switch {
		case status[i] == want:
			res.ok++
		case status[i] == 0 && errText[i] == "":
			label = "not sent"
		case status[i] == 0:
			label = "transport"
		default:
			label = "status " + strconv.Itoa(status[i])
		}
		if status[i] != 0 {
			res.latencies = append(res.latencies, lat[i])
		}
		if label != "" {
			res.errors[label]++
			if _, ok := res.firstErr[label]; !ok {
				res.firstErr[label] = errText[i]
			}
		}
	}
	return res
}

// rssSampler reads a process's VmRSS every interval and keeps the peak.
type rssSampler struct {
	peak atomic.Int64 // KiB
	done chan struct{}
	wg   sync.WaitGroup
}

// sampleRSS starts sampling pid (nothing when pid is 0); at most max
// samples are taken, so it ends by itself even if never stopped.
func sampleRSS(pid int, interval time.Duration, maxSamples int) *rssSampler {
	s := &rssSampler{done: make(chan struct{})}
	if pid <= 0 {
		return s
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for range maxSamples {
			if m, err := readMem(pid); err == nil && m.RSS > s.peak.Load() {
				s.peak.Store(m.RSS)
			}
			select {
			case <-s.done:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// stop ends sampling and returns the peak VmRSS seen, in KiB.
func (s *rssSampler) stop() int64 {
	close(s.done)
	s.wg.Wait()
	return s.peak.Load()
}

// rssFigures is the server's memory around one scenario, in KiB.
type rssFigures struct {
	IdleKB     int64 `json:"idle_kb,omitempty"`
	IdleAnonKB int64 `json:"idle_anon_kb,omitempty"`
	IdleFileKB int64 `json:"idle_file_kb,omitempty"`
	// IdleBeforeLoad marks an idle figure of a server the tool did not
	// start: read before this run's load, not 2 s after the server started.
	IdleBeforeLoad bool `json:"idle_before_load,omitempty"`
	// PeakKB is the largest VmRSS sampled every 100 ms during the
	// scenario; HWMKB the process's VmHWM after it (its lifetime peak,
	// which for a server the tool started is this scenario's peak).
	PeakKB  int64 `json:"peak_sampled_kb,omitempty"`
	HWMKB   int64 `json:"hwm_kb,omitempty"`
	AfterKB int64 `json:"after_kb,omitempty"`
}

// cpuWindow measures the server's and the tool's CPU over a region.
type cpuWindow struct {
	pid        int
	wall       time.Time
	server     time.Duration
	serverOK   bool
	tool       time.Duration
	ServerSecs float64 `json:"server_cpu_s,omitempty"`
	ToolSecs   float64 `json:"tool_cpu_s"`
	// Cores kept busy on average over the region.
	ServerCores float64 `json:"server_cores,omitempty"`
	ToolCores   float64 `json:"tool_cores"`
}

func startCPU(pid int) *cpuWindow {
	w := &cpuWindow{pid: pid, wall: time.Now(), tool: selfCPU()}
	if c, err := processCPU(pid); err == nil {
		w.server, w.serverOK = c, true
	}
	return w
}

// stop fills in the figures.
func (w *cpuWindow) stop() {
	wall := time.Since(w.wall).Seconds()
	w.ToolSecs = (selfCPU() - w.tool).Seconds()
	w.ToolCores = w.ToolSecs / wall
	if c, err := processCPU(w.pid); err == nil && w.serverOK {
		w.ServerSecs = (c - w.server).Seconds()
		w.ServerCores = w.ServerSecs / wall
	}
}

// fakeStats is what the fake hosts saw.
type fakeStats struct {
	Hosts         int    `json:"hosts"`
	Actors        int    `json:"actors"`
	GETs          int64  `json:"gets"`
	POSTs         int64  `json:"posts"`
	Bad           int64  `json:"bad_requests"`
	DigestFail    int64  `json:"digest_failures"`
	SigChecked    int64  `json:"signatures_checked"`
	SigFail       int64  `json:"signature_failures"`
	FirstSigError string `json:"first_signature_error,omitempty"`
	FirstBad      string `json:"first_bad_request,omitempty"`
}

func (n *fakeNet) stats() fakeStats {
	s := fakeStats{Hosts: len(n.hosts), Actors: len(n.actors), GETs: n.gets.Load(), POSTs: n.posts.Load(), Bad: n.bad.Load(),
		DigestFail: n.digestFail.Load(), SigChecked: n.sigChecked.Load(), SigFail: n.sigFail.Load()}
	s.FirstSigError, _ = n.firstSigErr.Load().(string)
	s.FirstBad, _ = n.firstBad.Load().(string)
	return s
}

// ceiling is what this harness could reach at best: the same client,
// workers and signed bodies against an in-process loopback handler that
// only reads the body and answers 202. No inbox can beat it here, since
// client and server share the cores.
type ceiling struct {
	Posts     int     `json:"posts"`
	PerSec    float64 `json:"per_sec"`
	CPUPerUS  float64 `json:"cpu_per_post_us"` // client and null server together
	PctFloor  float64 `json:"pct_floor"`
	ToolCores float64 `json:"cores"`
}

// harnessCeiling measures the ceiling with copies of posts.
func harnessCeiling(ctx context.Context, conc int, posts []*preparedPost) (ceiling, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return ceiling{}, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	defer srv.Close()
	base := "http://" + l.Addr().String()
	copies := make([]*preparedPost, len(posts))
	for i, p := range posts {
		u, err := url.Parse(p.url)
		if err != nil {
			return ceiling{}, err
		}
		copies[i] = &preparedPost{url: base + u.RequestURI(), header: p.header.Clone(), body: p.body}
	}
	hc := newClient(conc)
	defer hc.CloseIdleConnections()
	cpu := startCPU(0)
	r := sendAll(ctx, hc, copies, conc, http.StatusAccepted)
	cpu.stop()
	if r.ok != len(copies) {
		return ceiling{}, fmt.Errorf("harness ceiling: %d of %d answered 202: %v", r.ok, len(copies), r.firstErr)
	}
	c := ceiling{Posts: r.ok, PerSec: float64(r.ok) / r.elapsed.Seconds(), ToolCores: cpu.ToolCores}
	c.CPUPerUS = cpu.ToolSecs * 1e6 / float64(r.ok)
	return c, ctx.Err()
}
