package federation

import (
	"fmt"
	"strconv"

	"github.com/go-fed/activity/streams"
)

// PageSize is the number of items in one collection page.
const PageSize = 40

// Collection returns an OrderedCollection that states its size and links
// its first page, as Mastodon serves followers and outboxes.
func (f *Federation) Collection(id string, total int64) (map[string]any, error) {
	c := streams.NewActivityStreamsOrderedCollection()
	c.SetJSONLDId(idProp(id))
	c.SetActivityStreamsTotalItems(totalItemsProp(total))
	first := streams.NewActivityStreamsFirstProperty()
	first.SetIRI(mustURL(pageIRI(id, 1)))
	c.SetActivityStreamsFirst(first)
	return serialize(c, ContextActivityStreams, nil)
}

// CollectionPage returns page number page (from 1) of collection id. items
// are IRIs (strings) or embedded documents (maps).
func (f *Federation) CollectionPage(id string, page int, total int64, items []any) (map[string]any, error) {
	p := streams.NewActivityStreamsOrderedCollectionPage()
	p.SetJSONLDId(idProp(pageIRI(id, page)))
	p.SetActivityStreamsTotalItems(totalItemsProp(total))
	partOf := streams.NewActivityStreamsPartOfProperty()
	partOf.SetIRI(mustURL(id))
	p.SetActivityStreamsPartOf(partOf)
	if int64(page*PageSize) < total {
		next := streams.NewActivityStreamsNextProperty()
		next.SetIRI(mustURL(pageIRI(id, page+1)))
		p.SetActivityStreamsNext(next)
	}
	if page > 1 {
		prev := streams.NewActivityStreamsPrevProperty()
		prev.SetIRI(mustURL(pageIRI(id, page-1)))
		p.SetActivityStreamsPrev(prev)
	}
	// The page embeds our activities, whose terms (sensitive, Hashtag)
	// need the object context.
	m, err := serialize(p, objectContext, nil)
	if err != nil {
		return nil, err
	}
	// orderedItems is set here rather than through go-fed: items may be
	// our stored activities, kept as JSON, and an empty page must still
	// carry an empty array.
	if items == nil {
		items = []any{}
	}
	m["orderedItems"] = items
	return m, nil
}

func pageIRI(id string, page int) string { return id + "?page=" + strconv.Itoa(page) }

// StoredDocument decodes a stored JSON document for embedding in a
// collection page, without its own @context.
func StoredDocument(raw []byte) (map[string]any, error) {
	var m map[string]any
	if err := decodeJSON(raw, &m); err != nil {
		return nil, fmt.Errorf("federation: stored document: %w", err)
	}
	delete(m, "@context")
	return m, nil
}
