package strategy_test

import (
	"math"
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

// With sync.overlap a fragment's exchange runs during the next H/P steps
// (τ = H/P), and what it brings is mixed into weights that trained on: the
// same tokens and bytes in less simulated time, at a loss close to that
// without overlap.
func TestStreamingOverlap(t *testing.T) {
	sets := []string{"strategy.kind=streaming", "train.inner_steps=6", "train.outer_rounds=6", "cluster.nodes=4"}
	plain := simtest.RunConfig(t, simtest.Resolve(t, sets...))
	over := simtest.RunConfig(t, simtest.Resolve(t, append(sets, "sync.overlap=true")...))
	p, o := plain.Mem.Evals[len(plain.Mem.Evals)-1], over.Mem.Evals[len(over.Mem.Evals)-1]
	if o.Tokens != p.Tokens || o.BytesTotal != p.BytesTotal {
		t.Errorf("overlap: %d tokens, %d bytes; without: %d, %d", o.Tokens, o.BytesTotal, p.Tokens, p.BytesTotal)
	}
	if !(o.SimTimeS < p.SimTimeS) {
		t.Errorf("overlap took %.1f s of simulated time, without %.1f s", o.SimTimeS, p.SimTimeS)
	}
	// Six rounds of two steps are early in training, where a merge one
	// round late costs most (0.24 nats here; under 0.01 at 360 steps).
	if o.EvalLoss == p.EvalLoss || math.Abs(o.EvalLoss-p.EvalLoss) > 0.4 {
		t.Errorf("loss %.4f with overlap, %.4f without: want close, not equal", o.EvalLoss, p.EvalLoss)
	}
	t.Logf("overlap: %.1f s, loss %.4f; without: %.1f s, loss %.4f", o.SimTimeS, o.EvalLoss, p.SimTimeS, p.EvalLoss)
}

// Each round's records say which fragment it synchronised, in turn.
func TestStreamingRecordsFragments(t *testing.T) {
	res := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=streaming", "train.inner_steps=6"))
	for _, rr := range res.Mem.Rounds {
		if rr.Fragment != rr.Round%3 {
			t.Fatalf("round %d: fragment %d, want %d", rr.Round, rr.Fragment, rr.Round%3)
		}
	}
	d := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=diloco"))
	if f := d.Mem.Rounds[0].Fragment; f != -1 {
		t.Errorf("DiLoCo's rounds: fragment %d, want -1 (the whole model)", f)
	}
}
