package fedtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/fedtest"
)

// marketItem is one listing as the market API returns it.
type marketItem struct {
	ID, Kind, Title, State, Headline string
	Available                        *struct {
		Value float64
		Unit  string
	}
	DistanceKm *float64 `json:"distance_km"`
	Coop       struct{ ID, Handle string }
}

func market(t *testing.T, inst *fedtest.Instance, query string) []marketItem {
	t.Helper()
	var out struct{ Items []marketItem }
	if st := inst.API(t, http.MethodGet, "/api/v1/market?"+query, nil, &out); st != http.StatusOK {
		t.Fatalf("market?%s: status %d", query, st)
	}
	return out.Items
}

func findListing(items []marketItem, iri string) *marketItem {
	for i := range items {
		if items[i].ID == iri {
			return &items[i]
		}
	}
	return nil
}

type notification struct {
	ID          int64
	Kind        string
	Need, Offer struct{ ID, Title string }
}

func notifications(t *testing.T, inst *fedtest.Instance) []notification {
	t.Helper()
	var out struct{ Items []notification }
	if st := inst.API(t, http.MethodGet, "/api/v1/coops/"+inst.Coop.Name+"/notifications", nil, &out); st != http.StatusOK {
		t.Fatalf("notifications: status %d", st)
	}
	return out.Items
}

var flourOffer = map[string]any{
	"kind": "offer", "title": "organic flour", "description": "Stone-ground wheat flour.", "category": "flour",
	"conforms_to": "https://www.wikidata.org/wiki/Q36465",
	"quantity":    map[string]any{"value": 1, "unit": "kilogram"},
	"available":   map[string]any{"value": "200", "unit": "kilogram"},
	"minimum":     map[string]any{"value": 10, "unit": "kilogram"},
	"unit_based":  true,
	"reciprocal":  map[string]any{"price": map[string]any{"amount": "1.20", "currency": "EUR"}},
	"place":       map[string]any{"name": "Leeds", "latitude": 53.8008, "longitude": -1.5491},
	"valid_until": time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339),
}

// The journey over three instances: A offers, B follows A and
// finds the offer by text and by distance; A changes the quantity and B
// sees it; C posts a need that fits and is told once; A closes the offer
// and the markets drop it; A deletes it and its IRI answers 410.
func TestMarketThreeInstances(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "mill"})
	b := fedtest.Start(t, fedtest.Options{Coop: "bakery"})
	c := fedtest.Start(t, fedtest.Options{Coop: "cafe"})
	remote := fedtest.NewRemote(t)
	alice := remote.AddActor("alice", 1) // a Mastodon account following A

	// C follows A before the offer exists (it arrives as Create); B only
	// after (it arrives by backfill from A's outbox).
	c.Follow(t, a)
	if st, body := alice.Post(a.URL+"/coops/mill/inbox", map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": alice.ID("follows"), "type": "Follow", "actor": alice.IRI, "object": a.ActorIRI(),
	}); st != http.StatusAccepted {
		t.Fatalf("alice follows: %d %s", st, body)
	}
	remote.WaitFor("Accept", 1)

	var offer struct{ ID, Headline string }
	if st := a.API(t, http.MethodPost, "/api/v1/coops/mill/listings", flourOffer, &offer); st != http.StatusCreated {
		t.Fatalf("post offer: %d", st)
	}
	if !strings.HasPrefix(offer.ID, a.URL+"/listings/") || !strings.HasPrefix(offer.Headline, "Offer: 200 kg organic flour, 1.20 EUR/kg, Leeds, until ") {
		t.Fatalf("offer = %+v", offer)
	}

	t.Run("Mastodon sees a readable Note", func(t *testing.T) {
		create := remote.WaitFor("Create", 1)[0]
		if create.SignatureErr != nil {
			t.Fatal(create.SignatureErr)
		}
		note := create.Activity["object"].(map[string]any)
		if note["type"] != "Note" || !strings.Contains(note["content"].(string), "Offer: 200 kg organic flour, 1.20 EUR/kg, Leeds") || note["purpose"] != "offer" {
			t.Fatalf("note = %v", note)
		}
	})
	t.Run("served as AS2 and as HTML", func(t *testing.T) {
		var doc map[string]any
		if st := fedtest.GetJSON(t, offer.ID, &doc); st != http.StatusOK || doc["id"] != offer.ID || doc["type"] != "Note" {
			t.Fatalf("GET as AS2: %d %v", st, doc)
		}
		req, _ := http.NewRequest(http.MethodGet, offer.ID, nil)
		req.Header.Set("Accept", "text/html")
		st, page := fedtest.Do(t, req)
		if st != http.StatusOK || !strings.Contains(page, "Offer: organic flour") || !strings.Contains(page, "1.20 EUR") || !strings.Contains(page, "<dt>Available</dt><dd>200 kg</dd>") {
			t.Fatalf("GET as HTML: %d\n%s", st, page)
		}
	})

	fedtest.Eventually(t, 10*time.Second, "C's market has A's offer (Create)", func() bool {
		return findListing(market(t, c, "q=flour"), offer.ID) != nil
	})
	b.Follow(t, a)
	fedtest.Eventually(t, 10*time.Second, "B's market has A's offer (backfill)", func() bool {
		return findListing(market(t, b, "q=flour"), offer.ID) != nil
	})

	t.Run("B finds the offer by text and by distance", func(t *testing.T) {
		for _, q := range []string{"q=organic+flour", "q=WHEAT&kind=offer", "category=flour", "coop=" + url.QueryEscape(a.Handle()),
			"near=53.79,-1.76&radius_km=25&sort=distance", "q=flour&near=53.80,-1.55&radius_km=5"} {
			it := findListing(market(t, b, q), offer.ID)
			if it == nil {
				t.Errorf("%s: offer not found", q)
				continue
			}
			if it.Coop.ID != a.ActorIRI() || it.Coop.Handle != a.Handle() || it.Available == nil || it.Available.Value != 200 {
				t.Errorf("%s: item = %+v", q, it)
			}
			if strings.Contains(q, "near=53.79") && (it.DistanceKm == nil || *it.DistanceKm < 13 || *it.DistanceKm > 15) {
				t.Errorf("%s: distance %v, want about 14 km (Bradford to Leeds)", q, it.DistanceKm)
			}
		}
		req, _ := http.NewRequest(http.MethodGet, b.URL+"/market?q=flour&near=53.79,-1.76&radius_km=25&sort=distance", nil)
		if st, page := fedtest.Do(t, req); st != http.StatusOK || !strings.Contains(page, `href="`+offer.ID+`"`) || !strings.Contains(page, "km away") {
			t.Errorf("market page: %d\n%s", st, page)
		}
		req, _ = http.NewRequest(http.MethodGet, b.URL+"/market?near=95,0", nil)
		if st, page := fedtest.Do(t, req); st != http.StatusOK || !strings.Contains(page, "near: LAT,LON") {
			t.Errorf("market page with a bad search: %d\n%s", st, page)
		}
		for _, q := range []string{"q=bicycle", "kind=need", "near=51.5,-0.12&radius_km=50", "category=dairy"} {
			if findListing(market(t, b, q), offer.ID) != nil {
				t.Errorf("%s: offer found", q)
			}
		}
	})

	var patched struct{ Available struct{ Value float64 } }
	if st := a.API(t, http.MethodPatch, "/api/v1/listings?id="+url.QueryEscape(offer.ID), map[string]any{"available": map[string]any{"value": 150, "unit": "kilogram"}}, &patched); st != http.StatusOK || patched.Available.Value != 150 {
		t.Fatalf("patch: %d %+v", st, patched)
	}
	fedtest.Eventually(t, 10*time.Second, "B sees 150 kg", func() bool {
		it := findListing(market(t, b, "category=flour"), offer.ID)
		return it != nil && it.Available != nil && it.Available.Value == 150
	})

	var need struct{ ID string }
	if st := c.API(t, http.MethodPost, "/api/v1/coops/cafe/listings", map[string]any{
		"kind": "need", "title": "Flour for our bread", "category": "baking", "quantity": map[string]any{"value": 50, "unit": "kilogram"},
		"place": map[string]any{"name": "Bradford", "latitude": 53.7960, "longitude": -1.7594},
	}, &need); st != http.StatusCreated {
		t.Fatalf("post need: %d", st)
	}
	list := notifications(t, c)
	if len(list) != 1 || list[0].Kind != "match" || list[0].Need.ID != need.ID || list[0].Offer.ID != offer.ID || list[0].Offer.Title != "organic flour" {
		t.Fatalf("C's notifications = %+v", list)
	}
	// A's later edit arrives at C and is matched again: still one.
	a.API(t, http.MethodPatch, "/api/v1/listings?id="+url.QueryEscape(offer.ID), map[string]any{"available": map[string]any{"value": 140, "unit": "kilogram"}}, nil)
	fedtest.Eventually(t, 10*time.Second, "C sees 140 kg", func() bool {
		it := findListing(market(t, c, "category=flour"), offer.ID)
		return it != nil && it.Available.Value == 140
	})
	if list := notifications(t, c); len(list) != 1 {
		t.Fatalf("C notified %d times, want once: %+v", len(list), list)
	}
	if list := notifications(t, b); len(list) != 0 {
		t.Fatalf("B has no listing of its own but was notified: %+v", list)
	}

	var closed struct{ State string }
	if st := a.API(t, http.MethodPost, "/api/v1/listings/close?id="+url.QueryEscape(offer.ID), nil, &closed); st != http.StatusOK || closed.State != "closed" {
		t.Fatalf("close: %d %+v", st, closed)
	}
	if st := a.API(t, http.MethodPost, "/api/v1/listings/close?id="+url.QueryEscape(offer.ID), nil, nil); st != http.StatusConflict {
		t.Fatalf("second close: %d, want 409", st)
	}
	for _, inst := range []*fedtest.Instance{b, c} {
		fedtest.Eventually(t, 10*time.Second, inst.Coop.Name+"'s market drops the closed offer", func() bool {
			return findListing(market(t, inst, "category=flour"), offer.ID) == nil
		})
	}

	if st := a.API(t, http.MethodDelete, "/api/v1/listings?id="+url.QueryEscape(offer.ID), nil, nil); st != http.StatusNoContent {
		t.Fatalf("delete: %d", st)
	}
	var tomb map[string]any
	if st := fedtest.GetJSON(t, offer.ID, &tomb); st != http.StatusGone || tomb["type"] != "Tombstone" {
		t.Fatalf("GET deleted: %d %v", st, tomb)
	}
	fedtest.Eventually(t, 10*time.Second, "B forgets the deleted offer", func() bool {
		return b.Counts(t)["listings"] == 0
	})
}

func TestMarketAPIRefusesBadListings(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "mill"})
	other, err := federation.NewCoop(t.Context(), inst.Store, "other", "Other coop")
	if err != nil {
		t.Fatal(err)
	}
	otherToken := inst.NewToken(t, other)
	with := func(change map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range flourOffer {
			m[k] = v
		}
		for k, v := range change {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	cases := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"no kind", with(map[string]any{"kind": nil}), 422, "kind"},
		{"no quantity", with(map[string]any{"quantity": nil}), 422, "quantity"},
		{"negative quantity", with(map[string]any{"quantity": map[string]any{"value": -1, "unit": "kilogram"}}), 422, "quantity.value"},
		{"1e308 quantity", with(map[string]any{"quantity": map[string]any{"value": 1e308, "unit": "kilogram"}}), 422, "quantity.value"},
		{"NaN quantity", with(map[string]any{"quantity": map[string]any{"value": "NaN", "unit": "kilogram"}}), 422, "quantity.value"},
		{"available in grams", with(map[string]any{"available": map[string]any{"value": 5, "unit": "gram"}}), 422, "available"},
		{"100 KB title", with(map[string]any{"title": strings.Repeat("a", 100<<10)}), 413, ""},
		{"60 KB title", with(map[string]any{"title": strings.Repeat("a", 60<<10)}), 422, "title"},
		{"long title", with(map[string]any{"title": strings.Repeat("a", 201)}), 422, "title"},
		{"no category", with(map[string]any{"category": nil}), 422, "category"},
		{"two reciprocals", with(map[string]any{"reciprocal": map[string]any{"credits": "5", "price": map[string]any{"amount": "1", "currency": "EUR"}}}), 422, "reciprocal"},
		{"unknown currency", with(map[string]any{"reciprocal": map[string]any{"price": map[string]any{"amount": "1", "currency": "XYZ"}}}), 422, "reciprocal.price.currency"},
		{"latitude 95", with(map[string]any{"place": map[string]any{"name": "x", "latitude": 95, "longitude": 0}}), 422, "place.latitude"},
		{"valid_until passed", with(map[string]any{"valid_until": "2020-01-01T00:00:00Z"}), 422, "valid_until"},
		{"valid_until not a date", with(map[string]any{"valid_until": "next week"}), 422, "valid_until"},
		{"unknown field", with(map[string]any{"colour": "blue"}), 400, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := inst.Counts(t)
			var out struct {
				Error  string
				Fields map[string]string
			}
			if st := inst.API(t, http.MethodPost, "/api/v1/coops/mill/listings", c.body, &out); st != c.status {
				t.Fatalf("status %d, want %d (%+v)", st, c.status, out)
			}
			if c.field != "" && out.Fields[c.field] == "" {
				t.Fatalf("fields %v, want a problem with %s", out.Fields, c.field)
			}
			if after := inst.Counts(t); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("refused request changed the database:\n%v\n%v", before, after)
			}
		})
	}

	var offer struct{ ID string }
	if st := inst.API(t, http.MethodPost, "/api/v1/coops/mill/listings", flourOffer, &offer); st != http.StatusCreated {
		t.Fatalf("post: %d", st)
	}
	id := url.QueryEscape(offer.ID)
	for _, c := range []struct {
		name, method, path string
		token              string
		body               any
		status             int
	}{
		{"another coop's token edits", http.MethodPatch, "/api/v1/listings?id=" + id, otherToken, map[string]any{"title": "mine"}, 403},
		{"another coop's token deletes", http.MethodDelete, "/api/v1/listings?id=" + id, otherToken, nil, 403},
		{"another coop's token closes", http.MethodPost, "/api/v1/listings/close?id=" + id, otherToken, nil, 403},
		{"no token", http.MethodPatch, "/api/v1/listings?id=" + id, "", map[string]any{"title": "x"}, 401},
		{"kind cannot change", http.MethodPatch, "/api/v1/listings?id=" + id, inst.Token, map[string]any{"kind": "need"}, 422},
		{"bad patch value", http.MethodPatch, "/api/v1/listings?id=" + id, inst.Token, map[string]any{"minimum": map[string]any{"value": 1e308, "unit": "kilogram"}}, 422},
		{"unknown listing", http.MethodPost, "/api/v1/listings/close?id=" + url.QueryEscape(inst.URL+"/listings/none"), inst.Token, nil, 404},
		{"market: bad near", http.MethodGet, "/api/v1/market?near=95,1", "", nil, 422},
		{"market: radius without near", http.MethodGet, "/api/v1/market?radius_km=5", "", nil, 422},
		{"market: distance without near", http.MethodGet, "/api/v1/market?sort=distance", "", nil, 422},
		{"market: bad kind", http.MethodGet, "/api/v1/market?kind=swap", "", nil, 422},
		{"market: limit 0", http.MethodGet, "/api/v1/market?limit=0", "", nil, 422},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := inst.Snapshot(t)
			if st := inst.APIWithToken(t, c.token, c.method, c.path, c.body, nil); st != c.status {
				t.Fatalf("status %d, want %d", st, c.status)
			}
			if after := inst.Snapshot(t); !equalSnapshots(before, after, "deliveries") {
				t.Fatalf("refused request changed the database")
			}
		})
	}
}

func equalSnapshots(a, b map[string]fedtest.TableState, skip ...string) bool {
	for name, s := range a {
		if !slices.Contains(skip, name) && b[name] != s {
			return false
		}
	}
	return len(a) == len(b)
}

// marketEnv is an instance whose coop follows two actors of one remote
// server (alice, who owns a listing in the market, and mallory) and one of
// another (eve).
type marketEnv struct {
	inst                *fedtest.Instance
	remote              *fedtest.Remote
	alice, mallory, eve *fedtest.Actor
	inbox               string
	listing             map[string]any // alice's proposal in the market
}

func newMarketEnv(t *testing.T) *marketEnv {
	t.Helper()
	inst := fedtest.Start(t, fedtest.Options{Coop: "market"})
	remote := fedtest.NewRemote(t)
	e := &marketEnv{inst: inst, remote: remote, alice: remote.AddActor("alice", 1), mallory: remote.AddActor("mallory", 2),
		eve: fedtest.NewRemote(t).AddActor("eve", 3), inbox: inst.URL + "/coops/market/inbox"}
	inst.SeedFollowing(t, []string{e.alice.IRI, e.mallory.IRI, e.eve.IRI})
	e.listing = mitraProposal(t, e.alice, "bike")
	if st, body := e.alice.Post(e.inbox, create(e.alice, e.listing)); st != http.StatusAccepted {
		t.Fatalf("seed listing: %d %s", st, body)
	}
	if findListing(market(t, inst, ""), e.listing["id"].(string)) == nil {
		t.Fatal("seed listing not in the market")
	}
	// Resolve every signer once, so refused requests change no cache.
	for _, a := range []*fedtest.Actor{e.mallory, e.eve} {
		if st, body := a.Post(e.inbox, create(a, plainNote(a, "hello"))); st != http.StatusAccepted {
			t.Fatalf("warm-up note: %d %s", st, body)
		}
	}
	return e
}

// mitraProposal is Mitra's proposal (testdata/mitra/proposal.json, a
// capture) moved to a's server: same shape, ids and author a's.
func mitraProposal(t *testing.T, a *fedtest.Actor, slug string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "mitra", "proposal.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	id := a.IRI + "/proposals/" + slug
	m["id"], m["attributedTo"] = id, a.IRI
	delete(m, "@context")
	for _, k := range []string{"publishes", "reciprocal"} {
		in := m[k].(map[string]any)
		in["id"] = id + "#" + map[string]string{"publishes": "primary", "reciprocal": "reciprocal"}[k]
	}
	return m
}

func plainNote(a *fedtest.Actor, content string) map[string]any {
	return map[string]any{
		"id": a.ID("statuses"), "type": "Note", "attributedTo": a.IRI, "content": "<p>" + content + "</p>",
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"}, "cc": []string{a.IRI + "/followers"},
		"published": time.Now().UTC().Format(time.RFC3339),
	}
}

func create(a *fedtest.Actor, obj map[string]any) map[string]any {
	return activity(a, "Create", obj)
}

func activity(a *fedtest.Actor, typ string, obj any) map[string]any {
	return map[string]any{
		"@context": []any{"https://www.w3.org/ns/activitystreams", map[string]any{"vf": "https://w3id.org/valueflows/ont/vf#", "Proposal": "vf:Proposal"}},
		"id":       a.ID(strings.ToLower(typ)), "type": typ, "actor": a.IRI, "object": obj,
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"},
	}
}

func clone(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(m)
	var out map[string]any
	json.Unmarshal(b, &out)
	return out
}

// Hostile listings (issue: an Update from an actor who does not own the
// listing, a listing claiming another host, absurd numbers, a 100 KB
// title) are refused and leave the market, and every other table, as it
// was.
func TestMarketHostileListings(t *testing.T) {
	e := newMarketEnv(t)
	own := e.listing["id"].(string)
	cases := []struct {
		name  string
		actor func() *fedtest.Actor
		body  func(t *testing.T) map[string]any
		want  int
	}{
		{"Update of alice's listing by mallory", func() *fedtest.Actor { return e.mallory }, func(t *testing.T) map[string]any {
			l := clone(t, e.listing)
			l["attributedTo"], l["name"] = e.mallory.IRI, "Mine now"
			return activity(e.mallory, "Update", l)
		}, http.StatusForbidden},
		{"Update by mallory still attributed to alice", func() *fedtest.Actor { return e.mallory }, func(t *testing.T) map[string]any {
			l := clone(t, e.listing)
			l["name"] = "Mine now"
			return activity(e.mallory, "Update", l)
		}, http.StatusForbidden},
		{"Create reusing alice's listing id by mallory", func() *fedtest.Actor { return e.mallory }, func(t *testing.T) map[string]any {
			l := clone(t, e.listing)
			l["attributedTo"] = e.mallory.IRI
			return create(e.mallory, l)
		}, http.StatusForbidden},
		{"listing claiming another host", func() *fedtest.Actor { return e.alice }, func(t *testing.T) map[string]any {
			l := mitraProposal(t, e.eve, "forged")
			l["attributedTo"] = e.alice.IRI
			return create(e.alice, l)
		}, http.StatusForbidden},
		{"listing attributed to someone else", func() *fedtest.Actor { return e.alice }, func(t *testing.T) map[string]any {
			l := mitraProposal(t, e.alice, "other-author")
			l["attributedTo"] = e.mallory.IRI
			return create(e.alice, l)
		}, http.StatusForbidden},
		{"negative quantity", func() *fedtest.Actor { return e.alice }, func(t *testing.T) map[string]any {
			l := mitraProposal(t, e.alice, "negative")
			l["publishes"].(map[string]any)["resourceQuantity"] = map[string]any{"hasUnit": "second", "hasNumericalValue": "-5"}
			return create(e.alice, l)
		}, http.StatusBadRequest},
		{"NaN quantity", func() *fedtest.Actor { return e.alice }, func(t *testing.T) map[string]any {
			l := mitraProposal(t, e.alice, "nan")
			l["publishes"].(map[string]any)["minimumQuantity"] = map[string]any{"hasUnit": "second", "hasNumericalValue": "NaN"}
			return create(e.alice, l)
		}, http.StatusBadRequest},
		{"1e308 quantity", func() *fedtest.Actor { return e.alice }, func(t *testing.T) map[string]any {
			l := mitraProposal(t, e.alice, "huge")
			l["publishes"].(map[string]any)["resourceQuantity"] = map[string]any{"hasUnit": "second", "hasNumericalValue": 1e308}
			return create(e.alice, l)
		}, http.StatusBadRequest},
		{"1e308 in an Update of the own listing", func() *fedtest.Actor { return e.alice }, func(t *testing.T) map[string]any {
			l := clone(t, e.listing)
			l["reciprocal"].(map[string]any)["resourceQuantity"] = map[string]any{"hasUnit": "one", "hasNumericalValue": "1e308"}
			return activity(e.alice, "Update", l)
		}, http.StatusBadRequest},
		{"latitude 1e308", func() *fedtest.Actor { return e.alice }, func(t *testing.T) map[string]any {
			l := mitraProposal(t, e.alice, "lat")
			l["location"] = map[string]any{"type": "Place", "latitude": 1e308, "longitude": 0}
			return create(e.alice, l)
		}, http.StatusBadRequest},
		{"100 KB title", func() *fedtest.Actor { return e.alice }, func(t *testing.T) map[string]any {
			l := mitraProposal(t, e.alice, "title")
			l["name"] = strings.Repeat("a", 100<<10)
			return create(e.alice, l)
		}, http.StatusBadRequest},
		{"Delete of alice's listing by mallory", func() *fedtest.Actor { return e.mallory }, func(t *testing.T) map[string]any {
			return activity(e.mallory, "Delete", map[string]any{"id": own, "type": "Tombstone"})
		}, http.StatusAccepted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.inst.Snapshot(t)
			st, body := c.actor().Post(e.inbox, c.body(t))
			if st != c.want {
				t.Fatalf("status %d, want %d (%s)", st, c.want, body)
			}
			skip := []string{}
			if st == http.StatusAccepted {
				skip = append(skip, "inbox_seen") // accepted and ignored: only its id is remembered
			}
			after := e.inst.Snapshot(t)
			var changed []string
			for name, s := range before {
				if !slices.Contains(skip, name) && after[name] != s {
					changed = append(changed, name)
				}
			}
			sort.Strings(changed)
			if len(changed) > 0 {
				t.Fatalf("tables changed: %v", changed)
			}
			it := findListing(market(t, e.inst, ""), own)
			if it == nil || it.Title != "Pay for subscription" {
				t.Fatalf("alice's listing = %+v", it)
			}
		})
	}
}

// A Mitra-style Proposal enters the market, its Update changes it and its
// Delete removes it; a plain Mastodon status reaches the timeline but never
// the market; an unfollow removes the actor's listings.
func TestMarketPeerListings(t *testing.T) {
	e := newMarketEnv(t)
	own := e.listing["id"].(string)
	it := findListing(market(t, e.inst, "q=subscription"), own)
	if it == nil || it.Kind != "offer" || it.Coop.ID != e.alice.IRI || it.Coop.Handle != "alice@"+e.remote.Host {
		t.Fatalf("Mitra proposal in the market: %+v", it)
	}

	note := plainNote(e.alice, `Spare #offer: 20 kg <a href="https://x.example/tags/flour" class="mention hashtag" rel="tag">#<span>flour</span></a>`)
	note["tag"] = []any{map[string]any{"type": "Hashtag", "name": "#offer"}, map[string]any{"type": "Hashtag", "name": "#flour"}}
	before := e.inst.Counts(t)
	if st, body := e.alice.Post(e.inbox, create(e.alice, note)); st != http.StatusAccepted {
		t.Fatalf("Mastodon note: %d %s", st, body)
	}
	after := e.inst.Counts(t)
	if after["listings"] != before["listings"] || after["timeline"] != before["timeline"]+1 {
		t.Fatalf("a plain note changed listings %d -> %d, timeline %d -> %d", before["listings"], after["listings"], before["timeline"], after["timeline"])
	}

	upd := clone(t, e.listing)
	upd["name"] = "Pay for a yearly subscription"
	upd["updated"] = time.Now().UTC().Format(time.RFC3339)
	if st, body := e.alice.Post(e.inbox, activity(e.alice, "Update", upd)); st != http.StatusAccepted {
		t.Fatalf("update: %d %s", st, body)
	}
	if it := findListing(market(t, e.inst, "q=yearly"), own); it == nil {
		t.Fatal("updated title not found")
	}

	// A second proposal, numbers as JSON numbers, then deleted.
	second := mitraProposal(t, e.alice, "numbers")
	second["name"] = "Bread delivery"
	second["publishes"].(map[string]any)["resourceQuantity"] = map[string]any{"hasUnit": "hour", "hasNumericalValue": 2}
	delete(second["publishes"].(map[string]any), "minimumQuantity")
	if st, body := e.alice.Post(e.inbox, create(e.alice, second)); st != http.StatusAccepted {
		t.Fatalf("second: %d %s", st, body)
	}
	if findListing(market(t, e.inst, "q=bread"), second["id"].(string)) == nil {
		t.Fatal("proposal with numeric quantities not in the market")
	}
	if st, body := e.alice.Post(e.inbox, activity(e.alice, "Delete", second["id"])); st != http.StatusAccepted {
		t.Fatalf("delete: %d %s", st, body)
	}
	if findListing(market(t, e.inst, "q=bread"), second["id"].(string)) != nil {
		t.Fatal("deleted proposal still in the market")
	}

	// A proposal from an actor nobody follows stays out.
	stranger := e.remote.AddActor("stranger", 3)
	if st, body := stranger.Post(e.inbox, create(stranger, mitraProposal(t, stranger, "spam"))); st != http.StatusAccepted {
		t.Fatalf("stranger: %d %s", st, body)
	}
	if n := len(market(t, e.inst, "coop="+url.QueryEscape(stranger.IRI))); n != 0 {
		t.Fatalf("an unfollowed actor's proposal is in the market (%d)", n)
	}

	// Unfollow: alice's listings leave the market.
	if st := e.inst.API(t, http.MethodDelete, "/api/v1/coops/market/following?actor="+url.QueryEscape(e.alice.IRI), nil, nil); st != http.StatusAccepted {
		t.Fatalf("unfollow: %d", st)
	}
	if n := len(market(t, e.inst, "coop="+url.QueryEscape(e.alice.IRI))); n != 0 {
		t.Fatalf("%d listings of an unfollowed actor remain", n)
	}
}

// When a coop's follow of a remote actor is accepted, the actor's open
// listings are read from its outbox (paged, fetched with signed GETs) and
// enter the market; closed ones and plain statuses do not.
func TestMarketBackfillFromOutbox(t *testing.T) {
	inst := fedtest.Start(t, fedtest.Options{Coop: "market"})
	remote := fedtest.NewRemote(t)
	remote.RequireSignedFetch = true
	alice := remote.AddActor("alice", 1)

	open1, open2, closed := mitraProposal(t, alice, "open1"), mitraProposal(t, alice, "open2"), mitraProposal(t, alice, "closed")
	open2["name"] = "Second open offer"
	closed["name"], closed["closed"] = "Closed offer", "2020-01-01T00:00:00Z"
	note := plainNote(alice, "just a status")
	ctx := []any{"https://www.w3.org/ns/activitystreams", map[string]any{"vf": "https://w3id.org/valueflows/ont/vf#"}}
	var items []any
	for _, obj := range []map[string]any{open1, closed, note, open2} {
		doc := clone(t, obj)
		doc["@context"] = ctx
		b, _ := json.Marshal(doc)
		remote.SetDoc(strings.TrimPrefix(obj["id"].(string), remote.URL), b)
		items = append(items, create(alice, obj))
	}
	page2, _ := json.Marshal(map[string]any{"@context": ctx, "id": alice.IRI + "/outbox/page2", "type": "OrderedCollectionPage", "orderedItems": items[2:]})
	remote.SetDoc("/users/alice/outbox/page2", page2)
	outbox, _ := json.Marshal(map[string]any{"@context": ctx, "id": alice.IRI + "/outbox", "type": "OrderedCollection", "totalItems": 4,
		"first": map[string]any{"id": alice.IRI + "/outbox/page1", "type": "OrderedCollectionPage", "orderedItems": items[:2], "next": alice.IRI + "/outbox/page2"}})
	remote.SetDoc("/users/alice/outbox", outbox)

	if st := inst.API(t, http.MethodPost, "/api/v1/coops/market/following", map[string]string{"actor": alice.IRI}, nil); st != http.StatusAccepted {
		t.Fatalf("follow: %d", st)
	}
	follow := remote.WaitFor("Follow", 1)[0]
	if st, body := alice.Post(inst.URL+"/coops/market/inbox", map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": alice.ID("accepts"), "type": "Accept", "actor": alice.IRI, "object": follow.Activity,
	}); st != http.StatusAccepted {
		t.Fatalf("accept: %d %s", st, body)
	}
	fedtest.Eventually(t, 10*time.Second, "two open listings backfilled", func() bool {
		return len(market(t, inst, "coop="+url.QueryEscape(alice.IRI))) == 2
	})
	var titles []string
	for _, it := range market(t, inst, "coop="+url.QueryEscape(alice.IRI)) {
		titles = append(titles, it.Title)
	}
	sort.Strings(titles)
	if want := []string{"Pay for subscription", "Second open offer"}; !slices.Equal(titles, want) {
		t.Fatalf("backfilled %q, want %q", titles, want)
	}
	if n := inst.Counts(t)["listings"]; n != 2 {
		t.Fatalf("%d listings stored, want 2 (the closed one stays out)", n)
	}
	if u := remote.UnsignedFetches(); len(u) > 0 {
		t.Fatalf("unsigned fetches: %v", u)
	}
}
