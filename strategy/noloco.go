package strategy

import (
	"bytes"
	"fmt"
	"math"
	"slices"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/netmodel"
	"github.com/locosim/locosim/sim"
	"github.com/locosim/locosim/tensor"
)

// NoLoCoConfig is NoLoCo's section, strategy.noloco.*.
type NoLoCoConfig struct {
	// OuterMomentum is α, the decay of each node's outer momentum δ.
	OuterMomentum float64 `mapstructure:"outer_momentum" yaml:"outer_momentum"`
	// Gamma is γ, the pull of a node's slow weights towards its group's
	// mean. Equal to strategy.outer_lr (β), a node needs only its group's
	// fast weights and sends its own; otherwise it sends its slow weights
	// too, twice the bytes.
	Gamma float64 `mapstructure:"gamma" yaml:"gamma"`
}

func init() {
	sim.Register(sim.Algorithm{
		Name:          "noloco",
		Compressor:    compress.Dense,
		Exchange:      netmodel.PatternGossip,
		NodeOptimizer: true,
		NodeParams:    true,
		Section:       func() any { return &NoLoCoConfig{OuterMomentum: 0.5, Gamma: 1} },
		Check: func(_ *sim.Config, section any) error {
			c := section.(*NoLoCoConfig)
			switch {
			case !(c.OuterMomentum >= 0 && c.OuterMomentum < 1):
				return fmt.Errorf("strategy.noloco.outer_momentum %v: want 0 <= α < 1", c.OuterMomentum)
			case !(c.Gamma >= 0) || math.IsInf(c.Gamma, 1):
				return fmt.Errorf("strategy.noloco.gamma %v: want a finite γ >= 0", c.Gamma)
			}
			return nil
		},
		New: newNoLoCo,
	})
}

// NoLoCo (Kolehmainen et al., 2025, arXiv 2506.10911) is DiLoCo without
// the all-reduce: every node keeps slow weights φ_i and an outer momentum
// δ_i of its own, takes H AdamW steps from φ_i to fast weights θ_i, and
// then meets one random partner only (gossip's pairing; an odd node out,
// or one whose partner's payload did not arrive, is a group of one). With
// G the group and n = |G|:
//
//	δ_i ← α·δ_i − β·(1/n)Σ_G (φ_j − θ_j) − γ·(φ_i − (1/n)Σ_G φ_j)
//	φ_i ← φ_i + δ_i
//
// The β term is DiLoCo's outer step on the group's pseudo-gradient, the γ
// term pulls the nodes' slow weights together, which no all-reduce does
// any more. When γ = β the two fold into −β·(φ_i − mean θ), so a node
// sends its fast weights only; otherwise it sends θ_i then φ_i. Payloads
// go through strategy.compressor (dense by default), the two-part one over
// the model's layout twice. The paper's random routing of pipeline stages
// is not modelled: each node trains a whole model.
type NoLoCo struct {
	outer
	cfg      NoLoCoConfig
	twoPart  bool                // γ ≠ β: payloads are θ_i then φ_i
	comp     compress.Compressor // the payloads' compressor
	states   []*compress.State   // per node, for the two-part compressor (nil otherwise)
	momentum [][]float32         // δ, per node
	buf      []float32           // the group's mean payload
	// Each node's latest payload, and its round: a node that was late to
	// send still holds its own.
	sent      [][]byte
	sentRound []int
}

func newNoLoCo(env *sim.Env) (sim.Strategy, error) {
	cfg := *env.Section.(*NoLoCoConfig)
	nodes := env.Config.Cluster.Nodes
	s := &NoLoCo{outer: newOuter(env), cfg: cfg, comp: env.Compressor,
		twoPart: cfg.Gamma != env.Config.Strategy.OuterLR,
		sent:    make([][]byte, nodes), sentRound: make([]int, nodes)}
	s.buf = s.update
	if s.twoPart {
		cc := env.Config.CompressorConfig()
		comp, err := compress.New(cc, twice(env.Theta.Layout()))
		if err != nil {
			return nil, fmt.Errorf("strategy.noloco.gamma %v differs from strategy.outer_lr %v, so nodes send fast and slow weights, "+
				"which strategy.compressor.kind %s cannot compress as one payload: %w", cfg.Gamma, env.Config.Strategy.OuterLR, cc.Kind, err)
		}
		s.comp, s.buf = comp, make([]float32, 2*len(s.update))
		for range nodes {
			s.states = append(s.states, comp.NewState())
		}
	}
	for range nodes {
		s.momentum = append(s.momentum, make([]float32, len(s.update)))
	}
	return s, nil
}

// twice is a layout's tensors (the fast weights) followed by a copy of them
// (the slow weights).
func twice(l tensor.Layout) tensor.Layout {
	size := l.Size()
	out := make(tensor.Layout, 0, 2*len(l))
	for _, part := range []struct {
		name string
		off  int
	}{{"fast/", 0}, {"slow/", size}} {
		for _, t := range l {
			out = append(out, tensor.Spec{Name: part.name + t.Name, Shape: slices.Clone(t.Shape), Offset: t.Offset + part.off})
		}
	}
	return out
}

// Local trains the fast weights from φ_i (the node's own weights, which
// stay as they are until ApplyNode) and returns them.
func (s *NoLoCo) Local(w *sim.Worker, n *sim.Node, from, steps int) ([]float32, error) {
	if err := n.Train(w, from, steps); err != nil {
		return nil, err
	}
	return w.Model.Params(), nil
}

// Encode compresses θ_i, or θ_i then φ_i, and keeps the payload: the node
// uses its own in ApplyNode even if it was too late to send it.
func (s *NoLoCo) Encode(n *sim.Node, fast []float32, round int) ([]byte, compress.Size, error) {
	vec, st := fast, n.State
	if s.twoPart {
		vec = make([]float32, 2*len(fast))
		copy(vec, fast)
		copy(vec[len(fast):], n.Params)
		st = s.states[n.ID]
	}
	p, err := s.comp.Compress(st, vec, compress.DeriveSeed(s.env.Config.Seed, n.ID, round))
	if err != nil {
		return nil, compress.Size{}, err
	}
	size, err := s.comp.Size(p)
	if err != nil {
		return nil, compress.Size{}, err
	}
	wire, err := s.comp.Encode(p)
	if err != nil {
		return nil, compress.Size{}, err
	}
	s.sent[n.ID], s.sentRound[n.ID] = wire, round
	return wire, size, nil
}

// ApplyNode takes node n's outer step with the group it holds: its own
// payload and its partner's, if that arrived. A node that did no inner
// step this round (a window too short for one) has no pseudo-gradient and
// keeps its weights and momentum.
func (s *NoLoCo) ApplyNode(n *sim.Node, payloads [][]byte, step int) error {
	own := s.sent[n.ID]
	if own == nil || s.sentRound[n.ID] != step/s.env.Config.Train.InnerSteps {
		return nil
	}
	group := payloads
	if !slices.ContainsFunc(payloads, func(p []byte) bool { return bytes.Equal(p, own) }) {
		group = append(slices.Clone(payloads), own) // sent late: it holds it all the same
	}
	if _, err := s.comp.AggregateEncoded(s.buf, group); err != nil {
		return err
	}
	alpha := float32(s.cfg.OuterMomentum)
	beta := float32(s.env.Config.Strategy.OuterLR)
	gamma := float32(s.cfg.Gamma)
	phi, delta := n.Params, s.momentum[n.ID]
	// Products are rounded before they are added (see outerStep).
	if !s.twoPart {
		for j, m := range s.buf {
			delta[j] = float32(alpha*delta[j]) - float32(beta*(phi[j]-m))
			phi[j] += delta[j]
		}
		return nil
	}
	fast, slow := s.buf[:len(phi)], s.buf[len(phi):]
	for j := range phi {
		delta[j] = float32(alpha*delta[j]) - float32(beta*(slow[j]-fast[j])) - float32(gamma*(phi[j]-slow[j]))
		phi[j] += delta[j]
	}
	return nil
}

// Apply is not used: the nodes' own weights move in ApplyNode.
func (s *NoLoCo) Apply([][]byte, int) error { return nil }

// Reset drops a crashed node's outer momentum and compressor state (its
// weights are fetched again when it rejoins).
func (s *NoLoCo) Reset(n *sim.Node) {
	clear(s.momentum[n.ID])
	if s.states != nil {
		s.states[n.ID].Reset()
	}
	s.sent[n.ID] = nil
}
