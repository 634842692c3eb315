package federation

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/httpsign"
	"github.com/coopfed/coopfed/store"
)

// The fixtures in ../testdata are what real peers send (testdata/README.md
// says where each comes from). These tests decode them with parse.go's
// structs exactly as the inbox and the fetcher do.

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeActivityFixture(t testing.TB, name string) *activity {
	t.Helper()
	var act activity
	if err := json.Unmarshal(readFixture(t, name), &act); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &act
}

// fixtureIRIs is a Federation that knows only its IRIs: enough for
// checkActor, which needs no store.
func fixtureIRIs(t testing.TB) *Federation {
	t.Helper()
	iris, err := NewIRIs("https://coop.example")
	if err != nil {
		t.Fatal(err)
	}
	return &Federation{iris: iris}
}

// TestFixtureActors decodes actor documents and checks what the fetcher
// keeps of them, including GoToSocial's key stub, which is not an actor.
func TestFixtureActors(t *testing.T) {
	f := fixtureIRIs(t)
	for _, tc := range []struct {
		file        string
		object      bool // the actor is the object of an Update
		id, keyID   string
		sharedInbox string
		name        string
		isActor     bool
	}{
		{file: "gotosocial/actor.json", id: "http://gts.test/users/coopadmin", keyID: "http://gts.test/users/coopadmin/main-key", name: "coopadmin", isActor: true},
		{file: "gotosocial/actor-with-profile-fields.json", id: "http://gts.test/users/coopadmin", keyID: "http://gts.test/users/coopadmin/main-key", name: "Coop Admin", isActor: true},
		{file: "gotosocial/update-person.json", object: true, id: "http://gts.test/users/coopadmin", keyID: "http://gts.test/users/coopadmin/main-key", name: "Coop Admin", isActor: true},
		// GoToSocial serves its keyId as a Person stub without inbox:
		// a key document, to be followed to its owner.
		{file: "gotosocial/main-key.json", id: "http://gts.test/users/coopadmin", keyID: "http://gts.test/users/coopadmin/main-key", isActor: false},
		{file: "mastodon/actor.json", id: "https://mastodon.example/users/alice", keyID: "https://mastodon.example/users/alice#main-key", sharedInbox: "https://mastodon.example/inbox", name: "Alice", isActor: true},
		// The docs' publicKey snippet has no inbox either.
		{file: "mastodon/public-key.json", id: "https://mastodon.social/users/Gargron", keyID: "https://mastodon.social/users/Gargron#main-key", isActor: false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			raw := readFixture(t, tc.file)
			if tc.object {
				act := decodeActivityFixture(t, tc.file)
				raw = act.Object
			}
			var doc actorDoc
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			if doc.ID != tc.id {
				t.Errorf("id = %q, want %q", doc.ID, tc.id)
			}
			if doc.isActor() != tc.isActor {
				t.Fatalf("isActor() = %v, want %v", doc.isActor(), tc.isActor)
			}
			k, ok := doc.key("")
			if !ok || k.ID != tc.keyID || k.Owner != tc.id {
				t.Fatalf("key = %+v, %v; want id %s owned by %s", k, ok, tc.keyID, tc.id)
			}
			if _, err := httpsign.ParsePublicKeyPEM(k.PublicKeyPem); err != nil {
				t.Errorf("publicKeyPem: %v", err)
			}
			if !tc.isActor {
				return
			}
			a, err := f.checkActor(&doc, tc.id, tc.id)
			if err != nil {
				t.Fatalf("checkActor: %v", err)
			}
			if a.PublicKeyID != tc.keyID || a.SharedInbox != tc.sharedInbox || a.Name != tc.name || a.Inbox == "" {
				t.Errorf("actor = %+v", a)
			}
		})
	}
}

// activityWant is what an activity fixture must decode to.
type activityWant struct {
	typ, actor, objectID string
	embedded             string   // type of the embedded object; "" for a bare IRI
	to, cc               []string // nil: absent
	mentions, hashtags   []string
}

// TestFixtureActivities decodes every activity fixture with activity and
// objectRef, as the inbox does: scalar to/cc/tag, bare-IRI objects and
// embedded Follows must all come out as intended.
func TestFixtureActivities(t *testing.T) {
	const (
		gts     = "http://gts.test/users/coopadmin"
		gtsFoll = gts + "/followers"
		tester  = "http://127.0.0.1:18080/users/tester"
		masto   = "https://mastodon.example/users/alice"
		bakery  = "https://coop.example/coops/bakery"
	)
	public := []string{PublicIRI}
	for file, want := range map[string]activityWant{
		"gotosocial/follow.json":      {typ: "Follow", actor: gts, objectID: tester, to: []string{tester}},
		"gotosocial/accept.json":      {typ: "Accept", actor: gts, objectID: tester + "/activities/0f528adef087302e", embedded: "Follow", to: []string{tester}},
		"gotosocial/reject.json":      {typ: "Reject", actor: gts, embedded: "Follow", to: []string{tester}},
		"gotosocial/undo-follow.json": {typ: "Undo", actor: gts, objectID: gts + "/follow/01Z09F4GEN4YFXQYHHMKM7T4N8", embedded: "Follow", to: []string{tester}},
		"gotosocial/create-note-public.json": {typ: "Create", actor: gts, embedded: "Note", to: public, cc: []string{gtsFoll, tester},
			mentions: []string{tester}, hashtags: []string{"#coopfed"}},
		"gotosocial/create-note-unlisted.json":   {typ: "Create", actor: gts, embedded: "Note", to: []string{gtsFoll}, cc: public},
		"gotosocial/create-note-followers.json":  {typ: "Create", actor: gts, embedded: "Note", to: []string{gtsFoll}},
		"gotosocial/create-note-direct.json":     {typ: "Create", actor: gts, embedded: "Note", to: []string{tester}, mentions: []string{tester}},
		"gotosocial/create-note-reply.json":      {typ: "Create", actor: gts, embedded: "Note", to: public, mentions: []string{tester}},
		"gotosocial/create-note-attachment.json": {typ: "Create", actor: gts, embedded: "Note", to: public, mentions: []string{tester}},
		"gotosocial/create-question.json":        {typ: "Create", actor: gts, embedded: "Question", to: public, cc: []string{gtsFoll}, hashtags: []string{"#coopfed"}},
		"gotosocial/update-note.json":            {typ: "Update", actor: gts, embedded: "Note", to: public, mentions: []string{tester}, hashtags: []string{"#coopfed"}},
		"gotosocial/update-question.json":        {typ: "Update", actor: gts, embedded: "Question", to: public, hashtags: []string{"#coopfed"}},
		"gotosocial/update-person.json":          {typ: "Update", actor: gts, objectID: gts, embedded: "Person", to: public},
		// A Delete may carry the bare IRI of the deleted status.
		"gotosocial/delete.json":        {typ: "Delete", actor: gts, objectID: gts + "/statuses/01M8HM9ZXY6MWCVWCKBJM86QM6", to: public, cc: []string{gtsFoll}},
		"gotosocial/vote.json":          {typ: "Create", actor: gts, objectID: gts + "#01M8HMAS40RS7PGWQZND5K1GVH/votes/1", embedded: "Note", to: []string{tester}},
		"gotosocial/like.json":          {typ: "Like", actor: gts},
		"gotosocial/announce.json":      {typ: "Announce", actor: gts},
		"gotosocial/undo-like.json":     {typ: "Undo", actor: gts, embedded: "Like"},
		"gotosocial/undo-announce.json": {typ: "Undo", actor: gts, embedded: "Announce"},
		"gotosocial/block.json":         {typ: "Block", actor: gts, objectID: tester},
		"gotosocial/undo-block.json":    {typ: "Undo", actor: gts, embedded: "Block"},

		"mastodon/follow.json": {typ: "Follow", actor: "https://example.com/users/123", objectID: "https://other.example/users/456"},
		"mastodon/accept.json": {typ: "Accept", actor: "https://other.example/users/456", objectID: "https://example.com/fce205fc-fced-4d81-9a7d-5485eec038a3", embedded: "Follow"},
		"mastodon/create-note-mention.json": {typ: "Create", actor: masto, objectID: masto + "/statuses/113001", embedded: "Note", to: public, cc: []string{masto + "/followers", bakery},
			mentions: []string{bakery}, hashtags: []string{"#bread"}},
		"mastodon/vote-1.json":           {typ: "Create", actor: "https://mastodon.example/users/bob", objectID: "https://mastodon.example/users/bob#votes/827163", embedded: "Note", to: []string{masto}},
		"mastodon/vote-2.json":           {typ: "Create", actor: "https://mastodon.example/users/bob", objectID: "https://mastodon.example/users/bob#votes/827164", embedded: "Note", to: []string{masto}},
		"mastodon/update-question.json":  {typ: "Update", actor: masto, objectID: masto + "/statuses/1009947848598745", embedded: "Question", to: public},
		"mastodon/delete-tombstone.json": {typ: "Delete", actor: masto, objectID: masto + "/statuses/113001", embedded: "Tombstone", to: public},
		"mastodon/undo-follow.json":      {typ: "Undo", actor: masto, objectID: "https://mastodon.example/6f1b3c2e-8d4a-4c5b-9e7f-0a1b2c3d4e5f", embedded: "Follow"},
		"mastodon/block.json":            {typ: "Block", actor: masto, objectID: "https://example.com/~mallory", to: []string{"https://example.com/~mallory"}},
	} {
		t.Run(file, func(t *testing.T) {
			act := decodeActivityFixture(t, file)
			if act.ID == "" || act.Type.Main() != want.typ || len(act.Actor) != 1 || act.Actor.First() != want.actor {
				t.Errorf("id, type, actor = %q, %v, %v; want a %s by %s", act.ID, act.Type, act.Actor, want.typ, want.actor)
			}
			if want.to != nil && !slices.Equal(act.To, want.to) {
				t.Errorf("to = %v, want %v", act.To, want.to)
			}
			if want.cc != nil && !slices.Equal(act.Cc, want.cc) {
				t.Errorf("cc = %v, want %v", act.Cc, want.cc)
			}
			id, obj, err := objectRef(act.Object)
			if err != nil || id == "" {
				t.Fatalf("objectRef = %q, %v", id, err)
			}
			if want.objectID != "" && id != want.objectID {
				t.Errorf("object id = %q, want %q", id, want.objectID)
			}
			if want.embedded == "" {
				if obj != nil {
					t.Errorf("object embedded as %v, want a bare IRI", obj.Type)
				}
				return
			}
			if obj == nil || obj.Type.Main() != want.embedded {
				t.Fatalf("embedded object = %+v, want a %s", obj, want.embedded)
			}
			if want.embedded == "Note" || want.embedded == "Question" {
				// What the Create/Update handlers rely on: the author and
				// the addressing of the object itself.
				if !obj.AttributedTo.Has(want.actor) {
					t.Errorf("attributedTo = %v, want %s", obj.AttributedTo, want.actor)
				}
				if len(obj.To) == 0 {
					t.Errorf("object has no to")
				}
			}
			if m := obj.Tag.Mentions(); !slices.Equal(m, want.mentions) {
				t.Errorf("mentions = %v, want %v", m, want.mentions)
			}
			if h := obj.Tag.Hashtags(); !slices.Equal(h, want.hashtags) {
				t.Errorf("hashtags = %v, want %v", h, want.hashtags)
			}
		})
	}
}

// TestFixtureEmbeddedFollows checks the Follow inside Accept, Reject and
// Undo: it is matched by id, and its actor and object say who follows whom.
func TestFixtureEmbeddedFollows(t *testing.T) {
	for _, tc := range []struct{ file, actor, object string }{
		{"gotosocial/accept.json", "http://127.0.0.1:18080/users/tester", "http://gts.test/users/coopadmin"},
		{"gotosocial/reject.json", "http://127.0.0.1:18080/users/tester", "http://gts.test/users/coopadmin"},
		{"gotosocial/undo-follow.json", "http://gts.test/users/coopadmin", "http://127.0.0.1:18080/users/tester"},
		{"mastodon/accept.json", "https://example.com/users/123", "https://other.example/users/456"},
		{"mastodon/undo-follow.json", "https://mastodon.example/users/alice", "https://coop.example/coops/bakery"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, obj, err := objectRef(decodeActivityFixture(t, tc.file).Object)
			if err != nil || obj == nil {
				t.Fatalf("objectRef: %v, %v", obj, err)
			}
			if obj.Actor.First() != tc.actor || obj.Object.First() != tc.object {
				t.Errorf("follow actor/object = %v/%v, want %s/%s", obj.Actor, obj.Object, tc.actor, tc.object)
			}
		})
	}
}

// TestFixturePolls decodes Questions and votes: options, counts, end and
// closing times, from Mastodon's documented poll and GoToSocial's real one.
func TestFixturePolls(t *testing.T) {
	question := func(t *testing.T, file string, embedded bool) *object {
		t.Helper()
		raw := readFixture(t, file)
		if embedded {
			raw = decodeActivityFixture(t, file).Object
		}
		_, o, err := objectRef(raw)
		if err != nil || o == nil || o.Type.Main() != "Question" {
			t.Fatalf("%s: not a Question: %+v, %v", file, o, err)
		}
		return o
	}
	options := func(opts pollOptions) map[string]int64 {
		m := map[string]int64{}
		for _, o := range opts {
			m[o.Name] = o.Votes
		}
		return m
	}
	t.Run("mastodon/question.json", func(t *testing.T) {
		q := question(t, "mastodon/question.json", false)
		if len(q.OneOf) != 0 || !equalCounts(options(q.AnyOf), map[string]int64{"apple": 3, "orange": 7, "banana": 6}) {
			t.Errorf("anyOf = %v, oneOf = %v", options(q.AnyOf), q.OneOf)
		}
		if q.VotersCount != 7 || parseTime(string(q.EndTime)).IsZero() || q.Closed.Set {
			t.Errorf("votersCount, endTime, closed = %d, %q, %+v", q.VotersCount, q.EndTime, q.Closed)
		}
	})
	t.Run("mastodon/update-question.json", func(t *testing.T) {
		q := question(t, "mastodon/update-question.json", true)
		want := time.Date(2023, 3, 6, 7, 40, 13, 0, time.UTC)
		if !q.Closed.Set || !q.Closed.At.Equal(want) || q.VotersCount != 8 || options(q.AnyOf)["orange"] != 8 {
			t.Errorf("closed, votersCount, anyOf = %+v, %d, %v", q.Closed, q.VotersCount, options(q.AnyOf))
		}
	})
	t.Run("gotosocial/create-question.json", func(t *testing.T) {
		q := question(t, "gotosocial/create-question.json", true)
		if !equalCounts(options(q.OneOf), map[string]int64{"Yes": 0, "No": 0}) || q.VotersCount != 0 || q.EndTime != "2026-11-28T18:47:10Z" {
			t.Errorf("oneOf, votersCount, endTime = %v, %d, %q", options(q.OneOf), q.VotersCount, q.EndTime)
		}
	})
	t.Run("gotosocial/update-question.json", func(t *testing.T) {
		q := question(t, "gotosocial/update-question.json", true)
		if !equalCounts(options(q.OneOf), map[string]int64{"Yes": 1, "No": 0}) || q.VotersCount != 1 {
			t.Errorf("oneOf, votersCount = %v, %d", options(q.OneOf), q.VotersCount)
		}
	})
	// A vote is a Note with a name and inReplyTo the Question, no content.
	for _, tc := range []struct{ file, choice, question string }{
		{"mastodon/vote-1.json", "orange", "https://mastodon.example/users/alice/statuses/1009947848598745"},
		{"mastodon/vote-2.json", "banana", "https://mastodon.example/users/alice/statuses/1009947848598745"},
		{"gotosocial/vote.json", "Coffee", "http://127.0.0.1:18080/users/tester/activities/59ae50ef1cf474bb/poll"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, o, err := objectRef(decodeActivityFixture(t, tc.file).Object)
			if err != nil || o == nil {
				t.Fatal(err)
			}
			if string(o.Name) != tc.choice || o.InReplyTo.First() != tc.question || o.Content != "" {
				t.Errorf("name, inReplyTo, content = %q, %v, %q", o.Name, o.InReplyTo, o.Content)
			}
		})
	}
}

func equalCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestFixtureUpdateVersions checks duplicate detection of Updates that
// reuse one activity id, as GoToSocial's do for every edit of a status.
func TestFixtureUpdateVersions(t *testing.T) {
	signer := &coopfed.RemoteActor{IRI: "http://gts.test/users/coopadmin", Host: "gts.test"}
	check := func(t *testing.T, raw []byte) *incoming {
		t.Helper()
		var act activity
		if err := json.Unmarshal(raw, &act); err != nil {
			t.Fatal(err)
		}
		in := &incoming{f: fixtureIRIs(t), act: &act, raw: raw, signer: signer}
		if err := checkUpdate(context.Background(), in); err != nil {
			t.Fatalf("checkUpdate: %v", err)
		}
		return in
	}

	t.Run("edits of a note", func(t *testing.T) {
		first := check(t, readFixture(t, "gotosocial/update-note.json"))
		second := check(t, readFixture(t, "gotosocial/update-note-second-edit.json"))
		if first.act.ID != second.act.ID {
			t.Fatalf("the fixtures should share one Update id: %s, %s", first.act.ID, second.act.ID)
		}
		if first.version == second.version {
			t.Errorf("two edits with the same id get the same version %q: the second would be dropped", first.version)
		}
		if updateVersion(first.act.Object, first.object) == updateVersion(second.act.Object, second.object) {
			t.Error("updateVersion does not tell the edits apart")
		}
	})

	t.Run("tally refreshes of a poll", func(t *testing.T) {
		// GoToSocial refreshes tallies with the same Update id and no
		// `updated` at all: only the counts differ.
		raw := readFixture(t, "gotosocial/update-question.json")
		later := bytes.Replace(raw, []byte(`"votersCount": 1`), []byte(`"votersCount": 2`), 1)
		later = bytes.Replace(later, []byte(`"totalItems": 0`), []byte(`"totalItems": 1`), 1)
		if bytes.Equal(raw, later) {
			t.Fatal("could not derive a second tally from the fixture")
		}
		a, b := check(t, raw), check(t, later)
		if a.act.ID != b.act.ID || a.object.Updated != "" {
			t.Fatalf("fixture assumptions: ids %s/%s, updated %q", a.act.ID, b.act.ID, a.object.Updated)
		}
		if updateVersion(a.act.Object, a.object) == updateVersion(b.act.Object, b.object) {
			t.Error("updateVersion does not tell two tallies apart")
		}
	})

	t.Run("redelivery", func(t *testing.T) {
		raw := readFixture(t, "gotosocial/update-note.json")
		a := check(t, raw)
		// The same activity compacted (as GoToSocial sends it on the
		// wire): same version, so a retried delivery is dropped.
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			t.Fatal(err)
		}
		b := check(t, compact.Bytes())
		if a.version != b.version || updateVersion(a.act.Object, a.object) != updateVersion(b.act.Object, b.object) {
			t.Error("a redelivery of the same Update gets a new version")
		}
	})
}

// TestFixtureContentTypes checks that every Content-Type GoToSocial POSTed
// with is accepted by the inbox.
func TestFixtureContentTypes(t *testing.T) {
	var deliveries []struct {
		File        string `json:"file"`
		ContentType string `json:"contentType"`
		Path        string `json:"path"`
	}
	if err := json.Unmarshal(readFixture(t, "gotosocial/deliveries.json"), &deliveries); err != nil {
		t.Fatal(err)
	}
	if len(deliveries) == 0 {
		t.Fatal("no deliveries in the fixture")
	}
	for _, d := range deliveries {
		if !isActivityMediaType(d.ContentType) {
			t.Errorf("%s: Content-Type %q refused", d.File, d.ContentType)
		}
	}
}

// gtsRequest is one request of request-headers.json.
type gtsRequest struct {
	Method  string     `json:"method"`
	Path    string     `json:"path"`
	Headers [][]string `json:"headers"`
	Body    string     `json:"body"`
}

func (g gtsRequest) date(t testing.TB) time.Time {
	t.Helper()
	for _, h := range g.Headers {
		if strings.EqualFold(h[0], "Date") {
			d, err := http.ParseTime(h[1])
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
	}
	t.Fatal("request has no Date")
	return time.Time{}
}

// build returns the request as our server would see it, Host included.
func (g gtsRequest) build(t testing.TB) *http.Request {
	t.Helper()
	var host string
	var hdr bytes.Buffer
	for _, h := range g.Headers {
		if strings.EqualFold(h[0], "Host") {
			host = h[1]
		}
		hdr.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	raw := g.Method + " " + g.Path + " HTTP/1.1\r\n" + hdr.String() + "\r\n" + g.Body
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if r.Host != host {
		t.Fatalf("host %q, want %q", r.Host, host)
	}
	return r
}

// TestGoToSocialSignedRequests verifies the signatures GoToSocial really
// sent (request-headers.json): the two GETs with the key from its actor
// document, and the POST through the inbox's own authentication, which
// resolves the keyId .../main-key from a fake gts.test on loopback serving
// GoToSocial's captured key stub and actor.
func TestGoToSocialSignedRequests(t *testing.T) {
	var reqs []gtsRequest
	if err := json.Unmarshal(readFixture(t, "gotosocial/request-headers.json"), &reqs); err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 3 {
		t.Fatalf("want 3 requests, got %d", len(reqs))
	}
	var actor actorDoc
	if err := json.Unmarshal(readFixture(t, "gotosocial/actor.json"), &actor); err != nil {
		t.Fatal(err)
	}
	pub, err := httpsign.ParsePublicKeyPEM(actor.PublicKey[0].PublicKeyPem)
	if err != nil {
		t.Fatal(err)
	}

	for _, g := range reqs[:2] {
		t.Run(g.Method+" "+g.Path, func(t *testing.T) {
			r := g.build(t)
			p, err := httpsign.Check(r, nil, g.date(t), time.Minute)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if p.KeyID != "http://gts.test/users/coopadmin/main-key" {
				t.Errorf("keyId = %s", p.KeyID)
			}
			if err := p.Verify(r, pub); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}

	t.Run("POST through the inbox", func(t *testing.T) {
		g := reqs[2]
		srv := gtsFixtureServer(t)
		// The instance is the one GoToSocial posted to: the inbox
		// refuses a request signed for another host.
		f := fixtureFederation(t, "http://127.0.0.1:18081", g.date(t), srv)
		r := g.build(t)
		body := []byte(g.Body)
		var act activity
		if err := json.Unmarshal(body, &act); err != nil {
			t.Fatal(err)
		}
		signer, _, err := f.authenticate(context.Background(), r, body, &act)
		if err != nil {
			t.Fatalf("authenticate: %v", err)
		}
		if signer.IRI != "http://gts.test/users/coopadmin" || signer.PublicKeyID != "http://gts.test/users/coopadmin/main-key" || signer.Inbox == "" {
			t.Errorf("signer = %+v", signer)
		}
		if err := f.authorize(context.Background(), signer, &act); err != nil {
			t.Errorf("authorize: %v", err)
		}
	})
}

// TestGoToSocialHandleLookup resolves @coopadmin@gts.test the way a coop
// admin's follow does: GoToSocial's real WebFinger answer, then its actor.
func TestGoToSocialHandleLookup(t *testing.T) {
	f := fixtureFederation(t, "https://coop.example", time.Now(), gtsFixtureServer(t))
	a, err := f.LookupHandle(context.Background(), "@coopadmin@gts.test")
	if err != nil {
		t.Fatal(err)
	}
	if a.IRI != "http://gts.test/users/coopadmin" || a.Inbox != "http://gts.test/users/coopadmin/inbox" || a.PublicKeyID != "http://gts.test/users/coopadmin/main-key" {
		t.Errorf("actor = %+v", a)
	}
	// GoToSocial advertises no shared inbox: deliveries go to the inbox.
	if a.SharedInbox != "" || a.DeliveryInbox() != a.Inbox {
		t.Errorf("shared inbox %q, delivery inbox %q", a.SharedInbox, a.DeliveryInbox())
	}
	if a.Handle() != "coopadmin@gts.test" {
		t.Errorf("handle = %q", a.Handle())
	}
}

// gtsFixtureServer serves GoToSocial's captured WebFinger, actor and key stub on
// loopback, at the paths gts.test serves them.
func gtsFixtureServer(t testing.TB) *httptest.Server {
	t.Helper()
	docs := map[string][]byte{
		"/.well-known/webfinger":    readFixture(t, "gotosocial/webfinger.json"),
		"/users/coopadmin":          readFixture(t, "gotosocial/actor.json"),
		"/users/coopadmin/main-key": readFixture(t, "gotosocial/main-key.json"),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, ok := docs[r.URL.Path]
		if !ok || r.Host != "gts.test" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/activity+json")
		w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// fixtureFederation is a Federation at base whose clock reads now and whose HTTP
// client sends every request to srv on loopback, whatever the host name,
// so fixtures keep their real IRIs (gts.test) and nothing leaves the
// machine.
func fixtureFederation(t testing.TB, base string, now time.Time, srv *httptest.Server) *Federation {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "fixtures.db"), store.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	addr := srv.Listener.Addr().String()
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
	f, err := New(context.Background(), Config{BaseURL: base, Store: st, AllowPrivate: true, Client: client, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return f
}
