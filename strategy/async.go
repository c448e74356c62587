package strategy

import (
	"fmt"
	"math"
	"slices"

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
	// KeepTraining: a node does not wait for θ after it pushes; it goes on
	// training from its own weights at once. When θ answers one of its
	// pushes, its next work starts from that θ plus its own progress the
	// server has not seen yet (what it pushed later, and what it trained
	// since), so nothing it computed is lost and compute is busy all the
	// time, at the price of staleness.
	KeepTraining bool `mapstructure:"keep_training" yaml:"keep_training"`
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
				one: make([]float32, len(o.update)), keep: make([]keeping, n)}, nil
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
	keep    []keeping // per node, with keep_training
	latest  *snapshot // θ at its current version, once a pull took it
}

// keeping is what a node that keeps training knows: the θ it last
// received, in answer to its push seq acked, and its own progress since,
// push by push (raw, before compression), which that θ lacks.
type keeping struct {
	base    *snapshot // nil: it lost θ (a failure) and waits for one
	acked   int
	seq     int         // pushes sent
	unacked []progress  // pushes after acked
	last    []float32   // the progress of the work just done (Local writes it)
	pulls   []pullOnWay // θ on its way to the node
	applied int         // its latest push the server has applied
	// appliedAt: the versions of θ its recent pushes were applied to.
	appliedAt []int
	behind    bool // θ moved by its pushes since the pull on its way left
}

type progress struct {
	seq   int
	delta []float32
}

type pullOnWay struct {
	seq  int // the push it answers
	snap *snapshot
}

type asyncPush struct {
	node    int
	seq     int // the node's push count
	version int // of the θ its work started from
	payload []byte
}

// snapshot is θ at a version, as a pull carries it; never changed.
type snapshot struct {
	v int
	w []float32
}

// A message's tag is its kind, the push it concerns (its node's count)
// and the version of θ that push's work started from.
const (
	tagPush = iota
	tagPull
)

func tag(kind, seq, version int) int { return kind | seq<<1 | version<<32 }
func untag(t int) (kind, seq, version int) {
	return t & 1, (t >> 1) & (1<<31 - 1), t >> 32
}

func (s *Async) Local(w *sim.Worker, n *sim.Node, from, steps int) ([]float32, error) {
	if err := n.Train(w, from, steps); err != nil {
		return nil, err
	}
	for i, x := range w.Model.Params() {
		w.Delta[i] = w.Start[i] - x // against the θ the work started from
	}
	if s.cfg.KeepTraining {
		k := &s.keep[n.ID] // the node's own: nodes run in parallel
		k.last = append(k.last[:0], w.Delta...)
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
			if s.cfg.KeepTraining {
				s.keep[i].base = s.snap()
			}
			if err := s.work(c, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// work starts node i's next H steps: from θ as it is now, or with
// keep_training from the θ it last received less its progress since.
func (s *Async) work(c *sim.Core, i int) error {
	H := s.env.Config.Train.InnerSteps
	if !s.cfg.KeepTraining {
		s.version[i] = s.v
		return c.Work(i, H)
	}
	k := &s.keep[i]
	if k.base == nil {
		return nil // it waits for θ
	}
	s.version[i] = k.base.v
	if len(k.unacked) == 0 {
		return c.WorkFrom(i, H, k.base.w)
	}
	start := append([]float32(nil), k.base.w...)
	for _, p := range k.unacked {
		for j, d := range p.delta {
			start[j] -= d
		}
	}
	return c.WorkFrom(i, H, start)
}

// snap is θ's current version as a snapshot.
func (s *Async) snap() *snapshot {
	if s.latest == nil || s.latest.v != s.v {
		s.latest = &snapshot{v: s.v, w: append([]float32(nil), s.env.Theta.Params()...)}
	}
	return s.latest
}

func (s *Async) Computed(c *sim.Core, i int, payload []byte) error {
	k := &s.keep[i]
	k.seq++
	err := c.Send(sim.Message{From: i, To: c.Server(), Payload: payload, Bytes: c.WireBytes(payload), Tag: tag(tagPush, k.seq, s.version[i])})
	if err != nil || !s.cfg.KeepTraining {
		return err
	}
	k.unacked = append(k.unacked, progress{seq: k.seq, delta: k.last})
	k.last = nil
	return s.work(c, i)
}

func (s *Async) Delivered(c *sim.Core, m sim.Message) error {
	kind, seq, v := untag(m.Tag)
	if kind == tagPush {
		s.pending = append(s.pending, asyncPush{node: m.From, seq: seq, version: v, payload: m.Payload})
		s.held[m.From] = true
		return s.maybeApply(c)
	}
	if s.cfg.KeepTraining {
		k := &s.keep[m.To]
		at := slices.IndexFunc(k.pulls, func(p pullOnWay) bool { return p.seq == seq })
		if at < 0 {
			return fmt.Errorf("async: θ answering push %d reached node %d, which was not sent it", seq, m.To)
		}
		p := k.pulls[at]
		k.pulls = slices.Delete(k.pulls, at, at+1)
		if k.base == nil || p.seq >= k.acked {
			// The newest answer: its θ holds the pushes up to seq.
			k.base, k.acked = p.snap, p.seq
			k.unacked = slices.DeleteFunc(k.unacked, func(q progress) bool { return q.seq <= p.seq })
		}
		if k.behind && len(k.pulls) == 0 {
			k.behind = false
			if err := s.pull(c, m.To, k.applied); err != nil {
				return err
			}
		}
	}
	if c.Up(m.To) && !c.Busy(m.To) {
		return s.work(c, m.To)
	}
	return nil
}

// pull sends θ as it is now to node i, in answer to its push seq (0: to
// one that rejoins).
func (s *Async) pull(c *sim.Core, i, seq int) error {
	if s.cfg.KeepTraining {
		s.keep[i].pulls = append(s.keep[i].pulls, pullOnWay{seq: seq, snap: s.snap()})
	}
	return c.Send(sim.Message{From: c.Server(), To: i, Bytes: c.ModelBytes(), Tag: tag(tagPull, seq, s.v)})
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
		stale := s.v - p.version
		if s.cfg.KeepTraining {
			// Its own pushes since are in its weights already: only the
			// others' updates are news it missed.
			kp := &s.keep[p.node]
			own := 0
			for _, at := range kp.appliedAt {
				if at >= p.version && at < s.v { // not this batch's
					own++
				}
			}
			stale -= own
			kp.appliedAt = append(slices.DeleteFunc(kp.appliedAt, func(at int) bool { return at < p.version }), s.v)
		}
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
	if c.Left() < s.env.Config.Train.InnerSteps {
		// No more work will start: θ is final here, and the run ends
		// without sending it to the nodes (what is on its way stops).
		for i := range c.Nodes() {
			c.AbortTo(i)
			s.keep[i].pulls, s.keep[i].behind = nil, false
		}
		return nil
	}
	for _, p := range batch {
		if !c.Up(p.node) {
			continue
		}
		if s.cfg.KeepTraining {
			// One θ on its way to a node at a time: a newer one follows
			// when it lands (each push would otherwise queue a whole model
			// on the node's downlink).
			k := &s.keep[p.node]
			k.applied = max(k.applied, p.seq)
			if len(k.pulls) > 0 {
				k.behind = true
				continue
			}
		}
		if err := s.pull(c, p.node, p.seq); err != nil {
			return err
		}
	}
	return nil
}

func (s *Async) Failed(c *sim.Core, i int) error {
	// Its weights and the θ on its way to it are lost; it starts afresh
	// from the θ it gets when it is back. A push already in the store
	// still counts; one that waits for a quorum that included this node
	// may now be complete.
	if s.cfg.KeepTraining {
		s.keep[i] = keeping{seq: s.keep[i].seq, acked: s.keep[i].seq, applied: s.keep[i].applied}
	}
	return s.maybeApply(c)
}

func (s *Async) Back(c *sim.Core, i int) error {
	if s.held[i] {
		return nil // its push waits in the quorum; θ comes with it
	}
	return s.pull(c, i, s.keep[i].seq)
}
