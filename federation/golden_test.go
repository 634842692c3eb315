package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/httpsign"
	"github.com/coopfed/coopfed/store"
)

// updateGolden rewrites testdata/golden/* from the current output instead of
// comparing: go test -tags sqlite_fts5 ./federation -run TestGolden -update
var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenBase is the public URL of the golden instance; https, no port, as in
// production.
const goldenBase = "https://coop.example"

// goldenStart is the fixed clock reading the golden instance starts at.
var goldenStart = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

// goldenFollower is the remote actor (Mastodon-shaped) that follows the
// golden coop.
var goldenFollower = &coopfed.RemoteActor{
	IRI:               "https://social.example/users/alice",
	Type:              "Person",
	PreferredUsername: "alice",
	Host:              "social.example",
	Name:              "Alice",
	URL:               "https://social.example/@alice",
	Inbox:             "https://social.example/users/alice/inbox",
	SharedInbox:       "https://social.example/inbox",
	Outbox:            "https://social.example/users/alice/outbox",
	Followers:         "https://social.example/users/alice/followers",
	PublicKeyID:       "https://social.example/users/alice#main-key",
}

// goldenFollowIRI is the id of alice's Follow, echoed in our Accept.
const goldenFollowIRI = "https://social.example/0f4b6c1e-5a8d-4a43-9c1e-2d7f3b8a9e10"

// goldenEnv is a deterministic instance: fixed clock, fixed ids, fixed keys,
// a SQLite file in a temp dir. Its deliveries are queued, never sent.
type goldenEnv struct {
	f     *Federation
	store *store.Store
	coop  *coopfed.Coop

	mu     sync.Mutex
	now    time.Time
	nextID int
	lastID string
}

// clock returns the fixed time; tick moves it on, so that documents made at
// different steps carry different (but stable) timestamps.
func (e *goldenEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *goldenEnv) tick(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// newID hands out readable ids in call order and remembers the last one.
func (e *goldenEnv) newID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nextID++
	e.lastID = fmt.Sprintf("golden%02d", e.nextID)
	return e.lastID
}

func (e *goldenEnv) last() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastID
}

func readGoldenKey(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newGoldenEnv(t testing.TB) *goldenEnv {
	t.Helper()
	ctx := context.Background()
	e := &goldenEnv{now: goldenStart}
	st, err := store.Open(filepath.Join(t.TempDir(), "golden.db"), store.WithClock(e.clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.store = st
	// The instance key is stored before New runs, so New loads it instead
	// of generating a random one.
	err = st.Update(ctx, func(tx *store.Tx) error {
		return tx.PutSetting(instanceKeySetting, readGoldenKey(t, "instance-key.pem"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.f, err = New(ctx, Config{BaseURL: goldenBase, Store: st, Now: e.clock, NewID: e.newID}); err != nil {
		t.Fatal(err)
	}
	priv := readGoldenKey(t, "coop-key.pem")
	key, err := httpsign.ParsePrivateKeyPEM(priv)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := httpsign.EncodePublicKeyPEM(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	e.coop = &coopfed.Coop{
		Name:          "bakery",
		DisplayName:   "Riverside Bakery Co-op",
		Summary:       "Worker-owned bakery: bread & pastries, Tuesday to Saturday.",
		Locked:        true,
		PublicKeyPEM:  pub,
		PrivateKeyPEM: priv,
	}
	if err := st.Update(ctx, func(tx *store.Tx) error { return tx.CreateCoop(e.coop) }); err != nil {
		t.Fatal(err)
	}
	// FEP-0ea0 payment links, on the actor document.
	e.coop.PaymentLinks = []coopfed.PaymentLink{{Name: "Support the bakery", Href: "https://pay.example/riverside"},
		{Name: "Bank transfer", Href: "payto://iban/DE75512108001245126199"}}
	if err := st.Update(ctx, func(tx *store.Tx) error { return tx.UpdateCoopProfile(e.coop) }); err != nil {
		t.Fatal(err)
	}
	alice := *goldenFollower
	alice.PublicKeyPEM = pub // any valid key; alice's is never used to verify here
	alice.FetchedAt = goldenStart
	if err := st.PutRemoteActor(ctx, &alice); err != nil {
		t.Fatal(err)
	}
	return e
}

// goldenDocuments drives the golden instance through a coop's life (a
// follower approved, a note published then deleted) and returns every
// document we serve or send, by golden file name. Activities are read back
// from the store: those bytes are exactly what the delivery queue POSTs.
func goldenDocuments(t testing.TB) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	e := newGoldenEnv(t)
	f, c := e.f, e.coop
	docs := map[string][]byte{}
	put := func(name string, v any) {
		t.Helper()
		b, err := Marshal(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		docs[name] = b
	}
	stored := func(name, iri string) {
		t.Helper()
		a, err := e.store.ActivityByIRI(ctx, iri)
		if err != nil {
			t.Fatalf("%s: activity %s: %v", name, iri, err)
		}
		docs[name] = a.JSON
	}

	name, instance := f.WebFingerResource("acct:bakery@coop.example")
	if name != "bakery" || instance {
		t.Fatalf("WebFingerResource(acct:bakery@coop.example) = %q, %v", name, instance)
	}
	put("webfinger.json", f.WebFinger(c))
	put("webfinger-instance.json", f.InstanceWebFinger())
	actor, err := f.CoopActor(c)
	if err != nil {
		t.Fatal(err)
	}
	put("actor-coop.json", actor)
	inst, err := f.InstanceActor()
	if err != nil {
		t.Fatal(err)
	}
	put("actor-instance.json", inst)
	put("nodeinfo-links.json", f.NodeInfoLinks())
	put("nodeinfo-2.1.json", f.NodeInfo(NodeInfoUsage{Coops: 1, ActiveCoops: 1, LocalPosts: 1, Groups: 1, Market: &coopfed.Statistics{
		Coops: 1, ActiveCoops: 1, Open: []coopfed.CategoryCount{{Kind: "offer", Category: "bread", Count: 3}, {Kind: "need", Category: "flour", Count: 1}},
		Months: []coopfed.MonthFigures{{Month: "2026-02", Agreed: 2, Fulfilled: 1, Motions: 1, Turnout: 0.75}, {Month: "2026-03", Agreed: 1}},
	}}, false))
	docs["host-meta.xml"] = f.HostMeta()

	// A locked coop: alice's Follow waits, then the admin approves it.
	e.tick(time.Minute)
	err = e.store.Update(ctx, func(tx *store.Tx) error {
		return tx.PutFollower(&coopfed.Follower{CoopID: c.ID, ActorIRI: goldenFollower.IRI, FollowIRI: goldenFollowIRI, State: coopfed.FollowPending})
	})
	if err != nil {
		t.Fatal(err)
	}
	e.tick(time.Minute)
	if err := f.ApproveFollower(ctx, c, goldenFollower.IRI); err != nil {
		t.Fatal(err)
	}
	stored("accept-follow.json", f.iris.Activity(e.last()))

	e.tick(time.Hour)
	n, err := f.PublishNote(ctx, c, "Fresh rye on Friday & Saturday.\n\nOrders: https://riverside.example/orders <b>not bold</b>")
	if err != nil {
		t.Fatal(err)
	}
	stored("create-note.json", n.IRI+"/activity")
	o, err := e.store.ObjectByIRI(ctx, n.IRI)
	if err != nil {
		t.Fatal(err)
	}
	docs["note.json"] = o.JSON

	e.tick(24 * time.Hour)
	if err := f.DeleteObject(ctx, c, n.IRI); err != nil {
		t.Fatal(err)
	}
	stored("delete-note.json", f.iris.Activity(e.last()))
	if o, err = e.store.ObjectByIRI(ctx, n.IRI); err != nil {
		t.Fatal(err)
	}
	if o.DeletedAt == nil {
		t.Fatal("deleted note has no deletion time")
	}
	put("tombstone.json", f.Tombstone(o.IRI, o.Type, *o.DeletedAt))

	// The followers collection as handlers serve it: accepted followers
	// only, IRIs on the pages.
	followers := f.iris.CoopFollowers(c.Name)
	total, err := e.store.CountFollowers(ctx, c.ID, coopfed.FollowAccepted)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := f.Collection(followers, total)
	if err != nil {
		t.Fatal(err)
	}
	put("followers.json", coll)
	list, err := e.store.Followers(ctx, store.FollowFilter{CoopID: c.ID, State: coopfed.FollowAccepted, Limit: PageSize})
	if err != nil {
		t.Fatal(err)
	}
	var items []any
	for _, fl := range list {
		items = append(items, fl.ActorIRI)
	}
	page, err := f.CollectionPage(followers, 1, total, items)
	if err != nil {
		t.Fatal(err)
	}
	put("followers-page-1.json", page)
	return docs
}

// TestGolden compares every document we serve or send with its golden file
// in testdata/golden, byte for byte (indented for review). A change in what
// goes on the wire must show up in a diff; run with -update to accept it.
func TestGolden(t *testing.T) {
	docs := goldenDocuments(t)
	want := []string{
		"webfinger.json", "webfinger-instance.json", "actor-coop.json", "actor-instance.json",
		"nodeinfo-links.json", "nodeinfo-2.1.json", "host-meta.xml",
		"accept-follow.json", "note.json", "create-note.json", "delete-note.json", "tombstone.json",
		"followers.json", "followers-page-1.json",
	}
	if len(want) != len(docs) {
		t.Fatalf("golden table lists %d documents, goldenDocuments made %d", len(want), len(docs))
	}
	compareGoldenSet(t, docs, want...)
}

// compareGoldenSet runs compareGolden on each named document of docs, one
// subtest each; a name docs lacks fails its subtest.
func compareGoldenSet(t *testing.T, docs map[string][]byte, names ...string) {
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			got, ok := docs[name]
			if !ok {
				t.Fatalf("no document %s", name)
			}
			compareGolden(t, name, got)
		})
	}
}

// compareGolden compares a document with its golden file in
// testdata/golden, JSON indented in its own key order (json.Indent does
// not re-escape <, >, &), or rewrites the file when run with -update.
func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	if strings.HasSuffix(name, ".json") {
		var buf bytes.Buffer
		if err := json.Indent(&buf, got, "", "  "); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, got)
		}
		got = buf.Bytes()
	}
	got = append(bytes.TrimRight(got, "\n"), '\n')
	path := filepath.Join("testdata", "golden", name)
	if *updateGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if the change is intended)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestGoldenIsDeterministic builds the documents twice: a second instance
// with the same clock, ids and keys must produce the same bytes, or the
// golden files would be flaky.
func TestGoldenIsDeterministic(t *testing.T) {
	a, b := goldenDocuments(t), goldenDocuments(t)
	for name, doc := range a {
		if !bytes.Equal(doc, b[name]) {
			t.Errorf("%s differs between two identical runs:\n%s\n%s", name, doc, b[name])
		}
	}
}

// TestGoldenMastodonExpectations checks, beyond byte equality, the shapes
// Mastodon relies on (DESIGN 4.1), so that a -update cannot silently
// accept a document Mastodon would refuse or misread.
func TestGoldenMastodonExpectations(t *testing.T) {
	docs := goldenDocuments(t)
	decode := func(t *testing.T, name string) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(docs[name], &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return m
	}
	coopIRI := goldenBase + "/coops/bakery"

	t.Run("arrays everywhere", func(t *testing.T) {
		for name, doc := range docs {
			if !strings.HasSuffix(name, ".json") {
				continue
			}
			var v any
			if err := json.Unmarshal(doc, &v); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			requireArrays(t, name, v)
		}
	})

	for _, tc := range []struct {
		name, id, typ string
		locked        bool
	}{
		{"actor-coop.json", coopIRI, "Organization", true},
		{"actor-instance.json", goldenBase + "/actor", "Application", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := decode(t, tc.name)
			if m["id"] != tc.id || m["type"] != tc.typ {
				t.Errorf("id, type = %v, %v; want %s, %s", m["id"], m["type"], tc.id, tc.typ)
			}
			ctx, ok := m["@context"].([]any)
			if !ok || !containsValue(ctx, ContextActivityStreams) || !containsValue(ctx, ContextSecurity) {
				t.Errorf("@context must be an array with activitystreams and security/v1: %v", m["@context"])
			}
			for _, k := range []string{"preferredUsername", "inbox", "outbox"} {
				if s, _ := m[k].(string); s == "" {
					t.Errorf("%s missing", k)
				}
			}
			key, _ := m["publicKey"].(map[string]any)
			if key["id"] != tc.id+"#main-key" || key["owner"] != tc.id {
				t.Errorf("publicKey id/owner = %v/%v, want %s#main-key/%s", key["id"], key["owner"], tc.id, tc.id)
			}
			pemText, _ := key["publicKeyPem"].(string)
			pub, err := httpsign.ParsePublicKeyPEM(pemText)
			if err != nil {
				t.Errorf("publicKeyPem: %v", err)
			} else if rk, ok := pub.(interface{ Size() int }); !ok || rk.Size() != 256 {
				t.Errorf("publicKeyPem is not RSA-2048")
			}
			ep, _ := m["endpoints"].(map[string]any)
			if ep["sharedInbox"] != goldenBase+"/inbox" {
				t.Errorf("endpoints.sharedInbox = %v", ep["sharedInbox"])
			}
			if v, ok := m["manuallyApprovesFollowers"].(bool); !ok || v != tc.locked {
				t.Errorf("manuallyApprovesFollowers = %v, want %v", m["manuallyApprovesFollowers"], tc.locked)
			}
		})
	}

	t.Run("webfinger.json", func(t *testing.T) {
		var jrd struct {
			Subject string
			Links   []struct{ Rel, Type, Href string }
		}
		if err := json.Unmarshal(docs["webfinger.json"], &jrd); err != nil {
			t.Fatal(err)
		}
		// Mastodon checks that subject round-trips preferredUsername@host.
		if jrd.Subject != "acct:bakery@coop.example" {
			t.Errorf("subject = %q", jrd.Subject)
		}
		self := false
		for _, l := range jrd.Links {
			self = self || (l.Rel == "self" && l.Type == "application/activity+json" && l.Href == coopIRI)
		}
		if !self {
			t.Errorf("no rel=self application/activity+json link to %s: %+v", coopIRI, jrd.Links)
		}
	})

	t.Run("nodeinfo", func(t *testing.T) {
		links := decode(t, "nodeinfo-links.json")
		l, _ := links["links"].([]any)
		if len(l) == 0 || l[0].(map[string]any)["href"] != goldenBase+"/nodeinfo/2.1" {
			t.Errorf("nodeinfo links = %v", links)
		}
		ni := decode(t, "nodeinfo-2.1.json")
		sw, _ := ni["software"].(map[string]any)
		if ni["version"] != "2.1" || sw["name"] != SoftwareName {
			t.Errorf("nodeinfo = %v", ni)
		}
		if _, ok := ni["protocols"].([]any); !ok {
			t.Errorf("protocols is not an array: %v", ni["protocols"])
		}
	})

	t.Run("create-note.json", func(t *testing.T) {
		m := decode(t, "create-note.json")
		requireArrays(t, "create", m)
		note, ok := m["object"].(map[string]any)
		if !ok {
			t.Fatalf("object is not embedded: %v", m["object"])
		}
		if _, ok := note["@context"]; ok {
			t.Error("embedded note repeats @context")
		}
		if note["type"] != "Note" || note["attributedTo"] != coopIRI || m["actor"] != coopIRI {
			t.Errorf("note type/attributedTo/actor = %v/%v/%v", note["type"], note["attributedTo"], m["actor"])
		}
		if m["id"] != note["id"].(string)+"/activity" {
			t.Errorf("create id %v is not the note id + /activity", m["id"])
		}
		for _, k := range []string{"to", "cc", "tag"} {
			if _, ok := note[k].([]any); !ok {
				t.Errorf("note %s is not an array: %v", k, note[k])
			}
		}
		if to := note["to"].([]any); !containsValue(to, PublicIRI) {
			t.Errorf("public note not addressed to Public: %v", to)
		}
	})

	t.Run("accept-follow.json", func(t *testing.T) {
		m := decode(t, "accept-follow.json")
		requireArrays(t, "accept", m)
		f, ok := m["object"].(map[string]any)
		if !ok {
			t.Fatalf("Accept does not embed the Follow: %v", m["object"])
		}
		// Mastodon and GoToSocial match the Accept on the Follow's id.
		if f["type"] != "Follow" || f["id"] != goldenFollowIRI || f["actor"] != goldenFollower.IRI || f["object"] != coopIRI {
			t.Errorf("embedded follow = %v", f)
		}
		if m["actor"] != coopIRI || !containsValue(m["to"].([]any), goldenFollower.IRI) {
			t.Errorf("accept actor/to = %v/%v", m["actor"], m["to"])
		}
	})

	t.Run("delete-note.json", func(t *testing.T) {
		m := decode(t, "delete-note.json")
		requireArrays(t, "delete", m)
		tomb, ok := m["object"].(map[string]any)
		if !ok || tomb["type"] != "Tombstone" || tomb["id"] == nil {
			t.Fatalf("Delete does not carry a Tombstone: %v", m["object"])
		}
		served := decode(t, "tombstone.json")
		if served["type"] != "Tombstone" || served["id"] != tomb["id"] {
			t.Errorf("served tombstone %v does not match the deleted %v", served, tomb)
		}
	})

	t.Run("followers", func(t *testing.T) {
		c := decode(t, "followers.json")
		if c["type"] != "OrderedCollection" || c["totalItems"] != float64(1) || c["first"] != coopIRI+"/followers?page=1" {
			t.Errorf("collection = %v", c)
		}
		p := decode(t, "followers-page-1.json")
		items, ok := p["orderedItems"].([]any)
		if !ok || len(items) != 1 || items[0] != goldenFollower.IRI {
			t.Errorf("orderedItems = %v", p["orderedItems"])
		}
		if p["partOf"] != coopIRI+"/followers" || p["type"] != "OrderedCollectionPage" {
			t.Errorf("page = %v", p)
		}
		if _, ok := p["next"]; ok {
			t.Errorf("a single page has a next link: %v", p["next"])
		}
	})
}

// requireArrays fails for any to, cc, bto, bcc, tag, attachment or
// orderedItems found anywhere in v that is not an array: Mastodon reads
// those as arrays and go-fed writes single values as scalars.
func requireArrays(t *testing.T, path string, v any) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if arrayKeys[k] {
				if _, ok := e.([]any); !ok {
					t.Errorf("%s.%s is not an array: %v", path, k, e)
				}
			}
			requireArrays(t, path+"."+k, e)
		}
	case []any:
		for i, e := range x {
			requireArrays(t, fmt.Sprintf("%s[%d]", path, i), e)
		}
	}
}

func containsValue(list []any, v any) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
