package strategy

import (
	"math"
	"slices"

	"github.com/locosim/locosim/sim"
)

// regions groups the nodes into strategy.async.regions regions by k-means
// on their latency-space coordinates (deterministic: the first centre is
// the node nearest the origin, each next one the node farthest from those
// chosen), and starts a regional server on each region's best-connected
// node, with the global θ.
func (s *Async) regions(c *sim.Core) {
	nodes := c.Cluster().Nodes
	R := s.cfg.Regions
	dist := func(i int, x, y float64) float64 { return math.Hypot(nodes[i].XMs-x, nodes[i].YMs-y) }
	first := 0
	for i := range nodes {
		if dist(i, 0, 0) < dist(first, 0, 0) {
			first = i
		}
	}
	cx, cy := []float64{nodes[first].XMs}, []float64{nodes[first].YMs}
	for len(cx) < R {
		far, farD := -1, -1.0
		for i := range nodes {
			d := math.Inf(1)
			for k := range cx {
				d = math.Min(d, dist(i, cx[k], cy[k]))
			}
			if d > farD {
				far, farD = i, d
			}
		}
		cx, cy = append(cx, nodes[far].XMs), append(cy, nodes[far].YMs)
	}
	of := make([]int, len(nodes))
	for range 20 {
		for i := range nodes {
			best := 0
			for k := range cx {
				if dist(i, cx[k], cy[k]) < dist(i, cx[best], cy[best]) {
					best = k
				}
			}
			of[i] = best
		}
		for k := range cx {
			var sx, sy float64
			n := 0
			for i := range nodes {
				if of[i] == k {
					sx, sy, n = sx+nodes[i].XMs, sy+nodes[i].YMs, n+1
				}
			}
			if n > 0 {
				cx[k], cy[k] = sx/float64(n), sy/float64(n)
			}
		}
	}
	// A region left empty takes no server; the others are numbered 1...
	bw := func(j int) float64 { return math.Min(nodes[j].BwUpMbps, nodes[j].BwDownMbps) }
	id := map[int]int{}
	for i := range nodes {
		k := of[i]
		if _, ok := id[k]; !ok {
			id[k] = len(s.srv)
			s.srv = append(s.srv, &server{id: len(s.srv), host: -1})
		}
		srv := s.srv[id[k]]
		s.home[i] = srv.id
		if srv.host < 0 || bw(i) > bw(srv.host) {
			srv.host = i
		}
	}
	theta := s.env.Theta.Params()
	s.momentum = make([]float32, len(theta))
	for _, srv := range s.srv[1:] {
		srv.theta, srv.base = slices.Clone(theta), slices.Clone(theta)
		srv.delta = make([]float32, len(theta))
	}
}

// syncUp sends the region's progress since it last merged to the global
// server, unless an exchange is under way (then once it is over) or its
// host is down (then when it is back).
func (s *Async) syncUp(c *sim.Core, srv *server) error {
	if srv.phase != phaseIdle || !c.Up(srv.host) {
		srv.due = true
		return nil
	}
	for j, x := range srv.theta {
		srv.delta[j] = srv.base[j] - x
	}
	srv.sent = slices.Clone(srv.theta)
	srv.phase, srv.updates, srv.due = phaseUp, 0, false
	return c.Send(sim.Message{From: srv.host, To: c.Server(), Bytes: c.ModelBytes(), Tag: tag(tagUp, srv.id, 0)})
}

// mergeUp: the global server takes a region's progress, as one outer step
// (heavy-ball momentum), and sends the global θ back.
func (s *Async) mergeUp(c *sim.Core, srv *server) error {
	g := s.srv[0]
	lr, mu := float32(s.cfg.GlobalLR), float32(s.cfg.GlobalMomentum)
	for j, d := range srv.delta {
		outerStep(g.theta, s.momentum, j, d, lr, mu, false)
	}
	g.v++
	return s.sendDown(c, srv)
}

func (s *Async) sendDown(c *sim.Core, srv *server) error {
	srv.phase, srv.back = phaseDown, slices.Clone(s.srv[0].theta)
	return c.Send(sim.Message{From: c.Server(), To: srv.host, Bytes: c.ModelBytes(), Tag: tag(tagDown, srv.id, s.srv[0].v)})
}

// mergeDown: the region takes the global θ plus its own progress since
// its progress left.
func (s *Async) mergeDown(c *sim.Core, srv *server) error {
	for j, x := range srv.theta {
		srv.theta[j] = srv.back[j] + (x - srv.sent[j])
	}
	copy(srv.base, srv.back)
	srv.v++
	srv.sent, srv.back, srv.phase = nil, nil, phaseIdle
	if srv.due {
		return s.syncUp(c, srv)
	}
	return nil
}

// hostFailed: what was on its way between the region and the global
// server is lost. Progress that never arrived is sent again; a global θ
// that never arrived (phaseDown) is sent again when the host is back.
func (s *Async) hostFailed(srv *server) {
	if srv.phase == phaseUp {
		srv.sent, srv.phase, srv.due = nil, phaseIdle, true
	}
}

func (s *Async) hostBack(c *sim.Core, srv *server) error {
	switch {
	case srv.phase == phaseDown:
		return s.sendDown(c, srv)
	case srv.due:
		return s.syncUp(c, srv)
	}
	return nil
}
