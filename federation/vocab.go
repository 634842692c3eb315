package federation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"
)

// JSON-LD contexts. go-fed builds @context only from the vocabularies it
// knows and drops the terms it lacks, so every document we send gets one of
// these instead.
const (
	ContextActivityStreams = "https://www.w3.org/ns/activitystreams"
	ContextSecurity        = "https://w3id.org/security/v1"
	// NamespaceCoopfed holds coopfed's own extension terms (FEDERATION.md).
	NamespaceCoopfed = "https://coopfed.org/ns#"
)

// actorContext covers the terms an actor carries beyond ActivityStreams:
// Mastodon reads manuallyApprovesFollowers and discoverable by these IRIs.
var actorContext = []any{
	ContextActivityStreams,
	ContextSecurity,
	map[string]any{
		"manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
		"toot":                      "http://joinmastodon.org/ns#",
		"discoverable":              "toot:discoverable",
		"indexable":                 "toot:indexable",
		"coopfed":                   NamespaceCoopfed,
		"region":                    "coopfed:region",
		"schema":                    "http://schema.org#",
		"PropertyValue":             "schema:PropertyValue",
		"value":                     "schema:value",
	},
}

// objectContext is the context of notes and the activities around them.
var objectContext = []any{
	ContextActivityStreams,
	map[string]any{
		"sensitive": "as:sensitive",
		"Hashtag":   "as:Hashtag",
		"toot":      "http://joinmastodon.org/ns#",
		"coopfed":   NamespaceCoopfed,
	},
}

// arrayKeys are properties Mastodon and others expect as arrays; go-fed
// writes a single value as a scalar.
var arrayKeys = map[string]bool{"to": true, "cc": true, "bto": true, "bcc": true, "tag": true, "attachment": true, "orderedItems": true, "items": true}

// serialize turns a go-fed value into the JSON map we send: go-fed's
// serialisation, then arrays forced where peers want them, the given
// @context, and the extra properties go-fed's vocabulary lacks.
func serialize(t vocab.Type, context any, extra map[string]any) (map[string]any, error) {
	m, err := streams.Serialize(t)
	if err != nil {
		return nil, fmt.Errorf("federation: serialize %s: %w", t.GetTypeName(), err)
	}
	forceArrays(m)
	for k, v := range extra {
		m[k] = v
	}
	if context == nil {
		delete(m, "@context")
	} else {
		m["@context"] = context
	}
	return m, nil
}

func forceArrays(m map[string]any) {
	for k, v := range m {
		switch x := v.(type) {
		case map[string]any:
			delete(x, "@context") // embedded objects share the outer context
			forceArrays(x)
		case []any:
			for _, e := range x {
				if em, ok := e.(map[string]any); ok {
					delete(em, "@context")
					forceArrays(em)
				}
			}
		default:
			if arrayKeys[k] {
				m[k] = []any{v}
			}
		}
	}
}

// Marshal encodes a document for the wire: no HTML escaping of <, > and &
// (content carries HTML and peers compare strings), keys sorted.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		// Every IRI passed here was built by IRIs or validated on input.
		panic(fmt.Sprintf("federation: bad IRI %q: %v", s, err))
	}
	return u
}

func idProp(iri string) vocab.JSONLDIdProperty {
	p := streams.NewJSONLDIdProperty()
	p.Set(mustURL(iri))
	return p
}

func actorProp(iri string) vocab.ActivityStreamsActorProperty {
	p := streams.NewActivityStreamsActorProperty()
	p.AppendIRI(mustURL(iri))
	return p
}

func objectIRIProp(iri string) vocab.ActivityStreamsObjectProperty {
	p := streams.NewActivityStreamsObjectProperty()
	p.AppendIRI(mustURL(iri))
	return p
}

func objectProp(t vocab.Type) vocab.ActivityStreamsObjectProperty {
	p := streams.NewActivityStreamsObjectProperty()
	if err := p.AppendType(t); err != nil {
		panic(fmt.Sprintf("federation: object of type %s: %v", t.GetTypeName(), err))
	}
	return p
}

func toProp(iris ...string) vocab.ActivityStreamsToProperty {
	p := streams.NewActivityStreamsToProperty()
	for _, i := range iris {
		p.AppendIRI(mustURL(i))
	}
	return p
}

func ccProp(iris ...string) vocab.ActivityStreamsCcProperty {
	p := streams.NewActivityStreamsCcProperty()
	for _, i := range iris {
		p.AppendIRI(mustURL(i))
	}
	return p
}

func publishedProp(t time.Time) vocab.ActivityStreamsPublishedProperty {
	p := streams.NewActivityStreamsPublishedProperty()
	p.Set(t.UTC().Truncate(time.Second))
	return p
}

func stringProp[P interface{ SetXMLSchemaString(string) }](p P, s string) P {
	p.SetXMLSchemaString(s)
	return p
}

func contentProp(s string) vocab.ActivityStreamsContentProperty {
	p := streams.NewActivityStreamsContentProperty()
	p.AppendXMLSchemaString(s)
	return p
}

func nameProp(s string) vocab.ActivityStreamsNameProperty {
	p := streams.NewActivityStreamsNameProperty()
	p.AppendXMLSchemaString(s)
	return p
}

func summaryProp(s string) vocab.ActivityStreamsSummaryProperty {
	p := streams.NewActivityStreamsSummaryProperty()
	p.AppendXMLSchemaString(s)
	return p
}

func urlProp(s string) vocab.ActivityStreamsUrlProperty {
	p := streams.NewActivityStreamsUrlProperty()
	p.AppendIRI(mustURL(s))
	return p
}

func iriProp[P interface{ SetIRI(*url.URL) }](p P, s string) P {
	p.SetIRI(mustURL(s))
	return p
}

func totalItemsProp(n int64) vocab.ActivityStreamsTotalItemsProperty {
	p := streams.NewActivityStreamsTotalItemsProperty()
	p.Set(int(n))
	return p
}
