package strategy_test

import (
	"testing"

	"github.com/locosim/locosim/sim/simtest"
)

func TestGossipConformance(t *testing.T) {
	simtest.Conformance(t, simtest.Spec{Name: "gossip", Knobs: []string{"strategy.gossip.mix=0.5"}})
}

// With two nodes, pairwise gossip with full mixing pairs them every round,
// so both move to the mean of their weights: DiLoCo without momentum at
// outer lr 1.
func TestGossipOfTwoIsDiLoCo(t *testing.T) {
	g := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=gossip", "cluster.nodes=2"))
	d := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=diloco", "cluster.nodes=2",
		"strategy.diloco.outer_momentum=0", "strategy.diloco.nesterov=false"))
	if diff := maxAbsDiff(g.Run.Model().Params(), d.Run.Model().Params()); diff > 1e-5 {
		t.Fatalf("gossip of two and DiLoCo without momentum differ by %g", diff)
	}
}
