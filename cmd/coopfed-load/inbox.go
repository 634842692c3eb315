package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// inboxResult is the inbox scenario's outcome.
type inboxResult struct {
	Actors      int    `json:"actors"`
	Hosts       int    `json:"hosts"`
	Keys        int    `json:"keys"`
	Posts       int    `json:"posts"`
	Concurrency int    `json:"concurrency"`
	BodyBytes   int    `json:"body_bytes"`
	InboxURL    string `json:"inbox_url"`

	SetupSeconds   float64 `json:"setup_s"` // follows through the API until all accepted
	PresignSeconds float64 `json:"presign_s"`

	Seconds     float64           `json:"seconds"` // timed window
	Accepted    int               `json:"accepted"`
	Errors      map[string]int    `json:"errors"`
	FirstErrors map[string]string `json:"first_errors,omitempty"`
	PerSec      float64           `json:"accepted_per_s"`
	Latency     latencies         `json:"latency"`

	// InTimeline counts this run's notes found in the coop's timeline
	// afterwards; Lost is accepted but absent, Extra present but not
	// answered 202 (a request the client gave up on, for instance).
	InTimeline int `json:"in_timeline"`
	Lost       int `json:"lost"`
	Extra      int `json:"extra"`

	Floor    floor   `json:"floor"`
	PctFloor float64 `json:"pct_floor"`
	// Server is the same load, right after, against this tool's minimal
	// verifying server (verifyserver.go); PctServer is coopfed's rate
	// against its rate.
	Server    *serverFloor `json:"floor_server,omitempty"`
	PctServer float64      `json:"pct_floor_server,omitempty"`
	// PctServerCPU is the verifying server's CPU per post against
	// coopfed's (needs the server's pid).
	PctServerCPU float64 `json:"pct_floor_server_cpu,omitempty"`
	// Ceiling is the best this harness could measure on these cores.
	Ceiling ceiling `json:"harness_ceiling"`
	// CPU view: the server's CPU per accepted post against the floor's CPU
	// per operation (needs the server's pid).
	CPU            cpuWindow `json:"cpu"`
	ServerCPUPerUS float64   `json:"server_cpu_per_post_us,omitempty"`
	PctFloorCPU    float64   `json:"pct_floor_cpu,omitempty"`

	Fake    fakeStats  `json:"fake_hosts"`
	RSS     rssFigures `json:"rss"`
	LoadAvg [2]float64 `json:"loadavg_1m_before_after"`
}

// runTag returns a random tag that keeps this run's ids apart from any
// earlier run's.
func runTag() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

const contextAS = "https://www.w3.org/ns/activitystreams"

// runInbox runs the inbox scenario against t.
func runInbox(ctx context.Context, cfg config, t *target, keys []*fakeKey, logf func(string, ...any)) (*inboxResult, error) {
	res := &inboxResult{Actors: cfg.Actors, Hosts: cfg.InboxHosts, Keys: len(keys), Posts: cfg.Posts, Concurrency: cfg.Concurrency}
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
	tag := runTag()
	res.InboxURL = coop.Inbox
	if coop.SharedInbox != "" {
		// Mastodon delivers to the shared inbox when one is advertised.
		res.InboxURL = coop.SharedInbox
	}

	// The fake inboxes answer each Follow of the coop with a signed
	// Accept, embedding the Follow, from a small pool of senders.
	setup, cancelSetup := context.WithTimeout(ctx, cfg.SetupTimeout)
	defer cancelSetup()
	follows := make(chan *received, 2*cfg.Actors)
	var dropped, unexpected atomic.Int64
	sink := func(r *received) {
		if r.typ == "Follow" && r.actor != nil && r.from == coop.ID && r.objectID == r.actor.iri {
			select {
			case follows <- r:
			default:
				dropped.Add(1)
			}
			return
		}
		unexpected.Add(1)
	}
	fn, err := newFakeNet(netSpec{hosts: cfg.InboxHosts, actors: cfg.Actors, keys: keys, shared: true, namePrefix: "u", coop: coop, verifyEvery: cfg.VerifyEvery, sink: sink})
	if err != nil {
		return res, err
	}
	defer fn.Close()
	var acceptOK, acceptFail atomic.Int64
	var acceptErr atomic.Value
	var accepters sync.WaitGroup
	for w := range 4 {
		accepters.Add(1)
		go func() {
			defer accepters.Done()
			s := signers{}
			for i := range cap(follows) { // bounded by count and by setup's deadline
				var r *received
				select {
				case r = <-follows:
				case <-setup.Done():
					return
				}
				if err := sendAccept(setup, hc, s, r, coop, fmt.Sprintf("%s-%d-%d", tag, w, i)); err != nil {
					acceptFail.Add(1)
					acceptErr.CompareAndSwap(nil, err.Error())
				} else {
					acceptOK.Add(1)
				}
			}
		}()
	}
	defer accepters.Wait()
	defer cancelSetup()

	logf("inbox: the coop follows %d actors on %d fake hosts", cfg.Actors, cfg.InboxHosts)
	t0 := time.Now()
	if err := followAll(setup, api, fn.actors, min(8, cfg.Concurrency)); err != nil {
		return res, err
	}
	ours := map[string]bool{}
	for _, a := range fn.actors {
		ours[a.iri] = true
	}
	err = waitFor(setup, 100*time.Millisecond, func() (bool, error) {
		if n := acceptFail.Load(); n > 0 {
			return false, fmt.Errorf("%d Accepts refused; first: %v", n, acceptErr.Load())
		}
		return acceptOK.Load() >= int64(cfg.Actors), nil
	})
	if err != nil {
		return res, fmt.Errorf("inbox: waiting for the Accepts to be sent (%d of %d, %d dropped): %w", acceptOK.Load(), cfg.Actors, dropped.Load(), err)
	}
	err = waitFor(setup, 200*time.Millisecond, func() (bool, error) {
		list, err := api.listFollows(setup, "following", "accepted", cfg.Actors/200+1000)
		n := 0
		for _, it := range list {
			if ours[it.Actor] {
				n++
			}
		}
		return n == cfg.Actors, err
	})
	if err != nil {
		return res, fmt.Errorf("inbox: waiting until the server lists every follow as accepted: %w", err)
	}
	res.SetupSeconds = time.Since(t0).Seconds()
	cancelSetup()

	// Warm-up: one post per actor, so every key is cached by the server.
	noteURL := func(a *fakeActor, phase string, i int) string {
		return fmt.Sprintf("%s/statuses/%s-%s-%d", a.iri, tag, phase, i)
	}
	build := func(phase string) func(i int) (*fakeActor, string, []byte) {
		return func(i int) (*fakeActor, string, []byte) {
			a := fn.actors[i%len(fn.actors)]
			return a, res.InboxURL, noteBody(a, coop.ID, noteURL(a, phase, i), i)
		}
	}
	warm, err := prepareAll(ctx, cfg.Actors, time.Now(), build("w"))
	if err != nil {
		return res, err
	}
	if r := sendAll(ctx, hc, warm, cfg.Concurrency, http.StatusAccepted); r.ok != len(warm) {
		return res, fmt.Errorf("inbox: warm-up posts: %d of %d accepted; %v %v", r.ok, len(warm), r.errors, r.firstErr)
	}

	// Signing is the client's cost: every post is signed before the
	// window opens, dated now (the server allows one hour).
	logf("inbox: signing %d posts", cfg.Posts)
	t0 = time.Now()
	posts, err := prepareAll(ctx, cfg.Posts, time.Now(), build("p"))
	if err != nil {
		return res, err
	}
	res.PresignSeconds = time.Since(t0).Seconds()
	res.BodyBytes = len(posts[0].body)

	// The floor before the window, the server idle (and again after).
	what, floorOp, err := inboxFloorOp(keys[0].priv, posts[0].body)
	if err != nil {
		return res, err
	}
	res.Floor.What = what
	if err := res.Floor.measure(ctx, 0, cfg.FloorTime, floorOp); err != nil {
		return res, err
	}

	logf("inbox: sending %d posts with %d workers", cfg.Posts, cfg.Concurrency)
	runCtx, cancelRun := context.WithTimeout(ctx, cfg.RunTimeout)
	defer cancelRun()
	sampler := sampleRSS(t.PID, 100*time.Millisecond, int(cfg.RunTimeout/(100*time.Millisecond))+1)
	cpu := startCPU(t.PID)
	sent := sendAll(runCtx, hc, posts, cfg.Concurrency, http.StatusAccepted)
	cpu.stop()
	res.RSS.PeakKB = sampler.stop()
	cancelRun()
	res.CPU = *cpu
	res.Seconds = sent.elapsed.Seconds()
	res.Accepted = sent.ok
	res.Errors, res.FirstErrors = sent.errors, sent.firstErr
	res.PerSec = float64(sent.ok) / sent.elapsed.Seconds()
	res.Latency = summarise(sent.latencies)
	logf("inbox: %d accepted in %.1fs (%.0f/s), errors %v", sent.ok, res.Seconds, res.PerSec, sent.errors)

	if err := res.Floor.measure(ctx, 1, cfg.FloorTime, floorOp); err != nil {
		return res, err
	}
	// The same posts, signed for it, against the minimal verifying server.
	if res.Server, err = runServerFloor(ctx, cfg, fn.actors, coop.ID, tag, logf); err != nil {
		return res, err
	}
	if res.Server.PerSec > 0 {
		res.PctServer = 100 * res.PerSec / res.Server.PerSec
	}
	// Copies of already sent posts: the ceiling needs no new signatures.
	if res.Ceiling, err = harnessCeiling(ctx, cfg.Concurrency, posts[:min(len(posts), 10000)]); err != nil {
		return res, err
	}
	res.Ceiling.PctFloor = 100 * res.Ceiling.PerSec / res.Floor.PerSec
	res.PctFloor = 100 * res.PerSec / res.Floor.PerSec
	if res.CPU.ServerSecs > 0 && sent.ok > 0 {
		res.ServerCPUPerUS = res.CPU.ServerSecs * 1e6 / float64(sent.ok)
		res.PctFloorCPU = 100 * res.Floor.CPUPerOpUS / res.ServerCPUPerUS
	}
	if f := res.Server; f.Accepted > 0 && sent.ok > 0 && f.ToolCPUSecs > res.CPU.ToolSecs {
		// Both windows sent the same number of requests, so the client's
		// share is the same.
		f.CPUPerPostUS = (f.ToolCPUSecs - res.CPU.ToolSecs) * 1e6 / float64(f.Accepted)
		if res.ServerCPUPerUS > 0 && f.CPUPerPostUS > 0 {
			res.PctServerCPU = 100 * f.CPUPerPostUS / res.ServerCPUPerUS
		}
	}

	// Nothing lost: every accepted post is in the timeline, once.
	accepted := map[string]bool{}
	prefix := "/statuses/" + tag + "-p-"
	items, err := api.timeline(ctx, (cfg.Posts+cfg.Actors)/200+1000)
	if err != nil {
		return res, fmt.Errorf("inbox: reading the timeline: %w", err)
	}
	for _, it := range items {
		if strings.Contains(it.Activity, prefix) {
			accepted[it.Activity] = true
		}
	}
	res.InTimeline = len(accepted)
	res.Lost = max(sent.ok-res.InTimeline, 0)
	res.Extra = max(res.InTimeline-sent.ok, 0)
	res.Fake = fn.stats()
	if m, err := readMem(t.PID); err == nil {
		res.RSS.AfterKB, res.RSS.HWMKB = m.RSS, m.HWM
	}
	res.LoadAvg[1] = loadAverage()
	if n := unexpected.Load(); n > 0 {
		logf("inbox: the fake hosts received %d unexpected POSTs", n)
	}
	return res, nil
}

// followAll makes the coop follow every actor through the API, with a few
// requests in flight.
func followAll(ctx context.Context, api *api, actors []*fakeActor, workers int) error {
	var next atomic.Int64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(actors) || ctx.Err() != nil {
					return
				}
				if _, err := api.call(ctx, http.MethodPost, api.coopPath("/following"), map[string]string{"actor": actors[i].iri}, nil); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					next.Store(int64(len(actors)))
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("follow through the API: %w", errs[0])
	}
	return ctx.Err()
}

// sendAccept answers the coop's Follow as the followed actor: a signed
// Accept embedding the Follow, POSTed to the coop's inbox.
func sendAccept(ctx context.Context, hc *http.Client, s signers, r *received, coop *coopDoc, seq string) error {
	a := r.actor
	// Embedded by id, type, actor and object, as Mastodon does.
	follow := map[string]any{"id": r.id, "type": "Follow", "actor": r.from, "object": a.iri}
	body, err := json.Marshal(map[string]any{
		"@context": contextAS, "id": a.iri + "/accepts/" + seq, "type": "Accept", "actor": a.iri, "object": follow,
	})
	if err != nil {
		return err
	}
	p, err := s.prepare(a, coop.Inbox, body, time.Now())
	if err != nil {
		return err
	}
	req, err := p.request(ctx)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("Accept answered %d", resp.StatusCode)
	}
	return nil
}

// waitFor polls cond every interval until it holds, fails, or ctx ends;
// ctx must carry a deadline, which also bounds the number of polls.
func waitFor(ctx context.Context, interval time.Duration, cond func() (bool, error)) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		return errors.New("waitFor needs a deadline")
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var err error
	for range int(time.Until(deadline)/interval) + 2 {
		var done bool
		if done, err = cond(); done {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
	return fmt.Errorf("still waiting after %d polls (last error: %v)", int(time.Until(deadline)/interval)+2, err)
}

// noteBody is a Create(Note) shaped as Mastodon 4 sends a followers-only
// post that mentions the coop, about 2 KB, like the one of federation's
// inbox benchmark.
func noteBody(a *fakeActor, coopIRI, id string, i int) []byte {
	note := id + "/object"
	host := a.host.url
	content := fmt.Sprintf(`<p>We have <a href="%s/tags/surplus" class="mention hashtag" rel="tag">#<span>surplus</span></a> bread: `+
		`forty loaves, free by Saturday (batch %d).</p>`+
		`<p>Bring boxes; ask for <span class="h-card"><a href="%s/@bob" class="u-url mention">@<span>bob</span></a></span>.</p>`, host, i, host)
	doc := map[string]any{
		"@context": []any{contextAS, map[string]any{
			"ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri", "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
			"conversation": "ostatus:conversation", "sensitive": "as:sensitive", "toot": "http://joinmastodon.org/ns#",
			"votersCount": "toot:votersCount", "Hashtag": "as:Hashtag"}},
		"id":        id,
		"type":      "Create",
		"actor":     a.iri,
		"published": "2024-05-01T12:00:00Z",
		"to":        []string{a.iri + "/followers"},
		"cc":        []string{coopIRI},
		"object": map[string]any{
			"id": note, "type": "Note", "summary": nil, "inReplyTo": nil, "published": "2024-05-01T12:00:00Z",
			"url": note, "attributedTo": a.iri, "to": []string{a.iri + "/followers"}, "cc": []string{coopIRI},
			"sensitive": false, "atomUri": note, "inReplyToAtomUri": nil,
			"conversation": fmt.Sprintf("tag:%s,2024-05-01:objectId=%d:objectType=Conversation", a.host.hostport, i),
			"content":      content, "contentMap": map[string]any{"en": content},
			"attachment": []any{},
			// The coop is mentioned, as a post that tags it is: Mastodon
			// delivers those to the coop whoever follows whom.
			"tag": []any{map[string]any{"type": "Hashtag", "href": host + "/tags/surplus", "name": "#surplus"},
				map[string]any{"type": "Mention", "href": coopIRI, "name": "@coop"}},
		},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // only strings and maps: cannot fail
	}
	return b
}

// serverFloor is the inbox load against this tool's verifying server.
type serverFloor struct {
	What     string            `json:"what"`
	URL      string            `json:"url"`
	Posts    int               `json:"posts"`
	Seconds  float64           `json:"seconds"`
	Accepted int               `json:"accepted"`
	PerSec   float64           `json:"accepted_per_s"`
	Errors   map[string]int    `json:"errors"`
	First    map[string]string `json:"first_errors,omitempty"`
	Latency  latencies         `json:"latency"`
	// Synced counts the lines the file holds afterwards; Lost is
	// accepted but not in the file.
	Synced int64 `json:"synced"`
	Lost   int   `json:"lost"`
	Fsyncs int64 `json:"fsyncs"`
	// ToolCPUSecs is this process's CPU over the window: the verifying
	// server's and the client's. Less the client's CPU of coopfed's
	// window (the same posts and workers), it gives the server's CPU per
	// post (CPUPerPostUS), steadier than rates on a shared machine.
	ToolCPUSecs  float64 `json:"tool_cpu_s"`
	CPUPerPostUS float64 `json:"cpu_per_post_us,omitempty"`
}

// runServerFloor sends cfg.Posts posts of the same actors and shape, with
// the same workers, to a verifying server started for the purpose.
func runServerFloor(ctx context.Context, cfg config, actors []*fakeActor, coopIRI, tag string, logf func(string, ...any)) (*serverFloor, error) {
	dir, err := os.MkdirTemp("", "coopfed-load-floor-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	vs, err := startVerifyServer(filepath.Join(dir, "inbox.log"), actors)
	if err != nil {
		return nil, err
	}
	defer vs.Close()
	res := &serverFloor{What: "HTTP server: signature checked (Date, Digest, RSA-2048 verify) + body appended to a file, fsync before 202 (one fsync per batch)", URL: vs.URL + "/inbox", Posts: cfg.Posts}
	logf("inbox: signing %d posts for the verifying server", cfg.Posts)
	posts, err := prepareAll(ctx, cfg.Posts, time.Now(), func(i int) (*fakeActor, string, []byte) {
		a := actors[i%len(actors)]
		return a, res.URL, noteBody(a, coopIRI, fmt.Sprintf("%s/statuses/%s-f-%d", a.iri, tag, i), i)
	})
	if err != nil {
		return nil, err
	}
	hc := newClient(cfg.Concurrency)
	defer hc.CloseIdleConnections()
	runCtx, cancel := context.WithTimeout(ctx, cfg.RunTimeout)
	defer cancel()
	logf("inbox: sending %d posts to the verifying server with %d workers", cfg.Posts, cfg.Concurrency)
	cpu := startCPU(0)
	sent := sendAll(runCtx, hc, posts, cfg.Concurrency, http.StatusAccepted)
	cpu.stop()
	res.ToolCPUSecs = cpu.ToolSecs
	res.Seconds = sent.elapsed.Seconds()
	res.Accepted, res.Errors, res.First = sent.ok, sent.errors, sent.firstErr
	res.PerSec = float64(sent.ok) / sent.elapsed.Seconds()
	res.Latency = summarise(sent.latencies)
	res.Fsyncs = vs.fsyncs.Load()
	if res.Synced, err = vs.countLines(); err != nil {
		return nil, err
	}
	res.Lost = max(sent.ok-int(res.Synced), 0)
	logf("inbox: verifying server accepted %d in %.1fs (%.0f/s), errors %v", sent.ok, res.Seconds, res.PerSec, sent.errors)
	return res, nil
}
