package claims

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Level is the confidence level of every interval in the report.
const Level = 0.95

// TQuantile is the p-quantile of Student's t distribution with nu degrees
// of freedom (gonum's distuv.StudentsT).
func TQuantile(p, nu float64) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: nu}.Quantile(p)
}

// Interval is a mean and the half-width of its two-sided Level interval.
type Interval struct {
	N    int
	Mean float64
	// Half is the half-width: t_{(1+Level)/2, N−1} · sd / √N; NaN when
	// N < 2.
	Half float64
}

// Lo and Hi are the interval's ends (NaN when N < 2).
func (iv Interval) Lo() float64 { return iv.Mean - iv.Half }
func (iv Interval) Hi() float64 { return iv.Mean + iv.Half }

// MeanInterval is the mean of xs and its Student-t interval.
func MeanInterval(xs []float64) Interval {
	iv := Interval{N: len(xs), Mean: math.NaN(), Half: math.NaN()}
	if len(xs) == 0 {
		return iv
	}
	iv.Mean = stat.Mean(xs, nil)
	if len(xs) < 2 {
		return iv
	}
	sd := stat.StdDev(xs, nil) // n−1 denominator
	iv.Half = TQuantile((1+Level)/2, float64(len(xs)-1)) * sd / math.Sqrt(float64(len(xs)))
	return iv
}

// Pair matches a's and b's values by seed: the same seed fixes the data
// order, the node profiles and the network in every setting (common random
// numbers), so A_s − B_s removes what the seed alone decides. It returns
// the seeds present on both sides with finite values, ascending, the
// differences a[s] − b[s], and the seeds present on one side only.
func Pair(a, b map[uint64]float64) (seeds []uint64, diffs []float64, unpaired []uint64) {
	for s, va := range a {
		vb, ok := b[s]
		if !ok || math.IsNaN(va) || math.IsNaN(vb) {
			unpaired = append(unpaired, s)
			continue
		}
		seeds = append(seeds, s)
	}
	for s := range b {
		if _, ok := a[s]; !ok {
			unpaired = append(unpaired, s)
		}
	}
	sort.Slice(seeds, func(i, j int) bool { return seeds[i] < seeds[j] })
	sort.Slice(unpaired, func(i, j int) bool { return unpaired[i] < unpaired[j] })
	for _, s := range seeds {
		diffs = append(diffs, a[s]-b[s])
	}
	return seeds, diffs, unpaired
}

// Decide turns the interval of the paired difference A − B into a verdict.
// With higherIsBetter the difference is negated first, so that below zero
// always means A is better.
//
//   - NoWorse: reproduced when the upper end is below +margin, not
//     reproduced when the lower end is above +margin.
//   - Better: reproduced when the upper end is below 0, not reproduced when
//     the lower end is above 0.
//
// Anything else, and any interval of fewer than 2 paired seeds, is
// inconclusive.
func Decide(kind Kind, margin float64, higherIsBetter bool, iv Interval) Verdict {
	if iv.N < 2 || math.IsNaN(iv.Mean) || math.IsNaN(iv.Half) {
		return Inconclusive
	}
	lo, hi := iv.Lo(), iv.Hi()
	if higherIsBetter {
		lo, hi = -hi, -lo
	}
	bound := 0.0
	if kind == NoWorse {
		bound = margin
	}
	switch {
	case hi < bound:
		return Reproduced
	case lo > bound:
		return NotReproduced
	}
	return Inconclusive
}
