package sim_test

import (
	"context"
	"testing"

	"github.com/locosim/locosim/record"
	"github.com/locosim/locosim/sim"
)

func runWith(t *testing.T, cfg sim.Config, faults ...sim.Fault) *sim.Memory {
	t.Helper()
	r, err := sim.NewRun(cfg, sim.Options{Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	mem := &sim.Memory{}
	if _, err := r.Run(context.Background(), mem, nil); err != nil {
		t.Fatal(err)
	}
	return mem
}

func roundOf(m *sim.Memory, round, node int64) record.Round {
	for _, rr := range m.Rounds {
		if rr.Round == round && rr.Node == node {
			return rr
		}
	}
	return record.Round{}
}

func faultEvents(m *sim.Memory, kind string) []record.Event {
	var out []record.Event
	for _, e := range m.Events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// A degraded uplink slows its node's uploads, and the trace says so.
func TestFaultLinkDegradation(t *testing.T) {
	base := tinyRun()
	base.Projection = sim.ProjectionConfig{Params: 1e8, TokensPerStep: 8192}
	plain := runWith(t, base)
	node := int64(slowestUploader(plain, base.Cluster.Nodes))
	other := (node + 1) % int64(base.Cluster.Nodes)
	slow := base
	slow.Faults.Links = []sim.LinkFault{{Node: int(node), Direction: "up", Factor: 0.1}}
	deg := runWith(t, slow)
	a, b := roundOf(plain, 0, node), roundOf(deg, 0, node)
	if !(b.UploadEndS-b.UploadStartS > 5*(a.UploadEndS-a.UploadStartS)) {
		t.Errorf("node %d's upload took %g s at a tenth of its uplink, %g s at full", node, b.UploadEndS-b.UploadStartS, a.UploadEndS-a.UploadStartS)
	}
	if x, y := roundOf(plain, 0, other), roundOf(deg, 0, other); x.UploadEndS-x.UploadStartS != y.UploadEndS-y.UploadStartS {
		t.Errorf("node %d's upload moved: %g s vs %g s", other, y.UploadEndS-y.UploadStartS, x.UploadEndS-x.UploadStartS)
	}
	ev := faultEvents(deg, record.KindDegraded)
	if len(ev) != 1 || ev[0].Node != node || ev[0].Round != -1 {
		t.Errorf("degraded events %+v", ev)
	}
}

// A partition holds up the transfers that cross it: the nodes cut off from
// the object store upload only once it heals; the others' uploads do not
// move.
func TestFaultPartition(t *testing.T) {
	base := tinyRun()
	base.Projection = sim.ProjectionConfig{Params: 1e8, TokensPerStep: 8192}
	plain := runWith(t, base)
	cut := base
	cut.Faults.Partitions = []sim.PartitionFault{{Nodes: []int{0, 1}, StartS: 0, EndS: 100}}
	part := runWith(t, cut)
	for _, node := range []int64{0, 1} {
		if rr := roundOf(part, 0, node); !(rr.UploadEndS > 100) {
			t.Errorf("node %d uploaded by %g s, inside the partition", node, rr.UploadEndS)
		}
	}
	if x, y := roundOf(plain, 0, 3), roundOf(part, 0, 3); x.UploadStartS != y.UploadStartS || x.UploadEndS != y.UploadEndS {
		t.Errorf("node 3's upload moved: [%g, %g] vs [%g, %g]", y.UploadStartS, y.UploadEndS, x.UploadStartS, x.UploadEndS)
	}
	if ev := faultEvents(part, record.KindPartitioned); len(ev) != 2 || ev[0].Node != 0 || ev[1].Node != 1 || ev[0].EndS != 100 {
		t.Errorf("partitioned events %+v", ev)
	}
}

// outage is a researcher's own fault: one node unavailable for a while.
type outage struct {
	node     int
	from, to float64
}

func (o outage) Install(s *sim.FaultSeam) error { return s.Outage(o.node, o.from, o.to) }

// A fault of one's own goes in through the same seam as the built-in ones.
func TestFaultOfOnesOwn(t *testing.T) {
	base := tinyRun()
	plain := runWith(t, base)
	r1 := roundOf(plain, 1, 3)
	// Down from the middle of round 1's compute to well after the run.
	mid := (r1.UploadStartS - r1.ComputeS/2)
	m := runWith(t, base, outage{node: 3, from: mid, to: 1e9})
	if got := roundOf(m, 1, 3).Status; got != record.StatusCrashed {
		t.Errorf("round 1: node 3 is %s, want crashed", got)
	}
	if got := roundOf(m, 2, 3).Status; got != record.StatusDown {
		t.Errorf("round 2: node 3 is %s, want down", got)
	}
	if _, err := sim.NewRun(base, sim.Options{Faults: []sim.Fault{outage{node: 9, from: 0, to: 1}}}); err == nil {
		t.Error("an outage of a missing node was accepted")
	}
}

func TestFaultConfigErrors(t *testing.T) {
	for name, mod := range map[string]func(*sim.Config){
		"link node":      func(c *sim.Config) { c.Faults.Links = []sim.LinkFault{{Node: 9, Direction: "up", Factor: 0.5}} },
		"link direction": func(c *sim.Config) { c.Faults.Links = []sim.LinkFault{{Node: 0, Direction: "sideways", Factor: 0.5}} },
		"link factor":    func(c *sim.Config) { c.Faults.Links = []sim.LinkFault{{Node: 0, Direction: "up", Factor: 0}} },
		"link times": func(c *sim.Config) {
			c.Faults.Links = []sim.LinkFault{{Node: 0, Direction: "up", Factor: 0.5, StartS: 5, EndS: 4}}
		},
		"partition empty": func(c *sim.Config) { c.Faults.Partitions = []sim.PartitionFault{{EndS: 1}} },
		"partition node":  func(c *sim.Config) { c.Faults.Partitions = []sim.PartitionFault{{Nodes: []int{-1}, EndS: 1}} },
	} {
		cfg := tinyRun()
		mod(&cfg)
		if _, err := sim.NewRun(cfg, sim.Options{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Two degradations of one link compound, and the end of one leaves the
// other in force.
func TestFaultLinkDegradationsCompound(t *testing.T) {
	base := tinyRun()
	base.Projection = sim.ProjectionConfig{Params: 1e8, TokensPerStep: 8192}
	node := slowestUploader(runWith(t, base), base.Cluster.Nodes)
	one := base
	one.Faults.Links = []sim.LinkFault{{Node: node, Direction: "up", Factor: 0.25}, {Node: node, Direction: "down", Factor: 0.5}}
	two := base
	// 0.5 × 0.5 for good, with a third one that comes and goes first.
	two.Faults.Links = []sim.LinkFault{{Node: node, Direction: "up", Factor: 0.5}, {Node: node, Direction: "both", Factor: 0.5},
		{Node: node, Direction: "up", Factor: 0.1, EndS: 1e-3}}
	a, b := roundOf(runWith(t, one), 0, int64(node)), roundOf(runWith(t, two), 0, int64(node))
	if a.UploadEndS-a.UploadStartS != b.UploadEndS-b.UploadStartS {
		t.Errorf("node %d's upload took %g s under ×0.5×0.5, %g s under ×0.25", node, b.UploadEndS-b.UploadStartS, a.UploadEndS-a.UploadStartS)
	}
}

// slowestUploader is the node whose round-0 upload took longest: it is
// limited by its uplink, not by latency or the TCP window.
func slowestUploader(m *sim.Memory, nodes int) int {
	best := 0
	for i := range nodes {
		d, e := roundOf(m, 0, int64(i)), roundOf(m, 0, int64(best))
		if d.UploadEndS-d.UploadStartS > e.UploadEndS-e.UploadStartS {
			best = i
		}
	}
	return best
}
