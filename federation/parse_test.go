package federation

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRefs covers every shape a reference property (actor, to, cc,
// attributedTo, url...) takes in the wild.
func TestRefs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`"https://a.example/u"`, []string{"https://a.example/u"}},
		{`{"id":"https://a.example/u","type":"Person"}`, []string{"https://a.example/u"}},
		{`{"type":"Link","href":"https://a.example/page"}`, []string{"https://a.example/page"}},
		{`["https://a.example/1",{"id":"https://a.example/2"},{"href":"https://a.example/3"}]`, []string{"https://a.example/1", "https://a.example/2", "https://a.example/3"}},
		{`[]`, []string{}},
		{`null`, nil},
		{`{"type":"Link"}`, nil},
		// Junk inside an array is skipped, not fatal.
		{`["https://a.example/1", 42, true]`, []string{"https://a.example/1"}},
		{`42`, nil},
	} {
		var r refs
		if err := json.Unmarshal([]byte(tc.in), &r); err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if !slices.Equal([]string(r), tc.want) || (tc.want == nil) != (r == nil) {
			t.Errorf("%s: got %#v, want %#v", tc.in, r, tc.want)
		}
	}
	var r refs
	json.Unmarshal([]byte(`["x","y"]`), &r)
	if r.First() != "x" || !r.Has("y") || r.Has("z") || (refs{}).First() != "" {
		t.Errorf("First/Has on %v", r)
	}
}

// TestTypes covers "type" as a string or an array (JSON-LD allows both).
func TestTypes(t *testing.T) {
	var one, many types
	if err := json.Unmarshal([]byte(`"Note"`), &one); err != nil || one.Main() != "Note" {
		t.Errorf("string: %v %v", one, err)
	}
	if err := json.Unmarshal([]byte(`["Proposal","Note"]`), &many); err != nil || many.Main() != "Proposal" || !many.Is("Note") || many.Is("Article") {
		t.Errorf("array: %v %v", many, err)
	}
	var bad types
	if err := json.Unmarshal([]byte(`{"x":1}`), &bad); err == nil {
		t.Error("an object as type was accepted")
	}
	if (types{}).Main() != "" {
		t.Error("empty Main")
	}
}

func TestLangString(t *testing.T) {
	for in, want := range map[string]string{
		`"<p>hi</p>"`:     "<p>hi</p>",
		`["first","two"]`: "first",
		`null`:            "",
		`{"en":"x"}`:      "",
		`[]`:              "",
	} {
		var l langString
		if err := json.Unmarshal([]byte(in), &l); err != nil || string(l) != want {
			t.Errorf("%s: got %q, %v; want %q", in, l, err, want)
		}
	}
}

// TestTagList covers tag as one object (GoToSocial with a single tag), an
// array, and entries that are not objects.
func TestTagList(t *testing.T) {
	for _, tc := range []struct {
		in                 string
		mentions, hashtags []string
		n                  int
	}{
		{`{"type":"Hashtag","href":"https://a.example/tags/x","name":"#x"}`, nil, []string{"#x"}, 1},
		{`[{"type":"Mention","href":"https://a.example/u","name":"@u@a.example"},{"type":"Hashtag","name":"#y"},{"type":"Emoji","name":":e:"}]`, []string{"https://a.example/u"}, []string{"#y"}, 3},
		{`["https://a.example/tags/x", 3, {"type":"Mention","href":"https://b.example/v"}]`, []string{"https://b.example/v"}, nil, 1},
		{`[]`, nil, nil, 0},
		{`null`, nil, nil, 0},
		{`"#x"`, nil, nil, 0},
		// A Mention without href names nobody.
		{`{"type":"Mention","name":"@ghost"}`, nil, nil, 1},
	} {
		var l tagList
		if err := json.Unmarshal([]byte(tc.in), &l); err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if len(l) != tc.n || !slices.Equal(l.Mentions(), tc.mentions) || !slices.Equal(l.Hashtags(), tc.hashtags) {
			t.Errorf("%s: %d tags, mentions %v, hashtags %v", tc.in, len(l), l.Mentions(), l.Hashtags())
		}
	}
}

func TestFlexInt(t *testing.T) {
	for in, want := range map[string]flexInt{`3`: 3, `3.0`: 3, `"12"`: 12, `" 7 "`: 7, `"x"`: 0, `null`: 0, `true`: 0, `{}`: 0} {
		var n flexInt
		if err := json.Unmarshal([]byte(in), &n); err != nil || n != want {
			t.Errorf("%s: got %d, %v; want %d", in, n, err, want)
		}
	}
}

// TestClosedFlag covers a Question's closed: Mastodon sends a dateTime,
// ActivityStreams also allows a boolean.
func TestClosedFlag(t *testing.T) {
	at := time.Date(2023, 3, 6, 7, 40, 13, 0, time.UTC)
	for _, tc := range []struct {
		in  string
		set bool
		at  time.Time
	}{
		{`"2023-03-06T07:40:13Z"`, true, at},
		{`true`, true, time.Time{}},
		{`false`, false, time.Time{}},
		{`null`, false, time.Time{}},
		{`{"type":"Link","href":"x"}`, true, time.Time{}},
	} {
		var c closedFlag
		if err := json.Unmarshal([]byte(tc.in), &c); err != nil || c.Set != tc.set || !c.At.Equal(tc.at) {
			t.Errorf("%s: got %+v, %v", tc.in, c, err)
		}
	}
	var q object
	if err := json.Unmarshal([]byte(`{"type":"Question"}`), &q); err != nil || q.Closed.Set {
		t.Errorf("absent closed: %+v %v", q.Closed, err)
	}
}

func TestObjectRef(t *testing.T) {
	for _, tc := range []struct {
		in, id   string
		embedded bool
		err      bool
	}{
		{`"https://a.example/n/1"`, "https://a.example/n/1", false, false},
		{`{"id":"https://a.example/n/1","type":"Note"}`, "https://a.example/n/1", true, false},
		{`["https://a.example/n/1"]`, "https://a.example/n/1", false, false},
		{`[{"id":"https://a.example/n/1","type":"Note"}]`, "https://a.example/n/1", true, false},
		// An object without id is returned with an empty id; the handlers
		// refuse it.
		{`{"type":"Note"}`, "", true, false},
		{`["a","b"]`, "", false, true},
		{`[]`, "", false, true},
		{`null`, "", false, true},
		{``, "", false, true},
	} {
		id, obj, err := objectRef(json.RawMessage(tc.in))
		if (err != nil) != tc.err || id != tc.id || (obj != nil) != tc.embedded {
			t.Errorf("%q: got %q, %v, %v", tc.in, id, obj != nil, err)
		}
	}
}

// TestPollOptions covers oneOf/anyOf shapes, and that odd ones do not make
// the Question undecodable.
func TestPollOptions(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []pollOption
	}{
		{`[{"type":"Note","name":"Yes","replies":{"type":"Collection","totalItems":2}},{"type":"Note","name":"No"}]`, []pollOption{{"Yes", 2}, {"No", 0}}},
		{`{"type":"Note","name":"Only","replies":{"totalItems":"5"}}`, []pollOption{{"Only", 5}}},
		{`[{"name":"A","replies":"https://a.example/r"},{"type":"Note"},"x",3]`, []pollOption{{"A", 0}}},
		{`"yes"`, nil},
		{`null`, nil},
	} {
		var q object
		if err := json.Unmarshal([]byte(`{"id":"https://a.example/q","type":"Question","anyOf":`+tc.in+`,"endTime":5}`), &q); err != nil {
			t.Errorf("%s: the Question did not decode: %v", tc.in, err)
			continue
		}
		if !slices.Equal(q.AnyOf, pollOptions(tc.want)) {
			t.Errorf("%s: got %+v, want %+v", tc.in, q.AnyOf, tc.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2026, 11, 28, 17, 47, 2, 0, time.UTC)
	for in, ok := range map[string]bool{
		"2026-11-28T17:47:02Z":      true,
		"2026-11-28T18:47:02+01:00": true,
		"2026-11-28T18:47:02+0100":  true,
		"2026-11-28T17:47:02":       true,
		"2026-11-28T17:47:02.000Z":  true,
		"yesterday":                 false,
		"":                          false,
	} {
		got := parseTime(in)
		if ok && !got.Equal(want) || !ok && !got.IsZero() {
			t.Errorf("parseTime(%q) = %v", in, got)
		}
	}
}

// TestKeyList covers publicKey as one object or an array (some servers
// publish several keys) and picking a key by id.
func TestKeyList(t *testing.T) {
	var a actorDoc
	doc := `{"id":"https://a.example/u","type":"Person","inbox":"https://a.example/u/inbox","publicKey":[{"id":"https://a.example/u#k1","owner":"https://a.example/u","publicKeyPem":"1"},{"id":"https://a.example/u#k2","owner":"https://a.example/u","publicKeyPem":"2"}]}`
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		t.Fatal(err)
	}
	if k, ok := a.key("https://a.example/u#k2"); !ok || k.PublicKeyPem != "2" {
		t.Errorf("key by id: %+v %v", k, ok)
	}
	if k, ok := a.key(""); !ok || k.PublicKeyPem != "1" {
		t.Errorf("first key: %+v %v", k, ok)
	}
	if _, ok := a.key("https://a.example/u#k3"); ok {
		t.Error("found a key that is not there")
	}
	if !a.isActor() {
		t.Error("a Person with an inbox is an actor")
	}
	var noInbox actorDoc
	json.Unmarshal([]byte(`{"id":"https://a.example/u","type":"Person"}`), &noInbox)
	var notActor actorDoc
	json.Unmarshal([]byte(`{"id":"https://a.example/n","type":"Note","inbox":"https://a.example/x"}`), &notActor)
	if noInbox.isActor() || notActor.isActor() {
		t.Error("a document without inbox, or of a non-actor type, is an actor")
	}
}

func TestJSONDepth(t *testing.T) {
	for in, want := range map[string]int{
		`{}`:                     1,
		`{"a":[{"b":{}}]}`:       4,
		`"[[[["`:                 0,
		`{"a":"}}}{{{\"[[["}`:    1,
		strings.Repeat("[", 50):  50,
		`["\\\\",[[]]]`:          3, // an escaped backslash ends before the quote
		`["\\\"[[",[]]`:          2, // an escaped quote does not end the string
		`{"a":"unterminated [[[`: 1,
		`[[]`:                    2,
	} {
		if got := jsonDepth([]byte(in)); got != want {
			t.Errorf("jsonDepth(%s) = %d, want %d", in, got, want)
		}
	}
}

func TestStripFragment(t *testing.T) {
	for in, want := range map[string]string{
		"https://a.example/u#main-key": "https://a.example/u",
		"https://a.example/u":          "https://a.example/u",
		// GoToSocial vote ids hold a # and then a whole URL.
		"http://gts.test/users/x#01AB/votes/1": "http://gts.test/users/x",
	} {
		if got := stripFragment(in); got != want {
			t.Errorf("stripFragment(%q) = %q", in, got)
		}
	}
}

// TestUpdateVersion checks the parts of the dedupe version: `updated`
// readable in front, then a digest that ignores whitespace only.
func TestUpdateVersion(t *testing.T) {
	parse := func(s string) (json.RawMessage, *object) {
		_, o, err := objectRef(json.RawMessage(s))
		if err != nil {
			t.Fatal(err)
		}
		return json.RawMessage(s), o
	}
	a := updateVersion(parse(`{"id":"x","type":"Note","updated":"2026-01-01T00:00:00Z","content":"a"}`))
	b := updateVersion(parse("{ \"id\": \"x\", \"type\": \"Note\",\n \"updated\": \"2026-01-01T00:00:00Z\", \"content\": \"a\" }"))
	c := updateVersion(parse(`{"id":"x","type":"Note","updated":"2026-01-01T00:00:00Z","content":"b"}`))
	if a != b {
		t.Errorf("whitespace changed the version: %q, %q", a, b)
	}
	if a == c {
		t.Errorf("new content kept the version %q", a)
	}
	if !strings.HasPrefix(a, "2026-01-01T00:00:00Z#") {
		t.Errorf("version %q does not start with updated", a)
	}
	if updateVersion(json.RawMessage(`"x"`), nil) != "" {
		t.Error("a bare IRI has a version")
	}
}

// The plain-string fast path of refs, types and langString decodes exactly
// what encoding/json does, and leaves escapes, invalid UTF-8, objects and
// nesting to it.
func TestPlainStringFastPath(t *testing.T) {
	for _, in := range []string{
		`"https://a.example/u"`, `""`, `"caf\u00e9"`, `"a\/b"`, `"quote \" inside"`, "\"bad \xff utf8\"", `"é ü"`,
		`[]`, `[ ]`, `["a"]`, `[ "a" , "b" ]`, "[\n\t\"a\",\r\n\"b\"\n]", `["a]b","c,d"]`, `["a\"b"]`, `["caf\u00e9"]`,
		"[\"\xff\"]", `["a",{"id":"b"}]`, `[["a"]]`, `[1]`, `["a",null]`,
	} {
		// The reference: encoding/json into plain Go types.
		var one string
		var many []string
		oneOK := json.Unmarshal([]byte(in), &one) == nil
		manyOK := json.Unmarshal([]byte(in), &many) == nil && !slices.Contains(many, "") || in == `["a",null]`

		var r refs
		if err := json.Unmarshal([]byte(in), &r); err != nil && (oneOK || manyOK) {
			t.Errorf("refs %s: %v", in, err)
		}
		var ty types
		tyErr := json.Unmarshal([]byte(in), &ty)
		var l langString
		json.Unmarshal([]byte(in), &l)
		switch {
		case oneOK:
			if !slices.Equal(r, refs{one}) || !slices.Equal(ty, types{one}) || string(l) != one {
				t.Errorf("%s: refs %q, types %q, langString %q; want %q", in, r, ty, l, one)
			}
		case manyOK && in != `["a",null]`:
			if !slices.Equal([]string(ty), many) || tyErr != nil || (len(many) > 0 && string(l) != many[0]) {
				t.Errorf("%s: types %q (%v), langString %q; want %q", in, ty, tyErr, l, many)
			}
			if !slices.Equal([]string(r), many) || r == nil {
				t.Errorf("%s: refs %#v, want %q", in, r, many)
			}
		}
	}
	if s, ok := plainStrings([]byte(`["a",{"id":"b"}]`)); ok {
		t.Errorf("an array with an object took the fast path: %q", s)
	}
	if _, ok := plainString([]byte(`"a\nb"`)); ok {
		t.Error("an escaped string took the fast path")
	}
}

// contentMap is read only when content is absent, and an odd shape of it
// costs the object nothing but the map.
func TestContentMap(t *testing.T) {
	for _, tc := range []struct {
		in      string
		content string
		values  map[string]string
	}{
		{`{"content":"<p>a</p>","contentMap":{"en":"<p>a</p>"}}`, "<p>a</p>", map[string]string{"en": "<p>a</p>"}},
		{`{"contentMap":{"de":"<p>b</p>"}}`, "", map[string]string{"de": "<p>b</p>"}},
		{`{"contentMap":{"en":5}}`, "", nil},
		{`{"contentMap":"x"}`, "", nil},
		{`{"contentMap":null}`, "", nil},
		{`{}`, "", nil},
	} {
		var o object
		if err := decodeJSON([]byte(tc.in), &o); err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if string(o.Content) != tc.content {
			t.Errorf("%s: content %q, want %q", tc.in, o.Content, tc.content)
		}
		got := o.ContentMap.values()
		if len(got) != len(tc.values) {
			t.Errorf("%s: contentMap %v, want %v", tc.in, got, tc.values)
		}
		for k, v := range tc.values {
			if got[k] != v {
				t.Errorf("%s: contentMap[%s] = %q, want %q", tc.in, k, got[k], v)
			}
		}
	}
}
