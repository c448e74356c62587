package strategy

import (
	"fmt"
	"slices"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/sim"
	"github.com/locosim/locosim/tensor"
)

// StreamingConfig is Streaming DiLoCo's section, strategy.streaming.*.
type StreamingConfig struct {
	// Fragments is P: the model's tensors are split into P fragments of
	// about equal size, and fragment p synchronises every
	// train.inner_steps steps at offset p·H/P (H must be a multiple of P).
	Fragments int `mapstructure:"fragments" yaml:"fragments"`
	// Mix is α: a node's fragment becomes α·(the merged fragment) +
	// (1−α)·(its own).
	Mix float64 `mapstructure:"mix" yaml:"mix"`
	// OuterMomentum and Nesterov are the outer SGD's, per fragment.
	OuterMomentum float64 `mapstructure:"outer_momentum" yaml:"outer_momentum"`
	Nesterov      bool    `mapstructure:"nesterov" yaml:"nesterov"`
}

func init() {
	sim.Register(sim.Algorithm{
		Name:          "streaming",
		Compressor:    compress.Dense,
		NodeOptimizer: true,
		NodeParams:    true,
		OverlapNodes:  true,
		Section: func() any {
			return &StreamingConfig{Fragments: 3, Mix: 0.5, OuterMomentum: 0.9, Nesterov: true}
		},
		Check: func(cfg *sim.Config, section any) error {
			c := section.(*StreamingConfig)
			switch {
			case c.Fragments < 1:
				return fmt.Errorf("strategy.streaming.fragments %d: want >= 1", c.Fragments)
			case !(c.Mix > 0 && c.Mix <= 1):
				return fmt.Errorf("strategy.streaming.mix %v: want 0 < α <= 1", c.Mix)
			case !(c.OuterMomentum >= 0 && c.OuterMomentum < 1):
				return fmt.Errorf("strategy.streaming.outer_momentum %v: want 0 <= μ < 1", c.OuterMomentum)
			}
			return nil
		},
		RoundsPerPeriod: func(_ *sim.Config, section any) (int, error) {
			return section.(*StreamingConfig).Fragments, nil
		},
		New: newStreaming,
	})
}

// Streaming is Streaming DiLoCo (Douillard et al., 2025): the parameters
// are split into P fragments, and every H/P inner steps one fragment, in
// turn, is synchronised. Each node sends that fragment's pseudo-gradient
// (the outer fragment minus its own, compressed as strategy.compressor
// says: dense by default, quantize for 4-bit values), the outer fragment
// takes an outer SGD step with (Nesterov) momentum on their mean, and each
// node mixes the result into its own fragment. Every round moves 1/P of the
// model, so the peak bandwidth falls by P at equal tokens. With
// sync.overlap the exchange runs during the next H/P inner steps (the
// paper's τ, here one round) and the result is mixed into weights that
// have trained on meanwhile.
type Streaming struct {
	outer
	cfg      StreamingConfig
	frags    []fragment
	theta    []float32 // the outer weights
	momentum []float32
	states   [][]*compress.State // per node, per fragment
}

// fragment is a group of tensors, compressed on their own.
type fragment struct {
	specs []tensor.Spec // in the full layout
	comp  compress.Compressor
	size  int
	buf   []float32 // the aggregate, compact
}

func newStreaming(env *sim.Env) (sim.Strategy, error) {
	cfg := *env.Section.(*StreamingConfig)
	layout := env.Theta.Layout()
	if cfg.Fragments > len(layout) {
		return nil, fmt.Errorf("strategy.streaming.fragments %d: the model has %d tensors", cfg.Fragments, len(layout))
	}
	s := &Streaming{outer: newOuter(env), cfg: cfg}
	// Contiguous groups of tensors of about equal size: each tensor goes to
	// the fragment its middle falls in; should one stay empty, by count.
	P, total := cfg.Fragments, layout.Size()
	of := make([]int, len(layout))
	count := make([]int, P)
	cum := 0
	for i, t := range layout {
		of[i] = min(P-1, P*(2*cum+t.Size())/(2*total))
		cum += t.Size()
		count[of[i]]++
	}
	if slices.Contains(count, 0) {
		for i := range layout {
			of[i] = i * P / len(layout)
		}
	}
	s.frags = make([]fragment, P)
	for i, t := range layout {
		f := &s.frags[of[i]]
		f.specs = append(f.specs, t)
		f.size += t.Size()
	}
	cc := env.Config.CompressorConfig()
	for k := range s.frags {
		f := &s.frags[k]
		sub := make(tensor.Layout, len(f.specs))
		off := 0
		for i, t := range f.specs {
			sub[i] = t
			sub[i].Offset = off
			off += t.Size()
		}
		comp, err := compress.New(cc, sub)
		if err != nil {
			return nil, fmt.Errorf("fragment %d: %w", k, err)
		}
		f.comp, f.buf = comp, make([]float32, f.size)
	}
	s.theta = append([]float32(nil), env.Theta.Params()...)
	s.momentum = make([]float32, len(s.theta))
	s.states = make([][]*compress.State, env.Config.Cluster.Nodes)
	for i := range s.states {
		for k := range s.frags {
			s.states[i] = append(s.states[i], s.frags[k].comp.NewState())
		}
	}
	return s, nil
}

// Fragment is the index of the fragment round r synchronises.
func (s *Streaming) Fragment(round int) int { return round % len(s.frags) }

// fragmentOf is the fragment round r synchronises.
func (s *Streaming) fragmentOf(round int) *fragment { return &s.frags[round%len(s.frags)] }

func (s *Streaming) Local(w *sim.Worker, n *sim.Node, from, steps int) ([]float32, error) {
	if err := n.Train(w, from, steps); err != nil {
		return nil, err
	}
	copy(n.Params, w.Model.Params())
	return w.Model.Params(), nil
}

// Encode sends the fragment of the round: the outer fragment minus the
// node's own.
func (s *Streaming) Encode(n *sim.Node, local []float32, round int) ([]byte, compress.Size, error) {
	k := round % len(s.frags)
	f := &s.frags[k]
	delta := make([]float32, f.size)
	at := 0
	for _, t := range f.specs {
		for j := t.Offset; j < t.Offset+t.Size(); j++ {
			delta[at] = s.theta[j] - local[j]
			at++
		}
	}
	p, err := f.comp.Compress(s.states[n.ID][k], delta, compress.DeriveSeed(s.env.Config.Seed, n.ID, round))
	if err != nil {
		return nil, compress.Size{}, err
	}
	size, err := f.comp.Size(p)
	if err != nil {
		return nil, compress.Size{}, err
	}
	wire, err := f.comp.Encode(p)
	return wire, size, err
}

// round is the round a step count starts.
func (s *Streaming) round(step int) int {
	return step / (s.env.Config.Train.InnerSteps / len(s.frags))
}

// Apply takes the outer step of the round's fragment on the mean of the
// nodes' pseudo-gradients.
func (s *Streaming) Apply(payloads [][]byte, step int) error {
	f := s.fragmentOf(s.round(step))
	if _, err := f.comp.AggregateEncoded(f.buf, payloads); err != nil {
		return err
	}
	alpha := float32(s.env.Config.Strategy.OuterLR)
	mu := float32(s.cfg.OuterMomentum)
	at := 0
	for _, t := range f.specs {
		for j := t.Offset; j < t.Offset+t.Size(); j++ {
			outerStep(s.theta, s.momentum, j, f.buf[at], alpha, mu, s.cfg.Nesterov)
			at++
		}
	}
	return nil
}

// ApplyNode mixes the merged fragment into the node's own.
func (s *Streaming) ApplyNode(n *sim.Node, _ [][]byte, step int) error {
	f := s.fragmentOf(s.round(step))
	mix := float32(s.cfg.Mix)
	for _, t := range f.specs {
		for j := t.Offset; j < t.Offset+t.Size(); j++ {
			if mix == 1 {
				n.Params[j] = s.theta[j]
			} else {
				n.Params[j] += float32(mix * (s.theta[j] - n.Params[j]))
			}
		}
	}
	return nil
}

// Reset drops a crashed node's compressor states (its weights are fetched
// again when it rejoins).
func (s *Streaming) Reset(n *sim.Node) {
	for _, st := range s.states[n.ID] {
		st.Reset()
	}
}
