package plot

import (
	"math"
	"strings"
	"testing"
)

func TestMeanBand(t *testing.T) {
	x := []float64{0, 1, 2, 3}
	nan := math.NaN()
	repeats := [][]float64{
		{1, 2, 5, nan},
		{3, 2, 7, nan},
		{nan, 2, 9, 4},
	}
	s, err := MeanBand("loss", x, repeats, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	// x=0: values 1, 3: mean 2, sd √2, t(0.975, 1) = 12.7062047 → half = 12.7062047.
	// x=1: identical values: zero-width band.
	// x=2: values 5, 7, 9: mean 7, sd 2, t(0.975, 2) = 4.30265273 → half = 4.30265273·2/√3.
	// x=3: one value: zero width.
	want := []struct{ y, lo, hi float64 }{
		{2, 2 - 12.7062047, 2 + 12.7062047},
		{2, 2, 2},
		{7, 7 - 4.30265273*2/math.Sqrt(3), 7 + 4.30265273*2/math.Sqrt(3)},
		{4, 4, 4},
	}
	for i, w := range want {
		if math.Abs(s.Y[i]-w.y) > 1e-9 || math.Abs(s.Lower[i]-w.lo) > 1e-6 || math.Abs(s.Upper[i]-w.hi) > 1e-6 {
			t.Errorf("x=%v: (%v, %v, %v), want (%v, %v, %v)", x[i], s.Y[i], s.Lower[i], s.Upper[i], w.y, w.lo, w.hi)
		}
	}
	s, _ = MeanBand("loss", []float64{0}, [][]float64{{nan}, {nan}}, 0.9)
	if !math.IsNaN(s.Y[0]) {
		t.Errorf("no values: Y = %v, want NaN", s.Y[0])
	}
	// Wider confidence, wider band.
	s90, _ := MeanBand("l", x, repeats, 0.90)
	s99, _ := MeanBand("l", x, repeats, 0.99)
	if !(s99.Upper[2]-s99.Y[2] > s90.Upper[2]-s90.Y[2]) {
		t.Error("99% band is not wider than the 90% band")
	}
}

func TestMeanBandErrors(t *testing.T) {
	tests := []struct {
		level   float64
		repeats [][]float64
		want    string
	}{
		{0.95, nil, "no repeats"},
		{0.95, [][]float64{{1, 2}, {1}}, "repeat 1 has 1 values"},
		{1, [][]float64{{1, 2}}, "confidence level"},
		{math.NaN(), [][]float64{{1, 2}}, "confidence level"},
	}
	for _, tc := range tests {
		_, err := MeanBand("s", []float64{0, 1}, tc.repeats, tc.level)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
}

func TestResample(t *testing.T) {
	nan := math.NaN()
	x := []float64{0, 10, 10, 30}
	y := []float64{4, 2, 3, 1}
	got, err := Resample(x, y, []float64{-1, 0, 5, 10, 20, 30, 31, 25, nan})
	if err != nil {
		t.Fatal(err)
	}
	// At a repeated x the first value wins; between 10 and 30 the curve
	// runs from the later point (10, 3).
	want := []float64{nan, 4, 3, 2, 2, 1, nan, 1.5, nan}
	for i := range want {
		if got[i] != want[i] && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
			t.Errorf("point %d: %v, want %v", i, got[i], want[i])
		}
	}
	if _, err := Resample([]float64{0, 2, 1}, []float64{1, 2, 3}, nil); err == nil {
		t.Error("decreasing x accepted")
	}
	if _, err := Resample([]float64{0}, nil, nil); err == nil {
		t.Error("length mismatch accepted")
	}
	if got, _ := Resample(nil, nil, []float64{1}); !math.IsNaN(got[0]) {
		t.Error("empty curve gave a value")
	}
}

// TestResampleThenBand: three repeats evaluated at different simulated
// times, averaged on a common grid.
func TestResampleThenBand(t *testing.T) {
	times := [][]float64{{0, 10, 20}, {0, 12, 24}, {0, 8, 16}}
	grid := []float64{0, 8, 16}
	var reps [][]float64
	for _, ts := range times {
		y := make([]float64, len(ts))
		for i, s := range ts {
			y[i] = 5 - s/8 // the same line for every repeat
		}
		r, err := Resample(ts, y, grid)
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, r)
	}
	s, err := MeanBand("loss", grid, reps, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range grid {
		if want := 5 - g/8; math.Abs(s.Y[i]-want) > 1e-12 || math.Abs(s.Upper[i]-s.Lower[i]) > 1e-12 {
			t.Errorf("t=%v: mean %v band [%v, %v], want %v with no width", g, s.Y[i], s.Lower[i], s.Upper[i], want)
		}
	}
}
