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

// Resample evaluates the piecewise-linear curve through (x, y) at each grid
// point, so that repeats measured at different x (simulated time, bytes)
// can be averaged by MeanBand. x must be non-decreasing; grid points
// outside [x[0], x[len-1]] give NaN (a repeat that has not got there), as do
// NaN values of y next to the point.
func Resample(x, y, grid []float64) ([]float64, error) {
	if len(x) != len(y) {
		return nil, fmt.Errorf("resample: %d x values but %d y values", len(x), len(y))
	}
	for i := 1; i < len(x); i++ {
		if !(x[i] >= x[i-1]) {
			return nil, fmt.Errorf("resample: x decreases (or is NaN) at index %d: %v after %v", i, x[i], x[i-1])
		}
	}
	out := make([]float64, len(grid))
	j := 0
	for i, g := range grid {
		out[i] = math.NaN()
		if len(x) == 0 || math.IsNaN(g) || g < x[0] || g > x[len(x)-1] {
			continue
		}
		// Find the segment [x[k], x[k+1]] holding g; grids are usually
		// sorted, so start from the last segment found.
		if j >= len(x) || x[j] > g {
			j = 0
		}
		for j+1 < len(x) && x[j+1] < g {
			j++
		}
		switch {
		case x[j] == g:
			out[i] = y[j]
		case j+1 < len(x):
			t := (g - x[j]) / (x[j+1] - x[j])
			out[i] = y[j] + t*(y[j+1]-y[j])
		}
	}
	return out, nil
}
