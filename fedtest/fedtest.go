// Package fedtest boots complete coopfed instances (real handlers, real
// SQLite files in a temp dir, real HTTP on 127.0.0.1 random ports) and fake
// remote servers whose actors sign their requests like Mastodon does, so
// tests can run federation journeys over the wire.
package fedtest

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/app"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/federation/httpsign"
	"github.com/coopfed/coopfed/store"
	"github.com/coopfed/coopfed/store/pgtest"
)

// testLogger is the instances' logger: silent unless COOPFED_TEST_LOG is
// set, when the server's log goes to stderr beside the test's output.
func testLogger() *slog.Logger {
	if os.Getenv("COOPFED_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Postgres makes Start open each instance on a PostgreSQL schema of its
// own instead of a SQLite file. A suite's TestMain sets it for its second
// run (pgtest.RunBoth).
var Postgres bool

//go:embed testdata/*.pem
var keyFS embed.FS

// Instance is a running coopfed instance with one coop and its API token.
type Instance struct {
	*app.App
	URL   string
	Coop  *coopfed.Coop
	Token string
	DB    string
}

// Options adjusts an instance before it starts.
type Options struct {
	Coop    string               // first coop's name (default "coop")
	Locked  bool                 // the first coop approves followers by hand
	Retry   *coopfed.RetryPolicy // default: fast retries for tests
	Workers int
	DB      string // reuse a database file (restart tests)
	// InboxRate is the per-host inbox rate limit; 0 for the default, a
	// negative value for none (benchmarks).
	InboxRate float64
	// InboxBurst is the per-host burst (0 for the default).
	InboxBurst int
	// Now is the instance's clock (nil: time.Now); TallyDebounce the least
	// time between two tally Updates of a motion (0: the default).
	Now           func() time.Time
	TallyDebounce time.Duration
	// Addr is the listen address (default: a free port of 127.0.0.1 below
	// the ephemeral range); a restart test passes the previous instance's,
	// so its IRIs stay the same.
	Addr string
	// URL is the public base URL (default http://Addr). A second process
	// of one instance (same DB) passes the first one's, as two processes
	// behind one proxy share theirs.
	URL string
}

// FastRetry retries after 100 ms, doubling up to 1 s, for a minute.
var FastRetry = coopfed.RetryPolicy{Base: 100 * time.Millisecond, Max: time.Second, GiveUp: time.Minute}

// Start boots an instance on 127.0.0.1 and stops it when the test ends.
func Start(t testing.TB, opt Options) *Instance {
	t.Helper()
	l, err := listenLoopback(t, opt.Addr)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	if opt.URL != "" {
		base = opt.URL
	}
	if opt.Coop == "" {
		opt.Coop = "coop"
	}
	if opt.Retry == nil {
		opt.Retry = &FastRetry
	}
	if opt.DB == "" && Postgres {
		opt.DB = pgtest.NewDatabase(t)
	} else if opt.DB == "" {
		opt.DB = filepath.Join(t.TempDir(), "coopfed.db")
	}
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{URL: base, DB: opt.DB, Coop: opt.Coop, AllowPrivate: true, Retry: opt.Retry, Workers: opt.Workers, InboxRate: opt.InboxRate, InboxBurst: opt.InboxBurst, Now: opt.Now, TallyDebounce: opt.TallyDebounce, Logger: testLogger()})
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	inst := &Instance{App: a, URL: base, DB: opt.DB}
	c, token, err := a.EnsureFirstCoop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c == nil { // reopened database
		if c, err = a.Store.CoopByName(ctx, opt.Coop); err != nil {
			t.Fatal(err)
		}
		token = inst.NewToken(t, c)
	}
	if opt.Locked {
		c.Locked = true
		if err := a.Store.Update(ctx, func(tx *store.Tx) error { return tx.UpdateCoopProfile(c) }); err != nil {
			t.Fatal(err)
		}
	}
	inst.Coop, inst.Token = c, token
	if err := a.Start(ctx, l); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Shutdown(sctx)
	})
	return inst
}

// NewToken makes another admin token for a coop of the instance.
func (i *Instance) NewToken(t testing.TB, c *coopfed.Coop) string {
	t.Helper()
	var token string
	err := i.Store.Update(context.Background(), func(tx *store.Tx) error {
		var err error
		token, err = tx.CreateToken(c.ID, "test")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// Handle returns the first coop's handle, name@host:port.
func (i *Instance) Handle() string { return i.Coop.Name + "@" + strings.TrimPrefix(i.URL, "http://") }

// ActorIRI returns the first coop's actor IRI.
func (i *Instance) ActorIRI() string { return i.Federation.IRIs().Coop(i.Coop.Name) }

// API calls the JSON API with the instance's token and decodes the answer
// into out (when not nil). It returns the status.
func (i *Instance) API(t testing.TB, method, path string, body any, out any) int {
	t.Helper()
	return i.APIWithToken(t, i.Token, method, path, body, out)
}

// APIWithToken is API with another token ("" for none).
func (i *Instance) APIWithToken(t testing.TB, token, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, i.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

// GetJSON fetches url with an ActivityStreams Accept header and decodes
// the document; it returns the status.
func GetJSON(t testing.TB, url string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("GET %s: decoding %q: %v", url, data, err)
		}
	}
	return resp.StatusCode
}

// Eventually polls cond every 20 ms until it holds or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Follow makes the instance's coop follow another instance's coop and
// waits until the follow is accepted.
func (i *Instance) Follow(t testing.TB, other *Instance) {
	t.Helper()
	if st := i.API(t, http.MethodPost, "/api/v1/coops/"+i.Coop.Name+"/following", map[string]string{"handle": other.Handle()}, nil); st != http.StatusAccepted {
		t.Fatalf("follow %s: status %d", other.Handle(), st)
	}
	Eventually(t, 10*time.Second, "follow accepted", func() bool {
		var list struct {
			Items []struct{ Actor, State string }
		}
		i.API(t, http.MethodGet, "/api/v1/coops/"+i.Coop.Name+"/following", nil, &list)
		for _, it := range list.Items {
			if it.Actor == other.ActorIRI() && it.State == coopfed.FollowAccepted {
				return true
			}
		}
		return false
	})
}

// Counts returns the row counts of the instance's tables.
func (i *Instance) Counts(t testing.TB) map[string]int64 {
	t.Helper()
	c, err := i.Store.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// PendingDeliveries returns how many deliveries wait in the queue.
func (i *Instance) PendingDeliveries(t testing.TB) int64 {
	t.Helper()
	st, err := i.Store.DeliveryStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.Pending
}

// IRIs returns the instance's IRI builder.
func (i *Instance) IRIs() *federation.IRIs { return i.Federation.IRIs() }

func fixedKeyPEM(n int) string {
	b, err := keyFS.ReadFile(fmt.Sprintf("testdata/remote%d.pem", n))
	if err != nil {
		panic(err)
	}
	return string(b)
}

// AsActor returns the instance's first coop as an Actor that signs with
// the coop's own key, so a test can send what the coop's server never
// would (a forged vote) with a real signature. r is any Remote of the
// test; it only carries the test for failures.
func (i *Instance) AsActor(r *Remote) *Actor {
	key, err := httpsign.ParsePrivateKeyPEM(i.Coop.PrivateKeyPEM)
	if err != nil {
		r.t.Fatal(err)
	}
	return &Actor{Remote: r, Name: i.Coop.Name, IRI: i.ActorIRI(), KeyID: i.IRIs().CoopKey(i.Coop.Name), Key: key, Algorithm: "hs2019", Type: "Organization"}
}
