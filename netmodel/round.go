package netmodel

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/locosim/locosim/des"
	"github.com/locosim/locosim/record"
)

// Sync modes of a round.
const (
	// SyncFixed: every node does InnerSteps steps; the round waits for the
	// slowest.
	SyncFixed = "fixed"
	// SyncWindow: every node does as many steps as fit in WindowS, then
	// exchanges; DeadlineS optionally bounds the uploads.
	SyncWindow = "window"
	// SyncDeadline: every node does InnerSteps steps; payloads that have not
	// landed DeadlineS after the round start miss the round.
	SyncDeadline = "deadline"
)

// RoundSpec describes one outer round for RunRound. Per-node slices hold
// one value per node, or a single value that applies to every node.
type RoundSpec struct {
	Round  int     // round index; seeds the choice of gather peers
	StartS float64 // when the round starts (≥ the engine's clock)
	Sync   string  // fixed, window or deadline
	// InnerSteps is H for fixed and deadline modes.
	InnerSteps int
	// WindowS is the compute window of window mode, seconds.
	WindowS float64
	// DeadlineS is how long after StartS uploads must land (deadline mode;
	// optional in window mode, where 0 means no deadline).
	DeadlineS    float64
	FlopsPerStep []float64
	PayloadBytes []int64
	// CatchUpBytes, if set, is what each node downloads from the store
	// before computing (a rejoining node fetching the model); 0 for none.
	CatchUpBytes []int64
	Pattern      Pattern
	// MaxSteps caps a node's inner steps in window mode (0: no cap).
	MaxSteps int
	// Payload, if set, is called when node i has finished computing its
	// steps (and is still up), and returns the bytes it sends, overriding
	// PayloadBytes. It lets a simulator do the real work of a node whose step
	// count was only known once the network had run (say, after a catch-up
	// download in window mode). An error stops the round.
	Payload func(node, steps int) (int64, error)
}

// Exchange describes one exchange for Pattern.Run, without compute: each
// node's payload is ready at ReadyS (+Inf: the node takes no part).
type Exchange struct {
	Round        int
	StartS       float64
	ReadyS       []float64
	PayloadBytes []int64
	// DeadlineS is the absolute time by which payloads must land; 0 or
	// +Inf for none.
	DeadlineS float64
}

// NodeResult is one node's part in a round. Times are absolute simulated
// seconds; a phase that did not happen starts and ends when the node
// reached it.
type NodeResult struct {
	Node           int
	Status         string // record.StatusOK, StatusLate, StatusCrashed, StatusDown, StatusRejoined
	Steps          int    // inner steps completed
	ComputeStartS  float64
	ComputeEndS    float64
	UploadStartS   float64
	UploadEndS     float64
	DownloadStartS float64
	DownloadEndS   float64
	// EndS is when the node was done with the round (or crashed).
	EndS      float64
	WaitS     float64 // idle time between StartS and the round's end
	BytesUp   int64
	BytesDown int64
	// InAggregate: every node that finished the round holds this payload.
	InAggregate bool
}

// Activity is one span of a node's time, for the events trace and the
// timeline figure. Kind is one of record.Kind*; Peer is the other end of a
// transfer (a node, the store's endpoint id, or -1).
type Activity struct {
	Node   int
	Kind   string
	StartS float64
	EndS   float64
	Bytes  int64
	Peer   int
}

// RoundResult is everything a strategy needs from one round.
type RoundResult struct {
	Round  int
	StartS float64
	EndS   float64 // when the last node finished
	Nodes  []NodeResult
	// Received[i] lists, sorted, the nodes whose payloads node i holds at
	// the end of the round (its own included when it contributed); nil for
	// nodes that were down or crashed.
	Received [][]int
	// Aggregate lists the payloads every finishing node holds.
	Aggregate  []int
	Activities []Activity
	Transfers  int // flows started
}

// Pattern is an exchange pattern: ObjectStoreAllGather, P2PAllGather,
// RingAllReduce or ParameterServer.
type Pattern interface {
	// Name is a short identifier ("store", "p2p", "ring", "ps").
	Name() string
	// Run performs one exchange on net, driving its engine until every
	// node is done.
	Run(net *Network, ex Exchange) (*RoundResult, error)
	validate(n int) error
	begin(r *roundRun)
	ready(r *roundRun, i int)
	crash(r *roundRun, i int)
}

type roundRun struct {
	net      *Network
	eng      *des.Engine
	c        *Cluster
	n        int
	round    int
	start    float64
	deadline float64 // +Inf: none
	pat      Pattern

	bytes    []int64
	has      []bool // node has a payload to contribute
	res      []NodeResult
	acts     [][]Activity // per node
	alive    []bool       // up and not crashed
	done     []bool       // finished its part (or crashed / down)
	catchup  []bool
	late     []bool
	open     int
	xfers    [][]*transfer
	timers   []des.ID
	received [][]int
	flows    int
	err      error
	st       any // the pattern's per-round state
}

type transfer struct {
	id       FlowID
	src, dst int
	bytes    int64
	start    float64
	live     bool
	onFail   func()
	upNode   int // node charged with an upload activity, -1 none
	downNode int // node charged with a download activity, -1 none
}

func perNode[T any](v []T, n int, key string) ([]T, error) {
	switch len(v) {
	case n:
		return slices.Clone(v), nil // the round may fill in values
	case 1:
		out := make([]T, n)
		for i := range out {
			out[i] = v[0]
		}
		return out, nil
	}
	return nil, fmt.Errorf("netmodel: %s has %d entries for %d nodes (want %d or 1)", key, len(v), n, n)
}

func newRun(net *Network, pat Pattern, round int, start, deadline float64, bytes []int64) (*roundRun, error) {
	if net == nil {
		return nil, errors.New("netmodel: nil network")
	}
	if pat == nil {
		return nil, errors.New("netmodel: no exchange pattern")
	}
	eng := net.eng
	if !finite(start) || start < eng.Now() {
		return nil, fmt.Errorf("netmodel: round start %g s is before the clock (%g s) or not finite", start, eng.Now())
	}
	if math.IsNaN(deadline) || (deadline != 0 && deadline <= start) {
		return nil, fmt.Errorf("netmodel: deadline %g s is not after the round start %g s", deadline, start)
	}
	if deadline == 0 {
		deadline = math.Inf(1)
	}
	n := net.cluster.Len()
	if err := pat.validate(n); err != nil {
		return nil, err
	}
	for i, b := range bytes {
		if b < 0 {
			return nil, fmt.Errorf("netmodel: node %d payload %d bytes is negative", i, b)
		}
	}
	r := &roundRun{net: net, eng: eng, c: net.cluster, n: n, round: round, start: start, deadline: deadline, pat: pat,
		bytes: bytes, has: make([]bool, n), res: make([]NodeResult, n), alive: make([]bool, n), acts: make([][]Activity, n),
		done: make([]bool, n), catchup: make([]bool, n), late: make([]bool, n), xfers: make([][]*transfer, n),
		received: make([][]int, n)}
	for i := range r.res {
		r.res[i] = NodeResult{Node: i, Status: record.StatusOK, ComputeStartS: start, ComputeEndS: start, EndS: start,
			UploadStartS: math.NaN(), DownloadStartS: math.NaN()}
	}
	return r, nil
}

// at schedules fn for this round; pending timers are cancelled at its end.
func (r *roundRun) at(t float64, k des.Key, fn func()) des.ID {
	if r.err != nil {
		return des.ID{}
	}
	id, err := r.eng.Schedule(math.Max(t, r.eng.Now()), k, fn)
	if err != nil {
		r.err = err
		return des.ID{}
	}
	r.timers = append(r.timers, id)
	return id
}

// send starts a transfer between endpoints. upNode and downNode (−1 for
// none) are charged with the upload and download activity.
func (r *roundRun) send(src, dst, upNode, downNode int, bytes int64, onDone func(end float64), onFail func()) *transfer {
	x := &transfer{src: src, dst: dst, bytes: bytes, start: r.eng.Now(), live: true, onFail: onFail, upNode: upNode, downNode: downNode}
	id, err := r.net.Transfer(src, dst, float64(bytes), func(end float64) {
		x.live = false
		r.account(x, end, bytes)
		onDone(end)
	})
	if err != nil {
		if r.err == nil {
			r.err = err
		}
		x.live = false
		return x
	}
	x.id = id
	r.flows++
	for _, e := range []int{src, dst} {
		if e < r.n {
			r.xfers[e] = append(r.xfers[e], x)
		}
	}
	return x
}

// abort stops a live transfer; its onFail runs unless quiet.
func (r *roundRun) abort(x *transfer, quiet bool) {
	if !x.live {
		return
	}
	x.live = false
	moved := r.net.fabric.Abort(x.id)
	r.account(x, r.eng.Now(), int64(math.Floor(moved)))
	if !quiet && x.onFail != nil {
		x.onFail()
	}
}

func (r *roundRun) account(x *transfer, end float64, moved int64) {
	if i := x.upNode; i >= 0 {
		r.activity(i, record.KindUpload, x.start, end, moved, x.dst)
		r.res[i].BytesUp += moved
		r.res[i].UploadStartS = minNaN(r.res[i].UploadStartS, x.start)
		r.res[i].UploadEndS = math.Max(r.res[i].UploadEndS, end)
	}
	if i := x.downNode; i >= 0 {
		r.activity(i, record.KindDownload, x.start, end, moved, x.src)
		r.res[i].BytesDown += moved
		r.res[i].DownloadStartS = minNaN(r.res[i].DownloadStartS, x.start)
		r.res[i].DownloadEndS = math.Max(r.res[i].DownloadEndS, end)
	}
}

func minNaN(a, b float64) float64 {
	if math.IsNaN(a) || b < a {
		return b
	}
	return a
}

func (r *roundRun) activity(node int, kind string, start, end float64, bytes int64, peer int) {
	r.acts[node] = append(r.acts[node], Activity{Node: node, Kind: kind, StartS: start, EndS: end, Bytes: bytes, Peer: peer})
}

// finish marks node i done with the round now.
func (r *roundRun) finish(i int) {
	if r.done[i] {
		return
	}
	r.done[i] = true
	r.res[i].EndS = r.eng.Now()
	r.open--
}

// crash fails node i now: its transfers stop, its round ends.
func (r *roundRun) crash(i int) {
	if !r.alive[i] {
		return
	}
	r.alive[i] = false
	now := r.eng.Now()
	if !r.done[i] {
		r.res[i].Status = record.StatusCrashed
		r.activity(i, record.KindFail, now, now, 0, -1)
		r.received[i] = nil
		r.finish(i)
	}
	for _, x := range r.xfers[i] {
		r.abort(x, false)
	}
	r.xfers[i] = nil
	r.pat.crash(r, i)
}

// armCrash schedules node i's next failure, if it comes before +Inf.
func (r *roundRun) armCrash(i int) {
	if t := r.c.Nodes[i].NextFailure(r.eng.Now()); !math.IsInf(t, 1) {
		r.at(t, des.Node(i), func() { r.crash(i) })
	}
}

// markLate records that node i's payload missed the deadline.
func (r *roundRun) markLate(i int) {
	r.late[i] = true
}

// drive steps the engine until every node is done, then tidies up.
func (r *roundRun) drive() (*RoundResult, error) {
	for r.open > 0 && r.err == nil {
		if !r.eng.Step() {
			r.err = errors.New("netmodel: the round stalled with nodes still busy")
		}
		if err := r.net.fabric.Err(); err != nil && r.err == nil {
			r.err = err
		}
	}
	for _, id := range r.timers {
		r.eng.Cancel(id)
	}
	if r.err != nil {
		return nil, r.err
	}
	// Every node is done, so no transfer should be left; if one were, it
	// must not spill into the next round.
	for _, xs := range r.xfers {
		for _, x := range xs {
			r.abort(x, true)
		}
	}
	return r.result(), nil
}

func (r *roundRun) result() *RoundResult {
	end := r.start
	for i := range r.res {
		if r.res[i].Status != record.StatusDown {
			end = math.Max(end, r.res[i].EndS)
		}
	}
	out := &RoundResult{Round: r.round, StartS: r.start, EndS: end, Nodes: r.res, Transfers: r.flows}
	// Common aggregate: payloads held by every node that finished.
	var agg []int
	first := true
	for i := range r.n {
		// Nodes that finished their part count, even if they failed later
		// in the round.
		if st := r.res[i].Status; !r.done[i] || st == record.StatusCrashed || st == record.StatusDown {
			continue
		}
		if first {
			agg = slices.Clone(r.received[i])
			first = false
			continue
		}
		agg = intersect(agg, r.received[i])
	}
	total := 0
	for i := range r.n {
		slices.Sort(r.received[i])
		sortActivities(r.acts[i])
		res := &r.res[i]
		switch {
		case res.Status == record.StatusDown || res.Status == record.StatusCrashed:
		case r.late[i]:
			res.Status = record.StatusLate
		case r.catchup[i]:
			res.Status = record.StatusRejoined
		}
		if math.IsNaN(res.UploadStartS) {
			res.UploadStartS, res.UploadEndS = res.ComputeEndS, res.ComputeEndS
		}
		if math.IsNaN(res.DownloadStartS) {
			res.DownloadStartS, res.DownloadEndS = res.UploadEndS, res.UploadEndS
		}
		if res.Status == record.StatusDown || res.Status == record.StatusCrashed {
			from := res.EndS
			if res.Status == record.StatusDown {
				from = r.start
			}
			until := math.Min(end, r.c.Nodes[i].NextUp(from))
			if until > from {
				r.activity(i, record.KindDown, from, until, 0, -1)
			}
		} else {
			r.acts[i], res.WaitS = waits(r.acts[i], i, r.start, end)
		}
		sortActivities(r.acts[i])
		total += len(r.acts[i])
	}
	slices.Sort(agg)
	for _, a := range agg {
		r.res[a].InAggregate = true
	}
	out.Activities = make([]Activity, 0, total)
	for _, a := range r.acts {
		out.Activities = append(out.Activities, a...)
	}
	out.Received = r.received
	out.Aggregate = agg
	if out.Aggregate == nil {
		out.Aggregate = []int{}
	}
	return out
}

// waits appends to a node's activities (sorted by start) a wait activity
// for every gap in its busy time between the round's start and end, and
// returns the total.
func waits(acts []Activity, node int, start, end float64) ([]Activity, float64) {
	t, total := start, 0.0
	n := len(acts)
	gap := func(to float64) {
		if to > t {
			acts = append(acts, Activity{Node: node, Kind: record.KindWait, StartS: t, EndS: to, Peer: -1})
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
func sortActivities(a []Activity) {
	slices.SortFunc(a, func(x, y Activity) int {
		if x.Node != y.Node {
			return x.Node - y.Node
		}
		if c := cmpFloat(x.StartS, y.StartS); c != 0 {
			return c
		}
		if c := cmpFloat(x.EndS, y.EndS); c != 0 {
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

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func intersect(a, b []int) []int {
	in := map[int]bool{}
	for _, x := range b {
		in[x] = true
	}
	out := a[:0]
	for _, x := range a {
		if in[x] {
			out = append(out, x)
		}
	}
	return out
}

// contribute records that node j's payload reached node i.
func (r *roundRun) contribute(i, j int) {
	r.received[i] = append(r.received[i], j)
}

// runExchange is Pattern.Run's shared body.
func runExchange(p Pattern, net *Network, ex Exchange) (*RoundResult, error) {
	if net == nil {
		return nil, errors.New("netmodel: nil network")
	}
	n := net.cluster.Len()
	if len(ex.ReadyS) != n {
		return nil, fmt.Errorf("netmodel: ReadyS has %d entries for %d nodes", len(ex.ReadyS), n)
	}
	bytes, err := perNode(ex.PayloadBytes, n, "PayloadBytes")
	if err != nil {
		return nil, err
	}
	dl := ex.DeadlineS
	if math.IsInf(dl, 1) {
		dl = 0
	}
	r, err := newRun(net, p, ex.Round, ex.StartS, dl, bytes)
	if err != nil {
		return nil, err
	}
	for i, t := range ex.ReadyS {
		if math.IsNaN(t) || (t < ex.StartS && !math.IsInf(t, 1)) {
			return nil, fmt.Errorf("netmodel: node %d ready at %g s, before the round start %g s", i, t, ex.StartS)
		}
	}
	if err := r.eng.RunUntil(ex.StartS); err != nil {
		return nil, err
	}
	for i, t := range ex.ReadyS {
		if math.IsInf(t, 1) || !r.c.Nodes[i].UpAt(ex.StartS) {
			r.res[i].Status = record.StatusDown
			r.done[i] = true
			continue
		}
		r.alive[i] = true
		r.has[i] = true
		r.open++
		r.res[i].ComputeEndS = t
	}
	p.begin(r)
	for i, t := range ex.ReadyS {
		if !r.alive[i] {
			continue
		}
		r.armCrash(i)
		r.at(t, des.Node(i), func() {
			if r.alive[i] {
				p.ready(r, i)
			}
		})
	}
	return r.drive()
}

// RunRound runs one round: each node (after an optional catch-up download)
// computes its inner steps as its profile and slowdowns allow, then the
// pattern exchanges the payloads. Nodes down at the start sit the round out;
// failures during it lose the node's work.
func RunRound(net *Network, spec RoundSpec) (*RoundResult, error) {
	if net == nil {
		return nil, errors.New("netmodel: nil network")
	}
	n := net.cluster.Len()
	flops, err := perNode(spec.FlopsPerStep, n, "FlopsPerStep")
	if err != nil {
		return nil, err
	}
	bytes, err := perNode(spec.PayloadBytes, n, "PayloadBytes")
	if err != nil {
		return nil, err
	}
	catch := make([]int64, n)
	if spec.CatchUpBytes != nil {
		if catch, err = perNode(spec.CatchUpBytes, n, "CatchUpBytes"); err != nil {
			return nil, err
		}
	}
	for i := range n {
		if !finite(flops[i]) || flops[i] < 0 {
			return nil, fmt.Errorf("netmodel: node %d FLOPs per step %g is invalid", i, flops[i])
		}
		if catch[i] < 0 {
			return nil, fmt.Errorf("netmodel: node %d catch-up %d bytes is negative", i, catch[i])
		}
	}
	deadline := 0.0
	switch spec.Sync {
	case SyncFixed:
		if spec.DeadlineS != 0 || spec.WindowS != 0 {
			return nil, errors.New("netmodel: sync fixed takes no deadline or window (it waits for the slowest)")
		}
	case SyncDeadline:
		if !(spec.DeadlineS > 0) || !finite(spec.DeadlineS) {
			return nil, fmt.Errorf("netmodel: sync deadline needs a positive DeadlineS, got %g", spec.DeadlineS)
		}
		deadline = spec.StartS + spec.DeadlineS
	case SyncWindow:
		if !(spec.WindowS > 0) || !finite(spec.WindowS) {
			return nil, fmt.Errorf("netmodel: sync window needs a positive WindowS, got %g", spec.WindowS)
		}
		if spec.DeadlineS < 0 || !finite(spec.DeadlineS) {
			return nil, fmt.Errorf("netmodel: deadline %g s is before the round starts", spec.DeadlineS)
		}
		if spec.DeadlineS > 0 {
			if spec.DeadlineS <= spec.WindowS {
				return nil, fmt.Errorf("netmodel: deadline %g s falls inside the %g s compute window", spec.DeadlineS, spec.WindowS)
			}
			deadline = spec.StartS + spec.DeadlineS
		}
	default:
		return nil, fmt.Errorf("netmodel: unknown sync mode %q (want fixed, window or deadline)", spec.Sync)
	}
	if spec.Sync != SyncWindow && spec.InnerSteps < 1 {
		return nil, fmt.Errorf("netmodel: InnerSteps must be ≥ 1, got %d", spec.InnerSteps)
	}
	if spec.DeadlineS < 0 {
		return nil, fmt.Errorf("netmodel: deadline %g s is before the round starts", spec.DeadlineS)
	}
	if spec.MaxSteps < 0 {
		return nil, fmt.Errorf("netmodel: MaxSteps must be ≥ 0, got %d", spec.MaxSteps)
	}
	r, err := newRun(net, spec.Pattern, spec.Round, spec.StartS, deadline, bytes)
	if err != nil {
		return nil, err
	}
	if err := r.eng.RunUntil(spec.StartS); err != nil {
		return nil, err
	}
	for i := range n {
		if !r.c.Nodes[i].UpAt(spec.StartS) {
			r.res[i].Status = record.StatusDown
			r.done[i] = true
			continue
		}
		r.alive[i] = true
		r.has[i] = true
		r.open++
	}
	r.pat.begin(r)
	for i := range n {
		if !r.alive[i] {
			continue
		}
		r.armCrash(i)
		compute := func() {
			if !r.alive[i] {
				return
			}
			r.compute(i, spec, flops[i])
		}
		if catch[i] > 0 {
			r.catchup[i] = true
			r.send(r.c.StoreID(), i, -1, i, catch[i], func(float64) { compute() }, nil)
		} else {
			compute()
		}
	}
	return r.drive()
}

// compute runs node i's inner steps from now and schedules its ready event.
func (r *roundRun) compute(i int, spec RoundSpec, flops float64) {
	p := &r.c.Nodes[i]
	now := r.eng.Now()
	res := &r.res[i]
	res.ComputeStartS = now
	ready, end, steps := 0.0, now, 0
	switch spec.Sync {
	case SyncWindow:
		limit := spec.StartS + spec.WindowS
		steps, end = p.StepsWithin(now, limit, flops, spec.MaxSteps)
		ready = math.Max(limit, now)
		if steps == 0 {
			// Not one step fits: nothing to contribute this round.
			r.has[i] = false
			r.markLate(i)
		}
	default:
		end = p.ComputeEnd(now, flops*float64(spec.InnerSteps))
		steps = spec.InnerSteps
		ready = end
	}
	// A failure before the end loses the work; crash() reports it.
	if fail := p.NextFailure(now); fail < end {
		r.activity(i, record.KindCompute, now, fail, 0, -1)
		res.ComputeEndS = fail
		return
	}
	res.Steps = steps
	res.ComputeEndS = end
	if spec.Payload != nil && r.has[i] {
		b, err := spec.Payload(i, steps)
		if err == nil && b < 0 {
			err = fmt.Errorf("netmodel: node %d payload %d bytes is negative", i, b)
		}
		if err != nil {
			if r.err == nil {
				r.err = err
			}
			return
		}
		r.bytes[i] = b
	}
	if end > now {
		r.activity(i, record.KindCompute, now, end, 0, -1)
	}
	r.at(ready, des.Node(i), func() {
		if r.alive[i] {
			r.pat.ready(r, i)
		}
	})
}
