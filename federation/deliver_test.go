package federation_test

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/httpsign"
	"github.com/coopfed/coopfed/fedtest"
	"github.com/coopfed/coopfed/store"
)

// inboxReply is one scripted answer of an inbox.
type inboxReply struct {
	status int
	header map[string]string
}

// inboxHit is one request an inbox server received.
type inboxHit struct {
	method, path string
	at           time.Time // when it arrived
	date         time.Time // its Date header
	activity     string    // the posted activity's id
	sigErr       error     // nil when the signature verified with the coop's key
}

// scriptedInbox is a fake remote server on 127.0.0.1 whose inboxes answer
// from a script, one reply per attempt (the last one repeats), and which
// checks every POST's Date, Digest and signature against the coop's key,
// as Mastodon does.
type scriptedInbox struct {
	URL   string
	keyID string
	pub   crypto.PublicKey

	mu     sync.Mutex
	script map[string][]inboxReply
	hits   []inboxHit
}

func newScriptedInbox(t *testing.T, inst *fedtest.Instance) *scriptedInbox {
	t.Helper()
	pub, err := httpsign.ParsePublicKeyPEM(inst.Coop.PublicKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptedInbox{keyID: inst.IRIs().CoopKey(inst.Coop.Name), pub: pub, script: map[string][]inboxReply{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	s.URL = "http://" + l.Addr().String()
	return s
}

func (s *scriptedInbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	h := inboxHit{method: r.Method, path: r.URL.Path, at: time.Now()}
	h.date, _ = http.ParseTime(r.Header.Get("Date"))
	var doc struct{ ID string }
	json.Unmarshal(body, &doc)
	h.activity = doc.ID
	if p, err := httpsign.Check(r, body, time.Now(), time.Hour); err != nil {
		h.sigErr = err
	} else if p.KeyID != s.keyID {
		h.sigErr = fmt.Errorf("signed with %s, want %s", p.KeyID, s.keyID)
	} else {
		h.sigErr = p.Verify(r, s.pub)
	}
	s.mu.Lock()
	n := 0
	for _, x := range s.hits {
		if x.path == h.path {
			n++
		}
	}
	s.hits = append(s.hits, h)
	replies := s.script[h.path]
	s.mu.Unlock()
	if len(replies) == 0 {
		w.Write([]byte("a page that is not an inbox\n"))
		return
	}
	rp := replies[min(n, len(replies)-1)]
	for k, v := range rp.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rp.status)
}

// hitsOn returns the requests that reached path, in order.
func (s *scriptedInbox) hitsOn(path string) []inboxHit {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []inboxHit
	for _, h := range s.hits {
		if h.path == path {
			out = append(out, h)
		}
	}
	return out
}

// follower makes a remote actor an accepted follower of the instance's
// coop, as if its Follow had been accepted earlier; sharedInbox may be "".
func addDeliveryFollower(t *testing.T, inst *fedtest.Instance, actorIRI, inbox, sharedInbox string) {
	t.Helper()
	name := actorIRI[strings.LastIndex(actorIRI, "/")+1:]
	host := strings.TrimPrefix(actorIRI, "http://")
	host = host[:strings.Index(host, "/")]
	err := inst.Store.Update(context.Background(), func(tx *store.Tx) error {
		a := &coopfed.RemoteActor{IRI: actorIRI, Type: "Person", PreferredUsername: name, Host: host, Inbox: inbox, SharedInbox: sharedInbox, PublicKeyID: actorIRI + "#main-key"}
		if err := tx.PutRemoteActor(a); err != nil {
			return err
		}
		return tx.PutFollower(&coopfed.Follower{CoopID: inst.Coop.ID, ActorIRI: actorIRI, FollowIRI: actorIRI + "/follows/1", State: coopfed.FollowAccepted})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// announce publishes an announcement and returns the IRI of its Create.
func announceForDelivery(t *testing.T, inst *fedtest.Instance, content string) string {
	t.Helper()
	var created struct{ ID string }
	if st := inst.API(t, http.MethodPost, "/api/v1/coops/"+inst.Coop.Name+"/announcements", map[string]string{"content": content}, &created); st != http.StatusCreated {
		t.Fatalf("announce: status %d", st)
	}
	return created.ID + "/activity"
}

// deliveries returns the queue rows of an activity by inbox.
func deliveryRows(t *testing.T, inst *fedtest.Instance, activity string) map[string]*coopfed.Delivery {
	t.Helper()
	ds, err := inst.Store.Deliveries(context.Background(), activity)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*coopfed.Delivery{}
	for _, d := range ds {
		out[d.Inbox] = d
	}
	return out
}

// Each answer of an inbox is classified as DESIGN.md section 6 says:
// 2xx is done; a refusal (4xx but 401, 408 and 429) is given up after one
// attempt; 5xx, 401, 408 and 429 are retried, honouring Retry-After, and
// delivered once the receiver recovers; a redirect is not a delivery. Every
// attempt is signed afresh and verifies with the coop's key.
func TestDeliveryClassification(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	srv := newScriptedInbox(t, inst)
	const throttle = 2 // seconds of Retry-After; longer than the retry base and the idle poll together
	cases := []struct {
		name     string
		replies  []inboxReply
		state    string
		attempts int
	}{
		{"accepts", []inboxReply{{status: 202}}, coopfed.DeliveryDone, 1},
		{"oks", []inboxReply{{status: 200}}, coopfed.DeliveryDone, 1},
		{"nocontent", []inboxReply{{status: 204}}, coopfed.DeliveryDone, 1},
		{"gone", []inboxReply{{status: 410}}, coopfed.DeliveryFailed, 1},
		{"missing", []inboxReply{{status: 404}}, coopfed.DeliveryFailed, 1},
		{"malformed", []inboxReply{{status: 400}}, coopfed.DeliveryFailed, 1},
		{"forbidden", []inboxReply{{status: 403}}, coopfed.DeliveryFailed, 1},
		{"unprocessable", []inboxReply{{status: 422}}, coopfed.DeliveryFailed, 1},
		{"crashing", []inboxReply{{status: 500}, {status: 503}, {status: 202}}, coopfed.DeliveryDone, 3},
		{"throttling", []inboxReply{{status: 429, header: map[string]string{"Retry-After": strconv.Itoa(throttle)}}, {status: 202}}, coopfed.DeliveryDone, 2},
		{"unauthorised", []inboxReply{{status: 401}, {status: 202}}, coopfed.DeliveryDone, 2},
		{"timingout", []inboxReply{{status: 408}, {status: 202}}, coopfed.DeliveryDone, 2},
		// A followed 302 would turn the POST into a GET of the landing
		// page and count it as delivered.
		{"moved", []inboxReply{{status: 302, header: map[string]string{"Location": "/landing"}}}, coopfed.DeliveryPending, 2},
	}
	inboxOf := func(name string) string { return "/users/" + name + "/inbox" }
	srv.mu.Lock()
	for _, c := range cases {
		srv.script[inboxOf(c.name)] = c.replies
	}
	srv.mu.Unlock()
	for _, c := range cases {
		addDeliveryFollower(t, inst, srv.URL+"/users/"+c.name, srv.URL+inboxOf(c.name), "")
	}

	activity := announceForDelivery(t, inst, "Rye bread is back")
	unsettled := func(rows map[string]*coopfed.Delivery) []string {
		var out []string
		for _, c := range cases {
			d := rows[srv.URL+inboxOf(c.name)]
			switch {
			case d == nil:
				out = append(out, c.name+": no queue row")
			case d.State != c.state || d.Attempts < c.attempts:
				out = append(out, fmt.Sprintf("%s: %s after %d attempts (%s), want %s after %d", c.name, d.State, d.Attempts, d.LastError, c.state, c.attempts))
			}
		}
		return out
	}
	var rows map[string]*coopfed.Delivery
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		rows = deliveryRows(t, inst, activity)
		bad := unsettled(rows)
		if len(bad) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries did not settle:\n%s", strings.Join(bad, "\n"))
		}
	}
	if len(rows) != len(cases) {
		t.Errorf("%d queue rows, want %d", len(rows), len(cases))
	}

	for _, c := range cases {
		d := rows[srv.URL+inboxOf(c.name)]
		hits := srv.hitsOn(inboxOf(c.name))
		if c.state != coopfed.DeliveryPending {
			if d.Attempts != c.attempts || len(hits) != c.attempts {
				t.Errorf("%s: %d attempts recorded, %d POSTs received, want %d", c.name, d.Attempts, len(hits), c.attempts)
			}
		}
		if c.state == coopfed.DeliveryFailed && !strings.Contains(d.LastError, strconv.Itoa(c.replies[0].status)) {
			t.Errorf("%s: last error %q does not name the status", c.name, d.LastError)
		}
		for i, h := range hits {
			if h.method != http.MethodPost || h.activity != activity {
				t.Errorf("%s: attempt %d was %s of %q", c.name, i+1, h.method, h.activity)
			}
			if h.sigErr != nil {
				t.Errorf("%s: attempt %d: signature: %v", c.name, i+1, h.sigErr)
			}
			if i > 0 && h.date.Before(hits[i-1].date) {
				t.Errorf("%s: attempt %d is dated %v, before attempt %d", c.name, i+1, h.date, i)
			}
		}
	}

	// Retry-After is honoured, and the retry carries a new Date: a
	// signature made at enqueue time would be the same on both attempts.
	th := srv.hitsOn(inboxOf("throttling"))
	if gap := th[1].at.Sub(th[0].at); gap < throttle*time.Second {
		t.Errorf("retried %v after a 429 with Retry-After: %d", gap, throttle)
	}
	if !th[1].date.After(th[0].date) {
		t.Errorf("retry dated %v, first attempt %v: the Date was not renewed", th[1].date, th[0].date)
	}
	if moved := rows[srv.URL+inboxOf("moved")]; !strings.Contains(moved.LastError, "302") {
		t.Errorf("moved: last error %q, want the 302", moved.LastError)
	}
	if landing := srv.hitsOn("/landing"); len(landing) != 0 {
		t.Errorf("the redirect was followed: %d requests reached /landing", len(landing))
	}
}

// Followers on one server that advertises a shared inbox get one POST
// between them; followers without one get a POST each. The fake remotes
// verify every signature by fetching the coop's key, as Mastodon does.
func TestDeliveryOnePostPerSharedInbox(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	shared := fedtest.NewRemote(t)
	personal := fedtest.NewRemote(t)
	for i := range 3 {
		a := shared.AddActor(fmt.Sprintf("s%d", i), i+1)
		addDeliveryFollower(t, inst, a.IRI, a.Inbox(), shared.URL+"/inbox")
		b := personal.AddActor(fmt.Sprintf("p%d", i), i+1)
		addDeliveryFollower(t, inst, b.IRI, b.Inbox(), "")
	}

	activity := announceForDelivery(t, inst, "Sourdough workshop on Saturday")
	fedtest.Eventually(t, 20*time.Second, "deliveries done", func() bool {
		rows := deliveryRows(t, inst, activity)
		for _, d := range rows {
			if d.State != coopfed.DeliveryDone {
				return false
			}
		}
		return len(rows) > 0
	})
	if rows := deliveryRows(t, inst, activity); len(rows) != 4 {
		t.Errorf("%d queue rows, want 4 (one shared inbox, three personal)", len(rows))
	}

	sharedGot := shared.ReceivedOfType("Create")
	if len(sharedGot) != 1 || sharedGot[0].Path != "/inbox" {
		t.Errorf("shared-inbox server got Creates at %v, want one at /inbox", receivedPaths(sharedGot))
	}
	personalGot := personal.ReceivedOfType("Create")
	seen := map[string]bool{}
	for _, r := range personalGot {
		seen[r.Path] = true
	}
	if len(personalGot) != 3 || !seen["/users/p0/inbox"] || !seen["/users/p1/inbox"] || !seen["/users/p2/inbox"] {
		t.Errorf("personal-inbox server got Creates at %v, want one at each of /users/p{0,1,2}/inbox", receivedPaths(personalGot))
	}
	for _, r := range append(sharedGot, personalGot...) {
		if r.SignatureErr != nil {
			t.Errorf("POST to %s: signature: %v", r.Path, r.SignatureErr)
		}
		if r.Activity["id"] != activity {
			t.Errorf("POST to %s carried %v, want %s", r.Path, r.Activity["id"], activity)
		}
	}
}

func receivedPaths(rs []fedtest.Received) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Path)
	}
	return out
}
