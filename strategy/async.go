package strategy

import (
	"fmt"
	"math"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/sim"
)

// AsyncConfig is the asynchronous algorithm's section, strategy.async.*.
type AsyncConfig struct {
	// Staleness scales a pseudo-gradient s model versions behind when it
	// is applied: constant (1), inverse (1/(1+s)) or poly ((1+s)^−power).
	Staleness string  `mapstructure:"staleness" yaml:"staleness"`
	Power     float64 `mapstructure:"power" yaml:"power"` // poly's exponent
	// Quorum is how many pushes the server gathers before it applies them
	// together: 1 applies each at once, 0 waits for every node that is up.
	Quorum int `mapstructure:"quorum" yaml:"quorum"`
	// WindowS, if positive, also applies what the server holds every
	// window_s seconds, quorum or not.
	WindowS float64 `mapstructure:"window_s" yaml:"window_s"`
}

// Staleness rules.
const (
	StaleConstant = "constant"
	StaleInverse  = "inverse"
	StalePoly     = "poly"
)

func init() {
	sim.Register(sim.Algorithm{
		Name:          "async",
		Compressor:    compress.Dense,
		NodeOptimizer: true,
		Section: func() any {
			return &AsyncConfig{Staleness: StaleInverse, Power: 0.5, Quorum: 1}
		},
		Check: func(_ *sim.Config, section any) error {
			c := section.(*AsyncConfig)
			switch {
			case c.Staleness != StaleConstant && c.Staleness != StaleInverse && c.Staleness != StalePoly:
				return fmt.Errorf("strategy.async.staleness %q: want constant, inverse or poly", c.Staleness)
			case !(c.Power >= 0) || math.IsInf(c.Power, 0):
				return fmt.Errorf("strategy.async.power %v: want >= 0", c.Power)
			case c.Quorum < 0:
				return fmt.Errorf("strategy.async.quorum %d: want >= 0 (0: every node that is up)", c.Quorum)
			case !(c.WindowS >= 0) || math.IsInf(c.WindowS, 0):
				return fmt.Errorf("strategy.async.window_s %v: want >= 0 (0: none)", c.WindowS)
			}
			return nil
		},
		New: func(env *sim.Env) (sim.Strategy, error) {
			o := newOuter(env)
			n := env.Config.Cluster.Nodes
			return &Async{outer: o, cfg: *env.Section.(*AsyncConfig), version: make([]int, n), held: make([]bool, n),
				one: make([]float32, len(o.update))}, nil
		},
	})
}

// Async is asynchronous local SGD with a parameter server (the family of
// Decoupled DiLoCo and HALoS): each node trains H AdamW steps from the
// version of θ it last received and pushes its pseudo-gradient (compressed
// as strategy.compressor says) to the server in the object store; the
// server applies what it gathers (each push at once, or a quorum of them,
// or what a time window brought), each scaled by the staleness rule and by
// strategy.outer_lr, and sends the new θ back to the nodes whose pushes it
// applied. Fast nodes never wait for slow ones.
type Async struct {
	outer
	cfg     AsyncConfig
	v       int         // the server's model version
	version []int       // the version each node's current work started from
	pending []asyncPush // pushes gathered, not yet applied
	held    []bool      // a node whose push waits in pending
	one     []float32   // a decoded payload
	core    *sim.Core
}

type asyncPush struct {
	node    int
	payload []byte
}

const (
	tagPush = iota
	tagPull
)

func (s *Async) Local(w *sim.Worker, n *sim.Node, from, steps int) ([]float32, error) {
	if err := n.Train(w, from, steps); err != nil {
		return nil, err
	}
	for i, x := range w.Model.Params() {
		w.Delta[i] = w.Start[i] - x // against the θ the work started from
	}
	return w.Delta, nil
}

// Apply is not used: the server applies pushes as they arrive.
func (s *Async) Apply([][]byte, int) error { return nil }

func (s *Async) Begin(c *sim.Core) error {
	s.core = c
	if s.cfg.WindowS > 0 {
		if err := c.After(s.cfg.WindowS, s.tick); err != nil {
			return err
		}
	}
	for i := range c.Nodes() {
		if c.Up(i) {
			if err := s.work(c, i); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Async) work(c *sim.Core, i int) error {
	s.version[i] = s.v
	return c.Work(i, s.env.Config.Train.InnerSteps)
}

func (s *Async) Computed(c *sim.Core, i int, payload []byte) error {
	return c.Send(sim.Message{From: i, To: c.Server(), Payload: payload, Bytes: c.WireBytes(payload), Tag: tagPush})
}

func (s *Async) Delivered(c *sim.Core, m sim.Message) error {
	if m.Tag == tagPull {
		if c.Up(m.To) && !c.Busy(m.To) {
			return s.work(c, m.To)
		}
		return nil
	}
	s.pending = append(s.pending, asyncPush{node: m.From, payload: m.Payload})
	s.held[m.From] = true
	return s.maybeApply(c)
}

// quorum is how many pushes make the server apply.
func (s *Async) quorum(c *sim.Core) int {
	if s.cfg.Quorum > 0 {
		return s.cfg.Quorum
	}
	up := 0
	for i := range c.Nodes() {
		if c.Up(i) || s.held[i] {
			up++
		}
	}
	return max(up, 1)
}

func (s *Async) maybeApply(c *sim.Core) error {
	if len(s.pending) == 0 || len(s.pending) < s.quorum(c) {
		return nil
	}
	return s.apply(c)
}

// tick is the time window: apply what the server holds.
func (s *Async) tick() {
	c := s.core
	if len(s.pending) > 0 {
		c.Fail(s.apply(c))
	}
	c.Fail(c.After(s.cfg.WindowS, s.tick))
}

func (s *Async) scale(stale int) float32 {
	switch s.cfg.Staleness {
	case StaleInverse:
		return float32(1 / (1 + float64(stale)))
	case StalePoly:
		return float32(math.Pow(1+float64(stale), -s.cfg.Power))
	}
	return 1
}

// apply moves θ by the pushes gathered: their mean (as the compressor
// aggregates) when their staleness scales agree, else the mean of each
// decoded and scaled; then θ goes back to their nodes.
func (s *Async) apply(c *sim.Core) error {
	batch := s.pending
	s.pending = nil
	scales := make([]float32, len(batch))
	same := true
	for k, p := range batch {
		stale := s.v - s.version[p.node]
		c.NoteStaleness(p.node, float64(stale))
		scales[k] = s.scale(stale)
		same = same && scales[k] == scales[0]
		s.held[p.node] = false
	}
	alpha := float32(s.env.Config.Strategy.OuterLR)
	theta := s.env.Theta.Params()
	if same {
		payloads := make([][]byte, len(batch))
		for k, p := range batch {
			payloads[k] = p.payload
		}
		if _, err := s.env.Compressor.AggregateEncoded(s.update, payloads); err != nil {
			return err
		}
		step := alpha * scales[0]
		for i, u := range s.update {
			theta[i] -= float32(step * u)
		}
	} else {
		inv := 1 / float32(len(batch))
		for k, p := range batch {
			if _, err := s.env.Compressor.AggregateEncoded(s.one, [][]byte{p.payload}); err != nil {
				return err
			}
			step := alpha * scales[k] * inv
			for i, u := range s.one {
				theta[i] -= float32(step * u)
			}
		}
	}
	s.v++
	for _, p := range batch {
		if c.Up(p.node) {
			if err := c.Send(sim.Message{From: c.Server(), To: p.node, Bytes: c.ModelBytes(), Tag: tagPull}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Async) Failed(c *sim.Core, i int) error {
	// A push already in the store still counts; one that waits for a
	// quorum that included this node may now be complete.
	return s.maybeApply(c)
}

func (s *Async) Back(c *sim.Core, i int) error {
	if s.held[i] {
		return nil // its push waits in the quorum; θ comes with it
	}
	return c.Send(sim.Message{From: c.Server(), To: i, Bytes: c.ModelBytes(), Tag: tagPull})
}
