package handlers

import (
	"fmt"
	"html/template"
	"strings"
)

// Charts drawn on the server as inline SVG, so pages need no script and
// read on any phone. Every text is escaped: names come from members and
// peers.

// chartBar is one bar of a horizontal bar chart.
type chartBar struct {
	Name  string
	Value float64
	Text  string // what is written after the bar; the value when empty
}

// barChart draws bars side by side with their names, scaled to the
// largest; label says in words what it shows, for screen readers.
func barChart(label string, bars []chartBar) template.HTML {
	return barChartAttrs(label, bars, "data-name", "data-value")
}

// barChartAttrs is barChart with the names of the attributes that carry
// each bar's name and value (pages and tests read them).
func barChartAttrs(label string, bars []chartBar, nameAttr, valueAttr string) template.HTML {
	most := 0.0
	summary := make([]string, 0, len(bars))
	for i, b := range bars {
		most = max(most, b.Value)
		if bars[i].Text == "" {
			bars[i].Text = trimFloat(b.Value)
		}
		summary = append(summary, b.Name+": "+bars[i].Text)
	}
	alt := template.HTMLEscapeString(label + ". " + strings.Join(summary, ", "))
	height := len(bars)*chartRow + chartMargin
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-label="%s" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`, alt, chartWidth, height)
	fmt.Fprintf(&b, `<title>%s</title>`, alt)
	span := float64(chartWidth - chartLabel - 48) // room for the text after the bar
	for i, bar := range bars {
		y := chartMargin + i*chartRow
		w := 1
		if most > 0 {
			w = max(1, int(bar.Value*span/most))
		}
		name := bar.Name
		if r := []rune(name); len(r) > 16 {
			name = string(r[:15]) + "…"
		}
		fmt.Fprintf(&b, `<text x="0" y="%d" class="chart-label">%s</text>`, y+chartBarHeight-5, template.HTMLEscapeString(name))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="3" class="chart-bar" %s="%s" %s="%s"></rect>`,
			chartLabel, y, w, chartBarHeight, nameAttr, template.HTMLEscapeString(bar.Name), valueAttr, trimFloat(bar.Value))
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="chart-count">%s</text>`, chartLabel+w+6, y+chartBarHeight-5, template.HTMLEscapeString(bar.Text))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// chartSeries is one series of a month chart.
type chartSeries struct {
	Name   string
	Values []float64 // one a month
	Class  string    // chart-bar or chart-bar-alt
}

// monthChart draws one column per month and series, scaled to the
// largest value, with the months under them.
func monthChart(label string, months []string, series []chartSeries) template.HTML {
	const height, base, top = 150, 120, 10
	most := 0.0
	parts := make([]string, 0, len(series))
	for _, s := range series {
		var nums []string
		for i, v := range s.Values {
			most = max(most, v)
			if v != 0 {
				nums = append(nums, months[i]+" "+trimFloat(v))
			}
		}
		if len(nums) == 0 {
			nums = append(nums, "none")
		}
		parts = append(parts, s.Name+": "+strings.Join(nums, ", "))
	}
	alt := template.HTMLEscapeString(label + ". " + strings.Join(parts, "; "))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-label="%s" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`, alt, chartWidth, height)
	fmt.Fprintf(&b, `<title>%s</title>`, alt)
	slot := float64(chartWidth) / float64(max(1, len(months)))
	col := slot * 0.8 / float64(max(1, len(series)))
	for i, m := range months {
		x0 := float64(i)*slot + slot*0.1
		for k, s := range series {
			v := 0.0
			if i < len(s.Values) {
				v = s.Values[i]
			}
			h := 0.0
			if most > 0 {
				h = v * float64(base-top) / most
			}
			class := s.Class
			if class == "" {
				class = "chart-bar"
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="%s" data-series="%s" data-month="%s" data-value="%s"></rect>`,
				x0+float64(k)*col, float64(base)-h, col, max(h, 0.5), class, template.HTMLEscapeString(s.Name), m, trimFloat(v))
		}
		if i%2 == 0 || len(months) <= 6 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="chart-label chart-month">%s</text>`, x0, base+16, m[2:])
		}
	}
	fmt.Fprintf(&b, `<text x="0" y="%d" class="chart-label">0 to %s</text>`, base+34, trimFloat(most))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// trimFloat writes a number without trailing zeros: 3, 2.5, 0.33.
func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" || s == "-0" {
		return "0"
	}
	return s
}
