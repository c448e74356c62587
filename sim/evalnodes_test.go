package sim_test

import (
	"math"
	"testing"

	"github.com/locosim/locosim/sim/simtest"
)

// With nodes that hold weights of their own, evaluations say how far apart
// they are; with a shared θ those columns are NaN.
func TestEvalNodes(t *testing.T) {
	res := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=gossip", "cluster.nodes=4"))
	evals := res.Mem.Evals
	first, last := evals[0], evals[len(evals)-1]
	if first.WeightSpread != 0 {
		t.Errorf("before training the nodes' weights differ: spread %g", first.WeightSpread)
	}
	if d := math.Abs(first.NodeLossMean - first.EvalLoss); d > 1e-6 || first.NodeLossStd > 1e-6 {
		t.Errorf("before training: node losses %g ± %g, θ's %g", first.NodeLossMean, first.NodeLossStd, first.EvalLoss)
	}
	if !(last.WeightSpread > 0 && last.WeightSpread < 1) {
		t.Errorf("after training: weight spread %g, want in (0, 1)", last.WeightSpread)
	}
	if !(last.NodeLossMin <= last.NodeLossMean && last.NodeLossMean <= last.NodeLossMax && last.NodeLossStd > 0) {
		t.Errorf("after training: node losses min %g mean %g max %g std %g", last.NodeLossMin, last.NodeLossMean, last.NodeLossMax, last.NodeLossStd)
	}

	off := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=gossip", "cluster.nodes=4", "train.eval_nodes=false"))
	l := off.Mem.Evals[len(off.Mem.Evals)-1]
	if !math.IsNaN(l.NodeLossMean) || l.WeightSpread != last.WeightSpread || l.EvalLoss != last.EvalLoss {
		t.Errorf("train.eval_nodes=false: node loss %g (want NaN), spread %g (want %g), loss %g (want %g)",
			l.NodeLossMean, l.WeightSpread, last.WeightSpread, l.EvalLoss, last.EvalLoss)
	}

	shared := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=diloco", "cluster.nodes=4"))
	for _, e := range shared.Mem.Evals {
		if !math.IsNaN(e.WeightSpread) || !math.IsNaN(e.NodeLossMean) {
			t.Fatalf("diloco (a shared θ): spread %g, node loss %g, want NaN", e.WeightSpread, e.NodeLossMean)
		}
	}
}
