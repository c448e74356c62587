package strategy_test

import (
	"testing"

	"github.com/locosim/locosim/sim/simtest"
)

func TestStreamingConformance(t *testing.T) {
	simtest.Conformance(t, simtest.Spec{Name: "streaming", Sets: []string{"train.inner_steps=6"}, Knobs: []string{
		"strategy.streaming.fragments=2", "strategy.streaming.mix=1",
		"strategy.streaming.outer_momentum=0.5", "strategy.streaming.nesterov=false",
		"strategy.outer_lr=0.5", "strategy.compressor.kind=quantize",
	}})
}

// With one fragment and full mixing every node takes the outer weights
// after every round: DiLoCo.
func TestStreamingOneFragmentIsDiLoCo(t *testing.T) {
	s := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=streaming", "strategy.streaming.fragments=1", "strategy.streaming.mix=1"))
	d := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=diloco"))
	if diff := maxAbsDiff(s.Run.Model().Params(), d.Run.Model().Params()); diff > 1e-5 {
		t.Fatalf("Streaming DiLoCo with one fragment and DiLoCo differ by %g", diff)
	}
}

// P fragments cut what a round sends, its peak bandwidth, by about P.
func TestStreamingCutsPeakBytes(t *testing.T) {
	s := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=streaming", "train.inner_steps=6"))
	d := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=diloco", "train.inner_steps=6"))
	peak := func(res simtest.Result) (m int64) {
		for _, rr := range res.Mem.Rounds {
			m = max(m, rr.PayloadBytes)
		}
		return m
	}
	ps, pd := peak(s), peak(d)
	if !(ps*2 < pd) || ps <= 0 {
		t.Errorf("peak payload %d bytes with 3 fragments against %d with DiLoCo: want well under half", ps, pd)
	}
	last := func(res simtest.Result) int64 { return res.Mem.Evals[len(res.Mem.Evals)-1].Tokens }
	if last(s) != last(d) {
		t.Errorf("tokens %d and %d: not equal", last(s), last(d))
	}
	t.Logf("peak payload: %d bytes (3 fragments) against %d (DiLoCo)", ps, pd)
}
