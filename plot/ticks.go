package plot

import (
	"fmt"
	"math"
	"strconv"

	gplot "gonum.org/v1/plot"
)

// Axis units understood by LineChart.XUnit/YUnit and Pareto.XUnit. They
// change only how tick labels read.
const (
	UnitNone  = ""
	UnitBytes = "bytes" // decimal SI prefixes: 2.5e9 reads "2.5 GB"
)

func checkUnit(u string) error {
	switch u {
	case UnitNone, UnitBytes:
		return nil
	}
	return fmt.Errorf("unknown axis unit %q (want %q or %q)", u, UnitNone, UnitBytes)
}

// unitTicks relabels the labelled ticks of another ticker in a unit.
type unitTicks struct {
	base gplot.Ticker
	unit string
}

func (u unitTicks) Ticks(min, max float64) []gplot.Tick {
	ts := u.base.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = formatUnit(ts[i].Value, u.unit)
		}
	}
	return ts
}

func withUnit(a *gplot.Axis, unit string) {
	if unit != UnitNone {
		a.Tick.Marker = unitTicks{base: a.Tick.Marker, unit: unit}
	}
}

var bytePrefixes = []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}

func formatUnit(v float64, unit string) string {
	if unit != UnitBytes {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64) + " B"
	}
	e := 0
	for a := math.Abs(v); a >= 999.5 && e < len(bytePrefixes)-1; a /= 1000 {
		e++
	}
	return strconv.FormatFloat(v/math.Pow(1000, float64(e)), 'g', 3, 64) + " " + bytePrefixes[e]
}
