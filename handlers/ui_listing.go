package handlers

import (
	"html"
	"net/http"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/store"
	"github.com/gorilla/mux"
)

// routeListingEdit is the members' page that edits one of the coop's
// listings, named by ?listing= its IRI.
const routeListingEdit = routeDashboard + "/listings/edit"

func init() {
	flashes["edited"] = "Your listing is updated."
	flashes["closed"] = "The listing is closed: it has left the market."
	flashes["deleted"] = "The announcement is deleted."
	flashes["announcement-edited"] = "The announcement is updated; followers see the edit."
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		r.HandleFunc(routeListingEdit, s.getEditListing).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(routeListingEdit, s.postEditListing).Methods(http.MethodPost)
		r.HandleFunc(routeDashboard+"/listings/close", s.uiPost(s.uiCloseListing)).Methods(http.MethodPost)
		r.HandleFunc(routeDashboard+"/announcements/delete", s.uiPost(s.uiDeleteAnnouncement)).Methods(http.MethodPost)
		r.HandleFunc(routeDashboard+"/announcements/edit", s.uiPost(s.uiEditAnnouncement)).Methods(http.MethodPost)
	})
}

// listingForm fills the listing form with a listing's values.
func listingForm(l *coopfed.Listing) *form {
	v := map[string]string{
		"listing": l.IRI, "kind": l.Kind, "title": l.Title, "description": l.Description, "category": l.Category,
		"quantity_value": coopfed.FormatNumber(l.Quantity.Value), "quantity_unit": l.Quantity.Unit,
	}
	if a := l.Available; a != nil {
		v["available_value"] = coopfed.FormatNumber(a.Value)
	}
	if r := l.Reciprocal; r != nil && r.Kind == coopfed.ReciprocalPrice {
		v["price_amount"], v["price_currency"] = r.Price.Amount, r.Price.Currency
	}
	if p := l.Place; p != nil {
		v["place_name"] = p.Name
		if p.HasCoordinates() {
			v["latitude"], v["longitude"] = coopfed.FormatNumber(*p.Latitude), coopfed.FormatNumber(*p.Longitude)
		}
	}
	if l.ValidUntil != nil {
		v["valid_until"] = l.ValidUntil.UTC().Format("2006-01-02")
	}
	return &form{Values: v, Errors: map[string]string{}}
}

// ownListingPage loads a listing of the session's coop for its edit page.
func (s *Server) ownListingPage(r *http.Request, sess *store.Session, iri string) (*coopfed.Listing, error) {
	l, err := s.store.ListingByIRI(r.Context(), iri)
	if err != nil {
		return nil, err
	}
	// Why: the edit page must not show another coop's listing as if it
	// could be changed; it is reported as missing.
	if l.CoopID != sess.Coop.ID || l.Deleted {
		return nil, coopfed.Errorf(coopfed.ENOTFOUND, "listing not found")
	}
	return l, nil
}

func (s *Server) editListingPage(w http.ResponseWriter, sess *store.Session, status int, l *coopfed.Listing, f *form) {
	s.page(w, status, "listing_edit", map[string]any{
		"Me": sess.Member, "Coop": sess.Coop, "CSRF": sess.CSRF, "Action": dashboardURL(sess.Coop.Name),
		"L": l, "Headline": federation.ListingHeadline(l), "Form": f, "Open": l.State == coopfed.ListingOpen,
	})
}

func (s *Server) getEditListing(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	l, err := s.ownListingPage(r, sess, r.URL.Query().Get("listing"))
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	s.editListingPage(w, sess, http.StatusOK, l, listingForm(l))
}

// postEditListing changes a listing through the same function as PATCH
// /api/v1/listings/{id}; the kind cannot change.
func (s *Server) postEditListing(w http.ResponseWriter, r *http.Request) {
	sess := s.memberSession(w, r)
	if sess == nil {
		return
	}
	f := newForm(r, append(listingFormFields, "listing")...)
	l, err := s.ownListingPage(r, sess, f.Values["listing"])
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	f.Values["kind"] = l.Kind
	in, fields := f.listingInput(true)
	if len(in.Quantity) == 0 {
		fields["quantity"] = "give a quantity and its unit, such as 200 kilogram"
	}
	_, err = s.fed.EditListing(r.Context(), sess.Coop, l.IRI, func(l *coopfed.Listing) error {
		in.apply(l, false, fields)
		return coopfed.FieldErrors(fields)
	})
	if err != nil {
		s.editListingPage(w, sess, f.absorb(err, listingFields), l, f)
		return
	}
	http.Redirect(w, r, dashboardURL(sess.Coop.Name)+"?done=edited", http.StatusSeeOther)
}

func (s *Server) uiCloseListing(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "listing")
	if f.Values["listing"] == "" {
		f.Problem = "No listing was chosen."
		return "", "listings", f, http.StatusUnprocessableEntity
	}
	if _, err := s.fed.CloseListing(r.Context(), sess.Coop, f.Values["listing"]); err != nil {
		status := f.absorb(err, nil)
		if status == http.StatusForbidden {
			status = http.StatusNotFound // another coop's listing: not ours to name
		}
		return "", "listings", f, status
	}
	return "closed", "", nil, 0
}

func (s *Server) uiDeleteAnnouncement(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "note")
	if !requireAdmin(sess, f) {
		return "", "announcements", f, http.StatusForbidden
	}
	iri := f.Values["note"]
	// Why: only announcements are deleted here; listings and motions have
	// their own rules and pages.
	if o, err := s.store.ObjectByIRI(r.Context(), iri); err != nil || o.Type != "Note" || o.CoopID != sess.Coop.ID {
		f.Problem = "No such announcement of this coop."
		return "", "announcements", f, http.StatusNotFound
	}
	if err := s.fed.DeleteObject(r.Context(), sess.Coop, iri); err != nil {
		return "", "announcements", f, f.absorb(err, nil)
	}
	return "deleted", "", nil, 0
}

// uiEditAnnouncement changes the text of one of the coop's announcements;
// a field error shows again in that announcement's edit form.
func (s *Server) uiEditAnnouncement(w http.ResponseWriter, r *http.Request, sess *store.Session) (string, string, *form, int) {
	f := newForm(r, "note", "content")
	if !requireAdmin(sess, f) {
		return "", "announcements", f, http.StatusForbidden
	}
	iri := f.Values["note"]
	// Why: only the coop's own live announcements are edited here; a
	// listing has its own edit page and rules.
	if o, err := s.store.ObjectByIRI(r.Context(), iri); err != nil || o.Type != "Note" || o.CoopID != sess.Coop.ID || o.DeletedAt != nil {
		f.Problem = "No such announcement of this coop."
		return "", "announcements", f, http.StatusNotFound
	}
	if _, err := s.fed.EditNote(r.Context(), sess.Coop, iri, f.Values["content"]); err != nil {
		return "", announcementEditForm, f, f.absorb(err, nil)
	}
	return "announcement-edited", "", nil, 0
}

// announcementEditForm names the edit form of one announcement; its "note"
// value says which.
const announcementEditForm = "announcement-edit"

// announcementRow is an announcement on the members' page, with its edit
// form (the stored text, or what was sent with its errors).
type announcementRow struct {
	IRI, Text string
	Published time.Time
	Edit      *form
}

// announcementRows lists the coop's latest announcements as short text.
func (s *Server) announcementRows(r *http.Request, c *coopfed.Coop, edit *form) ([]announcementRow, error) {
	objs, err := s.store.Objects(r.Context(), store.ObjectFilter{CoopID: c.ID, Type: "Note", Limit: 20})
	if err != nil {
		return nil, err
	}
	out := make([]announcementRow, 0, len(objs))
	for _, o := range objs {
		text := strings.TrimSpace(stripTags(o.Content))
		if rs := []rune(text); len(rs) > 120 {
			text = string(rs[:119]) + "…"
		}
		f := &form{Values: map[string]string{"note": o.IRI, "content": o.Content}, Errors: map[string]string{}}
		if edit != nil && edit.Values["note"] == o.IRI {
			f = edit
		}
		out = append(out, announcementRow{IRI: o.IRI, Text: text, Published: o.Published, Edit: f})
	}
	return out, nil
}

// stripTags drops the markup of stored HTML for a one-line summary; the
// template escapes what is left.
func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
			b.WriteRune(' ')
		case !in:
			b.WriteRune(r)
		}
	}
	return html.UnescapeString(strings.Join(strings.Fields(b.String()), " "))
}
