package federation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/fedtest"
	"github.com/coopfed/coopfed/store"
)

// These tests send forged, replayed, oversized, wrongly signed and
// malformed requests to a real instance (DESIGN section 8, "Bad input") and
// check that each gets its status and leaves the database as it was.

const asContext = "https://www.w3.org/ns/activitystreams"

// hostileEnv is one instance with a follower (alice) whose key is already
// cached and who has one note in the coop's timeline, so refused requests
// that would edit or delete existing rows have something to damage.
type hostileEnv struct {
	inst   *fedtest.Instance
	remote *fedtest.Remote
	log    *fedtest.RequestLog

	alice    *fedtest.Actor // follows the coop; key cached
	mallory  *fedtest.Actor // same host as alice; first seen in the table
	stranger *fedtest.Actor // same host; never resolved: signs requests that must be refused before any fetch
	eve      *fedtest.Actor // another host

	inbox, shared string
	note          map[string]any // alice's note in the coop's timeline
}

func newHostileEnv(t *testing.T) *hostileEnv {
	t.Helper()
	inst := fedtest.Start(t, fedtest.Options{Coop: "coop"})
	remote, log := fedtest.NewCountingRemote(t)
	e := &hostileEnv{
		inst: inst, remote: remote, log: log,
		alice:    remote.AddActor("alice", 1),
		mallory:  remote.AddActor("mallory", 2),
		stranger: remote.AddActor("stranger", 3),
		eve:      fedtest.NewRemote(t).AddActor("eve", 3),
		inbox:    inst.URL + "/coops/coop/inbox",
		shared:   inst.URL + "/inbox",
	}
	// The coop follows every remote actor of the table, so that what they
	// post would reach its timeline if the inbox let it through.
	inst.SeedFollowing(t, []string{e.alice.IRI, e.mallory.IRI, e.stranger.IRI, e.eve.IRI})
	if st, body := e.alice.Post(e.inbox, activity(e.alice, "Follow", inst.ActorIRI())); st != http.StatusAccepted {
		t.Fatalf("seed follow: %d %s", st, body)
	}
	remote.WaitFor("Accept", 1)
	e.note = e.newNote(e.alice, "Seed potatoes to swap")
	if st, body := e.alice.Post(e.inbox, activity(e.alice, "Create", e.note)); st != http.StatusAccepted {
		t.Fatalf("seed note: %d %s", st, body)
	}
	if n := e.timelineRows(t); n != 1 {
		t.Fatalf("seed: %d timeline rows, want 1", n)
	}
	// Why: the Accept's delivery row changes state when the worker sends
	// it; wait for that so snapshots only see what requests change.
	fedtest.Eventually(t, 10*time.Second, "seed deliveries done", func() bool { return inst.PendingDeliveries(t) == 0 })
	return e
}

// activity returns a fresh activity of typ by a about object.
func activity(a *fedtest.Actor, typ string, object any) map[string]any {
	return map[string]any{
		"@context": asContext,
		"id":       a.ID(strings.ToLower(typ)),
		"type":     typ,
		"actor":    a.IRI,
		"object":   object,
	}
}

// newNote returns a note by a addressed to the coop, so it lands in the
// coop's timeline.
func (e *hostileEnv) newNote(a *fedtest.Actor, content string) map[string]any {
	return map[string]any{
		"id":           a.ID("statuses"),
		"type":         "Note",
		"attributedTo": a.IRI,
		"content":      "<p>" + content + "</p>",
		"to":           []string{e.inst.ActorIRI()},
		"published":    time.Now().UTC().Format(time.RFC3339),
	}
}

func (e *hostileEnv) timelineRows(t *testing.T) int64 { return e.inst.Counts(t)["timeline"] }

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// resend returns a copy of req sent to url with body, headers unchanged
// (signature included): a replay or a tampered copy.
func resend(t *testing.T, req *http.Request, url string, body []byte) *http.Request {
	t.Helper()
	out, err := http.NewRequest(req.Method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out.Header = req.Header.Clone()
	out.Host = req.Host
	return out
}

// freeLoopbackAddr returns a 127.0.0.1 address nothing listens on, reserved
// until the test ends so that nothing starts listening there meanwhile.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	return fedtest.ReserveAddr(t)
}

func (e *hostileEnv) update(t *testing.T, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := e.inst.Store.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// diff lists the tables whose rows differ between two snapshots, skipping
// the tables in skip.
func diff(before, after map[string]fedtest.TableState, skip ...string) []string {
	var out []string
	for name, b := range before {
		if slices.Contains(skip, name) {
			continue
		}
		if a := after[name]; a != b {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// hostileCase is one hostile request: refused, or accepted and ignored.
type hostileCase struct {
	name string
	// setup prepares the instance (a block) and returns what undoes it.
	setup func(t *testing.T, e *hostileEnv) func()
	build func(t *testing.T, e *hostileEnv) *http.Request
	want  int
	// reason is part of the error message the refusal must carry.
	reason string
	// beforeFetch: refused before any key fetch, so the remote must see no
	// request at all and no table may change, remote_actors included.
	// Otherwise a verified signer may be cached in remote_actors (a key
	// fetch is not undone because a later check refused the activity), but
	// nothing else may change.
	beforeFetch bool
}

func TestHostileInboxRequestsChangeNothing(t *testing.T) {
	e := newHostileEnv(t)
	big := strings.Repeat("a", 1<<20)
	cases := []hostileCase{
		// Step 1 of DESIGN section 5: size, depth, media type.
		{name: "body over 1 MiB", want: http.StatusRequestEntityTooLarge, reason: "larger than", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				req, _ := e.stranger.NewPost(e.inbox, activity(e.stranger, "Create", e.newNote(e.stranger, big)))
				return req
			}},
		{name: "body over 1 MiB without Content-Length", want: http.StatusRequestEntityTooLarge, reason: "larger than", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				req, _ := e.stranger.NewPost(e.inbox, activity(e.stranger, "Create", e.newNote(e.stranger, big)))
				req.ContentLength = -1 // sent chunked: the limit must hold while reading
				return req
			}},
		{name: "Content-Type text/plain", want: http.StatusUnsupportedMediaType, reason: "content type", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				req, _ := e.stranger.NewPost(e.inbox, activity(e.stranger, "Follow", e.inst.ActorIRI()))
				req.Header.Set("Content-Type", "text/plain")
				return req
			}},
		{name: "Content-Type application/json", want: http.StatusUnsupportedMediaType, reason: "content type", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				req, _ := e.stranger.NewPost(e.inbox, activity(e.stranger, "Follow", e.inst.ActorIRI()))
				req.Header.Set("Content-Type", "application/json")
				return req
			}},
		{name: "Content-Type ld+json with another profile", want: http.StatusUnsupportedMediaType, reason: "content type", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				req, _ := e.stranger.NewPost(e.inbox, activity(e.stranger, "Follow", e.inst.ActorIRI()))
				req.Header.Set("Content-Type", `application/ld+json; profile="https://example.org/other"`)
				return req
			}},
		{name: "malformed JSON", want: http.StatusBadRequest, reason: "not an activity", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				return e.stranger.NewSignedPost(e.inbox, []byte(`{"type":"Follow","actor":`), fedtest.Signature{})
			}},
		{name: "JSON nested 100 deep", want: http.StatusBadRequest, reason: "nested deeper", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				act := mustJSON(t, activity(e.stranger, "Create", "PLACEHOLDER"))
				deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
				body := bytes.Replace(act, []byte(`"PLACEHOLDER"`), []byte(deep), 1)
				return e.stranger.NewSignedPost(e.inbox, body, fedtest.Signature{})
			}},

		// Step 2: the signature's syntax, coverage, Date and Digest.
		{name: "no Signature header", want: http.StatusUnauthorized, reason: "missing", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				req, _ := e.stranger.NewPost(e.inbox, activity(e.stranger, "Follow", e.inst.ActorIRI()))
				req.Header.Del("Signature")
				return req
			}},
		{name: "garbage Signature header", want: http.StatusUnauthorized, reason: "malformed", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				req, _ := e.stranger.NewPost(e.inbox, activity(e.stranger, "Follow", e.inst.ActorIRI()))
				req.Header.Set("Signature", "trust me, I am alice")
				return req
			}},
		{name: "two Signature headers", want: http.StatusUnauthorized, reason: "2 Signature headers", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				req, _ := e.stranger.NewPost(e.inbox, activity(e.stranger, "Follow", e.inst.ActorIRI()))
				req.Header.Add("Signature", req.Header.Get("Signature"))
				return req
			}},
		{name: "no headers parameter (Date alone signed)", want: http.StatusUnauthorized, reason: `does not cover "(request-target)"`, beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				return e.stranger.NewSignedPost(e.inbox, mustJSON(t, activity(e.stranger, "Follow", e.inst.ActorIRI())), fedtest.Signature{NoHeadersParam: true})
			}},
		{name: "(request-target) not signed", want: http.StatusUnauthorized, reason: `does not cover "(request-target)"`, beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				return e.stranger.NewSignedPost(e.inbox, mustJSON(t, activity(e.stranger, "Follow", e.inst.ActorIRI())), fedtest.Signature{Headers: []string{"host", "date", "digest"}})
			}},
		{name: "host not signed", want: http.StatusUnauthorized, reason: `does not cover "host"`, beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				return e.stranger.NewSignedPost(e.inbox, mustJSON(t, activity(e.stranger, "Follow", e.inst.ActorIRI())), fedtest.Signature{Headers: []string{"(request-target)", "date", "digest"}})
			}},
		{name: "date not signed", want: http.StatusUnauthorized, reason: `does not cover "date"`, beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				return e.stranger.NewSignedPost(e.inbox, mustJSON(t, activity(e.stranger, "Follow", e.inst.ActorIRI())), fedtest.Signature{Headers: []string{"(request-target)", "host", "digest"}})
			}},
		{name: "digest not signed", want: http.StatusUnauthorized, reason: `does not cover "digest"`, beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				return e.stranger.NewSignedPost(e.inbox, mustJSON(t, activity(e.stranger, "Follow", e.inst.ActorIRI())), fedtest.Signature{Headers: []string{"(request-target)", "host", "date"}})
			}},
		{name: "Digest header absent", want: http.StatusUnauthorized, reason: "Digest header absent", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				req := e.stranger.NewSignedPost(e.inbox, mustJSON(t, activity(e.stranger, "Follow", e.inst.ActorIRI())), fedtest.Signature{})
				req.Header.Del("Digest")
				return req
			}},
		{name: "Date 2 h old", want: http.StatusUnauthorized, reason: "outside", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				return e.stranger.NewSignedPost(e.inbox, mustJSON(t, activity(e.stranger, "Follow", e.inst.ActorIRI())), fedtest.Signature{Date: time.Now().Add(-2 * time.Hour)})
			}},
		{name: "Date 2 h in the future", want: http.StatusUnauthorized, reason: "outside", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				return e.stranger.NewSignedPost(e.inbox, mustJSON(t, activity(e.stranger, "Follow", e.inst.ActorIRI())), fedtest.Signature{Date: time.Now().Add(2 * time.Hour)})
			}},
		{name: "Digest mismatch (body changed after signing)", want: http.StatusUnauthorized, reason: "does not match the body", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				follow := activity(e.stranger, "Follow", e.inst.ActorIRI())
				req := e.stranger.NewSignedPost(e.inbox, mustJSON(t, follow), fedtest.Signature{})
				follow["object"] = e.inst.IRIs().Coop("other")
				return resend(t, req, e.inbox, mustJSON(t, follow))
			}},
		{name: "(created) signed without a created parameter", want: http.StatusUnauthorized, reason: "created parameter absent", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				return e.stranger.NewSignedPost(e.inbox, mustJSON(t, activity(e.stranger, "Follow", e.inst.ActorIRI())), fedtest.Signature{Headers: []string{"(request-target)", "host", "date", "digest", "(created)"}})
			}},
		{name: "algorithm hmac-sha256", want: http.StatusUnauthorized, reason: "unsupported algorithm", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				return e.stranger.NewSignedPost(e.inbox, mustJSON(t, activity(e.stranger, "Follow", e.inst.ActorIRI())), fedtest.Signature{Algorithm: "hmac-sha256"})
			}},
		{name: "keyId on our own host", want: http.StatusUnauthorized, reason: "unusable keyId", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				return e.stranger.NewSignedPost(e.inbox, mustJSON(t, activity(e.stranger, "Follow", e.inst.ActorIRI())), fedtest.Signature{KeyID: e.inst.ActorIRI() + "#main-key"})
			}},
		{name: "signed for another server (Host header replayed)", want: http.StatusUnauthorized, reason: "not to this server", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				// What another server's operator could replay to us: a
				// request signed for that server's own /inbox.
				req := e.stranger.NewSignedPost(e.shared, mustJSON(t, activity(e.stranger, "Follow", e.inst.ActorIRI())), fedtest.Signature{})
				req.Host = "social.example"
				e.stranger.SignWith(req, fedtest.Signature{})
				return req
			}},

		// Step 5 (domain blocks) runs before any fetch, so a blocked
		// server cannot make us contact it.
		{name: "blocked domain", want: http.StatusForbidden, reason: "domain is blocked", beforeFetch: true,
			setup: func(t *testing.T, e *hostileEnv) func() {
				e.update(t, func(tx *store.Tx) error { return tx.BlockDomain("127.0.0.1", "test") })
				return func() { e.update(t, func(tx *store.Tx) error { return tx.UnblockDomain("127.0.0.1") }) }
			},
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				req, _ := e.stranger.NewPost(e.inbox, activity(e.stranger, "Follow", e.inst.ActorIRI()))
				return req
			}},
		{name: "inbox of a coop that does not exist", want: http.StatusNotFound, reason: "coop not found", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				req, _ := e.stranger.NewPost(e.inst.URL+"/coops/nope/inbox", activity(e.stranger, "Follow", e.inst.IRIs().Coop("nope")))
				return req
			}},

		// Step 3: the key and its owner.
		{name: "wrong key: mallory signs with alice's keyId", want: http.StatusUnauthorized, reason: "verification error",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				return e.alice.NewSignedPost(e.inbox, mustJSON(t, activity(e.alice, "Follow", e.inst.ActorIRI())), fedtest.Signature{Key: e.mallory.Key})
			}},
		{name: "keyId of an unknown actor", want: http.StatusUnauthorized, reason: "not found",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				return e.alice.NewSignedPost(e.inbox, mustJSON(t, activity(e.alice, "Follow", e.inst.ActorIRI())), fedtest.Signature{KeyID: e.remote.URL + "/users/ghost#main-key"})
			}},
		{name: "key document served as application/json (first contact)", want: http.StatusUnauthorized, reason: "not an ActivityPub document",
			// Why: Mastodon's fetch rule; a file uploaded to a real host
			// and served as plain JSON must not pass as an actor's key.
			setup: func(t *testing.T, e *hostileEnv) func() {
				e.remote.SetContentType("/users/mallory", "application/json")
				return func() { e.remote.SetContentType("/users/mallory", "application/activity+json") }
			},
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				req, _ := e.mallory.NewPost(e.inbox, activity(e.mallory, "Follow", e.inst.ActorIRI()))
				return req
			}},
		{name: "keyId on an unreachable server", want: http.StatusUnauthorized, reason: "could not reach",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				iri := "http://" + freeLoopbackAddr(t) + "/users/ghost"
				return e.alice.NewSignedPost(e.inbox, mustJSON(t, activity(e.alice, "Follow", e.inst.ActorIRI())), fedtest.Signature{KeyID: iri + "#main-key"})
			}},
		{name: "signed for another inbox (request-target replayed)", want: http.StatusUnauthorized, reason: "verification error",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				body := mustJSON(t, activity(e.alice, "Follow", e.inst.ActorIRI()))
				req := e.alice.NewSignedPost(e.shared, body, fedtest.Signature{})
				return resend(t, req, e.inbox, body)
			}},
		{name: "key owner is not the activity's actor", want: http.StatusUnauthorized, reason: "is not the signer",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				follow := activity(e.mallory, "Follow", e.inst.ActorIRI())
				return e.alice.NewSignedPost(e.inbox, mustJSON(t, follow), fedtest.Signature{})
			}},
		{name: "activity with no actor", want: http.StatusBadRequest, reason: "exactly one actor",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				follow := activity(e.alice, "Follow", e.inst.ActorIRI())
				delete(follow, "actor")
				req, _ := e.alice.NewPost(e.inbox, follow)
				return req
			}},
		{name: "activity with two actors", want: http.StatusBadRequest, reason: "exactly one actor",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				follow := activity(e.alice, "Follow", e.inst.ActorIRI())
				follow["actor"] = []string{e.alice.IRI, e.mallory.IRI}
				req, _ := e.alice.NewPost(e.inbox, follow)
				return req
			}},
		{name: "activity with no id", want: http.StatusBadRequest, reason: "has no id",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				follow := activity(e.alice, "Follow", e.inst.ActorIRI())
				delete(follow, "id")
				req, _ := e.alice.NewPost(e.inbox, follow)
				return req
			}},
		// A deleted actor's Delete of itself cannot be verified (its key is
		// gone with it): accepted so its server stops retrying, but it
		// proves nothing, so nothing happens.
		{name: "self-Delete signed with a key that is gone", want: http.StatusAccepted,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				ghost := e.remote.URL + "/users/ghost"
				del := map[string]any{"@context": asContext, "id": ghost + "#delete", "type": "Delete", "actor": ghost, "object": ghost}
				return e.stranger.NewSignedPost(e.inbox, mustJSON(t, del), fedtest.Signature{KeyID: ghost + "#main-key"})
			}},

		// Step 4: origin. An actor creates, changes and deletes only its
		// own server's objects, and nothing remote may claim to be ours.
		{name: "activity id on another host", want: http.StatusForbidden, reason: "not on the actor's host",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				create := activity(e.alice, "Create", e.newNote(e.alice, "hello"))
				create["id"] = e.eve.ID("create")
				req, _ := e.alice.NewPost(e.inbox, create)
				return req
			}},
		{name: "activity id on our host", want: http.StatusForbidden, reason: "not on the actor's host",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				create := activity(e.alice, "Create", e.newNote(e.alice, "hello"))
				create["id"] = e.inst.URL + "/activities/forged"
				req, _ := e.alice.NewPost(e.inbox, create)
				return req
			}},
		{name: "Create of an object on another host", want: http.StatusForbidden, reason: "not on the actor's host",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				note := e.newNote(e.alice, "hello")
				note["id"] = e.eve.ID("statuses")
				req, _ := e.alice.NewPost(e.inbox, activity(e.alice, "Create", note))
				return req
			}},
		{name: "Create of an object claiming our host", want: http.StatusForbidden, reason: "not on the actor's host",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				note := e.newNote(e.alice, "official announcement")
				note["id"] = e.inst.URL + "/notes/forged"
				req, _ := e.alice.NewPost(e.inbox, activity(e.alice, "Create", note))
				return req
			}},
		{name: "Create of an object attributed to someone else", want: http.StatusForbidden, reason: "attributed to another actor",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				note := e.newNote(e.alice, "mallory says hi")
				note["attributedTo"] = e.mallory.IRI
				req, _ := e.alice.NewPost(e.inbox, activity(e.alice, "Create", note))
				return req
			}},
		{name: "Update of another actor", want: http.StatusForbidden, reason: "only itself",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				person := e.mallory.Document()
				person["name"] = "Mallory (hacked)"
				req, _ := e.alice.NewPost(e.inbox, activity(e.alice, "Update", person))
				return req
			}},
		{name: "Update of itself moving its inbox to another host", want: http.StatusForbidden, reason: "inbox on another host",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				person := e.alice.Document()
				person["inbox"] = e.eve.Inbox()
				req, _ := e.alice.NewPost(e.inbox, activity(e.alice, "Update", person))
				return req
			}},
		{name: "Update of our coop's actor", want: http.StatusForbidden, reason: "not on the actor's host",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				coop := map[string]any{"id": e.inst.ActorIRI(), "type": "Organization", "name": "pwned", "inbox": e.inbox}
				req, _ := e.alice.NewPost(e.inbox, activity(e.alice, "Update", coop))
				return req
			}},
		{name: "Update of alice's note by mallory (first contact)", want: http.StatusForbidden, reason: "attributed to another actor",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				note := map[string]any{}
				for k, v := range e.note {
					note[k] = v
				}
				note["content"] = "<p>defaced</p>"
				note["updated"] = time.Now().UTC().Format(time.RFC3339)
				req, _ := e.mallory.NewPost(e.inbox, activity(e.mallory, "Update", note))
				return req
			}},
		{name: "Delete of another host's object", want: http.StatusForbidden, reason: "not on the actor's host",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				req, _ := e.alice.NewPost(e.inbox, activity(e.alice, "Delete", e.eve.ID("statuses")))
				return req
			}},
		{name: "Delete of our coop", want: http.StatusForbidden, reason: "not on the actor's host",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				req, _ := e.alice.NewPost(e.inbox, activity(e.alice, "Delete", map[string]any{"id": e.inst.ActorIRI(), "type": "Tombstone"}))
				return req
			}},
		{name: "Undo of another actor's Follow", want: http.StatusForbidden, reason: "another actor's activity",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				theirs := activity(e.mallory, "Follow", e.inst.ActorIRI())
				req, _ := e.alice.NewPost(e.inbox, activity(e.alice, "Undo", theirs))
				return req
			}},

		// Step 5: actor blocks, once the signer is known.
		{name: "blocked actor", want: http.StatusForbidden, reason: "actor is blocked",
			setup: func(t *testing.T, e *hostileEnv) func() {
				e.update(t, func(tx *store.Tx) error { return tx.BlockActor(e.alice.IRI, "test") })
				return func() { e.update(t, func(tx *store.Tx) error { return tx.UnblockActor(e.alice.IRI) }) }
			},
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				req, _ := e.alice.NewPost(e.inbox, activity(e.alice, "Create", e.newNote(e.alice, "still here")))
				return req
			}},

		// Step 6 finds nothing to apply to.
		{name: "Follow of a coop that does not exist", want: http.StatusNotFound, reason: "coop not found",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				req, _ := e.alice.NewPost(e.shared, activity(e.alice, "Follow", e.inst.IRIs().Coop("nope")))
				return req
			}},

		// Rows from the published advisories of Mastodon and GoToSocial
		// (see FEDERATION.md, "Security advisories reviewed").

		// Mastodon CVE-2023-42451: a host spelled
		// another way (trailing dot, userinfo) must not pass for
		// another server, nor slip past a block of its real name.
		{name: "keyId host with a trailing dot, its domain blocked", want: http.StatusUnauthorized, reason: "unusable keyId", beforeFetch: true,
			setup: func(t *testing.T, e *hostileEnv) func() {
				e.update(t, func(tx *store.Tx) error { return tx.BlockDomain("127.0.0.1", "test") })
				return func() { e.update(t, func(tx *store.Tx) error { return tx.UnblockDomain("127.0.0.1") }) }
			},
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				host, port, _ := net.SplitHostPort(e.remote.Host)
				keyID := "http://" + host + ".:" + port + "/users/stranger#main-key"
				return e.stranger.NewSignedPost(e.inbox, mustJSON(t, activity(e.stranger, "Follow", e.inst.ActorIRI())), fedtest.Signature{KeyID: keyID})
			}},
		{name: "keyId with userinfo before its host", want: http.StatusUnauthorized, reason: "unusable keyId", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				keyID := "http://" + e.eve.Remote.Host + "@" + e.remote.Host + "/users/stranger#main-key"
				return e.stranger.NewSignedPost(e.inbox, mustJSON(t, activity(e.stranger, "Follow", e.inst.ActorIRI())), fedtest.Signature{KeyID: keyID})
			}},
		{name: "activity id with the actor's host as userinfo", want: http.StatusForbidden, reason: "not on the actor's host",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				act := activity(e.alice, "Create", e.newNote(e.alice, "Userinfo id"))
				act["id"] = "http://" + e.remote.Host + "@" + e.eve.Remote.Host + "/activities/1"
				req, _ := e.alice.NewPost(e.inbox, act)
				return req
			}},
		// Mastodon CVE-2024-23832, insufficient
		// origin validation: an embedded object names its own origin.
		{name: "Create of an object whose id has the actor's host as userinfo", want: http.StatusForbidden, reason: "not on the actor's host",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				note := e.newNote(e.alice, "Userinfo object")
				note["id"] = "http://" + e.remote.Host + "@" + e.eve.Remote.Host + "/statuses/1"
				req, _ := e.alice.NewPost(e.inbox, activity(e.alice, "Create", note))
				return req
			}},
		{name: "Update embedding alice's note, sent by eve from another host", want: http.StatusForbidden, reason: "not on the actor's host",
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				note := maps.Clone(e.note)
				note["content"], note["attributedTo"] = "<p>rewritten</p>", e.eve.IRI
				req, _ := e.eve.NewPost(e.inbox, activity(e.eve, "Update", note))
				return req
			}},
		// Redirects (the origin advisories of both projects): a key
		// fetched through a redirect counts only for the host it ends on,
		// so a host cannot lend another's actor its keyId.
		{name: "key fetch redirected to an actor on another host", want: http.StatusUnauthorized, reason: "does not hold key",
			setup: func(t *testing.T, e *hostileEnv) func() {
				e.remote.SetRedirect("/users/lender", e.eve.IRI)
				return func() { e.remote.SetRedirect("/users/lender", "") }
			},
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				// Signed with eve's own key, so only the keyId's origin
				// can refuse it.
				follow := activity(e.eve, "Follow", e.inst.ActorIRI())
				return e.eve.NewSignedPost(e.inbox, mustJSON(t, follow), fedtest.Signature{KeyID: e.remote.URL + "/users/lender#main-key"})
			}},
		// Key rotation: a failed verification refetches a key only when
		// the cached copy is old enough, so forgeries cannot make us
		// hammer the key's server (Mastodon refetches once, likewise).
		{name: "forged signature on a key cached under a minute ago: no refetch", want: http.StatusUnauthorized, reason: "verification error", beforeFetch: true,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				return e.alice.NewSignedPost(e.shared, mustJSON(t, activity(e.alice, "Like", e.note["id"])), fedtest.Signature{Key: e.stranger.Key})
			}},
		// Replay within the Date window: the same signed request again is
		// answered 202 (so its sender stops) and changes nothing.
		{name: "replay within the Date window of an accepted Create", want: http.StatusAccepted,
			build: func(t *testing.T, e *hostileEnv) *http.Request {
				body := mustJSON(t, activity(e.alice, "Create", e.newNote(e.alice, "Said once")))
				req := e.alice.NewSignedPost(e.shared, body, fedtest.Signature{})
				replay := resend(t, req, e.shared, body)
				if st, answer := fedtest.Do(t, req); st != http.StatusAccepted {
					t.Fatalf("original: %d %s", st, answer)
				}
				return replay
			}},
	}
	if len(cases) < 24 {
		t.Fatalf("the table must hold at least 24 hostile requests, has %d", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				defer c.setup(t, e)()
			}
			req := c.build(t, e)
			before := e.inst.Snapshot(t)
			seen := e.log.Len()
			st, body := fedtest.Do(t, req)
			if st != c.want {
				t.Errorf("status %d, want %d (%s)", st, c.want, strings.TrimSpace(body))
			}
			// Why: many checks share a status; the message shows that the
			// intended one refused the request.
			var answer struct{ Error string }
			json.Unmarshal([]byte(body), &answer)
			if c.reason != "" && !strings.Contains(answer.Error, c.reason) {
				t.Errorf("answer %q does not name the reason %q", strings.TrimSpace(body), c.reason)
			}
			after := e.inst.Snapshot(t)
			if changed := diff(before, after, "remote_actors"); len(changed) > 0 {
				t.Errorf("refused request changed tables %v", changed)
			}
			if c.beforeFetch {
				if before["remote_actors"] != after["remote_actors"] {
					t.Errorf("refused before any fetch, but remote_actors changed: %+v -> %+v", before["remote_actors"], after["remote_actors"])
				}
				if got := e.log.Since(seen); len(got) > 0 {
					t.Errorf("refused before any fetch, but the remote received %v", got)
				}
			} else if a, b := after["remote_actors"].Rows, before["remote_actors"].Rows; a > b+1 {
				t.Errorf("remote_actors grew by %d; at most the signer may be cached", a-b)
			}
		})
	}
}

// A duplicate activity id is accepted (202), so the sender stops retrying,
// and ignored: the second copy changes nothing, even when its content was
// altered or it arrives through the other inbox.
func TestHostileInboxDuplicateActivityIgnored(t *testing.T) {
	e := newHostileEnv(t)
	create := activity(e.alice, "Create", e.newNote(e.alice, "Fresh eggs"))
	if st, body := e.alice.Post(e.inbox, create); st != http.StatusAccepted {
		t.Fatalf("first copy: %d %s", st, body)
	}
	if n := e.timelineRows(t); n != 2 {
		t.Fatalf("after the first copy: %d timeline rows, want 2", n)
	}
	altered := activity(e.alice, "Create", e.newNote(e.alice, "Rotten eggs"))
	altered["id"] = create["id"]
	for _, c := range []struct {
		name     string
		url      string
		activity map[string]any
	}{
		{"same copy again", e.inbox, create},
		{"same copy to the shared inbox", e.shared, create},
		{"same id, other content", e.inbox, altered},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := e.inst.Snapshot(t)
			if st, body := e.alice.Post(c.url, c.activity); st != http.StatusAccepted {
				t.Fatalf("status %d, want 202 (%s)", st, body)
			}
			if changed := diff(before, e.inst.Snapshot(t)); len(changed) > 0 {
				t.Errorf("duplicate changed tables %v", changed)
			}
		})
	}
	var tl struct{ Items []struct{ Content string } }
	e.inst.API(t, http.MethodGet, "/api/v1/coops/coop/timeline", nil, &tl)
	if len(tl.Items) != 2 || !strings.Contains(tl.Items[0].Content, "Fresh eggs") {
		t.Fatalf("timeline after duplicates: %+v", tl.Items)
	}
}

// Every signature shape real peers send is accepted: Mastodon's hs2019 and
// the classic rsa-sha256 (or no algorithm at all), and for an inbox URL with
// a query, a (request-target) with the query and one without it.
func TestHostileInboxSignatureVariantsAccepted(t *testing.T) {
	e := newHostileEnv(t)
	cases := []struct {
		name  string
		build func(t *testing.T) *http.Request
	}{
		{"hs2019", func(t *testing.T) *http.Request {
			e.alice.Algorithm = "hs2019"
			req, _ := e.alice.NewPost(e.inbox, activity(e.alice, "Create", e.newNote(e.alice, "hs2019")))
			if !strings.Contains(req.Header.Get("Signature"), `algorithm="hs2019"`) {
				t.Fatalf("not an hs2019 signature: %s", req.Header.Get("Signature"))
			}
			return req
		}},
		{"rsa-sha256", func(t *testing.T) *http.Request {
			e.alice.Algorithm = "rsa-sha256"
			req, _ := e.alice.NewPost(e.inbox, activity(e.alice, "Create", e.newNote(e.alice, "rsa-sha256")))
			if !strings.Contains(req.Header.Get("Signature"), `algorithm="rsa-sha256"`) {
				t.Fatalf("not an rsa-sha256 signature: %s", req.Header.Get("Signature"))
			}
			return req
		}},
		{"no algorithm parameter", func(t *testing.T) *http.Request {
			return e.alice.NewSignedPost(e.inbox, mustJSON(t, activity(e.alice, "Create", e.newNote(e.alice, "no algorithm"))), fedtest.Signature{Algorithm: "-"})
		}},
		{"query in (request-target)", func(t *testing.T) *http.Request {
			return e.alice.NewSignedPost(e.inbox+"?source=relay", mustJSON(t, activity(e.alice, "Create", e.newNote(e.alice, "with query"))), fedtest.Signature{})
		}},
		{"query left out of (request-target)", func(t *testing.T) *http.Request {
			return e.alice.NewSignedPost(e.inbox+"?source=relay", mustJSON(t, activity(e.alice, "Create", e.newNote(e.alice, "without query"))), fedtest.Signature{NoQuery: true})
		}},
		{"content-type signed too, as Mastodon does", func(t *testing.T) *http.Request {
			return e.alice.NewSignedPost(e.shared, mustJSON(t, activity(e.alice, "Create", e.newNote(e.alice, "content-type"))), fedtest.Signature{Headers: []string{"(request-target)", "host", "date", "digest", "content-type"}})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.timelineRows(t)
			if st, body := fedtest.Do(t, c.build(t)); st != http.StatusAccepted {
				t.Fatalf("status %d, want 202 (%s)", st, body)
			}
			if n := e.timelineRows(t); n != before+1 {
				t.Fatalf("timeline rows %d -> %d, want one more", before, n)
			}
		})
	}
}

// GoToSocial's keyId is a separate URL (.../main-key) rather than a
// fragment of the actor. Two shapes are served there: a bare key document
// (id, owner, publicKeyPem) and, as GoToSocial 0.20 does, a stub Person
// whose id is the actor's and which holds only the key (see
// ../shared/fixtures/gotosocial/main-key.json). Both resolve to the owner,
// whose full document is fetched and must list the same key.
func TestHostileInboxGoToSocialKeyDocument(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "coop"})
	remote := fedtest.NewRemote(t)
	cases := []struct {
		name string
		doc  func(a *fedtest.Actor) map[string]any
	}{
		{"bare key document", func(a *fedtest.Actor) map[string]any {
			key := a.Document()["publicKey"].(map[string]any)
			return map[string]any{"@context": "https://w3id.org/security/v1", "id": a.KeyID, "owner": a.IRI, "publicKeyPem": key["publicKeyPem"]}
		}},
		{"GoToSocial stub actor", func(a *fedtest.Actor) map[string]any {
			full := a.Document()
			return map[string]any{
				"@context":          []string{"https://w3id.org/security/v1", asContext},
				"id":                a.IRI,
				"type":              "Person",
				"preferredUsername": a.Name,
				"publicKey":         full["publicKey"],
			}
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := remote.AddActor([]string{"gts", "gts2"}[i], i+1)
			a.KeyID = a.IRI + "/main-key"
			remote.SetDoc("/users/"+a.Name+"/main-key", mustJSON(t, c.doc(a)))
			follow := activity(a, "Follow", inst.ActorIRI())
			req, _ := a.NewPost(inst.URL+"/inbox", follow)
			if ct := req.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/ld+json; profile=") {
				t.Fatalf("not GoToSocial's content type: %s", ct)
			}
			if st, body := fedtest.Do(t, req); st != http.StatusAccepted {
				t.Fatalf("status %d, want 202 (%s)", st, body)
			}
			got, err := inst.Store.RemoteActorByKeyID(context.Background(), a.KeyID)
			if err != nil {
				t.Fatalf("key %s not cached: %v", a.KeyID, err)
			}
			if got.IRI != a.IRI || got.Inbox != a.Inbox() {
				t.Fatalf("key resolved to %+v, want the owner %s with its inbox", got, a.IRI)
			}
			var followers struct{ Items []struct{ Actor string } }
			inst.API(t, http.MethodGet, "/api/v1/coops/coop/followers", nil, &followers)
			found := false
			for _, f := range followers.Items {
				found = found || f.Actor == a.IRI
			}
			if !found {
				t.Fatalf("%s is not a follower: %+v", a.IRI, followers.Items)
			}
		})
	}
}
