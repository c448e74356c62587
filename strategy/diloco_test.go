package strategy_test

import (
	"math"
	"testing"

	"github.com/locosim/locosim/config"
	"github.com/locosim/locosim/sim"
	"github.com/locosim/locosim/sim/simtest"
)

func TestDiLoCoConformance(t *testing.T) {
	simtest.Conformance(t, simtest.Spec{Name: "diloco", Knobs: []string{
		"strategy.diloco.outer_momentum=0.5", "strategy.diloco.nesterov=false",
		"strategy.outer_lr=0.5", "strategy.compressor.kind=bf16",
	}})
}

func TestDiLoCoRejectsBadMomentum(t *testing.T) {
	for _, mu := range []string{"-0.1", "1", "1.5"} {
		cfg, err := config.Resolve(sim.DefaultConfig(), config.Source{Sets: []string{"strategy.kind=diloco", "strategy.diloco.outer_momentum=" + mu}})
		if err == nil {
			err = cfg.ValidateRun()
		}
		if err == nil {
			t.Errorf("outer_momentum %s accepted", mu)
		}
	}
	if _, err := config.Resolve(sim.DefaultConfig(), config.Source{Sets: []string{"strategy.diloco.outer_momentun=0.5"}}); err == nil {
		t.Error("a misspelt key of the diloco section was accepted")
	}
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// DiLoCo's dense payloads carry no top-k indices: the layer scores them
// without copy detection.
func TestDiLoCoConformanceIncentive(t *testing.T) {
	simtest.Conformance(t, simtest.Spec{Name: "diloco", NoOverlap: true, Sets: []string{
		"incentive.enabled=true", "incentive.gauntlet.gather_peers=4", "incentive.attack.lazy=0.34",
	}, Knobs: []string{"incentive.mechanism=false", "strategy.diloco.outer_momentum=0.5", "strategy.diloco.nesterov=false"}})
}
