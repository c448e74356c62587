package netmodel

import (
	"fmt"
	"github.com/locosim/locosim/des"
	"math"
	"slices"
)

// Ring orders.
const (
	RingByBandwidth = "bandwidth" // greedy ring that keeps the slowest hop fast
	RingByIndex     = "index"     // nodes in id order
)

// RingAllReduce is the bandwidth-optimal all-reduce of dense payloads: the
// p members form a ring and each moves 2(p−1) chunks of S/p bytes to its
// successor, sending chunk s once it has sent chunk s−1 and received chunk
// s−1 from its predecessor. It starts when every member is ready (or at the
// deadline, without the latecomers). If a member fails, the ring is torn
// down and, RestartS later, rebuilt from the survivors and run again.
type RingAllReduce struct {
	Order    string  // RingByBandwidth or RingByIndex
	RestartS float64 // failure detection delay before the ring is rebuilt
	// Members, when set, fixes the ring order (nodes missing from it are
	// appended in id order).
	Members []int
}

func (RingAllReduce) Name() string { return "ring" }

func (g RingAllReduce) Run(net *Network, ex ExchangeSpec) (*ExchangeResult, error) {
	return runExchange(g, net, ex)
}

func (g RingAllReduce) validate(n int) error {
	if g.Order != RingByBandwidth && g.Order != RingByIndex {
		return fmt.Errorf("netmodel: unknown ring order %q (want bandwidth or index)", g.Order)
	}
	if !finite(g.RestartS) || g.RestartS < 0 {
		return fmt.Errorf("netmodel: ring restart delay %g s must be non-negative", g.RestartS)
	}
	seen := map[int]bool{}
	for _, j := range g.Members {
		if j < 0 || j >= n || seen[j] {
			return fmt.Errorf("netmodel: ring member %d is out of range [0, %d) or listed twice", j, n)
		}
		seen[j] = true
	}
	return nil
}

type ringState struct {
	r       *Exchange
	cfg     RingAllReduce
	waiting int // alive nodes not yet ready
	isReady []bool
	started bool
	epoch   int
	members []int
	pos     []int // node → index in members, −1 if not a member
	sendAt  []int // next step each member sends
	recvN   []int // chunks each member has received
	busy    []bool
	fin     []bool
	chunk   int64
	flows   []*transfer
}

func (g RingAllReduce) begin(r *Exchange) {
	s := &ringState{r: r, cfg: g, isReady: make([]bool, r.n)}
	for i := range r.n {
		if r.alive[i] {
			s.waiting++
		}
	}
	r.st = s
	if !math.IsInf(r.deadline, 1) {
		r.at(r.deadline, des.Barrier, func() { s.launch() })
	}
}

func (RingAllReduce) ready(r *Exchange, i int) {
	s := r.st.(*ringState)
	if s.started {
		// Missed the ring: nothing to contribute or receive this round.
		r.markLate(i)
		r.received[i] = []int{}
		r.finish(i)
		return
	}
	s.isReady[i] = true
	s.waiting--
	if s.waiting == 0 {
		s.launch()
	}
}

func (RingAllReduce) crash(r *Exchange, i int) {
	s := r.st.(*ringState)
	if !s.started {
		if !s.isReady[i] {
			s.waiting--
		}
		if s.waiting == 0 {
			s.launch()
		}
		return
	}
	if k := s.pos[i]; k < 0 || s.fin[k] {
		return // not in the ring, or done with it: nobody needs it any more
	}
	// Tear the ring down; survivors rebuild it after the detection delay.
	s.epoch++
	for _, x := range s.flows {
		r.abort(x, true)
	}
	s.flows = nil
	ep := s.epoch
	r.at(r.eng.Now()+s.cfg.RestartS, des.Node(i), func() {
		if s.epoch == ep {
			s.form()
		}
	})
}

// launch starts the ring with every ready, alive node.
func (s *ringState) launch() {
	if s.started {
		return
	}
	s.started = true
	for i := range s.r.n {
		if s.r.alive[i] && !s.isReady[i] && !s.r.done[i] {
			s.r.markLate(i) // not ready at the deadline
		}
	}
	s.form()
}

// form builds the ring from the surviving ready nodes and runs it.
func (s *ringState) form() {
	r := s.r
	var m []int
	for i := range r.n {
		if r.alive[i] && s.isReady[i] && !r.done[i] {
			m = append(m, i)
		}
	}
	if len(m) == 0 {
		// Nobody to ring (say, nobody was ready at the deadline): later
		// crashes find no member to tear down.
		s.members = nil
		s.pos = make([]int, r.n)
		for i := range s.pos {
			s.pos[i] = -1
		}
		return
	}
	var maxB int64
	for _, i := range m {
		if r.has[i] {
			maxB = max(maxB, r.bytes[i])
		}
	}
	p := len(m)
	s.chunk = (maxB + int64(p) - 1) / int64(p)
	s.members = s.order(m)
	s.pos = make([]int, r.n)
	for i := range s.pos {
		s.pos[i] = -1
	}
	for k, i := range s.members {
		s.pos[i] = k
	}
	s.sendAt = make([]int, p)
	s.recvN = make([]int, p)
	s.busy = make([]bool, p)
	s.fin = make([]bool, p)
	if p == 1 {
		s.complete(0)
		return
	}
	for k := range s.members {
		s.trySend(k)
	}
}

func (s *ringState) steps() int { return 2 * (len(s.members) - 1) }

func (s *ringState) trySend(k int) {
	r := s.r
	if s.busy[k] || s.sendAt[k] >= s.steps() || s.recvN[k] < s.sendAt[k] {
		return
	}
	p := len(s.members)
	next := (k + 1) % p
	src, dst := s.members[k], s.members[next]
	s.busy[k] = true
	ep := s.epoch
	x := r.send(src, dst, src, dst, s.chunk, func(float64) {
		if s.epoch != ep {
			return
		}
		s.busy[k] = false
		s.sendAt[k]++
		s.recvN[next]++
		s.checkDone(k)
		s.checkDone(next)
		s.trySend(k)
		s.trySend(next)
	}, nil)
	s.flows = append(s.flows, x)
}

func (s *ringState) checkDone(k int) {
	if s.sendAt[k] == s.steps() && s.recvN[k] == s.steps() {
		s.complete(k)
	}
}

func (s *ringState) complete(k int) {
	r := s.r
	i := s.members[k]
	s.fin[k] = true
	var got []int
	for _, j := range s.members {
		if r.has[j] && !r.late[j] {
			got = append(got, j)
		}
	}
	r.received[i] = got
	r.finish(i)
}

// order arranges the members into a ring.
func (s *ringState) order(m []int) []int {
	if len(s.cfg.Members) > 0 {
		in := map[int]bool{}
		for _, i := range m {
			in[i] = true
		}
		var out []int
		for _, i := range s.cfg.Members {
			if in[i] {
				out = append(out, i)
				delete(in, i)
			}
		}
		for _, i := range m {
			if in[i] {
				out = append(out, i)
			}
		}
		return out
	}
	if s.cfg.Order == RingByIndex || len(m) < 3 {
		return m
	}
	return BandwidthRing(s.r.net, m, float64(s.chunk))
}

// BandwidthRing orders nodes into a ring for chunks of the given size. The
// time of a hop a→b is latency + chunk/min(up_a, down_b); the pipeline moves
// at the pace of the slowest hop, so the ring should keep that small. It
// grows rings greedily (always to the cheapest next hop) from several
// starting nodes and keeps the one whose slowest hop, then total, is
// smallest. Brute force would be O(p!).
func BandwidthRing(net *Network, nodes []int, chunk float64) []int {
	p := len(nodes)
	if p < 3 {
		return slices.Clone(nodes)
	}
	c := net.cluster
	lf := net.fabric.sh.LatencyFactor
	cost := func(a, b int) float64 {
		bw := math.Min(c.Nodes[a].BwUpMbps, c.Nodes[b].BwDownMbps) * BytesPerMbps
		return c.LatencyS(a, b)*lf + chunk/bw
	}
	starts := p
	if p > 64 {
		starts = 8 // each greedy pass is O(p²)
	}
	var best []int
	bestMax, bestSum := math.Inf(1), math.Inf(1)
	used := make([]bool, p)
	ring := make([]int, 0, p)
	for st := range starts {
		s0 := st * p / starts
		clear(used)
		ring = ring[:0]
		cur := s0
		used[cur] = true
		ring = append(ring, nodes[cur])
		worst, sum := 0.0, 0.0
		for len(ring) < p {
			nb, nc := -1, math.Inf(1)
			for k := range p {
				if !used[k] {
					if x := cost(nodes[cur], nodes[k]); x < nc {
						nb, nc = k, x
					}
				}
			}
			used[nb] = true
			ring = append(ring, nodes[nb])
			worst, sum = math.Max(worst, nc), sum+nc
			cur = nb
		}
		back := cost(nodes[cur], nodes[s0])
		worst, sum = math.Max(worst, back), sum+back
		if worst < bestMax || (worst == bestMax && sum < bestSum) {
			best, bestMax, bestSum = slices.Clone(ring), worst, sum
		}
	}
	return best
}
