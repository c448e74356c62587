package strategy_test

import (
	"testing"

	"github.com/locosim/locosim/sim/simtest"
)

func TestSPARTAConformance(t *testing.T) {
	simtest.Conformance(t, simtest.Spec{Name: "sparta", Sets: []string{"train.inner_steps=2", "strategy.sparta.share=0.05"},
		Knobs: []string{"strategy.sparta.share=0.5"}})
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
