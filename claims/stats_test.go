package claims

import (
	"math"
	"slices"
	"testing"
)

func TestTQuantile(t *testing.T) {
	for _, tc := range []struct {
		p, nu, want float64
	}{
		{0.975, 1, 12.706},
		{0.975, 2, 4.303},
		{0.975, 4, 2.776},
		{0.975, 5, 2.571},
		{0.975, 10, 2.228},
		{0.975, 30, 2.042},
		{0.975, 1e6, 1.960},
		{0.95, 3, 2.353},
		{0.5, 7, 0},
		{0.025, 2, -4.303},
	} {
		if got := TQuantile(tc.p, tc.nu); math.Abs(got-tc.want) > 5e-4 {
			t.Errorf("TQuantile(%v, %v) = %.4f, want %.3f", tc.p, tc.nu, got, tc.want)
		}
	}
}

func TestMeanInterval(t *testing.T) {
	for _, tc := range []struct {
		xs         []float64
		mean, half float64
	}{
		{[]float64{1, 2, 3}, 2, 4.303 / math.Sqrt(3)}, // sd 1
		{[]float64{-1, 1}, 0, 12.706},                 // sd √2, √2/√2 = 1
		{[]float64{5, 5, 5}, 5, 0},
		{[]float64{0.5}, 0.5, math.NaN()},
		{nil, math.NaN(), math.NaN()},
	} {
		iv := MeanInterval(tc.xs)
		if iv.N != len(tc.xs) || !near(iv.Mean, tc.mean, 1e-12) || !near(iv.Half, tc.half, 1e-3) {
			t.Errorf("MeanInterval(%v) = %+v, want mean %v ± %v", tc.xs, iv, tc.mean, tc.half)
		}
	}
}

func near(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

func TestPair(t *testing.T) {
	for _, tc := range []struct {
		name           string
		a, b           map[uint64]float64
		seeds, dropped []uint64
		diffs          []float64
	}{
		{"same seeds", map[uint64]float64{1: 2, 2: 3, 3: 4}, map[uint64]float64{3: 1, 1: 1, 2: 1},
			[]uint64{1, 2, 3}, nil, []float64{1, 2, 3}},
		{"a seed missing on one side", map[uint64]float64{1: 2, 2: 3, 3: 4}, map[uint64]float64{1: 1, 2: 1},
			[]uint64{1, 2}, []uint64{3}, []float64{1, 2}},
		{"mismatched seeds", map[uint64]float64{1: 2, 2: 3, 3: 4}, map[uint64]float64{2: 1, 3: 1, 4: 1},
			[]uint64{2, 3}, []uint64{1, 4}, []float64{2, 3}},
		{"no common seed", map[uint64]float64{1: 2}, map[uint64]float64{2: 1},
			nil, []uint64{1, 2}, nil},
		{"NaN is not a value", map[uint64]float64{1: math.NaN(), 2: 3}, map[uint64]float64{1: 1, 2: 1},
			[]uint64{2}, []uint64{1}, []float64{2}},
	} {
		seeds, diffs, dropped := Pair(tc.a, tc.b)
		if !slices.Equal(seeds, tc.seeds) || !slices.Equal(diffs, tc.diffs) || !slices.Equal(dropped, tc.dropped) {
			t.Errorf("%s: Pair = %v, %v, dropped %v; want %v, %v, dropped %v", tc.name, seeds, diffs, dropped, tc.seeds, tc.diffs, tc.dropped)
		}
	}
}

func TestDecide(t *testing.T) {
	iv := func(mean, half float64) Interval { return Interval{N: 3, Mean: mean, Half: half} }
	for _, tc := range []struct {
		name   string
		kind   Kind
		margin float64
		higher bool
		iv     Interval
		want   Verdict
	}{
		// no worse than, margin 0.02: the interval against +0.02
		{"no worse: A better", NoWorse, 0.02, false, iv(-0.05, 0.01), Reproduced},
		{"no worse: A slightly worse, within the margin", NoWorse, 0.02, false, iv(0.01, 0.005), Reproduced},
		{"no worse: A worse beyond the margin", NoWorse, 0.02, false, iv(0.1, 0.03), NotReproduced},
		{"no worse: interval straddles the margin", NoWorse, 0.02, false, iv(0.02, 0.01), Inconclusive},
		{"no worse: wide interval", NoWorse, 0.02, false, iv(0, 0.4), Inconclusive},
		// better than: the interval against 0
		{"better: A better", Better, 0, false, iv(-0.1, 0.05), Reproduced},
		{"better: A worse", Better, 0, false, iv(0.1, 0.05), NotReproduced},
		{"better: straddles 0", Better, 0, false, iv(-0.01, 0.05), Inconclusive},
		{"better: identical runs", Better, 0, false, iv(0, 0), Inconclusive},
		{"better ignores the margin", Better, 0.5, false, iv(0.1, 0.05), NotReproduced},
		// higher is better: A − B above 0 is A better
		{"higher, better: A higher", Better, 0, true, iv(0.4, 0.1), Reproduced},
		{"higher, better: A lower", Better, 0, true, iv(-0.4, 0.1), NotReproduced},
		{"higher, better: straddles", Better, 0, true, iv(0.05, 0.1), Inconclusive},
		{"higher, no worse: A a little lower", NoWorse, 0.02, true, iv(-0.01, 0.005), Reproduced},
		{"higher, no worse: A much lower", NoWorse, 0.02, true, iv(-0.1, 0.01), NotReproduced},
		{"higher, no worse: straddles", NoWorse, 0.02, true, iv(-0.02, 0.01), Inconclusive},
		// too few seeds
		{"one seed", Better, 0, false, Interval{N: 1, Mean: -1, Half: math.NaN()}, Inconclusive},
		{"no seed", NoWorse, 0.02, false, Interval{Mean: math.NaN(), Half: math.NaN()}, Inconclusive},
	} {
		if got := Decide(tc.kind, tc.margin, tc.higher, tc.iv); got != tc.want {
			t.Errorf("%s: Decide(%v, %v, %v, %+v) = %q, want %q", tc.name, tc.kind, tc.margin, tc.higher, tc.iv, got, tc.want)
		}
	}
}

func TestHalfIndex(t *testing.T) {
	for _, tc := range []struct {
		steps []int64
		want  int
	}{
		{[]int64{0, 30, 60, 90, 120}, 2},
		{[]int64{0, 100, 200, 300, 400, 500, 600, 700, 800, 900}, 4}, // 400 and 500 tie: the earlier
		{[]int64{0, 10}, 0},                                          // 0 and 10 tie at 5
		{[]int64{7}, 0},
		{nil, -1},
	} {
		if got := HalfIndex(tc.steps); got != tc.want {
			t.Errorf("HalfIndex(%v) = %d, want %d", tc.steps, got, tc.want)
		}
	}
}

func TestInterpolateAt(t *testing.T) {
	xs := []float64{0, 10, 20, 40}
	ys := []float64{5, 4, 3, 1}
	for _, tc := range []struct{ x, want float64 }{
		{0, 5}, {10, 4}, {15, 3.5}, {30, 2}, {40, 1},
		{-1, math.NaN()}, {41, math.NaN()},
	} {
		got := interpolateAt(xs, ys, tc.x)
		if !(got == tc.want || math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("at %g: %g, want %g", tc.x, got, tc.want)
		}
	}
}
