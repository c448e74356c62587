package plot

import (
	"fmt"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// BarChart draws one bar per label (utilisation per node, for example).
// With many bars only every k-th label is printed, so the labels stay
// legible.
type BarChart struct {
	Title, XLabel, YLabel string
	Labels                []string
	Values                []float64
	Ref                   *RefLine // optional horizontal line, e.g. the mean
	Size                  Size
}

// FigureSize implements Figure.
func (b BarChart) FigureSize() Size { return b.Size.or(DefaultSize) }

// Draw implements Figure.
func (b BarChart) Draw(dc draw.Canvas) error {
	p, err := b.plot(dc)
	if err != nil {
		return err
	}
	return drawPlot(p, dc)
}

func (b BarChart) plot(dc draw.Canvas) (*gplot.Plot, error) {
	if len(b.Values) == 0 {
		return nil, fmt.Errorf("bar chart %q: no values", b.Title)
	}
	if len(b.Labels) != len(b.Values) {
		return nil, fmt.Errorf("bar chart %q: %d labels for %d values", b.Title, len(b.Labels), len(b.Values))
	}
	for i, v := range b.Values {
		if !finite(v) {
			return nil, fmt.Errorf("bar chart %q: value %d (%s) is %v", b.Title, i, b.Labels[i], v)
		}
	}
	p := newPlot(b.Title, b.XLabel, b.YLabel)
	// Bars fill 80 % of their slot; the slot width is the data width over
	// the number of bars (the axes take roughly 60 points).
	slot := (dc.Max.X - dc.Min.X - vg.Points(60)) / vg.Length(len(b.Values))
	width := slot * 0.8
	if width < vg.Points(0.5) {
		width = vg.Points(0.5)
	}
	bars, err := plotter.NewBarChart(plotter.Values(b.Values), width)
	if err != nil {
		return nil, fmt.Errorf("bar chart %q: %w", b.Title, err)
	}
	bars.Color = plotutil.Color(0)
	bars.LineStyle.Width = 0
	p.Add(plotter.NewGrid(), bars)
	p.X.Tick.Marker = everyKth(b.Labels, 40)
	if b.Ref != nil {
		if !finite(b.Ref.Y) {
			return nil, fmt.Errorf("bar chart %q: reference line at y=%v", b.Title, b.Ref.Y)
		}
		f := plotter.NewFunction(func(float64) float64 { return b.Ref.Y })
		f.Color = plotutil.Color(1)
		f.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		f.Samples = 2
		p.Add(f)
		if b.Ref.Label != "" {
			p.Legend.Add(b.Ref.Label, f)
			p.Legend.Top = true
		}
		p.Y.Max = max(p.Y.Max, b.Ref.Y)
		p.Y.Min = min(p.Y.Min, b.Ref.Y)
	}
	return p, nil
}

// everyKth labels the category positions 0..n-1 with names, printing at
// most about limit of them.
func everyKth(names []string, limit int) gplot.Ticker {
	k := max(1, (len(names)+limit-1)/limit)
	ticks := make(gplot.ConstantTicks, len(names))
	for i, n := range names {
		ticks[i] = gplot.Tick{Value: float64(i)}
		if i%k == 0 {
			ticks[i].Label = n
		}
	}
	return ticks
}
