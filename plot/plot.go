// Package plot draws the figures of a run or a sweep with gonum/plot.
//
// Every figure is a plain struct of data (no files, no records needed):
// LineChart for loss curves with confidence bands, Timeline for what each
// node did when, BarChart for per-node quantities, GroupedBars for a metric
// per sweep setting in groups, Heatmap for a metric over two sweep keys, and
// Pareto for loss against bytes with its frontier. Save
// writes a figure as PNG and SVG, each through a temporary file and a
// rename, so a figure on disk is always complete.
//
// Bad data (mismatched lengths, non-positive values on a log axis, empty
// figures) is reported as an error naming the problem; the package never
// lets gonum/plot panic at the caller. Rendering is deterministic: the same
// figure gives the same bytes (fonts are gonum/plot's embedded Liberation
// fonts, not the system's).
package plot

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"os"
	"path/filepath"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Size is the size of a figure. The PNG has Width×Height at DPI dots per
// inch; the SVG has Width×Height in points.
type Size struct {
	Width, Height vg.Length
	DPI           int
}

// DefaultSize is 16 cm × 10 cm at 120 dpi (756×472 pixels).
var DefaultSize = Size{Width: 16 * vg.Centimeter, Height: 10 * vg.Centimeter, DPI: 120}

func (s Size) or(def Size) Size {
	if s.Width <= 0 {
		s.Width = def.Width
	}
	if s.Height <= 0 {
		s.Height = def.Height
	}
	if s.DPI <= 0 {
		s.DPI = def.DPI
	}
	return s
}

// A Figure can be drawn on a canvas. The figures of this package implement
// it; so can callers who compose several.
type Figure interface {
	// Draw validates the figure's data and draws it on c.
	Draw(c draw.Canvas) error
	// FigureSize is the size Save uses.
	FigureSize() Size
}

// Formats are the file formats Save writes, as file extensions.
var Formats = []string{"png", "svg"}

// Save writes f to base+".png" and base+".svg". Each file is written to a
// temporary name in the same directory and renamed, so a failure leaves no
// partial figure. If drawing fails, neither file is written.
func Save(base string, f Figure) error {
	out := make(map[string][]byte, len(Formats))
	for _, format := range Formats {
		b, err := Render(f, format)
		if err != nil {
			return fmt.Errorf("plot: %s: %w", base, err)
		}
		out[format] = b
	}
	for _, format := range Formats {
		if err := writeFileAtomic(base+"."+format, out[format]); err != nil {
			return fmt.Errorf("plot: %w", err)
		}
	}
	return nil
}

// Render draws f in the given format ("png" or "svg") and returns the file
// contents.
func Render(f Figure, format string) (out []byte, err error) {
	if f == nil {
		return nil, errors.New("nil figure")
	}
	size := f.FigureSize().or(DefaultSize)
	var c vg.CanvasWriterTo
	switch format {
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(
			vgimg.UseWH(size.Width, size.Height),
			vgimg.UseDPI(size.DPI),
			vgimg.UseBackgroundColor(color.White),
		)}
	case "svg":
		c = vgsvg.New(size.Width, size.Height)
	default:
		return nil, fmt.Errorf("unknown format %q (want png or svg)", format)
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("drawing failed: %v", r)
		}
	}()
	dc := draw.New(c)
	// The SVG canvas is transparent; paint it white like the PNG.
	dc.FillPolygon(color.White, []vg.Point{dc.Min, {X: dc.Max.X, Y: dc.Min.Y}, dc.Max, {X: dc.Min.X, Y: dc.Max.Y}})
	if err := f.Draw(dc); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// drawPlot draws p on c, turning a gonum/plot panic into an error.
func drawPlot(p *gplot.Plot, c draw.Canvas) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("drawing failed: %v", r)
		}
	}()
	p.Draw(c)
	return nil
}

// drawWithLegend draws p on c with its legend at pos, as placeLegend set it
// up: inside the data area, or beside it (LegendRight), where the plot gives
// up the legend's width and the legend is drawn level with the data area's
// top.
func drawWithLegend(p *gplot.Plot, c draw.Canvas, pos string) (err error) {
	if pos != LegendRight {
		return drawPlot(p, c)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("drawing failed: %v", r)
		}
	}()
	leg := p.Legend
	p.Legend = gplot.NewLegend() // empty: the plot draws none of its own
	width := legendBeside(&leg, c)
	area := draw.Crop(c, 0, -width, 0, 0)
	p.Draw(area)
	data := p.DataCanvas(area)
	strip := draw.Crop(c, c.Max.X-c.Min.X-width+legendGap, 0, 0, 0)
	strip.Min.Y, strip.Max.Y = data.Min.Y, data.Max.Y
	leg.Draw(strip)
	return nil
}

// legendGap is the space either side of a legend beside the data area.
var legendGap = vg.Points(8)

// legendBeside is the width a legend beside the data area takes from c.
func legendBeside(l *gplot.Legend, c draw.Canvas) vg.Length {
	return l.Rectangle(c).Size().X + 2*legendGap
}

// writeFileAtomic writes data to a temporary file next to path and renames
// it into place.
func writeFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// newPlot makes a plot with the package's common look.
func newPlot(title, xLabel, yLabel string) *gplot.Plot {
	p := gplot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Title.Padding = vg.Points(4)
	return p
}

// Legend positions for LineChart.Legend and Pareto.Legend. The legend is
// drawn inside the data area; pick the corner the data leave empty.
const (
	LegendTopRight    = "" // the default
	LegendTopLeft     = "top-left"
	LegendBottomLeft  = "bottom-left"
	LegendBottomRight = "bottom-right"
	// LegendRight puts the legend beside the data area, on the right: it
	// hides no data, at the cost of the data area's width (for lines that
	// fill every corner, like shares that sum to 1).
	LegendRight = "right"
	LegendNone  = "none"
)

// placeLegend applies a legend position; it reports false for "none".
func placeLegend(p *gplot.Plot, pos string) (show bool, err error) {
	switch pos {
	case LegendTopRight:
		p.Legend.Top, p.Legend.Left = true, false
	case LegendTopLeft:
		p.Legend.Top, p.Legend.Left = true, true
	case LegendBottomLeft:
		p.Legend.Top, p.Legend.Left = false, true
	case LegendBottomRight:
		p.Legend.Top, p.Legend.Left = false, false
	case LegendRight:
		p.Legend.Top, p.Legend.Left = true, true // icons first, at the top of their strip
		return true, nil
	case LegendNone:
		return false, nil
	default:
		return false, fmt.Errorf("unknown legend position %q", pos)
	}
	// Keep the legend off the axes.
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(4), -vg.Points(4)
	if p.Legend.Left {
		p.Legend.XOffs = vg.Points(4)
	}
	if !p.Legend.Top {
		p.Legend.YOffs = vg.Points(4)
	}
	return true, nil
}
