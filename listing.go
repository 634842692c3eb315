package coopfed

import (
	"errors"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Listing kinds: what a coop has spare, or what it looks for. On the wire
// (FEP-0837) an offer has purpose "offer" and a need purpose "request".
const (
	ListingOffer = "offer"
	ListingNeed  = "need"
)

// Listing states. A closed listing stays visible at its URL but leaves the
// market.
const (
	ListingOpen   = "open"
	ListingClosed = "closed"
)

// Reciprocal kinds: what is wanted (or given) in return.
const (
	ReciprocalPrice    = "price"    // an amount of money in a currency
	ReciprocalCredits  = "credits"  // an amount of the federation's mutual credit
	ReciprocalResource = "resource" // another resource, by type and quantity
)

// Limits of a listing's fields.
const (
	MaxListingTitle       = 200
	MaxListingDescription = 5000
	MaxCategoryLength     = 50
	MaxUnitLength         = 40
	MaxIRILength          = 500
	MaxPlaceName          = 200
	// MaxQuantity bounds every quantity: far beyond any real lot, small
	// enough that sums and comparisons stay exact in a float64.
	MaxQuantity = 1e12
	// DefaultMatchRadiusKm is how far apart a need and an offer may be,
	// when both give coordinates, for the need to be told of the offer.
	DefaultMatchRadiusKm = 100
)

// Quantity is an amount of a resource in a unit of the Ontology of units
// of Measure (om2), as FEP-0837 names them: "kilogram", "litre", "one"
// (countable items), "hour".
type Quantity struct {
	Value float64
	Unit  string
}

// String formats the quantity for people: "200 kg", "3".
func (q Quantity) String() string {
	v := FormatNumber(q.Value)
	if q.Unit == "one" || q.Unit == "" {
		return v
	}
	if abbr, ok := unitAbbreviations[q.Unit]; ok {
		return v + " " + abbr
	}
	return v + " " + q.Unit
}

// unitAbbreviations are the short forms used in readable text.
var unitAbbreviations = map[string]string{
	"kilogram": "kg", "gram": "g", "tonne": "t", "litre": "l", "liter": "l", "millilitre": "ml",
	"metre": "m", "meter": "m", "kilometre": "km", "squareMetre": "m²", "cubicMetre": "m³",
	"hour": "h", "minute": "min", "second": "s", "day": "days", "kilowattHour": "kWh",
}

// TimeUnits are the units of services (the FEP action deliverService)
// rather than goods (transfer).
var TimeUnits = map[string]bool{"second": true, "minute": true, "hour": true, "day": true, "week": true, "month": true}

// FormatNumber writes a quantity or amount without exponent or trailing
// zeros: 200, 1.5, 0.25.
func FormatNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// ParseQuantityValue reads a quantity's number from its text form (peers
// send "200" as often as 200). NaN, infinities, negative numbers and values
// above MaxQuantity are refused: they would poison sums and comparisons.
func ParseQuantityValue(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 40 {
		return 0, Errorf(EINVALID, "not a number")
	}
	// Why: ParseFloat accepts "NaN", "Inf" and hex floats; a quantity is
	// written in plain decimal digits.
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r == '.' || r == '-' || r == '+' || r == 'e' || r == 'E') {
			return 0, Errorf(EINVALID, "not a decimal number")
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, Errorf(EINVALID, "not a number")
	}
	return v, checkQuantityValue(v)
}

// ParseCoordinate reads a latitude or longitude from its text form: plain
// decimal digits, a sign allowed, never NaN or infinite.
func ParseCoordinate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 40 || strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r == '.' || r == '-' || r == '+' || r == 'e' || r == 'E')
	}) {
		return 0, Errorf(EINVALID, "not a decimal number")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, Errorf(EINVALID, "not a finite number")
	}
	return v, nil
}

// ValidAmount reports whether s is a money or credit amount: decimal
// digits, at most 4 after the point.
func ValidAmount(s string) bool { return amountRE.MatchString(s) }

// ValidCategory reports whether s can be a category: one lower-case word
// of letters, digits or underscores, at most MaxCategoryLength.
func ValidCategory(s string) bool {
	return utf8.RuneCountInString(s) <= MaxCategoryLength && categoryRE.MatchString(s) && s == strings.ToLower(s)
}

func checkQuantityValue(v float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return Errorf(EINVALID, "not a finite number")
	case v < 0:
		return Errorf(EINVALID, "must not be negative")
	case v > MaxQuantity:
		return Errorf(EINVALID, "at most 1000000000000")
	}
	return nil
}

var unitRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// validate checks a quantity; positive requires a value above zero.
func (q Quantity) validate(positive bool) string {
	if err := checkQuantityValue(q.Value); err != nil {
		return ErrorMessage(err)
	}
	if positive && q.Value == 0 {
		return "must be more than zero"
	}
	if q.Unit == "" {
		return "give a unit (om2 name such as kilogram, litre, hour, or one for items)"
	}
	if len(q.Unit) > MaxUnitLength || !unitRE.MatchString(q.Unit) {
		return "unit must be an om2 unit name such as kilogram, litre, hour or one"
	}
	return ""
}

// Price is a money amount: a decimal string (never a float, so 1.20 stays
// 1.20) and an ISO 4217 currency code.
type Price struct {
	Amount   string
	Currency string
}

// Currencies maps the currencies a price may be given in to the Wikidata
// item FEP-0837 peers use as resourceConformsTo of a money transfer.
var Currencies = map[string]string{
	"EUR": "https://www.wikidata.org/wiki/Q4916",
	"USD": "https://www.wikidata.org/wiki/Q4917",
	"GBP": "https://www.wikidata.org/wiki/Q25224",
	"CHF": "https://www.wikidata.org/wiki/Q25344",
	"JPY": "https://www.wikidata.org/wiki/Q8146",
}

// CurrencyOf returns the ISO code of a currency's Wikidata IRI, or "".
func CurrencyOf(conformsTo string) string {
	for code, iri := range Currencies {
		if conformsTo == iri || strings.Replace(conformsTo, "/entity/", "/wiki/", 1) == iri {
			return code
		}
	}
	return ""
}

// CreditsConformsTo names the federation's mutual credit as a resource type.
const CreditsConformsTo = "https://coopfed.org/ns#credit"

var amountRE = regexp.MustCompile(`^[0-9]{1,12}(\.[0-9]{1,4})?$`)

// Reciprocal is what a listing wants (an offer) or gives (a need) in
// return: a price, credits, or another resource. A nil *Reciprocal means
// nothing: a gift, or a need that asks for help.
type Reciprocal struct {
	Kind       string
	Price      Price    // Kind price; Amount alone for credits
	ConformsTo string   // Kind resource: the resource type (a URI)
	Name       string   // Kind resource: what it is, in words
	Quantity   Quantity // Kind resource
}

// String formats what is wanted in return for people: "1.20 EUR",
// "50 credits", "2 kg of eggs".
func (r *Reciprocal) String() string {
	if r == nil {
		return ""
	}
	switch r.Kind {
	case ReciprocalPrice:
		return r.Price.Amount + " " + r.Price.Currency
	case ReciprocalCredits:
		return r.Price.Amount + " credits"
	}
	what := r.Name
	if what == "" {
		what = r.ConformsTo
	}
	return r.Quantity.String() + " of " + what
}

func (r *Reciprocal) validate(fields map[string]string) {
	switch r.Kind {
	case ReciprocalPrice:
		if !amountRE.MatchString(r.Price.Amount) {
			fields["reciprocal.price.amount"] = "a decimal amount such as 1.20 (up to 4 decimals)"
		}
		if _, ok := Currencies[r.Price.Currency]; !ok {
			fields["reciprocal.price.currency"] = "one of " + strings.Join(currencyCodes(), ", ")
		}
	case ReciprocalCredits:
		if !amountRE.MatchString(r.Price.Amount) {
			fields["reciprocal.credits"] = "a decimal amount such as 50"
		}
	case ReciprocalResource:
		if !validURI(r.ConformsTo) {
			fields["reciprocal.resource.conforms_to"] = "the resource type as an absolute URI (a Wikidata item, say)"
		}
		if utf8.RuneCountInString(r.Name) > MaxListingTitle {
			fields["reciprocal.resource.name"] = "at most 200 characters"
		}
		if msg := r.Quantity.validate(true); msg != "" {
			fields["reciprocal.resource.quantity"] = msg
		}
	default:
		fields["reciprocal"] = "give a price, credits or a resource, or null for nothing"
	}
}

func currencyCodes() []string {
	return []string{"CHF", "EUR", "GBP", "JPY", "USD"}
}

// Place is where a listing's resource is: a name and, optionally,
// coordinates in decimal degrees (WGS 84).
type Place struct {
	Name      string
	Latitude  *float64
	Longitude *float64
}

// HasCoordinates reports whether the place can be measured from.
func (p *Place) HasCoordinates() bool {
	return p != nil && p.Latitude != nil && p.Longitude != nil
}

// Listing is an offer or a need published by a coop of this instance or
// by a followed actor elsewhere (FEP-0837 Proposal). It is stored once:
// CoopID is set for local listings and zero for remote ones.
type Listing struct {
	ID       int64
	IRI      string
	CoopID   int64
	ActorIRI string

	Kind        string
	Title       string
	Description string // plain text
	Category    string // a hashtag name without '#', lower case
	ConformsTo  string // resource type URI, optional

	// Quantity is the lot the listing is about (FEP resourceQuantity); a
	// unit-based listing may be taken in multiples of it.
	Quantity  Quantity
	Available *Quantity // FEP availableQuantity: what is left
	Minimum   *Quantity // FEP minimumQuantity: the smallest trade
	UnitBased bool

	Reciprocal *Reciprocal
	Place      *Place
	ValidUntil *time.Time

	State     string
	Published time.Time
	Updated   *time.Time
	Deleted   bool

	// PaymentLinks are where to pay for what the listing offers or asks
	// (FEP-0ea0 links in the listing's attachment).
	PaymentLinks []PaymentLink
	// Audience lists the market groups a local listing is addressed to
	// (FEP-1b12 audience); empty unless loaded.
	Audience []string
}

// Local reports whether a coop of this instance owns the listing.
func (l *Listing) Local() bool { return l.CoopID != 0 }

// Purpose returns the FEP-0837 purpose of the listing's kind.
func (l *Listing) Purpose() string {
	if l.Kind == ListingNeed {
		return "request"
	}
	return "offer"
}

// KindOfPurpose maps an FEP-0837 purpose to a listing kind, or "".
func KindOfPurpose(purpose string) string {
	switch purpose {
	case "offer":
		return ListingOffer
	case "request":
		return ListingNeed
	}
	return ""
}

// Amount returns what the listing has (or wants) now: the available
// quantity when given, else the lot.
func (l *Listing) Amount() Quantity {
	if l.Available != nil {
		return *l.Available
	}
	return l.Quantity
}

// OpenAt reports whether the listing is in the market at time now: open,
// not deleted and not past its end.
func (l *Listing) OpenAt(now time.Time) bool {
	return l.State == ListingOpen && !l.Deleted && (l.ValidUntil == nil || l.ValidUntil.After(now))
}

var categoryRE = regexp.MustCompile(`^[\p{L}\p{N}_]+$`)

// NormalizeCategory returns a category as stored and tagged: without a
// leading '#', trimmed, lower case.
func NormalizeCategory(s string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "#"))
}

// Validate checks a listing before it is stored or published and names
// the problem with each field. Local listings must have a category (it
// becomes their hashtag); remote ones may lack one.
func (l *Listing) Validate() error {
	fields := map[string]string{}
	if l.Kind != ListingOffer && l.Kind != ListingNeed {
		fields["kind"] = "offer or need"
	}
	title := strings.TrimSpace(l.Title)
	switch {
	case title == "":
		fields["title"] = "say what is offered or needed"
	case utf8.RuneCountInString(title) > MaxListingTitle:
		fields["title"] = "at most 200 characters"
	case strings.ContainsAny(title, "\n\r"):
		fields["title"] = "one line"
	}
	if utf8.RuneCountInString(l.Description) > MaxListingDescription {
		fields["description"] = "at most 5000 characters"
	}
	switch {
	case l.Category == "" && l.Local():
		fields["category"] = "give a category, such as flour or vegetables (it becomes a hashtag)"
	case l.Category != "" && (utf8.RuneCountInString(l.Category) > MaxCategoryLength || !categoryRE.MatchString(l.Category)):
		fields["category"] = "one word of letters, digits or underscores, at most 50"
	case l.Category != "" && l.Category != strings.ToLower(l.Category):
		fields["category"] = "lower case"
	}
	if l.ConformsTo != "" && !validURI(l.ConformsTo) {
		fields["conforms_to"] = "an absolute URI, such as a Wikidata item"
	}
	if msg := l.Quantity.validate(true); msg != "" {
		fields["quantity"] = msg
	}
	for name, q := range map[string]*Quantity{"available": l.Available, "minimum": l.Minimum} {
		if q == nil {
			continue
		}
		if msg := q.validate(name == "minimum"); msg != "" {
			fields[name] = msg
		} else if l.Quantity.Unit != "" && q.Unit != l.Quantity.Unit {
			fields[name] = "use the same unit as the quantity (" + l.Quantity.Unit + ")"
		}
	}
	if l.Available != nil && l.Minimum != nil && fields["available"] == "" && fields["minimum"] == "" &&
		l.Minimum.Value > l.Available.Value && l.Available.Value > 0 {
		fields["minimum"] = "must not exceed the available quantity"
	}
	if l.Reciprocal != nil {
		l.Reciprocal.validate(fields)
	}
	if p := l.Place; p != nil {
		if utf8.RuneCountInString(p.Name) > MaxPlaceName || strings.ContainsAny(p.Name, "\n\r") {
			fields["place.name"] = "one line of at most 200 characters"
		}
		if (p.Latitude == nil) != (p.Longitude == nil) {
			fields["place"] = "give both latitude and longitude, or neither"
		}
		if p.Latitude != nil && !(*p.Latitude >= -90 && *p.Latitude <= 90) {
			fields["place.latitude"] = "from -90 to 90"
		}
		if p.Longitude != nil && !(*p.Longitude >= -180 && *p.Longitude <= 180) {
			fields["place.longitude"] = "from -180 to 180"
		}
		if p.Name == "" && p.Latitude == nil && p.Longitude == nil {
			fields["place"] = "give a name or coordinates, or null for no place"
		}
	}
	if l.State != ListingOpen && l.State != ListingClosed {
		fields["state"] = "open or closed"
	}
	if msg := validatePaymentLinks(l.PaymentLinks); msg != "" {
		fields["payment_links"] = msg
	}
	return FieldErrors(fields)
}

// ValidateAt is Validate for a listing published or edited at now: an end,
// when given, must lie in the future.
func (l *Listing) ValidateAt(now time.Time) error {
	fields := map[string]string{}
	var e *Error
	if err := l.Validate(); errors.As(err, &e) {
		for k, v := range e.Fields {
			fields[k] = v
		}
	}
	if l.ValidUntil != nil && !l.ValidUntil.After(now) {
		fields["valid_until"] = "must be in the future"
	}
	return FieldErrors(fields)
}

func validURI(s string) bool {
	if s == "" || len(s) > MaxIRILength || strings.ContainsAny(s, " \t\n\r") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "")
}

// earthRadiusKm is the mean radius of the Earth (IUGG).
const earthRadiusKm = 6371.0088

// DistanceKm returns the great-circle distance between two points in
// decimal degrees, by the haversine formula.
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(a)))
}

// BoundingBox returns the latitude and longitude ranges that contain every
// point within radiusKm of (lat, lon): a cheap prefilter before the exact
// distance. Near the poles the longitude range is the whole circle; the box
// is not split at the antimeridian, so it is clamped to [-180, 180].
func BoundingBox(lat, lon, radiusKm float64) (minLat, maxLat, minLon, maxLon float64) {
	dLat := radiusKm / earthRadiusKm * 180 / math.Pi
	minLat, maxLat = math.Max(-90, lat-dLat), math.Min(90, lat+dLat)
	cos := math.Min(math.Cos(minLat*math.Pi/180), math.Cos(maxLat*math.Pi/180))
	if cos < 1e-6 {
		return minLat, maxLat, -180, 180
	}
	dLon := dLat / cos
	if dLon >= 180 {
		return minLat, maxLat, -180, 180
	}
	return minLat, maxLat, math.Max(-180, lon-dLon), math.Min(180, lon+dLon)
}

// MatchWords returns the words of a listing's title that take part in text
// matching: lower case, three letters or more, without common words.
func MatchWords(title string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(title), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if utf8.RuneCountInString(w) < 3 || stopWords[w] || seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	return out
}

var stopWords = map[string]bool{
	"the": true, "and": true, "for": true, "with": true, "from": true, "our": true, "your": true,
	"any": true, "some": true, "need": true, "needed": true, "offer": true, "wanted": true, "want": true,
	"looking": true, "spare": true, "free": true, "per": true, "available": true, "kind": true,
}

// MatchNeedOffer decides whether an offer fits a need, the rule behind
// match notifications. Both must be open at now and from different
// actors; they must be about the same thing (the same category, the same
// resource type, or a word of the need's title in the offer's title,
// description or category); the offer must have enough in the need's unit
// (at least the need's minimum, else its whole quantity) and must not
// insist on a minimum above what the need asks; and when both give
// coordinates they must be within radiusKm of each other.
func MatchNeedOffer(need, offer *Listing, now time.Time, radiusKm float64) bool {
	if need.Kind != ListingNeed || offer.Kind != ListingOffer {
		return false
	}
	if !need.OpenAt(now) || !offer.OpenAt(now) || need.ActorIRI == offer.ActorIRI {
		return false
	}
	if !sameThing(need, offer) {
		return false
	}
	have := offer.Amount()
	if have.Unit != need.Quantity.Unit {
		return false
	}
	want := need.Quantity.Value
	if need.Minimum != nil && need.Minimum.Unit == need.Quantity.Unit {
		want = need.Minimum.Value
	}
	if have.Value < want {
		return false
	}
	if offer.Minimum != nil && offer.Minimum.Unit == have.Unit && offer.Minimum.Value > need.Quantity.Value {
		return false
	}
	if need.Place.HasCoordinates() && offer.Place.HasCoordinates() {
		d := DistanceKm(*need.Place.Latitude, *need.Place.Longitude, *offer.Place.Latitude, *offer.Place.Longitude)
		if d > radiusKm {
			return false
		}
	}
	return true
}

func sameThing(need, offer *Listing) bool {
	if need.Category != "" && need.Category == offer.Category {
		return true
	}
	if need.ConformsTo != "" && need.ConformsTo == offer.ConformsTo {
		return true
	}
	words := MatchWords(need.Title)
	if len(words) == 0 {
		return false
	}
	have := map[string]bool{}
	for _, w := range MatchWords(offer.Title + " " + offer.Description + " " + offer.Category) {
		have[w] = true
	}
	for _, w := range words {
		if have[w] {
			return true
		}
	}
	return false
}

// Notification kinds.
const (
	// NotifyMatch tells a coop that a need and an offer fit each other.
	NotifyMatch = "match"
	// NotifyTrade tells a coop that another coop proposed a trade for one
	// of its listings, or countered one of its offers.
	NotifyTrade = "trade"
	// NotifyFollowRequest tells a locked coop that an actor asks to follow
	// it and waits for an admin's answer.
	NotifyFollowRequest = "follow_request"
	// NotifyReport tells a coop's admins of a new report about the coop,
	// its content or a group it runs (ActivityIRI is the Flag or the
	// report's id, ActorIRI the account reported).
	NotifyReport = "report"
	// NotifyGroupJoin tells the admins of the coop running a group that
	// asks for approval that an actor asks to join it (ActivityIRI is the
	// Follow, ActorIRI the actor, ListingIRI the group).
	NotifyGroupJoin = "group_join"
	// NotifyMotionReview tells a coop's admins that a motion's review date
	// came (ActivityIRI is the motion, ListingIRI the reminder Note).
	NotifyMotionReview = "motion_review"
)

// Notification is something a local coop is told: for a match, the need
// and the offer that fit, one of them the coop's own; for a trade, the
// Offer (ActivityIRI), its listing and its sender (ActorIRI); for a follow
// request, the Follow and its actor.
type Notification struct {
	ID          int64
	CoopID      int64
	Kind        string
	NeedIRI     string
	OfferIRI    string
	ActivityIRI string
	ListingIRI  string
	ActorIRI    string
	CreatedAt   time.Time
	Read        bool
}
