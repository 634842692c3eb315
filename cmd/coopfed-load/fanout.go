package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// fanoutResult is the outcome of one fan-out scenario.
type fanoutResult struct {
	Mode      string `json:"mode"` // "shared" or "personal"
	Followers int    `json:"followers"`
	Hosts     int    `json:"hosts"`
	// PreexistingFollowers were followers of the coop before the run
	// (only with --target); their deliveries share the window.
	PreexistingFollowers int `json:"preexisting_followers,omitempty"`

	// Set-up: every follower POSTs a signed Follow to the coop, which
	// fetches the actor, accepts and sends Accept to its personal inbox.
	FollowSeconds     float64           `json:"follow_s"`
	FollowsPerSec     float64           `json:"follows_per_s"`
	FollowErrors      map[string]int    `json:"follow_errors"`
	FollowFirstErrors map[string]string `json:"follow_first_errors,omitempty"`
	FollowLatency     latencies         `json:"follow_latency"`
	AcceptsReceived   int64             `json:"accepts_received"`
	AcceptsBad        int64             `json:"accepts_bad"`
	// AcceptLatency is from the server's 202 to a Follow until its
	// Accept reached the follower's inbox.
	AcceptLatency latencies `json:"accept_latency"`
	SetupSeconds  float64   `json:"setup_s"` // until every Accept arrived and the API lists all

	// The timed window: publish one announcement through the API until
	// the last expected inbox has it.
	Expected      int     `json:"expected_inboxes"`
	PublishAPIms  float64 `json:"publish_api_ms"`
	FirstMs       float64 `json:"first_delivery_ms"`
	Seconds       float64 `json:"seconds"`
	Delivered     int64   `json:"inboxes_reached"`
	PerSec        float64 `json:"deliveries_per_s"`
	Missing       int64   `json:"missing"`
	Duplicates    int64   `json:"duplicates"`
	Misrouted     int64   `json:"misrouted"`
	WrongObject   int64   `json:"wrong_object"`
	AnnouncedNote string  `json:"announced_note"`

	Floor          floor     `json:"floor"`
	PctFloor       float64   `json:"pct_floor"`
	CPU            cpuWindow `json:"cpu"`
	ServerCPUPerUS float64   `json:"server_cpu_per_delivery_us,omitempty"`
	PctFloorCPU    float64   `json:"pct_floor_cpu,omitempty"`

	Fake    fakeStats  `json:"fake_hosts"`
	RSS     rssFigures `json:"rss"`
	LoadAvg [2]float64 `json:"loadavg_1m_before_after"`
}

// runFanout runs the fan-out scenario against t: with shared inboxes (one
// POST per host expected) or, when personal, personal inboxes only (one
// POST per follower).
func runFanout(ctx context.Context, cfg config, t *target, keys []*fakeKey, personal bool, logf func(string, ...any)) (*fanoutResult, error) {
	mode := "shared"
	if personal {
		mode = "personal"
	}
	res := &fanoutResult{Mode: mode, Followers: cfg.Followers, Hosts: cfg.Hosts}
	res.LoadAvg[0] = loadAverage()
	res.RSS.IdleKB, res.RSS.IdleAnonKB, res.RSS.IdleFileKB = t.IdleRSS.RSS, t.IdleRSS.Anon, t.IdleRSS.File
	res.RSS.IdleBeforeLoad = t.External
	hc := newClient(cfg.Concurrency)
	defer hc.CloseIdleConnections()
	api := &api{t: t, hc: hc}
	coop, err := fetchCoop(ctx, hc, t)
	if err != nil {
		return res, err
	}
	// Why: the announcement goes to every follower; one off loopback
	// would make this run contact the outside world.
	pre, err := api.listFollows(ctx, "followers", "", 5000)
	if err != nil {
		return res, err
	}
	for _, f := range pre {
		if !loopbackIRI(f.Actor) {
			return res, fmt.Errorf("fanout: the coop has a follower off loopback (%s): publishing would reach it; use a fresh server", f.Actor)
		}
	}
	res.PreexistingFollowers = len(pre)
	tag := runTag()
	expected := cfg.Hosts
	if personal {
		expected = cfg.Followers
	}
	res.Expected = expected

	// What the fake inboxes count.
	accepts := make([]atomic.Int32, cfg.Followers)
	acceptAt := make([]atomic.Int64, cfg.Followers) // unix ns of the first Accept
	creates := make([]atomic.Int32, expected)
	var acceptsOK, acceptsBad, reached, misrouted, other atomic.Int64
	var firstAt, lastAt atomic.Int64 // unix ns of the first and of the latest first arrival
	var objMu sync.Mutex
	objects := map[string]int64{}
	done := make(chan struct{})
	var doneOnce sync.Once
	sink := func(r *received) {
		switch r.typ {
		case "Accept":
			if r.actor == nil || r.from != coop.ID || r.objectID != r.actor.followID {
				acceptsBad.Add(1)
				return
			}
			if accepts[r.actor.index].Add(1) == 1 {
				acceptAt[r.actor.index].Store(r.at.UnixNano())
				acceptsOK.Add(1)
			}
		case "Create":
			idx := -1
			switch {
			case !personal && r.actor == nil:
				idx = r.host.index
			case personal && r.actor != nil:
				idx = r.actor.index
			}
			if idx < 0 {
				misrouted.Add(1)
				return
			}
			objMu.Lock()
			objects[r.objectID]++
			objMu.Unlock()
			at := r.at.UnixNano()
			firstAt.CompareAndSwap(0, at)
			if creates[idx].Add(1) == 1 {
				for range 1000 { // keep the latest first arrival
					cur := lastAt.Load()
					if at <= cur || lastAt.CompareAndSwap(cur, at) {
						break
					}
				}
				if reached.Add(1) == int64(expected) {
					doneOnce.Do(func() { close(done) })
				}
			}
		default:
			other.Add(1)
		}
	}
	fn, err := newFakeNet(netSpec{hosts: cfg.Hosts, actors: cfg.Followers, keys: keys, shared: !personal, namePrefix: "f", coop: coop, verifyEvery: cfg.VerifyEvery, sink: sink})
	if err != nil {
		return res, err
	}
	defer fn.Close()
	for _, a := range fn.actors {
		a.followID = a.iri + "/follows/" + tag
	}

	// Set-up: every actor follows the coop.
	logf("%s: signing %d Follows from %d fake hosts", mode, cfg.Followers, cfg.Hosts)
	follows, err := prepareAll(ctx, cfg.Followers, time.Now(), func(i int) (*fakeActor, string, []byte) {
		a := fn.actors[i]
		body, _ := json.Marshal(map[string]any{"@context": contextAS, "id": a.followID, "type": "Follow", "actor": a.iri, "object": coop.ID})
		return a, coop.Inbox, body
	})
	if err != nil {
		return res, err
	}
	setup, cancelSetup := context.WithTimeout(ctx, cfg.SetupTimeout)
	defer cancelSetup()
	logf("%s: sending %d Follows with %d workers", mode, cfg.Followers, cfg.Concurrency)
	t0 := time.Now()
	sent := sendAll(setup, hc, follows, cfg.Concurrency, http.StatusAccepted)
	res.FollowSeconds = sent.elapsed.Seconds()
	res.FollowsPerSec = float64(sent.ok) / sent.elapsed.Seconds()
	res.FollowErrors, res.FollowFirstErrors = sent.errors, sent.firstErr
	res.FollowLatency = summarise(sent.latencies)
	if sent.ok != cfg.Followers {
		return res, fmt.Errorf("%s: %d of %d Follows accepted; %v %v", mode, sent.ok, cfg.Followers, sent.errors, sent.firstErr)
	}
	logf("%s: %d Follows accepted in %.1fs (%.0f/s); waiting for the Accepts", mode, sent.ok, res.FollowSeconds, res.FollowsPerSec)
	err = waitFor(setup, 20*time.Millisecond, func() (bool, error) { return acceptsOK.Load() == int64(cfg.Followers), nil })
	res.AcceptsReceived, res.AcceptsBad = acceptsOK.Load(), acceptsBad.Load()
	if err != nil {
		return res, fmt.Errorf("%s: %d of %d Accepts arrived: %w", mode, acceptsOK.Load(), cfg.Followers, err)
	}
	var acceptLat []time.Duration
	for i := range acceptAt {
		if at, done := acceptAt[i].Load(), sent.done[i]; at > 0 && !done.IsZero() {
			acceptLat = append(acceptLat, max(time.Unix(0, at).Sub(done), 0))
		}
	}
	res.AcceptLatency = summarise(acceptLat)
	ours := map[string]bool{}
	for _, a := range fn.actors {
		ours[a.iri] = true
	}
	err = waitFor(setup, 500*time.Millisecond, func() (bool, error) {
		list, err := api.listFollows(setup, "followers", "accepted", cfg.Followers/200+5000)
		n := 0
		for _, it := range list {
			if ours[it.Actor] {
				n++
			}
		}
		return n == cfg.Followers, err
	})
	if err != nil {
		return res, fmt.Errorf("%s: waiting until the API lists every follower as accepted: %w", mode, err)
	}
	res.SetupSeconds = time.Since(t0).Seconds()
	cancelSetup()
	// Let the server record the Accepts' delivery results first.
	select {
	case <-time.After(500 * time.Millisecond):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	if n := reached.Load() + misrouted.Load(); n > 0 {
		return res, fmt.Errorf("%s: %d Creates arrived before anything was published", mode, n)
	}
	// The floor before the window, the server idle (and again after).
	what, floorOp := signFloorOp(keys[0].priv)
	res.Floor.What = what
	if err := res.Floor.measure(ctx, 0, cfg.FloorTime, floorOp); err != nil {
		return res, err
	}

	// The timed window.
	logf("%s: publishing one announcement to %d followers (%d inboxes expected)", mode, cfg.Followers, expected)
	runCtx, cancelRun := context.WithTimeout(ctx, cfg.RunTimeout)
	defer cancelRun()
	sampler := sampleRSS(t.PID, 100*time.Millisecond, int(cfg.RunTimeout/(100*time.Millisecond))+1)
	cpu := startCPU(t.PID)
	start := time.Now()
	var note struct {
		ID string `json:"id"`
	}
	_, err = api.call(runCtx, http.MethodPost, api.coopPath("/announcements"),
		map[string]string{"content": "Load test " + tag + ": surplus sourdough and apples at the back door from seven on Saturday; bring boxes."}, &note)
	res.PublishAPIms = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		sampler.stop()
		return res, err
	}
	res.AnnouncedNote = note.ID
	select {
	case <-done:
	case <-runCtx.Done():
	}
	cpu.stop()
	res.RSS.PeakKB = sampler.stop()
	res.CPU = *cpu
	res.Delivered = reached.Load()
	if last := lastAt.Load(); last > 0 {
		res.Seconds = time.Unix(0, last).Sub(start).Seconds()
		res.FirstMs = float64(time.Unix(0, firstAt.Load()).Sub(start).Microseconds()) / 1000
	}
	if res.Delivered < int64(expected) {
		res.Seconds = time.Since(start).Seconds()
	}
	res.PerSec = float64(res.Delivered) / res.Seconds
	logf("%s: %d of %d inboxes reached in %.3fs (%.0f deliveries/s)", mode, res.Delivered, expected, res.Seconds, res.PerSec)

	// Duplicates would come late: wait a little before counting.
	select {
	case <-time.After(cfg.Grace):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	res.Missing = int64(expected) - reached.Load()
	for i := range creates {
		if n := creates[i].Load(); n > 1 {
			res.Duplicates += int64(n - 1)
		}
	}
	res.Misrouted = misrouted.Load()
	objMu.Lock()
	for id, n := range objects {
		if id != note.ID {
			res.WrongObject += n
		}
	}
	objMu.Unlock()

	if err := res.Floor.measure(ctx, 1, cfg.FloorTime, floorOp); err != nil {
		return res, err
	}
	res.PctFloor = 100 * res.PerSec / res.Floor.PerSec
	if res.CPU.ServerSecs > 0 && res.Delivered > 0 {
		res.ServerCPUPerUS = res.CPU.ServerSecs * 1e6 / float64(res.Delivered)
		res.PctFloorCPU = 100 * res.Floor.CPUPerOpUS / res.ServerCPUPerUS
	}
	res.Fake = fn.stats()
	if m, err := readMem(t.PID); err == nil {
		res.RSS.AfterKB, res.RSS.HWMKB = m.RSS, m.HWM
	}
	res.LoadAvg[1] = loadAverage()
	if n := other.Load(); n > 0 {
		logf("%s: the fake hosts received %d other activities", mode, n)
	}
	return res, nil
}

// loopbackIRI reports whether an IRI's host is a loopback address or
// localhost.
func loopbackIRI(iri string) bool {
	u, err := url.Parse(iri)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(u.Hostname())
	return err == nil && ip.Unmap().IsLoopback()
}
