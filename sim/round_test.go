package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/locosim/locosim/des"
	"github.com/locosim/locosim/netmodel"
	"github.com/locosim/locosim/record"
)

// fixedWork hands every node a payload of a fixed size and remembers what
// was asked.
type fixedWork struct {
	sizes []int64
	asked map[int]int // node → steps
}

func (w *fixedWork) request(node, steps int) func() (int64, float64, error) {
	if w.asked == nil {
		w.asked = map[int]int{}
	}
	w.asked[node] = steps
	b := w.sizes[0]
	if len(w.sizes) > 1 {
		b = w.sizes[node]
	}
	return func() (int64, float64, error) { return b, 0, nil }
}

// flat builds n identical 1 TFLOP/s nodes at one point in latency space,
// each with the given access latency; the store sits there too.
func flat(n int, upMbps, downMbps, accessMs, storeMs float64) *netmodel.Cluster {
	sh := netmodel.CM02()
	sh.TCPGammaBytes = 0
	c := &netmodel.Cluster{Sharing: sh, Store: netmodel.StoreConfig{AccessLatencyMs: storeMs}}
	for i := range n {
		c.Nodes = append(c.Nodes, netmodel.Profile{ID: i, Class: "flat", PeakFlops: 1e12, Utilization: 1,
			BwUpMbps: upMbps, BwDownMbps: downMbps, AccessLatencyMs: accessMs})
	}
	return c
}

func netOf(t testing.TB, c *netmodel.Cluster) *netmodel.Network {
	t.Helper()
	n, err := netmodel.NewNetwork(c, des.New(), 1)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func near(a, b, rel float64) bool { return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b)) }

func fixedSpec(n, steps int) roundSpec {
	return roundSpec{sync: SyncFixed, steps: steps, flops: 1e12, catchUp: make([]int64, n)}
}

func TestRoundComputeAndSync(t *testing.T) {
	const n = 4
	c := flat(n, 100, 100, 5, 5)
	// Node 2 runs at half speed from t=0 to t=3.
	c.Nodes[2].Slowdowns = []netmodel.Slowdown{{Interval: netmodel.Interval{StartS: 0, EndS: 3}, Factor: 2}}
	w := &fixedWork{sizes: []int64{1000}}
	res, err := runRound(netOf(t, c), netmodel.TemplarGather(), fixedSpec(n, 4), w)
	if err != nil {
		t.Fatal(err)
	}
	if res.nodes[0].ComputeEndS != 4 {
		t.Errorf("node 0 computed until %g, want 4", res.nodes[0].ComputeEndS)
	}
	// Node 2: 1.5 steps by t=3 at half speed, then 2.5 s: ends at 5.5.
	if !near(res.nodes[2].ComputeEndS, 5.5, 1e-12) {
		t.Errorf("slowed node computed until %g, want 5.5", res.nodes[2].ComputeEndS)
	}
	// Window: 3.2 s fits 3 steps; the slowed node does one (2 s) and is
	// half-way through its second (done at 3.5 s) when the window closes.
	spec := fixedSpec(n, 0)
	spec.sync, spec.windowS = SyncWindow, 3.2
	if res, err = runRound(netOf(t, c), netmodel.TemplarGather(), spec, w); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{3, 3, 1, 3} {
		if res.nodes[i].Steps != want || w.asked[i] != want {
			t.Errorf("window: node %d did %d steps (work asked for %d), want %d", i, res.nodes[i].Steps, w.asked[i], want)
		}
		if res.nodes[i].UploadStartS != 3.2 {
			t.Errorf("window: node %d uploaded at %g, want at the window's end", i, res.nodes[i].UploadStartS)
		}
	}
	// Deadline: node 2's payload (ready at 5.5) misses a 5 s deadline.
	spec = fixedSpec(n, 4)
	spec.sync, spec.deadline = SyncDeadline, 5
	if res, err = runRound(netOf(t, c), netmodel.TemplarGather(), spec, w); err != nil {
		t.Fatal(err)
	}
	if res.nodes[2].Status != record.StatusLate || res.nodes[2].InAggregate {
		t.Errorf("deadline: node 2 %+v", res.nodes[2])
	}
	if !res.nodes[0].InAggregate {
		t.Error("deadline: node 0 missing from the aggregate")
	}
	// Wait time fills the gaps: node 0 waits from its upload to the deadline.
	if w := res.nodes[0].WaitS; !(w > 0.9 && w < 1.1+res.endS-5) {
		t.Errorf("node 0 waited %g s", w)
	}
}

func TestRoundCatchUpAndFailures(t *testing.T) {
	const n = 4
	c := flat(n, 100, 80, 5, 5)
	c.Nodes[1].Outages = []netmodel.Interval{{StartS: 0, EndS: 50}}          // down at the start
	c.Nodes[3].Outages = []netmodel.Interval{{StartS: 2, EndS: math.Inf(1)}} // fails while computing
	spec := fixedSpec(n, 4)
	spec.catchUp[0] = 10_000_000
	res, err := runRound(netOf(t, c), netmodel.TemplarGather(), spec, &fixedWork{sizes: []int64{1000}})
	if err != nil {
		t.Fatal(err)
	}
	catch := 0.010 + 10e6/(80*netmodel.BytesPerMbps)
	if !near(res.nodes[0].ComputeStartS, catch, 1e-9) || res.nodes[0].Status != record.StatusRejoined {
		t.Errorf("rejoining node: compute from %g (want %g), status %s", res.nodes[0].ComputeStartS, catch, res.nodes[0].Status)
	}
	if res.nodes[1].Status != record.StatusDown {
		t.Errorf("down node: %+v", res.nodes[1])
	}
	if res.nodes[3].Status != record.StatusCrashed || res.nodes[3].ComputeEndS != 2 {
		t.Errorf("crashed node: %+v", res.nodes[3])
	}
	if !slices.Equal(res.aggregate, []int{0, 2}) {
		t.Errorf("aggregate %v, want [0 2]", res.aggregate)
	}
	kinds := map[string]bool{}
	for _, a := range res.activities {
		kinds[a.Kind] = true
		if a.EndS < a.StartS || a.StartS < 0 || a.EndS > res.endS+1e-9 {
			t.Errorf("activity out of the round: %+v (round ends %g)", a, res.endS)
		}
	}
	for _, k := range record.Kinds {
		if !kinds[k] {
			t.Errorf("no %s activity", k)
		}
	}
}

func TestRoundSpecErrors(t *testing.T) {
	net := netOf(t, flat(3, 10, 10, 1, 1))
	ok := fixedSpec(3, 1)
	for name, mut := range map[string]func(*roundSpec){
		"unknown sync":           func(s *roundSpec) { s.sync = "eventually" },
		"deadline mode, no dl":   func(s *roundSpec) { s.sync = SyncDeadline },
		"deadline inside window": func(s *roundSpec) { s.sync, s.windowS, s.deadline = SyncWindow, 10, 5 },
		"fixed with deadline":    func(s *roundSpec) { s.deadline = 3 },
		"no steps":               func(s *roundSpec) { s.steps = 0 },
		"negative flops":         func(s *roundSpec) { s.flops = -1 },
		"negative catch-up":      func(s *roundSpec) { s.catchUp[1] = -1 },
		"catch-up lengths":       func(s *roundSpec) { s.catchUp = []int64{0} },
		"negative max steps":     func(s *roundSpec) { s.sync, s.windowS, s.maxSteps = SyncWindow, 1, -1 },
		"start in the past":      func(s *roundSpec) { s.startS = -1 },
	} {
		s := ok
		s.catchUp = slices.Clone(ok.catchUp)
		mut(&s)
		if _, err := runRound(net, netmodel.TemplarGather(), s, &fixedWork{sizes: []int64{1}}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := runRound(net, netmodel.TemplarGather(), ok, &fixedWork{sizes: []int64{-1}}); err == nil {
		t.Error("a negative payload size was accepted")
	}
	if _, err := runRound(netOf(t, flat(3, 10, 10, 1, 1)), netmodel.TemplarGather(), ok, &fixedWork{sizes: []int64{1}}); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
}

// In window mode each node's work asks for the steps that fit, capped by
// maxSteps, and its payload size is whatever that work produced.
func TestRoundMaxStepsAndPayloadSizes(t *testing.T) {
	const n = 3
	c := flat(n, 100, 100, 5, 5)
	w := &fixedWork{sizes: []int64{1000, 2000, 3000}}
	spec := fixedSpec(n, 0)
	spec.sync, spec.windowS, spec.maxSteps = SyncWindow, 10, 4
	res, err := runRound(netOf(t, c), netmodel.TemplarGather(), spec, w)
	if err != nil {
		t.Fatal(err)
	}
	for i, nr := range res.nodes {
		if nr.Steps != 4 || w.asked[i] != 4 || nr.BytesUp != w.sizes[i] {
			t.Errorf("node %d: %d steps (asked %d), %d bytes up; want 4 and %d", i, nr.Steps, w.asked[i], nr.BytesUp, w.sizes[i])
		}
	}
}

// TestRandomRounds runs many random clusters, patterns and sync modes with
// churn and catch-up, and checks that every round ends and its results
// hang together.
func TestRandomRounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	trials := 150
	if testing.Short() {
		trials = 30
	}
	for trial := range trials {
		cfg := netmodel.DefaultConfig()
		cfg.Nodes = 2 + rng.IntN(14)
		cfg.Sharing.Model = []string{netmodel.ModelRaw, netmodel.ModelMaxMin, netmodel.ModelLV08}[rng.IntN(3)]
		if rng.IntN(2) == 0 {
			cfg.Store.BwUpMbps, cfg.Store.BwDownMbps = 50+rng.Float64()*500, 50+rng.Float64()*500
		}
		cfg.Churn.MtbfS, cfg.Churn.MeanDowntimeS = 50+rng.Float64()*300, 5+rng.Float64()*60
		c, err := netmodel.Build(cfg, uint64(trial))
		if err != nil {
			t.Fatal(err)
		}
		net, err := netmodel.NewNetwork(c, des.New(), uint64(trial))
		if err != nil {
			t.Fatal(err)
		}
		x := netmodel.DefaultExchangeConfig()
		x.Pattern = []string{netmodel.PatternStore, netmodel.PatternP2P, netmodel.PatternRing, netmodel.PatternPS}[rng.IntN(4)]
		x.Gather.Peers, x.Gather.ReservePeers = rng.IntN(cfg.Nodes+1), rng.IntN(4)
		x.Gather.PeerTimeoutS, x.Gather.GatherTimeoutS = 5+rng.Float64()*30, 20+rng.Float64()*200
		x.Ring.RestartS = rng.Float64() * 10
		x.PS.Server = rng.IntN(cfg.Nodes+1) - 1
		pat, err := x.Build(cfg.Nodes)
		if err != nil {
			t.Fatal(err)
		}
		start := 0.0
		for round := range 3 {
			spec := roundSpec{round: round, startS: start, flops: 1e13 * (1 + rng.Float64()*20), catchUp: make([]int64, cfg.Nodes)}
			switch rng.IntN(3) {
			case 0:
				spec.sync, spec.steps = SyncFixed, 1+rng.IntN(5)
			case 1:
				spec.sync, spec.windowS = SyncWindow, 1+rng.Float64()*10
				if rng.IntN(2) == 0 {
					spec.deadline = start + spec.windowS + 1 + rng.Float64()*20
				}
			case 2:
				spec.sync, spec.steps, spec.deadline = SyncDeadline, 1+rng.IntN(5), start+1+rng.Float64()*30
			}
			if rng.IntN(3) == 0 {
				for i := range spec.catchUp {
					spec.catchUp[i] = int64(rng.IntN(5_000_000))
				}
			}
			res, err := runRound(net, pat, spec, &fixedWork{sizes: []int64{int64(rng.IntN(20_000_000))}})
			if err != nil {
				t.Fatalf("trial %d round %d (%s, %s): %v", trial, round, x.Pattern, spec.sync, err)
			}
			checkRound(t, trial, start, res)
			if n := net.Fabric().ActiveFlows(); n != 0 {
				t.Fatalf("trial %d round %d: %d flows still active after the round", trial, round, n)
			}
			start = res.endS + rng.Float64()*20
		}
	}
}

func checkRound(t *testing.T, trial int, start float64, res *roundResult) {
	t.Helper()
	if !(res.endS >= start) {
		t.Fatalf("trial %d: round ends %g before it starts %g", trial, res.endS, start)
	}
	in := map[int]bool{}
	for _, a := range res.aggregate {
		in[a] = true
	}
	for i, nr := range res.nodes {
		if !slices.Contains(record.Statuses, nr.Status) {
			t.Fatalf("trial %d node %d: status %q", trial, i, nr.Status)
		}
		if nr.InAggregate != in[i] {
			t.Fatalf("trial %d node %d: InAggregate %v but aggregate %v", trial, i, nr.InAggregate, res.aggregate)
		}
		if nr.Status == record.StatusLate && in[i] {
			t.Fatalf("trial %d node %d: a late payload is in the aggregate", trial, i)
		}
		if nr.Status == record.StatusDown && (nr.BytesUp != 0 || nr.BytesDown != 0 || nr.Steps != 0 || in[i]) {
			t.Fatalf("trial %d node %d: a down node took part: %+v", trial, i, nr)
		}
		if nr.BytesUp < 0 || nr.BytesDown < 0 || nr.WaitS < 0 {
			t.Fatalf("trial %d node %d: %+v", trial, i, nr)
		}
		if nr.EndS > res.endS+1e-9 || nr.ComputeEndS < nr.ComputeStartS || math.IsNaN(nr.UploadStartS) || math.IsNaN(nr.DownloadEndS) {
			t.Fatalf("trial %d node %d: times %+v (round ends %g)", trial, i, nr, res.endS)
		}
	}
	for _, a := range res.activities {
		if a.StartS < start-1e-9 || a.EndS > res.endS+1e-9 || a.EndS < a.StartS || math.IsNaN(a.StartS) {
			t.Fatalf("trial %d: activity %+v outside the round [%g, %g]", trial, a, start, res.endS)
		}
		if !slices.Contains(record.Kinds, a.Kind) {
			t.Fatalf("trial %d: activity kind %q", trial, a.Kind)
		}
	}
}
