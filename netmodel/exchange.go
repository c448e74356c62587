package netmodel

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/locosim/locosim/des"
)

// ExchangeSpec describes one exchange for Pattern.Run, timed from each
// node's ready time: each node's payload is ready at ReadyS (+Inf: the node
// takes no part). Failures come from the cluster's availability.
type ExchangeSpec struct {
	Round        int
	StartS       float64
	ReadyS       []float64
	PayloadBytes []int64
	// DeadlineS is the absolute time by which payloads must land; 0 or
	// +Inf for none.
	DeadlineS float64
}

// Status is a node's outcome in one exchange.
type Status uint8

const (
	OK      Status = iota // took part and finished
	Late                  // its payload missed the deadline (or it had none)
	Crashed               // failed before it finished
	Down                  // took no part
)

var statusNames = [...]string{"ok", "late", "crashed", "down"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Kind is what a span of a node's network time was.
type Kind uint8

const (
	Upload Kind = iota
	Download
)

func (k Kind) String() string {
	if k == Upload {
		return "upload"
	}
	return "download"
}

// NodeResult is one node's part in an exchange. Times are absolute
// simulated seconds; a phase that did not happen is NaN.
type NodeResult struct {
	Node           int
	Status         Status
	UploadStartS   float64
	UploadEndS     float64
	DownloadStartS float64
	DownloadEndS   float64
	// EndS is when the node was done with the exchange (or crashed); the
	// exchange's start for nodes that took no part.
	EndS      float64
	BytesUp   int64
	BytesDown int64
	// InAggregate: every node that finished holds this node's payload.
	InAggregate bool
}

// Activity is one transfer seen from one node, for the events trace and
// the timeline figure. Peer is the other end (a node, or the store's
// endpoint id).
type Activity struct {
	Node   int
	Kind   Kind
	StartS float64
	EndS   float64
	Bytes  int64
	Peer   int
}

// ExchangeResult is what an exchange did.
type ExchangeResult struct {
	Round  int
	StartS float64
	EndS   float64 // when the last node that took part finished
	Nodes  []NodeResult
	// Received[i] lists, sorted, the nodes whose payloads node i holds at
	// the end (its own included when it contributed); nil for nodes that
	// took no part or crashed.
	Received [][]int
	// Aggregate lists the payloads every finishing node holds.
	Aggregate  []int
	Activities []Activity // sorted by node, then start
	Transfers  int        // flows started
}

// Pattern is an exchange pattern: ObjectStoreAllGather, P2PAllGather,
// RingAllReduce or ParameterServer. Its hooks run on the network's engine
// inside an Exchange.
type Pattern interface {
	// Name is a short identifier ("store", "p2p", "ring", "ps").
	Name() string
	// Run performs one exchange on net, driving its engine until every
	// node is done.
	Run(net *Network, ex ExchangeSpec) (*ExchangeResult, error)
	validate(n int) error
	begin(r *Exchange)
	ready(r *Exchange, i int)
	crash(r *Exchange, i int)
}

// An Exchange is one pattern's exchange in flight on a Network: a handle
// that the caller feeds with what happens to the nodes (Ready, Withdraw,
// Crash) while it steps the network's engine, until Done; then Finish
// returns what happened. Several exchanges may be in flight on one network
// at once; their transfers share its links.
type Exchange struct {
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
	readied  []bool // Ready was called for the node
	res      []NodeResult
	acts     [][]Activity // per node
	alive    []bool       // taking part and not crashed
	done     []bool       // finished its part (or crashed / took no part)
	late     []bool
	open     int
	xfers    [][]*transfer
	timers   []des.ID
	received [][]int
	flows    int
	finished bool
	err      error
	st       any // the pattern's state
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
		return slices.Clone(v), nil // the exchange may fill in values
	case 1:
		out := make([]T, n)
		for i := range out {
			out[i] = v[0]
		}
		return out, nil
	}
	return nil, fmt.Errorf("netmodel: %s has %d entries for %d nodes (want %d or 1)", key, len(v), n, n)
}

// Start begins an exchange of pattern p on the network now (the engine's
// clock). Nodes marked in down take no part; every other node takes part
// and must eventually be Ready, Withdrawn or Crashed. deadline is the
// absolute time by which payloads must land (0 or +Inf: none); round
// seeds the pattern's random choices (gather peers).
func (n *Network) Start(p Pattern, round int, deadline float64, down []bool) (*Exchange, error) {
	if math.IsInf(deadline, 1) {
		deadline = 0
	}
	r, err := newRun(n, p, round, n.eng.Now(), deadline)
	if err != nil {
		return nil, err
	}
	if down != nil && len(down) != r.n {
		return nil, fmt.Errorf("netmodel: %d down flags for %d nodes", len(down), r.n)
	}
	for i := range r.n {
		if down != nil && down[i] {
			r.res[i].Status = Down
			r.done[i] = true
			continue
		}
		r.alive[i] = true
		r.has[i] = true
		r.open++
	}
	p.begin(r)
	if r.err != nil {
		// Do not hand back a half-begun exchange: drop what it scheduled.
		r.stop()
		return nil, r.err
	}
	return r, nil
}

func newRun(net *Network, pat Pattern, round int, start, deadline float64) (*Exchange, error) {
	if net == nil {
		return nil, errors.New("netmodel: nil network")
	}
	if pat == nil {
		return nil, errors.New("netmodel: no exchange pattern")
	}
	if math.IsNaN(deadline) || (deadline != 0 && deadline <= start) {
		return nil, fmt.Errorf("netmodel: deadline %g s is not after the exchange start %g s", deadline, start)
	}
	if deadline == 0 {
		deadline = math.Inf(1)
	}
	n := net.cluster.Len()
	if err := pat.validate(n); err != nil {
		return nil, err
	}
	r := &Exchange{net: net, eng: net.eng, c: net.cluster, n: n, round: round, start: start, deadline: deadline, pat: pat,
		bytes: make([]int64, n), has: make([]bool, n), readied: make([]bool, n), res: make([]NodeResult, n), alive: make([]bool, n), acts: make([][]Activity, n),
		done: make([]bool, n), late: make([]bool, n), xfers: make([][]*transfer, n), received: make([][]int, n)}
	for i := range r.res {
		r.res[i] = NodeResult{Node: i, Status: OK, EndS: start,
			UploadStartS: math.NaN(), UploadEndS: math.NaN(), DownloadStartS: math.NaN(), DownloadEndS: math.NaN()}
	}
	return r, nil
}

// Ready hands the exchange node i's payload of bytes bytes now.
func (r *Exchange) Ready(i int, bytes int64) {
	if !r.check(i) {
		return
	}
	if r.readied[i] {
		r.fail(fmt.Errorf("netmodel: node %d is ready twice", i))
		return
	}
	if bytes < 0 {
		r.fail(fmt.Errorf("netmodel: node %d payload %d bytes is negative", i, bytes))
		return
	}
	r.readied[i] = true
	if r.has[i] {
		r.bytes[i] = bytes
	}
	r.pat.ready(r, i)
}

// Withdraw says node i will have no payload to contribute (it is late);
// it still takes part, and must still be Ready (with 0 bytes) when it is
// ready to receive. Withdrawing a node that is already Ready is an error.
func (r *Exchange) Withdraw(i int) {
	if !r.check(i) {
		return
	}
	if r.readied[i] {
		r.fail(fmt.Errorf("netmodel: node %d withdrawn after it was ready", i))
		return
	}
	r.has[i] = false
	r.markLate(i)
}

// Crash fails node i now: its transfers stop, its part in the exchange
// ends, and the pattern works around it. It reports whether the crash cut
// the node's part short (false if it had finished or took no part).
func (r *Exchange) Crash(i int) bool {
	if i < 0 || i >= r.n || r.finished || !r.alive[i] {
		return false
	}
	cut := !r.done[i]
	r.crash(i)
	return cut
}

// Fetch downloads bytes from the object store to node i now, as part of
// node i's traffic in this exchange (a rejoining node fetching the model
// before it computes); done, if not nil, runs when it has arrived. A crash
// of node i stops it (and done never runs).
func (r *Exchange) Fetch(i int, bytes int64, done func()) {
	if !r.check(i) {
		return
	}
	if bytes < 0 {
		r.fail(fmt.Errorf("netmodel: node %d fetch of %d bytes is negative", i, bytes))
		return
	}
	r.send(r.c.StoreID(), i, -1, i, bytes, func(float64) {
		if done != nil {
			done()
		}
	}, nil)
}

// UploadEndS is when the latest of node i's uploads so far ended (NaN
// before any did): a node that waits for another's payload polls it.
func (r *Exchange) UploadEndS(i int) float64 { return r.res[i].UploadEndS }

// Alive reports whether node i takes part and has not crashed.
func (r *Exchange) Alive(i int) bool { return i >= 0 && i < r.n && r.alive[i] }

// Done reports whether every node that takes part has finished (or an
// error stopped the exchange).
func (r *Exchange) Done() bool {
	if r.err == nil {
		r.err = r.net.fabric.Err()
	}
	return r.open == 0 || r.err != nil
}

// Err is what stopped the exchange, if anything did.
func (r *Exchange) Err() error { return r.err }

// Finish ends a Done exchange: its pending timers are cancelled, any
// transfer left is stopped, and the result is returned.
func (r *Exchange) Finish() (*ExchangeResult, error) {
	if !r.Done() {
		return nil, errors.New("netmodel: Finish before the exchange is done")
	}
	if r.finished {
		return nil, errors.New("netmodel: exchange finished twice")
	}
	// Unless an error stopped the exchange, every node is done and no
	// transfer should be left; none may outlive the exchange on a network
	// that other exchanges share.
	r.stop()
	if r.err != nil {
		return nil, r.err
	}
	return r.result(), nil
}

// stop ends the exchange: its timers are cancelled, its transfers cut.
func (r *Exchange) stop() {
	r.finished = true
	for _, id := range r.timers {
		r.eng.Cancel(id)
	}
	for _, xs := range r.xfers {
		for _, x := range xs {
			r.abort(x, true)
		}
	}
}

func (r *Exchange) check(i int) bool {
	switch {
	case r.err != nil:
		return false
	case i < 0 || i >= r.n:
		r.fail(fmt.Errorf("netmodel: node %d out of range [0, %d)", i, r.n))
		return false
	case r.finished:
		r.fail(fmt.Errorf("netmodel: node %d: the exchange has finished", i))
		return false
	}
	return r.alive[i]
}

func (r *Exchange) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// at schedules fn for this exchange; pending timers are cancelled at its end.
func (r *Exchange) at(t float64, k des.Key, fn func()) des.ID {
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
func (r *Exchange) send(src, dst, upNode, downNode int, bytes int64, onDone func(end float64), onFail func()) *transfer {
	x := &transfer{src: src, dst: dst, bytes: bytes, start: r.eng.Now(), live: true, onFail: onFail, upNode: upNode, downNode: downNode}
	id, err := r.net.Transfer(src, dst, float64(bytes), func(end float64) {
		x.live = false
		r.account(x, end, bytes)
		onDone(end)
	})
	if err != nil {
		r.fail(err)
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
func (r *Exchange) abort(x *transfer, quiet bool) {
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

func (r *Exchange) account(x *transfer, end float64, moved int64) {
	if i := x.upNode; i >= 0 {
		r.activity(i, Upload, x.start, end, moved, x.dst)
		r.res[i].BytesUp += moved
		r.res[i].UploadStartS = minNaN(r.res[i].UploadStartS, x.start)
		r.res[i].UploadEndS = maxNaN(r.res[i].UploadEndS, end)
	}
	if i := x.downNode; i >= 0 {
		r.activity(i, Download, x.start, end, moved, x.src)
		r.res[i].BytesDown += moved
		r.res[i].DownloadStartS = minNaN(r.res[i].DownloadStartS, x.start)
		r.res[i].DownloadEndS = maxNaN(r.res[i].DownloadEndS, end)
	}
}

func minNaN(a, b float64) float64 {
	if math.IsNaN(a) || b < a {
		return b
	}
	return a
}

func maxNaN(a, b float64) float64 {
	if math.IsNaN(a) || b > a {
		return b
	}
	return a
}

func (r *Exchange) activity(node int, kind Kind, start, end float64, bytes int64, peer int) {
	r.acts[node] = append(r.acts[node], Activity{Node: node, Kind: kind, StartS: start, EndS: end, Bytes: bytes, Peer: peer})
}

// finish marks node i done with the exchange now.
func (r *Exchange) finish(i int) {
	if r.done[i] {
		return
	}
	r.done[i] = true
	r.res[i].EndS = r.eng.Now()
	r.open--
}

// crash fails node i now: its transfers stop, its part ends.
func (r *Exchange) crash(i int) {
	if !r.alive[i] {
		return
	}
	r.alive[i] = false
	if !r.done[i] {
		r.res[i].Status = Crashed
		r.received[i] = nil
		r.finish(i)
	}
	for _, x := range r.xfers[i] {
		r.abort(x, false)
	}
	r.xfers[i] = nil
	r.pat.crash(r, i)
}

// markLate records that node i's payload missed the deadline.
func (r *Exchange) markLate(i int) {
	r.late[i] = true
}

func (r *Exchange) result() *ExchangeResult {
	end := r.start
	for i := range r.res {
		if r.res[i].Status != Down {
			end = math.Max(end, r.res[i].EndS)
		}
	}
	out := &ExchangeResult{Round: r.round, StartS: r.start, EndS: end, Nodes: r.res, Transfers: r.flows}
	// Common aggregate: payloads held by every node that finished.
	var agg []int
	first := true
	for i := range r.n {
		// Nodes that finished their part count, even if they failed later.
		if st := r.res[i].Status; !r.done[i] || st == Crashed || st == Down {
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
		if res := &r.res[i]; res.Status == OK && r.late[i] {
			res.Status = Late
		}
		SortActivities(r.acts[i])
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

// SortActivities orders activities by node, start, end, then the rest, so
// that the order is a function of the set alone.
func SortActivities(a []Activity) {
	slices.SortFunc(a, func(x, y Activity) int {
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
			return strings.Compare(x.Kind.String(), y.Kind.String())
		}
		if x.Peer != y.Peer {
			return x.Peer - y.Peer
		}
		return int(x.Bytes - y.Bytes)
	})
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
func (r *Exchange) contribute(i, j int) {
	r.received[i] = append(r.received[i], j)
}

// runExchange is Pattern.Run's shared body: an exchange whose nodes become
// ready at given times and fail as the cluster's availability says, driven
// on the network's engine to its end.
func runExchange(p Pattern, net *Network, ex ExchangeSpec) (*ExchangeResult, error) {
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
	if err := p.validate(n); err != nil {
		return nil, err
	}
	if dl := ex.DeadlineS; math.IsNaN(dl) || (dl != 0 && !math.IsInf(dl, 1) && dl <= ex.StartS) {
		return nil, fmt.Errorf("netmodel: deadline %g s is not after the exchange start %g s", dl, ex.StartS)
	}
	eng := net.eng
	if !finite(ex.StartS) || ex.StartS < eng.Now() {
		return nil, fmt.Errorf("netmodel: exchange start %g s is before the clock (%g s) or not finite", ex.StartS, eng.Now())
	}
	for i, t := range ex.ReadyS {
		if math.IsNaN(t) || (t < ex.StartS && !math.IsInf(t, 1)) {
			return nil, fmt.Errorf("netmodel: node %d ready at %g s, before the exchange start %g s", i, t, ex.StartS)
		}
		if bytes[i] < 0 {
			return nil, fmt.Errorf("netmodel: node %d payload %d bytes is negative", i, bytes[i])
		}
	}
	if err := eng.RunUntil(ex.StartS); err != nil {
		return nil, err
	}
	down := make([]bool, n)
	for i, t := range ex.ReadyS {
		down[i] = math.IsInf(t, 1) || !net.cluster.Nodes[i].UpAt(ex.StartS)
	}
	r, err := net.Start(p, ex.Round, ex.DeadlineS, down)
	if err != nil {
		return nil, err
	}
	for i, t := range ex.ReadyS {
		if down[i] {
			continue
		}
		if f := net.cluster.Nodes[i].NextFailure(eng.Now()); !math.IsInf(f, 1) {
			r.at(f, des.Node(i), func() { r.Crash(i) })
		}
		r.at(t, des.Node(i), func() {
			if r.alive[i] {
				r.Ready(i, bytes[i])
			}
		})
	}
	for !r.Done() {
		if !eng.Step() {
			r.fail(errors.New("netmodel: the exchange stalled with nodes still busy"))
		}
	}
	return r.Finish()
}
