package netmodel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/locosim/locosim/des"
)

// ObjectStoreAllGather is Templar's exchange: every node uploads its payload
// to the object store once, then downloads the payloads of the same Peers
// nodes (chosen per round), all sharing its downlink. A node polls for a
// payload that is not there yet every RetryS, gives up on a peer after
// PeerTimeoutS and takes the next node of the reserve list instead, and
// abandons whatever is still missing GatherTimeoutS after it began. Payloads
// that land after the deadline are rejected. With a deadline, gathering
// starts once the deadline has passed; without one, once every node's
// payload has landed or its node has failed, so that the round waits for
// the slowest (a failed node's payload is still waited for, PeerTimeoutS,
// as Templar's miners cannot tell a failure from a delay). With Start set
// to GatherOwn a node starts gathering as soon as its own upload is done,
// each download once that peer's payload has landed (and gives up on a
// peer PeerTimeoutS after it began waiting). A payload in the store
// outlives its node: one uploaded before a failure is still gathered.
type ObjectStoreAllGather struct {
	Start          string  // GatherBarrier (also when empty) or GatherOwn
	Peers          int     // G: payloads each node gathers (0: every node's)
	Reserve        int     // length of the reserve list
	RetryS         float64 // poll interval for a payload not yet there
	PeerTimeoutS   float64 // give up on one peer after this long
	GatherTimeoutS float64 // give up on the whole gather after this long
	// PeerList and ReserveList, when set, fix the choice instead of drawing
	// it from the network's seed and the round index.
	PeerList, ReserveList []int
}

// P2PAllGather is the same gather with no store: a node pulls each peer's
// payload straight from the peer's uplink once the peer is ready. A peer
// that fails mid-transfer is replaced from the reserve list at once. The
// deadline applies to readiness (a peer not ready by then is late); the
// transfers themselves are bounded only by GatherTimeoutS.
type P2PAllGather ObjectStoreAllGather

// When a node starts gathering (ObjectStoreAllGather.Start).
const (
	GatherBarrier = "barrier" // every payload settled, or the deadline
	GatherOwn     = "own"     // its own upload done
)

// TemplarGather returns Templar's rules: 20 peers, 10 in reserve, polls every
// 0.5 s, 90 s per peer, 600 s for the whole gather.
func TemplarGather() ObjectStoreAllGather {
	return ObjectStoreAllGather{Peers: 20, Reserve: 10, RetryS: 0.5, PeerTimeoutS: 90, GatherTimeoutS: 600}
}

func (ObjectStoreAllGather) Name() string { return "store" }
func (P2PAllGather) Name() string         { return "p2p" }

func (g ObjectStoreAllGather) Run(net *Network, ex ExchangeSpec) (*ExchangeResult, error) {
	return runExchange(g, net, ex)
}

func (g P2PAllGather) Run(net *Network, ex ExchangeSpec) (*ExchangeResult, error) {
	return runExchange(g, net, ex)
}

func (g ObjectStoreAllGather) validate(n int) error { return validateGather(g, n) }
func (g P2PAllGather) validate(n int) error         { return validateGather(ObjectStoreAllGather(g), n) }

func validateGather(g ObjectStoreAllGather, n int) error {
	if g.Start != "" && g.Start != GatherBarrier && g.Start != GatherOwn {
		return fmt.Errorf("netmodel: gather start %q (want barrier or own)", g.Start)
	}
	if g.Peers < 0 || g.Reserve < 0 {
		return fmt.Errorf("netmodel: gather peers %d and reserve %d must be non-negative", g.Peers, g.Reserve)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"retry", g.RetryS}, {"peer timeout", g.PeerTimeoutS}, {"gather timeout", g.GatherTimeoutS}} {
		if !finite(p.v) || p.v <= 0 {
			return fmt.Errorf("netmodel: gather %s %g s must be positive", p.name, p.v)
		}
	}
	seen := map[int]bool{}
	for _, j := range slices.Concat(g.PeerList, g.ReserveList) {
		if j < 0 || j >= n || seen[j] {
			return fmt.Errorf("netmodel: gather peer %d is out of range [0, %d) or listed twice", j, n)
		}
		seen[j] = true
	}
	return nil
}

func (g ObjectStoreAllGather) begin(r *Exchange)      { beginGather(r, g, false) }
func (g P2PAllGather) begin(r *Exchange)              { beginGather(r, ObjectStoreAllGather(g), true) }
func (ObjectStoreAllGather) ready(r *Exchange, i int) { r.st.(*gatherState).ready(i) }
func (P2PAllGather) ready(r *Exchange, i int)         { r.st.(*gatherState).ready(i) }
func (ObjectStoreAllGather) crash(r *Exchange, i int) { r.st.(*gatherState).crash(i) }
func (P2PAllGather) crash(r *Exchange, i int)         { r.st.(*gatherState).crash(i) }

type pubState uint8

const (
	pubPending pubState = iota
	pubValid
	pubLate
	pubLost
)

type gatherState struct {
	r                *Exchange
	cfg              ObjectStoreAllGather
	direct           bool
	primary, reserve []int
	pub              []pubState
	waiters          [][]*gslot
	nodes            []gnode
	settled          []bool
	unsettled        int   // nodes taking part whose payload has not settled
	barrier          []int // nodes waiting for every payload to settle
}

type gnode struct {
	timer   des.ID
	started bool
	// Slots waiting for a payload, in order of their timeouts (which never
	// decrease), behind one timer for the earliest: one event per node
	// rather than one per slot.
	waitq   []*gslot
	wtimer  des.ID
	end     float64 // gather timeout
	nextRes int
	open    int
	slots   []*gslot
}

type gslotState uint8

const (
	slotWaiting gslotState = iota
	slotPolling
	slotDownloading
	slotClosed
)

type gslot struct {
	i, j    int
	t0      float64
	timeout float64
	state   gslotState
	x       *transfer
}

const streamGather = 100

func beginGather(r *Exchange, cfg ObjectStoreAllGather, direct bool) {
	s := &gatherState{r: r, cfg: cfg, direct: direct, pub: make([]pubState, r.n),
		waiters: make([][]*gslot, r.n), nodes: make([]gnode, r.n)}
	r.st = s
	s.settled = make([]bool, r.n)
	for i := range r.n {
		if r.alive[i] {
			s.unsettled++
		}
	}
	if cfg.PeerList != nil || cfg.ReserveList != nil {
		s.primary, s.reserve = cfg.PeerList, cfg.ReserveList
		return
	}
	// The validator picks among the nodes that are up when the round starts.
	var up []int
	for i := range r.n {
		if r.alive[i] {
			up = append(up, i)
		}
	}
	if cfg.Peers == 0 {
		s.primary = up
		return
	}
	rng := rand.New(source(r.net.seed, streamGather, r.round))
	rng.Shuffle(len(up), func(a, b int) { up[a], up[b] = up[b], up[a] })
	g := min(cfg.Peers, len(up))
	s.primary = up[:g]
	s.reserve = up[g:min(len(up), g+cfg.Reserve)]
}

// ready: node i's payload exists now.
func (s *gatherState) ready(i int) {
	r := s.r
	if s.direct {
		s.publish(i)
		s.gatherWhenDue(i)
		return
	}
	if !r.has[i] {
		s.publish(i)
		s.gatherWhenDue(i)
		return
	}
	r.send(i, r.c.StoreID(), i, -1, r.bytes[i], func(float64) {
		s.publish(i)
		s.gatherWhenDue(i)
	}, nil)
}

// gatherWhenDue starts node i's gather once its own payload is out: at once
// with GatherOwn; otherwise at the deadline if there is one, or once every
// node's payload has settled (published or lost), so that without a
// deadline the round waits for the slowest rather than timing out on it.
func (s *gatherState) gatherWhenDue(i int) {
	r := s.r
	if s.cfg.Start == GatherOwn {
		s.startGather(i)
		return
	}
	if t := r.deadline; !math.IsInf(t, 1) {
		if t > r.eng.Now() {
			r.at(t, des.Node(i), func() { s.startGather(i) })
			return
		}
		s.startGather(i)
		return
	}
	if s.unsettled > 0 {
		s.barrier = append(s.barrier, i)
		return
	}
	s.startGather(i)
}

// settle counts node j's payload as settled and, once all are, releases
// the nodes waiting to gather.
func (s *gatherState) settle(j int) {
	if s.settled[j] {
		return
	}
	s.settled[j] = true
	s.unsettled--
	if s.unsettled == 0 {
		b := s.barrier
		s.barrier = nil
		for _, i := range b {
			s.startGather(i)
		}
	}
}

// publish settles node j's payload now: valid if it has one and it is in
// time, late otherwise. Waiting pollers find out at their next poll.
func (s *gatherState) publish(j int) {
	r := s.r
	now := r.eng.Now()
	if r.has[j] && now <= r.deadline {
		s.pub[j] = pubValid
	} else {
		s.pub[j] = pubLate
		r.markLate(j)
	}
	defer s.settle(j)
	ws := s.waiters[j]
	s.waiters[j] = nil
	for _, sl := range ws {
		if sl.state != slotWaiting {
			continue
		}
		p := now
		if s.cfg.RetryS > 0 && now > sl.t0 {
			p = sl.t0 + math.Ceil((now-sl.t0)/s.cfg.RetryS)*s.cfg.RetryS
		}
		if p > sl.timeout {
			continue // the timeout fires first
		}
		sl.state = slotPolling // the poll decides, not the timeout
		r.at(p, des.Node(sl.i), func() { s.poll(sl) })
	}
}

func (s *gatherState) startGather(i int) {
	r := s.r
	nd := &s.nodes[i]
	if !r.alive[i] || nd.started {
		return
	}
	nd.started = true
	nd.end = r.eng.Now() + s.cfg.GatherTimeoutS
	nd.timer = r.at(nd.end, des.Node(i), func() { s.giveUp(i) })
	nd.open = 1 // held until every primary slot is open
	for _, j := range s.primary {
		s.resolve(i, j)
	}
	s.closeOne(i)
}

// resolve opens a slot for node i to fetch peer j's payload from now.
func (s *gatherState) resolve(i, j int) {
	r := s.r
	nd := &s.nodes[i]
	now := r.eng.Now()
	sl := &gslot{i: i, j: j, t0: now, timeout: math.Min(now+s.cfg.PeerTimeoutS, nd.end)}
	nd.slots = append(nd.slots, sl)
	nd.open++
	if s.pub[j] == pubPending || s.pub[j] == pubLost {
		s.waiters[j] = append(s.waiters[j], sl)
		nd.waitq = append(nd.waitq, sl)
		if !r.eng.Pending(nd.wtimer) {
			nd.wtimer = r.at(sl.timeout, des.Node(i), func() { s.expire(i) })
		}
		return
	}
	sl.state = slotPolling
	s.poll(sl)
}

// poll: j's payload has been settled; fetch it or move on.
func (s *gatherState) poll(sl *gslot) {
	r := s.r
	if sl.state != slotPolling || !r.alive[sl.i] {
		return
	}
	i, j := sl.i, sl.j
	if s.pub[j] != pubValid || (s.direct && !r.alive[j]) {
		s.missing(sl)
		return
	}
	if i == j {
		r.contribute(i, j)
		s.close(sl)
		return
	}
	sl.state = slotDownloading
	src, up := r.c.StoreID(), -1
	if s.direct {
		src, up = j, j
	}
	sl.x = r.send(src, i, up, i, r.bytes[j], func(float64) {
		r.contribute(i, j)
		s.close(sl)
	}, func() {
		// The source failed mid-transfer (p2p): try a reserve peer.
		if r.alive[i] && sl.state == slotDownloading {
			s.missing(sl)
		}
	})
}

// expire gives up on the waiting slots of node i whose timeout has come,
// and re-arms the timer for the next.
func (s *gatherState) expire(i int) {
	r := s.r
	nd := &s.nodes[i]
	now := r.eng.Now()
	for len(nd.waitq) > 0 {
		sl := nd.waitq[0]
		if sl.state == slotWaiting && sl.timeout > now {
			nd.wtimer = r.at(sl.timeout, des.Node(i), func() { s.expire(i) })
			return
		}
		nd.waitq = nd.waitq[1:]
		if sl.state == slotWaiting {
			s.missing(sl) // may queue a reserve slot behind
		}
	}
}

// missing: peer j will not come; take the next reserve peer.
func (s *gatherState) missing(sl *gslot) {
	r := s.r
	nd := &s.nodes[sl.i]
	if sl.state == slotClosed || !r.alive[sl.i] {
		return
	}
	if nd.nextRes < len(s.reserve) && r.eng.Now() < nd.end {
		j := s.reserve[nd.nextRes]
		nd.nextRes++
		s.resolve(sl.i, j)
	}
	s.close(sl)
}

func (s *gatherState) close(sl *gslot) {
	if sl.state == slotClosed {
		return
	}
	sl.state = slotClosed
	s.closeOne(sl.i)
}

func (s *gatherState) closeOne(i int) {
	nd := &s.nodes[i]
	nd.open--
	if nd.open == 0 && s.r.alive[i] {
		s.r.eng.Cancel(nd.timer)
		s.r.eng.Cancel(nd.wtimer)
		s.r.finish(i)
	}
}

// giveUp ends node i's gather at its overall timeout.
func (s *gatherState) giveUp(i int) {
	r := s.r
	if r.done[i] || !r.alive[i] {
		return
	}
	for _, sl := range s.nodes[i].slots {
		if sl.state == slotDownloading {
			sl.state = slotClosed
			r.abort(sl.x, true)
		}
		sl.state = slotClosed
	}
	r.finish(i)
}

func (s *gatherState) crash(i int) {
	if s.pub[i] == pubPending {
		s.pub[i] = pubLost
		s.settle(i)
	}
	for _, sl := range s.nodes[i].slots {
		sl.state = slotClosed
	}
}
