package plot

import (
	"fmt"
	"image/color"
	"sort"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Point is one run in a Pareto scatter.
type Point struct {
	X, Y  float64
	Group string // points of one group share colour and glyph (e.g. the strategy)
	Label string // optional text next to the point
}

// Pareto is a scatter of runs (loss against bytes moved, say) with the
// Pareto frontier of the points that minimise both coordinates drawn as a
// line. Points with NaN or infinite coordinates, or x ≤ 0 on a log x axis,
// are dropped.
type Pareto struct {
	Title, XLabel, YLabel string
	Points                []Point
	LogX                  bool
	XUnit                 string // UnitNone or UnitBytes
	Legend                string // a Legend* position; default top right
	Size                  Size
}

// FigureSize implements Figure.
func (pa Pareto) FigureSize() Size { return pa.Size.or(DefaultSize) }

// ParetoFront returns the indices of the points not dominated by another
// point (one at least as small in both X and Y, and smaller in one), sorted
// by increasing X. Of exact duplicates, the first is kept.
func ParetoFront(points []Point) []int {
	idx := make([]int, 0, len(points))
	for i, p := range points {
		if finite(p.X) && finite(p.Y) {
			idx = append(idx, i)
		}
	}
	// By X, then Y, then input order, so ties resolve deterministically.
	sort.SliceStable(idx, func(a, b int) bool {
		pa, pb := points[idx[a]], points[idx[b]]
		if pa.X != pb.X {
			return pa.X < pb.X
		}
		return pa.Y < pb.Y
	})
	var front []int
	for _, i := range idx {
		// Sorted by X: a point is on the front iff its Y beats every Y so far.
		if len(front) == 0 || points[i].Y < points[front[len(front)-1]].Y {
			front = append(front, i)
		}
	}
	return front
}

// Draw implements Figure.
func (pa Pareto) Draw(dc draw.Canvas) error {
	p, err := pa.plot()
	if err != nil {
		return err
	}
	return drawWithLegend(p, dc, pa.Legend)
}

func (pa Pareto) plot() (*gplot.Plot, error) {
	if err := checkUnit(pa.XUnit); err != nil {
		return nil, fmt.Errorf("pareto %q: %w", pa.Title, err)
	}
	var pts []Point
	for _, q := range pa.Points {
		if finite(q.X) && finite(q.Y) && (!pa.LogX || q.X > 0) {
			pts = append(pts, q)
		}
	}
	if len(pts) == 0 {
		return nil, fmt.Errorf("pareto %q: no drawable points", pa.Title)
	}
	p := newPlot(pa.Title, pa.XLabel, pa.YLabel)
	p.Add(plotter.NewGrid())
	showLegend, err := placeLegend(p, pa.Legend)
	if err != nil {
		return nil, fmt.Errorf("pareto %q: %w", pa.Title, err)
	}

	// Groups in order of first appearance.
	var groups []string
	byGroup := map[string]plotter.XYs{}
	for _, q := range pts {
		if _, ok := byGroup[q.Group]; !ok {
			groups = append(groups, q.Group)
		}
		byGroup[q.Group] = append(byGroup[q.Group], plotter.XY{X: q.X, Y: q.Y})
	}

	front := ParetoFront(pts)
	if len(front) > 1 {
		xys := make(plotter.XYs, len(front))
		for i, j := range front {
			xys[i] = plotter.XY{X: pts[j].X, Y: pts[j].Y}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("pareto %q: %w", pa.Title, err)
		}
		l.StepStyle = plotter.PostStep // the front is a staircase: no point lies below it
		l.Color = color.Gray{0x50}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		p.Add(l)
		if showLegend {
			p.Legend.Add("Pareto front", l)
		}
	}
	for i, g := range groups {
		s, err := plotter.NewScatter(byGroup[g])
		if err != nil {
			return nil, fmt.Errorf("pareto %q: %w", pa.Title, err)
		}
		s.Color = plotutil.Color(i)
		s.Shape = plotutil.Shape(i)
		s.Radius = vg.Points(3.5)
		p.Add(s)
		if g != "" && showLegend {
			p.Legend.Add(g, s)
		}
	}
	var lxys plotter.XYs
	var labels []string
	for _, q := range pts {
		if q.Label != "" {
			lxys = append(lxys, plotter.XY{X: q.X, Y: q.Y})
			labels = append(labels, q.Label)
		}
	}
	if len(labels) > 0 {
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: lxys, Labels: labels})
		if err != nil {
			return nil, fmt.Errorf("pareto %q: %w", pa.Title, err)
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Font.Size = vg.Points(7)
		}
		lb.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(2)}
		p.Add(lb)
	}
	if pa.LogX {
		p.X.Scale = gplot.LogScale{}
		p.X.Tick.Marker = gplot.LogTicks{Prec: -1}
	}
	withUnit(&p.X, pa.XUnit)
	if p.X.Min == p.X.Max {
		widen(&p.X, pa.LogX)
	}
	if p.Y.Min == p.Y.Max {
		widen(&p.Y, false)
	}
	return p, nil
}
