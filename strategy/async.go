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
	// Regions, if above 0, is HALoS's hierarchy: the nodes are grouped
	// into that many regions by their place in latency space, each with a
	// regional server hosted at its best-connected node. Nodes push to and
	// pull from their region's server, which applies pushes to a regional
	// θ as the flat server does (staleness, quorum, window); every
	// region_every of its updates it sends its progress since it last
	// merged (dense) to the global server in the object store, which
	// applies it with global_lr and global_momentum and sends the global θ
	// back, into which the region merges its progress since. While a
	// region's host is down its nodes use the global server directly.
	Regions        int     `mapstructure:"regions" yaml:"regions"`
	RegionEvery    int     `mapstructure:"region_every" yaml:"region_every"`
	GlobalLR       float64 `mapstructure:"global_lr" yaml:"global_lr"`
	GlobalMomentum float64 `mapstructure:"global_momentum" yaml:"global_momentum"`
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
			return &AsyncConfig{Staleness: StaleInverse, Power: 0.5, Quorum: 1, RegionEvery: 4, GlobalLR: 1}
		},
		Check: func(cfg *sim.Config, section any) error {
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
			case c.Regions < 0 || c.Regions > cfg.Cluster.Nodes:
				return fmt.Errorf("strategy.async.regions %d: want 0 (one server) to cluster.nodes (%d)", c.Regions, cfg.Cluster.Nodes)
			case c.RegionEvery < 1:
				return fmt.Errorf("strategy.async.region_every %d: want >= 1", c.RegionEvery)
			case !(c.GlobalLR > 0) || math.IsInf(c.GlobalLR, 0):
				return fmt.Errorf("strategy.async.global_lr %v: want > 0", c.GlobalLR)
			case !(c.GlobalMomentum >= 0 && c.GlobalMomentum < 1):
				return fmt.Errorf("strategy.async.global_momentum %v: want 0 <= μ < 1", c.GlobalMomentum)
			case c.Regions > 0 && c.KeepTraining:
				return fmt.Errorf("strategy.async.keep_training: not with strategy.async.regions %d (nodes wait for their region's θ)", c.Regions)
			}
			return nil
		},
		New: func(env *sim.Env) (sim.Strategy, error) {
			o := newOuter(env)
			n := env.Config.Cluster.Nodes
			return &Async{outer: o, cfg: *env.Section.(*AsyncConfig), version: make([]int, n), held: make([]bool, n),
				one: make([]float32, len(o.update)), keep: make([]keeping, n), last: make([][]float32, n), from: make([]int, n), gversion: make([]int, n)}, nil
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
// applied. Fast nodes never wait for slow ones. With regions, regional
// servers stand between the nodes and the global one (HALoS).
type Async struct {
	outer
	cfg      AsyncConfig
	srv      []*server // srv[0] is the global one, in the object store
	home     []int     // each node's server (0 without regions)
	from     []int     // the server each node's current work started from
	version  []int     // that server's version when the work started
	gversion []int     // the global server's version then
	held     []bool    // a node whose push waits in a server's pending
	one      []float32 // a decoded payload
	core     *sim.Core
	keep     []keeping // per node, with keep_training
	// last is the progress of each node's latest work, written by Local
	// on the node's worker (so kept apart from what the event loop
	// changes, such as keep on a failure) and read once the work is done.
	last     [][]float32
	momentum []float32 // the global server's, with regions
}

// server is a parameter server: the global one, or a region's.
type server struct {
	id      int
	host    int       // its endpoint: the object store, or the node it runs on
	theta   []float32 // its θ (the global one's is the run's model)
	v       int       // its version: updates applied
	pending []asyncPush
	latest  *snapshot // θ at version v, once a pull took it
	// A region's exchange with the global server: the global θ it last
	// merged, its θ when its progress last left (nil: none on its way),
	// the global θ on its way back, and its updates since.
	base    []float32
	sent    []float32
	back    []float32
	phase   int // phaseIdle, phaseUp (progress on its way), phaseDown (θ on its way back)
	updates int
	due     bool // a sync is owed once the one under way is over
	delta   []float32
}

const (
	phaseIdle = iota
	phaseUp
	phaseDown
)

// keeping is what a node that keeps training knows: the θ it last
// received, in answer to its push seq acked, and its own progress since,
// push by push (raw, before compression), which that θ lacks.
type keeping struct {
	base    *snapshot // nil: it lost θ (a failure) and waits for one
	acked   int
	seq     int         // pushes sent
	unacked []progress  // pushes after acked
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
	version int // of the receiving server's θ its work started from
	payload []byte
}

// snapshot is θ at a version, as a pull carries it; never changed.
type snapshot struct {
	v int
	w []float32
}

// A message's tag is its kind, the push it concerns (its node's count)
// and a version of θ: the receiving server's its work started from (a
// push), or the sending server's (a pull). Regions exchange up (their
// progress) and down (the global θ).
const (
	tagPush = iota
	tagPull
	tagUp
	tagDown
)

func tag(kind, seq, version int) int { return kind | seq<<2 | version<<32 }
func untag(t int) (kind, seq, version int) {
	return t & 3, (t >> 2) & (1<<30 - 1), t >> 32
}

func (s *Async) Local(w *sim.Worker, n *sim.Node, from, steps int) ([]float32, error) {
	if err := n.Train(w, from, steps); err != nil {
		return nil, err
	}
	for i, x := range w.Model.Params() {
		w.Delta[i] = w.Start[i] - x // against the θ the work started from
	}
	if s.cfg.KeepTraining {
		s.last[n.ID] = append(s.last[n.ID][:0], w.Delta...) // the node's own: nodes run in parallel
	}
	return w.Delta, nil
}

// Apply is not used: the servers apply pushes as they arrive.
func (s *Async) Apply([][]byte, int) error { return nil }

func (s *Async) Begin(c *sim.Core) error {
	s.core = c
	s.srv = []*server{{host: c.Server(), theta: s.env.Theta.Params()}}
	s.home = make([]int, c.Nodes())
	if s.cfg.Regions > 0 {
		s.regions(c)
	}
	if s.cfg.WindowS > 0 {
		if err := c.After(s.cfg.WindowS, s.tick); err != nil {
			return err
		}
	}
	for i := range c.Nodes() {
		if c.Up(i) {
			if s.cfg.KeepTraining {
				s.keep[i].base = s.srv[0].snap()
			}
			if err := s.work(c, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// target is the server node i works with now: its region's, unless that
// region's host is down.
func (s *Async) target(c *sim.Core, i int) *server {
	if h := s.srv[s.home[i]]; h.id == 0 || c.Up(h.host) {
		return h
	}
	return s.srv[0]
}

// work starts node i's next H steps: from its server's θ as it is now, or
// with keep_training from the θ it last received less its progress since.
func (s *Async) work(c *sim.Core, i int) error {
	H := s.env.Config.Train.InnerSteps
	if !s.cfg.KeepTraining {
		srv := s.target(c, i)
		s.from[i], s.version[i], s.gversion[i] = srv.id, srv.v, s.srv[0].v
		if srv.id == 0 {
			return c.Work(i, H)
		}
		return c.WorkFrom(i, H, srv.snap().w)
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

// snap is the server's θ at its current version, as a snapshot.
func (srv *server) snap() *snapshot {
	if srv.latest == nil || srv.latest.v != srv.v {
		srv.latest = &snapshot{v: srv.v, w: slices.Clone(srv.theta)}
	}
	return srv.latest
}

func (s *Async) Computed(c *sim.Core, i int, payload []byte) error {
	k := &s.keep[i]
	k.seq++
	to, v := s.srv[s.from[i]], s.version[i]
	if t := s.target(c, i); t != to {
		to, v = t, s.gversion[i] // its region's host went down: the global server takes it
	}
	err := c.Send(sim.Message{From: i, To: to.host, Payload: payload, Bytes: c.WireBytes(payload), Tag: tag(tagPush, k.seq, v)})
	if err != nil || !s.cfg.KeepTraining {
		return err
	}
	k.unacked = append(k.unacked, progress{seq: k.seq, delta: s.last[i]})
	s.last[i] = nil
	return s.work(c, i)
}

// at is the server whose endpoint is host.
func (s *Async) at(host int) *server {
	for _, srv := range s.srv {
		if srv.host == host {
			return srv
		}
	}
	return nil
}

func (s *Async) Delivered(c *sim.Core, m sim.Message) error {
	kind, seq, v := untag(m.Tag)
	switch kind {
	case tagPush:
		srv := s.at(m.To)
		srv.pending = append(srv.pending, asyncPush{node: m.From, seq: seq, version: v, payload: m.Payload})
		s.held[m.From] = true
		return s.maybeApply(c, srv)
	case tagUp:
		return s.mergeUp(c, s.srv[seq])
	case tagDown:
		return s.mergeDown(c, s.srv[seq])
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
			if err := s.pull(c, s.srv[0], m.To, k.applied); err != nil {
				return err
			}
		}
	}
	if c.Up(m.To) && !c.Busy(m.To) {
		return s.work(c, m.To)
	}
	return nil
}

// pull sends srv's θ as it is now to node i, in answer to its push seq
// (its latest: to one that rejoins).
func (s *Async) pull(c *sim.Core, srv *server, i, seq int) error {
	if s.cfg.KeepTraining {
		s.keep[i].pulls = append(s.keep[i].pulls, pullOnWay{seq: seq, snap: srv.snap()})
	}
	return c.Send(sim.Message{From: srv.host, To: i, Bytes: c.ModelBytes(), Tag: tag(tagPull, seq, srv.v)})
}

// quorum is how many pushes make srv apply: strategy.async.quorum, or
// every node of its own that is up (the global server with regions
// applies what it gets at once).
func (s *Async) quorum(c *sim.Core, srv *server) int {
	switch {
	case s.cfg.Quorum > 0:
		return s.cfg.Quorum
	case srv.id == 0 && len(s.srv) > 1:
		return 1
	}
	up := 0
	for i := range c.Nodes() {
		if s.home[i] == srv.id && (c.Up(i) || s.held[i]) {
			up++
		}
	}
	return max(up, 1)
}

func (s *Async) maybeApply(c *sim.Core, srv *server) error {
	if len(srv.pending) == 0 || len(srv.pending) < s.quorum(c, srv) {
		return nil
	}
	return s.apply(c, srv)
}

// tick is the time window: every server applies what it holds.
func (s *Async) tick() {
	c := s.core
	for _, srv := range s.srv {
		if len(srv.pending) > 0 {
			c.Fail(s.apply(c, srv))
		}
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

// apply moves srv's θ by the pushes gathered: their mean (as the
// compressor aggregates) when their staleness scales agree, else the mean
// of each decoded and scaled; then θ goes back to their nodes.
func (s *Async) apply(c *sim.Core, srv *server) error {
	batch := srv.pending
	srv.pending = nil
	scales := make([]float32, len(batch))
	same := true
	for k, p := range batch {
		stale := srv.v - p.version
		if s.cfg.KeepTraining {
			// Its own pushes since are in its weights already: only the
			// others' updates are news it missed.
			kp := &s.keep[p.node]
			own := 0
			for _, at := range kp.appliedAt {
				if at >= p.version && at < srv.v { // not this batch's
					own++
				}
			}
			stale -= own
			kp.appliedAt = append(slices.DeleteFunc(kp.appliedAt, func(at int) bool { return at < p.version }), srv.v)
		}
		c.NoteStaleness(p.node, float64(stale))
		scales[k] = s.scale(stale)
		same = same && scales[k] == scales[0]
		s.held[p.node] = false
	}
	alpha := float32(s.env.Config.Strategy.OuterLR)
	theta := srv.theta
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
	srv.v++
	finished := c.Left() < s.env.Config.Train.InnerSteps
	if srv.id > 0 {
		srv.updates++
		if srv.updates >= s.cfg.RegionEvery || finished {
			if err := s.syncUp(c, srv); err != nil {
				return err
			}
		}
	}
	if finished {
		// No more work will start: θ is final here, and the run ends
		// without sending it to the nodes (what is on its way stops).
		for i := range c.Nodes() {
			c.AbortTo(i, func(m sim.Message) bool { k, _, _ := untag(m.Tag); return k == tagPull })
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
		if err := s.pull(c, srv, p.node, p.seq); err != nil {
			return err
		}
	}
	return nil
}

func (s *Async) Failed(c *sim.Core, i int) error {
	// Its weights and the θ on its way to it are lost; it starts afresh
	// from the θ it gets when it is back. A push already at a server
	// still counts; one that waits for a quorum that included this node
	// may now be complete. A regional server on it keeps its state, but
	// what it was exchanging with the global one is lost.
	if s.cfg.KeepTraining {
		s.keep[i] = keeping{seq: s.keep[i].seq, acked: s.keep[i].seq, applied: s.keep[i].applied}
	}
	if srv := s.at(i); srv != nil {
		s.hostFailed(srv)
	}
	return s.maybeApply(c, s.srv[s.home[i]])
}

func (s *Async) Back(c *sim.Core, i int) error {
	if srv := s.at(i); srv != nil {
		if err := s.hostBack(c, srv); err != nil {
			return err
		}
	}
	if s.held[i] {
		return nil // its push waits in the quorum; θ comes with it
	}
	return s.pull(c, s.target(c, i), i, s.keep[i].seq)
}
