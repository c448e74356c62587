package plot

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/locosim/locosim/record"
)

func sampleEvals() []record.Eval {
	var ev []record.Eval
	for r := range 10 {
		ev = append(ev, record.Eval{
			Round: int64(r), SimTimeS: 40 * float64(r), BytesTotal: int64(r) << 22,
			Tokens: int64(r) * 1e5, EvalLoss: 2 + 3*math.Exp(-float64(r)/3),
		})
	}
	return ev
}

func TestEvalSeries(t *testing.T) {
	ev := sampleEvals()
	for _, tc := range []struct {
		axis EvalAxis
		want func(record.Eval) float64
	}{
		{ByRound, func(e record.Eval) float64 { return float64(e.Round) }},
		{BySimTime, func(e record.Eval) float64 { return e.SimTimeS }},
		{ByBytes, func(e record.Eval) float64 { return float64(e.BytesTotal) }},
		{ByTokens, func(e record.Eval) float64 { return float64(e.Tokens) }},
	} {
		s, err := EvalSeries("x", ev, tc.axis)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range ev {
			if s.X[i] != tc.want(e) || s.Y[i] != e.EvalLoss {
				t.Errorf("%s: point %d = (%v, %v)", tc.axis.Label(), i, s.X[i], s.Y[i])
			}
		}
	}
	if _, err := EvalSeries("x", ev, EvalAxis(9)); err == nil {
		t.Error("unknown axis accepted")
	}
}

func TestUtilization(t *testing.T) {
	ev := []record.Event{
		{Node: 0, Kind: record.KindCompute, StartS: 0, EndS: 30},
		{Node: 0, Kind: record.KindUpload, StartS: 30, EndS: 40},
		{Node: 0, Kind: record.KindCompute, StartS: 40, EndS: 60},
		{Node: 1, Kind: record.KindCompute, StartS: 90, EndS: 130}, // clipped at 100
	}
	u, err := Utilization(ev, 3, 100)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{0.5, 0.1, 0}; !slices.Equal(u, want) {
		t.Errorf("Utilization = %v, want %v", u, want)
	}
	if _, err := Utilization(ev, 1, 100); err == nil || !strings.Contains(err.Error(), "node 1") {
		t.Errorf("event of an unknown node: err = %v", err)
	}
	if _, err := Utilization(ev, 3, 0); err == nil {
		t.Error("zero span accepted")
	}
}
