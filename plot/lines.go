package plot

import (
	"fmt"
	"image/color"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one named curve. Lower and Upper, if set, must have the length
// of X and bound a shaded band around Y (a confidence interval across
// seeds, for example). A series without a name has no legend entry.
type Series struct {
	Name         string
	X, Y         []float64
	Lower, Upper []float64
	// Style, if set, fixes the series' look; nil: by its position.
	Style *Style
}

// Style fixes how a series looks instead of leaving it to the series'
// position in the chart, so that one thing keeps one colour across figures
// (a role, an attack) and two series can share a colour and differ by dash
// (an attack with the mechanism on and off).
type Style struct {
	Color  color.Color // nil: the colour of the series' position
	Dashed bool        // dashed; a styled series is otherwise solid
}

// dashes is the dash pattern of a Style's dashed line.
var dashes = []vg.Length{vg.Points(5), vg.Points(3)}

// Palette is the i-th colour of the palette that series, bars and groups
// take by position (it cycles), for callers that colour things by a fixed
// order of their own through Style.
func Palette(i int) color.Color { return plotutil.Color(i) }

// RefLine is a horizontal reference line, such as the entropy floor of the
// corpus.
type RefLine struct {
	Y     float64
	Label string
}

// LineChart draws several named series against one x axis.
//
// Points that cannot be drawn are dropped: NaN or infinite coordinates,
// and x ≤ 0 (y ≤ 0) on a log x (y) axis. A chart with no point left is an
// error.
type LineChart struct {
	Title, XLabel, YLabel string
	Series                []Series
	LogX, LogY            bool
	XUnit, YUnit          string   // UnitNone or UnitBytes: how tick labels read
	Ref                   *RefLine // optional
	Legend                string   // a Legend* position; default top right
	// YMin and YMax, when YMin < YMax, fix the y axis's range (a share,
	// from 0 to 1) instead of fitting it to the data.
	YMin, YMax float64
	Size       Size
}

// FigureSize implements Figure.
func (c LineChart) FigureSize() Size { return c.Size.or(DefaultSize) }

// Draw implements Figure.
func (c LineChart) Draw(dc draw.Canvas) error {
	p, err := c.plot()
	if err != nil {
		return err
	}
	return drawWithLegend(p, dc, c.Legend)
}

func (c LineChart) plot() (*gplot.Plot, error) {
	if len(c.Series) == 0 {
		return nil, fmt.Errorf("line chart %q: no series", c.Title)
	}
	for _, u := range []string{c.XUnit, c.YUnit} {
		if err := checkUnit(u); err != nil {
			return nil, fmt.Errorf("line chart %q: %w", c.Title, err)
		}
	}
	keep := func(x, y float64) bool {
		return finite(x) && finite(y) && (!c.LogX || x > 0) && (!c.LogY || y > 0)
	}
	p := newPlot(c.Title, c.XLabel, c.YLabel)
	showLegend, err := placeLegend(p, c.Legend)
	if err != nil {
		return nil, fmt.Errorf("line chart %q: %w", c.Title, err)
	}
	points := 0
	var bands, lines []gplot.Plotter
	for i, s := range c.Series {
		if len(s.Y) != len(s.X) {
			return nil, fmt.Errorf("series %q: %d x values but %d y values", s.Name, len(s.X), len(s.Y))
		}
		hasBand := s.Lower != nil || s.Upper != nil
		if hasBand && (len(s.Lower) != len(s.X) || len(s.Upper) != len(s.X)) {
			return nil, fmt.Errorf("series %q: band needs %d lower and upper values, has %d and %d",
				s.Name, len(s.X), len(s.Lower), len(s.Upper))
		}
		var xys plotter.XYs
		var lo, hi plotter.XYs
		for j := range s.X {
			if !keep(s.X[j], s.Y[j]) {
				continue
			}
			xys = append(xys, plotter.XY{X: s.X[j], Y: s.Y[j]})
			if hasBand && keep(s.X[j], s.Lower[j]) && keep(s.X[j], s.Upper[j]) {
				lo = append(lo, plotter.XY{X: s.X[j], Y: s.Lower[j]})
				hi = append(hi, plotter.XY{X: s.X[j], Y: s.Upper[j]})
			}
		}
		if len(xys) == 0 {
			continue
		}
		points += len(xys)
		clr := plotutil.Color(i)
		if s.Style != nil && s.Style.Color != nil {
			clr = s.Style.Color
		}
		if len(lo) > 1 {
			ring := make(plotter.XYs, 0, 2*len(lo))
			ring = append(ring, hi...)
			for k := len(lo) - 1; k >= 0; k-- {
				ring = append(ring, lo[k])
			}
			poly, err := plotter.NewPolygon(ring)
			if err != nil {
				return nil, fmt.Errorf("series %q band: %w", s.Name, err)
			}
			poly.Color = withAlpha(clr, 0x40)
			poly.LineStyle.Width = 0
			bands = append(bands, poly)
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("series %q: %w", s.Name, err)
		}
		l.Color = clr
		l.Width = vg.Points(1.5)
		switch {
		case s.Style != nil:
			if s.Style.Dashed {
				l.Dashes = dashes
			}
		case i >= 7: // plotutil cycles 7 colours; dashes tell the next ones apart
			l.Dashes = plotutil.Dashes(i / 7)
		}
		lines = append(lines, l)
		if s.Name != "" && showLegend {
			p.Legend.Add(s.Name, l)
		}
	}
	if points == 0 {
		return nil, fmt.Errorf("line chart %q: no drawable points (NaN, infinite, or ≤ 0 on a log axis)", c.Title)
	}
	p.Add(plotter.NewGrid())
	p.Add(bands...) // bands first, so lines stay visible on top
	p.Add(lines...)
	if c.Ref != nil {
		if !finite(c.Ref.Y) || (c.LogY && c.Ref.Y <= 0) {
			return nil, fmt.Errorf("line chart %q: reference line at y=%v cannot be drawn", c.Title, c.Ref.Y)
		}
		f := plotter.NewFunction(func(float64) float64 { return c.Ref.Y })
		f.Color = color.Gray{0x40}
		f.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		f.Width = vg.Points(1)
		f.Samples = 2
		p.Add(f)
		if c.Ref.Label != "" && showLegend {
			p.Legend.Add(c.Ref.Label, f)
		}
		p.Y.Min = math.Min(p.Y.Min, c.Ref.Y)
		p.Y.Max = math.Max(p.Y.Max, c.Ref.Y)
	}
	if c.LogX {
		p.X.Scale = gplot.LogScale{}
		p.X.Tick.Marker = gplot.LogTicks{Prec: -1}
	}
	if c.LogY {
		p.Y.Scale = gplot.LogScale{}
		p.Y.Tick.Marker = gplot.LogTicks{Prec: -1}
	}
	if c.YMin < c.YMax {
		if c.LogY && c.YMin <= 0 {
			return nil, fmt.Errorf("line chart %q: y range [%v, %v] cannot be drawn on a log axis", c.Title, c.YMin, c.YMax)
		}
		p.Y.Min, p.Y.Max = c.YMin, c.YMax
	}
	withUnit(&p.X, c.XUnit)
	withUnit(&p.Y, c.YUnit)
	if p.X.Min == p.X.Max { // a single x: give the axis some width
		widen(&p.X, c.LogX)
	}
	if p.Y.Min == p.Y.Max {
		widen(&p.Y, c.LogY)
	}
	return p, nil
}

// widen opens a degenerate axis range around its single value.
func widen(a *gplot.Axis, log bool) {
	v := a.Min
	switch {
	case log:
		a.Min, a.Max = v/2, v*2
	case v == 0:
		a.Min, a.Max = -1, 1
	default:
		d := math.Abs(v) / 2
		a.Min, a.Max = v-d, v+d
	}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	// NRGBA wants straight (non-premultiplied) colour; plotutil's are opaque.
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: a}
}
