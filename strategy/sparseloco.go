package strategy

import (
	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/sim"
)

func init() {
	sim.Register(sim.Algorithm{
		Name:          "sparseloco",
		Compressor:    compress.SparseLoCo,
		NodeOptimizer: true,
		New:           func(env *sim.Env) (sim.Strategy, error) { return &SparseLoCo{outer: newOuter(env)}, nil },
	})
}

// SparseLoCo (Templar, 2025): every node takes H AdamW steps from θ, and its
// compressor turns the pseudo-gradient into top-k values per chunk, 2-bit
// quantized, keeping what it did not send in a decaying error-feedback
// buffer (package compress holds that state per node). The outer step is
// plain: θ ← θ − α·aggregate, with α = strategy.outer_lr; the decaying
// buffer stands in for outer momentum.
type SparseLoCo struct{ outer }

func (s *SparseLoCo) Local(w *sim.Worker, n *sim.Node, from, steps int) ([]float32, error) {
	return pseudoGradient(s.env, w, n, from, steps)
}

func (s *SparseLoCo) Apply(wires [][]byte, _ int) error {
	if err := s.aggregate(wires); err != nil {
		return err
	}
	alpha := float32(s.env.Config.Strategy.OuterLR)
	theta := s.env.Theta.Params()
	for i, u := range s.update {
		theta[i] -= float32(alpha * u)
	}
	return nil
}
