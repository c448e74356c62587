// Package strategy holds the training algorithms locosim runs, each in a
// file of its own that registers it with the core (package sim) by name:
//
//	ddp         every step, dense gradients averaged, one shared AdamW step
//	diloco      H AdamW steps, dense pseudo-gradients averaged, outer SGD
//	            with (Nesterov) momentum
//	sparseloco  H AdamW steps, top-k + 2-bit pseudo-gradients with error
//	            feedback, θ ← θ − α·aggregate
//	demo        every step, top-k DCT components of a decoupled momentum,
//	            θ ← θ − lr·sign(aggregate)
//	gossip      H AdamW steps on each node's own weights, then pairwise
//	            gossip averaging with a random partner
//	streaming   Streaming DiLoCo: one fragment of P synchronised every H/P
//	            steps, mixed into each node's own weights
//	sparta      every step, each node's own weights averaged at a random
//	            share p of the coordinates (diloco: every H-th step instead
//	            a DiLoCo outer step on dense pseudo-gradients)
//	noloco      H AdamW steps on each node's own weights, then an outer
//	            step with momentum on the mean of its pair's (no all-reduce)
//	async       H AdamW steps from the θ a node last received, pushed to a
//	            parameter server that applies it at once (scaled by its
//	            staleness) and sends θ back: no rounds, nobody waits
//	            (keep_training: nodes train on while θ travels; regions:
//	            HALoS's regional servers between nodes and the global one)
//
// Importing the package (for its side effect, as with database/sql drivers)
// makes them available to sim.NewRun:
//
//	import _ "github.com/locosim/locosim/strategy"
//
// A new algorithm is one more file: a type that implements sim.Strategy and
// an init function that calls sim.Register, with its own configuration
// section (strategy.<name>.*) if it has knobs. Its test runs the conformance
// suite of package sim/simtest.
package strategy

import (
	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/sim"
)

// outer is what the algorithms with a shared θ have in common: the run's
// environment and a buffer for the aggregate.
type outer struct {
	env    *sim.Env
	update []float32
}

func newOuter(env *sim.Env) outer {
	return outer{env: env, update: make([]float32, len(env.Theta.Params()))}
}

func (s *outer) LR(step int) float64 { return s.env.Optimizer.LearningRate(step) }
func (s *outer) Reset(*sim.Node)     {}

// aggregate decodes and aggregates the payloads into s.update in one pass.
func (s *outer) aggregate(wires [][]byte) error {
	_, err := s.env.Compressor.AggregateEncoded(s.update, wires)
	return err
}

// pseudoGradient trains node n for steps AdamW steps from w.Start (θ, which
// w's replica holds) and returns Δ = start − θ_n in w.Delta.
func pseudoGradient(env *sim.Env, w *sim.Worker, n *sim.Node, from, steps int) ([]float32, error) {
	if err := n.Train(w, from, steps); err != nil {
		return nil, err
	}
	// From the weights the work started from: θ, unless the node trains
	// from a model of its own (a stale peer under the incentive layer),
	// whose pseudo-gradient is its own progress, not the gap to θ.
	start, params := w.Start, w.Model.Params()
	for i := range w.Delta {
		w.Delta[i] = start[i] - params[i]
	}
	return w.Delta, nil
}

// dense reports whether a compressor kind sends every value.
func dense(k compress.Kind) bool { return k == compress.Dense || k == compress.BF16 }

// outerStep moves weight j by pseudo-gradient d with outer SGD: momentum
// m ← μ·m + d, then θ ← θ − α·(d + μ·m) (Nesterov) or θ ← θ − α·m.
// Products are rounded before they are added, so that builds which may
// fuse multiply-adds give the same bits.
func outerStep(theta, momentum []float32, j int, d, alpha, mu float32, nesterov bool) {
	b := float32(mu*momentum[j]) + d
	momentum[j] = b
	if nesterov {
		theta[j] -= float32(alpha * (d + float32(mu*b)))
	} else {
		theta[j] -= float32(alpha * b)
	}
}
