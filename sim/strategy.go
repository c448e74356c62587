package sim

import (
	"fmt"

	"github.com/locosim/locosim/model"
)

// strategy is a training algorithm's part of a round: what a node computes
// locally and sends, and how the aggregate of what was sent moves θ. The
// round machinery (training in parallel, the network, decoding, records) is
// shared by all of them, so a new algorithm is one more implementation.
type strategy interface {
	// perNodeOptimizer reports whether each node keeps its own AdamW state.
	perNodeOptimizer() bool
	// local runs steps inner steps of node n on worker w, whose model holds
	// θ, and returns the tensor to compress (pseudo-gradient or gradient).
	local(w *worker, n *node, steps int) ([]float32, error)
	// apply moves θ by the aggregate of the encoded payloads; step is the
	// reference model's inner steps so far.
	apply(wires [][]byte, step int) error
	// reset drops what a crashed node loses.
	reset(n *node)
	// lr is the inner learning rate at step.
	lr(step int) float64
}

func newStrategy(r *Run, opt model.AdamWConfig) (strategy, error) {
	base := &loco{r: r, opt: opt, update: make([]float32, len(r.global.Params()))}
	switch r.cfg.Strategy.Kind {
	case DiLoCo:
		return &diloco{loco: base, momentum: make([]float32, len(base.update))}, nil
	case SparseLoCo:
		return base, nil
	case DDP:
		o, err := model.NewAdamW(opt, r.global.Layout())
		if err != nil {
			return nil, err
		}
		return &ddp{loco: base, shared: o}, nil
	case DeMo:
		return &demo{loco: base}, nil
	}
	return nil, fmt.Errorf("strategy.kind %q: unknown", r.cfg.Strategy.Kind)
}

// loco is the local-SGD family: H AdamW steps per node from θ, then the
// pseudo-gradient Δ = θ − θ_r. As itself it is SparseLoCo's outer step,
// θ ← θ − α·aggregate (the compressor keeps the error feedback).
type loco struct {
	r      *Run
	opt    model.AdamWConfig
	update []float32
}

func (s *loco) perNodeOptimizer() bool { return true }
func (s *loco) lr(step int) float64    { return s.opt.LearningRate(step) }

func (s *loco) reset(n *node) {
	if n.opt != nil {
		n.opt.Reset()
	}
	n.cst.Reset()
}

func (s *loco) local(w *worker, n *node, steps int) ([]float32, error) {
	params := w.m.Params()
	for k := range steps {
		n.stream.Next(w.batch)
		loss, err := w.m.ForwardBackward(w.ws, w.batch.Inputs, w.batch.Targets)
		if err != nil {
			return nil, err
		}
		n.lossSum += loss
		if _, err := n.opt.Step(params, w.ws.Grads(), s.r.globalStep+k); err != nil {
			return nil, err
		}
	}
	theta := s.r.global.Params()
	for i := range w.delta {
		w.delta[i] = theta[i] - params[i]
	}
	return w.delta, nil
}

// aggregate decodes and aggregates the payloads in one pass.
func (s *loco) aggregate(wires [][]byte) error {
	_, err := s.r.comp.AggregateEncoded(s.update, wires)
	return err
}

func (s *loco) apply(wires [][]byte, _ int) error {
	if err := s.aggregate(wires); err != nil {
		return err
	}
	alpha := float32(s.r.cfg.Strategy.OuterLR)
	theta := s.r.global.Params()
	for i, u := range s.update {
		theta[i] -= alpha * u
	}
	return nil
}

// diloco averages dense pseudo-gradients and takes an outer SGD step with
// momentum: b ← μ·b + Δ̄, then θ ← θ − α·(Δ̄ + μ·b) (Nesterov) or θ ← θ − α·b.
type diloco struct {
	*loco
	momentum []float32
}

func (s *diloco) apply(wires [][]byte, _ int) error {
	if err := s.aggregate(wires); err != nil {
		return err
	}
	alpha := float32(s.r.cfg.Strategy.OuterLR)
	mu := float32(s.r.cfg.Strategy.OuterMomentum)
	nesterov := s.r.cfg.Strategy.Nesterov
	theta := s.r.global.Params()
	for i, d := range s.update {
		b := mu*s.momentum[i] + d
		s.momentum[i] = b
		if nesterov {
			theta[i] -= alpha * (d + mu*b)
		} else {
			theta[i] -= alpha * b
		}
	}
	return nil
}

// ddp sends every step's gradient; the mean gradient takes one AdamW step of
// a single shared optimizer, as data-parallel training on the union batch.
type ddp struct {
	*loco
	shared *model.AdamW
}

func (s *ddp) perNodeOptimizer() bool { return false }

func (s *ddp) local(w *worker, n *node, steps int) ([]float32, error) {
	n.stream.Next(w.batch)
	loss, err := w.m.ForwardBackward(w.ws, w.batch.Inputs, w.batch.Targets)
	if err != nil {
		return nil, err
	}
	n.lossSum += loss
	return w.ws.Grads(), nil
}

func (s *ddp) apply(wires [][]byte, step int) error {
	if err := s.aggregate(wires); err != nil {
		return err
	}
	_, err := s.shared.Step(s.r.global.Params(), s.update, step)
	return err
}

// demo sends, every step, the compressed learning-rate-scaled gradient; the
// compressor keeps the momentum and returns the sign of the mean of what was
// sent, and θ ← (1 − lr·wd)·θ − lr·sign (decay on matrices only, like AdamW).
type demo struct{ *loco }

func (s *demo) perNodeOptimizer() bool { return false }

func (s *demo) local(w *worker, n *node, steps int) ([]float32, error) {
	n.stream.Next(w.batch)
	loss, err := w.m.ForwardBackward(w.ws, w.batch.Inputs, w.batch.Targets)
	if err != nil {
		return nil, err
	}
	n.lossSum += loss
	lr := float32(s.lr(s.r.globalStep))
	g := w.ws.Grads()
	for i := range w.delta {
		w.delta[i] = lr * g[i]
	}
	return w.delta, nil
}

func (s *demo) apply(wires [][]byte, step int) error {
	if err := s.aggregate(wires); err != nil {
		return err
	}
	lr := s.lr(step)
	decay := float32(1 - lr*s.opt.WeightDecay)
	theta := s.r.global.Params()
	for _, t := range s.r.global.Layout() {
		v := theta[t.Offset : t.Offset+t.Size()]
		if len(t.Shape) >= 2 {
			for i := range v {
				v[i] *= decay
			}
		}
	}
	for i, u := range s.update {
		theta[i] -= float32(lr) * u
	}
	return nil
}
