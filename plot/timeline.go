package plot

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"sort"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/locosim/locosim/record"
)

// Segment is one activity of one row of a Timeline: a coloured bar from
// Start to End.
type Segment struct {
	Row        int // index into Timeline.Rows
	Kind       string
	Start, End float64
}

// SegmentsFromEvents turns event records into timeline segments, one row per
// node id (row = node).
func SegmentsFromEvents(events []record.Event) []Segment {
	segs := make([]Segment, len(events))
	for i, e := range events {
		segs[i] = Segment{Row: int(e.Node), Kind: e.Kind, Start: e.StartS, End: e.EndS}
	}
	return segs
}

// KindColors are the default colours of the activity kinds.
var KindColors = map[string]color.Color{
	record.KindCompute:  color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, // green
	record.KindUpload:   color.RGBA{0x1f, 0x77, 0xb4, 0xff}, // blue
	record.KindDownload: color.RGBA{0xff, 0x7f, 0x0e, 0xff}, // orange
	record.KindWait:     color.RGBA{0xcc, 0xcc, 0xcc, 0xff}, // light grey
	record.KindFail:     color.RGBA{0xd6, 0x27, 0x28, 0xff}, // red
	record.KindDown:     color.RGBA{0x44, 0x44, 0x44, 0xff}, // dark grey
}

// Timeline is a Gantt chart: one row per node, a coloured segment per
// activity, over the time range [From, To] (the whole range of the segments
// when To ≤ From).
//
// Segments outside the range are skipped and the others clipped to it, so a
// figure of a few rounds of a long run stays small.
type Timeline struct {
	Title    string
	XLabel   string   // default "simulated time (s)"
	Rows     []string // row labels, bottom to top; Segment.Row indexes it
	Segments []Segment
	From, To float64
	// Colors overrides KindColors for some kinds. Kinds with no colour in
	// either get one from a fixed fallback list, in name order.
	Colors map[string]color.Color
	Size   Size // zero: DefaultSize, grown to give each row at least 9 points
}

// FigureSize implements Figure.
func (t Timeline) FigureSize() Size {
	s := t.Size.or(DefaultSize)
	if t.Size.Height <= 0 {
		// Each row needs room for its label; plus space for the title,
		// x axis and legend.
		s.Height = vg.Length(math.Max(float64(s.Height), float64(9*vg.Length(len(t.Rows))+110)))
	}
	return s
}

// Draw implements Figure.
func (t Timeline) Draw(dc draw.Canvas) error {
	p, kinds, colors, err := t.plot()
	if err != nil {
		return err
	}
	// The key sits in a strip under the plot, so it never hides a row.
	const keyH = 18
	if err := drawPlot(p, draw.Crop(dc, 0, 0, keyH, 0)); err != nil {
		return err
	}
	key := dc
	key.Max.Y = key.Min.Y + keyH
	drawKeyRow(key, kinds, colors)
	return nil
}

// clip validates the segments and returns those in the time range, clipped
// to it, with the range itself.
func (t Timeline) clip() (segs []Segment, from, to float64, err error) {
	if len(t.Rows) == 0 {
		return nil, 0, 0, fmt.Errorf("timeline %q: no rows", t.Title)
	}
	from, to = t.From, t.To
	if !finite(from) || !finite(to) {
		return nil, 0, 0, fmt.Errorf("timeline %q: time range [%v, %v] is not finite", t.Title, from, to)
	}
	whole := to <= from
	if whole {
		from, to = math.Inf(1), math.Inf(-1)
	}
	for i, s := range t.Segments {
		if s.Row < 0 || s.Row >= len(t.Rows) {
			return nil, 0, 0, fmt.Errorf("timeline %q: segment %d has row %d, only %d rows", t.Title, i, s.Row, len(t.Rows))
		}
		if !finite(s.Start) || !finite(s.End) || s.End < s.Start {
			return nil, 0, 0, fmt.Errorf("timeline %q: segment %d spans [%v, %v]", t.Title, i, s.Start, s.End)
		}
		if whole {
			from, to = math.Min(from, s.Start), math.Max(to, s.End)
		} else {
			if s.End <= from || s.Start >= to {
				continue
			}
			s.Start, s.End = math.Max(s.Start, from), math.Min(s.End, to)
		}
		segs = append(segs, s)
	}
	if len(segs) == 0 {
		return nil, 0, 0, fmt.Errorf("timeline %q: no segments in the time range", t.Title)
	}
	if to <= from { // every segment has zero length
		to = from + 1
	}
	return segs, from, to, nil
}

func (t Timeline) plot() (*gplot.Plot, []string, map[string]color.Color, error) {
	segs, from, to, err := t.clip()
	if err != nil {
		return nil, nil, nil, err
	}
	xLabel := t.XLabel
	if xLabel == "" {
		xLabel = "simulated time (s)"
	}
	p := newPlot(t.Title, xLabel, "")
	colors := t.kindColors(segs)
	p.Add(&gantt{segs: segs, rows: len(t.Rows), colors: colors})
	p.X.Min, p.X.Max = from, to
	p.Y.Min, p.Y.Max = -0.5, float64(len(t.Rows))-0.5
	p.NominalY(t.Rows...)
	p.Y.Padding = 0
	p.X.Padding = 0
	p.Y.Tick.Label.Font.Size = vg.Points(math.Min(10, math.Max(5, 300/float64(len(t.Rows)))))
	return p, kindsIn(segs), colors, nil
}

// kindsIn lists the kinds present: the known kinds in record.Kinds order,
// then any others by name.
func kindsIn(segs []Segment) []string {
	seen := map[string]bool{}
	for _, s := range segs {
		seen[s.Kind] = true
	}
	var out []string
	for _, k := range record.Kinds {
		if seen[k] {
			out = append(out, k)
			delete(seen, k)
		}
	}
	rest := make([]string, 0, len(seen))
	for k := range seen {
		rest = append(rest, k)
	}
	sort.Strings(rest)
	return append(out, rest...)
}

var fallbackColors = []color.Color{
	color.RGBA{0x94, 0x67, 0xbd, 0xff}, color.RGBA{0x8c, 0x56, 0x4b, 0xff},
	color.RGBA{0xe3, 0x77, 0xc2, 0xff}, color.RGBA{0xbc, 0xbd, 0x22, 0xff},
	color.RGBA{0x17, 0xbe, 0xcf, 0xff},
}

func (t Timeline) kindColors(segs []Segment) map[string]color.Color {
	out := map[string]color.Color{}
	next := 0
	for _, k := range kindsIn(segs) {
		switch {
		case t.Colors[k] != nil:
			out[k] = t.Colors[k]
		case KindColors[k] != nil:
			out[k] = KindColors[k]
		default:
			out[k] = fallbackColors[next%len(fallbackColors)]
			next++
		}
	}
	return out
}

// gantt draws the segments as filled rectangles.
type gantt struct {
	segs   []Segment
	rows   int
	colors map[string]color.Color
}

func (g *gantt) Plot(c draw.Canvas, p *gplot.Plot) {
	trX, trY := p.Transforms(&c)
	// Draw in a fixed order, kind by kind, so overlaps look the same in
	// every run and wait bars never hide activity.
	order := slices.Clone(g.segs)
	rank := map[string]int{record.KindWait: -1}
	sort.SliceStable(order, func(i, j int) bool { return rank[order[i].Kind] < rank[order[j].Kind] })
	const half = 0.38
	for _, s := range order {
		x0, x1 := trX(s.Start), trX(s.End)
		if x1-x0 < 0.3 { // keep very short activities visible
			x1 = x0 + 0.3
		}
		y0, y1 := trY(float64(s.Row)-half), trY(float64(s.Row)+half)
		c.FillPolygon(g.colors[s.Kind], []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
	}
}

// drawKeyRow draws a one-line key centred in c: a colour swatch and a name
// per entry.
func drawKeyRow(c draw.Canvas, names []string, colors map[string]color.Color) {
	sty := gplot.New().Legend.TextStyle
	sty.Font.Size = vg.Points(8)
	sty.YAlign = draw.YCenter
	box := vg.Points(8)
	gap := vg.Points(4)
	space := vg.Points(12)
	var total vg.Length
	for i, n := range names {
		if i > 0 {
			total += space
		}
		total += box + gap + sty.Width(n)
	}
	x := c.Center().X - total/2
	y := c.Center().Y
	for _, n := range names {
		c.FillPolygon(colors[n], []vg.Point{
			{X: x, Y: y - box/2}, {X: x + box, Y: y - box/2},
			{X: x + box, Y: y + box/2}, {X: x, Y: y + box/2},
		})
		x += box + gap
		c.FillText(sty, vg.Point{X: x, Y: y}, n)
		x += sty.Width(n) + space
	}
}
