package sim

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/locosim/locosim/des"
	"github.com/locosim/locosim/netmodel"
	"github.com/locosim/locosim/record"
)

// A Driver is a strategy that schedules its nodes itself, with no
// synchronous rounds: asynchronous local SGD with a parameter server, and
// any algorithm in which fast nodes do not wait for slow ones. The core
// hands it a Core, through which it starts work on nodes and moves
// payloads over the run's network, and calls it back, one event at a time
// on simulated time, when work is done, a payload arrives, or a node fails
// or comes back. Its Local makes a node's payload as for rounds, from the
// weights the work started from (Worker.Start).
type Driver interface {
	Strategy
	// Begin starts the run at time 0 (typically: Work on every node).
	Begin(c *Core) error
	// Computed: node's work is done now, its payload encoded.
	Computed(c *Core, node int, payload []byte) error
	// Delivered: a message sent with Core.Send has arrived.
	Delivered(c *Core, m Message) error
	// Failed: node failed now; its work under way and its transfers are
	// lost (so is its optimizer and compressor state, which the core
	// resets). Back: it is available again.
	Failed(c *Core, node int) error
	Back(c *Core, node int) error
}

// Message is a payload moving between endpoints (nodes, or Core.Server).
type Message struct {
	From, To int
	Payload  []byte
	Bytes    int64 // its size on the simulated wire
	Tag      int   // the driver's own
}

// Core is what a Driver acts through. Its methods are called from the
// driver's callbacks, on the event loop.
type Core struct {
	r        *Run
	pool     *pool
	work     []*driverWork   // each node's work under way, or nil
	xfers    [][]*driverSend // each node's transfers under way
	acts     [][]activity    // activities of the current step
	steps    []int           // inner steps completed in the current step
	sent     []int64         // payload bytes sent in the current step
	busyS    []float64       // compute seconds in the current step
	failures []int           // failures in the current step
	up       []bool
	own      []int // inner steps each node has completed in the run
	total    int   // inner steps completed in the run, all nodes
	// Staleness noted in the current step, per node: sum and count.
	staleSum []float64
	staleN   []int
	err      error
}

type driverWork struct {
	q     *request
	start float64
	end   des.ID
}

type driverSend struct {
	id    netmodel.FlowID
	m     Message
	start float64
	live  bool
}

// Now is the simulated time.
func (c *Core) Now() float64 { return c.r.eng.Now() }

// Nodes is the number of nodes.
func (c *Core) Nodes() int { return len(c.r.nodes) }

// Node returns node i's state.
func (c *Core) Node(i int) *Node { return c.r.nodes[i] }

// Server is the endpoint of the object store, where a parameter server
// lives.
func (c *Core) Server() int { return c.r.cluster.StoreID() }

// Cluster is the run's nodes and network: their profiles and places.
func (c *Core) Cluster() *netmodel.Cluster { return c.r.cluster }

// Up reports whether node i is available now.
func (c *Core) Up(i int) bool { return c.up[i] }

// Busy reports whether node i has work under way.
func (c *Core) Busy(i int) bool { return c.work[i] != nil }

// WireBytes is the size on the simulated wire of an encoded payload (with
// the run's projection to a bigger model).
func (c *Core) WireBytes(payload []byte) int64 { return c.r.projectBytes(len(payload)) }

// ModelBytes is the size of the whole model on the wire.
func (c *Core) ModelBytes() int64 { return c.r.modelBytes }

// Work starts steps inner steps on node i now, from its own weights if it
// holds some, else from θ as it is now; Computed follows when the node's
// speed says it is done, unless it fails first. Work that would take the
// run past its budget of inner steps (train.outer_rounds rounds of
// train.inner_steps for every node, as a synchronous run does) is not
// started: the node stays idle, and the run ends once what is under way
// has settled.
func (c *Core) Work(i, steps int) error { return c.WorkFrom(i, steps, nil) }

// WorkFrom is Work from the given weights (say, the version of θ the node
// last received) instead; nil means as Work. The core reads start while the
// work is under way: do not change it.
func (c *Core) WorkFrom(i, steps int, start []float32) error {
	switch {
	case i < 0 || i >= c.Nodes():
		return fmt.Errorf("sim: work on node %d of %d", i, c.Nodes())
	case !c.up[i]:
		return fmt.Errorf("sim: work on node %d, which is down", i)
	case c.work[i] != nil:
		return fmt.Errorf("sim: node %d already has work under way", i)
	case steps < 1:
		return fmt.Errorf("sim: work of %d steps", steps)
	}
	r := c.r
	if steps > c.Left() {
		return nil
	}
	n := r.nodes[i]
	// A node's state is its own work's: wait for any earlier request of it
	// (one lost in a failure) before the next starts.
	c.pool.wait(i)
	switch {
	case start == nil:
		start = r.startOf(n)
	case len(start) != len(r.global.Params()):
		return fmt.Errorf("sim: work on node %d from %d weights, the model has %d", i, len(start), len(r.global.Params()))
	}
	q := c.pool.requestFrom(i, steps, start, c.own[i])
	now := c.Now()
	end := r.cluster.Nodes[i].ComputeEnd(now, r.flopsPerStep*float64(steps))
	w := &driverWork{q: q, start: now}
	id, err := r.eng.Schedule(end, des.Node(i), func() { c.computed(i, w) })
	if err != nil {
		return err
	}
	w.end = id
	c.work[i] = w
	return nil
}

func (c *Core) computed(i int, w *driverWork) {
	if c.work[i] != w { // it failed (and may be working again)
		return
	}
	c.work[i] = nil
	now := c.Now()
	c.activity(i, record.KindCompute, w.start, now, 0, -1)
	c.busyS[i] += now - w.start
	if _, _, err := c.pool.result(w.q); err != nil {
		c.fail(err)
		return
	}
	c.steps[i] += w.q.steps
	c.own[i] += w.q.steps
	c.total += w.q.steps
	c.r.tokens += int64(w.q.steps) * int64(c.r.cfg.Train.BatchSize*c.r.cfg.Model.SeqLen)
	c.r.lastTrainLoss = w.q.lossSum / float64(w.q.steps)
	c.fail(c.r.strat.(Driver).Computed(c, i, w.q.wire))
}

// Left is how many inner steps of the run's budget are neither done nor
// under way: work of more steps will not start.
func (c *Core) Left() int {
	r := c.r
	return r.rounds*r.stepsPerRound*len(r.nodes) - c.total - c.underWay()
}

// underWay is the inner steps of the work under way.
func (c *Core) underWay() int {
	total := 0
	for _, w := range c.work {
		if w != nil {
			total += w.q.steps
		}
	}
	return total
}

// settled reports whether no work and no transfer is under way.
func (c *Core) settled() bool {
	for i, w := range c.work {
		if w != nil || len(c.xfers[i]) > 0 {
			return false
		}
	}
	return true
}

// After runs fn delay seconds from now, on the event loop (a server's
// window, a retry).
func (c *Core) After(delay float64, fn func()) error {
	_, err := c.r.eng.After(delay, des.Barrier, func() {
		if c.err == nil {
			fn()
		}
	})
	return err
}

// NoteStaleness records that a payload of node i was applied s versions
// behind; rounds.parquet reports the mean per node and round.
func (c *Core) NoteStaleness(i int, s float64) {
	c.staleSum[i] += s
	c.staleN[i]++
}

// Fail stops the run with err (from a callback of the driver's own that
// returns nothing, such as After's).
func (c *Core) Fail(err error) { c.fail(err) }

// Send moves payload from one endpoint to another over the network now;
// Delivered follows on arrival, unless either end fails first. A node's
// message to itself (to a server it hosts) moves nothing over the network
// and arrives as the next event; it still counts in the node's payload
// bytes.
func (c *Core) Send(m Message) error {
	ne := c.r.cluster.Endpoints()
	if m.From < 0 || m.From >= ne || m.To < 0 || m.To >= ne || m.Bytes < 0 || m.From == m.To && m.From >= c.Nodes() {
		return fmt.Errorf("sim: send %d→%d of %d bytes", m.From, m.To, m.Bytes)
	}
	if m.From == m.To {
		if !c.up[m.From] {
			return fmt.Errorf("sim: send %d→%d: node %d is down", m.From, m.To, m.From)
		}
		c.sent[m.From] += m.Bytes
		return c.After(0, func() { c.fail(c.r.strat.(Driver).Delivered(c, m)) })
	}
	for _, e := range []int{m.From, m.To} {
		if e < c.Nodes() && !c.up[e] {
			return fmt.Errorf("sim: send %d→%d: node %d is down", m.From, m.To, e)
		}
	}
	s := &driverSend{m: m, start: c.Now(), live: true}
	id, err := c.r.net.Transfer(m.From, m.To, float64(m.Bytes), func(end float64) {
		s.live = false
		c.forget(s)
		c.account(s, end, m.Bytes)
		c.fail(c.r.strat.(Driver).Delivered(c, m))
	})
	if err != nil {
		return err
	}
	s.id = id
	for _, e := range []int{m.From, m.To} {
		if e < c.Nodes() {
			c.xfers[e] = append(c.xfers[e], s)
		}
	}
	if m.From < c.Nodes() {
		c.sent[m.From] += m.Bytes
	}
	return nil
}

// AbortTo stops the sends under way to node that which selects (say,
// models it will never use now that the run's work is all started):
// Delivered will not follow; the bytes already moved count.
func (c *Core) AbortTo(node int, which func(Message) bool) {
	if node < 0 || node >= c.Nodes() {
		return
	}
	now := c.Now()
	for _, s := range slices.Clone(c.xfers[node]) {
		if s.live && s.m.To == node && which(s.m) {
			s.live = false
			c.forget(s)
			moved := c.r.net.Fabric().Abort(s.id)
			c.account(s, now, int64(math.Floor(moved)))
		}
	}
}

// forget drops a send that has arrived from its endpoints' lists.
func (c *Core) forget(s *driverSend) {
	for _, e := range []int{s.m.From, s.m.To} {
		if e < c.Nodes() {
			c.xfers[e] = slices.DeleteFunc(c.xfers[e], func(x *driverSend) bool { return x == s })
		}
	}
}

func (c *Core) account(s *driverSend, end float64, moved int64) {
	if i := s.m.From; i < c.Nodes() {
		c.activity(i, record.KindUpload, s.start, end, moved, s.m.To)
		c.r.bytesUp += moved
	}
	if i := s.m.To; i < c.Nodes() {
		c.activity(i, record.KindDownload, s.start, end, moved, s.m.From)
		c.r.bytesDown += moved
	}
}

func (c *Core) activity(node int, kind string, start, end float64, bytes int64, peer int) {
	c.acts[node] = append(c.acts[node], activity{Node: node, Kind: kind, StartS: start, EndS: end, Bytes: bytes, Peer: peer})
}

func (c *Core) fail(err error) {
	if err != nil && c.err == nil {
		c.err = err
	}
}

// armFailure schedules node i's next failure.
func (c *Core) armFailure(i int) {
	p := &c.r.cluster.Nodes[i]
	t := p.NextFailure(c.Now())
	if math.IsInf(t, 1) {
		return
	}
	if _, err := c.r.eng.Schedule(t, des.Node(i), func() { c.failed(i) }); err != nil {
		c.fail(err)
	}
}

func (c *Core) failed(i int) {
	r := c.r
	now := c.Now()
	c.up[i] = false
	if w := c.work[i]; w != nil {
		r.eng.Cancel(w.end)
		c.activity(i, record.KindCompute, w.start, now, 0, -1)
		c.busyS[i] += now - w.start
		c.work[i] = nil
	}
	c.activity(i, record.KindFail, now, now, 0, -1)
	c.failures[i]++
	for _, s := range slices.Clone(c.xfers[i]) {
		if s.live {
			s.live = false
			c.forget(s)
			moved := r.net.Fabric().Abort(s.id)
			c.account(s, now, int64(math.Floor(moved)))
		}
	}
	c.xfers[i] = nil
	back := r.cluster.Nodes[i].NextUp(now)
	if !math.IsInf(back, 1) {
		if _, err := r.eng.Schedule(back, des.Node(i), func() { c.back(i, now) }); err != nil {
			c.fail(err)
		}
	}
	c.fail(r.strat.(Driver).Failed(c, i))
}

func (c *Core) back(i int, since float64) {
	r := c.r
	c.activity(i, record.KindDown, since, c.Now(), 0, -1)
	c.pool.wait(i)
	n := r.nodes[i]
	n.reset() // what a failure loses
	r.strat.Reset(n)
	if n.Params != nil {
		copy(n.Params, r.global.Params()) // it fetches the model again
	}
	c.up[i] = true
	c.armFailure(i)
	c.fail(r.strat.(Driver).Back(c, i))
}

// startDriver builds the core of a driven run and begins it.
func (r *Run) startDriver() error {
	n := len(r.nodes)
	c := &Core{r: r, pool: r.newPool(make([]bool, n)), work: make([]*driverWork, n), xfers: make([][]*driverSend, n),
		up: make([]bool, n), own: make([]int, n)}
	r.core = c
	c.resetStep()
	for i := range n {
		c.up[i] = r.cluster.Nodes[i].UpAt(0)
		if c.up[i] {
			c.armFailure(i)
		} else if back := r.cluster.Nodes[i].NextUp(0); !math.IsInf(back, 1) {
			if _, err := r.eng.Schedule(back, des.Node(i), func() { c.back(i, 0) }); err != nil {
				return err
			}
		}
	}
	return r.strat.(Driver).Begin(c)
}

func (c *Core) resetStep() {
	n := c.Nodes()
	c.acts, c.steps, c.sent, c.busyS, c.failures = make([][]activity, n), make([]int, n), make([]int64, n), make([]float64, n), make([]int, n)
	c.staleSum, c.staleN = make([]float64, n), make([]int, n)
}

// stepDriven runs a driven run until its nodes have done, in all, the
// inner steps of one more round of every node (train.inner_steps each), so
// that its evaluations come at the same tokens as a synchronous run's.
func (r *Run) stepDriven(sink Sink) error {
	if r.core == nil {
		if err := r.startDriver(); err != nil {
			return err
		}
	}
	c := r.core
	t := r.start()
	target := (r.round + 1) * r.stepsPerRound * len(r.nodes)
	last := r.round+1 == r.rounds
	// The last round also lets what is under way settle (the last pushes
	// applied, the last models delivered).
	for (c.total < target || (last && !c.settled())) && c.err == nil {
		if !r.eng.Step() {
			c.err = errors.New("sim: nothing left to happen, with steps still to do (did the driver stop working its nodes?)")
		}
		if err := r.net.Fabric().Err(); err != nil {
			c.fail(err)
		}
	}
	if c.err != nil {
		return fmt.Errorf("round %d: %w", r.round, c.err)
	}
	r.Timing.Local += r.since(t)
	start := r.clock
	r.clock = r.eng.Now()
	for i := range r.nodes {
		status := record.StatusOK
		switch {
		case c.failures[i] > 0:
			status = record.StatusCrashed
		case !c.up[i]:
			status = record.StatusDown
		}
		if w := c.work[i]; w != nil {
			// Work under way counts into the step where it ends; its span
			// so far is this step's.
			c.busyS[i] += r.clock - w.start
			c.activity(i, record.KindCompute, w.start, r.clock, 0, -1)
			w.start = r.clock
		}
		r.computeS += c.busyS[i]
		sortActivities(c.acts[i])
		var waitS float64
		c.acts[i], waitS = waits(c.acts[i], i, start, r.clock)
		sortActivities(c.acts[i])
		stale := math.NaN()
		if c.staleN[i] > 0 {
			stale = c.staleSum[i] / float64(c.staleN[i])
		}
		if err := sink.Round(record.Round{
			Round: int64(r.round), Node: int64(i), InnerSteps: int64(c.steps[i]), PayloadBytes: c.sent[i], Staleness: stale, Fragment: -1,
			UploadStartS: math.NaN(), UploadEndS: math.NaN(), DownloadStartS: math.NaN(), DownloadEndS: math.NaN(),
			ComputeS: c.busyS[i], WaitS: waitS, Status: status, InAggregate: c.steps[i] > 0 && status != record.StatusDown, TrainLoss: math.NaN(),
		}); err != nil {
			return err
		}
		for _, a := range c.acts[i] {
			if err := sink.Event(record.Event{Node: int64(a.Node), Round: int64(r.round), Kind: a.Kind,
				StartS: a.StartS, EndS: a.EndS, Bytes: a.Bytes}); err != nil {
				return err
			}
		}
	}
	c.resetStep()
	r.globalStep += r.stepsPerRound
	r.round++
	if r.Done() {
		return c.pool.close()
	}
	return nil
}

// Driven reports whether the run's algorithm schedules its nodes itself (a
// Driver) rather than running synchronous rounds.
// Strategy is the run's algorithm, as built (for tests that look inside).
func (r *Run) Strategy() Strategy { return r.strat }

func (r *Run) Driven() bool {
	_, ok := r.strat.(Driver)
	return ok
}

// startOf returns the weights node n's work starts from: its own, or a
// copy of θ as it is now (θ may change while the work runs).
func (r *Run) startOf(n *Node) []float32 {
	if n.Params != nil {
		return slices.Clone(n.Params)
	}
	return slices.Clone(r.global.Params())
}
