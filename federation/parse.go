package federation

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Incoming documents are decoded with our own small structs rather than
// go-fed's resolver: peers send shapes go-fed rejects (unknown embedded
// types, scalars where arrays are usual) and the resolver costs several
// times a plain decode on the inbox's hot path.

// refs is a property that may be one IRI, one object with an id, or an
// array of either; it decodes to the list of IRIs.
type refs []string

// UnmarshalJSON accepts a string, an object with "id" or "href", or an
// array of those; anything else decodes to nothing rather than failing.
func (r *refs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		*r = nil
		return nil
	}
	switch b[0] {
	case '"':
		if s, ok := plainString(b); ok {
			*r = refs{s}
			return nil
		}
		var s string
		if err := decodeJSON(b, &s); err != nil {
			return err
		}
		*r = refs{s}
	case '{':
		var o struct {
			ID   string `json:"id"`
			Href string `json:"href"`
		}
		if err := decodeJSON(b, &o); err != nil {
			return err
		}
		if o.ID != "" {
			*r = refs{o.ID}
		} else if o.Href != "" {
			*r = refs{o.Href}
		}
	case '[':
		if ss, ok := plainStrings(b); ok {
			*r = append(refs{}, ss...)
			return nil
		}
		var items []json.RawMessage
		if err := decodeJSON(b, &items); err != nil {
			return err
		}
		out := refs{}
		for _, it := range items {
			var one refs
			if err := one.UnmarshalJSON(it); err == nil {
				out = append(out, one...)
			}
		}
		*r = out
	}
	return nil
}

// plainString returns the value of the JSON string literal b when it needs
// no unescaping (no backslash, valid UTF-8), as IRIs and type names almost
// always are: the inbox's hot path then skips a second pass of
// encoding/json for each such property. b is a value the decoder already
// checked, so it holds no raw quote or control character.
func plainString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	if bytes.IndexByte(in, '\\') >= 0 || !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

// plainStrings returns the values of b when it is a JSON array of strings
// that plainString reads; false for anything else (objects, escapes,
// nesting), which the caller decodes with encoding/json.
func plainStrings(b []byte) ([]string, bool) {
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return nil, false
	}
	var out []string
	i := skipSpace(b, 1)
	if i == len(b)-1 {
		return out, true // []
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, false
		}
		end := bytes.IndexByte(b[i+1:], '"')
		if end < 0 {
			return nil, false
		}
		s, ok := plainString(b[i : i+end+2])
		if !ok {
			return nil, false
		}
		out = append(out, s)
		i = skipSpace(b, i+end+2)
		switch {
		case i == len(b)-1:
			return out, true
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		default:
			return nil, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// First returns the first IRI or "".
func (r refs) First() string {
	if len(r) == 0 {
		return ""
	}
	return r[0]
}

// Has reports whether iri is among the references.
func (r refs) Has(iri string) bool {
	for _, x := range r {
		if x == iri {
			return true
		}
	}
	return false
}

// types is "type", which JSON-LD allows to be a string or an array.
type types []string

// UnmarshalJSON accepts a string or an array of strings.
func (t *types) UnmarshalJSON(b []byte) error {
	if s, ok := plainString(b); ok {
		*t = types{s}
		return nil
	}
	if ss, ok := plainStrings(b); ok {
		*t = append(types{}, ss...)
		return nil
	}
	var one string
	if err := decodeJSON(b, &one); err == nil {
		*t = types{one}
		return nil
	}
	var many []string
	if err := decodeJSON(b, &many); err != nil {
		return errors.New("type must be a string or an array of strings")
	}
	*t = many
	return nil
}

// Is reports whether any of the types is name.
func (t types) Is(name string) bool {
	for _, x := range t {
		if x == name {
			return true
		}
	}
	return false
}

// Main returns the first type.
func (t types) Main() string {
	if len(t) == 0 {
		return ""
	}
	return t[0]
}

// langString is a natural-language property that may arrive as a plain
// string or (via contentMap/nameMap) a language map; we keep one string.
type langString string

// UnmarshalJSON accepts a string, an array of strings (first wins) or null.
func (l *langString) UnmarshalJSON(b []byte) error {
	if s, ok := plainString(b); ok {
		*l = langString(s)
		return nil
	}
	var s string
	if err := decodeJSON(b, &s); err == nil {
		*l = langString(s)
		return nil
	}
	var many []string
	if err := decodeJSON(b, &many); err == nil && len(many) > 0 {
		*l = langString(many[0])
	}
	return nil
}

// langMap is a natural-language map (contentMap), kept undecoded: Mastodon
// repeats the content in it, and it is read only when content is absent.
type langMap []byte

// UnmarshalJSON keeps a copy of the map's JSON.
func (m *langMap) UnmarshalJSON(b []byte) error {
	*m = append((*m)[:0], b...)
	return nil
}

// values decodes the map; a map of another shape has no values.
func (m langMap) values() map[string]string {
	if len(m) == 0 {
		return nil
	}
	var out map[string]string
	if decodeJSON(m, &out) != nil {
		return nil
	}
	return out
}

// activity is the envelope of anything that reaches an inbox.
type activity struct {
	Context   json.RawMessage `json:"@context"`
	ID        string          `json:"id"`
	Type      types           `json:"type"`
	Actor     refs            `json:"actor"`
	Object    json.RawMessage `json:"object"`
	Target    refs            `json:"target"`
	Result    json.RawMessage `json:"result"`
	To        refs            `json:"to"`
	Cc        refs            `json:"cc"`
	Published string          `json:"published"`
	Content   langString      `json:"content"`
	// Audience names the group an activity is for (FEP-1b12).
	Audience refs `json:"audience"`
}

// object is the part of an embedded or fetched object we read.
type object struct {
	ID           string     `json:"id"`
	Type         types      `json:"type"`
	AttributedTo refs       `json:"attributedTo"`
	Actor        refs       `json:"actor"`
	Object       refs       `json:"object"`
	Content      langString `json:"content"`
	ContentMap   langMap    `json:"contentMap"`
	Summary      langString `json:"summary"`
	Name         langString `json:"name"`
	URL          refs       `json:"url"`
	InReplyTo    refs       `json:"inReplyTo"`
	To           refs       `json:"to"`
	Cc           refs       `json:"cc"`
	Audience     refs       `json:"audience"`
	// Context is read once here so the kinds that key on it (a trade's
	// receipts and reviews) decode the object again only when it is set.
	Context   refs   `json:"context"`
	Published string `json:"published"`
	Updated   string `json:"updated"`
	// Tag holds mentions, hashtags and emojis; GoToSocial sends a single
	// tag as an object rather than an array.
	Tag tagList `json:"tag"`
	// Poll fields of a Question (Mastodon, GoToSocial, FEP-9967). Each
	// has a lenient type: an odd shape must not make the whole object
	// undecodable.
	OneOf       pollOptions `json:"oneOf"`
	AnyOf       pollOptions `json:"anyOf"`
	EndTime     langString  `json:"endTime"`
	Closed      closedFlag  `json:"closed"`
	VotersCount flexInt     `json:"votersCount"`
	// Vote extension terms (FEDERATION.md): a ranked ballot's order, a
	// score ballot's dots, and the reason given with a vote.
	Ranking    stringList `json:"ranking"`
	Scores     scoreList  `json:"scores"`
	VoteReason langString `json:"voteReason"`
	// Motion extension terms of a Question, read when a federation's
	// motion opens an internal motion in a member coop.
	MotionKind langString `json:"motionKind"`
	Quorum     flexFloat  `json:"quorum"`
	Threshold  flexFloat  `json:"threshold"`
}

// flexFloat is a number; any other shape decodes as -1 (absent).
type flexFloat float64

// UnmarshalJSON accepts a JSON number and ignores other shapes.
func (n *flexFloat) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		f = -1
	}
	*n = flexFloat(f)
	return nil
}

// stringList is a list of strings; anything else decodes as empty.
type stringList []string

// UnmarshalJSON accepts an array of strings and ignores other shapes.
func (l *stringList) UnmarshalJSON(b []byte) error {
	var many []string
	if err := decodeJSON(b, &many); err == nil {
		*l = many
	}
	return nil
}

// scoreEntry is one option's dots in a score ballot.
type scoreEntry struct {
	Name   langString `json:"name"`
	Points flexInt    `json:"points"`
}

// scoreList is the scores of a ballot; an odd shape decodes as empty.
type scoreList []scoreEntry

// UnmarshalJSON accepts an array of {name, points} and ignores other
// shapes.
func (l *scoreList) UnmarshalJSON(b []byte) error {
	var many []scoreEntry
	if err := decodeJSON(b, &many); err == nil {
		*l = many
	}
	return nil
}

// tag is one entry of an object's tag property.
type tag struct {
	Type types      `json:"type"`
	Href string     `json:"href"`
	Name langString `json:"name"`
	ID   string     `json:"id"`
}

// tagList is "tag": one tag object or an array of them. Entries that are
// not objects (a bare IRI) or do not decode are skipped, not fatal.
type tagList []tag

// UnmarshalJSON accepts an object, an array of objects, or null.
func (l *tagList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*l = nil
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '{':
		var one tag
		if err := decodeJSON(b, &one); err == nil {
			*l = tagList{one}
		}
	case '[':
		var items []json.RawMessage
		if err := decodeJSON(b, &items); err != nil {
			return nil
		}
		for _, it := range items {
			var one tag
			if it = bytes.TrimSpace(it); len(it) > 0 && it[0] == '{' && decodeJSON(it, &one) == nil {
				*l = append(*l, one)
			}
		}
	}
	return nil
}

// Mentions returns the href of every Mention tag: the actors an object
// names, which Mastodon and GoToSocial use for addressing and
// notifications.
func (l tagList) Mentions() []string {
	var out []string
	for _, t := range l {
		if t.Type.Is("Mention") && t.Href != "" {
			out = append(out, t.Href)
		}
	}
	return out
}

// Hashtags returns the names of the Hashtag tags as sent ("#bread").
func (l tagList) Hashtags() []string {
	var out []string
	for _, t := range l {
		if t.Type.Is("Hashtag") && t.Name != "" {
			out = append(out, string(t.Name))
		}
	}
	return out
}

// pollOption is one choice of a Question: the option Note's name and its
// vote count (replies.totalItems).
type pollOption struct {
	Name  string
	Votes int64
}

// pollOptions is oneOf or anyOf: an array of options, or a single one.
// Options without a name are skipped; a replies that is not an object
// counts as no votes.
type pollOptions []pollOption

// UnmarshalJSON accepts an option object, an array of them, or anything
// else as no options.
func (p *pollOptions) UnmarshalJSON(b []byte) error {
	*p = nil
	b = bytes.TrimSpace(b)
	var items []json.RawMessage
	if len(b) > 0 && b[0] == '{' {
		items = []json.RawMessage{b}
	} else if decodeJSON(b, &items) != nil {
		return nil
	}
	for _, it := range items {
		var o struct {
			Name    langString      `json:"name"`
			Replies json.RawMessage `json:"replies"`
		}
		if decodeJSON(it, &o) != nil || o.Name == "" {
			continue
		}
		var r struct {
			TotalItems flexInt `json:"totalItems"`
		}
		decodeJSON(o.Replies, &r) // not an object: no votes
		*p = append(*p, pollOption{Name: string(o.Name), Votes: int64(r.TotalItems)})
	}
	return nil
}

// flexInt is a count sent as a JSON number or as a numeric string (both
// occur in the wild); anything else decodes to 0.
type flexInt int64

// UnmarshalJSON accepts 3, 3.0 and "3".
func (n *flexInt) UnmarshalJSON(b []byte) error {
	*n = 0
	var f float64
	if err := decodeJSON(b, &f); err == nil {
		*n = flexInt(f)
		return nil
	}
	var s string
	if err := decodeJSON(b, &s); err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
			*n = flexInt(v)
		}
	}
	return nil
}

// closedFlag is a Question's "closed": ActivityStreams allows a dateTime
// (Mastodon's form) or a boolean. Set reports whether "closed" was given
// (a dateTime, true or an object); At is the closing time when one was
// given. Set does not mean the poll has ended: Pleroma and Akkoma put the
// deadline of a poll that is still open in "closed", with no endTime
// (make_poll_data: "closed" => end_time; testdata/pleroma/poll_original.json).
// Ask object.pollClosedAt instead.
type closedFlag struct {
	Set bool
	At  time.Time
}

// pollEnd returns when a Question's voting ends or ended: endTime, else
// the time in "closed" (Pleroma's deadline); zero when neither is given.
func (o *object) pollEnd() time.Time {
	if t := parseTime(string(o.EndTime)); !t.IsZero() {
		return t
	}
	return o.Closed.At
}

// pollClosedAt reports whether a Question takes no more votes at now:
// "closed" true (or a time-less object), or endTime or the time in
// "closed" not after now.
func (o *object) pollClosedAt(now time.Time) bool {
	if o.Closed.Set && o.Closed.At.IsZero() {
		return true
	}
	for _, end := range []time.Time{parseTime(string(o.EndTime)), o.Closed.At} {
		if !end.IsZero() && !end.After(now) {
			return true
		}
	}
	return false
}

// UnmarshalJSON accepts a dateTime, true/false, an object or null.
func (c *closedFlag) UnmarshalJSON(b []byte) error {
	*c = closedFlag{}
	b = bytes.TrimSpace(b)
	var flag bool
	var s string
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
	case decodeJSON(b, &flag) == nil:
		c.Set = flag
	case decodeJSON(b, &s) == nil:
		c.Set, c.At = s != "", parseTime(s)
	default:
		c.Set = true // an object or link: closed, time unknown
	}
	return nil
}

// updateVersion is what tells two Updates that share an activity id
// apart for duplicate detection. GoToSocial reuses one Update id for every
// edit of a status (only `updated` changes) and for every tally refresh of
// a poll (nothing but the counts changes: no `updated` at all), so the
// version is `updated` plus a digest of the embedded object. A redelivery
// of the same bytes keeps the same version and is still dropped.
func updateVersion(raw json.RawMessage, o *object) string {
	if o == nil {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		buf.Reset()
		buf.Write(raw)
	}
	sum := sha256.Sum256(buf.Bytes())
	return o.Updated + "#" + hex.EncodeToString(sum[:8])
}

// objectRef returns the id of an activity's object, whether it is an IRI or
// embedded, and the embedded object when there is one.
func objectRef(raw json.RawMessage) (string, *object, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil, errors.New("activity has no object")
	}
	if raw[0] == '"' {
		var s string
		if err := decodeJSON(raw, &s); err != nil {
			return "", nil, err
		}
		return s, nil, nil
	}
	if raw[0] == '[' {
		var items []json.RawMessage
		if err := decodeJSON(raw, &items); err != nil {
			return "", nil, err
		}
		if len(items) != 1 {
			return "", nil, errors.New("activity must have exactly one object")
		}
		return objectRef(items[0])
	}
	var o object
	if err := decodeJSON(raw, &o); err != nil {
		return "", nil, err
	}
	return o.ID, &o, nil
}

// parseTime reads an xsd:dateTime; zero when absent or malformed.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// actorDoc is a remote actor document.
type actorDoc struct {
	ID                string     `json:"id"`
	Type              types      `json:"type"`
	PreferredUsername string     `json:"preferredUsername"`
	Name              langString `json:"name"`
	Summary           langString `json:"summary"`
	URL               refs       `json:"url"`
	Inbox             string     `json:"inbox"`
	Outbox            string     `json:"outbox"`
	Followers         string     `json:"followers"`
	Endpoints         struct {
		SharedInbox string `json:"sharedInbox"`
	} `json:"endpoints"`
	PublicKey keyList `json:"publicKey"`
	// A bare key document (GoToSocial serves .../main-key as one).
	Owner        string `json:"owner"`
	PublicKeyPem string `json:"publicKeyPem"`
	// Region is coopfed's region term; Attachment holds Mastodon's
	// profile fields, where a "Region" field says the same.
	Region     langString      `json:"region"`
	Attachment json.RawMessage `json:"attachment"`
}

// region returns where the actor says it works: coopfed's region, or a
// profile field named Region (or Location), as plain text.
func (d *actorDoc) region() string {
	if r := strings.TrimSpace(string(d.Region)); r != "" {
		return r
	}
	var fields []struct {
		Type  types      `json:"type"`
		Name  langString `json:"name"`
		Value langString `json:"value"`
	}
	raw := bytes.TrimSpace(d.Attachment)
	if len(raw) > 0 && raw[0] == '{' {
		raw = append(append([]byte{'['}, raw...), ']')
	}
	if decodeJSON(raw, &fields) != nil {
		return ""
	}
	for _, f := range fields {
		switch strings.ToLower(strings.TrimSpace(string(f.Name))) {
		case "region", "location":
			return string(f.Value)
		}
	}
	return ""
}

type keyDoc struct {
	ID           string `json:"id"`
	Owner        string `json:"owner"`
	PublicKeyPem string `json:"publicKeyPem"`
}

// keyList is publicKey: one key object or an array of them.
type keyList []keyDoc

// UnmarshalJSON accepts one key object or an array.
func (k *keyList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var many []keyDoc
		if err := decodeJSON(b, &many); err != nil {
			return err
		}
		*k = many
		return nil
	}
	var one keyDoc
	if err := decodeJSON(b, &one); err != nil {
		return err
	}
	*k = keyList{one}
	return nil
}

// actorTypes are the types a followable actor may have.
var actorTypes = map[string]bool{"Person": true, "Organization": true, "Service": true, "Application": true, "Group": true}

// isActor reports whether the document is an actor we can talk to: an
// actor type and an inbox. GoToSocial serves its key id (.../main-key) as a
// stub typed Person holding only id, preferredUsername and publicKey; that
// is a key document, whose owner must be fetched for the real actor.
func (a *actorDoc) isActor() bool {
	if a.Inbox == "" {
		return false
	}
	for _, t := range a.Type {
		if actorTypes[t] {
			return true
		}
	}
	return false
}

// key returns the actor's key with the given id, or its only key when id
// is "".
func (a *actorDoc) key(id string) (keyDoc, bool) {
	for _, k := range a.PublicKey {
		if id == "" || k.ID == id {
			return k, true
		}
	}
	return keyDoc{}, false
}

// jsonDepth returns the deepest nesting of objects and arrays in b, without
// decoding it, so that absurdly nested input is refused before any parser
// spends time or stack on it.
func jsonDepth(b []byte) int {
	depth, deepest := 0, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = stringEnd(b, i+1)
		case '{', '[':
			depth++
			deepest = max(deepest, depth)
		case '}', ']':
			depth--
		}
	}
	return deepest
}

// stringEnd returns the index of the quote that closes the JSON string
// whose content starts at i, or len(b). Most of an activity's bytes are
// inside strings (its content), so they are skipped by IndexByte rather
// than looked at one by one: a quote closes the string unless an odd run
// of backslashes precedes it.
func stringEnd(b []byte, i int) int {
	start := i
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b)
		}
		q := i + j
		n := 0
		for k := q - 1; k >= start && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return q
		}
		i = q + 1
	}
}

// stripFragment returns iri without its #fragment.
func stripFragment(iri string) string {
	if i := strings.IndexByte(iri, '#'); i >= 0 {
		return iri[:i]
	}
	return iri
}
