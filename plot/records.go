package plot

import (
	"fmt"
	"math"

	"github.com/locosim/locosim/record"
)

// EvalAxis picks the x coordinate of an evaluation for a loss curve.
type EvalAxis int

const (
	ByRound   EvalAxis = iota // outer round
	BySimTime                 // simulated seconds
	ByBytes                   // bytes moved so far, all nodes
	ByTokens                  // training tokens so far, all nodes
)

// Label is the axis label for a.
func (a EvalAxis) Label() string {
	switch a {
	case ByRound:
		return "outer round"
	case BySimTime:
		return "simulated time (s)"
	case ByBytes:
		return "bytes moved"
	case ByTokens:
		return "training tokens"
	}
	return fmt.Sprintf("EvalAxis(%d)", int(a))
}

func (a EvalAxis) of(e record.Eval) (float64, error) {
	switch a {
	case ByRound:
		return float64(e.Round), nil
	case BySimTime:
		return e.SimTimeS, nil
	case ByBytes:
		return float64(e.BytesTotal), nil
	case ByTokens:
		return float64(e.Tokens), nil
	}
	return 0, fmt.Errorf("unknown eval axis %d", int(a))
}

// EvalSeries is the eval-loss curve of one run against the chosen axis.
func EvalSeries(name string, evals []record.Eval, x EvalAxis) (Series, error) {
	s := Series{Name: name, X: make([]float64, len(evals)), Y: make([]float64, len(evals))}
	for i, e := range evals {
		v, err := x.of(e)
		if err != nil {
			return Series{}, fmt.Errorf("eval series %q: %w", name, err)
		}
		s.X[i], s.Y[i] = v, e.EvalLoss
	}
	return s, nil
}

// Utilization is, per node, the fraction of [0, untilS] spent computing,
// from event records (overlapping compute events of one node count once
// each, so keep them disjoint). Nodes are 0..nodes-1; events of other
// nodes are an error.
func Utilization(events []record.Event, nodes int, untilS float64) ([]float64, error) {
	if !(untilS > 0) || math.IsInf(untilS, 0) {
		return nil, fmt.Errorf("utilization: time span %v must be positive and finite", untilS)
	}
	busy := make([]float64, nodes)
	for i, e := range events {
		if e.Node < 0 || e.Node >= int64(nodes) {
			return nil, fmt.Errorf("utilization: event %d is for node %d, only %d nodes", i, e.Node, nodes)
		}
		if e.Kind != record.KindCompute {
			continue
		}
		lo, hi := math.Max(e.StartS, 0), math.Min(e.EndS, untilS)
		if hi > lo {
			busy[e.Node] += hi - lo
		}
	}
	for i := range busy {
		busy[i] /= untilS
	}
	return busy, nil
}
