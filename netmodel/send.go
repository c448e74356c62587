package netmodel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/locosim/locosim/des"
)

// PointToPoint is a point-to-point send: each node sends its payload
// straight to one other node, over its uplink and the receiver's downlink,
// once it is ready. Dest[i] is node i's receiver (−1: none); without Dest
// each node sends to the next one (i+1 mod n). A node is done once its
// send has arrived (or failed) and every payload sent to it has arrived or
// will not come; it holds its own payload and those it received. Payloads
// not ready by the deadline are late and not sent.
type PointToPoint struct {
	Dest []int
}

// PairwiseGossip pairs the nodes that are up when the exchange starts at
// random (a fresh pairing each round, drawn from the network's seed; with
// an odd count one node sits out) and the two nodes of a pair swap
// payloads, each over its own uplink: the exchange of gossip averaging and
// NoLoCo. A node holds its own payload and its partner's.
type PairwiseGossip struct{}

func (PointToPoint) Name() string   { return "send" }
func (PairwiseGossip) Name() string { return "gossip" }

func (g PointToPoint) Run(net *Network, ex ExchangeSpec) (*ExchangeResult, error) {
	return runExchange(g, net, ex)
}

func (g PairwiseGossip) Run(net *Network, ex ExchangeSpec) (*ExchangeResult, error) {
	return runExchange(g, net, ex)
}

func (g PointToPoint) validate(n int) error {
	if g.Dest == nil {
		return nil
	}
	if len(g.Dest) != n {
		return fmt.Errorf("netmodel: send has %d destinations for %d nodes", len(g.Dest), n)
	}
	for i, d := range g.Dest {
		if d < -1 || d >= n || d == i {
			return fmt.Errorf("netmodel: node %d sends to %d (want another node, or -1 for none)", i, d)
		}
	}
	return nil
}

func (PairwiseGossip) validate(int) error { return nil }

func (g PointToPoint) begin(r *Exchange) {
	out := make([][]int, r.n)
	for i := range r.n {
		d := (i + 1) % r.n
		if g.Dest != nil {
			d = g.Dest[i]
		}
		if d >= 0 && d != i {
			out[i] = []int{d}
		}
	}
	beginSends(r, out)
}

const streamGossip = 101

func (PairwiseGossip) begin(r *Exchange) {
	var up []int
	for i := range r.n {
		if r.alive[i] {
			up = append(up, i)
		}
	}
	rng := rand.New(source(r.net.seed, streamGossip, r.round))
	rng.Shuffle(len(up), func(a, b int) { up[a], up[b] = up[b], up[a] })
	out := make([][]int, r.n)
	for k := 0; k+1 < len(up); k += 2 {
		a, b := up[k], up[k+1]
		out[a], out[b] = []int{b}, []int{a}
	}
	beginSends(r, out)
}

func (PointToPoint) ready(r *Exchange, i int)   { r.st.(*sendState).ready(i) }
func (PairwiseGossip) ready(r *Exchange, i int) { r.st.(*sendState).ready(i) }
func (PointToPoint) crash(r *Exchange, i int)   { r.st.(*sendState).crash(i) }
func (PairwiseGossip) crash(r *Exchange, i int) { r.st.(*sendState).crash(i) }

// sendState runs directed sends: node i sends its payload to each node of
// out[i] once ready.
type sendState struct {
	r       *Exchange
	out     [][]int
	waiting []int  // payloads still to arrive at each node
	sending []int  // sends of each node not yet over
	isReady []bool // the node has been ready (or given up on)
}

func beginSends(r *Exchange, out [][]int) {
	s := &sendState{r: r, out: out, waiting: make([]int, r.n), sending: make([]int, r.n), isReady: make([]bool, r.n)}
	r.st = s
	for i := range r.n {
		if !r.alive[i] {
			continue
		}
		for _, d := range out[i] {
			if r.alive[d] {
				s.waiting[d]++
			}
		}
	}
	if !math.IsInf(r.deadline, 1) {
		r.at(r.deadline, des.Barrier, s.cutOff)
	}
}

// ready: node i's payload exists now; send it.
func (s *sendState) ready(i int) {
	r := s.r
	s.isReady[i] = true
	late := r.eng.Now() > r.deadline
	if late {
		r.markLate(i)
	}
	if r.has[i] && !late {
		r.contribute(i, i)
	}
	for _, d := range s.out[i] {
		if !r.alive[d] {
			continue
		}
		if !r.has[i] || late {
			s.arrived(d, -1)
			continue
		}
		s.sending[i]++
		r.send(i, d, i, d, r.bytes[i], func(float64) {
			s.sending[i]--
			s.arrived(d, i)
			s.check(i)
		}, func() {
			// One end failed mid-transfer.
			s.sending[i]--
			s.arrived(d, -1)
			s.check(i)
		})
	}
	s.check(i)
}

// arrived settles one payload bound for d: from src, or none (−1).
func (s *sendState) arrived(d, src int) {
	if s.waiting[d] == 0 {
		return
	}
	s.waiting[d]--
	if src >= 0 && s.r.alive[d] {
		s.r.contribute(d, src)
	}
	s.check(d)
}

// check finishes node i once its part is over.
func (s *sendState) check(i int) {
	r := s.r
	if r.alive[i] && !r.done[i] && s.isReady[i] && s.sending[i] == 0 && s.waiting[i] == 0 {
		r.finish(i)
	}
}

// cutOff: at the deadline, payloads not ready yet will not be sent.
func (s *sendState) cutOff() {
	r := s.r
	for i := range r.n {
		if !r.alive[i] || s.isReady[i] {
			continue
		}
		r.markLate(i)
		for _, d := range s.out[i] {
			if r.alive[d] {
				s.arrived(d, -1)
			}
		}
		s.out[i] = nil
	}
}

// crash: node i failed; what it would have sent will not come, and what
// was bound for it no longer counts (its transfers were aborted, which
// settled the ones under way).
func (s *sendState) crash(i int) {
	r := s.r
	if !s.isReady[i] {
		for _, d := range s.out[i] {
			if r.alive[d] {
				s.arrived(d, -1)
			}
		}
		s.out[i] = nil
	}
	// Senders that are not ready yet skip it (it is no longer alive); the
	// others' sends to it were aborted above it. Their own parts may now be
	// over.
	for j := range r.n {
		if j != i && slices.Contains(s.out[j], i) {
			s.check(j)
		}
	}
}
