package handlers

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store"
	"github.com/gorilla/mux"
)

// maxAPIBody bounds JSON request bodies of the API.
const maxAPIBody = 64 << 10

func (s *Server) routeAPI(r *mux.Router) {
	r.HandleFunc("/coops/{coop}", s.apiHandler(s.apiGetCoop)).Methods(http.MethodGet)
	r.HandleFunc("/coops/{coop}", s.apiHandler(s.apiUpdateCoop)).Methods(http.MethodPatch)
	r.HandleFunc("/coops/{coop}/announcements", s.apiHandler(s.apiCreateAnnouncement)).Methods(http.MethodPost)
	r.HandleFunc("/objects", s.apiHandler(s.apiDeleteObject)).Methods(http.MethodDelete)
	r.HandleFunc("/objects", s.apiHandler(s.apiEditObject)).Methods(http.MethodPatch)
	r.HandleFunc("/coops/{coop}/following", s.apiHandler(s.apiFollow)).Methods(http.MethodPost)
	r.HandleFunc("/coops/{coop}/following", s.apiHandler(s.apiUnfollow)).Methods(http.MethodDelete)
	r.HandleFunc("/coops/{coop}/following", s.apiHandler(s.apiListFollowing)).Methods(http.MethodGet)
	r.HandleFunc("/coops/{coop}/followers", s.apiHandler(s.apiListFollowers)).Methods(http.MethodGet)
	r.HandleFunc("/coops/{coop}/followers/approve", s.apiHandler(s.apiAnswerFollower(true))).Methods(http.MethodPost)
	r.HandleFunc("/coops/{coop}/followers/reject", s.apiHandler(s.apiAnswerFollower(false))).Methods(http.MethodPost)
	r.HandleFunc("/coops/{coop}/timeline", s.apiHandler(s.apiTimeline)).Methods(http.MethodGet)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.error(w, r, notFoundError("no such API endpoint"))
	})
}

// authCoop returns the coop the bearer token grants admin rights on.
func (s *Server) authCoop(r *http.Request) (*coopfed.Coop, error) {
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		return nil, coopfed.Errorf(coopfed.EUNAUTHORIZED, "an Authorization: Bearer token is required")
	}
	return s.store.CoopByToken(r.Context(), strings.TrimSpace(token))
}

// authFor authenticates and checks that the token is for the coop named in
// the path; a token of one coop never acts for another.
func (s *Server) authFor(r *http.Request) (*coopfed.Coop, error) {
	c, err := s.authCoop(r)
	if err != nil {
		return nil, err
	}
	if name := mux.Vars(r)["coop"]; name != "" && name != c.Name {
		if _, err := s.store.CoopByName(r.Context(), name); err != nil {
			return nil, err
		}
		return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "this token is not for coop %s", name)
	}
	return c, nil
}

// decode reads a JSON body into v: JSON media type, size limit, no unknown
// fields, exactly one value.
func decode(r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return coopfed.Errorf(coopfed.EUNSUPPORTED, "send the body as application/json")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAPIBody+1))
	if err != nil {
		return coopfed.Errorf(coopfed.EINVALID, "reading body: %v", err)
	}
	if len(body) > maxAPIBody {
		return coopfed.Errorf(coopfed.ETOOLARGE, "body larger than %d bytes", maxAPIBody)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return coopfed.Errorf(coopfed.EINVALID, "body is not valid JSON for this request: %v", err)
	}
	if dec.More() {
		return coopfed.Errorf(coopfed.EINVALID, "body has data after the JSON value")
	}
	return nil
}

func (s *Server) coopJSON(c *coopfed.Coop) map[string]any {
	return map[string]any{
		"name": c.Name, "handle": c.Name + "@" + s.iris.Host(), "id": s.iris.Coop(c.Name),
		"display_name": c.DisplayName, "summary": c.Summary, "region": c.Region, "locked": c.Locked,
		"payment_links": paymentLinksOut(c.PaymentLinks), "created_at": c.CreatedAt.UTC().Format(time.RFC3339),
	}
}

// paymentLinksOut is a coop's payment links as JSON, [] for none.
func paymentLinksOut(links []coopfed.PaymentLink) []coopfed.PaymentLink {
	if links == nil {
		return []coopfed.PaymentLink{}
	}
	return links
}

func (s *Server) apiGetCoop(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, "application/json; charset=utf-8", s.coopJSON(c))
	return nil
}

// apiUpdateCoop changes the profile fields given (others keep their value)
// and federates the new profile.
func (s *Server) apiUpdateCoop(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in struct {
		DisplayName  *string                `json:"display_name"`
		Summary      *string                `json:"summary"`
		Region       *string                `json:"region"`
		Locked       *bool                  `json:"locked"`
		PaymentLinks *[]coopfed.PaymentLink `json:"payment_links"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.DisplayName != nil {
		c.DisplayName = strings.TrimSpace(*in.DisplayName)
	}
	if in.Summary != nil {
		c.Summary = strings.TrimSpace(*in.Summary)
	}
	if in.Region != nil {
		c.Region = strings.TrimSpace(*in.Region)
	}
	if in.Locked != nil {
		c.Locked = *in.Locked
	}
	if in.PaymentLinks != nil {
		c.PaymentLinks = nil
		for _, l := range *in.PaymentLinks {
			c.PaymentLinks = append(c.PaymentLinks, coopfed.PaymentLink{Name: strings.TrimSpace(l.Name), Href: strings.TrimSpace(l.Href)})
		}
	}
	if err := s.fed.UpdateProfile(r.Context(), c); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, "application/json; charset=utf-8", s.coopJSON(c))
	return nil
}

func (s *Server) apiCreateAnnouncement(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in struct {
		Content string `json:"content"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	n, err := s.fed.PublishNote(r.Context(), c, in.Content)
	if err != nil {
		return err
	}
	w.Header().Set("Location", n.IRI)
	writeJSON(w, http.StatusCreated, "application/json; charset=utf-8", map[string]any{
		"id": n.IRI, "content": n.Content, "published": n.Published.Format(time.RFC3339),
	})
	return nil
}

func (s *Server) apiDeleteObject(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authCoop(r)
	if err != nil {
		return err
	}
	iri := r.URL.Query().Get("id")
	if iri == "" {
		return coopfed.FieldErrors(map[string]string{"id": "the IRI of the object to delete is required"})
	}
	if err := s.fed.DeleteObject(r.Context(), c, iri); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// apiEditObject changes the text of one of the coop's announcements and
// sends Update(Note) to its followers.
func (s *Server) apiEditObject(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authCoop(r)
	if err != nil {
		return err
	}
	iri := r.URL.Query().Get("id")
	if iri == "" {
		return coopfed.FieldErrors(map[string]string{"id": "the IRI of the announcement to edit is required"})
	}
	var in struct {
		Content string `json:"content"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	n, err := s.fed.EditNote(r.Context(), c, iri, in.Content)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, "application/json; charset=utf-8", map[string]any{
		"id": n.IRI, "content": n.Content, "published": n.Published.Format(time.RFC3339),
	})
	return nil
}

func (s *Server) apiFollow(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in struct {
		Handle string `json:"handle"`
		Actor  string `json:"actor"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	target := in.Handle
	if (in.Handle == "") == (in.Actor == "") {
		return coopfed.FieldErrors(map[string]string{"handle": "give either a handle (name@host) or an actor IRI"})
	} else if in.Actor != "" {
		target = in.Actor
	}
	// A remote lookup may be slow; do not let it hold the request forever.
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	f, err := s.fed.Follow(ctx, c, target)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, "application/json; charset=utf-8", followJSON(f.ActorIRI, f.Actor, f.State, f.CreatedAt))
	return nil
}

func (s *Server) apiUnfollow(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	actor := r.URL.Query().Get("actor")
	if actor == "" {
		return coopfed.FieldErrors(map[string]string{"actor": "the actor IRI to unfollow is required"})
	}
	if err := s.fed.Unfollow(r.Context(), c, actor); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func followJSON(actorIRI string, a *coopfed.RemoteActor, state string, since time.Time) map[string]any {
	out := map[string]any{"actor": actorIRI, "state": state, "since": since.UTC().Format(time.RFC3339)}
	if a != nil {
		out["handle"] = a.Handle()
		out["name"] = a.Name
		out["url"] = a.URL
	}
	return out
}

// listParams reads state, limit and cursor (an offset) of a list request.
func listParams(r *http.Request) (store.FollowFilter, error) {
	q := r.URL.Query()
	f := store.FollowFilter{State: q.Get("state"), Limit: 40}
	if f.State != "" && f.State != coopfed.FollowPending && f.State != coopfed.FollowAccepted {
		return f, coopfed.FieldErrors(map[string]string{"state": "pending or accepted"})
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return f, coopfed.FieldErrors(map[string]string{"limit": "a number from 1 to 200"})
		}
		f.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return f, coopfed.FieldErrors(map[string]string{"cursor": "use the next_cursor of the previous page"})
		}
		f.Offset = n
	}
	return f, nil
}

func listJSON(items []map[string]any, f store.FollowFilter) map[string]any {
	out := map[string]any{"items": items}
	if len(items) == f.Limit {
		out["next_cursor"] = strconv.Itoa(f.Offset + f.Limit)
	}
	return out
}

func (s *Server) apiListFollowers(w http.ResponseWriter, r *http.Request) error {
	return s.apiListFollows(w, r, func(ctx context.Context, f store.FollowFilter) ([]map[string]any, error) {
		list, err := s.store.Followers(ctx, f)
		items := make([]map[string]any, 0, len(list))
		for _, x := range list {
			items = append(items, followJSON(x.ActorIRI, x.Actor, x.State, x.CreatedAt))
		}
		return items, err
	})
}

func (s *Server) apiListFollowing(w http.ResponseWriter, r *http.Request) error {
	return s.apiListFollows(w, r, func(ctx context.Context, f store.FollowFilter) ([]map[string]any, error) {
		list, err := s.store.Followings(ctx, f)
		items := make([]map[string]any, 0, len(list))
		for _, x := range list {
			items = append(items, followJSON(x.ActorIRI, x.Actor, x.State, x.CreatedAt))
		}
		return items, err
	})
}

// apiListFollows answers a followers or following list: authenticate, read
// the list parameters, load one page.
func (s *Server) apiListFollows(w http.ResponseWriter, r *http.Request, load func(context.Context, store.FollowFilter) ([]map[string]any, error)) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	f, err := listParams(r)
	if err != nil {
		return err
	}
	f.CoopID = c.ID
	items, err := load(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, "application/json; charset=utf-8", listJSON(items, f))
	return nil
}

func (s *Server) apiAnswerFollower(approve bool) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.authFor(r)
		if err != nil {
			return err
		}
		var in struct {
			Actor string `json:"actor"`
		}
		if err := decode(r, &in); err != nil {
			return err
		}
		if in.Actor == "" {
			return coopfed.FieldErrors(map[string]string{"actor": "the follower's actor IRI is required"})
		}
		if approve {
			err = s.fed.ApproveFollower(r.Context(), c, in.Actor)
		} else {
			err = s.fed.RejectFollower(r.Context(), c, in.Actor)
		}
		if err != nil {
			return err
		}
		state := "rejected"
		if approve {
			state = coopfed.FollowAccepted
		}
		writeJSON(w, http.StatusOK, "application/json; charset=utf-8", map[string]any{"actor": in.Actor, "state": state})
		return nil
	}
}

func (s *Server) apiTimeline(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.TimelineFilter{CoopID: c.ID, Limit: 40}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return coopfed.FieldErrors(map[string]string{"limit": "a number from 1 to 200"})
		}
		f.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return coopfed.FieldErrors(map[string]string{"cursor": "use the next_cursor of the previous page"})
		}
		f.Before = n
	}
	items, err := s.store.Timeline(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		m := map[string]any{
			"id": it.ObjectIRI, "type": it.ObjectType, "actor": it.ActorIRI, "content": it.Content,
			"url": it.URL, "published": it.Published.Format(time.RFC3339), "activity": it.ActivityIRI,
		}
		if it.Summary != "" {
			m["summary"] = it.Summary
		}
		if it.InReplyTo != "" {
			m["in_reply_to"] = it.InReplyTo
		}
		if it.Updated != nil {
			m["updated"] = it.Updated.Format(time.RFC3339)
		}
		out = append(out, m)
	}
	resp := map[string]any{"items": out}
	if len(items) == f.Limit {
		resp["next_cursor"] = strconv.FormatInt(items[len(items)-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, "application/json; charset=utf-8", resp)
	return nil
}
