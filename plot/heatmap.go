package plot

import (
	"fmt"
	"image/color"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Heatmap shows a value over a grid of two sweep keys (say density × inner
// steps), with a colour bar and, optionally, the value printed in each
// cell. Values[r][c] belongs to YKeys[r] and XKeys[c]; NaN marks a missing
// run and is drawn grey.
type Heatmap struct {
	Title, XLabel, YLabel string
	ValueLabel            string // colour bar label, e.g. "final eval loss (nats)"
	XKeys, YKeys          []string
	Values                [][]float64
	CellFormat            string // fmt verb for cell labels, e.g. "%.3f"; empty: no labels
	Size                  Size
}

// FigureSize implements Figure.
func (h Heatmap) FigureSize() Size { return h.Size.or(DefaultSize) }

// grid adapts Values to plotter.GridXYZ: column c sits at x = c, row r at
// y = r, matching the nominal axes.
type grid struct{ v [][]float64 }

func (g grid) Dims() (c, r int)   { return len(g.v[0]), len(g.v) }
func (g grid) Z(c, r int) float64 { return g.v[r][c] }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

// colorMap is the heatmaps' colour map: luminance rises steadily from dark
// violet through teal to yellow (the control points of viridis), so order
// survives greyscale printing and the light end never fades into the white
// background.
func colorMap() palette.ColorMap {
	cm, err := moreland.NewLuminance([]color.Color{
		color.NRGBA{0x44, 0x01, 0x54, 0xff},
		color.NRGBA{0x3b, 0x52, 0x8b, 0xff},
		color.NRGBA{0x21, 0x91, 0x8c, 0xff},
		color.NRGBA{0x5e, 0xc9, 0x62, 0xff},
		color.NRGBA{0xfd, 0xe7, 0x25, 0xff},
	})
	if err != nil {
		panic(err) // fixed control points: cannot fail unless they are edited wrongly
	}
	return cm
}

// Draw implements Figure. The map takes the left part of the canvas, the
// colour bar a narrow strip on the right, their data areas aligned.
func (h Heatmap) Draw(dc draw.Canvas) error {
	main, bar, err := h.plots()
	if err != nil {
		return err
	}
	barW := vg.Points(70)
	if h.ValueLabel == "" {
		barW = vg.Points(55)
	}
	left := draw.Crop(dc, 0, -barW, 0, 0)
	right := draw.Crop(dc, dc.Max.X-dc.Min.X-barW, vg.Points(4), 0, 0)
	// Give the colour bar the same vertical data extent as the map.
	md, bd := main.DataCanvas(left), bar.DataCanvas(right)
	right = draw.Crop(right, 0, 0, md.Min.Y-bd.Min.Y, md.Max.Y-bd.Max.Y)
	if err := drawPlot(main, left); err != nil {
		return err
	}
	return drawPlot(bar, right)
}

func (h Heatmap) plots() (main, bar *gplot.Plot, err error) {
	rows, cols := len(h.YKeys), len(h.XKeys)
	if rows == 0 || cols == 0 {
		return nil, nil, fmt.Errorf("heatmap %q: needs at least one x and one y key (have %d, %d)", h.Title, cols, rows)
	}
	if len(h.Values) != rows {
		return nil, nil, fmt.Errorf("heatmap %q: %d rows of values for %d y keys", h.Title, len(h.Values), rows)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for r, row := range h.Values {
		if len(row) != cols {
			return nil, nil, fmt.Errorf("heatmap %q: row %d (%s) has %d values for %d x keys", h.Title, r, h.YKeys[r], len(row), cols)
		}
		for c, v := range row {
			if math.IsInf(v, 0) {
				return nil, nil, fmt.Errorf("heatmap %q: value at (%s, %s) is infinite", h.Title, h.XKeys[c], h.YKeys[r])
			}
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if lo > hi {
		return nil, nil, fmt.Errorf("heatmap %q: every value is missing (NaN)", h.Title)
	}
	if lo == hi { // one distinct value: a colour range of zero width is invalid
		lo, hi = lo-0.5, hi+0.5
	}
	cm := colorMap()
	cm.SetMin(lo)
	cm.SetMax(hi)
	hm := plotter.NewHeatMap(grid{h.Values}, cm.Palette(255))
	hm.Min, hm.Max = lo, hi
	hm.NaN = color.Gray{0xb0}

	main = newPlot(h.Title, h.XLabel, h.YLabel)
	main.Add(hm)
	main.NominalX(h.XKeys...)
	main.NominalY(h.YKeys...)
	main.X.Padding, main.Y.Padding = 0, 0
	main.X.Min, main.X.Max = -0.5, float64(cols)-0.5
	main.Y.Min, main.Y.Max = -0.5, float64(rows)-0.5

	if h.CellFormat != "" {
		xys := make(plotter.XYs, 0, rows*cols)
		var labels []string
		for r, row := range h.Values {
			for c, v := range row {
				if math.IsNaN(v) {
					continue
				}
				xys = append(xys, plotter.XY{X: float64(c), Y: float64(r)})
				labels = append(labels, fmt.Sprintf(h.CellFormat, v))
			}
		}
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
		if err != nil {
			return nil, nil, fmt.Errorf("heatmap %q: %w", h.Title, err)
		}
		for i, xy := range xys {
			v := h.Values[int(xy.Y)][int(xy.X)]
			// Dark text on the light end of the map, light text on the dark end.
			if (v-lo)/(hi-lo) > 0.6 {
				lb.TextStyle[i].Color = color.Black
			} else {
				lb.TextStyle[i].Color = color.White
			}
			lb.TextStyle[i].XAlign = draw.XCenter
			lb.TextStyle[i].YAlign = draw.YCenter
			lb.TextStyle[i].Font.Size = vg.Points(9)
		}
		main.Add(lb)
	}

	barMap := colorMap()
	barMap.SetMin(lo)
	barMap.SetMax(hi)
	bar = gplot.New()
	bar.Add(&plotter.ColorBar{ColorMap: barMap, Vertical: true})
	bar.HideX()
	bar.Y.Padding = 0
	bar.Y.Label.Text = h.ValueLabel
	if h.Title != "" {
		// A blank title of the same font keeps the data areas level.
		bar.Title.Text = " "
		bar.Title.Padding = main.Title.Padding
	}
	return main, bar, nil
}
