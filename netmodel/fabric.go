package netmodel

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/locosim/locosim/des"
)

// Model names a bandwidth-sharing model.
const (
	// ModelRaw gives every flow latency + size/bandwidth of its slowest link,
	// as if it were alone: no sharing, no factors (the TCP window still caps
	// the rate when one is set).
	ModelRaw = "raw"
	// ModelMaxMin is CM02: weighted max-min fairness over the links a flow
	// crosses, weights growing with the path latency, and a TCP window bound.
	ModelMaxMin = "maxmin"
	// ModelLV08 is SimGrid's default TCP model: CM02 plus a latency factor
	// (slow start), a bandwidth factor (headers), a bandwidth term in the
	// weights and cross-traffic from acknowledgements.
	ModelLV08 = "lv08"
)

// Sharing holds the resolved parameters of a sharing model.
type Sharing struct {
	Model string
	// LatencyFactor multiplies the latency a flow pays before it joins the
	// sharing (λ; 1 outside LV08).
	LatencyFactor float64
	// BandwidthFactor scales every link capacity and the TCP window bound
	// (β; 1 outside LV08).
	BandwidthFactor float64
	// WeightSBytes adds WeightSBytes/B to a flow's weight for each link it
	// crosses, B being the link's nominal capacity, before the bandwidth
	// factor (S_w; 0 outside LV08).
	WeightSBytes float64
	// CrossTraffic is the load a flow puts on its reverse route, as a
	// fraction of its own rate (acknowledgements; 0 outside LV08).
	CrossTraffic float64
	// TCPGammaBytes is the maximum TCP window: a flow's rate is at most
	// TCPGammaBytes/(2·latency) before the bandwidth factor, so
	// BandwidthFactor·TCPGammaBytes/(2·latency) (as in SimGrid). Zero
	// disables the bound.
	TCPGammaBytes float64
}

// windowBound is the TCP window's cap on the rate of a flow whose path has
// one-way latency latencyS, +Inf when there is none. SimGrid bounds the
// rate before the bandwidth factor by γ/(2L), so the rate the flow gets is
// at most β·γ/(2L), like its share of the (β-scaled) links. The raw model
// applies no factor.
func (s Sharing) windowBound(latencyS float64) float64 {
	if s.TCPGammaBytes <= 0 || latencyS <= 0 {
		return math.Inf(1)
	}
	b := s.TCPGammaBytes / (2 * latencyS)
	if s.Model != ModelRaw {
		b *= s.BandwidthFactor
	}
	return b
}

// CM02 returns plain weighted max-min sharing with SimGrid's default TCP
// window (4 MiB).
func CM02() Sharing {
	return Sharing{Model: ModelMaxMin, LatencyFactor: 1, BandwidthFactor: 1, TCPGammaBytes: 4194304}
}

// LV08 returns SimGrid's LV08 factors.
func LV08() Sharing {
	return Sharing{Model: ModelLV08, LatencyFactor: 13.01, BandwidthFactor: 0.97,
		WeightSBytes: 20537, CrossTraffic: 0.05, TCPGammaBytes: 4194304}
}

// Raw returns the no-sharing model.
func Raw() Sharing { return Sharing{Model: ModelRaw, LatencyFactor: 1, BandwidthFactor: 1} }

// Validate checks the parameters.
func (s Sharing) Validate() error {
	switch s.Model {
	case ModelRaw, ModelMaxMin, ModelLV08:
	default:
		return fmt.Errorf("unknown sharing model %q (want raw, maxmin or lv08)", s.Model)
	}
	for _, p := range []struct {
		name string
		v    float64
		pos  bool
	}{
		{"latency factor", s.LatencyFactor, true},
		{"bandwidth factor", s.BandwidthFactor, true},
		{"weight S", s.WeightSBytes, false},
		{"cross-traffic", s.CrossTraffic, false},
		{"TCP gamma", s.TCPGammaBytes, false},
	} {
		if math.IsNaN(p.v) || math.IsInf(p.v, 0) || p.v < 0 || (p.pos && p.v == 0) {
			return fmt.Errorf("sharing %s %g is invalid", p.name, p.v)
		}
	}
	return nil
}

// LinkID names a link of a Fabric.
type LinkID int32

// FlowID names a flow of a Fabric. The zero FlowID names no flow.
type FlowID struct {
	f   *flow
	gen uint64
}

// FlowSpec describes one transfer.
type FlowSpec struct {
	// Node owns the flow's events (ties between simultaneous events are
	// broken by node id).
	Node int
	// Route lists the links the data crosses; Reverse the links its
	// acknowledgements cross (they carry CrossTraffic of the flow's rate).
	// Unlimited links may be listed; they never constrain.
	Route, Reverse []LinkID
	// Bytes to move (≥ 0).
	Bytes float64
	// LatencyS is the path's one-way physical latency in seconds. The flow
	// waits LatencyFactor·LatencyS before it joins the sharing.
	LatencyS float64
	// MaxRate caps the flow's rate in bytes/s (0: no cap beyond the model).
	MaxRate float64
}

// FabricStats counts the solver's work, to check that recomputation stays
// local.
type FabricStats struct {
	Flows        int // flows started
	Solves       int // solver passes
	FlowsVisited int // flows whose rate was recomputed, summed over passes
	Reschedules  int // times the engine event for the next completion moved
	LocalSolves  int // passes that solved only the flows on changed links
}

// Fabric is a flow-level network: links with capacities, flows crossing
// sets of links, and a solver that shares capacity among the flows that are
// past their latency phase. It schedules flow completions on a des.Engine.
//
// Rates are recomputed once per instant at which flows joined or left, no
// matter how many did. A local pass solves only the flows that joined and
// those on links that were saturated when they changed, holding the rest
// fixed; its answer stands when every link it shares with other flows keeps
// spare capacity (then the weighted max-min conditions hold everywhere).
// Otherwise the whole connected component of flows sharing links with the
// change is solved again.
type Fabric struct {
	eng   *des.Engine
	sh    Sharing
	links []link

	// Completions: a heap of sharing flows by planned end, behind a single
	// engine event for the earliest. Rate changes move flows within it
	// without touching the engine's queue.
	due      []dueEntry // 4-ary min-heap
	wake     des.ID
	wakeAt   float64
	wakeNode int

	dirty        []int32 // links whose flow set changed since the last solve
	joined       []*flow // flows that joined since the last solve
	solvePending bool
	epoch        uint32
	gen          uint64
	stats        FabricStats
	active       int
	err          error

	// solver scratch
	compLinks []int32
	compFlows []*flow
	bounded   []*flow
	heap      keyHeap
	live      []*flow // flows in progress, for capacity changes
	fullSolve bool    // the next solve must not take the local shortcut
}

type link struct {
	cap     float64 // bytes/s after the bandwidth factor; +Inf: unlimited
	nominal float64 // bytes/s before the bandwidth factor (weights use it)
	flows   []slot
	mark    uint32
	// load is Σ coef·rate over the link's flows, kept up to date as rates
	// change and recomputed exactly by every full solve.
	load float64
	// solver scratch
	rem, sum float64
	n        int
	shared   bool // carries flows outside the local pass
	// expand: the link was saturated when its flow set changed, so its
	// flows may all have to move.
	expand bool
}

type slot struct {
	f *flow
	k int32 // index into f.links
}

type flowState uint8

const (
	stateLatency flowState = iota
	stateSharing
	stateDone
	stateAborted
)

type flow struct {
	gen   uint64
	node  int
	links []int32   // finite links crossed (route then reverse)
	coef  []float64 // load per unit of rate on each link
	pos   []int32   // position of this flow in each link's flow list
	// Backing arrays: a flow between two endpoints crosses four links
	// (two with cross-traffic), so most flows need no further allocation.
	linkBuf [4]int32
	coefBuf [4]float64
	posBuf  [4]int32
	weight  float64
	bound   float64 // rate cap, +Inf when none
	bound0  float64 // the cap before link capacities are taken into account
	route   []int32 // finite links of the route (raw flows: their caps bound the rate)
	lidx    int32   // position in the fabric's list of live flows
	paused  bool    // stopped where it is (a partition cut its route)
	bytes   float64
	remain  float64
	rate    float64
	last    float64 // time remain was last brought up to date
	state   flowState
	onLinks bool // listed in its links\' flow lists
	ev      des.ID
	hidx    int32   // position in the fabric's completion heap, −1 if absent
	due     float64 // planned completion time
	done    func(end float64)
	mark    uint32
	fixed   bool
	xb      float64
	next    float64
}

// NewFabric returns an empty fabric scheduling on eng.
func NewFabric(eng *des.Engine, sh Sharing) (*Fabric, error) {
	if eng == nil {
		return nil, errors.New("netmodel: nil engine")
	}
	if err := sh.Validate(); err != nil {
		return nil, err
	}
	return &Fabric{eng: eng, sh: sh}, nil
}

// Sharing returns the fabric's sharing model.
func (f *Fabric) Sharing() Sharing { return f.sh }

// Engine returns the engine the fabric schedules on.
func (f *Fabric) Engine() *des.Engine { return f.eng }

// ActiveFlows is the number of flows started and not yet ended or aborted.
func (f *Fabric) ActiveFlows() int { return f.active }

// Stats returns the solver counters.
func (f *Fabric) Stats() FabricStats { return f.stats }

// Err returns the first internal scheduling error, if any.
func (f *Fabric) Err() error { return f.err }

// AddLink adds a link of the given capacity in bytes/s; +Inf makes it
// unlimited.
func (f *Fabric) AddLink(bytesPerS float64) (LinkID, error) {
	if math.IsNaN(bytesPerS) || bytesPerS <= 0 {
		return -1, fmt.Errorf("netmodel: link capacity %g bytes/s must be positive", bytesPerS)
	}
	if len(f.links) >= math.MaxInt32 {
		return -1, errors.New("netmodel: too many links")
	}
	c := bytesPerS
	if f.sh.Model != ModelRaw {
		c *= f.sh.BandwidthFactor
	}
	f.links = append(f.links, link{cap: c, nominal: bytesPerS})
	return LinkID(len(f.links) - 1), nil
}

// Capacity returns a link's nominal capacity in bytes/s.
func (f *Fabric) Capacity(l LinkID) float64 { return f.links[l].nominal }

// Start begins a transfer now. done runs, at the simulated time the last
// byte arrives, unless the flow is aborted first.
func (f *Fabric) Start(spec FlowSpec, done func(end float64)) (FlowID, error) {
	if math.IsNaN(spec.Bytes) || math.IsInf(spec.Bytes, 0) || spec.Bytes < 0 {
		return FlowID{}, fmt.Errorf("netmodel: flow size %g bytes is invalid", spec.Bytes)
	}
	if math.IsNaN(spec.LatencyS) || math.IsInf(spec.LatencyS, 0) || spec.LatencyS < 0 {
		return FlowID{}, fmt.Errorf("netmodel: flow latency %g s is invalid", spec.LatencyS)
	}
	if math.IsNaN(spec.MaxRate) || spec.MaxRate < 0 {
		return FlowID{}, fmt.Errorf("netmodel: flow rate cap %g bytes/s is invalid", spec.MaxRate)
	}
	for _, ls := range [2][]LinkID{spec.Route, spec.Reverse} {
		for _, l := range ls {
			if l < 0 || int(l) >= len(f.links) {
				return FlowID{}, fmt.Errorf("netmodel: unknown link %d", l)
			}
		}
	}
	f.gen++
	fl := &flow{gen: f.gen, node: spec.Node, bytes: spec.Bytes, remain: spec.Bytes, done: done, bound: math.Inf(1), hidx: -1}
	fl.links, fl.coef = fl.linkBuf[:0], fl.coefBuf[:0]
	raw := f.sh.Model == ModelRaw
	weight := spec.LatencyS
	for _, l := range spec.Route {
		c := f.links[l].cap
		if math.IsInf(c, 1) {
			continue
		}
		if raw {
			fl.route = append(fl.route, int32(l))
			continue
		}
		// LV08's bandwidth term uses the nominal capacity (SimGrid divides
		// S_w by the link's bandwidth, not by its β-scaled share).
		weight += f.sh.WeightSBytes / f.links[l].nominal
		fl.links = append(fl.links, int32(l))
		fl.coef = append(fl.coef, 1)
	}
	if !raw && f.sh.CrossTraffic > 0 {
		for _, l := range spec.Reverse {
			if math.IsInf(f.links[l].cap, 1) {
				continue
			}
			fl.links = append(fl.links, int32(l))
			fl.coef = append(fl.coef, f.sh.CrossTraffic)
		}
	}
	fl.pos = fl.posBuf[:0]
	for range fl.links {
		fl.pos = append(fl.pos, 0)
	}
	// A zero weight would let one flow starve all others; latencies below a
	// microsecond are treated as a microsecond for weighting only.
	fl.weight = math.Max(weight, 1e-6)
	if spec.MaxRate > 0 {
		fl.bound = math.Min(fl.bound, spec.MaxRate)
	}
	fl.bound0 = math.Min(fl.bound, f.sh.windowBound(spec.LatencyS))
	f.rebound(fl)
	f.stats.Flows++
	f.active++
	fl.lidx = int32(len(f.live))
	f.live = append(f.live, fl)
	id := FlowID{f: fl, gen: fl.gen}
	lat := spec.LatencyS * f.sh.LatencyFactor
	if lat > 0 {
		ev, err := f.eng.After(lat, des.Node(fl.node), func() { f.join(fl) })
		if err != nil {
			return FlowID{}, err
		}
		fl.ev = ev
	} else {
		f.join(fl)
	}
	return id, nil
}

// rebound sets a flow's rate cap from its own bound and its links' current
// capacities.
func (f *Fabric) rebound(fl *flow) {
	fl.bound = fl.bound0
	if f.sh.Model == ModelRaw {
		for _, l := range fl.route {
			fl.bound = math.Min(fl.bound, f.links[l].cap)
		}
		return
	}
	// A bound no lower than what any one of its links could carry never
	// binds; dropping it keeps the solver's list of bounded flows short.
	most := math.Inf(1)
	for k, l := range fl.links {
		most = math.Min(most, f.links[l].cap/fl.coef[k])
	}
	if fl.bound >= most {
		fl.bound = math.Inf(1)
	}
}

// forget drops an ended flow from the list of live flows.
func (f *Fabric) forget(fl *flow) {
	i := fl.lidx
	if i < 0 {
		return
	}
	last := int32(len(f.live) - 1)
	if i != last {
		f.live[i] = f.live[last]
		f.live[i].lidx = i
	}
	f.live[last] = nil
	f.live = f.live[:last]
	fl.lidx = -1
}

// SetCapacity changes a link's capacity (bytes/s, before the bandwidth
// factor) from now: every flow that crosses it is re-planned.
func (f *Fabric) SetCapacity(l LinkID, bytesPerS float64) error {
	if l < 0 || int(l) >= len(f.links) {
		return fmt.Errorf("netmodel: unknown link %d", l)
	}
	lk := &f.links[l]
	if math.IsNaN(bytesPerS) || bytesPerS <= 0 || math.IsInf(bytesPerS, 0) || math.IsInf(lk.cap, 1) {
		return fmt.Errorf("netmodel: link %d: capacity %g bytes/s must be positive and finite, on a finite link", l, bytesPerS)
	}
	c := bytesPerS
	if f.sh.Model != ModelRaw {
		c *= f.sh.BandwidthFactor
	}
	lk.cap = c
	for _, fl := range f.live {
		if !slices.Contains(fl.route, int32(l)) && !slices.Contains(fl.links, int32(l)) {
			continue
		}
		f.rebound(fl)
		if fl.state == stateSharing && !fl.paused && !fl.onLinks {
			f.setRate(fl, fl.bound) // raw, or nothing to share
		}
	}
	f.arm()
	f.fullSolve = true
	lk.expand = true
	f.markDirty(int32(l))
	return nil
}

// Pause stops a flow where it is (a partition cut its route): it keeps its
// progress and takes no capacity until Resume.
func (f *Fabric) Pause(id FlowID) {
	fl := id.f
	if fl == nil || fl.gen != id.gen || fl.paused || (fl.state != stateLatency && fl.state != stateSharing) {
		return
	}
	fl.paused = true
	if fl.state == stateSharing {
		f.progress(fl)
		f.unplan(fl)
		f.leave(fl)
		fl.rate = 0
		f.arm()
	}
}

// Resume lets a paused flow go on from where it stopped.
func (f *Fabric) Resume(id FlowID) {
	fl := id.f
	if fl == nil || fl.gen != id.gen || !fl.paused {
		return
	}
	fl.paused = false
	if fl.state == stateSharing {
		f.join(fl)
	}
}

// join moves a flow from its latency phase into the sharing (or back into
// it after a pause).
func (f *Fabric) join(fl *flow) {
	fl.state = stateSharing
	fl.ev = des.ID{}
	fl.last = f.eng.Now()
	if fl.paused {
		return // it joins when resumed
	}
	if fl.bytes == 0 {
		f.finish(fl)
		return
	}
	if f.sh.Model == ModelRaw || len(fl.links) == 0 {
		// Nothing to share: the rate is the flow's own bound.
		f.setRate(fl, fl.bound)
		f.arm()
		return
	}
	fl.onLinks = true
	f.joined = append(f.joined, fl)
	for k, l := range fl.links {
		lk := &f.links[l]
		fl.pos[k] = int32(len(lk.flows))
		lk.flows = append(lk.flows, slot{fl, int32(k)})
		if lk.saturated() {
			lk.expand = true
		}
		f.markDirty(l)
	}
}

func (lk *link) saturated() bool { return lk.cap-lk.load <= slackMargin*lk.cap }

func (f *Fabric) markDirty(l int32) {
	f.dirty = append(f.dirty, l)
	if !f.solvePending {
		f.solvePending = true
		// Solve after every other event of this instant, so that flows
		// starting or ending together cost one pass.
		if _, err := f.eng.Schedule(f.eng.Now(), des.Settle, f.solve); err != nil && f.err == nil {
			f.err = err
		}
	}
}

// leave removes a sharing flow from its links.
func (f *Fabric) leave(fl *flow) {
	if !fl.onLinks {
		return
	}
	fl.onLinks = false
	for k, l := range fl.links {
		lk := &f.links[l]
		if lk.saturated() {
			lk.expand = true
		}
		lk.load -= fl.coef[k] * fl.rate
		i := fl.pos[k]
		last := int32(len(lk.flows) - 1)
		if i != last {
			moved := lk.flows[last]
			lk.flows[i] = moved
			moved.f.pos[moved.k] = i
		}
		lk.flows[last] = slot{}
		lk.flows = lk.flows[:last]
		f.markDirty(l)
	}
}

func (f *Fabric) finish(fl *flow) {
	f.active--
	f.forget(fl)
	fl.state = stateDone
	fl.ev = des.ID{}
	fl.remain = 0
	f.unplan(fl)
	f.leave(fl)
	if fl.done != nil {
		fl.done(f.eng.Now())
	}
}

// Abort stops a flow and returns the bytes it had delivered. Aborting a
// finished or already aborted flow returns its size or progress unchanged.
func (f *Fabric) Abort(id FlowID) float64 {
	fl := id.f
	if fl == nil || fl.gen != id.gen {
		return 0
	}
	switch fl.state {
	case stateDone:
		return fl.bytes
	case stateAborted:
		return fl.bytes - fl.remain
	case stateLatency:
		f.eng.Cancel(fl.ev)
	case stateSharing:
		f.progress(fl)
		f.unplan(fl)
		f.arm()
		f.leave(fl)
	}
	f.active--
	f.forget(fl)
	fl.state = stateAborted
	fl.ev = des.ID{}
	return fl.bytes - fl.remain
}

// Rate returns a flow's current rate in bytes/s (0 during its latency phase
// or once it has ended).
func (f *Fabric) Rate(id FlowID) float64 {
	if id.f == nil || id.f.state != stateSharing {
		return 0
	}
	return id.f.rate
}

// Active reports whether a flow is still in progress.
func (f *Fabric) Active(id FlowID) bool {
	return id.f != nil && (id.f.state == stateLatency || id.f.state == stateSharing)
}

func (f *Fabric) progress(fl *flow) {
	now := f.eng.Now()
	if fl.rate > 0 && now > fl.last {
		fl.remain -= fl.rate * (now - fl.last)
		if fl.remain < 0 {
			fl.remain = 0
		}
	}
	fl.last = now
}

// setRate brings a flow's progress up to date and plans its completion at
// the new rate. Callers arm() once they are done changing rates.
func (f *Fabric) setRate(fl *flow, r float64) {
	f.progress(fl)
	fl.rate = r
	if r <= 0 { // cannot happen with positive capacities
		f.unplan(fl)
		return
	}
	fl.due = f.eng.Now() + fl.remain/r
	e := dueEntry{due: fl.due, node: fl.node, gen: fl.gen, fl: fl}
	if fl.hidx < 0 {
		f.due = append(f.due, e)
		f.dueUp(len(f.due) - 1)
		return
	}
	i := int(fl.hidx)
	f.due[i] = e
	if !f.dueUp(i) {
		f.dueDown(i)
	}
}

// unplan removes a flow from the completion heap.
func (f *Fabric) unplan(fl *flow) {
	i := int(fl.hidx)
	if i < 0 {
		return
	}
	last := len(f.due) - 1
	f.due[i] = f.due[last]
	f.due[i].fl.hidx = int32(i)
	f.due[last] = dueEntry{}
	f.due = f.due[:last]
	fl.hidx = -1
	if i < last && !f.dueUp(i) {
		f.dueDown(i)
	}
}

// arm keeps one engine event at the earliest planned completion.
func (f *Fabric) arm() {
	if len(f.due) == 0 {
		f.eng.Cancel(f.wake)
		return
	}
	h := &f.due[0]
	if f.eng.Pending(f.wake) {
		if f.wakeAt == h.due && f.wakeNode == h.node {
			return
		}
		f.eng.Cancel(f.wake)
		f.stats.Reschedules++
	}
	ev, err := f.eng.Schedule(h.due, des.Node(h.node), f.fire)
	if err != nil {
		if f.err == nil {
			f.err = err
		}
		return
	}
	f.wake, f.wakeAt, f.wakeNode = ev, h.due, h.node
}

// fire completes the earliest flow.
func (f *Fabric) fire() {
	f.wake = des.ID{}
	if len(f.due) > 0 && f.due[0].due <= f.eng.Now() {
		fl := f.due[0].fl
		f.progress(fl)
		f.finish(fl)
	}
	f.arm()
}

// dueEntry keeps a flow's ordering key inline, so that sifting compares
// without following pointers.
type dueEntry struct {
	due  float64
	node int
	gen  uint64
	fl   *flow
}

func dueLess(a, b *dueEntry) bool {
	if a.due != b.due {
		return a.due < b.due
	}
	if a.node != b.node {
		return a.node < b.node
	}
	return a.gen < b.gen
}

func (f *Fabric) dueUp(j int) bool {
	h := f.due
	x := h[j]
	j0 := j
	for j > 0 {
		i := (j - 1) / 4
		if !dueLess(&x, &h[i]) {
			break
		}
		h[j] = h[i]
		h[j].fl.hidx = int32(j)
		j = i
	}
	h[j] = x
	x.fl.hidx = int32(j)
	return j != j0
}

func (f *Fabric) dueDown(i int) {
	h := f.due
	n := len(h)
	x := h[i]
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		for k := c + 1; k < c+4 && k < n; k++ {
			if dueLess(&h[k], &h[m]) {
				m = k
			}
		}
		if !dueLess(&h[m], &x) {
			break
		}
		h[i] = h[m]
		h[i].fl.hidx = int32(i)
		i = m
	}
	h[i] = x
	x.fl.hidx = int32(i)
}

// localSolve enables the local pass of solve; tests turn it off to compare.
var localSolve = true

// checkLocal, when set (by tests), runs after every accepted local pass.
var checkLocal func(f *Fabric)

// slackMargin is the relative spare capacity below which a link counts as
// saturated when deciding whether a local solution stands.
const slackMargin = 1e-9

// solve recomputes rates after flows joined or left dirty links. It first
// tries a local pass: only the flows on dirty links are solved, against
// what the other flows leave of the links they share. The local solution is
// the global max-min one if every shared link is unsaturated both before
// and after (then no other flow is bottlenecked there, and no local flow
// is either). Otherwise the whole connected component is solved again.
func (f *Fabric) solve() {
	f.solvePending = false
	full := f.fullSolve
	f.fullSolve = false
	if full || !(localSolve && f.solveLocal()) {
		f.solveComponent()
	} else if checkLocal != nil {
		checkLocal(f)
	}
	for _, l := range f.dirty {
		f.links[l].expand = false
	}
	f.dirty = f.dirty[:0]
	clear(f.joined)
	f.joined = f.joined[:0]
	f.arm()
}

func (f *Fabric) solveLocal() bool {
	f.epoch++
	ep := f.epoch
	comp := f.compFlows[:0]
	links := f.compLinks[:0]
	// Local flows: those that just joined, and all flows of links that were
	// saturated when they changed. A link with spare capacity is nobody's
	// bottleneck, so a flow leaving it moves no one.
	for _, fl := range f.joined {
		if fl.onLinks && fl.mark != ep {
			fl.mark = ep
			comp = append(comp, fl)
		}
	}
	for _, l := range f.dirty {
		if !f.links[l].expand {
			continue
		}
		for _, s := range f.links[l].flows {
			if fl := s.f; fl.mark != ep {
				fl.mark = ep
				comp = append(comp, fl)
			}
		}
	}
	for _, fl := range comp {
		for _, l := range fl.links {
			if lk := &f.links[l]; lk.mark != ep {
				lk.mark = ep
				lk.n = 0
				links = append(links, l)
			}
		}
	}
	f.compFlows, f.compLinks = comp, links
	if len(comp) == 0 {
		return true
	}
	for _, fl := range comp {
		for _, l := range fl.links {
			f.links[l].n++
		}
	}
	for _, l := range links {
		lk := &f.links[l]
		lk.rem = lk.cap
		lk.shared = len(lk.flows) != lk.n
		if !lk.shared {
			continue
		}
		if lk.saturated() {
			return false // flows outside may be bottlenecked here
		}
		lk.rem = lk.cap - lk.load
	}
	for _, fl := range comp {
		for k, l := range fl.links {
			if lk := &f.links[l]; lk.shared {
				lk.rem += fl.coef[k] * fl.rate
			}
		}
	}
	f.maxmin(comp, links, true)
	// Check that the shared links keep spare capacity under the new rates.
	for _, l := range links {
		lk := &f.links[l]
		lk.sum = lk.load
	}
	for _, fl := range comp {
		for k, l := range fl.links {
			f.links[l].sum += fl.coef[k] * (fl.next - fl.rate)
		}
	}
	for _, l := range links {
		lk := &f.links[l]
		if lk.shared && lk.cap-lk.sum <= slackMargin*lk.cap {
			return false
		}
	}
	f.stats.Solves++
	f.stats.LocalSolves++
	f.stats.FlowsVisited += len(comp)
	for _, fl := range comp {
		if fl.next != fl.rate || fl.hidx < 0 {
			for k, l := range fl.links {
				f.links[l].load += fl.coef[k] * (fl.next - fl.rate)
			}
			f.setRate(fl, fl.next)
		}
	}
	return true
}

// solveComponent recomputes every flow connected to a dirty link.
func (f *Fabric) solveComponent() {
	f.epoch++
	ep := f.epoch
	comp := f.compFlows[:0]
	links := f.compLinks[:0]
	for _, l := range f.dirty {
		if f.links[l].mark != ep {
			f.links[l].mark = ep
			links = append(links, l)
		}
	}
	for q := 0; q < len(links); q++ {
		for _, s := range f.links[links[q]].flows {
			fl := s.f
			if fl.mark == ep {
				continue
			}
			fl.mark = ep
			comp = append(comp, fl)
			for _, l2 := range fl.links {
				if f.links[l2].mark != ep {
					f.links[l2].mark = ep
					links = append(links, l2)
				}
			}
		}
	}
	f.compFlows, f.compLinks = comp, links
	for _, l := range links {
		f.links[l].load = 0
	}
	if len(comp) == 0 {
		return
	}
	f.stats.Solves++
	f.stats.FlowsVisited += len(comp)
	f.maxmin(comp, links, false)
	for _, fl := range comp {
		if fl.next != fl.rate || fl.hidx < 0 {
			f.setRate(fl, fl.next)
		}
		for k, l := range fl.links {
			f.links[l].load += fl.coef[k] * fl.rate
		}
	}
}

// maxmin runs weighted progressive filling over one component: every
// unfixed flow i has rate x/w_i; x rises until a link saturates or a flow
// reaches its bound, which fixes those flows; repeat. The result goes to
// flow.next.
//
// A link's level rem/sum never falls as flows are fixed (each fixed flow
// took no more than the current level), so the heap of link levels is
// updated lazily: an entry popped with an out-of-date level is pushed back
// with the current one, and only an up-to-date minimum saturates.
func (f *Fabric) maxmin(comp []*flow, links []int32, presetRem bool) {
	ep := f.epoch // comp's flows carry this mark; others on its links are fixed
	for _, l := range links {
		lk := &f.links[l]
		if !presetRem {
			lk.rem = lk.cap
		}
		lk.sum, lk.n = 0, 0
	}
	bounded := f.bounded[:0]
	for _, fl := range comp {
		fl.fixed = false
		fl.xb = fl.bound * fl.weight
		if !math.IsInf(fl.bound, 1) {
			bounded = append(bounded, fl)
		}
		for k, l := range fl.links {
			lk := &f.links[l]
			lk.sum += fl.coef[k] / fl.weight
			lk.n++
		}
	}
	if len(bounded) > 1 {
		slices.SortFunc(bounded, cmpBound)
	}
	f.bounded = bounded
	h := f.heap[:0]
	for _, l := range links {
		lk := &f.links[l]
		h = h.push(key{lk.rem / lk.sum, l})
	}
	left := len(comp)
	bi := 0
	for left > 0 {
		// Bring the heap's top up to date.
		for len(h) > 0 {
			top := h[0]
			lk := &f.links[top.l]
			if lk.n == 0 {
				h = h.pop()
				continue
			}
			if x := lk.rem / lk.sum; x > top.x {
				h.replaceTop(key{x, top.l})
				continue
			}
			break
		}
		for bi < len(bounded) && bounded[bi].fixed {
			bi++
		}
		xl, xf := math.Inf(1), math.Inf(1)
		if len(h) > 0 {
			lk := &f.links[h[0].l]
			xl = lk.rem / lk.sum
		}
		if bi < len(bounded) {
			xf = bounded[bi].xb
		}
		switch {
		case math.IsInf(xl, 1) && math.IsInf(xf, 1):
			// Cannot happen: every comp flow crosses a finite link.
			for _, fl := range comp {
				if !fl.fixed {
					f.fix(fl, math.Inf(1))
					left--
				}
			}
		case xf <= xl:
			fl := bounded[bi]
			f.fix(fl, fl.bound)
			left--
		default:
			l := h[0].l
			h = h.pop()
			for _, s := range f.links[l].flows {
				if s.f.mark == ep && !s.f.fixed {
					f.fix(s.f, xl/s.f.weight)
					left--
				}
			}
		}
	}
	f.heap = h[:0]
}

// fix sets a flow's rate and takes its load off its links.
func (f *Fabric) fix(fl *flow, r float64) {
	fl.fixed = true
	fl.next = r
	for k, l := range fl.links {
		lk := &f.links[l]
		c := fl.coef[k]
		lk.rem -= c * r
		if lk.rem < 0 {
			lk.rem = 0
		}
		lk.sum -= c / fl.weight
		lk.n--
	}
}

func cmpBound(a, b *flow) int {
	switch {
	case a.xb < b.xb:
		return -1
	case a.xb > b.xb:
		return 1
	}
	return cmpUint(a.gen, b.gen)
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type key struct {
	x float64
	l int32
}

type keyHeap []key

func (a key) less(b key) bool {
	if a.x != b.x {
		return a.x < b.x
	}
	return a.l < b.l
}

func (h keyHeap) push(k key) keyHeap {
	h = append(h, k)
	j := len(h) - 1
	for j > 0 {
		i := (j - 1) / 2
		if !h[j].less(h[i]) {
			break
		}
		h[i], h[j] = h[j], h[i]
		j = i
	}
	return h
}

// replaceTop gives the top entry a new (larger) key and restores order.
func (h keyHeap) replaceTop(k key) {
	n := len(h)
	i := 0
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if j+1 < n && h[j+1].less(h[j]) {
			j++
		}
		if !h[j].less(k) {
			break
		}
		h[i] = h[j]
		i = j
	}
	h[i] = k
}

func (h keyHeap) pop() keyHeap {
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if j+1 < n && h[j+1].less(h[j]) {
			j++
		}
		if !h[j].less(h[i]) {
			break
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
	return h
}
