package strategy_test

import (
	"testing"

	"github.com/locosim/locosim/sim/simtest"
)

func TestAsyncConformance(t *testing.T) {
	simtest.Conformance(t, simtest.Spec{Name: "async", Knobs: []string{
		"strategy.async.staleness=constant",
		"strategy.async.staleness=poly,strategy.async.power=2",
		"strategy.async.quorum=3",
		"strategy.async.window_s=2,strategy.async.quorum=6",
		"strategy.outer_lr=0.5",
		"strategy.async.keep_training=true",
		"strategy.async.regions=2", "strategy.async.regions=2,strategy.async.region_every=1",
		"strategy.async.regions=2,strategy.async.global_lr=0.5", "strategy.async.regions=2,strategy.async.global_momentum=0.5",
	}})
}

// HALoS's hierarchy: two regional servers between the nodes and the
// global one.
func TestAsyncRegionsConformance(t *testing.T) {
	simtest.Conformance(t, simtest.Spec{Name: "async", Sets: []string{"strategy.async.regions=2", "strategy.async.region_every=2",
		// Compute long enough that a rejoining node gets θ before the others
		// have done all the work.
		"projection.tokens_per_step=1e7"},
		Knobs: []string{"strategy.async.staleness=constant", "strategy.async.staleness=poly,strategy.async.power=2",
			"strategy.async.quorum=3", "strategy.async.window_s=2,strategy.async.quorum=6", "strategy.outer_lr=0.5",
			"strategy.async.keep_training=false,strategy.async.regions=0", "strategy.async.regions=3", "strategy.async.region_every=1",
			"strategy.async.global_lr=0.5", "strategy.async.global_momentum=0.5"}})
}

func TestAsyncKeepTrainingConformance(t *testing.T) {
	simtest.Conformance(t, simtest.Spec{Name: "async", Sets: []string{"strategy.async.keep_training=true", "train.outer_rounds=6", "strategy.outer_lr=0.3",
		// Compute long enough that a rejoining node gets θ before the others
		// have done all the work.
		"projection.tokens_per_step=1e7"},
		Knobs: []string{"strategy.async.staleness=constant", "strategy.async.staleness=poly,strategy.async.power=2",
			"strategy.async.quorum=3", "strategy.async.window_s=2,strategy.async.quorum=6", "strategy.outer_lr=0.5",
			"strategy.async.keep_training=false", "strategy.async.keep_training=false,strategy.async.regions=2",
			"strategy.async.keep_training=false,strategy.async.regions=2,strategy.async.region_every=1",
			"strategy.async.keep_training=false,strategy.async.regions=2,strategy.async.global_lr=0.5",
			"strategy.async.keep_training=false,strategy.async.regions=2,strategy.async.global_momentum=0.5"}})
}

// A node that keeps training while its push and θ travel computes all the
// time; one that waits for θ idles for the round trip.
func TestAsyncKeepTrainingKeepsComputeBusy(t *testing.T) {
	// The default projection (1B parameters) with SparseLoCo's payloads:
	// computing H steps takes longer than a push, as on the default network.
	sets := []string{"strategy.kind=async", "cluster.nodes=8", "train.outer_rounds=36", "train.eval_every=12",
		"strategy.compressor.kind=sparseloco", "strategy.async.staleness=constant",
		"projection.params=1e9", "projection.tokens_per_step=65536", "train.inner_steps=30"}
	wait := simtest.RunConfig(t, simtest.Resolve(t, sets...))
	keep := simtest.RunConfig(t, simtest.Resolve(t, append(sets, "strategy.async.keep_training=true")...))
	uw, uk := wait.Run.ComputeUtilization(), keep.Run.ComputeUtilization()
	if !(uk > 0.8 && uk > 2*uw) {
		t.Errorf("compute utilisation %.3f keeping on, %.3f waiting for θ: want > 0.8 and twice as much", uk, uw)
	}
	lw, lk := wait.Mem.Evals[len(wait.Mem.Evals)-1], keep.Mem.Evals[len(keep.Mem.Evals)-1]
	if lk.Tokens != lw.Tokens || !(lk.SimTimeS < lw.SimTimeS) {
		t.Errorf("keeping on: %d tokens in %.1f s; waiting: %d tokens in %.1f s", lk.Tokens, lk.SimTimeS, lw.Tokens, lw.SimTimeS)
	}
	t.Logf("utilisation %.3f (loss %.4f, %.1f s) keeping on, %.3f (loss %.4f, %.1f s) waiting", uk, lk.EvalLoss, lk.SimTimeS, uw, lw.EvalLoss, lw.SimTimeS)
}

// With identical nodes and a quorum of every node, the server applies all
// pushes of a round at once, none stale: synchronous DiLoCo without
// momentum.
func TestAsyncQuorumAllIsDiLoCo(t *testing.T) {
	identical := []string{"cluster.classes=[{name: same, share: 1, peak_tflops: 100, utilization: 0.5, bw_up_mbps: 100, bw_down_mbps: 100, bw_up_sigma: 0, bw_down_sigma: 0, access_latency_ms: 10}]",
		"cluster.latency.span_ms=0"}
	a := simtest.RunConfig(t, simtest.Resolve(t, append([]string{"strategy.kind=async", "strategy.async.quorum=0"}, identical...)...))
	d := simtest.RunConfig(t, simtest.Resolve(t, append([]string{"strategy.kind=diloco",
		"strategy.diloco.outer_momentum=0", "strategy.diloco.nesterov=false"}, identical...)...))
	if diff := maxAbsDiff(a.Run.Model().Params(), d.Run.Model().Params()); diff > 1e-6 {
		t.Fatalf("async with a full quorum and DiLoCo without momentum differ by %g", diff)
	}
	applied := 0
	for _, rr := range a.Mem.Rounds {
		if rr.Staleness > 0 {
			t.Fatalf("round %d node %d: staleness %v with a full quorum", rr.Round, rr.Node, rr.Staleness)
		}
		if rr.Staleness == 0 {
			applied++
		}
	}
	if applied == 0 {
		t.Error("no round records a staleness")
	}
}

// On the default heterogeneous classes with each push applied at once, fast
// nodes run ahead: their pushes are stale, and they do more steps.
func TestAsyncFastNodesRunAhead(t *testing.T) {
	res := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=async"))
	steps := map[int64]int64{}
	stale := false
	for _, rr := range res.Mem.Rounds {
		steps[rr.Node] += rr.InnerSteps
		stale = stale || rr.Staleness > 0
	}
	lo, hi := steps[0], steps[0]
	for _, s := range steps {
		lo, hi = min(lo, s), max(hi, s)
	}
	if !(hi > lo) || !stale {
		t.Errorf("steps per node %v (stale pushes: %v): fast nodes should run ahead", steps, stale)
	}
}
