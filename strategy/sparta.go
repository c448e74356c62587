package strategy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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
	// DiLoCo adds the paper's combination with DiLoCo: the last round of
	// every period of train.inner_steps = H steps, instead of the sparse
	// exchange, each node sends its dense pseudo-gradient φ − θ_i, the outer
	// weights φ take an outer SGD step on their mean (strategy.outer_lr),
	// and every node takes the new φ.
	DiLoCo bool `mapstructure:"diloco" yaml:"diloco"`
	// OuterMomentum and Nesterov are that outer step's (used only with
	// diloco).
	OuterMomentum float64 `mapstructure:"outer_momentum" yaml:"outer_momentum"`
	Nesterov      bool    `mapstructure:"nesterov" yaml:"nesterov"`
}

func init() {
	sim.Register(sim.Algorithm{
		Name:          "sparta",
		Compressor:    compress.Dense,
		EveryStep:     true,
		NodeOptimizer: true,
		NodeParams:    true,
		Section: func() any {
			return &SPARTAConfig{Share: 0.005, OuterMomentum: 0.9, Nesterov: true}
		},
		Check: func(_ *sim.Config, section any) error {
			c := section.(*SPARTAConfig)
			switch {
			case !(c.Share > 0 && c.Share <= 1):
				return fmt.Errorf("strategy.sparta.share %v: want 0 < p <= 1", c.Share)
			case !(c.OuterMomentum >= 0 && c.OuterMomentum < 1):
				return fmt.Errorf("strategy.sparta.outer_momentum %v: want 0 <= μ < 1", c.OuterMomentum)
			}
			return nil
		},
		New: newSPARTA,
	})
}

func newSPARTA(env *sim.Env) (sim.Strategy, error) {
	cfg := *env.Section.(*SPARTAConfig)
	n := len(env.Theta.Params())
	k := max(1, int(math.Round(cfg.Share*float64(n))))
	cc := compress.DefaultConfig()
	cc.Kind = compress.Dense
	comp, err := compress.New(cc, tensor.Layout{{Name: "sparta", Shape: []int{k}}})
	if err != nil {
		return nil, err
	}
	s := &SPARTA{outer: newOuter(env), cfg: cfg, k: k, comp: comp, mean: make([]float32, k)}
	if cfg.DiLoCo {
		if s.full, err = compress.New(cc, env.Theta.Layout()); err != nil {
			return nil, err
		}
		s.phi = slices.Clone(env.Theta.Params())
		s.momentum = make([]float32, n)
		s.epoch = make([]int, env.Config.Cluster.Nodes)
	}
	return s, nil
}

// SPARTA (Exo, 2025): every node trains its own weights, and after every
// step the nodes average a random share p of the parameters (the same
// coordinates on every node, drawn from the run's seed and the step), so
// they never drift far apart while each step moves only p of the model.
//
// With diloco, the last step of every period of H is a DiLoCo round
// instead: the nodes send their dense pseudo-gradients from the outer
// weights φ (the common start of the period), φ takes an outer SGD step
// with (Nesterov) momentum on their mean, and every node that finished the
// round starts the next period from φ. A node that missed it (down or
// crashed, so it fetches the model when it rejoins) starts from φ too,
// not from the mean of the nodes' weights, which still counts its old ones.
type SPARTA struct {
	outer
	cfg  SPARTAConfig
	k    int
	comp compress.Compressor // dense, over the k values sent
	mean []float32

	// With diloco only.
	full     compress.Compressor // dense, over the whole model
	phi      []float32           // the outer weights φ
	momentum []float32
	epoch    []int // per node, the period whose φ its weights descend from

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

// period is the period that step (a count of steps) is in: how many
// DiLoCo rounds came before it.
func (s *SPARTA) period(step int) int { return step / s.env.Config.Train.InnerSteps }

// outerRound reports whether round (one step) ends a period and is, with
// diloco, a DiLoCo round.
func (s *SPARTA) outerRound(round int) bool {
	return s.cfg.DiLoCo && (round+1)%s.env.Config.Train.InnerSteps == 0
}

func (s *SPARTA) Local(w *sim.Worker, n *sim.Node, from, steps int) ([]float32, error) {
	if s.cfg.DiLoCo && s.epoch[n.ID] != s.period(from) {
		// The node missed a DiLoCo round, so it was down or crashed and has
		// just fetched the model: that is φ, the period's start (only the
		// node's own element of epoch is written here: nodes run in
		// parallel).
		copy(w.Model.Params(), s.phi)
		s.epoch[n.ID] = s.period(from)
	}
	if err := n.Train(w, from, steps); err != nil {
		return nil, err
	}
	copy(n.Params, w.Model.Params())
	return n.Params, nil
}

// Encode sends the node's values at the round's coordinates, or in a
// DiLoCo round its whole pseudo-gradient φ − θ_i.
func (s *SPARTA) Encode(n *sim.Node, local []float32, round int) ([]byte, compress.Size, error) {
	if s.outerRound(round) {
		delta := make([]float32, len(local))
		for j, x := range local {
			delta[j] = s.phi[j] - x
		}
		return encode(s.full, delta)
	}
	vals := make([]float32, s.k)
	for i, j := range s.subset(round) {
		vals[i] = local[j]
	}
	return encode(s.comp, vals)
}

// encode compresses values with a stateless compressor.
func encode(c compress.Compressor, vals []float32) ([]byte, compress.Size, error) {
	p, err := c.Compress(c.NewState(), vals, 0)
	if err != nil {
		return nil, compress.Size{}, err
	}
	size, err := c.Size(p)
	if err != nil {
		return nil, compress.Size{}, err
	}
	wire, err := c.Encode(p)
	return wire, size, err
}

// Apply averages the values every finishing node sent, or in a DiLoCo round
// takes the outer step on the mean pseudo-gradient.
func (s *SPARTA) Apply(payloads [][]byte, step int) error {
	if !s.outerRound(step) {
		_, err := s.comp.AggregateEncoded(s.mean, payloads)
		return err
	}
	if _, err := s.full.AggregateEncoded(s.update, payloads); err != nil {
		return err
	}
	alpha := float32(s.env.Config.Strategy.OuterLR)
	mu := float32(s.cfg.OuterMomentum)
	for j, d := range s.update {
		outerStep(s.phi, s.momentum, j, d, alpha, mu, s.cfg.Nesterov)
	}
	return nil
}

// ApplyNode sets the round's coordinates of the node's weights to the mean,
// or in a DiLoCo round all of them to φ.
func (s *SPARTA) ApplyNode(n *sim.Node, payloads [][]byte, step int) error {
	if s.outerRound(step) {
		copy(n.Params, s.phi)
		s.epoch[n.ID] = s.period(step + 1)
		return nil
	}
	if len(payloads) == 0 {
		return nil
	}
	for i, j := range s.subset(step) {
		n.Params[j] = s.mean[i]
	}
	return nil
}
