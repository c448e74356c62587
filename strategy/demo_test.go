package strategy_test

import (
	"testing"

	"github.com/locosim/locosim/sim/simtest"
)

func TestDeMoConformance(t *testing.T) {
	simtest.Conformance(t, simtest.Spec{Name: "demo", Sets: []string{"train.inner_steps=2"}, Knobs: []string{
		"strategy.compressor.demo_beta=0.9", "strategy.compressor.demo_topk=8",
	}})
}
