package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/store"
	"github.com/gorilla/mux"
)

func init() {
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		r.HandleFunc(routeDashboard, s.getDashboard).Methods(http.MethodGet, http.MethodHead)
		for path, h := range map[string]uiAction{
			"/announcements":      s.uiPostAnnouncement,
			"/listings":           s.uiPostListing,
			"/motions":            s.uiPostMotion,
			"/vote":               s.uiVote,
			"/follow":             s.uiFollow,
			"/followers/approve":  s.uiAnswerFollower(true),
			"/followers/reject":   s.uiAnswerFollower(false),
			"/notifications/read": s.uiReadNotifications,
		} {
			r.HandleFunc(routeDashboard+path, s.uiPost(h)).Methods(http.MethodPost)
		}
	})
}

// form is one form's submitted values and its problems, shown again next
// to their fields when it does not validate.
type form struct {
	Values map[string]string
	Errors map[string]string
	// Problem is a message about the whole form.
	Problem string
}

func newForm(r *http.Request, names ...string) *form {
	f := &form{Values: map[string]string{}, Errors: map[string]string{}}
	for _, n := range names {
		f.Values[n] = strings.TrimSpace(r.PostFormValue(n))
	}
	return f
}

// absorb files err into the form: field errors under their form field
// (rename maps a domain field name to the form's), anything else as the
// form's problem. It returns the status to answer with.
func (f *form) absorb(err error, rename map[string]string) int {
	status, msg, fields := errorStatus(err)
	for k, v := range fields {
		if n, ok := rename[k]; ok {
			k = n
		}
		if _, known := f.Values[k]; !known {
			f.Problem = strings.TrimSpace(f.Problem + " " + k + ": " + v + ".")
			continue
		}
		if _, dup := f.Errors[k]; !dup {
			f.Errors[k] = v
		}
	}
	if len(fields) == 0 {
		f.Problem = msg
	}
	return status
}

// uiAction handles one dashboard form of a logged-in member. It returns
// the flash key to redirect with on success, or the form name and form to
// show again with the status.
type uiAction func(w http.ResponseWriter, r *http.Request, sess *store.Session) (done string, formName string, f *form, status int)

// flashes are the messages shown after a successful form, by key; the
// redirect carries only the key, so no text can be injected by a link.
var flashes = map[string]string{
	"announcement": "Your announcement is published.",
	"listing":      "Your listing is published.",
	"motion":       "The motion is open for votes.",
	"vote":         "Your vote is counted.",
	"follow":       "Follow request sent.",
	"approved":     "Follower approved.",
	"rejected":     "Follower rejected.",
	"read":         "Notifications marked read.",
}

// uiPost wraps a form action: session and CSRF check, then
// POST-redirect-GET on success, the dashboard with the form's errors
// otherwise.
func (s *Server) uiPost(action uiAction) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.memberSession(w, r)
		if sess == nil {
			return
		}
		done, name, f, status := action(w, r, sess)
		if status >= 500 {
			s.log.Error("form failed", "path", r.URL.Path, "problem", f.Problem)
		}
		if f == nil {
			http.Redirect(w, r, dashboardURL(sess.Coop.Name)+"?done="+done, http.StatusSeeOther)
			return
		}
		if status == http.StatusForbidden {
			// A refusal by role: the member's page has no such form.
			s.uiError(w, r, &statusError{status: status, msg: f.Problem})
			return
		}
		s.dashboard(w, r, sess, status, map[string]*form{name: f})
	}
}

// requireAdmin refuses an admin-only form of a member.
func requireAdmin(sess *store.Session, f *form) bool {
	if sess.Member.Role == coopfed.RoleAdmin {
		return true
	}
	f.Problem = "Only the coop's admins may do this."
	return false
}

func (s *Server) getDashboard(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	s.dashboard(w, r, sess, http.StatusOK, nil)
}

// voteRow is an open motion with the member's choices so far.
type voteRow struct {
	Motion  *coopfed.Motion
	Result  coopfed.Result
	URL     string
	Chosen  []string
	Problem string
	Options []voteOption
	Ranks   []int
}

// voteOption is one option of a vote form: its index names the rank and
// dots fields of ranked and score motions.
type voteOption struct {
	Index       int
	Name, Words string
	// The member's ballot in force: chosen, at which rank, with how many
	// dots.
	Chosen     bool
	Rank, Dots int
}

type notificationRow struct {
	ID                  int64
	Kind                string
	Read                bool
	Created             time.Time
	NeedURL, NeedText   string
	OfferURL, OfferText string
	// A trade proposal or a follow request: who asked, about which
	// listing, and where to answer.
	ActorURL, ActorText     string
	ListingURL, ListingText string
	AnswerURL               string
}

type followRow struct {
	Actor, Handle, Name, URL, State string
	Since                           time.Time
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, sess *store.Session, status int, forms map[string]*form) {
	ctx := r.Context()
	c := sess.Coop
	for _, n := range []string{"announcement", "announcements", "listing", "listings", "motion", "follow", "followers", "notifications"} {
		if forms[n] == nil {
			if forms == nil {
				forms = map[string]*form{}
			}
			forms[n] = &form{Values: map[string]string{}, Errors: map[string]string{}}
		}
	}
	if forms["listing"].Values["kind"] == "" {
		forms["listing"].Values["kind"] = coopfed.ListingOffer
	}
	if forms["motion"].Values["kind"] == "" {
		forms["motion"].Values["kind"] = coopfed.MotionConsent
		forms["motion"].Values["threshold"] = "50"
		forms["motion"].Values["closes_at"] = time.Now().UTC().Add(7 * 24 * time.Hour).Format("2006-01-02T15:04")
	}
	data := map[string]any{
		"Me": sess.Member, "Coop": c, "CSRF": sess.CSRF, "IsAdmin": sess.Member.Role == coopfed.RoleAdmin,
		"Handle": c.Name + "@" + s.iris.Host(), "CoopURL": s.iris.Coop(c.Name), "Action": dashboardURL(c.Name),
		"Forms": forms, "Flash": flashes[r.URL.Query().Get("done")],
	}
	motions, err := s.store.Motions(ctx, c.ID, 50)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	var votes []voteRow
	for _, m := range motions {
		if m.State != coopfed.MotionOpen {
			continue
		}
		ballots, err := s.store.Ballots(ctx, m.ID)
		if err != nil {
			s.uiError(w, r, err)
			return
		}
		var chosen []string
		// The form starts from the member's ballot in force: a change of
		// vote edits it rather than starting again.
		current := map[string]voteOption{}
		for _, b := range ballots {
			if b.MemberID != sess.Member.ID {
				continue
			}
			for i, c := range b.Choices {
				cur := voteOption{Chosen: true, Rank: i + 1}
				words := m.OptionWords(c)
				if i < len(b.Points) {
					cur.Dots = b.Points[i]
					words += fmt.Sprintf(" (%d)", b.Points[i])
				}
				current[c] = cur
				chosen = append(chosen, words)
			}
		}
		row := voteRow{Motion: m, Result: coopfed.Tally(m, m.Eligible, ballots), URL: m.IRI, Chosen: chosen}
		for i, o := range m.Options {
			opt := current[o]
			opt.Index, opt.Name, opt.Words = i, o, m.OptionWords(o)
			row.Options = append(row.Options, opt)
		}
		for i := range m.Options {
			row.Ranks = append(row.Ranks, i+1)
		}
		if f := forms["vote"]; f != nil && f.Values["id"] == m.IRI {
			row.Problem = strings.TrimSpace(f.Problem + " " + f.Errors["choice"])
		}
		votes = append(votes, row)
	}
	data["Votes"] = votes
	if f := forms["vote"]; f != nil {
		found := false
		for _, v := range votes {
			found = found || v.URL == f.Values["id"]
		}
		if !found {
			data["VoteProblem"] = strings.TrimSpace(f.Problem + " " + f.Errors["choice"])
		}
	}

	notes, err := s.store.Notifications(ctx, store.NotificationFilter{CoopID: c.ID, Limit: 20})
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	rows := make([]notificationRow, 0, len(notes))
	for _, n := range notes {
		rows = append(rows, s.notificationRow(ctx, c, n))
	}
	data["Notifications"] = rows

	followers, err := s.store.Followers(ctx, store.FollowFilter{CoopID: c.ID, Limit: 100})
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	following, err := s.store.Followings(ctx, store.FollowFilter{CoopID: c.ID, Limit: 100})
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	var fr, fg []followRow
	for _, f := range followers {
		fr = append(fr, newFollowRow(f.ActorIRI, f.Actor, f.State, f.CreatedAt))
	}
	for _, f := range following {
		fg = append(fg, newFollowRow(f.ActorIRI, f.Actor, f.State, f.CreatedAt))
	}
	data["Followers"], data["Following"] = fr, fg
	listings, err := s.store.CoopListings(ctx, c.ID, coopfed.ListingOpen, 50, 0)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	data["Listings"] = listingRows(listings)
	if data["Classes"], err = s.store.Classes(ctx, c.ID); err != nil {
		s.uiError(w, r, err)
		return
	}
	if data["Announcements"], err = s.announcementRows(r, c, forms[announcementEditForm]); err != nil {
		s.uiError(w, r, err)
		return
	}
	s.page(w, status, "dashboard", data)
}

// notificationRow describes a notification with the headlines of its
// listings, the handle of the actor who asked and the page to answer on.
func (s *Server) notificationRow(ctx context.Context, c *coopfed.Coop, n *coopfed.Notification) notificationRow {
	row := notificationRow{ID: n.ID, Kind: n.Kind, Read: n.Read, Created: n.CreatedAt}
	headline := func(iri string) string {
		if l, err := s.store.ListingByIRI(ctx, iri); err == nil && !l.Deleted {
			return federation.ListingHeadline(l)
		}
		return iri
	}
	switch n.Kind {
	case coopfed.NotifyMatch:
		row.NeedURL, row.NeedText = n.NeedIRI, headline(n.NeedIRI)
		row.OfferURL, row.OfferText = n.OfferIRI, headline(n.OfferIRI)
	case coopfed.NotifyTrade:
		row.ListingURL, row.ListingText = n.ListingIRI, headline(n.ListingIRI)
		row.AnswerURL = tradesURL(c.Name) + "#incoming"
		if t, err := s.store.TradeByIRI(ctx, n.ActivityIRI); err == nil {
			row.AnswerURL = tradesURL(c.Name) + "#trade-" + strconv.FormatInt(t.ID, 10)
		}
	case coopfed.NotifyFollowRequest:
		row.AnswerURL = dashboardURL(c.Name) + "#followers"
	case coopfed.NotifyGroupJoin:
		row.AnswerURL = groupsAdminURL(c.Name) + "#run"
		if g, err := s.fed.LocalActor(ctx, n.ListingIRI); err == nil {
			row.ListingURL, row.ListingText = n.ListingIRI, g.Title()
		}
	case coopfed.NotifyReport:
		row.AnswerURL = reportsURL(c.Name)
	case coopfed.NotifyMotionReview:
		row.AnswerURL, row.ListingText = n.ActivityIRI, n.ActivityIRI
		if m, err := s.store.Motion(ctx, n.ActivityIRI); err == nil {
			row.ListingText = m.Title
		}
	}
	if n.ActorIRI != "" {
		acc := s.accountOf(ctx, n.ActorIRI, nil)
		row.ActorURL, row.ActorText = acc.URL, acc.Handle
		if acc.Handle != acc.IRI {
			row.ActorText = "@" + acc.Handle
		}
	}
	return row
}

func newFollowRow(iri string, a *coopfed.RemoteActor, state string, since time.Time) followRow {
	row := followRow{Actor: iri, Handle: iri, URL: iri, State: state, Since: since}
	if a != nil {
		row.Handle, row.Name = "@"+a.Handle(), a.Name
		if a.URL != "" {
			row.URL = a.URL
		}
	}
	return row
}

// listingRow is a listing as pages list it.
type listingRow struct {
	URL, Headline, Kind string
	Published           time.Time
}

func listingRows(list []*coopfed.Listing) []listingRow {
	out := make([]listingRow, 0, len(list))
	for _, l := range list {
		out = append(out, listingRow{URL: l.IRI, Headline: federation.ListingHeadline(l), Kind: l.Kind, Published: l.Published})
	}
	return out
}

// --- actions ---

func (s *Server) uiPostAnnouncement(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "content")
	if !requireAdmin(sess, f) {
		return "", "announcement", f, http.StatusForbidden
	}
	if _, err := s.fed.PublishNote(r.Context(), sess.Coop, f.Values["content"]); err != nil {
		return "", "announcement", f, f.absorb(err, nil)
	}
	return "announcement", "", nil, 0
}

// listingFields maps the domain's field names to the listing form's.
var listingFields = map[string]string{
	"quantity": "quantity_value", "quantity.value": "quantity_value", "quantity.unit": "quantity_unit",
	"reciprocal": "price_amount", "reciprocal.price.amount": "price_amount", "reciprocal.price.currency": "price_currency",
	"place": "place_name", "place.name": "place_name", "place.latitude": "latitude", "place.longitude": "longitude",
	"available": "available_value", "available.value": "available_value", "available.unit": "available_value",
}

func rawJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		// Only maps of strings and finite numbers are passed here.
		panic(fmt.Sprintf("handlers: form value does not encode: %v", err))
	}
	return b
}

// uiPostListing publishes an offer or a need from the form. The form is
// turned into the API's input and goes through the same parsing,
// validation and publication as POST /api/v1/coops/{coop}/listings.
func (s *Server) uiPostListing(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, listingFormFields...)
	in, fields := f.listingInput(false)
	l := &coopfed.Listing{}
	in.apply(l, true, fields)
	if len(in.Quantity) == 0 {
		fields["quantity"] = "give a quantity and its unit, such as 200 kilogram"
	}
	l.CoopID, l.State = sess.Coop.ID, coopfed.ListingOpen
	l.Category = coopfed.NormalizeCategory(l.Category)
	err := mergeFields(fields, l.ValidateAt(time.Now()))
	if err == nil {
		err = s.fed.PublishListing(r.Context(), sess.Coop, l)
	}
	if err != nil {
		return "", "listing", f, f.absorb(err, listingFields)
	}
	return "listing", "", nil, 0
}

// listingFormFields are the fields of the listing form.
var listingFormFields = []string{"kind", "title", "description", "category", "quantity_value", "quantity_unit",
	"available_value", "price_amount", "price_currency", "place_name", "latitude", "longitude", "valid_until"}

// listingInput turns the listing form into the API's input. When editing,
// an emptied optional field clears it (null in the API).
func (f *form) listingInput(editing bool) (listingInput, map[string]string) {
	v := f.Values
	in := listingInput{Title: ptr(v["title"]), Description: ptr(v["description"]), Category: ptr(v["category"])}
	if !editing {
		in.Kind = ptr(v["kind"])
	}
	fields := map[string]string{}
	null := json.RawMessage("null")
	if v["quantity_value"] != "" || v["quantity_unit"] != "" {
		in.Quantity = rawJSON(map[string]string{"value": v["quantity_value"], "unit": v["quantity_unit"]})
	}
	if editing && v["available_value"] != "" {
		in.Available = rawJSON(map[string]string{"value": v["available_value"], "unit": v["quantity_unit"]})
	}
	if v["price_amount"] != "" || v["price_currency"] != "" {
		in.Reciprocal = rawJSON(map[string]any{"price": map[string]string{"amount": v["price_amount"], "currency": v["price_currency"]}})
	} else if editing {
		in.Reciprocal = null
	}
	if editing {
		in.Place, in.ValidUntil = null, null
	}
	if v["place_name"] != "" || v["latitude"] != "" || v["longitude"] != "" {
		p := map[string]any{"name": v["place_name"]}
		for _, k := range []string{"latitude", "longitude"} {
			if v[k] == "" {
				continue
			}
			x, err := coopfed.ParseCoordinate(v[k])
			if err != nil {
				fields[k] = "a number in decimal degrees, such as 53.80"
				continue
			}
			p[k] = x
		}
		in.Place = rawJSON(p)
	}
	if v["valid_until"] != "" {
		d, err := time.Parse("2006-01-02", v["valid_until"])
		if err != nil {
			fields["valid_until"] = "a date, such as 2026-12-31"
		} else {
			// Valid through the whole day given.
			in.ValidUntil = rawJSON(d.Add(24*time.Hour - time.Second).Format(time.RFC3339))
		}
	}
	return in, fields
}

func ptr(s string) *string { return &s }

// uiPostMotion opens a motion through the same function as the API.
func (s *Server) uiPostMotion(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "title", "text", "kind", "options", "closes_at", "quorum", "threshold", "method", "dots", "class_count", "weights", "classes")
	if !requireAdmin(sess, f) {
		return "", "motion", f, http.StatusForbidden
	}
	v := f.Values
	m := &coopfed.Motion{Title: v["title"], Text: v["text"], Kind: v["kind"], Threshold: 0.5}
	if m.Kind == coopfed.MotionRanked {
		m.Method = v["method"]
	}
	if m.Kind == coopfed.MotionScore {
		m.Dots, _ = strconv.Atoi(strings.TrimSpace(v["dots"]))
	}
	if m.Kind != coopfed.MotionConsent {
		for _, o := range strings.Split(v["options"], "\n") {
			if o = strings.TrimSpace(o); o != "" {
				m.Options = append(m.Options, o)
			}
		}
	}
	fields := map[string]string{}
	if v["closes_at"] != "" {
		t, err := time.Parse("2006-01-02T15:04", v["closes_at"])
		if err != nil {
			fields["closes_at"] = "a date and time, such as 2026-06-01T18:00 (UTC)"
		}
		m.ClosesAt = t
	}
	percent := func(name string, into *float64) {
		if v[name] == "" {
			return
		}
		x, err := strconv.ParseFloat(v[name], 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			fields[name] = "a percentage, such as 50"
			return
		}
		*into = x / 100
	}
	percent("quorum", &m.Quorum)
	percent("threshold", &m.Threshold)
	m.ClassCount = v["class_count"]
	// Weights are written "workers 2, consumers 1"; classes "workers,
	// consumers".
	for _, part := range strings.Split(v["weights"], ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		name, num, _ := strings.Cut(part, " ")
		w, err := strconv.Atoi(strings.TrimSpace(num))
		if err != nil {
			fields["weights"] = "a class and a whole number, such as workers 2"
			break
		}
		m.Weights = append(m.Weights, coopfed.ClassWeight{Class: strings.ToLower(name), Weight: w})
	}
	for _, c := range strings.Split(v["classes"], ",") {
		if c = strings.ToLower(strings.TrimSpace(c)); c != "" {
			m.Classes = append(m.Classes, c)
		}
	}
	err := coopfed.FieldErrors(fields)
	if err == nil {
		err = s.fed.CreateMotion(r.Context(), sess.Coop, m)
	}
	if err != nil {
		status := f.absorb(err, nil)
		// The domain speaks of shares from 0 to 1; the form of percents.
		for _, k := range []string{"quorum", "threshold"} {
			if _, ok := f.Errors[k]; ok && fields[k] == "" {
				f.Errors[k] = "a percentage from 0 to 100"
			}
		}
		return "", "motion", f, status
	}
	return "motion", "", nil, 0
}

// uiVote casts the logged-in member's vote, as the API does for a member:
// radio buttons or boxes name the choices, a ranked motion's form a rank
// per option (rank-N), a score vote's the dots per option (dots-N).
func (s *Server) uiVote(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "id", "choice", "reason")
	m, err := s.store.Motion(r.Context(), f.Values["id"])
	if err != nil {
		if len(r.PostForm["choice"]) == 0 {
			// Nothing chosen: say so first, as for any motion.
			f.Errors["choice"] = "choose an option"
			return "", "vote", f, http.StatusUnprocessableEntity
		}
		status := f.absorb(err, nil)
		return "", "vote", f, status
	}
	b := coopfed.Ballot{Reason: f.Values["reason"]}
	switch m.Kind {
	case coopfed.MotionRanked:
		ranks := map[int]string{}
		for i, o := range m.Options {
			v := strings.TrimSpace(r.PostFormValue(fmt.Sprintf("rank-%d", i)))
			if v == "" {
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > len(m.Options) || ranks[n] != "" {
				f.Errors["choice"] = "give each ranked option a different rank from 1 to " + strconv.Itoa(len(m.Options))
				return "", "vote", f, http.StatusUnprocessableEntity
			}
			ranks[n] = o
		}
		for n := 1; n <= len(m.Options); n++ {
			if o := ranks[n]; o != "" {
				b.Choices = append(b.Choices, o)
			}
		}
	case coopfed.MotionScore:
		for i, o := range m.Options {
			v := strings.TrimSpace(r.PostFormValue(fmt.Sprintf("dots-%d", i)))
			if v == "" || v == "0" {
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				f.Errors["choice"] = "dots are whole numbers"
				return "", "vote", f, http.StatusUnprocessableEntity
			}
			b.Choices, b.Points = append(b.Choices, o), append(b.Points, n)
		}
		if len(b.Choices) == 0 {
			b.Points = []int{}
		}
	default:
		b.Choices = r.PostForm["choice"]
	}
	if len(b.Choices) == 0 && m.Kind != coopfed.MotionScore {
		f.Errors["choice"] = "choose an option"
		return "", "vote", f, http.StatusUnprocessableEntity
	}
	if err := s.fed.CastVote(r.Context(), sess.Coop, f.Values["id"], sess.Member.Username, b); err != nil {
		status := f.absorb(err, map[string]string{"choices": "choice", "scores": "choice", "reason": "choice"})
		return "", "vote", f, status
	}
	return "vote", "", nil, 0
}

// uiFollow makes the coop follow an actor by handle.
func (s *Server) uiFollow(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "handle")
	if !requireAdmin(sess, f) {
		return "", "follow", f, http.StatusForbidden
	}
	if f.Values["handle"] == "" {
		f.Errors["handle"] = "give a handle such as bakery@coop.example"
		return "", "follow", f, http.StatusUnprocessableEntity
	}
	// A remote lookup may be slow; do not let it hold the request forever.
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if _, err := s.fed.Follow(ctx, sess.Coop, f.Values["handle"]); err != nil {
		status := f.absorb(err, nil)
		if f.Problem != "" && len(f.Errors) == 0 {
			f.Errors["handle"], f.Problem = f.Problem, ""
		}
		return "", "follow", f, status
	}
	return "follow", "", nil, 0
}

func (s *Server) uiAnswerFollower(approve bool) uiAction {
	return func(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
		f := newForm(r, "actor")
		if !requireAdmin(sess, f) {
			return "", "followers", f, http.StatusForbidden
		}
		var err error
		if f.Values["actor"] == "" {
			err = coopfed.Errorf(coopfed.EINVALID, "no follower was chosen")
		} else if approve {
			err = s.fed.ApproveFollower(r.Context(), sess.Coop, f.Values["actor"])
		} else {
			err = s.fed.RejectFollower(r.Context(), sess.Coop, f.Values["actor"])
		}
		if err != nil {
			return "", "followers", f, f.absorb(err, nil)
		}
		if approve {
			return "approved", "", nil, 0
		}
		return "rejected", "", nil, 0
	}
}

func (s *Server) uiReadNotifications(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r)
	err := s.store.Update(r.Context(), func(tx *store.Tx) error {
		_, err := tx.MarkNotificationsRead(sess.Coop.ID, 0)
		return err
	})
	if err != nil {
		return "", "notifications", f, f.absorb(err, nil)
	}
	return "read", "", nil, 0
}
