package sim_test

import (
	"math"
	"runtime"
	"testing"

	"github.com/locosim/locosim/sim"
	"github.com/locosim/locosim/sim/simtest"
)

// A Driver schedules its nodes itself: with asynchronous SGD (package
// strategy's async) on the default heterogeneous classes, fast nodes do
// more steps than slow ones, nobody waits, and the run is still a
// deterministic function of its seed.
func TestDriverAsync(t *testing.T) {
	cfg := simtest.Resolve(t, "strategy.kind=async", "cluster.nodes=6")
	res := simtest.RunConfig(t, cfg)
	ev := res.Mem.Evals
	if !(ev[len(ev)-1].EvalLoss < ev[0].EvalLoss) || math.IsNaN(ev[len(ev)-1].EvalLoss) {
		t.Errorf("loss %v -> %v", ev[0].EvalLoss, ev[len(ev)-1].EvalLoss)
	}
	steps := map[int64]int64{}
	for _, rr := range res.Mem.Rounds {
		steps[rr.Node] += rr.InnerSteps
	}
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, s := range steps {
		lo, hi = min(lo, s), max(hi, s)
	}
	if !(hi > lo) {
		t.Errorf("every node did %d steps: fast nodes should do more", lo)
	}
	t.Logf("inner steps per node %v; utilisation %.3f", steps, res.Run.ComputeUtilization())
	if total := ev[len(ev)-1].Tokens; total < int64(3*3*6*2*16) {
		t.Errorf("%d tokens, want at least the synchronous run's", total)
	}
	simtest.CheckBytes(t, res)
	sync := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=diloco", "cluster.nodes=6"))
	if a, b := res.Run.ComputeUtilization(), sync.Run.ComputeUtilization(); !(a > b) {
		t.Errorf("asynchronous utilisation %v, not above synchronous DiLoCo's %v", a, b)
	}

	old := runtime.GOMAXPROCS(1)
	one := simtest.RunConfig(t, cfg).Fingerprint()
	runtime.GOMAXPROCS(old)
	if one != res.Fingerprint() {
		t.Error("GOMAXPROCS 1 and the default give different runs")
	}

	// Nodes fail and come back; the run goes on.
	churn := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=async", "cluster.nodes=6",
		"cluster.churn.mtbf_s=60", "cluster.churn.mean_downtime_s=8"))
	simtest.CheckBytes(t, churn)
	down := 0
	for _, e := range churn.Mem.Events {
		if e.Kind == "fail" {
			down++
		}
	}
	if down == 0 {
		t.Error("no node failed under churn")
	}
	if _, err := sim.NewRun(simtest.Resolve(t, "strategy.kind=async", "sync.overlap=true"), sim.Options{}); err == nil {
		t.Error("overlap accepted for a driven run")
	}
}
