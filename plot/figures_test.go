package plot

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"github.com/locosim/locosim/record"
)

// Sample figures shared by the golden, determinism and example tests. The
// data are closed forms so the pictures are easy to judge by eye.

func sampleLines() LineChart {
	var series []Series
	for i, name := range []string{"ddp", "diloco", "sparseloco"} {
		var s Series
		s.Name = name
		for r := 0; r <= 40; r++ {
			x := float64(r) * 1e8 * float64(i+1)
			if r == 0 {
				x = 0 // dropped on the log axis
			}
			y := 2 + 3*math.Exp(-float64(r)/(8+4*float64(i)))
			s.X = append(s.X, x)
			s.Y = append(s.Y, y)
			s.Lower = append(s.Lower, y-0.1)
			s.Upper = append(s.Upper, y+0.1)
		}
		series = append(series, s)
	}
	return LineChart{
		Title:  "eval loss vs bytes moved",
		XLabel: "bytes moved",
		YLabel: "eval loss (nats)",
		Series: series,
		LogX:   true,
		XUnit:  UnitBytes,
		Ref:    &RefLine{Y: 1.9, Label: "entropy floor"},
	}
}

func sampleEvents() []record.Event {
	var ev []record.Event
	for n := range 6 {
		t := 0.0
		for r := range 3 {
			c := 10 + 3*float64(n)
			up := 2 + float64(n%3)
			ev = append(ev,
				record.Event{Node: int64(n), Round: int64(r), Kind: record.KindCompute, StartS: t, EndS: t + c},
				record.Event{Node: int64(n), Round: int64(r), Kind: record.KindUpload, StartS: t + c, EndS: t + c + up, Bytes: 1 << 20},
			)
			end := 40.0 * float64(r+1)
			ev = append(ev,
				record.Event{Node: int64(n), Round: int64(r), Kind: record.KindWait, StartS: t + c + up, EndS: end - 4},
				record.Event{Node: int64(n), Round: int64(r), Kind: record.KindDownload, StartS: end - 4, EndS: end, Bytes: 4 << 20},
			)
			t = end
		}
	}
	ev = append(ev, record.Event{Node: 5, Kind: record.KindDown, StartS: 55, EndS: 80})
	return ev
}

func sampleTimeline() Timeline {
	rows := make([]string, 6)
	for i := range rows {
		rows[i] = "node " + strconv.Itoa(i)
	}
	return Timeline{Title: "node activity", Rows: rows, Segments: SegmentsFromEvents(sampleEvents()), From: 0, To: 100}
}

func sampleBars() BarChart {
	var labels []string
	var values []float64
	for i := range 72 {
		labels = append(labels, strconv.Itoa(i))
		values = append(values, 0.5+0.45*math.Sin(float64(i)/5))
	}
	return BarChart{Title: "compute utilisation", XLabel: "node", YLabel: "busy fraction",
		Labels: labels, Values: values, Ref: &RefLine{Y: 0.5, Label: "mean"}}
}

func sampleHeatmap() Heatmap {
	xs := []string{"0.001", "0.01", "0.1", "1"}
	ys := []string{"H=10", "H=30", "H=100"}
	vals := make([][]float64, len(ys))
	for r := range ys {
		for c := range xs {
			vals[r] = append(vals[r], 2.5+0.3*float64(r)-0.2*float64(c))
		}
	}
	vals[2][0] = math.NaN()
	return Heatmap{Title: "final loss", XLabel: "density", YLabel: "inner steps",
		ValueLabel: "eval loss (nats)", XKeys: xs, YKeys: ys, Values: vals, CellFormat: "%.2f"}
}

func samplePareto() Pareto {
	var pts []Point
	for i, g := range []string{"ddp", "diloco", "sparseloco"} {
		for k := range 5 {
			x := math.Pow(10, float64(7+k)) / float64(1+3*i)
			y := 2 + 1/float64(k+1) + 0.1*float64(i)
			pts = append(pts, Point{X: x, Y: y, Group: g, Label: fmt.Sprintf("%s/%d", g[:1], k)})
		}
	}
	return Pareto{Title: "loss vs bytes", XLabel: "bytes moved", YLabel: "final loss (nats)", Points: pts, LogX: true, XUnit: UnitBytes, Legend: LegendBottomLeft}
}

// sampleStyledLines is the shape of the incentives figure: one colour per
// attack, solid with the mechanism on and dashed with it off, grey
// references without attackers, and a y axis fixed to shares.
func sampleStyledLines() LineChart {
	var series []Series
	for i, attack := range []string{"free_rider", "copier", "poisoner"} {
		for _, off := range []bool{false, true} {
			s := Series{Style: &Style{Color: Palette(i), Dashed: off}}
			if !off {
				s.Name = attack
			}
			for _, share := range []float64{0.1, 0.2, 0.3} {
				cost := share * float64(i+1) / 4
				if off {
					cost *= 2
				}
				s.X = append(s.X, share)
				s.Y = append(s.Y, 0.3+cost)
			}
			series = append(series, s)
		}
	}
	grey := color.Gray{Y: 0x80}
	series = append(series,
		Series{Name: "no attackers", X: []float64{0.1, 0.3}, Y: []float64{0.3, 0.3}, Style: &Style{Color: grey}},
		Series{Name: "no attackers, off", X: []float64{0.1, 0.3}, Y: []float64{0.32, 0.32}, Style: &Style{Color: grey, Dashed: true}})
	return LineChart{Title: "cost of attacks", XLabel: "attacker share", YLabel: "final loss (nats)",
		Series: series, YMin: 0, YMax: 1, Legend: LegendRight}
}

func sampleGroupedBars() GroupedBars {
	groups := []string{"free_rider", "copier", "lazy", "poisoner"}
	var series []BarSeries
	for k, share := range []string{"0.1", "0.2", "0.3"} {
		s := BarSeries{Name: "share " + share, Notes: make([]string, len(groups))}
		for i := range groups {
			s.Values = append(s.Values, float64(2+3*i+k))
		}
		series = append(series, s)
	}
	series[0].Values[2], series[0].Notes[2] = math.NaN(), "never"
	series[2].Notes[1] = "2/3"
	return GroupedBars{Title: "caught at round", XLabel: "attack", YLabel: "round", Groups: groups, Series: series, Legend: LegendTopLeft}
}
