package experiments

import (
	"reflect"
	"testing"
)

func TestInAxisOrder(t *testing.T) {
	xk, yk := []string{"bw100", "bw30"}, []string{"deadline", "fixed", "window"}
	grid := [][]float64{{1, 2}, {3, 4}, {5, 6}}
	gx, gy, gg := inAxisOrder(xk, yk, grid, []string{"bw30", "bw100"}, []string{"fixed", "window", "deadline"})
	if !reflect.DeepEqual(gx, []string{"bw30", "bw100"}) || !reflect.DeepEqual(gy, []string{"fixed", "window", "deadline"}) {
		t.Fatalf("keys %v %v", gx, gy)
	}
	if want := [][]float64{{4, 3}, {6, 5}, {2, 1}}; !reflect.DeepEqual(gg, want) {
		t.Fatalf("grid %v, want %v", gg, want)
	}
	// A key the axis does not list leaves the pivot's order.
	gx, _, _ = inAxisOrder(xk, yk, grid, []string{"bw30"}, nil)
	if !reflect.DeepEqual(gx, xk) {
		t.Fatalf("partial axis reordered: %v", gx)
	}
}

// Series are named by the keys that identify a setting.
func TestNameKeys(t *testing.T) {
	mk := func(kind string, density, h, rounds float64) setting {
		return setting{values: map[string]any{"strategy.kind": kind, "strategy.density": density,
			"train.inner_steps": h, "train.outer_rounds": rounds}}
	}
	ss := []setting{
		mk("sparseloco", 0.01, 10, 30), mk("sparseloco", 0.01, 30, 10),
		mk("sparseloco", 0.02, 10, 30), mk("diloco", 0, 10, 30),
	}
	got := nameKeys(ss, []string{"strategy.density", "strategy.kind", "train.inner_steps", "train.outer_rounds"})
	want := []string{"strategy.density", "strategy.kind", "train.inner_steps"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("nameKeys = %v, want %v", got, want)
	}
	// An evaluation interval zipped with H (to keep the number of
	// evaluations) names nothing: H does.
	for i := range ss {
		ss[i].values["train.eval_every"] = 300 / ss[i].values["train.inner_steps"].(float64)
	}
	got = nameKeys(ss, []string{"strategy.density", "strategy.kind", "train.eval_every", "train.inner_steps", "train.outer_rounds"})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("with train.eval_every zipped in: nameKeys = %v, want %v", got, want)
	}
}
