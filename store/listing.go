package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/coopfed/coopfed"
)

const listingColumns = `l.id, l.iri, COALESCE(l.coop_id, 0), l.actor_iri, l.kind, l.title, l.description, l.category, l.conforms_to,
	l.quantity_value, l.quantity_unit, l.available_value, l.available_unit, l.minimum_value, l.minimum_unit, l.unit_based,
	l.reciprocal_kind, l.reciprocal_amount, l.reciprocal_currency, l.reciprocal_resource,
	l.place_name, l.lat, l.lon, l.valid_until, l.state, l.published, l.updated, l.deleted, l.payment_links`

// reciprocalResource is the JSON kept for a reciprocal of kind resource.
type reciprocalResource struct {
	ConformsTo string  `json:"conforms_to"`
	Name       string  `json:"name,omitempty"`
	Value      float64 `json:"value"`
	Unit       string  `json:"unit"`
}

func scanListing(row interface{ Scan(...any) error }) (*coopfed.Listing, error) {
	var l coopfed.Listing
	var availV, minV, lat, lon sql.NullFloat64
	var availU, minU sql.NullString
	var recKind, recAmount, recCurrency, recResource string
	var placeName, links string
	var validUntil, updated sql.NullInt64
	var published int64
	err := row.Scan(&l.ID, &l.IRI, &l.CoopID, &l.ActorIRI, &l.Kind, &l.Title, &l.Description, &l.Category, &l.ConformsTo,
		&l.Quantity.Value, &l.Quantity.Unit, &availV, &availU, &minV, &minU, &l.UnitBased,
		&recKind, &recAmount, &recCurrency, &recResource,
		&placeName, &lat, &lon, &validUntil, &l.State, &published, &updated, &l.Deleted, &links)
	if err != nil {
		return nil, err
	}
	if links != "" {
		if err := json.Unmarshal([]byte(links), &l.PaymentLinks); err != nil {
			return nil, fmt.Errorf("store: listing %s: payment links: %w", l.IRI, err)
		}
	}
	if availV.Valid {
		l.Available = &coopfed.Quantity{Value: availV.Float64, Unit: availU.String}
	}
	if minV.Valid {
		l.Minimum = &coopfed.Quantity{Value: minV.Float64, Unit: minU.String}
	}
	switch recKind {
	case coopfed.ReciprocalPrice, coopfed.ReciprocalCredits:
		l.Reciprocal = &coopfed.Reciprocal{Kind: recKind, Price: coopfed.Price{Amount: recAmount, Currency: recCurrency}}
	case coopfed.ReciprocalResource:
		var r reciprocalResource
		if err := json.Unmarshal([]byte(recResource), &r); err != nil {
			return nil, fmt.Errorf("store: listing %s: reciprocal: %w", l.IRI, err)
		}
		l.Reciprocal = &coopfed.Reciprocal{Kind: recKind, ConformsTo: r.ConformsTo, Name: r.Name, Quantity: coopfed.Quantity{Value: r.Value, Unit: r.Unit}}
	}
	if placeName != "" || lat.Valid {
		l.Place = &coopfed.Place{Name: placeName}
		if lat.Valid && lon.Valid {
			la, lo := lat.Float64, lon.Float64
			l.Place.Latitude, l.Place.Longitude = &la, &lo
		}
	}
	if validUntil.Valid {
		t := fromMS(validUntil.Int64)
		l.ValidUntil = &t
	}
	l.Published, l.Updated = fromMS(published), fromNullMS(updated)
	return &l, nil
}

// listingArgs returns the column values of a listing, in the order of
// listingWriteColumns.
func listingArgs(l *coopfed.Listing) ([]any, error) {
	var coop, availV, availU, minV, minU, lat, lon, band, validUntil, updated any
	if l.CoopID != 0 {
		coop = l.CoopID
	}
	if l.Available != nil {
		availV, availU = l.Available.Value, l.Available.Unit
	}
	if l.Minimum != nil {
		minV, minU = l.Minimum.Value, l.Minimum.Unit
	}
	recKind, recAmount, recCurrency, recResource := "", "", "", ""
	if r := l.Reciprocal; r != nil {
		recKind = r.Kind
		switch r.Kind {
		case coopfed.ReciprocalPrice, coopfed.ReciprocalCredits:
			recAmount, recCurrency = r.Price.Amount, r.Price.Currency
		case coopfed.ReciprocalResource:
			b, err := json.Marshal(reciprocalResource{ConformsTo: r.ConformsTo, Name: r.Name, Value: r.Quantity.Value, Unit: r.Quantity.Unit})
			if err != nil {
				return nil, err
			}
			recResource = string(b)
		}
	}
	placeName := ""
	if p := l.Place; p != nil {
		placeName = p.Name
		if p.HasCoordinates() {
			lat, lon, band = *p.Latitude, *p.Longitude, LatBand(*p.Latitude)
		}
	}
	if l.ValidUntil != nil {
		validUntil = ms(*l.ValidUntil)
	}
	if l.Updated != nil {
		updated = ms(*l.Updated)
	}
	links := ""
	if len(l.PaymentLinks) > 0 {
		b, err := json.Marshal(l.PaymentLinks)
		if err != nil {
			return nil, err
		}
		links = string(b)
	}
	return []any{l.IRI, coop, l.ActorIRI, l.Kind, l.Title, l.Description, l.Category, l.ConformsTo,
		l.Quantity.Value, l.Quantity.Unit, availV, availU, minV, minU, l.UnitBased,
		recKind, recAmount, recCurrency, recResource,
		placeName, lat, lon, band, validUntil, l.State, ms(l.Published), updated, l.Deleted, links}, nil
}

const listingWriteColumns = `iri, coop_id, actor_iri, kind, title, description, category, conforms_to,
	quantity_value, quantity_unit, available_value, available_unit, minimum_value, minimum_unit, unit_based,
	reciprocal_kind, reciprocal_amount, reciprocal_currency, reciprocal_resource,
	place_name, lat, lon, lat_band, valid_until, state, published, updated, deleted, payment_links`

// ListingColumns returns the columns of SQLInsertListing, in the order of
// ListingArgs (for bulk loaders that COPY rows into PostgreSQL).
func ListingColumns() []string {
	var out []string
	for _, c := range strings.Split(listingWriteColumns, ",") {
		out = append(out, strings.TrimSpace(c))
	}
	return out
}

// SQLInsertListing is the statement that stores one listing; its
// arguments are those of ListingArgs. Bulk loaders (the synthetic market
// of the benchmarks) prepare it once.
const SQLInsertListing = `INSERT INTO listings (` + listingWriteColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// ListingArgs returns the arguments of SQLInsertListing for l.
func ListingArgs(l *coopfed.Listing) ([]any, error) { return listingArgs(l) }

// LatBand returns the 0.1 degree latitude band of the geo index.
func LatBand(lat float64) int64 { return int64(math.Floor(lat * 10)) }

// InsertListing stores a new listing, local or remote.
func (tx *Tx) InsertListing(l *coopfed.Listing) error {
	if l.Published.IsZero() {
		l.Published = tx.now
	}
	args, err := listingArgs(l)
	if err != nil {
		return err
	}
	if l.ID, _, err = tx.insertID(SQLInsertListing, args...); err != nil {
		return fmt.Errorf("store: insert listing: %w", err)
	}
	return nil
}

// UpdateListing rewrites every field of a stored listing (found by its
// IRI, which never changes).
func (tx *Tx) UpdateListing(l *coopfed.Listing) error {
	args, err := listingArgs(l)
	if err != nil {
		return err
	}
	cols := strings.Split(listingWriteColumns, ",")
	sets := make([]string, 0, len(cols)-1)
	for _, c := range cols[1:] {
		sets = append(sets, strings.TrimSpace(c)+" = ?")
	}
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE listings SET `+strings.Join(sets, ", ")+` WHERE iri = ?`, append(args[1:], l.IRI)...)
	return affected(res, err, "listing")
}

// PutRemoteListing stores a listing a followed actor published, or
// refreshes the stored copy. It never touches a local listing nor another
// actor's, and replaces a copy only with a strictly newer `updated`
// (deliveries may arrive out of order; an equal one is the same version
// again, or an older one within the same millisecond). It reports whether
// it wrote.
func (tx *Tx) PutRemoteListing(l *coopfed.Listing) (bool, error) {
	if l.CoopID != 0 {
		return false, fmt.Errorf("store: put remote listing: %s is local", l.IRI)
	}
	args, err := listingArgs(l)
	if err != nil {
		return false, err
	}
	cols := strings.Split(listingWriteColumns, ",")
	sets := make([]string, 0, len(cols))
	for _, c := range cols[3:] { // iri, coop_id and actor_iri never change
		c = strings.TrimSpace(c)
		if c == "published" {
			continue
		}
		sets = append(sets, c+" = excluded."+c)
	}
	q := SQLInsertListing + ` ON CONFLICT(iri) DO UPDATE SET ` + strings.Join(sets, ", ") + `
		WHERE listings.coop_id IS NULL AND listings.actor_iri = excluded.actor_iri
		  AND (listings.updated IS NULL OR excluded.updated IS NULL OR excluded.updated > listings.updated)`
	res, err := tx.tx.ExecContext(tx.ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("store: put remote listing: %w", err)
	}
	n, _ := res.RowsAffected()
	if n > 0 && l.ID == 0 {
		tx.tx.QueryRowContext(tx.ctx, `SELECT id FROM listings WHERE iri = ?`, l.IRI).Scan(&l.ID)
	}
	return n > 0, nil
}

// ListingByIRI returns a listing, tombstones included, or ENOTFOUND.
func (s *Store) ListingByIRI(ctx context.Context, iri string) (*coopfed.Listing, error) {
	return listingByIRI(ctx, s.read, iri)
}

// ListingByIRI returns a listing inside the transaction.
func (tx *Tx) ListingByIRI(iri string) (*coopfed.Listing, error) {
	return listingByIRI(tx.ctx, tx.tx, iri)
}

func listingByIRI(ctx context.Context, q querier, iri string) (*coopfed.Listing, error) {
	l, err := scanListing(q.QueryRowContext(ctx, `SELECT `+listingColumns+` FROM listings l WHERE l.iri = ?`, iri))
	if err != nil {
		return nil, notFound("listing", err)
	}
	return l, nil
}

// TombstoneListing deletes a local listing: its text goes, its row stays so
// the IRI answers 410, and its activities leave the outbox.
func (tx *Tx) TombstoneListing(iri string) error {
	res, err := tx.tx.ExecContext(tx.ctx, `UPDATE listings SET deleted = 1, state = 'closed', title = '', description = '', category = '',
		conforms_to = '', reciprocal_kind = '', reciprocal_amount = '', reciprocal_currency = '', reciprocal_resource = '',
		place_name = '', lat = NULL, lon = NULL, lat_band = NULL, payment_links = '', updated = ?
		WHERE iri = ? AND coop_id IS NOT NULL AND deleted = 0`, ms(tx.now), iri)
	if err := affected(res, err, "listing"); err != nil {
		return err
	}
	_, err = tx.tx.ExecContext(tx.ctx, `UPDATE activities SET public = 0 WHERE object_iri = ?`, iri)
	return err
}

// DeleteRemoteListing removes a remote listing its actor deleted.
func (tx *Tx) DeleteRemoteListing(iri, actorIRI string) (int64, error) {
	res, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM listings WHERE iri = ? AND actor_iri = ? AND coop_id IS NULL`, iri, actorIRI)
	if err != nil {
		return 0, fmt.Errorf("store: delete listing: %w", err)
	}
	return res.RowsAffected()
}

// DeleteActorListings removes every remote listing of an actor: the actor
// was deleted, or no local coop follows it any more.
func (tx *Tx) DeleteActorListings(actorIRI string) (int64, error) {
	res, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM listings WHERE actor_iri = ? AND coop_id IS NULL`, actorIRI)
	if err != nil {
		return 0, fmt.Errorf("store: delete actor listings: %w", err)
	}
	return res.RowsAffected()
}

// ExpiredListings returns local open listings whose end has passed by now,
// oldest end first.
func (tx *Tx) ExpiredListings(now time.Time, limit int) ([]*coopfed.Listing, error) {
	return queryListings(tx.ctx, tx.tx, `SELECT `+listingColumns+` FROM listings l
		WHERE l.state = 'open' AND l.deleted = 0 AND l.valid_until IS NOT NULL AND l.valid_until <= ? AND l.coop_id IS NOT NULL
		ORDER BY l.valid_until LIMIT ?`, ms(now), limit)
}

// CoopListings lists a coop's own listings, newest first, tombstones left
// out; state "" means open and closed.
func (s *Store) CoopListings(ctx context.Context, coopID int64, state string, limit, offset int) ([]*coopfed.Listing, error) {
	return queryListings(ctx, s.read, `SELECT `+listingColumns+` FROM listings l
		WHERE l.coop_id = ? AND l.deleted = 0 AND (? = '' OR l.state = ?) ORDER BY l.published DESC, l.id DESC LIMIT ? OFFSET ?`,
		coopID, state, state, limit, offset)
}

func queryListings(ctx context.Context, q querier, query string, args ...any) ([]*coopfed.Listing, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: listings: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Listing
	for rows.Next() {
		l, err := scanListing(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// Market search sort orders.
const (
	SortRecent    = "recent"
	SortDistance  = "distance"
	SortRelevance = "relevance"
)

// MaxGeoCandidates bounds how many listings inside a search's bounding box
// are measured; a denser area returns the first ones the index yields.
const MaxGeoCandidates = 20000

// RelevanceWindow is how many of the newest full-text matches a search
// sorted by relevance ranks.
const RelevanceWindow = 400

// MarketQuery selects open listings of the market.
type MarketQuery struct {
	Text     string // words to find in title, description or category
	Kind     string // offer, need or "" for both
	Category string
	ActorIRI string // one coop's listings
	// Group keeps the listings that came through one group or relay (or,
	// for local ones, were addressed to it).
	Group string
	// Near and RadiusKm keep the listings with coordinates within
	// RadiusKm of Near (a latitude and a longitude).
	Near     *[2]float64
	RadiusKm float64
	Sort     string
	Limit    int
	Offset   int
	Now      time.Time
}

// MarketHit is one search result: a listing and, when the query was near
// a point, its distance from it.
type MarketHit struct {
	*coopfed.Listing
	DistanceKm *float64
}

// FTSQuery turns words typed by a person into an FTS5 query: each word
// quoted, so no character can be read as FTS5 syntax, joined by AND, or by
// OR when or is set. It returns "" when there is no word.
func FTSQuery(text string, or bool, maxWords int) string {
	words := strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) > maxWords {
		words = words[:maxWords]
	}
	for i, w := range words {
		words[i] = `"` + strings.ToLower(w) + `"`
	}
	if or {
		return strings.Join(words, " OR ")
	}
	return strings.Join(words, " ")
}

// pgListingVector is the text a listing is found by on PostgreSQL: the
// generated column of the GIN index listings_text (migrations/postgres).
const pgListingVector = `text_vector`

// pgTSQuery turns FTSQuery's FTS5 form ("a" "b", "a" OR "b") into a
// tsquery ('a' & 'b', 'a' | 'b'). FTSQuery keeps letters and digits only,
// so the words need no escaping (coopfed_tsquery unaccents them as the
// index is).
func pgTSQuery(fts string) string {
	or := strings.Contains(fts, `" OR "`)
	words := strings.FieldsFunc(fts, func(r rune) bool { return r == '"' || r == ' ' })
	out := words[:0]
	for _, w := range words {
		if w != "OR" {
			out = append(out, "'"+w+"'")
		}
	}
	if or {
		return strings.Join(out, " | ")
	}
	return strings.Join(out, " & ")
}

// textMatch returns the FROM clause, the rank expression (smaller is more
// relevant) and the WHERE terms of a full-text search, whose query is the
// first argument.
func (s *Store) textMatch(where []string) (from, rank string, _ []string) {
	if s.pg {
		return `listings l CROSS JOIN coopfed_tsquery(?) AS tq`, `-ts_rank(` + pgListingVectorOf("l") + `, tq)`,
			append([]string{pgListingVectorOf("l") + ` @@ tq`}, where...)
	}
	return `listings_fts JOIN listings l ON l.id = listings_fts.rowid`, `listings_fts.rank`, append([]string{`listings_fts MATCH ?`}, where...)
}

// pgListingVectorOf is pgListingVector on the listings row of alias a.
func pgListingVectorOf(a string) string { return a + `.` + pgListingVector }

// SearchListings searches the market: open listings not past their end,
// filtered, sorted and paged as q says.
func (s *Store) SearchListings(ctx context.Context, q MarketQuery) ([]MarketHit, error) {
	if q.Limit <= 0 || q.Limit > 100 {
		q.Limit = 20
	}
	if q.Now.IsZero() {
		q.Now = s.now()
	}
	fts := ""
	if q.Text != "" {
		if fts = FTSQuery(q.Text, false, 10); fts == "" {
			return nil, coopfed.FieldErrors(map[string]string{"q": "give at least one word"})
		}
	}
	where := []string{`l.state = 'open'`, `l.deleted = 0`, `(l.valid_until IS NULL OR l.valid_until > ?)`}
	args := []any{ms(q.Now)}
	if q.Kind != "" {
		where, args = append(where, `l.kind = ?`), append(args, q.Kind)
	}
	if q.Category != "" {
		where, args = append(where, `l.category = ?`), append(args, q.Category)
	}
	if q.ActorIRI != "" {
		where, args = append(where, `l.actor_iri = ?`), append(args, q.ActorIRI)
	}
	if q.Group != "" {
		where, args = append(where, `EXISTS (SELECT 1 FROM listing_groups lg WHERE lg.listing_id = l.id AND lg.group_iri = ?)`), append(args, q.Group)
	}
	if q.Near != nil {
		return s.searchNear(ctx, q, fts, where, args)
	}
	if s.pg && fts != "" {
		fts = pgTSQuery(fts)
	}
	if fts != "" && q.Sort == SortRelevance {
		// Relevance ranks the RelevanceWindow matches that most recently
		// entered the market, not every match: bm25 costs a few
		// microseconds per match, and a common word has tens of thousands
		// at a million listings. FTS5 walks the newest rowids first and
		// ranks only those. Only when the filters leave too few is every
		// match ranked.
		window := `(SELECT rowid AS rid, rank AS r FROM listings_fts WHERE listings_fts MATCH ? ORDER BY rowid DESC LIMIT ?) AS m`
		if s.pg {
			window = `(SELECT id AS rid, -ts_rank(` + pgListingVector + `, tq) AS r FROM listings, coopfed_tsquery(?) AS tq
				WHERE ` + pgListingVector + ` @@ tq ORDER BY id DESC LIMIT ?) AS m`
		}
		hits, err := s.searchRows(ctx, window+` JOIN listings l ON l.id = m.rid`, `m.r, l.id DESC`, append([]any{fts, RelevanceWindow}, args...), where, q)
		if err != nil || len(hits) == q.Limit {
			return hits, err
		}
	}
	from, order := `listings l`, `l.published DESC, l.id DESC`
	if fts != "" {
		var rank string
		from, rank, where = s.textMatch(where)
		args = append([]any{fts}, args...)
		if q.Sort == SortRelevance {
			order = rank + `, l.id DESC`
		}
	}
	return s.searchRows(ctx, from, order, args, where, q)
}

func (s *Store) searchRows(ctx context.Context, from, order string, args []any, where []string, q MarketQuery) ([]MarketHit, error) {
	query := `SELECT ` + listingColumns + ` FROM ` + from + ` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY ` + order + ` LIMIT ? OFFSET ?`
	list, err := queryListings(ctx, s.read, query, append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, err
	}
	hits := make([]MarketHit, len(list))
	for i, l := range list {
		hits[i] = MarketHit{Listing: l}
	}
	return hits, nil
}

// geoCandidate is a listing inside a search's bounding box, before the
// page is chosen.
type geoCandidate struct {
	id        int64
	dist      float64
	published int64
	rank      float64
}

// searchNear runs a search around a point in two steps: the cheap columns
// of the listings in the bounding box (from the covering geo index), exact
// distances and sorting in Go; then the full rows of the one page. Sorted
// by distance, it looks in a small circle first and widens it (doubling
// the radius) until the page is full: everything within the circle has
// been measured, so the nearest found are the nearest there are.
func (s *Store) searchNear(ctx context.Context, q MarketQuery, fts string, where []string, args []any) ([]MarketHit, error) {
	need := q.Offset + q.Limit
	radius := q.RadiusKm
	if q.Sort == SortDistance {
		radius = max(min(q.RadiusKm, 2), q.RadiusKm/16)
	}
	var cands []geoCandidate
	for {
		var err error
		if cands, err = s.geoCandidates(ctx, q, radius, fts, where, args); err != nil {
			return nil, err
		}
		if radius >= q.RadiusKm || len(cands) >= need || len(cands) >= MaxGeoCandidates {
			break
		}
		radius = min(q.RadiusKm, radius*2)
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		switch {
		case q.Sort == SortDistance && a.dist != b.dist:
			return a.dist < b.dist
		case q.Sort == SortRelevance && a.rank != b.rank:
			return a.rank < b.rank
		case q.Sort != SortDistance && a.published != b.published:
			return a.published > b.published
		}
		return a.id > b.id
	})
	if q.Offset >= len(cands) {
		return nil, nil
	}
	cands = cands[q.Offset:min(len(cands), need)]
	ids := make([]string, len(cands))
	for i, c := range cands {
		ids[i] = fmt.Sprint(c.id)
	}
	list, err := queryListings(ctx, s.read, `SELECT `+listingColumns+` FROM listings l WHERE l.id IN (`+strings.Join(ids, ",")+`)`)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*coopfed.Listing, len(list))
	for _, l := range list {
		byID[l.ID] = l
	}
	hits := make([]MarketHit, 0, len(cands))
	for _, c := range cands {
		if l := byID[c.id]; l != nil {
			d := c.dist
			hits = append(hits, MarketHit{Listing: l, DistanceKm: &d})
		}
	}
	return hits, nil
}

// geoCandidates returns the listings within radiusKm of q.Near that pass
// the other filters.
func (s *Store) geoCandidates(ctx context.Context, q MarketQuery, radiusKm float64, fts string, where []string, args []any) ([]geoCandidate, error) {
	lat, lon := q.Near[0], q.Near[1]
	minLat, maxLat, minLon, maxLon := coopfed.BoundingBox(lat, lon, radiusKm)
	bands := make([]string, 0, 64)
	for b := LatBand(minLat); b <= LatBand(maxLat); b++ {
		bands = append(bands, fmt.Sprint(b))
	}
	where = append(where, `l.lat IS NOT NULL`, `l.lat_band IN (`+strings.Join(bands, ",")+`)`,
		`l.lat BETWEEN ? AND ?`, `l.lon BETWEEN ? AND ?`)
	args = append(args, minLat, maxLat, minLon, maxLon)
	// SQLite's planner, left alone, prefers the kind or category index to
	// the geo one; PostgreSQL's weighs the box itself.
	from, rank := `listings l INDEXED BY listings_geo`, `0`
	if s.pg {
		from = `listings l`
	}
	if fts != "" {
		from, rank, where = s.textMatch(where)
		args = append([]any{fts}, args...)
	}
	query := `SELECT l.id, l.lat, l.lon, l.published, ` + rank + ` FROM ` + from + ` WHERE ` + strings.Join(where, " AND ") + ` LIMIT ?`
	rows, err := s.read.QueryContext(ctx, query, append(args, MaxGeoCandidates)...)
	if err != nil {
		return nil, fmt.Errorf("store: search near: %w", err)
	}
	defer rows.Close()
	var cands []geoCandidate
	for rows.Next() {
		var c geoCandidate
		var la, lo float64
		if err := rows.Scan(&c.id, &la, &lo, &c.published, &c.rank); err != nil {
			return nil, err
		}
		if c.dist = coopfed.DistanceKm(lat, lon, la, lo); c.dist <= radiusKm {
			cands = append(cands, c)
		}
	}
	return cands, rows.Err()
}

// MaxMatchCandidates bounds how many listings one new listing is compared
// with: the newest that pass the prefilter.
const MaxMatchCandidates = 200

// maxTextCandidates bounds the full-text prefilter of matching: the newest
// listings (by arrival) that share a word.
const maxTextCandidates = 2000

// MatchCandidates returns the open listings of the other kind that may fit
// l, newest first: same category, same resource type or a shared word
// (full-text), the unit l's rule needs, and inside the bounding box of
// radiusKm when both have coordinates. Each way of being about the same
// thing is one query that walks its own index newest first and stops at
// MaxMatchCandidates. The exact rule (coopfed.MatchNeedOffer) is the
// caller's to apply.
func (tx *Tx) MatchCandidates(l *coopfed.Listing, now time.Time, radiusKm float64) ([]*coopfed.Listing, error) {
	other, words := coopfed.ListingOffer, coopfed.MatchWords(l.Title)
	if l.Kind == coopfed.ListingOffer {
		other = coopfed.ListingNeed
		// A need matches when one of its words is in the offer's text, so
		// every word of the offer may find one.
		words = coopfed.MatchWords(l.Title + " " + l.Description + " " + l.Category)
	}
	where := `l.kind = ? AND l.state = 'open' AND l.deleted = 0 AND (l.valid_until IS NULL OR l.valid_until > ?) AND l.actor_iri <> ?`
	args := []any{other, ms(now), l.ActorIRI}
	if other == coopfed.ListingOffer {
		where += ` AND COALESCE(l.available_unit, l.quantity_unit) = ?`
		args = append(args, l.Quantity.Unit)
	} else {
		where += ` AND l.quantity_unit = ?`
		args = append(args, l.Amount().Unit)
	}
	if l.Place.HasCoordinates() {
		minLat, maxLat, minLon, maxLon := coopfed.BoundingBox(*l.Place.Latitude, *l.Place.Longitude, radiusKm)
		where += ` AND (l.lat IS NULL OR (l.lat BETWEEN ? AND ? AND l.lon BETWEEN ? AND ?))`
		args = append(args, minLat, maxLat, minLon, maxLon)
	}
	type way struct {
		cond string
		args []any
	}
	var ways []way
	if l.Category != "" {
		ways = append(ways, way{`l.category = ?`, []any{l.Category}})
	}
	if l.ConformsTo != "" {
		ways = append(ways, way{`l.conforms_to = ?`, []any{l.ConformsTo}})
	}
	if len(words) > 0 {
		if len(words) > 30 {
			words = words[:30]
		}
		cond, text := `l.id IN (SELECT rowid FROM listings_fts WHERE listings_fts MATCH ? ORDER BY rowid DESC LIMIT ?)`, FTSQuery(strings.Join(words, " "), true, 30)
		if tx.s.pg {
			cond = `l.id IN (SELECT id FROM listings WHERE ` + pgListingVector + ` @@ coopfed_tsquery(?) ORDER BY id DESC LIMIT ?)`
			text = pgTSQuery(text)
		}
		ways = append(ways, way{cond, []any{text, maxTextCandidates}})
	}
	seen := map[int64]bool{}
	var out []*coopfed.Listing
	for _, w := range ways {
		list, err := queryListings(tx.ctx, tx.tx, `SELECT `+listingColumns+` FROM listings l WHERE `+w.cond+` AND `+where+` ORDER BY l.published DESC LIMIT ?`,
			append(append(append([]any{}, w.args...), args...), MaxMatchCandidates)...)
		if err != nil {
			return nil, err
		}
		for _, c := range list {
			if !seen[c.ID] {
				seen[c.ID] = true
				out = append(out, c)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Published.After(out[j].Published) })
	if len(out) > MaxMatchCandidates {
		out = out[:MaxMatchCandidates]
	}
	return out, nil
}
