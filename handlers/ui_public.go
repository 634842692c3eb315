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
	URL, Title, Outcome string
}

// coopActivity adds to a coop page's data its open offers and needs, its
// open motions and its recent outcomes.
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
	var open []*coopfed.Motion
	var outcomes []outcomeRow
	for _, m := range motions {
		switch m.State {
		case coopfed.MotionOpen:
			open = append(open, m)
		case coopfed.MotionClosed:
			if len(outcomes) < 5 {
				outcomes = append(outcomes, outcomeRow{URL: m.IRI, Title: m.Title, Outcome: coopfed.OutcomeWords(m.Outcome)})
			}
		}
	}
	data["OpenMotions"], data["Outcomes"] = open, outcomes
	return nil
}

// Sizes of the tally chart, in SVG user units; the chart scales to its
// container's width.
const (
	chartWidth  = 320
	chartLabel  = 110 // room for the option's name
	chartRow    = 30
	chartBar    = 20
	chartMargin = 4
)

// tallyChart draws a motion's tally as a horizontal bar chart in inline
// SVG, built on the server so the page needs no script. Option names are
// escaped: they come from members and, for remote motions, from peers.
func tallyChart(res coopfed.Result) template.HTML {
	most := 0
	for _, o := range res.Options {
		most = max(most, o.Votes)
	}
	height := len(res.Options)*chartRow + chartMargin
	var b strings.Builder
	summary := make([]string, 0, len(res.Options))
	for _, o := range res.Options {
		summary = append(summary, fmt.Sprintf("%s: %d", o.Name, o.Votes))
	}
	label := template.HTMLEscapeString("Votes by option. " + strings.Join(summary, ", "))
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-label="%s" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`, label, chartWidth, height)
	fmt.Fprintf(&b, `<title>%s</title>`, label)
	span := chartWidth - chartLabel - 40 // room for the count after the bar
	for i, o := range res.Options {
		y := chartMargin + i*chartRow
		w := 0
		if most > 0 {
			w = o.Votes * span / most
		}
		name := o.Name
		if r := []rune(name); len(r) > 16 {
			name = string(r[:15]) + "…"
		}
		fmt.Fprintf(&b, `<text x="0" y="%d" class="chart-label">%s</text>`, y+chartBar-5, template.HTMLEscapeString(name))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="3" class="chart-bar" data-option="%s" data-votes="%d"></rect>`,
			chartLabel, y, max(w, 1), chartBar, template.HTMLEscapeString(o.Name), o.Votes)
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="chart-count">%d</text>`, chartLabel+max(w, 1)+6, y+chartBar-5, o.Votes)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
