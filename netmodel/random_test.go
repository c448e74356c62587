package netmodel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/locosim/locosim/des"
)

// conformance is the suite every exchange pattern runs in its own test:
// many random clusters with churn, each exchange with random ready times,
// payloads and deadlines; every exchange must end, its results must hang
// together (checkExchange), no flow or event may outlive it, and the same
// inputs must give the same results.
func conformance(t *testing.T, mk func(rng *rand.Rand, nodes int) Pattern) {
	t.Helper()
	trials := 80
	if testing.Short() {
		trials = 20
	}
	run := func() string {
		rng := rand.New(rand.NewPCG(11, 12))
		var all strings.Builder
		for trial := range trials {
			cfg := DefaultConfig()
			cfg.Nodes = 1 + rng.IntN(15)
			cfg.Sharing.Model = []string{ModelRaw, ModelMaxMin, ModelLV08}[rng.IntN(3)]
			if rng.IntN(2) == 0 {
				cfg.Store.BwUpMbps, cfg.Store.BwDownMbps = 50+rng.Float64()*500, 50+rng.Float64()*500
			}
			cfg.Churn.MtbfS, cfg.Churn.MeanDowntimeS = 50+rng.Float64()*300, 5+rng.Float64()*60
			c, err := Build(cfg, uint64(trial))
			if err != nil {
				t.Fatal(err)
			}
			net, err := NewNetwork(c, des.New(), uint64(trial))
			if err != nil {
				t.Fatal(err)
			}
			pat := mk(rng, cfg.Nodes)
			start := 0.0
			for round := range 3 {
				ex := ExchangeSpec{Round: round, StartS: start, ReadyS: make([]float64, cfg.Nodes)}
				for i := range ex.ReadyS {
					ex.ReadyS[i] = start + rng.Float64()*20
					if rng.IntN(8) == 0 {
						ex.ReadyS[i] = math.Inf(1) // sits this one out
					}
				}
				switch rng.IntN(3) {
				case 0:
					ex.PayloadBytes = []int64{int64(rng.IntN(20_000_000))}
				case 1:
					ex.PayloadBytes = make([]int64, cfg.Nodes)
					for i := range ex.PayloadBytes {
						ex.PayloadBytes[i] = int64(rng.IntN(20_000_000))
					}
				default:
					ex.PayloadBytes = []int64{0}
				}
				if rng.IntN(2) == 0 {
					ex.DeadlineS = start + 0.5 + rng.Float64()*30
				}
				res, err := pat.Run(net, ex)
				if err != nil {
					t.Fatalf("trial %d exchange %d (%s): %v", trial, round, pat.Name(), err)
				}
				checkExchange(t, trial, ex, res, c)
				if n := net.Fabric().ActiveFlows(); n != 0 {
					t.Fatalf("trial %d exchange %d: %d flows still active after the exchange", trial, round, n)
				}
				// Nothing of the exchange is left pending; the fabric may still
				// owe a re-solve of this instant (after a transfer was cut).
				eng := net.Engine()
				if ev, ok := eng.Peek(); eng.Len() > 1 || (ok && (ev.Class != des.ClassSettle || ev.Time != eng.Now())) {
					t.Fatalf("trial %d exchange %d (%s): %d events still pending after the exchange, the next %+v (now %g)",
						trial, round, pat.Name(), eng.Len(), ev, eng.Now())
				}
				fmt.Fprintf(&all, "%v %v %v %v\n", res.EndS, res.Nodes, res.Received, res.Activities)
				start = res.EndS + rng.Float64()*20
			}
		}
		return all.String()
	}
	if a, b := run(), run(); a != b {
		t.Fatal("the same exchanges gave different results")
	}
}

func TestStoreConformance(t *testing.T) {
	conformance(t, func(rng *rand.Rand, n int) Pattern { return randomGather(rng, n) })
}

func TestP2PConformance(t *testing.T) {
	conformance(t, func(rng *rand.Rand, n int) Pattern { return P2PAllGather(randomGather(rng, n)) })
}

func TestRingConformance(t *testing.T) {
	conformance(t, func(rng *rand.Rand, n int) Pattern {
		return RingAllReduce{Order: []string{RingByBandwidth, RingByIndex}[rng.IntN(2)], RestartS: rng.Float64() * 10}
	})
}

func TestPSConformance(t *testing.T) {
	conformance(t, func(rng *rand.Rand, n int) Pattern { return ParameterServer{Server: rng.IntN(n+1) - 1} })
}

func TestSendConformance(t *testing.T) {
	conformance(t, func(rng *rand.Rand, n int) Pattern {
		if rng.IntN(2) == 0 {
			return PointToPoint{}
		}
		dest := make([]int, n)
		for i := range dest {
			dest[i] = rng.IntN(n+1) - 1
			if dest[i] == i {
				dest[i] = -1
			}
		}
		return PointToPoint{Dest: dest}
	})
}

func TestGossipConformance(t *testing.T) {
	conformance(t, func(*rand.Rand, int) Pattern { return PairwiseGossip{} })
}

func randomGather(rng *rand.Rand, n int) ObjectStoreAllGather {
	g := TemplarGather()
	g.Start = []string{GatherBarrier, GatherOwn}[rng.IntN(2)]
	g.Peers, g.Reserve = rng.IntN(n+1), rng.IntN(4)
	g.PeerTimeoutS, g.GatherTimeoutS = 5+rng.Float64()*30, 20+rng.Float64()*200
	return g
}

func checkExchange(t *testing.T, trial int, ex ExchangeSpec, res *ExchangeResult, c *Cluster) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("trial %d exchange %d: "+format, append([]any{trial, ex.Round}, args...)...)
	}
	if res.Round != ex.Round || res.StartS != ex.StartS || !(res.EndS >= res.StartS) {
		fail("round %d over [%g, %g]", res.Round, res.StartS, res.EndS)
	}
	n := c.Len()
	if len(res.Nodes) != n || len(res.Received) != n {
		fail("%d node results and %d received lists for %d nodes", len(res.Nodes), len(res.Received), n)
	}
	in := map[int]bool{}
	for _, a := range res.Aggregate {
		in[a] = true
	}
	if !slices.IsSorted(res.Aggregate) || res.Aggregate == nil {
		fail("aggregate %v not sorted (or nil)", res.Aggregate)
	}
	deadline := ex.DeadlineS
	if deadline == 0 {
		deadline = math.Inf(1)
	}
	up, down := make([]int64, n), make([]int64, n)
	ups, downs := make([]int, n), make([]int, n)
	for k, a := range res.Activities {
		if a.Node < 0 || a.Node >= n {
			fail("activity %+v of no node", a)
		}
		if a.StartS < res.StartS-1e-9 || a.EndS > res.EndS+1e-9 || a.EndS < a.StartS || math.IsNaN(a.StartS) {
			fail("activity %+v outside the exchange [%g, %g]", a, res.StartS, res.EndS)
		}
		if a.Bytes < 0 || a.Peer < 0 || a.Peer > c.StoreID() || a.Peer == a.Node {
			fail("activity %+v", a)
		}
		if k > 0 {
			if b := res.Activities[k-1]; b.Node > a.Node || (b.Node == a.Node && b.StartS > a.StartS) {
				fail("activities not sorted: %+v before %+v", b, a)
			}
		}
		switch a.Kind {
		case Upload:
			up[a.Node] += a.Bytes
			ups[a.Node]++
		case Download:
			down[a.Node] += a.Bytes
			downs[a.Node]++
		default:
			fail("activity kind %v", a.Kind)
		}
	}
	for i, nr := range res.Nodes {
		p := &c.Nodes[i]
		if nr.Node != i {
			fail("node %d reported as %d", i, nr.Node)
		}
		if !slices.IsSorted(res.Received[i]) {
			fail("node %d received %v, not sorted", i, res.Received[i])
		}
		switch nr.Status {
		case OK, Late, Crashed, Down:
		default:
			fail("node %d: status %v", i, nr.Status)
		}
		if wantDown := math.IsInf(ex.ReadyS[i], 1) || !p.UpAt(ex.StartS); (nr.Status == Down) != wantDown {
			fail("node %d ready at %g, up at the start %v: status %v", i, ex.ReadyS[i], p.UpAt(ex.StartS), nr.Status)
		}
		if nr.InAggregate != in[i] {
			fail("node %d: InAggregate %v but aggregate %v", i, nr.InAggregate, res.Aggregate)
		}
		if nr.Status == Late && in[i] {
			fail("node %d: a late payload is in the aggregate", i)
		}
		if nr.Status == Down && (res.Received[i] != nil || nr.BytesUp != 0 || nr.BytesDown != 0 || in[i] ||
			ups[i]+downs[i] != 0 || nr.EndS != res.StartS || !math.IsNaN(nr.UploadStartS) || !math.IsNaN(nr.DownloadStartS)) {
			fail("a down node took part: %+v", nr)
		}
		if nr.Status == Crashed && (res.Received[i] != nil || p.UpAt(nr.EndS)) {
			fail("node %d crashed at %g (up then: %v) holding %v", i, nr.EndS, p.UpAt(nr.EndS), res.Received[i])
		}
		if (nr.Status == OK || nr.Status == Late) && p.NextFailure(ex.StartS) < nr.EndS {
			fail("node %d finished at %g, after its failure at %g", i, nr.EndS, p.NextFailure(ex.StartS))
		}
		// A payload ready after the deadline is late, unless the exchange
		// failed as a whole (a parameter server down or crashed: nobody
		// gets an aggregate, and nobody is late for it).
		if nr.Status == OK && ex.ReadyS[i] > deadline && len(res.Aggregate) > 0 {
			fail("node %d ready at %g, after the deadline %g, is ok", i, ex.ReadyS[i], deadline)
		}
		if nr.BytesUp != up[i] || nr.BytesDown != down[i] {
			fail("node %d: %d bytes up and %d down, its activities %d and %d", i, nr.BytesUp, nr.BytesDown, up[i], down[i])
		}
		if math.IsNaN(nr.UploadStartS) != (ups[i] == 0) || math.IsNaN(nr.UploadEndS) != (ups[i] == 0) ||
			math.IsNaN(nr.DownloadStartS) != (downs[i] == 0) || math.IsNaN(nr.DownloadEndS) != (downs[i] == 0) {
			fail("node %d: phases %+v with %d uploads and %d downloads", i, nr, ups[i], downs[i])
		}
		if nr.UploadEndS < nr.UploadStartS || nr.DownloadEndS < nr.DownloadStartS || nr.UploadStartS < res.StartS || nr.DownloadStartS < res.StartS {
			fail("node %d: phases %+v", i, nr)
		}
		if nr.EndS < res.StartS || nr.EndS > res.EndS+1e-9 {
			fail("node %d: ends %g, outside the exchange [%g, %g]", i, nr.EndS, res.StartS, res.EndS)
		}
		if nr.Status == OK || nr.Status == Late {
			for _, a := range res.Aggregate {
				if !slices.Contains(res.Received[i], a) {
					fail("node %d: aggregate %v not all in what it holds %v", i, res.Aggregate, res.Received[i])
				}
			}
		}
	}
	for i, got := range res.Received {
		for _, j := range got {
			if j < 0 || j >= n {
				fail("node %d holds the payload of node %d", i, j)
			}
			if st := res.Nodes[j].Status; st == Late || st == Down {
				fail("node %d holds the payload of node %d, which is %v", i, j, st)
			}
		}
	}
}

// TestLocalSolveMatchesFull runs random rounds with and without the local
// solver pass: the results must agree (to rounding).
func TestLocalSolveMatchesFull(t *testing.T) {
	defer func() { localSolve = true }()
	trials := 60
	if testing.Short() {
		trials = 15
	}
	totalLocal, totalSolves := 0, 0
	for trial := range trials {
		rng := rand.New(rand.NewPCG(uint64(trial), 99))
		cfg := DefaultConfig()
		cfg.Nodes = 3 + rng.IntN(20)
		cfg.Sharing.Model = []string{ModelMaxMin, ModelLV08}[rng.IntN(2)]
		if rng.IntN(2) == 0 {
			cfg.Store.BwUpMbps, cfg.Store.BwDownMbps = 200+rng.Float64()*5000, 200+rng.Float64()*5000
		}
		c, err := Build(cfg, uint64(trial))
		if err != nil {
			t.Fatal(err)
		}
		x := DefaultExchangeConfig()
		x.Pattern = []string{PatternStore, PatternP2P, PatternRing, PatternPS}[rng.IntN(4)]
		x.Gather.Peers = 1 + rng.IntN(cfg.Nodes)
		pat, _ := x.Build(cfg.Nodes)
		ready := make([]float64, cfg.Nodes)
		for i := range ready {
			ready[i] = rng.Float64() * 5
		}
		payload := []int64{1_000_000 + int64(rng.IntN(1_000_000))}
		var res [2]*ExchangeResult
		for k, on := range []bool{false, true} {
			localSolve = on
			net, _ := NewNetwork(c, des.New(), 1)
			r, err := pat.Run(net, ExchangeSpec{ReadyS: ready, PayloadBytes: payload})
			if err != nil {
				t.Fatal(err)
			}
			res[k] = r
			if on {
				totalLocal += net.Fabric().Stats().LocalSolves
				totalSolves += net.Fabric().Stats().Solves
			}
		}
		a, b := res[0], res[1]
		if !near(a.EndS, b.EndS, 1e-9) || len(a.Activities) != len(b.Activities) {
			t.Fatalf("trial %d (%s, %s): full solve ends %.12g with %d activities, local %.12g with %d",
				trial, x.Pattern, cfg.Sharing.Model, a.EndS, len(a.Activities), b.EndS, len(b.Activities))
		}
		for i := range a.Activities {
			p, q := a.Activities[i], b.Activities[i]
			if p.Node != q.Node || p.Kind != q.Kind || !near(p.StartS, q.StartS, 1e-9) || !near(p.EndS, q.EndS, 1e-9) {
				t.Fatalf("trial %d (%s): activity %d differs: %+v vs %+v", trial, x.Pattern, i, p, q)
			}
		}
		if !slices.Equal(a.Aggregate, b.Aggregate) {
			t.Fatalf("trial %d: aggregates differ", trial)
		}
	}
	if totalLocal == 0 {
		t.Fatal("the local pass never applied: the comparison checked nothing")
	}
	t.Logf("%d of %d solver passes were local", totalLocal, totalSolves)
}

// TestLocalPassesAreExact re-solves the whole component after every
// accepted local pass and checks that no rate moves.
func TestLocalPassesAreExact(t *testing.T) {
	defer func() { checkLocal = nil }()
	checked := 0
	checkLocal = func(f *Fabric) {
		// Everything connected to what the local pass touched.
		for _, fl := range f.compFlows {
			for _, l := range fl.links {
				f.dirty = append(f.dirty, l)
			}
		}
		comp := slices.Clone(f.compFlows)
		before := make([]float64, len(comp))
		for i, fl := range comp {
			before[i] = fl.rate
		}
		f.solveComponent()
		for i, fl := range comp {
			if !near(before[i], fl.rate, 1e-9) {
				t.Fatalf("t=%g: local pass gave flow %d rate %g, the full solve %g", f.eng.Now(), fl.gen, before[i], fl.rate)
			}
		}
		checked++
	}
	trials := 40
	if testing.Short() {
		trials = 10
	}
	for trial := range trials {
		rng := rand.New(rand.NewPCG(uint64(trial), 7))
		cfg := DefaultConfig()
		cfg.Nodes = 3 + rng.IntN(25)
		cfg.Sharing.Model = []string{ModelMaxMin, ModelLV08}[rng.IntN(2)]
		cfg.Store.BwUpMbps, cfg.Store.BwDownMbps = 500+rng.Float64()*20000, 500+rng.Float64()*20000
		c, err := Build(cfg, uint64(trial))
		if err != nil {
			t.Fatal(err)
		}
		x := DefaultExchangeConfig()
		x.Pattern = []string{PatternStore, PatternP2P, PatternRing, PatternPS}[rng.IntN(4)]
		x.Gather.Peers = 1 + rng.IntN(cfg.Nodes)
		pat, _ := x.Build(cfg.Nodes)
		ready := make([]float64, cfg.Nodes)
		for i := range ready {
			ready[i] = rng.Float64() * 5
		}
		net, _ := NewNetwork(c, des.New(), 1)
		if _, err := pat.Run(net, ExchangeSpec{ReadyS: ready, PayloadBytes: []int64{1_000_000 + int64(rng.IntN(3_000_000))}}); err != nil {
			t.Fatal(err)
		}
	}
	if checked == 0 {
		t.Fatal("no local pass to check")
	}
	t.Logf("%d local passes checked", checked)
}
