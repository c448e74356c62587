package strategy

import (
	"fmt"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/model"
	"github.com/locosim/locosim/sim"
)

func init() {
	sim.Register(sim.Algorithm{
		Name:       "ddp",
		Compressor: compress.Dense,
		EveryStep:  true,
		Check: func(cfg *sim.Config, _ any) error {
			if k := cfg.CompressorConfig().Kind; !dense(k) {
				return fmt.Errorf("strategy.compressor.kind %q: ddp averages dense gradients (dense or bf16)", k)
			}
			return nil
		},
		New: func(env *sim.Env) (sim.Strategy, error) {
			o, err := model.NewAdamW(env.Optimizer, env.Theta.Layout())
			if err != nil {
				return nil, err
			}
			return &DDP{outer: newOuter(env), shared: o}, nil
		},
	})
}

// DDP is data-parallel training: every step each node computes the
// gradient of its own batch, the gradients are averaged, and one shared
// AdamW step moves θ — one model trained on the union batch.
type DDP struct {
	outer
	shared *model.AdamW
}

func (s *DDP) Local(w *sim.Worker, n *sim.Node, _, _ int) ([]float32, error) {
	if err := n.Gradient(w); err != nil {
		return nil, err
	}
	return w.Workspace.Grads(), nil
}

func (s *DDP) Apply(wires [][]byte, step int) error {
	if err := s.aggregate(wires); err != nil {
		return err
	}
	_, err := s.shared.Step(s.env.Theta.Params(), s.update, step)
	return err
}
