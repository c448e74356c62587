package plot

import (
	"math"
	"slices"
	"testing"
)

func TestPivot(t *testing.T) {
	nan := math.NaN()
	x := []string{"0.1", "0.01", "1", "0.1", "0.01", "1e-3"}
	y := []string{"H=30", "H=10", "H=10", "H=30", "H=30", "H=10"}
	v := []float64{2.0, 3.0, 4.0, 2.5, nan, 5}
	xk, yk, vals, err := Pivot(x, y, v)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(xk, []string{"1e-3", "0.01", "0.1", "1"}) {
		t.Errorf("x keys %v: want numeric order", xk)
	}
	if !slices.Equal(yk, []string{"H=10", "H=30"}) {
		t.Errorf("y keys %v", yk)
	}
	want := [][]float64{
		{5, 3, nan, 4},
		{nan, nan, 2.25, nan},
	}
	for r := range want {
		for c := range want[r] {
			g, w := vals[r][c], want[r][c]
			if g != w && !(math.IsNaN(g) && math.IsNaN(w)) {
				t.Errorf("cell (%s, %s) = %v, want %v", xk[c], yk[r], g, w)
			}
		}
	}
	// The result draws.
	if _, err := Render(Heatmap{XKeys: xk, YKeys: yk, Values: vals, CellFormat: "%.2f"}, "svg"); err != nil {
		t.Error(err)
	}
	if _, _, _, err := Pivot([]string{"a"}, nil, []float64{1}); err == nil {
		t.Error("length mismatch accepted")
	}
	if _, _, _, err := Pivot(nil, nil, nil); err == nil {
		t.Error("empty input accepted")
	}
}
