package sim

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/locosim/locosim/des"
	"github.com/locosim/locosim/netmodel"
	"github.com/locosim/locosim/record"
)

// roundSpec is one synchronous round's schedule: when it starts, how nodes
// compute under the sync mode, and what a rejoining node fetches first.
type roundSpec struct {
	round    int
	startS   float64
	sync     string
	steps    int     // H in fixed and deadline modes
	windowS  float64 // window mode's compute window
	deadline float64 // absolute; 0: none
	maxSteps int     // window mode's cap (0: none)
	flops    float64 // FLOPs of one inner step
	catchUp  []int64 // bytes each node fetches before computing (0: none)
	// waitFor, if set, names for each node another (−1: none) whose upload
	// it must fetch, taking fetchS, before it hands its payload over: a
	// copier that re-uploads its victim's payload.
	waitFor []int
	fetchS  []float64
}

// nodeRound is one node's part in a round, as the records report it.
type nodeRound struct {
	netmodel.NodeResult
	Status        string
	Steps         int
	ComputeStartS float64
	ComputeEndS   float64
	WaitS         float64
}

// activity is one span of a node's time in a round.
type activity struct {
	Node         int
	Kind         string
	StartS, EndS float64
	Bytes        int64
	Peer         int
}

type roundResult struct {
	endS       float64
	waitS      float64 // wall time the event loop was blocked on work
	nodes      []nodeRound
	aggregate  []int
	received   [][]int // the payloads each node holds
	activities []activity
}

// work is where a round gets its nodes' payloads: request(node, steps)
// asks for a node's work, and the returned function waits for it and
// gives the payload's size in bytes (and the wall time it waited).
type work interface {
	request(node, steps int) func() (bytes int64, waitS float64, err error)
}

// roundRun is a round in flight: the exchange on the network, and what the
// core schedules around it (catch-up, compute, failures).
type roundRun struct {
	c       *netmodel.Cluster
	eng     *des.Engine
	spec    roundSpec
	x       *netmodel.Exchange
	work    work
	nodes   []nodeRound
	acts    [][]activity
	catchup []bool
	down    []bool // took no part
	lost    []bool // down, or failed before finishing its part
	busy    []bool // still to finish computing
	busyN   int
	handed  []int64 // bytes each node handed to the exchange (−1: not yet)
	timers  []des.ID
	waitS   float64 // wall time blocked on work results
	err     error
}

// runRound runs one synchronous round on the network's engine to its end.
func runRound(net *netmodel.Network, pat netmodel.Pattern, spec roundSpec, w work) (*roundResult, error) {
	rr, err := startRound(net, pat, spec, w)
	if err != nil {
		return nil, err
	}
	if err := rr.runUntil(rr.done); err != nil {
		return nil, err
	}
	return rr.finish()
}

// startRound starts a synchronous round on the network's engine: nodes down
// at the start sit it out; the others fetch the model if they are stale,
// compute as their speed, slowdowns and the sync mode allow, and hand their
// payload (the result of their work) to the exchange; failures stop a node
// wherever it is. The caller steps the engine (runUntil) and then finishes
// the round; other rounds may be in flight on the same network.
func startRound(net *netmodel.Network, pat netmodel.Pattern, spec roundSpec, w work) (*roundRun, error) {
	if err := validateRound(spec); err != nil {
		return nil, err
	}
	eng, c := net.Engine(), net.Cluster()
	if !(spec.startS >= eng.Now()) || math.IsInf(spec.startS, 0) {
		return nil, fmt.Errorf("sim: round start %g s is before the clock (%g s) or not finite", spec.startS, eng.Now())
	}
	if err := eng.RunUntil(spec.startS); err != nil {
		return nil, err
	}
	n := c.Len()
	if len(spec.catchUp) != n {
		return nil, fmt.Errorf("sim: %d catch-up sizes for %d nodes", len(spec.catchUp), n)
	}
	down := make([]bool, n)
	for i := range n {
		down[i] = !c.Nodes[i].UpAt(spec.startS)
	}
	x, err := net.Start(pat, spec.round, spec.deadline, down)
	if err != nil {
		return nil, err
	}
	rr := &roundRun{c: c, eng: eng, spec: spec, x: x, work: w, nodes: make([]nodeRound, n), acts: make([][]activity, n),
		catchup: make([]bool, n), down: down, lost: slices.Clone(down), busy: make([]bool, n), handed: make([]int64, n)}
	for i := range rr.handed {
		rr.handed[i] = -1
	}
	for i := range rr.nodes {
		rr.nodes[i] = nodeRound{ComputeStartS: spec.startS, ComputeEndS: spec.startS}
	}
	for i := range n {
		if down[i] {
			continue
		}
		rr.busy[i] = true
		rr.busyN++
		if t := c.Nodes[i].NextFailure(eng.Now()); !math.IsInf(t, 1) {
			rr.at(t, i, func() { rr.crash(i) })
		}
		if spec.catchUp[i] > 0 {
			rr.catchup[i] = true
			x.Fetch(i, spec.catchUp[i], func() { rr.compute(i) })
		} else {
			rr.compute(i)
		}
	}
	return rr, rr.err
}

// done reports whether every node has finished its part of the round.
func (rr *roundRun) done() bool { return rr.x.Done() }

// computed reports whether every node that took part has finished
// computing (its payload is ready) or failed.
func (rr *roundRun) computed() bool { return rr.busyN == 0 }

// idle marks node i as no longer computing for this round.
func (rr *roundRun) idle(i int) {
	if rr.busy[i] {
		rr.busy[i] = false
		rr.busyN--
	}
}

// runUntil steps the engine until cond holds.
func (rr *roundRun) runUntil(cond func() bool) error {
	for !cond() && rr.err == nil {
		if err := rr.x.Err(); err != nil {
			return err
		}
		if !rr.eng.Step() {
			rr.err = errors.New("sim: the round stalled with nodes still busy")
		}
	}
	return rr.err
}

// finish ends a done round: its timers are cancelled and its result built.
func (rr *roundRun) finish() (*roundResult, error) {
	for _, id := range rr.timers {
		rr.eng.Cancel(id)
	}
	if rr.err != nil {
		return nil, rr.err
	}
	xr, err := rr.x.Finish()
	if err != nil {
		return nil, err
	}
	return rr.result(xr), nil
}

func (rr *roundRun) at(t float64, node int, fn func()) {
	if rr.err != nil {
		return
	}
	eng := rr.eng
	id, err := eng.Schedule(math.Max(t, eng.Now()), des.Node(node), fn)
	if err != nil {
		rr.err = err
		return
	}
	rr.timers = append(rr.timers, id)
}

func (rr *roundRun) activity(node int, kind string, start, end float64, bytes int64, peer int) {
	rr.acts[node] = append(rr.acts[node], activity{Node: node, Kind: kind, StartS: start, EndS: end, Bytes: bytes, Peer: peer})
}

// crash fails node i now.
func (rr *roundRun) crash(i int) {
	rr.idle(i)
	if rr.x.Crash(i) {
		rr.lost[i] = true
		now := rr.eng.Now()
		rr.activity(i, record.KindFail, now, now, 0, -1)
	}
}

// compute runs node i's inner steps from now and schedules the moment its
// payload is ready.
func (rr *roundRun) compute(i int) {
	if !rr.x.Alive(i) {
		return
	}
	spec := rr.spec
	p := &rr.c.Nodes[i]
	now := rr.eng.Now()
	res := &rr.nodes[i]
	res.ComputeStartS = now
	ready, end, steps := 0.0, now, 0
	has := true
	switch spec.sync {
	case SyncWindow:
		limit := spec.startS + spec.windowS
		steps, end = p.StepsWithin(now, limit, spec.flops, spec.maxSteps)
		ready = math.Max(limit, now)
		if steps == 0 {
			// Not one step fits: nothing to contribute this round.
			has = false
			rr.x.Withdraw(i)
		}
	default:
		end = p.ComputeEnd(now, spec.flops*float64(spec.steps))
		steps = spec.steps
		ready = end
	}
	// A failure before the end loses the work; crash() reports it.
	if fail := p.NextFailure(now); fail < end {
		rr.activity(i, record.KindCompute, now, fail, 0, -1)
		res.ComputeEndS = fail
		return
	}
	res.Steps = steps
	res.ComputeEndS = end
	var result func() (int64, float64, error)
	if has {
		// The work is requested now unless it already was at the round's
		// start; the result is taken when the payload is due.
		result = rr.work.request(i, steps)
	}
	if end > now {
		rr.activity(i, record.KindCompute, now, end, 0, -1)
	}
	rr.at(ready, i, func() {
		rr.afterSource(i, func() {
			if !rr.x.Alive(i) {
				return
			}
			rr.idle(i)
			var bytes int64
			if result != nil {
				b, wait, err := result()
				rr.waitS += wait
				if err != nil {
					rr.err = err
					return
				}
				bytes = b
			}
			rr.handed[i] = bytes
			rr.x.Ready(i, bytes)
		})
	})
}

// afterSource runs fn once node i's source (spec.waitFor) has uploaded its
// payload and i has fetched it; at once when i has no source, or the
// source failed or had nothing to upload.
func (rr *roundRun) afterSource(i int, fn func()) {
	v := -1
	if rr.spec.waitFor != nil {
		v = rr.spec.waitFor[i]
	}
	if v < 0 || !rr.x.Alive(v) || rr.handed[v] == 0 {
		fn()
		return
	}
	now := rr.eng.Now()
	if up := rr.x.UploadEndS(v); !math.IsNaN(up) {
		rr.at(math.Max(now, up+rr.spec.fetchS[i]), i, fn)
		return
	}
	// Not uploaded yet: look again a little later.
	rr.at(now+math.Max(rr.spec.fetchS[i]/4, 1e-3), i, func() { rr.afterSource(i, fn) })
}

// result turns the exchange's result into the round's, adding what the
// core scheduled: compute, failures, downtime, waiting, and statuses.
func (rr *roundRun) result(xr *netmodel.ExchangeResult) *roundResult {
	start, end := rr.spec.startS, xr.EndS
	out := &roundResult{endS: end, aggregate: xr.Aggregate, received: xr.Received, waitS: rr.waitS}
	for _, a := range xr.Activities {
		rr.activity(a.Node, a.Kind.String(), a.StartS, a.EndS, a.Bytes, a.Peer)
	}
	total := 0
	for i := range rr.nodes {
		nr := &rr.nodes[i]
		nr.NodeResult = xr.Nodes[i]
		nr.Status = statusOf(nr.NodeResult.Status)
		if nr.Status == record.StatusOK && rr.catchup[i] {
			nr.Status = record.StatusRejoined
		}
		if math.IsNaN(nr.UploadStartS) {
			nr.UploadStartS, nr.UploadEndS = nr.ComputeEndS, nr.ComputeEndS
		}
		if math.IsNaN(nr.DownloadStartS) {
			nr.DownloadStartS, nr.DownloadEndS = nr.UploadEndS, nr.UploadEndS
		}
		sortActivities(rr.acts[i])
		if nr.Status == record.StatusDown || nr.Status == record.StatusCrashed {
			from := nr.EndS
			if nr.Status == record.StatusDown {
				from = start
			}
			until := math.Min(end, rr.c.Nodes[i].NextUp(from))
			if until > from {
				rr.activity(i, record.KindDown, from, until, 0, -1)
			}
		} else {
			rr.acts[i], nr.WaitS = waits(rr.acts[i], i, start, end)
		}
		sortActivities(rr.acts[i])
		total += len(rr.acts[i])
	}
	out.nodes = rr.nodes
	out.activities = make([]activity, 0, total)
	for _, a := range rr.acts {
		out.activities = append(out.activities, a...)
	}
	return out
}

func statusOf(s netmodel.Status) string {
	switch s {
	case netmodel.Late:
		return record.StatusLate
	case netmodel.Crashed:
		return record.StatusCrashed
	case netmodel.Down:
		return record.StatusDown
	}
	return record.StatusOK
}

// waits appends to a node's activities (sorted by start) a wait activity
// for every gap in its busy time between the round's start and end, and
// returns the total.
func waits(acts []activity, node int, start, end float64) ([]activity, float64) {
	t, total := start, 0.0
	n := len(acts)
	gap := func(to float64) {
		if to > t {
			acts = append(acts, activity{Node: node, Kind: record.KindWait, StartS: t, EndS: to, Peer: -1})
			total += to - t
		}
	}
	for _, a := range acts[:n] {
		if a.EndS <= a.StartS {
			continue
		}
		gap(a.StartS)
		t = math.Max(t, a.EndS)
	}
	gap(end)
	return acts, total
}

// sortActivities orders activities by node, start, end, then the rest, so
// that the order is a function of the set alone.
func sortActivities(a []activity) {
	slices.SortFunc(a, func(x, y activity) int {
		if x.Node != y.Node {
			return x.Node - y.Node
		}
		if c := cmp.Compare(x.StartS, y.StartS); c != 0 {
			return c
		}
		if c := cmp.Compare(x.EndS, y.EndS); c != 0 {
			return c
		}
		if x.Kind != y.Kind {
			return strings.Compare(x.Kind, y.Kind)
		}
		if x.Peer != y.Peer {
			return x.Peer - y.Peer
		}
		return int(x.Bytes - y.Bytes)
	})
}

// validateRound checks a round's schedule (the run's configuration has
// been validated already; this guards the core's own callers).
func validateRound(s roundSpec) error {
	switch s.sync {
	case SyncFixed:
		if s.deadline != 0 || s.windowS != 0 {
			return errors.New("sim: sync fixed takes no deadline or window (it waits for the slowest)")
		}
	case SyncDeadline:
		if !(s.deadline > s.startS) {
			return fmt.Errorf("sim: sync deadline needs a deadline after the round start, got %g", s.deadline)
		}
	case SyncWindow:
		if !(s.windowS > 0) || math.IsInf(s.windowS, 0) {
			return fmt.Errorf("sim: sync window needs a positive window, got %g", s.windowS)
		}
		if s.deadline != 0 && s.deadline <= s.startS+s.windowS {
			return fmt.Errorf("sim: deadline %g s falls inside the compute window", s.deadline)
		}
	default:
		return fmt.Errorf("sim: unknown sync mode %q (want fixed, window or deadline)", s.sync)
	}
	if s.sync != SyncWindow && s.steps < 1 {
		return fmt.Errorf("sim: %d inner steps per round", s.steps)
	}
	if s.maxSteps < 0 {
		return fmt.Errorf("sim: max steps %d is negative", s.maxSteps)
	}
	if !(s.flops >= 0) || math.IsInf(s.flops, 0) {
		return fmt.Errorf("sim: FLOPs per step %g is invalid", s.flops)
	}
	for i, b := range s.catchUp {
		if b < 0 {
			return fmt.Errorf("sim: node %d catch-up %d bytes is negative", i, b)
		}
	}
	return nil
}
