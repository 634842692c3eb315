package handlers

import (
	"context"
	"fmt"
	"html/template"
	"strings"

	"github.com/coopfed/coopfed"
)

// outcomeRow is a closed motion as the coop page lists it.
type outcomeRow struct {
	URL, Title, Outcome, Phase string
}

// coopActivity adds to a coop page's data its open offers and needs, its
// motions under discussion and open for votes, its recent outcomes and
// the tasks they became.
func (s *Server) coopActivity(ctx context.Context, c *coopfed.Coop, data map[string]any) error {
	listings, err := s.store.CoopListings(ctx, c.ID, coopfed.ListingOpen, 20, 0)
	if err != nil {
		return err
	}
	data["Listings"] = listingRows(listings)
	motions, err := s.store.Motions(ctx, c.ID, 30)
	if err != nil {
		return err
	}
	var open, discussed []*coopfed.Motion
	var outcomes []outcomeRow
	for _, m := range motions {
		switch m.State {
		case coopfed.MotionScheduled:
			if m.Discussed {
				discussed = append(discussed, m)
			}
		case coopfed.MotionOpen:
			open = append(open, m)
		case coopfed.MotionClosed:
			if len(outcomes) < 5 {
				outcomes = append(outcomes, outcomeRow{URL: m.IRI, Title: m.Title, Outcome: coopfed.OutcomeWords(m.Outcome), Phase: coopfed.PhaseWords(m.Phase)})
			}
		}
	}
	data["OpenMotions"], data["Outcomes"], data["Discussed"] = open, outcomes, discussed
	return s.coopTasks(ctx, c, data)
}

// Sizes of the charts, in SVG user units; a chart scales to its
// container's width.
const (
	chartWidth     = 320
	chartLabel     = 110 // room for a bar's name
	chartRow       = 30
	chartBarHeight = 20
	chartMargin    = 4
)

// classChart is one class's tally on a motion counted by class: a bar
// chart of its votes and its outcome so far.
type classChart struct {
	Class, Outcome   string
	Voters, Eligible int
	Chart            template.HTML
}

// classCharts draws each class's tally of a motion counted by class.
func classCharts(m *coopfed.Motion, res coopfed.Result) []classChart {
	out := make([]classChart, 0, len(res.Classes))
	for _, cr := range res.Classes {
		name := coopfed.ClassWords(cr.Class)
		ch := tallyChart(m, cr.Result)
		// The class's chart names its class for screen readers.
		ch = template.HTML(strings.Replace(string(ch), `aria-label="`, `data-class="`+template.HTMLEscapeString(cr.Class)+`" aria-label="`+template.HTMLEscapeString(name)+`: `, 1))
		out = append(out, classChart{Class: name, Outcome: coopfed.OutcomeWords(cr.Outcome), Voters: cr.Voters, Eligible: cr.Eligible, Chart: ch})
	}
	return out
}

// tallyChart draws a motion's tally as a horizontal bar chart (charts.go).
// Option names are escaped: they come from members and, for remote
// motions, from peers.
//
// A ranked motion counted by instant runoff shows its last round, a Borda
// count or a dot vote the points, other motions the votes.
func tallyChart(m *coopfed.Motion, res coopfed.Result) template.HTML {
	label, counts, points := "Votes by option", res.Options, false
	switch {
	case m.Kind == coopfed.MotionRanked && m.Method == coopfed.MethodIRV && len(res.Rounds) > 0:
		last := res.Rounds[len(res.Rounds)-1]
		label, counts = fmt.Sprintf("Instant runoff, round %d", last.Number), last.Counts
	case m.Kind == coopfed.MotionRanked:
		label, points = "Borda points by option", true
	case m.Kind == coopfed.MotionScore:
		label, points = "Dots by option", true
	}
	bars := make([]chartBar, 0, len(counts))
	for _, o := range counts {
		v := o.Votes
		if points {
			v = o.Points
		}
		bars = append(bars, chartBar{Name: m.OptionWords(o.Name), Value: float64(v)})
	}
	return barChartAttrs(label, bars, "data-option", "data-votes")
}
