// Command coopfed runs a coopfed instance and administers its database.
//
//	coopfed serve [--addr 127.0.0.1:8080] [--url http://localhost:8080] [--db coopfed.db] [--coop NAME] [--allow-private-network] [--retry-base 30s]
//	coopfed coop create NAME [--db PATH] [--display-name TEXT]
//	coopfed token create --coop NAME [--db PATH]
//	coopfed member add|remove|list --coop NAME [--db PATH]
//	coopfed backup --db PATH --out FILE
//	coopfed migrate-db --from sqlite:PATH --to postgres://...
//	coopfed export --coop NAME [--db PATH] [--include-private-key]
//	coopfed block|unblock --domain DOMAIN | --actor IRI [--reason TEXT] [--db PATH]
//	coopfed healthcheck [--addr 127.0.0.1:8080]
//	coopfed version
//
// Every flag can also be set with an environment variable: --addr is
// COOPFED_ADDR, --allow-private-network is COOPFED_ALLOW_PRIVATE_NETWORK, and
// so on. Flags win over the environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/app"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/store"
)

func main() {
	os.Exit(runMain(os.Args[1:]))
}

// runMain runs the command with SIGINT and SIGTERM cancelling it (serve
// then shuts down gracefully) and returns the exit status: 0, 1 for a
// failure, 2 for a usage error. Tests re-execute the test binary into it,
// so they exercise exactly what the binary does.
func runMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "coopfed:", err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `usage:
  coopfed serve [flags]              run the server (coopfed serve -h for flags)
  coopfed coop create NAME [flags]   add a coop to the instance
  coopfed token create --coop NAME   print a new admin API token for a coop
  coopfed member add|remove|list     manage a coop's members (who vote)
  coopfed group create|list|update|members|ban|unban|remove   run the instance's market groups
  coopfed backup --out FILE          copy the database while the server runs
  coopfed migrate-db --from sqlite:FILE --to postgres://URL   move an instance to PostgreSQL
  coopfed export --coop NAME         write a coop's data as JSON
  coopfed block --domain D | --actor IRI   refuse everything from a domain or account (unblock lifts it)
  coopfed healthcheck                exit 0 when the local server answers /healthz
  coopfed version                    print the version`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	defer func() {
		// Why: -h has printed the flags and must stop there (serve would
		// otherwise go on to start with defaults), yet asking for help is
		// not a failure.
		if errors.Is(err, flag.ErrHelp) {
			err = nil
		}
	}()
	if len(args) == 0 {
		return usageError{usage}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "coop":
		if len(args) < 2 || args[1] != "create" {
			return usageError{"usage: coopfed coop create NAME [--db PATH] [--display-name TEXT]"}
		}
		return coopCreate(ctx, args[2:], stdout, stderr)
	case "token":
		if len(args) < 2 || args[1] != "create" {
			return usageError{"usage: coopfed token create --coop NAME [--db PATH]"}
		}
		return tokenCreate(ctx, args[2:], stdout, stderr)
	case "member":
		return memberCmd(ctx, args[1:], stdout, stderr)
	case "group":
		return groupCmd(ctx, args[1:], stdout, stderr)
	case "backup":
		return backupCmd(ctx, args[1:], stdout, stderr)
	case "migrate-db":
		return migrateDBCmd(ctx, args[1:], stdout, stderr)
	case "export":
		return exportCmd(ctx, args[1:], stdout, stderr)
	case "block", "unblock":
		return blockCmd(ctx, args[1:], stdout, stderr, args[0] == "unblock")
	case "healthcheck":
		return healthcheckCmd(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "%s %s\n", federation.SoftwareName, federation.SoftwareVersion)
		return nil
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q\n%s", args[0], usage)}
}

// flagSet returns a FlagSet whose defaults come from COOPFED_* variables.
type flagSet struct {
	*flag.FlagSet
	// envErrs collects COOPFED_* values that do not parse; parse reports
	// them, so a typo in the environment is not silently replaced by the
	// default.
	envErrs *[]string
}

func newFlagSet(name string, stderr io.Writer) flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return flagSet{FlagSet: fs, envErrs: new([]string)}
}

func envName(flagName string) string {
	return "COOPFED_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// fromEnv returns the parsed COOPFED_* value of a flag, or def when the
// variable is unset; a value that does not parse is recorded.
func fromEnv[T any](fs flagSet, name string, def T, parse func(string) (T, error)) T {
	v, ok := os.LookupEnv(envName(name))
	if !ok {
		return def
	}
	x, err := parse(v)
	if err != nil {
		*fs.envErrs = append(*fs.envErrs, fmt.Sprintf("%s=%q: %v", envName(name), v, err))
		return def
	}
	return x
}

func (fs flagSet) string(name, def, help string) *string {
	def = fromEnv(fs, name, def, func(v string) (string, error) { return v, nil })
	return fs.String(name, def, help+" (env "+envName(name)+")")
}

func (fs flagSet) bool(name string, def bool, help string) *bool {
	return fs.Bool(name, fromEnv(fs, name, def, strconv.ParseBool), help+" (env "+envName(name)+")")
}

func (fs flagSet) int(name string, def int, help string) *int {
	return fs.Int(name, fromEnv(fs, name, def, strconv.Atoi), help+" (env "+envName(name)+")")
}

func (fs flagSet) duration(name string, def time.Duration, help string) *time.Duration {
	return fs.Duration(name, fromEnv(fs, name, def, time.ParseDuration), help+" (env "+envName(name)+")")
}

// parse parses the flags and refuses bad COOPFED_* values and arguments
// left over: a command given something it does not understand must say so
// rather than run with defaults.
func (fs flagSet) parse(args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err // run turns it into success
		}
		return usageError{err.Error()}
	}
	if len(*fs.envErrs) > 0 {
		return usageError{"bad environment value " + strings.Join(*fs.envErrs, "; ")}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Sprintf("--log-level: %v", err)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{"--log-format must be text or json"}
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	addr := fs.string("addr", "127.0.0.1:8080", "address to listen on")
	baseURL := fs.string("url", "", "public base URL used in every IRI (default http://localhost:PORT)")
	db := fs.string("db", "coopfed.db", "SQLite database file, or a postgres:// URL")
	coop := fs.string("coop", "coop", "name of the first coop, created when the instance has none")
	allowPrivate := fs.bool("allow-private-network", false, "fetch from and deliver to loopback and private addresses over plain http (development, tests)")
	workers := fs.int("workers", 16, "delivery workers")
	logFormat := fs.string("log-format", "text", "log format: text or json")
	logLevel := fs.string("log-level", "info", "log level: debug, info, warn, error")
	shutdownTimeout := fs.int("shutdown-timeout", 20, "seconds to finish requests and deliveries in flight on shutdown")
	follow := fs.string("follow", "", "comma-separated actors (name@host or URLs) the first coop follows once serving; retried until they answer")
	metricsToken := fs.string("metrics-token", "", "bearer token required to read /metrics (open when empty)")
	inboxRate := fs.int("inbox-rate", 50, "inbox POSTs per second allowed from one remote host (bursts of 10x), unless its last 100 verified activities were all accepted; 0 for no limit")
	lease := fs.duration("delivery-lease", federation.DefaultDeliveryLease, "how long a claimed delivery belongs to this process; after a crash, other processes on the same PostgreSQL database send it when the lease lapses (at least "+federation.MinDeliveryLease.String()+")")
	retryBase := fs.duration("retry-base", coopfed.DefaultRetryPolicy.Base, "first wait before a failed delivery is retried; waits double up to 6h and deliveries are given up after 72h")
	cpuProfile := fs.string("cpuprofile", "", "write a CPU profile of the whole run to this file (for go tool pprof)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		fh, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer fh.Close()
		if err := pprof.StartCPUProfile(fh); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	retry := coopfed.DefaultRetryPolicy
	retry.Base = *retryBase
	if err := retry.Validate(); err != nil {
		return usageError{"--retry-base must be positive and at most " + retry.Max.String()}
	}
	if *lease < federation.MinDeliveryLease {
		return usageError{"--delivery-lease must be at least " + federation.MinDeliveryLease.String()}
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	if *baseURL == "" {
		_, port, err := net.SplitHostPort(*addr)
		if err != nil {
			return usageError{"--addr must be host:port"}
		}
		*baseURL = "http://localhost:" + port
	}
	a, err := app.Open(ctx, app.Config{Addr: *addr, URL: *baseURL, DB: *db, Coop: *coop, AllowPrivate: *allowPrivate, Workers: *workers, Logger: log, Retry: &retry, DeliveryLease: *lease,
		Follow: splitList(*follow), FirstAdmin: "admin", MetricsToken: *metricsToken, InboxRate: inboxLimit(*inboxRate), InboxBurst: 10 * *inboxRate})
	if err != nil {
		return err
	}
	c, token, err := a.EnsureFirstCoop(ctx)
	if err != nil {
		a.Shutdown(context.Background())
		return err
	}
	if c != nil {
		// Printed once: only the token's hash is stored.
		fmt.Fprintf(stdout, "Created coop %s (@%s@%s).\nAdmin API token (shown once, keep it safe): %s\n", c.Name, c.Name, a.Federation.IRIs().Host(), token)
		fmt.Fprintf(stdout, "Web login at %s/login: coop %s, username admin, password (shown once): %s\n", *baseURL, c.Name, a.FirstAdminPassword)
	}
	if err := a.Start(ctx, nil); err != nil {
		a.Shutdown(context.Background())
		return err
	}
	log.Info("coopfed serving", "addr", a.Addr(), "url", *baseURL, "db", redactDSN(*db))
	fmt.Fprintf(stdout, "coopfed is serving %s on http://%s\n", *baseURL, a.Addr())
	select {
	case <-ctx.Done():
	case err := <-waitErr(a):
		if err != nil {
			return err
		}
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(*shutdownTimeout)*time.Second)
	defer cancel()
	return a.Shutdown(sctx)
}

func waitErr(a *app.App) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- a.Wait() }()
	return ch
}

func coopCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError{"usage: coopfed coop create NAME [--db PATH] [--display-name TEXT]"}
	}
	name := args[0]
	fs := newFlagSet("coop create", stderr)
	db := fs.string("db", "coopfed.db", "SQLite database file, or a postgres:// URL")
	display := fs.String("display-name", "", "the coop's display name")
	if err := fs.parse(args[1:]); err != nil {
		return err
	}
	st, err := store.Open(*db)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := federation.NewCoop(ctx, st, name, *display)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(stdout, "Created coop %s.\n", c.Name)
	return nil
}

func tokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token create", stderr)
	db := fs.string("db", "coopfed.db", "SQLite database file, or a postgres:// URL")
	coop := fs.String("coop", "", "the coop the token administers")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *coop == "" {
		return usageError{"--coop is required"}
	}
	st, err := store.Open(*db)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.CoopByName(ctx, *coop)
	if err != nil {
		return describe(err)
	}
	var token string
	err = st.Update(ctx, func(tx *store.Tx) error {
		token, err = tx.CreateToken(c.ID, "cli")
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, token)
	return nil
}

// describe turns a domain error into a readable one-line message.
func describe(err error) error {
	var e *coopfed.Error
	if errors.As(err, &e) {
		msg := e.Message
		for f, p := range e.Fields {
			msg += fmt.Sprintf("; %s: %s", f, p)
		}
		return errors.New(msg)
	}
	return err
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// inboxLimit turns the --inbox-rate flag into federation's setting, where
// a negative rate means no limit.
func inboxLimit(perSecond int) float64 {
	if perSecond <= 0 {
		return -1
	}
	return float64(perSecond)
}
