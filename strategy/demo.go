package strategy

import (
	"fmt"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/sim"
)

func init() {
	sim.Register(sim.Algorithm{
		Name:       "demo",
		Compressor: compress.DeMo,
		EveryStep:  true,
		Check: func(cfg *sim.Config, _ any) error {
			if k := cfg.CompressorConfig().Kind; k != compress.DeMo {
				return fmt.Errorf("strategy.compressor.kind %q: demo needs the demo compressor", k)
			}
			return nil
		},
		New: func(env *sim.Env) (sim.Strategy, error) { return &DeMo{outer: newOuter(env)}, nil },
	})
}

// DeMo (Peng, Kingma et al., 2024) communicates every step: each node sends
// its learning-rate-scaled gradient to its compressor, which keeps the
// decoupled momentum and sends its top-k DCT components; the aggregate is
// the sign of their mean, and θ ← (1 − lr·wd)·θ − lr·sign (decay on
// matrices only, as AdamW does).
type DeMo struct{ outer }

func (s *DeMo) Local(w *sim.Worker, n *sim.Node, from, _ int) ([]float32, error) {
	if err := n.Gradient(w); err != nil {
		return nil, err
	}
	lr := float32(s.LR(from))
	g := w.Workspace.Grads()
	for i := range w.Delta {
		w.Delta[i] = lr * g[i]
	}
	return w.Delta, nil
}

func (s *DeMo) Apply(wires [][]byte, step int) error {
	if err := s.aggregate(wires); err != nil {
		return err
	}
	lr := s.LR(step)
	decay := float32(1 - lr*s.env.Optimizer.WeightDecay)
	theta := s.env.Theta.Params()
	for _, t := range s.env.Theta.Layout() {
		v := theta[t.Offset : t.Offset+t.Size()]
		if len(t.Shape) >= 2 {
			for i := range v {
				v[i] *= decay
			}
		}
	}
	for i, u := range s.update {
		theta[i] -= float32(float32(lr) * u)
	}
	return nil
}
