package strategy

import (
	"fmt"
	"testing"

	"github.com/locosim/locosim/sim/simtest"
)

// Nodes fail and come back all the time, hosts of regional servers among
// them: at the end every region has sent all its progress to the global
// server and merged the global θ back (nothing stuck on its way, nothing
// owed).
func TestRegionsSettleDespiteHostFailures(t *testing.T) {
	sets := []string{"strategy.kind=async", "strategy.async.regions=2", "strategy.async.region_every=2",
		"projection.tokens_per_step=1e7", "train.outer_rounds=6"}
	ref := simtest.RunConfig(t, simtest.Resolve(t, sets...))
	end := ref.Mem.Evals[len(ref.Mem.Evals)-1].SimTimeS
	res := simtest.RunConfig(t, simtest.Resolve(t, append(sets, fmt.Sprintf("cluster.churn.mtbf_s=%v", end/6),
		fmt.Sprintf("cluster.churn.mean_downtime_s=%v", end/100))...))
	s := res.Run.Strategy().(*Async)
	if len(s.srv) != 3 {
		t.Fatalf("%d servers, want the global one and 2 regions", len(s.srv))
	}
	hosts := 0
	for _, srv := range s.srv[1:] {
		hosts++
		if srv.phase != phaseIdle || srv.due {
			t.Errorf("region %d (host %d) ends in phase %d, sync owed %v", srv.id, srv.host, srv.phase, srv.due)
		}
		for j := range srv.theta {
			if srv.theta[j] != srv.base[j] {
				t.Errorf("region %d ends with progress the global server never got (weight %d: %g against %g)", srv.id, j, srv.theta[j], srv.base[j])
				break
			}
		}
	}
	fails := 0
	for _, e := range res.Mem.Events {
		if e.Kind == "fail" {
			fails++
		}
	}
	if fails < 12 {
		t.Errorf("%d failures: the churn settings no longer exercise the regions", fails)
	}
	first, last := res.Mem.Evals[0], res.Mem.Evals[len(res.Mem.Evals)-1]
	if !(last.EvalLoss < first.EvalLoss-0.1) {
		t.Errorf("with host failures the loss went from %.4f to %.4f", first.EvalLoss, last.EvalLoss)
	}
}
