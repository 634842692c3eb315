package fedtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/httpsign"
	"github.com/coopfed/coopfed/store"
)

// Helpers for benchmarks: posts signed ahead of time (so a benchmark's
// client does not spend its CPU on RSA signing inside the timed region),
// a client that keeps enough connections open, counting inboxes for
// delivery fan-out, and direct seeding of follow relations.

// PreparedPost is a signed POST kept as URL, header and body, to be sent
// later with Request.
type PreparedPost struct {
	URL    string
	Header http.Header
	Body   []byte
}

// Request returns a fresh request for the prepared post. Each prepared post
// is meant to be sent once: its header map is handed to the request as is.
func (p *PreparedPost) Request(ctx context.Context) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(p.Body))
	if err != nil {
		return nil, err
	}
	req.Header = p.Header
	return req, nil
}

// PreparePost signs body as the actor's POST to url, dated at, like Sign
// does (Mastodon's header list and algorithm). It is safe for concurrent
// use and never calls the test's Fatal.
func (a *Actor) PreparePost(url string, body []byte, at time.Time) (*PreparedPost, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`)
	s, err := httpsign.NewSigner(a.KeyID, a.Key)
	if err != nil {
		return nil, err
	}
	if err := s.SignPost(req, body, at); err != nil {
		return nil, err
	}
	if a.Algorithm != "" {
		sig := strings.Replace(req.Header.Get("Signature"), `algorithm="rsa-sha256"`, `algorithm="`+a.Algorithm+`"`, 1)
		req.Header.Set("Signature", sig)
	}
	// The Host header is written from the URL by the client; keep the
	// signed copy out of the map so nothing sends it twice.
	req.Header.Del("Host")
	return &PreparedPost{URL: url, Header: req.Header, Body: body}, nil
}

// PreparePosts signs n posts on all cores; build returns the actor, URL and
// body of post i.
func PreparePosts(n int, at time.Time, build func(i int) (*Actor, string, []byte)) ([]*PreparedPost, error) {
	out := make([]*PreparedPost, n)
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				a, url, body := build(i)
				p, err := a.PreparePost(url, body, at)
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				out[i] = p
			}
		}()
	}
	wg.Wait()
	return out, firstErr
}

// BenchClient returns an HTTP client for loopback benchmarks that keeps up
// to conns idle connections per host (net/http's default keeps 2, which
// makes a parallel client open and close connections all the time).
func BenchClient(conns int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        conns * 4,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     90 * time.Second,
		},
		Timeout: 30 * time.Second,
	}
}

// BenchClientTo is BenchClient for an instance run by several processes:
// whatever host a request names, its connections go to addrs in turn, as
// an L4 balancer in front of the processes would spread them.
func BenchClientTo(conns int, addrs []string) *http.Client {
	c := BenchClient(conns)
	var next atomic.Int64
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	c.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addrs[int(next.Add(1)-1)%len(addrs)])
	}
	return c
}

// SeedFollowing records, directly in the store, that the instance's coop
// follows each actor (accepted), so what they send lands in its timeline.
func (i *Instance) SeedFollowing(tb testing.TB, actorIRIs []string) {
	tb.Helper()
	err := i.Store.Update(context.Background(), func(tx *store.Tx) error {
		for n, iri := range actorIRIs {
			fl := &coopfed.Following{CoopID: i.Coop.ID, ActorIRI: iri, FollowIRI: fmt.Sprintf("%s/follows/seed-%d", i.ActorIRI(), n), State: coopfed.FollowAccepted}
			if err := tx.PutFollowing(fl); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// SeedFollowers stores the actors and makes them accepted followers of the
// instance's coop, directly in the store, in one transaction.
func (i *Instance) SeedFollowers(tb testing.TB, actors []*coopfed.RemoteActor) {
	tb.Helper()
	i.SeedFollowersOf(tb, i.Coop.ID, actors)
}

// SeedFollowersOf is SeedFollowers for any local actor (a group: its
// members).
func (i *Instance) SeedFollowersOf(tb testing.TB, actorID int64, actors []*coopfed.RemoteActor) {
	tb.Helper()
	err := i.Store.Update(context.Background(), func(tx *store.Tx) error {
		for n, a := range actors {
			if err := tx.PutRemoteActor(a); err != nil {
				return err
			}
			fl := &coopfed.Follower{CoopID: actorID, ActorIRI: a.IRI, FollowIRI: fmt.Sprintf("%s/follows/%d", a.IRI, n), State: coopfed.FollowAccepted}
			if err := tx.PutFollower(fl); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// InboxFarm is a set of loopback servers whose actors have personal inboxes
// only (no shared inbox), so a coop followed by all of them sends one POST
// per actor. The inboxes count POSTs and answer 202 without verifying
// signatures: they measure the sender's throughput, not theirs.
type InboxFarm struct {
	Servers   []*httptest.Server
	PerServer int

	counts []atomic.Int64 // per actor, index server*PerServer+actor
	total  atomic.Int64
	bad    atomic.Int64 // POSTs to unknown paths, or not POSTs
	bytes  atomic.Int64
}

// NewInboxFarm starts servers x perServer inboxes on 127.0.0.1; they stop
// when the test ends.
func NewInboxFarm(tb testing.TB, servers, perServer int) *InboxFarm {
	tb.Helper()
	f := &InboxFarm{PerServer: perServer, counts: make([]atomic.Int64, servers*perServer)}
	for s := range servers {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(f.handler(s))
		srv.Listener.Close()
		srv.Listener = l
		srv.Start()
		tb.Cleanup(srv.Close)
		f.Servers = append(f.Servers, srv)
	}
	return f
}

func (f *InboxFarm) handler(server int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		f.bytes.Add(n)
		// Path: /users/a{index}/inbox
		name, ok := strings.CutPrefix(r.URL.Path, "/users/a")
		name, ok2 := strings.CutSuffix(name, "/inbox")
		idx, err := strconv.Atoi(name)
		if r.Method != http.MethodPost || !ok || !ok2 || err != nil || idx < 0 || idx >= f.PerServer {
			f.bad.Add(1)
			http.NotFound(w, r)
			return
		}
		f.counts[server*f.PerServer+idx].Add(1)
		f.total.Add(1)
		w.WriteHeader(http.StatusAccepted)
	})
}

// Actors returns the farm's actors, ready for SeedFollowers. Each has only
// a personal inbox; keyPEM is stored as their public key.
func (f *InboxFarm) Actors(keyPEM string) []*coopfed.RemoteActor {
	var out []*coopfed.RemoteActor
	for _, srv := range f.Servers {
		host := strings.TrimPrefix(srv.URL, "http://")
		for i := range f.PerServer {
			iri := fmt.Sprintf("%s/users/a%d", srv.URL, i)
			out = append(out, &coopfed.RemoteActor{
				IRI: iri, Type: "Person", PreferredUsername: fmt.Sprintf("a%d", i), Host: host,
				Inbox: iri + "/inbox", Outbox: iri + "/outbox", Followers: iri + "/followers",
				PublicKeyID: iri + "#main-key", PublicKeyPEM: keyPEM,
			})
		}
	}
	return out
}

// Total returns how many POSTs the inboxes received.
func (f *InboxFarm) Total() int64 { return f.total.Load() }

// Bad returns how many requests went to no known inbox.
func (f *InboxFarm) Bad() int64 { return f.bad.Load() }

// Bytes returns the body bytes received.
func (f *InboxFarm) Bytes() int64 { return f.bytes.Load() }

// Counts returns the POSTs each inbox received.
func (f *InboxFarm) Counts() []int64 {
	out := make([]int64, len(f.counts))
	for i := range f.counts {
		out[i] = f.counts[i].Load()
	}
	return out
}

// WaitTotal waits until the inboxes received at least n POSTs in all; it
// polls every millisecond and reports false on timeout.
func (f *InboxFarm) WaitTotal(n int64, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for f.total.Load() < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// FixedPublicKeyPEM returns the public half of fixed key n (1 to 3).
func FixedPublicKeyPEM(n int) string {
	key, err := httpsign.ParsePrivateKeyPEM(fixedKeyPEM(n))
	if err != nil {
		panic(err)
	}
	pub, err := httpsign.EncodePublicKeyPEM(&key.PublicKey)
	if err != nil {
		panic(err)
	}
	return pub
}
