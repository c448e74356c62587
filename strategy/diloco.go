package strategy

import (
	"fmt"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/sim"
)

// DiLoCoConfig is DiLoCo's section, strategy.diloco.*.
type DiLoCoConfig struct {
	// OuterMomentum is the outer momentum μ.
	OuterMomentum float64 `mapstructure:"outer_momentum" yaml:"outer_momentum"`
	// Nesterov selects Nesterov momentum; false with outer_momentum 0 is
	// plain outer SGD (the "DiLoCo without momentum" baseline).
	Nesterov bool `mapstructure:"nesterov" yaml:"nesterov"`
}

func init() {
	sim.Register(sim.Algorithm{
		Name:          "diloco",
		Compressor:    compress.Dense,
		NodeOptimizer: true,
		Section:       func() any { return &DiLoCoConfig{OuterMomentum: 0.9, Nesterov: true} },
		Check: func(_ *sim.Config, section any) error {
			if mu := section.(*DiLoCoConfig).OuterMomentum; !(mu >= 0 && mu < 1) {
				return fmt.Errorf("strategy.diloco.outer_momentum %v: want 0 <= μ < 1", mu)
			}
			return nil
		},
		New: func(env *sim.Env) (sim.Strategy, error) {
			o := newOuter(env)
			return &DiLoCo{outer: o, cfg: *env.Section.(*DiLoCoConfig), momentum: make([]float32, len(o.update))}, nil
		},
	})
}

// DiLoCo (Douillard et al., 2023): every node takes H AdamW steps from θ;
// the mean pseudo-gradient Δ̄ takes an outer SGD step with momentum,
// b ← μ·b + Δ̄, then θ ← θ − α·(Δ̄ + μ·b) (Nesterov) or θ ← θ − α·b.
type DiLoCo struct {
	outer
	cfg      DiLoCoConfig
	momentum []float32
}

func (s *DiLoCo) Local(w *sim.Worker, n *sim.Node, from, steps int) ([]float32, error) {
	return pseudoGradient(s.env, w, n, from, steps)
}

func (s *DiLoCo) Apply(wires [][]byte, _ int) error {
	if err := s.aggregate(wires); err != nil {
		return err
	}
	alpha := float32(s.env.Config.Strategy.OuterLR)
	mu := float32(s.cfg.OuterMomentum)
	theta := s.env.Theta.Params()
	for i, d := range s.update {
		outerStep(theta, s.momentum, i, d, alpha, mu, s.cfg.Nesterov)
	}
	return nil
}
