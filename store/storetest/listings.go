// Package storetest builds synthetic data in a coopfed database for
// benchmarks and load tests: a market of many listings spread over Europe,
// made reproducibly from a seed.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
	_ "github.com/mattn/go-sqlite3" // the database is SQLite
)

// Categories are the categories of the synthetic market, each with the
// products its titles name.
var Categories = map[string][]string{
	"flour": {"flour", "rye flour", "spelt flour", "wheat flour", "bread flour"}, "vegetables": {"potatoes", "carrots", "cabbages", "onions", "leeks"},
	"fruit": {"apples", "pears", "plums", "cherries", "strawberries"}, "dairy": {"milk", "cheese", "butter", "yoghurt", "cream"},
	"eggs": {"eggs", "duck eggs", "quail eggs", "free range eggs", "organic eggs"}, "honey": {"honey", "honeycomb", "beeswax", "heather honey", "acacia honey"},
	"timber": {"oak planks", "pine boards", "firewood", "beams", "timber offcuts"}, "tools": {"spades", "hand tools", "drills", "saws", "ladders"},
	"bikes": {"cargo bike", "bicycle", "bike parts", "bike repair", "tandem"}, "textiles": {"wool", "linen", "cotton fabric", "yarn", "felt"},
	"seeds": {"seed potatoes", "tomato seeds", "bean seeds", "wildflower seeds", "grain seed"}, "compost": {"compost", "manure", "mulch", "leaf mould", "worm castings"},
	"transport": {"van hire", "delivery rounds", "pallet space", "cold storage", "courier"}, "services": {"bookkeeping", "web design", "legal advice", "translation", "training"},
	"kitchen": {"kitchen time", "ovens", "mixers", "crates", "jars"}, "coffee": {"green coffee", "roasted coffee", "coffee beans", "espresso", "cold brew"},
	"beer": {"ale", "lager", "cider", "hops", "malt"}, "oil": {"olive oil", "rapeseed oil", "sunflower oil", "walnut oil", "hemp oil"},
	"meat": {"lamb", "pork", "beef", "sausages", "chicken"}, "fish": {"mackerel", "trout", "mussels", "oysters", "smoked fish"},
	"herbs": {"basil", "mint", "thyme", "sage", "rosemary"}, "grain": {"oats", "barley", "buckwheat", "millet", "quinoa"},
	"furniture": {"chairs", "tables", "shelves", "benches", "cupboards"}, "energy": {"solar panels", "batteries", "heat pumps", "wood pellets", "charging"},
	"books": {"books", "zines", "posters", "printing", "binding"}, "space": {"desk space", "meeting room", "workshop", "warehouse", "market stall"},
	"care": {"childcare", "elder care", "cleaning", "laundry", "cooking"}, "repair": {"repair cafe", "sewing repairs", "shoe repair", "phone repair", "tool sharpening"},
	"plants": {"seedlings", "fruit trees", "hedging", "houseplants", "bulbs"}, "wine": {"red wine", "white wine", "rose", "sparkling wine", "vinegar"},
}

var adjectives = []string{"organic", "fresh", "local", "surplus", "seasonal", "used", "refurbished", "bulk", "handmade", "fair trade",
	"heritage", "dried", "frozen", "smoked", "spare", "second hand", "wholesale", "small batch", "certified", "wild"}

// Cities are the centres listings cluster around, as latitude, longitude.
var Cities = [][2]float64{
	{53.8008, -1.5491}, {53.4808, -2.2426}, {51.5074, -0.1278}, {55.9533, -3.1883}, {52.4862, -1.8904}, {51.4545, -2.5879},
	{48.8566, 2.3522}, {45.7640, 4.8357}, {43.2965, 5.3698}, {52.5200, 13.4050}, {48.1351, 11.5820}, {50.9375, 6.9603},
	{52.3676, 4.9041}, {50.8503, 4.3517}, {40.4168, -3.7038}, {41.3874, 2.1686}, {38.7223, -9.1393}, {41.9028, 12.4964},
	{45.4642, 9.1900}, {48.2082, 16.3738}, {50.0755, 14.4378}, {52.2297, 21.0122}, {47.4979, 19.0402}, {59.3293, 18.0686},
	{55.6761, 12.5683}, {59.9139, 10.7522}, {60.1699, 24.9384}, {53.3498, -6.2603}, {47.3769, 8.5417}, {44.4268, 26.1025},
}

var units = []string{"kilogram", "kilogram", "kilogram", "litre", "one", "one", "hour"}

// Config shapes a synthetic market.
type Config struct {
	N      int    // listings
	Seed   uint64 // same seed, same market
	CoopID int64  // the local coop that owns a tenth of the listings
	// BaseURL is the instance whose coop CoopID is; remote listings get
	// other hosts.
	BaseURL string
	Now     time.Time
	// Groups, when set, are market groups the remote listings came
	// through: listing i through Groups[i % len], and every fifth through
	// the next one too (a listing reached through two groups).
	Groups []string
}

// GenerateListings fills the database behind s with cfg.N listings in one
// transaction through one prepared statement (the store's insert, with
// its full-text triggers), or on PostgreSQL with COPY. It opens its own
// connection to the database, so it needs only the store's path.
func GenerateListings(ctx context.Context, s *store.Store, cfg Config) error {
	if s.Postgres() {
		return generatePG(ctx, s, cfg)
	}
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: s.Path()}).EscapedPath()+"?_busy_timeout=10000&_txlock=immediate")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// Why: a bulk load of fresh synthetic data needs no durability until
	// its commit; a larger page cache keeps the indexes in memory.
	for _, p := range []string{`PRAGMA synchronous = OFF`, `PRAGMA cache_size = -262144`} {
		if _, err := db.ExecContext(ctx, p); err != nil {
			return err
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Why: maintaining the full-text index and eight B-trees row by row
	// costs most of a bulk load; they are dropped and built once at the
	// end, in the same transaction, from the definitions the migration
	// made.
	var defs []string
	rows, err := tx.QueryContext(ctx, `SELECT name, type, sql FROM sqlite_master WHERE tbl_name = 'listings' AND type IN ('index', 'trigger') AND sql IS NOT NULL`)
	if err != nil {
		return err
	}
	var drops []string
	for rows.Next() {
		var name, typ, def string
		if err := rows.Scan(&name, &typ, &def); err != nil {
			rows.Close()
			return err
		}
		defs = append(defs, def)
		drops = append(drops, `DROP `+strings.ToUpper(typ)+` "`+name+`"`)
	}
	rows.Close()
	for _, d := range drops {
		if _, err := tx.ExecContext(ctx, d); err != nil {
			return err
		}
	}
	stmt, err := tx.PrepareContext(ctx, store.SQLInsertListing)
	if err != nil {
		return err
	}
	defer stmt.Close()
	via, err := tx.PrepareContext(ctx, `INSERT INTO listing_groups (listing_id, group_iri, announce_iri, added_at) VALUES (?, ?, '', ?)`)
	if err != nil {
		return err
	}
	defer via.Close()
	g := NewGenerator(cfg)
	for i := 0; i < cfg.N; i++ {
		l := g.Listing(i)
		args, err := store.ListingArgs(l)
		if err != nil {
			return err
		}
		res, err := stmt.ExecContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("storetest: listing %d: %w", i, err)
		}
		if len(cfg.Groups) == 0 || l.CoopID != 0 {
			continue
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		groups := []string{cfg.Groups[i%len(cfg.Groups)]}
		if i%5 == 0 && len(cfg.Groups) > 1 {
			groups = append(groups, cfg.Groups[(i+1)%len(cfg.Groups)])
		}
		for _, gr := range groups {
			if _, err := via.ExecContext(ctx, id, gr, cfg.Now.UnixMilli()); err != nil {
				return fmt.Errorf("storetest: listing %d via %s: %w", i, gr, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO listings_fts(listings_fts) VALUES ('rebuild')`); err != nil {
		return err
	}
	for _, d := range defs {
		if _, err := tx.ExecContext(ctx, d); err != nil {
			return fmt.Errorf("storetest: recreate: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, `ANALYZE`)
	return err
}

// Generator makes synthetic listings, reproducibly.
type Generator struct {
	cfg   Config
	rng   *rand.Rand
	cats  []string
	vocab []string
	zipf  *rand.Zipf
}

// NewGenerator returns a generator for cfg.
func NewGenerator(cfg Config) *Generator {
	if cfg.Now.IsZero() {
		cfg.Now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://coop.example"
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x636f6f70666564))
	g := &Generator{cfg: cfg, rng: rng, zipf: rand.NewZipf(rng, 1.1, 2, 4999)}
	for c := range Categories {
		g.cats = append(g.cats, c)
	}
	// Map iteration order is random; sort for reproducibility.
	slices.Sort(g.cats)
	// A vocabulary of 5000 made-up words for descriptions, drawn with a
	// Zipf law as natural text is.
	for i := range 5000 {
		g.vocab = append(g.vocab, word(i))
	}
	return g
}

func word(i int) string {
	const letters = "bcdfghjklmnprstvwz"
	const vowels = "aeiou"
	var b strings.Builder
	for n := i + 1; n > 0; n /= 90 {
		b.WriteByte(letters[n%18])
		b.WriteByte(vowels[(n/18)%5])
	}
	return b.String() + "n"
}

// Category returns the i-th category of the market (in name order).
func (g *Generator) Category(i int) string { return g.cats[i%len(g.cats)] }

// Listing returns listing number i.
func (g *Generator) Listing(i int) *coopfed.Listing {
	r := g.rng
	cat := g.cats[r.IntN(len(g.cats))]
	product := Categories[cat][r.IntN(5)]
	title := product
	if r.IntN(3) > 0 {
		title = adjectives[r.IntN(len(adjectives))] + " " + product
	}
	words := make([]string, 8+r.IntN(10))
	for k := range words {
		words[k] = g.vocab[g.zipf.Uint64()]
	}
	kind := coopfed.ListingOffer
	if r.IntN(10) < 3 {
		kind = coopfed.ListingNeed
	}
	unit := units[r.IntN(len(units))]
	l := &coopfed.Listing{
		Kind: kind, Title: title, Description: strings.Join(words, " ") + ".", Category: cat,
		Quantity:  coopfed.Quantity{Value: float64(1 + r.IntN(5)), Unit: unit},
		UnitBased: r.IntN(2) == 0, State: coopfed.ListingOpen,
		Published: g.cfg.Now.Add(-time.Duration(r.IntN(90*24*3600)) * time.Second),
	}
	if r.IntN(20) == 0 {
		l.State = coopfed.ListingClosed
	}
	if kind == coopfed.ListingOffer {
		l.Available = &coopfed.Quantity{Value: float64(10 + r.IntN(500)), Unit: unit}
		l.Reciprocal = &coopfed.Reciprocal{Kind: coopfed.ReciprocalPrice, Price: coopfed.Price{Amount: fmt.Sprintf("%d.%02d", r.IntN(50), r.IntN(100)), Currency: "EUR"}}
	} else {
		l.Quantity.Value = float64(5 + r.IntN(100))
	}
	if r.IntN(2) == 0 {
		until := g.cfg.Now.Add(time.Duration(1+r.IntN(120*24)) * time.Hour)
		l.ValidUntil = &until
	}
	switch p := r.IntN(10); {
	case p < 6: // around a city
		c := Cities[r.IntN(len(Cities))]
		lat := c[0] + r.NormFloat64()*0.3
		lon := c[1] + r.NormFloat64()*0.3/math.Cos(c[0]*math.Pi/180)
		l.Place = &coopfed.Place{Name: fmt.Sprintf("near city %d", r.IntN(len(Cities))), Latitude: &lat, Longitude: &lon}
	case p < 8: // anywhere in Europe
		lat, lon := 36+r.Float64()*24, -10+r.Float64()*40
		l.Place = &coopfed.Place{Latitude: &lat, Longitude: &lon}
	}
	if i%10 == 0 {
		l.CoopID = g.cfg.CoopID
		l.ActorIRI = g.cfg.BaseURL + "/coops/gen"
		l.IRI = fmt.Sprintf("%s/listings/gen%08d", g.cfg.BaseURL, i)
	} else {
		host := fmt.Sprintf("https://peer%d.example", i%200)
		l.ActorIRI = fmt.Sprintf("%s/users/coop%d", host, i%2000)
		l.IRI = fmt.Sprintf("%s/proposals/%08d", host, i)
	}
	return l
}
