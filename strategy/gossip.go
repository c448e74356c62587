package strategy

import (
	"fmt"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/netmodel"
	"github.com/locosim/locosim/sim"
)

// GossipConfig is gossip's section, strategy.gossip.*.
type GossipConfig struct {
	// Mix is how far a node moves its weights to the mean of what it holds
	// (its own and its partner's): 1 averages them, 0 ignores the partner.
	Mix float64 `mapstructure:"mix" yaml:"mix"`
}

func init() {
	sim.Register(sim.Algorithm{
		Name:          "gossip",
		Compressor:    compress.Dense,
		Exchange:      netmodel.PatternGossip,
		NodeOptimizer: true,
		NodeParams:    true,
		Section:       func() any { return &GossipConfig{Mix: 1} },
		Check: func(_ *sim.Config, section any) error {
			if m := section.(*GossipConfig).Mix; !(m >= 0 && m <= 1) {
				return fmt.Errorf("strategy.gossip.mix %v: want 0 <= mix <= 1", m)
			}
			return nil
		},
		New: func(env *sim.Env) (sim.Strategy, error) {
			o := newOuter(env)
			return &Gossip{outer: o, cfg: *env.Section.(*GossipConfig)}, nil
		},
	})
}

// Gossip is decentralized local SGD with gossip averaging: every node holds
// weights of its own, takes H AdamW steps on them, then swaps them with a
// random partner (a fresh pairing each round) and moves to their mean. No
// node ever sees the whole cluster; θ, which is evaluated, is the mean of
// the nodes' weights.
type Gossip struct {
	outer
	cfg GossipConfig
}

func (s *Gossip) Local(w *sim.Worker, n *sim.Node, from, steps int) ([]float32, error) {
	if err := n.Train(w, from, steps); err != nil {
		return nil, err
	}
	copy(n.Params, w.Model.Params())
	return w.Model.Params(), nil // what it sends: its weights
}

func (s *Gossip) ApplyNode(n *sim.Node, payloads [][]byte, _ int) error {
	if len(payloads) == 0 {
		return nil
	}
	if _, err := s.env.Compressor.AggregateEncoded(s.update, payloads); err != nil {
		return err
	}
	mix := float32(s.cfg.Mix)
	for i, m := range s.update {
		n.Params[i] += float32(mix * (m - n.Params[i]))
	}
	return nil
}

// Apply is not used: the nodes' own weights move in ApplyNode.
func (s *Gossip) Apply([][]byte, int) error { return nil }
