package plot

import (
	"fmt"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// GroupedBars draws bars in groups along the x axis: one group per label,
// one bar per series in each group, the series told apart by colour and a
// legend (the round the attackers were caught, one group per attack and one
// bar per share of attackers, say).
//
// A NaN value draws no bar: a missing run, or a quantity that never
// happened. A note, if given, is written above its bar or, where there is no
// bar, just above the axis, so that an absent bar can say why ("never") and
// a drawn one can qualify itself ("2/3").
type GroupedBars struct {
	Title, XLabel, YLabel string
	Groups                []string
	Series                []BarSeries
	Legend                string // a Legend* position; default top right
	Size                  Size
}

// BarSeries is one bar in each group of a GroupedBars.
type BarSeries struct {
	Name   string
	Values []float64 // one per group; NaN: no bar
	Notes  []string  // nil, or one per group; "" writes nothing
}

// FigureSize implements Figure.
func (g GroupedBars) FigureSize() Size { return g.Size.or(DefaultSize) }

// Draw implements Figure.
func (g GroupedBars) Draw(dc draw.Canvas) error {
	p, err := g.plot(dc)
	if err != nil {
		return err
	}
	return drawWithLegend(p, dc, g.Legend)
}

func (g GroupedBars) check() error {
	if len(g.Groups) == 0 || len(g.Series) == 0 {
		return fmt.Errorf("grouped bars %q: needs groups and series (have %d and %d)", g.Title, len(g.Groups), len(g.Series))
	}
	drawn := false
	for _, s := range g.Series {
		if len(s.Values) != len(g.Groups) {
			return fmt.Errorf("grouped bars %q: series %q has %d values for %d groups", g.Title, s.Name, len(s.Values), len(g.Groups))
		}
		if s.Notes != nil && len(s.Notes) != len(g.Groups) {
			return fmt.Errorf("grouped bars %q: series %q has %d notes for %d groups", g.Title, s.Name, len(s.Notes), len(g.Groups))
		}
		for i, v := range s.Values {
			if math.IsInf(v, 0) {
				return fmt.Errorf("grouped bars %q: series %q, group %s is infinite", g.Title, s.Name, g.Groups[i])
			}
			drawn = drawn || !math.IsNaN(v) || (s.Notes != nil && s.Notes[i] != "")
		}
	}
	if !drawn {
		return fmt.Errorf("grouped bars %q: every value is missing (NaN) and nothing is noted", g.Title)
	}
	return nil
}

func (g GroupedBars) plot(dc draw.Canvas) (*gplot.Plot, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	p := newPlot(g.Title, g.XLabel, g.YLabel)
	showLegend, err := placeLegend(p, g.Legend)
	if err != nil {
		return nil, fmt.Errorf("grouped bars %q: %w", g.Title, err)
	}
	p.Add(plotter.NewGrid())
	n := len(g.Series)
	bars := make([]*plotter.BarChart, n)
	notes := make([]*plotter.Labels, n)
	for k, s := range g.Series {
		heights := make(plotter.Values, len(s.Values))
		for i, v := range s.Values {
			if !math.IsNaN(v) {
				heights[i] = v // a missing bar is one of zero height, with no outline
			}
		}
		if bars[k], err = plotter.NewBarChart(heights, 1); err != nil {
			return nil, fmt.Errorf("grouped bars %q: series %q: %w", g.Title, s.Name, err)
		}
		bars[k].Color = plotutil.Color(k)
		bars[k].LineStyle.Width = 0
		p.Add(bars[k])
		if s.Name != "" && showLegend {
			p.Legend.Add(s.Name, bars[k])
		}
		if notes[k], err = barNotes(s, heights); err != nil {
			return nil, fmt.Errorf("grouped bars %q: series %q: %w", g.Title, s.Name, err)
		}
		if notes[k] != nil {
			p.Add(notes[k])
		}
	}
	// A group fills 80 % of its slot, shared by its bars; the slot width is
	// the data width over the number of groups (the axes take about 60
	// points, a legend beside the data its own width).
	dataW := dc.Max.X - dc.Min.X - vg.Points(60)
	if g.Legend == LegendRight {
		dataW -= legendBeside(&p.Legend, dc)
	}
	width := max(dataW/vg.Length(len(g.Groups))*0.8/vg.Length(n), vg.Points(0.5))
	for k := range bars {
		bars[k].Width = width
		bars[k].Offset = (vg.Length(k) - vg.Length(n-1)/2) * width
		if notes[k] != nil {
			notes[k].Offset.X = bars[k].Offset
		}
	}
	p.X.Tick.Marker = everyKth(g.Groups, 40)
	p.X.Min, p.X.Max = -0.5, float64(len(g.Groups))-0.5
	if p.Y.Min == p.Y.Max { // only notes: give them an axis to stand on
		p.Y.Min, p.Y.Max = 0, 1
	}
	return p, nil
}

// barNotes places a series' notes just above its bars, centred on the
// group (the caller shifts them onto the bars); nil when it has none.
func barNotes(s BarSeries, heights plotter.Values) (*plotter.Labels, error) {
	var at plotter.XYs
	var text []string
	for i, note := range s.Notes {
		if note != "" {
			at = append(at, plotter.XY{X: float64(i), Y: math.Max(heights[i], 0)})
			text = append(text, note)
		}
	}
	if len(at) == 0 {
		return nil, nil
	}
	lb, err := plotter.NewLabels(plotter.XYLabels{XYs: at, Labels: text})
	if err != nil {
		return nil, err
	}
	for i := range lb.TextStyle {
		lb.TextStyle[i].XAlign = draw.XCenter
		lb.TextStyle[i].Font.Size = vg.Points(7)
	}
	lb.Offset.Y = vg.Points(2)
	return lb, nil
}
