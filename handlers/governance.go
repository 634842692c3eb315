package handlers

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/coopfed/coopfed/store"
	"github.com/gorilla/mux"
)

func init() {
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		api.HandleFunc("/coops/{coop}/members", s.apiHandler(s.apiAddMember)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/members", s.apiHandler(s.apiListMembers)).Methods(http.MethodGet)
		api.HandleFunc("/coops/{coop}/members/{username}", s.apiHandler(s.apiUpdateMember)).Methods(http.MethodPatch)
		api.HandleFunc("/coops/{coop}/members/{username}", s.apiHandler(s.apiRemoveMember)).Methods(http.MethodDelete)
		api.HandleFunc("/coops/{coop}/classes", s.apiHandler(s.apiListClasses)).Methods(http.MethodGet)
		api.HandleFunc("/coops/{coop}/classes", s.apiHandler(s.apiAddClass)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/classes/{class}", s.apiHandler(s.apiDeleteClass)).Methods(http.MethodDelete)
		api.HandleFunc("/coops/{coop}/federations", s.apiHandler(s.apiListFederations)).Methods(http.MethodGet)
		api.HandleFunc("/coops/{coop}/federations", s.apiHandler(s.apiJoinFederation)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/motions", s.apiHandler(s.apiCreateMotion)).Methods(http.MethodPost)
		api.HandleFunc("/coops/{coop}/motions", s.apiHandler(s.apiListMotions)).Methods(http.MethodGet)
		api.HandleFunc("/motions/vote", s.apiHandler(s.apiVote)).Methods(http.MethodPost)
		api.HandleFunc("/motions/close", s.apiHandler(s.apiCloseMotion)).Methods(http.MethodPost)
		api.HandleFunc("/motions/extend", s.apiHandler(s.apiExtendMotion)).Methods(http.MethodPost)
		r.HandleFunc(federation.RouteMotion, s.getMotion).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(federation.RouteCoopMembers, s.getMembers).Methods(http.MethodGet, http.MethodHead)
	})
}

const jsonType = "application/json; charset=utf-8"

func memberJSON(m *coopfed.Member) map[string]any {
	return map[string]any{"username": m.Username, "role": m.Role, "actors": m.Actors, "class": m.Class, "kind": m.Kind, "created_at": m.CreatedAt.UTC().Format(time.RFC3339)}
}

func (s *Server) apiListClasses(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	list, err := s.store.Classes(r.Context(), c.ID)
	if err != nil {
		return err
	}
	items := make([]map[string]any, 0, len(list))
	for _, cl := range list {
		items = append(items, map[string]any{"name": cl.Name, "title": cl.Title})
	}
	writeJSON(w, http.StatusOK, jsonType, map[string]any{"items": items})
	return nil
}

func (s *Server) apiAddClass(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in struct {
		Name  string `json:"name"`
		Title string `json:"title"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	cl := &coopfed.MemberClass{CoopID: c.ID, Name: in.Name, Title: in.Title}
	if err := s.store.Update(r.Context(), func(tx *store.Tx) error { return tx.CreateClass(cl) }); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, jsonType, map[string]any{"name": cl.Name, "title": cl.Title})
	return nil
}

func (s *Server) apiDeleteClass(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	if err := s.store.Update(r.Context(), func(tx *store.Tx) error { return tx.DeleteClass(c.ID, mux.Vars(r)["class"]) }); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiListFederations(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	list, err := s.store.Federations(r.Context(), c.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, jsonType, map[string]any{"items": list})
	return nil
}

// apiJoinFederation makes the coop a member of a federation (a coop of
// coops, by actor IRI or handle): the coop follows it, and the
// federation's motions open internal motions here. The federation's admin
// accepts the coop by adding it as a member of kind coop.
func (s *Server) apiJoinFederation(w http.ResponseWriter, r *http.Request) error {
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
	iri, err := s.fed.JoinFederation(r.Context(), c, in.Actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, jsonType, map[string]any{"actor": iri})
	return nil
}

func (s *Server) apiAddMember(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in struct {
		Username string   `json:"username"`
		Role     string   `json:"role"`
		Actors   []string `json:"actors"`
		Class    string   `json:"class"`
		Kind     string   `json:"kind"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	m := &coopfed.Member{CoopID: c.ID, Username: in.Username, Role: in.Role, Actors: in.Actors, Class: in.Class, Kind: in.Kind}
	if err := s.store.Update(r.Context(), func(tx *store.Tx) error { return tx.CreateMember(m) }); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, jsonType, memberJSON(m))
	return nil
}

func (s *Server) apiListMembers(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	list, err := s.store.Members(r.Context(), c.ID)
	if err != nil {
		return err
	}
	items := make([]map[string]any, 0, len(list))
	for _, m := range list {
		items = append(items, memberJSON(m))
	}
	writeJSON(w, http.StatusOK, jsonType, map[string]any{"items": items})
	return nil
}

func (s *Server) apiUpdateMember(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in struct {
		Role   string    `json:"role"`
		Actors *[]string `json:"actors"`
		Class  *string   `json:"class"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	var actors []string
	if in.Actors != nil {
		actors = append([]string{}, *in.Actors...) // [] unlinks every account
	}
	var m *coopfed.Member
	err = s.store.Update(r.Context(), func(tx *store.Tx) error {
		m, err = tx.UpdateMember(c.ID, mux.Vars(r)["username"], in.Role, actors)
		if err != nil || in.Class == nil {
			return err
		}
		m, err = tx.SetMemberClass(c.ID, m.Username, *in.Class) // "" takes the member out of its class
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, jsonType, memberJSON(m))
	return nil
}

func (s *Server) apiRemoveMember(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	if err := s.store.Update(r.Context(), func(tx *store.Tx) error { return tx.RemoveMember(c.ID, mux.Vars(r)["username"]) }); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// parseTimeField reads an optional RFC 3339 time of a request body.
func parseTimeField(fields map[string]string, name, v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		fields[name] = "an RFC 3339 time, e.g. 2026-05-01T18:00:00Z"
	}
	return t.UTC()
}

func (s *Server) apiCreateMotion(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	var in struct {
		Title     string   `json:"title"`
		Text      string   `json:"text"`
		Kind      string   `json:"kind"`
		Options   []string `json:"options"`
		OpensAt   string   `json:"opens_at"`
		ClosesAt  string   `json:"closes_at"`
		Quorum    *float64 `json:"quorum"`
		Threshold *float64 `json:"threshold"`
		Method    string   `json:"method"`
		Dots      int      `json:"dots"`
		// Discussion publishes the motion for discussion until opens_at;
		// review_at sets its review date; follow_up_of names the motion
		// whose review it follows up.
		Discussion bool   `json:"discussion"`
		ReviewAt   string `json:"review_at"`
		FollowUpOf string `json:"follow_up_of"`
		// class_count is "weighted" (weights per class) or "separate"
		// (a count per class, a majority needed in each); classes names
		// the classes whose members vote.
		ClassCount string                `json:"class_count"`
		Weights    []coopfed.ClassWeight `json:"weights"`
		Classes    []string              `json:"classes"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	fields := map[string]string{}
	m := &coopfed.Motion{Title: in.Title, Text: in.Text, Kind: in.Kind, Options: in.Options, Quorum: 0, Threshold: 0.5, Method: in.Method, Dots: in.Dots,
		Discussed: in.Discussion, FollowUpOf: in.FollowUpOf,
		ClassCount: in.ClassCount, Weights: in.Weights, Classes: in.Classes}
	m.OpensAt = parseTimeField(fields, "opens_at", in.OpensAt)
	m.ClosesAt = parseTimeField(fields, "closes_at", in.ClosesAt)
	if t := parseTimeField(fields, "review_at", in.ReviewAt); !t.IsZero() {
		m.ReviewAt = &t
	}
	if in.Quorum != nil {
		m.Quorum = *in.Quorum
	}
	if in.Threshold != nil {
		m.Threshold = *in.Threshold
	}
	if err := coopfed.FieldErrors(fields); err != nil {
		return err
	}
	if err := s.fed.CreateMotion(r.Context(), c, m); err != nil {
		return err
	}
	w.Header().Set("Location", m.IRI)
	writeJSON(w, http.StatusCreated, jsonType, s.motionJSON(m, coopfed.Tally(m, m.Eligible, nil)))
	return nil
}

// motionJSON is a motion as the API shows it: the tally so far and, once
// closed, the outcome.
func (s *Server) motionJSON(m *coopfed.Motion, res coopfed.Result) map[string]any {
	tally := make([]map[string]any, 0, len(res.Options))
	for _, oc := range res.Options {
		row := map[string]any{"option": oc.Name, "votes": oc.Votes}
		if m.Kind == coopfed.MotionRanked || m.Kind == coopfed.MotionScore {
			row["points"] = oc.Points
		}
		tally = append(tally, row)
	}
	out := map[string]any{
		"id": m.IRI, "title": m.Title, "text": m.Text, "kind": m.Kind, "options": m.Options,
		"opens_at": m.OpensAt.UTC().Format(time.RFC3339), "closes_at": m.ClosesAt.UTC().Format(time.RFC3339),
		"quorum": m.Quorum, "threshold": m.Threshold, "state": m.State, "phase": m.Phase, "discussion": m.Discussed,
		"eligible": m.Eligible, "voters": res.Voters, "tally": tally,
	}
	if m.ReviewAt != nil {
		out["review_at"] = m.ReviewAt.UTC().Format(time.RFC3339)
	}
	if m.ReviewIRI != "" {
		out["review_note"] = m.ReviewIRI
	}
	if m.FollowUpOf != "" {
		out["follow_up_of"] = m.FollowUpOf
	}
	if m.Method != "" {
		out["method"] = m.Method
	}
	if m.ClassCount != "" {
		out["class_count"] = m.ClassCount
	}
	if len(m.Weights) > 0 {
		out["weights"] = m.Weights
	}
	if len(m.Classes) > 0 {
		out["classes"] = m.Classes
	}
	if len(res.Classes) > 0 {
		classes := make([]map[string]any, 0, len(res.Classes))
		for _, cr := range res.Classes {
			counts := make([]map[string]any, 0, len(cr.Options))
			for _, oc := range cr.Options {
				counts = append(counts, map[string]any{"option": oc.Name, "votes": oc.Votes})
			}
			classes = append(classes, map[string]any{"class": cr.Class, "eligible": cr.Eligible, "voters": cr.Voters, "outcome": cr.Outcome, "carried": append([]string{}, cr.Carried...), "tally": counts})
		}
		out["class_tally"] = classes
	}
	if m.MirrorOf != "" {
		out["mirror_of"] = m.MirrorOf
		if m.CastIRI != "" {
			out["cast"] = m.CastIRI
		}
	}
	if m.Dots > 0 {
		out["dots"], out["dots_given"] = m.Dots, res.Dots
	}
	if m.Kind == coopfed.MotionRanked && m.Method == coopfed.MethodIRV {
		rounds := make([]map[string]any, 0, len(res.Rounds))
		for _, rd := range res.Rounds {
			counts := make([]map[string]any, 0, len(rd.Counts))
			for _, oc := range rd.Counts {
				counts = append(counts, map[string]any{"option": oc.Name, "votes": oc.Votes})
			}
			row := map[string]any{"round": rd.Number, "counts": counts, "continuing": rd.Continuing, "exhausted": rd.Exhausted, "eliminated": append([]string{}, rd.Eliminated...)}
			if rd.Elected != "" {
				row["elected"] = rd.Elected
			}
			if rd.Note != "" {
				row["note"] = rd.Note
			}
			rounds = append(rounds, row)
		}
		out["rounds"], out["exhausted"] = rounds, res.Exhausted
	}
	if m.State == coopfed.MotionClosed {
		out["outcome"] = m.Outcome
		out["outcome_text"] = m.OutcomeText
		out["outcome_note"] = m.OutcomeIRI
		if m.ClosedAt != nil {
			out["closed_at"] = m.ClosedAt.UTC().Format(time.RFC3339)
		}
	}
	return out
}

func (s *Server) apiListMotions(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authFor(r)
	if err != nil {
		return err
	}
	limit := 40
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return coopfed.FieldErrors(map[string]string{"limit": "a number from 1 to 200"})
		}
		limit = n
	}
	list, err := s.store.Motions(r.Context(), c.ID, limit)
	if err != nil {
		return err
	}
	items := make([]map[string]any, 0, len(list))
	for _, m := range list {
		ballots, err := s.store.Ballots(r.Context(), m.ID)
		if err != nil {
			return err
		}
		items = append(items, s.motionJSON(m, coopfed.Tally(m, m.Eligible, ballots)))
	}
	writeJSON(w, http.StatusOK, jsonType, map[string]any{"items": items})
	return nil
}

// motionParam reads the ?id= of a motion action.
// coopMotion authenticates the request's coop and reads the motion it
// names, the prologue of every motion call of the API.
func (s *Server) coopMotion(r *http.Request) (*coopfed.Coop, string, error) {
	c, err := s.authCoop(r)
	if err != nil {
		return nil, "", err
	}
	iri, err := motionParam(r)
	return c, iri, err
}

func motionParam(r *http.Request) (string, error) {
	iri := r.URL.Query().Get("id")
	if iri == "" {
		return "", coopfed.FieldErrors(map[string]string{"id": "the IRI of the motion is required"})
	}
	return iri, nil
}

func (s *Server) apiVote(w http.ResponseWriter, r *http.Request) error {
	c, iri, err := s.coopMotion(r)
	if err != nil {
		return err
	}
	var in struct {
		Member  string   `json:"member"`
		Choices []string `json:"choices"`
		Scores  []struct {
			Option string `json:"option"`
			Points int    `json:"points"`
		} `json:"scores"`
		Reason string `json:"reason"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Member == "" {
		return coopfed.FieldErrors(map[string]string{"member": "the username of the member who votes is required"})
	}
	// choices lists the options in order of preference on a ranked
	// motion; scores gives a score vote's dots.
	b := coopfed.Ballot{Choices: in.Choices, Reason: in.Reason}
	if in.Scores != nil {
		if len(in.Choices) > 0 {
			return coopfed.FieldErrors(map[string]string{"scores": "give choices or scores, not both"})
		}
		b.Choices, b.Points = []string{}, []int{}
		for _, sc := range in.Scores {
			b.Choices, b.Points = append(b.Choices, sc.Option), append(b.Points, sc.Points)
		}
	}
	if err := s.fed.CastVote(r.Context(), c, iri, in.Member, b); err != nil {
		return err
	}
	return s.writeMotion(w, r, iri, http.StatusOK)
}

func (s *Server) writeMotion(w http.ResponseWriter, r *http.Request, iri string, status int) error {
	m, err := s.store.Motion(r.Context(), iri)
	if err != nil {
		return err
	}
	ballots, err := s.store.Ballots(r.Context(), m.ID)
	if err != nil {
		return err
	}
	writeJSON(w, status, jsonType, s.motionJSON(m, coopfed.Tally(m, m.Eligible, ballots)))
	return nil
}

func (s *Server) apiCloseMotion(w http.ResponseWriter, r *http.Request) error {
	c, iri, err := s.coopMotion(r)
	if err != nil {
		return err
	}
	if _, err := s.fed.CloseMotion(r.Context(), c, iri); err != nil {
		return err
	}
	return s.writeMotion(w, r, iri, http.StatusOK)
}

func (s *Server) apiExtendMotion(w http.ResponseWriter, r *http.Request) error {
	c, iri, err := s.coopMotion(r)
	if err != nil {
		return err
	}
	var in struct {
		ClosesAt string `json:"closes_at"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	fields := map[string]string{}
	closes := parseTimeField(fields, "closes_at", in.ClosesAt)
	if in.ClosesAt == "" {
		fields["closes_at"] = "give the new deadline (RFC 3339)"
	}
	if err := coopfed.FieldErrors(fields); err != nil {
		return err
	}
	if _, err := s.fed.ExtendMotion(r.Context(), c, iri, closes); err != nil {
		return err
	}
	return s.writeMotion(w, r, iri, http.StatusOK)
}

// getMotion serves a motion: the Question for ActivityPub clients, a page
// with the tally, the outcome and the discussion for browsers.
func (s *Server) getMotion(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	m, err := s.store.Motion(ctx, s.iris.Motion(mux.Vars(r)["id"]))
	if err != nil {
		s.error(w, r, err)
		return
	}
	c, err := s.store.CoopByID(ctx, m.CoopID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if m.State == coopfed.MotionScheduled && !m.Discussed {
		// Not published yet: nobody outside the coop has seen it.
		s.error(w, r, notFoundError("no such motion"))
		return
	}
	if wantsActivity(r) {
		doc, err := s.fed.MotionDocument(ctx, c, m)
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.writeActivity(w, r, doc)
		return
	}
	ballots, err := s.store.Ballots(ctx, m.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	replies, err := s.store.MotionReplies(ctx, m.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	res := coopfed.Tally(m, m.Eligible, ballots)
	infos, err := s.store.BallotInfos(ctx, m.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	changes, err := s.store.VoteChanges(ctx, m.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	positions := make([]ballotRow, 0, len(infos))
	for _, in := range infos {
		row := ballotRow{Member: in.Username, Reason: in.Reason, Changes: in.Changes, Class: coopfed.ClassWords(in.Class), Coop: in.Kind == coopfed.MemberCoop, Actor: in.Actor}
		for _, b := range ballots {
			if b.MemberID == in.MemberID {
				row.Choices = choiceWords(m, b.Choices, b.Points)
			}
		}
		positions = append(positions, row)
	}
	changeRows := make([]voteChangeRow, 0, len(changes))
	for _, c := range changes {
		var names []string
		var points []int
		for _, v := range c.Choices {
			names = append(names, v.Option)
			if m.Kind == coopfed.MotionScore {
				points = append(points, v.Points)
			}
		}
		changeRows = append(changeRows, voteChangeRow{Member: c.Username, Choices: choiceWords(m, names, points), Reason: c.Reason, CastAt: c.CastAt, ReplacedAt: c.ReplacedAt})
	}
	options := make([]optionRow, 0, len(res.Options))
	for _, oc := range res.Options {
		options = append(options, optionRow{Name: m.OptionWords(oc.Name), Votes: oc.Votes, Points: oc.Points})
	}
	rounds := make([]roundRow, 0, len(res.Rounds))
	for _, rd := range res.Rounds {
		row := roundRow{Number: rd.Number, Continuing: rd.Continuing, Exhausted: rd.Exhausted, Elected: rd.Elected, Eliminated: strings.Join(rd.Eliminated, ", "), Note: rd.Note}
		for _, o := range m.Options {
			cell := "out"
			for _, oc := range rd.Counts {
				if oc.Name == o {
					cell = strconv.Itoa(oc.Votes)
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		rounds = append(rounds, row)
	}
	data := map[string]any{
		"Positions": positions, "Changes": changeRows, "Options": options, "Rounds": rounds,
		"Points": m.Kind == coopfed.MotionRanked || m.Kind == coopfed.MotionScore, "PointsLabel": pointsLabel(m),
		"Coop": c, "Handle": c.Name + "@" + s.iris.Host(), "CoopURL": s.iris.Coop(c.Name),
		"Motion": m, "TextHTML": sanitize.Text(m.Text), "Rules": m.RulesText(), "Result": res,
		"Open": m.State == coopfed.MotionOpen, "Outcome": coopfed.OutcomeWords(m.Outcome),
		"Chart": tallyChart(m, res), "Discussion": m.State == coopfed.MotionScheduled,
		"ClassCharts": classCharts(m, res), "ShowClasses": m.ClassCount != coopfed.CountEveryone || len(m.Classes) > 0,
	}
	if err := s.cycleData(ctx, r, c, m, replies, data); err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "private, no-store") // the forms carry the member's CSRF secret
	s.render(w, r, "motion", data)
}

// Rows of the motion page's tables.
type (
	ballotRow struct {
		Member, Choices, Reason string
		Changes                 int
		// Class is the member's class at opening; Coop marks a member
		// coop of a federation, whose actor Actor is.
		Class string
		Coop  bool
		Actor string
	}
	voteChangeRow struct {
		Member, Choices, Reason string
		CastAt, ReplacedAt      time.Time
	}
	optionRow struct {
		Name          string
		Votes, Points int
	}
	roundRow struct {
		Number, Continuing, Exhausted int
		Cells                         []string // per option: votes, or "out"
		Elected, Eliminated, Note     string
	}
)

// choiceWords writes a ballot as the page shows it: a ranking as
// "A > B", dots as "A 3, B 2", other choices as a list.
func choiceWords(m *coopfed.Motion, choices []string, points []int) string {
	words := make([]string, 0, len(choices))
	for i, c := range choices {
		w := m.OptionWords(c)
		if i < len(points) {
			w += " " + strconv.Itoa(points[i])
		}
		words = append(words, w)
	}
	if m.Kind == coopfed.MotionRanked {
		return strings.Join(words, " > ")
	}
	return strings.Join(words, ", ")
}

// pointsLabel names the points column of a ranked or score tally.
func pointsLabel(m *coopfed.Motion) string {
	switch {
	case m.Kind == coopfed.MotionScore:
		return "Dots"
	case m.Kind == coopfed.MotionRanked && m.Method == coopfed.MethodBorda:
		return "Borda points"
	}
	return "Borda points (for reference)"
}

// getMembers serves a coop's members collection (see
// federation.MembersCollection for who sees the list).
func (s *Server) getMembers(w http.ResponseWriter, r *http.Request) {
	c, err := s.store.CoopByName(r.Context(), mux.Vars(r)["name"])
	if err != nil {
		s.error(w, r, err)
		return
	}
	doc, err := s.fed.MembersCollection(r.Context(), r, c)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Add("Vary", "Signature")
	s.writeActivity(w, r, doc)
}
