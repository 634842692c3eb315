package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/coopfed/coopfed/store"
	"github.com/gorilla/mux"
)

// marketJSON is the media type of the market API's answers.
const marketJSON = "application/json; charset=utf-8"

func init() {
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		api.HandleFunc("/coops/{coop}/listings", s.apiHandler(s.apiCreateListing)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/listings", s.apiHandler(s.apiCoopListings)).Methods(http.MethodGet)
		api.HandleFunc("/listings", s.apiHandler(s.apiGetListing)).Methods(http.MethodGet)
		api.HandleFunc("/listings", s.apiHandler(s.apiPatchListing)).Methods(http.MethodPatch)
		api.HandleFunc("/listings", s.apiHandler(s.apiDeleteListing)).Methods(http.MethodDelete)
		api.HandleFunc("/listings/close", s.apiHandler(s.apiCloseListing)).Methods(http.MethodPost)
		api.HandleFunc("/market", s.apiHandler(s.apiMarket)).Methods(http.MethodGet)
		api.HandleFunc("/coops/{coop}/notifications", s.apiHandler(s.apiNotifications)).Methods(http.MethodGet)
		api.HandleFunc("/coops/{coop}/notifications/read", s.apiHandler(s.apiReadNotifications)).Methods(http.MethodPost)
		r.HandleFunc(federation.RouteListing, s.getListing).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(federation.RouteMarket, s.getMarket).Methods(http.MethodGet, http.MethodHead)
	})
}

// --- input ---

// listingInput is the JSON body of a create or a PATCH. Pointers and raw
// values tell "absent" (keep) from null (clear) in a PATCH.
type listingInput struct {
	Kind        *string         `json:"kind"`
	Title       *string         `json:"title"`
	Description *string         `json:"description"`
	Category    *string         `json:"category"`
	ConformsTo  *string         `json:"conforms_to"`
	Quantity    json.RawMessage `json:"quantity"`
	Available   json.RawMessage `json:"available"`
	Minimum     json.RawMessage `json:"minimum"`
	UnitBased   *bool           `json:"unit_based"`
	Reciprocal  json.RawMessage `json:"reciprocal"`
	Place       json.RawMessage `json:"place"`
	ValidUntil  json.RawMessage `json:"valid_until"`
	// PaymentLinks replaces the listing's FEP-0ea0 links ([] removes them).
	PaymentLinks *[]coopfed.PaymentLink `json:"payment_links"`
}

type quantityInput struct {
	Value json.RawMessage `json:"value"`
	Unit  string          `json:"unit"`
}

type reciprocalInput struct {
	Price *struct {
		Amount   json.RawMessage `json:"amount"`
		Currency string          `json:"currency"`
	} `json:"price"`
	Credits  json.RawMessage `json:"credits"`
	Resource *struct {
		ConformsTo string          `json:"conforms_to"`
		Name       string          `json:"name"`
		Quantity   json.RawMessage `json:"quantity"`
	} `json:"resource"`
}

type placeInput struct {
	Name      string   `json:"name"`
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// strict decodes a nested value refusing unknown fields, as decode does
// for the body.
func strict(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// text returns a number or numeric string as its text ("1.20" stays
// "1.20"), so that amounts are never rounded through a float.
func text(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	var s string
	if len(raw) > 0 && raw[0] == '"' {
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return strings.TrimSpace(s)
	}
	return string(raw)
}

func parseQuantity(raw json.RawMessage, field string, fields map[string]string) *coopfed.Quantity {
	var in quantityInput
	if err := strict(raw, &in); err != nil {
		fields[field] = `an object {"value": 200, "unit": "kilogram"}`
		return nil
	}
	v, err := coopfed.ParseQuantityValue(text(in.Value))
	if err != nil {
		fields[field+".value"] = coopfed.ErrorMessage(err)
		return nil
	}
	return &coopfed.Quantity{Value: v, Unit: strings.TrimSpace(in.Unit)}
}

func parseReciprocal(raw json.RawMessage, fields map[string]string) *coopfed.Reciprocal {
	var in reciprocalInput
	if err := strict(raw, &in); err != nil {
		fields["reciprocal"] = `{"price": {"amount": "1.20", "currency": "EUR"}}, {"credits": "50"}, {"resource": {...}} or null`
		return nil
	}
	n := 0
	var r *coopfed.Reciprocal
	if in.Price != nil {
		n++
		r = &coopfed.Reciprocal{Kind: coopfed.ReciprocalPrice, Price: coopfed.Price{Amount: text(in.Price.Amount), Currency: strings.ToUpper(strings.TrimSpace(in.Price.Currency))}}
	}
	if len(in.Credits) > 0 {
		n++
		r = &coopfed.Reciprocal{Kind: coopfed.ReciprocalCredits, Price: coopfed.Price{Amount: text(in.Credits)}}
	}
	if in.Resource != nil {
		n++
		r = &coopfed.Reciprocal{Kind: coopfed.ReciprocalResource, ConformsTo: strings.TrimSpace(in.Resource.ConformsTo), Name: strings.TrimSpace(in.Resource.Name)}
		if q := parseQuantity(in.Resource.Quantity, "reciprocal.resource.quantity", fields); q != nil {
			r.Quantity = *q
		} else {
			return nil
		}
	}
	if n != 1 {
		fields["reciprocal"] = "give exactly one of price, credits or resource, or null for nothing"
		return nil
	}
	return r
}

// apply copies the fields given onto l, collecting parse problems in
// fields; Validate judges the result.
func (in *listingInput) apply(l *coopfed.Listing, creating bool, fields map[string]string) {
	if in.Kind != nil {
		if !creating && *in.Kind != l.Kind {
			fields["kind"] = "an offer cannot become a need, nor the reverse: close it and post another"
		}
		l.Kind = *in.Kind
	}
	if in.Title != nil {
		l.Title = *in.Title
	}
	if in.Description != nil {
		l.Description = strings.TrimSpace(*in.Description)
	}
	if in.Category != nil {
		l.Category = *in.Category
	}
	if in.ConformsTo != nil {
		l.ConformsTo = strings.TrimSpace(*in.ConformsTo)
	}
	if len(in.Quantity) > 0 {
		if q := parseQuantity(in.Quantity, "quantity", fields); q != nil {
			l.Quantity = *q
		}
	}
	for _, opt := range []struct {
		raw   json.RawMessage
		name  string
		field **coopfed.Quantity
	}{{in.Available, "available", &l.Available}, {in.Minimum, "minimum", &l.Minimum}} {
		switch {
		case len(opt.raw) == 0:
		case isNull(opt.raw):
			*opt.field = nil
		default:
			*opt.field = parseQuantity(opt.raw, opt.name, fields)
		}
	}
	if in.UnitBased != nil {
		l.UnitBased = *in.UnitBased
	}
	switch {
	case len(in.Reciprocal) == 0:
	case isNull(in.Reciprocal):
		l.Reciprocal = nil
	default:
		l.Reciprocal = parseReciprocal(in.Reciprocal, fields)
	}
	switch {
	case len(in.Place) == 0:
	case isNull(in.Place):
		l.Place = nil
	default:
		var p placeInput
		if err := strict(in.Place, &p); err != nil {
			fields["place"] = `an object {"name": "Leeds", "latitude": 53.8, "longitude": -1.55} or null`
		} else {
			l.Place = &coopfed.Place{Name: strings.TrimSpace(p.Name), Latitude: p.Latitude, Longitude: p.Longitude}
		}
	}
	if in.PaymentLinks != nil {
		l.PaymentLinks = nil
		for _, pl := range *in.PaymentLinks {
			l.PaymentLinks = append(l.PaymentLinks, coopfed.PaymentLink{Name: strings.TrimSpace(pl.Name), Href: strings.TrimSpace(pl.Href)})
		}
	}
	switch {
	case len(in.ValidUntil) == 0:
	case isNull(in.ValidUntil):
		l.ValidUntil = nil
	default:
		var s string
		t, err := time.Time{}, json.Unmarshal(in.ValidUntil, &s)
		if err == nil {
			t, err = time.Parse(time.RFC3339, s)
		}
		if err != nil {
			fields["valid_until"] = "a date and time in RFC 3339, such as 2026-12-12T18:00:00Z"
		} else {
			t = t.UTC()
			l.ValidUntil = &t
		}
	}
}

// mergeFields adds the field errors of err (a validation error) to fields
// and returns the combined error, or err itself when it is of another kind.
func mergeFields(fields map[string]string, err error) error {
	var e *coopfed.Error
	if err != nil && (!errors.As(err, &e) || e.Code != coopfed.EINVALID) {
		return err
	}
	if e != nil {
		for k, v := range e.Fields {
			if _, ok := fields[k]; !ok {
				fields[k] = v
			}
		}
	}
	return coopfed.FieldErrors(fields)
}

// --- output ---

// listingOut is a listing as the API shows it: its coop, quantities, what
// is wanted in return and, in a search near a point, its distance.
func (s *Server) listingOut(ctx context.Context, l *coopfed.Listing, dist *float64, actors map[string]map[string]any) map[string]any {
	qty := func(q *coopfed.Quantity) any {
		if q == nil {
			return nil
		}
		return map[string]any{"value": q.Value, "unit": q.Unit}
	}
	out := map[string]any{
		"id": l.IRI, "url": l.IRI, "kind": l.Kind, "title": l.Title, "description": l.Description,
		"category": l.Category, "conforms_to": l.ConformsTo,
		"quantity": qty(&l.Quantity), "available": qty(l.Available), "minimum": qty(l.Minimum),
		"unit_based": l.UnitBased, "state": l.State, "local": l.Local(),
		"published": l.Published.UTC().Format(time.RFC3339), "headline": federation.ListingHeadline(l),
		"coop": s.actorOut(ctx, l.ActorIRI, actors), "payment_links": paymentLinksOut(l.PaymentLinks),
	}
	out["reciprocal"] = nil
	if r := l.Reciprocal; r != nil {
		switch r.Kind {
		case coopfed.ReciprocalPrice:
			out["reciprocal"] = map[string]any{"price": map[string]any{"amount": r.Price.Amount, "currency": r.Price.Currency}}
		case coopfed.ReciprocalCredits:
			out["reciprocal"] = map[string]any{"credits": r.Price.Amount}
		default:
			out["reciprocal"] = map[string]any{"resource": map[string]any{"conforms_to": r.ConformsTo, "name": r.Name, "quantity": qty(&r.Quantity)}}
		}
	}
	out["place"] = nil
	if p := l.Place; p != nil {
		out["place"] = map[string]any{"name": p.Name, "latitude": p.Latitude, "longitude": p.Longitude}
	}
	out["valid_until"] = nil
	if l.ValidUntil != nil {
		out["valid_until"] = l.ValidUntil.UTC().Format(time.RFC3339)
	}
	if l.Updated != nil {
		out["updated"] = l.Updated.UTC().Format(time.RFC3339)
	}
	if dist != nil {
		out["distance_km"] = float64(int64(*dist*10+0.5)) / 10
	}
	return out
}

// actorOut names the coop behind a listing: a local coop by name, a remote
// actor from the cache. Results are shared through actors within a request.
func (s *Server) actorOut(ctx context.Context, iri string, actors map[string]map[string]any) map[string]any {
	if a, ok := actors[iri]; ok {
		return a
	}
	out := map[string]any{"id": iri}
	if name := s.iris.CoopName(iri); name != "" && s.iris.Coop(name) == iri {
		out["handle"] = name + "@" + s.iris.Host()
		if c, err := s.store.CoopByName(ctx, name); err == nil {
			out["name"] = c.Title()
			out["payment_links"] = paymentLinksOut(c.PaymentLinks)
		}
	} else if a, err := s.store.RemoteActor(ctx, iri); err == nil {
		out["handle"] = a.Handle()
		out["name"] = a.Name
		out["url"] = a.URL
		out["payment_links"] = paymentLinksOut(a.PaymentLinks)
	}
	actors[iri] = out
	return out
}

// --- API ---

func (s *Server) apiCreateListing(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in listingInput
	if err := decode(r, &in); err != nil {
		return err
	}
	l := &coopfed.Listing{}
	fields := map[string]string{}
	in.apply(l, true, fields)
	if len(in.Quantity) == 0 {
		fields["quantity"] = `give a quantity {"value": 200, "unit": "kilogram"}`
	}
	l.CoopID, l.State = c.ID, coopfed.ListingOpen
	l.Category = coopfed.NormalizeCategory(l.Category)
	if err := mergeFields(fields, l.ValidateAt(time.Now())); err != nil {
		return err
	}
	if err := s.fed.PublishListing(r.Context(), c, l); err != nil {
		return err
	}
	w.Header().Set("Location", l.IRI)
	writeJSON(w, http.StatusCreated, marketJSON, s.listingOut(r.Context(), l, nil, map[string]map[string]any{}))
	return nil
}

// listingIRI reads the ?id= of a request about one listing.
func listingIRI(r *http.Request) (string, error) {
	iri := r.URL.Query().Get("id")
	if iri == "" {
		return "", coopfed.FieldErrors(map[string]string{"id": "the IRI of the listing is required"})
	}
	return iri, nil
}

func (s *Server) apiGetListing(w http.ResponseWriter, r *http.Request) error {
	iri, err := listingIRI(r)
	if err != nil {
		return err
	}
	l, err := s.store.ListingByIRI(r.Context(), iri)
	if err == nil && l.Deleted {
		err = coopfed.Errorf(coopfed.EGONE, "the listing was deleted")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, marketJSON, s.listingOut(r.Context(), l, nil, map[string]map[string]any{}))
	return nil
}

func (s *Server) apiPatchListing(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authCoop(r)
	if err != nil {
		return err
	}
	iri, err := listingIRI(r)
	if err != nil {
		return err
	}
	var in listingInput
	if err := decode(r, &in); err != nil {
		return err
	}
	l, err := s.fed.EditListing(r.Context(), c, iri, func(l *coopfed.Listing) error {
		fields := map[string]string{}
		in.apply(l, false, fields)
		return coopfed.FieldErrors(fields)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, marketJSON, s.listingOut(r.Context(), l, nil, map[string]map[string]any{}))
	return nil
}

func (s *Server) apiCloseListing(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authCoop(r)
	if err != nil {
		return err
	}
	iri, err := listingIRI(r)
	if err != nil {
		return err
	}
	l, err := s.fed.CloseListing(r.Context(), c, iri)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, marketJSON, s.listingOut(r.Context(), l, nil, map[string]map[string]any{}))
	return nil
}

func (s *Server) apiDeleteListing(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authCoop(r)
	if err != nil {
		return err
	}
	iri, err := listingIRI(r)
	if err != nil {
		return err
	}
	if err := s.fed.DeleteListing(r.Context(), c, iri); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiCoopListings(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	state := q.Get("state")
	fields := map[string]string{}
	if state != "" && state != coopfed.ListingOpen && state != coopfed.ListingClosed {
		fields["state"] = "open or closed"
	}
	limit, offset := pageParams(q, fields)
	if err := coopfed.FieldErrors(fields); err != nil {
		return err
	}
	list, err := s.store.CoopListings(r.Context(), c.ID, state, limit, offset)
	if err != nil {
		return err
	}
	actors := map[string]map[string]any{}
	items := make([]map[string]any, 0, len(list))
	for _, l := range list {
		items = append(items, s.listingOut(r.Context(), l, nil, actors))
	}
	writeJSON(w, http.StatusOK, marketJSON, pageJSON(items, limit, offset))
	return nil
}

// pageParams reads limit (1 to 100, default 20) and cursor (an offset of
// at most 10000) into fields' problems.
func pageParams(q url.Values, fields map[string]string) (limit, offset int) {
	limit = 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			fields["limit"] = "a number from 1 to 100"
		}
		limit = n
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 10000 {
			fields["cursor"] = "use the next_cursor of the previous page"
		}
		offset = n
	}
	return limit, offset
}

func pageJSON(items []map[string]any, limit, offset int) map[string]any {
	out := map[string]any{"items": items}
	if len(items) == limit && offset+limit <= 10000 {
		out["next_cursor"] = strconv.Itoa(offset + limit)
	}
	return out
}

// marketQuery reads the market search parameters; problems are returned
// as field errors.
func (s *Server) marketQuery(ctx context.Context, q url.Values) (store.MarketQuery, error) {
	fields := map[string]string{}
	mq := store.MarketQuery{Text: strings.TrimSpace(q.Get("q")), Kind: q.Get("kind"), Category: coopfed.NormalizeCategory(q.Get("category")), Sort: q.Get("sort")}
	if len(mq.Text) > 200 {
		fields["q"] = "at most 200 characters"
	} else if mq.Text != "" && store.FTSQuery(mq.Text, false, 10) == "" {
		fields["q"] = "give at least one word"
	}
	if mq.Kind != "" && mq.Kind != coopfed.ListingOffer && mq.Kind != coopfed.ListingNeed {
		fields["kind"] = "offer or need"
	}
	if mq.Category != "" && !coopfed.ValidCategory(mq.Category) {
		fields["category"] = "one word of letters, digits or underscores"
	}
	if v := strings.TrimSpace(q.Get("coop")); v != "" {
		iri, err := s.coopIRI(ctx, v)
		if err != nil {
			fields["coop"] = "a coop name of this instance, a handle name@host of a followed coop, or an actor IRI"
		}
		mq.ActorIRI = iri
	}
	if v := strings.TrimSpace(q.Get("group")); v != "" {
		if !coopfed.ValidActorIRI(v) {
			fields["group"] = "the IRI of a group or relay"
		}
		mq.Group = v
	}
	if v := q.Get("near"); v != "" {
		lat, lon, ok := parseNear(v)
		if !ok {
			fields["near"] = "LAT,LON in decimal degrees, such as 53.80,-1.55"
		}
		mq.Near = &[2]float64{lat, lon}
		mq.RadiusKm = 50
		if v := q.Get("radius_km"); v != "" {
			r, err := strconv.ParseFloat(v, 64)
			if err != nil || !(r > 0 && r <= 1000) {
				fields["radius_km"] = "a distance in km, above 0 and at most 1000"
			}
			mq.RadiusKm = r
		}
	} else if q.Get("radius_km") != "" {
		fields["radius_km"] = "give near=LAT,LON too"
	}
	switch mq.Sort {
	case "":
		mq.Sort = store.SortRecent
		if mq.Text != "" {
			mq.Sort = store.SortRelevance
		}
	case store.SortRecent:
	case store.SortDistance:
		if mq.Near == nil {
			fields["sort"] = "distance needs near=LAT,LON"
		}
	case store.SortRelevance:
		if mq.Text == "" {
			fields["sort"] = "relevance needs q"
		}
	default:
		fields["sort"] = "recent, distance or relevance"
	}
	mq.Limit, mq.Offset = pageParams(q, fields)
	return mq, coopfed.FieldErrors(fields)
}

func parseNear(v string) (float64, float64, bool) {
	a, b, ok := strings.Cut(v, ",")
	if !ok {
		return 0, 0, false
	}
	lat, err1 := coopfed.ParseCoordinate(a)
	lon, err2 := coopfed.ParseCoordinate(b)
	return lat, lon, err1 == nil && err2 == nil && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180
}

// coopIRI resolves the coop filter: a local coop's name, a handle of a
// known remote actor, or an actor IRI.
func (s *Server) coopIRI(ctx context.Context, v string) (string, error) {
	switch {
	case strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://"):
		return v, nil
	case strings.Contains(v, "@"):
		user, host, _ := strings.Cut(strings.TrimPrefix(v, "@"), "@")
		if host == s.iris.Host() {
			return s.coopIRI(ctx, user)
		}
		a, err := s.store.RemoteActorByHandle(ctx, user, host)
		if err != nil {
			return "", err
		}
		return a.IRI, nil
	}
	c, err := s.store.CoopByName(ctx, v)
	if err != nil {
		return "", err
	}
	return s.iris.Coop(c.Name), nil
}

// apiMarket searches the instance's market. It is public: listings are
// published to everyone.
func (s *Server) apiMarket(w http.ResponseWriter, r *http.Request) error {
	mq, err := s.marketQuery(r.Context(), r.URL.Query())
	if err != nil {
		return err
	}
	hits, err := s.searchMarket(r.Context(), mq, "api")
	if err != nil {
		return err
	}
	actors := map[string]map[string]any{}
	vias, err := s.viasOf(r.Context(), hits, actors)
	if err != nil {
		return err
	}
	items := make([]map[string]any, 0, len(hits))
	for _, h := range hits {
		out := s.listingOut(r.Context(), h.Listing, h.DistanceKm, actors)
		out["via"] = vias[h.ID]
		items = append(items, out)
	}
	writeJSON(w, http.StatusOK, marketJSON, pageJSON(items, mq.Limit, mq.Offset))
	return nil
}

// viasOf names, for each hit, the groups and relays it reached the market
// through (or, for a local listing, the groups it was addressed to), in
// one query for the page.
func (s *Server) viasOf(ctx context.Context, hits []store.MarketHit, actors map[string]map[string]any) (map[int64][]map[string]any, error) {
	ids := make([]int64, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	vias, err := s.store.ListingVias(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64][]map[string]any, len(hits))
	for _, h := range hits {
		list := []map[string]any{}
		for _, v := range vias[h.ID] {
			list = append(list, s.actorOut(ctx, v.GroupIRI, actors))
		}
		out[h.ID] = list
	}
	return out, nil
}

func (s *Server) apiNotifications(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.NotificationFilter{CoopID: c.ID, Unread: q.Get("unread") == "true", Limit: 40}
	fields := map[string]string{}
	if v := q.Get("limit"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 200 {
			fields["limit"] = "a number from 1 to 200"
		} else {
			f.Limit = n
		}
	}
	if v := q.Get("cursor"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 1 {
			fields["cursor"] = "use the next_cursor of the previous page"
		} else {
			f.Before = n
		}
	}
	if err := coopfed.FieldErrors(fields); err != nil {
		return err
	}
	list, err := s.store.Notifications(r.Context(), f)
	if err != nil {
		return err
	}
	actors := map[string]map[string]any{}
	side := func(iri string) map[string]any {
		l, err := s.store.ListingByIRI(r.Context(), iri)
		if err != nil || l.Deleted {
			return map[string]any{"id": iri, "gone": true}
		}
		return s.listingOut(r.Context(), l, nil, actors)
	}
	items := make([]map[string]any, 0, len(list))
	for _, n := range list {
		item := map[string]any{"id": n.ID, "kind": n.Kind, "created_at": n.CreatedAt.UTC().Format(time.RFC3339), "read": n.Read}
		switch n.Kind {
		case coopfed.NotifyTrade:
			item["trade"], item["listing"], item["actor"] = n.ActivityIRI, side(n.ListingIRI), n.ActorIRI
		case coopfed.NotifyFollowRequest:
			item["follow"], item["actor"] = n.ActivityIRI, n.ActorIRI
		case coopfed.NotifyGroupJoin:
			item["follow"], item["actor"], item["group"] = n.ActivityIRI, n.ActorIRI, n.ListingIRI
		case coopfed.NotifyReport:
			item["report"], item["actor"] = n.ActivityIRI, n.ActorIRI
		case coopfed.NotifyMotionReview:
			item["motion"], item["note"] = n.ActivityIRI, n.ListingIRI
		default:
			item["need"], item["offer"] = side(n.NeedIRI), side(n.OfferIRI)
		}
		items = append(items, item)
	}
	out := map[string]any{"items": items}
	if len(list) == f.Limit {
		out["next_cursor"] = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, marketJSON, out)
	return nil
}

func (s *Server) apiReadNotifications(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in struct {
		UpTo int64 `json:"up_to"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.UpTo < 0 {
		return coopfed.FieldErrors(map[string]string{"up_to": "a notification id, or 0 for all"})
	}
	var n int64
	err = s.store.Update(r.Context(), func(tx *store.Tx) error {
		var err error
		n, err = tx.MarkNotificationsRead(c.ID, in.UpTo)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, marketJSON, map[string]any{"marked": n})
	return nil
}

// --- pages ---

// getListing serves a local listing: its Note for ActivityPub clients
// (a Tombstone, 410, once deleted), a page for browsers.
func (s *Server) getListing(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	l, err := s.store.ListingByIRI(ctx, s.iris.Listing(mux.Vars(r)["id"]))
	if err == nil && !l.Local() {
		err = coopfed.Errorf(coopfed.ENOTFOUND, "listing not found")
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	if wantsActivity(r) && l.Deleted {
		body, _ := federation.Marshal(s.fed.ListingTombstone(l))
		w.Header().Set("Content-Type", activityJSON)
		w.WriteHeader(http.StatusGone)
		w.Write(body)
		return
	}
	if l.Deleted {
		s.error(w, r, coopfed.Errorf(coopfed.EGONE, "this listing was deleted"))
		return
	}
	c, err := s.store.CoopByID(ctx, l.CoopID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if wantsActivity(r) {
		vias, err := s.store.ListingVias(ctx, []int64{l.ID})
		if err != nil {
			s.error(w, r, err)
			return
		}
		for _, v := range vias[l.ID] {
			l.Audience = append(l.Audience, v.GroupIRI)
		}
		s.writeActivity(w, r, s.fed.ListingDocument(c, l))
		return
	}
	data := map[string]any{
		"Coop": c, "Handle": c.Name + "@" + s.iris.Host(), "CoopURL": s.iris.Coop(c.Name),
		"L": l, "Headline": federation.ListingHeadline(l), "DescriptionHTML": sanitize.Text(l.Description),
		"PaymentLinks": paymentLinkViews(l.PaymentLinks),
		"Open":         l.OpenAt(time.Now()), "CategoryURL": s.iris.MarketURL("category", l.Category),
	}
	s.listingVisitor(w, r, l, data)
	s.render(w, r, "listing", data)
}

// getMarket is the market's search page: the API's search as a form.
func (s *Server) getMarket(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	data := map[string]any{"Q": q.Get("q"), "Kind": q.Get("kind"), "Category": q.Get("category"), "Near": q.Get("near"), "Radius": q.Get("radius_km"), "Sort": q.Get("sort"),
		"Group": q.Get("group"), "CoopFilter": q.Get("coop")}
	mq, err := s.marketQuery(r.Context(), q)
	var e *coopfed.Error
	if errors.As(err, &e) && e.Code == coopfed.EINVALID {
		// A bad search is shown on the page with its problems, not as
		// an error page.
		data["Problems"] = e.Fields
		s.render(w, r, "market", data)
		return
	} else if err != nil {
		s.error(w, r, err)
		return
	}
	hits, err := s.searchMarket(r.Context(), mq, "page")
	if err != nil {
		s.error(w, r, err)
		return
	}
	type row struct {
		URL, Headline, Coop, Kind, Trade, Report string
		Distance                                 *float64
		Via                                      []string
		// Pay are the listing's payment links, CoopPay its coop's.
		Pay, CoopPay []paymentLinkView
	}
	sess := s.visitor(w, r, data)
	actors := map[string]map[string]any{}
	vias, err := s.viasOf(r.Context(), hits, actors)
	if err != nil {
		s.error(w, r, err)
		return
	}
	rows := make([]row, 0, len(hits))
	for _, h := range hits {
		var via []string
		for _, v := range vias[h.ID] {
			name, _ := v["name"].(string)
			if name == "" {
				name, _ = v["handle"].(string)
			}
			if name == "" {
				name, _ = v["id"].(string)
			}
			via = append(via, name)
		}
		a := s.actorOut(r.Context(), h.ActorIRI, actors)
		coop, _ := a["handle"].(string)
		if coop == "" {
			coop = h.ActorIRI
		}
		var d *float64
		if h.DistanceKm != nil {
			v := float64(int64(*h.DistanceKm*10+0.5)) / 10
			d = &v
		}
		coopLinks, _ := a["payment_links"].([]coopfed.PaymentLink)
		rows = append(rows, row{URL: h.IRI, Headline: federation.ListingHeadline(h.Listing), Coop: coop, Kind: h.Kind, Distance: d,
			Trade: s.tradeLink(sess, h.Listing), Report: s.reportLink(sess, h.Listing), Via: via,
			Pay: paymentLinkViews(h.Listing.PaymentLinks), CoopPay: paymentLinkViews(coopLinks)})
	}
	data["Results"] = rows
	if len(hits) == mq.Limit {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("cursor", strconv.Itoa(mq.Offset+mq.Limit))
		data["Next"] = federation.RouteMarket + "?" + next.Encode()
	}
	s.render(w, r, "market", data)
}

// searchMarket runs a market search and counts it with its duration.
func (s *Server) searchMarket(ctx context.Context, mq store.MarketQuery, via string) ([]store.MarketHit, error) {
	start := time.Now()
	hits, err := s.store.SearchListings(ctx, mq)
	if s.metrics != nil {
		s.metrics.marketSearch(via, err, time.Since(start).Seconds())
	}
	return hits, err
}
