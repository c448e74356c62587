package strategy_test

import (
	"testing"

	"github.com/locosim/locosim/sim/simtest"
)

func TestSparseLoCoConformance(t *testing.T) {
	simtest.Conformance(t, simtest.Spec{Name: "sparseloco", Knobs: []string{
		"strategy.outer_lr=0.5", "strategy.density=0.5", "strategy.compressor.error_decay=0.5",
	}})
}

// SparseLoCo with density 1, no quantization and the mean over all replicas
// is DiLoCo without momentum at outer lr 1.
func TestSparseLoCoDenseIsDiLoCo(t *testing.T) {
	rs := simtest.RunConfig(t, simtest.Resolve(t, "strategy.compressor.topk_per_chunk=4096",
		"strategy.compressor.quant_bits=0", "strategy.compressor.aggregation=replicas"))
	rd := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=diloco",
		"strategy.diloco.outer_momentum=0", "strategy.diloco.nesterov=false"))
	if d := maxAbsDiff(rs.Run.Model().Params(), rd.Run.Model().Params()); d > 1e-6 {
		t.Fatalf("SparseLoCo(density 1) and DiLoCo(no momentum) differ by %g", d)
	}
}

// The core's guarantees hold with the incentive layer on: a validator
// scoring every payload, a free rider and a copier among the peers, and the
// aggregate made of the gather list's payloads.
func TestSparseLoCoConformanceIncentive(t *testing.T) {
	simtest.Conformance(t, simtest.Spec{Name: "sparseloco", NoOverlap: true, Sets: []string{
		"incentive.enabled=true", "incentive.gauntlet.gather_peers=4", "incentive.gauntlet.reserve_peers=1",
		"incentive.attack.free_rider=0.17", "incentive.attack.copier=0.17",
	}, Knobs: []string{"strategy.outer_lr=0.5", "incentive.mechanism=false"}})
}
