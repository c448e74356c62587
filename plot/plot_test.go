package plot

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata/")

var samples = []struct {
	name string
	fig  Figure
	text []string // strings the SVG must contain
}{
	{"lines", sampleLines(), []string{"eval loss vs bytes moved", "sparseloco", "entropy floor", "1 GB"}},
	{"timeline", sampleTimeline(), []string{"node activity", "node 5", "compute", "download", "down"}},
	{"bars", sampleBars(), []string{"compute utilisation", "busy fraction", "mean"}},
	{"heatmap", sampleHeatmap(), []string{"final loss", "H=100", "2.90", "eval loss (nats)"}},
	{"pareto", samplePareto(), []string{"loss vs bytes", "Pareto front", "diloco", "100 MB"}},
	{"styled", sampleStyledLines(), []string{"cost of attacks", "free_rider", "no attackers, off"}},
	{"groups", sampleGroupedBars(), []string{"caught at round", "share 0.3", "poisoner", "never", "2/3"}},
}

// TestGolden compares each sample figure's PNG with testdata/NAME_golden.png
// (rewrite with go test ./plot -run Golden -update). Pixels are compared
// with a small tolerance, so anti-aliasing differences between platforms do
// not fail the test but a moved line or a changed colour does.
func TestGolden(t *testing.T) {
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			got, err := Render(s.fig, "png")
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", s.name+"_golden.png")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if bytes.Equal(got, want) {
				return
			}
			diff, err := pixelDiff(got, want)
			if err != nil {
				t.Fatal(err)
			}
			if diff > 0.001 {
				out := filepath.Join(t.TempDir(), s.name+".png")
				os.WriteFile(out, got, 0o644)
				t.Errorf("%.2f%% of pixels differ from %s; got image kept at %s", 100*diff, golden, out)
			}
		})
	}
}

// pixelDiff returns the fraction of pixels whose colour differs by more
// than 16/255 in some channel (1 if the sizes differ).
func pixelDiff(a, b []byte) (float64, error) {
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		return 0, err
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	if ia.Bounds() != ib.Bounds() {
		return 1, nil
	}
	r := ia.Bounds()
	bad := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if colourDistance(ia, ib, x, y) > 16 {
				bad++
			}
		}
	}
	return float64(bad) / float64(r.Dx()*r.Dy()), nil
}

func colourDistance(a, b image.Image, x, y int) uint32 {
	r1, g1, b1, a1 := a.At(x, y).RGBA()
	r2, g2, b2, a2 := b.At(x, y).RGBA()
	d := func(p, q uint32) uint32 {
		if p > q {
			return (p - q) >> 8
		}
		return (q - p) >> 8
	}
	return max(d(r1, r2), d(g1, g2), d(b1, b2), d(a1, a2))
}

func TestPixelDiffDetectsChange(t *testing.T) {
	a, err := Render(sampleBars(), "png")
	if err != nil {
		t.Fatal(err)
	}
	changed := sampleBars()
	changed.Values[10] = 0.1
	b, err := Render(changed, "png")
	if err != nil {
		t.Fatal(err)
	}
	d, err := pixelDiff(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0.001 {
		t.Errorf("one shortened bar changed only %.4f%% of pixels: the golden test would not notice", 100*d)
	}
	if d, _ := pixelDiff(a, a); d != 0 {
		t.Errorf("image differs from itself: %v", d)
	}
}

// TestDeterministic renders every sample twice in both formats, under two
// GOMAXPROCS settings, and wants identical bytes.
func TestDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, s := range samples {
		for _, format := range Formats {
			runtime.GOMAXPROCS(1)
			a, err := Render(s.fig, format)
			if err != nil {
				t.Fatal(s.name, err)
			}
			runtime.GOMAXPROCS(2)
			b, err := Render(s.fig, format)
			if err != nil {
				t.Fatal(s.name, err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("%s.%s: two renders differ", s.name, format)
			}
		}
	}
}

// TestSVG checks the SVG output is well-formed XML and carries the figure's
// text.
func TestSVG(t *testing.T) {
	for _, s := range samples {
		b, err := Render(s.fig, "svg")
		if err != nil {
			t.Fatal(s.name, err)
		}
		dec := xml.NewDecoder(bytes.NewReader(b))
		for {
			_, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: SVG is not well-formed: %v", s.name, err)
			}
		}
		for _, txt := range s.text {
			if !bytes.Contains(b, []byte(">"+txt+"<")) {
				t.Errorf("%s: SVG lacks the text %q", s.name, txt)
			}
		}
	}
}

func TestSave(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "loss")
	if err := Save(base, sampleLines()); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"loss.png", "loss.svg"}) {
		t.Errorf("Save wrote %v", names)
	}
	// The PNG has the size and resolution asked for.
	f, _ := os.Open(base + ".png")
	cfg, err := png.DecodeConfig(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width != 756 || cfg.Height != 472 {
		t.Errorf("PNG is %dx%d, want 756x472 (16x10 cm at 120 dpi)", cfg.Width, cfg.Height)
	}
	// A failing figure writes nothing and keeps the old files.
	if err := Save(filepath.Join(dir, "bad"), LineChart{Title: "empty"}); err == nil {
		t.Error("saving an empty chart succeeded")
	}
	if err := Save(base, LineChart{Title: "empty"}); err == nil {
		t.Error("saving an empty chart succeeded")
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("failed saves left %d files", len(entries))
	}
	if err := Save(filepath.Join(dir, "missing", "x"), sampleBars()); err == nil {
		t.Error("saving into a missing directory succeeded")
	}
}

func TestSizes(t *testing.T) {
	small := sampleBars()
	small.Size = Size{Width: 4 * vg.Inch, Height: 3 * vg.Inch, DPI: 50}
	b, err := Render(small, "png")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := png.DecodeConfig(bytes.NewReader(b))
	if cfg.Width != 200 || cfg.Height != 150 {
		t.Errorf("PNG is %dx%d, want 200x150", cfg.Width, cfg.Height)
	}
	// A timeline grows with its rows.
	tl := Timeline{Rows: make([]string, 200)}
	if h := tl.FigureSize().Height; h < 200*9 {
		t.Errorf("timeline of 200 rows is %v tall", h)
	}
	if _, err := Render(sampleBars(), "gif"); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestBadData feeds each figure data it cannot draw: every case must be an
// error naming the problem, never a panic.
func TestBadData(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		fig  Figure
		want string
	}{
		{"no series", LineChart{}, "no series"},
		{"length mismatch", LineChart{Series: []Series{{Name: "a", X: []float64{1, 2}, Y: []float64{1}}}}, `"a"`},
		{"band length", LineChart{Series: []Series{{Name: "b", X: []float64{1, 2}, Y: []float64{1, 2}, Lower: []float64{1}}}}, "band"},
		{"log x all non-positive", LineChart{LogX: true, Series: []Series{{X: []float64{0, -1}, Y: []float64{1, 2}}}}, "no drawable points"},
		{"log y all non-positive", LineChart{LogY: true, Series: []Series{{X: []float64{1, 2}, Y: []float64{0, -3}}}}, "no drawable points"},
		{"all NaN", LineChart{Series: []Series{{X: []float64{nan}, Y: []float64{1}}}}, "no drawable points"},
		{"ref on log y", LineChart{LogY: true, Ref: &RefLine{Y: 0}, Series: []Series{{X: []float64{1}, Y: []float64{1}}}}, "reference line"},
		{"ref NaN", LineChart{Ref: &RefLine{Y: nan}, Series: []Series{{X: []float64{1}, Y: []float64{1}}}}, "reference line"},
		{"timeline no rows", Timeline{}, "no rows"},
		{"timeline bad row", Timeline{Rows: []string{"a"}, Segments: []Segment{{Row: 1, End: 1}}}, "row 1"},
		{"timeline negative row", Timeline{Rows: []string{"a"}, Segments: []Segment{{Row: -1, End: 1}}}, "row -1"},
		{"timeline reversed", Timeline{Rows: []string{"a"}, Segments: []Segment{{Start: 2, End: 1}}}, "spans"},
		{"timeline NaN", Timeline{Rows: []string{"a"}, Segments: []Segment{{Start: nan, End: 1}}}, "spans"},
		{"timeline empty range", Timeline{Rows: []string{"a"}, Segments: []Segment{{Start: 0, End: 1}}, From: 5, To: 6}, "no segments"},
		{"timeline infinite range", Timeline{Rows: []string{"a"}, From: 0, To: math.Inf(1)}, "not finite"},
		{"bars empty", BarChart{}, "no values"},
		{"bars labels", BarChart{Labels: []string{"a"}, Values: []float64{1, 2}}, "1 labels for 2 values"},
		{"bars NaN", BarChart{Labels: []string{"a"}, Values: []float64{nan}}, "value 0"},
		{"heatmap empty", Heatmap{}, "at least one"},
		{"heatmap rows", Heatmap{XKeys: []string{"a"}, YKeys: []string{"b"}}, "0 rows"},
		{"heatmap ragged", Heatmap{XKeys: []string{"a", "b"}, YKeys: []string{"y"}, Values: [][]float64{{1}}}, "row 0 (y)"},
		{"heatmap all NaN", Heatmap{XKeys: []string{"a"}, YKeys: []string{"b"}, Values: [][]float64{{nan}}}, "missing"},
		{"heatmap Inf", Heatmap{XKeys: []string{"a"}, YKeys: []string{"b"}, Values: [][]float64{{math.Inf(1)}}}, "infinite"},
		{"pareto empty", Pareto{}, "no drawable points"},
		{"pareto log", Pareto{LogX: true, Points: []Point{{X: 0, Y: 1}}}, "no drawable points"},
		{"legend position", LineChart{Legend: "middle", Series: []Series{{X: []float64{1}, Y: []float64{1}}}}, "middle"},
		{"pareto legend", Pareto{Legend: "up", Points: []Point{{X: 1, Y: 1}}}, `"up"`},
		{"unknown unit", LineChart{XUnit: "furlongs", Series: []Series{{X: []float64{1}, Y: []float64{1}}}}, "furlongs"},
		{"pareto unit", Pareto{XUnit: "parsecs", Points: []Point{{X: 1, Y: 1}}}, "parsecs"},
		{"y range on log y", LineChart{LogY: true, YMin: 0, YMax: 1, Series: []Series{{X: []float64{1}, Y: []float64{1}}}}, "y range"},
		{"groups empty", GroupedBars{}, "needs groups and series"},
		{"groups values", GroupedBars{Groups: []string{"a", "b"}, Series: []BarSeries{{Name: "s", Values: []float64{1}}}}, `"s" has 1 values for 2 groups`},
		{"groups notes", GroupedBars{Groups: []string{"a"}, Series: []BarSeries{{Name: "s", Values: []float64{1}, Notes: []string{}}}}, "0 notes"},
		{"groups Inf", GroupedBars{Groups: []string{"a"}, Series: []BarSeries{{Values: []float64{math.Inf(1)}}}}, "group a is infinite"},
		{"groups all NaN", GroupedBars{Groups: []string{"a"}, Series: []BarSeries{{Values: []float64{nan}}}}, "nothing is noted"},
		{"groups legend", GroupedBars{Legend: "aside", Groups: []string{"a"}, Series: []BarSeries{{Values: []float64{1}}}}, `"aside"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, format := range Formats {
				_, err := Render(tc.fig, format)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: err = %v, want one containing %q", format, err, tc.want)
				}
			}
		})
	}
}

// TestEdgeCases draws data that is odd but valid.
func TestEdgeCases(t *testing.T) {
	figs := map[string]Figure{
		"one point":           LineChart{Series: []Series{{Name: "a", X: []float64{3}, Y: []float64{2}}}},
		"one point log":       LineChart{LogX: true, LogY: true, Series: []Series{{X: []float64{3}, Y: []float64{2}}}},
		"flat zero":           LineChart{Series: []Series{{X: []float64{1, 2}, Y: []float64{0, 0}}}},
		"some dropped on log": LineChart{LogX: true, Series: []Series{{X: []float64{-1, 0, 1, 10}, Y: []float64{5, 4, 3, 2}}}},
		"many series":         LineChart{Series: manySeries(12)},
		"no legend":           LineChart{Legend: LegendNone, Series: manySeries(2)},
		"legend top left":     LineChart{Legend: LegendTopLeft, Series: manySeries(2)},
		"legend bottom right": Pareto{Legend: LegendBottomRight, Points: []Point{{X: 1, Y: 1, Group: "a"}}},
		"zero-length segment": Timeline{Rows: []string{"a"}, Segments: []Segment{{Kind: "compute", Start: 3, End: 3}}},
		"unknown kinds":       Timeline{Rows: []string{"a", "b"}, Segments: []Segment{{Kind: "gossip", End: 1}, {Row: 1, Kind: "verify", Start: 1, End: 2}}},
		"one bar":             BarChart{Labels: []string{"n0"}, Values: []float64{0}},
		"heatmap one cell":    Heatmap{XKeys: []string{"a"}, YKeys: []string{"b"}, Values: [][]float64{{3}}, CellFormat: "%.1f"},
		"pareto one point":    Pareto{Points: []Point{{X: 1, Y: 1}}},
		"styled past 7":       LineChart{Series: styled(manySeries(9))},
		"groups notes only":   GroupedBars{Groups: []string{"a", "b"}, Series: []BarSeries{{Values: []float64{math.NaN(), math.NaN()}, Notes: []string{"never", ""}}}},
		"pareto legend right": Pareto{Legend: LegendRight, Points: []Point{{X: 1, Y: 1, Group: "a"}}},
		"groups legend right": GroupedBars{Legend: LegendRight, Groups: []string{"a", "b"}, Series: []BarSeries{{Name: "s", Values: []float64{1, 2}}, {Name: "t", Values: []float64{2, 1}}}},
		"groups one bar":      GroupedBars{Groups: []string{"a"}, Series: []BarSeries{{Name: "s", Values: []float64{0}}}},
	}
	for name, f := range figs {
		for _, format := range Formats {
			if _, err := Render(f, format); err != nil {
				t.Errorf("%s (%s): %v", name, format, err)
			}
		}
	}
}

// styled gives every series a solid style of the first colour.
func styled(ss []Series) []Series {
	for i := range ss {
		ss[i].Style = &Style{Color: Palette(0)}
	}
	return ss
}

func manySeries(n int) []Series {
	out := make([]Series, n)
	for i := range out {
		out[i] = Series{Name: fmt.Sprint("s", i), X: []float64{0, 1}, Y: []float64{float64(i), float64(i + 1)}}
	}
	return out
}

func TestTimelineClipsToRange(t *testing.T) {
	tl := Timeline{
		Rows: []string{"a"},
		Segments: []Segment{
			{Kind: "compute", Start: 0, End: 10},   // clipped to [5, 10]
			{Kind: "upload", Start: 10, End: 12},   // inside
			{Kind: "wait", Start: 20, End: 30},     // after the range: dropped
			{Kind: "download", Start: 14, End: 25}, // clipped to [14, 15]
		},
		From: 5, To: 15,
	}
	segs, from, to, err := tl.clip()
	if err != nil {
		t.Fatal(err)
	}
	if from != 5 || to != 15 {
		t.Errorf("range [%v, %v], want [5, 15]", from, to)
	}
	want := []Segment{{Kind: "compute", Start: 5, End: 10}, {Kind: "upload", Start: 10, End: 12}, {Kind: "download", Start: 14, End: 15}}
	if !slices.Equal(segs, want) {
		t.Errorf("segments drawn %v, want %v", segs, want)
	}
	if kinds := kindsIn(segs); !slices.Equal(kinds, []string{"compute", "upload", "download"}) {
		t.Errorf("kinds = %v", kinds)
	}
	tl.From, tl.To = 0, 0 // the whole range
	if _, from, to, _ := tl.clip(); from != 0 || to != 30 {
		t.Errorf("whole range [%v, %v], want [0, 30]", from, to)
	}
}

// TestParetoFront checks the frontier against the definition, by brute
// force, on random point sets with many ties.
func TestParetoFront(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := rng.IntN(30)
		pts := make([]Point, n)
		for i := range pts {
			pts[i] = Point{X: float64(rng.IntN(10)), Y: float64(rng.IntN(10))}
		}
		if trial%7 == 0 && n > 0 {
			pts[0].Y = math.NaN()
		}
		got := ParetoFront(pts)
		var want []int
		for i, p := range pts {
			if !finite(p.X) || !finite(p.Y) {
				continue
			}
			dominated := false
			for j, q := range pts {
				if j == i || !finite(q.X) || !finite(q.Y) {
					continue
				}
				better := q.X <= p.X && q.Y <= p.Y && (q.X < p.X || q.Y < p.Y)
				duplicateEarlier := q.X == p.X && q.Y == p.Y && j < i
				if better || duplicateEarlier {
					dominated = true
					break
				}
			}
			if !dominated {
				want = append(want, i)
			}
		}
		slices.SortFunc(want, func(a, b int) int {
			if pts[a].X < pts[b].X {
				return -1
			}
			if pts[a].X > pts[b].X {
				return 1
			}
			return 0
		})
		if !slices.Equal(got, want) {
			t.Fatalf("points %v: front %v, want %v", pts, got, want)
		}
	}
}

func TestEveryKth(t *testing.T) {
	names := make([]string, 100)
	for i := range names {
		names[i] = fmt.Sprint(i)
	}
	ticks := everyKth(names, 40).Ticks(0, 99)
	labelled := 0
	for _, tk := range ticks {
		if tk.Label != "" {
			labelled++
		}
	}
	if len(ticks) != 100 || labelled != 34 {
		t.Errorf("%d ticks, %d labelled; want 100 and 34 (every 3rd)", len(ticks), labelled)
	}
}

func TestFormatUnit(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0 B"},
		{999, "999 B"},
		{1000, "1 kB"},
		{1e8, "100 MB"},
		{2.5e9, "2.5 GB"},
		{1.234e12, "1.23 TB"},
		{-3e6, "-3 MB"},
		{999.7e6, "1 GB"},
	}
	for _, tc := range tests {
		if got := formatUnit(tc.v, UnitBytes); got != tc.want {
			t.Errorf("formatUnit(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}
