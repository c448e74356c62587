package netmodel

import (
	"errors"
	"fmt"
	"math"

	"github.com/locosim/locosim/des"
)

// BytesPerMbps converts Mbit/s to bytes/s.
const BytesPerMbps = 1e6 / 8

// Network is a Cluster wired onto a Fabric: every endpoint (each node and
// the object store) has its own uplink and downlink, and the core between
// them is not a bottleneck. A flow from a to b crosses a's uplink and b's
// downlink; its acknowledgements cross b's uplink and a's downlink.
type Network struct {
	cluster  *Cluster
	fabric   *Fabric
	eng      *des.Engine
	seed     uint64
	up, down []LinkID
}

// NewNetwork wires cluster onto a new fabric scheduling on eng. seed drives
// the pattern's random choices (gather peers), distinct per round.
func NewNetwork(c *Cluster, eng *des.Engine, seed uint64) (*Network, error) {
	if c == nil || len(c.Nodes) == 0 {
		return nil, errors.New("netmodel: cluster has no nodes")
	}
	f, err := NewFabric(eng, c.Sharing)
	if err != nil {
		return nil, err
	}
	n := &Network{cluster: c, fabric: f, eng: eng, seed: seed}
	mk := func(mbps float64, what string, e int) (LinkID, error) {
		if mbps == 0 && e == c.StoreID() {
			return f.AddLink(math.Inf(1))
		}
		l, err := f.AddLink(mbps * BytesPerMbps)
		if err != nil {
			return -1, fmt.Errorf("netmodel: endpoint %d %s: %w", e, what, err)
		}
		return l, nil
	}
	for e := range c.Endpoints() {
		upM, downM := c.Store.BwUpMbps, c.Store.BwDownMbps
		if e < len(c.Nodes) {
			upM, downM = c.Nodes[e].BwUpMbps, c.Nodes[e].BwDownMbps
		}
		u, err := mk(upM, "uplink", e)
		if err != nil {
			return nil, err
		}
		d, err := mk(downM, "downlink", e)
		if err != nil {
			return nil, err
		}
		n.up, n.down = append(n.up, u), append(n.down, d)
	}
	return n, nil
}

// Cluster returns the network's cluster.
func (n *Network) Cluster() *Cluster { return n.cluster }

// Fabric returns the underlying flow fabric.
func (n *Network) Fabric() *Fabric { return n.fabric }

// Engine returns the engine the network schedules on.
func (n *Network) Engine() *des.Engine { return n.eng }

// Transfer starts moving bytes from endpoint src to endpoint dst now (use
// Cluster().StoreID() for the store); done runs when the last byte arrives.
func (n *Network) Transfer(src, dst int, bytes float64, done func(end float64)) (FlowID, error) {
	ne := n.cluster.Endpoints()
	if src < 0 || src >= ne || dst < 0 || dst >= ne || src == dst {
		return FlowID{}, fmt.Errorf("netmodel: transfer %d→%d: bad endpoints (have %d)", src, dst, ne)
	}
	owner := dst
	if dst == n.cluster.StoreID() {
		owner = src
	}
	return n.fabric.Start(FlowSpec{
		Node:     owner,
		Route:    []LinkID{n.up[src], n.down[dst]},
		Reverse:  []LinkID{n.up[dst], n.down[src]},
		Bytes:    bytes,
		LatencyS: n.cluster.LatencyS(src, dst),
	}, done)
}

// AloneS is the time a transfer would take with the network otherwise idle
// (the model's single-flow closed form): λ·L + S/min(β·B_up, β·B_down,
// β·γ/(2L)), the bandwidth factor β scaling the TCP window bound as it
// scales the links.
func (n *Network) AloneS(src, dst int, bytes float64) float64 {
	c, sh := n.cluster, n.fabric.sh
	bw := math.Min(n.fabric.links[n.up[src]].cap, n.fabric.links[n.down[dst]].cap)
	L := c.LatencyS(src, dst)
	bw = math.Min(bw, sh.windowBound(L))
	if bytes == 0 {
		return L * sh.LatencyFactor
	}
	return L*sh.LatencyFactor + bytes/bw
}
