package handlers

import (
	"html/template"
	"net/http"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/gorilla/mux"
)

// Open statistics of the federation: an instance's and each of its
// groups' figures, as JSON for machines and a page with charts for
// people. Aggregates only: nothing about one member, vote or trade.

func init() {
	featureRoutes = append(featureRoutes, func(s *Server, r, api *mux.Router) {
		api.HandleFunc("/statistics", s.apiHandler(s.apiStatistics)).Methods(http.MethodGet)
		api.HandleFunc("/groups/{group}/statistics", s.apiHandler(s.apiGroupStatistics)).Methods(http.MethodGet)
		r.HandleFunc(federation.RouteStatistics, s.getStatistics).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc(federation.RouteGroup+"/statistics", s.getGroupStatistics).Methods(http.MethodGet, http.MethodHead)
	})
}

// statisticsJSON writes figures as the API serves them.
func statisticsJSON(scope string, st *coopfed.Statistics, group bool, now time.Time) map[string]any {
	offers, needs := st.OpenTotals()
	cats := make([]map[string]any, 0, len(st.Open))
	for _, c := range st.Open {
		cats = append(cats, map[string]any{"kind": c.Kind, "category": c.Category, "count": c.Count})
	}
	months := make([]map[string]any, 0, len(st.Months))
	for _, m := range st.Months {
		row := map[string]any{"month": m.Month}
		if group {
			row["listings_relayed"] = m.Relayed
		} else {
			row["trades_agreed"], row["trades_fulfilled"], row["motions_held"] = m.Agreed, m.Fulfilled, m.Motions
			row["turnout"] = float64(int64(m.Turnout*1000+0.5)) / 1000
		}
		months = append(months, row)
	}
	out := map[string]any{
		"scope": scope, "generated_at": now.UTC().Format(time.RFC3339), "active_days": coopfed.ActiveDays,
		"coops": st.Coops, "active_coops": st.ActiveCoops,
		"open":   map[string]any{"offers": offers, "needs": needs, "by_category": cats},
		"months": months,
	}
	if !group {
		volume := make([]map[string]any, 0, len(st.Volume))
		for _, v := range st.Volume {
			volume = append(volume, map[string]any{"unit": v.Unit, "quantity": v.Quantity, "trades": v.Trades})
		}
		out["volume"] = volume
	}
	return out
}

func (s *Server) apiStatistics(w http.ResponseWriter, r *http.Request) error {
	now := s.store.Now()
	st, err := s.store.InstanceStatistics(r.Context(), now)
	if err != nil {
		return err
	}
	cors(w)
	writeJSON(w, http.StatusOK, marketJSON, statisticsJSON(s.iris.Base(), st, false, now))
	return nil
}

func (s *Server) apiGroupStatistics(w http.ResponseWriter, r *http.Request) error {
	g, err := s.store.GroupByName(r.Context(), mux.Vars(r)["group"])
	if err != nil {
		return err
	}
	now := s.store.Now()
	st, err := s.store.GroupStatistics(r.Context(), g.ID, now)
	if err != nil {
		return err
	}
	cors(w)
	writeJSON(w, http.StatusOK, marketJSON, statisticsJSON(s.iris.Group(g.Name), st, true, now))
	return nil
}

// statisticsCharts draws a set of figures for the page.
func statisticsCharts(st *coopfed.Statistics, group bool) map[string]template.HTML {
	months := make([]string, len(st.Months))
	for i, m := range st.Months {
		months[i] = m.Month
	}
	series := func(f func(coopfed.MonthFigures) float64) []float64 {
		out := make([]float64, len(st.Months))
		for i, m := range st.Months {
			out[i] = f(m)
		}
		return out
	}
	charts := map[string]template.HTML{}
	var offers, needs []chartBar
	for _, c := range st.Open {
		name := c.Category
		if name == "" {
			name = "(none)"
		}
		if c.Kind == coopfed.ListingOffer {
			offers = append(offers, chartBar{Name: name, Value: float64(c.Count)})
		} else {
			needs = append(needs, chartBar{Name: name, Value: float64(c.Count)})
		}
	}
	if len(offers) > 0 {
		charts["Offers"] = barChart("Open offers by category", offers)
	}
	if len(needs) > 0 {
		charts["Needs"] = barChart("Open needs by category", needs)
	}
	if group {
		charts["Relayed"] = monthChart("Listings relayed per month", months, []chartSeries{{Name: "relayed", Values: series(func(m coopfed.MonthFigures) float64 { return float64(m.Relayed) })}})
		return charts
	}
	charts["Trades"] = monthChart("Trades per month", months, []chartSeries{
		{Name: "agreed", Values: series(func(m coopfed.MonthFigures) float64 { return float64(m.Agreed) })},
		{Name: "fulfilled", Values: series(func(m coopfed.MonthFigures) float64 { return float64(m.Fulfilled) }), Class: "chart-bar-alt"},
	})
	charts["Motions"] = monthChart("Motions held per month", months, []chartSeries{{Name: "motions", Values: series(func(m coopfed.MonthFigures) float64 { return float64(m.Motions) })}})
	charts["Turnout"] = monthChart("Turnout per month, in percent", months, []chartSeries{{Name: "turnout", Values: series(func(m coopfed.MonthFigures) float64 { return float64(int(m.Turnout*100 + 0.5)) })}})
	var volume []chartBar
	for _, v := range st.Volume {
		volume = append(volume, chartBar{Name: v.Unit, Value: v.Quantity, Text: trimFloat(v.Quantity) + " (" + trimFloat(float64(v.Trades)) + " trades)"})
	}
	if len(volume) > 0 {
		charts["Volume"] = barChart("Quantity traded by unit", volume)
	}
	return charts
}

func (s *Server) getStatistics(w http.ResponseWriter, r *http.Request) {
	now := s.store.Now()
	st, err := s.store.InstanceStatistics(r.Context(), now)
	if err != nil {
		s.error(w, r, err)
		return
	}
	offers, needs := st.OpenTotals()
	s.render(w, r, "statistics", map[string]any{
		"Scope": s.iris.Domain(), "S": st, "Offers": offers, "Needs": needs, "Charts": statisticsCharts(st, false),
		"JSONURL": "/api/v1/statistics", "Group": false, "ActiveDays": coopfed.ActiveDays,
	})
}

func (s *Server) getGroupStatistics(w http.ResponseWriter, r *http.Request) {
	g, err := s.group(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	now := s.store.Now()
	st, err := s.store.GroupStatistics(r.Context(), g.ID, now)
	if err != nil {
		s.error(w, r, err)
		return
	}
	offers, needs := st.OpenTotals()
	s.render(w, r, "statistics", map[string]any{
		"Scope": g.Title(), "ScopeURL": s.iris.Group(g.Name), "S": st, "Offers": offers, "Needs": needs, "Charts": statisticsCharts(st, true),
		"JSONURL": "/api/v1/groups/" + g.Name + "/statistics", "Group": true, "ActiveDays": coopfed.ActiveDays,
	})
}
