// Command coopfed-load measures a live coopfed instance over loopback and
// states every figure against a cost floor measured in the same run.
//
// It plays the rest of the fediverse itself: fake Mastodon-like hosts
// listen on loopback addresses 127.0.x.y (all of 127.0.0.0/8 is loopback on
// Linux), serve actors and WebFinger, sign what their actors send and
// check what they receive. Nothing but loopback is ever contacted.
//
// Scenarios (--scenarios, default all three, each on a fresh server):
//
//	inbox     N actors (--actors) on H fake hosts (--inbox-hosts), whom
//	          the coop follows, send M signed Create(Note) that mention
//	          the coop (--posts) with C workers (--concurrency):
//	          accepted/s, p50/p99 latency, errors by status (429s among
//	          them), and a check that every accepted note is in the
//	          coop's timeline. The same posts then go, in the same run,
//	          to a minimal verifying server of this tool (signature
//	          checked, body appended to a file, fsync before 202), the
//	          floor coopfed is compared with. A busy peer, as
//	          mastodon.social is to a popular coop, is
//	          --actors 8 --inbox-hosts 1 --concurrency 32 --posts 6000.
//	fanout    F actors (--followers) on H hosts (--hosts) that advertise
//	          a shared inbox follow the coop; one announcement is published
//	          and timed until the last host has it: deliveries/s = H/elapsed.
//	personal  the same with personal inboxes only: F deliveries.
//
// Floors are measured in-process right before and right after each timed
// window (--floor-time each, the server idle): the inbox floor is RSA-2048
// PKCS#1 v1.5 verify + SHA-256 of a body of the posts' size +
// json.Unmarshal into map[string]any; the fan-out floor is RSA-2048
// signing. Each is run on one goroutine and on GOMAXPROCS goroutines, and
// the floor is the best of max(all cores, one core x GOMAXPROCS): on a
// shared machine, the hardest bar. Besides rates, the server's CPU time
// per operation (from /proc/PID/stat) is set against the floor's CPU per
// operation (pct_floor_cpu), which other load on the machine disturbs
// less. The inbox scenario also measures this harness's ceiling: the same
// client and bodies against an in-process handler that does nothing. The
// server's RSS (VmRSS, VmHWM, RssAnon, RssFile from /proc) is read 2 s
// after its start (idle), sampled during and read after each scenario.
// Goals: inbox >= 50 % of its floor, fan-out to 10,000 followers on 1,000
// hosts >= 80 % of the signing floor, nothing lost, idle RSS < 30 MB.
//
// Usage (from the module root; the server is a separate process):
//
//	go run -tags sqlite_fts5 ./cmd/coopfed-load --build
//	go run -tags sqlite_fts5 ./cmd/coopfed-load --server-bin ./coopfed --json
//	go run -tags sqlite_fts5 ./cmd/coopfed-load --build --actors 20 --posts 2000 --followers 500 --hosts 50
//	go run -tags sqlite_fts5 ./cmd/coopfed-load --target http://127.0.0.1:8080 --token T --pid 1234 --scenarios inbox
//
// --build compiles ./cmd/coopfed (with -tags sqlite_fts5) into a temporary
// directory; --server-bin names a binary; without either, a coopfed binary
// next to this one is used. The tool starts it as
//
//	coopfed serve --allow-private-network --addr 127.0.0.1:PORT --url http://127.0.0.1:PORT
//	              --db TMP/SCENARIO/load.db --coop NAME --inbox-rate 50
//
// reads the admin token it prints on first start and stops it with SIGTERM.
// --target measures a server already running on loopback instead (--token
// for its coop's API token, --pid for RSS and CPU figures); it must have
// been started with --allow-private-network, and since
// fan-out needs a coop with no other followers, run only one of fanout and
// personal against it. Output is a plain-text table followed by the raw
// numbers, or JSON with --json; progress goes to stderr. The exit status is
// 0 when the run completed (goals met or not), 1 on a failure, 2 on a usage
// error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(mainStatus(os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is a bad command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func mainStatus(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := cli(ctx, args, stdout, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintln(stderr, "coopfed-load:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "coopfed-load:", err)
		return 1
	}
}

// config is what one run measures and how long it may take.
type config struct {
	Coop string

	Actors      int // inbox: remote actors the coop follows
	Posts       int // inbox: Create(Note) sent in the timed window
	Concurrency int // parallel requests of the tool to the server
	InboxHosts  int // inbox: fake hosts the actors live on
	Keys        int // distinct RSA keys shared by the actors
	// ServerInboxRate is the started server's --inbox-rate: its default,
	// so that the per-host limit a busy peer meets is measured too.
	ServerInboxRate int
	// ServerProfileDir, when set, receives a CPU profile of each started
	// server (SCENARIO.prof, written when it stops).
	ServerProfileDir string

	Followers int // fan-out: followers of the coop
	Hosts     int // fan-out: fake hosts they live on

	Scenarios []string // of scenarioNames, in that order

	FloorTime    time.Duration // how long each floor is measured
	IdleWait     time.Duration // wait after start before the idle RSS
	SetupTimeout time.Duration // bound of each set-up phase (follows, accepts)
	RunTimeout   time.Duration // bound of each timed phase
	Grace        time.Duration // wait after the last delivery for duplicates
	VerifyEvery  int           // verify the signature of every Nth received POST
}

// scenarioNames lists the scenarios in the order they run.
var scenarioNames = []string{"inbox", "fanout", "personal"}

func defaultConfig() config {
	return config{
		Coop:   "coop",
		Actors: 200, Posts: 20000, Concurrency: 64, InboxHosts: 10, Keys: 4, ServerInboxRate: 50,
		Followers: 10000, Hosts: 1000,
		Scenarios:    scenarioNames,
		FloorTime:    2 * time.Second,
		IdleWait:     2 * time.Second,
		SetupTimeout: 3 * time.Minute,
		RunTimeout:   5 * time.Minute,
		Grace:        2 * time.Second,
		VerifyEvery:  10,
	}
}

func (c *config) validate() error {
	switch {
	case c.Coop == "" || strings.ContainsAny(c.Coop, "/?#@ "):
		return usageError{"--coop must be a plain coop name"}
	case c.Actors < 1 || c.Actors > 100000:
		return usageError{"--actors must be from 1 to 100000"}
	case c.Posts < 1 || c.Posts > 10000000:
		return usageError{"--posts must be from 1 to 10000000"}
	case c.Concurrency < 1 || c.Concurrency > 4096:
		return usageError{"--concurrency must be from 1 to 4096"}
	case c.InboxHosts < 1 || c.InboxHosts > maxHosts:
		return usageError{fmt.Sprintf("--inbox-hosts must be from 1 to %d", maxHosts)}
	case c.Keys < 1 || c.Keys > 64:
		return usageError{"--keys must be from 1 to 64"}
	case c.Followers < 1 || c.Followers > 1000000:
		return usageError{"--followers must be from 1 to 1000000"}
	case c.Hosts < 1 || c.Hosts > maxHosts || c.Hosts > c.Followers:
		return usageError{fmt.Sprintf("--hosts must be from 1 to %d and at most --followers", maxHosts)}
	case c.FloorTime < 100*time.Millisecond || c.FloorTime > time.Minute:
		return usageError{"--floor-time must be from 100ms to 1m"}
	case c.IdleWait < 0 || c.IdleWait > time.Minute:
		return usageError{"--idle-wait must be from 0 to 1m"}
	case c.SetupTimeout < time.Second || c.RunTimeout < time.Second:
		return usageError{"--setup-timeout and --run-timeout must be at least 1s"}
	case c.Grace < 0 || c.Grace > time.Minute:
		return usageError{"--grace must be from 0 to 1m"}
	case c.ServerInboxRate < 0:
		return usageError{"--server-inbox-rate must be at least 0"}
	case c.VerifyEvery < 1:
		return usageError{"--verify-every must be at least 1"}
	case len(c.Scenarios) == 0:
		return usageError{"--scenarios names none of inbox, fanout, personal"}
	}
	if c.InboxHosts > c.Actors {
		c.InboxHosts = c.Actors
	}
	return nil
}

// parseScenarios reads a comma-separated list and returns it in run order.
func parseScenarios(s string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !slices.Contains(scenarioNames, name) {
			return nil, usageError{fmt.Sprintf("unknown scenario %q (inbox, fanout, personal)", name)}
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return slices.Index(scenarioNames, a) - slices.Index(scenarioNames, b) })
	return out, nil
}

func cli(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("coopfed-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: coopfed-load [--build | --server-bin PATH | --target URL --token T [--pid N]] [flags]")
		fs.PrintDefaults()
	}
	serverBin := fs.String("server-bin", "", "coopfed binary to start (default: coopfed next to this program)")
	build := fs.Bool("build", false, "build ./cmd/coopfed with -tags sqlite_fts5 into a temporary directory and start that")
	fs.IntVar(&cfg.ServerInboxRate, "server-inbox-rate", cfg.ServerInboxRate, "--inbox-rate of the started server (50, its default: a busy peer meets the per-host limit; 0 for none)")
	fs.StringVar(&cfg.ServerProfileDir, "server-cpuprofile", "", "directory for a CPU profile of each started server (SCENARIO.prof), for go tool pprof")
	serverWorkers := fs.Int("server-workers", 0, "--workers of the started server (0: its default)")
	targetURL := fs.String("target", "", "measure this running server (loopback only) instead of starting one")
	token := fs.String("token", "", "admin API token of --coop on --target")
	pid := fs.Int("pid", 0, "process id of --target, for RSS and CPU figures")
	fs.StringVar(&cfg.Coop, "coop", cfg.Coop, "coop name")
	scenarios := fs.String("scenarios", strings.Join(scenarioNames, ","), "scenarios to run: inbox, fanout, personal")
	personal := fs.Bool("fanout-personal", true, "also run fan-out with personal inboxes only (F POSTs); false drops 'personal' from --scenarios")
	fs.IntVar(&cfg.Actors, "actors", cfg.Actors, "inbox: remote actors sending posts")
	fs.IntVar(&cfg.Posts, "posts", cfg.Posts, "inbox: signed Create(Note) sent in the timed window")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "requests in flight from the tool to the server")
	fs.IntVar(&cfg.InboxHosts, "inbox-hosts", cfg.InboxHosts, "inbox: fake hosts the actors live on")
	fs.IntVar(&cfg.Keys, "keys", cfg.Keys, "RSA-2048 keys generated and shared among the actors")
	fs.IntVar(&cfg.Followers, "followers", cfg.Followers, "fan-out: followers of the coop")
	fs.IntVar(&cfg.Hosts, "hosts", cfg.Hosts, "fan-out: fake hosts the followers live on")
	fs.DurationVar(&cfg.FloorTime, "floor-time", cfg.FloorTime, "how long each floor is measured")
	fs.DurationVar(&cfg.IdleWait, "idle-wait", cfg.IdleWait, "wait after the server starts before reading its idle RSS")
	fs.DurationVar(&cfg.SetupTimeout, "setup-timeout", cfg.SetupTimeout, "bound of each set-up phase")
	fs.DurationVar(&cfg.RunTimeout, "run-timeout", cfg.RunTimeout, "bound of each timed phase")
	fs.DurationVar(&cfg.Grace, "grace", cfg.Grace, "wait after the last delivery to catch duplicates")
	fs.IntVar(&cfg.VerifyEvery, "verify-every", cfg.VerifyEvery, "verify the HTTP signature of every Nth POST the fake hosts receive (Digest is checked on all)")
	timeout := fs.Duration("timeout", 20*time.Minute, "bound of the whole run")
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	keep := fs.Bool("keep", false, "keep the temporary directory (databases, server logs)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	var err error
	if cfg.Scenarios, err = parseScenarios(*scenarios); err != nil {
		return err
	}
	if !*personal {
		cfg.Scenarios = slices.DeleteFunc(cfg.Scenarios, func(s string) bool { return s == "personal" })
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if err := checkFileLimit(cfg); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	logf := newProgress(stderr)

	var start starter
	var serverDesc string
	if *targetURL != "" {
		if *serverBin != "" || *build {
			return usageError{"--target measures a running server: do not combine it with --server-bin or --build"}
		}
		if *token == "" {
			return usageError{"--target needs --token (an admin API token of --coop)"}
		}
		if slices.Contains(cfg.Scenarios, "fanout") && slices.Contains(cfg.Scenarios, "personal") {
			return usageError{"fanout and personal each need a coop without other followers: against --target run one of them (--scenarios)"}
		}
		base, err := checkTargetURL(*targetURL)
		if err != nil {
			return usageError{err.Error()}
		}
		t := &target{URL: base, Token: *token, Coop: cfg.Coop, PID: *pid, External: true}
		start = func(context.Context, string) (*target, error) {
			// Not idle since its start, but before this run's load.
			if m, err := readMem(t.PID); err == nil && t.IdleRSS.RSS == 0 {
				t.IdleRSS = m
			}
			return t, nil
		}
		serverDesc = "running server " + base
	} else {
		if *token != "" || *pid != 0 {
			return usageError{"--token and --pid go with --target"}
		}
		dir, err := os.MkdirTemp("", "coopfed-load-")
		if err != nil {
			return err
		}
		if *keep {
			logf("keeping %s", dir)
		} else {
			defer os.RemoveAll(dir)
		}
		bin, err := serverBinary(ctx, *serverBin, *build, dir, logf)
		if err != nil {
			return err
		}
		start = processStarter(bin, dir, cfg, *serverWorkers, logf)
		serverDesc = bin
	}
	rep, err := run(ctx, cfg, start, logf)
	if rep != nil {
		rep.Server = serverDesc
		if *jsonOut {
			if werr := writeJSON(stdout, rep); werr != nil && err == nil {
				err = werr
			}
		} else {
			writeText(stdout, rep)
		}
	}
	return err
}

// newProgress returns a printf to w that prefixes the time since start.
func newProgress(w io.Writer) func(format string, args ...any) {
	t0 := time.Now()
	return func(format string, args ...any) {
		fmt.Fprintf(w, "[%6.1fs] %s\n", time.Since(t0).Seconds(), fmt.Sprintf(format, args...))
	}
}

// checkFileLimit refuses sizes whose listeners and connections would not
// fit under RLIMIT_NOFILE, rather than failing half-way.
func checkFileLimit(cfg config) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil
	}
	need := uint64(max(cfg.Hosts, cfg.InboxHosts)) + 3*uint64(cfg.Concurrency) + 512
	if lim.Cur < need {
		// Raise the soft limit when the hard one allows it.
		if lim.Max >= need {
			lim.Cur = need
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
				return nil
			}
		}
		return usageError{fmt.Sprintf("needs about %d open files, the limit is %d: lower --hosts/--concurrency or raise ulimit -n", need, lim.Cur)}
	}
	return nil
}
