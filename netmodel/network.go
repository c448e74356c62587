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
	// Transfers that may cross a partition, and the partitions in force.
	transfers []liveTransfer
	cuts      map[int][]bool
	nextCut   int
	pruneAt   int
}

type liveTransfer struct {
	id       FlowID
	src, dst int
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
	id, err := n.fabric.Start(FlowSpec{
		Node:     owner,
		Route:    []LinkID{n.up[src], n.down[dst]},
		Reverse:  []LinkID{n.up[dst], n.down[src]},
		Bytes:    bytes,
		LatencyS: n.cluster.LatencyS(src, dst),
	}, done)
	if err != nil {
		return id, err
	}
	// Ended transfers are dropped from the list now and then, so that
	// keeping it costs O(1) per transfer.
	if len(n.transfers) >= n.pruneAt {
		n.prune()
		n.pruneAt = max(2*len(n.transfers), 1024)
	}
	n.transfers = append(n.transfers, liveTransfer{id, src, dst})
	if len(n.cuts) > 0 && n.cut(src, dst) {
		n.fabric.Pause(id)
	}
	return id, nil
}

// SetBandwidth sets endpoint e's uplink (up) or downlink capacity, in
// Mbit/s, from now; transfers on it are re-planned.
func (n *Network) SetBandwidth(e int, up bool, mbps float64) error {
	if e < 0 || e >= n.cluster.Endpoints() {
		return fmt.Errorf("netmodel: endpoint %d out of range [0, %d)", e, n.cluster.Endpoints())
	}
	l := n.down[e]
	if up {
		l = n.up[e]
	}
	return n.fabric.SetCapacity(l, mbps*BytesPerMbps)
}

// Bandwidth returns endpoint e's nominal uplink (up) or downlink capacity
// as built, in Mbit/s.
func (n *Network) Bandwidth(e int, up bool) float64 {
	l := n.down[e]
	if up {
		l = n.up[e]
	}
	return n.fabric.Capacity(l) / BytesPerMbps
}

// Partition cuts the endpoints with side[e] set off from the others from
// now: transfers between the two sides stop where they are, and new ones
// wait, until Heal. Transfers within a side go on.
func (n *Network) Partition(side []bool) (int, error) {
	if len(side) != n.cluster.Endpoints() {
		return 0, fmt.Errorf("netmodel: partition of %d endpoints, want %d (the nodes and the store)", len(side), n.cluster.Endpoints())
	}
	if n.cuts == nil {
		n.cuts = map[int][]bool{}
	}
	n.nextCut++
	n.cuts[n.nextCut] = append([]bool(nil), side...)
	n.prune()
	for _, t := range n.transfers {
		if side[t.src] != side[t.dst] {
			n.fabric.Pause(t.id)
		}
	}
	return n.nextCut, nil
}

// Heal ends partition id: the transfers it held up go on (unless another
// partition still holds them).
func (n *Network) Heal(id int) {
	if _, ok := n.cuts[id]; !ok {
		return
	}
	delete(n.cuts, id)
	n.prune()
	for _, t := range n.transfers {
		if !n.cut(t.src, t.dst) {
			n.fabric.Resume(t.id)
		}
	}
}

// cut reports whether a partition in force separates src from dst.
func (n *Network) cut(src, dst int) bool {
	for _, side := range n.cuts {
		if side[src] != side[dst] {
			return true
		}
	}
	return false
}

// prune drops ended transfers from the list partitions look at.
func (n *Network) prune() {
	live := n.transfers[:0]
	for _, t := range n.transfers {
		if n.fabric.Active(t.id) {
			live = append(live, t)
		}
	}
	clear(n.transfers[len(live):])
	n.transfers = live
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
