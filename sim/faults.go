package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/des"
	"github.com/locosim/locosim/netmodel"
	"github.com/locosim/locosim/record"
)

// A Fault is one way a run goes wrong. Every fault goes in through the same
// seam, a FaultSeam, before the run starts: node availability (crashes,
// churn, rejoins), link capacity over time (degradation, partitions) and
// payload tampering are each one implementation of this interface, and
// each shows in the traces.
type Fault interface {
	Install(s *FaultSeam) error
}

// FaultSeam is what a fault acts on: when each node is up, what each link
// carries over time, and what each node's payloads say. Its methods are
// valid only while faults are being installed.
type FaultSeam struct {
	r       *Run
	events  []record.Event        // what the traces show of link faults
	factors map[linkKey][]float64 // degradations in force, per link
}

// linkKey names a node's uplink (up) or downlink.
type linkKey struct {
	node int
	up   bool
}

// Nodes is the number of nodes.
func (s *FaultSeam) Nodes() int { return s.r.cluster.Len() }

// Seed is the run's seed, for faults that draw at random.
func (s *FaultSeam) Seed() uint64 { return s.r.cfg.Seed }

func (s *FaultSeam) node(i int) error {
	if i < 0 || i >= s.Nodes() {
		return fmt.Errorf("node %d out of range [0, %d)", i, s.Nodes())
	}
	return nil
}

// Outage makes node i unavailable from startS to endS (+Inf: for good). A
// node that is computing or exchanging then fails; one that is down at a
// round's start sits it out and fetches the model when it is back. The
// rounds' records show it (statuses crashed and down, fail and down
// events).
func (s *FaultSeam) Outage(i int, startS, endS float64) error {
	if err := s.node(i); err != nil {
		return err
	}
	if !(startS >= 0) || math.IsInf(startS, 0) || !(endS > startS) {
		return fmt.Errorf("outage of node %d from %g s to %g s", i, startS, endS)
	}
	s.r.cluster.Nodes[i].AddOutage(netmodel.Interval{StartS: startS, EndS: endS})
	return nil
}

// Degrade multiplies node i's uplink and/or downlink capacity by factor
// from startS to endS (+Inf: for good). The events trace shows it as a
// "degraded" span of the node (round −1).
func (s *FaultSeam) Degrade(i int, up, down bool, factor, startS, endS float64) error {
	if err := s.node(i); err != nil {
		return err
	}
	if !(factor > 0) || math.IsInf(factor, 0) || !(startS >= 0) || math.IsInf(startS, 0) || !(endS > startS) || (!up && !down) {
		return fmt.Errorf("degradation of node %d (up %v, down %v, ×%g from %g s to %g s)", i, up, down, factor, startS, endS)
	}
	net := s.r.net
	// Degradations of one link compound: its capacity is the nominal one
	// times the factors in force.
	set := func(on bool) {
		for _, dir := range []bool{true, false} {
			if (dir && !up) || (!dir && !down) {
				continue
			}
			k := linkKey{i, dir}
			if on {
				s.factors[k] = append(s.factors[k], factor)
			} else if j := slices.Index(s.factors[k], factor); j >= 0 {
				s.factors[k] = slices.Delete(s.factors[k], j, j+1)
			}
			c := net.Bandwidth(i, dir)
			for _, f := range s.factors[k] {
				c *= f
			}
			if err := net.SetBandwidth(i, dir, c); err != nil {
				s.r.faultErr = errors.Join(s.r.faultErr, err)
			}
		}
	}
	// Link faults act before the nodes' own events at the same instant.
	if err := s.at(startS, func() { set(true) }); err != nil {
		return err
	}
	if !math.IsInf(endS, 1) {
		if err := s.at(endS, func() { set(false) }); err != nil {
			return err
		}
	}
	s.events = append(s.events, record.Event{Node: int64(i), Round: -1, Kind: record.KindDegraded, StartS: startS, EndS: endS})
	return nil
}

// Partition cuts the given nodes (and the object store, if store) off from
// the others from startS to endS: transfers between the two sides stop
// where they are until it heals, transfers within a side go on. The events
// trace shows a "partitioned" span for every node of the listed side.
func (s *FaultSeam) Partition(nodes []int, store bool, startS, endS float64) error {
	side := make([]bool, s.r.cluster.Endpoints())
	for _, i := range nodes {
		if err := s.node(i); err != nil {
			return err
		}
		side[i] = true
	}
	side[s.r.cluster.StoreID()] = store
	if !(startS >= 0) || math.IsInf(startS, 0) || !(endS > startS) {
		return fmt.Errorf("partition from %g s to %g s", startS, endS)
	}
	net := s.r.net
	id := 0
	if err := s.at(startS, func() {
		var err error
		if id, err = net.Partition(side); err != nil {
			s.r.faultErr = errors.Join(s.r.faultErr, err)
		}
	}); err != nil {
		return err
	}
	if !math.IsInf(endS, 1) {
		if err := s.at(endS, func() { net.Heal(id) }); err != nil {
			return err
		}
	}
	for _, i := range slices.Sorted(slices.Values(nodes)) {
		s.events = append(s.events, record.Event{Node: int64(i), Round: -1, Kind: record.KindPartitioned, StartS: startS, EndS: endS})
	}
	return nil
}

// Tamper has node i pass every payload it sends through fn before it is
// encoded (fn may change it in place). nodes.parquet marks the node
// malicious.
func (s *FaultSeam) Tamper(i int, fn func(p *compress.Payload, round int)) error {
	if err := s.node(i); err != nil {
		return err
	}
	if fn == nil {
		return errors.New("nil tamper function")
	}
	n := s.r.nodes[i]
	if prev := n.tamper; prev != nil {
		n.tamper = func(p *compress.Payload, round int) { prev(p, round); fn(p, round) }
	} else {
		n.tamper = fn
	}
	return nil
}

func (s *FaultSeam) at(t float64, fn func()) error {
	_, err := s.r.eng.Schedule(t, des.Node(-1), fn)
	return err
}

// Churn is node availability: the explicit crash and rejoin events and the
// random failures of cluster.churn.
type Churn struct{ Config netmodel.ChurnConfig }

func (c Churn) Install(s *FaultSeam) error {
	outages, err := c.Config.Outages(s.Nodes(), s.Seed())
	if err != nil {
		return fmt.Errorf("cluster.%w", err)
	}
	for i, ivs := range outages {
		for _, iv := range ivs {
			if err := s.Outage(i, iv.StartS, iv.EndS); err != nil {
				return err
			}
		}
	}
	return nil
}

// LinkFault degrades one node's links for a while (faults.links).
type LinkFault struct {
	Node int `mapstructure:"node" yaml:"node"`
	// Direction is up, down or both.
	Direction string  `mapstructure:"direction" yaml:"direction"`
	Factor    float64 `mapstructure:"factor" yaml:"factor"`   // capacity multiplier, > 0
	StartS    float64 `mapstructure:"start_s" yaml:"start_s"` // when it begins
	EndS      float64 `mapstructure:"end_s" yaml:"end_s"`     // when it ends (0: never)
}

func (l LinkFault) Install(s *FaultSeam) error {
	up, down := l.Direction == "up" || l.Direction == "both", l.Direction == "down" || l.Direction == "both"
	if !up && !down {
		return fmt.Errorf("direction %q: want up, down or both", l.Direction)
	}
	return s.Degrade(l.Node, up, down, l.Factor, l.StartS, endOrNever(l.EndS))
}

// PartitionFault cuts a group of nodes off from the rest for a while
// (faults.partitions): a partition between regions.
type PartitionFault struct {
	Nodes  []int   `mapstructure:"nodes" yaml:"nodes"`
	Store  bool    `mapstructure:"store" yaml:"store"` // the object store is on the nodes' side
	StartS float64 `mapstructure:"start_s" yaml:"start_s"`
	EndS   float64 `mapstructure:"end_s" yaml:"end_s"` // 0: never heals
}

func (p PartitionFault) Install(s *FaultSeam) error {
	if len(p.Nodes) == 0 {
		return errors.New("nodes: a partition needs at least one node on its side")
	}
	return s.Partition(p.Nodes, p.Store, p.StartS, endOrNever(p.EndS))
}

func endOrNever(t float64) float64 {
	if t == 0 {
		return math.Inf(1)
	}
	return t
}

// Tampering is malicious nodes: round(share·n) nodes drawn from the seed
// tamper with every payload they send (faults.malicious_share, attack,
// attack_scale).
type Tampering struct {
	Share  float64
	Attack string
	Scale  float64
}

func (tp Tampering) Install(s *FaultSeam) error {
	rng := rand.New(rand.NewPCG(s.Seed(), 0x6d616c6963696f75)) // "maliciou"
	n := s.Nodes()
	k := int(math.Round(tp.Share * float64(n)))
	bad := rng.Perm(n)[:k]
	slices.Sort(bad)
	for _, i := range bad {
		node := i
		if err := s.Tamper(node, func(p *compress.Payload, round int) { attack(p, tp.Attack, tp.Scale, s.Seed(), node, round) }); err != nil {
			return err
		}
	}
	return nil
}

// attack tampers with a payload: scale (multiply by scale), signflip
// (negate and multiply) or random (noise of the honest payload's shape and
// size: random codes under its statistics, or random values of its RMS,
// then scaled).
func attack(p *compress.Payload, kind string, scale float64, seed uint64, node, round int) {
	switch kind {
	case AttackScale:
		p.Scale(float32(scale))
	case AttackSignFlip:
		p.Scale(float32(-scale))
	case AttackRandom:
		rng := rand.New(rand.NewPCG(compress.DeriveSeed(seed, node, round), 0x72616e646f6d))
		for t := range p.Tensors {
			tp := &p.Tensors[t]
			if tp.Quant != nil {
				for k := range tp.Codes {
					tp.Codes[k] = uint8(rng.IntN(1 << tp.Quant.Bits))
				}
				continue
			}
			var ss float64
			for _, x := range tp.Values {
				ss += float64(x) * float64(x)
			}
			rms := math.Sqrt(ss / float64(max(len(tp.Values), 1)))
			for k := range tp.Values {
				tp.Values[k] = float32(rng.NormFloat64() * rms)
			}
		}
		p.Scale(float32(scale))
	}
}

// faults are the run's faults from its configuration, in the order they
// are installed.
func (c Config) faults() []Fault {
	fs := []Fault{Churn{c.Cluster.Churn}}
	for _, l := range c.Faults.Links {
		fs = append(fs, l)
	}
	for _, p := range c.Faults.Partitions {
		fs = append(fs, p)
	}
	if c.Faults.MaliciousShare > 0 {
		fs = append(fs, Tampering{Share: c.Faults.MaliciousShare, Attack: c.Faults.Attack, Scale: c.Faults.AttackScale})
	}
	return fs
}
