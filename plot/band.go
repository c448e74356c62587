package plot

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// MeanBand summarises repeats of one curve (the same run under several
// seeds) as a Series: Y is the mean across repeats at each x, and
// Lower/Upper the two-sided Student-t confidence interval of that mean at
// the given level (0.95 for 95 %). repeats[s][i] is repeat s at x[i]; NaN
// marks a repeat with no value at that x (it ended earlier, say) and is left
// out of that point. A point with one value has a zero-width band; a point
// with none is NaN and is not drawn.
func MeanBand(name string, x []float64, repeats [][]float64, level float64) (Series, error) {
	if !(level > 0 && level < 1) {
		return Series{}, fmt.Errorf("mean band %q: confidence level %v is not in (0, 1)", name, level)
	}
	if len(repeats) == 0 {
		return Series{}, fmt.Errorf("mean band %q: no repeats", name)
	}
	for s, r := range repeats {
		if len(r) != len(x) {
			return Series{}, fmt.Errorf("mean band %q: repeat %d has %d values for %d x values", name, s, len(r), len(x))
		}
	}
	out := Series{
		Name:  name,
		X:     append([]float64(nil), x...),
		Y:     make([]float64, len(x)),
		Lower: make([]float64, len(x)),
		Upper: make([]float64, len(x)),
	}
	vals := make([]float64, 0, len(repeats))
	for i := range x {
		vals = vals[:0]
		for _, r := range repeats { // repeat order is fixed: the sum is reproducible
			if !math.IsNaN(r[i]) {
				vals = append(vals, r[i])
			}
		}
		n := len(vals)
		switch n {
		case 0:
			out.Y[i], out.Lower[i], out.Upper[i] = math.NaN(), math.NaN(), math.NaN()
			continue
		case 1:
			out.Y[i], out.Lower[i], out.Upper[i] = vals[0], vals[0], vals[0]
			continue
		}
		mean, sd := stat.MeanStdDev(vals, nil)
		t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.5 + level/2)
		half := t * sd / math.Sqrt(float64(n))
		out.Y[i], out.Lower[i], out.Upper[i] = mean, mean-half, mean+half
	}
	return out, nil
}
