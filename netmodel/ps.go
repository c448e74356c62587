package netmodel

import (
	"fmt"
	"github.com/locosim/locosim/des"
	"math"
	"slices"
)

// ParameterServer sends every payload to one server (a node, or the object
// store when Server is −1), which aggregates once every upload has landed
// (or at the deadline, dropping the rest) and sends the AggregateBytes-long
// result to every node (0: the size of the largest payload).
type ParameterServer struct {
	Server         int
	AggregateBytes int64
}

func (ParameterServer) Name() string { return "ps" }

func (g ParameterServer) Run(net *Network, ex ExchangeSpec) (*ExchangeResult, error) {
	return runExchange(g, net, ex)
}

func (g ParameterServer) validate(n int) error {
	if g.Server < -1 || g.Server >= n {
		return fmt.Errorf("netmodel: parameter server %d is not a node in [0, %d) or -1 for the store", g.Server, n)
	}
	if g.AggregateBytes < 0 {
		return fmt.Errorf("netmodel: aggregate size %d bytes is negative", g.AggregateBytes)
	}
	return nil
}

type psState struct {
	r       *Exchange
	cfg     ParameterServer
	server  int // endpoint
	pending int // alive nodes whose upload is not settled
	settled []bool
	ups     []*transfer
	got     []int
	aggAt   bool
	sending int
	failed  bool
}

func (g ParameterServer) begin(r *Exchange) {
	s := &psState{r: r, cfg: g, server: g.Server, settled: make([]bool, r.n), ups: make([]*transfer, r.n)}
	if g.Server < 0 {
		s.server = r.c.StoreID()
	}
	for i := range r.n {
		if r.alive[i] {
			s.pending++
		}
	}
	r.st = s
	if g.Server >= 0 && !r.alive[g.Server] {
		s.fail()
		return
	}
	if !math.IsInf(r.deadline, 1) {
		r.at(r.deadline, des.Barrier, func() { s.aggregate() })
	}
}

func (ParameterServer) ready(r *Exchange, i int) {
	s := r.st.(*psState)
	if s.failed {
		r.received[i] = []int{}
		r.finish(i)
		return
	}
	if s.aggAt {
		r.markLate(i)
		s.sendResult(i)
		return
	}
	if !r.has[i] || i == s.server {
		s.settle(i, r.has[i])
		return
	}
	s.ups[i] = r.send(i, s.server, i, s.downNode(), r.bytes[i], func(float64) {
		s.settle(i, true)
	}, nil)
}

func (s *psState) downNode() int {
	if s.cfg.Server >= 0 {
		return s.cfg.Server
	}
	return -1
}

func (s *psState) settle(i int, ok bool) {
	if s.settled[i] {
		return
	}
	s.settled[i] = true
	if ok && !s.aggAt {
		s.got = append(s.got, i)
	}
	s.pending--
	if s.pending == 0 {
		s.aggregate()
	}
}

func (s *psState) aggregate() {
	r := s.r
	if s.aggAt || s.failed {
		return
	}
	s.aggAt = true
	for i, x := range s.ups {
		if x != nil && x.live {
			r.abort(x, true) // rejected: past the deadline
			r.markLate(i)
			s.settled[i] = true // it still gets the result
		}
	}
	for i := range r.n {
		if r.alive[i] && !s.settled[i] && !r.done[i] {
			r.markLate(i)
		}
	}
	for i := range r.n {
		if r.alive[i] && s.settled[i] {
			s.sendResult(i)
		}
	}
	s.maybeServerDone()
}

func (s *psState) aggBytes() int64 {
	if s.cfg.AggregateBytes > 0 {
		return s.cfg.AggregateBytes
	}
	var m int64
	for i := range s.r.n {
		if s.r.has[i] {
			m = max(m, s.r.bytes[i])
		}
	}
	return m
}

func (s *psState) sendResult(i int) {
	r := s.r
	if i == s.server {
		return
	}
	got := slices.Clone(s.got)
	s.sending++
	up := -1
	if s.cfg.Server >= 0 {
		up = s.cfg.Server
	}
	r.send(s.server, i, up, i, s.aggBytes(), func(float64) {
		r.received[i] = got
		r.finish(i)
		s.sending--
		s.maybeServerDone()
	}, func() { s.sending--; s.maybeServerDone() })
}

func (s *psState) maybeServerDone() {
	if g := s.cfg.Server; g >= 0 && s.aggAt && s.sending == 0 && s.r.alive[g] {
		s.r.received[g] = slices.Clone(s.got)
		s.r.finish(g)
	}
}

func (ParameterServer) crash(r *Exchange, i int) {
	s := r.st.(*psState)
	if s.cfg.Server == i {
		s.fail()
		return
	}
	if !s.aggAt {
		s.settle(i, false)
	}
}

// fail: the server is gone; nobody gets an aggregate this round. Nodes
// already exchanging stop now; the others stop when they are ready.
func (s *psState) fail() {
	r := s.r
	s.failed = true
	for i := range r.n {
		if r.alive[i] && !r.done[i] && (s.settled[i] || s.ups[i] != nil) {
			for _, x := range r.xfers[i] {
				r.abort(x, true)
			}
			r.received[i] = []int{}
			r.finish(i)
		}
	}
}
