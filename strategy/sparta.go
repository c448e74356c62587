package strategy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/sim"
	"github.com/locosim/locosim/tensor"
)

// SPARTAConfig is SPARTA's section, strategy.sparta.*.
type SPARTAConfig struct {
	// Share is p, the share of the parameters averaged every step (the
	// same random ones on every node, drawn anew each step).
	Share float64 `mapstructure:"share" yaml:"share"`
}

func init() {
	sim.Register(sim.Algorithm{
		Name:          "sparta",
		Compressor:    compress.Dense,
		EveryStep:     true,
		NodeOptimizer: true,
		NodeParams:    true,
		Section:       func() any { return &SPARTAConfig{Share: 0.005} },
		Check: func(_ *sim.Config, section any) error {
			if p := section.(*SPARTAConfig).Share; !(p > 0 && p <= 1) {
				return fmt.Errorf("strategy.sparta.share %v: want 0 < p <= 1", p)
			}
			return nil
		},
		New: func(env *sim.Env) (sim.Strategy, error) {
			cfg := *env.Section.(*SPARTAConfig)
			n := len(env.Theta.Params())
			k := max(1, int(math.Round(cfg.Share*float64(n))))
			cc := compress.DefaultConfig()
			cc.Kind = compress.Dense
			comp, err := compress.New(cc, tensor.Layout{{Name: "sparta", Shape: []int{k}}})
			if err != nil {
				return nil, err
			}
			return &SPARTA{outer: newOuter(env), cfg: cfg, k: k, comp: comp, mean: make([]float32, k)}, nil
		},
	})
}

// SPARTA (Exo, 2025): every node trains its own weights, and after every
// step the nodes average a random share p of the parameters (the same
// coordinates on every node, drawn from the run's seed and the step), so
// they never drift far apart while each step moves only p of the model.
type SPARTA struct {
	outer
	cfg  SPARTAConfig
	k    int
	comp compress.Compressor // dense, over the k values sent
	mean []float32

	mu          sync.Mutex
	cached      []int
	cachedRound int
}

// subset returns the coordinates averaged at round, the same on every node:
// k distinct ones drawn from the run's seed and the round (Floyd's
// sampling, O(k)). The latest round's is kept, as every node asks for it.
func (s *SPARTA) subset(round int) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached != nil && s.cachedRound == round {
		return s.cached
	}
	rng := rand.New(rand.NewPCG(s.env.Config.Seed, 0x73706172<<32|uint64(round))) // "spar"
	n := len(s.env.Theta.Params())
	in := make(map[int]bool, s.k)
	out := make([]int, 0, s.k)
	for j := n - s.k; j < n; j++ {
		t := rng.IntN(j + 1)
		if in[t] {
			t = j
		}
		in[t] = true
		out = append(out, t)
	}
	s.cached, s.cachedRound = out, round
	return out
}

func (s *SPARTA) Local(w *sim.Worker, n *sim.Node, from, steps int) ([]float32, error) {
	if err := n.Train(w, from, steps); err != nil {
		return nil, err
	}
	copy(n.Params, w.Model.Params())
	return n.Params, nil
}

// Encode sends the node's values at the round's coordinates.
func (s *SPARTA) Encode(n *sim.Node, local []float32, round int) ([]byte, compress.Size, error) {
	vals := make([]float32, s.k)
	for i, j := range s.subset(round) {
		vals[i] = local[j]
	}
	p, err := s.comp.Compress(s.comp.NewState(), vals, 0)
	if err != nil {
		return nil, compress.Size{}, err
	}
	size, err := s.comp.Size(p)
	if err != nil {
		return nil, compress.Size{}, err
	}
	wire, err := s.comp.Encode(p)
	return wire, size, err
}

// Apply averages the values every finishing node sent.
func (s *SPARTA) Apply(payloads [][]byte, _ int) error {
	_, err := s.comp.AggregateEncoded(s.mean, payloads)
	return err
}

// ApplyNode sets the round's coordinates of the node's weights to the mean.
func (s *SPARTA) ApplyNode(n *sim.Node, payloads [][]byte, step int) error {
	if len(payloads) == 0 {
		return nil
	}
	for i, j := range s.subset(step) {
		n.Params[j] = s.mean[i]
	}
	return nil
}
