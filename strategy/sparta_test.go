package strategy_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/locosim/locosim/config"
	"github.com/locosim/locosim/record"
	"github.com/locosim/locosim/sim"
	"github.com/locosim/locosim/sim/simtest"
)

// The keys of the DiLoCo variant matter only with diloco on: here they
// are turned on with it (TestSPARTADiLoCoConformance moves them one by one,
// and TestSPARTAOuterKeysIdleWithoutDiLoCo checks they do nothing alone).
func TestSPARTAConformance(t *testing.T) {
	simtest.Conformance(t, simtest.Spec{Name: "sparta", Sets: []string{"train.inner_steps=2", "strategy.sparta.share=0.05"},
		Knobs: []string{"strategy.sparta.share=0.5", "strategy.sparta.diloco=true",
			"strategy.sparta.diloco=true,strategy.sparta.outer_momentum=0.5",
			"strategy.sparta.diloco=true,strategy.sparta.nesterov=false"}})
}

// With two steps a period, every other round is a DiLoCo round: the suite's
// crash in round 1 hits one, so the crashed node rejoins in a new period.
func TestSPARTADiLoCoConformance(t *testing.T) {
	simtest.Conformance(t, simtest.Spec{Name: "sparta",
		Sets: []string{"train.inner_steps=2", "strategy.sparta.share=0.05", "strategy.sparta.diloco=true"},
		Knobs: []string{"strategy.sparta.share=0.5", "strategy.sparta.diloco=false",
			"strategy.sparta.outer_momentum=0.5", "strategy.sparta.nesterov=false", "strategy.outer_lr=0.5"}})
}

// Without diloco the outer step's keys change nothing: the run is plain
// SPARTA's, bit for bit.
func TestSPARTAOuterKeysIdleWithoutDiLoCo(t *testing.T) {
	base := []string{"strategy.kind=sparta", "train.inner_steps=2", "strategy.sparta.share=0.05"}
	ref := simtest.RunConfig(t, simtest.Resolve(t, base...)).Fingerprint()
	for _, set := range []string{"strategy.sparta.outer_momentum=0.5", "strategy.sparta.nesterov=false", "strategy.outer_lr=0.5"} {
		if got := simtest.RunConfig(t, simtest.Resolve(t, append(base, set)...)).Fingerprint(); got != ref {
			t.Errorf("%s changed a run without diloco", set)
		}
	}
}

func TestSPARTARejectsBadMomentum(t *testing.T) {
	for _, mu := range []string{"-0.1", "1", "1.5"} {
		cfg, err := config.Resolve(sim.DefaultConfig(), config.Source{Sets: []string{"strategy.kind=sparta",
			"strategy.sparta.diloco=true", "strategy.sparta.outer_momentum=" + mu}})
		if err == nil {
			err = cfg.ValidateRun()
		}
		if err == nil || !strings.Contains(err.Error(), "strategy.sparta.outer_momentum") {
			t.Errorf("outer_momentum %s: error %v, want one naming strategy.sparta.outer_momentum", mu, err)
		}
	}
}

// With one node sparse averaging is a no-op, so SPARTA + DiLoCo is DiLoCo
// with the same period and outer optimizer.
func TestSPARTADiLoCoOneNodeIsDiLoCo(t *testing.T) {
	for _, nesterov := range []string{"true", "false"} {
		common := []string{"cluster.nodes=1", "train.inner_steps=3", "train.outer_rounds=4", "strategy.outer_lr=0.7"}
		s := simtest.RunConfig(t, simtest.Resolve(t, append(common, "strategy.kind=sparta", "strategy.sparta.share=0.1",
			"strategy.sparta.diloco=true", "strategy.sparta.outer_momentum=0.8", "strategy.sparta.nesterov="+nesterov)...))
		d := simtest.RunConfig(t, simtest.Resolve(t, append(common, "strategy.kind=diloco",
			"strategy.diloco.outer_momentum=0.8", "strategy.diloco.nesterov="+nesterov)...))
		diff := maxAbsDiff(s.Run.Model().Params(), d.Run.Model().Params())
		if diff > 1e-5 {
			t.Errorf("nesterov %s: SPARTA + DiLoCo on one node and DiLoCo differ by %g", nesterov, diff)
		}
		t.Logf("nesterov %s: SPARTA + DiLoCo on one node and DiLoCo differ by %g", nesterov, diff)
		// A wrong outer step would show: DiLoCo with another momentum is
		// far from it.
		o := simtest.RunConfig(t, simtest.Resolve(t, append(common, "strategy.kind=diloco",
			"strategy.diloco.outer_momentum=0.5", "strategy.diloco.nesterov="+nesterov)...))
		if diff := maxAbsDiff(s.Run.Model().Params(), o.Run.Model().Params()); !(diff > 1e-3) {
			t.Errorf("nesterov %s: DiLoCo at another momentum is within %g: the comparison cannot fail", nesterov, diff)
		}
	}
}

// With one step a period every round is a DiLoCo round, so SPARTA + DiLoCo
// is DiLoCo, crashes included: a node that crashed in a DiLoCo round
// rejoins from the outer weights, as a DiLoCo node fetches θ (not from the
// mean of the nodes' weights, which still counts its own old ones).
func TestSPARTADiLoCoRejoinsFromOuterWeights(t *testing.T) {
	common := []string{"cluster.nodes=3", "train.inner_steps=1", "train.outer_rounds=5"}
	sparta := append(common, "strategy.kind=sparta", "strategy.sparta.diloco=true")
	ref := simtest.RunConfig(t, simtest.Resolve(t, sparta...))
	crash := math.NaN()
	for _, e := range ref.Mem.Events {
		if e.Node == 2 && e.Round == 1 && e.Kind == record.KindCompute {
			crash = (e.StartS + e.EndS) / 2
		}
	}
	if math.IsNaN(crash) {
		t.Fatal("node 2 did not compute in round 1")
	}
	churn := fmt.Sprintf("cluster.churn.events=[{node: 2, crash_s: %v, rejoin_s: %v}]", crash, crash+1e-6)
	s := simtest.RunConfig(t, simtest.Resolve(t, append(sparta, churn)...))
	d := simtest.RunConfig(t, simtest.Resolve(t, append(common, "strategy.kind=diloco", churn)...))
	var statuses []string
	for _, rr := range s.Mem.Rounds {
		if rr.Node == 2 {
			statuses = append(statuses, rr.Status)
		}
	}
	if len(statuses) < 3 || statuses[1] != record.StatusCrashed || statuses[2] != record.StatusRejoined {
		t.Fatalf("node 2's statuses %v: want it to crash in round 1 and rejoin in round 2", statuses)
	}
	diff := maxAbsDiff(s.Run.Model().Params(), d.Run.Model().Params())
	if diff > 1e-5 {
		t.Errorf("with a crash, SPARTA + DiLoCo at one step a period and DiLoCo differ by %g", diff)
	}
	t.Logf("with a crash, SPARTA + DiLoCo at one step a period and DiLoCo differ by %g", diff)
}

// A DiLoCo round sends the whole model, as DiLoCo does; the others p of it.
func TestSPARTADiLoCoBytes(t *testing.T) {
	const H, p = 3, 0.1
	s := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=sparta", "strategy.sparta.diloco=true",
		fmt.Sprintf("strategy.sparta.share=%v", p), fmt.Sprintf("train.inner_steps=%d", H)))
	d := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=diloco", fmt.Sprintf("train.inner_steps=%d", H)))
	var whole int64
	for _, rr := range d.Mem.Rounds {
		whole = max(whole, rr.PayloadBytes)
	}
	var outer, sparse int
	var sparseBytes int64
	for _, rr := range s.Mem.Rounds {
		if rr.PayloadBytes == 0 {
			continue
		}
		if (rr.Round+1)%H == 0 {
			outer++
			if rr.PayloadBytes != whole {
				t.Errorf("round %d, node %d: a DiLoCo round's payload is %d bytes, DiLoCo's %d", rr.Round, rr.Node, rr.PayloadBytes, whole)
			}
		} else {
			sparse++
			sparseBytes = max(sparseBytes, rr.PayloadBytes)
			if r := float64(rr.PayloadBytes) / float64(whole); !(r > 0.9*p && r < 1.1*p) {
				t.Errorf("round %d, node %d: a sparse round's payload is %.4f of the model, want about %v", rr.Round, rr.Node, r, p)
			}
		}
	}
	if outer == 0 || sparse == 0 {
		t.Fatalf("%d DiLoCo and %d sparse payloads: want both", outer, sparse)
	}
	t.Logf("payloads: %d bytes in DiLoCo rounds (DiLoCo's), at most %d (%.4f of it) in the others", whole, sparseBytes, float64(sparseBytes)/float64(whole))
}

// Averaging every parameter after every step is DiLoCo with one inner step
// and a plain outer step of 1.
func TestSPARTAEverythingIsAveragingEveryStep(t *testing.T) {
	s := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=sparta", "strategy.sparta.share=1", "train.inner_steps=1", "train.outer_rounds=4"))
	d := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=diloco", "strategy.diloco.outer_momentum=0",
		"strategy.diloco.nesterov=false", "train.inner_steps=1", "train.outer_rounds=4"))
	if diff := maxAbsDiff(s.Run.Model().Params(), d.Run.Model().Params()); diff > 1e-5 {
		t.Fatalf("SPARTA with p = 1 and averaging every step differ by %g", diff)
	}
}

// Each step moves p of the model.
func TestSPARTABytesScaleWithShare(t *testing.T) {
	small := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=sparta", "strategy.sparta.share=0.01", "train.inner_steps=2"))
	big := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=sparta", "strategy.sparta.share=0.1", "train.inner_steps=2"))
	peak := func(res simtest.Result) (m int64) {
		for _, rr := range res.Mem.Rounds {
			m = max(m, rr.PayloadBytes)
		}
		return m
	}
	if r := float64(peak(big)) / float64(peak(small)); !(r > 8 && r < 12) {
		t.Errorf("payloads at p = 0.1 are %.2f times those at p = 0.01, want about 10", r)
	}
}
