//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/federation/httpsign"
	"github.com/coopfed/coopfed/fedtest"
	"github.com/coopfed/coopfed/store"
)

// These tests run coopfed as a real child process (the test binary
// re-executed, see TestMain), kill or stop it with signals and restart it
// on the same database, to prove that the delivery queue loses nothing.

// TestCrashLosesNoDelivery is the scenario: deliveries pending to 50
// inboxes whose servers are down, the instance killed with SIGKILL and
// restarted, the receivers come up, and every delivery arrives, signed
// afresh after the restart.
func TestCrashLosesNoDelivery(t *testing.T) {
	f := newFixture(t)
	// Five servers with ten personal inboxes each: the down servers fail
	// more than the breaker threshold, so its path runs too.
	const hosts, perHost = 5, 10
	var hostAddrs, inboxPaths []string
	for range hosts {
		addr := freeAddr(t)
		hostAddrs = append(hostAddrs, addr)
		for i := range perHost {
			f.addFollower(t, fmt.Sprintf("http://%s/users/member%d", addr, i))
		}
	}
	for i := range perHost {
		inboxPaths = append(inboxPaths, fmt.Sprintf("/users/member%d/inbox", i))
	}
	args := f.serveArgs("--retry-base", "200ms", "--workers", "8")

	first := startChild(t, args...)
	f.waitReady(t, first)
	activity := f.announce(t, "Bread for everyone, Friday at the bakery")
	poll(t, 30*time.Second, "every delivery tried against the down servers", func() (bool, string) {
		rows := f.rows(t, activity)
		tried := 0
		for _, d := range rows {
			if d.State == coopfed.DeliveryPending && d.Attempts >= 1 {
				tried++
			}
		}
		return len(rows) == hosts*perHost && tried == len(rows), fmt.Sprintf("%d rows, %d pending and tried", len(rows), tried)
	})

	if err := syscall.Kill(first.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	var exit *exec.ExitError
	if err := first.wait(t); !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("first process ended with %v, want killed by SIGKILL", err)
	}
	if !strings.Contains(first.out.String(), "pausing deliveries to a failing host") {
		t.Errorf("the circuit breaker never opened for the down servers")
	}
	var maxAttempts int
	var lastDue time.Time
	for _, d := range f.rows(t, activity) {
		if d.State != coopfed.DeliveryPending {
			t.Fatalf("%s is %s before any receiver was up", d.Inbox, d.State)
		}
		maxAttempts = max(maxAttempts, d.Attempts)
		if d.NextAttempt.After(lastDue) {
			lastDue = d.NextAttempt
		}
	}
	t.Logf("killed with every row pending, up to %d attempts each, the last due %v after the kill", maxAttempts, lastDue.Sub(killedAt).Round(time.Millisecond))

	recv := newReceiver(f, 0)
	for _, addr := range hostAddrs {
		recv.listen(t, addr)
	}
	// Dates have one-second resolution: let the second of the kill pass,
	// so that a request signed after the restart is told apart from one
	// signed (and perhaps stored) before the crash.
	for time.Now().Before(killedAt.Truncate(time.Second).Add(time.Second)) {
		time.Sleep(10 * time.Millisecond)
	}
	restartedAt := time.Now()
	second := startChild(t, args...)
	f.waitReady(t, second)
	poll(t, 30*time.Second, "every delivery done after the restart", func() (bool, string) {
		done := 0
		for _, d := range f.rows(t, activity) {
			if d.State == coopfed.DeliveryDone {
				done++
			}
		}
		return done == hosts*perHost, fmt.Sprintf("%d of %d done, %d POSTs received", done, hosts*perHost, len(recv.all()))
	})

	got := map[string]int{}
	for _, r := range recv.all() {
		got[r.host+r.path]++
		if r.sigErr != nil {
			t.Errorf("POST to %s%s: signature: %v", r.host, r.path, r.sigErr)
		}
		if r.activity != activity || r.typ != "Create" {
			t.Errorf("POST to %s%s carried %s %s, want the Create %s", r.host, r.path, r.typ, r.activity, activity)
		}
		if r.date.Before(restartedAt.Truncate(time.Second)) {
			t.Errorf("POST to %s%s dated %v, before the restart at %v: not signed afresh", r.host, r.path, r.date, restartedAt)
		}
	}
	duplicates := 0
	for _, host := range hostAddrs {
		for _, p := range inboxPaths {
			switch n := got[host+p]; {
			case n == 0:
				t.Errorf("%s%s never received the Create", host, p)
			case n > 1:
				duplicates += n - 1
			}
		}
	}
	// At least once is the guarantee; a POST answered just before the
	// kill could be re-sent, but here the receivers were down throughout.
	if duplicates > 0 {
		t.Logf("%d duplicate deliveries", duplicates)
	}
	for _, d := range f.rows(t, activity) {
		if d.Attempts < 2 {
			t.Errorf("%s done after %d attempts, want a failure before the crash and a success after", d.Inbox, d.Attempts)
		}
	}

	second.stop(t)
}

// TestGracefulShutdownLosesNoDelivery stops the instance with SIGTERM while
// POSTs to a slow receiver are in flight: the process lets them finish and
// exits 0, leaves no row leased, and after a restart the rest arrive, each
// inbox receiving the activity exactly once.
func TestGracefulShutdownLosesNoDelivery(t *testing.T) {
	f := newFixture(t)
	addr := freeAddr(t)
	recv := newReceiver(f, time.Second)
	recv.listen(t, addr)
	const inboxes = 6
	for i := range inboxes {
		f.addFollower(t, fmt.Sprintf("http://%s/users/member%d", addr, i))
	}
	// Two workers for six slow inboxes: at the signal some POSTs are in
	// flight, some rows are claimed but not started, some not claimed.
	args := f.serveArgs("--retry-base", "200ms", "--workers", "2", "--shutdown-timeout", "10")

	first := startChild(t, args...)
	f.waitReady(t, first)
	activity := f.announce(t, "Closing early on Monday")
	poll(t, 30*time.Second, "a POST in flight", func() (bool, string) {
		n := recv.started.Load()
		return n >= 1, fmt.Sprintf("%d POSTs started", n)
	})
	if err := syscall.Kill(first.cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// A shutdown that overran --shutdown-timeout would exit 1.
	if err := first.wait(t); err != nil {
		t.Fatalf("after SIGTERM the process ended with %v, want exit status 0", err)
	}

	sent := map[string]bool{}
	for _, r := range recv.all() {
		sent["http://"+r.host+r.path] = true
	}
	if len(sent) == 0 {
		t.Fatal("no POST reached the receiver before the shutdown")
	}
	rows := f.rows(t, activity)
	if len(rows) != inboxes {
		t.Fatalf("%d queue rows, want %d", len(rows), inboxes)
	}
	for _, d := range rows {
		switch {
		case d.State == coopfed.DeliveryDone && sent[d.Inbox]:
		case d.State == coopfed.DeliveryPending && !sent[d.Inbox] && d.Attempts == 0:
		default:
			t.Errorf("after shutdown %s is %s after %d attempts, POST received: %v; want done if it was sent, else pending and untried",
				d.Inbox, d.State, d.Attempts, sent[d.Inbox])
		}
	}
	if n := f.leasedRows(t); n != 0 {
		t.Errorf("%d rows still leased after a graceful shutdown", n)
	}

	second := startChild(t, args...)
	f.waitReady(t, second)
	poll(t, 30*time.Second, "every delivery done after the restart", func() (bool, string) {
		done := 0
		for _, d := range f.rows(t, activity) {
			if d.State == coopfed.DeliveryDone {
				done++
			}
		}
		return done == inboxes, fmt.Sprintf("%d of %d done", done, inboxes)
	})
	got := map[string]int{}
	for _, r := range recv.all() {
		got[r.path]++
		if r.sigErr != nil {
			t.Errorf("POST to %s: signature: %v", r.path, r.sigErr)
		}
	}
	for i := range inboxes {
		if p := fmt.Sprintf("/users/member%d/inbox", i); got[p] != 1 {
			t.Errorf("%s received the activity %d times, want exactly once", p, got[p])
		}
	}

	second.stop(t)
}

// fixture is a database with one coop, "bakery", and an API token, made
// with the CLI, plus the address its instance will serve on.
type fixture struct {
	db, token  string
	st         *store.Store // the test's own connection, for seeding and reading
	pub        crypto.PublicKey
	keyID      string
	addr, base string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureAt(t, filepath.Join(t.TempDir(), "coopfed.db"))
}

// newFixtureAt is newFixture on the database db (a file or a postgres://
// URL).
func newFixtureAt(t *testing.T, db string) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{db: db, addr: freeAddr(t)}
	f.base = "http://" + f.addr
	var out bytes.Buffer
	if err := run(ctx, []string{"coop", "create", "bakery", "--db", f.db}, &out, &out); err != nil {
		t.Fatalf("coop create: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"token", "create", "--coop", "bakery", "--db", f.db}, &out, &out); err != nil {
		t.Fatalf("token create: %v\n%s", err, out.String())
	}
	f.token = strings.TrimSpace(out.String())
	var err error
	if f.st, err = store.Open(f.db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.st.Close() })
	c, err := f.st.CoopByName(ctx, "bakery")
	if err != nil {
		t.Fatal(err)
	}
	if f.pub, err = httpsign.ParsePublicKeyPEM(c.PublicKeyPEM); err != nil {
		t.Fatal(err)
	}
	iris, err := federation.NewIRIs(f.base)
	if err != nil {
		t.Fatal(err)
	}
	f.keyID = iris.CoopKey("bakery")
	return f
}

// serveArgs returns the serve command line for the fixture's instance.
func (f *fixture) serveArgs(extra ...string) []string {
	return append([]string{"serve", "--allow-private-network", "--db", f.db, "--addr", f.addr, "--url", f.base, "--coop", "bakery"}, extra...)
}

// addFollower makes actorIRI, whose inbox is actorIRI/inbox and which has
// no shared inbox, an accepted follower of the coop.
func (f *fixture) addFollower(t *testing.T, actorIRI string) {
	t.Helper()
	c, err := f.st.CoopByName(context.Background(), "bakery")
	if err != nil {
		t.Fatal(err)
	}
	host := strings.SplitN(strings.TrimPrefix(actorIRI, "http://"), "/", 2)[0]
	err = f.st.Update(context.Background(), func(tx *store.Tx) error {
		a := &coopfed.RemoteActor{IRI: actorIRI, Type: "Person", PreferredUsername: actorIRI[strings.LastIndex(actorIRI, "/")+1:], Host: host, Inbox: actorIRI + "/inbox"}
		if err := tx.PutRemoteActor(a); err != nil {
			return err
		}
		return tx.PutFollower(&coopfed.Follower{CoopID: c.ID, ActorIRI: actorIRI, FollowIRI: actorIRI + "/follows/1", State: coopfed.FollowAccepted})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitReady waits until the child answers /readyz.
func (f *fixture) waitReady(t *testing.T, c *child) {
	t.Helper()
	poll(t, 30*time.Second, "the instance to be ready", func() (bool, string) {
		select {
		case <-c.done:
			t.Fatalf("coopfed exited before it was ready: %v\n%s", c.err, c.out.String())
		default:
		}
		resp, err := http.Get(f.base + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
}

// announce publishes an announcement through the API and returns the IRI
// of its Create.
func (f *fixture) announce(t *testing.T, content string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"content": content})
	req, _ := http.NewRequest(http.MethodPost, f.base+"/api/v1/coops/bakery/announcements", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var created struct{ ID string }
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(data, &created) != nil || created.ID == "" {
		t.Fatalf("announce: %s %s", resp.Status, data)
	}
	return created.ID + "/activity"
}

// rows returns the queue rows of an activity, read from the database the
// child writes.
func (f *fixture) rows(t *testing.T, activity string) []*coopfed.Delivery {
	t.Helper()
	ds, err := f.st.Deliveries(context.Background(), activity)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// leasedRows counts pending rows that some process still claims.
func (f *fixture) leasedRows(t *testing.T) int {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+f.db+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM deliveries WHERE state = 'pending' AND lease_until > 0`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// child is a coopfed process run from the test binary.
type child struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // what Wait returned; read after done
}

// startChild runs coopfed with args; it is killed, if still running, when
// the test ends, and its output is logged if the test failed.
func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	// Why filter: COOPFED_* variables of the developer's shell must not
	// change what the test runs.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COOPFED_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, childEnv+"=1")
	c := &child{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.out, c.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			cmd.Process.Kill()
			<-c.done
		}
		if t.Failed() {
			t.Logf("output of coopfed (pid %d):\n%s", cmd.Process.Pid, c.out.String())
		}
	})
	return c
}

// wait waits (generously) for the process to exit and returns how it ended.
func (c *child) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-c.done:
		return c.err
	case <-time.After(60 * time.Second):
		t.Fatalf("coopfed (pid %d) did not exit", c.cmd.Process.Pid)
		return nil
	}
}

// stop ends the process with SIGTERM and checks that it exits 0.
func (c *child) stop(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(c.cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := c.wait(t); err != nil {
		t.Errorf("after SIGTERM coopfed ended with %v, want exit status 0", err)
	}
}

// syncBuffer is a bytes.Buffer safe for the writes of a child's stdout
// and stderr and the test's reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// received is one POST a receiver got.
type received struct {
	host, path string
	at         time.Time // when it arrived
	date       time.Time // the Date header
	typ        string
	activity   string
	sigErr     error // nil when Date, Digest and signature check out with the coop's key
}

// receiver plays the followers' servers: it accepts every POST after
// delay, checking each signature as Mastodon would, with the coop's key
// read from the database.
type receiver struct {
	f       *fixture
	delay   time.Duration
	started atomic.Int32 // POSTs that have arrived

	mu  sync.Mutex
	got []received
}

func newReceiver(f *fixture, delay time.Duration) *receiver {
	return &receiver{f: f, delay: delay}
}

// listen serves on addr, which freeAddr reserved earlier.
func (r *receiver) listen(t *testing.T, addr string) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("cannot bring the receiver up on %s again: %v", addr, err)
	}
	srv := &http.Server{Handler: r}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.started.Add(1)
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	rec := received{host: req.Host, path: req.URL.Path, at: time.Now()}
	rec.date, _ = http.ParseTime(req.Header.Get("Date"))
	var doc struct{ ID, Type string }
	json.Unmarshal(body, &doc)
	rec.activity, rec.typ = doc.ID, doc.Type
	if p, err := httpsign.Check(req, body, time.Now(), time.Hour); err != nil {
		rec.sigErr = err
	} else if p.KeyID != r.f.keyID {
		rec.sigErr = fmt.Errorf("signed with %s, want %s", p.KeyID, r.f.keyID)
	} else {
		rec.sigErr = p.Verify(req, r.f.pub)
	}
	r.mu.Lock()
	r.got = append(r.got, rec)
	r.mu.Unlock()
	time.Sleep(r.delay)
	w.WriteHeader(http.StatusAccepted)
}

// all returns the POSTs received so far, sorted by host and path.
func (r *receiver) all() []received {
	r.mu.Lock()
	out := append([]received(nil), r.got...)
	r.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].host+out[i].path < out[j].host+out[j].path })
	return out
}

// freeAddr returns a loopback address nothing listens on, reserved until
// the test ends: a server that is down until a receiver or a child process
// listens there, and whose port no outgoing connection takes meanwhile.
func freeAddr(t *testing.T) string {
	t.Helper()
	return fedtest.ReserveAddr(t)
}

// poll checks cond every 20 ms until it holds, failing the test with cond's
// last description of the state after timeout.
func poll(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %s", timeout, what, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
